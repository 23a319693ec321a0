"""SQS message move tasks (DLQ redrive) on localcloud, through a real server and plain boto3.

`make redrive` and operators (`aws sqs start-message-move-task`) use these APIs on AWS and on
localcloud alike, so the tests check what SQS documents: the redrive goes back to the queue
each message was dead-lettered from (or to a given destination) as new messages, at the given
rate, can be cancelled, and never loses or duplicates a message; errors have SQS's codes.
The gap itself (moto answers 500) is shown in test_patches.py.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.server import LocalCloud, start

REGION = "us-east-1"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with start(0) as running:
        yield running


@pytest.fixture(scope="module")
def sqs(cloud: LocalCloud) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=cloud.endpoint_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


def _queue(sqs: Any, dead_letters_to: Queue | None = None, max_receive: int = 2) -> Queue:
    attributes = {}
    if dead_letters_to is not None:
        policy = {"deadLetterTargetArn": dead_letters_to.arn, "maxReceiveCount": max_receive}
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = sqs.create_queue(QueueName=_unique("q"), Attributes=attributes)["QueueUrl"]
    return Queue(url, _arn(sqs, url))


def _depth(sqs: Any, queue: Queue) -> int:
    """Every message the queue holds: visible, in flight or delayed."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=names)
    return sum(int(attributes["Attributes"][name]) for name in names)


def _wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until condition() is truthy; the deadline only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)
    return value


def _send(sqs: Any, queue: Queue, bodies: list[str]) -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue.url,
            MessageBody=body,
            MessageAttributes={
                "rideId": {"DataType": "String", "StringValue": body},
                "fare": {"DataType": "Number", "StringValue": "12.5"},
                "blob": {"DataType": "Binary", "BinaryValue": body.encode()},
            },
        )


def _fail_into_dlq(sqs: Any, queue: Queue, dlq: Queue, expected: int) -> None:
    """Receive without deleting (a consumer failing) until SQS dead-letters `expected`."""

    def dead_lettered() -> bool:
        sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return _depth(sqs, dlq) >= expected

    _wait_for(dead_lettered)
    assert _depth(sqs, dlq) == expected


def _receive_all(sqs: Any, queue: Queue, **kwargs: Any) -> list[dict[str, Any]]:
    """Every visible message, received once each and left in the queue (in flight)."""
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
            **kwargs,
        ).get("Messages", [])
        if not batch:
            return received
        received += batch


def _release(sqs: Any, queue: Queue, messages: list[dict[str, Any]]) -> None:
    """Make received messages visible again, as a consumer giving up on them does."""
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(message["Body"] for message in messages)


def _task(sqs: Any, source: Queue) -> dict[str, Any]:
    [task] = sqs.list_message_move_tasks(SourceArn=source.arn)["Results"]
    return task


