"""DynamoDB wire values and duplicate detection, against moto's real error responses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from wildrydes.idempotent_writes import (
    is_already_recorded,
    number,
    string,
    timestamp,
    transaction_refused_by_condition,
)
from wildrydes_testing.aws import mocked
from wildrydes_testing.templates import REGION


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mocked():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def put_once(dynamodb: Any, pk: str) -> None:
    dynamodb.put_item(
        TableName="t", Item={"pk": string(pk)}, ConditionExpression="attribute_not_exists(pk)"
    )


def transaction(pk: str) -> list[dict[str, Any]]:
    put = {"TableName": "t", "Item": {"pk": string(pk)}}
    totals = {"TableName": "t", "Key": {"pk": string("totals")}, "UpdateExpression": "ADD n :one"}
    return [
        {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {**totals, "ExpressionAttributeValues": {":one": number(1)}}},
    ]


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (Decimal("256.50"), "256.5"),
        (Decimal("6E+2"), "600"),
        (7, "7"),
        (Decimal("0.00001"), "0.00001"),
    ],
)
def test_numbers_are_exact_plain_decimals(value: Decimal | int, wire: str) -> None:
    assert number(value) == {"N": wire}


def test_timestamps_are_iso_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert timestamp(moment) == {"S": "2026-01-02T03:04:05.123Z"}
    assert timestamp(datetime(2026, 1, 2, tzinfo=UTC)) == {"S": "2026-01-02T00:00:00.000Z"}


def test_a_refused_conditional_put_is_recognised_as_already_recorded(dynamodb: Any) -> None:
    put_once(dynamodb, "RIDE#1")
    with pytest.raises(ClientError) as raised:
        put_once(dynamodb, "RIDE#1")
    assert is_already_recorded(raised.value)
    assert not transaction_refused_by_condition(raised.value, 0)


def test_a_transaction_refused_by_its_put_condition_is_recognised(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=transaction("RIDE#1"))
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=transaction("RIDE#1"))
    assert transaction_refused_by_condition(raised.value, 0)
    # The update (index 1) had no condition: it did not cause the cancellation.
    assert not transaction_refused_by_condition(raised.value, 1)
    assert not transaction_refused_by_condition(raised.value, 5)
    assert not is_already_recorded(raised.value)


CONFLICT = [{"Code": "TransactionConflict"}, {"Code": "None"}]


@pytest.mark.parametrize(
    "response",
    [
        {"Error": {"Code": "ProvisionedThroughputExceededException"}},
        {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": CONFLICT},
        {"Error": {"Code": "TransactionCanceledException"}},
        {},
    ],
)
def test_other_errors_are_not_duplicates(response: dict[str, Any]) -> None:
    error = ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]
    assert not is_already_recorded(error)
    assert not transaction_refused_by_condition(error, 0)
