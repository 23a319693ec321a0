"""One test per patch in localcloud.patches: each shows the gap in moto (patch switched off with
`patches.disabled`) and that the patch closes it. When a moto upgrade fixes a gap, the "gap"
half of its test fails: delete that patch and its test."""

from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from wildrydes_testing.aws import mocked
from wildrydes_testing.aws import session as aws_session

from localcloud import patches
from localcloud.lambda_runtime import invoke_routing
from localcloud.lambda_runtime.invoker import InvocationResult

Client = Callable[[str], Any]
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _patched() -> None:
    patches.apply_all()


@pytest.fixture
def aws() -> Iterator[Client]:
    with mocked():
        session = aws_session()
        yield session.client


def _create_stack(aws: Client, name: str, template: dict[str, Any], **kwargs: Any) -> None:
    aws("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template), **kwargs)


def _deploy_change_set(
    aws: Client, name: str, template: dict[str, Any], kind: str = "CREATE", **kwargs: Any
) -> None:
    """What `sam deploy` does: create a change set, then execute it."""
    cfn = aws("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"deploy-{kind.lower()}",
        ChangeSetType=kind,
        **({"TemplateBody": json.dumps(template)} if template else {}),
        **kwargs,
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])


def _outputs(aws: Client, name: str) -> dict[str, str]:
    stack = aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def _resource_types(aws: Client, name: str) -> set[str]:
    resources = aws("cloudformation").list_stack_resources(StackName=name)
    return {r["ResourceType"] for r in resources["StackResourceSummaries"]}


def test_every_patch_is_applied_and_documented() -> None:
    assert patches.names()
    for name, summary in patches.describe().items():
        assert patches.is_applied(name)
        assert summary.startswith("Gap (moto 5.2.5)"), name
    assert patches.MOTO_VERSION == "5.2.5"


def test_apply_all_is_idempotent_and_disabled_restores() -> None:
    from moto.sns.utils import FilterPolicyMatcher

    patched = FilterPolicyMatcher.__dict__["_field_match"]
    patches.apply_all()
    assert FilterPolicyMatcher.__dict__["_field_match"] is patched
    with patches.disabled("tolerate_mistyped_filter_values"):
        assert FilterPolicyMatcher.__dict__["_field_match"] is not patched
    assert FilterPolicyMatcher.__dict__["_field_match"] is patched


# --- a. SAM transform ---------------------------------------------------------------------------

SAM_TABLE = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {"Rides": {"Type": "AWS::Serverless::SimpleTable"}},
    "Outputs": {"TableName": {"Value": {"Ref": "Rides"}}},
}


def test_sam_transform_on_create_stack(aws: Client) -> None:
    with patches.disabled("transform_sam_templates"):
        _create_stack(aws, "gap", SAM_TABLE)
        assert aws("dynamodb").list_tables()["TableNames"] == []  # "complete", but empty

    _create_stack(aws, "fixed", SAM_TABLE)

    assert aws("dynamodb").list_tables()["TableNames"] == [_outputs(aws, "fixed")["TableName"]]
    assert _resource_types(aws, "fixed") == {"AWS::DynamoDB::Table"}


def test_sam_transform_on_change_set_from_template_url(aws: Client) -> None:
    # sam deploy uploads the template to S3 and passes its URL to CreateChangeSet.
    aws("s3").create_bucket(Bucket="artifacts")
    aws("s3").put_object(Bucket="artifacts", Key="t.yaml", Body=yaml.safe_dump(SAM_TABLE))
    url = "http://localhost:4566/artifacts/t.yaml"

    _deploy_change_set(aws, "fixed", {}, TemplateURL=url)

    assert _resource_types(aws, "fixed") == {"AWS::DynamoDB::Table"}


def test_sam_transform_errors_become_validation_errors(aws: Client) -> None:
    broken = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}},
    }
    with pytest.raises(ClientError, match="Transform AWS::Serverless-2016-10-31 failed"):
        _create_stack(aws, "broken", broken)


# --- b. change sets -----------------------------------------------------------------------------

EXPORTER = {
    "Parameters": {"Suffix": {"Type": "String", "Default": "one"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "exporter-TopicArn"}},
        "Suffix": {"Value": {"Ref": "Suffix"}, "Export": {"Name": "exporter-Suffix"}},
    },
}
IMPORTER = {
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::ImportValue": "exporter-Suffix"}},
        }
    }
}


def test_change_set_stacks_get_outputs_and_exports(aws: Client) -> None:
    with patches.disabled("complete_change_set_execution"):
        _deploy_change_set(aws, "gap", {**EXPORTER, "Outputs": {"T": {"Value": {"Ref": "Topic"}}}})
        assert _outputs(aws, "gap") == {}

    _deploy_change_set(aws, "exporter", EXPORTER)

    exports = {e["Name"]: e["Value"] for e in aws("cloudformation").list_exports()["Exports"]}
    assert exports["exporter-TopicArn"] == _outputs(aws, "exporter")["TopicArn"]
    _deploy_change_set(aws, "importer", IMPORTER)  # Fn::ImportValue resolves
    assert aws("sqs").get_queue_url(QueueName="one")


def test_change_set_updates_replace_exports(aws: Client) -> None:
    _deploy_change_set(aws, "exporter", EXPORTER)

    _deploy_change_set(
        aws,
        "exporter",
        EXPORTER,
        kind="UPDATE",
        Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "two"}],
    )

    exports = {e["Name"]: e["Value"] for e in aws("cloudformation").list_exports()["Exports"]}
    assert exports["exporter-Suffix"] == "two"
    assert _outputs(aws, "exporter")["Suffix"] == "two"


def test_failed_change_set_execution_marks_the_stack(aws: Client) -> None:
    with pytest.raises(ClientError):
        _deploy_change_set(aws, "importer", IMPORTER)  # nothing exports exporter-Suffix

    stack = aws("cloudformation").describe_stacks(StackName="importer")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_FAILED"


# --- parameter-only updates ---------------------------------------------------------------------

CONDITIONAL_QUEUE = {
    "Parameters": {"Slow": {"Type": "String", "Default": "no"}},
    "Conditions": {"IsSlow": {"Fn::Equals": [{"Ref": "Slow"}, "yes"]}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "conditional",
                "VisibilityTimeout": {"Fn::If": ["IsSlow", 300, 30]},
            },
        }
    },
}


def _visibility_after_parameter_change(aws: Client, name: str) -> str:
    _create_stack(aws, name, {**CONDITIONAL_QUEUE})
    aws("cloudformation").update_stack(
        StackName=name,
        TemplateBody=json.dumps(CONDITIONAL_QUEUE),
        Parameters=[{"ParameterKey": "Slow", "ParameterValue": "yes"}],
    )
    url = aws("sqs").get_queue_url(QueueName="conditional")["QueueUrl"]
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return attributes["Attributes"]["VisibilityTimeout"]


def test_parameter_changes_reach_resources_through_conditions(aws: Client) -> None:
    with patches.disabled("update_resources_on_parameter_changes"):
        assert _visibility_after_parameter_change(aws, "gap") == "30"
        aws("cloudformation").delete_stack(StackName="gap")

    assert _visibility_after_parameter_change(aws, "fixed") == "300"


# --- c. SNS / SQS resources ---------------------------------------------------------------------


