"""Event-driven SAM applications of the shapes people already have, deployed into one localcloud
(patched moto plus the Lambda runtime and its pollers) with the real `sam build` + `sam deploy`,
then driven through the public AWS API until their function has run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.lambda_runtime import interpreters
from localcloud.runtime import Runtime
from localcloud.server import LocalCloud, start
from localcloud.tests.runtime.support import wait_for

STACKS = Path(__file__).parent / "stacks"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SAM = shutil.which("sam", path=str(VENV_BIN)) or shutil.which("sam")
PY313 = interpreters.find_python("3.13")
pytestmark = pytest.mark.skipif(
    SAM is None or PY313 is None, reason="needs the SAM CLI and a python3.13 interpreter"
)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with start(0) as running:
        state = tmp_path_factory.mktemp("event-source-apps")
        runtime = Runtime(running.endpoint_url, state_dir=state, apigw_port=None, console=None)
        runtime.start()
        try:
            yield running
        finally:
            runtime.stop()


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
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
