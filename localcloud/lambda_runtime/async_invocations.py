"""Asynchronous invocations (InvocationType Event; SNS, S3 and CloudWatch Logs notifications)
with Lambda's semantics: the event is queued and run in the background, each retry on the
function as it is then; a function error (or localcloud failing to run it) is retried
`MaximumRetryAttempts` times (2 by default), about a minute and then two minutes apart; an event
older than `MaximumEventAgeInSeconds` (6 hours by default) is dropped; a throttled attempt is
tried again without counting. The outcome goes to the function's OnSuccess / OnFailure
destination (EventInvokeConfig) as Lambda's invocation record.

The wait between attempts is Lambda's (LOCALCLOUD_ASYNC_RETRY_DELAY_S, 60 s by default, sets the
first; the second is twice that), so a retry locally takes as long as on AWS unless asked.
A failed event also goes to the function's own DeadLetterConfig (an SQS queue or SNS topic), as
Lambda sends it: the event as the message, with RequestID, ErrorCode and ErrorMessage attributes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.destinations import record_timestamp, send_to_destination
from localcloud.lambda_runtime.functions import (
    FunctionNotFound,
    FunctionSpec,
    lambda_backend,
    load_function,
)

log = logging.getLogger(__name__)

RETRY_DELAY_VARIABLE = "LOCALCLOUD_ASYNC_RETRY_DELAY_S"
_LAMBDA_RETRY_DELAY_S = 60.0
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_S = 21600


@dataclass(frozen=True)
class AsyncConfig:
    """A function's EventInvokeConfig, with Lambda's defaults where it sets nothing."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAXIMUM_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None

    @classmethod
    def from_api(cls, config: dict[str, Any]) -> AsyncConfig:
        destinations = config.get("DestinationConfig") or {}
        return cls(
            maximum_retry_attempts=int(
                config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)
            ),
            maximum_event_age_s=int(
                config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_S)
            ),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        )


def dead_letter_target(spec: FunctionSpec) -> str | None:
    """The function's DeadLetterConfig TargetArn now (patches.keep_function_dead_letter_config)."""
    try:
        function = lambda_backend(spec.account_id, spec.region).get_function(spec.name)
    except Exception:  # deleted meanwhile
        return None
    return getattr(function, "localcloud_dead_letter_target", None)


def config_of(spec: FunctionSpec) -> AsyncConfig:
    """The function's current EventInvokeConfig (read for every attempt: it may change)."""
    try:
        function = lambda_backend(spec.account_id, spec.region).get_function(spec.name)
    except Exception:  # deleted meanwhile: the attempt that reloads it drops the event
        return AsyncConfig()
    configs = getattr(function, "event_invoke_config", None) or []
    # moto appends on every Put/Update and answers Get with the first; the last one is current.
    return AsyncConfig.from_api(configs[-1].config) if configs else AsyncConfig()


def retry_delay_s(retry: int) -> float:
    """Seconds before retry number `retry` (1, 2): about one minute, then two, as Lambda."""
    try:
        base = float(os.environ.get(RETRY_DELAY_VARIABLE, _LAMBDA_RETRY_DELAY_S))
    except ValueError:
        base = _LAMBDA_RETRY_DELAY_S
    return max(0.0, base) * retry


def throttle_backoff_s(throttles: int) -> float:
    """Seconds before trying a throttled event again: 1, 2, 4 ... up to 300."""
    return float(min(300, 2 ** (throttles - 1)))


def _qualifier(spec: FunctionSpec) -> str | None:
    return None if spec.version == "$LATEST" else spec.version


def expired(received_at: float, config: AsyncConfig, now: float) -> bool:
    return now - received_at > config.maximum_event_age_s


Invoke = Callable[[FunctionSpec, str, str, Any], Any]  # Invoker.invoke_spec


