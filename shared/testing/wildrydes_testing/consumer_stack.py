"""Checks every consumer stack (notification, accounting, extraordinary, any new one) must pass.

A consumer stack is its own subscription, table, function and log group, plus the shared inbox
module (shared/templates/consumer-inbox.yaml: queue, DLQs, queue policies, alarms) nested as an
AWS::Serverless::Application. The inbox's own shape is checked once, in
shared/tests/test_consumer_inbox.py; these check how each service uses it. Each service's
test_template.py runs them through the contract, plus its own checks (filter policy, table key,
exact IAM actions).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from wildrydes_testing.packaged import sam_transform_packaged
from wildrydes_testing.routing import template_path
from wildrydes_testing.templates import REPO_ROOT, load_template, tag_literals

TOPIC_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-TopicArn"}}
KEY_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-KeyArn"}}
ALERTS_TOPIC_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-AlertsTopicArn"}}
# The IAM path of every stack role: the CI deploy role's role grants name it.
ROLE_PATH = "/wild-rydes-fan-out/"
# The CI bootstrap's workload boundary when the deploy passes one, no boundary otherwise.
BOUNDARY_IF_GIVEN = {
    "Fn::If": [
        "HasPermissionsBoundary",
        {"Ref": "PermissionsBoundaryArn"},
        {"Ref": "AWS::NoValue"},
    ]
}
LOG_RETENTION_DAYS = 30
FOURTEEN_DAYS = 14 * 24 * 3600
MAX_RECEIVE_COUNT = 5
INBOX_TEMPLATE = REPO_ROOT / "shared" / "templates" / "consumer-inbox.yaml"
INBOX = "Inbox"
# The kinds of resource only the inbox module may declare, so the consumers cannot drift apart.
INBOX_KINDS = ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::CloudWatch::Alarm")


class ConsumerStack:
    """One consumer service's template: as written, and as SAM deploys it."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.path: Path = template_path(service)
        self.folder: Path = self.path.parent

    @cached_property
    def template(self) -> dict[str, Any]:
        return load_template(self.path)

    @cached_property
    def deployed(self) -> dict[str, Any]:
        return sam_transform_packaged(self.path)

    def resources(self, kind: str, deployed: bool = False) -> dict[str, dict[str, Any]]:
        source = self.deployed if deployed else self.template
        return {name: r for name, r in source["Resources"].items() if r["Type"] == kind}

    def properties(self, name: str) -> dict[str, Any]:
        return self.template["Resources"][name]["Properties"]

    @cached_property
    def inbox(self) -> dict[str, Any]:
        """The shared inbox module's template (what the nested application deploys)."""
        return load_template(INBOX_TEMPLATE)

    def inbox_properties(self, name: str) -> dict[str, Any]:
        return self.inbox["Resources"][name]["Properties"]

    @property
    def function_name(self) -> str:
        [name] = self.resources("AWS::Serverless::Function")
        return name

    @property
    def function_timeout(self) -> int:
        own = self.properties(self.function_name).get("Timeout")
        return int(own or self.template["Globals"]["Function"]["Timeout"])

    @property
    def sqs_event(self) -> dict[str, Any]:
        [event] = self.properties(self.function_name)["Events"].values()
        assert event["Type"] == "SQS"
        return event["Properties"]

    @property
    def subscription(self) -> dict[str, Any]:
        [subscription] = self.resources("AWS::SNS::Subscription").values()
        return subscription

    def role_statements(self) -> list[dict[str, Any]]:
        """Every statement of the function role's inline policies, as deployed."""
        [role] = [
            r
            for name, r in self.resources("AWS::IAM::Role", deployed=True).items()
            if name == f"{self.function_name}Role"
        ]
        return [
            statement
            for policy in role["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
        ]

    def role_managed_policies(self) -> set[str]:
        role = self.deployed["Resources"][f"{self.function_name}Role"]
        return set(role["Properties"]["ManagedPolicyArns"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def get_att(resource: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def inbox_output(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [INBOX, f"Outputs.{name}"]}


def assert_inbox_is_the_shared_module(stack: ConsumerStack) -> None:
    """The queue, DLQs, policies and alarms come from the module, never from the service."""
    [(name, inbox)] = stack.resources("AWS::Serverless::Application").items()
    assert name == INBOX
    location = (stack.folder / inbox["Properties"]["Location"]).resolve()
    assert location == INBOX_TEMPLATE.resolve()
    parameters = inbox["Properties"]["Parameters"]
    assert parameters["PlatformStackName"] == {"Ref": "PlatformStackName"}
    assert parameters["ServiceName"] == stack.service
    for kind in INBOX_KINDS:
        assert stack.resources(kind) == {}, f"{kind} belongs in the inbox module"
    # As deployed: a nested stack SAM packages with the service's stack.
    [nested] = stack.resources("AWS::CloudFormation::Stack", deployed=True).values()
    assert nested["Properties"]["Parameters"]["ServiceName"] == stack.service


def assert_failed_records_reach_the_dlq(stack: ConsumerStack) -> None:
    redrive = stack.inbox_properties("Queue")["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": get_att("DeadLetterQueue"),
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    # Documented where operators look: the stack description and the DLQ alarm.
    assert f"maxReceiveCount ({MAX_RECEIVE_COUNT})" in stack.template["Description"]


def assert_visibility_timeout_covers_retried_invocations(stack: ConsumerStack) -> None:
    # AWS: at least 6 x the function timeout, plus the batching window.
    minimum = 6 * stack.function_timeout + stack.sqs_event["MaximumBatchingWindowInSeconds"]
    visibility = stack.properties(INBOX)["Parameters"]["VisibilityTimeout"]
    assert int(visibility) >= minimum
    assert stack.inbox_properties("Queue")["VisibilityTimeout"] == {"Ref": "VisibilityTimeout"}


def assert_subscription_delivers_to_the_queue(stack: ConsumerStack) -> None:
    subscription = stack.subscription
    properties = subscription["Properties"]
    assert properties["Protocol"] == "sqs"
    assert properties["TopicArn"] == TOPIC_ARN
    # The endpoint is the inbox's output: CloudFormation creates the subscription after the
    # whole inbox stack, queue policy included, so the queue accepts SNS by the first delivery.
    assert properties["Endpoint"] == inbox_output("QueueArn")
    assert properties["RawMessageDelivery"] is False  # the handler parses the SNS envelope
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": inbox_output("DeliveryDeadLetterQueueArn")
    }


def numeric_operands(policy: Any) -> list[Any]:
    """Every operand of every "numeric" rule in a filter policy, however nested."""
    found: list[Any] = []
    if isinstance(policy, dict):
        for key, value in policy.items():
            if key == "numeric":
                found.extend(value[1::2])
            else:
                found.extend(numeric_operands(value))
    elif isinstance(policy, list):
        for item in policy:
            found.extend(numeric_operands(item))
    return found


def assert_filter_policy_is_literal(stack: ConsumerStack, expected: dict[str, Any]) -> None:
    properties = stack.subscription["Properties"]
    assert properties["FilterPolicy"] == expected
    assert properties["FilterPolicyScope"] == "MessageAttributes"
    operands = numeric_operands(properties["FilterPolicy"])
    assert operands, "a numeric filter policy was expected"
    for operand in operands:
        # A !Ref or a quoted number would reach SNS as a string and the rule would be refused.
        assert type(operand) in (int, float), f"{operand!r} is not a literal number"


def assert_function_consumes_the_queue_in_partial_batches(stack: ConsumerStack) -> None:
    [mapping] = stack.resources("AWS::Lambda::EventSourceMapping", deployed=True).values()
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == inbox_output("QueueArn")
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= properties["BatchSize"] <= 10
    assert 0 < properties["MaximumBatchingWindowInSeconds"] <= 5
    assert 2 <= properties["ScalingConfig"]["MaximumConcurrency"] <= 10


def assert_role_is_least_privilege(stack: ConsumerStack, table_actions: set[str]) -> None:
    """The inline policies grant exactly: table_actions on the table, kms:Decrypt on the key."""
    statements = stack.role_statements()
    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action}"
            for resource in as_list(statement["Resource"]):
                assert resource != "*", f"{action} on every resource"
                granted.setdefault(action, set()).add(repr(resource))
    assert set(granted) == table_actions | {"kms:Decrypt"}
    for action in table_actions:
        assert granted[action] == {repr(get_att("Table"))}, action
    [kms_resource] = granted["kms:Decrypt"]
    assert "PlatformStackName}-KeyArn" in kms_resource
    # SAM adds these for logging, X-Ray and the SQS event's poller (receive/delete/attributes).
    assert stack.role_managed_policies() == {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    }


def assert_table_is_on_demand_encrypted_and_recoverable(stack: ConsumerStack) -> None:
    [table] = stack.resources("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def assert_environment_and_failure_rate_parameter(stack: ConsumerStack, handler: str) -> None:
    function = stack.properties(stack.function_name)
    assert function["Handler"] == handler
    assert function["CodeUri"] == "src/"
    assert function["Environment"]["Variables"] == {
        "TABLE_NAME": {"Ref": "Table"},
        "FAILURE_RATE": {"Ref": "FailureRate"},
    }
    parameter = stack.template["Parameters"]["FailureRate"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == "0"
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("0", "0.5", "0.05", "1", "1.0"):
        assert pattern.fullmatch(good), good
    for bad in ("", "1.5", "2", "-0.1", "abc", ".5", "0.5x", "nan"):
        assert not pattern.fullmatch(bad), bad


def assert_every_role_has_the_workload_boundary(stack: ConsumerStack) -> None:
    """Every IAM role SAM generates or the template declares takes PermissionsBoundaryArn."""
    parameter = stack.template["Parameters"]["PermissionsBoundaryArn"]
    assert parameter["Default"] == ""  # developer accounts without the CI bootstrap
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("arn:aws:iam::123456789012:policy/wild-rydes-workload-boundary")
    assert not pattern.fullmatch("wild-rydes-workload-boundary")
    assert stack.template["Conditions"]["HasPermissionsBoundary"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PermissionsBoundaryArn"}, ""]}]
    }
    roles = stack.resources("AWS::IAM::Role", deployed=True)
    assert roles
    for name, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") == BOUNDARY_IF_GIVEN, name
        # The CI deploy role manages roles under this path only (platform/github-oidc.yaml).
        assert role["Properties"].get("Path") == ROLE_PATH, name


def assert_function_logs_expire(stack: ConsumerStack) -> None:
    """The function's log group is the stack's, with a retention (as in the management stack)."""
    groups = stack.resources("AWS::Logs::LogGroup")
    by_name = {
        group["Properties"]["LogGroupName"]["Fn::Sub"]: group["Properties"]
        for group in groups.values()
    }
    assert set(by_name) == {f"/aws/lambda/${{{stack.function_name}}}"}
    for properties in by_name.values():
        assert properties["RetentionInDays"] == LOG_RETENTION_DAYS


def assert_outputs_and_platform_parameter(stack: ConsumerStack) -> None:
    outputs = stack.template["Outputs"]
    # Tooling merges the nested inbox's outputs (QueueUrl, DLQs...) through this one.
    assert outputs["InboxStackId"]["Value"] == {"Ref": INBOX}
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}
    assert outputs["FunctionName"]["Value"] == {"Ref": stack.function_name}
    parameter = stack.template["Parameters"]["PlatformStackName"]
    assert parameter["Default"] == "wild-rydes-platform"
    assert re.fullmatch(parameter["AllowedPattern"], "wild-rydes-platform")


def assert_tags_come_from_the_deploy_alone(stack: ConsumerStack) -> None:
    """Stack tags from `make deploy` (project = the stack prefix, service) propagate to every
    resource, nested inbox included; a literal in a template could disagree with the prefix."""
    assert tag_literals(stack.template) == []
    assert tag_literals(stack.inbox) == []
    environment = stack.template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["POWERTOOLS_SERVICE_NAME"] == stack.service