def _fan_out_template(filter_policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Queue"}],
                    "PolicyDocument": {"Statement": [{"Sid": "FromTopic", "Effect": "Allow"}]},
                },
            },
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "Topic"}],
                    "PolicyDocument": {"Statement": [{"Sid": "OnlyUs", "Effect": "Allow"}]},
                },
            },
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "FilterPolicy": filter_policy,
                    "RawMessageDelivery": "false",
                },
            },
        },
        "Outputs": {
            "TopicArn": {"Value": {"Ref": "Topic"}},
            "QueueUrl": {"Value": {"Ref": "Queue"}},
            "SubscriptionArn": {"Value": {"Ref": "Subscription"}},
        },
    }


def _fares_delivered(aws: Client, outputs: dict[str, str], fares: list[str]) -> list[str]:
    for fare in fares:
        aws("sns").publish(
            TopicArn=outputs["TopicArn"],
            Message=fare,
            MessageAttributes={"fare": {"DataType": "Number", "StringValue": fare}},
        )
    received = aws("sqs").receive_message(QueueUrl=outputs["QueueUrl"], MaxNumberOfMessages=10)
    return sorted(json.loads(m["Body"])["Message"] for m in received.get("Messages", []))


def test_sns_subscription_with_filter_policy(aws: Client) -> None:
    template = _fan_out_template({"fare": [{"numeric": [">=", 50]}]})
    with patches.disabled("add_missing_cfn_resources"):
        _create_stack(aws, "gap", template)
        assert aws("sns").list_subscriptions()["Subscriptions"] == []
        aws("cloudformation").delete_stack(StackName="gap")

    _create_stack(aws, "fixed", template)
    outputs = _outputs(aws, "fixed")

    assert _fares_delivered(aws, outputs, ["10", "50", "75.5"]) == ["50", "75.5"]
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=outputs["SubscriptionArn"])
    assert attributes["Attributes"]["RawMessageDelivery"] == "false"


def test_sns_subscription_update_and_delete(aws: Client) -> None:
    _create_stack(aws, "fixed", _fan_out_template({"fare": [{"numeric": [">=", 50]}]}))
    cfn = aws("cloudformation")

    cfn.update_stack(
        StackName="fixed",
        TemplateBody=json.dumps(_fan_out_template({"fare": [{"numeric": ["<", 20]}]})),
    )
    outputs = _outputs(aws, "fixed")
    assert _fares_delivered(aws, outputs, ["10", "50"]) == ["10"]

    cfn.delete_stack(StackName="fixed")
    assert aws("sns").list_subscriptions()["Subscriptions"] == []


def test_topic_and_queue_policies(aws: Client) -> None:
    _create_stack(aws, "fixed", _fan_out_template({"fare": [{"exists": True}]}))
    outputs = _outputs(aws, "fixed")

    topic = aws("sns").get_topic_attributes(TopicArn=outputs["TopicArn"])["Attributes"]
    queue = aws("sqs").get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])
    assert json.loads(topic["Policy"])["Statement"][0]["Sid"] == "OnlyUs"
    assert json.loads(queue["Attributes"]["Policy"])["Statement"][0]["Sid"] == "FromTopic"


def test_filter_policy_scope_is_respected(aws: Client) -> None:
    template = _fan_out_template({"kind": ["ride"]})
    template["Resources"]["Subscription"]["Properties"]["FilterPolicyScope"] = "MessageBody"
    _create_stack(aws, "fixed", template)
    outputs = _outputs(aws, "fixed")

    for kind in ("ride", "other"):
        aws("sns").publish(TopicArn=outputs["TopicArn"], Message=json.dumps({"kind": kind}))

    received = aws("sqs").receive_message(QueueUrl=outputs["QueueUrl"], MaxNumberOfMessages=10)
    bodies = [json.loads(json.loads(m["Body"])["Message"]) for m in received["Messages"]]
    assert bodies == [{"kind": "ride"}]


# --- d. API Gateway -----------------------------------------------------------------------------

API = {
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Body": {
                    "openapi": "3.0.1",
                    "info": {"title": "rides-api", "version": "1.0"},
                    "paths": {
                        "/rides/{id}": {
                            "get": {
                                "security": [{"api_key": []}],
                                "responses": {},
                                "x-amazon-apigateway-integration": {
                                    "type": "aws_proxy",
                                    "httpMethod": "POST",
                                    "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31"
                                    "/functions/arn:aws:lambda:us-east-1:123456789012:function:f"
                                    "/invocations",
                                },
                            }
                        }
                    },
                    "components": {
                        "securitySchemes": {
                            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
                        }
                    },
                    "x-amazon-apigateway-gateway-responses": {
                        "DEFAULT_5XX": {
                            "responseTemplates": {
                                "application/json": '{"message":$context.error.messageString}'
                            }
                        }
                    },
                }
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "DeploymentId": {"Ref": "Deployment"},
                "StageName": "Prod",
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingBurstLimit": 5,
                        "ThrottlingRateLimit": 2,
                    }
                ],
            },
        },
        "Plan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "ApiStages": [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "Stage"}}],
                "Throttle": {"BurstLimit": 10, "RateLimit": 5},
            },
        },
        "Key": {
            "Type": "AWS::ApiGateway::ApiKey",
            "Properties": {
                "Enabled": True,
                "StageKeys": [{"RestApiId": {"Ref": "Api"}, "StageName": {"Ref": "Stage"}}],
            },
        },
        "PlanKey": {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {
                "KeyId": {"Ref": "Key"},
                "KeyType": "API_KEY",
                "UsagePlanId": {"Ref": "Plan"},
            },
        },
    },
    "Outputs": {
        "ApiId": {"Value": {"Ref": "Api"}},
        "DeploymentId": {"Value": {"Ref": "Deployment"}},
        "KeyId": {"Value": {"Ref": "Key"}},
        "PlanId": {"Value": {"Ref": "Plan"}},
    },
}


def test_rest_api_from_openapi_body(aws: Client) -> None:
    nameless = {"Resources": {"Api": API["Resources"]["Api"]}}
    with patches.disabled("add_missing_cfn_resources"):
        with pytest.raises(KeyError, match="Name"):  # moto requires Name, SAM sets none
            _create_stack(aws, "gap", nameless)
        named = json.loads(json.dumps(nameless))
        named["Resources"]["Api"]["Properties"]["Name"] = "rides-api"
        _create_stack(aws, "gap2", named)
        (api,) = aws("apigateway").get_rest_apis()["items"]
        assert aws("apigateway").get_resources(restApiId=api["id"])["items"] == [
            {"id": api["rootResourceId"], "path": "/"}
        ]  # the Body was ignored
        aws("cloudformation").delete_stack(StackName="gap2")
        aws("apigateway").delete_rest_api(restApiId=api["id"])

    _create_stack(aws, "fixed", API)
    outputs = _outputs(aws, "fixed")
    apigw = aws("apigateway")

    api_id = outputs["ApiId"]
    assert apigw.get_rest_api(restApiId=api_id)["name"] == "rides-api"
    paths = {r["path"]: r for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert set(paths) == {"/", "/rides", "/rides/{id}"}
    resource = paths["/rides/{id}"]
    method = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="GET")
    assert method["apiKeyRequired"] is True
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert method["methodIntegration"]["uri"].endswith(":function:f/invocations")
    assert set(_gateway_responses(aws, api_id)) == {"DEFAULT_5XX"}


