"""Faults from the AWS side, end to end: the whole system deployed into a private localcloud
whose functions and event-source pollers call AWS through a fault proxy (microburst, via
LOCALCLOUD_FAULTS), while the clients and these checks read the truth from moto directly.

1. About one call in five fails the way AWS fails it (tests/faults/mix.py) — SNS Publish /
   PublishBatch, DynamoDB PutItem / TransactWriteItems / UpdateItem, the pollers' SQS
   ReceiveMessage / DeleteMessage(Batch) — while 8 clients submit 200 rides, retrying "not now"
   answers with their Idempotency-Key. Every accepted ride reaches exactly the consumers whose
   filter policy matches, each records it once, no DLQ holds anything.
2. A consumer's worker process is killed (SIGKILL) in the middle of a batch: the batch comes
   back after the visibility timeout and every ride is booked once.
3. A permanent fault (every write to the accounting table is denied) parks its rides in the
   accounting DLQ after maxReceiveCount receives; once lifted, an SQS message move task
   (StartMessageMoveTask, where localcloud implements it) brings them back and each is booked
   once.

KMS: no call of ours reaches KMS locally — the handlers never call it and moto's SNS and SQS do
not encrypt — so the KMS rule counts 0 calls and nothing here claims KMS faults. KMS throttling
reaches this system on AWS as SNS `KMSThrottling` on publish, which the mix injects. SNS's
deliveries to the queues happen inside moto and are not faulted.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from wildrydes.observability import MetricName

from localcloud import patches, state
from localcloud.faults.control import FaultKey
from scripts import stats, trace
from tests.e2e.conftest import wait_until
from tests.faults import mix, traffic
from tests.faults.audit import DLQ_OUTPUTS, audit, customer_totals, expected_deliveries
from tests.faults.conftest import STARTUP_RULES, FaultySystem

pytestmark = pytest.mark.faults

RIDES = 200
CLIENTS = 8
# Redelivery in seconds, not a minute, but never shorter than a batch can take: Lambda refuses
# a mapping whose queue's visibility timeout is under the function's timeout (10 s), because a
# batch still running when its messages reappear is received again, and those extra receives
# count toward maxReceiveCount (5). At 5 s, one run parked a ride that was booked in the DLQ.
FAULT_VISIBILITY_S = 12  # > the 10 s function timeout + the 1 s batching window
DEFAULT_VISIBILITY_S = 65  # the templates' value (>= 6 x the 10 s function timeout + window)
SETTLE_TIMEOUT_S = 240
CONSUMER_COUNTS = (
    MetricName.RIDE_RECEIVED,
    MetricName.RIDE_PROCESSED,
    MetricName.RIDE_DUPLICATE,
    MetricName.RIDE_FAILED,
)
MANAGEMENT_COUNTS = (
    MetricName.RIDE_ACCEPTED,
    MetricName.RIDE_REPLAYED,
    MetricName.RIDE_PUBLISHED,
    MetricName.RIDE_PUBLISH_FAILED,
)


def run_id() -> str:
    return f"faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fast_redelivery(faulty: FaultySystem) -> Iterator[None]:
    for service in faulty.system.consumers:
        faulty.set_visibility(service, FAULT_VISIBILITY_S)
    yield
    faulty.faults.set_rules([])
    for service in faulty.system.consumers:
        faulty.set_visibility(service, DEFAULT_VISIBILITY_S)


def metric_counts(faulty: FaultySystem, since: datetime) -> dict[str, Counter[str]]:
    """The functions' own counters since `since` (CloudWatch, from their EMF lines)."""
    system = faulty.system
    namespace = faulty.outputs("platform")["MetricsNamespace"]
    cloudwatch = faulty.client("cloudwatch")
    until = datetime.now(UTC) + timedelta(minutes=1)
    counts: dict[str, Counter[str]] = {}
    for service, names in (
        ("management", MANAGEMENT_COUNTS),
        *((consumer, CONSUMER_COUNTS) for consumer in sorted(system.consumers)),
    ):
        counts[service] = Counter(
            {
                name.value: stats.metric_total(cloudwatch, namespace, name, service, since, until)
                for name in names
            }
        )
    return counts


