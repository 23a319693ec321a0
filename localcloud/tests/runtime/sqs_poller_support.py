"""Stand-ins around a real SQS poller: a counting (and failing on demand) SQS client, a client
factory that hands it out, an invoker that records the batches, and a mapping's settings."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import EndpointConnectionError

from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.event_sources.sqs import SqsPoller
from localcloud.lambda_runtime.invoker import InvocationResult


@dataclass(frozen=True)
class Receive:
    made_at: float  # time.monotonic()
    arguments: dict[str, Any]
    answered: int  # messages


class FailingCalls:
    """A real SQS client whose chosen calls (by operation and call number) raise instead; it
    counts the calls, and notes each ReceiveMessage: when it was made, its arguments and how
    many messages it answered."""

    def __init__(self, sqs: Any, fail: dict[str, set[int]] | None = None) -> None:
        self._sqs = sqs
        self._fail = fail or {}
        self.calls: dict[str, int] = {}
        self.receives: list[Receive] = []

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        real = getattr(self._sqs, operation)

        def call(**kwargs: Any) -> Any:
            number = self.calls[operation] = self.calls.get(operation, 0) + 1
            if number in self._fail.get(operation, set()):
                raise EndpointConnectionError(endpoint_url="http://localhost:1")
            made = time.monotonic()
            answer = real(**kwargs)
            if operation == "receive_message":
                self.receives.append(Receive(made, kwargs, len(answer.get("Messages", []))))
            return answer

        return call


class Clients:
    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "sqs"
        return self._sqs


class RecordingInvoker:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        with self._lock:
            self.events.append(event)
        return InvocationResult(
            "request", json.dumps({"batchItemFailures": []}).encode(), None, "1"
        )


def mapping_config(queue_arn: str, batch_size: int, window_s: float) -> MappingConfig:
    return MappingConfig(
        uuid="poller-under-faults",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:consumer",
        source_arn=queue_arn,
        enabled=True,
        batch_size=batch_size,
        batching_window_s=window_s,
        starting_position=None,
        filter_criteria=None,
        response_types=("ReportBatchItemFailures",),
        bisect_on_error=False,
        max_retry_attempts=-1,
        max_record_age_s=-1,
        on_failure_destination=None,
        max_concurrency=2,
        raw_fingerprint="-",
    )


def sqs_poller(
    queue_arn: str, sqs: FailingCalls, invoker: RecordingInvoker, batch_size: int, window_s: float
) -> SqsPoller:
    """A real poller of the queue that calls SQS through `sqs` and invokes `invoker`."""
    config = mapping_config(queue_arn, batch_size=batch_size, window_s=window_s)
    return SqsPoller(config, Clients(sqs), invoker)  # type: ignore[arg-type]