def test_api_stage_key_and_usage_plan(aws: Client) -> None:
    _create_stack(aws, "fixed", API)
    outputs = _outputs(aws, "fixed")
    apigw = aws("apigateway")

    stage = apigw.get_stage(restApiId=outputs["ApiId"], stageName="Prod")
    assert stage["deploymentId"] == outputs["DeploymentId"]
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 5
    plan = apigw.get_usage_plan(usagePlanId=outputs["PlanId"])
    assert plan["apiStages"] == [{"apiId": outputs["ApiId"], "stage": "Prod"}]
    assert plan["throttle"] == {"burstLimit": 10, "rateLimit": 5.0}
    (key,) = apigw.get_usage_plan_keys(usagePlanId=outputs["PlanId"])["items"]
    assert key["id"] == outputs["KeyId"]
    assert apigw.get_api_key(apiKey=outputs["KeyId"])["enabled"] is True

    aws("cloudformation").delete_stack(StackName="fixed")
    assert apigw.get_rest_apis()["items"] == []
    assert apigw.get_usage_plans()["items"] == []
    assert apigw.get_api_keys()["items"] == []


def test_cloudwatch_alarm(aws: Client) -> None:
    template = {
        "Resources": {
            "DlqAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": "dlq"}],
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            }
        }
    }
    with patches.disabled("add_missing_cfn_resources"):
        _create_stack(aws, "gap", template)
        assert aws("cloudwatch").describe_alarms()["MetricAlarms"] == []
        aws("cloudformation").delete_stack(StackName="gap")

    _create_stack(aws, "fixed", template)

    (alarm,) = aws("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "dlq"}]


def _dashboard_template(body: str, **properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Board": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardBody": body, **properties},
            }
        },
        "Outputs": {"Name": {"Value": {"Ref": "Board"}}},
    }


def _widgets(markdown: str) -> str:
    widget = {"type": "text", "x": 0, "y": 0, "width": 6, "height": 3}
    return json.dumps({"widgets": [{**widget, "properties": {"markdown": markdown}}]})


def _dashboard_names(aws: Client) -> list[str]:
    return [d["DashboardName"] for d in aws("cloudwatch").list_dashboards()["DashboardEntries"]]


def test_cloudwatch_dashboard(aws: Client) -> None:
    cfn, cloudwatch = aws("cloudformation"), aws("cloudwatch")
    with patches.disabled("add_missing_cfn_resources"):
        _create_stack(aws, "gap", _dashboard_template("{not json", DashboardName="bad"))
        assert cloudwatch.get_dashboard(DashboardName="bad")["DashboardBody"] == "{not json"
        cfn.delete_stack(StackName="gap")
        _create_stack(aws, "gap2", _dashboard_template(_widgets("one")))
        first = _outputs(aws, "gap2")["Name"]
        cfn.update_stack(StackName="gap2", TemplateBody=json.dumps(_dashboard_template("{}")))
        assert _dashboard_names(aws) == [_outputs(aws, "gap2")["Name"]] != [first]  # replaced
        cfn.delete_stack(StackName="gap2")

    _create_stack(aws, "fixed", _dashboard_template(_widgets("one")))
    name = _outputs(aws, "fixed")["Name"]
    assert name.startswith("fixed-Board-")  # generated as for any named resource, Ref is it
    assert cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"] == _widgets("one")

    cfn.update_stack(StackName="fixed", TemplateBody=json.dumps(_dashboard_template(_widgets("2"))))
    assert _dashboard_names(aws) == [name]  # updated in place
    assert cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"] == _widgets("2")

    cfn.delete_stack(StackName="fixed")
    assert _dashboard_names(aws) == []


def test_cloudwatch_dashboard_with_a_body_that_is_not_json_fails(aws: Client) -> None:
    with pytest.raises(ClientError, match="DashboardBody is not valid JSON"):
        _create_stack(aws, "broken", _dashboard_template("{not json", DashboardName="bad"))
    # `sam deploy` (a change set) leaves the stack failed, with the reason as its event.
    with pytest.raises(ClientError):
        _deploy_change_set(aws, "broken2", _dashboard_template("[1, 2]", DashboardName="bad"))
    stack = aws("cloudformation").describe_stacks(StackName="broken2")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_FAILED"
    events = aws("cloudformation").describe_stack_events(StackName="broken2")["StackEvents"]
    assert "DashboardBody must be a JSON object" in events[0]["ResourceStatusReason"]
    assert _dashboard_names(aws) == []

    _create_stack(aws, "named", _dashboard_template(_widgets("one"), DashboardName="rides"))
    with pytest.raises(ClientError, match="not valid JSON"):
        aws("cloudformation").update_stack(
            StackName="named",
            TemplateBody=json.dumps(_dashboard_template("{", DashboardName="renamed")),
        )
    assert _dashboard_names(aws) == ["rides"]  # the failed rename kept the old dashboard


# --- Lambda -------------------------------------------------------------------------------------


def _zip(source: str, name: str = "app.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


@pytest.fixture
def code(aws: Client) -> dict[str, str]:
    aws("s3").create_bucket(Bucket="code")
    aws("s3").put_object(
        Bucket="code", Key="fn.zip", Body=_zip("def handler(e, c):\n    return e\n")
    )
    aws("s3").put_object(Bucket="code", Key="layer.zip", Body=_zip("X = 1\n", "python/lib.py"))
    return {"S3Bucket": "code", "S3Key": "fn.zip"}


def _role(aws: Client) -> str:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]}
    return aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]


def _function_template(role: str, code: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {
                    "LayerName": "shared",
                    "Content": {"S3Bucket": "code", "S3Key": "layer.zip"},
                    "CompatibleArchitectures": ["arm64"],
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": code,
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Role": role,
                    "Architectures": ["arm64"],
                    "Layers": [{"Ref": "Layer"}],
                    **extra,
                },
            },
        },
        "Outputs": {"Fn": {"Value": {"Ref": "Fn"}}, "Layer": {"Value": {"Ref": "Layer"}}},
    }


def test_lambda_function_architecture_and_layers(aws: Client, code: dict[str, str]) -> None:
    template = _function_template(_role(aws), code)
    with patches.disabled("complete_lambda_resources"):
        _create_stack(aws, "gap", template)
        gap = aws("lambda").get_function(FunctionName=_outputs(aws, "gap")["Fn"])["Configuration"]
        assert gap["Architectures"] == ["x86_64"]
        assert gap.get("Layers", []) == []
        aws("cloudformation").delete_stack(StackName="gap")

    _create_stack(aws, "fixed", template)
    outputs = _outputs(aws, "fixed")

    function = aws("lambda").get_function(FunctionName=outputs["Fn"])["Configuration"]
    assert function["Architectures"] == ["arm64"]
    assert [layer["Arn"] for layer in function["Layers"]] == [outputs["Layer"]]
    assert ":layer:shared:1" in outputs["Layer"]
    layer = aws("lambda").get_layer_version(LayerName="shared", VersionNumber=1)
    assert layer["CompatibleArchitectures"] == ["arm64"]


def test_powertools_layer_arn_is_accepted(aws: Client, code: dict[str, str]) -> None:
    arn = (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7"
    )
    kwargs = {
        "FunctionName": "fn",
        "Runtime": "python3.13",
        "Role": _role(aws),
        "Handler": "app.handler",
        "Code": code,
        "Layers": [arn],
    }
    with patches.disabled("accept_powertools_layer_arns"), pytest.raises(ClientError) as error:
        aws("lambda").create_function(**kwargs)
    assert "LayerVersion does not exist" in error.value.response["Error"]["Message"]

    aws("lambda").create_function(**kwargs)

    layers = aws("lambda").get_function(FunctionName="fn")["Configuration"]["Layers"]
    assert [layer["Arn"] for layer in layers] == [arn]
    with pytest.raises(ClientError):  # other unknown layers are still refused
        aws("lambda").create_function(
            **{**kwargs, "FunctionName": "fn2", "Layers": [arn.replace("017000801446", "1" * 12)]}
        )


