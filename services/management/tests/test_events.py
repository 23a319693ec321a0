"""The handlers on the events Lambda hands them, kept as JSON fixtures (tests/events/): an API
Gateway REST proxy event of the seed's POST and of a GET, and a DynamoDB stream INSERT of a
stored ride as the publisher receives it."""

from __future__ import annotations

import json

from management import get_ride, publisher, submit
from wildrydes_testing.events import EventLoader


def test_the_api_event_of_the_seed_post_stores_the_ride(
    cloud, events: EventLoader, lambda_context
) -> None:
    event = events("api_submit_ride")
    response = submit.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 201
    created = json.loads(response["body"])
    assert {key: created[key] for key in json.loads(event["body"])} == json.loads(event["body"])
    [item] = cloud.rides()
    assert item["id"] == {"S": created["id"]}


def test_the_api_event_of_a_get_answers_404_for_a_ride_never_stored(
    cloud, events: EventLoader, lambda_context
) -> None:
    response = get_ride.lambda_handler(events("api_get_ride"), lambda_context)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["errors"] == []


def test_the_stream_insert_is_published_with_its_number_attributes(
    cloud, events: EventLoader, lambda_context
) -> None:
    event = events("stream_ride_inserted")
    image = event["Records"][0]["dynamodb"]["NewImage"]
    assert publisher.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    [envelope] = cloud.received()
    assert envelope["MessageAttributes"] == {
        "fare": {"Type": "Number", "Value": image["fare"]["N"]},
        "distance": {"Type": "Number", "Value": image["distance"]["N"]},
    }
    message = json.loads(envelope["Message"])
    assert message["id"] == image["id"]["S"]
    assert message["submittedAt"] == image["submittedAt"]["S"]
