"""SQS events shaped as Lambda's SQS poller delivers them, carrying SNS notifications.

Two ways to get one, for the consumer services' tests:
- `received_event`: receive what a (moto) SNS subscription actually delivered to a queue and
  wrap it as Lambda would: the bodies are SNS's own envelopes.
- `sqs_event(sns_envelope(...), ...)`: build it without a topic, for poison messages and exact
  control; `sns_envelope` copies the envelope moto 5.2.5 delivers (shared/tests/test_consumer.py
  checks it still does).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from wildrydes_testing.templates import REGION

ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:wild-rydes-platform-RideCompletionTopic-TEST"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:wild-rydes-service-Queue-TEST"


def sns_envelope(
    message: dict[str, Any], topic_arn: str = TOPIC_ARN, message_id: str | None = None
) -> str:
    """The SQS body SNS delivers (RawMessageDelivery false) for sns.publish(**message)."""
    sns_id = message_id or str(uuid.uuid4())
    attributes = {
        name: {"Type": value["DataType"], "Value": value["StringValue"]}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    envelope: dict[str, Any] = {
        "Message": message["Message"],
        "MessageId": sns_id,
        "Signature": "EXAMPLE",
        "SignatureVersion": "2",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0.pem",
        "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "TopicArn": topic_arn,
        "Type": "Notification",
        "UnsubscribeURL": (
            f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={topic_arn}:{uuid.uuid4()}"
        ),
    }
    if attributes:
        envelope["MessageAttributes"] = attributes
    return json.dumps(envelope, indent=2, sort_keys=True)


def sqs_record(
    body: str, message_id: str | None = None, queue_arn: str = QUEUE_ARN, receive_count: int = 1
) -> dict[str, Any]:
    """One record of a Lambda SQS event."""
    now_ms = str(int(datetime.now(UTC).timestamp() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now_ms,
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": now_ms,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any] | str) -> dict[str, Any]:
    """A Lambda SQS event; a str is taken as a body and gets a fresh record around it."""
    return {
        "Records": [
            record if isinstance(record, dict) else sqs_record(record) for record in records
        ]
    }


def received_event(sqs: Any, queue_url: str, expected: int | None = None) -> dict[str, Any]:
    """Receive every message waiting in the queue and wrap them as Lambda's poller would."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    records = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            record = sqs_record(
                message["Body"],
                message_id=message["MessageId"],
                queue_arn=queue_arn,
                receive_count=int(message["Attributes"]["ApproximateReceiveCount"]),
            )
            record["receiptHandle"] = message["ReceiptHandle"]
            record["md5OfBody"] = message["MD5OfBody"]
            records.append(record)
    if expected is not None:
        assert len(records) == expected, f"expected {expected} messages, received {len(records)}"
    return {"Records": records}


def failed_ids(response: dict[str, Any]) -> set[str]:
    """The message ids a handler reported in its partial batch response."""
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
