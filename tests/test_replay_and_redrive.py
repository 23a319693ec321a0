"""make replay and make redrive FROM=delivery on moto, with a real consumer handler reading what
they send: only what the live filter matches is sent, in the envelope the consumer reads, and
sending it twice changes nothing in the consumer's records. (The e2e suite runs both, and
redrive from the DLQ with a message move task, against localcloud.)"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from management.rides_store import to_attributes
from wildrydes.events import sns_message
from wildrydes.ride import Ride
from wildrydes_testing.aws import mocked
from wildrydes_testing.consumers import Consumer, consumer
from wildrydes_testing.routing import make_ride, subscribe_queue
from wildrydes_testing.sqs_events import received_event
from wildrydes_testing.templates import REGION

from scripts import redrive, replay, rides
from scripts.progress import Progress

CORRELATION_ID = "api-request-42"


@pytest.fixture
def accounting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Consumer]:
    with consumer(monkeypatch, "accounting", "accounting.app") as running:
        yield running


def rides_table(dynamodb: Any, stored: list[Ride]) -> str:
    dynamodb.create_table(
        TableName="rides",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for ride in stored:
        item = {**ride.to_item(), "correlationId": CORRELATION_ID}
        dynamodb.put_item(TableName="rides", Item=to_attributes(item))
    return "rides"


def destination() -> tuple[replay.Destination, Any]:
    """accounting's queue, subscribed with accounting's own filter policy (fare > 0)."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="RideCompletion")["TopicArn"]
    queue_url = subscribe_queue(sns, sqs, topic_arn, "accounting")
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    policy = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]["FilterPolicy"]
    return replay.Destination("accounting", queue_url, topic_arn, policy), sqs


def submitted(day: int, fare: str) -> Ride:
    ride = make_ride(fare=fare, distance="3")
    return ride.model_copy(update={"submittedAt": datetime(2026, 11, day, 12, tzinfo=UTC)})


def test_replay_sends_what_the_live_filter_matches_and_twice_changes_nothing(
    accounting: Consumer,
) -> None:
    old, free, recent = submitted(1, "10"), submitted(20, "0"), submitted(21, "12.5")
    table = rides_table(accounting.dynamodb, [old, free, recent])
    to, sqs = destination()
    since = datetime(2026, 11, 15, tzinfo=UTC)

    counts = replay.replay(rides.scan_rides(accounting.dynamodb, table, since), to, sqs)
    # `old` is before SINCE; `free` has fare 0, which accounting's fare > 0 does not match.
    assert (counts.read, counts.matched, counts.sent, counts.skipped) == (2, 1, 1, 1)
    accounting.handle(received_event(sqs, to.queue_url, expected=1))
    ledger = {item["pk"]["S"] for item in accounting.items()}
    assert ledger == {f"RIDE#{recent.id}", f"CUSTOMER#{recent.customer}"}
    [line] = accounting.emitted.lines("ride processed")
    assert (line["ride_id"], line["replay"], line["correlation_id"]) == (
        recent.id,
        True,
        CORRELATION_ID,
    )

    before = accounting.items()
    again = replay.replay(rides.scan_rides(accounting.dynamodb, table, since), to, sqs)
    assert again.sent == 1
    accounting.handle(received_event(sqs, to.queue_url, expected=1))
    assert accounting.items() == before
    assert accounting.emitted.counts("accounting")["RideDuplicate"] == 1


def test_replaying_one_ride_reads_that_ride_only(accounting: Consumer) -> None:
    wanted, other = submitted(3, "5"), submitted(3, "6")
    table = rides_table(accounting.dynamodb, [wanted, other])
    to, sqs = destination()
    stored = rides.load_ride(accounting.dynamodb, table, wanted.id)
    counts = replay.replay([stored], to, sqs)
    assert (counts.read, counts.sent) == (1, 1)
    [record] = received_event(sqs, to.queue_url, expected=1)["Records"]
    envelope = json.loads(record["body"])
    assert json.loads(envelope["Message"])["id"] == wanted.id
    assert envelope["MessageAttributes"]["replay"] == {"Type": "String", "Value": "true"}
    assert envelope["MessageAttributes"]["fare"] == {"Type": "Number", "Value": "5"}
    assert envelope["TopicArn"] == to.topic_arn


