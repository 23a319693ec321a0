"""EventBridge Scheduler's schedules (`AWS::Scheduler::Schedule`, SAM's `ScheduleV2`): what makes
one valid, when it fires, and what its target gets.

- When: `at()`, `rate()` or `cron()` read in `ScheduleExpressionTimezone` (UTC by default),
  inside `StartDate` / `EndDate`. A FLEXIBLE time window fires at its start (AWS picks a moment
  inside it).
- What: the target's `Input` with the context attributes (`<aws.scheduler.schedule-arn>`,
  `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`,
  `<aws.scheduler.attempt-number>`) filled in for each attempt; with no `Input`, a "Scheduled
  Event" notification from `aws.scheduler`. An event bus target gets `Input` as the detail of
  an event with `EventBridgeParameters`' source and detail type; a Kinesis target is partitioned
  by `KinesisParameters.PartitionKey`.
- Retries and dead-letter queue as a rule target's (`RetryPolicy`, `DeadLetterConfig`), the
  dead-letter message naming the schedule in SCHEDULE_ARN.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.eventbridge import event_shape
from localcloud.eventbridge.schedule_expressions import (
    Schedule,
    ScheduleExpressionError,
    parse_scheduler,
)
from localcloud.eventbridge.target_input import RuleContext

# Templated targets whose Input must be JSON (the API refuses anything else for them).
_JSON_INPUT_SERVICES = ("lambda", "states", "events")
_UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"
DELIVERED_SERVICES = ("lambda", "sqs", "sns", "kinesis", "events")


class InvalidSchedule(ValueError):
    """A schedule EventBridge Scheduler would refuse, with the reason."""


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(f"ScheduleExpressionTimezone {name!r} is not a time zone") from None


def _range(value: Any, low: int, high: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
        raise InvalidSchedule(f"{what} must be a whole number from {low} to {high}, not {value!r}")


def validate(
    expression: str,
    timezone: str | None,
    flexible_time_window: dict[str, Any] | None,
    target: dict[str, Any] | None,
    state: str | None,
) -> Schedule:
    """The parsed expression, after every check EventBridge Scheduler makes that matters here."""
    try:
        schedule = parse_scheduler(expression or "")
    except ScheduleExpressionError as error:
        raise InvalidSchedule(f"ScheduleExpression {error}") from None
    zone(timezone)
    window = flexible_time_window or {}
    mode = window.get("Mode")
    if mode not in ("OFF", "FLEXIBLE"):
        raise InvalidSchedule(f"FlexibleTimeWindow.Mode must be OFF or FLEXIBLE, not {mode!r}")
    if mode == "FLEXIBLE":
        if window.get("MaximumWindowInMinutes") is None:
            raise InvalidSchedule("a FLEXIBLE time window needs MaximumWindowInMinutes")
        _range(window.get("MaximumWindowInMinutes"), 1, 1440, "MaximumWindowInMinutes")
    if state not in (None, "ENABLED", "DISABLED"):
        raise InvalidSchedule(f"State must be ENABLED or DISABLED, not {state!r}")
    target = target or {}
    arn = target.get("Arn")
    if not isinstance(arn, str) or not arn.startswith("arn:") or not target.get("RoleArn"):
        raise InvalidSchedule("the Target needs an Arn and a RoleArn")
    policy = target.get("RetryPolicy") or {}
    _range(policy.get("MaximumRetryAttempts"), 0, 185, "RetryPolicy.MaximumRetryAttempts")
    _range(
        policy.get("MaximumEventAgeInSeconds"), 60, 86400, "RetryPolicy.MaximumEventAgeInSeconds"
    )
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service in _JSON_INPUT_SERVICES and target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except (TypeError, ValueError):
            raise InvalidSchedule(f"the Input of a {service} target must be JSON") from None
    return schedule


def target_kind(arn: str) -> str:
    """The service a templated target calls ('' for a universal target or a malformed ARN)."""
    if arn.startswith(_UNIVERSAL_PREFIX) or arn.count(":") < 5:
        return ""
    return arn.split(":")[2]


def epoch_of(value: Any) -> float | None:
    """StartDate / EndDate as moto keeps them (epoch seconds, or ISO 8601 from a template)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


@dataclass(frozen=True)
class Firing:
    """One firing of a schedule, ready for the delivery."""

    context: RuleContext
    target: dict[str, Any]
    event: dict[str, Any]
    context_attributes: Callable[[str, int], str]


def firing(schedule: Any, account_id: str, region: str, scheduled: dt.datetime) -> Firing:
    """What moto's schedule sends its target for the firing due at `scheduled`."""
    target = dict(schedule.target)
    scheduled_text = event_shape.iso_time(scheduled)
    notification = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account_id,
        "time": scheduled_text,
        "region": region,
        "resources": [schedule.arn],
        "detail": "{}",
    }
    raw_input = target.get("Input")
    event = notification
    if target_kind(str(target.get("Arn", ""))) == "events":
        parameters = target.get("EventBridgeParameters") or {}
        event = {
            **notification,
            "source": parameters.get("Source", "aws.scheduler"),
            "detail-type": parameters.get("DetailType", "Scheduled Event"),
            "detail": json.loads(raw_input) if raw_input else {},
        }
    partition_key = (target.get("KinesisParameters") or {}).get("PartitionKey")
    delivered = {
        "Id": schedule.name,
        "Arn": target.get("Arn"),
        "Input": raw_input if raw_input is not None else json.dumps(notification),
        "RetryPolicy": target.get("RetryPolicy"),
        "DeadLetterConfig": target.get("DeadLetterConfig"),
        "SqsParameters": target.get("SqsParameters"),
        "KinesisParameters": {"PartitionKey": partition_key} if partition_key else None,
    }

    def context_attributes(text: str, attempt: int) -> str:
        values = {
            "<aws.scheduler.schedule-arn>": schedule.arn,
            "<aws.scheduler.scheduled-time>": scheduled_text,
            "<aws.scheduler.execution-id>": uuid.uuid4().hex[:16],
            "<aws.scheduler.attempt-number>": str(attempt),
        }
        for keyword, value in values.items():
            text = text.replace(keyword, value)
        return text

    context = RuleContext(schedule.arn, schedule.name, scheduled_text)
    return Firing(
        context, {k: v for k, v in delivered.items() if v is not None}, event, context_attributes
    )
