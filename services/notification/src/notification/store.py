"""Receipts table: one item per ride. The item is the notification sent, so writing it only if
absent makes a redelivered ride a no-op."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from wildrydes.idempotent_writes import is_already_recorded, string, timestamp
from wildrydes.ride import Ride


def record_receipt(dynamodb: Any, table: str, ride: Ride, text: str, sent_at: datetime) -> bool:
    """Store the receipt; False when this ride's receipt was already sent."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "rideId": string(ride.id),
                "customer": string(ride.customer),
                "text": string(text),
                "sentAt": timestamp(sent_at),
            },
            ConditionExpression="attribute_not_exists(rideId)",
        )
    except ClientError as error:
        if is_already_recorded(error):
            return False
        raise
    return True
