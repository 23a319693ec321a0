"""EventBridge's data plane in a running localcloud: PutEvents matched against rules and
delivered to Lambda, SQS, SNS, CloudWatch Logs and other buses with the targets' input, retries
and dead-letter queues; schedule rules fired."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import patches
from localcloud.eventbridge import delivery as delivery_module
from localcloud.eventbridge import scheduler as scheduler_module
from localcloud.eventbridge import targets
from localcloud.eventbridge.scheduler import Scheduler
from localcloud.runtime import Runtime
from localcloud.tests.runtime.conftest import ACCOUNT, REGION
from localcloud.tests.runtime.support import Deployer, drain, read_records, unique, wait_for

RECORDING_HANDLER = """
import json, os

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""


@pytest.fixture
def bus(aws: Callable[[str], Any]) -> Iterator[str]:
    name = unique("rides-bus")
    aws("events").create_event_bus(Name=name)
    yield name
    events = aws("events")
    for rule in events.list_rules(EventBusName=name)["Rules"]:
        ids = [
            t["Id"]
            for t in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)["Targets"]
        ]
        if ids:
            events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=ids)
        events.delete_rule(Name=rule["Name"], EventBusName=name)
    events.delete_event_bus(Name=name)


def _rule(
    aws: Callable[[str], Any], bus: str, pattern: dict[str, Any], rule_targets: list[dict[str, Any]]
) -> str:
    name = unique("rule")
    events = aws("events")
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=rule_targets)
    return arn


def _put(aws: Callable[[str], Any], bus: str, source: str, detail: dict[str, Any]) -> str:
    answer = aws("events").put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": "RideCompleted",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer
    return answer["Entries"][0]["EventId"]


def _function_arn(aws: Callable[[str], Any], name: str) -> str:
    return aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def test_a_lambda_target_gets_the_events_a_numeric_and_prefix_pattern_matches(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str, tmp_path: Path
) -> None:
    record_file = tmp_path / "events.jsonl"
    function = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    pattern = {"source": [{"prefix": "wildrydes."}], "detail": {"fare": [{"numeric": [">", 50]}]}}
    rule_arn = _rule(aws, bus, pattern, [{"Id": "fn", "Arn": _function_arn(aws, function)}])

    started = time.time()
    matched = _put(aws, bus, "wildrydes.rides", {"ride": "r-1", "fare": 75})
    _put(aws, bus, "wildrydes.rides", {"ride": "r-2", "fare": 20})  # fare too low
    _put(aws, bus, "other.rides", {"ride": "r-3", "fare": 90})  # source does not match

    [event] = wait_for(lambda: read_records(record_file), timeout=20)
    latency = time.time() - started
    time.sleep(0.5)  # room for a wrong delivery to show
    assert len(read_records(record_file)) == 1
    assert event["id"] == matched
    assert event["detail"] == {"ride": "r-1", "fare": 75}
    assert event["detail-type"] == "RideCompleted"
    assert event["source"] == "wildrydes.rides"
    assert event["account"] == ACCOUNT
    assert event["region"] == REGION
    assert dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert "ingestion-time" not in event
    assert rule_arn.endswith(f"rule/{bus}/" + rule_arn.rsplit("/", 1)[1])
    assert latency < 20


