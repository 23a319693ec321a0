"""The SQS batch loop every ride consumer shares: parse, (optionally) fail on purpose, handle.

A consumer service supplies only what it does with one ride; this module owns the plumbing the
contract asks of all of them: Powertools partial batch responses (a failed record goes back to
its queue and, after `maxReceiveCount` tries, to the DLQ, while the rest of the batch succeeds),
poison messages logged with their SQS message id, and the workshop's FAILURE_RATE switch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

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

from wildrydes.events import RideEventError, ride_from_sqs_body
from wildrydes.ride import Ride

FAILURE_RATE_VARIABLE = "FAILURE_RATE"

RideHandler = Callable[[Ride], None]


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
        failure_rate: float = 0.0,
        chance: Callable[[], float] = random.random,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise FailureRateError(f"failure_rate must be from 0 to 1, got {failure_rate!r}")
        self._handle = handle
        self._logger = logger
        self._failure_rate = failure_rate
        self._chance = chance
        # An all-failed batch is reported like any other (every id in batchItemFailures)
        # instead of raising, so Lambda's retry semantics are the same for one bad record or ten.
        self._processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Every line of this invocation carries the request id, when Lambda gives one.
        self._logger.append_keys(requestId=getattr(context, "aws_request_id", None))
        return process_partial_response(
            event=event,
            record_handler=self.process_record,
            processor=self._processor,
            context=context,
        )

    def process_record(self, record: SQSRecord) -> None:
        message_id = record.message_id
        try:
            ride = ride_from_sqs_body(record.body)
        except RideEventError as error:
            # Poison: retries will not help, so the record goes to the DLQ after maxReceiveCount
            # receives; the message id is what an operator looks up there.
            self._logger.error(
                "poison message: not a ride notification",
                extra={"messageId": message_id, "error": str(error)},
            )
            raise
        if self._failure_rate and self._chance() < self._failure_rate:
            self._logger.warning(
                "failing this record on purpose (FAILURE_RATE)",
                extra={"messageId": message_id, "rideId": ride.id, "rate": self._failure_rate},
            )
            raise InjectedFailure(
                f"{FAILURE_RATE_VARIABLE}={self._failure_rate}: failed ride {ride.id} on purpose"
            )
        try:
            self._handle(ride)
        except Exception:
            self._logger.exception(
                "ride not processed; it will be retried",
                extra={"messageId": message_id, "rideId": ride.id},
            )
            raise
