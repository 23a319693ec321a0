"""`make redrive SERVICE=x [FROM=dlq|delivery]`: bring a consumer's dead letters back to its queue.

FROM=dlq (the default): the rides the service's function failed `maxReceiveCount` times. An SQS
message move task (StartMessageMoveTask) moves them from the DLQ to the service's queue, where
the function gets them again; progress comes from ListMessageMoveTasks until the task ends.
Interrupting the command leaves the task running (`aws sqs cancel-message-move-task` stops it).

FROM=delivery: the rides SNS could not deliver to the queue at all (queue policy, KMS key,
quota). SNS puts the raw ride there (its message attributes as SQS message attributes), which
is not what the consumer reads, and SQS move tasks take only DLQs of SQS queues; so each one is
wrapped in the SNS envelope the consumer reads (marked `replay`, like `make replay`'s, since
the topic did not send it), sent to the queue, and deleted from the delivery DLQ only once
sent. A message that is not a ride stays where it is, counted.

Consumers are idempotent on the ride id, so a redrive is safe to repeat. Refused, changing
nothing: an unknown or producer SERVICE, a FROM that is neither, an empty DLQ, or a move task
already running from it. Public APIs only, so the same on AWS and localcloud.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from wildrydes.events import replayed_notification
from wildrydes.ride import Ride

from scripts import stacks
from scripts.progress import Progress
from scripts.rides import CommandError, consumer_service

SOURCES = ("dlq", "delivery")
POLL_S = 1.0
RECEIVE_VISIBILITY_S = 60  # long enough to send a batch on; a crash makes them visible again


@dataclass(frozen=True)
class Inbox:
    """A consumer's queue and DLQs, from its stack's outputs."""

    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    delivery_dlq_url: str
    topic_arn: str


def parse_source(text: str) -> str:
    value = text.strip() or "dlq"
    if value not in SOURCES:
        raise CommandError(
            f"FROM='{text}' is not a source: dlq (rides the function failed) or delivery "
            "(rides SNS could not deliver)"
        )
    return value


def inbox_of(service: str, prefix: str, env: Mapping[str, str]) -> Inbox:
    outputs = stacks.service_outputs(f"{prefix}-{service}", env)
    return Inbox(
        queue_url=outputs["QueueUrl"],
        queue_arn=outputs["QueueArn"],
        dlq_url=outputs["DeadLetterQueueUrl"],
        dlq_arn=outputs["DeadLetterQueueArn"],
        delivery_dlq_url=outputs["DeliveryDeadLetterQueueUrl"],
        topic_arn=stacks.stack_outputs(f"{prefix}-platform", env)["TopicArn"],
    )


def _visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def redrive_dlq(sqs: Any, inbox: Inbox, service: str, progress: Progress) -> tuple[bool, str]:
    """Move the DLQ back with a message move task; (completed, summary)."""
    if depth(sqs, inbox.dlq_url) == 0:
        raise CommandError(f"nothing to redrive: {service}'s DLQ is empty")
    tasks = sqs.list_message_move_tasks(SourceArn=inbox.dlq_arn, MaxResults=10)["Results"]
    if any(task["Status"] == "RUNNING" for task in tasks):
        raise CommandError(
            f"a message move task is already running from {service}'s DLQ; wait for it, or "
            "cancel it with aws sqs cancel-message-move-task"
        )
    handle = sqs.start_message_move_task(SourceArn=inbox.dlq_arn, DestinationArn=inbox.queue_arn)[
        "TaskHandle"
    ]
    while True:
        listed = sqs.list_message_move_tasks(SourceArn=inbox.dlq_arn, MaxResults=1)["Results"]
        if not listed:  # listed a moment after it started: look again
            time.sleep(POLL_S)
            continue
        task = listed[0]
        moved = task.get("ApproximateNumberOfMessagesMoved", 0)
        total = task.get("ApproximateNumberOfMessagesToMove", moved)
        progress.update(f"moved {moved} of {total} ({task['Status'].lower()})")
        if task["Status"] not in ("RUNNING", "CANCELLING"):
            break
        time.sleep(POLL_S)
    reason = f": {task['FailureReason']}" if task.get("FailureReason") else ""
    summary = f"{task['Status'].lower()}{reason}: moved {moved} of {total} (task {handle})"
    return task["Status"] == "COMPLETED", summary


def _sns_message(message: dict[str, Any]) -> dict[str, Any]:
    """sns.publish arguments for a delivery-DLQ message: its body, its message attributes."""
    attributes = {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in message.get("MessageAttributes", {}).items()
        if "StringValue" in value
    }
    return {"Message": message["Body"], "MessageAttributes": attributes}


def _is_ride(body: str) -> bool:
    try:
        Ride.model_validate(json.loads(body))
    except ValueError:  # not JSON, or a pydantic ValidationError (a ValueError too)
        return False
    return True


def redrive_delivery(sqs: Any, inbox: Inbox, service: str, progress: Progress) -> tuple[bool, str]:
    """Wrap each raw ride of the delivery DLQ and send it to the queue; (all sent, summary)."""
    if depth(sqs, inbox.delivery_dlq_url) == 0:
        raise CommandError(f"nothing to redrive: {service}'s delivery DLQ is empty")
    sent, left, seen = 0, 0, set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=inbox.delivery_dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RECEIVE_VISIBILITY_S,
            # Long polling asks every SQS server: a short poll of a small queue can come back
            # empty while messages wait.
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        # Messages left behind stay invisible for a while; done once nothing new comes and
        # nothing visible is waiting.
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            if _visible(sqs, inbox.delivery_dlq_url) == 0:
                break
            continue
        seen.update(m["MessageId"] for m in fresh)
        rides = [m for m in fresh if _is_ride(m["Body"])]
        left += len(fresh) - len(rides)
        if rides:
            now = datetime.now(UTC)
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": replayed_notification(
                        _sns_message(m), inbox.topic_arn, str(uuid.uuid4()), now
                    ),
                }
                for index, m in enumerate(rides)
            ]
            answer = sqs.send_message_batch(QueueUrl=inbox.queue_url, Entries=entries)
            done = [rides[int(entry["Id"])] for entry in answer.get("Successful", [])]
            left += len(answer.get("Failed", []))
            if done:
                sqs.delete_message_batch(
                    QueueUrl=inbox.delivery_dlq_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
            sent += len(done)
        progress.update(f"sent {sent}, left in the delivery DLQ {left}")
    return left == 0, f"sent {sent} to the queue, left in the delivery DLQ {left}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.redrive", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("--service", default="")
    parser.add_argument("--from", dest="source", default="dlq")
    args = parser.parse_args(argv)
    try:
        service = consumer_service(args.service, "redrive")
        source = parse_source(args.source)
        env = stacks.target_environment(args.target)
        inbox = inbox_of(service, args.prefix, env)
        sqs = stacks.client("sqs", env)
        which = "DLQ" if source == "dlq" else "delivery DLQ"
        print(f"redriving {service}'s {which} to its queue ({inbox.queue_url})")
        with Progress() as progress:
            if source == "dlq":
                complete, summary = redrive_dlq(sqs, inbox, service, progress)
            else:
                complete, summary = redrive_delivery(sqs, inbox, service, progress)
    except (CommandError, stacks.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:  # credentials, permissions, a racing task
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done: {summary}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
