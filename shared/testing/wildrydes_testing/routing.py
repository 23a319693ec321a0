"""The routing table of the fan-out, and moto SNS -> SQS subscriptions built from the templates.

Subscriptions here take their FilterPolicy, FilterPolicyScope and RawMessageDelivery from the
service's own `template.yaml`, so a routing test fails when a template's policy changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from wildrydes.events import ride_from_sqs_body, sns_message
from wildrydes.ride import Ride, RideRequest

from wildrydes_testing.sqs_events import received_event
from wildrydes_testing.templates import REGION, REPO_ROOT, load_template

# The consumers whose filter policies the design contract fixes (section 3) and ROUTES proves;
# a service added later (make new-service) proves its own filter in its own tests.
CONSUMERS = ("notification", "accounting", "extraordinary")


def template_path(service: str) -> Path:
    return REPO_ROOT / "services" / service / "template.yaml"


@dataclass(frozen=True)
class Route:
    """A boundary ride and the services that must (and alone must) receive it."""

    label: str
    fare: str
    distance: str
    receivers: frozenset[str]


# Design section 3: notification gets every ride, accounting every ride with fare > 0,
# extraordinary exactly those with fare >= 50 or distance >= 20.
ROUTES = (
    Route("neither: free and short", "0", "5", frozenset({"notification"})),
    Route("fare 0 but long", "0", "20", frozenset({"notification", "extraordinary"})),
    Route("smallest fare", "0.00001", "1", frozenset({"notification", "accounting"})),
    Route("fare just under 50", "49.99", "19.99", frozenset({"notification", "accounting"})),
    Route("fare exactly 50", "50", "1", frozenset(CONSUMERS)),
    Route("distance just under 20", "10", "19.99", frozenset({"notification", "accounting"})),
    Route("distance exactly 20", "10", "20", frozenset(CONSUMERS)),
    Route("both qualify", "256.5", "600", frozenset(CONSUMERS)),
)


def make_ride(
    fare: str | Decimal = "256.5", distance: str | Decimal = "600", **fields: Any
) -> Ride:
    """A stored ride (the seed's values unless told otherwise) with a fresh id."""
    request = RideRequest.model_validate(
        {
            "from": "Berlin",
            "to": "Munich",
            "duration": Decimal(480),
            "customer": "234234",
            **fields,
            "fare": Decimal(fare),
            "distance": Decimal(distance),
        }
    )
    return Ride.from_request(request, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def subscription_properties(service: str) -> dict[str, Any]:
    """The Properties of the one AWS::SNS::Subscription in the service's template."""
    resources = load_template(template_path(service))["Resources"]
    subscriptions = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::SNS::Subscription"
    ]
    assert len(subscriptions) == 1, f"{service}: expected one subscription"
    return subscriptions[0]


def subscribe_queue(sns: Any, sqs: Any, topic_arn: str, service: str) -> str:
    """Create a queue and subscribe it to the topic as the service's template does; its URL."""
    queue_url = sqs.create_queue(QueueName=f"{service}-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    properties = subscription_properties(service)
    attributes = {"RawMessageDelivery": str(properties["RawMessageDelivery"]).lower()}
    if "FilterPolicy" in properties:
        attributes["FilterPolicy"] = json.dumps(properties["FilterPolicy"])
        attributes["FilterPolicyScope"] = properties["FilterPolicyScope"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
    return queue_url


def routed(services: Iterable[str], rides: Iterable[Ride]) -> dict[str, set[str]]:
    """Publish the rides to one moto topic that every service's queue subscribes to with its
    template's policy; the ids of the rides each queue received. Call inside a moto mock
    (wildrydes_testing.aws.mocked)."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="RideCompletion")["TopicArn"]
    queues = {service: subscribe_queue(sns, sqs, topic_arn, service) for service in services}
    for ride in rides:
        sns.publish(TopicArn=topic_arn, **sns_message(ride))
    return {
        service: {
            ride_from_sqs_body(record["body"]).id
            for record in received_event(sqs, queue_url)["Records"]
        }
        for service, queue_url in queues.items()
    }
