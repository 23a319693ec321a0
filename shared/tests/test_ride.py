"""The ride contract: validation at the door and the SNS wire format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from wildrydes.errors import field_errors
from wildrydes.events import RideEventError, ride_from_sqs_body, sns_message
from wildrydes.ride import Ride, RideRequest, decimal_text

# The seed's smoke-test payload (the workshop's curl request).
SEED = {
    "from": "Berlin",
    "to": "Munich",
    "duration": 480,
    "distance": 600,
    "customer": "234234",
    "fare": 256.5,
}


def parse(body: dict[str, Any]) -> RideRequest:
    # The API parses JSON floats as Decimal so nothing is lost to binary floats.
    return RideRequest.model_validate(json.loads(json.dumps(body), parse_float=Decimal))


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        parse(body)
    return {entry["field"]: entry["error"] for entry in field_errors(raised.value)}


def test_the_seed_ride_is_valid_and_keeps_exact_numbers() -> None:
    request = parse(SEED)
    assert request.from_ == "Berlin"
    assert request.fare == Decimal("256.5")
    assert request.distance == Decimal(600)


def test_every_missing_field_is_listed() -> None:
    assert errors_of({}) == dict.fromkeys(
        ("from", "to", "duration", "distance", "customer", "fare"), "Field required"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fare", -1, "greater than or equal to 0"),
        ("fare", "12", "must be a number"),
        ("fare", True, "must be a number"),
        ("fare", None, "must be a number"),
        ("distance", 1_000_000_001, "less than or equal to 1000000000"),
        ("distance", 1e300, "less than or equal to 1000000000"),
        ("duration", 1.123456, "no more than 5 decimal places"),
        ("from", "", "at least 1 character"),
        ("to", "   ", "at least 1 character"),
        ("customer", 234234, "valid string"),
        ("customer", "x" * 65, "at most 64 characters"),
    ],
)
def test_bad_values_are_named_with_the_reason(field: str, value: Any, message: str) -> None:
    errors = errors_of({**SEED, field: value})
    assert list(errors) == [field]
    assert message in errors[field]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_json_cannot_carry_are_rejected(value: float) -> None:
    with pytest.raises(ValidationError):
        RideRequest.model_validate({**SEED, "fare": value})


def test_unknown_fields_are_rejected_not_dropped() -> None:
    assert errors_of({**SEED, "fair": 12}) == {"fair": "is not a field of a ride"}


def test_the_largest_and_finest_numbers_sns_can_filter_are_accepted() -> None:
    request = parse({**SEED, "fare": 1_000_000_000, "distance": 0.00001})
    assert request.fare == Decimal(1_000_000_000)
    assert decimal_text(request.distance) == "0.00001"


def test_a_stored_ride_gets_an_id_and_an_iso_utc_time() -> None:
    ride = Ride.from_request(parse(SEED), now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    document = ride.to_document()
    assert len(document["id"]) == 32
    assert document["submittedAt"] == "2026-01-02T03:04:05.000Z"
    assert document["fare"] == 256.5
    assert document["distance"] == 600
    assert isinstance(ride.to_item()["fare"], Decimal)


def test_sns_message_carries_the_ride_and_number_attributes() -> None:
    ride = Ride.from_request(parse(SEED))
    message = sns_message(ride)
    assert json.loads(message["Message"]) == ride.to_document()
    assert message["MessageAttributes"] == {
        "fare": {"DataType": "Number", "StringValue": "256.5"},
        "distance": {"DataType": "Number", "StringValue": "600"},
    }


@pytest.mark.parametrize(
    ("value", "text"), [("600", "600"), ("256.50", "256.5"), ("0", "0"), ("1E+3", "1000")]
)
def test_decimal_text_is_plain(value: str, text: str) -> None:
    assert decimal_text(Decimal(value)) == text


def sns_envelope(message: str) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "6f1b7a1e-0000-4000-8000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:rides",
            "Message": message,
            "Timestamp": "2026-01-02T03:04:05.000Z",
            "SignatureVersion": "1",
            "Signature": "x",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {"fare": {"Type": "Number", "Value": "256.5"}},
        }
    )


def ride_envelope() -> dict[str, Any]:
    return json.loads(sns_envelope(sns_message(Ride.from_request(parse(SEED)))["Message"]))


def test_a_ride_round_trips_through_the_sns_envelope() -> None:
    ride = Ride.from_request(parse(SEED))
    assert ride_from_sqs_body(sns_envelope(sns_message(ride)["Message"])) == ride


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"Type": "Notification"}),
        sns_envelope("not json"),
        sns_envelope(json.dumps({**SEED})),  # a request, not a stored ride: no id
        # A valid ride in an envelope that is not a notification, or lacks its message id.
        json.dumps({**ride_envelope(), "Type": "SubscriptionConfirmation"}),
        json.dumps({**ride_envelope(), "MessageId": None}),
    ],
)
def test_anything_else_is_a_ride_event_error(body: str) -> None:
    with pytest.raises(RideEventError, match="not a ride notification"):
        ride_from_sqs_body(body)


def test_readers_of_a_stored_ride_ignore_fields_a_later_version_adds() -> None:
    ride = Ride.from_request(parse(SEED))
    newer = {**ride.to_document(), "currency": "EUR"}
    assert ride_from_sqs_body(sns_envelope(json.dumps(newer))) == ride


def test_the_api_accepts_fields_by_their_wire_names_only() -> None:
    body = {**SEED, "from_": SEED["from"]}
    del body["from"]
    assert errors_of(body) == {"from": "Field required", "from_": "is not a field of a ride"}
