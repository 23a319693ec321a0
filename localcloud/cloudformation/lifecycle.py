"""Each resource of a stack as CloudFormation reports it: its record and its events.

moto keeps only the model objects of a stack's resources and builds DescribeStackResource(s) and
ListStackResources from whatever attributes they happen to have: a resource it skipped comes
back with no logical id, type or physical id, a Lambda permission with an empty physical id,
every timestamp is a constant from 2010 and every status is the stack's. DescribeStackEvents has
the stack's own events only.

Here a stack's ResourceMap carries a Ledger: one ResourceRecord per logical id (type, physical
id, status, reason, the real time of its last operation), written as moto creates, updates and
deletes the resource, each change also a stack event with the same fields, as CloudFormation
writes them. The describe APIs (see `patches.describe_stack_resources_completely`) answer from
it. It also holds what a failed operation needs: the order resources were created in (deletes
go the other way), rollback of a failed create, and deletes that honour DeletionPolicy and fail
the way AWS fails them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.core.exceptions import ServiceException
from moto.core.utils import utcnow

# How many passes a delete makes over what is left: a resource may refuse to go while another
# still depends on it (moto's own delete retries the same way).
_DELETE_PASSES = 5
_RETAINED = ("Retain", "RetainExceptOnCreate")


class ResourceFailed(ValidationError):
    """A resource failed the way it fails on AWS (a type localcloud refuses, a non-empty bucket,
    a nested stack that failed): the message becomes its status reason, and its stack fails or
    rolls back as CloudFormation's would. `stack_unchanged` says nothing was touched yet (a
    failed update then rolls back to exactly what was there)."""

    def __init__(self, message: str, *, stack_unchanged: bool = False) -> None:
        super().__init__(message=message)
        self.reason = message
        self.stack_unchanged = stack_unchanged


class StackDeleteFailed(Exception):
    """Some resources of a stack could not be deleted (their DELETE_FAILED events say why)."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__(f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
        self.failed = failed


def reason_of(error: BaseException) -> str:
    if isinstance(error, ServiceException):
        return str(error.message)
    return str(error) or type(error).__name__


@dataclass
class ResourceRecord:
    logical_id: str
    resource_type: str
    physical_id: str = ""
    status: str = ""
    reason: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    metadata: Any = None
    notes: list[str] = field(default_factory=list)


class Ledger:
    """The records and events of one stack's resources (kept on its ResourceMap)."""

    def __init__(self, stack: Any | None) -> None:
        self.stack = stack
        self.records: dict[str, ResourceRecord] = {}
        self.created: list[str] = []  # logical ids, in the order their creation completed
        self.deleting = False  # inside a stack delete or a rollback (not an update's cleanup)

    def record(self, logical_id: str, resource_type: str) -> ResourceRecord:
        record = self.records.get(logical_id)
        if record is None or record.resource_type != resource_type:
            record = self.records[logical_id] = ResourceRecord(logical_id, resource_type)
        return record

    def event(
        self,
        logical_id: str,
        resource_type: str,
        status: str,
        reason: str | None = None,
        physical_id: str | None = None,
    ) -> ResourceRecord:
        """Move a resource to `status` now, and write the stack event that says so."""
        record = self.record(logical_id, resource_type)
        record.status = status
        record.reason = reason
        record.timestamp = utcnow()
        if physical_id is not None:
            record.physical_id = physical_id
        if self.stack is not None:
            from moto.cloudformation.models import Event

            event = Event(
                stack_id=self.stack.stack_id,
                stack_name=self.stack.name,
                logical_resource_id=logical_id,
                # CloudFormation reports "" until the resource has an id (first IN_PROGRESS).
                physical_resource_id=record.physical_id,
                resource_type=resource_type,
                resource_status=status,
                resource_status_reason=reason,
                resource_properties=None,
            )
            event.timestamp = record.timestamp
            event.sendToSns(
                self.stack.account_id, self.stack.region_name, self.stack.notification_arns
            )
            self.stack.events.append(event)
        return record

    def forget(self, logical_id: str) -> None:
        """A resource an update removed: CloudFormation no longer lists it."""
        self.records.pop(logical_id, None)
        if logical_id in self.created:
            self.created.remove(logical_id)

    def fail_in_progress(self, reason: str) -> None:
        """An operation stopped: whatever was still in progress failed with it."""
        for record in list(self.records.values()):
            if record.status.endswith("_IN_PROGRESS"):
                failed = record.status.replace("_IN_PROGRESS", "_FAILED")
                self.event(record.logical_id, record.resource_type, failed, reason)

    def failed(self, operation: str) -> list[str]:
        return [r.logical_id for r in self.records.values() if r.status == f"{operation}_FAILED"]


