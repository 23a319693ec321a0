"""Property-based tests of the submit handler (Hypothesis): whatever arrives — any JSON, any
number written any way JSON allows, any text, any headers — the answer is a 201 or a 4xx with
the error contract, never an exception or a 5xx, and nothing is stored on a 4xx. A 201's ride
reads back equal through GET /rides/{id} and through the stream publisher onto the topic.

Example counts are bounded (see EXAMPLES) so `make test` stays fast; CI runs the same counts.
"""

from __future__ import annotations

import json
import string
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wildrydes.events import ride_from_sqs_body
from wildrydes_testing.seed import SEED, raw_json

NUMBER_FIELDS = ("duration", "distance", "fare")
# Per test, 660 in all: about 10 s against moto on 2 cores. Raise them locally to hunt further.
EXAMPLES = {"any_request": 300, "numbers": 300, "round_trip": 60}
# The fixtures (moto tables) live for the whole test: every example adds to them, and each
# example checks only what it caused.
RUN = {"suppress_health_check": [HealthCheck.function_scoped_fixture], "deadline": None}

# Every way JSON writes a number: sign, integer part, fraction, exponent (huge ones included).
json_numbers = st.from_regex(
    r"\A-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,45})?([eE][+-]?[0-9]{1,20})?\Z", fullmatch=True
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
# A ride with any field replaced by any JSON value, or dropped, or an extra field added.
ride_like = st.fixed_dictionaries(
    {},
    optional={
        "from": json_values | st.text(max_size=120),
        "to": json_values | st.text(max_size=120),
        "duration": json_values,
        "distance": json_values,
        "customer": json_values | st.text(max_size=80),
        "fare": json_values,
    },
).map(lambda fields: {**SEED, **fields})
bodies = st.one_of(
    ride_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.none(),
)
content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]),
    st.text(max_size=40),
)
idempotency_keys = st.one_of(
    st.none(), st.text(max_size=140), st.text(string.ascii_letters + string.digits, max_size=20)
)


def rides_stored(cloud) -> int:
    """moto counts a table's items live (AWS refreshes ItemCount every ~6 hours): a scan per
    example would make each one slower than the last."""
    return int(cloud.dynamodb.describe_table(TableName=cloud.rides_table)["Table"]["ItemCount"])


def assert_answered_by_contract(response: dict[str, Any], stored_before: int, cloud) -> None:
    status = response["statusCode"]
    answer = json.loads(response["body"])
    if status == 201:
        assert answer["id"]
        return
    assert 400 <= status < 500, (status, answer)
    assert isinstance(answer["message"], str)
    assert answer["message"]
    assert answer["errors"], answer
    for error in answer["errors"]:
        assert set(error) == {"field", "error"}
        assert isinstance(error["field"], str)
        assert error["field"]
        assert isinstance(error["error"], str)
        assert error["error"]
    assert rides_stored(cloud) == stored_before  # a refused request stores nothing


@settings(max_examples=EXAMPLES["any_request"], **RUN)
@given(body=bodies, content_type=content_types, key=idempotency_keys)
def test_any_request_is_a_201_or_a_4xx_with_the_error_contract(
    post_ride, cloud, body: str | None, content_type: str | None, key: str | None
) -> None:
    headers = {} if key is None else {"Idempotency_Key": key}
    before = rides_stored(cloud)
    response = post_ride(body, content_type=content_type, **headers)
    assert_answered_by_contract(response, before, cloud)


@settings(max_examples=EXAMPLES["numbers"], **RUN)
@given(field=st.sampled_from(NUMBER_FIELDS), number=json_numbers)
def test_any_json_number_is_stored_exactly_or_refused_naming_its_field(
    post_ride, cloud, field: str, number: str
) -> None:
    before = rides_stored(cloud)
    response = post_ride(raw_json(field, number))
    assert_answered_by_contract(response, before, cloud)
    answer = json.loads(response["body"])
    if response["statusCode"] == 201:
        # Stored as the same number, in the one form SNS and DynamoDB both hold.
        assert Decimal(str(answer[field])) == Decimal(number)
        assert Decimal(number) <= 1_000_000_000
    else:
        assert [error["field"] for error in answer["errors"]] == [field]


stored_numbers = st.decimals(
    min_value=0, max_value=1_000_000_000, places=5, allow_nan=False, allow_infinity=False
)
written_numbers = st.one_of(
    stored_numbers.map(str),
    stored_numbers.map(lambda d: f"{d:E}"),  # 2.565000E+2
    stored_numbers.map(lambda d: f"{d}{'0' * 45}" if "." in str(d) else str(d)),
)


# Valid after the API trims them: any characters, not blank, within the length limits.
def trimmed_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=max_size).map(str.strip).filter(bool)


@settings(max_examples=EXAMPLES["round_trip"], **RUN)
@given(
    numbers=st.tuples(written_numbers, written_numbers, written_numbers),
    places=st.tuples(trimmed_text(100), trimmed_text(100)),
    customer=trimmed_text(64),
)
def test_a_201_reads_back_equal_through_get_and_through_the_publisher(
    post_ride, get_ride_by_id, publish, cloud, numbers, places, customer
) -> None:
    text = json.dumps(
        {"from": places[0], "to": places[1], "customer": customer, **dict.fromkeys(NUMBER_FIELDS)}
    )
    for field, number in zip(NUMBER_FIELDS, numbers, strict=True):
        text = text.replace(f'"{field}": null', f'"{field}": {number}')
    response = post_ride(text)
    assert response["statusCode"] == 201, response["body"]
    created = json.loads(response["body"])
    assert (created["from"], created["to"], created["customer"]) == (*places, customer)

    fetched = get_ride_by_id(created["id"])
    assert fetched["statusCode"] == 200
    assert json.loads(fetched["body"]) == created

    [record] = [
        r
        for r in cloud.stream_records()
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["id"]["S"] == created["id"]
    ]
    cloud.received()  # what earlier examples published
    assert publish([record]) == {"batchItemFailures": []}
    [envelope] = cloud.received()
    assert json.loads(envelope["Message"]) == created
    published = ride_from_sqs_body(json.dumps(envelope))
    assert published.to_document() == created
