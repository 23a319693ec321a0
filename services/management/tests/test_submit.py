"""POST /submit-ride-completion: what is stored, what is refused (and then nothing is stored)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from management import submit
from wildrydes.observability import REFUSAL_BY_STATUS
from wildrydes_testing.seed import SEED, raw_json

SEED_FIELDS = ["from", "to", "duration", "distance", "customer", "fare"]


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


def test_a_valid_ride_is_stored_once_and_answered_201(post_ride, cloud) -> None:
    response = post_ride(SEED)
    assert response["statusCode"] == 201
    ride = body_of(response)
    assert re.fullmatch(r"[0-9a-f]{32}", ride["id"])
    assert {key: ride[key] for key in SEED} == SEED
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ride["submittedAt"])
    assert response["headers"]["Location"] == f"/Prod/rides/{ride['id']}"
    assert "Idempotent-Replayed" not in response["headers"]

    [item] = cloud.rides()
    assert item["id"] == {"S": ride["id"]}
    assert item["fare"] == {"N": "256.5"}
    assert item["distance"] == {"N": "600"}
    assert item["from"] == {"S": "Berlin"}
    assert item["submittedAt"] == {"S": ride["submittedAt"]}
    assert cloud.key_records() == []
    # The handler does not publish: the stream does (see the publisher tests).
    assert cloud.received() == []


def test_an_accepted_ride_is_logged_with_its_ids_and_counted(post_ride, cloud, emitted) -> None:
    ride = body_of(post_ride(SEED))
    [stored] = emitted.lines("ride stored")
    # The API Gateway request id (the test event's) is the correlation id, stored with the ride.
    assert stored["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert (stored["ride_id"], stored["service"]) == (ride["id"], "management")
    assert stored["function_request_id"]
    [item] = cloud.rides()
    assert item["correlationId"] == {"S": stored["correlation_id"]}
    assert "correlationId" not in ride  # the API's answer keeps the ride contract's shape
    counts = emitted.counts("management")
    assert counts["RideAccepted"] == 1
    assert emitted.namespaces() == {"WildRydes/test"}


def test_each_submission_without_a_key_is_a_new_ride(post_ride, cloud) -> None:
    first, second = body_of(post_ride(SEED)), body_of(post_ride(SEED))
    assert first["id"] != second["id"]
    assert len(cloud.rides()) == 2


def test_numbers_are_stored_exactly_as_sent(post_ride, cloud) -> None:
    response = post_ride(raw_json("fare", "0.1"))
    assert response["statusCode"] == 201
    [item] = cloud.rides()
    assert item["fare"] == {"N": "0.1"}
    assert body_of(response)["fare"] == 0.1


@pytest.mark.parametrize(
    ("field", "number", "stored"),
    [
        ("fare", "0E+127", "0"),  # once Clamped in boto3's serializer
        ("duration", "0E+200", "0"),
        ("fare", "1." + "0" * 40, "1"),  # once Rounded
        ("distance", "1." + "0" * 41, "1"),
        ("fare", "-0", "0"),
        ("fare", "2.5E+1", "25"),
    ],
)
def test_numbers_equal_to_one_dynamodb_holds_are_stored_in_that_form(
    post_ride, cloud, field: str, number: str, stored: str
) -> None:
    response = post_ride(raw_json(field, number))
    assert response["statusCode"] == 201
    [item] = cloud.rides()
    assert item[field] == {"N": stored}
    assert str(body_of(response)[field]) == stored


def test_places_are_trimmed(post_ride, cloud) -> None:
    ride = body_of(post_ride({**SEED, "from": "  Berlin "}))
    assert ride["from"] == "Berlin"
    assert cloud.rides()[0]["from"] == {"S": "Berlin"}


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", 'application/json;charset="UTF-8"'],
)
def test_json_content_type_variants_are_accepted(post_ride, content_type: str) -> None:
    assert post_ride(SEED, content_type=content_type)["statusCode"] == 201


def test_header_names_are_case_insensitive(post_ride, cloud) -> None:
    response = post_ride(SEED, content_type=None, **{"content-type": "application/json"})
    assert response["statusCode"] == 201


def test_a_base64_encoded_body_is_decoded(cloud, make_api_event, lambda_context) -> None:
    event = make_api_event(
        "POST",
        "/submit-ride-completion",
        "/submit-ride-completion",
        base64.b64encode(json.dumps(SEED).encode()).decode(),
        {"Content-Type": "application/json"},
    )
    event["isBase64Encoded"] = True
    assert submit.lambda_handler(event, lambda_context)["statusCode"] == 201
    assert len(cloud.rides()) == 1


def test_location_keeps_a_custom_domain_base_path(cloud, make_api_event, lambda_context) -> None:
    event = make_api_event(
        "POST",
        "/submit-ride-completion",
        "/submit-ride-completion",
        json.dumps(SEED),
        {"Content-Type": "application/json"},
    )
    event["requestContext"]["path"] = "/v1/submit-ride-completion"
    response = submit.lambda_handler(event, lambda_context)
    assert response["headers"]["Location"] == f"/v1/rides/{body_of(response)['id']}"


MEGABYTE_BODY = json.dumps({**SEED, "from": "x" * 1_000_000})

# (case id, request, status, the fields the errors must name)
BAD_REQUESTS = [
    ("empty object", {"body": {}}, 400, SEED_FIELDS),
    ("missing fare", {"body": {k: v for k, v in SEED.items() if k != "fare"}}, 400, ["fare"]),
    ("fare as string", {"body": {**SEED, "fare": "256.5"}}, 400, ["fare"]),
    ("fare as boolean", {"body": {**SEED, "fare": True}}, 400, ["fare"]),
    ("fare null", {"body": {**SEED, "fare": None}}, 400, ["fare"]),
    ("fare as array", {"body": {**SEED, "fare": [1]}}, 400, ["fare"]),
    ("fare as object", {"body": {**SEED, "fare": {"amount": 1}}}, 400, ["fare"]),
    ("customer as number", {"body": {**SEED, "customer": 234234}}, 400, ["customer"]),
    ("from as number", {"body": {**SEED, "from": 1}}, 400, ["from"]),
    ("negative fare", {"body": {**SEED, "fare": -1}}, 400, ["fare"]),
    ("negative distance", {"body": {**SEED, "distance": -0.5}}, 400, ["distance"]),
    ("NaN", {"body": raw_json("fare", "NaN")}, 400, ["fare"]),
    ("Infinity", {"body": raw_json("distance", "Infinity")}, 400, ["distance"]),
    ("-Infinity", {"body": raw_json("duration", "-Infinity")}, 400, ["duration"]),
    ("1e400", {"body": raw_json("fare", "1e400")}, 400, ["fare"]),
    ("above the SNS limit", {"body": {**SEED, "distance": 1_000_000_001}}, 400, ["distance"]),
    ("5000-digit integer", {"body": raw_json("fare", "9" * 5000)}, 400, ["fare"]),
    ("six decimals", {"body": raw_json("fare", "1.123456")}, 400, ["fare"]),
    ("tiny exponent", {"body": raw_json("fare", "1e-7")}, 400, ["fare"]),
    # Once past validation, then Underflow in boto3's DynamoDB serializer (a 502).
    ("underflow", {"body": raw_json("fare", "1e-999999999999999999")}, 400, ["fare"]),
    ("underflow 1e-1000027", {"body": raw_json("distance", "1e-1000027")}, 400, ["distance"]),
    ("negative tiny", {"body": raw_json("fare", "-1e-9")}, 400, ["fare"]),
    # Found by the property tests: an exponent no Decimal holds crashed the JSON parser.
    (
        "exponent beyond Decimal",
        {"body": raw_json("duration", "0E1" + "0" * 18)},
        400,
        ["duration"],
    ),
    ("empty from", {"body": {**SEED, "from": ""}}, 400, ["from"]),
    ("blank to", {"body": {**SEED, "to": "   "}}, 400, ["to"]),
    ("empty customer", {"body": {**SEED, "customer": ""}}, 400, ["customer"]),
    ("too long place", {"body": {**SEED, "to": "x" * 101}}, 400, ["to"]),
    ("unknown field", {"body": {**SEED, "fair": 12}}, 400, ["fair"]),
    (
        "several problems at once",
        {"body": {"from": "", "to": "Munich", "duration": -1, "fare": "x", "tip": 1}},
        400,
        ["from", "duration", "distance", "customer", "fare", "tip"],
    ),
    ("repeated field", {"body": raw_json("fare", '1, "fare": 100')}, 400, ["fare"]),
    ("JSON array", {"body": [SEED]}, 400, ["body"]),
    ("JSON string", {"body": '"a ride"'}, 400, ["body"]),
    ("JSON number", {"body": "42"}, 400, ["body"]),
    ("JSON null", {"body": "null"}, 400, ["body"]),
    ("JSON boolean", {"body": "true"}, 400, ["body"]),
    ("invalid JSON", {"body": '{"from": "Berlin",'}, 400, ["body"]),
    ("single quotes", {"body": "{'from': 'Berlin'}"}, 400, ["body"]),
    ("nested too deeply", {"body": "[" * 15_000}, 400, ["body"]),
    ("empty body", {"body": ""}, 400, ["body"]),
    ("no body", {"body": None}, 400, ["body"]),
    ("1 MB body", {"body": MEGABYTE_BODY}, 413, ["body"]),
    ("just over the limit", {"body": " " * submit.MAX_BODY_BYTES + "{}"}, 413, ["body"]),
    ("no content type", {"content_type": None}, 415, ["Content-Type"]),
    ("text/plain", {"content_type": "text/plain"}, 415, ["Content-Type"]),
    ("form encoded", {"content_type": "application/x-www-form-urlencoded"}, 415, ["Content-Type"]),
    ("json lookalike", {"content_type": "application/jsonp"}, 415, ["Content-Type"]),
    ("latin-1 JSON", {"content_type": "application/json; charset=latin-1"}, 415, ["Content-Type"]),
    ("empty key", {"Idempotency_Key": ""}, 400, ["Idempotency-Key"]),
    ("key too long", {"Idempotency_Key": "k" * 129}, 400, ["Idempotency-Key"]),
    ("key with space", {"Idempotency_Key": "my key"}, 400, ["Idempotency-Key"]),
    ("non-ASCII key", {"Idempotency_Key": "schlüssel"}, 400, ["Idempotency-Key"]),
    (
        "bad key and bad body",
        {"Idempotency_Key": "my key", "body": {**SEED, "fare": -1}},
        400,
        ["Idempotency-Key", "fare"],
    ),
]


@pytest.mark.parametrize(
    ("request_", "status", "fields"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_are_refused_and_nothing_is_stored(
    post_ride, cloud, emitted, request_: dict[str, Any], status: int, fields: list[str]
) -> None:
    response = post_ride(**{"body": SEED, **request_})
    counts = emitted.counts("management")
    assert (counts["RideRefused"], counts[REFUSAL_BY_STATUS[status].value]) == (1, 1)
    assert "RideAccepted" not in counts
    assert response["statusCode"] == status
    answer = body_of(response)
    assert answer["message"]
    assert sorted(error["field"] for error in answer["errors"]) == sorted(fields)
    assert all(error["error"] for error in answer["errors"])
    assert cloud.rides() == []
    assert cloud.key_records() == []
    assert cloud.stream_records() == []


def test_errors_say_what_was_wrong(post_ride) -> None:
    answer = body_of(post_ride({**SEED, "fare": -1, "fair": 3}))
    assert answer["errors"] == [
        {"field": "fare", "error": "must be at least 0, got -1"},
        {"field": "fair", "error": "is not a field of a ride"},
    ]
    answer = body_of(post_ride(raw_json("fare", "NaN")))
    assert answer["errors"] == [{"field": "fare", "error": "must be a finite number"}]
    answer = body_of(post_ride("[1]"))
    assert answer["errors"] == [{"field": "body", "error": "got an array"}]
