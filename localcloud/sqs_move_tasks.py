"""SQS message move tasks (dead-letter queue redrive) for moto, which has none.

Operators bring a consumer's failed messages back from its DLQ with StartMessageMoveTask and
watch ListMessageMoveTasks (`make redrive`, `aws sqs start-message-move-task`); moto 5.2.5
answers both with HTTP 500. This module is what `patches.sqs_message_move_tasks()` installs:
the three actions on moto's SQS API, a background thread per task that does the moving, and
the bookkeeping SQS keeps for it (which queue each dead-lettered message came from).

Semantics follow the SQS API reference and developer guide:
- The source must be an existing queue that some queue's RedrivePolicy names as its
  deadLetterTargetArn; one active task per source; MaxNumberOfMessagesPerSecond is 1..500.
- The task moves the messages that were visible in the source when it started (that count is
  ApproximateNumberOfMessagesToMove), oldest first, at most MaxNumberOfMessagesPerSecond.
- Each moved message is a new message in the destination ("All redriven messages are
  considered new messages and are assigned a new messageID and enqueueTime"): new id, receive
  count 0 (so the destination's own maxReceiveCount applies afresh), same body, message
  attributes and system attributes (AWSTraceHeader).
- Without a DestinationArn each message goes back to the queue it was dead-lettered from (the
  DeadLetterQueueSourceArn SQS gives it); one that was not dead-lettered by SQS (sent to the
  DLQ directly) fails the task with CouldNotDetermineMessageSource, as SQS does. A destination
  that disappears fails it with AWS.SimpleQueueService.NonExistentQueue. Messages not moved
  stay in the DLQ.
- Errors use SQS's codes (InvalidParameterValue; ResourceNotFoundException with HTTP 404)
  and, where they were recorded against SQS, its messages.

Concurrency: moto's server answers requests on threads, and moto's Queue locks its message
list only to append. A move takes a message out of one queue and puts a copy into another, so
the patch makes moto's own receive / delete / purge of a queue hold that queue's lock too (the
lock moto already has, `Queue._messages_lock`), and the mover takes a message out only under
it: a consumer can never receive a message that is being moved, and a delete cannot undo a
removal. The mover never holds two queue locks at once (moto's receive does: a queue's, then
its DLQ's), so the two cannot deadlock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.exceptions import MissingParameter, SQSException
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

logger = logging.getLogger(__name__)

# The response methods the patch adds to moto's SQSResponse (moto dispatches by method name).
ACTIONS = ("start_message_move_task", "list_message_move_tasks", "cancel_message_move_task")
# moto's SQSBackend methods that rewrite a queue's message list; the patch runs them under the
# queue's lock (see the module docstring).
LOCKED_BACKEND_CALLS = ("receive_message", "delete_message", "purge_queue")

SOURCE_ARN_ATTRIBUTE = "DeadLetterQueueSourceArn"
MAX_RATE = 500
MAX_RESULTS = 10

RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = (
    "RUNNING",
    "COMPLETED",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
)
ACTIVE = (RUNNING, CANCELLING)

# FailureReason values SQS documents ("Troubleshoot Amazon SQS dead-letter queue and DLQ
# redrive issues").
NO_SOURCE = "CouldNotDetermineMessageSource"
NO_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"

# Message attributes we add to moto's Message: the queue that last stored it, and the queue it
# was dead-lettered from.
_STORED_IN = "localcloud_stored_in_arn"
_DEAD_LETTERED_FROM = "localcloud_dead_letter_queue_source_arn"
# SQSBackend attribute holding its tasks. On the backend itself so that moto's reset (which
# empties the backend's __dict__) forgets them, and any task thread still running notices.
_TASKS = "localcloud_message_move_tasks"
_tasks_lock = threading.Lock()

# Without a MaxNumberOfMessagesPerSecond SQS picks the rate; we move this many messages per
# step and then let request threads have the interpreter for a moment.
_UNTHROTTLED_BATCH = 100
_UNTHROTTLED_PAUSE_S = 0.001


class InvalidParameterValue(SQSException):
    code = "InvalidParameterValue"


class ResourceNotFound(SQSException):
    """SQS answers this one with HTTP 404 (moto's serializer would say 400)."""

    code = "ResourceNotFoundException"


def _not_found(parameter: str) -> ResourceNotFound:
    return ResourceNotFound(
        f"The resource that you specified for the {parameter} parameter doesn't exist."
    )


# --- tasks -------------------------------------------------------------------------------------


@dataclass
class MoveTask:
    """One StartMessageMoveTask. `lock` orders the changes of status and progress: the mover
    holds it while it moves a batch, so a cancel sees a final count. Readers (List) do not
    wait for it: SQS's counts are approximate too."""

    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    status: str = RUNNING
    moved: int = 0
    failure_reason: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    wake: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def handle(self) -> str:
        # SQS's handles are base64 of this JSON (task id and source ARN); clients treat them as
        # opaque, and CancelMessageMoveTask finds the task (and its queue) from it.
        document = json.dumps({"taskId": self.task_id, "sourceArn": self.source_arn})
        return base64.b64encode(document.encode()).decode()

    def entry(self) -> dict[str, Any]:
        """The ListMessageMoveTasks result entry: optional fields only when SQS sends them."""
        status, moved, reason = self.status, self.moved, self.failure_reason
        entry: dict[str, Any] = {
            "Status": status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if status == RUNNING:
            entry["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            entry["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if reason is not None:
            entry["FailureReason"] = reason
        return entry

    def end(self, status: str, reason: str | None = None) -> None:
        """Final status; the caller holds `lock`."""
        self.failure_reason = reason  # first: a reader seeing FAILED sees its reason
        self.status = status


class _Tasks:
    """The tasks of one SQS backend (account and region), oldest first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.all: list[MoveTask] = []


def _tasks_of(backend: SQSBackend) -> _Tasks:
    with _tasks_lock:
        tasks = backend.__dict__.get(_TASKS)
        if tasks is None:
            tasks = _Tasks()
            setattr(backend, _TASKS, tasks)
        return tasks


# --- queues by ARN -----------------------------------------------------------------------------


def _check_arn(arn: Any, parameter: str) -> str:
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or not all(parts[1:]):
        raise InvalidParameterValue(
            f"You must use this format to specify the {parameter}: "
            "arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
        )
    return arn


def _find_queue(arn: str) -> tuple[SQSBackend, Queue] | None:
    _, _, service, region, account, name = arn.split(":")
    if service != "sqs" or region not in sqs_backends[account]:
        return None
    backend = sqs_backends[account][region]
    queue = backend.queues.get(name)
    if queue is None or queue.queue_arn != arn:  # e.g. another partition
        return None
    return backend, queue


def _require_queue(arn: Any, parameter: str) -> tuple[SQSBackend, Queue]:
    found = _find_queue(_check_arn(arn, parameter))
    if found is None:
        raise _not_found(parameter)
    return found


def _is_dead_letter_queue(backend: SQSBackend, arn: str) -> bool:
    return any(
        (getattr(queue, "redrive_policy", None) or {}).get("deadLetterTargetArn") == arn
        for queue in list(backend.queues.values())
    )


# --- the three actions -------------------------------------------------------------------------


def start(source_arn: Any, destination_arn: Any, rate: Any) -> MoveTask:
    """StartMessageMoveTask: validate as SQS does, then start the task's thread."""
    if source_arn is None:
        raise MissingParameter("SourceArn")
    backend, source = _require_queue(source_arn, "SourceArn")
    if not _is_dead_letter_queue(backend, source_arn):
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    if destination_arn is not None:
        _, destination = _require_queue(destination_arn, "DestinationArn")
        if destination_arn == source_arn:
            raise InvalidParameterValue(
                "Source queue arn and destination queue arn cannot be the same."
            )
        if destination.fifo_queue != source.fifo_queue:
            raise InvalidParameterValue(
                "The source queue and destination queue must be of the same queue type."
            )
    if rate is not None and not 1 <= int(rate) <= MAX_RATE:
        raise InvalidParameterValue(
            "Value for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: You must enter a number that's between 1 and {MAX_RATE}."
        )
    tasks = _tasks_of(backend)
    with tasks.lock:
        if any(t.source_arn == source_arn and t.status in ACTIVE for t in tasks.all):
            raise InvalidParameterValue(
                "There is already a task running. Only one active task is allowed for a source "
                "queue arn at a given time."
            )
        # What the task moves: the messages a receive could get now. Messages in flight or
        # delayed, and any that arrive later, stay (SQS redrives by receiving from the DLQ).
        # No need for the queue's lock (a busy queue would make the caller wait): the mover
        # checks each message again, under the lock, before it takes it.
        pending = deque(source.messages)
        task = MoveTask(
            source_arn=source_arn,
            destination_arn=destination_arn,
            rate=None if rate is None else int(rate),
            to_move=len(pending),
        )
        tasks.all.append(task)
    mover = _Mover(task, backend, tasks, source, pending)
    # Daemon: a task in progress never keeps a process (localcloud, a test run) alive.
    threading.Thread(target=mover.run, name=f"sqs-move-task-{task.task_id}", daemon=True).start()
    return task


def list_tasks(source_arn: Any, max_results: Any) -> list[dict[str, Any]]:
    """ListMessageMoveTasks: the source's most recent tasks, newest first."""
    backend, _ = _require_queue(source_arn, "SourceArn")
    limit = 1 if max_results is None else int(max_results)
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidParameterValue(
            "Value for parameter MaxResults is invalid. "
            f"Reason: You must enter a number that's between 1 and {MAX_RESULTS}."
        )
    tasks = _tasks_of(backend)
    with tasks.lock:
        newest = [task for task in reversed(tasks.all) if task.source_arn == source_arn][:limit]
    return [task.entry() for task in newest]


def _decode_handle(handle: Any) -> tuple[str, str]:
    invalid = InvalidParameterValue("Value for parameter TaskHandle is invalid.")
    if not isinstance(handle, str):
        raise invalid
    try:
        document = json.loads(base64.b64decode(handle, validate=True))
        task_id, source_arn = document["taskId"], document["sourceArn"]
    except (binascii.Error, ValueError, TypeError, KeyError) as error:
        raise invalid from error
    if not isinstance(task_id, str) or not isinstance(source_arn, str):
        raise invalid
    return task_id, source_arn


def cancel(handle: Any) -> int:
    """CancelMessageMoveTask: only a RUNNING task; returns how many messages it moved."""
    if handle is None:
        raise MissingParameter("TaskHandle")
    task_id, source_arn = _decode_handle(handle)
    backend, _ = _require_queue(source_arn, "SourceArn")
    tasks = _tasks_of(backend)
    with tasks.lock:
        task = next((t for t in tasks.all if t.task_id == task_id), None)
    if task is None or task.source_arn != source_arn:
        raise ResourceNotFound("Task does not exist.")
    with task.lock:
        # SQS: "A message movement can only be cancelled when the current status is RUNNING."
        if task.status != RUNNING:
            raise ResourceNotFound("Task does not exist.")
        task.status = CANCELLING
        moved = task.moved
    task.wake.set()
    return moved


# --- moving ------------------------------------------------------------------------------------


class _Mover:
    """The body of a task's thread."""

    def __init__(
        self,
        task: MoveTask,
        backend: SQSBackend,
        tasks: _Tasks,
        source: Queue,
        pending: deque[Message],
    ) -> None:
        self.task = task
        self.backend = backend
        self.tasks = tasks
        self.source = source
        self.pending = pending

    def run(self) -> None:
        task = self.task
        try:
            self._run()
        except Exception as error:  # a thread must not die leaving its task RUNNING forever
            logger.exception("SQS message move task %s failed", task.task_id)
            with task.lock:
                if task.status in ACTIVE:
                    task.end(FAILED, getattr(error, "code", None) or type(error).__name__)

    def _orphaned(self) -> bool:
        # moto's reset (the end of a mock_aws, LocalCloud.reset) emptied the backend's __dict__:
        # the task and its queues are gone from the API, so it just stops.
        return self.backend.__dict__.get(_TASKS) is not self.tasks

    def _run(self) -> None:
        task = self.task
        begun = time.monotonic()
        while True:
            with task.lock:
                if self._settled():
                    return
                due = self._due(begun)
                if due > 0:
                    reason = self._move(due)
                    if reason is not None:
                        task.end(FAILED, reason)
                        return
            if task.rate is None:
                time.sleep(_UNTHROTTLED_PAUSE_S)
            elif due <= 0:  # wait for the next message's turn; a cancel sets `wake`
                next_at = begun + task.moved / task.rate
                task.wake.wait(max(next_at - time.monotonic(), 0.0))

    def _settled(self) -> bool:
        """Whether the task is over (ending it if so); the caller holds the task's lock."""
        if self._orphaned():
            return True
        if self.task.status == CANCELLING:
            self.task.end(CANCELLED)
            return True
        if not self.pending:
            self.task.end(COMPLETED)
            return True
        return False

    def _due(self, begun: float) -> int:
        """How many messages may move now."""
        if self.task.rate is None:
            return _UNTHROTTLED_BATCH
        # Message n (from 0) may go at begun + n / rate: the first at once, then at most `rate`
        # in any second.
        return int((time.monotonic() - begun) * self.task.rate) + 1 - self.task.moved

    def _destination(self, message: Message) -> tuple[SQSBackend, Queue] | str:
        """Where `message` goes, or the task's FailureReason if it cannot go anywhere."""
        arn = self.task.destination_arn or getattr(message, _DEAD_LETTERED_FROM, None)
        if arn is None:
            return NO_SOURCE
        found = _find_queue(arn)
        return NO_QUEUE if found is None else found

    def _move(self, limit: int) -> str | None:
        """Move up to `limit` messages; the caller holds the task's lock. Returns a
        FailureReason when the task cannot go on (the messages it did not move stay put)."""
        source = self.source
        if self.backend.queues.get(source.name) is not source:  # deleted (maybe made anew)
            return NO_QUEUE
        chosen: list[tuple[Message, SQSBackend, Queue]] = []
        reason: str | None = None
        with source._messages_lock:
            stored = {id(message) for message in source._messages}
            while self.pending and len(chosen) < limit:
                message = self.pending[0]
                if id(message) not in stored or not message.visible or message.delayed:
                    # Deleted, purged or received by a consumer since the task started: that
                    # consumer has it now, so it is not the task's to move.
                    self.pending.popleft()
                    continue
                target = self._destination(message)
                if isinstance(target, str):
                    reason = target
                    break
                self.pending.popleft()
                chosen.append((message, *target))
            taken = {id(message) for message, _, _ in chosen}
            if taken:
                source._messages[:] = [m for m in source._messages if id(m) not in taken]
                for message, _, _ in chosen:
                    source.pending_messages.discard(message)
        # Outside the source's lock: sending takes the destination's (see the module docstring).
        for index, (message, backend, destination) in enumerate(chosen):
            try:
                _send_copy(backend, destination, message)
            except Exception as error:  # SQS's errors, but any: never lose a message
                # Not moved after all: back to the front of the DLQ, where they were.
                with source._messages_lock:
                    source._messages[0:0] = [m for m, _, _ in chosen[index:]]
                if not isinstance(error, SQSException):
                    logger.exception("SQS message move task %s failed", self.task.task_id)
                return getattr(error, "code", None) or type(error).__name__
            self.task.moved += 1
        return reason


def _send_copy(backend: SQSBackend, destination: Queue, message: Message) -> None:
    """Put `message` into `destination` as SQS's redrive does: a new message (new id, sent now,
    never received) with the same body and attributes."""
    backend.send_message(
        destination.name,
        message.body,
        message_attributes=copy.deepcopy(message.message_attributes),
        delay_seconds=0,  # available at once, whatever the destination's DelaySeconds
        # FIFO: SQS gives a dead-lettered FIFO message its original message id as
        # deduplication id, so a redrive is never dropped as a duplicate of the original.
        deduplication_id=message.id if destination.fifo_queue else None,
        group_id=message.group_id if destination.fifo_queue else None,
        system_attributes=copy.deepcopy(message.system_attributes),
    )


# --- what the patch wraps in moto --------------------------------------------------------------


def recording_origin(original: Callable[..., None]) -> Callable[..., None]:
    """Queue.add_message that remembers where a dead-lettered message came from.

    moto dead-letters a message (receive_message, at maxReceiveCount) by handing the very same
    Message object to the DLQ's add_message; everything else (SendMessage, SNS, our redrive)
    adds new Message objects. So a message that was stored in another queue before is one
    being dead-lettered from that queue."""

    @functools.wraps(original)
    def add_message(self: Queue, message: Message) -> None:
        previous = getattr(message, _STORED_IN, None)
        if previous is not None and previous != self.queue_arn:
            setattr(message, _DEAD_LETTERED_FROM, previous)
        setattr(message, _STORED_IN, self.queue_arn)
        original(self, message)

    return add_message


def holding_queue_lock(original: Callable[..., Any]) -> Callable[..., Any]:
    """An SQSBackend method `(queue_name, ...)` run under that queue's lock."""

    @functools.wraps(original)
    def call(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("queue_name", args[0] if args else None)
        queue = self.queues.get(name) if isinstance(name, str) else None
        if queue is None:  # moto answers it (QueueDoesNotExist)
            return original(self, *args, **kwargs)
        # An RLock under moto's Condition: re-entrant, and a long poll's wait releases it.
        with queue._messages_lock:
            return original(self, *args, **kwargs)

    return call


def with_source_arn(original: Callable[..., Any]) -> Callable[..., Any]:
    """SQSResponse.receive_message that also answers DeadLetterQueueSourceArn (asked for by
    name or with All), the system attribute SQS gives messages it dead-lettered."""

    @functools.wraps(original)
    def receive_message(self: Any) -> Any:
        result = original(self)
        asked = set(self._get_param("AttributeNames", []) or [])
        asked |= set(self._get_param("MessageSystemAttributeNames", []) or [])
        if not asked & {"All", SOURCE_ARN_ATTRIBUTE} or not isinstance(result, ActionResult):
            return result
        answer = result.result
        received = answer.get("Messages") if isinstance(answer, dict) else None
        if not received:
            return result
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        origins = {
            message.id: getattr(message, _DEAD_LETTERED_FROM)
            for message in list(queue._messages)
            if getattr(message, _DEAD_LETTERED_FROM, None)
        }
        for entry in received:
            origin = origins.get(entry["MessageId"])
            if origin is not None:
                entry.setdefault("Attributes", {})[SOURCE_ARN_ATTRIBUTE] = origin
        return result

    return receive_message


def _answer(response: Any, action: Callable[[], dict[str, Any]]) -> Any:
    try:
        return ActionResult(action())
    except ResourceNotFound as error:
        _, headers, body = response.serialized(ActionResult(error))
        headers["status"] = 404
        return body, headers


def start_message_move_task(self: Any) -> Any:
    return _answer(
        self,
        lambda: {
            "TaskHandle": start(
                self._get_param("SourceArn"),
                self._get_param("DestinationArn"),
                self._get_param("MaxNumberOfMessagesPerSecond"),
            ).handle
        },
    )


def list_message_move_tasks(self: Any) -> Any:
    return _answer(
        self,
        lambda: {
            "Results": list_tasks(self._get_param("SourceArn"), self._get_param("MaxResults"))
        },
    )


def cancel_message_move_task(self: Any) -> Any:
    return _answer(
        self, lambda: {"ApproximateNumberOfMessagesMoved": cancel(self._get_param("TaskHandle"))}
    )
