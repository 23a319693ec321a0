"""Fires EventBridge schedule rules (`ScheduleExpression`) and EventBridge Scheduler schedules
while localcloud runs.

Every second the scheduler reads from moto the enabled schedule rules of the default event bus
(the only bus AWS lets a schedule rule live on) and the enabled schedules of every schedule
group, and sends what is due through the delivery: a rule's targets, as they are then, get the
"Scheduled Event"; a schedule's target gets what `scheduler_schedules` says. A `rate()` counts
from when the scheduler first saw the rule or schedule (its creation, within a second) or from
a schedule's StartDate; a `cron()` fires on the minute (UTC for rules, the schedule's time zone
for schedules); an `at()` once, after which a schedule with ActionAfterCompletion DELETE is
deleted. A time that passed while localcloud was not running is not made up.

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

from localcloud.eventbridge import event_shape, schedule_expressions, scheduler_schedules
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
    expression: Any  # what the times depend on: a changed one starts again
    schedule: schedule_expressions.Schedule
    started: dt.datetime
    due: dt.datetime | None
    zone: dt.tzinfo = dt.UTC
    ends: float | None = None

    def advance(self, now: dt.datetime) -> None:
        assert self.due is not None
        self.due = self.schedule.next_after(max(now, self.due), self.started, self.zone)
        if self.due is not None and self.ends is not None and self.due.timestamp() > self.ends:
            self.due = None


def _shortened(schedule: schedule_expressions.Schedule) -> schedule_expressions.Schedule:
    if isinstance(schedule, schedule_expressions.Rate):
        return schedule_expressions.Rate(max(1, round(schedule.seconds * minute_s() / 60)))
    return schedule


class Scheduler:
    def __init__(
        self,
        submit: Callable[..., None],  # EventDelivery.submit
        account_id: str,
        region: str,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._submit = submit
        self._account_id = account_id
        self._region = region
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
        self._tracked_schedules: dict[str, _Tracked] = {}
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
        """Fire every rule and schedule that is due now (the thread calls this each second)."""
        now = self._clock()
        self._tick_rules(now)
        self._tick_schedules(now)

    def _tick_rules(self, now: dt.datetime) -> None:
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
            tracked.advance(now)

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
        schedule = _shortened(schedule)
        tracked = _Tracked(expression, schedule, now, schedule.next_after(now, now))
        self._tracked[arn] = tracked
        return tracked

    # EventBridge Scheduler -----------------------------------------------------------------
    def _schedules(self) -> dict[str, Any]:
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[self._account_id][self._region]
        return {
            schedule.arn: schedule
            for group in list(backend.schedule_groups.values())
            for schedule in list(group.schedules.values())
            if schedule.state == "ENABLED"
        }

    def _tick_schedules(self, now: dt.datetime) -> None:
        schedules = self._schedules()
        for arn in set(self._tracked_schedules) - set(schedules):
            del self._tracked_schedules[arn]
        for arn, schedule in schedules.items():
            tracked = self._track_schedule(arn, schedule, now)
            if tracked is None or tracked.due is None or tracked.due > now:
                continue
            fired = scheduler_schedules.firing(
                schedule, self._account_id, self._region, tracked.due
            )
            self._submit(
                fired.context,
                [fired.target],
                fired.event,
                source_attribute="SCHEDULE_ARN",
                context_attributes=fired.context_attributes,
            )
            tracked.advance(now)
            if tracked.due is None and schedule.action_after_completion == "DELETE":
                self._delete(schedule)

    def _track_schedule(self, arn: str, schedule: Any, now: dt.datetime) -> _Tracked | None:
        key = (
            schedule.schedule_expression,
            schedule.schedule_expression_timezone,
            schedule.start_date,
            schedule.end_date,
        )
        tracked = self._tracked_schedules.get(arn)
        if tracked is not None and tracked.expression == key:
            return tracked
        try:
            parsed = _shortened(schedule_expressions.parse_scheduler(schedule.schedule_expression))
            zone = scheduler_schedules.zone(schedule.schedule_expression_timezone)
            starts = scheduler_schedules.epoch_of(schedule.start_date)
            ends = scheduler_schedules.epoch_of(schedule.end_date)
        except (ValueError, schedule_expressions.ScheduleExpressionError) as error:
            if (arn, str(key)) not in self._refused:
                self._refused.add((arn, str(key)))
                log.error("EventBridge Scheduler: schedule %s never fires: %s", arn, error)
            return None
        started = now
        if starts is not None and starts > now.timestamp():
            started = dt.datetime.fromtimestamp(starts, dt.UTC)
        first_after = started - dt.timedelta(seconds=1) if started > now else now
        if isinstance(parsed, schedule_expressions.Rate) and started > now:
            due: dt.datetime | None = started  # a rate with a StartDate begins at it
        else:
            due = parsed.next_after(first_after, started, zone)
        tracked = _Tracked(key, parsed, started, due, zone, ends)
        if due is not None and ends is not None and due.timestamp() > ends:
            tracked.due = None
        self._tracked_schedules[arn] = tracked
        return tracked

    def _delete(self, schedule: Any) -> None:
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[self._account_id][self._region]
        try:
            backend.delete_schedule(schedule.group_name, schedule.name)
        except Exception:  # deleted meanwhile
            log.info("EventBridge Scheduler: %s was already gone", schedule.arn)
