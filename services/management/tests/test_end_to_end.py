"""The seed's smoke test in-process: POST -> Rides table -> stream -> RidePublisher -> topic ->
a subscribed queue, with the message attributes the consumers filter on."""

from __future__ import annotations

import json

from boto3.dynamodb.types import TypeDeserializer
from wildrydes.events import ride_from_sqs_body
from wildrydes_testing.seed import SEED


def test_the_seed_ride_reaches_the_topic_exactly_once(cloud, post_ride, publish, events) -> None:
    response = post_ride(SEED, content_type="application/json")
    assert response["statusCode"] == 201
    ride_id = json.loads(response["body"])["id"]
    # The API Gateway request id of the submit call: the ride's correlation id from here on.
    correlation_id = events("api_submit_ride")["requestContext"]["requestId"]

    [item] = cloud.rides()
    stored = {name: TypeDeserializer().deserialize(value) for name, value in item.items()}
    assert stored["id"] == ride_id
    assert stored.pop("correlationId") == correlation_id

    records = cloud.stream_records()
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert publish(records) == {"batchItemFailures": []}

    [envelope] = cloud.received()
    assert envelope["TopicArn"] == cloud.topic_arn
    assert envelope["MessageAttributes"] == {
        "fare": {"Type": "Number", "Value": "256.5"},
        "distance": {"Type": "Number", "Value": "600"},
        "correlationId": {"Type": "String", "Value": correlation_id},
    }
    message = json.loads(envelope["Message"])
    assert message == {**SEED, "id": ride_id, "submittedAt": stored["submittedAt"]}
    # What every consumer will parse out of its queue is the stored ride.
    assert ride_from_sqs_body(json.dumps(envelope)).to_item() == stored
