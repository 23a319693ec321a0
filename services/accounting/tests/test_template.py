"""The accounting stack: lint-clean, and shaped as every consumer stack must be."""

from __future__ import annotations

from wildrydes_testing import consumer_stack as check
from wildrydes_testing.consumer_contract import ConsumerStackContract

STACK = check.ConsumerStack("accounting")


class TestStackContract(ConsumerStackContract):
    service = "accounting"


def test_filter_policy_is_design_section_3_in_literal_numbers() -> None:
    check.assert_filter_policy_is_literal(STACK, {"fare": [{"numeric": [">", 0]}]})


def test_function_may_only_write_its_table_and_decrypt_the_queue() -> None:
    check.assert_role_is_least_privilege(STACK, {"dynamodb:PutItem", "dynamodb:UpdateItem"})


def test_ledger_and_totals_table_is_keyed_by_pk() -> None:
    check.assert_table_is_on_demand_encrypted_and_recoverable(STACK)
    assert STACK.properties("Table")["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_the_ledger_outlives_the_stack() -> None:
    table = STACK.template["Resources"]["Table"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
