"""make trace / make stats (and scripts.rides, which they share) without a deployment: their
input checks and how they read what the functions log and count (the end-to-end suite runs
both against localcloud)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from wildrydes.events import sns_message
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.aws import mocked
from wildrydes_testing.seed import SEED

from scripts import rides, stats, trace
from scripts.trace import FAILED, INJECTED, PROCESSED, LogLine, ServiceJourney

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "RIDE is required"),
        ("  ", "RIDE is required"),
        ("abc", "is not a ride id"),
        ("0" * 31, "is not a ride id"),
        ("A" * 32, "is not a ride id"),
        ("0" * 32 + "; rm -rf /", "is not a ride id"),
    ],
)
def test_a_ride_id_that_is_not_one_is_refused(text: str, problem: str) -> None:
    with pytest.raises(rides.RideInputError, match=problem):
        rides.parse_ride_id(text)


def test_an_unknown_ride_is_a_clear_error() -> None:
    with mocked():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="rides",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with pytest.raises(rides.RideNotFound, match=r"no ride with id f{32} in the Rides table"):
            rides.load_ride(dynamodb, "rides", "f" * 32)


def test_the_attributes_traced_are_the_ones_the_publisher_sends() -> None:
    ride = Ride.from_request(RideRequest.model_validate(SEED))
    stored = rides.StoredRide(ride.id, {**ride.to_item(), "correlationId": "req-1"})
    assert stored.message() == sns_message(ride, "req-1")
    assert stored.submitted_at == ride.submittedAt


def line(message: str) -> LogLine:
    return LogLine(0, {"message": message})


@pytest.mark.parametrize(
    ("matches", "messages", "in_dlq", "status"),
    [
        (True, [], False, "pending: not reached yet"),
        (False, [], False, "not delivered (filtered out)"),
        (True, [PROCESSED], False, "processed"),
        (True, [INJECTED, FAILED, PROCESSED], False, "processed after 2 failed attempt(s)"),
        (True, [FAILED], False, "failing: 1 attempt(s) so far, SQS retries it"),
        (True, [INJECTED] * 5, True, "in its DLQ after 5 failed attempt(s)"),
        (
            True,
            [PROCESSED, trace.DUPLICATE],
            False,
            "processed; 1 duplicate deliver(ies) ignored",
        ),
        (True, [trace.SKIPPED], False, "skipped: the service had nothing to do for it"),
    ],
)
def test_a_services_outcome_is_read_from_its_log_lines(
    matches: bool, messages: list[str], in_dlq: bool, status: str
) -> None:
    journey = ServiceJourney("accounting", "rule", matches, [line(m) for m in messages], in_dlq)
    assert journey.status() == status


def test_a_service_not_deployed_says_so() -> None:
    assert ServiceJourney("x", "not deployed (p-x)", None).status() == "not deployed (p-x)"


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1h", NOW - timedelta(hours=1)),
        (" 2d ", NOW - timedelta(days=2)),
        ("2026-12-02T10:00:00Z", datetime(2026, 12, 2, 10, tzinfo=UTC)),
        ("2026-12-02T11:00:00+01:00", datetime(2026, 12, 2, 10, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_or_a_time(text: str, start: datetime) -> None:
    assert stats.parse_since(text, NOW) == start


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "neither a duration"),
        ("yesterday", "neither a duration"),
        ("1w", "neither a duration"),
        ("-1h", "neither a duration"),
        ("0s", "is not in the past"),
        ("2026-12-03T00:00:00Z", "is not in the past"),
        ("2026-12-02T10:00:00", "has no time zone"),
        ("16d", "more than 15 days ago"),
    ],
)
def test_a_bad_since_is_refused(text: str, problem: str) -> None:
    with pytest.raises(stats.StatsError, match=problem):
        stats.parse_since(text, NOW)


def test_a_metric_total_sums_the_functions_emf_counts_in_the_window() -> None:
    with mocked():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        now = datetime.now(UTC)
        for value, at in ((2, now - timedelta(minutes=5)), (3, now - timedelta(minutes=1))):
            cloudwatch.put_metric_data(
                Namespace="WildRydes/test",
                MetricData=[
                    {
                        "MetricName": "RideProcessed",
                        "Dimensions": [{"Name": "service", "Value": "accounting"}],
                        "Timestamp": at,
                        "Value": Decimal(value),
                        "Unit": "Count",
                    }
                ],
            )
        total = stats.metric_total(
            cloudwatch,
            "WildRydes/test",
            stats.MetricName.RIDE_PROCESSED,
            "accounting",
            now - timedelta(minutes=10),
            now,
        )
        assert total == 5
