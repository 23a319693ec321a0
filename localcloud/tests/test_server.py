"""localcloud.server and localcloud.env: where the AWS API listens and how tools find it."""

from __future__ import annotations

import socket

import boto3
import pytest

from localcloud import patches
from localcloud.env import local_env
from localcloud.server import PortBusyError, start


def test_local_env_points_every_tool_at_localhost() -> None:
    assert local_env(4599) == {
        "AWS_ENDPOINT_URL": "http://localhost:4599",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_PAGER": "",
        "SAM_CLI_TELEMETRY": "0",
        "SAM_CLI_POLL_DELAY": "0.5",
    }


def test_start_serves_patched_moto_on_loopback_and_stop_frees_the_port() -> None:
    with start(0) as cloud:
        assert cloud.endpoint_url == f"http://localhost:{cloud.port}"
        assert all(patches.is_applied(name) for name in patches.names())
        client = boto3.client(
            "sqs",
            endpoint_url=cloud.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.create_queue(QueueName="q")
        assert len(client.list_queues()["QueueUrls"]) == 1
        port = cloud.port
    with socket.socket() as probe:  # nothing listens any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_each_start_is_a_fresh_account() -> None:
    for _ in range(2):
        with start(0) as cloud:
            sqs = boto3.client(
                "sqs",
                endpoint_url=cloud.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            assert sqs.list_queues().get("QueueUrls", []) == []
            sqs.create_queue(QueueName="left-over")


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortBusyError, match=rf"{port}.*LOCALCLOUD_PORT"):
            start(port)
