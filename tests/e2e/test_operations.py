"""Operating the deployed system in localcloud: make trace, make stats, make redrive and make
replay, the way an operator uses them, on rides whose fate the test decides; and growing it,
a service made with make new-service deployed beside the others.

A module of its own (its own localcloud and deployment) so pytest-xdist runs it beside
test_system.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from wildrydes.events import sns_message
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.repository import repository_copy, run_make

from scripts import redrive, replay, stacks, trace
from tests.e2e.conftest import (
    CONSUMERS,
    REPO_ROOT,
    System,
    delivered,
    make,
    ride,
    set_failure_rate,
    set_queue_visibility,
    wait_until,
)

pytestmark = pytest.mark.e2e


def trace_rows(output: str) -> dict[str, str]:
    """`make trace`'s table: service -> its whole row."""
    return {
        line.split()[0]: line
        for line in output.splitlines()
        if line[:1].isalpha() and line.split()[0] in CONSUMERS
    }


def stats_counts(output: str) -> dict[str, dict[str, int]]:
    """`make stats`' blocks: service -> metric -> count."""
    counts: dict[str, dict[str, int]] = {}
    service = None
    for line in output.splitlines():
        if line and not line.startswith(" ") and line.strip() in {*CONSUMERS, "management"}:
            service = line.strip()
            counts[service] = {}
        elif service and line.startswith("  ") and line.split()[-1].isdigit():
            *name, value = line.split()
            counts[service][" ".join(name)] = int(value)
    return counts


