"""The real `sam build` + `sam deploy` against localcloud, with stacks shaped like ours.

Slow on purpose (a few seconds per deploy): it is the proof that the patched moto takes what the
SAM CLI sends, change sets, managed bucket stack and all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.aws import session as aws_session

from localcloud.lambda_runtime import interpreters
from localcloud.server import LocalCloud, start

STACKS = Path(__file__).parent / "stacks"
PLATFORM = "lc-platform"
CONSUMER = "lc-consumer"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"


SAM = shutil.which("sam", path=str(VENV_BIN)) or shutil.which("sam")
# `sam build` validates a real python3.13 on PATH; the pyenv shim fails that check.
_PY313 = interpreters.find_python("3.13")
PY313 = _PY313.parent if _PY313 else None
# The "many SAM apps" suite: `make test-sam-apps` runs it, `.ci/run` after `make test`.
pytestmark = [
    pytest.mark.sam_apps,
    pytest.mark.skipif(
        SAM is None or PY313 is None, reason="needs the SAM CLI and a python3.13 interpreter"
    ),
]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with start(0) as running:
        yield running


@pytest.fixture(scope="module")
def sam_env(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(cloud.env)
    env["PATH"] = os.pathsep.join([str(PY313), str(VENV_BIN), env.get("PATH", "")])
    # Keep the SAM CLI's own config and cache out of the user's home.
    env["SAM_CLI_CONFIG_DIR"] = str(tmp_path_factory.mktemp("samcli"))
    return env


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    session = aws_session()
    return lambda service: session.client(service, endpoint_url=cloud.endpoint_url)


def _sam(env: dict[str, str], *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"sam {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_and_deploy(
    env: dict[str, str], stack: str, name: str, build_root: Path, *overrides: str
) -> None:
    build_dir = build_root / name
    _sam(env, "build", "--build-dir", str(build_dir), cwd=STACKS / stack)
    deploy = [
        "deploy",
        "--template-file",
        str(build_dir / "template.yaml"),
        "--stack-name",
        name,
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--capabilities",
        "CAPABILITY_IAM",
    ]
    if overrides:
        deploy += ["--parameter-overrides", *overrides]
    _sam(env, *deploy, cwd=STACKS / stack)


@pytest.fixture(scope="module")
def deployed(
    sam_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., None]:
    build_root = tmp_path_factory.mktemp("sam-build")
    _build_and_deploy(sam_env, "platform", PLATFORM, build_root)
    _build_and_deploy(sam_env, "consumer", CONSUMER, build_root)
    return lambda *overrides: _build_and_deploy(
        sam_env, "consumer", CONSUMER, build_root, *overrides
    )


def _outputs(aws: Callable[[str], Any], stack: str) -> dict[str, str]:
    described = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _publish(aws: Callable[[str], Any], topic_arn: str, fare: str) -> str:
    body = json.dumps({"id": f"ride-{fare}", "fare": fare})
    aws("sns").publish(
        TopicArn=topic_arn,
        Message=body,
        MessageAttributes={"fare": {"DataType": "Number", "StringValue": fare}},
    )
    return body


def _drain(aws: Callable[[str], Any], queue_url: str) -> list[str]:
    sqs = aws("sqs")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"])["Message"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_platform_outputs_and_exports(deployed: Any, aws: Callable[[str], Any]) -> None:
    outputs = _outputs(aws, PLATFORM)
    exports = {e["Name"]: e["Value"] for e in aws("cloudformation").list_exports()["Exports"]}

    assert exports[f"{PLATFORM}-TopicArn"] == outputs["TopicArn"]
    assert exports[f"{PLATFORM}-KeyArn"] == outputs["KeyArn"]
    assert outputs["TopicArn"].endswith(":" + exports[f"{PLATFORM}-TopicName"])
    attributes = aws("sns").get_topic_attributes(TopicArn=outputs["TopicArn"])["Attributes"]
    assert json.loads(attributes["Policy"])["Statement"][0]["Sid"] == "PublishFromThisAccountOnly"
    assert attributes["KmsMasterKeyId"] in outputs["KeyArn"]
    key_policy = aws("kms").get_key_policy(KeyId=outputs["KeyArn"], PolicyName="default")
    assert json.loads(key_policy["Policy"])["Statement"][1]["Sid"] == "SnsUsesKey"


def test_the_managed_bucket_stack_is_usable(deployed: Any, aws: Callable[[str], Any]) -> None:
    # sam deploy refuses a managed stack without its SourceBucket output and tag.
    stack = aws("cloudformation").describe_stacks(StackName="aws-sam-cli-managed-default")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
    assert aws("s3").list_objects_v2(Bucket=outputs["SourceBucket"])["KeyCount"] > 0


def test_consumer_resources_are_wired(deployed: Any, aws: Callable[[str], Any]) -> None:
    outputs = _outputs(aws, CONSUMER)
    lam = aws("lambda")
    (function,) = [
        f for f in lam.list_functions()["Functions"] if "ConsumerFunction" in f["FunctionName"]
    ]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Environment"]["Variables"]["TABLE_NAME"] == outputs["TableName"]
    (layer,) = function["Layers"]
    assert ":layer:Layer:" in layer["Arn"]
    (mapping,) = lam.list_event_source_mappings(FunctionName=function["FunctionName"])[
        "EventSourceMappings"
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["BatchSize"] == 5

    queue = aws("sqs").get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])
    assert json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 3
    assert json.loads(queue["Attributes"]["Policy"])["Statement"][0]["Sid"] == "TopicDelivers"

    table = aws("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"

    apigw = aws("apigateway")
    api_id = outputs["ApiId"]
    assert apigw.get_rest_api(restApiId=api_id)["name"] == CONSUMER
    methods = {
        (resource["path"], verb): apigw.get_method(
            restApiId=api_id, resourceId=resource["id"], httpMethod=verb
        )
        for resource in apigw.get_resources(restApiId=api_id)["items"]
        for verb in resource.get("resourceMethods", {})
    }
    assert set(methods) == {("/submit-ride-completion", "POST"), ("/rides/{id}", "GET")}
    post = methods[("/submit-ride-completion", "POST")]
    assert post["apiKeyRequired"] is True
    assert post["methodIntegration"]["type"] == "AWS_PROXY"
    api_function = next(
        f["FunctionName"]
        for f in lam.list_functions()["Functions"]
        if "ApiFunction" in f["FunctionName"]
    )
    assert post["methodIntegration"]["uri"].endswith(f":function:{api_function}/invocations")
    (stage,) = apigw.get_stages(restApiId=api_id)["item"]
    assert stage["stageName"] == "Prod"
    (response,) = apigw.get_gateway_responses(restApiId=api_id)["items"]
    assert response["responseType"] == "DEFAULT_4XX"
    assert response["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString,"errors":[]}'
    }
    (plan,) = apigw.get_usage_plans()["items"]
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "Prod"}]
    assert plan["throttle"] == {"burstLimit": 10, "rateLimit": 5.0}
    (key,) = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["enabled"] is True


def test_filter_policy_routes_and_redeploy_changes_it(
    deployed: Callable[..., None], aws: Callable[[str], Any]
) -> None:
    topic_arn = _outputs(aws, PLATFORM)["TopicArn"]
    queue_url = _outputs(aws, CONSUMER)["QueueUrl"]

    matching = _publish(aws, topic_arn, "12.5")
    _publish(aws, topic_arn, "0")
    assert _drain(aws, queue_url) == [matching]

    deployed("MinimumFare=50")  # the template switches the subscription to fare >= 50

    _publish(aws, topic_arn, "12.5")
    high = _publish(aws, topic_arn, "75")
    assert _drain(aws, queue_url) == [high]
    subscription = _outputs(aws, CONSUMER)["SubscriptionArn"]
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=subscription)
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {
        "fare": [{"numeric": [">=", 50]}]
    }


def test_deleting_the_stack_removes_the_subscription(
    deployed: Any, sam_env: dict[str, str], aws: Callable[[str], Any]
) -> None:
    topic_arn = _outputs(aws, PLATFORM)["TopicArn"]
    sns = aws("sns")
    assert sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]

    _sam(
        sam_env,
        "delete",
        "--stack-name",
        CONSUMER,
        "--no-prompts",
        "--region",
        "us-east-1",
        cwd=STACKS / "consumer",
    )

    assert sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"] == []
    names = [s["StackName"] for s in aws("cloudformation").describe_stacks()["Stacks"]]
    assert CONSUMER not in names


def test_sam_delete_of_a_nested_application_needs_localcloud_sam_cli(
    sam_env: dict[str, str], aws: Callable[[str], Any], tmp_path: Path
) -> None:
    """Gap: plain `sam delete` cannot parse the TemplateURL `sam deploy` wrote on a custom
    endpoint; through localcloud.sam_cli the parent, its child and the artifact all go."""
    name = "lc-nested"
    _sam(sam_env, "build", "--build-dir", str(tmp_path / "build"), cwd=STACKS / "nested")
    _sam(
        sam_env,
        "deploy",
        "--template-file",
        str(tmp_path / "build" / "template.yaml"),
        "--stack-name",
        name,
        "--resolve-s3",
        "--no-confirm-changeset",
        "--capabilities",
        "CAPABILITY_AUTO_EXPAND",
        cwd=STACKS / "nested",
    )
    cloudformation = aws("cloudformation")
    queue_url = _outputs(aws, name)["QueueUrl"]
    (child,) = [
        r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        if r["ResourceType"] == "AWS::CloudFormation::Stack"
    ]
    original = cloudformation.get_template(StackName=name, TemplateStage="Original")
    # The packaged child's URL on the endpoint: what plain SAM cannot parse back.
    endpoint = re.escape(sam_env["AWS_ENDPOINT_URL"])
    found = re.search(endpoint + r"/([^/\s\"']+)/([^\s\"']+)", str(original["TemplateBody"]))
    assert found, original["TemplateBody"]
    bucket, key = found.groups()
    aws("s3").head_object(Bucket=bucket, Key=key)

    delete = ["delete", "--stack-name", name, "--no-prompts", "--region", "us-east-1"]
    plain = subprocess.run(
        [str(SAM), *delete], cwd=STACKS / "nested", env=sam_env, capture_output=True, text=True
    )
    assert plain.returncode != 0
    assert "not a valid S3 url" in plain.stdout + plain.stderr

    wrapped = subprocess.run(
        [sys.executable, "-m", "localcloud.sam_cli", *delete],
        cwd=STACKS / "nested",
        env={**sam_env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wrapped.returncode == 0, wrapped.stdout + wrapped.stderr
    for stack in (name, child):
        statuses = [
            s["StackStatus"]
            for s in cloudformation.describe_stacks()["Stacks"]
            if stack in (s["StackName"], s["StackId"])
        ]
        assert statuses in ([], ["DELETE_COMPLETE"])
    with pytest.raises(aws("sqs").exceptions.QueueDoesNotExist):
        aws("sqs").get_queue_attributes(QueueUrl=queue_url)
    with pytest.raises(aws("s3").exceptions.ClientError):
        aws("s3").head_object(Bucket=bucket, Key=key)
