"""Asynchronous invocations with Lambda's semantics: retries of a failing event, the
EventInvokeConfig's MaximumRetryAttempts, and the OnSuccess / OnFailure destination records."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud import patches
from localcloud.lambda_runtime import async_invocations
from localcloud.lambda_runtime.async_invocations import AsyncConfig
from localcloud.tests.runtime.support import Deployer, drain, read_records, wait_for

# Fails the first FAIL_TIMES calls (counted in a file), then answers; every call is recorded.
FLAKY_HANDLER = """
import json, os

def handler(event, context):
    path = os.environ["RECORD_FILE"]
    calls = sum(1 for _ in open(path)) if os.path.exists(path) else 0
    with open(path, "a") as out:
        out.write(json.dumps({"event": event, "request_id": context.aws_request_id}) + "\\n")
    if calls < int(os.environ["FAIL_TIMES"]):
        raise RuntimeError(f"attempt {calls + 1} fails")
    return {"handled": event["ride"]}
"""


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda waits about a minute, then two, between attempts; a fraction of a second here.
    monkeypatch.setenv(async_invocations.RETRY_DELAY_VARIABLE, "0.2")


def _flaky(deploy: Deployer, record_file: Path, fail_times: int) -> str:
    env = {"RECORD_FILE": str(record_file), "FAIL_TIMES": str(fail_times)}
    return deploy.function(FLAKY_HANDLER, env=env)


def _invoke_async(aws: Callable[[str], Any], name: str, event: dict[str, Any]) -> None:
    answer = aws("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    assert answer["StatusCode"] == 202


def test_a_failing_event_is_retried_and_its_success_goes_to_the_on_success_destination(
    deploy: Deployer, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = _flaky(deploy, record_file, fail_times=2)
    success, failure = deploy.queue(), deploy.queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={
            "OnSuccess": {"Destination": success["arn"]},
            "OnFailure": {"Destination": failure["arn"]},
        },
    )

    _invoke_async(aws, name, {"ride": "r1"})

    [message] = drain(aws("sqs"), success["url"], expected=1)
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}:$LATEST")
    assert record["requestPayload"] == {"ride": "r1"}
    assert record["responsePayload"] == {"handled": "r1"}
    assert "functionError" not in record["responseContext"]
    assert [call["event"] for call in read_records(record_file)] == [{"ride": "r1"}] * 3
    assert aws("sqs").receive_message(QueueUrl=failure["url"]).get("Messages") is None


def test_retries_stop_at_maximum_retry_attempts_and_the_failure_is_recorded(
    deploy: Deployer, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = _flaky(deploy, record_file, fail_times=10)
    failure = deploy.queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failure["arn"]}},
    )

    _invoke_async(aws, name, {"ride": "r2"})

    [message] = drain(aws("sqs"), failure["url"], expected=1)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"ride": "r2"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "attempt 2 fails"
    assert len(read_records(record_file)) == 2


def test_a_failed_event_goes_to_the_function_dead_letter_queue_and_its_destination(
    deploy: Deployer, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    name = _flaky(deploy, tmp_path / "calls.jsonl", fail_times=10)
    dead_letters, failure = deploy.queue(), deploy.queue()
    lam = aws("lambda")
    lam.update_function_configuration(
        FunctionName=name, DeadLetterConfig={"TargetArn": dead_letters["arn"]}
    )
    configuration = lam.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": dead_letters["arn"]}
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failure["arn"]}},
    )

    _invoke_async(aws, name, {"ride": "r9"})

    [message] = drain(aws("sqs"), dead_letters["url"], expected=1)
    assert json.loads(message["Body"]) == {"ride": "r9"}  # the event itself
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorCode"] == "200"
    assert attributes["ErrorMessage"] == "attempt 1 fails"
    assert attributes["RequestID"]
    drain(aws("sqs"), failure["url"], expected=1)  # the OnFailure destination gets it too


def test_a_dead_letter_target_lambda_cannot_use_is_refused_and_moto_alone_drops_it(
    deploy: Deployer, aws: Callable[[str], Any], role_arn: str
) -> None:
    with pytest.raises(ClientError, match="must be an SQS queue or SNS topic ARN"):
        deploy.function(
            "def handler(event, context): pass",
            dead_letter_config={"TargetArn": "arn:aws:lambda:us-east-1:123456789012:function:x"},
        )
    queue = deploy.queue()
    with patches.disabled("keep_function_dead_letter_config"):
        name = deploy.function(
            "def handler(event, context): pass", dead_letter_config={"TargetArn": queue["arn"]}
        )
        assert "DeadLetterConfig" not in aws("lambda").get_function_configuration(FunctionName=name)


def test_a_retry_runs_the_function_as_it_is_then_and_a_deleted_one_drops_the_event(
    deploy: Deployer, aws: Callable[[str], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(async_invocations.RETRY_DELAY_VARIABLE, "1.5")
    record_file = tmp_path / "calls.jsonl"
    name = _flaky(deploy, record_file, fail_times=10)
    failure = deploy.queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": failure["arn"]}}
    )

    _invoke_async(aws, name, {"ride": "r3"})
    wait_for(lambda: len(read_records(record_file)) == 1)
    aws("lambda").delete_function(FunctionName=name)  # before the retry, 1.5 s later

    time.sleep(3)  # past the retry's time
    assert len(read_records(record_file)) == 1  # the old code did not run again
    assert aws("sqs").receive_message(QueueUrl=failure["url"]).get("Messages") is None


def test_an_event_older_than_its_maximum_age_is_not_tried_again() -> None:
    config = AsyncConfig(maximum_event_age_s=60)
    assert not async_invocations.expired(received_at=1000.0, config=config, now=1060.0)
    assert async_invocations.expired(received_at=1000.0, config=config, now=1060.5)
    assert AsyncConfig().maximum_event_age_s == 21600
    assert AsyncConfig().maximum_retry_attempts == 2


def test_the_retry_delays_are_lambdas_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(async_invocations.RETRY_DELAY_VARIABLE)
    assert [async_invocations.retry_delay_s(n) for n in (1, 2)] == [60.0, 120.0]
    monkeypatch.setenv(async_invocations.RETRY_DELAY_VARIABLE, "not a number")
    assert async_invocations.retry_delay_s(1) == 60.0
