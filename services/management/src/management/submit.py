"""POST /submit-ride-completion: validate a completed ride, store it once, answer 201.

The handler never publishes: the Rides table's stream feeds RidePublisher (the outbox), so a
ride is published if and only if it was stored.

Responses (all JSON):
- 201 the stored ride (`id`, the six fields, `submittedAt`) with `Location: <stage>/rides/<id>`.
  A retry with the same Idempotency-Key and the same ride gets the identical 201 (same ride,
  same Location) plus `Idempotent-Replayed: true`; nothing is written again.
- 400 every problem found, 409 Idempotency-Key reused for a different ride (or racing),
  413 body over MAX_BODY_BYTES, 415 not `application/json`.

The API Gateway request id is the ride's correlation id: on every log line of the request,
stored with the ride, and published with it to every consumer.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from wildrydes.errors import field_errors
from wildrydes.observability import (
    REFUSAL_BY_STATUS,
    RIDE_ID,
    MetricName,
    count,
    observed,
    service_logger,
    service_metrics,
)
from wildrydes.ride import Ride, RideRequest

from management import idempotency
from management.http import (
    HttpError,
    body_text,
    header,
    json_response,
    parse_json_object,
    require_json_content_type,
)
from management.rides_store import IdempotencyConflict, RidesStore

# A ride is well under 1 KiB; 16 KiB leaves room for long place names while refusing junk
# before it is parsed.
MAX_BODY_BYTES = 16 * 1024

logger = service_logger("management")
metrics = service_metrics("management")
store = RidesStore(
    boto3.client("dynamodb"),
    rides_table=os.environ["RIDES_TABLE_NAME"],
    keys_table=os.environ["IDEMPOTENCY_TABLE_NAME"],
)


@observed(logger, metrics, correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return _submit(event, context)
    except HttpError as refused:
        count(metrics, MetricName.RIDE_REFUSED)
        reason = REFUSAL_BY_STATUS.get(refused.status)
        if reason is not None:  # a status without its own metric is still counted above
            count(metrics, reason)
        logger.info("ride refused", extra={"status": refused.status, "errors": refused.errors})
        return refused.response()


def _submit(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    require_json_content_type(event)
    text = body_text(event, MAX_BODY_BYTES)
    key = header(event, idempotency.HEADER)
    key_problem = idempotency.key_error(key)
    try:
        request = RideRequest.model_validate(parse_json_object(text))
    except HttpError as refused:
        if key_problem:
            refused.errors.insert(0, key_problem)
        raise
    except ValidationError as invalid:
        problems = ([key_problem] if key_problem else []) + field_errors(invalid)
        raise HttpError(400, "the ride is not valid", problems) from invalid
    if key_problem:
        raise HttpError(400, f"the {idempotency.HEADER} header is not valid", [key_problem])

    ride = Ride.from_request(request)
    correlation_id = logger.get_correlation_id() or context.aws_request_id
    replayed = False
    if key is None:
        store.add(ride, correlation_id)
    else:
        claim = idempotency.claim_for(key, _api_key_id(event), request)
        try:
            stored = store.add_once(ride, claim, correlation_id)
        except IdempotencyConflict as conflict:
            raise HttpError(
                409,
                f"{idempotency.HEADER} conflict",
                [{"field": idempotency.HEADER, "error": str(conflict)}],
            ) from conflict
        ride, replayed = stored.ride, stored.replayed

    count(metrics, MetricName.RIDE_REPLAYED if replayed else MetricName.RIDE_ACCEPTED)
    logger.info("ride stored", extra={RIDE_ID: ride.id, "replayed": replayed})
    headers = {"Location": _location(event, ride.id)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, ride.to_document(), headers)


def _api_key_id(event: dict[str, Any]) -> str | None:
    return ((event.get("requestContext") or {}).get("identity") or {}).get("apiKeyId")


def _location(event: dict[str, Any], ride_id: str) -> str:
    """/<stage>/rides/<id>, derived from how this request was addressed so it also holds
    behind a custom domain's base path."""
    context = event.get("requestContext") or {}
    path, resource = context.get("path") or "", context.get("resourcePath") or ""
    if resource and path.endswith(resource):
        prefix = path[: len(path) - len(resource)]
    else:
        prefix = f"/{context['stage']}" if context.get("stage") else ""
    return f"{prefix}/rides/{ride_id}"
