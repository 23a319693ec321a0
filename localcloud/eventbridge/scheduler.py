"""Fires EventBridge schedule rules (`ScheduleExpression`) while localcloud runs.

Every second the scheduler reads the enabled schedule rules of the default event bus (the only
bus AWS lets a schedule rule live on) from moto, and sends each rule that is due a
"Scheduled Event" through the delivery, with the rule's targets as they are then. A `rate()`
counts from when the scheduler first saw the rule (its creation, within a second); a `cron()`
fires on the minute, UTC. A time that passed while localcloud was not running is not made up.

LOCALCLOUD_SCHEDULE_MINUTE_S shortens the minute `rate()` counts in, for tests that cannot wait
one (60 by default: as on AWS).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.eventbridge import event_shape, schedule_expressions
from localcloud.eventbridge.target_input import RuleContext

log = logging.getLogger(__name__)

MINUTE_VARIABLE = "LOCALCLOUD_SCHEDULE_MINUTE_S"
_TICK_S = 1.0


def minute_s() -> float:
    try:
        value = float(os.environ.get(MINUTE_VARIABLE, 60))
    except ValueError:
        return 60.0
    return value if value > 0 else 60.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Tracked:
    expression: str
    schedule: schedule_expressions.Schedule
    started: dt.datetime
    due: dt.datetime | None


class Scheduler:
    def __init__(
        self,
        submit: Callable[[RuleContext, list[dict[str, Any]], dict[str, Any]], None],
        account_id: str,
        region: str,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._submit = submit
        self._account_id = account_id
        self._region = region
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
        self._refused: set[tuple[str, str]] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Scheduler:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="eventbridge-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.wait(_TICK_S):
            try:
                self.tick()
            except Exception:  # a broken rule must not stop the others
                log.exception("EventBridge scheduler")

    def _schedule_rules(self) -> dict[str, Any]:
        from moto.events.models import events_backends

        backend = events_backends[self._account_id][self._region]
        bus = backend.event_buses.get("default")
        rules = list(bus.rules.values()) if bus is not None else []
        return {
            rule.arn: rule
            for rule in rules
            if rule.scheduled_expression and str(rule.state).startswith("ENABLED")
        }

    def tick(self) -> None:
        """Fire every rule that is due now (the thread calls this each second)."""
        now = self._clock()
        rules = self._schedule_rules()
        for arn in set(self._tracked) - set(rules):
            del self._tracked[arn]  # deleted or disabled: a new start if it comes back
        for arn, rule in rules.items():
            tracked = self._track(arn, rule.scheduled_expression, now)
            if tracked is None or tracked.due is None or tracked.due > now:
                continue
            event = event_shape.scheduled_event(arn, self._account_id, self._region, tracked.due)
            context = RuleContext(arn, rule.name, event["time"])
            self._submit(context, list(rule.targets), event)
            tracked.due = tracked.schedule.next_after(max(now, tracked.due), tracked.started)

    def _track(self, arn: str, expression: str, now: dt.datetime) -> _Tracked | None:
        tracked = self._tracked.get(arn)
        if tracked is not None and tracked.expression == expression:
            return tracked
        try:
            schedule = schedule_expressions.parse(expression)
        except schedule_expressions.ScheduleExpressionError as error:
            if (arn, expression) not in self._refused:
                self._refused.add((arn, expression))
                log.error("EventBridge: rule %s never fires: %s", arn, error)
            return None
        if isinstance(schedule, schedule_expressions.Rate):
            schedule = schedule_expressions.Rate(max(1, round(schedule.seconds * minute_s() / 60)))
        tracked = _Tracked(expression, schedule, now, schedule.next_after(now, now))
        self._tracked[arn] = tracked
        return tracked
