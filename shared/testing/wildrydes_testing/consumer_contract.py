"""What every consumer service must do, written once and run per service.

Each service's tests subclass these (`class TestStackContract(ConsumerStackContract):
service = "accounting"`), so `make test-service SERVICE=x` runs the whole contract for x while
the service's own file keeps only what is particular to it (filter policy, table key, IAM
actions, what the handler records).
"""

from __future__ import annotations

import functools
import uuid
from typing import ClassVar

import pytest
from wildrydes.consumer import ConfigurationError, FailureRateError
from wildrydes.events import ride_from_sqs_body
from wildrydes.ride import Ride

from scripts import services
from wildrydes_testing import consumer_stack as check
from wildrydes_testing.consumers import Consumer, consumer
from wildrydes_testing.events import EventLoader
from wildrydes_testing.routing import make_ride
from wildrydes_testing.sqs_events import failed_ids, sqs_event, sqs_record
from wildrydes_testing.templates import lint_findings, sam_validate_lint


@functools.cache
def _stack(service: str) -> check.ConsumerStack:
    """One parsed (and SAM-transformed) template per service for the whole test run."""
    return check.ConsumerStack(service)


def ride_its_filter_matches(events: EventLoader) -> Ride:
    """A new ride like the one in the service's own event fixture, which its filter matches."""
    [record] = events("sqs_ride_event")["Records"]
    return ride_from_sqs_body(record["body"]).model_copy(update={"id": uuid.uuid4().hex})


def _package(service: str) -> str:
    """The service's Python package, from its manifest (a hyphenated name has "_" there)."""
    return services.get(service).package


