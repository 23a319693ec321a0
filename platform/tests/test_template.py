"""The platform stack: lint-clean, and once deployed it exports the contract the services import."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.templates import (
    REGION,
    lint_findings,
    load_template,
    sam_transform,
    sam_validate_lint,
)

from localcloud.patches import apply_all

PLATFORM = Path(__file__).resolve().parents[1]
TEMPLATE = PLATFORM / "template.yaml"
STACK = "wild-rydes-platform"


def test_cfn_lint_is_clean() -> None:
    assert lint_findings(TEMPLATE) == []


def test_sam_validate_lint_is_clean() -> None:
    result = sam_validate_lint(PLATFORM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.fixture
def deployed() -> dict:
    """The template created as a stack in moto, with localcloud's patches for moto's gaps
    (SAM transform, KMS key tags and policy); yields the clients to inspect it."""
    apply_all()
    with mocked():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName=STACK, TemplateBody=TEMPLATE.read_text())
        yield {
            "cloudformation": cloudformation,
            "sns": boto3.client("sns", region_name=REGION),
            "kms": boto3.client("kms", region_name=REGION),
        }


def test_exports_are_the_public_contract(deployed: dict) -> None:
    exports = {e["Name"]: e["Value"] for e in deployed["cloudformation"].list_exports()["Exports"]}
    assert set(exports) == {
        f"{STACK}-TopicArn",
        f"{STACK}-TopicName",
        f"{STACK}-KeyArn",
        f"{STACK}-AlertsTopicArn",
        f"{STACK}-MetricsNamespace",
    }
    assert exports[f"{STACK}-MetricsNamespace"] == "WildRydes/wild-rydes"  # from ProjectName
    assert exports[f"{STACK}-AlertsTopicArn"].startswith(f"arn:aws:sns:{REGION}:")
    assert exports[f"{STACK}-AlertsTopicArn"] != exports[f"{STACK}-TopicArn"]
    topic_arn = exports[f"{STACK}-TopicArn"]
    assert topic_arn.startswith(f"arn:aws:sns:{REGION}:")
    assert topic_arn.endswith(":" + exports[f"{STACK}-TopicName"])
    assert exports[f"{STACK}-KeyArn"].startswith(f"arn:aws:kms:{REGION}:")


def test_topic_is_encrypted_with_the_rotating_platform_key(deployed: dict) -> None:
    exports = {e["Name"]: e["Value"] for e in deployed["cloudformation"].list_exports()["Exports"]}
    attributes = deployed["sns"].get_topic_attributes(TopicArn=exports[f"{STACK}-TopicArn"])
    key_id = attributes["Attributes"]["KmsMasterKeyId"]
    key = deployed["kms"].describe_key(KeyId=key_id)["KeyMetadata"]
    assert key["Arn"] == exports[f"{STACK}-KeyArn"]
    assert deployed["kms"].get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = deployed["kms"].list_aliases(KeyId=key_id)["Aliases"]
    assert [a["AliasName"] for a in aliases] == [f"alias/{STACK}-ride-events"]


def test_alerts_topic_is_encrypted_with_the_platform_key(deployed: dict) -> None:
    exports = {e["Name"]: e["Value"] for e in deployed["cloudformation"].list_exports()["Exports"]}
    attributes = deployed["sns"].get_topic_attributes(TopicArn=exports[f"{STACK}-AlertsTopicArn"])
    key_id = attributes["Attributes"]["KmsMasterKeyId"]
    assert (
        deployed["kms"].describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        == (exports[f"{STACK}-KeyArn"])
    )


ALARMS_OF_THE_PROJECT = {
    "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}"
    ":alarm:${ProjectName}-*"
}


def test_only_this_accounts_project_alarms_publish_to_the_alerts_topic() -> None:
    resources = sam_transform(TEMPLATE)["Resources"]
    policy = resources["OperatorAlertsTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "OperatorAlertsTopic"}]
    statements = _statements(resources["OperatorAlertsTopicPolicy"])
    assert set(statements) == {"CloudWatchAlarmsOfThisAccount", "DenyWithoutTls"}
    allow = statements["CloudWatchAlarmsOfThisAccount"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": ALARMS_OF_THE_PROJECT},
    }
    assert statements["DenyWithoutTls"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_topic_name_is_not_hard_coded() -> None:
    # Two environments (stack prefixes) must be able to share one account.
    topic = load_template(TEMPLATE)["Resources"]["RideCompletionTopic"]
    assert "TopicName" not in topic["Properties"]


def _statements(resource: dict) -> dict[str, dict]:
    document = resource["Properties"].get("KeyPolicy") or resource["Properties"]["PolicyDocument"]
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_topic_policy_allows_this_account_and_denies_plain_http() -> None:
    resources = sam_transform(TEMPLATE)["Resources"]
    statements = _statements(resources["RideCompletionTopicPolicy"])
    assert set(statements) == {"PublishFromThisAccountOnly", "DenyWithoutTls"}
    allow = statements["PublishFromThisAccountOnly"]
    assert allow["Effect"] == "Allow"
    assert allow["Action"] == "sns:Publish"
    assert allow["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    deny = statements["DenyWithoutTls"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_key_policy_lets_only_sns_sqs_and_cloudwatch_of_this_account_use_the_key() -> None:
    key = sam_transform(TEMPLATE)["Resources"]["RideEventsKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = _statements(key)
    services = {
        statement["Principal"]["Service"]: statement
        for statement in statements.values()
        if "Service" in statement["Principal"]
    }
    # CloudWatch: to publish alarms to the (encrypted) alerts topic.
    assert set(services) == {"sns.amazonaws.com", "sqs.amazonaws.com", "cloudwatch.amazonaws.com"}
    for statement in services.values():
        assert set(statement["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
        condition = statement["Condition"]["StringEquals"]
        assert condition == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert services["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"] == {
        "aws:SourceArn": ALARMS_OF_THE_PROJECT
    }
    # SNS may use it only for topics this stack created.
    assert services["sns.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-*"
    }


def test_every_resource_that_takes_tags_is_tagged_for_the_project() -> None:
    resources = load_template(TEMPLATE)["Resources"]
    for name in ("RideEventsKey", "RideCompletionTopic", "OperatorAlertsTopic"):
        tags = {tag["Key"]: tag["Value"] for tag in resources[name]["Properties"]["Tags"]}
        assert tags == {"project": {"Ref": "ProjectName"}, "service": "platform"}, name


def test_the_topic_traces_actively_and_x_ray_accepts_its_segments_only() -> None:
    resources = load_template(TEMPLATE)["Resources"]
    assert resources["RideCompletionTopic"]["Properties"]["TracingConfig"] == "Active"
    policy = resources["SnsActiveTracingPolicy"]["Properties"]
    document = json.loads(
        policy["PolicyDocument"]["Fn::Sub"]
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${RideCompletionTopic}", "TOPIC-ARN")
    )
    [statement] = document["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert set(statement["Action"]) == {
        "xray:PutTraceSegments",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "TOPIC-ARN"},
    }