def test_event_invoke_config(aws: Client, code: dict[str, str]) -> None:
    template = _function_template(_role(aws), code)
    template["Resources"]["Async"] = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {
            "FunctionName": {"Ref": "Fn"},
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 0,
        },
    }
    _create_stack(aws, "fixed", template)

    config = aws("lambda").get_function_event_invoke_config(
        FunctionName=_outputs(aws, "fixed")["Fn"]
    )
    assert config["MaximumRetryAttempts"] == 0


def _mapped_queue(aws: Client, code: dict[str, str]) -> str:
    aws("lambda").create_function(
        FunctionName="consumer",
        Runtime="python3.13",
        Role=_role(aws),
        Handler="app.handler",
        Code=code,
    )
    url = aws("sqs").create_queue(QueueName="rides")["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    aws("lambda").create_event_source_mapping(
        FunctionName="consumer",
        EventSourceArn=arn["Attributes"]["QueueArn"],
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 2},
        Enabled=True,
    )
    aws("sqs").send_message(QueueUrl=url, MessageBody="ride")
    return url


def _receive_count(aws: Client, url: str) -> str:
    message = aws("sqs").receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
    return message["Messages"][0]["Attributes"]["ApproximateReceiveCount"]


def test_event_source_mappings_are_stored_but_inert(aws: Client, code: dict[str, str]) -> None:
    with patches.disabled("keep_event_source_mappings_inert"):
        url = _mapped_queue(aws, code)
        # moto "delivered" the message inside SendMessage (and failed without Docker).
        assert _receive_count(aws, url) == "2"
        for mapping in aws("lambda").list_event_source_mappings()["EventSourceMappings"]:
            aws("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
        aws("lambda").delete_function(FunctionName="consumer")
        aws("sqs").delete_queue(QueueUrl=url)
        aws("iam").delete_role(RoleName="fn")

    url = _mapped_queue(aws, code)

    assert _receive_count(aws, url) == "1"  # only our receive
    (mapping,) = aws("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["State"] == "Enabled"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    aws("lambda").update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    assert aws("lambda").get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled"


def test_stream_mappings_leave_the_stream_alone(aws: Client, code: dict[str, str]) -> None:
    ddb = aws("dynamodb")
    table = ddb.create_table(
        TableName="rides",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    aws("lambda").create_function(
        FunctionName="publisher",
        Runtime="python3.13",
        Role=_role(aws),
        Handler="app.handler",
        Code=code,
    )
    aws("lambda").create_event_source_mapping(
        FunctionName="publisher",
        EventSourceArn=table["LatestStreamArn"],
        StartingPosition="TRIM_HORIZON",
    )
    ddb.put_item(TableName="rides", Item={"id": {"S": "r1"}})

    streams = aws("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"][
        "Shards"
    ][0]
    iterator = streams.get_shard_iterator(
        StreamArn=table["LatestStreamArn"],
        ShardId=shard["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


# --- e. SNS body-scope filter crash ------------------------------------------------------------


def test_body_scope_numeric_rule_against_a_string_is_no_match(aws: Client) -> None:
    from moto.sns.utils import FilterPolicyMatcher

    matcher = FilterPolicyMatcher({"fare": [{"numeric": [">", 0]}]}, "MessageBody")
    with patches.disabled("tolerate_mistyped_filter_values"), pytest.raises(TypeError):
        matcher.matches(None, json.dumps({"fare": "cheap"}))

    assert matcher.matches(None, json.dumps({"fare": "cheap"})) is False
    assert matcher.matches(None, json.dumps({"fare": 3})) is True
    either = FilterPolicyMatcher({"fare": [{"numeric": [">", 0]}, "cheap"]}, "MessageBody")
    assert either.matches(None, json.dumps({"fare": "cheap"})) is True


# --- KMS / DynamoDB / updates -------------------------------------------------------------------

KEY = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": "v1",
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "Admin"}]},
                "Tags": [{"Key": "project", "Value": "wild-rydes"}],
            },
        }
    },
    "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}},
}


def test_kms_key_tags_and_policy(aws: Client) -> None:
    with patches.disabled("fix_kms_key_resource"), pytest.raises(KeyError, match="TagKey"):
        _create_stack(aws, "gap", KEY)

    _create_stack(aws, "fixed", KEY)
    key_id = _outputs(aws, "fixed")["KeyId"]

    policy = aws("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert json.loads(policy)["Statement"] == [{"Sid": "Admin"}]
    assert aws("kms").list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "project", "TagValue": "wild-rydes"}
    ]


def test_resources_moto_cannot_update_are_kept(aws: Client) -> None:
    changed = json.loads(json.dumps(KEY))
    changed["Resources"]["Key"]["Properties"]["Description"] = "v2"
    with patches.disabled("keep_resources_moto_cannot_update"):
        _create_stack(aws, "gap", KEY)
        aws("cloudformation").update_stack(StackName="gap", TemplateBody=json.dumps(changed))
        assert "KeyId" not in _outputs(aws, "gap")  # the key fell out of the stack

    _create_stack(aws, "fixed", KEY)
    key_id = _outputs(aws, "fixed")["KeyId"]
    aws("cloudformation").update_stack(StackName="fixed", TemplateBody=json.dumps(changed))

    assert _outputs(aws, "fixed")["KeyId"] == key_id
    assert aws("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "v2"


def test_dynamodb_table_pitr_ttl_and_sse(aws: Client) -> None:
    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                    "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                },
            }
        },
        "Outputs": {"Table": {"Value": {"Ref": "Table"}}},
    }

    def pitr(name: str) -> str:
        backups = aws("dynamodb").describe_continuous_backups(TableName=name)
        description = backups["ContinuousBackupsDescription"]
        return description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]

    with patches.disabled("complete_dynamodb_table_resource"):
        _create_stack(aws, "gap", template)
        assert pitr(_outputs(aws, "gap")["Table"]) == "DISABLED"

    _create_stack(aws, "fixed", template)
    table = _outputs(aws, "fixed")["Table"]

    assert pitr(table) == "ENABLED"
    ttl = aws("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    description = aws("dynamodb").describe_table(TableName=table)["Table"]
    assert description["SSEDescription"]["Status"] == "ENABLED"
    assert description["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_IMAGE",
    }


# --- h. TemplateURL hosts -----------------------------------------------------------------------


def test_template_url_on_127_0_0_1(aws: Client) -> None:
    aws("s3").create_bucket(Bucket="artifacts")
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    aws("s3").put_object(Bucket="artifacts", Key="t.json", Body=json.dumps(template))
    url = "http://127.0.0.1:4566/artifacts/t.json"

    with patches.disabled("read_template_urls_on_any_local_host"), pytest.raises(ClientError):
        aws("cloudformation").create_stack(StackName="gap", TemplateURL=url)

    aws("cloudformation").create_stack(StackName="fixed", TemplateURL=url)
    assert _resource_types(aws, "fixed") == {"AWS::SQS::Queue"}


# --- AWS::CloudFormation::Stack (SAM nested applications) --------------------------------------

NESTED_CHILD = {
    "Parameters": {"Visibility": {"Type": "Number"}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": {"Ref": "Visibility"}},
        }
    },
    "Outputs": {
        "QueueUrl": {"Value": {"Ref": "Queue"}},
        "QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
    },
}


