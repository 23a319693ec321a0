"""Lambda handler: the extraordinary queue's batches -> each qualifying ride recorded for review.

Handler: extraordinary.app.lambda_handler. Settings (read once, at init): TABLE_NAME, and
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

from extraordinary.criteria import reasons
from extraordinary.review import record_for_review

logger = service_logger("extraordinary")
metrics = service_metrics("extraordinary")
TABLE_NAME = required_setting(os.environ, "TABLE_NAME")
dynamodb = boto3.client("dynamodb")


def flag(ride: Ride) -> Outcome:
    why = reasons(ride)
    if not why:
        # Only if the subscription's filter was bypassed (a manual send, a changed policy):
        # nothing to review, and retrying would not change that.
        logger.warning(
            "ride is not extraordinary",
            extra={"fare": str(ride.fare), "distance": str(ride.distance)},
        )
        return Outcome.SKIPPED
    if record_for_review(dynamodb, TABLE_NAME, ride, why, datetime.now(UTC)):
        logger.info("ride recorded for review", extra={"reasons": why})
        return Outcome.PROCESSED
    return Outcome.DUPLICATE


consumer = RideConsumer(flag, logger, metrics, failure_rate_from(os.environ))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer(event, context)
