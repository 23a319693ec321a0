"""Function output: echoed to the console with the function's name, shipped to CloudWatch Logs.

Shipping goes through the public Logs API of localcloud (so `sam logs` and `aws logs tail` see the
same thing as in AWS) from a background thread in batches: a put per log line would add several
milliseconds to every invocation.

Like CloudWatch Logs on AWS, the same thread turns lines that are Embedded Metric Format
documents (Powertools Metrics' output) into metric data, put through the public CloudWatch API
(see `emf`), so that metrics, alarms and dashboards over them work locally.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict
from typing import Any, TextIO

from localcloud.lambda_runtime import emf

log = logging.getLogger(__name__)

# How long the shipper gathers lines before a put. Each put is a request to localcloud's own
# server, which also serves the functions: at 0.2 s, log and metric puts were 7% of the time the
# server held the GIL under bench/e2e.py's load. CloudWatch Logs takes seconds too; flush() and
# stop() ship at once.
_FLUSH_INTERVAL_S = 1.0
_SHIP_NOW = ("", "", 0, "")  # flush()'s marker in the queue: ship what is gathered at once
_MAX_EVENTS_PER_PUT = 1000  # well under PutLogEvents' 10,000 events / 1 MB per call


class LogSink:
    """Thread-safe destination for function log lines.

    - logs_client: a CloudWatch Logs client the lines are shipped with (None: not shipped).
    - console: where lines are echoed (None: quiet).
    - metrics_client: a CloudWatch client the metrics of EMF lines are put with (None: none).
    """

    def __init__(
        self, logs_client: Any | None, console: TextIO | None, metrics_client: Any | None = None
    ) -> None:
        self._client = logs_client
        self._metrics_client = metrics_client
        self._shipping = logs_client is not None or metrics_client is not None
        self._console = console
        self._console_lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, str, int, str] | None] = queue.Queue()
        self._known_groups: set[str] = set()
        self._known_streams: set[tuple[str, str]] = set()
        self._thread: threading.Thread | None = None
        # Lines accepted but not yet shipped; flush() waits for zero.
        self._pending = 0
        self._pending_changed = threading.Condition()

    def start(self) -> None:
        if self._shipping and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="localcloud-logs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def write(self, function_name: str, group: str, stream: str, text: str) -> None:
        timestamp_ms = int(time.time() * 1000)
        if self._console is not None:
            with self._console_lock:
                for line in text.splitlines() or [""]:
                    self._console.write(f"[{function_name}] {line}\n")
                self._console.flush()
        if self._shipping:
            with self._pending_changed:
                self._pending += 1
            self._queue.put((group, stream, timestamp_ms, text))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything written so far is in CloudWatch (tests and shutdown use it)."""
        if self._thread is not None:
            self._queue.put(_SHIP_NOW)
        with self._pending_changed:
            return self._pending_changed.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[str, str, int, str]] = []
            item = self._queue.get()
            deadline = time.monotonic() + _FLUSH_INTERVAL_S
            while True:
                if item is None:
                    stopping = True
                    break
                if item is _SHIP_NOW:
                    break
                batch.append(item)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            self._ship(batch)
            with self._pending_changed:
                self._pending -= len(batch)
                self._pending_changed.notify_all()

    def _ship(self, batch: list[tuple[str, str, int, str]]) -> None:
        if self._client is not None:
            self._put_log_events(batch)
        if self._metrics_client is not None:
            self._put_metric_data(batch)

    def _put_log_events(self, batch: list[tuple[str, str, int, str]]) -> None:
        by_stream: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for group, stream, timestamp_ms, text in batch:
            by_stream[(group, stream)].append({"timestamp": timestamp_ms, "message": text})
        for (group, stream), events in by_stream.items():
            events.sort(key=lambda event: event["timestamp"])
            try:
                self._ensure_stream(group, stream)
                for start in range(0, len(events), _MAX_EVENTS_PER_PUT):
                    self._client.put_log_events(
                        logGroupName=group,
                        logStreamName=stream,
                        logEvents=events[start : start + _MAX_EVENTS_PER_PUT],
                    )
            except Exception:  # the moto server may be gone at shutdown; never kill the thread
                log.exception("could not ship %d log events to %s", len(events), group)

    def _put_metric_data(self, batch: list[tuple[str, str, int, str]]) -> None:
        requests = []
        for group, _stream, timestamp_ms, text in batch:
            try:
                requests += emf.extract(text, timestamp_ms, source=group)
            except Exception:  # one odd line loses its own metrics, not the batch's
                log.exception("could not extract EMF metrics from a log line of %s", group)
        # One call per namespace for the whole batch, not one per line.
        for request in emf.batch(requests):
            try:
                self._metrics_client.put_metric_data(**request)
            except Exception:  # as for logs: never kill the thread
                log.exception(
                    "could not put %d metric data in %s",
                    len(request["MetricData"]),
                    request["Namespace"],
                )

    def _ensure_stream(self, group: str, stream: str) -> None:
        client = self._client
        if group not in self._known_groups:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=group)
            self._known_groups.add(group)
        if (group, stream) not in self._known_streams:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known_streams.add((group, stream))
