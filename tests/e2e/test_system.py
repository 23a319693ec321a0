"""The whole system in localcloud: real templates, real `sam deploy`, real handlers together.

Tests run in the order written: the last one deletes a stack.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from wildrydes.events import sns_message
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.repository import repository_copy, run_make
from wildrydes_testing.seed import raw_json

from scripts import redrive, replay, services, smoke, stacks, trace
from tests.e2e.conftest import REPO_ROOT, System, make, wait_until

pytestmark = pytest.mark.e2e
CONSUMERS = services.names("consumer")


def ride(fare: float, distance: float, customer: str | None = None) -> dict[str, Any]:
    return {
        "from": "Alexanderplatz",
        "to": "Tegel",
        "duration": 30,
        "distance": distance,
        "customer": customer or f"e2e-{uuid.uuid4().hex[:8]}",
        "fare": fare,
    }


def rides_stored(system: System) -> int:
    table = system.outputs("management")["RidesTableName"]
    return int(system.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


def delivered(system: System, ride_id: str) -> set[str]:
    return {service for service in CONSUMERS if system.received(service, ride_id)}


def test_the_seed_ride_reaches_every_service(system: System) -> None:
    answer = system.post(smoke.SEED_RIDE)

    assert answer.status == 201, answer.body
    ride_id = answer.body["id"]
    assert answer.headers["Location"].endswith(f"/rides/{ride_id}")
    assert wait_until(lambda: delivered(system, ride_id) == set(CONSUMERS))
    receipt = system.client("dynamodb").get_item(
        TableName=system.consumers["notification"].table, Key={"rideId": {"S": ride_id}}
    )["Item"]
    assert "from Berlin to Munich" in receipt["text"]["S"]


# (fare, distance) -> who must receive it: notification every ride, accounting fare > 0,
# extraordinary fare >= 50 or distance >= 20.
ROUTING = [
    ((0, 1), {"notification"}),
    ((49.99, 19.99), {"notification", "accounting"}),
    ((50, 1), set(CONSUMERS)),
    ((1, 20), set(CONSUMERS)),
    ((0, 20), {"notification", "extraordinary"}),
    ((120, 45), set(CONSUMERS)),
]


def test_the_routing_table(system: System) -> None:
    submitted = {}
    for (fare, distance), expected in ROUTING:
        answer = system.post(ride(fare, distance))
        assert answer.status == 201, answer.body
        submitted[answer.body["id"]] = expected

    def all_expected_arrived() -> bool:
        return all(
            expected <= delivered(system, ride_id) for ride_id, expected in submitted.items()
        )

    assert wait_until(all_expected_arrived)
    # Let any delivery that should not happen have its chance before checking exactness.
    wait_until(lambda: False, timeout_s=3)
    assert {ride_id: delivered(system, ride_id) for ride_id in submitted} == submitted


@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_the_api_requires_a_valid_key_and_stores_nothing_without_one(
    system: System, key: str | None
) -> None:
    before = rides_stored(system)
    headers = {"x-api-key": key} if key else {}
    system_without_key = System(system.env, system.api_url, key or "")
    answer = system_without_key.post(ride(10, 10), headers=headers)

    assert answer.status == 403
    assert answer.body == {"message": "Forbidden", "errors": []}  # the DEFAULT_4XX gateway response
    assert rides_stored(system) == before


def test_an_idempotent_retry_returns_the_same_ride_and_stores_it_once(system: System) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    body = ride(33, 3)
    before = rides_stored(system)

    first, retry = system.post(body, key), system.post(body, key)
    conflict = system.post({**body, "fare": 34}, key)

    assert (first.status, retry.status, conflict.status) == (201, 201, 409)
    assert retry.body == first.body
    assert rides_stored(system) == before + 1
    assert wait_until(lambda: system.received("accounting", first.body["id"]))


def test_invalid_rides_are_refused_and_nothing_is_stored(system: System) -> None:
    before = rides_stored(system)
    answers = [
        system.post({**ride(10, 10), "fare": -1}),
        system.post(b"{not json"),
        system.post(b'{"fare": NaN}'),
        system.post(ride(10, 10), {"Content-Type": "text/plain"}),
        # Once accepted, then an error in boto3's DynamoDB serializer (502 through the API).
        system.post(raw_ride("fare", "1e-999999999999999999")),
        system.post(raw_ride("distance", "1e-1000027")),
    ]
    assert [a.status for a in answers] == [400, 400, 400, 415, 400, 400]
    assert [error["field"] for error in answers[0].body["errors"]] == ["fare"]
    assert [error["field"] for error in answers[4].body["errors"]] == ["fare"]
    assert [error["field"] for error in answers[5].body["errors"]] == ["distance"]
    assert rides_stored(system) == before


def raw_ride(field: str, number: str, base: dict[str, Any] | None = None) -> bytes:
    """A ride's JSON with one number exactly as written (json.dumps would rewrite it)."""
    return raw_json(field, number, base or ride(10, 10)).encode()