def _nested_parent(url: str, visibility: str) -> dict[str, Any]:
    """A parent as SAM transforms an AWS::Serverless::Application with a packaged Location."""
    return {
        "Resources": {
            "Inbox": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": url,
                    "Parameters": {"Visibility": visibility},
                    "Tags": [{"Key": "lambda:createdBy", "Value": "SAM"}],
                },
            },
            # Something of the parent's own that reads the child's outputs.
            "Mirror": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "Tags": [
                        {"Key": "inbox", "Value": {"Fn::GetAtt": ["Inbox", "Outputs.QueueArn"]}}
                    ]
                },
            },
        },
        "Outputs": {
            "InboxStackId": {"Value": {"Ref": "Inbox"}},
            "QueueUrl": {"Value": {"Fn::GetAtt": ["Inbox", "Outputs.QueueUrl"]}},
        },
    }


def _upload_child(aws: Client, key: str) -> str:
    aws("s3").put_object(Bucket="artifacts", Key=key, Body=json.dumps(NESTED_CHILD))
    return f"http://localhost/artifacts/{key}"


def test_nested_stacks_from_template_urls(aws: Client) -> None:
    cfn, sqs = aws("cloudformation"), aws("sqs")
    aws("s3").create_bucket(Bucket="artifacts")
    url = _upload_child(aws, "child-v1.json")

    # moto's own nested stack has no `Outputs.<Key>` attribute: a parent reading one fails.
    with (
        patches.disabled("add_missing_cfn_resources"),
        pytest.raises(AttributeError, match="get_cfn_attribute"),
    ):
        _deploy_change_set(aws, "gap", _nested_parent(url, "40"))

    _deploy_change_set(
        aws, "svc", _nested_parent(url, "40"), Tags=[{"Key": "project", "Value": "p1"}]
    )
    outputs = _outputs(aws, "svc")
    child_id = outputs["InboxStackId"]
    [child] = cfn.describe_stacks(StackName=child_id)["Stacks"]
    # Named as AWS names nested stacks, tagged with the parent's stack tags.
    assert child["StackName"].startswith("svc-Inbox-")
    assert child["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in child["Tags"]}["project"] == "p1"
    queue_url = outputs["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "40"
    [mirror] = [
        r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName="svc")["StackResources"]
        if r.get("LogicalResourceId") == "Mirror"
    ]
    assert sqs.list_queue_tags(QueueUrl=mirror)["Tags"]["inbox"] == attributes["QueueArn"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="in flight")

    # A parent update reaches the child in place: same stack, same queue, message kept.
    _deploy_change_set(
        aws, "svc", _nested_parent(_upload_child(aws, "child-v2.json"), "65"), "UPDATE"
    )
    assert _outputs(aws, "svc") == outputs
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "65"
    assert attributes["ApproximateNumberOfMessages"] == "1"

    # Deleting the parent deletes the child and its resources.
    cfn.delete_stack(StackName="svc")
    assert cfn.describe_stacks(StackName=child_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert queue_url not in sqs.list_queues().get("QueueUrls", [])


# --- stack tags reach the resources ------------------------------------------------------------

TAGGED_STACK = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Own": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"Tags": [{"Key": "service", "Value": "its-own"}]},
        },
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            },
        },
    },
    "Outputs": {
        "QueueUrl": {"Value": {"Ref": "Queue"}},
        "OwnUrl": {"Value": {"Ref": "Own"}},
        "TopicArn": {"Value": {"Ref": "Topic"}},
        "TableArn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}},
    },
}


def _tags_of_resources(aws: Client, outputs: dict[str, str]) -> dict[str, dict[str, str]]:
    sqs, sns, dynamodb = aws("sqs"), aws("sns"), aws("dynamodb")
    table_tags = dynamodb.list_tags_of_resource(ResourceArn=outputs["TableArn"])["Tags"]
    return {
        "queue": sqs.list_queue_tags(QueueUrl=outputs["QueueUrl"]).get("Tags", {}),
        "own": sqs.list_queue_tags(QueueUrl=outputs["OwnUrl"]).get("Tags", {}),
        "topic": {
            t["Key"]: t["Value"]
            for t in sns.list_tags_for_resource(ResourceArn=outputs["TopicArn"])["Tags"]
        },
        "table": {t["Key"]: t["Value"] for t in table_tags},
    }


def test_stack_tags_reach_every_taggable_resource(aws: Client) -> None:
    stack_tags = [{"Key": "project", "Value": "p1"}, {"Key": "service", "Value": "svc"}]
    with patches.disabled("propagate_stack_tags"):
        _deploy_change_set(aws, "gap", TAGGED_STACK, Tags=stack_tags)
        gap = _tags_of_resources(aws, _outputs(aws, "gap"))
        assert "project" not in gap["queue"]

    _deploy_change_set(aws, "tagged", TAGGED_STACK, Tags=stack_tags)
    tags = _tags_of_resources(aws, _outputs(aws, "tagged"))
    for kind in ("queue", "topic", "table"):
        assert tags[kind]["project"] == "p1", kind
        assert tags[kind]["service"] == "svc", kind
        assert tags[kind]["aws:cloudformation:stack-name"] == "tagged", kind
    assert tags["queue"]["aws:cloudformation:logical-id"] == "Queue"
    # The resource's own tag wins over the stack's.
    assert tags["own"]["service"] == "its-own"
    assert tags["own"]["project"] == "p1"

    # New stack tags on an update reach the resources too.
    _deploy_change_set(
        aws, "tagged", TAGGED_STACK, "UPDATE", Tags=[{"Key": "project", "Value": "p2"}]
    )
    assert _tags_of_resources(aws, _outputs(aws, "tagged"))["queue"]["project"] == "p2"


# --- ListImports ---------------------------------------------------------------------------------

LIST_IMPORTS_EXPORTER = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "base-TopicArn"}}},
}
LIST_IMPORTS_IMPORTER = {
    "Parameters": {"Base": {"Type": "String", "Default": "base"}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "Tags": [
                    {"Key": "topic", "Value": {"Fn::ImportValue": {"Fn::Sub": "${Base}-TopicArn"}}}
                ]
            },
        }
    },
}


def test_list_imports_names_the_importing_stacks(aws: Client) -> None:
    cfn = aws("cloudformation")
    _create_stack(aws, "base", LIST_IMPORTS_EXPORTER)
    with patches.disabled("list_export_imports"), pytest.raises(NotImplementedError):
        cfn.list_imports(ExportName="base-TopicArn")

    with pytest.raises(ClientError, match="is not imported by any stack"):
        cfn.list_imports(ExportName="base-TopicArn")
    _create_stack(aws, "user", LIST_IMPORTS_IMPORTER)
    assert cfn.list_imports(ExportName="base-TopicArn")["Imports"] == ["user"]
    cfn.delete_stack(StackName="user")
    with pytest.raises(ClientError, match="is not imported by any stack"):
        cfn.list_imports(ExportName="base-TopicArn")
    with pytest.raises(ClientError, match="does not exist"):
        cfn.list_imports(ExportName="nope-TopicArn")


# --- i. Lambda Invoke runs the function locally -------------------------------------------------


