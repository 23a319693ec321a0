"""Rides to review: one item per ride, written only if absent, so a redelivery changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from wildrydes.idempotent_writes import is_already_recorded, number, string, timestamp
from wildrydes.ride import Ride

PENDING = "PENDING_REVIEW"


def record_for_review(
    dynamodb: Any, table: str, ride: Ride, reasons: list[str], flagged_at: datetime
) -> bool:
    """Store the ride with its reasons; False when it was recorded before."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "rideId": string(ride.id),
                "customer": string(ride.customer),
                "fare": number(ride.fare),
                "distance": number(ride.distance),
                "duration": number(ride.duration),
                "from": string(ride.from_),
                "to": string(ride.to),
                "submittedAt": timestamp(ride.submittedAt),
                "reasons": {"L": [string(reason) for reason in reasons]},
                "status": string(PENDING),
                "flaggedAt": timestamp(flagged_at),
            },
            ConditionExpression="attribute_not_exists(rideId)",
        )
    except ClientError as error:
        if is_already_recorded(error):
            return False
        raise
    return True