def test_numbers_equal_to_a_storable_one_are_stored_so_and_minus_zero_is_zero(
    system: System,
) -> None:
    clamped = system.post(raw_ride("fare", "0E+127"))
    rounded = system.post(raw_ride("distance", "1." + "0" * 41))
    assert (clamped.status, clamped.body["fare"]) == (201, 0)
    assert (rounded.status, rounded.body["distance"]) == (201, 1)

    key, same = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}, ride(10, 10)
    zero = system.post(raw_ride("fare", "0", same), key)
    minus_zero = system.post(raw_ride("fare", "-0", same), key)
    assert (zero.status, minus_zero.status) == (201, 201)
    assert minus_zero.body["id"] == zero.body["id"]


def set_queue_visibility(system: System, service: str, seconds: int) -> None:
    """Shorten the queue's visibility timeout so a retry comes in seconds, not a minute."""
    queue = system.outputs(service)["QueueUrl"]
    system.client("sqs").set_queue_attributes(
        QueueUrl=queue, Attributes={"VisibilityTimeout": str(seconds)}
    )


def set_failure_rate(system: System, service: str, rate: str) -> None:
    function = system.outputs(service)["FunctionName"]
    lambda_client = system.client("lambda")
    configuration = lambda_client.get_function_configuration(FunctionName=function)
    variables = {**configuration["Environment"]["Variables"], "FAILURE_RATE": rate}
    lambda_client.update_function_configuration(
        FunctionName=function, Environment={"Variables": variables}
    )


@pytest.fixture
def fast_retries(system: System) -> Any:
    set_queue_visibility(system, "accounting", 1)
    yield
    set_failure_rate(system, "accounting", "0")
    set_queue_visibility(system, "accounting", 65)


@pytest.fixture
def retries_within_a_few_seconds(system: System) -> Any:
    """A retry every ~5 s (4 s visibility + the 1 s batching window): quick, yet the 5
    receives before the DLQ take 20 s or more, far longer than the test fails on purpose,
    however slow the machine is."""
    set_queue_visibility(system, "accounting", 4)
    yield
    set_failure_rate(system, "accounting", "0")
    set_queue_visibility(system, "accounting", 65)