class _RecordingInvoker:
    """Stands in for the runtime's Invoker: records what moto's Invoke handed it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def invoke_spec(
        self, spec: Any, event_json: str, invoked_arn: str, client_context: Any = None
    ) -> InvocationResult:
        self.calls.append(("sync", event_json, invoked_arn))
        return InvocationResult("request-1", b'{"ran": "locally"}', None, spec.version, ["hi"])

    def submit_async(
        self, spec: Any, event_json: str, invoked_arn: str, client_context: Any = None
    ) -> None:
        self.calls.append(("event", event_json, invoked_arn))


@pytest.fixture
def invoker() -> Iterator[_RecordingInvoker]:
    recording = _RecordingInvoker()
    invoke_routing.register(recording)
    try:
        yield recording
    finally:
        invoke_routing.unregister(recording)


@pytest.fixture
def simple_lambda() -> Iterator[Client]:
    """moto's Docker-free Lambda (LambdaSimpleBackend), with one function "fn"."""
    with mocked(config={"lambda": {"use_docker": False}}):
        session = aws_session()
        session.client("lambda").create_function(
            FunctionName="fn",
            Runtime="python3.13",
            Role=_role(session.client),
            Handler="app.handler",
            Code={"ZipFile": _zip("def handler(e, c):\n    return {'ran': 'locally'}\n")},
        )
        yield session.client


def test_invoke_runs_on_the_registered_invoker(
    simple_lambda: Client, invoker: _RecordingInvoker
) -> None:
    client = simple_lambda("lambda")
    with patches.disabled("run_invocations_in_localcloud"):
        gap = client.invoke(FunctionName="fn", Payload=b'{"ride": 1}')
        assert gap["Payload"].read() == b'{"ride": 1}'  # moto echoes; the code never ran
        assert invoker.calls == []

    fixed = client.invoke(FunctionName="fn", Payload=b'{"ride": 1}', LogType="Tail")

    assert json.loads(fixed["Payload"].read()) == {"ran": "locally"}
    assert fixed["ExecutedVersion"] == "$LATEST"
    assert "hi" in base64.b64decode(fixed["LogResult"]).decode()
    (call,) = invoker.calls
    assert call[:2] == ("sync", '{"ride": 1}')
    assert call[2].endswith(":function:fn")
    client.invoke(FunctionName="fn", Payload=b"{}", InvocationType="Event")
    # LambdaFunction.invoke (the deprecated InvokeAsync, the services' notifications): AWS runs
    # those asynchronously.
    client.invoke_async(FunctionName="fn", InvokeArgs=b'{"old": "api"}')
    assert [c[:2] for c in invoker.calls[1:]] == [("event", "{}"), ("event", '{"old": "api"}')]


def test_invoke_without_a_registered_invoker_is_moto_s(simple_lambda: Client) -> None:
    assert patches.is_applied("run_invocations_in_localcloud")
    assert invoke_routing.current() is None

    response = simple_lambda("lambda").invoke(FunctionName="fn", Payload=b'{"ride": 1}')

    assert response["Payload"].read() == b'{"ride": 1}'


def test_invoke_through_the_docker_backend_is_routed_too(
    aws: Client, code: dict[str, str], invoker: _RecordingInvoker
) -> None:
    aws("lambda").create_function(
        FunctionName="fn", Runtime="python3.13", Role=_role(aws), Handler="app.handler", Code=code
    )

    response = aws("lambda").invoke(FunctionName="fn")

    assert json.loads(response["Payload"].read()) == {"ran": "locally"}
    assert [call[0] for call in invoker.calls] == ["sync"]


# --- j. OpenAPI import --------------------------------------------------------------------------

OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "rides", "description": "imported", "version": "1.0"},
    "paths": {
        "/rides": {
            "get": {"security": [{"api_key": []}], "responses": {"200": {}}},
            "x-amazon-apigateway-any-method": {"responses": {"200": {}}},
        },
    },
    "components": {
        "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
    },
    "x-amazon-apigateway-binary-media-types": ["image/png"],
    "x-amazon-apigateway-gateway-responses": {
        "DEFAULT_4XX": {
            "responseParameters": {},
            "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
        },
        "MISSING_AUTHENTICATION_TOKEN": {"statusCode": 404},
    },
}


def _imported_api(aws: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    apigw = aws("apigateway")
    api = apigw.import_rest_api(body=json.dumps(OPENAPI).encode())
    resources = apigw.get_resources(restApiId=api["id"])["items"]
    (rides,) = [r for r in resources if r["path"] == "/rides"]
    return apigw.get_rest_api(restApiId=api["id"]), rides


def _gateway_responses(aws: Client, api_id: str) -> dict[str, dict[str, Any]]:
    items = aws("apigateway").get_gateway_responses(restApiId=api_id)["items"]
    return {item.pop("responseType"): item for item in items}


def test_openapi_import_honours_api_keys_any_method_binary_types_and_gateway_responses(
    aws: Client,
) -> None:
    with patches.disabled("complete_openapi_import"):
        api, rides = _imported_api(aws)
        assert rides["resourceMethods"]["GET"].get("apiKeyRequired", False) is False
        assert "X-AMAZON-APIGATEWAY-ANY-METHOD" in rides["resourceMethods"]
        assert api.get("binaryMediaTypes", []) == []
        assert _gateway_responses(aws, api["id"]) == {}

    api, rides = _imported_api(aws)

    assert set(rides["resourceMethods"]) == {"GET", "ANY"}
    assert rides["resourceMethods"]["GET"]["apiKeyRequired"] is True
    assert rides["resourceMethods"]["ANY"].get("apiKeyRequired", False) is False
    assert api["binaryMediaTypes"] == ["image/png"]
    apigw = aws("apigateway")
    method = apigw.get_method(restApiId=api["id"], resourceId=rides["id"], httpMethod="ANY")
    assert method["httpMethod"] == "ANY"
    responses = _gateway_responses(aws, api["id"])
    assert set(responses) == {"DEFAULT_4XX", "MISSING_AUTHENTICATION_TOKEN"}
    assert responses["DEFAULT_4XX"]["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString}'
    }
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"

    # PutRestApi in overwrite mode replaces them; in merge mode it adds to them.
    body = {**OPENAPI, "x-amazon-apigateway-gateway-responses": {"THROTTLED": {}}}
    apigw.put_rest_api(restApiId=api["id"], mode="merge", body=json.dumps(body).encode())
    assert set(_gateway_responses(aws, api["id"])) == {
        "DEFAULT_4XX",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
    }
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(body).encode())
    assert set(_gateway_responses(aws, api["id"])) == {"THROTTLED"}


# --- DynamoDB transactions and streams ---------------------------------------------------------


