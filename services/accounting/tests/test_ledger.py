"""book_ride tells a duplicate from a transaction that must be retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from accounting.ledger import book_ride
from botocore.exceptions import ClientError
from wildrydes_testing.routing import make_ride


class CancellingClient:
    """A DynamoDB client whose transactions are cancelled with the given reasons."""

    def __init__(self, *codes: str) -> None:
        self.codes = codes

    def transact_write_items(self, **_: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": code} for code in self.codes],
            },  # type: ignore[typeddict-unknown-key]
            "TransactWriteItems",
        )


NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_a_failed_ledger_condition_is_a_duplicate() -> None:
    client = CancellingClient("ConditionalCheckFailed", "None")
    assert book_ride(client, "t", make_ride(), NOW) is False


@pytest.mark.parametrize(
    "codes",
    [("TransactionConflict", "None"), ("None", "TransactionConflict"), ("ThrottlingError", "None")],
)
def test_any_other_cancellation_is_raised_for_a_retry(codes: tuple[str, str]) -> None:
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        book_ride(CancellingClient(*codes), "t", make_ride(), NOW)
