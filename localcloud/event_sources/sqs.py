"""SQS -> Lambda event source mapping, with Lambda's semantics.

- Messages are received with the queue's own visibility timeout. A failed batch is not deleted,
  so its messages reappear when that timeout ends; moto moves a message to the redrive DLQ on the
  receive after `maxReceiveCount` (checked by the tests), so poison messages land there.
- BatchSize and MaximumBatchingWindowInSeconds shape batches; ScalingConfig.MaximumConcurrency
  caps how many batches of this mapping run at once (a slot is taken *before* receiving, so no
  message sits invisible waiting for a free slot).
- ReportBatchItemFailures: only the reported messages stay; a function error keeps all.
- FilterCriteria: messages that match no filter are deleted without an invocation, as in AWS.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from localcloud.event_sources.batch_response import failed_identifiers
from localcloud.event_sources.event_filter import sqs_filter_view
from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.event_sources.polling import PollingLoop
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.functions import FunctionNotFound
from localcloud.lambda_runtime.invoker import Invoker, Throttled

log = logging.getLogger(__name__)

_MAX_RECEIVE = 10  # SQS hands out at most ten messages per ReceiveMessage
_LONG_POLL_S = 1  # short enough that stop() returns promptly
_GATHER_S = 0.1  # inside a batching window: the pause after a receive that did not fill up


class SqsPoller(PollingLoop):
    KIND = "sqs"

    def __init__(self, config: MappingConfig, clients: ClientFactory, invoker: Invoker) -> None:
        super().__init__(config)
        self._sqs = clients.client("sqs", config.region)
        self._invoker = invoker
        self._queue_url: str | None = None

    def poll_once(self) -> float:
        """Take a slot *before* receiving (no message waits invisible for one), collect a batch,
        and hand it to its own thread, which gives the slot back."""
        if not self.take_slot():
            return 0
        try:
            messages = self._collect_batch(self._config)
        except Exception:
            self.release_slot()
            raise
        if not messages:
            self.release_slot()
            return 0
        threading.Thread(
            target=self._process_and_release,
            args=(self._config, messages),
            name=f"sqs-batch-{self._config.uuid[:8]}",
            daemon=True,
        ).start()
        return 0

    def _url(self, config: MappingConfig) -> str:
        if self._queue_url is None:
            _, _, _, _, account, name = config.source_arn.split(":", 5)
            response = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._queue_url = response["QueueUrl"]
        return self._queue_url

    def _collect_batch(self, config: MappingConfig) -> list[dict[str, Any]]:
        """Receive until the batch is full or the batching window closes."""
        url = self._url(config)
        # Keyed by id: a window longer than the visibility timeout can hand out a message again;
        # the batch keeps it once, with its newest receipt handle.
        messages: dict[str, dict[str, Any]] = {}
        window_ends: float | None = None
        while not self.stopping and len(messages) < config.batch_size:
            wait = _LONG_POLL_S if not messages else 0
            asked = min(_MAX_RECEIVE, config.batch_size - len(messages))
            try:
                received = self._sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=asked,
                    WaitTimeSeconds=wait,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as error:
                if not messages:
                    raise  # nothing received yet: the polling loop backs off and tries again
                # What is in hand is already invisible and counted as received: dropping it
                # would spend one of its maxReceiveCount receives with no attempt (a few such
                # drops park a healthy message in the DLQ). The batch goes as it is.
                log.warning(
                    "%s: receiving more for the batch failed (%s); invoking with %d message(s)",
                    config.uuid,
                    error,
                    len(messages),
                )
                break
            for message in received:
                messages.pop(message["MessageId"], None)
                messages[message["MessageId"]] = message
            if messages and window_ends is None:
                window_ends = time.monotonic() + config.batching_window_s
            if not messages:
                continue
            remaining = window_ends - time.monotonic() if window_ends is not None else 0
            if remaining <= 0:
                break
            if len(received) < asked:
                # The queue had no more for now: let messages gather for a tenth of a second
                # rather than fetch them one or two per call as they come: most of a call's cost
                # in localcloud's one server process is per call, not per message (request
                # handling, signing, parsing), and the pollers' receives were 17% of its
                # GIL-held samples under load. A full answer means more may be waiting: receive
                # again at once.
                self.pause(min(remaining, _GATHER_S))
        return list(messages.values())

    def _process_and_release(self, config: MappingConfig, messages: list[dict[str, Any]]) -> None:
        try:
            self._process(config, messages)
        except Exception:  # a bug here must not leak the concurrency slot
            log.exception("processing a batch from %s failed", config.source_arn)
        finally:
            self.release_slot()

    def _process(self, config: MappingConfig, messages: list[dict[str, Any]]) -> None:
        url = self._url(config)
        records = [sqs_record(message, config) for message in messages]
        matching = [r for r in records if self._filter.matches(sqs_filter_view(r))]
        if len(matching) < len(records):
            kept = {r["messageId"] for r in matching}
            self._delete(url, [r for r in records if r["messageId"] not in kept])
        if not matching:
            return
        try:
            result = self._invoker.invoke(config.function_arn, {"Records": matching})
        except (Throttled, FunctionNotFound) as exc:
            log.warning("%s: batch not delivered (%s); it will be retried", config.uuid, exc)
            return
        if not result.ok:
            # Whole batch stays; the messages come back after the visibility timeout.
            return
        if config.reports_batch_item_failures:
            failed = failed_identifiers(result.payload, {r["messageId"] for r in matching})
            if failed is None:
                return
            self._delete(url, [r for r in matching if r["messageId"] not in failed])
        else:
            self._delete(url, matching)

    def _delete(self, url: str, records: list[dict[str, Any]]) -> None:
        """Delete what was handled; what could not be deleted comes back after the visibility
        timeout and is handled again (the consumers are idempotent), as on AWS."""
        for start in range(0, len(records), _MAX_RECEIVE):
            chunk = records[start : start + _MAX_RECEIVE]
            try:
                response = self._sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                        for i, r in enumerate(chunk)
                    ],
                )
            except Exception as error:  # one chunk's failure must not keep the others
                log.warning("could not delete %d message(s) from %s: %s", len(chunk), url, error)
                continue
            for failure in response.get("Failed", []):
                log.warning("could not delete a message from %s: %s", url, failure)


def sqs_record(message: dict[str, Any], config: MappingConfig) -> dict[str, Any]:
    """One message in the shape Lambda passes to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": config.source_arn,
        "awsRegion": config.region,
    }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda spells SQS attribute fields in camelCase and always includes both list fields.
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    return attribute


def _b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()
