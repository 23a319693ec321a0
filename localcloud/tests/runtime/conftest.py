"""Fixtures: one moto server and one localcloud Runtime for the runtime tests.

Every test names its resources with a fresh suffix, so sharing the server keeps tests isolated
while paying moto's start-up (and the first-call cost of each service) once. Package scope (not
session): moto's backends are process-wide, so this Runtime's pollers must be gone before other
suites (e.g. tests/e2e) start their own localcloud in the same pytest process.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localcloud.runtime import Runtime
from localcloud.tests.runtime.moto_inert import make_mappings_inert
from localcloud.tests.runtime.support import Deployer

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="package")
def endpoint() -> Iterator[str]:
    undo = make_mappings_inert()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.stop()
        undo()


@pytest.fixture(scope="package")
def aws(endpoint: str) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint)
        return clients[service]

    return client


@pytest.fixture(scope="package")
def runtime(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("localcloud-state")
    rt = Runtime(endpoint, state_dir=state, apigw_port=0, region=REGION)
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


@pytest.fixture(scope="package")
def role_arn(aws: Callable[[str], Any]) -> str:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    # A fresh name each time: moto's backends are process-wide, and a pytest-xdist worker may
    # set this package up twice in one process (its files interleaved with other packages').
    return aws("iam").create_role(
        RoleName=f"localcloud-runtime-tests-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=policy
    )["Role"]["Arn"]


@pytest.fixture
def deploy(aws: Callable[[str], Any], role_arn: str, runtime: Runtime) -> Deployer:
    return Deployer(aws, role_arn)


@pytest.fixture
def mappings(aws: Callable[[str], Any]) -> Iterator[list[str]]:
    """UUIDs of mappings a test creates; deleted afterwards so their pollers stop."""
    created: list[str] = []
    yield created
    for mapping in created:
        aws("lambda").delete_event_source_mapping(UUID=mapping)