def _stream_reader(aws: Client, table: str) -> Callable[[], list[str]]:
    """Keys of the stream records an iterator opened now reads later (what a poller sees)."""
    streams = aws("dynamodbstreams")
    arn = aws("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    def read() -> list[str]:
        records = streams.get_records(ShardIterator=iterator)["Records"]
        return [record["dynamodb"]["Keys"]["id"]["S"] for record in records]

    return read


def _hash_key_table(dynamodb: Any, name: str, key: str = "id", **extra: Any) -> None:
    """An on-demand table keyed by one string attribute."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def _cancelled_transaction_then_a_put(aws: Client, table: str) -> list[str]:
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=table, Item={"id": {"S": "taken"}})
    read = _stream_reader(aws, table)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"id": {"S": "ghost"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"id": {"S": "taken"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=table, Item={"id": {"S": "after"}})
    return read()


def test_cancelled_transactions_leave_open_stream_iterators_intact(aws: Client) -> None:
    for table in ("gap", "fixed"):
        _hash_key_table(
            aws("dynamodb"),
            table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    with patches.disabled("keep_streams_through_cancelled_transactions"):
        assert _cancelled_transaction_then_a_put(aws, "gap") == ["taken", "ghost"]

    assert _cancelled_transaction_then_a_put(aws, "fixed") == ["taken", "after"]
    items = aws("dynamodb").scan(TableName="fixed")["Items"]
    assert sorted(item["id"]["S"] for item in items) == ["after", "taken"]


def test_a_cancelled_transaction_undoes_its_updates_and_copies_only_what_it_touches(
    aws: Client,
) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    dynamodb = aws("dynamodb")
    _hash_key_table(dynamodb, "ledger", key="pk")
    for n in range(50):
        dynamodb.put_item(TableName="ledger", Item={"pk": {"S": f"ride-{n}"}, "n": {"N": "1"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["ledger"]
    untouched = dict(table.items)

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "ledger",
                        "Key": {"pk": {"S": "ride-1"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "ledger",
                        "Key": {"pk": {"S": "ride-2"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # The update made in place before the cancel is undone...
    item = dynamodb.get_item(TableName="ledger", Key={"pk": {"S": "ride-1"}})["Item"]
    assert item["n"] == {"N": "1"}
    # ...and every item the transaction never named is the very object it was (not a copy).
    live = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["ledger"]
    assert live is table
    same = [key for key, value in untouched.items() if live.items[key] is value]
    assert len(same) == 48


def test_the_server_lists_moto_s_modules_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import moto.backends as moto_backends

    listings: list[str] = []
    real_listdir = os.listdir
    moto_folder = os.path.dirname(moto_backends.__file__)
    this_thread = threading.get_ident()

    def counting_listdir(path: str) -> list[str]:
        # Only this test's listings of moto's folder: other threads may list other folders.
        if threading.get_ident() == this_thread and os.fspath(path) == moto_folder:
            listings.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    with patches.disabled("dispatch_requests_without_listing_moto"):
        assert "sqs" in list(moto_backends.list_of_moto_modules())
        assert "sqs" in list(moto_backends.list_of_moto_modules())
    assert len(listings) == 2  # the gap: a directory listing per request

    listings.clear()
    assert "sqs" in list(moto_backends.list_of_moto_modules())
    assert "sns" in list(moto_backends.list_of_moto_modules())
    assert listings == []


def _two_deliveries_and_their_certificates(aws: Client, topic_name: str) -> list[bytes]:
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=topic_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    for text in ("first", "second"):
        sns.publish(TopicArn=topic, Message=text)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    keys = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys
    certificates = []
    for message in received:
        envelope = json.loads(message["Body"])
        pem = keys[envelope["SigningCertURL"].rsplit("/", 1)[-1]]
        signed = "".join(
            f"{name}\n{envelope[name]}\n"
            for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
        )
        certificate = x509.load_pem_x509_certificate(pem)
        certificate.public_key().verify(  # raises unless the signature is the certificate's
            base64.b64decode(envelope["Signature"]),
            signed.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        certificates.append(pem)
    assert len(certificates) == 2
    return certificates


def test_sns_signs_every_message_with_one_certificate_per_key(aws: Client) -> None:
    with patches.disabled("sign_sns_messages_with_one_certificate_per_key"):
        first, second = _two_deliveries_and_their_certificates(aws, "gap")
    assert first != second  # the gap: a new certificate (and RSA signature) per message

    first, second = _two_deliveries_and_their_certificates(aws, "fixed")
    assert first == second


def _moto_queue(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[name]


def _attribute_computations_per_receive(
    aws: Client, name: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(messages received, full attribute computations) for one ReceiveMessage of ten from a
    queue of 30 messages."""
    from moto.sqs.models import Queue

    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"ride {i}"} for i in range(start, start + 10)],
        )
    computations: list[str] = []
    real = Queue.__dict__["attributes"]
    this_thread = threading.get_ident()

    def counted(queue: Queue) -> dict[str, Any]:
        if threading.get_ident() == this_thread and queue.name == name:
            computations.append(queue.name)
        return real.fget(queue)

    monkeypatch.setattr(Queue, "attributes", property(counted))
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    monkeypatch.setattr(Queue, "attributes", real)
    return len(received), len(computations)