def test_sqs_and_sns_targets_get_their_input_input_path_and_input_transformer(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str
) -> None:
    constant, part, text, structured = (deploy.queue() for _ in range(4))
    topic = aws("sns").create_topic(Name=unique("rides"))["TopicArn"]
    aws("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=text["arn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    paths = {"ride": "$.detail.ride", "fare": "$.detail.fare"}
    _rule(
        aws,
        bus,
        {"detail-type": ["RideCompleted"]},
        [
            {"Id": "constant", "Arn": constant["arn"], "Input": '{"kind": "fixed"}'},
            {"Id": "part", "Arn": part["arn"], "InputPath": "$.detail"},
            {
                "Id": "text",
                "Arn": topic,
                "InputTransformer": {
                    "InputPathsMap": paths,
                    "InputTemplate": "Ride <ride> cost <fare>",
                },
            },
            {
                "Id": "structured",
                "Arn": structured["arn"],
                "InputTransformer": {
                    "InputPathsMap": paths,
                    "InputTemplate": (
                        '{"ride": <ride>, "fare": <fare>, "rule": "<aws.events.rule-name>"}'
                    ),
                },
            },
        ],
    )
    _put(aws, bus, "wildrydes.rides", {"ride": "r-9", "fare": 12.5})

    sqs = aws("sqs")
    assert json.loads(drain(sqs, constant["url"], 1)[0]["Body"]) == {"kind": "fixed"}
    assert json.loads(drain(sqs, part["url"], 1)[0]["Body"]) == {"ride": "r-9", "fare": 12.5}
    assert drain(sqs, text["url"], 1)[0]["Body"] == "Ride r-9 cost 12.5"
    body = json.loads(drain(sqs, structured["url"], 1)[0]["Body"])
    assert body["ride"] == "r-9"
    assert body["fare"] == 12.5
    assert body["rule"].startswith("rule-")


def test_disabled_and_schedule_rules_get_nothing_from_put_events(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue()
    events = aws("events")
    disabled, scheduled = unique("disabled"), unique("hourly")
    events.put_rule(
        Name=disabled, EventPattern=json.dumps({"source": ["wildrydes.rides"]}), State="DISABLED"
    )
    events.put_rule(Name=scheduled, ScheduleExpression="rate(1 hour)")
    for rule in (disabled, scheduled):
        events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue["arn"]}])
    try:
        _put(aws, "default", "wildrydes.rides", {"ride": "r-4"})
        time.sleep(1.0)
        answer = aws("sqs").receive_message(QueueUrl=queue["url"], WaitTimeSeconds=0)
        assert answer.get("Messages", []) == []
    finally:
        for rule in (disabled, scheduled):
            events.remove_targets(Rule=rule, Ids=["q"])
            events.delete_rule(Name=rule)


def test_moto_alone_fails_put_events_for_a_lambda_target(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str, endpoint: str
) -> None:
    """The gap the patch closes: moto's PutEvents answers 500 for a Lambda target."""
    function = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": "/dev/null"})
    _rule(aws, bus, {"source": ["gap"]}, [{"Id": "fn", "Arn": _function_arn(aws, function)}])
    events = boto3.client(
        "events",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),  # the 500 once, not retried
    )
    entry = {"EventBusName": bus, "Source": "gap", "DetailType": "Ride", "Detail": "{}"}
    with (
        patches.disabled("deliver_eventbridge_events_in_localcloud"),
        pytest.raises(ClientError, match=r"\(500\)"),
    ):
        events.put_events(Entries=[entry])


def test_a_missing_target_goes_straight_to_the_dead_letter_queue(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str
) -> None:
    dead_letters = deploy.queue()
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('gone')}"
    rule_arn = _rule(
        aws,
        bus,
        {"source": ["wildrydes.rides"]},
        [{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dead_letters["arn"]}}],
    )
    event_id = _put(aws, bus, "wildrydes.rides", {"ride": "r-6"})

    [message] = drain(aws("sqs"), dead_letters["url"], 1)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert attributes["RETRY_ATTEMPTS"] == "0"  # not retried: no retry can make it exist
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert json.loads(message["Body"])["id"] == event_id


