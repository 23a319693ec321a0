"""End-to-end throughput and latency of the local system against raw moto.

    .venv/bin/python bench/e2e.py [--rides 200] [--clients 4] [--reuse] [--timeout 120]

1. localcloud: starts a private localcloud (free ports, a temporary LOCALCLOUD_HOME) and deploys
   the five stacks with the real `make local-up` + `make deploy-all TARGET=local`, as the e2e
   tests do (with --reuse: the already running default localcloud and its deployed stacks;
   nothing is started or stopped then). After a warm-up it POSTs N rides from C concurrent
   clients (threads, each sending its next ride when its POST returns) through the local API
   with the API key, and records each POST's latency. A ride's submit-to-last-consumer latency
   runs from its POST's start until the last consumer whose filter policy matches it
   (smoke.Consumer.should_receive) has its record; the moment is the consumer handler's own
   timestamp in that record (sentAt, bookedAt, flaggedAt: wall clock, same machine). A
   background poller reads the records still awaited by key (BatchGetItem, ConsistentRead, two
   attributes) to learn when every record is there; its rounds do not limit the measured
   latency, and cost what is in flight, not what the tables already hold.
2. Baseline, same run: a raw moto server in its own process (as localcloud's moto is) with one
   SNS topic and three SQS queues subscribed with the deployed subscriptions' filter policies.
   The same N rides (wildrydes.events.sns_message) are published from C threads; one
   long-polling receiver per queue notes when each ride arrives.
   Both sides also send a few rides one at a time ("idle" latency, no backlog).
   The "estimate" row is the rides/s localcloud would reach with POSTs as fast as the
   baseline's publishes and each ride then taking the idle fan-out time (the batching windows
   and the calls between them): rides / (the baseline's submission time + localcloud's idle
   fan-out p50). Under load a batch that fills leaves before its window closes, so this is an
   estimate, not a bound; a fan-out ratio well above its own needs POSTs faster than that.
3. The runtime's warm invocation overhead (bench/runtime_overhead.py; target < 5 ms p50).

Not part of `make test`: timings depend on the machine. Exit code 0 when every ride fanned out.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parents[1]
# The repository (localcloud, scripts) and the shared layer (wildrydes.*) as the handlers see it.
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "shared" / "layer")]

from localcloud import state  # noqa: E402
from scripts import smoke, stacks  # noqa: E402

DEPLOY_TIMEOUT_S = 900
WARM_UP_TIMEOUT_S = 180.0
# Pause between two reads of the consumer tables: the reads load localcloud's moto server, which
# the system under test uses too. Latencies come from the records' own timestamps, so the pause
# only delays noticing that a run is complete.
READ_PAUSE_S = 0.25
BATCH_GET_LIMIT = 100  # keys per BatchGetItem
POLLER_LIMIT_S = 1800.0  # a poller stops by itself after this, whatever happens
MAX_THROTTLE_RETRIES = 8
OVERHEAD_TARGET_MS = 5.0
# Ride shapes that exercise the filters (notification: all; accounting: fare > 0;
# extraordinary: fare >= 50 or distance >= 20).
PROFILES = (
    {"distance": 600, "fare": 256.5, "duration": 480},  # the seed's ride: all three
    {"distance": 3, "fare": 8.4, "duration": 11},  # short and cheap: notification, accounting
    {"distance": 2, "fare": 0, "duration": 7},  # free: notification only
    {"distance": 35, "fare": 0, "duration": 40},  # long but free: notification, extraordinary
)
CITIES = ("Berlin", "Munich", "Hamburg", "Cologne", "Leipzig", "Dresden", "Bonn", "Kiel")

Seen = tuple[str, str]  # (service, ride id)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_rides(count: int, seed: int) -> list[dict[str, Any]]:
    chooser = random.Random(seed)
    rides = []
    for index in range(count):
        origin, destination = chooser.sample(CITIES, 2)
        rides.append(
            {
                "from": origin,
                "to": destination,
                "customer": f"bench-{chooser.randrange(1000):03d}",
                **PROFILES[index % len(PROFILES)],
            }
        )
    return rides


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# ---- measuring one side --------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    ride_id: str
    began: float  # wall clock (time.time()) at the submission's start
    submit_ms: float
    expected: frozenset[str]  # the services whose filter policy matches the ride


@dataclass
class Result:
    name: str
    submit_ms: list[float] = field(default_factory=list)
    fan_out_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0  # rides the API did not accept (after retrying 429s)
    throttled: int = 0  # 429 answers, retried
    missing: list[str] = field(default_factory=list)  # "ride id: services"
    wall_s: float = 0.0  # first submission's start to the last ride's last delivery
    # First submission's start to the last one's end, as began + submit_ms: a ride retried
    # after 429s would count short (submit_ms is its last attempt's); only the baseline's
    # span is used, and the baseline has no retries.
    submit_span_s: float = 0.0

    @property
    def delivered(self) -> int:
        return len(self.fan_out_ms)

    @property
    def rides_per_s(self) -> float:
        return self.delivered / self.wall_s if self.wall_s > 0 else 0.0


class Poller:
    """A background thread that runs `poll_once` in rounds and keeps, per (service, ride id),
    the delivery time it reports (or, when it reports none, the time it first saw it).
    Bounded by `limit_s` even if nobody stops it."""

    def __init__(
        self,
        poll_once: Callable[[], Iterator[tuple[str, str, float | None]]],
        pause_s: float = 0.0,
        limit_s: float = POLLER_LIMIT_S,
    ) -> None:
        self.seen: dict[Seen, float] = {}
        self._poll_once = poll_once
        self._pause_s = pause_s
        self._limit_s = limit_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors = 0

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                for service, ride_id, delivered in self._poll_once():
                    self.seen.setdefault((service, ride_id), delivered or time.time())
            except Exception as error:  # keep polling: a transient error must not end the run
                self.errors += 1
                if self.errors <= 3:
                    log(f"poller error: {error!r}")
                self._stop.wait(0.5)
            self._stop.wait(self._pause_s)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class Side(Protocol):
    name: str

    def submit(self, ride: Mapping[str, Any]) -> tuple[Submitted | None, int]:
        """Submit one ride: what was accepted (None if rejected) and how many 429s it took."""
        ...

    def pollers(self) -> list[Poller]: ...


def measure(
    side: Side, rides: Sequence[Mapping[str, Any]], clients: int, timeout_s: float
) -> Result:
    """Submit the rides from `clients` threads, wait (bounded) for their fan-out, and time it."""
    result = Result(side.name)
    submitted: list[Submitted] = []
    with ExitStack() as running:
        pollers = [running.enter_context(poller) for poller in side.pollers()]
        with ThreadPoolExecutor(max_workers=clients) as pool:
            for accepted, throttled in pool.map(side.submit, rides):
                result.throttled += throttled
                if accepted is None:
                    result.rejected += 1
                else:
                    submitted.append(accepted)
        wanted = [(service, s.ride_id) for s in submitted for service in s.expected]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(
            any(key in poller.seen for poller in pollers) for key in wanted
        ):
            time.sleep(0.05)
    seen: dict[Seen, float] = {}
    for poller in pollers:
        seen.update(poller.seen)

    result.accepted = len(submitted)
    result.submit_ms = [s.submit_ms for s in submitted]
    first_start = min((s.began for s in submitted), default=0.0)
    last_delivery = first_start
    for ride in submitted:
        services = sorted(ride.expected)
        absent = [service for service in services if (service, ride.ride_id) not in seen]
        if absent:
            result.missing.append(f"{ride.ride_id}: {', '.join(absent)}")
            continue
        done = max(seen[(service, ride.ride_id)] for service in services)
        result.fan_out_ms.append((done - ride.began) * 1000)
        last_delivery = max(last_delivery, done)
    result.wall_s = last_delivery - first_start
    result.submit_span_s = max((s.began + s.submit_ms / 1000 for s in submitted), default=0.0)
    result.submit_span_s = max(0.0, result.submit_span_s - first_start)
    return result


def idle(side: Side, rides: Sequence[Mapping[str, Any]], timeout_s: float) -> Result:
    """One ride at a time, each waited for: the fan-out latency without a backlog."""
    total = Result(side.name)
    for ride in rides:
        one = measure(side, [ride], 1, timeout_s)
        total.fan_out_ms += one.fan_out_ms
        total.missing += one.missing
    return total


# ---- localcloud ----------------------------------------------------------------------------


def make(*args: str, env: Mapping[str, str], timeout: float) -> None:
    started = time.monotonic()
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"make {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        )
    log(f"make {' '.join(args)}: {time.monotonic() - started:.0f} s")


@contextmanager
def private_localcloud() -> Iterator[None]:
    """A localcloud of our own on free ports with all stacks deployed; always stopped."""
    home = tempfile.mkdtemp(prefix="wildrydes-bench-")
    private = {
        "LOCALCLOUD_HOME": home,
        "LOCALCLOUD_PORT": str(free_port()),
        "LOCALCLOUD_APIGW_PORT": str(free_port()),
    }
    saved = {name: os.environ.get(name) for name in private}
    os.environ.update(private)  # so state/stacks/smoke in this process find it
    env = dict(os.environ)
    stopped = False
    try:
        log(f"starting a private localcloud in {home}")
        make("local-up", env=env, timeout=120)
        try:
            log("deploying all stacks (make deploy-all TARGET=local)")
            make("deploy-all", "TARGET=local", env=env, timeout=DEPLOY_TIMEOUT_S)
            yield
        finally:
            make("local-down", env=env, timeout=120)
            stopped = state.read() is None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if stopped:
            shutil.rmtree(home, ignore_errors=True)
        else:
            log(f"localcloud may still run: its state is in {home}")


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Localcloud:
    """The deployed system: rides go in through the API, arrive in the consumers' tables."""

    name = "localcloud"

    def __init__(self) -> None:
        env = stacks.target_environment("local")
        outputs = stacks.stack_outputs("wild-rydes-management", env)
        self.url = smoke.api_endpoint(outputs, "local")
        self.key = smoke.api_key(outputs, env)
        self.consumers = smoke.consumers("wild-rydes", env)
        self._dynamodb = stacks.client("dynamodb", env)
        # (service, ride id) accepted by the API and not yet found in the service's table.
        self._outstanding: dict[Seen, None] = {}
        self._outstanding_lock = threading.Lock()
        self.batching_windows: dict[str, int] = {}  # event source kind -> longest window (s)
        lambda_client = stacks.client("lambda", env)
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
            for mapping in page["EventSourceMappings"]:
                kind = mapping["EventSourceArn"].split(":")[2]  # dynamodb, sqs
                window = int(mapping.get("MaximumBatchingWindowInSeconds") or 0)
                self.batching_windows[kind] = max(self.batching_windows.get(kind, 0), window)

    def _post(self, ride: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - our loopback API
            self.url,
            data=json.dumps(ride).encode(),
            headers={"Content-Type": "application/json", "x-api-key": self.key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}

    def submit(self, ride: Mapping[str, Any]) -> tuple[Submitted | None, int]:
        began = time.time()
        for attempt in range(MAX_THROTTLE_RETRIES + 1):
            attempt_began = time.perf_counter()
            status, body = self._post(ride)
            elapsed_ms = (time.perf_counter() - attempt_began) * 1000
            if status != 429 or attempt == MAX_THROTTLE_RETRIES:
                break
            time.sleep(0.05 * (attempt + 1))
        if status != 201 or "id" not in body:
            return None, attempt
        expected = frozenset(c.service for c in self.consumers if c.should_receive(body))
        self._expect(body["id"], expected)
        return Submitted(body["id"], began, elapsed_ms, expected), attempt

    def _expect(self, ride_id: str, services: frozenset[str]) -> None:
        with self._outstanding_lock:
            for service in services:
                self._outstanding[(service, ride_id)] = None

    def _read_delivered(
        self, outstanding: dict[Seen, None]
    ) -> Iterator[tuple[str, str, float | None]]:
        """(service, ride id, when its handler recorded it) for the awaited records that now
        exist. Only records still awaited are read (by key, ConsistentRead), so a round costs
        what is in flight, not what the tables hold: the observer must not load localcloud
        more as the tables grow (the baseline's receivers cost nothing per old message)."""
        with self._outstanding_lock:
            awaited = list(outstanding)
        for consumer in self.consumers:
            ride_ids = [ride_id for service, ride_id in awaited if service == consumer.service]
            # The item key and record time of a ride, from the service's manifest.
            attribute, prefix = next(iter(consumer.received.item_key("").items()))
            recorded_at = consumer.received.recorded_at
            for start in range(0, len(ride_ids), BATCH_GET_LIMIT):
                chunk = ride_ids[start : start + BATCH_GET_LIMIT]
                answer = self._dynamodb.batch_get_item(
                    RequestItems={
                        consumer.table: {
                            "Keys": [consumer.received.item_key(ride_id) for ride_id in chunk],
                            "ConsistentRead": True,
                            "ProjectionExpression": "#k, #t",
                            "ExpressionAttributeNames": {"#k": attribute, "#t": recorded_at},
                        }
                    }
                )
                # Keys left unprocessed stay awaited: the next round asks again.
                for item in answer["Responses"].get(consumer.table, []):
                    ride_id = item[attribute]["S"][len(prefix["S"]) :]
                    moment = item.get(recorded_at, {}).get("S")
                    yield consumer.service, ride_id, iso_seconds(moment) if moment else None
                    with self._outstanding_lock:  # the poller has it now
                        outstanding.pop((consumer.service, ride_id), None)

    def pollers(self) -> list[Poller]:
        # Each measurement awaits its own rides: a poller of an earlier one that outlived its
        # join cannot take (and keep) a record this one waits for.
        with self._outstanding_lock:
            self._outstanding = {}
            outstanding = self._outstanding
        return [Poller(functools.partial(self._read_delivered, outstanding), READ_PAUSE_S)]


# ---- raw moto baseline ---------------------------------------------------------------------


class MotoBaseline:
    """A plain moto server in its own process: one topic, the three filtered queues."""

    name = "raw moto"

    def __init__(self, consumers: Sequence[smoke.Consumer], clients: int) -> None:
        self._consumers = consumers
        self._clients = clients
        self._process: subprocess.Popen[bytes] | None = None
        self._queues: dict[str, str] = {}

    def __enter__(self) -> MotoBaseline:
        import boto3
        from botocore.config import Config

        port = free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not state.answers(endpoint + "/"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the baseline moto server did not start")
            time.sleep(0.1)
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            region_name="us-east-1",
        )
        config = Config(max_pool_connections=max(10, self._clients + len(self._consumers)))
        self._sns = session.client("sns", endpoint_url=endpoint, config=config)
        self._sqs = session.client("sqs", endpoint_url=endpoint, config=config)
        self._topic = self._sns.create_topic(Name="bench-rides")["TopicArn"]
        for consumer in self._consumers:
            url = self._sqs.create_queue(QueueName=f"bench-{consumer.service}")["QueueUrl"]
            arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            attributes = {"RawMessageDelivery": "false"}
            if consumer.filter_policy:
                attributes["FilterPolicy"] = json.dumps(consumer.filter_policy)
                attributes["FilterPolicyScope"] = consumer.filter_scope
            self._sns.subscribe(
                TopicArn=self._topic,
                Protocol="sqs",
                Endpoint=arn["Attributes"]["QueueArn"],
                Attributes=attributes,
            )
            self._queues[consumer.service] = url
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    def submit(self, ride: Mapping[str, Any]) -> tuple[Submitted | None, int]:
        from wildrydes.events import sns_message
        from wildrydes.ride import Ride, RideRequest

        stored = Ride.from_request(RideRequest.model_validate(ride))
        message = sns_message(stored)
        began = time.time()
        started = time.perf_counter()
        self._sns.publish(TopicArn=self._topic, **message)
        elapsed_ms = (time.perf_counter() - started) * 1000
        document = stored.to_document()
        expected = frozenset(c.service for c in self._consumers if c.should_receive(document))
        return Submitted(stored.id, began, elapsed_ms, expected), 0

    def _receive(self, service: str) -> Iterator[tuple[str, str, float | None]]:
        url = self._queues[service]
        answer = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        for message in messages:
            yield service, json.loads(json.loads(message["Body"])["Message"])["id"], None
        if messages:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def pollers(self) -> list[Poller]:
        # A long poll answers as soon as a message arrives: no pause between rounds.
        return [Poller(lambda s=service: self._receive(s)) for service in self._queues]


# ---- runtime overhead ----------------------------------------------------------------------


def runtime_overhead(invocations: int) -> tuple[float | None, str]:
    """p50 (ms) of a warm Runtime.invoke, and runtime_overhead.py's own output."""
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "runtime_overhead.py"), "-n", str(invocations)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout.strip() or completed.stderr.strip()[-2000:]
    found = re.search(r"warm Runtime\.invoke.*?p50 ([0-9.]+) ms", completed.stdout)
    return (float(found.group(1)) if found else None), output


