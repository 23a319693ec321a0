"""Lambda handler: the notification queue's batches -> one receipt per ride.

Handler: notification.app.lambda_handler. Settings (read once, at init): TABLE_NAME, and
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

from notification.receipt import receipt_text
from notification.store import record_receipt

logger = service_logger("notification")
metrics = service_metrics("notification")
TABLE_NAME = required_setting(os.environ, "TABLE_NAME")
dynamodb = boto3.client("dynamodb")


def send_receipt(ride: Ride) -> Outcome:
    text = receipt_text(ride)
    if record_receipt(dynamodb, TABLE_NAME, ride, text, datetime.now(UTC)):
        logger.info("receipt sent", extra={"customer": ride.customer})
        return Outcome.PROCESSED
    return Outcome.DUPLICATE


consumer = RideConsumer(send_receipt, logger, metrics, failure_rate_from(os.environ))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer(event, context)
