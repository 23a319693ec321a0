"""The ride on the wire: the SNS message the publisher sends and the SQS record consumers get.

The body is the stored ride as JSON; `fare` and `distance` travel again as Number message
attributes because SNS filter policies can only match attributes (or the body) — consumers'
subscriptions filter on them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from wildrydes.ride import Ride, decimal_text

FILTERED_ATTRIBUTES = ("fare", "distance")


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


def sns_message(ride: Ride) -> dict[str, Any]:
    """Keyword arguments for sns.publish (and, with an Id, a publish_batch entry)."""
    return {
        "Message": json.dumps(ride.to_document(), separators=(",", ":")),
        "MessageAttributes": {
            name: {"DataType": "Number", "StringValue": decimal_text(getattr(ride, name))}
            for name in FILTERED_ATTRIBUTES
        },
    }


def ride_from_sqs_body(body: str) -> Ride:
    """Parse an SQS message body that carries an SNS notification of a ride."""
    try:
        notification = SnsNotification.model_validate_json(body)
        return Ride.model_validate_json(notification.Message)
    except ValidationError as error:
        raise RideEventError(
            f"not a ride notification: {error.error_count()} problem(s): "
            f"{error.errors(include_url=False)[0]['msg']}"
        ) from error