def attach(resource_map: Any, stack: Any) -> None:
    resource_map.localcloud_ledger = Ledger(stack)


def ledger(resource_map: Any) -> Ledger:
    book = getattr(resource_map, "localcloud_ledger", None)
    if book is None:  # a map made before the patch, or a throwaway one: no stack to report to
        book = resource_map.localcloud_ledger = Ledger(None)
    return book


def note(resource_map: Any, logical_id: str, notes: list[str]) -> None:
    """What localcloud does not do for this resource: its next COMPLETE status carries it."""
    record = ledger(resource_map).records.get(logical_id)
    if record is not None:
        record.notes = list(notes)


def physical_id_of(resource: Any) -> str | None:
    try:
        value = getattr(resource, "physical_resource_id", None)
    except Exception:  # a model whose property needs state it lacks
        return None
    return value if isinstance(value, str) and value else None


def generated_name(resource_map: Any, resource_type: str, logical_id: str) -> str:
    """<stack>-<LogicalId>-<SUFFIX>: the name CloudFormation gives a resource without one."""
    from moto.cloudformation.parsing import generate_resource_name

    return generate_resource_name(resource_type, resource_map["AWS::StackName"], logical_id)


# --- what the describe APIs answer -------------------------------------------------------------


def described(stack: Any) -> list[ResourceRecord]:
    """Every resource of the stack CloudFormation would list, in the order it created them."""
    resource_map = stack.resource_map
    book = ledger(resource_map)
    records = list(book.records.values())
    known = set(book.records)
    # Resources moto made outside the ledger (a stack created with the patch switched off).
    templates = getattr(resource_map, "_resource_json_map", {}) or {}
    for logical_id, resource_json in templates.items():
        resource = resource_map._parsed_resources.get(logical_id)
        if logical_id in known or resource is None or isinstance(resource, str):
            continue
        records.append(
            ResourceRecord(
                logical_id=logical_id,
                resource_type=resource_json.get("Type", ""),
                physical_id=physical_id_of(resource) or "",
                status=stack.status,
                timestamp=stack.creation_time,
                metadata=resource_json.get("Metadata"),
            )
        )
    return records


def _drift() -> dict[str, str]:
    return {"StackResourceDriftStatus": "NOT_CHECKED"}


def _common(record: ResourceRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "LogicalResourceId": record.logical_id,
        "PhysicalResourceId": record.physical_id,
        "ResourceType": record.resource_type,
        "ResourceStatus": record.status,
        "DriftInformation": _drift(),
    }
    if record.reason:
        fields["ResourceStatusReason"] = record.reason
    return fields


def stack_resource(stack: Any, record: ResourceRecord) -> dict[str, Any]:
    """DescribeStackResources' StackResource."""
    return {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "Timestamp": record.timestamp,
        **_common(record),
    }


def stack_resource_detail(stack: Any, record: ResourceRecord) -> dict[str, Any]:
    """DescribeStackResource's StackResourceDetail."""
    detail = {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LastUpdatedTimestamp": record.timestamp,
        **_common(record),
    }
    if record.metadata is not None:
        detail["Metadata"] = json.dumps(record.metadata)
    return detail


def stack_resource_summary(record: ResourceRecord) -> dict[str, Any]:
    """ListStackResources' StackResourceSummary."""
    return {"LastUpdatedTimestamp": record.timestamp, **_common(record)}


def declared_transforms(template: Any) -> list[str]:
    transform = template.get("Transform") if isinstance(template, dict) else None
    if transform is None:
        return []
    return list(transform) if isinstance(transform, list) else [transform]


def resource_types(template_dict: dict[str, Any]) -> list[str]:
    """The distinct types of a (processed) template, in template order."""
    resources = template_dict.get("Resources") or {}
    return list(dict.fromkeys(r.get("Type", "") for r in resources.values()))


# --- deletes ------------------------------------------------------------------------------------


@contextmanager
def _deleting(book: Ledger) -> Iterator[None]:
    previous, book.deleting = book.deleting, True
    try:
        yield
    finally:
        book.deleting = previous


def retains(resource_json: dict[str, Any], rollback: bool) -> bool:
    """DeletionPolicy Retain keeps a resource, even when a failed create rolls back (which is why
    AWS added RetainExceptOnCreate: kept on delete and update, deleted by a create's rollback)."""
    policy = resource_json.get("DeletionPolicy", "Delete")
    return policy == "Retain" or (policy == "RetainExceptOnCreate" and not rollback)


