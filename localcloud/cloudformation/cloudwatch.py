"""AWS::CloudWatch::Alarm, which moto's CloudFormation skips."""

from __future__ import annotations

from typing import Any

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