def test_a_failing_target_is_retried_then_dead_lettered_when_its_retries_run_out(
    runtime: Runtime,
    deploy: Deployer,
    aws: Callable[[str], Any],
    bus: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(delivery_module.RETRY_DELAY_VARIABLE, "0.05")
    flaky, broken, dead_letters = deploy.queue(), deploy.queue(), deploy.queue()
    calls: dict[str, int] = {}
    real_send = targets.send

    def throttled_at_first(
        clients: Any, target: dict[str, Any], text: str, event: dict[str, Any]
    ) -> None:
        calls[target["Id"]] = calls.get(target["Id"], 0) + 1
        if target["Id"] == "broken" or calls[target["Id"]] <= 2:
            raise targets.DeliveryFailed("THROTTLING", "Rate exceeded", retriable=True)
        real_send(clients, target, text, event)

    monkeypatch.setattr(targets, "send", throttled_at_first)
    _rule(
        aws,
        bus,
        {"source": ["wildrydes.rides"]},
        [
            {"Id": "flaky", "Arn": flaky["arn"], "DeadLetterConfig": {"Arn": dead_letters["arn"]}},
            {
                "Id": "broken",
                "Arn": broken["arn"],
                "RetryPolicy": {"MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": dead_letters["arn"]},
            },
        ],
    )
    _put(aws, bus, "wildrydes.rides", {"ride": "r-7"})

    assert json.loads(drain(aws("sqs"), flaky["url"], 1)[0]["Body"])["detail"] == {"ride": "r-7"}
    [message] = drain(aws("sqs"), dead_letters["url"], 1)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["TARGET_ARN"] == broken["arn"]
    assert attributes["ERROR_CODE"] == "THROTTLING"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "3"
    assert calls == {"flaky": 3, "broken": 4}  # flaky: 2 failures, then delivered


def test_bus_to_bus_and_log_group_targets(
    runtime: Runtime, aws: Callable[[str], Any], bus: str
) -> None:
    second = unique("audit-bus")
    events, logs = aws("events"), aws("logs")
    second_arn = events.create_event_bus(Name=second)["EventBusArn"]
    group = unique("/rides/audit")
    logs.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    try:
        _rule(aws, bus, {"source": ["wildrydes.rides"]}, [{"Id": "bus", "Arn": second_arn}])
        _rule(aws, second, {"source": ["wildrydes.rides"]}, [{"Id": "log", "Arn": group_arn}])
        _put(aws, bus, "wildrydes.rides", {"ride": "r-8"})

        def logged() -> list[dict[str, Any]]:
            found = logs.filter_log_events(logGroupName=group)["events"]
            return [json.loads(e["message"]) for e in found]

        [event] = wait_for(logged, timeout=20)
        assert event["detail"] == {"ride": "r-8"}
        assert event["source"] == "wildrydes.rides"
    finally:
        for rule in events.list_rules(EventBusName=second)["Rules"]:
            events.remove_targets(Rule=rule["Name"], EventBusName=second, Ids=["log"])
            events.delete_rule(Name=rule["Name"], EventBusName=second)
        events.delete_event_bus(Name=second)


def test_a_schedule_rule_fires_on_its_cron_minutes_with_the_scheduled_event(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue()
    events = aws("events")
    name = unique("every-5-minutes")
    rule_arn = events.put_rule(Name=name, ScheduleExpression="cron(0/5 * * * ? *)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue["arn"]}])
    fired: list[tuple[str, dict[str, Any]]] = []
    now = [dt.datetime(2026, 12, 3, 10, 3, 30, tzinfo=dt.UTC)]
    scheduler = Scheduler(
        # Schedules other tests left in the shared backend fire here too, with their options.
        lambda rule, _targets, event, **_: fired.append((rule.rule_arn, event)),
        ACCOUNT,
        REGION,
        clock=lambda: now[0],
    )
    try:
        scheduler.tick()  # first sight: due at 10:05
        now[0] = dt.datetime(2026, 12, 3, 10, 4, 59, tzinfo=dt.UTC)
        scheduler.tick()
        assert [arn for arn, _ in fired if arn == rule_arn] == []
        now[0] = dt.datetime(2026, 12, 3, 10, 5, 0, 400000, tzinfo=dt.UTC)
        scheduler.tick()
        scheduler.tick()  # once per due time
        [event] = [event for arn, event in fired if arn == rule_arn]
        assert event["detail-type"] == "Scheduled Event"
        assert event["source"] == "aws.events"
        assert event["time"] == "2026-12-03T10:05:00Z"
        assert event["resources"] == [rule_arn]
        assert event["detail"] == {}
    finally:
        events.remove_targets(Rule=name, Ids=["q"])
        events.delete_rule(Name=name)


def test_the_running_scheduler_fires_a_rate_rule_until_it_is_disabled(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scheduler_module.MINUTE_VARIABLE, "1")  # rate(1 minute) every second
    queue = deploy.queue()
    events = aws("events")
    name = unique("every-minute")
    events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    events.put_targets(
        Rule=name, Targets=[{"Id": "q", "Arn": queue["arn"], "Input": '{"tick": true}'}]
    )
    try:
        bodies = [json.loads(m["Body"]) for m in drain(aws("sqs"), queue["url"], 2, timeout=20)]
        assert bodies[:2] == [{"tick": True}, {"tick": True}]
        events.disable_rule(Name=name)
        time.sleep(3)  # what a tick fired before the rule was disabled lands meanwhile
        aws("sqs").purge_queue(QueueUrl=queue["url"])
        time.sleep(2.5)
        assert (
            aws("sqs").receive_message(QueueUrl=queue["url"], WaitTimeSeconds=0).get("Messages", [])
            == []
        )
    finally:
        events.remove_targets(Rule=name, Ids=["q"])
        events.delete_rule(Name=name)


def test_s3_events_reach_rules_on_the_default_bus(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str
) -> None:
    queue, custom_bus_queue = deploy.queue(), deploy.queue()
    bucket = unique("uploads")
    s3, events = aws("s3"), aws("events")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    name = unique("uploads")
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue["arn"]}])
    _rule(aws, bus, pattern, [{"Id": "q", "Arn": custom_bus_queue["arn"]}])  # S3 never sends here
    try:
        s3.put_object(Bucket=bucket, Key="rides/r-1.json", Body=b"{}")
        [message] = drain(aws("sqs"), queue["url"], 1)
        event = json.loads(message["Body"])
        assert event["detail-type"] == "Object Created"
        assert event["detail"]["object"]["key"] == "rides/r-1.json"
        assert event["id"] != "17793124-05d4-b198-2fde-7ededc63b103"  # a fresh id per event
        assert event["time"].endswith("Z")
        time.sleep(0.5)  # room for a second event (moto's "Object Tags Added") to show
        assert aws("sqs").receive_message(QueueUrl=queue["url"]).get("Messages", []) == []
        custom = aws("sqs").receive_message(QueueUrl=custom_bus_queue["url"])
        assert custom.get("Messages", []) == []

        with patches.disabled("no_tagging_event_for_objects_put_without_tags"):
            s3.put_object(Bucket=bucket, Key="rides/r-1.json", Body=b"{}")
        kinds = sorted(
            json.loads(m["Body"])["detail-type"] for m in drain(aws("sqs"), queue["url"], 2)
        )
        assert kinds == ["Object Created", "Object Tags Added"]  # moto alone: one event too many
    finally:
        events.remove_targets(Rule=name, Ids=["q"])
        events.delete_rule(Name=name)
        s3.delete_object(Bucket=bucket, Key="rides/r-1.json")
        s3.delete_bucket(Bucket=bucket)


