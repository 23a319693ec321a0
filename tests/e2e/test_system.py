"""The whole system in localcloud: real templates, real `sam deploy`, real handlers together.

Tests run in the order written: the last one deletes a stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from wildrydes.events import sns_message
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.seed import raw_json

from scripts import smoke, stacks
from tests.e2e.conftest import (
    CONSUMERS,
    REPO_ROOT,
    System,
    delivered,
    make,
    ride,
    set_failure_rate,
    set_queue_visibility,
    wait_until,
)

pytestmark = pytest.mark.e2e


def rides_stored(system: System) -> int:
    table = system.outputs("management")["RidesTableName"]
    return int(system.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


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
