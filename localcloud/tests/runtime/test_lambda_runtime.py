"""Lambda invoke through boto3 runs the real code zip in a warm worker process."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, unique, wait_for

CONTEXT_HANDLER = """
import json, os, sys
import boto3

def handler(event, context):
    return {
        "event": event,
        "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_ENDPOINT_URL", "GREETING",
            "AWS_LAMBDA_LOG_GROUP_NAME")},
        "cwd": os.getcwd(),
        "first_path": sys.path[0],
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        # boto3 inside the handler reaches localcloud through AWS_ENDPOINT_URL.
        "queues": boto3.client("sqs").list_queues().get("QueueUrls", []),
    }
"""


def _invoke(aws: Callable[[str], Any], name: str, event: Any = None, **kwargs: Any) -> dict:
    response = aws("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs
    )
    response["Body"] = json.loads(response["Payload"].read() or b"null")
    return response


def test_invoke_runs_code_with_lambda_environment_and_context(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue_url = aws("sqs").create_queue(QueueName=unique("visible"))["QueueUrl"]
    name = deploy.function(CONTEXT_HANDLER, env={"GREETING": "hello"}, timeout=7, memory=256)

    response = _invoke(aws, name, {"ride": 1})

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    body = response["Body"]
    assert body["event"] == {"ride": 1}
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "app.handler"
    assert env["GREETING"] == "hello"
    assert env["AWS_ENDPOINT_URL"].startswith("http://localhost:")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert body["cwd"] == env["LAMBDA_TASK_ROOT"] == body["first_path"]
    context = body["context"]
    assert len(context["aws_request_id"]) == 36
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert (
        context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    )
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 7000
    assert queue_url in body["queues"]


def test_warm_worker_is_reused_and_replaced_when_code_or_config_changes(
    deploy: Deployer, aws: Callable[[str], Any], runtime: Runtime
) -> None:
    code = (
        "import os\n"
        "def handler(e, c):\n"
        "    return {'pid': os.getpid(), 'v': %d, 'env': os.environ.get('X')}\n"
    )
    name = deploy.function(code % 1)

    first = _invoke(aws, name)["Body"]
    second = _invoke(aws, name)["Body"]
    assert first["pid"] == second["pid"], "a warm worker serves the next invocation"

    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("app.py", code % 2)
    aws("lambda").update_function_code(FunctionName=name, ZipFile=zipped.getvalue())
    third = _invoke(aws, name)["Body"]
    assert third["v"] == 2
    assert third["pid"] != second["pid"], "new code means a new execution environment"
    assert second["pid"] not in runtime.invoker.worker_pids(name)

    aws("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"X": "changed"}}
    )
    fourth = _invoke(aws, name)["Body"]
    assert fourth["env"] == "changed"
    assert fourth["pid"] != third["pid"]


def test_timeout_kills_the_worker_and_returns_lambdas_timeout_error(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    code = (
        "import os, time\n"
        "def handler(e, c):\n"
        "    if e.get('sleep'):\n"
        "        time.sleep(30)\n"
        "    return os.getpid()\n"
    )
    name = deploy.function(code, timeout=1)
    pid_before = _invoke(aws, name)["Body"]

    response = _invoke(aws, name, {"sleep": True})

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in response["Body"]["errorMessage"]
    after = _invoke(aws, name)
    assert "FunctionError" not in after
    assert after["Body"] != pid_before, "the timed-out environment was replaced"


def test_handler_exception_comes_back_in_lambdas_error_shape(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    code = "def handler(e, c):\n    raise ValueError('bad ride ' + str(e['id']))\n"
    name = deploy.function(code)

    response = _invoke(aws, name, {"id": 7}, LogType="Tail")

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    body = response["Body"]
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad ride 7"
    assert isinstance(body["stackTrace"], list)
    assert any("app.py" in frame for frame in body["stackTrace"])
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "[ERROR] ValueError: bad ride 7" in tail
    assert "REPORT RequestId:" in tail


def test_import_error_is_reported_like_lambda(deploy: Deployer, aws: Callable[[str], Any]) -> None:
    name = deploy.function("import not_installed_anywhere\ndef handler(e, c):\n    return 1\n")

    response = _invoke(aws, name)

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'app'" in response["Body"]["errorMessage"]


def test_layers_are_importable_like_opt_python(deploy: Deployer, aws: Callable[[str], Any]) -> None:
    layer_zip = io.BytesIO()
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/ridecontract/__init__.py", "VERSION = 'layer-1'\n")
    layer = aws("lambda").publish_layer_version(
        LayerName=unique("shared"),
        Content={"ZipFile": layer_zip.getvalue()},
        CompatibleRuntimes=["python3.13"],
    )
    code = "import ridecontract\ndef handler(e, c):\n    return ridecontract.VERSION\n"
    name = deploy.function(code, layers=[layer["LayerVersionArn"]])

    assert _invoke(aws, name)["Body"] == "layer-1"


def test_output_goes_to_cloudwatch_logs_with_lambda_framing(
    deploy: Deployer, aws: Callable[[str], Any], runtime: Runtime
) -> None:
    code = (
        "import logging\n"
        "logging.getLogger().setLevel(logging.INFO)\n"
        "def handler(e, c):\n"
        "    print('printed line')\n"
        "    logging.info('logged line')\n"
        "    return 'ok'\n"
    )
    name = deploy.function(code)
    request_id = _invoke(aws, name)["ResponseMetadata"]["RequestId"]
    assert request_id
    assert runtime.logs.flush()

    def messages() -> list[str]:
        events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        return [event["message"] for event in events]

    lines = wait_for(lambda: [m for m in messages() if m.startswith("REPORT")] and messages())
    assert any(line.startswith("START RequestId: ") for line in lines)
    assert "printed line" in lines
    assert any(line.startswith("[INFO]") and line.endswith("logged line") for line in lines)
    assert any(line.startswith("END RequestId: ") for line in lines)
    streams = aws("logs").describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    assert "[$LATEST]" in streams[0]["logStreamName"]


def test_event_invocation_is_accepted_and_runs_in_background(
    deploy: Deployer, aws: Callable[[str], Any], tmp_path: Any
) -> None:
    marker = tmp_path / "ran"
    code = f"def handler(e, c):\n    open({str(marker)!r}, 'w').write(e['v'])\n"
    name = deploy.function(code)

    response = aws("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=b'{"v": "async"}'
    )

    assert response["StatusCode"] == 202
    wait_for(lambda: marker.exists() and marker.read_text() == "async")


def test_direct_invoke_returns_the_result(deploy: Deployer, runtime: Runtime) -> None:
    name = deploy.function(
        "from decimal import Decimal\ndef handler(e, c):\n    return {'n': Decimal('1.5')}\n"
    )

    result = runtime.invoke(name, {"x": 1})

    assert result.ok
    assert result.json() == {"n": 1.5}


def test_public_powertools_layer_arn_is_served_from_installed_packages(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    patches = pytest.importorskip("localcloud.patches")
    if not patches.is_applied("accept_powertools_layer_arns"):
        pytest.skip("moto still rejects foreign layer ARNs (localcloud.patches not applied)")
    arn = (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7"
    )
    code = (
        "from aws_lambda_powertools import Logger\n"
        "logger = Logger(service='rides')\n"
        "@logger.inject_lambda_context\n"
        "def handler(e, c):\n"
        "    logger.info('structured')\n"
        "    return 'ok'\n"
    )
    name = deploy.function(code, layers=[arn])

    response = _invoke(aws, name, LogType="Tail")

    assert response["Body"] == "ok"
    tail = base64.b64decode(response["LogResult"]).decode()
    line = next(line for line in tail.splitlines() if '"structured"' in line)
    assert json.loads(line)["function_name"] == name
