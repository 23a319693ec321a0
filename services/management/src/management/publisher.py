"""RidePublisher: the outbox relay from the Rides table's stream to the RideCompletion topic.

Only INSERT records are published (the event source filter passes nothing else; this checks
again), and only from the record's NewImage, so nothing reaches the topic that was not stored.
A record whose image is not a valid ride, or whose publication SNS refused, is reported in
`batchItemFailures` (by its sequence number) so Lambda retries from it; the rest of the batch
is published now. Records after a failed one are published again on that retry: delivery is
at least once and consumers are idempotent on the ride id.

Each ride goes out with the correlation id stored beside it (the submit request's id), and
every line about it carries `ride_id` and `correlation_id`: that id is what joins the stream
hop, where no trace header travels.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from wildrydes.events import sns_message
from wildrydes.observability import (
    CORRELATION_ATTRIBUTE,
    CORRELATION_ID,
    NOT_PUBLISHED_MESSAGE,
    PUBLISHED_MESSAGE,
    RIDE_ID,
    SNS_MESSAGE_ID,
    MetricName,
    count,
    observed,
    service_logger,
    service_metrics,
)
from wildrydes.ride import Ride

from management.rides_store import from_attributes

# publish_batch takes at most 10 entries per call.
SNS_BATCH_LIMIT = 10

logger = service_logger("management")
metrics = service_metrics("management")
sns = boto3.client("sns")
TOPIC_ARN = os.environ["TOPIC_ARN"]


@dataclass(frozen=True)
class PendingRide:
    sequence_number: str
    ride: Ride
    correlation_id: str | None  # absent on rides stored before it was

    @property
    def message(self) -> dict[str, Any]:
        return sns_message(self.ride, self.correlation_id)

    @property
    def log_keys(self) -> dict[str, Any]:
        return {RIDE_ID: self.ride.id, CORRELATION_ID: self.correlation_id}


@observed(logger, metrics)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    pending: list[PendingRide] = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue  # updates and deletes are not new rides
        sequence_number = record["dynamodb"]["SequenceNumber"]
        try:
            pending.append(_pending_ride(sequence_number, record))
        except (KeyError, TypeError, ValidationError) as error:
            logger.error(
                "stream record is not a ride; not published",
                extra={"sequence_number": sequence_number, "reason": str(error)},
            )
            failed.append(sequence_number)

    if len(pending) == 1:
        failed += _publish_one(pending[0])
    else:
        for chunk in _chunks(pending, SNS_BATCH_LIMIT):
            failed += _publish_chunk(chunk)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


def _pending_ride(sequence_number: str, record: dict[str, Any]) -> PendingRide:
    image = from_attributes(record["dynamodb"]["NewImage"])
    correlation_id = image.get(CORRELATION_ATTRIBUTE)
    return PendingRide(
        sequence_number,
        Ride.model_validate(image),
        correlation_id if isinstance(correlation_id, str) and correlation_id else None,
    )


def _publish_one(item: PendingRide) -> list[str]:
    try:
        response = sns.publish(TopicArn=TOPIC_ARN, **item.message)
    except (ClientError, BotoCoreError) as error:
        _log_not_published(item, str(error))
        return [item.sequence_number]
    _log_published(item, response["MessageId"])
    return []


def _publish_chunk(chunk: Sequence[PendingRide]) -> list[str]:
    # Entry ids are positions in the chunk: unique even if one ride id appeared twice.
    entries = [{"Id": str(index), **item.message} for index, item in enumerate(chunk)]
    try:
        response = sns.publish_batch(TopicArn=TOPIC_ARN, PublishBatchRequestEntries=entries)
    except (ClientError, BotoCoreError) as error:
        for item in chunk:
            _log_not_published(item, str(error))
        return [item.sequence_number for item in chunk]
    for success in response.get("Successful", []):
        _log_published(chunk[int(success["Id"])], success["MessageId"])
    failed = []
    for failure in response.get("Failed", []):
        item = chunk[int(failure["Id"])]
        _log_not_published(item, f"{failure.get('Code')}: {failure.get('Message')}")
        failed.append(item.sequence_number)
    return failed


def _chunks(items: Sequence[PendingRide], size: int) -> Iterator[Sequence[PendingRide]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_published(item: PendingRide, message_id: str) -> None:
    count(metrics, MetricName.RIDE_PUBLISHED)
    logger.info(PUBLISHED_MESSAGE, extra={**item.log_keys, SNS_MESSAGE_ID: message_id})


def _log_not_published(item: PendingRide, reason: str) -> None:
    count(metrics, MetricName.RIDE_PUBLISH_FAILED)
    logger.error(
        NOT_PUBLISHED_MESSAGE,
        extra={**item.log_keys, "sequence_number": item.sequence_number, "reason": reason},
    )
