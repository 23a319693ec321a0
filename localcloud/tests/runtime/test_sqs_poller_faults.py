"""The SQS poller when SQS itself fails: a receive that fails in the middle of a batching window
must not drop the messages already in hand (each drop spends one of their maxReceiveCount
receives with no attempt, and a few such drops park a healthy message in the DLQ), and a delete
that fails leaves only its own chunk to come back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import EndpointConnectionError

from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.event_sources.sqs import SqsPoller
from localcloud.lambda_runtime.invoker import InvocationResult
from localcloud.tests.runtime.support import Deployer, wait_for


class FailingCalls:
    """A real SQS client whose chosen calls (by operation and call number) raise instead."""

    def __init__(self, sqs: Any, fail: dict[str, set[int]]) -> None:
        self._sqs = sqs
        self._fail = fail
        self.calls: dict[str, int] = {}

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        real = getattr(self._sqs, operation)

        def call(**kwargs: Any) -> Any:
            number = self.calls[operation] = self.calls.get(operation, 0) + 1
            if number in self._fail.get(operation, set()):
                raise EndpointConnectionError(endpoint_url="http://localhost:1")
            return real(**kwargs)

        return call


class Clients:
    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "sqs"
        return self._sqs


class RecordingInvoker:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        with self._lock:
            self.events.append(event)
        return InvocationResult(
            "request", json.dumps({"batchItemFailures": []}).encode(), None, "1"
        )


def _config(queue_arn: str, batch_size: int, window_s: float) -> MappingConfig:
    return MappingConfig(
        uuid="poller-under-faults",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:consumer",
        source_arn=queue_arn,
        enabled=True,
        batch_size=batch_size,
        batching_window_s=window_s,
        starting_position=None,
        filter_criteria=None,
        response_types=("ReportBatchItemFailures",),
        bisect_on_error=False,
        max_retry_attempts=-1,
        max_record_age_s=-1,
        on_failure_destination=None,
        max_concurrency=2,
        raw_fingerprint="-",
    )


def _receive_counts(aws: Callable[[str], Any], url: str) -> dict[str, str]:
    return aws("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]


def test_a_receive_failing_inside_the_batching_window_keeps_the_messages_in_hand(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue(visibility_timeout=30)
    aws("sqs").send_message(QueueUrl=queue["url"], MessageBody="first")
    # The first receive takes the message; the second (still inside the 2 s window) fails.
    sqs = FailingCalls(aws("sqs"), {"receive_message": {2}})
    invoker = RecordingInvoker()
    poller = SqsPoller(_config(queue["arn"], batch_size=10, window_s=2), Clients(sqs), invoker)  # type: ignore[arg-type]
    poller.start()
    try:
        wait_for(lambda: invoker.events, timeout=10)
    finally:
        poller.stop()
        poller.join(5)

    [event] = invoker.events
    assert [record["body"] for record in event["Records"]] == ["first"]
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"
    counts = _receive_counts(aws, queue["url"])
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_a_failing_delete_keeps_only_its_own_chunk(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue(visibility_timeout=30)
    for number in range(12):
        aws("sqs").send_message(QueueUrl=queue["url"], MessageBody=f"ride-{number}")
    sqs = FailingCalls(aws("sqs"), {"delete_message_batch": {1}})
    invoker = RecordingInvoker()
    poller = SqsPoller(_config(queue["arn"], batch_size=12, window_s=1), Clients(sqs), invoker)  # type: ignore[arg-type]
    poller.start()
    try:
        wait_for(lambda: sqs.calls.get("delete_message_batch", 0) >= 2, timeout=10)
    finally:
        poller.stop()
        poller.join(5)

    handled = sum(len(event["Records"]) for event in invoker.events)
    assert handled == 12
    # The failed chunk (ten) waits out its visibility timeout; the other chunk was deleted.
    counts = _receive_counts(aws, queue["url"])
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "10",
    }
