"""Event-driven SAM applications of the shapes people already have, deployed into one localcloud
(patched moto plus the Lambda runtime and its pollers) with the real `sam build` + `sam deploy`,
then driven through the public AWS API until their function has run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.aws import session as aws_session

from localcloud.eventbridge import scheduler
from localcloud.lambda_runtime import interpreters
from localcloud.runtime import Runtime
from localcloud.server import LocalCloud, start
from localcloud.tests.runtime.support import wait_for

STACKS = Path(__file__).parent / "stacks"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SAM = shutil.which("sam", path=str(VENV_BIN)) or shutil.which("sam")
PY313 = interpreters.find_python("3.13")
# The "many SAM apps" suite: `make test-sam-apps` runs it, `.ci/run` after `make test`.
pytestmark = [
    pytest.mark.sam_apps,
    pytest.mark.skipif(
        SAM is None or PY313 is None, reason="needs the SAM CLI and a python3.13 interpreter"
    ),
]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, apigw_port: int) -> Iterator[LocalCloud]:
    with start(0) as running:
        state = tmp_path_factory.mktemp("event-source-apps")
        runtime = Runtime(
            running.endpoint_url, state_dir=state, apigw_port=apigw_port, console=None
        )
        runtime.start()
        try:
            yield running
        finally:
            runtime.stop()


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    session = aws_session()
    return lambda service: session.client(service, endpoint_url=cloud.endpoint_url)


def sam_deploy(cloud: LocalCloud, app: str, workdir: Path) -> str:
    """`sam build` + `sam deploy` of a test app (copied: the build writes beside it); the stack."""
    source = workdir / app
    shutil.copytree(STACKS / app, source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(cloud.env)
    env["PATH"] = os.pathsep.join([str(PY313.parent), str(VENV_BIN), env.get("PATH", "")])
    env["SAM_CLI_CONFIG_DIR"] = str(workdir / "samcli")
    env["SAM_CLI_TELEMETRY"] = "0"
    stack = f"lc-{app}-{uuid.uuid4().hex[:6]}"
    for args in (
        ["build"],
        [
            *("deploy", "--stack-name", stack, "--resolve-s3", "--no-confirm-changeset"),
            *("--capabilities", "CAPABILITY_IAM"),
        ],
    ):
        done = subprocess.run(
            [str(SAM), *args], cwd=source, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"sam {args[0]}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return stack


def outputs(aws: Callable[[str], Any], stack: str) -> dict[str, str]:
    [described] = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def test_kinesis_to_lambda_runs_the_function_for_each_record(
    cloud: LocalCloud, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    stack = sam_deploy(cloud, "kinesis", tmp_path)
    names = outputs(aws, stack)
    [mapping] = aws("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["EventSourceArn"].endswith(f":stream/{names['StreamName']}")

    rides = [f"ride-{n}" for n in range(3)]
    sent = {}
    for ride in rides:
        answer = aws("kinesis").put_record(
            StreamName=names["StreamName"],
            Data=json.dumps({"id": ride}).encode(),
            PartitionKey=ride,
        )
        sent[ride] = answer["SequenceNumber"]

    def recorded() -> list[dict[str, Any]]:
        items = aws("dynamodb").scan(TableName=names["TableName"])["Items"]
        return items if len(items) == len(rides) else []

    items = {item["id"]["S"]: item for item in wait_for(recorded, timeout=30)}
    assert sorted(items) == rides
    for ride, item in items.items():
        assert item["sequenceNumber"]["S"] == sent[ride]
        assert item["eventSource"]["S"] == "aws:kinesis"
        latency = float(item["handled"]["S"]) - float(item["arrived"]["S"])
        assert 0 <= latency < 30


def test_s3_notifications_from_the_template_run_the_function_for_matching_keys(
    cloud: LocalCloud, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    stack = sam_deploy(cloud, "s3", tmp_path)
    names = outputs(aws, stack)
    s3 = aws("s3")

    started = time.time()
    put = s3.put_object(Bucket=names["BucketName"], Key="rides/one ride.json", Body=b"{}")
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    for ignored in ("rides/notes.txt", "archive/old.json"):
        s3.put_object(Bucket=names["BucketName"], Key=ignored, Body=b"{}")
    s3.put_object(Bucket=names["BucketName"], Key="rides/two.json", Body=b"{}")

    def recorded() -> list[dict[str, Any]]:
        items = aws("dynamodb").scan(TableName=names["TableName"])["Items"]
        return items if len(items) >= 2 else []

    items = {item["id"]["S"]: item for item in wait_for(recorded, timeout=30)}
    time.sleep(1)  # room for a wrong delivery (a key the filter excludes) to show
    assert sorted(items) == ["rides/one ride.json", "rides/two.json"]
    assert len(aws("dynamodb").scan(TableName=names["TableName"])["Items"]) == 2
    for item in items.values():
        assert item["eventName"]["S"] == "ObjectCreated:Put"
        assert item["bucket"]["S"] == names["BucketName"]
        assert 0 <= float(item["handled"]["S"]) - started < 30


def test_eventbridge_rules_and_schedules_run_the_function(
    cloud: LocalCloud, aws: Callable[[str], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scheduler.MINUTE_VARIABLE, "2")  # rate(1 minute) fires every 2 s here
    stack = sam_deploy(cloud, "eventbridge", tmp_path)
    names = outputs(aws, stack)
    events = aws("events")
    [completed] = [
        rule
        for rule in events.list_rules(EventBusName=names["BusName"])["Rules"]
        if "RideCompleted" in rule["Name"]
    ]
    [target] = events.list_targets_by_rule(Rule=completed["Name"], EventBusName=names["BusName"])[
        "Targets"
    ]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 900}
    assert ":sqs:" in target["DeadLetterConfig"]["Arn"]  # the queue SAM made for it

    rides = {  # ride -> (source, fare)
        "r-cheap": ("wildrydes.rides", 5),
        "r-standard": ("wildrydes.rides", 35),
        "r-luxury": ("wildrydes.rides", 150),
        "r-elsewhere": ("other.rides", 50),
    }
    put_at = time.time()
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": names["BusName"],
                "Source": source,
                "DetailType": "RideCompleted",
                "Detail": json.dumps({"ride": ride, "fare": fare}),
            }
            for ride, (source, fare) in rides.items()
        ]
    )
    assert answer["FailedEntryCount"] == 0
    event_ids = {
        ride: entry["EventId"] for ride, entry in zip(rides, answer["Entries"], strict=True)
    }

    def recorded() -> list[dict[str, Any]]:
        items = aws("dynamodb").scan(TableName=names["TableName"])["Items"]
        kinds = [item["kind"]["S"] for item in items]
        fired = "heartbeat" in kinds and "reminder" in kinds
        ready = kinds.count("ride") >= 2 and "expensive" in kinds and fired
        return items if ready else []

    wait_for(recorded, timeout=40)
    time.sleep(1)  # room for a wrong delivery (a ride the patterns exclude) to show
    items = aws("dynamodb").scan(TableName=names["TableName"])["Items"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item["kind"]["S"], []).append(item)
    ride_events = {item["id"]["S"]: json.loads(item["event"]["S"]) for item in by_kind["ride"]}
    assert sorted(ride_events) == sorted([event_ids["r-standard"], event_ids["r-luxury"]])
    for event in ride_events.values():
        assert event["detail-type"] == "RideCompleted"
        assert event["source"] == "wildrydes.rides"
    [expensive] = [json.loads(item["event"]["S"]) for item in by_kind["expensive"]]
    assert expensive == {"kind": "expensive", "ride": "r-luxury", "fare": 150}
    assert json.loads(by_kind["heartbeat"][0]["event"]["S"]) == {"kind": "heartbeat"}
    reminder = json.loads(by_kind["reminder"][0]["event"]["S"])
    assert reminder["at"].endswith("Z")  # the scheduled time, filled in by the scheduler
    latencies = sorted(float(item["handled"]["S"]) - put_at for item in by_kind["ride"])
    assert 0 <= latencies[-1] < 30


@pytest.fixture(scope="module")
def apigw_port() -> int:
    """A free port for the module's API Gateway data plane (REST and HTTP APIs)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_http_api_events_serve_the_function_with_payload_formats_2_and_1(
    cloud: LocalCloud, aws: Callable[[str], Any], tmp_path: Path, apigw_port: int
) -> None:

    stack = sam_deploy(cloud, "httpapi", tmp_path)
    api_id = outputs(aws, stack)["ApiId"]
    routes = {r["RouteKey"] for r in aws("apigatewayv2").get_routes(ApiId=api_id)["Items"]}
    assert routes == {"GET /rides/{id}", "POST /rides", "GET /legacy/{id}"}
    base = f"http://127.0.0.1:{apigw_port}/{api_id}"  # the $default stage: no stage in the path

    def call(path: str, body: bytes | None = None) -> tuple[int, Any, Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = urllib.request.Request(f"{base}{path}", data=body, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local URL
            return response.status, response.headers, json.loads(response.read())

    # A plain object returned by a 2.0 function is a 200 JSON body.
    status, headers, seen = call("/rides/r-42?tip=5")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert seen == {
        "version": "2.0",
        "routeKey": "GET /rides/{id}",
        "rawPath": "/rides/r-42",
        "pathParameters": {"id": "r-42"},
        "queryStringParameters": {"tip": "5"},
        "stage": "$default",
    }
    status, headers, seen = call("/rides", json.dumps({"from": "a", "to": "b"}).encode())
    assert (status, headers["location"]) == (201, "/rides/r-1")
    assert headers["Set-Cookie"] == "ride=r-1; Path=/"
    assert (seen["routeKey"], seen["body"]) == ("POST /rides", {"from": "a", "to": "b"})
    status, _, seen = call("/legacy/r-7")
    assert (status, seen["version"], seen["resource"]) == (200, "1.0", "/legacy/{id}")
    assert (seen["path"], seen["pathParameters"]) == ("/legacy/r-7", {"id": "r-7"})

    # Request to function response, warm: the p50 over 10 requests.
    latencies = []
    for n in range(10):
        started = time.perf_counter()
        call(f"/rides/r-{n}")
        latencies.append(time.perf_counter() - started)
    p50 = statistics.median(latencies)
    print(f"HTTP API request to function response: p50 {p50 * 1000:.1f} ms over 10 requests")
    assert p50 < 1.0