def _finished(sqs: Any, source: Queue) -> dict[str, Any]:
    return _wait_for(
        lambda: (t := _task(sqs, source))["Status"] not in ("RUNNING", "CANCELLING") and t
    )


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    error = response["Error"]
    return error["Code"], error["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _handle(task_id: str, source_arn: str) -> str:
    document = json.dumps({"taskId": task_id, "sourceArn": source_arn})
    return base64.b64encode(document.encode()).decode()


# --- redrive back to the source ------------------------------------------------------------------


def test_redrive_without_destination_puts_messages_back_into_their_source(sqs: Any) -> None:
    dlq = _queue(sqs)
    queue = _queue(sqs, dead_letters_to=dlq, max_receive=2)
    bodies = [f"ride-{n}" for n in range(5)]
    _send(sqs, queue, bodies)
    first_receive = _receive_all(sqs, queue)  # 1 of maxReceiveCount 2
    _release(sqs, queue, first_receive)
    sent = {m["Body"]: m for m in first_receive}
    _fail_into_dlq(sqs, queue, dlq, 5)

    # SQS marks what it dead-lettered with the queue it came from.
    dead = _receive_all(sqs, dlq, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])
    assert {m["Attributes"]["DeadLetterQueueSourceArn"] for m in dead} == {queue.arn}
    _release(sqs, dlq, dead)

    before = time.time() * 1000
    handle = sqs.start_message_move_task(SourceArn=dlq.arn)["TaskHandle"]
    task = _finished(sqs, dlq)

    # The handle is SQS's: base64 JSON of the task id and the source ARN.
    decoded = json.loads(base64.b64decode(handle))
    assert decoded["sourceArn"] == dlq.arn
    assert uuid.UUID(decoded["taskId"])
    assert task == {
        "Status": "COMPLETED",
        "SourceArn": dlq.arn,
        "ApproximateNumberOfMessagesMoved": 5,
        "ApproximateNumberOfMessagesToMove": 5,
        "StartedTimestamp": task["StartedTimestamp"],
    }  # no TaskHandle once it ended; no DestinationArn / rate when none was given
    assert before - 1000 <= task["StartedTimestamp"] <= time.time() * 1000

    assert _depth(sqs, dlq) == 0
    back = _receive_all(sqs, queue, MessageSystemAttributeNames=["All"])
    assert _bodies(back) == bodies
    for message in back:
        original = sent[message["Body"]]
        # A new message: new id, never received, no DLQ mark; same body and attributes.
        assert message["MessageId"] not in {m["MessageId"] for m in dead}
        assert message["MessageId"] != original["MessageId"]
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        assert "DeadLetterQueueSourceArn" not in message["Attributes"]
        assert message["MessageAttributes"] == original["MessageAttributes"]
        assert message["MD5OfMessageAttributes"] == original["MD5OfMessageAttributes"]
        assert message["MD5OfBody"] == original["MD5OfBody"]
    _release(sqs, queue, back)

    # The source's maxReceiveCount applies afresh: one more failed receive (2 of 2), then the
    # next one dead-letters them again.
    _fail_into_dlq(sqs, queue, dlq, 5)
    assert _depth(sqs, queue) == 0


def test_each_message_goes_back_to_the_queue_it_was_dead_lettered_from(sqs: Any) -> None:
    dlq = _queue(sqs)
    first = _queue(sqs, dead_letters_to=dlq, max_receive=1)
    second = _queue(sqs, dead_letters_to=dlq, max_receive=1)
    _send(sqs, first, ["a-1", "a-2"])
    _fail_into_dlq(sqs, first, dlq, 2)
    _send(sqs, second, ["b-1", "b-2", "b-3"])
    _fail_into_dlq(sqs, second, dlq, 5)

    sqs.start_message_move_task(SourceArn=dlq.arn)

    assert _finished(sqs, dlq)["ApproximateNumberOfMessagesMoved"] == 5
    assert _bodies(_receive_all(sqs, first)) == ["a-1", "a-2"]
    assert _bodies(_receive_all(sqs, second)) == ["b-1", "b-2", "b-3"]
    assert _depth(sqs, dlq) == 0


def test_redrive_to_an_explicit_destination(sqs: Any) -> None:
    dlq = _queue(sqs)
    queue = _queue(sqs, dead_letters_to=dlq, max_receive=1)
    destination = _queue(sqs)
    _send(sqs, queue, ["r-1", "r-2", "r-3"])
    _fail_into_dlq(sqs, queue, dlq, 3)

    sqs.start_message_move_task(SourceArn=dlq.arn, DestinationArn=destination.arn)

    task = _finished(sqs, dlq)
    assert task["Status"] == "COMPLETED"
    assert task["DestinationArn"] == destination.arn
    assert _bodies(_receive_all(sqs, destination)) == ["r-1", "r-2", "r-3"]
    assert _depth(sqs, queue) == 0
    assert _depth(sqs, dlq) == 0


