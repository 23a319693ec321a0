"""What every function logs and counts, in one place (design section 8).

Logs: Powertools Logger JSON lines. Powertools' own keys stay as they are (`service`,
`function_request_id`, `cold_start`, `xray_trace_id` from `_X_AMZN_TRACE_ID`,
`correlation_id`); ours use the same snake_case: `ride_id`, `sns_message_id`,
`sqs_message_id`. Every line about one ride carries `ride_id`, so one Logs Insights query
(`filter ride_id = "..."`) finds it in every log group.

Metrics: Powertools Metrics (CloudWatch embedded metric format: log lines CloudWatch turns into
metrics, no API call in the handler). The namespace comes from POWERTOOLS_METRICS_NAMESPACE
(the platform exports one per environment); the only dimension is `service`, so the number of
custom metrics stays fixed whatever the traffic. `MetricName` is the one list the dashboards,
`make stats` and the tests read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Our log keys, beside Powertools' own.
RIDE_ID = "ride_id"
SNS_MESSAGE_ID = "sns_message_id"
SQS_MESSAGE_ID = "sqs_message_id"
REPLAY = "replay"  # true on the lines of a replayed delivery
CORRELATION_ID = "correlation_id"  # Powertools' key, set by set_correlation_id

# The publisher's lines about a ride (`make trace` reads them; the consumers' are in
# wildrydes.consumer).
PUBLISHED_MESSAGE = "ride published"
NOT_PUBLISHED_MESSAGE = "ride not published; will be retried"

# The String message attribute that carries the submit request's API Gateway request id from
# the publisher to every consumer (filter policies ignore attributes they do not name).
CORRELATION_ATTRIBUTE = "correlationId"


class MetricName(StrEnum):
    """Every custom metric the functions emit: PascalCase, one event each, counted."""

    # management: the API (submit) and the publisher
    RIDE_ACCEPTED = "RideAccepted"  # stored: a new ride (201)
    RIDE_REPLAYED = "RideReplayed"  # an Idempotency-Key retry answered with the stored ride
    RIDE_REFUSED = "RideRefused"  # every refusal; the four below say why
    RIDE_REFUSED_INVALID = "RideRefusedInvalid"  # 400: a field, the JSON or the key is wrong
    RIDE_REFUSED_CONFLICT = "RideRefusedConflict"  # 409: Idempotency-Key reused or racing
    RIDE_REFUSED_TOO_LARGE = "RideRefusedTooLarge"  # 413
    RIDE_REFUSED_NOT_JSON = "RideRefusedNotJson"  # 415
    RIDE_PUBLISHED = "RidePublished"
    RIDE_PUBLISH_FAILED = "RidePublishFailed"  # one per failed attempt; the stream retries
    # every consumer
    RIDE_RECEIVED = "RideReceived"  # an SQS record reached the function
    REPLAY_RECEIVED = "ReplayReceived"  # of them, rides `make replay` sent (not the topic)
    RIDE_PROCESSED = "RideProcessed"  # the service did its work for the ride
    RIDE_DUPLICATE = "RideDuplicate"  # a redelivery or republication: nothing changed
    RIDE_SKIPPED = "RideSkipped"  # nothing to do (it should not have reached the service)
    RIDE_FAILED = "RideFailed"  # the service's work raised: the record goes back to the queue
    POISON_MESSAGE = "PoisonMessage"  # per receive of a non-ride: 5 for one message in the DLQ
    INJECTED_FAILURE = "InjectedFailure"  # failed on purpose (FAILURE_RATE)
    # every function
    COLD_START = "ColdStart"


REFUSAL_BY_STATUS = {
    400: MetricName.RIDE_REFUSED_INVALID,
    409: MetricName.RIDE_REFUSED_CONFLICT,
    413: MetricName.RIDE_REFUSED_TOO_LARGE,
    415: MetricName.RIDE_REFUSED_NOT_JSON,
}

MANAGEMENT_METRICS = (
    MetricName.RIDE_ACCEPTED,
    MetricName.RIDE_REPLAYED,
    MetricName.RIDE_REFUSED,
    *REFUSAL_BY_STATUS.values(),
    MetricName.RIDE_PUBLISHED,
    MetricName.RIDE_PUBLISH_FAILED,
    MetricName.COLD_START,
)
CONSUMER_METRICS = (
    MetricName.RIDE_RECEIVED,
    MetricName.REPLAY_RECEIVED,
    MetricName.RIDE_PROCESSED,
    MetricName.RIDE_DUPLICATE,
    MetricName.RIDE_SKIPPED,
    MetricName.RIDE_FAILED,
    MetricName.POISON_MESSAGE,
    MetricName.INJECTED_FAILURE,
    MetricName.COLD_START,
)
METRIC_DIMENSION = "service"


def service_logger(service: str) -> Logger:
    """A Powertools logger; the level comes from POWERTOOLS_LOG_LEVEL (INFO by default)."""
    return Logger(service=service, utc=True)


def service_metrics(service: str) -> Metrics:
    """Powertools Metrics with `service` as the one dimension; the namespace is read from
    POWERTOOLS_METRICS_NAMESPACE (set by the template, from the platform's export)."""
    return Metrics(service=service)


def count(metrics: Metrics, name: MetricName, value: int = 1) -> None:
    metrics.add_metric(name=name.value, unit=MetricUnit.Count, value=value)


def observed(
    logger: Logger, metrics: Metrics, correlation_id_path: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorator stack of every handler: the Lambda context in every log line (state
    cleared between invocations), the correlation id from the event when a path is given, and
    the invocation's metrics flushed as one EMF line at its end, with ColdStart counted once.

    Our own ColdStart rather than Powertools' capture_cold_start_metric: that one adds a
    `function_name` dimension, and the contract keeps `service` the only one.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        # One handler per execution environment: its first invocation is the cold one.
        cold = [True]

        @functools.wraps(handler)
        def with_metrics(event: Any, context: Any) -> Any:
            if cold[0]:
                cold[0] = False
                count(metrics, MetricName.COLD_START)
            try:
                return handler(event, context)
            finally:
                # Flushed even when the handler raises; an invocation that counted nothing (a
                # warm GET) prints nothing, where Powertools' log_metrics would warn.
                if metrics.metric_set:
                    try:
                        metrics.flush_metrics()
                    except Exception:  # metrics must never fail the work they count
                        logger.exception("metrics not flushed")
                        metrics.clear_metrics()

        return logger.inject_lambda_context(
            with_metrics, clear_state=True, correlation_id_path=correlation_id_path
        )

    return decorate
