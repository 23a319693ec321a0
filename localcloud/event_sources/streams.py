"""DynamoDB Streams and Kinesis -> Lambda event source mappings, with Lambda's semantics.

Per shard, records are processed strictly in order and a failing batch blocks the shard until it
succeeds or is given up, like Lambda's checkpointing:
- FilterCriteria drops non-matching records before batching (they count as processed).
- On a function error the batch is retried; with BisectBatchOnFunctionError it is split in two
  first. Halves inherit the retry count of the batch they came from, so a poison record is
  isolated and given up after MaximumRetryAttempts while its neighbours succeed.
- ReportBatchItemFailures: everything before the lowest reported sequence number is checkpointed;
  the retry starts at that record.
- When retries (or MaximumRecordAgeInSeconds) are exhausted the batch is skipped and, with an
  OnFailure destination, a Lambda invocation record describing it goes to that queue/topic.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from localcloud.event_sources.batch_response import failed_identifiers
from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.event_sources.polling import PollingLoop
from localcloud.event_sources.stream_sources import StreamSource, source_for
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.destinations import record_timestamp, send_to_destination
from localcloud.lambda_runtime.functions import FunctionNotFound
from localcloud.lambda_runtime.invoker import InvocationResult, Invoker, Throttled

log = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.25  # Lambda polls each shard about four times a second
_SHARD_REFRESH_S = 1.0
RETRY_BASE_DELAY_S = 0.1
_RETRY_MAX_DELAY_S = 2.0


@dataclass
class ShardState:
    """Where a mapping stands in one shard; kept across disable/enable so polling resumes."""

    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)  # fetched, matched, not done
    read_at: list[float] = field(default_factory=list)  # when each buffered record was read

    def add(self, record: dict[str, Any], now: float) -> None:
        self.buffer.append(record)
        self.read_at.append(now)

    def checkpoint(self, count: int) -> None:
        """The first `count` buffered records are done (processed or given up)."""
        del self.buffer[:count]
        del self.read_at[:count]


@dataclass
class _Attempt:
    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0


class StreamPoller(PollingLoop):
    KIND = "stream"
    ERROR_BACKOFF_S = _POLL_INTERVAL_S  # the next regular poll retries

    def __init__(
        self,
        config: MappingConfig,
        clients: ClientFactory,
        invoker: Invoker,
        shard_states: dict[str, ShardState],
    ) -> None:
        super().__init__(config)
        self._clients = clients
        self._source = source_for(config, clients)
        self._invoker = invoker
        self._shards = shard_states  # owned by the supervisor, survives this poller
        self.positioned = False  # set once every shard has an iterator (LATEST is pinned)
        self._next_shard_refresh = 0.0

    def poll_once(self) -> float:
        """Every shard in turn, each strictly in order; new shards are looked for each second.
        The next round comes after the poll interval, or sooner when a batching window closes."""
        if time.monotonic() >= self._next_shard_refresh:
            self._refresh_shards()
            self._next_shard_refresh = time.monotonic() + _SHARD_REFRESH_S
        wait = _POLL_INTERVAL_S
        for shard in list(self._shards.values()):
            self._poll_shard(shard)
            wait = min(wait, self._window_left(shard))
        return wait

    def _refresh_shards(self) -> None:
        # A shard that appears later (a reshard's child) is read from its start, as Lambda does.
        position = self._config.starting_position or "TRIM_HORIZON"
        if self.positioned:
            position = "TRIM_HORIZON"
        for shard_id in self._source.shard_ids():
            if shard_id not in self._shards:
                self._shards[shard_id] = ShardState(
                    shard_id, self._source.iterator(shard_id, position)
                )
        self.positioned = True

    def _poll_shard(self, shard: ShardState) -> None:
        self._read(shard)
        while not self.stopping and self._window_left(shard) == 0:
            batch = shard.buffer[: self._config.batch_size]
            if not self._deliver(shard, batch):
                return  # stopping: the undelivered records stay buffered for the next poller
            # Records written while that batch ran join the next one at once: a batch that
            # fills leaves without waiting for the next poll.
            self._read(shard)

    def _read(self, shard: ShardState) -> None:
        if not shard.iterator or len(shard.buffer) >= self._config.batch_size:
            return
        records, shard.iterator = self._source.read(shard.shard_id, shard.iterator)
        now = time.monotonic()
        for record in records:
            if self._filter.matches(self._source.filter_view(record)):
                shard.add(record, now)

    def _window_left(self, shard: ShardState) -> float:
        """Seconds until the shard's next batch leaves: 0 when it is full or its batching window,
        counted from the read of its first record, has closed; infinite with nothing to send."""
        config = self._config
        if not shard.buffer:
            return math.inf
        if len(shard.buffer) >= config.batch_size:
            return 0.0
        return max(0.0, shard.read_at[0] + config.batching_window_s - time.monotonic())

    def _deliver(self, shard: ShardState, batch: list[dict[str, Any]]) -> bool:
        """Process one batch to completion; returns False when stopped before the end."""
        pending = deque([_Attempt(batch)])
        while pending:
            if self.stopping:
                return False
            config = self._config
            attempt = pending[0]
            expired = self._expired(attempt.records, config)
            if expired:
                self._give_up(shard, attempt, config, None, "RecordAgeExceeded")
                shard.checkpoint(len(attempt.records))
                pending.popleft()
                continue
            result = self._invoke(config, attempt.records)
            if result is None:
                # The batch never reached the function (throttled, function missing): Lambda
                # retries those without counting them against MaximumRetryAttempts.
                self.pause(_RETRY_MAX_DELAY_S)
                continue
            attempt.invocations += 1
            still_failing = self._failing_records(config, attempt.records, result)
            processed = len(attempt.records) - len(still_failing)
            shard.checkpoint(processed)  # what succeeded
            if not still_failing:
                pending.popleft()
                continue
            attempt.records = still_failing
            attempt.retries += 1
            if 0 <= config.max_retry_attempts < attempt.retries:
                self._give_up(shard, attempt, config, result, "RetryAttemptsExhausted")
                shard.checkpoint(len(attempt.records))
                pending.popleft()
                continue
            whole_batch_error = processed == 0
            if config.bisect_on_error and whole_batch_error and len(attempt.records) > 1:
                middle = len(attempt.records) // 2
                pending.popleft()
                pending.appendleft(_Attempt(attempt.records[middle:], attempt.retries))
                pending.appendleft(_Attempt(attempt.records[:middle], attempt.retries))
            delay = min(RETRY_BASE_DELAY_S * 2 ** (attempt.retries - 1), _RETRY_MAX_DELAY_S)
            self.pause(delay)
        return True

    def _invoke(
        self, config: MappingConfig, records: list[dict[str, Any]]
    ) -> InvocationResult | None:
        try:
            return self._invoker.invoke(config.function_arn, {"Records": records})
        except (Throttled, FunctionNotFound) as exc:
            log.warning("%s: batch not delivered (%s)", config.uuid, exc)
            return None

    def _failing_records(
        self, config: MappingConfig, records: list[dict[str, Any]], result: InvocationResult | None
    ) -> list[dict[str, Any]]:
        if result is None or not result.ok:
            return records
        if not config.reports_batch_item_failures:
            return []
        sequence_numbers = [self._source.sequence_number(r) for r in records]
        failed = failed_identifiers(result.payload, sequence_numbers)
        if failed is None:
            return records
        if not failed:
            return []
        # Lambda checkpoints just before the lowest failed sequence number.
        first = min(sequence_numbers.index(identifier) for identifier in failed)
        return records[first:]

    def _expired(self, records: list[dict[str, Any]], config: MappingConfig) -> bool:
        if config.max_record_age_s < 0:
            return False
        oldest = self._source.arrival_epoch(records[0])
        return time.time() - oldest > config.max_record_age_s

    def _give_up(
        self,
        shard: ShardState,
        attempt: _Attempt,
        config: MappingConfig,
        result: InvocationResult | None,
        condition: str,
    ) -> None:
        log.warning(
            "%s: giving up %d record(s) from %s (%s)",
            config.uuid,
            len(attempt.records),
            shard.shard_id,
            condition,
        )
        if config.on_failure_destination:
            record = failure_record(
                self._source, shard.shard_id, attempt, config, result, condition
            )
            send_to_destination(self._clients, config.on_failure_destination, record)


def failure_record(
    source: StreamSource,
    shard_id: str,
    attempt: _Attempt,
    config: MappingConfig,
    result: InvocationResult | None,
    condition: str,
) -> dict[str, Any]:
    """Lambda's on-failure invocation record for a stream batch."""
    first, last = attempt.records[0], attempt.records[-1]
    response_context: dict[str, Any] = {
        "statusCode": 200,
        "executedVersion": result.executed_version if result else "$LATEST",
    }
    if result is not None and result.function_error:
        response_context["functionError"] = result.function_error
    return {
        "requestContext": {
            "requestId": result.request_id if result else str(uuid.uuid4()),
            "functionArn": config.function_arn,
            "condition": condition,
            "approximateInvokeCount": attempt.invocations,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": record_timestamp(),
        source.batch_info_key: {
            "shardId": shard_id,
            "startSequenceNumber": source.sequence_number(first),
            "endSequenceNumber": source.sequence_number(last),
            "approximateArrivalOfFirstRecord": _iso(source.arrival_epoch(first)),
            "approximateArrivalOfLastRecord": _iso(source.arrival_epoch(last)),
            "batchSize": len(attempt.records),
            "streamArn": config.source_arn,
        },
    }


def _iso(epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
