"""DynamoDB building blocks for consumers that are idempotent on the ride id.

Consumers use the low-level client (lighter to import than boto3's resource layer), so numbers
and timestamps are written here in DynamoDB's wire form, and the two ways a conditional write
says "this ride is already recorded" are recognised in one place.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from wildrydes.ride import decimal_text, iso_utc

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"


def number(value: Decimal | int) -> dict[str, str]:
    """A DynamoDB Number attribute value, exact (never a float's binary expansion)."""
    return {"N": decimal_text(Decimal(value))}


def string(value: str) -> dict[str, str]:
    return {"S": value}


def timestamp(moment: datetime) -> dict[str, str]:
    """An ISO-8601 UTC string attribute with milliseconds, the format the ride contract uses."""
    return {"S": iso_utc(moment)}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_already_recorded(error: ClientError) -> bool:
    """A conditional put (attribute_not_exists) refused: the item was written before."""
    return error_code(error) == CONDITIONAL_CHECK_FAILED


def transaction_refused_by_condition(error: ClientError, index: int) -> bool:
    """A transaction was cancelled because the condition of item `index` failed.

    Other cancellation reasons (a conflicting transaction, throttling) are not duplicates:
    they must fail the record so it is retried.
    """
    if error_code(error) != TRANSACTION_CANCELED:
        return False
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons") or []
    return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"
