"""The batch loop every consumer shares: partial failures, poison messages, FAILURE_RATE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import wildrydes
from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError
from wildrydes.consumer import (
    ConfigurationError,
    FailureRateError,
    Outcome,
    RideConsumer,
    failure_rate_from,
    required_setting,
)
from wildrydes.events import (
    RideNotification,
    notification_from_sqs_body,
    replayed_notification,
    sns_message,
)
from wildrydes.observability import service_logger, service_metrics
from wildrydes.ride import Ride
from wildrydes_testing.aws import mocked
from wildrydes_testing.emitted import Emitted, capturing
from wildrydes_testing.lambda_context import FakeLambdaContext
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import (
    TOPIC_ARN,
    failed_ids,
    received_event,
    sns_envelope,
    sqs_event,
    sqs_record,
)


class Recorder:
    """A ride handler that remembers what it was given and can be told to fail."""

    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.rides: list[Ride] = []
        self.fail_for = fail_for or set()

    def __call__(self, ride: Ride) -> Outcome:
        if ride.id in self.fail_for:
            raise RuntimeError("table unavailable")
        if any(seen.id == ride.id for seen in self.rides):
            return Outcome.DUPLICATE
        self.rides.append(ride)
        return Outcome.PROCESSED


def ride_record(ride: Ride, message_id: str, correlation_id: str | None = None) -> dict:
    return sqs_record(sns_envelope(sns_message(ride, correlation_id)), message_id=message_id)


def sequence(*values: float) -> Iterator[float]:
    return iter(values)


LOGGER = service_logger("test")


def new_consumer(handle: Callable[[Ride], Outcome], **options: Any) -> RideConsumer:
    return RideConsumer(handle, LOGGER, service_metrics("test"), **options)


def run(consumer: RideConsumer, event: dict[str, Any]) -> tuple[dict[str, Any], Emitted]:
    with capturing(LOGGER) as emitted:
        response = consumer(event, FakeLambdaContext("test-fn", aws_request_id="req-1"))
    return response, emitted


def test_every_ride_of_a_good_batch_is_handled_once() -> None:
    rides = [make_ride(), make_ride(fare="1")]
    recorder = Recorder()
    consumer = new_consumer(recorder)
    event = sqs_event(*(ride_record(r, f"m{i}") for i, r in enumerate(rides)))
    response, emitted = run(consumer, event)
    assert response == {"batchItemFailures": []}
    assert recorder.rides == rides
    assert emitted.counts("test") == {"ColdStart": 1, "RideReceived": 2, "RideProcessed": 2}


def test_every_line_about_a_ride_carries_the_schema_keys() -> None:
    ride = make_ride()
    record = ride_record(ride, "sqs-1", correlation_id="api-request-7")
    sns_id = json.loads(record["body"])["MessageId"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        _, emitted = run(new_consumer(Recorder()), sqs_event(record))
    [line] = emitted.lines("ride processed")
    assert {
        key: line.get(key)
        for key in (
            "service",
            "ride_id",
            "sns_message_id",
            "sqs_message_id",
            "correlation_id",
            "function_request_id",
            "xray_trace_id",
            "outcome",
        )
    } == {
        "service": "test",
        "ride_id": ride.id,
        "sns_message_id": sns_id,
        "sqs_message_id": "sqs-1",
        "correlation_id": "api-request-7",
        "function_request_id": "req-1",
        "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "outcome": "processed",
    }


def test_a_records_keys_do_not_leak_into_the_next_records_lines() -> None:
    first, second = make_ride(), make_ride()
    event = sqs_event(ride_record(first, "a", "corr-a"), ride_record(second, "b"))
    _, emitted = run(new_consumer(Recorder()), event)
    [line_b] = emitted.lines("ride processed", sqs_message_id="b")
    assert line_b["ride_id"] == second.id
    assert "correlation_id" not in line_b  # published before correlation ids: none to show
    assert [line["message"] for line in emitted.logs] == ["ride processed"] * 2


def test_a_redelivered_ride_is_counted_as_a_duplicate() -> None:
    ride = make_ride()
    consumer = new_consumer(Recorder())
    event = sqs_event(ride_record(ride, "a"), ride_record(ride, "b"))
    _, emitted = run(consumer, event)
    assert emitted.counts("test")["RideDuplicate"] == 1
    [duplicate] = emitted.lines(outcome="duplicate")
    assert (duplicate["sqs_message_id"], duplicate["ride_id"]) == ("b", ride.id)


def test_a_skipped_ride_is_counted_as_skipped() -> None:
    _, emitted = run(
        new_consumer(lambda ride: Outcome.SKIPPED), sqs_event(ride_record(make_ride(), "a"))
    )
    assert emitted.counts("test")["RideSkipped"] == 1
    assert emitted.lines("ride skipped: nothing to do for it", sqs_message_id="a")


def test_a_poison_message_fails_alone_and_is_logged_with_its_message_id() -> None:
    good = [make_ride(), make_ride()]
    recorder = Recorder()
    event = sqs_event(
        ride_record(good[0], "good-1"),
        sqs_record("this is not JSON", message_id="poison-1"),
        ride_record(good[1], "good-2"),
    )
    response, emitted = run(new_consumer(recorder), event)
    assert failed_ids(response) == {"poison-1"}
    assert recorder.rides == good
    [poison_log] = emitted.lines(level="ERROR")
    assert poison_log["message"] == "poison message: not a ride notification"
    assert poison_log["sqs_message_id"] == "poison-1"
    assert "not a ride notification" in poison_log["error"]
    assert emitted.counts("test")["PoisonMessage"] == 1
    assert emitted.counts("test")["RideReceived"] == 3


def test_a_handler_error_fails_only_that_record_and_is_logged() -> None:
    broken, fine = make_ride(), make_ride()
    recorder = Recorder(fail_for={broken.id})
    event = sqs_event(ride_record(broken, "m-broken", "corr-1"), ride_record(fine, "m-fine"))
    response, emitted = run(new_consumer(recorder), event)
    assert failed_ids(response) == {"m-broken"}
    assert recorder.rides == [fine]
    [error_log] = emitted.lines(level="ERROR")
    assert error_log["message"] == "ride not processed; it will be retried"
    assert (error_log["sqs_message_id"], error_log["ride_id"]) == ("m-broken", broken.id)
    assert error_log["correlation_id"] == "corr-1"
    assert "table unavailable" in error_log["exception"]
    assert emitted.counts("test")["RideFailed"] == 1


def test_a_batch_that_fails_entirely_is_still_a_partial_response() -> None:
    event = sqs_event(sqs_record("{}", message_id="a"), sqs_record("[]", message_id="b"))
    response, _ = run(new_consumer(Recorder()), event)
    assert failed_ids(response) == {"a", "b"}


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}])
def test_an_event_without_records_is_refused(event: dict) -> None:
    with pytest.raises(UnexpectedBatchTypeError, match="Unexpected batch event type"):
        run(new_consumer(Recorder()), event)


def test_failure_rate_one_fails_every_record_before_it_is_handled() -> None:
    recorder = Recorder()
    event = sqs_event(ride_record(make_ride(), "a"), ride_record(make_ride(), "b"))
    response, emitted = run(new_consumer(recorder, failure_rate=1.0), event)
    assert failed_ids(response) == {"a", "b"}
    assert recorder.rides == []
    assert emitted.counts("test")["InjectedFailure"] == 2
    assert "RideFailed" not in emitted.counts("test")


def test_failure_rate_fails_the_records_whose_draw_is_below_it() -> None:
    rides = [make_ride(), make_ride(), make_ride()]
    recorder = Recorder()
    draws = sequence(0.1, 0.9, 0.49)
    consumer = new_consumer(recorder, failure_rate=0.5, chance=lambda: next(draws))
    event = sqs_event(*(ride_record(ride, f"m{i}") for i, ride in enumerate(rides)))
    response, emitted = run(consumer, event)
    assert failed_ids(response) == {"m0", "m2"}
    assert recorder.rides == [rides[1]]
    warnings = emitted.lines(level="WARNING")
    assert [line["ride_id"] for line in warnings] == [rides[0].id, rides[2].id]


def test_failure_rate_zero_never_draws() -> None:
    def no_draw() -> float:
        raise AssertionError("a rate of 0 must not consult the random source")

    recorder = Recorder()
    consumer = new_consumer(recorder, failure_rate=0.0, chance=no_draw)
    response, _ = run(consumer, sqs_event(ride_record(make_ride(), "a")))
    assert response == {"batchItemFailures": []}
    assert len(recorder.rides) == 1


@pytest.mark.parametrize(
    ("value", "rate"), [(None, 0.0), ("", 0.0), (" ", 0.0), ("0", 0.0), ("0.25", 0.25), ("1", 1.0)]
)
def test_failure_rate_is_read_from_the_environment(value: str | None, rate: float) -> None:
    environ = {} if value is None else {"FAILURE_RATE": value}
    assert failure_rate_from(environ) == rate


@pytest.mark.parametrize("value", ["abc", "1.5", "-0.1", "nan", "inf", "50%"])
def test_an_invalid_failure_rate_stops_the_function_with_a_clear_message(value: str) -> None:
    with pytest.raises(FailureRateError, match=r"FAILURE_RATE must be a number from 0 to 1"):
        failure_rate_from({"FAILURE_RATE": value})


@pytest.mark.parametrize("rate", [-0.5, 2.0, float("nan")])
def test_a_consumer_refuses_an_out_of_range_rate(rate: float) -> None:
    with pytest.raises(FailureRateError, match="from 0 to 1"):
        new_consumer(Recorder(), failure_rate=rate)


def test_a_required_setting_that_is_missing_is_named() -> None:
    assert required_setting({"TABLE_NAME": "t"}, "TABLE_NAME") == "t"
    with pytest.raises(ConfigurationError, match="environment variable TABLE_NAME is not set"):
        required_setting({}, "TABLE_NAME")


def test_the_built_envelope_has_the_shape_moto_delivers() -> None:
    # Handler tests use both: envelopes SNS (moto) really delivered, and built ones for poison
    # and bypass cases. They must not differ in anything the parsing could depend on.
    ride = make_ride()
    with mocked():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic_arn = sns.create_topic(Name="rides")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
        )
        sns.publish(TopicArn=topic_arn, **sns_message(ride))
        [delivered] = received_event(sqs, queue_url, expected=1)["Records"]
    real = json.loads(delivered["body"])
    built = json.loads(sns_envelope(sns_message(ride), topic_arn=topic_arn))
    assert set(built) == set(real)
    for key in ("Message", "MessageAttributes", "TopicArn", "Type", "SignatureVersion"):
        assert built[key] == real[key], key
    assert set(sqs_record("x")) == set(delivered)


def test_importing_the_consumer_side_leaves_the_powertools_parser_unloaded() -> None:
    # Cold start: the parser utility (and the record models Powertools' batch module loads when
    # pydantic is already imported) would cost every consumer tens of ms at init for nothing.
    layer = Path(wildrydes.__file__).resolve().parents[1]
    code = (
        "import sys, wildrydes.consumer, wildrydes.events, wildrydes.observability; "
        "print(sorted(m for m in sys.modules if '.utilities.parser' in m))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(layer)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"


def test_a_replayed_ride_is_marked_in_its_lines_and_counted() -> None:
    ride = make_ride()
    body = replayed_notification(
        sns_message(ride, "corr-9"), TOPIC_ARN, "replay-1", datetime(2026, 12, 2, tzinfo=UTC)
    )
    consumer = new_consumer(Recorder())
    _, first = run(consumer, sqs_event(sqs_record(body, message_id="a")))
    _, again = run(consumer, sqs_event(sqs_record(body, message_id="b")))
    [processed] = first.lines("ride processed")
    assert processed["replay"] is True
    assert (processed["sns_message_id"], processed["correlation_id"]) == ("replay-1", "corr-9")
    assert first.counts("test")["ReplayReceived"] == 1
    # Replayed twice: the second is a duplicate, as any redelivery.
    assert again.counts("test")["RideDuplicate"] == 1


def test_a_replayed_notification_parses_like_the_one_sns_delivers() -> None:
    ride = make_ride()
    message = sns_message(ride, "corr-1")
    replayed = notification_from_sqs_body(
        replayed_notification(message, TOPIC_ARN, "m-1", datetime.now(UTC))
    )
    delivered = notification_from_sqs_body(sns_envelope(message, message_id="m-1"))
    assert replayed == RideNotification(ride, "m-1", "corr-1", replay=True)
    assert delivered == RideNotification(ride, "m-1", "corr-1", replay=False)


def test_a_handler_that_returns_no_outcome_fails_its_record_saying_so() -> None:
    _, emitted = run(new_consumer(lambda ride: None), sqs_event(ride_record(make_ride(), "a")))
    [failure] = emitted.lines("ride not processed; it will be retried")
    assert "returned None, not an Outcome" in failure["exception"]
    assert emitted.counts("test")["RideFailed"] == 1
