"""Embedded Metric Format lines become CloudWatch metric data, as CloudWatch Logs does in AWS."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit

from localcloud.lambda_runtime import emf
from localcloud.lambda_runtime.logs import LogSink
from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, unique

RECEIVED_MS = 1_700_000_000_000


def _powertools_line(
    namespace: str, service: str, build: Callable[[Metrics], None], timestamp_ms: int | None = None
) -> str:
    """What `@metrics.log_metrics` prints for the metrics `build` adds (a real Powertools line)."""
    metrics = Metrics(namespace=namespace, service=service)
    metrics.clear_metrics()  # Powertools keeps metrics in state shared by every instance
    build(metrics)
    try:
        document = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    if timestamp_ms is not None:
        document["_aws"]["Timestamp"] = timestamp_ms
    return json.dumps(document, separators=(",", ":"))


def _document(**root: Any) -> dict[str, Any]:
    """A valid hand-written EMF document; keyword arguments replace or add root members."""
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": RECEIVED_MS - 5000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "WildRydes",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "RideRequested", "Unit": "Count"}],
                }
            ],
        },
        "service": "fares",
        "RideRequested": 1,
    }
    document.update(root)
    return document


def _directive(document: dict[str, Any]) -> dict[str, Any]:
    return document["_aws"]["CloudWatchMetrics"][0]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# --- the parser ---------------------------------------------------------------------------------


def test_a_powertools_line_becomes_one_datum_per_metric() -> None:
    def build(metrics: Metrics) -> None:
        metrics.add_dimension(name="stage", value="dev")
        metrics.add_metric(name="RideRequested", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RideRequested", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RideRequested", unit=MetricUnit.Count, value=3)
        metrics.add_metric(
            name="Latency",
            unit=MetricUnit.Milliseconds,
            value=12.5,
            resolution=MetricResolution.High,
        )
        metrics.add_metadata(key="rideId", value="r-1")  # a root member, not a metric

    line = _powertools_line("WildRydes", "fares", build, timestamp_ms=RECEIVED_MS - 1000)

    dimensions = [{"Name": "stage", "Value": "dev"}, {"Name": "service", "Value": "fares"}]
    assert emf.extract(line, RECEIVED_MS) == [
        {
            "Namespace": "WildRydes",
            "MetricData": [
                {
                    "MetricName": "RideRequested",
                    "Values": [1.0, 3.0],
                    "Counts": [2.0, 1.0],
                    "Unit": "Count",
                    "Dimensions": dimensions,
                    "Timestamp": _at(RECEIVED_MS - 1000),
                },
                {
                    "MetricName": "Latency",
                    "Values": [12.5],
                    "Counts": [1.0],
                    "Unit": "Milliseconds",
                    "StorageResolution": 1,
                    "Dimensions": dimensions,
                    "Timestamp": _at(RECEIVED_MS - 1000),
                },
            ],
        }
    ]


def test_every_dimension_set_of_every_directive_makes_its_own_metric() -> None:
    document = _document(function="submit", Fares=2.5)
    _directive(document)["Dimensions"] = [["service"], ["service", "function"], []]
    document["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "Billing", "Dimensions": [["service"]], "Metrics": [{"Name": "Fares"}]}
    )

    requests = emf.extract(json.dumps(document), RECEIVED_MS)

    by_namespace = {r["Namespace"]: r["MetricData"] for r in requests}
    assert [(d["MetricName"], d["Dimensions"], d["Value"]) for d in by_namespace["WildRydes"]] == [
        ("RideRequested", [{"Name": "service", "Value": "fares"}], 1.0),
        (
            "RideRequested",
            [{"Name": "service", "Value": "fares"}, {"Name": "function", "Value": "submit"}],
            1.0,
        ),
        ("RideRequested", [], 1.0),
    ]
    (fares,) = by_namespace["Billing"]
    assert fares["Value"] == 2.5
    assert "Unit" not in fares  # CloudWatch's default, None
    assert "StorageResolution" not in fares


def test_the_event_time_stands_in_for_a_missing_timestamp() -> None:
    document = _document()
    del document["_aws"]["Timestamp"]

    (request,) = emf.extract(json.dumps(document), RECEIVED_MS)

    assert request["MetricData"][0]["Timestamp"] == _at(RECEIVED_MS)


def test_a_document_after_lambda_s_log_prefix_counts() -> None:
    # What the runtime's text format makes of `logging.info(json.dumps(document))`.
    line = f"[INFO]\t2023-11-14T22:13:20.000Z\t8f5e2a3c\t{json.dumps(_document())}"

    (request,) = emf.extract(line, RECEIVED_MS)

    assert request["MetricData"][0]["MetricName"] == "RideRequested"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "START RequestId: 1 Version: $LATEST",
        '{"level":"INFO","message":"ride submitted","service":"fares"}',  # a Powertools Logger line
        'the _aws member: "_aws"',
        "[1, 2, 3]",
        '"_aws"',
        json.dumps({"message": {"_aws": {"CloudWatchMetrics": []}}}),  # nested: not the root
        json.dumps(_document()) + " trailing text",  # nothing may follow the document
        "prefix " + json.dumps(_document()),  # not Lambda's tab-separated metadata
    ],
)
def test_lines_that_are_not_emf_are_left_alone(line: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=emf.__name__):
        assert emf.extract(line, RECEIVED_MS) == []
    assert caplog.records == []


def _invalid(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = _document()
    change(document)
    return document


def _too_many_dimensions(document: dict[str, Any]) -> None:
    keys = [f"d{i}" for i in range(31)]
    document.update(dict.fromkeys(keys, "x"))
    _directive(document)["Dimensions"] = [keys]


INVALID = {
    "_aws is not an object": (_invalid(lambda d: d.update(_aws=[])), "_aws must be an object"),
    "no CloudWatchMetrics": (
        _invalid(lambda d: d["_aws"].pop("CloudWatchMetrics")),
        "CloudWatchMetrics must be an array",
    ),
    "no Namespace": (_invalid(lambda d: _directive(d).pop("Namespace")), "Namespace must be"),
    "a reserved namespace": (
        _invalid(lambda d: _directive(d).update(Namespace="AWS/Lambda")),
        "reserved",
    ),
    "no Dimensions": (
        _invalid(lambda d: _directive(d).pop("Dimensions")),
        "Dimensions must be an array",
    ),
    "no dimension set": (
        _invalid(lambda d: _directive(d).update(Dimensions=[])),
        "at least one dimension set",
    ),
    "a dimension set naming a missing member": (
        _invalid(lambda d: d.pop("service")),
        "refers to 'service', which the document does not have",
    ),
    "more than 30 dimensions": (_invalid(_too_many_dimensions), "more than 30 dimension keys"),
    "a dimension value that is not a string": (
        _invalid(lambda d: d.update(service=7)),
        "dimension 'service' must be a string",
    ),
    "no Metrics": (_invalid(lambda d: _directive(d).pop("Metrics")), "Metrics must be an array"),
    "a metric without its value": (
        _invalid(lambda d: d.pop("RideRequested")),
        "metric 'RideRequested' has no value",
    ),
    "a value that is a numeric string": (
        _invalid(lambda d: d.update(RideRequested="1")),
        "must be a number or a non-empty array of numbers",
    ),
    "a boolean value": (
        _invalid(lambda d: d.update(RideRequested=True)),
        "must be a number",
    ),
    "an array holding a string": (
        _invalid(lambda d: d.update(RideRequested=[1, "2"])),
        "must be a number",
    ),
    "more than 100 values": (
        _invalid(lambda d: d.update(RideRequested=list(range(101)))),
        "more than 100 values",
    ),
    "an unknown unit": (
        _invalid(lambda d: _directive(d)["Metrics"][0].update(Unit="Rides")),
        "unit 'Rides'",
    ),
    "a storage resolution of 30": (
        _invalid(lambda d: _directive(d)["Metrics"][0].update(StorageResolution=30)),
        "StorageResolution must be 1 or 60",
    ),
    "a timestamp that is not a number": (
        _invalid(lambda d: d["_aws"].update(Timestamp="2023-11-14T22:13:20Z")),
        "Timestamp must be a number",
    ),
}


@pytest.mark.parametrize(("document", "reason"), INVALID.values(), ids=list(INVALID))
def test_invalid_documents_stay_log_lines_and_say_why(
    document: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=emf.__name__):
        assert emf.extract(json.dumps(document), RECEIVED_MS, source="/aws/lambda/fn") == []
    (record,) = caplog.records
    assert reason in record.getMessage()
    assert "/aws/lambda/fn" in record.getMessage()


def test_one_invalid_directive_voids_the_whole_document() -> None:
    document = _document()
    document["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "Other", "Dimensions": [["missing"]], "Metrics": [{"Name": "RideRequested"}]}
    )
    assert emf.extract(json.dumps(document), RECEIVED_MS) == []


def test_batch_merges_namespaces_into_puts_of_at_most_1000_data() -> None:
    datum = {"MetricName": "M", "Value": 1.0}
    requests = [
        {"Namespace": "A", "MetricData": [datum] * 600},
        {"Namespace": "B", "MetricData": [datum]},
        {"Namespace": "A", "MetricData": [datum] * 600},
    ]

    batched = emf.batch(requests)

    assert [(r["Namespace"], len(r["MetricData"])) for r in batched] == [
        ("A", 1000),
        ("A", 200),
        ("B", 1),
    ]


# --- through the log sink and moto's CloudWatch -------------------------------------------------


@pytest.fixture
def sink(aws: Callable[[str], Any]) -> Iterator[LogSink]:
    log_sink = LogSink(aws("logs"), None, aws("cloudwatch"))
    log_sink.start()
    try:
        yield log_sink
    finally:
        log_sink.stop()


def test_flush_ships_at_once_without_waiting_for_the_batching_interval(
    sink: LogSink, aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from localcloud.lambda_runtime import logs

    # An interval no test would wait out: only flush() can make the shipper put the line now.
    monkeypatch.setattr(logs, "_FLUSH_INTERVAL_S", 3600.0)
    group = f"/aws/lambda/{unique('fn')}"
    sink.write("fn", group, "stream", "first line")

    assert sink.flush(timeout=10)

    events = aws("logs").get_log_events(logGroupName=group, logStreamName="stream")["events"]
    assert [event["message"] for event in events] == ["first line"]


# Each test counts under its own namespace *and* service, and queries a metric's exact dimensions:
# moto 5.2.5's get_metric_statistics also matches metrics that have more dimensions than asked
# for (AWS matches the exact set), and its get_metric_data ignores the Namespace of a MetricStat
# that names dimensions.
def _sums(aws: Callable[[str], Any], namespace: str, metric: str, service: str) -> float:
    now = datetime.now(UTC)
    response = aws("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "service", "Value": service}],
        Statistics=["Sum"],
        Period=60,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
    )
    return sum(point["Sum"] for point in response["Datapoints"])


def _count_rides(values: list[float]) -> Callable[[Metrics], None]:
    def build(metrics: Metrics) -> None:
        for value in values:
            metrics.add_metric(name="RideRequested", unit=MetricUnit.Count, value=value)

    return build


def test_emf_lines_written_to_the_sink_become_metrics(
    sink: LogSink, aws: Callable[[str], Any]
) -> None:
    namespace, group = unique("WildRydes"), f"/aws/lambda/{unique('fn')}"
    service = unique("fares")
    lines = [
        _powertools_line(namespace, service, _count_rides([1, 1])),
        _powertools_line(namespace, service, _count_rides([3])),
    ]
    for line in [*lines, "not a metric"]:
        sink.write("fn", group, "stream", line)

    assert sink.flush()

    assert _sums(aws, namespace, "RideRequested", service) == 5.0
    now = datetime.now(UTC)
    query = {
        "Id": "rides",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": "RideRequested",
                "Dimensions": [{"Name": "service", "Value": service}],
            },
            "Period": 60,
            "Stat": "Sum",
        },
    }
    (result,) = aws("cloudwatch").get_metric_data(
        MetricDataQueries=[query],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
    )["MetricDataResults"]
    assert sum(result["Values"]) == 5.0
    # The EMF lines stay log lines too, as in AWS.
    events = aws("logs").filter_log_events(logGroupName=group)["events"]
    messages = sorted(event["message"] for event in events)
    assert messages == sorted([*lines, "not a metric"])


def test_invalid_emf_lines_are_only_logged(sink: LogSink, aws: Callable[[str], Any]) -> None:
    namespace, group = unique("WildRydes"), f"/aws/lambda/{unique('fn')}"
    document = _document(RideRequested="1")
    _directive(document)["Namespace"] = namespace
    sink.write("fn", group, "stream", json.dumps(document))

    assert sink.flush()

    assert aws("cloudwatch").list_metrics(Namespace=namespace)["Metrics"] == []
    assert len(aws("logs").filter_log_events(logGroupName=group)["events"]) == 1


POWERTOOLS_LAYER = (
    "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7"
)
POWERTOOLS_HANDLER = """
import os
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace=os.environ["NAMESPACE"], service=os.environ["SERVICE"])

@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="RideRequested", unit=MetricUnit.Count, value=event["rides"])
    return "ok"
"""


def test_a_function_s_powertools_metrics_reach_cloudwatch(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    namespace, service = unique("WildRydes"), unique("fares")
    env = {"NAMESPACE": namespace, "SERVICE": service}
    # As a template would have it: Powertools from its public layer (localcloud serves it from
    # its own installed copy).
    name = deploy.function(POWERTOOLS_HANDLER, env=env, timeout=10, layers=[POWERTOOLS_LAYER])

    for rides in (2, 3):
        result = runtime.invoke(name, {"rides": rides})
        assert result.ok, result.log_tail()
    assert runtime.logs.flush()

    assert _sums(aws, namespace, "RideRequested", service) == 5.0