class ConsumerStackContract:
    """The template shape every consumer shares: the inbox module, used the same way."""

    service: ClassVar[str]

    @property
    def stack(self) -> check.ConsumerStack:
        return _stack(self.service)

    def test_cfn_lint_is_clean(self) -> None:
        assert lint_findings(self.stack.path) == []

    def test_sam_validate_lint_is_clean(self) -> None:
        result = sam_validate_lint(self.stack.folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "is a valid SAM Template" in result.stdout + result.stderr

    def test_inbox_is_the_shared_module(self) -> None:
        check.assert_inbox_is_the_shared_module(self.stack)

    def test_subscription_delivers_to_the_queue(self) -> None:
        check.assert_subscription_delivers_to_the_queue(self.stack)

    def test_failed_records_reach_the_dlq_after_five_receives(self) -> None:
        check.assert_failed_records_reach_the_dlq(self.stack)

    def test_visibility_timeout_covers_retried_invocations(self) -> None:
        check.assert_visibility_timeout_covers_retried_invocations(self.stack)

    def test_function_reports_partial_batch_failures(self) -> None:
        check.assert_function_consumes_the_queue_in_partial_batches(self.stack)

    def test_environment_and_failure_rate_parameter(self) -> None:
        handler = f"{_package(self.service)}.app.lambda_handler"
        check.assert_environment_and_failure_rate_parameter(self.stack, handler)

    def test_every_role_has_the_workload_boundary_when_given(self) -> None:
        check.assert_every_role_has_the_workload_boundary(self.stack)

    def test_function_logs_expire(self) -> None:
        check.assert_function_logs_expire(self.stack)

    def test_outputs_and_platform_parameter(self) -> None:
        check.assert_outputs_and_platform_parameter(self.stack)

    def test_tags_come_from_the_deploy_alone(self) -> None:
        check.assert_tags_come_from_the_deploy_alone(self.stack)


class ConsumerHandlerContract:
    """The handler behaviour shared by every consumer: the FAILURE_RATE switch and init checks."""

    service: ClassVar[str]

    @property
    def module(self) -> str:
        return f"{_package(self.service)}.app"

    def rides_recorded(self, running: Consumer) -> int:
        """How many rides the service has recorded; one item per ride unless it says otherwise."""
        return len(running.items())

    def test_the_captured_sqs_event_records_its_ride_once(
        self, monkeypatch: pytest.MonkeyPatch, events: EventLoader
    ) -> None:
        """tests/events/sqs_ride_event.json: one SNS-in-SQS record as Lambda delivers it."""
        with consumer(monkeypatch, self.service, self.module) as running:
            assert running.handle(events("sqs_ride_event")) == {"batchItemFailures": []}
            assert self.rides_recorded(running) == 1
            recorded = sorted(running.items(), key=repr)
            # Delivered again (a visibility timeout ran out): succeeds and writes nothing.
            assert running.handle(events("sqs_ride_event")) == {"batchItemFailures": []}
            assert sorted(running.items(), key=repr) == recorded

    @pytest.mark.parametrize(("rate", "all_fail"), [("1", True), ("1.0", True), ("0", False)])
    def test_failure_rate_switch(
        self, monkeypatch: pytest.MonkeyPatch, rate: str, all_fail: bool
    ) -> None:
        with consumer(monkeypatch, self.service, self.module, {"FAILURE_RATE": rate}) as running:
            event = running.deliver(make_ride(), make_ride())
            failed = failed_ids(running.handle(event))
            if all_fail:
                assert failed == {record["messageId"] for record in event["Records"]}
                assert running.items() == []
            else:
                assert failed == set()
                assert self.rides_recorded(running) == 2

    @pytest.mark.parametrize("rate", ["2", "often"])
    def test_an_invalid_failure_rate_stops_the_function_at_init(
        self, monkeypatch: pytest.MonkeyPatch, rate: str
    ) -> None:
        with (
            pytest.raises(FailureRateError, match="FAILURE_RATE must be a number from 0 to 1"),
            consumer(monkeypatch, self.service, self.module, {"FAILURE_RATE": rate}),
        ):
            pass

    def test_a_missing_table_name_stops_the_function_at_init(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with (
            pytest.raises(ConfigurationError, match="TABLE_NAME is not set"),
            consumer(monkeypatch, self.service, self.module, {"TABLE_NAME": ""}),
        ):
            pass

    def test_each_outcome_is_logged_with_the_ride_and_counted_under_the_service(
        self, monkeypatch: pytest.MonkeyPatch, events: EventLoader
    ) -> None:
        """Processed, duplicate and poison records through the real handler: one line each
        with the schema's keys, and the metrics under the one `service` dimension."""
        with consumer(monkeypatch, self.service, self.module) as running:
            ride = ride_its_filter_matches(events)
            first = running.deliver(ride)
            running.handle(first)
            running.handle(first)  # redelivered
            poison = sqs_event(sqs_record("not a notification", message_id="poison-1"))
            assert failed_ids(running.handle(poison)) == {"poison-1"}
        [processed] = running.emitted.lines("ride processed")
        sqs_id = first["Records"][0]["messageId"]
        assert (processed["ride_id"], processed["sqs_message_id"]) == (ride.id, sqs_id)
        assert processed["service"] == self.service
        assert processed["sns_message_id"]
        assert processed["function_request_id"]
        [duplicate] = running.emitted.lines(outcome="duplicate")
        assert duplicate["ride_id"] == ride.id
        [poisoned] = running.emitted.lines(level="ERROR")
        assert poisoned["sqs_message_id"] == "poison-1"
        assert running.emitted.counts(self.service) == {
            "ColdStart": 1,
            "RideReceived": 3,
            "RideProcessed": 1,
            "RideDuplicate": 1,
            "PoisonMessage": 1,
        }

    def test_a_failed_record_is_logged_and_counted(
        self, monkeypatch: pytest.MonkeyPatch, events: EventLoader
    ) -> None:
        with consumer(monkeypatch, self.service, self.module) as running:
            event = running.deliver(ride_its_filter_matches(events))
            running.dynamodb.delete_table(TableName=running.table)  # the service's table is gone
            assert failed_ids(running.handle(event)) == {event["Records"][0]["messageId"]}
        [failure] = running.emitted.lines("ride not processed; it will be retried")
        assert "ResourceNotFoundException" in failure["exception"]
        assert running.emitted.counts(self.service)["RideFailed"] == 1