def queues_drained(faulty: FaultySystem) -> bool:
    return all(faulty.depth(faulty.queue_url(service)) == 0 for service in faulty.system.consumers)


def test_the_proxy_started_with_the_rules_of_the_faults_file(faulty: FaultySystem) -> None:
    loaded = [
        {key: rule[key] for key in ("service", "operation", "probability", "error")}
        for rule in faulty.faults.rules()
    ]
    assert loaded == [
        {key: rule[key] for key in ("service", "operation", "probability", "error")}
        for rule in STARTUP_RULES
    ]


def test_one_call_in_five_fails_and_every_ride_is_recorded_exactly_once(
    faulty: FaultySystem, fast_redelivery: None, summary: list[str]
) -> None:
    system = faulty.system
    faulty.faults.set_rules(mix.one_in_five(system.consumers["accounting"].table))
    faults_before = faulty.faults.fault_counts()
    calls_before = faulty.faults.requests_by_service()
    started = datetime.now(UTC)
    clock = time.monotonic()

    submissions = traffic.submit_all(system, run_id(), RIDES, CLIENTS)
    submitted_s = time.monotonic() - clock
    rides = [s.ride for s in submissions if s.ride is not None]
    refused = [(s.index, s.statuses) for s in submissions if s.ride is None]
    assert not refused, f"requests never accepted (index, answers): {refused}"

    expected = expected_deliveries(faulty, rides)
    pending = {key for key, wanted in expected.items() if wanted}

    def settled() -> bool:
        for ride_id, service in list(pending):
            if faulty.received(service, ride_id):
                pending.discard((ride_id, service))
        return not pending and queues_drained(faulty)

    clock = time.monotonic()
    assert wait_until(settled, timeout_s=SETTLE_TIMEOUT_S, every_s=1.0), (
        f"{len(pending)} deliveries still missing after {SETTLE_TIMEOUT_S} s: "
        f"{sorted(pending)[:10]}\n{diagnosis(faulty, pending)}"
    )
    settle_s = time.monotonic() - clock
    faults = faulty.faults.fault_counts() - faults_before
    calls = faulty.faults.requests_by_service() - calls_before
    faulty.faults.set_rules([])
    time.sleep(3)  # a late duplicate (a republished ride, a redelivery) would land by now

    result = audit(faulty, rides, requests=len(submissions))
    counts = metric_counts(faulty, started)
    summary.extend(
        one_in_five_figures(submissions, submitted_s, settle_s, faults, calls, counts, expected)
    )
    summary.append(
        f"  lost {len(result.lost)}, duplicated {result.duplicated}, misrouted "
        f"{len(result.misrouted)}, DLQ messages {sum(result.dlq_depths.values())}"
    )
    assert result.deliveries == sum(expected.values())
    assert not result.lost, f"lost deliveries: {result.lost[:10]}"
    assert not result.misrouted, f"deliveries no filter policy asked for: {result.misrouted[:10]}"
    assert not result.wrong_totals, f"accounting totals (expected, booked): {result.wrong_totals}"
    assert result.duplicated == 0
    assert not result.dlq_depths, f"messages in DLQs: {result.dlq_depths}"
    # The faults did fire, on every faulted service our calls reach (KMS: none do).
    faulted = Counter({key.service: n for key, n in faults.items()})
    for service in ("dynamodb", "sns", "sqs"):
        assert faulted[service] > 0, f"no {service} call was faulted: {dict(faults)}"
    assert calls["kms"] == 0
    # The publisher's own retry path ran: SNS refused at least one publication outright.
    assert any(key.action == "error:KMSThrottling" for key in faults)


