"""The notification handler on real SQS events: one receipt per ride, whatever the delivery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wildrydes_testing.consumer_contract import ConsumerHandlerContract
from wildrydes_testing.consumers import Consumer, consumer
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import failed_ids, sqs_record

MODULE = "notification.app"


@pytest.fixture
def notification(monkeypatch: pytest.MonkeyPatch) -> Iterator[Consumer]:
    with consumer(monkeypatch, "notification", MODULE) as running:
        yield running


def receipts(running: Consumer) -> dict[str, dict[str, str]]:
    return {
        item["rideId"]["S"]: {name: value["S"] for name, value in item.items()}
        for item in running.items()
    }


def test_every_delivered_ride_gets_its_receipt(notification: Consumer) -> None:
    seed, cheap = make_ride(), make_ride(fare="0", distance="2.5", customer="c-7")
    response = notification.handle(notification.deliver(seed, cheap))
    assert response == {"batchItemFailures": []}
    stored = receipts(notification)
    assert set(stored) == {seed.id, cheap.id}
    assert stored[seed.id]["customer"] == "234234"
    assert stored[seed.id]["text"] == (
        "Your Wild Rydes unicorn ride from Berlin to Munich: 600 km in 480 min. Fare: 256.50."
    )
    assert stored[cheap.id]["customer"] == "c-7"
    assert stored[cheap.id]["text"].endswith("2.5 km in 480 min. Fare: 0.00.")
    assert stored[seed.id]["sentAt"].endswith("Z")


def test_a_redelivered_ride_changes_nothing(notification: Consumer) -> None:
    ride = make_ride()
    event = notification.deliver(ride)
    notification.handle(event)
    first = notification.items()
    # The same SQS message again (visibility timeout expired), and the ride published again
    # (a second SNS message for the same ride): both succeed, neither writes.
    assert notification.handle(event) == {"batchItemFailures": []}
    assert notification.handle(notification.deliver(ride)) == {"batchItemFailures": []}
    assert notification.items() == first


def test_a_poison_message_fails_alone(notification: Consumer) -> None:
    good = [make_ride(), make_ride(fare="3")]
    event = notification.deliver(*good)
    event["Records"].insert(1, sqs_record('{"Type": "Notification"}', message_id="poison"))
    assert failed_ids(notification.handle(event)) == {"poison"}
    assert set(receipts(notification)) == {ride.id for ride in good}


def test_a_storage_error_fails_the_record_for_a_retry(notification: Consumer) -> None:
    event = notification.deliver(make_ride())
    notification.app.TABLE_NAME = "no-such-table"
    assert failed_ids(notification.handle(event)) == {event["Records"][0]["messageId"]}


class TestHandlerContract(ConsumerHandlerContract):
    service = "notification"