# ---- report --------------------------------------------------------------------------------


def cell(value: float, width: int, suffix: str = "") -> str:
    if math.isnan(value):
        return f"{'-':>{width}}"
    return f"{value:>{width - len(suffix)}.1f}{suffix}"


def row(label: str, local: float, base: float) -> str:
    ratio = local / base if base and not math.isnan(local) and not math.isnan(base) else math.nan
    return f"{label:<40}{cell(local, 13)}{cell(base, 13)}{cell(ratio, 10, 'x')}"


def report(
    loaded: tuple[Result, Result],
    unloaded: tuple[Result, Result],
    rides: int,
    clients: int,
    windows: Mapping[str, int],
) -> None:
    local, base = loaded
    print(f"\n{rides} rides from {clients} concurrent clients; ratio = localcloud / raw moto")
    print(f"{'':<40}{'localcloud':>13}{'raw moto':>13}{'ratio':>10}")
    for pct in (50, 95):
        print(
            row(
                f"submit p{pct} (ms) [POST | sns.publish]",
                *(percentile(r.submit_ms, pct) for r in loaded),
            )
        )
    for pct in (50, 95):
        print(
            row(
                f"submit-to-last-consumer p{pct} (ms)",
                *(percentile(r.fan_out_ms, pct) for r in loaded),
            )
        )
    print(row("rides/s (fan-out complete)", local.rides_per_s, base.rides_per_s))
    idle_local_ms, idle_base_ms = (percentile(r.fan_out_ms, 50) for r in unloaded)
    print(row("idle submit-to-last-consumer p50 (ms)", idle_local_ms, idle_base_ms))
    # Had every POST taken what the baseline's publish took, the last ride would still need
    # about the idle fan-out time (the batching windows, the calls between) after it.
    floor_s = base.submit_span_s + idle_local_ms / 1000
    estimate = local.delivered / floor_s if floor_s > 0 else math.nan
    print(row("rides/s estimate: raw submits + idle", estimate, base.rides_per_s))
    print(
        f"{'fanned out / accepted':<40}{f'{local.delivered}/{local.accepted}':>13}"
        f"{f'{base.delivered}/{base.accepted}':>13}"
    )
    print(
        f"{'rejected | 429s retried':<40}{f'{local.rejected} | {local.throttled}':>13}"
        f"{f'{base.rejected} | {base.throttled}':>13}"
    )
    for result in (*loaded, *unloaded):
        if result.missing:
            print(f"\n{result.name}: {len(result.missing)} ride(s) not fully delivered:")
            for line in result.missing[:10]:
                print(f"  {line}")
    path = ", ".join(f"{kind} {seconds} s" for kind, seconds in sorted(windows.items()))
    print(
        "\nlocalcloud: API -> rides table -> stream -> publisher -> SNS -> SQS -> consumer, with"
        f" the templates' batching windows ({path}) that a batch which does not fill waits for,"
        " as on AWS; delivery = the consumer handler's record timestamp. raw moto: sns.publish"
        " -> SQS; delivery = first receive by a long-polling receiver. idle = one ride at a time."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rides", type=int, default=200, help="rides to submit (default 200)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument(
        "--reuse", action="store_true", help="use the running default localcloud and its stacks"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for deliveries (default 120)"
    )
    parser.add_argument("--idle", type=int, default=5, help="rides sent one at a time (default 5)")
    parser.add_argument(
        "--overhead-n", type=int, default=300, help="invocations for the runtime overhead"
    )
    args = parser.parse_args(argv)
    if args.rides < 1 or args.clients < 1 or args.idle < 0:
        parser.error("--rides and --clients must be at least 1, --idle at least 0")
    if args.reuse and state.read() is None:
        print("error: no localcloud is running (make local-up; make deploy-all TARGET=local)")
        return 2

    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}",
        flush=True,
    )
    rides = make_rides(args.rides, seed=5)
    warm_rides = make_rides(max(2 * args.clients, len(PROFILES)), seed=1)
    idle_rides = make_rides(args.idle, seed=2)
    results: dict[str, tuple[Result, Result]] = {}  # side -> (loaded, idle)

    def run(side: Side) -> None:
        log(f"{side.name}: warm-up, {len(warm_rides)} rides")
        warm = measure(side, warm_rides, args.clients, WARM_UP_TIMEOUT_S)
        if warm.rejected or warm.missing:
            raise RuntimeError(f"{side.name} warm-up: {warm.rejected} rejected, {warm.missing}")
        log(f"{side.name}: {len(idle_rides)} rides one at a time")
        unloaded = idle(side, idle_rides, args.timeout)
        log(f"{side.name}: {args.rides} rides from {args.clients} clients")
        results[side.name] = (measure(side, rides, args.clients, args.timeout), unloaded)

    with nullcontext() if args.reuse else private_localcloud():
        system = Localcloud()
        run(system)
    with MotoBaseline(system.consumers, args.clients) as baseline:
        run(baseline)
    (local, local_idle), (base, base_idle) = results[system.name], results[baseline.name]
    report(
        (local, base), (local_idle, base_idle), args.rides, args.clients, system.batching_windows
    )

    log("runtime warm invocation overhead (bench/runtime_overhead.py)")
    p50, output = runtime_overhead(args.overhead_n)
    print("\nruntime warm invocation overhead:")
    for line in output.splitlines():
        print(f"  {line}")
    if p50 is not None:
        verdict = "meets" if p50 < OVERHEAD_TARGET_MS else "MISSES"
        print(f"  p50 {p50:.2f} ms {verdict} the target of < {OVERHEAD_TARGET_MS:.0f} ms")
    complete = all(not r.missing and not r.rejected for r in (local, base, local_idle, base_idle))
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
