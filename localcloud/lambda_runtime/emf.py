"""CloudWatch Embedded Metric Format (EMF): the metrics CloudWatch Logs extracts from log events.

On AWS a function counts things by printing an EMF document (what Powertools Metrics does); no
PutMetricData call is made, CloudWatch Logs reads the metrics out of the log event. `extract()`
does that reading for one log line and returns the equivalent PutMetricData requests; `batch()`
merges the requests of many lines into as few calls as the API allows. Specification:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

A line that is not EMF yields nothing. Neither does an EMF document that breaks the
specification: CloudWatch keeps it as a plain log event and publishes none of its metrics (it
counts it in AWS/Logs EMFValidationErrors, which localcloud does not), so we log why and move on.
Nothing here raises on bad input: it runs on the log shipping thread.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

# Limits of the specification and of PutMetricData (whose limits a datum must meet anyway).
MAX_DIMENSIONS = 30
MAX_METRICS_PER_DIRECTIVE = 100
MAX_VALUES = 100
MAX_DIMENSION_VALUE_CHARS = 1024
MAX_NAME_CHARS = 255
MAX_DATA_PER_PUT = 1000

# CloudWatch's StandardUnit enum (MetricDatum.Unit): any other unit fails PutMetricData.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
STORAGE_RESOLUTIONS = frozenset({1, 60})

# "Lambda may prepend log events with metadata such as timestamp and request id": the runtime's
# text format puts up to three tab-separated fields (`[INFO]\t<time>\t<request id>\t`) first.
_LAMBDA_PREFIX = re.compile(r"(?:[^\t{]*\t){1,3}")

MetricDatum = dict[str, Any]
PutMetricDataRequest = dict[str, Any]  # keyword arguments of cloudwatch.put_metric_data


class InvalidEmf(ValueError):
    """The line is an EMF document (it has `_aws`) that CloudWatch would not extract."""


def extract(text: str, received_ms: int, source: str = "") -> list[PutMetricDataRequest]:
    """The PutMetricData requests (one per namespace) CloudWatch Logs would derive from a log
    line; [] for a line that is not a valid EMF document.

    received_ms is the log event's time, used when the document has no `_aws.Timestamp`;
    source (e.g. the log group) only makes the warning about an invalid document findable."""
    document = _document(text)
    if document is None:
        return []
    try:
        return parse(document, received_ms)
    except InvalidEmf as error:
        log.warning("not extracting metrics from an invalid EMF document%s: %s", _in(source), error)
        return []


def parse(document: dict[str, Any], received_ms: int) -> list[PutMetricDataRequest]:
    """The PutMetricData requests for one decoded EMF document; raises InvalidEmf."""
    metadata = document["_aws"]
    if not isinstance(metadata, dict):
        raise InvalidEmf("_aws must be an object")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise InvalidEmf("_aws.CloudWatchMetrics must be an array")
    timestamp = _timestamp(metadata.get("Timestamp", received_ms))

    by_namespace: dict[str, list[MetricDatum]] = {}
    for index, directive in enumerate(directives):
        where = f"_aws.CloudWatchMetrics[{index}]"
        if not isinstance(directive, dict):
            raise InvalidEmf(f"{where} must be an object")
        namespace = _namespace(directive.get("Namespace"), where)
        dimension_sets = [
            _dimensions(document, dimension_set, f"{where}.Dimensions[{i}]")
            for i, dimension_set in enumerate(_array(directive, "Dimensions", where))
        ]
        if not dimension_sets:
            # The specification's schema requires one; a metric without dimensions is `[[]]`.
            raise InvalidEmf(f"{where}.Dimensions must hold at least one dimension set")
        definitions = _array(directive, "Metrics", where)
        if len(definitions) > MAX_METRICS_PER_DIRECTIVE:
            raise InvalidEmf(f"{where}.Metrics has more than {MAX_METRICS_PER_DIRECTIVE} metrics")
        data = by_namespace.setdefault(namespace, [])
        for i, definition in enumerate(definitions):
            template = _metric(document, definition, f"{where}.Metrics[{i}]")
            # Every dimension set makes its own metric (the same values under other dimensions).
            for dimensions in dimension_sets:
                data.append({**template, "Dimensions": dimensions, "Timestamp": timestamp})
    return [{"Namespace": ns, "MetricData": data} for ns, data in by_namespace.items() if data]


def batch(requests: Iterable[PutMetricDataRequest]) -> list[PutMetricDataRequest]:
    """Merge requests per namespace, at most MAX_DATA_PER_PUT data per request."""
    by_namespace: dict[str, list[MetricDatum]] = {}
    for request in requests:
        by_namespace.setdefault(request["Namespace"], []).extend(request["MetricData"])
    return [
        {"Namespace": namespace, "MetricData": data[start : start + MAX_DATA_PER_PUT]}
        for namespace, data in by_namespace.items()
        for start in range(0, len(data), MAX_DATA_PER_PUT)
    ]


def _document(text: str) -> dict[str, Any] | None:
    """The JSON object a log line is, if it has an `_aws` member (an EMF candidate)."""
    if '"_aws"' not in text:  # the cheap test that every other log line fails
        return None
    body = text.strip()
    if not body.startswith("{"):
        prefix = _LAMBDA_PREFIX.match(body)
        if prefix is None:
            return None
        body = body[prefix.end() :]
    try:
        # The whole rest of the line: the specification allows no data after the document.
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and "_aws" in document:
        return document
    return None


def _timestamp(value: Any) -> datetime:
    if not _is_number(value):
        raise InvalidEmf("_aws.Timestamp must be a number of milliseconds since the epoch")
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidEmf(f"_aws.Timestamp {value} is out of range") from error


def _namespace(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_CHARS:
        raise InvalidEmf(f"{where}.Namespace must be a string of 1 to {MAX_NAME_CHARS} characters")
    if value.startswith("AWS/"):
        raise InvalidEmf(f"{where}.Namespace {value!r}: namespaces starting with AWS/ are reserved")
    return value


def _array(directive: dict[str, Any], member: str, where: str) -> list[Any]:
    value = directive.get(member)
    if not isinstance(value, list):
        raise InvalidEmf(f"{where}.{member} must be an array")
    return value


def _dimensions(document: dict[str, Any], keys: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(keys, list):
        raise InvalidEmf(f"{where} must be an array of dimension keys")
    if len(keys) > MAX_DIMENSIONS:
        raise InvalidEmf(f"{where} has more than {MAX_DIMENSIONS} dimension keys")
    dimensions: list[dict[str, str]] = []
    for key in keys:
        if not isinstance(key, str) or not key:
            raise InvalidEmf(f"{where} holds {key!r}, not a dimension key")
        if any(dimension["Name"] == key for dimension in dimensions):
            raise InvalidEmf(f"{where} names {key!r} twice")
        if key not in document:
            raise InvalidEmf(f"{where} refers to {key!r}, which the document does not have")
        value = document[key]
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_DIMENSION_VALUE_CHARS:
            raise InvalidEmf(
                f"dimension {key!r} must be a string of 1 to {MAX_DIMENSION_VALUE_CHARS} "
                f"characters, not {value!r}"
            )
        dimensions.append({"Name": key, "Value": value})
    return dimensions


def _metric(document: dict[str, Any], definition: Any, where: str) -> MetricDatum:
    """A datum without dimensions and timestamp: the part every dimension set shares."""
    if not isinstance(definition, dict):
        raise InvalidEmf(f"{where} must be an object")
    name = definition.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidEmf(f"{where}.Name must be a string of 1 to {MAX_NAME_CHARS} characters")
    if name not in document:
        raise InvalidEmf(f"metric {name!r} has no value in the document")
    datum: MetricDatum = {"MetricName": name, **_values(name, document[name])}
    unit = definition.get("Unit")
    if unit is not None:
        if unit not in UNITS:
            raise InvalidEmf(f"metric {name!r} has unit {unit!r}, which CloudWatch does not know")
        datum["Unit"] = unit
    resolution = definition.get("StorageResolution")
    if resolution is not None:
        if not _is_number(resolution) or resolution not in STORAGE_RESOLUTIONS:
            raise InvalidEmf(f"metric {name!r}: StorageResolution must be 1 or 60")
        datum["StorageResolution"] = int(resolution)
    return datum


def _values(name: str, value: Any) -> MetricDatum:
    """Value for a number; Values/Counts for an array (repeated values counted, not repeated)."""
    if _is_number(value):
        return {"Value": float(value)}
    if not isinstance(value, list) or not value or not all(map(_is_number, value)):
        raise InvalidEmf(f"metric {name!r} must be a number or a non-empty array of numbers")
    if len(value) > MAX_VALUES:
        raise InvalidEmf(f"metric {name!r} has more than {MAX_VALUES} values")
    counts: dict[float, int] = {}
    for number in value:
        counts[float(number)] = counts.get(float(number), 0) + 1
    return {"Values": list(counts), "Counts": [float(c) for c in counts.values()]}


def _is_number(value: Any) -> bool:
    # JSON true/false decode to bool, a subclass of int; NaN/Infinity decode but CloudWatch
    # rejects them.
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range: not a CloudWatch value either
        return False


def _in(source: str) -> str:
    return f" in {source}" if source else ""
