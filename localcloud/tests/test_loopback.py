"""Loopback only: both listeners refuse a foreign Host or Origin with 403, before anything runs.

A page on another site, open in the developer's browser, must not create or invoke anything:
not through a form POST to 127.0.0.1 (no preflight), not through DNS rebinding (its own name
pointing at 127.0.0.1). Each refusal here is checked against what it would have done.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from localcloud import loopback
from localcloud.apigw.proxy import IncomingRequest, ProxyResponse
from localcloud.apigw.server import ApiGatewayServer
from localcloud.server import LocalCloud, start

SIGNED_FOR_SQS = (
    "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:4566",
        "LOCALHOST:4566",
        "abc123.execute-api.localhost:4567",
        "127.0.0.1",
        "127.0.0.1:4566",
        "127.1.2.3:80",
        "[::1]",
        "[::1]:4566",
        "localhost.",
    ],
)
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert loopback.refusal(host, None) is None


@pytest.mark.parametrize(
    "host",
    [
        "",
        "evil.example",
        "evil.example:4566",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.5:4566",
        "0.0.0.0:4566",
        "[::2]:4566",
    ],
)
def test_other_hosts_are_refused(host: str) -> None:
    reason = loopback.refusal(host, None)
    assert reason is not None
    assert "is not localhost, 127.0.0.1 or [::1]" in reason


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("https://app.localhost", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:5173", True),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("null", False),
        ("file://", False),
        ("chrome-extension://abc", False),
    ],
)
def test_origins_must_be_loopback_too(origin: str, allowed: bool) -> None:
    assert (loopback.refusal("localhost:4566", origin) is None) is allowed


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with start(0) as running:
        yield running


def form_post(port: int, host: str, origin: str | None, queue: str) -> tuple[int, dict, bytes]:
    """CreateQueue as a web page could send it: a form POST, no preflight needed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Host": host,
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": SIGNED_FOR_SQS,
    }
    if origin is not None:
        headers["Origin"] = origin
    body = f"Action=CreateQueue&QueueName={queue}&Version=2012-11-05"
    connection.request("POST", "/", body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def queues(cloud: LocalCloud) -> set[str]:
    sqs = boto3.client(
        "sqs",
        endpoint_url=cloud.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return {url.rsplit("/", 1)[1] for url in sqs.list_queues().get("QueueUrls", [])}


@pytest.mark.parametrize(
    ("host", "origin", "why"),
    [
        ("evil.example:{port}", None, "Host 'evil.example"),
        ("localhost:{port}", "https://evil.example", "Origin 'https://evil.example'"),
        ("127.0.0.1:{port}", "null", "Origin 'null'"),
    ],
)
def test_the_aws_port_refuses_foreign_hosts_and_origins_and_creates_nothing(
    cloud: LocalCloud, host: str, origin: str | None, why: str
) -> None:
    name = f"refused-{abs(hash((host, origin)))}"
    status, headers, body = form_post(cloud.port, host.format(port=cloud.port), origin, name)
    assert status == 403
    assert why in json.loads(body)["message"]
    assert "access-control-allow-origin" not in headers
    assert name not in queues(cloud)


def test_the_aws_port_serves_loopback_pages_with_cors(cloud: LocalCloud) -> None:
    status, headers, _ = form_post(
        cloud.port, f"localhost:{cloud.port}", "http://localhost:3000", "from-a-local-page"
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "from-a-local-page" in queues(cloud)


class NoHttpApis:
    """Stands in for the HTTP API gateway: no API id is an HTTP API's."""

    def serves(self, api_id: str) -> bool:
        return False


@dataclass
class RecordingGateway:
    """Stands in for the API Gateway resolver: records what reached it."""

    requests: list[IncomingRequest] = field(default_factory=list)
    http_apis: NoHttpApis = field(default_factory=NoHttpApis)

    def handle(self, api_id: str, stage: str, request: IncomingRequest) -> ProxyResponse:
        self.requests.append(request)
        return ProxyResponse(200, [("Content-Type", "application/json")], b"{}")


@pytest.fixture
def gateway() -> Iterator[tuple[ApiGatewayServer, RecordingGateway]]:
    recorder = RecordingGateway()
    server = ApiGatewayServer(recorder, port=0)  # type: ignore[arg-type]
    server.start()
    try:
        yield server, recorder
    finally:
        server.stop()


def api_post(port: int, host: str, origin: str | None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host, "Content-Type": "text/plain"}
    if origin is not None:
        headers["Origin"] = origin
    connection.request("POST", "/abc123/Prod/submit-ride-completion", body="{}", headers=headers)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read() or b"{}")


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("evil.example:{port}", None),
        ("abc123.execute-api.evil.example", None),
        ("127.0.0.1:{port}", "https://evil.example"),
    ],
)
def test_the_api_port_refuses_foreign_hosts_and_origins_and_invokes_nothing(
    gateway: tuple[ApiGatewayServer, RecordingGateway], host: str, origin: str | None
) -> None:
    server, recorder = gateway
    status, body = api_post(server.port, host.format(port=server.port), origin)
    assert status == 403
    assert "localcloud answers" in body["message"]
    assert recorder.requests == []


def test_the_api_port_serves_loopback_requests(
    gateway: tuple[ApiGatewayServer, RecordingGateway],
) -> None:
    server, recorder = gateway
    status, _ = api_post(server.port, f"127.0.0.1:{server.port}", "http://localhost:3000")
    assert status == 200
    assert len(recorder.requests) == 1
