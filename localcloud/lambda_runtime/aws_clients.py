"""boto3 clients for localcloud's own calls (pollers, log shipping, destinations).

One session and a lock: creating clients from several threads off a shared session is not
thread-safe in boto3, while using one client from many threads is.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from localcloud import in_process
from localcloud.lambda_runtime.environment import AwsTarget

# Localcloud calls are local and quick; fail fast and let the poller loop retry instead.
_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"},  # one try and one retry
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=50,
)


class ClientFactory:
    def __init__(self, target: AwsTarget, default_region: str) -> None:
        self._target = target
        self.default_region = default_region
        self._session = boto3.session.Session(
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
            aws_session_token=target.session_token,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            if key not in self._clients:
                client = self._session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self._target.endpoint_url,
                    config=_CONFIG,
                )
                # No socket when that endpoint is a moto server in this very process.
                in_process.route_client(client, self._target.endpoint_url)
                self._clients[key] = client
            return self._clients[key]

    def send_to_queue(self, queue_arn: str, body: str, **extra: Any) -> None:
        """SendMessage to the queue an ARN names (arn:aws:sqs:<region>:<account>:<name>)."""
        parts = queue_arn.split(":")
        sqs = self.client("sqs", parts[3])
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
