"""The extraordinary handler on real SQS events: each qualifying ride recorded once, with why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from wildrydes.events import sns_message
from wildrydes_testing.consumer_contract import ConsumerHandlerContract
from wildrydes_testing.consumers import Consumer, consumer
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import failed_ids, sns_envelope, sqs_event, sqs_record

MODULE = "extraordinary.app"


@pytest.fixture
def extraordinary(monkeypatch: pytest.MonkeyPatch) -> Iterator[Consumer]:
    with consumer(monkeypatch, "extraordinary", MODULE) as running:
        yield running


def reviews(running: Consumer) -> dict[str, dict[str, Any]]:
    return {item["rideId"]["S"]: item for item in running.items()}


def test_qualifying_rides_are_recorded_with_their_reasons(extraordinary: Consumer) -> None:
    pricey = make_ride(fare="50", distance="1")
    far = make_ride(fare="3", distance="20")
    both = make_ride(fare="256.5", distance="600")
    event = extraordinary.deliver(pricey, far, both)
    assert extraordinary.handle(event) == {"batchItemFailures": []}
    stored = reviews(extraordinary)
    assert set(stored) == {pricey.id, far.id, both.id}
    assert stored[pricey.id]["reasons"] == {"L": [{"S": "fare"}]}
    assert stored[far.id]["reasons"] == {"L": [{"S": "distance"}]}
    assert stored[both.id]["reasons"] == {"L": [{"S": "fare"}, {"S": "distance"}]}
    item = stored[both.id]
    assert item["status"] == {"S": "PENDING_REVIEW"}
    assert item["customer"] == {"S": "234234"}
    assert (item["fare"], item["distance"]) == ({"N": "256.5"}, {"N": "600"})
    assert item["flaggedAt"]["S"].endswith("Z")


def test_only_qualifying_rides_reach_the_queue(extraordinary: Consumer) -> None:
    event = extraordinary.deliver(
        make_ride(fare="49.99", distance="19.99"), make_ride(fare="60"), expected=1
    )
    assert extraordinary.handle(event) == {"batchItemFailures": []}
    assert len(extraordinary.items()) == 1


def test_a_ride_that_bypassed_the_filter_is_logged_and_skipped(extraordinary: Consumer) -> None:
    ordinary = make_ride(fare="49.99", distance="19.99")
    event = sqs_event(sns_envelope(sns_message(ordinary)))
    assert extraordinary.handle(event) == {"batchItemFailures": []}
    assert extraordinary.items() == []
    [warning] = extraordinary.emitted.lines(level="WARNING")
    assert warning["ride_id"] == ordinary.id
    assert warning["message"] == "ride is not extraordinary"
    assert extraordinary.emitted.counts("extraordinary")["RideSkipped"] == 1


def test_a_redelivered_ride_changes_nothing(extraordinary: Consumer) -> None:
    ride = make_ride(fare="75")
    event = extraordinary.deliver(ride)
    extraordinary.handle(event)
    first = extraordinary.items()
    assert extraordinary.handle(event) == {"batchItemFailures": []}
    assert extraordinary.handle(extraordinary.deliver(ride)) == {"batchItemFailures": []}
    assert extraordinary.items() == first


def test_a_poison_message_fails_alone(extraordinary: Consumer) -> None:
    good = [make_ride(fare="50"), make_ride(distance="25")]
    event = extraordinary.deliver(*good)
    poison = sqs_record(sns_envelope({"Message": '{"fare": 100}'}), message_id="poison")
    event["Records"].insert(1, poison)
    assert failed_ids(extraordinary.handle(event)) == {"poison"}
    assert set(reviews(extraordinary)) == {ride.id for ride in good}


def test_a_storage_error_fails_the_record_for_a_retry(extraordinary: Consumer) -> None:
    event = extraordinary.deliver(make_ride())
    extraordinary.app.TABLE_NAME = "no-such-table"
    assert failed_ids(extraordinary.handle(event)) == {event["Records"][0]["messageId"]}


class TestHandlerContract(ConsumerHandlerContract):
    service = "extraordinary"
