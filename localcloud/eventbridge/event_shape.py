"""An event as EventBridge delivers it, from the message moto's PutEvents builds.

moto's message differs from AWS's in three ways a consumer sees: `time` is epoch seconds (AWS:
ISO 8601, `2024-05-01T12:00:00Z`), it carries moto's own `ingestion-time` key, and S3's events
to EventBridge all share one fixed `id`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

# The id moto gives every event it builds from its template (S3 -> EventBridge does not set one).
_MOTO_TEMPLATE_ID = "17793124-05d4-b198-2fde-7ededc63b103"
_INGESTION_KEY = "ingestion-time"


def iso_time(value: Any) -> str:
    """An event time as EventBridge writes it: UTC, seconds, `Z`."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, (int, float)):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str) and value:
        return value
    else:
        moment = dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_moto(message: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the event as delivered, its ingestion time in ISO 8601)."""
    event = {key: value for key, value in message.items() if key != _INGESTION_KEY}
    if event.get("id") in (None, "", _MOTO_TEMPLATE_ID):
        event["id"] = str(uuid.uuid4())
    event["time"] = iso_time(event.get("time"))
    return event, iso_time(message.get(_INGESTION_KEY))


def scheduled_event(
    rule_arn: str, account_id: str, region: str, fire_time: dt.datetime
) -> dict[str, Any]:
    """The event a schedule rule sends its targets (detail-type "Scheduled Event")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": iso_time(fire_time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
