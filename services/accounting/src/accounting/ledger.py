"""Book a ride: its ledger entry and the customer's totals change together or not at all.

One table, two kinds of items (key `pk`): `RIDE#<id>` is the ledger entry, written only if
absent; `CUSTOMER#<customer>` holds running totals. Both writes are one transaction, so a
redelivered ride (the entry exists, the condition fails) cancels the whole transaction and the
totals stay as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from wildrydes.idempotent_writes import (
    number,
    string,
    timestamp,
    transaction_refused_by_condition,
)
from wildrydes.ride import Ride

LEDGER_ENTRY = 0  # position of the conditional put in the transaction


def ride_key(ride_id: str) -> dict[str, dict[str, str]]:
    return {"pk": string(f"RIDE#{ride_id}")}


def customer_key(customer: str) -> dict[str, dict[str, str]]:
    return {"pk": string(f"CUSTOMER#{customer}")}


def book_ride(dynamodb: Any, table: str, ride: Ride, booked_at: datetime) -> bool:
    """Book the ride; False when it was booked before (nothing changes then)."""
    entry = {
        **ride_key(ride.id),
        "rideId": string(ride.id),
        "customer": string(ride.customer),
        "fare": number(ride.fare),
        "distance": number(ride.distance),
        "duration": number(ride.duration),
        "from": string(ride.from_),
        "to": string(ride.to),
        "submittedAt": timestamp(ride.submittedAt),
        "bookedAt": timestamp(booked_at),
    }
    totals = {
        "TableName": table,
        "Key": customer_key(ride.customer),
        "UpdateExpression": (
            "ADD #fare :fare, #distance :distance, #rides :one "
            "SET #customer = :customer, #updatedAt = :bookedAt"
        ),
        "ExpressionAttributeNames": {
            "#fare": "fare",
            "#distance": "distance",
            "#rides": "rides",
            "#customer": "customer",
            "#updatedAt": "updatedAt",
        },
        "ExpressionAttributeValues": {
            ":fare": number(ride.fare),
            ":distance": number(ride.distance),
            ":one": number(1),
            ":customer": string(ride.customer),
            ":bookedAt": timestamp(booked_at),
        },
    }
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": entry,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Update": totals},
            ],
            # No ClientRequestToken: a redelivery carries a new bookedAt, and a reused token with
            # different parameters is refused for 10 minutes. The ledger condition suffices.
        )
    except ClientError as error:
        if transaction_refused_by_condition(error, LEDGER_ENTRY):
            return False
        raise
    return True
