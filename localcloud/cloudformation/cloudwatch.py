"""AWS::CloudWatch::Alarm, which moto's CloudFormation skips, and AWS::CloudWatch::Dashboard,
which moto's CloudFormation creates without the checks of its PutDashboard API."""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudwatch.models import cloudwatch_backends
from moto.utilities.utils import get_partition

from localcloud.cloudformation.base import Handler


class CloudWatchAlarm(Handler):
    """AWS::CloudWatch::Alarm (e.g. on a DLQ's depth). Ref is the alarm name."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> CloudWatchAlarm:
        alarm_name = properties.get("AlarmName") or name
        cloudwatch_backends[account_id][region].put_metric_alarm(
            name=alarm_name,
            namespace=properties.get("Namespace"),  # type: ignore[arg-type]
            metric_name=properties.get("MetricName"),  # type: ignore[arg-type]
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties["Period"]) if "Period" in properties else None,  # type: ignore[arg-type]
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,  # type: ignore[arg-type]
            statistic=properties.get("Statistic"),  # type: ignore[arg-type]
            description=properties.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=properties.get("Dimensions", []),
            alarm_actions=properties.get("AlarmActions", []),
            datapoints_to_alarm=properties.get("DatapointsToAlarm"),
            extended_statistic=properties.get("ExtendedStatistic"),
            ok_actions=properties.get("OKActions", []),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
            unit=properties.get("Unit"),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=properties.get("TreatMissingData"),
        )
        return cls(alarm_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("AlarmName", self.physical_id) != self.physical_id:
            return super().update(properties, name)
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            partition = get_partition(self.region)
            return (
                f"arn:{partition}:cloudwatch:{self.region}:{self.account_id}"
                f":alarm:{self.physical_id}"
            )
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_id])


class CloudWatchDashboard(Handler):
    """AWS::CloudWatch::Dashboard. Ref is the dashboard name.

    moto's own model stores any DashboardBody (its PutDashboard API rejects one that is not JSON,
    its CloudFormation does not), names an unnamed dashboard with a bare UUID and replaces the
    dashboard on every body change (a new UUID each time, for an unnamed one). In AWS a body
    change updates the dashboard in place and a bad body fails the resource."""

    TYPE = "AWS::CloudWatch::Dashboard"
    NAME_PROPERTY = "DashboardName"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> CloudWatchDashboard:
        dashboard_name = properties.get("DashboardName") or name
        body = _dashboard_body(properties)
        cloudwatch_backends[account_id][region].put_dashboard(name=dashboard_name, body=body)
        return cls(dashboard_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("DashboardName", self.physical_id) != self.physical_id:
            _dashboard_body(properties)  # fail before the old dashboard is gone
            return super().update(properties, name)
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        # moto reports (returns, not raises) a dashboard that is already gone: nothing to do.
        cloudwatch_backends[account_id][region_name].delete_dashboards([self.physical_id])


def _dashboard_body(properties: dict[str, Any]) -> str:
    """The DashboardBody, which must be a JSON object, as PutDashboard requires."""
    body = properties.get("DashboardBody")
    if not isinstance(body, str):
        raise ValidationError(message="Property DashboardBody must be a string of JSON")
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise ValidationError(
            message=f"The dashboard body is invalid: DashboardBody is not valid JSON ({error})"
        ) from error
    if not isinstance(parsed, dict):
        raise ValidationError(
            message="The dashboard body is invalid: DashboardBody must be a JSON object"
        )
    return body
