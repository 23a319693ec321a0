"""One call to one rule target, through the public AWS APIs, as EventBridge makes it.

- Lambda: an asynchronous invocation (the function's own retries and destinations then apply);
  a text input that is not JSON reaches it as a JSON string.
- SQS: the input as the message body; FIFO queues get `SqsParameters.MessageGroupId` and the
  event id as deduplication id.
- SNS: the input as the message.
- Kinesis: the input as the record, partitioned by `KinesisParameters.PartitionKeyPath` (the
  event id without one).
- CloudWatch Logs: the input as a log event, in a stream named after the event id.
- Event bus: the event itself, put on that bus.

A failure raises DeliveryFailed with EventBridge's error code and whether a retry can help:
a target that does not exist is NO_RESOURCE and not retried, as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.eventbridge.target_input import select
from localcloud.lambda_runtime.aws_clients import ClientFactory

# The error codes each service answers for a resource that is not there.
_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFound",
        "NotFoundException",
    }
)
_THROTTLED = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestThrottled"}
)
DELIVERED_SERVICES = ("lambda", "sqs", "sns", "kinesis", "logs", "events")


class DeliveryFailed(Exception):
    def __init__(self, code: str, message: str, retriable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retriable = retriable


class TargetNotEmulated(Exception):
    """A target kind localcloud does not deliver to (Step Functions, ECS, API destinations...)."""


def send(clients: ClientFactory, target: dict[str, Any], text: str, event: dict[str, Any]) -> None:
    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    if len(parts) < 6:
        raise DeliveryFailed("INVALID_PARAMETER", f"target ARN {arn!r} is malformed", False)
    service, region = parts[2], parts[3]
    if service not in DELIVERED_SERVICES:
        raise TargetNotEmulated(service)
    client = clients.client(service, region)
    try:
        _SENDERS[service](client, target, parts, text, event)
    except ClientError as error:
        raise _failure(error) from None
    except BotoCoreError as error:  # no answer at all: the service is not reachable
        raise DeliveryFailed("CONNECTION_FAILURE", str(error), True) from None


def _failure(error: ClientError) -> DeliveryFailed:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "") or str(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _NOT_FOUND:
        return DeliveryFailed("NO_RESOURCE", message, False)
    if code in _THROTTLED or status == 429:
        return DeliveryFailed("THROTTLING", message, True)
    if status >= 500:
        return DeliveryFailed("INTERNAL_ERROR", message, True)
    return DeliveryFailed("INVALID_PARAMETER", f"{code}: {message}", False)


def _json_payload(text: str) -> str:
    try:
        json.loads(text)
        return text
    except ValueError:
        return json.dumps(text)


def _to_lambda(client: Any, target: dict[str, Any], parts: list[str], text: str, _: Any) -> None:
    client.invoke(
        FunctionName=target["Arn"], InvocationType="Event", Payload=_json_payload(text).encode()
    )


def _to_sqs(
    client: Any, target: dict[str, Any], parts: list[str], text: str, event: dict[str, Any]
) -> None:
    url = client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    extra: dict[str, str] = {}
    if parts[5].endswith(".fifo"):
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if not group:
            raise DeliveryFailed(
                "INVALID_PARAMETER", "a FIFO queue target needs SqsParameters.MessageGroupId", False
            )
        extra = {"MessageGroupId": group, "MessageDeduplicationId": event["id"]}
    client.send_message(QueueUrl=url, MessageBody=text, **extra)


def _to_sns(client: Any, target: dict[str, Any], parts: list[str], text: str, _: Any) -> None:
    client.publish(TopicArn=target["Arn"], Message=text)


def _to_kinesis(
    client: Any, target: dict[str, Any], parts: list[str], text: str, event: dict[str, Any]
) -> None:
    parameters = target.get("KinesisParameters") or {}
    path = parameters.get("PartitionKeyPath")  # a rule's: a JSON path into the event
    key = select(event, path) if path else parameters.get("PartitionKey") or event["id"]
    client.put_record(
        StreamARN=target["Arn"],
        Data=text.encode(),
        PartitionKey=str(key if key is not None else event["id"]),
    )


def _to_logs(
    client: Any, target: dict[str, Any], parts: list[str], text: str, event: dict[str, Any]
) -> None:
    group = ":".join(parts[6:]).removesuffix(":*")
    stream = event["id"]
    # An earlier attempt of this delivery may have made the stream, then failed to write.
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": text}],
    )


def _to_event_bus(
    client: Any, target: dict[str, Any], parts: list[str], text: str, event: dict[str, Any]
) -> None:
    answer = client.put_events(
        Entries=[
            {
                "EventBusName": target["Arn"],
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event.get("detail", {})),
                "Resources": event.get("resources", []),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        [entry] = answer["Entries"]
        raise DeliveryFailed(
            "INVALID_PARAMETER", f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}", False
        )


_SENDERS = {
    "lambda": _to_lambda,
    "sqs": _to_sqs,
    "sns": _to_sns,
    "kinesis": _to_kinesis,
    "logs": _to_logs,
    "events": _to_event_bus,
}
