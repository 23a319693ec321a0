"""Helpers shared by the runtime tests: deploying functions and queues, waiting, draining."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Deployer:
    aws: Callable[[str], Any]
    role_arn: str

    def function(
        self,
        code: str,
        *,
        name: str | None = None,
        handler: str = "app.handler",
        env: dict[str, str] | None = None,
        timeout: int = 3,
        memory: int = 128,
        layers: list[str] | None = None,
        extra_files: dict[str, str] | None = None,
        runtime: str = "python3.13",
        dead_letter_config: dict[str, str] | None = None,
    ) -> str:
        name = name or unique("fn")
        extra = {"DeadLetterConfig": dead_letter_config} if dead_letter_config else {}
        self.aws("lambda").create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=self.role_arn,
            Handler=handler,
            Code={"ZipFile": zip_files({"app.py": code, **(extra_files or {})})},
            Environment={"Variables": env or {}},
            Timeout=timeout,
            MemorySize=memory,
            Layers=layers or [],
            **extra,
        )
        return name

    def queue(self, *, visibility_timeout: int = 1, dlq_max_receive: int | None = None) -> dict:
        sqs = self.aws("sqs")
        attributes = {"VisibilityTimeout": str(visibility_timeout)}
        result: dict[str, str] = {}
        if dlq_max_receive is not None:
            dlq_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
            dlq_arn = queue_arn(sqs, dlq_url)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq_max_receive}
            )
            result.update(dlq_url=dlq_url, dlq_arn=dlq_arn)
        url = sqs.create_queue(QueueName=unique("q"), Attributes=attributes)["QueueUrl"]
        result.update(url=url, arn=queue_arn(sqs, url))
        return result


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll until condition() is truthy; the deadline only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def drain(sqs: Any, url: str, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Receive (and delete) until `expected` messages were seen."""
    seen: list[dict[str, Any]] = []

    def enough() -> bool:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            seen.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(seen) >= expected

    wait_for(enough, timeout)
    return seen


def read_records(path: Path) -> list[Any]:
    """JSON lines a test handler appended to a file (how handlers report what they saw)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def create_mapping(aws: Callable[[str], Any], mappings: list[str], **kwargs: Any) -> str:
    """An event source mapping, recorded in the `mappings` fixture's list so it is deleted."""
    uuid = aws("lambda").create_event_source_mapping(**kwargs)["UUID"]
    mappings.append(uuid)
    return uuid


def succeeded_ids(record_file: Path) -> list[str]:
    """The ids of the invocations a test handler recorded as successful, in order."""
    return [i for call in read_records(record_file) if call["ok"] for i in call["ids"]]


@dataclass
class Reply:
    """An HTTP answer from the local API Gateway (an error status is a Reply too)."""

    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None
) -> Reply:
    request = urllib.request.Request(  # noqa: S310 - the local API Gateway over http
        url, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local URL
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())
