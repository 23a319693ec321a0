"""What the system recorded for a set of accepted rides, read from its tables and queues (moto
directly, never through the fault proxy), and what that proves: nothing lost, nothing doubled.

- Each consumer holds an item for exactly the rides its live filter policy matches
  (`smoke.Consumer.should_receive`); an item keyed by the ride id cannot exist twice.
- Accounting's totals per customer equal the sum of that customer's matching rides: a ride
  booked twice would add twice (its ledger entry alone could not show it).
- The Rides table holds one ride per accepted request: a client's retry stored nothing new.
- Every DLQ is empty: each consumer's DLQ and delivery DLQ, the publisher's failure queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from scripts import smoke
from tests.faults.conftest import FaultySystem

DLQ_OUTPUTS = ("DeadLetterQueueUrl", "DeliveryDeadLetterQueueUrl")


@dataclass
class Audit:
    deliveries: int = 0  # (ride, consumer) pairs the filter policies call for
    lost: list[tuple[str, str]] = field(default_factory=list)  # expected, not recorded
    misrouted: list[tuple[str, str]] = field(default_factory=list)  # recorded, not expected
    doubled_bookings: dict[str, Decimal] = field(default_factory=dict)  # customer -> extra rides
    wrong_totals: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = field(
        default_factory=dict
    )  # customer -> (expected, booked)
    extra_rides: int = 0  # stored rides beyond one per accepted request
    dlq_depths: dict[str, int] = field(default_factory=dict)  # every non-empty DLQ

    @property
    def duplicated(self) -> int:
        return int(sum(self.doubled_bookings.values())) + self.extra_rides

    @property
    def clean(self) -> bool:
        return not (
            self.lost or self.misrouted or self.wrong_totals or self.duplicated or self.dlq_depths
        )


def expected_deliveries(
    faulty: FaultySystem, rides: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], bool]:
    """(ride id, consumer) -> whether its filter policy matches the ride."""
    return {
        (ride["id"], consumer.service): consumer.should_receive(ride)
        for ride in rides
        for consumer in faulty.system.consumers.values()
    }


def customer_totals(faulty: FaultySystem, customer: str) -> dict[str, Decimal]:
    item = (
        faulty.client("dynamodb")
        .get_item(
            TableName=faulty.system.consumers["accounting"].table,
            Key={"pk": {"S": f"CUSTOMER#{customer}"}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return {
        name: Decimal(item[name]["N"]) for name in ("fare", "distance", "rides") if name in item
    }


def stored_rides(faulty: FaultySystem, customers: Iterable[str]) -> int:
    """Rides of these customers in the Rides table."""
    wanted = set(customers)
    table = faulty.outputs("management")["RidesTableName"]
    paginator = faulty.client("dynamodb").get_paginator("scan")
    return sum(
        1
        for page in paginator.paginate(TableName=table, ConsistentRead=True)
        for item in page["Items"]
        if item.get("customer", {}).get("S") in wanted
    )


def dlq_depths(faulty: FaultySystem) -> dict[str, int]:
    """Every DLQ that holds messages, and how many."""
    queues = {
        f"{service} {output}": faulty.outputs(service)[output]
        for service in faulty.system.consumers
        for output in DLQ_OUTPUTS
    }
    queues["management PublisherFailureQueueUrl"] = faulty.outputs("management")[
        "PublisherFailureQueueUrl"
    ]
    depths = {name: faulty.depth(url) for name, url in queues.items()}
    return {name: depth for name, depth in depths.items() if depth}


def audit(faulty: FaultySystem, rides: Sequence[dict[str, Any]], requests: int) -> Audit:
    """`rides`: the stored rides the API answered 201 with; `requests`: how many requests
    (Idempotency-Keys) the clients sent for them."""
    result = Audit()
    expected = expected_deliveries(faulty, rides)
    result.deliveries = sum(expected.values())
    for (ride_id, service), wanted in expected.items():
        got = faulty.received(service, ride_id)
        if wanted and not got:
            result.lost.append((ride_id, service))
        elif got and not wanted:
            result.misrouted.append((ride_id, service))
    if "accounting" in faulty.system.consumers:
        accounting: smoke.Consumer = faulty.system.consumers["accounting"]
        sums: dict[str, dict[str, Decimal]] = defaultdict(
            lambda: {"fare": Decimal(0), "distance": Decimal(0), "rides": Decimal(0)}
        )
        for ride in rides:
            if accounting.should_receive(ride):
                total = sums[ride["customer"]]
                total["fare"] += Decimal(str(ride["fare"]))
                total["distance"] += Decimal(str(ride["distance"]))
                total["rides"] += 1
        for customer, want in sums.items():
            booked = customer_totals(faulty, customer)
            if booked != want:
                result.wrong_totals[customer] = (want, booked)
                extra = booked.get("rides", Decimal(0)) - want["rides"]
                if extra > 0:
                    result.doubled_bookings[customer] = extra
    customers = {ride["customer"] for ride in rides}
    result.extra_rides = max(0, stored_rides(faulty, customers) - requests)
    result.dlq_depths = dlq_depths(faulty)
    return result
