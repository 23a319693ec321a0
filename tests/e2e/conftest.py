"""One private localcloud per test run with all five stacks deployed by the real Make targets.

It runs on free ports with its own state folder, so it neither needs nor disturbs a localcloud
a developer has running, and it is stopped (every process) when the session ends.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.repository import run_make

from localcloud import state
from scripts import services, smoke, stacks

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_TIMEOUT_S = 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make(
    *args: str,
    env: Mapping[str, str],
    timeout: float = DEPLOY_TIMEOUT_S,
    cwd: Path = REPO_ROOT,
) -> str:
    result = run_make(*args, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, (
        f"make {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]


@dataclass
class System:
    """The deployed system, seen as its users see it: the API, the consumers' tables."""

    env: dict[str, str]
    api_url: str
    api_key: str
    consumers: dict[str, smoke.Consumer] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return stacks.client(service, self.env)

    def outputs(self, stack: str) -> dict[str, str]:
        return stacks.service_outputs(f"wild-rydes-{stack}", self.env)

    def post(self, body: Any, headers: Mapping[str, str] | None = None) -> Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - our loopback API
            self.api_url,
            data=data,
            headers={
                "Content-Type": "application/json",
                "x-api-key": self.api_key,
                **(headers or {}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return Response(answer.status, json.loads(answer.read()), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, json.loads(error.read() or b"{}"), dict(error.headers))

    def received(self, service: str, ride_id: str) -> bool:
        return smoke.received(self.client("dynamodb"), self.consumers[service], ride_id)

    def refresh_consumers(self) -> None:
        self.consumers = {c.service: c for c in smoke.consumers("wild-rydes", self.env)}


def wait_until(
    condition: Callable[[], bool], timeout_s: float = 90.0, every_s: float = 0.5
) -> bool:
    """Poll `condition` until it holds or the (bounded) time is up; the result says which."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return condition()


# Module scope: the suite is one module, and its teardown (localcloud stopped, the environment
# restored) must come before a pytest-xdist worker moves on to other files.
@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("localcloud")
    private = {
        "LOCALCLOUD_HOME": str(home),
        "LOCALCLOUD_PORT": str(free_port()),
        "LOCALCLOUD_APIGW_PORT": str(free_port()),
    }
    env = {**os.environ, **private}
    saved = {name: os.environ.get(name) for name in private}
    os.environ.update(private)  # so in-process helpers (state, stacks, smoke) find it too
    try:
        make("local-up", env=env, timeout=120)
        try:
            make("deploy-all", "TARGET=local", env=env)
            aws_env = stacks.target_environment("local")
            outputs = stacks.stack_outputs("wild-rydes-management", aws_env)
            deployed = System(
                env=aws_env,
                api_url=smoke.api_endpoint(outputs, "local"),
                api_key=smoke.api_key(outputs, aws_env),
            )
            deployed.refresh_consumers()
            yield deployed
        finally:
            make("local-down", env=env, timeout=120)
        assert state.read() is None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Helpers the end-to-end modules share.

CONSUMERS = services.names("consumer")


def ride(fare: float, distance: float, customer: str | None = None) -> dict[str, Any]:
    return {
        "from": "Alexanderplatz",
        "to": "Tegel",
        "duration": 30,
        "distance": distance,
        "customer": customer or f"e2e-{uuid.uuid4().hex[:8]}",
        "fare": fare,
    }


def delivered(system: System, ride_id: str) -> set[str]:
    return {service for service in CONSUMERS if system.received(service, ride_id)}


def set_queue_visibility(system: System, service: str, seconds: int) -> None:
    """Shorten the queue's visibility timeout so a retry comes in seconds, not a minute."""
    queue = system.outputs(service)["QueueUrl"]
    system.client("sqs").set_queue_attributes(
        QueueUrl=queue, Attributes={"VisibilityTimeout": str(seconds)}
    )


def set_failure_rate(system: System, service: str, rate: str) -> None:
    function = system.outputs(service)["FunctionName"]
    lambda_client = system.client("lambda")
    configuration = lambda_client.get_function_configuration(FunctionName=function)
    variables = {**configuration["Environment"]["Variables"], "FAILURE_RATE": rate}
    lambda_client.update_function_configuration(
        FunctionName=function, Environment={"Variables": variables}
    )
