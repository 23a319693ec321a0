"""Run a consumer service's handler against moto: its table as the template declares it, and
its module imported fresh so module-scope clients and settings are created inside the mock."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from wildrydes.events import sns_message
from wildrydes.ride import Ride

from wildrydes_testing.aws import mocked
from wildrydes_testing.emitted import Emitted, capturing
from wildrydes_testing.lambda_context import FakeLambdaContext
from wildrydes_testing.routing import subscribe_queue, template_path
from wildrydes_testing.sqs_events import received_event
from wildrydes_testing.templates import REGION, load_template


def create_table_like(dynamodb: Any, service: str, logical_id: str, name: str) -> str:
    """Create a moto table with the template's key schema and billing mode."""
    properties = load_template(template_path(service))["Resources"][logical_id]["Properties"]
    dynamodb.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode=properties["BillingMode"],
    )
    return name


def import_fresh(module: str) -> ModuleType:
    """Import `module` again (its package's modules too) so import-time code runs now."""
    package = module.split(".", 1)[0]
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        del sys.modules[name]
    return importlib.import_module(module)


@dataclass
class Consumer:
    """A service's handler module with its moto table, and a moto topic feeding its queue
    through a subscription built from the service's template (created on first delivery)."""

    service: str
    app: ModuleType
    dynamodb: Any
    table: str
    _queue: tuple[Any, str, str] | None = field(default=None, repr=False)
    # What every handle() call logged and counted so far.
    emitted: Emitted = field(default_factory=Emitted)

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.table)["Items"]

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        with capturing(self.app.logger, self.emitted):
            return self.app.lambda_handler(event, FakeLambdaContext(f"{self.service}-test"))

    def deliver(self, *rides: Ride, expected: int | None = None) -> dict[str, Any]:
        """Publish the rides to the topic; the Lambda event of what reached the queue."""
        if self._queue is None:
            sns = boto3.client("sns", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            topic_arn = sns.create_topic(Name="RideCompletion")["TopicArn"]
            self._queue = (sqs, topic_arn, subscribe_queue(sns, sqs, topic_arn, self.service))
        sqs, topic_arn, queue_url = self._queue
        sns = boto3.client("sns", region_name=REGION)
        for ride in rides:
            sns.publish(TopicArn=topic_arn, **sns_message(ride))
        return received_event(sqs, queue_url, expected=len(rides) if expected is None else expected)


@contextmanager
def consumer(
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    module: str,
    environment: dict[str, str] | None = None,
    table_logical_id: str = "Table",
) -> Iterator[Consumer]:
    """Inside a moto mock: the service's table, TABLE_NAME set, and the handler module imported."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mocked():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        table = create_table_like(dynamodb, service, table_logical_id, f"{service}-table")
        monkeypatch.setenv("TABLE_NAME", table)
        for name, value in (environment or {}).items():
            monkeypatch.setenv(name, value)
        yield Consumer(service, import_fresh(module), dynamodb, table)
