"""Gap tests for the patches that make CloudFormation answer in AWS's shape: the registry's
verdicts (refused types fail the deploy, accepted ones say they are not emulated), complete
resource descriptions and events, and deletes as AWS does them. Each shows the gap with its
patch switched off (`patches.disabled`) and fails when a moto upgrade closes it; see
test_patches.py for the others."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import ClientError
from wildrydes_testing.aws import mocked
from wildrydes_testing.aws import session as aws_session

from localcloud import patches
from localcloud.cloudformation import registry
from localcloud.tests.project_stacks import Client

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _patched() -> None:
    patches.apply_all()


@pytest.fixture
def aws() -> Iterator[Client]:
    with mocked():
        session = aws_session()
        yield session.client


def _deploy(aws: Client, name: str, template: dict[str, Any], kind: str = "CREATE") -> None:
    cfn = aws("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"deploy-{kind.lower()}-{uuid.uuid4().hex[:8]}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])


def _stack(aws: Client, name: str) -> dict[str, Any]:
    return aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def _resources(aws: Client, name: str) -> dict[str, dict[str, Any]]:
    described = aws("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    return {r["LogicalResourceId"]: r for r in described}


def _events(aws: Client, name: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return aws("cloudformation").describe_stack_events(StackName=name)["StackEvents"][::-1]


def _statuses(aws: Client, name: str, logical_id: str) -> list[str]:
    return [e["ResourceStatus"] for e in _events(aws, name) if e["LogicalResourceId"] == logical_id]


def _queue_urls(aws: Client) -> list[str]:
    return aws("sqs").list_queues().get("QueueUrls", [])


# --- refused types --------------------------------------------------------------------------

# Types localcloud refuses (no Cognito): a user pool and its client.
USER_POOL = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {"UserPoolName": "riders"},
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}},
        },
    },
    "Outputs": {
        "Url": {
            "Value": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
        },
        "QueueUrl": {"Value": {"Ref": "Queue"}, "Export": {"Name": "rides-queue"}},
    },
}


def test_a_type_localcloud_does_not_emulate_fails_the_deploy_naming_it(aws: Client) -> None:
    with patches.disabled("refuse_resource_types_not_emulated"):
        _deploy(aws, "gap", USER_POOL)
        gap = _stack(aws, "gap")
        assert gap["StackStatus"] == "CREATE_COMPLETE"  # and no HTTP API anywhere
        outputs = {o["OutputKey"]: o["OutputValue"] for o in gap["Outputs"]}
        assert outputs["Url"].endswith("/${UserPool}")
        aws("cloudformation").delete_stack(StackName="gap")

    with pytest.raises(ClientError, match=re.escape("AWS::Cognito::UserPool (UserPool)")):
        _deploy(aws, "http", USER_POOL)

    stack = _stack(aws, "http")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Outputs" not in stack
    assert aws("cloudformation").list_exports()["Exports"] == []
    assert _queue_urls(aws) == []  # nothing was created, nothing is left
    resources = _resources(aws, "http")
    assert set(resources) == {"UserPool", "UserPoolClient"}
    for logical_id, resource_type in (
        ("UserPool", "AWS::Cognito::UserPool"),
        ("UserPoolClient", "AWS::Cognito::UserPoolClient"),
    ):
        resource = resources[logical_id]
        assert resource["ResourceStatus"] == "CREATE_FAILED"
        assert resource["ResourceType"] == resource_type
        assert (
            f"resource type {resource_type} ({logical_id}) is not emulated"
            in (resource["ResourceStatusReason"])
        )
    stack_events = [e for e in _events(aws, "http") if e["LogicalResourceId"] == "http"]
    assert [e["ResourceStatus"] for e in stack_events][-2:] == [
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_COMPLETE",
    ]
    assert stack_events[-2]["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [UserPool, UserPoolClient]. "
        "Rollback requested by user."
    )


def test_create_stack_with_a_refused_type_rolls_back_what_it_created(aws: Client) -> None:
    cfn = aws("cloudformation")
    with pytest.raises(ClientError, match=re.escape("AWS::Cognito::UserPool")):
        cfn.create_stack(StackName="http", TemplateBody=json.dumps(USER_POOL))

    # moto created the exported queue before anything else (to publish the export): gone again.
    assert _stack(aws, "http")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert _queue_urls(aws) == []
    assert cfn.list_exports()["Exports"] == []
    assert _statuses(aws, "http", "Queue") == [
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
    ]


def test_an_update_adding_a_refused_type_changes_nothing(aws: Client) -> None:
    cfn = aws("cloudformation")
    queue_only = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    _deploy(aws, "svc", queue_only)
    [queue] = _queue_urls(aws)

    with pytest.raises(ClientError, match=re.escape("AWS::Cognito::UserPool (UserPool)")):
        _deploy(
            aws,
            "svc",
            {"Resources": {**queue_only["Resources"], **USER_POOL["Resources"]}},
            "UPDATE",
        )
    assert _stack(aws, "svc")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert _queue_urls(aws) == [queue]
    assert _resources(aws, "svc")["Queue"]["ResourceStatus"] == "CREATE_COMPLETE"
    assert cfn.get_template(StackName="svc")["TemplateBody"] == queue_only

    # The same through UpdateStack: the stack keeps its template.
    with pytest.raises(ClientError, match="AWS::Cognito::UserPool"):
        cfn.update_stack(StackName="svc", TemplateBody=json.dumps(USER_POOL))
    assert _stack(aws, "svc")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert cfn.get_template(StackName="svc")["TemplateBody"] == queue_only
    assert _queue_urls(aws) == [queue]


def test_a_refused_type_in_a_nested_stack_fails_its_parent(aws: Client) -> None:
    aws("s3").create_bucket(Bucket="artifacts")
    aws("s3").put_object(Bucket="artifacts", Key="child.json", Body=json.dumps(USER_POOL))
    parent = {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "http://localhost/artifacts/child.json"},
            }
        }
    }
    with pytest.raises(
        ClientError, match=r"was not successfully created: .*AWS::Cognito::UserPool"
    ):
        _deploy(aws, "parent", parent)
    assert _stack(aws, "parent")["StackStatus"] == "ROLLBACK_COMPLETE"
    child = _resources(aws, "parent")["Child"]
    assert child["ResourceStatus"] == "CREATE_FAILED"
    assert child["ResourceStatusReason"].startswith("Embedded stack ")
    live = aws("cloudformation").describe_stacks()["Stacks"]
    assert [s["StackName"] for s in live] == ["parent"]  # the failed child is deleted


def test_a_sam_type_without_the_transform_is_refused(aws: Client) -> None:
    # Without `Transform:` CloudFormation does not know the type; moto skipped it in silence.
    untransformed = {"Resources": {"Rides": {"Type": "AWS::Serverless::SimpleTable"}}}
    with pytest.raises(ClientError, match=re.escape("must declare `Transform: AWS::Serverless")):
        _deploy(aws, "sam", untransformed)
    assert _stack(aws, "sam")["StackStatus"] == "ROLLBACK_COMPLETE"


# --- accepted, not emulated ------------------------------------------------------------------

XRAY = {
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TracingConfig": "Active"}},
        "TracingPolicy": {
            "Type": "AWS::XRay::ResourcePolicy",
            "Properties": {"PolicyName": "sns-tracing", "PolicyDocument": "{}"},
        },
    },
    "Outputs": {"Policy": {"Value": {"Ref": "TracingPolicy"}}},
}


def test_an_accepted_type_is_deployed_with_a_note_and_the_id_aws_gives(aws: Client) -> None:
    _deploy(aws, "platform", XRAY)

    stack = _stack(aws, "platform")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "sns-tracing"  # Ref: its PolicyName
    policy = _resources(aws, "platform")["TracingPolicy"]
    assert policy["PhysicalResourceId"] == "sns-tracing"
    assert policy["ResourceStatusReason"] == registry.status_reason(
        [registry.acceptance_note("AWS::XRay::ResourcePolicy")]
    )
    topic = _resources(aws, "platform")["Topic"]["ResourceStatusReason"]
    assert topic.startswith(registry.NOTE_PREFIX + "TracingConfig not emulated: ")
    [created] = [
        e
        for e in _events(aws, "platform")
        if e["LogicalResourceId"] == "TracingPolicy" and e["ResourceStatus"] == "CREATE_COMPLETE"
    ]
    assert created["ResourceStatusReason"] == policy["ResourceStatusReason"]

    # Nothing backs an attribute of it: GetAtt fails as CloudFormation's does.
    bad = {
        "Resources": XRAY["Resources"],
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["TracingPolicy", "Arn"]}}},
    }
    with pytest.raises(ClientError, match="does not support attribute type Arn"):
        aws("cloudformation").create_stack(StackName="bad", TemplateBody=json.dumps(bad))


# --- complete descriptions -------------------------------------------------------------------


def test_every_resource_is_described_with_its_own_status_and_time(aws: Client) -> None:
    cfn = aws("cloudformation")
    with patches.disabled(
        "refuse_resource_types_not_emulated", "describe_stack_resources_completely"
    ):
        _deploy(aws, "gap", USER_POOL)
        described = cfn.describe_stack_resources(StackName="gap")["StackResources"]
        assert {r.get("LogicalResourceId") for r in described} == {None, "Queue"}
        assert {r["Timestamp"].year for r in described} == {2010}
        summaries = cfn.list_stack_resources(StackName="gap")["StackResourceSummaries"]
        assert "" in {s["ResourceType"] for s in summaries}
        assert {e["LogicalResourceId"] for e in _events(aws, "gap")} == {"gap"}

    started = datetime.now(UTC) - timedelta(seconds=1)
    _deploy(aws, "fixed", XRAY)
    for entry in cfn.describe_stack_resources(StackName="fixed")["StackResources"]:
        assert entry["LogicalResourceId"]
        assert entry["ResourceType"]
        assert entry["PhysicalResourceId"]
        assert started <= entry["Timestamp"] <= datetime.now(UTC)
    assert _statuses(aws, "fixed", "Topic") == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]

    # Which stack holds a resource: DescribeStackResources by physical id.
    topic_arn = _resources(aws, "fixed")["Topic"]["PhysicalResourceId"]
    found = cfn.describe_stack_resources(PhysicalResourceId=topic_arn)["StackResources"]
    assert {r["StackName"] for r in found} == {"fixed"}
    assert {r["LogicalResourceId"] for r in found} == {"Topic", "TracingPolicy"}
    with pytest.raises(ClientError, match="does not exist"):
        cfn.describe_stack_resource(StackName="fixed", LogicalResourceId="Nope")


def test_updates_and_their_removals_are_described(aws: Client) -> None:
    two = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
            "Extra": {"Type": "AWS::SQS::Queue"},
        }
    }
    _deploy(aws, "svc", two)
    extra_url = _resources(aws, "svc")["Extra"]["PhysicalResourceId"]
    changed = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}}}
    }
    _deploy(aws, "svc", changed, "UPDATE")

    resources = _resources(aws, "svc")
    assert set(resources) == {"Queue"}  # a removed resource is no longer listed
    assert resources["Queue"]["ResourceStatus"] == "UPDATE_COMPLETE"
    assert _statuses(aws, "svc", "Extra")[-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert extra_url not in _queue_urls(aws)

    # Added back, it is created anew (moto kept the deleted object and reused it).
    _deploy(
        aws,
        "svc",
        {"Resources": {**changed["Resources"], "Extra": two["Resources"]["Extra"]}},
        "UPDATE",
    )
    assert _resources(aws, "svc")["Extra"]["PhysicalResourceId"] in _queue_urls(aws)


def test_template_summary_lists_what_the_stack_holds(aws: Client) -> None:
    sam = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Rides": {"Type": "AWS::Serverless::SimpleTable"}},
    }
    _deploy(aws, "sam", sam)
    cfn = aws("cloudformation")
    with patches.disabled("describe_stack_resources_completely"):
        gap = cfn.get_template_summary(StackName="sam")
        assert gap["ResourceTypes"] == ["AWS::Serverless::SimpleTable"]
        assert "DeclaredTransforms" not in gap

    summary = cfn.get_template_summary(StackName="sam")
    assert summary["ResourceTypes"] == ["AWS::DynamoDB::Table"]
    assert summary["DeclaredTransforms"] == ["AWS::Serverless-2016-10-31"]
    assert [r["ResourceType"] for r in _resources(aws, "sam").values()] == summary["ResourceTypes"]


# --- physical ids of the handlers' resources -------------------------------------------------


def _function_template(aws: Client) -> dict[str, Any]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    aws("s3").create_bucket(Bucket="code")
    aws("s3").put_object(Bucket="code", Key="app.zip", Body=buffer.getvalue())
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "code", "S3Key": "app.zip"},
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Role": role,
                },
            },
            "Invoke": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/rides",
                },
            },
        }
    }


def test_a_lambda_permission_is_its_statement(aws: Client) -> None:
    template = _function_template(aws)
    with patches.disabled("add_missing_cfn_resources"):
        _deploy(aws, "gap", template)
        # moto's own: a random statement id, and the stack has no id for it.
        summaries = aws("cloudformation").list_stack_resources(StackName="gap")
        [gap] = [
            s for s in summaries["StackResourceSummaries"] if s["LogicalResourceId"] == "Invoke"
        ]
        function = _resources(aws, "gap")["Fn"]["PhysicalResourceId"]
        [statement] = json.loads(aws("lambda").get_policy(FunctionName=function)["Policy"])[
            "Statement"
        ]
        assert gap["PhysicalResourceId"] != statement["Sid"]
        assert statement["FunctionName"]  # a template property in the policy

    _deploy(aws, "fixed", template)
    permission = _resources(aws, "fixed")["Invoke"]["PhysicalResourceId"]
    assert permission.startswith("fixed-Invoke-")
    function = _resources(aws, "fixed")["Fn"]["PhysicalResourceId"]
    [statement] = json.loads(aws("lambda").get_policy(FunctionName=function)["Policy"])["Statement"]
    assert statement["Sid"] == permission
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "FunctionName" not in statement


def test_the_api_gateway_account_sets_the_role_and_has_the_id_aws_gives(aws: Client) -> None:
    role = aws("iam").create_role(RoleName="apigw-logs", AssumeRolePolicyDocument="{}")["Role"]
    template = {
        "Resources": {
            "Account": {
                "Type": "AWS::ApiGateway::Account",
                "Properties": {"CloudWatchRoleArn": role["Arn"]},
            }
        },
        "Outputs": {"Id": {"Value": {"Ref": "Account"}}},
    }
    with patches.disabled("add_missing_cfn_resources", "refuse_resource_types_not_emulated"):
        _deploy(aws, "gap", template)
        assert "cloudwatchRoleArn" not in aws("apigateway").get_account()

    _deploy(aws, "mystack", template)
    assert aws("apigateway").get_account()["cloudwatchRoleArn"] == role["Arn"]
    account = _resources(aws, "mystack")["Account"]["PhysicalResourceId"]
    assert re.fullmatch(r"mysta-accou-[a-z0-9]{12}", account), account
    assert _stack(aws, "mystack")["Outputs"][0]["OutputValue"] == account
    aws("cloudformation").delete_stack(StackName="mystack")
    assert aws("apigateway").get_account()["cloudwatchRoleArn"] == role["Arn"]  # it stays


# --- deletes ---------------------------------------------------------------------------------

BUCKET = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}


def _bucket_with_an_object(aws: Client, stack: str) -> str:
    bucket = _resources(aws, stack)["Bucket"]["PhysicalResourceId"]
    aws("s3").put_object(Bucket=bucket, Key="artifact.zip", Body=b"zip")
    return bucket


def _bucket_names(aws: Client) -> list[str]:
    return [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]


def test_a_stack_with_a_non_empty_bucket_fails_to_delete(aws: Client) -> None:
    cfn = aws("cloudformation")
    with patches.disabled("refuse_to_delete_non_empty_buckets"):
        _deploy(aws, "gap", BUCKET)
        bucket = _bucket_with_an_object(aws, "gap")
        cfn.delete_stack(StackName="gap")
        deleted = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
        assert [s["StackName"] for s in deleted] == ["gap"]
        assert bucket in _bucket_names(aws)  # outlives its stack in silence

    _deploy(aws, "artifacts", BUCKET)
    bucket = _bucket_with_an_object(aws, "artifacts")
    cfn.delete_stack(StackName="artifacts")  # accepted: the failure is the stack's, as on AWS

    stack = _stack(aws, "artifacts")
    assert stack["StackStatus"] == "DELETE_FAILED"
    resource = _resources(aws, "artifacts")["Bucket"]
    assert resource["ResourceStatus"] == "DELETE_FAILED"
    assert resource["ResourceStatusReason"] == "The bucket you tried to delete is not empty"
    [failed] = [e for e in _events(aws, "artifacts") if e["ResourceStatus"] == "DELETE_FAILED"][-1:]
    assert failed["LogicalResourceId"] == "artifacts"
    assert failed["ResourceStatusReason"] == (
        "The following resource(s) failed to delete: [Bucket]. "
    )
    assert bucket in _bucket_names(aws)

    # Emptied, the delete goes through.
    aws("s3").delete_object(Bucket=bucket, Key="artifact.zip")
    cfn.delete_stack(StackName="artifacts")
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == (
        "DELETE_COMPLETE"
    )
    assert bucket not in _bucket_names(aws)


def test_a_retained_non_empty_bucket_lets_its_stack_go(aws: Client) -> None:
    retained = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}
    _deploy(aws, "kept", retained)
    bucket = _bucket_with_an_object(aws, "kept")
    stack_id = _stack(aws, "kept")["StackId"]
    aws("cloudformation").delete_stack(StackName="kept")

    assert _stack(aws, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert _resources(aws, stack_id)["Bucket"]["ResourceStatus"] == "DELETE_SKIPPED"
    assert bucket in _bucket_names(aws)


def test_a_failed_delete_keeps_the_stack_listed_and_its_exports(aws: Client) -> None:
    def exporting(name: str) -> dict[str, Any]:
        output = {"Value": {"Ref": "Bucket"}, "Export": {"Name": name}}
        return {**BUCKET, "Outputs": {"Name": output}}

    cfn = aws("cloudformation")
    with patches.disabled("delete_stacks_as_aws_does"):
        _deploy(aws, "gap", exporting("gap-bucket"))
        _bucket_with_an_object(aws, "gap")
        with pytest.raises(ClientError, match="not empty"):
            cfn.delete_stack(StackName="gap")
        # Gone from every list, its export left behind, published by no stack.
        assert [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "gap"] == []
        assert [e["Name"] for e in cfn.list_exports()["Exports"]] == ["gap-bucket"]

    _deploy(aws, "fixed", exporting("fixed-bucket"))
    _bucket_with_an_object(aws, "fixed")
    cfn.delete_stack(StackName="fixed")
    assert _stack(aws, "fixed")["StackStatus"] == "DELETE_FAILED"
    exports = {e["Name"]: e["ExportingStackId"] for e in cfn.list_exports()["Exports"]}
    assert exports["fixed-bucket"] == _stack(aws, "fixed")["StackId"]
    listed = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "fixed"]
    assert [s["StackStatus"] for s in listed] == ["DELETE_FAILED"]


def test_a_nested_stack_that_fails_to_delete_fails_its_parent(aws: Client) -> None:
    aws("s3").create_bucket(Bucket="artifacts")
    aws("s3").put_object(Bucket="artifacts", Key="child.json", Body=json.dumps(BUCKET))
    parent = {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "http://localhost/artifacts/child.json"},
            }
        }
    }
    _deploy(aws, "parent", parent)
    child_id = _resources(aws, "parent")["Child"]["PhysicalResourceId"]
    _bucket_with_an_object(aws, child_id)
    aws("cloudformation").delete_stack(StackName="parent")

    assert _stack(aws, "parent")["StackStatus"] == "DELETE_FAILED"
    child = _resources(aws, "parent")["Child"]
    assert child["ResourceStatus"] == "DELETE_FAILED"
    assert child["ResourceStatusReason"] == (
        f"Embedded stack {child_id} was not successfully deleted: "
        "The following resource(s) failed to delete: [Bucket]. "
    )


def test_retain_is_honoured_when_an_update_removes_a_resource(aws: Client) -> None:
    kept_and_other = {
        "Resources": {
            "Kept": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain"},
            "Other": {"Type": "AWS::SQS::Queue"},
        }
    }
    other_only = {"Resources": {"Other": kept_and_other["Resources"]["Other"]}}
    with patches.disabled("delete_stacks_as_aws_does"):
        _deploy(aws, "gap", kept_and_other)
        kept = _resources(aws, "gap")["Kept"]["PhysicalResourceId"]
        _deploy(aws, "gap", other_only, "UPDATE")
        assert kept not in _queue_urls(aws)

    _deploy(aws, "fixed", kept_and_other)
    kept = _resources(aws, "fixed")["Kept"]["PhysicalResourceId"]
    _deploy(aws, "fixed", other_only, "UPDATE")
    assert kept in _queue_urls(aws)
    assert _statuses(aws, "fixed", "Kept")[-1] == "DELETE_SKIPPED"
    assert set(_resources(aws, "fixed")) == {"Other"}


def test_a_resource_moto_cannot_delete_says_it_is_left_behind(aws: Client) -> None:
    policy = {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
                    }
                },
            }
        }
    }
    _deploy(aws, "iam", policy)
    stack_id = _stack(aws, "iam")["StackId"]
    aws("cloudformation").delete_stack(StackName="iam")
    resource = _resources(aws, stack_id)["Policy"]
    assert resource["ResourceStatus"] == "DELETE_COMPLETE"
    assert resource["ResourceStatusReason"] == (
        f"{registry.NOTE_PREFIX}moto cannot delete AWS::IAM::ManagedPolicy: it is left behind"
    )


def _layer_template(retention: str) -> dict[str, Any]:
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Layer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {
                    "LayerName": f"shared-{retention.lower()}",
                    "ContentUri": "s3://code/layer.zip",
                    "RetentionPolicy": retention,
                },
            }
        },
    }


def _layer_versions(aws: Client, name: str) -> list[dict[str, Any]]:
    return aws("lambda").list_layer_versions(LayerName=name)["LayerVersions"]


def test_layer_versions_follow_their_retention_policy(aws: Client) -> None:
    aws("s3").create_bucket(Bucket="code")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/shared.py", "")
    aws("s3").put_object(Bucket="code", Key="layer.zip", Body=buffer.getvalue())
    cfn = aws("cloudformation")

    with patches.disabled("delete_layer_versions_with_their_stack"):
        _deploy(aws, "gap", _layer_template("Delete"))
        cfn.delete_stack(StackName="gap")
        assert len(_layer_versions(aws, "shared-delete")) == 1  # outlives its stack

    _deploy(aws, "layer-delete", _layer_template("Delete"))
    _deploy(aws, "layer-retain", _layer_template("Retain"))
    assert len(_layer_versions(aws, "shared-delete")) == 2  # the gap's and this stack's
    assert len(_layer_versions(aws, "shared-retain")) == 1
    cfn.delete_stack(StackName="layer-delete")
    cfn.delete_stack(StackName="layer-retain")
    assert len(_layer_versions(aws, "shared-delete")) == 1  # deleted with its stack
    assert len(_layer_versions(aws, "shared-retain")) == 1  # kept


def test_a_deleted_key_is_scheduled_for_deletion(aws: Client) -> None:
    key = {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {"PendingWindowInDays": 7, "KeyPolicy": {"Version": "2012-10-17"}},
            }
        }
    }
    kms = aws("kms")
    with patches.disabled("schedule_kms_key_deletion"):
        _deploy(aws, "gap", key)
        key_id = _resources(aws, "gap")["Key"]["PhysicalResourceId"]
        aws("cloudformation").delete_stack(StackName="gap")
        with pytest.raises(ClientError, match="NotFound"):
            kms.describe_key(KeyId=key_id)

    _deploy(aws, "fixed", key)
    key_id = _resources(aws, "fixed")["Key"]["PhysicalResourceId"]
    aws("cloudformation").delete_stack(StackName="fixed")
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["DeletionDate"] - datetime.now(UTC) > timedelta(days=6)


def test_a_state_machine_moto_models_but_never_runs_fails_the_deploy_saying_why(
    aws: Client,
) -> None:
    machine = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/machine",
                    "Definition": {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}},
                },
            }
        }
    }
    with patches.disabled("refuse_resource_types_not_emulated"):
        _deploy(aws, "gap", machine)
        assert _stack(aws, "gap")["StackStatus"] == "CREATE_COMPLETE"  # executions never run
        aws("cloudformation").delete_stack(StackName="gap")

    with pytest.raises(ClientError, match=re.escape("AWS::StepFunctions::StateMachine (Machine)")):
        _deploy(aws, "machine", machine)

    assert _stack(aws, "machine")["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = _resources(aws, "machine")["Machine"]["ResourceStatusReason"]
    assert "its executions do not run locally" in reason
    assert aws("stepfunctions").list_state_machines()["stateMachines"] == []


def test_an_eventbridge_rule_says_which_targets_get_nothing_locally(aws: Client) -> None:
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nightly"
    machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:settle"
    rules = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "ToQueue": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {"source": ["rides"]},
                    # As templates write it: the rule sees the queue's ARN once it is resolved.
                    "Targets": [{"Id": "Queue", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}],
                },
            },
            "Nightly": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "Targets": [
                        {"Id": "Report", "Arn": function_arn},
                        {"Id": "Settle", "Arn": machine_arn},
                    ],
                },
            },
        }
    }

    _deploy(aws, "rules", rules)

    resources = _resources(aws, "rules")
    assert "ResourceStatusReason" not in resources["ToQueue"]  # delivered: nothing to say
    nightly = resources["Nightly"]["ResourceStatusReason"]
    assert nightly.startswith(registry.NOTE_PREFIX)
    assert "Targets: target(s) Settle get nothing locally" in nightly
    assert "Report" not in nightly  # a Lambda target is delivered to
    assert "ScheduleExpression" not in nightly  # a schedule that parses fires


def _bus_with_a_rule(bus_name: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus_name}},
            "OnBus": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"source": ["rides"]},
                },
            },
        },
        "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}},
    }


def test_a_rule_on_a_custom_bus_of_the_same_stack_deploys(aws: Client) -> None:
    with (
        patches.disabled("ref_event_bus_by_name"),
        pytest.raises(AttributeError, match="'EventBus' object has no attribute 'split'"),
    ):
        # moto: the rule gets the bus object, not its name
        _deploy(aws, "bus-gap", _bus_with_a_rule("gap-bus"))

    _deploy(aws, "bus", _bus_with_a_rule("rides-bus"))

    assert _stack(aws, "bus")["Outputs"][0]["OutputValue"] == "rides-bus"
    [rule] = aws("events").list_rules(EventBusName="rides-bus")["Rules"]
    assert rule["EventBusName"] == "rides-bus"


def test_a_scheduler_schedule_deploys_and_one_eventbridge_scheduler_refuses_fails(
    aws: Client,
) -> None:
    def template(timezone: str) -> dict[str, Any]:
        return {
            "Resources": {
                "Group": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {}},
                "Nightly": {
                    "Type": "AWS::Scheduler::Schedule",
                    "Properties": {
                        "GroupName": {"Ref": "Group"},
                        "ScheduleExpression": "cron(0 3 * * ? *)",
                        "ScheduleExpressionTimezone": timezone,
                        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
                        "Target": {
                            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:report",
                            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
                        },
                    },
                },
            },
            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Nightly", "Arn"]}}},
        }

    _deploy(aws, "nightly", template("Europe/Paris"))
    arn = _stack(aws, "nightly")["Outputs"][0]["OutputValue"]
    group, name = arn.split("schedule/")[1].split("/")
    described = aws("scheduler").get_schedule(GroupName=group, Name=name)
    assert described["ScheduleExpressionTimezone"] == "Europe/Paris"
    note = _resources(aws, "nightly")["Nightly"]["ResourceStatusReason"]
    assert "FlexibleTimeWindow: fires at the window's start" in note

    with pytest.raises(ClientError, match="not a time zone"):
        _deploy(aws, "bad-zone", template("Mars/Olympus"))
    assert _stack(aws, "bad-zone")["StackStatus"] == "ROLLBACK_COMPLETE"


def test_a_schedule_expression_eventbridge_would_refuse_fails_the_deploy(aws: Client) -> None:
    rule = {
        "Resources": {
            "Broken": {
                "Type": "AWS::Events::Rule",
                "Properties": {"ScheduleExpression": "rate(1 minutes)"},
            }
        }
    }
    with pytest.raises(ClientError, match="ScheduleExpression of Broken is not valid"):
        _deploy(aws, "broken-schedule", rule)
    assert _stack(aws, "broken-schedule")["StackStatus"] == "ROLLBACK_COMPLETE"
    names = [rule["Name"] for rule in aws("events").list_rules()["Rules"]]
    assert not [name for name in names if name.startswith("broken-schedule")]


def test_bucket_versioning_and_public_access_block(aws: Client) -> None:
    bucket = {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": "true",
                        "BlockPublicPolicy": "true",
                        "IgnorePublicAcls": "true",
                        "RestrictPublicBuckets": "true",
                    },
                },
            }
        }
    }
    s3 = aws("s3")
    with patches.disabled("complete_s3_bucket_resource"):
        _deploy(aws, "gap", bucket)
        name = _resources(aws, "gap")["Bucket"]["PhysicalResourceId"]
        assert "Status" not in s3.get_bucket_versioning(Bucket=name)
        with pytest.raises(ClientError, match="NoSuchPublicAccessBlockConfiguration"):
            s3.get_public_access_block(Bucket=name)

    _deploy(aws, "fixed", bucket)
    name = _resources(aws, "fixed")["Bucket"]["PhysicalResourceId"]
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def _notified_bucket(queue_arn: str, rule_name: str = "prefix") -> dict[str, Any]:
    return {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "NotificationConfiguration": {
                        "QueueConfigurations": [
                            {
                                "Event": "s3:ObjectCreated:*",
                                "Queue": queue_arn,
                                "Filter": {
                                    "S3Key": {"Rules": [{"Name": rule_name, "Value": "in/"}]}
                                },
                            }
                        ]
                    }
                },
            }
        }
    }


def test_bucket_notifications_declared_in_the_template_fire(aws: Client) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    template = _notified_bucket(arn["QueueArn"])
    s3 = aws("s3")
    with patches.disabled("s3_notifications_from_templates"):
        _deploy(aws, "gap", template)
        name = _resources(aws, "gap")["Bucket"]["PhysicalResourceId"]
        assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=name)

    _deploy(aws, "fixed", template)
    name = _resources(aws, "fixed")["Bucket"]["PhysicalResourceId"]
    [configured] = s3.get_bucket_notification_configuration(Bucket=name)["QueueConfigurations"]
    assert configured["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "in/"}]
    sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent S3 sends when the configuration is set
    s3.put_object(Bucket=name, Key="out/skipped.txt", Body=b"x")
    s3.put_object(Bucket=name, Key="in/ride.json", Body=b"{}")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # Keys come URL-encoded, as in S3's events: handlers decode them with unquote_plus.
    keys = [json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"] for m in messages]
    assert [unquote_plus(key) for key in keys] == ["in/ride.json"]


def test_an_update_that_adds_a_notification_sets_it_on_the_existing_bucket(aws: Client) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="later")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    _deploy(aws, "grows", {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}})
    name = _resources(aws, "grows")["Bucket"]["PhysicalResourceId"]

    _deploy(aws, "grows", _notified_bucket(arn["QueueArn"]), kind="UPDATE")

    assert _stack(aws, "grows")["StackStatus"] == "UPDATE_COMPLETE"
    assert _resources(aws, "grows")["Bucket"]["PhysicalResourceId"] == name  # same bucket
    sqs.purge_queue(QueueUrl=url)
    aws("s3").put_object(Bucket=name, Key="in/late.json", Body=b"{}")
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert "in%2Flate.json" in message["Body"]


def test_a_notification_s3_would_refuse_fails_the_bucket_before_it_exists(aws: Client) -> None:
    template = _notified_bucket("arn:aws:sqs:us-east-1:123456789012:uploads")
    configurations = template["Resources"]["Bucket"]["Properties"]["NotificationConfiguration"]
    configurations["QueueConfigurations"][0]["Event"] = "s3:ObjectMoved:*"

    with pytest.raises(ClientError):
        _deploy(aws, "bad-event", template)

    reason = _resources(aws, "bad-event")["Bucket"]["ResourceStatusReason"]
    assert "'s3:ObjectMoved:*' is not an S3 event name" in reason
    assert aws("s3").list_buckets()["Buckets"] == []


def test_a_notification_filter_cloudformation_refuses_fails_the_bucket(aws: Client) -> None:
    template = _notified_bucket("arn:aws:sqs:us-east-1:123456789012:uploads", rule_name="middle")

    with pytest.raises(ClientError):
        _deploy(aws, "bad-filter", template)

    assert _stack(aws, "bad-filter")["StackStatus"] == "ROLLBACK_COMPLETE"
    events = aws("cloudformation").describe_stack_events(StackName="bad-filter")["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert "filter rule name 'middle' is not prefix or suffix" in failed["ResourceStatusReason"]
    assert aws("s3").list_buckets()["Buckets"] == []


# --- the patch registry itself ----------------------------------------------------------------


def test_disabling_a_patch_another_one_wraps_keeps_the_other(aws: Client) -> None:
    from moto.cloudformation.models import CloudFormationBackend

    # propagate_stack_tags and refuse_resource_types_not_emulated both wrap create_stack.
    before = CloudFormationBackend.__dict__["create_stack"]
    with patches.disabled("propagate_stack_tags"):
        assert CloudFormationBackend.__dict__["create_stack"] is not before
        with pytest.raises(ClientError, match="AWS::Cognito::UserPool"):
            aws("cloudformation").create_stack(StackName="http", TemplateBody=json.dumps(USER_POOL))
        assert _stack(aws, "http")["StackStatus"] == "ROLLBACK_COMPLETE"  # the later patch ran
    assert CloudFormationBackend.__dict__["create_stack"] is before
    for name in patches.names():
        assert patches.is_applied(name)
