"""localcloud.in_process: localcloud's own clients reach a moto server in their own process
without its socket, and get the answers they would have got over HTTP."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from localcloud import in_process
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.environment import AwsTarget
from localcloud.server import LocalCloud, start

REGION = "us-east-1"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    # reset=False: moto's state is process-wide, and other suites may share this process.
    with start(0, reset=False) as running:
        yield running


def _over_http(cloud: LocalCloud, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def silent_address() -> Iterator[str]:
    """An address on this machine where nothing listens: its port is held, never listened on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://localhost:{holder.getsockname()[1]}"


def test_a_factory_client_is_answered_in_process_not_over_the_socket(
    cloud: LocalCloud, silent_address: str
) -> None:
    # GIVEN the server's application registered under an address where nothing listens
    in_process.serve(silent_address, cloud._server.app)
    try:
        sqs = ClientFactory(AwsTarget(silent_address), REGION).client("sqs")

        # WHEN a localcloud client calls that address
        name = f"routed-{uuid.uuid4().hex[:8]}"
        sqs.create_queue(QueueName=name)

        # THEN the server answered it (no socket could have)
        queue_urls = _over_http(cloud, "sqs").list_queues()["QueueUrls"]
        assert any(url.endswith(f"/{name}") for url in queue_urls)
    finally:
        in_process.stop_serving(silent_address)

    # AND once the address is no longer served, the same client is back on HTTP (and fails)
    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()


def test_answers_and_errors_are_the_ones_http_gives(cloud: LocalCloud) -> None:
    routed = ClientFactory(AwsTarget(cloud.endpoint_url), REGION).client("sqs")
    plain = _over_http(cloud, "sqs")
    url = routed.create_queue(QueueName=f"same-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    attributes = {"fare": {"DataType": "Number", "StringValue": "12.5"}}

    # a JSON-protocol call with a body, attributes and MD5s computed by the server
    sent = routed.send_message(QueueUrl=url, MessageBody="ride", MessageAttributes=attributes)
    [message] = plain.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"] == attributes

    # an error: the same code, message and HTTP status either way
    errors = []
    for client in (routed, plain):
        with pytest.raises(ClientError) as raised:
            client.get_queue_url(QueueName="no-such-queue")
        errors.append(raised.value.response)
    routed_error, plain_error = errors
    assert routed_error["Error"] == plain_error["Error"]
    assert routed_error["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert {e["ResponseMetadata"]["HTTPStatusCode"] for e in errors} == {400}


def test_query_protocol_calls_work_in_process(cloud: LocalCloud) -> None:
    # SNS speaks the query protocol (form-encoded body, XML answer), unlike SQS's JSON.
    sns = ClientFactory(AwsTarget(cloud.endpoint_url), REGION).client("sns")
    name = f"topic-{uuid.uuid4().hex[:8]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn.endswith(f":{name}")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn


def test_a_client_for_an_address_no_server_in_this_process_serves_stays_on_http() -> None:
    client = boto3.client("sqs", region_name=REGION, endpoint_url="http://localhost:1")
    assert in_process.route_client(client, "http://localhost:1") is False
