"""The notification stack: lint-clean, and shaped as every consumer stack must be."""

from __future__ import annotations

from wildrydes_testing import consumer_stack as check
from wildrydes_testing.consumer_contract import ConsumerStackContract

STACK = check.ConsumerStack("notification")


class TestStackContract(ConsumerStackContract):
    service = "notification"


def test_every_ride_is_delivered_no_filter_policy() -> None:
    check.assert_subscription_delivers_to_the_queue(STACK)
    properties = STACK.subscription["Properties"]
    assert "FilterPolicy" not in properties
    assert "FilterPolicyScope" not in properties


def test_function_may_only_put_receipts_and_decrypt_the_queue() -> None:
    check.assert_role_is_least_privilege(STACK, {"dynamodb:PutItem"})


def test_receipts_table_is_keyed_by_ride_id() -> None:
    check.assert_table_is_on_demand_encrypted_and_recoverable(STACK)
    assert STACK.properties("Table")["KeySchema"] == [
        {"AttributeName": "rideId", "KeyType": "HASH"}
    ]
