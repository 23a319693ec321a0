"""The ride on the wire: the SNS message the publisher sends and the SQS record consumers get.

The body is the stored ride as JSON; `fare` and `distance` travel again as Number message
attributes because SNS filter policies can only match attributes (or the body) — consumers'
subscriptions filter on them. `correlationId`, a String attribute, carries the id of the API
request that submitted the ride, so every consumer's log lines join the publisher's; no filter
policy names it, and SNS ignores attributes a policy does not name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from wildrydes.observability import CORRELATION_ATTRIBUTE
from wildrydes.ride import Ride, decimal_text, iso_utc

FILTERED_ATTRIBUTES = ("fare", "distance")
# A String attribute "true" on notifications `make replay` (or a delivery-DLQ redrive) sent
# straight to a service's queue: SNS never sets it, consumers log and count it.
REPLAY_ATTRIBUTE = "replay"


class RideEventError(ValueError):
    """A queue message that is not a ride notification; reported as a batch item failure."""


class SnsMessageAttribute(BaseModel):
    Type: str
    Value: str


class SnsNotification(BaseModel):
    """The SNS envelope an SQS subscription (RawMessageDelivery false) delivers, reduced to the
    fields we read. Our own model rather than Powertools' SnsNotificationModel: importing that
    pulls in the parser utility and builds a wider model (URLs, timestamps) on every consumer
    cold start, for fields nothing here uses. Other envelope keys are ignored."""

    Type: Literal["Notification"]
    MessageId: str
    TopicArn: str
    Message: str
    MessageAttributes: dict[str, SnsMessageAttribute] | None = None


@dataclass(frozen=True)
class RideNotification:
    """A ride as a consumer receives it, with the ids its log lines carry."""

    ride: Ride
    sns_message_id: str
    correlation_id: str | None
    replay: bool = False


def sns_message(ride: Ride, correlation_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments for sns.publish (and, with an Id, a publish_batch entry)."""
    attributes = {
        name: {"DataType": "Number", "StringValue": decimal_text(getattr(ride, name))}
        for name in FILTERED_ATTRIBUTES
    }
    if correlation_id:
        attributes[CORRELATION_ATTRIBUTE] = {"DataType": "String", "StringValue": correlation_id}
    return {
        "Message": json.dumps(ride.to_document(), separators=(",", ":")),
        "MessageAttributes": attributes,
    }


def notification_from_sqs_body(body: str) -> RideNotification:
    """Parse an SQS message body that carries an SNS notification of a ride."""
    try:
        notification = SnsNotification.model_validate_json(body)
        ride = Ride.model_validate_json(notification.Message)
    except ValidationError as error:
        raise RideEventError(
            f"not a ride notification: {error.error_count()} problem(s): "
            f"{error.errors(include_url=False)[0]['msg']}"
        ) from error
    attributes = notification.MessageAttributes or {}
    correlation = attributes.get(CORRELATION_ATTRIBUTE)
    replay = attributes.get(REPLAY_ATTRIBUTE)
    return RideNotification(
        ride=ride,
        sns_message_id=notification.MessageId,
        correlation_id=correlation.Value if correlation else None,
        replay=replay is not None and replay.Value == "true",
    )


def replayed_notification(
    message: dict[str, Any], topic_arn: str, message_id: str, sent_at: datetime
) -> str:
    """The SQS body SNS would deliver (RawMessageDelivery false) for sns.publish(**message), for
    sending a ride straight to one service's queue: the envelope fields consumers read, the
    message attributes as SNS writes them, and `replay` = "true". No signature: SNS alone can
    sign, and consumers read from their own queue, which only the topic and operators reach."""
    attributes = {
        name: {"Type": value["DataType"], "Value": value["StringValue"]}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    attributes[REPLAY_ATTRIBUTE] = {"Type": "String", "Value": "true"}
    envelope = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message["Message"],
        "Timestamp": iso_utc(sent_at),
        "MessageAttributes": attributes,
    }
    return json.dumps(envelope, separators=(",", ":"))


def ride_from_sqs_body(body: str) -> Ride:
    """The ride alone, for callers that need no ids."""
    return notification_from_sqs_body(body).ride
