"""Fixtures for the management service: moto tables built from the real template, a moto topic
with a subscribed queue, API Gateway proxy events and Lambda-shaped stream records."""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.aws import session as aws_session
from wildrydes_testing.emitted import Emitted, capturing
from wildrydes_testing.events import EventLoader, event_loader
from wildrydes_testing.lambda_context import FakeLambdaContext
from wildrydes_testing.seed import SEED
from wildrydes_testing.templates import REGION, load_template

# Handlers read their configuration at import (once per cold start); give them values so they
# import here. The fixtures below point them at the moto resources.
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
os.environ.setdefault("RIDES_TABLE_NAME", "rides-not-configured")
os.environ.setdefault("IDEMPOTENCY_TABLE_NAME", "idempotency-not-configured")
os.environ.setdefault("TOPIC_ARN", f"arn:aws:sns:{REGION}:123456789012:not-configured")

from management import get_ride, publisher, submit
from management.rides_store import RidesStore

SERVICE = Path(__file__).resolve().parents[1]
TEMPLATE = SERVICE / "template.yaml"


@functools.cache
def _template_resources() -> dict[str, Any]:
    return load_template(TEMPLATE)["Resources"]


def table_definition(logical_id: str, table_name: str) -> dict[str, Any]:
    """create_table arguments from the template's own AWS::DynamoDB::Table resource, so the
    tests run against the key schema and stream settings that deploy."""
    properties = copy.deepcopy(_template_resources()[logical_id]["Properties"])
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties["BillingMode"],
        "SSESpecification": {"Enabled": properties["SSESpecification"]["SSEEnabled"]},
    }
    if "StreamSpecification" in properties:
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": properties["StreamSpecification"]["StreamViewType"],
        }
    return definition


@dataclass
class Cloud:
    """The moto resources one test runs against."""

    dynamodb: Any
    streams: Any
    sns: Any
    sqs: Any
    rides_table: str
    keys_table: str
    topic_arn: str
    queue_url: str

    def rides(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.rides_table, ConsistentRead=True)["Items"]

    def key_records(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.keys_table, ConsistentRead=True)["Items"]

    def stream_records(self) -> list[dict[str, Any]]:
        """Every record on the Rides stream, shaped as Lambda's DynamoDB event delivers it."""
        stream_arn = self.dynamodb.describe_table(TableName=self.rides_table)["Table"][
            "LatestStreamArn"
        ]
        records = []
        for shard in self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"][
            "Shards"
        ]:
            iterator = self.streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType="TRIM_HORIZON",
            )["ShardIterator"]
            for record in self.streams.get_records(ShardIterator=iterator)["Records"]:
                records.append(_lambda_stream_record(record, stream_arn))
        return records

    def received(self) -> list[dict[str, Any]]:
        """Every SNS notification that reached the subscribed queue (envelopes, parsed)."""
        messages = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def _lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


@functools.cache
def _client(service: str) -> Any:
    """One client per service for the whole run: creating clients (loading service models)
    costs more than a test. moto intercepts them whenever a mock is active."""
    return aws_session().client(service, region_name=REGION)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mocked():
        dynamodb = _client("dynamodb")
        dynamodb.create_table(**table_definition("RidesTable", "rides"))
        dynamodb.create_table(**table_definition("IdempotencyKeysTable", "idempotency-keys"))
        sns = _client("sns")
        sqs = _client("sqs")
        topic_arn = sns.create_topic(Name="RideCompletion")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="all-rides")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

        monkeypatch.setattr(submit, "store", RidesStore(dynamodb, "rides", "idempotency-keys"))
        monkeypatch.setattr(get_ride, "store", RidesStore(dynamodb, "rides"))
        monkeypatch.setattr(publisher, "sns", sns)
        monkeypatch.setattr(publisher, "TOPIC_ARN", topic_arn)
        yield Cloud(
            dynamodb=dynamodb,
            streams=_client("dynamodbstreams"),
            sns=sns,
            sqs=sqs,
            rides_table="rides",
            keys_table="idempotency-keys",
            topic_arn=topic_arn,
            queue_url=queue_url,
        )


def api_event(
    method: str,
    resource: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event as the Prod stage sends it."""
    headers = {"x-api-key": "test-api-key", **(headers or {})}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/Prod{path}",
            "stage": "Prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"apiKeyId": "testkeyid", "sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


Submit = Callable[..., dict[str, Any]]


@pytest.fixture
def emitted() -> Emitted:
    """Every log line and metric the handlers called through the fixtures below printed."""
    return Emitted()


@pytest.fixture
def post_ride(cloud: Cloud, emitted: Emitted) -> Submit:
    """POST a body (a dict is sent as JSON) to the submit handler; returns the response."""

    def post(
        body: Any = SEED, content_type: str | None = "application/json", **headers: str
    ) -> dict[str, Any]:
        text = body if isinstance(body, str) or body is None else json.dumps(body)
        all_headers = {name.replace("_", "-"): value for name, value in headers.items()}
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        event = api_event(
            "POST", "/submit-ride-completion", "/submit-ride-completion", text, all_headers
        )
        with capturing(submit.logger, emitted):
            return submit.lambda_handler(event, FakeLambdaContext("management-test"))

    return post


@pytest.fixture
def get_ride_by_id(cloud: Cloud, emitted: Emitted) -> Callable[[str], dict[str, Any]]:
    def get(ride_id: str) -> dict[str, Any]:
        path_parameters = {"id": ride_id}
        event = api_event("GET", "/rides/{id}", f"/rides/{ride_id}", None, None, path_parameters)
        with capturing(get_ride.logger, emitted):
            return get_ride.lambda_handler(event, FakeLambdaContext("management-test"))

    return get


@pytest.fixture
def publish(cloud: Cloud, emitted: Emitted) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    def run(records: list[dict[str, Any]]) -> dict[str, Any]:
        with capturing(publisher.logger, emitted):
            return publisher.lambda_handler(
                {"Records": records}, FakeLambdaContext("management-test")
            )

    return run


@pytest.fixture
def seed() -> dict[str, Any]:
    return dict(SEED)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext("management-test")


@pytest.fixture
def make_api_event() -> Callable[..., dict[str, Any]]:
    return api_event


@pytest.fixture
def events() -> EventLoader:
    """events("api_submit_ride"): a fresh copy of tests/events/<name>.json."""
    return event_loader(Path(__file__).parent)
