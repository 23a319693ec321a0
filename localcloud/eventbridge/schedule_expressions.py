"""EventBridge schedule expressions, parsed, and the next time each one fires (UTC).

- `rate(value unit)`: every `value` minutes, hours or days (`minute`/`hour`/`day` when value is
  1, the plural otherwise), counted from when the schedule started.
- `cron(minutes hours day-of-month month day-of-week year)`: AWS's six-field cron. Fields take
  `*`, values, `a-b` ranges, `a,b` lists and `/step` increments; months `JAN`-`DEC`, weekdays
  `SUN`-`SAT` (1 is Sunday); one of the two day fields must be `?`. Day-of-month also takes `L`
  (the last day), `nW` (the weekday nearest day n, inside the month) and `LW`; day-of-week takes
  `nL` (the month's last such weekday) and `n#k` (its k-th).
- `at(yyyy-mm-ddThh:mm:ss)`: once (EventBridge Scheduler's one-time schedules).

EventBridge rules read cron and at in UTC; EventBridge Scheduler in the schedule's
`ScheduleExpressionTimezone` (`next_after(..., zone)`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): n for n, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_LAST_YEAR = 2199


class ScheduleExpressionError(ValueError):
    """An expression EventBridge would refuse."""


class Schedule:
    def next_after(
        self, moment: dt.datetime, started: dt.datetime, zone: dt.tzinfo = dt.UTC
    ) -> dt.datetime | None:
        """The first time after `moment` it fires, in UTC (None: never again)."""
        raise NotImplementedError


@dataclass(frozen=True)
class At(Schedule):
    when: dt.datetime  # naive: read in the schedule's time zone

    def next_after(
        self, moment: dt.datetime, started: dt.datetime, zone: dt.tzinfo = dt.UTC
    ) -> dt.datetime | None:
        fires = self.when.replace(tzinfo=zone).astimezone(dt.UTC)
        return fires if fires > moment else None


@dataclass(frozen=True)
class Rate(Schedule):
    seconds: int

    def next_after(
        self, moment: dt.datetime, started: dt.datetime, zone: dt.tzinfo = dt.UTC
    ) -> dt.datetime:
        elapsed = (moment - started).total_seconds()
        periods = max(0, int(elapsed // self.seconds)) + 1
        return started + dt.timedelta(seconds=periods * self.seconds)


def parse(expression: str) -> Schedule:
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleExpressionError(f"{expression}: the rate must be at least 1")
        if (value == 1) == unit.endswith("s"):
            raise ScheduleExpressionError(
                f"{expression}: use the singular unit for 1 and the plural for more"
            )
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])
    cron = _CRON.match(text)
    if cron:
        return Cron.parse(cron.group(1), expression)
    raise ScheduleExpressionError(f"{expression}: not a rate(...) or cron(...) expression")


def parse_scheduler(expression: str) -> Schedule:
    """An EventBridge Scheduler expression: `at(...)` too."""
    at = _AT.match(expression.strip())
    if at:
        try:
            return At(dt.datetime.fromisoformat(at.group(1)))
        except ValueError:
            raise ScheduleExpressionError(f"{expression}: not a real date and time") from None
    if expression.strip().startswith(("rate(", "cron(")):
        return parse(expression)
    raise ScheduleExpressionError(
        f"{expression}: not an at(...), rate(...) or cron(...) expression"
    )


def _number(token: str, names: dict[str, int], low: int, high: int, expression: str) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise ScheduleExpressionError(f"{expression}: {token!r} is not in {low}-{high}")
    return value


def _values(
    field: str, low: int, high: int, expression: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    """The values a plain cron field (`*`, lists, ranges, steps) allows."""
    names = names or {}
    allowed: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else None
        if step_text and (step is None or step < 1):
            raise ScheduleExpressionError(f"{expression}: bad increment in {item!r}")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            start, _, end = span.partition("-")
            first = _number(start, names, low, high, expression)
            last = _number(end, names, low, high, expression)
        else:
            first = _number(span, names, low, high, expression)
            last = high if step else first
        if first > last:
            raise ScheduleExpressionError(f"{expression}: range {span!r} runs backwards")
        allowed.update(range(first, last + 1, step or 1))
    return frozenset(allowed)


def _aws_weekday(day: dt.date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python, 2 in AWS (Sunday is 1)


def _nearest_weekday(year: int, month: int, wanted: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(wanted, last)
    weekday = dt.date(year, month, day).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the month's last day
        return day + 1 if day < last else day - 2
    return day


def _day_of_month_rule(field: str, expression: str) -> Callable[[dt.date], bool]:
    if field in ("L", "LW"):
        weekday_only = field == "LW"

        def last_day(day: dt.date) -> bool:
            last = calendar.monthrange(day.year, day.month)[1]
            if weekday_only:
                return day.day == _nearest_weekday(day.year, day.month, last)
            return day.day == last

        return last_day
    if field.endswith("W"):
        wanted = _number(field[:-1], {}, 1, 31, expression)
        return lambda day: day.day == _nearest_weekday(day.year, day.month, wanted)
    days = _values(field, 1, 31, expression)
    return lambda day: day.day in days


def _day_of_week_rule(field: str, expression: str) -> Callable[[dt.date], bool]:
    if field == "L":
        field = "7"  # alone, L is the week's last day (Saturday)
    if field.endswith("L"):
        weekday = _number(field[:-1], _WEEKDAYS, 1, 7, expression)
        return lambda day: (
            _aws_weekday(day) == weekday
            and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        )
    if "#" in field:
        weekday_text, _, nth_text = field.partition("#")
        weekday = _number(weekday_text, _WEEKDAYS, 1, 7, expression)
        nth = _number(nth_text, {}, 1, 5, expression)
        return lambda day: _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    weekdays = _values(field, 1, 7, expression, _WEEKDAYS)
    return lambda day: _aws_weekday(day) in weekdays


@dataclass(frozen=True)
class Cron(Schedule):
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[dt.date], bool]

    @classmethod
    def parse(cls, body: str, expression: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(
                f"{expression}: cron takes 6 fields (minutes hours day-of-month month "
                f"day-of-week year), not {len(fields)}"
            )
        minutes, hours, day_of_month, month, day_of_week, year = fields
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ScheduleExpressionError(
                f"{expression}: exactly one of day-of-month and day-of-week must be '?'"
            )
        day_matches = (
            _day_of_week_rule(day_of_week, expression)
            if day_of_month == "?"
            else _day_of_month_rule(day_of_month, expression)
        )
        return cls(
            minutes=_values(minutes, 0, 59, expression),
            hours=_values(hours, 0, 23, expression),
            months=_values(month, 1, 12, expression, _MONTHS),
            years=_values(year, 1970, _LAST_YEAR, expression),
            day_matches=day_matches,
        )

    def next_after(
        self, moment: dt.datetime, started: dt.datetime, zone: dt.tzinfo = dt.UTC
    ) -> dt.datetime | None:
        local = moment.astimezone(zone).replace(tzinfo=None)
        found = self._next_wall_time(local)
        return found.replace(tzinfo=zone).astimezone(dt.UTC) if found else None

    def _next_wall_time(self, moment: dt.datetime) -> dt.datetime | None:
        """The first matching wall-clock minute after `moment` (naive, in the zone)."""
        start = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = start.date()
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                day = dt.date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                continue
            if self.day_matches(day):
                earliest = (start.hour, start.minute) if day == start.date() else (0, 0)
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        if (hour, minute) >= earliest:
                            return dt.datetime(day.year, day.month, day.day, hour, minute)
            day += dt.timedelta(days=1)
        return None