def diagnosis(faulty: FaultySystem, pending: set[tuple[str, str]], rides: int = 3) -> str:
    """What an operator would look at for deliveries that never landed: every consumer queue's
    depth (visible / in flight) and `make trace` of the first few missing rides."""
    sqs = faulty.client("sqs")
    lines = ["queues (visible, in flight):"]
    for service in sorted(faulty.system.consumers):
        for output in ("QueueUrl", *DLQ_OUTPUTS):
            attributes = sqs.get_queue_attributes(
                QueueUrl=faulty.queue_url(service, output),
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            lines.append(
                f"  {service} {output}: {attributes['ApproximateNumberOfMessages']}, "
                f"{attributes['ApproximateNumberOfMessagesNotVisible']}"
            )
    for ride_id in sorted({ride_id for ride_id, _ in pending})[:rides]:
        try:
            lines.extend(trace.trace(ride_id, "wild-rydes", faulty.system.env))
        except Exception as error:  # a diagnosis must not hide the failure it explains
            lines.append(f"trace {ride_id} failed: {error!r}")
    return "\n".join(lines)


def one_in_five_figures(
    submissions: list[traffic.Submission],
    submitted_s: float,
    settle_s: float,
    faults: Counter[FaultKey],
    calls: Counter[str],
    counts: dict[str, Counter[str]],
    expected: dict[tuple[str, str], bool],
) -> list[str]:
    by_service: Counter[str] = Counter()
    by_operation: Counter[str] = Counter()
    for key, n in faults.items():
        by_service[key.service] += n
        by_operation[f"{key.service} {key.operation} {key.action.split(':', 1)[-1]}"] += n
    answers = traffic.status_counts(submissions)
    retried = sum(s.retries for s in submissions)
    deliveries = Counter(service for (_, service), wanted in expected.items() if wanted)
    lines = [
        f"one call in five fails: {len(submissions)} rides by {CLIENTS} clients in "
        f"{submitted_s:.1f} s, {sum(s.ride is not None for s in submissions)} accepted; "
        f"API answers {dict(sorted(answers.items(), key=str))}, {retried} client retries",
        "  calls faulted by the proxy / calls it saw: "
        + ", ".join(
            f"{service} {by_service[service]}/{calls[service]}"
            + (f" ({by_service[service] / calls[service]:.0%})" if calls[service] else "")
            for service in ("dynamodb", "sns", "sqs", "kms")
        )
        + " (KMS: no call of ours reaches it locally)",
        "  faults by operation: "
        + ", ".join(f"{name} {n}" for name, n in sorted(by_operation.items())),
    ]
    management = counts["management"]
    lines.append(
        f"  management: accepted {management['RideAccepted']}, replayed (client retries the "
        f"stored ride answered) {management['RideReplayed']}, published "
        f"{management['RidePublished']}, publish failures retried by the stream "
        f"{management['RidePublishFailed']}"
    )
    for service, wanted in sorted(deliveries.items()):
        got = counts[service]
        # A ride not counted processed was booked by a write whose answer was lost: the SDK's
        # retry met that write and counted it as a duplicate. Its item is there all the same.
        lines.append(
            f"  {service}: {wanted} rides, received {got['RideReceived']} "
            f"(+{got['RideReceived'] - wanted}: redeliveries and republications), processed "
            f"{got['RideProcessed']} (+{wanted - got['RideProcessed']} booked by a write whose "
            f"answer was lost), duplicates ignored {got['RideDuplicate']}, failed and retried "
            f"{got['RideFailed']}"
        )
    lines.append(f"  time to settle after the last ride was accepted: {settle_s:.1f} s")
    return lines


# ---- a worker killed mid-batch ---------------------------------------------------------------


def worker_pid(localcloud_pid: int, log_stream: str) -> int | None:
    """The worker process (a child of localcloud) whose execution environment writes to
    `log_stream`: each worker has its own stream, named in its environment as on Lambda."""
    wanted = f"AWS_LAMBDA_LOG_STREAM_NAME={log_stream}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = re.search(r"^PPid:\s+(\d+)$", (entry / "status").read_text(), re.MULTILINE)
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours
        if parent and int(parent[1]) == localcloud_pid and wanted in environ:
            return int(entry.name)
    return None


def log_events(faulty: FaultySystem, function: str, since: datetime) -> list[dict[str, Any]]:
    return faulty.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{function}", startTime=int(since.timestamp() * 1000)
    )["events"]


