"""The extraordinary stack: lint-clean, and shaped as every consumer stack must be."""

from __future__ import annotations

from wildrydes_testing import consumer_stack as check
from wildrydes_testing.consumer_contract import ConsumerStackContract

STACK = check.ConsumerStack("extraordinary")


class TestStackContract(ConsumerStackContract):
    service = "extraordinary"


def test_filter_policy_is_design_section_3_in_literal_numbers() -> None:
    check.assert_filter_policy_is_literal(
        STACK,
        {"$or": [{"fare": [{"numeric": [">=", 50]}]}, {"distance": [{"numeric": [">=", 20]}]}]},
    )


def test_function_may_only_write_its_table_and_decrypt_the_queue() -> None:
    check.assert_role_is_least_privilege(STACK, {"dynamodb:PutItem"})


def test_review_table_is_keyed_by_ride_id() -> None:
    check.assert_table_is_on_demand_encrypted_and_recoverable(STACK)
    assert STACK.properties("Table")["KeySchema"] == [
        {"AttributeName": "rideId", "KeyType": "HASH"}
    ]