def test_progress_in_a_log_shows_the_first_and_the_last_state() -> None:
    stream = io.StringIO()
    with Progress(stream) as progress:
        progress.update("read 1, matched 1, sent 0, skipped by the filter 0")
        progress.update("read 2, matched 1, sent 1, skipped by the filter 1")
    # Not a terminal: the first state at once, the last one at the end.
    assert stream.getvalue().splitlines() == [
        "read 1, matched 1, sent 0, skipped by the filter 0",
        "read 2, matched 1, sent 1, skipped by the filter 1",
    ]


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        ("", "SERVICE is required"),
        ("management", "publishes rides"),
        ("billing", "is not a consumer service"),
    ],
)
def test_replay_and_redrive_refuse_a_service_they_cannot_send_to(
    service: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for main in (replay.main, redrive.main):
        assert main(["--target", "local", "--service", service]) == 2
        assert problem in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--since", "last week"], "is not an ISO-8601 time"),
        (["--since", "2026-11-01T00:00:00"], "has no time zone"),
        (["--ride", "nope"], "is not a ride id"),
        (["--since", "2026-11-01T00:00:00Z", "--ride", "a" * 32], "not both"),
    ],
)
def test_replay_refuses_bad_input_before_reading_anything(
    options: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # TARGET=local with no localcloud running: input is checked before any connection.
    assert replay.main(["--target", "local", "--service", "accounting", *options]) == 2
    assert problem in capsys.readouterr().err


def test_redrive_refuses_a_source_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert redrive.main(["--target", "local", "--service", "accounting", "--from", "x"]) == 2
    assert "is not a source" in capsys.readouterr().err


def delivery_dlq(sqs: Any, stored: list[Ride]) -> str:
    """A delivery DLQ holding what SNS puts there: the raw ride, its attributes beside it."""
    url = sqs.create_queue(QueueName="accounting-delivery-dlq")["QueueUrl"]
    for ride in stored:
        message = sns_message(ride, CORRELATION_ID)
        sqs.send_message(
            QueueUrl=url,
            MessageBody=message["Message"],
            MessageAttributes=message["MessageAttributes"],
        )
    sqs.send_message(QueueUrl=url, MessageBody="not a ride")
    return url


def test_redrive_from_delivery_wraps_each_ride_for_the_consumer_and_leaves_the_rest(
    accounting: Consumer,
) -> None:
    to, sqs = destination()
    lost = [make_ride(fare="20"), make_ride(fare=Decimal("0.5"))]
    inbox = redrive.Inbox(
        queue_url=to.queue_url,
        queue_arn="arn:aws:sqs:us-east-1:123456789012:accounting-queue",
        dlq_url="unused",
        dlq_arn="unused",
        delivery_dlq_url=delivery_dlq(sqs, lost),
        topic_arn=to.topic_arn,
    )
    with Progress(io.StringIO()) as progress:
        complete, summary = redrive.redrive_delivery(sqs, inbox, "accounting", progress)
    assert (complete, summary) == (False, "sent 2 to the queue, left in the delivery DLQ 1")
    accounting.handle(received_event(sqs, to.queue_url, expected=2))
    assert {f"RIDE#{ride.id}" for ride in lost} <= {i["pk"]["S"] for i in accounting.items()}
    assert all(line["replay"] for line in accounting.emitted.lines("ride processed"))
    # Only the message that is not a ride is left (invisible for a while after the receive).
    assert redrive.depth(sqs, inbox.delivery_dlq_url) == 1


def test_redrive_refuses_an_empty_delivery_dlq() -> None:
    with mocked():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="empty")["QueueUrl"]
        inbox = redrive.Inbox("q", "arn", "d", "arn-d", url, "topic")
        with pytest.raises(rides.CommandError, match="delivery DLQ is empty"):
            redrive.redrive_delivery(sqs, inbox, "accounting", Progress(io.StringIO()))