def test_messages_sent_straight_to_the_dlq_need_a_destination(sqs: Any) -> None:
    # SQS: "CouldNotDetermineMessageSource ... An Amazon SQS message sent directly to the DLQ".
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    _send(sqs, dlq, ["by-hand"])

    sqs.start_message_move_task(SourceArn=dlq.arn)

    task = _finished(sqs, dlq)
    assert task["Status"] == "FAILED"
    assert task["FailureReason"] == "CouldNotDetermineMessageSource"
    assert task["ApproximateNumberOfMessagesMoved"] == 0
    assert _depth(sqs, dlq) == 1

    destination = _queue(sqs)
    sqs.start_message_move_task(SourceArn=dlq.arn, DestinationArn=destination.arn)
    assert _finished(sqs, dlq)["Status"] == "COMPLETED"
    assert _bodies(_receive_all(sqs, destination)) == ["by-hand"]


# --- rate, progress, cancel ----------------------------------------------------------------------


def test_rate_limit_spreads_the_move_over_time(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    destination = _queue(sqs)
    _send(sqs, dlq, [f"m-{n:02}" for n in range(20)])

    started = time.monotonic()
    handle = sqs.start_message_move_task(
        SourceArn=dlq.arn, DestinationArn=destination.arn, MaxNumberOfMessagesPerSecond=10
    )["TaskHandle"]
    progress = []
    while (task := _task(sqs, dlq))["Status"] == "RUNNING":
        progress.append(task["ApproximateNumberOfMessagesMoved"])
        assert task["TaskHandle"] == handle
        assert task["MaxNumberOfMessagesPerSecond"] == 10
        assert task["ApproximateNumberOfMessagesToMove"] == 20
        time.sleep(0.1)
    elapsed = time.monotonic() - started

    # 20 messages at 10/s: the first at once, the last 1.9 s later.
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 20
    assert elapsed >= 1.5
    assert progress == sorted(progress)
    assert any(0 < moved < 20 for moved in progress)  # seen partway
    assert _depth(sqs, destination) == 20


def test_cancel_stops_the_move_and_loses_nothing(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    destination = _queue(sqs)
    bodies = [f"m-{n:02}" for n in range(20)]
    _send(sqs, dlq, bodies)
    handle = sqs.start_message_move_task(
        SourceArn=dlq.arn, DestinationArn=destination.arn, MaxNumberOfMessagesPerSecond=4
    )["TaskHandle"]
    _wait_for(lambda: _task(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 2)

    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]

    task = _finished(sqs, dlq)
    assert task["Status"] == "CANCELLED"
    assert "TaskHandle" not in task
    assert 2 <= moved == task["ApproximateNumberOfMessagesMoved"] < 20
    time.sleep(0.5)  # nothing moves after a cancel
    in_destination = _receive_all(sqs, destination)
    left = _receive_all(sqs, dlq)
    assert len(in_destination) == moved
    assert _bodies(in_destination + left) == bodies  # every message once, in one queue

    code, message, status = _error(lambda: sqs.cancel_message_move_task(TaskHandle=handle))
    assert (code, message, status) == ("ResourceNotFoundException", "Task does not exist.", 404)


def test_list_is_newest_first_and_limited(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    destination = _queue(sqs)
    assert sqs.list_message_move_tasks(SourceArn=dlq.arn)["Results"] == []
    for rate in (1, 2, 3):
        _send(sqs, dlq, [f"rate-{rate}"])
        sqs.start_message_move_task(
            SourceArn=dlq.arn, DestinationArn=destination.arn, MaxNumberOfMessagesPerSecond=rate
        )
        _finished(sqs, dlq)

    newest = sqs.list_message_move_tasks(SourceArn=dlq.arn)["Results"]
    every = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=10)["Results"]
    two = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=2)["Results"]

    assert [t["MaxNumberOfMessagesPerSecond"] for t in newest] == [3]
    assert [t["MaxNumberOfMessagesPerSecond"] for t in every] == [3, 2, 1]
    assert [t["MaxNumberOfMessagesPerSecond"] for t in two] == [3, 2]
    assert [t["StartedTimestamp"] for t in every] == sorted(
        (t["StartedTimestamp"] for t in every), reverse=True
    )
    for task in every:
        assert set(task) == {
            "Status",
            "SourceArn",
            "DestinationArn",
            "MaxNumberOfMessagesPerSecond",
            "ApproximateNumberOfMessagesMoved",
            "ApproximateNumberOfMessagesToMove",
            "StartedTimestamp",
        }
        assert task["ApproximateNumberOfMessagesMoved"] == 1
    # Other queues' tasks are not listed.
    other = _queue(sqs)
    _queue(sqs, dead_letters_to=other)
    assert sqs.list_message_move_tasks(SourceArn=other.arn)["Results"] == []


def test_a_deleted_destination_fails_the_task_and_keeps_the_rest(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    destination = _queue(sqs)
    _send(sqs, dlq, [f"m-{n}" for n in range(10)])
    sqs.start_message_move_task(
        SourceArn=dlq.arn, DestinationArn=destination.arn, MaxNumberOfMessagesPerSecond=5
    )
    _wait_for(lambda: _task(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1)

    sqs.delete_queue(QueueUrl=destination.url)

    task = _finished(sqs, dlq)
    assert task["Status"] == "FAILED"
    assert task["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert 1 <= task["ApproximateNumberOfMessagesMoved"] < 10
    assert _depth(sqs, dlq) == 10 - task["ApproximateNumberOfMessagesMoved"]


def test_task_threads_are_daemons(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    _send(sqs, dlq, ["a", "b", "c"])
    handle = sqs.start_message_move_task(
        SourceArn=dlq.arn, DestinationArn=_queue(sqs).arn, MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    name = f"sqs-move-task-{json.loads(base64.b64decode(handle))['taskId']}"
    try:
        [thread] = [t for t in threading.enumerate() if t.name == name]
        assert thread.daemon  # a task in progress never keeps localcloud's process alive
    finally:
        sqs.cancel_message_move_task(TaskHandle=handle)
    _wait_for(lambda: not thread.is_alive(), timeout=5)


# --- concurrency -------------------------------------------------------------------------------


def test_moving_while_consumers_receive_and_delete_loses_and_duplicates_nothing(
    sqs: Any,
) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    destination = _queue(sqs)
    bodies = [f"m-{n:03}" for n in range(150)]
    for start_at in range(0, len(bodies), 10):
        entries = [
            {"Id": str(n), "MessageBody": body}
            for n, body in enumerate(bodies[start_at : start_at + 10])
        ]
        sqs.send_message_batch(QueueUrl=dlq.url, Entries=entries)
    consumed: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def consume() -> None:
        # Someone reading the DLQ by hand while the redrive runs: what they delete is theirs.
        while not done.is_set():
            got = sqs.receive_message(QueueUrl=dlq.url, MaxNumberOfMessages=10).get("Messages", [])
            for message in got:
                sqs.delete_message(QueueUrl=dlq.url, ReceiptHandle=message["ReceiptHandle"])
                with lock:
                    consumed.append(message["Body"])

    with ThreadPoolExecutor(3) as pool:
        consumers = [pool.submit(consume) for _ in range(3)]
        sqs.start_message_move_task(SourceArn=dlq.arn, DestinationArn=destination.arn)
        task = _finished(sqs, dlq)
        done.set()
        for consumer in consumers:
            consumer.result()

    assert task["Status"] == "COMPLETED"
    moved = _receive_all(sqs, destination)
    assert len(moved) == task["ApproximateNumberOfMessagesMoved"]
    left = [m["Body"] for m in _receive_all(sqs, dlq)]
    assert sorted(consumed + _bodies(moved) + left) == bodies


# --- errors ------------------------------------------------------------------------------------


def test_start_errors(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    plain = _queue(sqs)
    fifo_url = sqs.create_queue(QueueName=_unique("q") + ".fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    fifo = Queue(fifo_url, _arn(sqs, fifo_url))
    missing = dlq.arn + "-missing"

    def start_task(**kwargs: Any) -> Callable[[], Any]:
        return lambda: sqs.start_message_move_task(**kwargs)

    assert _error(start_task(SourceArn=plain.arn)) == (
        "InvalidParameterValue",
        "Source queue must be configured as a Dead Letter Queue.",
        400,
    )
    assert _error(start_task(SourceArn=missing)) == (
        "ResourceNotFoundException",
        "The resource that you specified for the SourceArn parameter doesn't exist.",
        404,
    )
    code, message, _ = _error(start_task(SourceArn="not-an-arn"))
    assert code == "InvalidParameterValue"
    assert message.startswith("You must use this format to specify the SourceArn: arn:")
    assert _error(start_task(SourceArn=dlq.arn, DestinationArn=missing)) == (
        "ResourceNotFoundException",
        "The resource that you specified for the DestinationArn parameter doesn't exist.",
        404,
    )
    assert _error(start_task(SourceArn=dlq.arn, DestinationArn=dlq.arn))[1] == (
        "Source queue arn and destination queue arn cannot be the same."
    )
    assert _error(start_task(SourceArn=dlq.arn, DestinationArn=fifo.arn))[1] == (
        "The source queue and destination queue must be of the same queue type."
    )
    for rate in (0, 501, -1):
        assert _error(start_task(SourceArn=dlq.arn, MaxNumberOfMessagesPerSecond=rate)) == (
            "InvalidParameterValue",
            "Value for parameter MaxNumberOfMessagesPerSecond is invalid. "
            "Reason: You must enter a number that's between 1 and 500.",
            400,
        )
    assert sqs.list_message_move_tasks(SourceArn=dlq.arn)["Results"] == []  # none started

    _send(sqs, dlq, ["a", "b", "c"])
    handle = sqs.start_message_move_task(
        SourceArn=dlq.arn, DestinationArn=plain.arn, MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    try:
        assert _error(start_task(SourceArn=dlq.arn, DestinationArn=plain.arn)) == (
            "InvalidParameterValue",
            "There is already a task running. Only one active task is allowed for a source "
            "queue arn at a given time.",
            400,
        )
    finally:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert _finished(sqs, dlq)["Status"] == "CANCELLED"
    # Once it has ended, another may start.
    sqs.start_message_move_task(SourceArn=dlq.arn, DestinationArn=plain.arn)
    assert _finished(sqs, dlq)["Status"] == "COMPLETED"
    assert _depth(sqs, plain) == 3


def test_list_and_cancel_errors(sqs: Any) -> None:
    dlq = _queue(sqs)
    _queue(sqs, dead_letters_to=dlq)
    missing = dlq.arn + "-missing"

    for limit in (0, 11):
        listing = functools.partial(
            sqs.list_message_move_tasks, SourceArn=dlq.arn, MaxResults=limit
        )
        assert _error(listing) == (
            "InvalidParameterValue",
            "Value for parameter MaxResults is invalid. "
            "Reason: You must enter a number that's between 1 and 10.",
            400,
        )
    assert _error(lambda: sqs.list_message_move_tasks(SourceArn=missing))[0] == (
        "ResourceNotFoundException"
    )

    def cancel(handle: str) -> Callable[[], Any]:
        return lambda: sqs.cancel_message_move_task(TaskHandle=handle)

    assert _error(cancel("foobared")) == (
        "InvalidParameterValue",
        "Value for parameter TaskHandle is invalid.",
        400,
    )
    assert _error(cancel(_handle(str(uuid.uuid4()), missing))) == (
        "ResourceNotFoundException",
        "The resource that you specified for the SourceArn parameter doesn't exist.",
        404,
    )
    assert _error(cancel(_handle(str(uuid.uuid4()), dlq.arn))) == (
        "ResourceNotFoundException",
        "Task does not exist.",
        404,
    )
    finished = sqs.start_message_move_task(SourceArn=dlq.arn)["TaskHandle"]  # empty: completes
    assert _finished(sqs, dlq)["Status"] == "COMPLETED"
    assert _error(cancel(finished)) == ("ResourceNotFoundException", "Task does not exist.", 404)
