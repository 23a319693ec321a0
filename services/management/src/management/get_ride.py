"""GET /rides/{id}: 200 with the stored ride, 404 when there is none, 400 for a malformed id."""

from __future__ import annotations

import os
import re
from typing import Any

import boto3
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from wildrydes.observability import observed, service_logger, service_metrics
from wildrydes.ride import RIDE_ID_PATTERN

from management.http import HttpError, json_response
from management.rides_store import RidesStore

RIDE_ID = re.compile(RIDE_ID_PATTERN)

logger = service_logger("management")
metrics = service_metrics("management")
store = RidesStore(boto3.client("dynamodb"), rides_table=os.environ["RIDES_TABLE_NAME"])


@observed(logger, metrics, correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ride_id = (event.get("pathParameters") or {}).get("id") or ""
    try:
        if not RIDE_ID.fullmatch(ride_id):
            raise HttpError(
                400,
                "not a ride id",
                [{"field": "id", "error": "must be 32 lowercase hexadecimal characters"}],
            )
        ride = store.get(ride_id)
        if ride is None:
            raise HttpError(404, f"no ride with id {ride_id}")
    except HttpError as refused:
        return refused.response()
    return json_response(200, ride.to_document())
