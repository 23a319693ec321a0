"""The SQS batch loop every ride consumer shares: parse, (optionally) fail on purpose, handle.

A consumer service supplies only what it does with one ride and says how it went (`Outcome`);
this module owns the plumbing the contract asks of all of them: Powertools partial batch
responses (a failed record goes back to its queue and, after `maxReceiveCount` tries, to the
DLQ, while the rest of the batch succeeds), the workshop's FAILURE_RATE switch, and one log
line and one metric per record and outcome. Every line about a record carries its
`sqs_message_id`, and once parsed its `ride_id`, `sns_message_id` and the submit request's
`correlation_id`, so `make trace` and one Logs Insights query find it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger, Metrics

# Imported before anything loads pydantic: if pydantic is already in sys.modules, Powertools'
# batch.types also imports its parser models for SQS, DynamoDB, Kinesis and Kafka records
# (~20 ms of cold start for type hints only). Handlers import wildrydes.consumer before
# wildrydes.ride; test_consumer.py checks the parser stays unloaded.
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wildrydes.events import RideEventError, notification_from_sqs_body
from wildrydes.observability import (
    CORRELATION_ID,
    REPLAY,
    RIDE_ID,
    SNS_MESSAGE_ID,
    SQS_MESSAGE_ID,
    MetricName,
    count,
    observed,
)
from wildrydes.ride import Ride

FAILURE_RATE_VARIABLE = "FAILURE_RATE"


class Outcome(StrEnum):
    """What a service's handler did with one ride (anything it raises is a failure)."""

    PROCESSED = "processed"  # its work is done, now
    DUPLICATE = "duplicate"  # done before (a redelivery or a republication): nothing changed
    SKIPPED = "skipped"  # nothing to do for this ride (it should not have been delivered)


OUTCOME_METRICS = {
    Outcome.PROCESSED: MetricName.RIDE_PROCESSED,
    Outcome.DUPLICATE: MetricName.RIDE_DUPLICATE,
    Outcome.SKIPPED: MetricName.RIDE_SKIPPED,
}
# The message of the one line logged per outcome; `make trace` reads these lines.
OUTCOME_MESSAGES = {
    Outcome.PROCESSED: "ride processed",
    Outcome.DUPLICATE: "ride already processed: duplicate delivery ignored",
    Outcome.SKIPPED: "ride skipped: nothing to do for it",
}
FAILED_MESSAGE = "ride not processed; it will be retried"
INJECTED_MESSAGE = "failing this record on purpose (FAILURE_RATE)"
POISON_MESSAGE = "poison message: not a ride notification"

RideHandler = Callable[[Ride], Outcome]


class ConfigurationError(ValueError):
    """The function's environment is incomplete or wrong; raised at init, before any record."""


class FailureRateError(ConfigurationError):
    """FAILURE_RATE is set to something that is not a share between 0 and 1."""


class InjectedFailure(RuntimeError):
    """Raised for a record the FAILURE_RATE switch chose to fail (retry demonstration)."""


def required_setting(environ: Mapping[str, str], name: str) -> str:
    """An environment variable the template always sets (a table name, say)."""
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set; the template sets it")
    return value


def failure_rate_from(environ: Mapping[str, str]) -> float:
    """The share of records to fail on purpose: FAILURE_RATE, 0 when unset or empty.

    Read once at cold start so a typo stops the function at init with this message instead of
    silently running with no (or every) record failing.
    """
    text = environ.get(FAILURE_RATE_VARIABLE, "").strip()
    if not text:
        return 0.0
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0.0 <= rate <= 1.0:  # also rejects nan and inf
        raise FailureRateError(
            f"{FAILURE_RATE_VARIABLE} must be a number from 0 to 1 (the share of records to fail "
            f"on purpose), got {text!r}"
        )
    return rate


class RideConsumer:
    """An SQS-triggered Lambda handler that calls `handle` once per ride in the batch.

    `handle` must be idempotent on the ride id: SQS delivers at least once and a failed batch
    item is redelivered. Anything it raises fails that record only.
    """

    def __init__(
        self,
        handle: RideHandler,
        logger: Logger,
        metrics: Metrics,
        failure_rate: float = 0.0,
        chance: Callable[[], float] = random.random,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise FailureRateError(f"failure_rate must be from 0 to 1, got {failure_rate!r}")
        self._handle = handle
        self._logger = logger
        self._metrics = metrics
        self._failure_rate = failure_rate
        self._chance = chance
        # An all-failed batch is reported like any other (every id in batchItemFailures)
        # instead of raising, so Lambda's retry semantics are the same for one bad record or ten.
        self._processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        self._observed_handler = observed(logger, metrics)(self._process_batch)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._observed_handler(event, context)

    def _process_batch(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(
            event=event,
            record_handler=self.process_record,
            processor=self._processor,
            context=context,
        )

    def process_record(self, record: SQSRecord) -> None:
        count(self._metrics, MetricName.RIDE_RECEIVED)
        with self._record_keys(**{SQS_MESSAGE_ID: record.message_id}):
            try:
                notification = notification_from_sqs_body(record.body)
            except RideEventError as error:
                # Retries will not help: the record reaches the DLQ after maxReceiveCount
                # receives; the SQS message id is what an operator looks up there.
                count(self._metrics, MetricName.POISON_MESSAGE)
                self._logger.error(POISON_MESSAGE, extra={"error": str(error)})
                raise
            ride_keys: dict[str, Any] = {
                RIDE_ID: notification.ride.id,
                SNS_MESSAGE_ID: notification.sns_message_id,
            }
            if notification.correlation_id:  # rides published before it existed have none
                ride_keys[CORRELATION_ID] = notification.correlation_id
            if notification.replay:
                ride_keys[REPLAY] = True
                count(self._metrics, MetricName.REPLAY_RECEIVED)
            with self._record_keys(**ride_keys):
                self._process_ride(notification.ride)

    def _process_ride(self, ride: Ride) -> None:
        if self._failure_rate and self._chance() < self._failure_rate:
            count(self._metrics, MetricName.INJECTED_FAILURE)
            self._logger.warning(INJECTED_MESSAGE, extra={"rate": self._failure_rate})
            raise InjectedFailure(
                f"{FAILURE_RATE_VARIABLE}={self._failure_rate}: failed ride {ride.id} on purpose"
            )
        try:
            outcome = self._handle(ride)
            if not isinstance(outcome, Outcome):
                raise TypeError(  # a handler of the old contract (returned None) must say so
                    f"the ride handler returned {outcome!r}, not an Outcome (processed, "
                    "duplicate or skipped)"
                )
        except Exception:
            count(self._metrics, MetricName.RIDE_FAILED)
            self._logger.exception(FAILED_MESSAGE)
            raise
        count(self._metrics, OUTCOME_METRICS[outcome])
        self._logger.info(OUTCOME_MESSAGES[outcome], extra={"outcome": outcome.value})

    @contextmanager
    def _record_keys(self, **keys: Any) -> Iterator[None]:
        """Keys on every log line while one record is handled (the batch is handled in order,
        one record at a time), removed after it so the next record starts clean."""
        self._logger.append_keys(**keys)
        try:
            yield
        finally:
            self._logger.remove_keys(list(keys))