class AsyncInvocation:
    """One queued event, run to its end: success, retries exhausted, or too old."""

    def __init__(
        self,
        invoke: Invoke,
        throttled: type[Exception],
        clients: ClientFactory,
        stopping: threading.Event,
        spec: FunctionSpec,
        event_json: str,
        invoked_arn: str,
        client_context: Any = None,
    ) -> None:
        self._invoke = invoke
        self._throttled = throttled
        self._clients = clients
        self._stopping = stopping
        self._spec = spec
        self._event_json = event_json
        self._invoked_arn = invoked_arn
        self._client_context = client_context
        self._received_at = time.time()
        self._request_id = str(uuid.uuid4())

    def run(self) -> None:
        attempts = 0
        throttles = 0
        last = None
        spec = self._spec
        while True:
            config = config_of(spec)
            if expired(self._received_at, config, time.time()):
                self._finish(config, last, attempts, "EventAgeExceeded")
                return
            if attempts or throttles:
                try:  # a retry runs the function as it is now (new code, new settings)
                    spec = load_function(spec.arn, _qualifier(spec), spec.region, spec.account_id)
                except FunctionNotFound:
                    self._dropped("the function no longer exists")
                    return
            try:
                last = self._invoke(spec, self._event_json, self._invoked_arn, self._client_context)
            except self._throttled:
                # Lambda retries throttled events (not counted) until they are too old, backing
                # off up to about five minutes.
                throttles += 1
                if self._stopping.wait(throttle_backoff_s(throttles)):
                    self._dropped("localcloud stopped")
                    return
                continue
            except Exception:  # localcloud could not run it (no worker, bad package): a failure
                log.exception("asynchronous invocation %s of %s", self._request_id, spec.name)
                last = None
            attempts += 1
            if last is not None and last.ok:
                self._finish(config, last, attempts, "Success")
                return
            if attempts > config.maximum_retry_attempts:
                self._finish(config, last, attempts, "RetriesExhausted")
                return
            log.warning(
                "asynchronous invocation %s of %s failed (attempt %d); retrying in %.0f s",
                self._request_id,
                spec.name,
                attempts,
                retry_delay_s(attempts),
            )
            if self._stopping.wait(retry_delay_s(attempts)):
                self._dropped("localcloud stopped")
                return

    def _dropped(self, why: str) -> None:
        log.warning(
            "asynchronous invocation %s of %s dropped: %s", self._request_id, self._spec.name, why
        )

    def _finish(self, config: AsyncConfig, result: Any, attempts: int, condition: str) -> None:
        succeeded = condition == "Success"
        destination = config.on_success if succeeded else config.on_failure
        if not succeeded:
            log.warning(
                "asynchronous invocation %s of %s given up (%s after %d attempt(s))",
                self._request_id,
                self._spec.name,
                condition,
                attempts,
            )
        if destination:
            record = invocation_record(
                self._request_id, self._invoked_arn, self._event_json, result, attempts, condition
            )
            send_to_destination(self._clients, destination, record, succeeded=succeeded)
        dead_letters = None if succeeded else dead_letter_target(self._spec)
        if dead_letters:
            send_to_dead_letter_queue(
                self._clients, dead_letters, self._event_json, self._request_id, result, condition
            )


def send_to_dead_letter_queue(
    clients: ClientFactory,
    target: str,
    event_json: str,
    request_id: str,
    result: Any,
    condition: str,
) -> None:
    """Lambda's dead-letter message: the event itself, and why it failed as attributes."""
    if result is not None and result.function_error:
        code = "200"  # the invocation answered; the function raised
        message = _error_message(result.payload)
    else:
        code = "500"
        message = condition
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "String", "StringValue": code},
        "ErrorMessage": {"DataType": "String", "StringValue": message[:1024] or condition},
    }
    parts = target.split(":")
    try:
        if parts[2] == "sqs":
            clients.send_to_queue(target, event_json, MessageAttributes=attributes)
        else:
            clients.client("sns", parts[3]).publish(
                TopicArn=target, Message=event_json, MessageAttributes=attributes
            )
    except Exception:  # as on AWS, an unreachable dead-letter queue loses the event (logged)
        log.exception(
            "could not send failed event %s to its dead-letter queue %s", request_id, target
        )


def _error_message(payload: bytes) -> str:
    try:
        error = json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")
    if isinstance(error, dict):
        return str(error.get("errorMessage") or error.get("errorType") or error)
    return str(error)


def invocation_record(
    request_id: str,
    function_arn: str,
    event_json: str,
    result: Any,
    attempts: int,
    condition: str,
) -> dict[str, Any]:
    """Lambda's destination record for an asynchronous invocation."""
    qualified = function_arn if function_arn.count(":") >= 7 else f"{function_arn}:$LATEST"
    response_context: dict[str, Any] = {
        "statusCode": 200,
        "executedVersion": result.executed_version if result is not None else "$LATEST",
    }
    if result is not None and result.function_error:
        response_context["functionError"] = result.function_error
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": record_timestamp(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": qualified,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _json_or_text(event_json),
        "responseContext": response_context,
    }
    if result is not None:
        record["responsePayload"] = _json_or_text(result.payload.decode(errors="replace"))
    return record


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
