"""The accounting handler on real SQS events: each ride booked once, totals exact."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from wildrydes_testing.consumer_contract import ConsumerHandlerContract
from wildrydes_testing.consumers import Consumer, consumer
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import failed_ids, sqs_record

MODULE = "accounting.app"


@pytest.fixture
def accounting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Consumer]:
    with consumer(monkeypatch, "accounting", MODULE) as running:
        yield running


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: Decimal(value["N"]) if "N" in value else value["S"] for name, value in item.items()
    }


def by_key(running: Consumer) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: plain(item) for item in running.items()}


def totals(running: Consumer, customer: str) -> dict[str, Decimal]:
    item = by_key(running)[f"CUSTOMER#{customer}"]
    return {name: item[name] for name in ("fare", "distance", "rides")}


def test_rides_are_booked_in_the_ledger_and_the_customers_totals(accounting: Consumer) -> None:
    first = make_ride(fare="256.5", distance="600")
    second = make_ride(fare="0.00001", distance="19.99")
    other = make_ride(fare="12", distance="3", customer="c-2")
    assert accounting.handle(accounting.deliver(first, second, other)) == {"batchItemFailures": []}
    items = by_key(accounting)
    assert set(items) == {
        f"RIDE#{first.id}",
        f"RIDE#{second.id}",
        f"RIDE#{other.id}",
        "CUSTOMER#234234",
        "CUSTOMER#c-2",
    }
    entry = items[f"RIDE#{first.id}"]
    assert entry["rideId"] == first.id
    assert entry["customer"] == "234234"
    assert (entry["fare"], entry["distance"], entry["duration"]) == (256.5, 600, 480)
    assert (entry["from"], entry["to"]) == ("Berlin", "Munich")
    assert entry["submittedAt"] == "2026-01-02T03:04:05.000Z"
    # Exact decimal sums: 256.5 + 0.00001, 600 + 19.99.
    assert totals(accounting, "234234") == {
        "fare": Decimal("256.50001"),
        "distance": Decimal("619.99"),
        "rides": 2,
    }
    assert totals(accounting, "c-2") == {"fare": 12, "distance": 3, "rides": 1}


def test_totals_after_a_ride_delivered_twice_equal_the_totals_after_once(
    accounting: Consumer,
) -> None:
    ride = make_ride(fare="42.42", distance="7")
    event = accounting.deliver(ride)
    accounting.handle(event)
    once = accounting.items()
    # The same SQS message again, then the ride published again as a new SNS message.
    assert accounting.handle(event) == {"batchItemFailures": []}
    assert accounting.handle(accounting.deliver(ride)) == {"batchItemFailures": []}
    assert accounting.items() == once
    assert totals(accounting, "234234") == {"fare": Decimal("42.42"), "distance": 7, "rides": 1}


def test_a_duplicate_inside_one_batch_is_booked_once(accounting: Consumer) -> None:
    ride = make_ride(fare="10", distance="1")
    event = accounting.deliver(ride, ride)
    assert accounting.handle(event) == {"batchItemFailures": []}
    assert totals(accounting, "234234") == {"fare": 10, "distance": 1, "rides": 1}


def test_a_poison_message_fails_alone(accounting: Consumer) -> None:
    good = [make_ride(fare="5"), make_ride(fare="7")]
    event = accounting.deliver(*good)
    event["Records"].insert(1, sqs_record("", message_id="poison"))
    assert failed_ids(accounting.handle(event)) == {"poison"}
    assert totals(accounting, "234234")["fare"] == 12
    assert totals(accounting, "234234")["rides"] == 2


def test_a_storage_error_fails_the_record_and_books_nothing(accounting: Consumer) -> None:
    event = accounting.deliver(make_ride())
    accounting.app.TABLE_NAME = "no-such-table"
    assert failed_ids(accounting.handle(event)) == {event["Records"][0]["messageId"]}
    assert accounting.items() == []


class TestHandlerContract(ConsumerHandlerContract):
    service = "accounting"

    def rides_recorded(self, running: Consumer) -> int:
        # Ledger entries and totals share the table: count the rides the totals say were booked.
        return int(totals(running, "234234")["rides"])