def customer_totals(system: System, customer: str) -> dict[str, Any]:
    item = (
        system.client("dynamodb")
        .get_item(
            TableName=system.consumers["accounting"].table,
            Key={"pk": {"S": f"CUSTOMER#{customer}"}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return {name: value.get("N") for name, value in item.items() if "N" in value}


def test_a_consumer_that_fails_then_recovers_books_the_ride_exactly_once(
    system: System, retries_within_a_few_seconds: None
) -> None:
    customer = f"retry-{uuid.uuid4().hex[:8]}"
    set_failure_rate(system, "accounting", "1")
    answer = system.post(ride(12.5, 2, customer))
    ride_id = answer.body["id"]
    assert wait_until(lambda: system.received("notification", ride_id))
    # Failing on purpose: the message goes back to the queue, nothing is booked.
    wait_until(lambda: False, timeout_s=2)
    assert not system.received("accounting", ride_id)

    set_failure_rate(system, "accounting", "0")

    assert wait_until(lambda: system.received("accounting", ride_id))
    wait_until(lambda: False, timeout_s=2)  # a duplicate delivery would land by now
    totals = customer_totals(system, customer)
    assert (Decimal(totals["fare"]), Decimal(totals["rides"])) == (Decimal("12.5"), 1)


def test_a_poison_message_reaches_the_dlq_while_its_batch_mates_are_processed(
    system: System, fast_retries: None
) -> None:
    outputs = system.outputs("accounting")
    sqs = system.client("sqs")
    poison = f"poison-{uuid.uuid4()}"
    good = [Ride.from_request(RideRequest.model_validate(ride(5 + n, 1)), None) for n in range(2)]
    topic = system.outputs("platform")["TopicArn"]
    sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody=poison)
    for each in good:
        system.client("sns").publish(TopicArn=topic, **sns_message(each))

    def poison_in_dlq() -> bool:
        messages = sqs.receive_message(
            QueueUrl=outputs["DeadLetterQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return any(message["Body"] == poison for message in messages)

    assert wait_until(lambda: all(system.received("accounting", r.id) for r in good))
    assert wait_until(poison_in_dlq, timeout_s=150)


def trace_rows(output: str) -> dict[str, str]:
    """`make trace`'s table: service -> its whole row."""
    return {
        line.split()[0]: line
        for line in output.splitlines()
        if line[:1].isalpha() and line.split()[0] in CONSUMERS
    }


def stats_counts(output: str) -> dict[str, dict[str, int]]:
    """`make stats`' blocks: service -> metric -> count."""
    counts: dict[str, dict[str, int]] = {}
    service = None
    for line in output.splitlines():
        if line and not line.startswith(" ") and line.strip() in {*CONSUMERS, "management"}:
            service = line.strip()
            counts[service] = {}
        elif service and line.startswith("  ") and line.split()[-1].isdigit():
            *name, value = line.split()
            counts[service][" ".join(name)] = int(value)
    return counts


def in_dlq(system: System, service: str, ride_id: str) -> bool:
    messages = (
        system.client("sqs")
        .receive_message(
            QueueUrl=system.outputs(service)["DeadLetterQueueUrl"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
        )
        .get("Messages", [])
    )
    return any(ride_id in message["Body"] for message in messages)


@pytest.fixture
def one_receive_per_attempt(system: System) -> Any:
    """Retries every ~2 s: longer than the 1 s batching window, so each receive is one attempt
    (with a visibility timeout inside the window, SQS hands a message out again to the same
    batch, as on AWS, and receives outnumber attempts)."""
    set_queue_visibility(system, "accounting", 2)
    yield
    set_failure_rate(system, "accounting", "0")
    set_queue_visibility(system, "accounting", 65)


def run_tool(main: Callable[[list[str]], int], *args: str) -> str:
    """An operator command in this process (what its Make target runs, minus make and a new
    interpreter): its output; it must succeed. Each command also runs once through make."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--target", "local", *args])
    assert code == 0, out.getvalue() + err.getvalue()
    return out.getvalue()


def test_trace_stats_redrive_and_replay_operate_the_system(
    system: System, one_receive_per_attempt: None
) -> None:
    """One ride every service gets, one two filters reject, one accounting fails on purpose
    until it lands in its DLQ: `make trace` gives each service's verdict, `make stats` and
    CloudWatch's GetMetricStatistics the counts this traffic produced, and every consumer's
    log lines for a ride carry its correlation id (the submit request's id). Then the fix:
    `make redrive` books the DLQ's ride once, `make replay` changes nothing a service has,
    and a ride SNS could not deliver reaches the service from its delivery DLQ."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    everyone = system.post(ride(75, 30))
    notification_only = system.post(ride(0, 1))
    assert wait_until(lambda: delivered(system, everyone.body["id"]) == set(CONSUMERS))
    assert wait_until(lambda: system.received("notification", notification_only.body["id"]))
    set_failure_rate(system, "accounting", "1")
    failing = system.post(ride(10, 1))
    failing_id = failing.body["id"]
    assert wait_until(lambda: in_dlq(system, "accounting", failing_id), timeout_s=120)
    assert system.received("notification", failing_id)
    set_failure_rate(system, "accounting", "0")

    env = {**os.environ}
    expected = {
        everyone.body["id"]: dict.fromkeys(CONSUMERS, "processed"),
        notification_only.body["id"]: {
            "notification": "processed",
            "accounting": 'fare 0 does not match {"numeric": [">", 0]}',
            "extraordinary": "not delivered (filtered out)",
        },
        failing_id: {
            "notification": "processed",
            "accounting": "in its DLQ after 5 failed attempt(s)",
            "extraordinary": "not delivered (filtered out)",
        },
    }
    correlation_id = failing.headers["x-amzn-RequestId"]
    failing_trace = make("-s", "trace", f"RIDE={failing_id}", "TARGET=local", env=env)
    assert f"correlation id {correlation_id}" in failing_trace
    for ride_id, verdicts in expected.items():
        output = failing_trace if ride_id == failing_id else run_tool(trace.main, ride_id)
        rows = trace_rows(output)
        for service, verdict in verdicts.items():
            assert verdict in rows[service], output

    # Every consumer line about the failing ride carries the submit request's id.
    logs = system.client("logs")
    for service in ("notification", "accounting"):
        group = f"/aws/lambda/{system.outputs(service)['FunctionName']}"
        events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{failing_id}"')
        lines = [json.loads(event["message"]) for event in events["events"]]
        assert lines, service
        assert {line["correlation_id"] for line in lines} == {correlation_id}, service

    since = started.isoformat(timespec="seconds").replace("+00:00", "Z")
    counts = stats_counts(make("-s", "stats", f"SINCE={since}", "TARGET=local", env=env))
    assert counts["notification"]["RideReceived"] == 3
    assert counts["notification"]["RideProcessed"] == 3
    assert counts["extraordinary"]["RideProcessed"] == 1
    assert counts["accounting"]["RideProcessed"] == 1
    assert counts["accounting"]["InjectedFailure"] == 5
    assert counts["accounting"]["RideReceived"] == 6
    assert counts["accounting"]["DLQ now"] >= 1
    assert counts["management"]["RideAccepted"] == 3
    assert counts["management"]["RidePublished"] == 3

    namespace = system.outputs("platform")["MetricsNamespace"]
    answer = system.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName="InjectedFailure",
        Dimensions=[{"Name": "service", "Value": "accounting"}],
        StartTime=started,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 5

    # The fault is fixed (FAILURE_RATE 0): the DLQ goes back to the queue, the ride is booked
    # once, and its trace says after how many failures.
    output = make("-s", "redrive", "SERVICE=accounting", "TARGET=local", env=env)
    assert "done: completed" in output, output
    assert wait_until(lambda: system.received("accounting", failing_id))
    after = trace_rows(run_tool(trace.main, failing_id))["accounting"]
    assert "processed after 5 failed attempt(s)" in after
    refused = redrive.main(["--target", "local", "--service", "accounting"])
    assert refused == 2  # the DLQ is empty now (or a move still runs): nothing to start

    # Replaying a ride a service has: a duplicate, its record unchanged.
    ride_id = everyone.body["id"]
    table, key = system.consumers["notification"].table, {"rideId": {"S": ride_id}}
    before = system.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    replay_one = ("-s", "replay", "SERVICE=notification", f"RIDE={ride_id}", "TARGET=local")
    output = make(*replay_one, env=env)
    assert "done: read 1, matched 1, sent 1, skipped by the filter 0" in output
    assert wait_until(
        lambda: (
            "1 duplicate deliver(ies) ignored"
            in trace_rows(run_tool(trace.main, ride_id))["notification"]
        ),
        timeout_s=30,
    )
    assert system.client("dynamodb").get_item(TableName=table, Key=key)["Item"] == before
    # Everything since the start, to extraordinary: only what its filter matches is sent.
    output = run_tool(replay.main, "--service", "extraordinary", "--since", since)
    assert "matched 1, sent 1, skipped by the filter 2" in output

    # A ride SNS could not deliver (the raw ride in the delivery DLQ) reaches the service.
    lost = Ride.from_request(RideRequest.model_validate(ride(42, 4)))
    message = sns_message(lost, "lost-request")
    system.client("sqs").send_message(
        QueueUrl=system.outputs("accounting")["DeliveryDeadLetterQueueUrl"],
        MessageBody=message["Message"],
        MessageAttributes=message["MessageAttributes"],
    )
    output = run_tool(redrive.main, "--service", "accounting", "--from", "delivery")
    assert "done: sent 1 to the queue, left in the delivery DLQ 0" in output
    assert wait_until(lambda: system.received("accounting", lost.id))


def test_trace_refuses_an_unknown_ride_and_stats_a_bad_window(system: System) -> None:
    env = {**os.environ}
    unknown = uuid.uuid4().hex
    result = run_make("-s", "trace", f"RIDE={unknown}", "TARGET=local", cwd=REPO_ROOT, env=env)
    assert result.returncode != 0
    assert f"no ride with id {unknown}" in result.stderr
    result = run_make("-s", "stats", "SINCE=20d", "TARGET=local", cwd=REPO_ROOT, env=env)
    assert result.returncode != 0
    assert "more than 15 days ago" in result.stderr


def test_make_logs_shows_the_function_output(system: System) -> None:
    output = make("logs", "SERVICE=accounting", "TARGET=local", env={**os.environ}, timeout=120)
    assert "ride processed" in output


def test_local_status_and_env_describe_the_running_system(system: System) -> None:
    status = make("local-status", env={**os.environ}, timeout=60)
    for stack in ("platform", "management", *CONSUMERS):
        assert f"wild-rydes-{stack}" in status

    exports = make("-s", "local-env", env={**os.environ}, timeout=60)
    assert f"export WILDRYDES_API_URL={system.api_url}" in exports
    assert f"export WILDRYDES_API_KEY={system.api_key}" in exports
    assert f"export AWS_ENDPOINT_URL={system.env['AWS_ENDPOINT_URL']}" in exports


def test_a_scaffolded_service_receives_exactly_the_rides_its_filter_matches(
    system: System, tmp_path: Path
) -> None:
    """make new-service in a copy of the repository, deployed beside the others: the rides its
    filter (fare >= 100) matches arrive, once each, and no other."""
    copy = repository_copy(tmp_path / "repo")
    env = {**os.environ}
    make(
        "new-service",
        "NAME=high-fare",
        'FILTER={"fare":[{"numeric":[">=",100]}]}',
        env=env,
        cwd=copy,
    )
    make("deploy", "SERVICE=high-fare", "TARGET=local", env=env, cwd=copy)
    try:
        table = stacks.service_outputs("wild-rydes-high-fare", system.env)["TableName"]
        fares = {
            Decimal("5"): False,
            Decimal("99.99"): False,
            Decimal("100"): True,
            Decimal("250.5"): True,
        }
        ids = {system.post(ride(float(fare), 3)).body["id"]: fare for fare in fares}
        expected = {ride_id for ride_id, fare in ids.items() if fares[fare]}
        dynamodb = system.client("dynamodb")

        def recorded() -> list[str]:
            items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
            return sorted(item["rideId"]["S"] for item in items)

        # Every ride reached notification (no filter): the fan-out of all four is done.
        assert wait_until(lambda: all(system.received("notification", i) for i in ids))
        assert wait_until(lambda: set(recorded()) >= expected)
        wait_until(lambda: False, timeout_s=3)  # room for a late, wrong delivery to show
        assert recorded() == sorted(expected)
    finally:
        make("destroy", "SERVICE=high-fare", "TARGET=local", env=env, cwd=copy)


def deploy_copy_with_filter(system: System, tmp_path: Path, old: str, new: str) -> None:
    """Deploy services/extraordinary from a copy whose filter policy was edited, with the real
    `sam build` + `sam deploy` (the same stack, as a developer's changed branch would)."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "shared/layer", copy / "shared/layer")
    shutil.copytree(REPO_ROOT / "shared/templates", copy / "shared/templates")
    shutil.copytree(
        REPO_ROOT / "services/extraordinary",
        copy / "services/extraordinary",
        ignore=shutil.ignore_patterns(".aws-sam", "__pycache__", "tests"),
    )
    template = copy / "services/extraordinary/template.yaml"
    text = template.read_text()
    assert old in text
    template.write_text(text.replace(old, new))
    env = {**system.env, "PATH": f"{stacks.find_python313()}{os.pathsep}{os.environ['PATH']}"}
    for command in (
        [stacks.sam(), "build"],
        [
            stacks.sam(),
            "deploy",
            "--stack-name",
            "wild-rydes-extraordinary",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
        ],
    ):
        subprocess.run(
            command, cwd=template.parent, env=env, check=True, capture_output=True, timeout=600
        )


def test_redeploying_a_consumer_with_a_changed_filter_changes_its_routing(
    system: System, tmp_path: Path
) -> None:
    deploy_copy_with_filter(system, tmp_path, '- numeric: [">=", 50]', '- numeric: [">=", 500]')
    expensive = system.post(ride(256.5, 5)).body["id"]
    assert wait_until(lambda: system.received("notification", expensive))
    wait_until(lambda: False, timeout_s=3)
    assert not system.received("extraordinary", expensive)

    make("deploy", "SERVICE=extraordinary", "TARGET=local", env={**os.environ})
    again = system.post(ride(256.5, 5)).body["id"]
    assert wait_until(lambda: system.received("extraordinary", again))


def test_deleting_a_consumer_removes_its_subscription_and_protects_the_platform(
    system: System,
) -> None:
    topic = system.outputs("platform")["TopicArn"]
    outputs = system.outputs("extraordinary")
    queue_arn = outputs["QueueArn"]
    cloudformation = system.client("cloudformation")

    def subscribed() -> bool:
        subscriptions = system.client("sns").list_subscriptions_by_topic(TopicArn=topic)
        return any(s["Endpoint"] == queue_arn for s in subscriptions["Subscriptions"])

    assert subscribed()
    make("destroy", "SERVICE=extraordinary", "TARGET=local", env={**os.environ})
    assert not subscribed()
    # The nested inbox went with it: its stack deleted, its queue gone.
    [inbox] = cloudformation.describe_stacks(StackName=outputs["InboxStackId"])["Stacks"]
    assert inbox["StackStatus"] == "DELETE_COMPLETE"
    assert outputs["QueueUrl"] not in system.client("sqs").list_queues().get("QueueUrls", [])

    refused = subprocess.run(
        ["make", "--no-print-directory", "destroy-platform", "TARGET=local"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert refused.returncode != 0
    assert "still imported by" in refused.stderr
    platform = system.client("cloudformation").describe_stacks(StackName="wild-rydes-platform")
    assert platform["Stacks"][0]["StackStatus"].endswith("_COMPLETE")