def in_dlq(system: System, service: str, ride_id: str) -> bool:
    messages = (
        system.client("sqs")
        .receive_message(
            QueueUrl=system.outputs(service)["DeadLetterQueueUrl"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
        )
        .get("Messages", [])
    )
    return any(ride_id in message["Body"] for message in messages)


@pytest.fixture
def one_receive_per_attempt(system: System) -> Any:
    """Retries every ~3 s: longer than the 1 s batching window, so each receive is one attempt
    (with a visibility timeout inside the window, SQS hands a message out again to the same
    batch, as on AWS, and receives outnumber attempts)."""
    set_queue_visibility(system, "accounting", 3)
    yield
    set_failure_rate(system, "accounting", "0")
    set_queue_visibility(system, "accounting", 65)


def run_tool(main: Callable[[list[str]], int], *args: str) -> str:
    """An operator command in this process (what its Make target runs, minus make and a new
    interpreter): its output; it must succeed. Each command also runs once through make."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--target", "local", *args])
    assert code == 0, out.getvalue() + err.getvalue()
    return out.getvalue()


def test_trace_stats_redrive_and_replay_operate_the_system(
    system: System, one_receive_per_attempt: None
) -> None:
    """One ride every service gets, one two filters reject, one accounting fails on purpose
    until it lands in its DLQ: `make trace` gives each service's verdict, `make stats` and
    CloudWatch's GetMetricStatistics the counts this traffic produced, and every consumer's
    log lines for a ride carry its correlation id (the submit request's id). Then the fix:
    `make redrive` books the DLQ's ride once, `make replay` changes nothing a service has,
    and a ride SNS could not deliver reaches the service from its delivery DLQ."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    everyone = system.post(ride(75, 30))
    notification_only = system.post(ride(0, 1))
    assert wait_until(lambda: delivered(system, everyone.body["id"]) == set(CONSUMERS))
    assert wait_until(lambda: system.received("notification", notification_only.body["id"]))
    set_failure_rate(system, "accounting", "1")
    failing = system.post(ride(10, 1))
    failing_id = failing.body["id"]
    assert wait_until(lambda: in_dlq(system, "accounting", failing_id), timeout_s=120)
    assert system.received("notification", failing_id)
    set_failure_rate(system, "accounting", "0")

    env = {**os.environ}
    expected = {
        everyone.body["id"]: dict.fromkeys(CONSUMERS, "processed"),
        notification_only.body["id"]: {
            "notification": "processed",
            "accounting": 'fare 0 does not match {"numeric": [">", 0]}',
            "extraordinary": "not delivered (filtered out)",
        },
        failing_id: {
            "notification": "processed",
            "accounting": "in its DLQ after 5 failed attempt(s)",
            "extraordinary": "not delivered (filtered out)",
        },
    }
    correlation_id = failing.headers["x-amzn-RequestId"]
    failing_trace = make("-s", "trace", f"RIDE={failing_id}", "TARGET=local", env=env)
    assert f"correlation id {correlation_id}" in failing_trace
    for ride_id, verdicts in expected.items():
        output = failing_trace if ride_id == failing_id else run_tool(trace.main, ride_id)
        rows = trace_rows(output)
        for service, verdict in verdicts.items():
            assert verdict in rows[service], output

    # Every consumer line about the failing ride carries the submit request's id.
    logs = system.client("logs")
    for service in ("notification", "accounting"):
        group = f"/aws/lambda/{system.outputs(service)['FunctionName']}"
        events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{failing_id}"')
        lines = [json.loads(event["message"]) for event in events["events"]]
        assert lines, service
        assert {line["correlation_id"] for line in lines} == {correlation_id}, service

    # Under load a cold start can outlast the 3 s visibility timeout, and SQS hands a ride out
    # again: ignored as a duplicate, or, while FAILURE_RATE is 1, failed on purpose before the
    # duplicate check. The failing ride fails exactly five times; what other rides failed so
    # is read from the log lines, ride by ride, and allowed for in the counts.
    injected = Counter(
        json.loads(event["message"]).get("ride_id")
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{system.outputs('accounting')['FunctionName']}",
            filterPattern='"failing this record on purpose"',
        )
        for event in page["events"]
    )
    assert injected[failing_id] == 5, injected
    redelivered_and_failed = injected.total() - 5

    since = started.isoformat(timespec="seconds").replace("+00:00", "Z")
    counts = stats_counts(make("-s", "stats", f"SINCE={since}", "TARGET=local", env=env))
    assert counts["notification"]["RideReceived"] == 3
    assert counts["notification"]["RideProcessed"] == 3
    assert counts["extraordinary"]["RideProcessed"] == 1
    assert counts["accounting"]["RideProcessed"] == 1
    assert counts["accounting"]["InjectedFailure"] == 5 + redelivered_and_failed
    # One receive per attempt, plus each redelivery (ignored as a duplicate, or failed).
    duplicates = counts["accounting"].get("RideDuplicate", 0)
    assert counts["accounting"]["RideReceived"] == 6 + duplicates + redelivered_and_failed
    assert counts["accounting"]["DLQ now"] >= 1
    assert counts["management"]["RideAccepted"] == 3
    assert counts["management"]["RidePublished"] == 3

    namespace = system.outputs("platform")["MetricsNamespace"]
    answer = system.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName="InjectedFailure",
        Dimensions=[{"Name": "service", "Value": "accounting"}],
        StartTime=started,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 5 + redelivered_and_failed

    # The fault is fixed (FAILURE_RATE 0): the DLQ goes back to the queue, the ride is booked
    # once, and its trace says after how many failures.
    output = make("-s", "redrive", "SERVICE=accounting", "TARGET=local", env=env)
    assert "done: completed" in output, output
    assert wait_until(lambda: system.received("accounting", failing_id))
    # The trace reads the function's log lines, which reach CloudWatch Logs after the booking
    # (shipped in batches, as Lambda's are): under load, a moment after the record.
    assert wait_until(
        lambda: (
            "processed after 5 failed attempt(s)"
            in trace_rows(run_tool(trace.main, failing_id))["accounting"]
        ),
        timeout_s=30,
    ), trace_rows(run_tool(trace.main, failing_id))["accounting"]
    refused = redrive.main(["--target", "local", "--service", "accounting"])
    assert refused == 2  # the DLQ is empty now (or a move still runs): nothing to start

    # Replaying a ride a service has: a duplicate, its record unchanged.
    ride_id = everyone.body["id"]
    table, key = system.consumers["notification"].table, {"rideId": {"S": ride_id}}
    before = system.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    replay_one = ("-s", "replay", "SERVICE=notification", f"RIDE={ride_id}", "TARGET=local")
    output = make(*replay_one, env=env)
    assert "done: read 1, matched 1, sent 1, skipped by the filter 0" in output
    assert wait_until(
        lambda: (
            "1 duplicate deliver(ies) ignored"
            in trace_rows(run_tool(trace.main, ride_id))["notification"]
        ),
        timeout_s=30,
    )
    assert system.client("dynamodb").get_item(TableName=table, Key=key)["Item"] == before
    # Everything since the start, to extraordinary: only what its filter matches is sent.
    output = run_tool(replay.main, "--service", "extraordinary", "--since", since)
    assert "matched 1, sent 1, skipped by the filter 2" in output

    # A ride SNS could not deliver (the raw ride in the delivery DLQ) reaches the service.
    lost = Ride.from_request(RideRequest.model_validate(ride(42, 4)))
    message = sns_message(lost, "lost-request")
    system.client("sqs").send_message(
        QueueUrl=system.outputs("accounting")["DeliveryDeadLetterQueueUrl"],
        MessageBody=message["Message"],
        MessageAttributes=message["MessageAttributes"],
    )
    output = run_tool(redrive.main, "--service", "accounting", "--from", "delivery")
    assert "done: sent 1 to the queue, left in the delivery DLQ 0" in output
    assert wait_until(lambda: system.received("accounting", lost.id))


def test_trace_refuses_an_unknown_ride_and_stats_a_bad_window(system: System) -> None:
    env = {**os.environ}
    unknown = uuid.uuid4().hex
    result = run_make("-s", "trace", f"RIDE={unknown}", "TARGET=local", cwd=REPO_ROOT, env=env)
    assert result.returncode != 0
    assert f"no ride with id {unknown}" in result.stderr
    result = run_make("-s", "stats", "SINCE=20d", "TARGET=local", cwd=REPO_ROOT, env=env)
    assert result.returncode != 0
    assert "more than 15 days ago" in result.stderr


def test_a_scaffolded_service_receives_exactly_the_rides_its_filter_matches(
    system: System, tmp_path: Path
) -> None:
    """make new-service in a copy of the repository, deployed beside the others: the rides its
    filter (fare >= 100) matches arrive, once each, and no other."""
    copy = repository_copy(tmp_path / "repo")
    env = {**os.environ}
    make(
        "new-service",
        "NAME=high-fare",
        'FILTER={"fare":[{"numeric":[">=",100]}]}',
        env=env,
        cwd=copy,
    )
    make("deploy", "SERVICE=high-fare", "TARGET=local", env=env, cwd=copy)
    try:
        table = stacks.service_outputs("wild-rydes-high-fare", system.env)["TableName"]
        fares = {
            Decimal("5"): False,
            Decimal("99.99"): False,
            Decimal("100"): True,
            Decimal("250.5"): True,
        }
        ids = {system.post(ride(float(fare), 3)).body["id"]: fare for fare in fares}
        expected = {ride_id for ride_id, fare in ids.items() if fares[fare]}
        dynamodb = system.client("dynamodb")

        def recorded() -> list[str]:
            items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
            return sorted(item["rideId"]["S"] for item in items)

        # Every ride reached notification (no filter): the fan-out of all four is done.
        assert wait_until(lambda: all(system.received("notification", i) for i in ids))
        assert wait_until(lambda: set(recorded()) >= expected)
        wait_until(lambda: False, timeout_s=3)  # room for a late, wrong delivery to show
        assert recorded() == sorted(expected)
    finally:
        make("destroy", "SERVICE=high-fare", "TARGET=local", env=env, cwd=copy)
