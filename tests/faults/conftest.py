"""Fixtures of the fault suite (`make test-faults`): the end-to-end suite's private localcloud
with every stack deployed, started with the fault proxy on, and the summary the suite prints.

The deployment is the e2e suite's own `system` fixture, reused as is: only LOCALCLOUD_FAULTS is
set first, so `make local-up` puts microburst between the functions / pollers and moto while
`make deploy-all` still talks to moto directly. The proxy starts with the rules of
STARTUP_RULES (loaded from the file, as a developer would); each test then installs the rules
it needs through the proxy's control API and leaves none behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.faults import FAULTS_VARIABLE
from localcloud.faults.control import FaultControl
from scripts import smoke
from tests.e2e.conftest import System, system  # noqa: F401 - `system` is the reused fixture
from tests.faults import mix

# Loaded at start from LOCALCLOUD_FAULTS: the KMS rule only (no call of ours reaches KMS, so it
# changes nothing), which shows the file route works before any test replaces the rules.
STARTUP_RULES = mix.rules("kms", mix.KMS_CALLS, mix.KMS_FAULTS)

# Lines for the summary at the end of the run (pytest_terminal_summary below).
SUMMARY: list[str] = []


@dataclass
class FaultySystem:
    """The deployed system and the fault proxy in front of its AWS API.

    Its clients talk to moto directly (the truth, never faulted) and are made once, as are
    the stacks' outputs: `System.client` builds a new boto3 session per call (~0.1 s), too slow
    for polling hundreds of rides."""

    system: System
    faults: FaultControl
    _clients: dict[str, Any] = field(default_factory=dict)
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.system.client(service)
        return self._clients[service]

    def outputs(self, stack: str) -> dict[str, str]:
        if stack not in self._outputs:
            self._outputs[stack] = self.system.outputs(stack)
        return self._outputs[stack]

    def received(self, service: str, ride_id: str) -> bool:
        return smoke.received(self.client("dynamodb"), self.system.consumers[service], ride_id)

    def queue_url(self, service: str, output: str = "QueueUrl") -> str:
        return self.outputs(service)[output]

    def set_visibility(self, service: str, seconds: int) -> None:
        self.client("sqs").set_queue_attributes(
            QueueUrl=self.queue_url(service), Attributes={"VisibilityTimeout": str(seconds)}
        )

    def depth(self, queue_url: str) -> int:
        """Messages in the queue, in flight included (moto counts them exactly)."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())


@pytest.fixture(scope="module")
def fault_rules_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("faults") / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": STARTUP_RULES}, sort_keys=False))
    saved = os.environ.get(FAULTS_VARIABLE)
    os.environ[FAULTS_VARIABLE] = str(path)  # read by `make local-up` in the system fixture
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop(FAULTS_VARIABLE, None)
        else:
            os.environ[FAULTS_VARIABLE] = saved


@pytest.fixture(scope="module")
def faulty(fault_rules_file: Path, system: System) -> Iterator[FaultySystem]:  # noqa: F811
    # `fault_rules_file` comes first: the variable must be set when `system` starts localcloud.
    control = FaultControl.of_running()
    yield FaultySystem(system, control)
    control.set_rules([])


@pytest.fixture
def summary() -> list[str]:
    return SUMMARY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.write_sep("=", "faults from the AWS side: figures")
        for line in SUMMARY:
            terminalreporter.write_line(line)
