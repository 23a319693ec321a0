"""The notification stack: lint-clean, and shaped as every consumer stack must be."""

from __future__ import annotations

from tests.support import consumer_stack as check
from tests.support.templates import lint_findings, sam_validate_lint

STACK = check.ConsumerStack("notification")


def test_cfn_lint_is_clean() -> None:
    assert lint_findings(STACK.path) == []


def test_sam_validate_lint_is_clean() -> None:
    result = sam_validate_lint(STACK.folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_every_ride_is_delivered_no_filter_policy() -> None:
    check.assert_subscription_delivers_to_the_queue(STACK)
    properties = STACK.subscription["Properties"]
    assert "FilterPolicy" not in properties
    assert "FilterPolicyScope" not in properties


def test_queues_are_encrypted_with_the_platform_key() -> None:
    check.assert_queues_are_encrypted_with_the_platform_key(STACK)


def test_failed_records_reach_the_dlq_after_five_receives() -> None:
    check.assert_failed_records_reach_the_dlq(STACK)


def test_visibility_timeout_covers_retried_invocations() -> None:
    check.assert_visibility_timeout_covers_retried_invocations(STACK)


def test_only_the_platform_topic_sends_and_only_over_tls() -> None:
    check.assert_only_the_topic_sends_and_only_over_tls(STACK)


def test_function_reports_partial_batch_failures() -> None:
    check.assert_function_consumes_the_queue_in_partial_batches(STACK)


def test_function_may_only_put_receipts_and_decrypt_the_queue() -> None:
    check.assert_role_is_least_privilege(STACK, {"dynamodb:PutItem"})


def test_receipts_table_is_keyed_by_ride_id() -> None:
    check.assert_table_is_on_demand_encrypted_and_recoverable(STACK)
    assert STACK.properties("Table")["KeySchema"] == [
        {"AttributeName": "rideId", "KeyType": "HASH"}
    ]


def test_environment_and_failure_rate_parameter() -> None:
    check.assert_environment_and_failure_rate_parameter(STACK, "notification.app.lambda_handler")


def test_dlqs_alarm_when_not_empty() -> None:
    check.assert_dlqs_alarm_when_not_empty(STACK)


def test_every_role_has_the_workload_boundary_when_given() -> None:
    check.assert_every_role_has_the_workload_boundary(STACK)


def test_function_logs_expire() -> None:
    check.assert_function_logs_expire(STACK)


def test_outputs_and_platform_parameter() -> None:
    check.assert_outputs_and_platform_parameter(STACK)


def test_resources_are_tagged() -> None:
    check.assert_resources_are_tagged(STACK)
