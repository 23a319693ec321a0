"""Delivering matched events to their targets in the background, with the target's retry
policy and dead-letter queue, as EventBridge does.

PutEvents answers as soon as the events are matched; each (event, target) pair is then sent
when due by a small pool of threads (no order between events, as on AWS), so a target that
hangs holds up only its own calls. A failure a retry can help (throttling, a service error, no
connection) is retried with exponential back-off (1 s, 2 s, 4 s ... up to 5 minutes;
LOCALCLOUD_EVENTBRIDGE_RETRY_DELAY_S sets the first) until the target's
`RetryPolicy.MaximumRetryAttempts` (185 by default) or `MaximumEventAgeInSeconds` (24 hours)
runs out. Then, or at once for a failure no retry can help (the target does not exist), the
event goes to the target's `DeadLetterConfig` queue with EventBridge's message attributes
(RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS);
without one it is dropped and logged.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from localcloud.eventbridge import event_shape, targets
from localcloud.eventbridge.target_input import InvalidInput, RuleContext, input_text
from localcloud.lambda_runtime.aws_clients import ClientFactory

log = logging.getLogger(__name__)

RETRY_DELAY_VARIABLE = "LOCALCLOUD_EVENTBRIDGE_RETRY_DELAY_S"
_FIRST_RETRY_DELAY_S = 1.0
_MAX_RETRY_DELAY_S = 300.0
_SENDERS = 8  # calls to targets under way at once
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_S = 86400


def retry_delay_s(retry: int) -> float:
    """Seconds before retry number `retry` (1, 2, ...): doubling from the first delay."""
    try:
        first = float(os.environ.get(RETRY_DELAY_VARIABLE, _FIRST_RETRY_DELAY_S))
    except ValueError:
        first = _FIRST_RETRY_DELAY_S
    return min(_MAX_RETRY_DELAY_S, max(0.0, first) * 2 ** (retry - 1))


@dataclass
class Delivery:
    """One event on its way to one target."""

    rule: RuleContext
    target: dict[str, Any]
    event: dict[str, Any]
    received_at: float
    retries: int = 0
    last_failure: tuple[str, str] = ("UNKNOWN", "not delivered")  # (error code, message)
    # An EventBridge Scheduler schedule's delivery: its dead-letter messages name the schedule,
    # and its input gets the context attributes of each attempt.
    source_attribute: str = "RULE_ARN"
    context_attributes: Callable[[str, int], str] | None = None

    @property
    def maximum_retry_attempts(self) -> int:
        policy = self.target.get("RetryPolicy") or {}
        return int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))

    @property
    def maximum_event_age_s(self) -> int:
        policy = self.target.get("RetryPolicy") or {}
        return int(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_S))

    @property
    def dead_letter_queue(self) -> str | None:
        return (self.target.get("DeadLetterConfig") or {}).get("Arn") or None

    def describe(self) -> str:
        event_id, target_id = self.event.get("id"), self.target.get("Id")
        return f"event {event_id} to target {target_id} of rule {self.rule.rule_name}"


class EventDelivery:
    """The delivery thread and its queue of (due time, delivery)."""

    def __init__(self, clients: ClientFactory) -> None:
        self._clients = clients
        self._due: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()  # ties keep arrival order
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._senders: ThreadPoolExecutor | None = None

    def start(self) -> EventDelivery:
        self._stopping = False
        self._senders = ThreadPoolExecutor(_SENDERS, thread_name_prefix="eventbridge-target")
        self._thread = threading.Thread(target=self._run, name="eventbridge-delivery", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            pending = len(self._due)
            self._due.clear()
            self._wake.notify_all()
        if pending:
            log.warning("EventBridge: %d delivery(ies) still pending at stop are dropped", pending)
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._senders is not None:
            self._senders.shutdown(wait=False, cancel_futures=True)

    # what the patch and the scheduler call ------------------------------------------------------
    def submit_matched(
        self,
        rule_arn: str,
        rule_name: str,
        rule_targets: list[dict[str, Any]],
        message: dict[str, Any],
    ) -> None:
        """A rule matched moto's event `message`: send it to each of the rule's targets."""
        event, ingestion_time = event_shape.from_moto(message)
        self.submit(RuleContext(rule_arn, rule_name, ingestion_time), rule_targets, event)

    def submit(
        self,
        rule: RuleContext,
        rule_targets: list[dict[str, Any]],
        event: dict[str, Any],
        source_attribute: str = "RULE_ARN",
        context_attributes: Callable[[str, int], str] | None = None,
    ) -> None:
        now = time.time()
        with self._wake:
            for target in rule_targets:
                delivery = Delivery(
                    rule,
                    copy.deepcopy(target),
                    event,
                    received_at=now,
                    source_attribute=source_attribute,
                    context_attributes=context_attributes,
                )
                heapq.heappush(self._due, (now, next(self._order), delivery))
            self._wake.notify_all()

    # the delivery thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._due or self._due[0][0] > time.time()):
                    timeout = self._due[0][0] - time.time() if self._due else None
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._due)
            assert self._senders is not None
            self._senders.submit(self._attempt_safely, delivery)

    def _attempt_safely(self, delivery: Delivery) -> None:
        try:
            self._attempt(delivery)
        except Exception:  # one broken delivery must not hide the others' outcome
            log.exception("EventBridge: delivering %s", delivery.describe())

    def _attempt(self, delivery: Delivery) -> None:
        if time.time() - delivery.received_at > delivery.maximum_event_age_s:
            code, message = delivery.last_failure
            self._give_up(delivery, code, message, "MaximumEventAgeInSeconds")
            return
        try:
            text = input_text(delivery.target, delivery.event, delivery.rule)
            if delivery.context_attributes is not None:
                text = delivery.context_attributes(text, delivery.retries + 1)
            targets.send(self._clients, delivery.target, text, delivery.event)
        except InvalidInput as error:
            self._give_up(delivery, "INVALID_PARAMETER", str(error), None)
        except targets.TargetNotEmulated as error:
            log.error(
                "EventBridge: %s not delivered: localcloud does not emulate %s targets",
                delivery.describe(),
                error,
            )
        except targets.DeliveryFailed as failure:
            if not failure.retriable:
                self._give_up(delivery, failure.code, failure.message, None)
            elif delivery.retries >= delivery.maximum_retry_attempts:
                self._give_up(delivery, failure.code, failure.message, "MaximumRetryAttempts")
            else:
                delivery.retries += 1
                delivery.last_failure = (failure.code, failure.message)
                delay = retry_delay_s(delivery.retries)
                log.warning(
                    "EventBridge: %s failed (%s: %s); retry %d in %.1f s",
                    delivery.describe(),
                    failure.code,
                    failure.message,
                    delivery.retries,
                    delay,
                )
                with self._wake:
                    heapq.heappush(self._due, (time.time() + delay, next(self._order), delivery))
                    self._wake.notify_all()

    def _give_up(self, delivery: Delivery, code: str, message: str, exhausted: str | None) -> None:
        queue = delivery.dead_letter_queue
        log.warning(
            "EventBridge: %s failed for good (%s: %s)%s",
            delivery.describe(),
            code,
            message,
            f"; sent to its dead-letter queue {queue}"
            if queue
            else "; dropped (no dead-letter queue)",
        )
        if queue:
            self._to_dead_letter_queue(queue, delivery, code, message, exhausted)

    def _to_dead_letter_queue(
        self, queue_arn: str, delivery: Delivery, code: str, message: str, exhausted: str | None
    ) -> None:
        attributes = {
            delivery.source_attribute: delivery.rule.rule_arn,
            "TARGET_ARN": str(delivery.target.get("Arn", "")),
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:1000] or code,
            "RETRY_ATTEMPTS": str(delivery.retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        try:
            self._clients.send_to_queue(
                queue_arn,
                json.dumps(delivery.event),
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in attributes.items()
                },
            )
        except Exception:  # InvocationsFailedToBeSentToDLQ: logged, the event is lost as on AWS
            log.exception("EventBridge: could not send %s to %s", delivery.describe(), queue_arn)