def test_a_worker_killed_mid_batch_gets_its_batch_again_and_books_each_ride_once(
    faulty: FaultySystem, summary: list[str]
) -> None:
    system = faulty.system
    function = faulty.outputs("accounting")["FunctionName"]
    table = system.consumers["accounting"].table
    visibility_s = 8  # the batch stays in flight while the test finds and kills its worker
    faulty.set_visibility("accounting", visibility_s)
    # Each booking of the batch is held 1.5 s by the proxy: a slow table makes the batch take
    # long enough to be killed half-way.
    faulty.faults.set_rules(
        [{"service": "dynamodb", "body": mix.writes_to(table), "latency": 1500}]
    )
    try:
        run = run_id()
        since = datetime.now(UTC)
        submissions = [
            traffic.Submission(i, f"{run}-{i}", {**traffic.ride_body(run, 1), "customer": run})
            for i in range(4)
        ]
        # Together, so the publisher sends them in one batch and they reach one SQS batch.
        threads = [threading.Thread(target=traffic.submit, args=(system, s)) for s in submissions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rides = [s.ride for s in submissions]
        assert all(rides), [s.statuses for s in submissions]
        ride_ids = [str(ride["id"]) for ride in rides if ride]

        def booked() -> list[str]:
            return [ride_id for ride_id in ride_ids if faulty.received("accounting", ride_id)]

        assert wait_until(lambda: bool(booked()), timeout_s=60, every_s=0.1)
        first = booked()[0]

        def stream_of_first() -> str | None:
            for event in log_events(faulty, function, since):
                if first in event["message"] and "ride processed" in event["message"]:
                    return str(event["logStreamName"])
            return None

        assert wait_until(lambda: stream_of_first() is not None, timeout_s=10, every_s=0.1)
        running = state.read()
        assert running is not None
        pid = worker_pid(running.pid, str(stream_of_first()))
        assert pid is not None, "no worker process writes to the stream of the batch"
        os.kill(pid, signal.SIGKILL)
        booked_at_kill = len(booked())
        faulty.faults.set_rules([])  # the table is quick again for the redelivery

        assert booked_at_kill < len(ride_ids), "the batch had finished before the kill"
        assert wait_until(lambda: len(booked()) == len(ride_ids), timeout_s=60)
        time.sleep(2)  # a second booking would land by now
        want = {
            "fare": sum(Decimal(str(ride["fare"])) for ride in rides if ride),
            "distance": sum(Decimal(str(ride["distance"])) for ride in rides if ride),
            "rides": Decimal(len(ride_ids)),
        }
        assert customer_totals(faulty, run) == want
        report = [e["message"] for e in log_events(faulty, function, since)]
        # Lambda's record of the invocation that died with its worker (localcloud's REPORT
        # line, as Lambda's: Status: error, not a timeout).
        crashed = [line for line in report if line.startswith("REPORT") and "Status: error" in line]
        assert crashed, "no REPORT line says the invocation died"
        duplicates = sum("duplicate delivery ignored" in line for line in report)
        summary.append(
            f"worker killed mid-batch: SIGKILL to pid {pid} with {booked_at_kill} of "
            f"{len(ride_ids)} rides booked; the batch came back after the {visibility_s} s "
            f"visibility timeout: {len(ride_ids)} booked once each, {duplicates} of them "
            "already booked (ignored as duplicates)"
        )
    finally:
        faulty.faults.set_rules([])
        faulty.set_visibility("accounting", DEFAULT_VISIBILITY_S)


# ---- a permanent fault, its DLQ, and the redrive -----------------------------------------------


@dataclass
class Parked:
    customer: str
    rides: list[dict[str, Any]]
    dlq_arn: str
    dlq_url: str
    parked_s: float  # from submission to every ride in the DLQ
    in_dlq: int
    booked_while_broken: int
    booked_after_lifting: bool  # a new ride, once the fault was lifted


def denied(table: str, function: str) -> dict[str, Any]:
    """Every write to `table` refused as IAM refuses it: the policy lost its statement."""
    return {
        "service": "dynamodb",
        "body": mix.writes_to(table),
        "error": {
            "code": "AccessDeniedException",
            "status": 400,
            "message": (
                f"User: arn:aws:sts::123456789012:assumed-role/{function}-role/{function} is "
                "not authorized to perform: dynamodb:TransactWriteItems on resource: "
                f"arn:aws:dynamodb:us-east-1:123456789012:table/{table} because no "
                "identity-based policy allows the dynamodb:TransactWriteItems action"
            ),
        },
    }


@pytest.fixture(scope="module")
def parked(faulty: FaultySystem) -> Iterator[Parked]:
    """Accounting's writes fail until its rides sit in its DLQ, then the fault is lifted."""
    system = faulty.system
    outputs = faulty.outputs("accounting")
    table = system.consumers["accounting"].table
    sqs = faulty.client("sqs")
    dlq_url = outputs["DeadLetterQueueUrl"]
    faulty.set_visibility("accounting", 3)  # 5 receives in ~20 s
    faulty.faults.set_rules([denied(table, outputs["FunctionName"])])
    try:
        run = run_id()
        clock = time.monotonic()
        submissions = [
            traffic.submit(
                system,
                traffic.Submission(i, f"{run}-{i}", {**traffic.ride_body(run, 1), "customer": run}),
            )
            for i in range(5)
        ]
        rides = [s.ride for s in submissions if s.ride]
        assert len(rides) == len(submissions)
        ids = [str(ride["id"]) for ride in rides]
        assert wait_until(
            lambda: faulty.depth(dlq_url) >= len(ids) and queues_drained(faulty), timeout_s=120
        )
        parked_s = time.monotonic() - clock
        in_dlq = faulty.depth(dlq_url)
        booked = sum(faulty.received("accounting", ride_id) for ride_id in ids)
        faulty.faults.set_rules([])  # lifted
        after = traffic.submit(
            system, traffic.Submission(99, f"{run}-after", traffic.ride_body(run, 1))
        )
        assert after.ride_id
        recovered = wait_until(lambda: faulty.received("accounting", str(after.ride_id)), 30)
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        yield Parked(run, rides, dlq_arn, dlq_url, parked_s, in_dlq, booked, recovered)
    finally:
        faulty.faults.set_rules([])
        faulty.set_visibility("accounting", DEFAULT_VISIBILITY_S)


def test_a_permanent_fault_parks_a_consumers_rides_in_its_dlq(
    faulty: FaultySystem, parked: Parked, summary: list[str]
) -> None:
    assert parked.in_dlq == len(parked.rides)
    assert parked.booked_while_broken == 0
    assert all(faulty.received("notification", str(ride["id"])) for ride in parked.rides)
    assert parked.booked_after_lifting
    summary.append(
        f"permanent fault (accounting's writes denied): {len(parked.rides)} rides in its DLQ "
        f"after maxReceiveCount receives, {parked.parked_s:.1f} s; none booked, notification "
        "unaffected; a ride after lifting the fault booked"
    )


REDRIVE = "sqs_message_move_tasks"


@pytest.mark.skipif(
    REDRIVE not in patches.names(),
    reason=(
        "localcloud does not implement SQS StartMessageMoveTask yet (moto answers 500; the "
        f"{REDRIVE} patch in localcloud/patches.py adds it): the parked rides stay in the DLQ"
    ),
)
def test_redrive_after_lifting_the_fault_books_each_parked_ride_once(
    faulty: FaultySystem, parked: Parked, summary: list[str]
) -> None:
    sqs = faulty.client("sqs")
    clock = time.monotonic()
    sqs.start_message_move_task(SourceArn=parked.dlq_arn)
    ids = [str(ride["id"]) for ride in parked.rides]
    assert wait_until(
        lambda: (
            all(faulty.received("accounting", ride_id) for ride_id in ids)
            and faulty.depth(parked.dlq_url) == 0
        ),
        timeout_s=90,
    )
    time.sleep(2)  # a second booking would land by now
    assert customer_totals(faulty, parked.customer) == {
        "fare": sum(Decimal(str(ride["fare"])) for ride in parked.rides),
        "distance": sum(Decimal(str(ride["distance"])) for ride in parked.rides),
        "rides": Decimal(len(parked.rides)),
    }
    summary.append(
        f"redrive: StartMessageMoveTask brought {len(ids)} rides back from the DLQ in "
        f"{time.monotonic() - clock:.1f} s; each booked once"
    )
