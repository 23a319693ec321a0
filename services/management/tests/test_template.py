"""The management stack's template: lint-clean, least privilege, and the shapes the contract
relies on (API key on every route, throttling, the stream event, outputs)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.templates import (
    lint_findings,
    load_template,
    sam_transform,
    sam_validate_lint,
    tag_literals,
)

SERVICE = Path(__file__).resolve().parents[1]
TEMPLATE = SERVICE / "template.yaml"
TOPIC_NAME = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-TopicName"}}
TOPIC_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-TopicArn"}}
KEY_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-KeyArn"}}
ALERTS_TOPIC_ARN = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-AlertsTopicArn"}}


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The transformed template. SAM needs S3 artifact URIs to transform (`sam build` /
    `sam deploy` put them there), so the local CodeUri/ContentUri are swapped for S3 ones."""
    template = load_template(TEMPLATE)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if name in properties:
                properties[name] = "s3://artifacts/management.zip"
    packaged = tmp_path_factory.mktemp("management") / "packaged.json"
    packaged.write_text(json.dumps(template))
    return sam_transform(packaged)["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_cfn_lint_is_clean() -> None:
    assert lint_findings(TEMPLATE) == []


def test_sam_validate_lint_is_clean() -> None:
    result = sam_validate_lint(SERVICE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_every_handler_exists_in_its_code_uri() -> None:
    functions = of_type(load_template(TEMPLATE)["Resources"], "AWS::Serverless::Function")
    assert set(functions) == {"SubmitRideCompletionFunction", "GetRideFunction", "RidePublisher"}
    for function in functions.values():
        properties = function["Properties"]
        assert properties["CodeUri"] == "src/"
        module, _, name = properties["Handler"].rpartition(".")
        assert (SERVICE / "src" / (module.replace(".", "/") + ".py")).is_file()
        assert callable(getattr(importlib.import_module(module), name))


def test_function_conventions() -> None:
    template = load_template(TEMPLATE)
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "SharedLayer"}]
    assert set(function["Environment"]["Variables"]) == {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "../../shared/layer/"
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert template["Parameters"]["PlatformStackName"]["Default"] == "wild-rydes-platform"


def test_no_inline_policy_grants_wildcard_actions_or_resources(resources) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    assert roles
    for name, role in roles.items():
        for statement in statements(role):
            assert statement["Effect"] == "Allow", name
            for action in actions(statement):
                assert "*" not in action, (name, action)
            assert statement["Resource"] != "*", name


def test_submit_only_puts_rides_and_reads_back_its_own_key_records(resources) -> None:
    granted = {
        (action, json.dumps(statement["Resource"]))
        for statement in statements(resources["SubmitRideCompletionFunctionRole"])
        for action in actions(statement)
    }
    rides = json.dumps({"Fn::GetAtt": ["RidesTable", "Arn"]})
    keys = json.dumps({"Fn::GetAtt": ["IdempotencyKeysTable", "Arn"]})
    assert granted == {
        ("dynamodb:PutItem", rides),
        ("dynamodb:PutItem", keys),
        ("dynamodb:GetItem", keys),
    }


def test_get_only_reads_one_ride_at_a_time(resources) -> None:
    [statement] = statements(resources["GetRideFunctionRole"])
    assert actions(statement) == ["dynamodb:GetItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["RidesTable", "Arn"]}


def test_only_the_publisher_publishes_and_only_to_the_imported_topic(resources) -> None:
    publishers = {
        name
        for name, role in of_type(resources, "AWS::IAM::Role").items()
        for statement in statements(role)
        if any(action.startswith("sns:") for action in actions(statement))
    }
    assert publishers == {"RidePublisherRole"}
    [publish] = [
        s for s in statements(resources["RidePublisherRole"]) if actions(s) == ["sns:Publish"]
    ]
    assert publish["Resource"]["Fn::Sub"][1] == {"topicName": TOPIC_NAME}
    assert resources["RidePublisher"]["Properties"]["Environment"]["Variables"]["TOPIC_ARN"] == (
        TOPIC_ARN
    )


def test_the_publisher_uses_only_the_platform_key(resources) -> None:
    kms = [
        s
        for s in statements(resources["RidePublisherRole"])
        if any(a.startswith("kms:") for a in actions(s))
    ]
    assert [(sorted(actions(s)), s["Resource"]) for s in kms] == [
        (["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN)
    ]


def test_the_publisher_may_send_only_to_its_failure_queue(resources) -> None:
    sends = [
        s
        for s in statements(resources["RidePublisherRole"])
        if any(a.startswith("sqs:") for a in actions(s))
    ]
    assert [(actions(s), s["Resource"]) for s in sends] == [
        (["sqs:SendMessage"], {"Fn::GetAtt": ["PublisherFailureQueue", "Arn"]})
    ]


def test_the_stream_event_publishes_inserts_with_bounded_retries(resources) -> None:
    [mapping] = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionName"] == {"Ref": "RidePublisher"}
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["RidesTable", "StreamArn"]}
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    [only] = properties["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {"eventName": ["INSERT"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 < properties["MaximumRetryAttempts"] <= 10
    assert 60 <= properties["MaximumRecordAgeInSeconds"] < 24 * 3600  # within stream retention
    assert properties["BatchSize"] >= 10  # publish_batch takes 10 at a time
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["PublisherFailureQueue", "Arn"]
    }


def test_failed_batches_land_in_an_encrypted_queue_watched_by_an_alarm(resources) -> None:
    queue = resources["PublisherFailureQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == KEY_ARN
    [alarm] = of_type(resources, "AWS::CloudWatch::Alarm").values()
    alarm = alarm["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["PublisherFailureQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    # Someone hears it: the platform's alerts topic, when it fires and when it clears.
    assert alarm["AlarmActions"] == [ALERTS_TOPIC_ARN]
    assert alarm["OKActions"] == [ALERTS_TOPIC_ARN]


def test_every_queue_refuses_requests_without_tls(resources) -> None:
    queues = set(of_type(resources, "AWS::SQS::Queue"))
    covered = set()
    for policy in of_type(resources, "AWS::SQS::QueuePolicy").values():
        properties = policy["Properties"]
        [deny] = [s for s in properties["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert (deny["Principal"], deny["Action"]) == ("*", "sqs:*")
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        covered |= {queue["Ref"] for queue in properties["Queues"]}
    assert queues == covered == {"PublisherFailureQueue"}


def test_every_role_is_within_the_workload_boundary_when_one_is_given(resources) -> None:
    template = load_template(TEMPLATE)
    parameter = template["Parameters"]["PermissionsBoundaryArn"]
    assert parameter["Default"] == ""  # developer accounts without the CI bootstrap
    assert template["Conditions"]["HasPermissionsBoundary"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PermissionsBoundaryArn"}, ""]}]
    }
    roles = of_type(resources, "AWS::IAM::Role")
    # The three function roles SAM generates and the API Gateway logging role.
    assert set(roles) == {
        "SubmitRideCompletionFunctionRole",
        "GetRideFunctionRole",
        "RidePublisherRole",
        "ApiGatewayCloudWatchRole",
    }
    for name, role in roles.items():
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::If": [
                "HasPermissionsBoundary",
                {"Ref": "PermissionsBoundaryArn"},
                {"Ref": "AWS::NoValue"},
            ]
        }, name
        # The CI deploy role manages roles under this path only (platform/github-oidc.yaml).
        assert role["Properties"]["Path"] == "/wild-rydes-fan-out/", name


def test_the_rides_table_is_the_outbox(resources) -> None:
    table = resources["RidesTable"]
    properties = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_idempotency_keys_expire_and_stay_off_the_rides_stream(resources) -> None:
    properties = resources["IdempotencyKeysTable"]["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert "StreamSpecification" not in properties


def test_every_route_requires_the_api_key(resources) -> None:
    body = resources["ManagementApi"]["Properties"]["Body"]
    assert body["openapi"] == "3.0.1"
    assert body["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }
    routes = {
        (path, method): operation
        for path, operations in body["paths"].items()
        for method, operation in operations.items()
    }
    assert set(routes) == {("/submit-ride-completion", "post"), ("/rides/{id}", "get")}
    for operation in routes.values():
        assert operation["security"] == [{"api_key": []}]
        assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


def test_gateway_errors_use_the_api_error_shape(resources) -> None:
    body = resources["ManagementApi"]["Properties"]["Body"]
    for response in body["x-amazon-apigateway-gateway-responses"].values():
        template = response["responseTemplates"]["application/json"]
        assert template == '{"message":$context.error.messageString,"errors":[]}'


def test_the_usage_plan_throttles_the_key(resources) -> None:
    [plan] = of_type(resources, "AWS::ApiGateway::UsagePlan").values()
    throttle = plan["Properties"]["Throttle"]
    assert throttle["RateLimit"] > 0
    assert throttle["BurstLimit"] >= throttle["RateLimit"]
    assert plan["Properties"]["ApiStages"] == [
        {"ApiId": {"Ref": "ManagementApi"}, "Stage": {"Ref": "ManagementApiProdStage"}}
    ]
    [usage_key] = of_type(resources, "AWS::ApiGateway::UsagePlanKey").values()
    assert usage_key["Properties"]["KeyId"] == {"Ref": "ManagementApiApiKey"}


def test_the_stage_logs_access_and_traces(resources) -> None:
    stage = resources["ManagementApiProdStage"]["Properties"]
    assert stage["StageName"] == "Prod"
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }
    assert json.loads(stage["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] > 0
    [settings] = stage["MethodSettings"]
    assert settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False
    # Access logging needs the account's API Gateway logging role before the stage exists.
    assert resources["ManagementApi"]["DependsOn"] == "ApiGatewayAccount"


def test_outputs() -> None:
    outputs = load_template(TEMPLATE)["Outputs"]
    base = "https://${ManagementApi}.execute-api.${AWS::Region}.amazonaws.com/Prod"
    assert outputs["SubmitRideCompletionEndpoint"]["Value"] == {
        "Fn::Sub": f"{base}/submit-ride-completion"
    }
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": base}
    assert outputs["ApiId"]["Value"] == {"Ref": "ManagementApi"}
    assert outputs["ApiKeyId"]["Value"] == {"Ref": "ManagementApiApiKey"}
    assert outputs["RidesTableName"]["Value"] == {"Ref": "RidesTable"}
    assert outputs["PublisherFailureQueueUrl"]["Value"] == {"Ref": "PublisherFailureQueue"}


def test_tags_come_from_the_deploy_alone() -> None:
    # `make deploy` tags the stack (project = the prefix, service); CloudFormation propagates
    # the tags to every resource, so no literal can disagree with STACK_PREFIX.
    assert tag_literals(load_template(TEMPLATE)) == []
