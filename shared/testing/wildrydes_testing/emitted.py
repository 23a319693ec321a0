"""What a handler printed, read back as its users read it: JSON log lines and EMF metrics.

Powertools writes both to stdout: log lines as JSON objects with a `level` (through the
logger's own stream handler, bound to the stdout of when it was created), metrics as EMF
documents (`_aws.CloudWatchMetrics`, printed). `capturing` collects both around a handler call;
tests then ask for the lines about a ride or the counts of a metric, by the same keys and names
the dashboards, `make trace` and `make stats` use.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger


@dataclass
class Emitted:
    logs: list[dict[str, Any]] = field(default_factory=list)
    # (namespace, metric name, dimensions as sorted (name, value) pairs) -> summed value
    metrics: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=Counter)

    def lines(self, message: str | None = None, **keys: Any) -> list[dict[str, Any]]:
        """Log lines with this message (if given) whose keys have these values."""
        return [
            line
            for line in self.logs
            if (message is None or line.get("message") == message)
            and all(line.get(name) == value for name, value in keys.items())
        ]

    def counts(self, service: str) -> dict[str, float]:
        """Metric name -> total, for the metrics with exactly the dimension service=<service>."""
        totals: dict[str, float] = {}
        for (_, name, dimensions), value in self.metrics.items():
            if dimensions == (("service", service),):
                totals[name] = totals.get(name, 0) + value
        return totals

    def namespaces(self) -> set[str]:
        return {namespace for namespace, _, _ in self.metrics}


@contextlib.contextmanager
def capturing(logger: Logger, into: Emitted | None = None) -> Iterator[Emitted]:
    """Everything `logger` logs and every EMF document printed inside the block."""
    emitted = Emitted() if into is None else into
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(buffer):
            yield emitted
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        parse_output(buffer.getvalue(), emitted)


def parse_output(text: str, emitted: Emitted | None = None) -> Emitted:
    emitted = Emitted() if emitted is None else emitted
    for raw in text.splitlines():
        try:
            document = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(document, dict):
            continue
        if "_aws" in document:
            _add_metrics(emitted, document)
        elif "level" in document:
            emitted.logs.append(document)
    return emitted


def _add_metrics(emitted: Emitted, document: dict[str, Any]) -> None:
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                total = sum(values) if isinstance(values, list) else values
                emitted.metrics[(directive["Namespace"], metric["Name"], dimensions)] += total