def test_sqs_receive_checks_retention_without_computing_every_attribute(
    aws: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with patches.disabled("check_sqs_retention_without_every_attribute"):
        received, computations = _attribute_computations_per_receive(aws, "gap", monkeypatch)
    # the gap: every attribute, counts that walk the queue's messages, three times per message
    assert (received, computations) == (10, 30)

    assert _attribute_computations_per_receive(aws, "fixed", monkeypatch) == (10, 0)


_MESSAGE_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


def _backlog_walks_per_send(
    aws: Client, name: str, fifo: bool, monkeypatch: pytest.MonkeyPatch
) -> int:
    """How many times the queue's messages are counted (each count walks all of them) while
    one message is sent to a queue that already holds 20."""
    from moto.sqs.models import Queue

    sqs = aws("sqs")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    queue_name = f"{name}.fifo" if fifo else name
    url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    group = {"MessageGroupId": "rides"} if fifo else {}
    for i in range(20):
        sqs.send_message(QueueUrl=url, MessageBody=f"ride {i}", **group)
    walks: list[str] = []
    this_thread = threading.get_ident()
    reals = {count: Queue.__dict__[count] for count in _MESSAGE_COUNTS}
    for count, real in reals.items():

        def counted(queue: Queue, real: property = real, count: str = count) -> int:
            if threading.get_ident() == this_thread and queue.name == queue_name:
                walks.append(count)
            return real.fget(queue)

        monkeypatch.setattr(Queue, count, property(counted))
    sqs.send_message(QueueUrl=url, MessageBody="one more", **group)
    for count, real in reals.items():
        monkeypatch.setattr(Queue, count, real)
    return len(walks)


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_sqs_send_reads_its_flag_without_walking_the_queue(
    aws: Client, fifo: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with patches.disabled("send_sqs_messages_without_every_attribute"):
        walks = _backlog_walks_per_send(aws, "gap", fifo, monkeypatch)
    # the gap: the three counts at least once per send (a FIFO send reads the map three times)
    assert walks >= 3

    assert _backlog_walks_per_send(aws, "fixed", fifo, monkeypatch) == 0


@pytest.mark.parametrize("patched", [False, True], ids=["moto", "patched"])
def test_sqs_send_still_follows_content_based_deduplication(aws: Client, patched: bool) -> None:
    sqs = aws("sqs")
    fifo = {"FifoQueue": "true"}
    deduplicated = sqs.create_queue(
        QueueName="by-content.fifo", Attributes={**fifo, "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    explicit = sqs.create_queue(QueueName="explicit.fifo", Attributes=fifo)["QueueUrl"]
    switched_off = () if patched else ("send_sqs_messages_without_every_attribute",)
    with patches.disabled(*switched_off):
        for _ in range(2):  # the second send is a duplicate by content
            sqs.send_message(QueueUrl=deduplicated, MessageBody="ride", MessageGroupId="g")
        with pytest.raises(ClientError, match="ContentBasedDeduplication"):
            sqs.send_message(QueueUrl=explicit, MessageBody="ride", MessageGroupId="g")
        whole_map = sqs.get_queue_attributes(QueueUrl=deduplicated, AttributeNames=["All"])
    received = sqs.receive_message(QueueUrl=deduplicated, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["ride"]
    assert whole_map["Attributes"]["ContentBasedDeduplication"] == "true"
    assert whole_map["Attributes"]["ApproximateNumberOfMessages"] == "1"


def _json_errors() -> list[Any]:
    """One of each kind of JSON-protocol error: plain, with a default message, with an item."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb import exceptions as dynamodb_errors

    return [
        JsonRESTError("ResourceNotFoundException", "Function not found: arn:aws:lambda:x"),
        dynamodb_errors.ProvidedKeyDoesNotExist(),
        dynamodb_errors.ConditionalCheckFailed(item={"id": {"S": "ride-1"}}),
        dynamodb_errors.TransactionCanceledException([("ConditionalCheckFailed", None, None)]),
        dynamodb_errors.ResourceNotFoundException(table_name="Rides"),
    ]


def _rendered(error: Any) -> dict[str, Any]:
    return {
        "state": vars(error),
        "body": error.get_body(),
        "headers": error.get_headers(),
        "status": error.code,
        "type": type(error).__name__,
    }


def test_json_errors_are_built_without_an_xml_body(monkeypatch: pytest.MonkeyPatch) -> None:
    import xmltodict

    rendered_xml: list[int] = []
    real = xmltodict.unparse

    def counted(*args: Any, **kwargs: Any) -> Any:
        rendered_xml.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(xmltodict, "unparse", counted)
    with patches.disabled("build_json_errors_without_an_xml_body"):
        before = [_rendered(error) for error in _json_errors()]
    assert len(rendered_xml) == len(before)  # the gap: an XML document per error, thrown away

    rendered_xml.clear()
    after = [_rendered(error) for error in _json_errors()]
    assert rendered_xml == []
    assert after == before  # the same attributes, body, headers and status


@pytest.mark.parametrize("patched", [False, True], ids=["moto", "patched"])
def test_dynamodb_errors_and_add_on_a_new_attribute_still_answer_the_same(
    aws: Client, patched: bool
) -> None:
    dynamodb = aws("dynamodb")
    _hash_key_table(dynamodb, "ledger")
    key = {"id": {"S": "2026-12-03"}}
    switched_off = () if patched else ("build_json_errors_without_an_xml_body",)
    with patches.disabled(*switched_off):
        for _ in range(2):  # the first ADD meets no attribute (moto raises and catches inside)
            dynamodb.update_item(
                TableName="ledger",
                Key=key,
                UpdateExpression="ADD rides :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        with pytest.raises(ClientError) as refused:
            dynamodb.put_item(
                TableName="ledger",
                Item=key,
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    assert dynamodb.get_item(TableName="ledger", Key=key)["Item"]["rides"] == {"N": "2"}
    error = refused.value.response
    assert error["Error"]["Code"] == "ConditionalCheckFailedException"
    assert error["Error"]["Message"] == "The conditional request failed"
    assert error["Item"]["rides"] == {"N": "2"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("patched", [False, True], ids=["moto", "patched"])
def test_sqs_receive_still_drops_messages_past_their_retention(aws: Client, patched: bool) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    # "kept" first: moto's receive loop stops at the first expired message it meets.
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    sqs.send_message(QueueUrl=url, MessageBody="expired")
    expired = next(m for m in _moto_queue("short")._messages if m.body == "expired")
    expired.sent_timestamp -= 61_000  # sent 61 s earlier than it was: past the 60 s retention

    switched_off = () if patched else ("check_sqs_retention_without_every_attribute",)
    with patches.disabled(*switched_off):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in answer["Messages"]] == ["kept"]


def _private_keys_made_for_an_encrypted_table(
    aws: Client, name: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    import moto.kms.utils as kms_utils

    made: list[int] = []
    real = kms_utils.rsa.generate_private_key

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kms_utils.rsa, "generate_private_key", counted)
    # the default key: alias/aws/dynamodb
    _hash_key_table(aws("dynamodb"), name, SSESpecification={"Enabled": True})
    monkeypatch.setattr(kms_utils.rsa, "generate_private_key", real)
    return len(made)


def test_kms_keys_make_their_private_key_when_first_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mocked() applies this patch itself (wildrydes_testing.aws): switched off inside it.
    with mocked() as session, patches.disabled("make_kms_private_keys_on_first_use"):
        # the gap: an RSA key made for the symmetric default key, never used
        assert _private_keys_made_for_an_encrypted_table(session.client, "gap", monkeypatch) == 1
    with mocked() as session:
        assert _private_keys_made_for_an_encrypted_table(session.client, "fixed", monkeypatch) == 0


def test_an_asymmetric_kms_key_signs_with_one_key_made_on_first_use(aws: Client) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    kms = aws("kms")
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signed = kms.sign(KeyId=key, Message=b"ride", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")[
        "Signature"
    ]
    assert kms.verify(
        KeyId=key,
        Message=b"ride",
        Signature=signed,
        SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256",
    )["SignatureValid"]
    public = kms.get_public_key(KeyId=key)["PublicKey"]
    assert kms.get_public_key(KeyId=key)["PublicKey"] == public  # the same key every time

    # A symmetric key never makes one, not even when its record is copied.
    import copy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    unused = kms_backends[DEFAULT_ACCOUNT_ID][REGION].keys[symmetric].private_key
    assert copy.deepcopy(unused)._key is None
    assert unused._key is None
    loaded = serialization.load_der_public_key(public)
    loaded.verify(signed, b"ride", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]


# --- k. SQS message move tasks (DLQ redrive) ---------------------------------------------------


def _queue_and_arn(
    sqs: Any, name: str, attributes: dict[str, str] | None = None
) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def test_sqs_message_move_tasks_redrive_a_dlq(aws: Client) -> None:
    sqs = aws("sqs")
    dlq, dlq_arn = _queue_and_arn(sqs, "rides-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    queue, queue_arn = _queue_and_arn(sqs, "rides", {"RedrivePolicy": policy})
    sqs.send_message(QueueUrl=queue, MessageBody="ride")
    for _ in range(2):  # received once, then dead-lettered by the next receive
        sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)

    with patches.disabled("sqs_message_move_tasks"):
        # the gap: what the server answers with HTTP 500
        with pytest.raises(NotImplementedError):
            sqs.start_message_move_task(SourceArn=dlq_arn)
        with pytest.raises(NotImplementedError):
            sqs.list_message_move_tasks(SourceArn=dlq_arn)
        [dead] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)[
            "Messages"
        ]
        assert "DeadLetterQueueSourceArn" not in dead["Attributes"]

    [dead] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)[
        "Messages"
    ]
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == queue_arn
    sqs.start_message_move_task(SourceArn=dlq_arn)  # no destination: back where it came from

    def finished() -> dict[str, Any]:
        import time

        for _ in range(200):  # the task runs on its own thread
            [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
            if task["Status"] != "RUNNING":
                return task
            time.sleep(0.05)
        raise AssertionError("the move task did not finish")

    task = finished()
    assert task["Status"] == "COMPLETED"
    assert (
        task["ApproximateNumberOfMessagesMoved"] == task["ApproximateNumberOfMessagesToMove"] == 1
    )
    [back] = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    assert back["Body"] == "ride"
    assert back["MessageId"] != dead["MessageId"]  # SQS: redriven messages are new messages
    assert back["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)
