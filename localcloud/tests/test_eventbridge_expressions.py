"""EventBridge's schedule expressions and target input rules, without a server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.eventbridge import event_shape, scheduler_schedules
from localcloud.eventbridge.schedule_expressions import (
    Cron,
    Rate,
    ScheduleExpressionError,
    parse,
    parse_scheduler,
)
from localcloud.eventbridge.target_input import InvalidInput, RuleContext, input_text

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- schedule expressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 days)", 172800),
    ],
)
def test_rates_count_from_the_start(expression: str, seconds: int) -> None:
    schedule = parse(expression)
    assert schedule == Rate(seconds)
    started = at("2026-12-03T10:00:17")
    assert schedule.next_after(started, started) == started + dt.timedelta(seconds=seconds)
    later = started + dt.timedelta(seconds=seconds * 3 + 1)
    assert schedule.next_after(later, started) == started + dt.timedelta(seconds=seconds * 4)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("cron(0/15 * * * ? *)", "2026-12-03T10:07:30", "2026-12-03T10:15:00"),
        ("cron(0 12 * * ? *)", "2026-12-03T12:00:00", "2026-12-04T12:00:00"),
        ("cron(15 10 ? * MON-FRI *)", "2026-12-04T11:00:00", "2026-12-07T10:15:00"),  # Fri->Mon
        ("cron(0 8 1 * ? *)", "2026-12-03T00:00:00", "2027-01-01T08:00:00"),
        ("cron(0 0 L * ? *)", "2027-02-01T00:00:00", "2027-02-28T00:00:00"),
        ("cron(0 0 LW * ? *)", "2027-07-01T00:00:00", "2027-07-30T00:00:00"),  # 31st is a Sat
        ("cron(0 9 15W * ? *)", "2027-05-01T00:00:00", "2027-05-14T09:00:00"),  # 15th is a Sat
        ("cron(0 9 1W * ? *)", "2027-05-01T10:00:00", "2027-05-03T09:00:00"),  # 1st is a Sat
        ("cron(0 18 ? * 6L *)", "2026-12-01T00:00:00", "2026-12-25T18:00:00"),  # last Friday
        ("cron(30 9 ? * 2#1 *)", "2026-12-03T00:00:00", "2026-12-07T09:30:00"),  # 1st Monday
        ("cron(0 0 1 JAN ? 2028)", "2026-12-03T00:00:00", "2028-01-01T00:00:00"),
        ("cron(0,30 8-9 ? * SAT,SUN *)", "2026-12-05T08:45:00", "2026-12-05T09:00:00"),
    ],
)
def test_cron_fires_at_the_next_matching_minute(
    expression: str, moment: str, expected: str
) -> None:
    assert parse(expression).next_after(at(moment), at(moment)) == at(expected)


def test_a_cron_whose_years_are_over_never_fires_again() -> None:
    assert (
        parse("cron(0 0 1 1 ? 2020)").next_after(
            at("2026-01-01T00:00:00"), at("2026-01-01T00:00:00")
        )
        is None
    )


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(5 weeks)",
        "cron(0 12 * * *)",
        "cron(0 12 * * * *)",  # both day fields set
        "cron(0 12 ? * ? *)",  # neither
        "cron(61 12 * * ? *)",
        "cron(0 12 * FOO ? *)",
        "cron(0 12 ? * 2#6 *)",
        "cron(0/0 * * * ? *)",
        "cron(0 20-10 * * ? *)",
        "every day",
    ],
)
def test_expressions_eventbridge_refuses_are_refused_with_the_reason(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=r"\("):
        parse(expression)


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=4),
    hours=st.sets(st.integers(0, 23), min_size=1, max_size=3),
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2030, 12, 31)),
)
def test_cron_next_time_is_the_first_matching_minute_after_the_moment(
    minutes: set[int], hours: set[int], start: dt.datetime
) -> None:
    expression = (
        f"cron({','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} * * ? *)"
    )
    schedule = parse(expression)
    assert isinstance(schedule, Cron)
    moment = start.replace(tzinfo=UTC)
    found = schedule.next_after(moment, moment)
    assert found is not None
    # the brute force answer: minute by minute from the next whole minute
    probe = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while not (probe.minute in minutes and probe.hour in hours):
        probe += dt.timedelta(minutes=1)
    assert found == probe


# --- target input -------------------------------------------------------------------------------

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "RideCompleted",
    "source": "wildrydes.rides",
    "account": "123456789012",
    "time": "2026-12-03T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"ride": "r-1", "fare": 42.5, "unicorn": {"name": "Shadowfax"}, "tags": ["a", "b"]},
}
CONTEXT = RuleContext(
    "arn:aws:events:us-east-1:123456789012:rule/rides", "rides", "2026-12-03T10:00:01Z"
)


def test_without_input_settings_the_target_gets_the_whole_event() -> None:
    assert json.loads(input_text({"Id": "t"}, EVENT, CONTEXT)) == EVENT


def test_input_is_sent_as_is_and_input_path_selects_part_of_the_event() -> None:
    assert input_text({"Input": '{"fixed": true}'}, EVENT, CONTEXT) == '{"fixed": true}'
    assert json.loads(input_text({"InputPath": "$.detail.unicorn"}, EVENT, CONTEXT)) == {
        "name": "Shadowfax"
    }
    assert json.loads(input_text({"InputPath": "$.detail.tags[1]"}, EVENT, CONTEXT)) == "b"


def test_a_json_template_quotes_by_where_the_placeholder_stands() -> None:
    transformer = {
        "InputPathsMap": {
            "ride": "$.detail.ride",
            "fare": "$.detail.fare",
            "who": "$.detail.unicorn",
            "none": "$.detail.missing",
        },
        "InputTemplate": (
            '{"ride": <ride>, "fare": <fare>, "text": "ride <ride> cost <fare>", "who": <who>, '
            '"none": <none>, "rule": "<aws.events.rule-name>", '
            '"at": "<aws.events.event.ingestion-time>"}'
        ),
    }
    assert json.loads(input_text({"InputTransformer": transformer}, EVENT, CONTEXT)) == {
        "ride": "r-1",
        "fare": 42.5,
        "text": "ride r-1 cost 42.5",
        "who": {"name": "Shadowfax"},
        "none": None,
        "rule": "rides",
        "at": "2026-12-03T10:00:01Z",
    }


def test_a_text_template_gets_the_values_bare_and_the_event_variables_are_raw_json() -> None:
    text = {
        "InputPathsMap": {"ride": "$.detail.ride"},
        "InputTemplate": "Ride <ride> done <unknown>",
    }
    assert input_text({"InputTransformer": text}, EVENT, CONTEXT) == "Ride r-1 done <unknown>"
    quoted = {
        "InputPathsMap": {"ride": "$.detail.ride"},
        "InputTemplate": '"Ride \\"<ride>\\" done"',
    }
    assert json.loads(input_text({"InputTransformer": quoted}, EVENT, CONTEXT)) == 'Ride "r-1" done'
    whole = {
        "InputTemplate": '{"original": <aws.events.event.json>, "envelope": <aws.events.event>}'
    }
    built = json.loads(input_text({"InputTransformer": whole}, EVENT, CONTEXT))
    assert built["original"] == EVENT
    assert "detail" not in built["envelope"]
    assert built["envelope"]["id"] == EVENT["id"]


def test_a_broken_json_path_is_an_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not valid"):
        input_text({"InputPath": "$.detail[?"}, EVENT, CONTEXT)


def test_moto_events_are_reshaped_as_eventbridge_delivers_them() -> None:
    message = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",  # moto's template id (S3's events)
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": 1796292000.5,
        "ingestion-time": 1796292001.0,
        "detail": {},
    }
    event, ingestion = event_shape.from_moto(message)
    assert event["time"] == "2026-12-03T10:00:00Z"
    assert ingestion == "2026-12-03T10:00:01Z"
    assert "ingestion-time" not in event
    assert event["id"] != message["id"]


# --- EventBridge Scheduler ----------------------------------------------------------------------


def test_at_fires_once_in_the_schedule_time_zone() -> None:
    paris = scheduler_schedules.zone("Europe/Paris")
    at_schedule = parse_scheduler("at(2026-12-24T18:00:00)")
    moment = at("2026-12-03T10:00:00")
    assert at_schedule.next_after(moment, moment, paris) == at("2026-12-24T17:00:00")
    assert at_schedule.next_after(at("2026-12-24T17:00:00"), moment, paris) is None


def test_cron_reads_the_schedule_time_zone() -> None:
    new_york = scheduler_schedules.zone("America/New_York")
    nine_am = parse_scheduler("cron(0 9 * * ? *)")
    moment = at("2026-12-03T10:00:00")
    assert nine_am.next_after(moment, moment, new_york) == at("2026-12-03T14:00:00")  # EST
    summer = at("2027-07-01T10:00:00")
    assert nine_am.next_after(summer, summer, new_york) == at("2027-07-01T13:00:00")  # EDT


TARGET = {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::1:role/r"}


@pytest.mark.parametrize(
    ("expression", "timezone", "window", "target", "reason"),
    [
        ("at(2026-02-30T10:00:00)", None, {"Mode": "OFF"}, TARGET, "not a real date"),
        ("rate(1 minutes)", None, {"Mode": "OFF"}, TARGET, "singular"),
        ("rate(5 minutes)", "Mars/Olympus", {"Mode": "OFF"}, TARGET, "not a time zone"),
        ("rate(5 minutes)", None, {"Mode": "SOMETIMES"}, TARGET, "Mode must be"),
        ("rate(5 minutes)", None, {"Mode": "FLEXIBLE"}, TARGET, "MaximumWindowInMinutes"),
        ("rate(5 minutes)", None, {"Mode": "OFF"}, {"Arn": "arn:aws:sqs:x:1:q"}, "RoleArn"),
        (
            "rate(5 minutes)",
            None,
            {"Mode": "OFF"},
            {**TARGET, "RetryPolicy": {"MaximumRetryAttempts": 186}},
            "MaximumRetryAttempts",
        ),
        (
            "rate(5 minutes)",
            None,
            {"Mode": "OFF"},
            {**TARGET, "Arn": "arn:aws:lambda:us-east-1:1:function:f", "Input": "not json"},
            "must be JSON",
        ),
    ],
)
def test_schedules_eventbridge_scheduler_refuses_are_refused_with_the_reason(
    expression: str, timezone: str | None, window: dict, target: dict, reason: str
) -> None:
    with pytest.raises(scheduler_schedules.InvalidSchedule, match=reason):
        scheduler_schedules.validate(expression, timezone, window, target, None)
