"""The project's own stacks, deployed into moto with localcloud's patches the way `sam deploy`
deploys them (change sets, nested inbox stacks from their TemplateURL), described through the
four CloudFormation APIs a tool reads resources from: every resource complete and the same in
all of them, with the physical id AWS gives it; then deleted, with their DeletionPolicy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.aws import session as aws_session

from localcloud import patches
from localcloud.cloudformation import registry
from localcloud.tests.project_stacks import (
    MANAGED_BUCKET_STACK,
    Client,
    deploy,
    deploy_project,
    packaged,
    processed,
    upload_artifacts,
)

WORKSHOP_TEMPLATE = Path(__file__).parent / "stacks" / "workshop" / "template.yaml"
# What every DescribeStackResources entry carries on AWS, never empty.
REQUIRED = ("StackName", "StackId", "LogicalResourceId", "PhysicalResourceId", "ResourceType")


@pytest.fixture
def aws() -> Iterator[Client]:
    patches.apply_all()
    with mocked():
        session = aws_session()
        yield session.client


@pytest.fixture
def project(aws: Client) -> tuple[dict[str, dict[str, Any]], datetime]:
    """Every stack deployed: name -> template as submitted; and when the deploy started."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    return deploy_project(aws), started


def _stacks(aws: Client) -> dict[str, dict[str, Any]]:
    """Every live stack, nested ones included: name -> DescribeStacks entry."""
    return {s["StackName"]: s for s in aws("cloudformation").describe_stacks()["Stacks"]}


