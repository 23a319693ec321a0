"""Lambda handler: the accounting queue's batches -> each ride booked once.

Handler: accounting.app.lambda_handler. Settings (read once, at init): TABLE_NAME, and
FAILURE_RATE for the retry demonstration (default 0).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from wildrydes.consumer import Outcome, RideConsumer, failure_rate_from, required_setting
from wildrydes.observability import service_logger, service_metrics
from wildrydes.ride import Ride

from accounting.ledger import book_ride

logger = service_logger("accounting")
metrics = service_metrics("accounting")
TABLE_NAME = required_setting(os.environ, "TABLE_NAME")
dynamodb = boto3.client("dynamodb")


def book(ride: Ride) -> Outcome:
    if book_ride(dynamodb, TABLE_NAME, ride, datetime.now(UTC)):
        logger.info("ride booked", extra={"customer": ride.customer, "fare": str(ride.fare)})
        return Outcome.PROCESSED
    return Outcome.DUPLICATE


consumer = RideConsumer(book, logger, metrics, failure_rate_from(os.environ))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer(event, context)