def delete_resources(resource_map: Any, rollback: bool = False) -> None:
    """Delete a stack's resources as CloudFormation does: the last created first, the retained
    ones skipped (DELETE_SKIPPED), each failure a DELETE_FAILED with its reason; raises
    StackDeleteFailed naming what is left."""
    book = ledger(resource_map)
    templates: dict[str, Any] = resource_map._resource_json_map or {}
    parsed = resource_map._parsed_resources
    order = [lid for lid in reversed(book.created) if lid in templates]
    order += [lid for lid in templates if lid not in order]
    pending = []
    for logical_id in order:
        resource = parsed.get(logical_id)
        if resource is None or isinstance(resource, str):
            continue  # never created (a false condition, a failed create)
        if retains(templates[logical_id], rollback):
            book.event(logical_id, templates[logical_id].get("Type", ""), "DELETE_SKIPPED")
            continue
        pending.append(logical_id)
    errors: dict[str, BaseException] = {}
    with _deleting(book):
        for _ in range(_DELETE_PASSES):
            progressed = False
            for logical_id in list(pending):
                try:
                    resource_map._delete_resource(parsed[logical_id], templates[logical_id])
                except Exception as error:  # maybe still needed by another: next pass
                    errors[logical_id] = error
                    continue
                parsed.pop(logical_id, None)
                pending.remove(logical_id)
                progressed = True
            if not pending or not progressed:
                break
    for logical_id in pending:
        resource_type = templates[logical_id].get("Type", "")
        book.event(logical_id, resource_type, "DELETE_FAILED", reason_of(errors[logical_id]))
    if pending:
        raise StackDeleteFailed(pending)


def deletes_anything(resource_class: Any) -> bool:
    """Whether moto's model can delete its resource at all (some cannot, and moto's delete then
    does nothing without a word)."""
    if resource_class is None:
        return False
    delete = getattr(resource_class, "delete", None)
    if callable(delete) and not getattr(delete, "__isabstractmethod__", False):
        return True
    by_json = getattr(resource_class, "delete_from_cloudformation_json", None)
    return by_json is not None and not getattr(by_json, "__isabstractmethod__", False)


# --- rollback -----------------------------------------------------------------------------------


def _failure_summary(book: Ledger) -> str:
    parts = []
    for operation, verb in (("CREATE", "create"), ("UPDATE", "update")):
        failed = book.failed(operation)
        if failed:
            parts.append(f"The following resource(s) failed to {verb}: [{', '.join(failed)}].")
    return " ".join(parts)


def roll_back_create(stack: Any, exports: dict[str, Any]) -> None:
    """A create failed: delete what it made (retained resources stay, as on AWS), leaving the
    stack in ROLLBACK_COMPLETE (or ROLLBACK_FAILED) with no outputs and no exports."""
    resource_map = stack.resource_map
    book = ledger(resource_map)
    summary = _failure_summary(book)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS", resource_status_reason=f"{summary} Rollback requested by user."
    )
    try:
        delete_resources(resource_map, rollback=True)
        final = "ROLLBACK_COMPLETE"
    except StackDeleteFailed:
        final = "ROLLBACK_FAILED"
    stack.status = final
    stack._add_stack_event(final)
    for name in [n for n, e in exports.items() if e.exporting_stack_id == stack.stack_id]:
        del exports[name]
    seal(stack)


def seal(stack: Any) -> None:
    """A stack whose resources are gone (rolled back, deleted) has no outputs, and nothing of it
    may come back: moto creates a resource lazily whenever something references it, so merely
    describing the stack (its outputs' `!Ref`s) would create again what was just deleted."""
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)
    stack.resource_map._resource_json_map = {}


def roll_back_unchanged_update(stack: Any) -> None:
    """An update failed before it changed anything: the stack is what it was."""
    summary = _failure_summary(ledger(stack.resource_map))
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=summary)
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def refuse(
    resource_map: Any, refused: dict[str, tuple[str, str]], existing: set[str]
) -> ResourceFailed:
    """The resources localcloud refuses (logical id -> type, reason) fail (CREATE_FAILED, or
    UPDATE_FAILED for one the stack has), before anything else is touched; the error to raise."""
    book = ledger(resource_map)
    reasons = []
    for logical_id, (resource_type, reason) in refused.items():
        status = "UPDATE_FAILED" if logical_id in existing else "CREATE_FAILED"
        book.event(logical_id, resource_type, status, reason)
        reasons.append(reason)
    return ResourceFailed(reasons[0] + _more(reasons), stack_unchanged=True)


def _more(reasons: list[str]) -> str:
    return f" (and {len(reasons) - 1} more refused resource(s))" if len(reasons) > 1 else ""