def _resources(aws: Client, stack: str) -> dict[str, dict[str, Any]]:
    described = aws("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    return {r["LogicalResourceId"]: r for r in described}


def _expected_logical_ids(aws: Client, name: str, templates: dict[str, dict[str, Any]]) -> set:
    if name in templates:
        return set(processed(templates[name])["Resources"])
    # A nested inbox: its template is its TemplateURL's.
    summary = aws("cloudformation").get_template_summary(StackName=name)
    assert summary["ResourceTypes"], name
    body = aws("cloudformation").get_template(StackName=name)["TemplateBody"]
    return set(body["Resources"]) if isinstance(body, dict) else set()


def test_every_resource_is_described_completely_and_alike_in_all_four_apis(
    aws: Client, project: tuple[dict[str, dict[str, Any]], datetime]
) -> None:
    templates, started = project
    stacks = _stacks(aws)
    nested = [name for name in stacks if "-Inbox-" in name]
    assert len(nested) == 3  # one inbox per consumer
    assert set(templates) | set(nested) == set(stacks)
    for name, stack in stacks.items():
        assert_described_completely(aws, name, stack, templates.get(name), started)


def test_the_seed_workshop_shape_is_described_completely_too(aws: Client) -> None:
    """The workshop's own single-stack shape: an implicit API, a SimpleTable, functions
    subscribed straight to the topic with a filter policy."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    upload_artifacts(aws)
    template = packaged(WORKSHOP_TEMPLATE)
    deploy(aws, "wild-rydes-workshop", template)

    [stack] = aws("cloudformation").describe_stacks(StackName="wild-rydes-workshop")["Stacks"]
    assert_described_completely(aws, "wild-rydes-workshop", stack, template, started)
    described = _resources(aws, "wild-rydes-workshop")
    types = {entry["ResourceType"] for entry in described.values()}
    assert {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Stage",
        "AWS::DynamoDB::Table",
        "AWS::SNS::Subscription",
        "AWS::Lambda::Permission",
    } <= types
    [url] = [o["OutputValue"] for o in stack["Outputs"]]
    api_id = described["ServerlessRestApi"]["PhysicalResourceId"]
    assert url.startswith(f"https://{api_id}.execute-api.")
    subscriptions = aws("sns").list_subscriptions()["Subscriptions"]
    assert sorted(s["Protocol"] for s in subscriptions) == ["lambda", "lambda"]


def assert_described_completely(
    aws: Client,
    name: str,
    stack: dict[str, Any],
    template: dict[str, Any] | None,
    started: datetime,
) -> None:
    """One stack's resources, complete and alike in DescribeStackResource(s),
    ListStackResources, DescribeStackEvents and GetTemplateSummary."""
    cfn = aws("cloudformation")
    assert stack["StackStatus"] == "CREATE_COMPLETE", name
    described = _resources(aws, name)
    if template is not None:
        assert set(described) == set(processed(template)["Resources"]), name
    assert described, name

    # 1. DescribeStackResources: every field, the resource's own status and time.
    for logical_id, entry in described.items():
        where = f"{name}/{logical_id}"
        for key in REQUIRED:
            assert entry.get(key), f"{where}: no {key}"
        assert entry["StackId"] == stack["StackId"]
        assert entry["ResourceStatus"] == "CREATE_COMPLETE", where
        assert started <= entry["Timestamp"] <= datetime.now(UTC), where
        assert entry["DriftInformation"]["StackResourceDriftStatus"] == "NOT_CHECKED"

    # 2. ListStackResources: the same resources, ids, types, statuses and times.
    summaries = {
        s["LogicalResourceId"]: s
        for s in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    }
    assert set(summaries) == set(described), name
    for logical_id, summary in summaries.items():
        entry = described[logical_id]
        for key in ("PhysicalResourceId", "ResourceType", "ResourceStatus"):
            assert summary[key] == entry[key], f"{name}/{logical_id}: {key}"
        assert summary["LastUpdatedTimestamp"] == entry["Timestamp"]

    # 3. DescribeStackResource, one by one.
    for logical_id, entry in described.items():
        detail = cfn.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
        detail = detail["StackResourceDetail"]
        for key in (*REQUIRED, "ResourceStatus"):
            assert detail[key] == entry[key], f"{name}/{logical_id}: {key}"
        assert detail["LastUpdatedTimestamp"] == entry["Timestamp"]

    # 4. DescribeStackEvents: each resource's creation, ending with its physical id.
    events = cfn.describe_stack_events(StackName=name)["StackEvents"][::-1]
    for event in events:
        assert event["LogicalResourceId"], event
        assert event["ResourceType"], event
        assert event["Timestamp"] >= started, event
    for logical_id, entry in described.items():
        own = [e for e in events if e["LogicalResourceId"] == logical_id]
        statuses = [e["ResourceStatus"] for e in own]
        assert statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"], f"{name}/{logical_id}"
        assert own[-1]["PhysicalResourceId"] == entry["PhysicalResourceId"]
        assert own[-1]["ResourceType"] == entry["ResourceType"]
        assert own[-1]["Timestamp"] == entry["Timestamp"]
    assert events[-1]["LogicalResourceId"] == name  # the stack's own, last
    assert events[-1]["ResourceStatus"] == "CREATE_COMPLETE"

    # 5. GetTemplateSummary: the types the stack holds (after its transform).
    summary = cfn.get_template_summary(StackName=name)
    assert set(summary["ResourceTypes"]) == {e["ResourceType"] for e in described.values()}
    if template is not None and "Transform" in template:
        assert summary["DeclaredTransforms"] == ["AWS::Serverless-2016-10-31"]


def test_physical_ids_are_the_ones_aws_gives(aws: Client, project: Any) -> None:
    stacks = _stacks(aws)
    management = _resources(aws, "wild-rydes-management")
    platform = _resources(aws, "wild-rydes-platform")
    bucket_stack = _resources(aws, MANAGED_BUCKET_STACK)

    # A Lambda permission: the statement id in the function's resource policy.
    awslambda = aws("lambda")
    for logical_id, entry in management.items():
        if entry["ResourceType"] != "AWS::Lambda::Permission":
            continue
        assert entry["PhysicalResourceId"].startswith(f"wild-rydes-management-{logical_id}-")
        function = management[logical_id.split("Function")[0] + "Function"]["PhysicalResourceId"]
        policy = awslambda.get_policy(FunctionName=function)["Policy"]
        assert f'"Sid": "{entry["PhysicalResourceId"]}"' in policy

    # The account's API Gateway setting: CloudFormation's short generated id; GetAccount knows
    # the role.
    account = management["ApiGatewayAccount"]["PhysicalResourceId"]
    assert re.fullmatch(r"wild--apiga-[a-z0-9]{12}", account), account
    role_name = management["ApiGatewayCloudWatchRole"]["PhysicalResourceId"]
    role_arn = aws("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    assert aws("apigateway").get_account()["cloudwatchRoleArn"] == role_arn

    # A usage plan key: "<key id>:<plan id>".
    key = management["ManagementApiApiKey"]["PhysicalResourceId"]
    plan = management["ManagementApiUsagePlan"]["PhysicalResourceId"]
    assert management["ManagementApiUsagePlanKey"]["PhysicalResourceId"] == f"{key}:{plan}"

    # Accepted, not emulated: the ids AWS gives all the same.
    bucket = bucket_stack["SamCliSourceBucket"]["PhysicalResourceId"]
    assert bucket_stack["SamCliSourceBucketBucketPolicy"]["PhysicalResourceId"] == bucket
    tracing = platform["SnsActiveTracingPolicy"]["PhysicalResourceId"]
    assert tracing == "wild-rydes-platform-sns-active-tracing"  # its PolicyName

    # The nested inbox: its stack id.
    for name in ("accounting", "extraordinary", "notification"):
        inbox = _resources(aws, f"wild-rydes-{name}")["Inbox"]["PhysicalResourceId"]
        [child] = [s for s in stacks.values() if s["StackId"] == inbox]
        assert child["StackName"].startswith(f"wild-rydes-{name}-Inbox-")


def test_what_is_not_emulated_says_so_where_tools_look(aws: Client, project: Any) -> None:
    cfn = aws("cloudformation")
    platform = _resources(aws, "wild-rydes-platform")
    tracing = platform["SnsActiveTracingPolicy"]
    assert tracing["ResourceStatus"] == "CREATE_COMPLETE"
    assert tracing["ResourceStatusReason"].startswith(registry.NOTE_PREFIX)
    assert "AWS::XRay::ResourcePolicy accepted, not emulated" in tracing["ResourceStatusReason"]
    topic = platform["RideCompletionTopic"]["ResourceStatusReason"]
    assert "TracingConfig not emulated" in topic
    assert "X-Ray" in topic
    assert "ResourceStatusReason" not in platform["RideEventsKey"]  # nothing to say

    events = cfn.describe_stack_events(StackName="wild-rydes-platform")["StackEvents"]
    [created] = [
        e
        for e in events
        if e["LogicalResourceId"] == "SnsActiveTracingPolicy"
        and e["ResourceStatus"] == "CREATE_COMPLETE"
    ]
    assert created["ResourceStatusReason"] == tracing["ResourceStatusReason"]

    bucket_policy = _resources(aws, MANAGED_BUCKET_STACK)["SamCliSourceBucketBucketPolicy"]
    assert "AWS::S3::BucketPolicy accepted, not emulated" in bucket_policy["ResourceStatusReason"]


def _table_names(aws: Client) -> set[str]:
    return set(aws("dynamodb").list_tables()["TableNames"])


def test_deleting_every_stack_honours_each_deletion_policy(aws: Client, project: Any) -> None:
    cfn = aws("cloudformation")
    management = _resources(aws, "wild-rydes-management")
    accounting = _resources(aws, "wild-rydes-accounting")
    notification = _resources(aws, "wild-rydes-notification")
    platform = _resources(aws, "wild-rydes-platform")
    stack_ids = {name: s["StackId"] for name, s in _stacks(aws).items()}
    layers = [
        entry["PhysicalResourceId"]
        for name in ("management", "accounting", "extraordinary", "notification")
        for entry in _resources(aws, f"wild-rydes-{name}").values()
        if entry["ResourceType"] == "AWS::Lambda::LayerVersion"
    ]
    assert len(layers) == 4

    for name in ("accounting", "extraordinary", "notification", "management", "platform"):
        cfn.delete_stack(StackName=f"wild-rydes-{name}")
    for name, stack_id in stack_ids.items():
        if name == MANAGED_BUCKET_STACK:
            continue
        [stack] = cfn.describe_stacks(StackName=stack_id)["Stacks"]
        assert stack["StackStatus"] == "DELETE_COMPLETE", name  # nested inboxes too

    tables = _table_names(aws)
    # Retain: the system of record and the accounting ledger stay; Delete: the others go.
    assert management["RidesTable"]["PhysicalResourceId"] in tables
    assert accounting["Table"]["PhysicalResourceId"] in tables
    assert management["IdempotencyKeysTable"]["PhysicalResourceId"] not in tables
    assert notification["Table"]["PhysicalResourceId"] not in tables
    # The retained role stays; the functions' roles go.
    roles = {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}
    assert management["ApiGatewayCloudWatchRole"]["PhysicalResourceId"] in roles
    assert management["RidePublisherRole"]["PhysicalResourceId"] not in roles
    # `RetentionPolicy: Delete`: no layer version outlives its stack.
    for arn in layers:
        name = arn.split(":")[6]
        assert aws("lambda").list_layer_versions(LayerName=name)["LayerVersions"] == []
    # Queues, log groups, functions, topics: gone.
    assert aws("sqs").list_queues().get("QueueUrls", []) == []
    assert aws("logs").describe_log_groups()["logGroups"] == []
    assert aws("lambda").list_functions()["Functions"] == []
    assert aws("sns").list_topics()["Topics"] == []
    # The KMS key is scheduled for deletion after its 7-day window, as AWS does.
    key_id = platform["RideEventsKey"]["PhysicalResourceId"]
    key = aws("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    assert timedelta(days=6) < key["DeletionDate"] - datetime.now(UTC) <= timedelta(days=7)

    # The deleted stacks still describe their resources, each with its fate.
    deleted = cfn.describe_stack_resources(StackName=stack_ids["wild-rydes-management"])
    statuses = {r["LogicalResourceId"]: r["ResourceStatus"] for r in deleted["StackResources"]}
    assert statuses["RidesTable"] == "DELETE_SKIPPED"
    assert statuses["ApiGatewayCloudWatchRole"] == "DELETE_SKIPPED"
    assert statuses["IdempotencyKeysTable"] == "DELETE_COMPLETE"
    assert set(statuses.values()) == {"DELETE_COMPLETE", "DELETE_SKIPPED"}
    events = cfn.describe_stack_events(StackName=stack_ids["wild-rydes-management"])
    last = events["StackEvents"][0]
    assert (last["LogicalResourceId"], last["ResourceStatus"]) == (
        "wild-rydes-management",
        "DELETE_COMPLETE",
    )
