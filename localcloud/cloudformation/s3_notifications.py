"""A bucket's `NotificationConfiguration`, as a template declares it (and as SAM writes it for a
function's `S3` event), in the shape moto's S3 backend keeps (the XML API's, parsed).

CloudFormation: one event per configuration (`Event`), filter rules under `Filter.S3Key.Rules`
(`Name` prefix/suffix, any case). moto: a list of events, rules under `Filter.S3Key.FilterRule`
with lower-case names. EventBridge: `EventBridgeConfiguration.EventBridgeEnabled`.
"""

from __future__ import annotations

from typing import Any

from moto.s3.notifications import S3NotificationEvent

# CloudFormation list property -> (moto's key, the destination's key in each).
_DESTINATIONS = {
    "LambdaConfigurations": ("CloudFunctionConfiguration", "Function", "CloudFunction"),
    "QueueConfigurations": ("QueueConfiguration", "Queue", "Queue"),
    "TopicConfigurations": ("TopicConfiguration", "Topic", "Topic"),
}


class NotificationConfigurationError(ValueError):
    """A NotificationConfiguration CloudFormation would refuse; the message says what."""


def moto_notification_config(declared: Any, region: str) -> dict[str, Any] | None:
    """moto's notification configuration for the template's; None when it declares none.
    Checked as S3 checks it (event names, a destination in the bucket's region), so that a bad
    one is refused before the bucket exists."""
    if not declared:
        return None
    if not isinstance(declared, dict):
        raise NotificationConfigurationError("NotificationConfiguration must be an object")
    config: dict[str, Any] = {}
    for cfn_key, (moto_key, cfn_destination, moto_destination) in _DESTINATIONS.items():
        entries = declared.get(cfn_key) or []
        if not isinstance(entries, list):
            raise NotificationConfigurationError(f"{cfn_key} must be a list")
        converted = []
        for index, entry in enumerate(entries):
            where = f"{cfn_key}[{index}]"
            if (
                not isinstance(entry, dict)
                or not entry.get(cfn_destination)
                or not entry.get("Event")
            ):
                raise NotificationConfigurationError(f"{where} needs {cfn_destination} and Event")
            if not S3NotificationEvent.is_event_valid(entry["Event"]):
                raise NotificationConfigurationError(
                    f"{where}: {entry['Event']!r} is not an S3 event name"
                )
            destination = str(entry[cfn_destination])
            parts = destination.split(":")
            if len(parts) < 6 or parts[3] != region:
                raise NotificationConfigurationError(
                    f"{where}: the destination {destination} is not in the bucket's region {region}"
                )
            item: dict[str, Any] = {moto_destination: destination, "Event": [entry["Event"]]}
            rules = _filter_rules(entry.get("Filter"), where)
            if rules:
                item["Filter"] = {"S3Key": {"FilterRule": rules}}
            converted.append(item)
        if converted:
            config[moto_key] = converted
    event_bridge = declared.get("EventBridgeConfiguration") or {}
    if event_bridge.get("EventBridgeEnabled") in (True, "true", "True"):
        config["EventBridgeConfiguration"] = {}
    return config or None


def _filter_rules(declared: Any, where: str) -> list[dict[str, str]]:
    if not declared:
        return []
    rules = (declared.get("S3Key") or {}).get("Rules") or []
    converted = []
    for rule in rules:
        name = str(rule.get("Name", "")).lower()
        if name not in ("prefix", "suffix"):
            raise NotificationConfigurationError(
                f"{where}: filter rule name {rule.get('Name')!r} is not prefix or suffix"
            )
        converted.append({"Name": name, "Value": str(rule.get("Value", ""))})
    return converted
