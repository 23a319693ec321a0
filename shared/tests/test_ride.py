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
from wildrydes_testing.seed import SEED, raw_json


def parse(body: dict[str, Any]) -> RideRequest:
    # The API parses JSON floats as Decimal so nothing is lost to binary floats.
    return RideRequest.model_validate(json.loads(json.dumps(body), parse_float=Decimal))


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        parse(body)
    return {entry["field"]: entry["error"] for entry in field_errors(raised.value)}


def parse_text(field: str, number: str) -> RideRequest:
    """The body as the API parses it: the number exactly as the client wrote it."""
    text = raw_json(field, number)
    return RideRequest.model_validate(json.loads(text, parse_float=Decimal, parse_int=Decimal))


# Numbers that passed validation once and then crashed boto3's DynamoDB serializer (Clamped,
# Rounded, Underflow) or fingerprinted apart from their equal: each has one exact form now.
@pytest.mark.parametrize(
    ("field", "number", "stored"),
    [
        ("fare", "0E+127", "0"),
        ("fare", "0E+1000", "0"),
        ("duration", "0E+200", "0"),
        ("fare", "1." + "0" * 40, "1"),
        ("distance", "1." + "0" * 41, "1"),
        ("fare", "-0", "0"),
        ("fare", "-0.0E-7", "0"),
        ("fare", "1E+9", "1000000000"),
        ("fare", "2.5E+1", "25"),
        ("fare", "12.50000", "12.5"),
        ("fare", "1E-5", "0.00001"),
    ],
)
def test_numbers_are_stored_in_one_exact_form_dynamodb_can_hold(
    field: str, number: str, stored: str
) -> None:
    from boto3.dynamodb.types import TypeSerializer

    value = getattr(parse_text(field, number), field)
    assert str(value) == stored
    assert TypeSerializer().serialize(value) == {"N": stored}


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1e-999999999999999999", "must have at most 5 decimal places"),
        ("1e-1000027", "must have at most 5 decimal places"),
        ("1.000001", "must have at most 5 decimal places"),
        ("1000000000.00001", "must be at most 1000000000"),
        ("1E+10", "must be at most 1000000000"),
        ("9" * 50, "must be at most 1000000000"),
        ("-1E-7", "must be at least 0"),
    ],
)
def test_numbers_dynamodb_or_sns_could_not_hold_exactly_are_named(
    number: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_text("fare", number)
    [error] = field_errors(raised.value)
    assert error["field"] == "fare"
    assert message in error["error"]
    assert len(error["error"]) < 120  # a 1e-999999999999999999 is shown, not spelled out


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
        ("fare", -1, "must be at least 0, got -1"),
        ("fare", "12", "must be a number"),
        ("fare", True, "must be a number"),
        ("fare", None, "must be a number"),
        ("distance", 1_000_000_001, "must be at most 1000000000"),
        ("distance", 1e300, "must be at most 1000000000"),
        ("duration", 1.123456, "must have at most 5 decimal places"),
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
