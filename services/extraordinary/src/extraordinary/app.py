"""Lambda handler: the extraordinary queue's batches -> each qualifying ride recorded for review.

Handler: extraordinary.app.lambda_handler. Settings (read once, at init): TABLE_NAME, and
FAILURE_RATE for the retry demonstration (default 0).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from wildrydes.consumer import RideConsumer, failure_rate_from, required_setting
from wildrydes.observability import service_logger
from wildrydes.ride import Ride

from extraordinary.criteria import reasons
from extraordinary.review import record_for_review

logger = service_logger("extraordinary")
TABLE_NAME = required_setting(os.environ, "TABLE_NAME")
dynamodb = boto3.client("dynamodb")


def flag(ride: Ride) -> None:
    why = reasons(ride)
    if not why:
        # Only if the subscription's filter was bypassed (a manual send, a changed policy):
        # nothing to review, and retrying would not change that.
        logger.warning(
            "ride is not extraordinary: skipped",
            extra={"rideId": ride.id, "fare": str(ride.fare), "distance": str(ride.distance)},
        )
        return
    if record_for_review(dynamodb, TABLE_NAME, ride, why, datetime.now(UTC)):
        logger.info("ride recorded for review", extra={"rideId": ride.id, "reasons": why})
    else:
        logger.info("ride already recorded: duplicate delivery ignored", extra={"rideId": ride.id})


consumer = RideConsumer(flag, logger, failure_rate_from(os.environ))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer(event, context)
