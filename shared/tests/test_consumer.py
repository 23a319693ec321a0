"""The batch loop every consumer shares: partial failures, poison messages, FAILURE_RATE."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import wildrydes
from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError
from moto import mock_aws
from wildrydes.consumer import (
    ConfigurationError,
    FailureRateError,
    RideConsumer,
    failure_rate_from,
    required_setting,
)
from wildrydes.events import sns_message
from wildrydes.observability import service_logger
from wildrydes.ride import Ride
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import (
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

    def __call__(self, ride: Ride) -> None:
        if ride.id in self.fail_for:
            raise RuntimeError("table unavailable")
        self.rides.append(ride)


def ride_record(ride: Ride, message_id: str) -> dict:
    return sqs_record(sns_envelope(sns_message(ride)), message_id=message_id)


def logged(caplog: pytest.LogCaptureFixture, level: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelname == level]


def sequence(*values: float) -> Iterator[float]:
    return iter(values)


def test_every_ride_of_a_good_batch_is_handled_once() -> None:
    rides = [make_ride(), make_ride(fare="1")]
    recorder = Recorder()
    consumer = RideConsumer(recorder, service_logger("test"))
    response = consumer(sqs_event(*(ride_record(r, f"m{i}") for i, r in enumerate(rides))), None)
    assert response == {"batchItemFailures": []}
    assert recorder.rides == rides


def test_a_poison_message_fails_alone_and_is_logged_with_its_message_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = [make_ride(), make_ride()]
    recorder = Recorder()
    consumer = RideConsumer(recorder, service_logger("test"))
    event = sqs_event(
        ride_record(good[0], "good-1"),
        sqs_record("this is not JSON", message_id="poison-1"),
        ride_record(good[1], "good-2"),
    )
    assert failed_ids(consumer(event, None)) == {"poison-1"}
    assert recorder.rides == good
    [poison_log] = logged(caplog, "ERROR")
    assert poison_log.messageId == "poison-1"
    assert "not a ride notification" in poison_log.error


def test_a_handler_error_fails_only_that_record_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = make_ride(), make_ride()
    recorder = Recorder(fail_for={broken.id})
    consumer = RideConsumer(recorder, service_logger("test"))
    event = sqs_event(ride_record(broken, "m-broken"), ride_record(fine, "m-fine"))
    assert failed_ids(consumer(event, None)) == {"m-broken"}
    assert recorder.rides == [fine]
    [error_log] = logged(caplog, "ERROR")
    assert error_log.messageId == "m-broken"
    assert error_log.rideId == broken.id
    assert error_log.exc_info is not None
    assert str(error_log.exc_info[1]) == "table unavailable"


def test_a_batch_that_fails_entirely_is_still_a_partial_response() -> None:
    consumer = RideConsumer(Recorder(), service_logger("test"))
    event = sqs_event(sqs_record("{}", message_id="a"), sqs_record("[]", message_id="b"))
    assert failed_ids(consumer(event, None)) == {"a", "b"}


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}])
def test_an_event_without_records_is_refused(event: dict) -> None:
    consumer = RideConsumer(Recorder(), service_logger("test"))
    with pytest.raises(UnexpectedBatchTypeError, match="Unexpected batch event type"):
        consumer(event, None)


def test_failure_rate_one_fails_every_record_before_it_is_handled() -> None:
    recorder = Recorder()
    consumer = RideConsumer(recorder, service_logger("test"), failure_rate=1.0)
    event = sqs_event(ride_record(make_ride(), "a"), ride_record(make_ride(), "b"))
    assert failed_ids(consumer(event, None)) == {"a", "b"}
    assert recorder.rides == []


def test_failure_rate_fails_the_records_whose_draw_is_below_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rides = [make_ride(), make_ride(), make_ride()]
    recorder = Recorder()
    draws = sequence(0.1, 0.9, 0.49)
    consumer = RideConsumer(recorder, service_logger("test"), 0.5, chance=lambda: next(draws))
    event = sqs_event(*(ride_record(ride, f"m{i}") for i, ride in enumerate(rides)))
    assert failed_ids(consumer(event, None)) == {"m0", "m2"}
    assert recorder.rides == [rides[1]]
    assert [line.rideId for line in logged(caplog, "WARNING")] == [rides[0].id, rides[2].id]


def test_failure_rate_zero_never_draws() -> None:
    def no_draw() -> float:
        raise AssertionError("a rate of 0 must not consult the random source")

    recorder = Recorder()
    consumer = RideConsumer(recorder, service_logger("test"), 0.0, chance=no_draw)
    assert consumer(sqs_event(ride_record(make_ride(), "a")), None) == {"batchItemFailures": []}
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
        RideConsumer(Recorder(), service_logger("test"), failure_rate=rate)


def test_a_required_setting_that_is_missing_is_named() -> None:
    assert required_setting({"TABLE_NAME": "t"}, "TABLE_NAME") == "t"
    with pytest.raises(ConfigurationError, match="environment variable TABLE_NAME is not set"):
        required_setting({}, "TABLE_NAME")


def test_the_built_envelope_has_the_shape_moto_delivers() -> None:
    # Handler tests use both: envelopes SNS (moto) really delivered, and built ones for poison
    # and bypass cases. They must not differ in anything the parsing could depend on.
    ride = make_ride()
    with mock_aws():
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