def test_an_archive_still_archives_while_rules_are_delivered(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], bus: str
) -> None:
    queue = deploy.queue()
    events = aws("events")
    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    archive = unique("rides-archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn)
    _rule(aws, bus, {"source": ["wildrydes.rides"]}, [{"Id": "q", "Arn": queue["arn"]}])
    try:
        _put(aws, bus, "wildrydes.rides", {"ride": "r-10"})
        drain(aws("sqs"), queue["url"], 1)
        assert events.describe_archive(ArchiveName=archive)["EventCount"] == 1
    finally:
        events.delete_archive(ArchiveName=archive)


# --- EventBridge Scheduler ----------------------------------------------------------------------

SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"


def test_a_scheduler_schedule_sends_its_input_with_the_context_attributes(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scheduler_module.MINUTE_VARIABLE, "1")  # rate(1 minute) every second
    queue = deploy.queue()
    scheduler = aws("scheduler")
    name = unique("every-minute")
    arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": queue["arn"],
            "RoleArn": SCHEDULER_ROLE,
            "Input": json.dumps(
                {
                    "schedule": "<aws.scheduler.schedule-arn>",
                    "at": "<aws.scheduler.scheduled-time>",
                    "attempt": "<aws.scheduler.attempt-number>",
                }
            ),
        },
    )["ScheduleArn"]
    try:
        [first, second] = [
            json.loads(m["Body"]) for m in drain(aws("sqs"), queue["url"], 2, timeout=20)[:2]
        ]
        assert first["schedule"] == arn
        assert first["attempt"] == "1"
        assert dt.datetime.strptime(first["at"], "%Y-%m-%dT%H:%M:%SZ") < dt.datetime.strptime(
            second["at"], "%Y-%m-%dT%H:%M:%SZ"
        )
    finally:
        scheduler.delete_schedule(Name=name)


def test_a_one_time_schedule_fires_once_in_its_time_zone_then_deletes_itself(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue()
    scheduler = aws("scheduler")
    name = unique("once")
    arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="at(2026-12-24T18:00:00)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": queue["arn"], "RoleArn": SCHEDULER_ROLE},
    )["ScheduleArn"]
    fired: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    now = [dt.datetime(2026, 12, 24, 16, 59, 30, tzinfo=dt.UTC)]
    ticker = Scheduler(
        lambda rule, rule_targets, event, **_: fired.append(
            (rule.rule_arn, rule_targets[0], event)
        ),
        ACCOUNT,
        REGION,
        clock=lambda: now[0],
    )
    ticker.tick()
    assert [f for f in fired if f[0] == arn] == []
    now[0] = dt.datetime(2026, 12, 24, 17, 0, 0, 200000, tzinfo=dt.UTC)  # 18:00 in Paris
    ticker.tick()
    ticker.tick()
    [(_, target, event)] = [f for f in fired if f[0] == arn]
    notification = json.loads(target["Input"])  # no Input: the default notification
    assert notification["source"] == "aws.scheduler"
    assert notification["resources"] == [arn]
    assert event["time"] == "2026-12-24T17:00:00Z"
    with pytest.raises(ClientError, match="ResourceNotFound"):
        scheduler.get_schedule(Name=name)


