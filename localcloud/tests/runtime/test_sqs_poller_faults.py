"""The SQS poller when SQS itself fails: a receive that fails in the middle of a batching window
must not drop the messages already in hand (each drop spends one of their maxReceiveCount
receives with no attempt, and a few such drops park a healthy message in the DLQ), and a delete
that fails leaves only its own chunk to come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.tests.runtime.sqs_poller_support import (
    FailingCalls,
    RecordingInvoker,
    sqs_poller,
)
from localcloud.tests.runtime.support import Deployer, wait_for


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
    poller = sqs_poller(queue["arn"], sqs, invoker, batch_size=10, window_s=2)
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
    poller = sqs_poller(queue["arn"], sqs, invoker, batch_size=12, window_s=1)
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
