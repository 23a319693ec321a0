"""AWS::SNS::Subscription and AWS::SNS::TopicPolicy, which moto's CloudFormation skips."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.sns.models import SNSBackend, sns_backends

from localcloud.cloudformation.base import Handler, json_text


class SnsSubscription(Handler):
    """AWS::SNS::Subscription: subscribe, then set the attributes (scope before policy, as SNS
    validates a filter policy against its scope)."""

    TYPE = "AWS::SNS::Subscription"
    # Order matters: FilterPolicyScope must be set before FilterPolicy.
    SETTABLE = (
        "FilterPolicyScope",
        "FilterPolicy",
        "RawMessageDelivery",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
    )
    REPLACING = ("TopicArn", "Protocol", "Endpoint", "Region")

    @staticmethod
    def _backend(account_id: str, properties: dict[str, Any]) -> SNSBackend:
        topic_arn = properties["TopicArn"]
        return sns_backends[account_id][properties.get("Region") or topic_arn.split(":")[3]]

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SnsSubscription:
        backend = cls._backend(account_id, properties)
        subscription = backend.subscribe(
            properties["TopicArn"], properties["Endpoint"], properties["Protocol"]
        )
        handler = cls(subscription.arn, properties, account_id, region)
        handler._set_attributes(backend, previous={})
        return handler

    def _set_attributes(self, backend: SNSBackend, previous: dict[str, Any]) -> None:
        for key in self.SETTABLE:
            if key in self.properties:
                value = self.properties[key]
                if key == "RawMessageDelivery":
                    # moto delivers raw when the stored value is truthy: store a real bool.
                    value = str(value).lower() == "true"
                elif key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
                    value = json_text(value)
                backend.set_subscription_attributes(self.physical_id, key, value)
            elif key in previous:
                # Removed from the template: back to SNS's default.
                cleared: Any = False if key == "RawMessageDelivery" else ""
                backend.set_subscription_attributes(self.physical_id, key, cleared)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if any(properties.get(k) != self.properties.get(k) for k in self.REPLACING):
            return super().update(properties, name)
        previous, self.properties = self.properties, properties
        self._set_attributes(self._backend(self.account_id, properties), previous)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, self.properties).unsubscribe(self.physical_id)


class SnsTopicPolicy(Handler):
    """AWS::SNS::TopicPolicy: the topics' Policy attribute; deleting restores SNS's default."""

    TYPE = "AWS::SNS::TopicPolicy"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SnsTopicPolicy:
        handler = cls(name, properties, account_id, region)
        for topic_arn in properties["Topics"]:
            backend = sns_backends[account_id][topic_arn.split(":")[3]]
            backend.set_topic_attribute(
                topic_arn, "policy", json_text(properties["PolicyDocument"])
            )
        return handler

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        dropped = set(self.properties["Topics"]) - set(properties["Topics"])
        self._reset(dropped)
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def _reset(self, topic_arns: set[str]) -> None:
        for topic_arn in topic_arns:
            backend = sns_backends[self.account_id][topic_arn.split(":")[3]]
            # The topic may already be gone (same stack, deleted first): nothing to reset.
            with contextlib.suppress(Exception):
                topic = backend.get_topic(topic_arn)
                topic._policy_json = topic._create_default_topic_policy(
                    backend.region_name, self.account_id, topic.name
                )

    def delete(self, account_id: str, region_name: str) -> None:
        self._reset(set(self.properties["Topics"]))
