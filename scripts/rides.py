"""A deployed system's stored rides and subscriptions, as the operator tools read them.

`make trace`, `make replay` and `make redrive` all start from a ride id someone typed, a ride
stored in the Rides table, or a consumer's live subscription; this is the one reading of each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from wildrydes.events import sns_message
from wildrydes.observability import CORRELATION_ATTRIBUTE
from wildrydes.ride import RIDE_ID_PATTERN, Ride, iso_utc

from scripts import services as manifests

RIDE_ID = re.compile(RIDE_ID_PATTERN)
_deserializer = TypeDeserializer()


class CommandError(Exception):
    """Bad input, or a state the operator has to change first; printed without a traceback."""


class RideInputError(ValueError):
    """A ride id or time that is not one; the message says what was expected."""


class RideNotFound(LookupError):
    """A well-formed ride id the Rides table does not hold."""


@dataclass(frozen=True)
class StoredRide:
    """A Rides table item: the ride, and the correlation id stored beside it."""

    ride_id: str
    item: dict[str, Any]

    @property
    def ride(self) -> Ride:
        return Ride.model_validate(self.item)

    @property
    def submitted_at(self) -> datetime:
        return self.ride.submittedAt

    @property
    def correlation_id(self) -> str | None:
        value = self.item.get(CORRELATION_ATTRIBUTE)
        return str(value) if value else None

    def message(self) -> dict[str, Any]:
        """What the publisher sends for this ride (the same function builds it)."""
        return sns_message(self.ride, self.correlation_id)


def parse_ride_id(text: str) -> str:
    value = text.strip()
    if not value:
        raise RideInputError("RIDE is required: RIDE=<ride id>")
    if not RIDE_ID.fullmatch(value):
        raise RideInputError(
            f"RIDE='{text}' is not a ride id: 32 lowercase hexadecimal characters, as in the "
            "201 answer's id"
        )
    return value


def parse_time(name: str, text: str) -> datetime:
    """An ISO-8601 time with its zone (2026-12-02T10:00:00Z)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RideInputError(
            f"{name}='{text}' is not an ISO-8601 time such as 2026-12-02T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise RideInputError(f"{name}='{text}' has no time zone: add Z for UTC")
    return moment


def from_item(item: Mapping[str, Any]) -> StoredRide:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return StoredRide(str(plain["id"]), plain)


def load_ride(dynamodb: Any, table: str, ride_id: str) -> StoredRide:
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": ride_id}}, ConsistentRead=True)
    if "Item" not in item:
        raise RideNotFound(f"no ride with id {ride_id} in the Rides table {table}")
    return from_item(item["Item"])


def scan_rides(
    dynamodb: Any, table: str, since: datetime | None, pages: list[int] | None = None
) -> Iterator[StoredRide]:
    """Every stored ride submitted at or after `since` (all when None), page by page.

    A Scan reads the whole table whatever the filter (the filter only trims what comes back),
    so it costs one read per 4 KB of table: fine for this system's backfills; a larger table
    wants an index on submittedAt or an export to S3 (README, Operating it). `pages` counts
    the pages read, for progress."""
    arguments: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if since is not None:
        # submittedAt is ISO-8601 UTC with milliseconds: its text order is its time order.
        arguments["FilterExpression"] = "submittedAt >= :since"
        arguments["ExpressionAttributeValues"] = {":since": {"S": iso_utc(since)}}
    for page in dynamodb.get_paginator("scan").paginate(**arguments):
        if pages is not None:
            pages.append(page.get("ScannedCount", 0))
        for item in page.get("Items", []):
            yield from_item(item)


def subscriptions_by_endpoint(sns: Any, topic_arn: str) -> dict[str, str]:
    """Endpoint (a queue ARN) -> subscription ARN, for the topic's subscriptions."""
    return {
        subscription["Endpoint"]: subscription["SubscriptionArn"]
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for subscription in page["Subscriptions"]
    }


def live_filter_policy(sns: Any, topic_arn: str, queue_arn: str, service: str) -> str | None:
    """The filter policy (JSON text, None for none) of the subscription that feeds the queue;
    a CommandError when there is none or it filters the body, which the tools do not read."""
    subscription = subscriptions_by_endpoint(sns, topic_arn).get(queue_arn)
    if subscription is None:
        raise CommandError(f"{service}'s queue is not subscribed to the topic")
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    scope = attributes.get("FilterPolicyScope") or "MessageAttributes"
    if attributes.get("FilterPolicy") and scope != "MessageAttributes":
        raise CommandError(
            f"{service}'s filter policy scope is {scope}: only message attributes are evaluated"
        )
    return attributes.get("FilterPolicy")


def consumer_service(name: str, command: str) -> str:
    """SERVICE for a command that sends rides to a consumer (replay, redrive)."""
    if not name.strip():
        raise CommandError(f"SERVICE is required: make {command} SERVICE=<consumer>")
    consumers = manifests.names("consumer")
    if name in manifests.names("producer"):
        raise CommandError(
            f"SERVICE='{name}' publishes rides; {command} sends them to a consumer: "
            + ", ".join(consumers)
        )
    if name not in consumers:
        raise CommandError(
            f"SERVICE='{name}' is not a consumer service: use one of " + ", ".join(consumers)
        )
    return name