def test_a_schedule_whose_target_is_gone_goes_to_its_dead_letter_queue(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scheduler_module.MINUTE_VARIABLE, "1")
    dead_letters = deploy.queue()
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('gone')}"
    scheduler = aws("scheduler")
    name = unique("to-nowhere")
    arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": missing,
            "RoleArn": SCHEDULER_ROLE,
            "Input": "{}",
            "DeadLetterConfig": {"Arn": dead_letters["arn"]},
        },
    )["ScheduleArn"]
    try:
        message = drain(aws("sqs"), dead_letters["url"], 1, timeout=20)[0]
    finally:
        scheduler.delete_schedule(Name=name)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["SCHEDULE_ARN"] == arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ScheduleExpression": "cron(0 9 * * * *)"}, "exactly one of day-of-month"),
        ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "not a time zone"),
        ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "MaximumWindowInMinutes"),
    ],
)
def test_schedules_and_rules_eventbridge_refuses_are_refused_and_nothing_is_stored(
    runtime: Runtime,
    deploy: Deployer,
    aws: Callable[[str], Any],
    changes: dict[str, Any],
    reason: str,
) -> None:
    queue = deploy.queue()
    name = unique("refused")
    request = {
        "Name": name,
        "ScheduleExpression": "rate(5 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": queue["arn"], "RoleArn": SCHEDULER_ROLE},
        **changes,
    }
    with pytest.raises(ClientError, match=reason):
        aws("scheduler").create_schedule(**request)
    names = [s["Name"] for s in aws("scheduler").list_schedules()["Schedules"]]
    assert name not in names
    with pytest.raises(ClientError, match="ScheduleExpression is not valid"):
        aws("events").put_rule(Name=name, ScheduleExpression="rate(1 minutes)")
    assert name not in [r["Name"] for r in aws("events").list_rules()["Rules"]]


def test_moto_alone_stores_schedules_that_can_never_fire(
    runtime: Runtime, deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue()
    rule, schedule = unique("gap-rule"), unique("gap-schedule")
    with patches.disabled("validate_schedules_as_aws_does"):
        aws("events").put_rule(Name=rule, ScheduleExpression="rate(1 minutes)")
        aws("scheduler").create_schedule(
            Name=schedule,
            ScheduleExpression="every day",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": queue["arn"], "RoleArn": SCHEDULER_ROLE},
        )
    aws("events").delete_rule(Name=rule)
    aws("scheduler").delete_schedule(Name=schedule)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ({"Input": "not json"}, "Input is not valid JSON"),
        ({"InputPath": "$.detail[?"}, "not valid"),
        ({"Input": "{}", "InputPath": "$.detail"}, "only one of Input, InputPath"),
        (
            {"InputTransformer": {"InputPathsMap": {"aws.mine": "$.id"}, "InputTemplate": "x"}},
            "reserved",
        ),
        ({"RetryPolicy": {"MaximumEventAgeInSeconds": 90000}}, "MaximumEventAgeInSeconds"),
    ],
)
def test_targets_eventbridge_refuses_are_refused_and_not_stored(
    runtime: Runtime,
    deploy: Deployer,
    aws: Callable[[str], Any],
    bus: str,
    target: dict[str, Any],
    reason: str,
) -> None:
    queue = deploy.queue()
    events = aws("events")
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    with pytest.raises(ClientError, match=re.escape(reason)):
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "t", "Arn": queue["arn"], **target}]
        )
    assert events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"] == []
    with patches.disabled("validate_rule_targets_as_aws_does"):  # moto alone stores it
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "t", "Arn": queue["arn"], **target}]
        )
    assert len(events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]) == 1


def test_a_target_that_hangs_does_not_hold_up_the_others(
    runtime: Runtime,
    deploy: Deployer,
    aws: Callable[[str], Any],
    bus: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, slow = deploy.queue(), deploy.queue()
    real_send = targets.send
    release = threading.Event()

    def slow_for_one(
        clients: Any, target: dict[str, Any], text: str, event: dict[str, Any]
    ) -> None:
        if target["Id"] == "slow":
            release.wait(30)
        real_send(clients, target, text, event)

    monkeypatch.setattr(targets, "send", slow_for_one)
    _rule(
        aws,
        bus,
        {"source": ["wildrydes.rides"]},
        [{"Id": "slow", "Arn": slow["arn"]}, {"Id": "fast", "Arn": fast["arn"]}],
    )
    try:
        for ride in ("r-11", "r-12"):
            _put(aws, bus, "wildrydes.rides", {"ride": ride})
        assert len(drain(aws("sqs"), fast["url"], 2, timeout=20)) == 2  # while "slow" hangs
    finally:
        release.set()
    assert len(drain(aws("sqs"), slow["url"], 2)) == 2
