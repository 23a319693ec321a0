"""AWS::Scheduler::Schedule and AWS::Scheduler::ScheduleGroup (what SAM writes for a
`ScheduleV2` event), which moto's CloudFormation skips though its scheduler backend models them.

A schedule is checked as EventBridge Scheduler checks it before anything is made (expression,
time zone, time window, target, retry policy): one it would refuse fails the resource with the
reason. localcloud.eventbridge.scheduler fires it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.scheduler.models import scheduler_backends
from moto.utilities.utils import get_partition

from localcloud.cloudformation.base import Handler
from localcloud.cloudformation.lifecycle import ResourceFailed
from localcloud.eventbridge import scheduler_schedules


def _backend(account_id: str, region: str) -> Any:
    return scheduler_backends[account_id][region]


def _checked(properties: dict[str, Any]) -> None:
    try:
        scheduler_schedules.validate(
            properties.get("ScheduleExpression", ""),
            properties.get("ScheduleExpressionTimezone"),
            properties.get("FlexibleTimeWindow"),
            properties.get("Target"),
            properties.get("State"),
        )
        for date in ("StartDate", "EndDate"):
            scheduler_schedules.epoch_of(properties.get(date))
    except ValueError as error:  # InvalidSchedule, or a date that is not ISO 8601
        raise ResourceFailed(str(error), stack_unchanged=True) from None


def _arguments(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": properties.get("Description"),
        "end_date": scheduler_schedules.epoch_of(properties.get("EndDate")),
        "flexible_time_window": properties["FlexibleTimeWindow"],
        "group_name": properties.get("GroupName") or "default",
        "kms_key_arn": properties.get("KmsKeyArn"),
        "schedule_expression": properties["ScheduleExpression"],
        "schedule_expression_timezone": properties.get("ScheduleExpressionTimezone"),
        "start_date": scheduler_schedules.epoch_of(properties.get("StartDate")),
        "state": properties.get("State") or "ENABLED",
        "target": dict(properties["Target"]),
    }


class SchedulerSchedule(Handler):
    """AWS::Scheduler::Schedule. Ref is the schedule's name; GetAtt Arn."""

    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)

    @property
    def group(self) -> str:
        return str(self.properties.get("GroupName") or "default")

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SchedulerSchedule:
        _checked(properties)
        schedule_name = properties.get("Name") or name[:64]
        try:
            _backend(account_id, region).create_schedule(
                name=schedule_name,
                action_after_completion=properties.get("ActionAfterCompletion"),
                **_arguments(properties),
            )
        except Exception as error:  # moto's own refusals: a missing group, a duplicate name
            raise ResourceFailed(f"{type(error).__name__}: {error}") from None
        return cls(schedule_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        same_place = (
            properties.get("Name", self.physical_id) == self.physical_id
            and str(properties.get("GroupName") or "default") == self.group
        )
        if not same_place:
            return super().update(properties, name)
        _checked(properties)
        schedule = _backend(self.account_id, self.region).update_schedule(
            name=self.physical_id, **_arguments(properties)
        )
        schedule.action_after_completion = properties.get("ActionAfterCompletion")
        return type(self)(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # already gone (an at() schedule deleting itself)
            _backend(account_id, region_name).delete_schedule(self.group, self.physical_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            partition = get_partition(self.region)
            return (
                f"arn:{partition}:scheduler:{self.region}:{self.account_id}:schedule/"
                f"{self.group}/{self.physical_id}"
            )
        return super().get_cfn_attribute(attribute_name)


class SchedulerScheduleGroup(Handler):
    """AWS::Scheduler::ScheduleGroup. Ref is the group's name; GetAtt Arn and State."""

    TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "State", "CreationDate", "LastModificationDate")

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SchedulerScheduleGroup:
        group_name = properties.get("Name") or name[:64]
        tags = properties.get("Tags") or []
        _backend(account_id, region).create_schedule_group(name=group_name, tags=tags)
        return cls(group_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("Name", self.physical_id) != self.physical_id:
            return super().update(properties, name)
        return type(self)(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):
            _backend(account_id, region_name).delete_schedule_group(self.physical_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        group = _backend(self.account_id, self.region).get_schedule_group(self.physical_id)
        if attribute_name == "Arn":
            return group.arn
        if attribute_name == "State":
            return "ACTIVE"
        if attribute_name in ("CreationDate", "LastModificationDate"):
            return group.created_on
        return super().get_cfn_attribute(attribute_name)
