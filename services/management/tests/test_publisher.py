"""RidePublisher: stream INSERTs in, one SNS message per ride out; failures reported per record
so only they are retried; nothing published that is not a stored ride."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from management import publisher
from management.rides_store import RidesStore, to_attributes
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.seed import SEED


def correlation_id(ride: Ride) -> str:
    """The (made-up) id of the API request that stored the ride."""
    return f"request-for-{ride.id}"


def store_rides(cloud, count: int) -> list[Ride]:
    store = RidesStore(cloud.dynamodb, cloud.rides_table)
    rides = []
    for index in range(count):
        ride = Ride.from_request(RideRequest.model_validate({**SEED, "fare": Decimal(index)}))
        store.add(ride, correlation_id(ride))
        rides.append(ride)
    return rides


class SnsSpy:
    """The real (moto) client, recording which publish API each call used."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, int]] = []

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("publish", 1))
        return self.client.publish(**kwargs)

    def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("publish_batch", len(kwargs["PublishBatchRequestEntries"])))
        return self.client.publish_batch(**kwargs)


@pytest.fixture
def spy(cloud, monkeypatch: pytest.MonkeyPatch) -> SnsSpy:
    spy = SnsSpy(cloud.sns)
    monkeypatch.setattr(publisher, "sns", spy)
    return spy


def published_rides(cloud) -> list[dict[str, Any]]:
    return [json.loads(envelope["Message"]) for envelope in cloud.received()]


def test_a_single_record_is_published_with_publish(cloud, spy, publish) -> None:
    [ride] = store_rides(cloud, 1)
    assert publish(cloud.stream_records()) == {"batchItemFailures": []}
    assert spy.calls == [("publish", 1)]
    assert published_rides(cloud) == [ride.to_document()]


def test_a_batch_uses_publish_batch_in_chunks_of_ten(cloud, spy, publish) -> None:
    rides = store_rides(cloud, 23)
    assert publish(cloud.stream_records()) == {"batchItemFailures": []}
    assert spy.calls == [("publish_batch", 10), ("publish_batch", 10), ("publish_batch", 3)]
    received = published_rides(cloud)
    assert sorted(r["id"] for r in received) == sorted(r.id for r in rides)
    assert len(received) == 23


def test_every_message_carries_the_filter_attributes(cloud, publish) -> None:
    stored = {ride.id: ride for ride in store_rides(cloud, 2)}
    publish(cloud.stream_records())
    received = cloud.received()
    assert len(received) == 2
    for envelope in received:
        ride = stored[json.loads(envelope["Message"])["id"]]
        assert envelope["MessageAttributes"] == {
            "fare": {"Type": "Number", "Value": str(ride.fare)},
            "distance": {"Type": "Number", "Value": "600"},
            "correlationId": {"Type": "String", "Value": correlation_id(ride)},
        }


def test_updates_and_deletes_are_not_published(cloud, publish) -> None:
    [ride] = store_rides(cloud, 1)
    cloud.dynamodb.update_item(
        TableName=cloud.rides_table,
        Key={"id": {"S": ride.id}},
        UpdateExpression="SET fare = :fare",
        ExpressionAttributeValues={":fare": {"N": "1"}},
    )
    cloud.dynamodb.delete_item(TableName=cloud.rides_table, Key={"id": {"S": ride.id}})
    records = cloud.stream_records()
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert publish(records[1:]) == {"batchItemFailures": []}
    assert cloud.received() == []


def test_an_image_that_is_not_a_ride_is_a_failure_and_not_published(cloud, spy, publish) -> None:
    good, other = store_rides(cloud, 2)
    records = cloud.stream_records()
    broken = json.loads(json.dumps(records[0]))
    broken["dynamodb"]["NewImage"] = to_attributes({**good.to_item(), "fare": Decimal(-5)})
    broken["dynamodb"]["SequenceNumber"] = "999"
    missing = json.loads(json.dumps(records[1]))
    del missing["dynamodb"]["NewImage"]
    missing["dynamodb"]["SequenceNumber"] = "1000"

    result = publish([broken, records[1], missing])
    assert result == {"batchItemFailures": [{"itemIdentifier": "999"}, {"itemIdentifier": "1000"}]}
    assert published_rides(cloud) == [other.to_document()]


def test_an_sns_outage_reports_every_record_and_loses_none(cloud, publish, emitted) -> None:
    store_rides(cloud, 12)
    records = cloud.stream_records()
    cloud.sns.delete_topic(TopicArn=cloud.topic_arn)
    result = publish(records)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]
    }
    assert cloud.received() == []
    assert emitted.counts("management")["RidePublishFailed"] == 12
    assert len(emitted.lines("ride not published; will be retried", level="ERROR")) == 12
    # Lambda retries the reported records: once SNS is back, all of them are published.
    topic_arn = cloud.sns.create_topic(Name="RideCompletion")["TopicArn"]
    queue_arn = cloud.sqs.get_queue_attributes(
        QueueUrl=cloud.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    cloud.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    assert publish(records) == {"batchItemFailures": []}
    assert len(cloud.received()) == 12


def test_a_single_publish_failure_is_reported(cloud, publish) -> None:
    store_rides(cloud, 1)
    [record] = cloud.stream_records()
    cloud.sns.delete_topic(TopicArn=cloud.topic_arn)
    assert publish([record]) == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    }


def test_entries_sns_rejects_in_a_batch_are_the_only_failures(
    cloud, publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    rides = store_rides(cloud, 3)
    records = cloud.stream_records()
    rejected = rides[1].id

    class PartlyFailingSns:
        def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
            entries = kwargs["PublishBatchRequestEntries"]
            keep = [e for e in entries if json.loads(e["Message"])["id"] != rejected]
            response = cloud.sns.publish_batch(
                TopicArn=kwargs["TopicArn"], PublishBatchRequestEntries=keep
            )
            response["Failed"] = [
                {"Id": e["Id"], "Code": "InternalError", "SenderFault": False}
                for e in entries
                if e not in keep
            ]
            return response

    monkeypatch.setattr(publisher, "sns", PartlyFailingSns())
    result = publish(records)
    [failed] = [r for r in records if r["dynamodb"]["Keys"]["id"]["S"] == rejected]
    assert result == {
        "batchItemFailures": [{"itemIdentifier": failed["dynamodb"]["SequenceNumber"]}]
    }
    assert sorted(r["id"] for r in published_rides(cloud)) == sorted(
        r.id for r in rides if r.id != rejected
    )


def test_throttling_of_a_whole_batch_call_fails_that_chunk_only(
    cloud, publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_rides(cloud, 15)
    records = cloud.stream_records()
    calls = []

    class ThrottledOnce:
        def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            if len(calls) == 1:
                raise ClientError(
                    {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PublishBatch"
                )
            return cloud.sns.publish_batch(**kwargs)

    monkeypatch.setattr(publisher, "sns", ThrottledOnce())
    result = publish(records)
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[:10]
        ]
    }
    assert len(cloud.received()) == 5


def test_each_publication_is_logged_and_counted_with_its_ids(cloud, publish, emitted) -> None:
    [ride] = store_rides(cloud, 1)
    publish(cloud.stream_records())
    [published] = emitted.lines("ride published")
    [envelope] = cloud.received()
    assert published["ride_id"] == ride.id
    assert published["sns_message_id"] == envelope["MessageId"]
    assert published["correlation_id"] == correlation_id(ride)
    assert published["service"] == "management"
    assert published["function_request_id"]
    counts = emitted.counts("management")
    counts.pop("ColdStart", None)  # counted by whichever test invoked the handler first
    assert counts == {"RidePublished": 1}


def test_a_ride_stored_without_a_correlation_id_is_published_without_one(
    cloud, publish, emitted
) -> None:
    # Rides stored before correlation ids existed: published all the same, attribute omitted.
    ride = Ride.from_request(RideRequest.model_validate(SEED))
    cloud.dynamodb.put_item(TableName=cloud.rides_table, Item=to_attributes(ride.to_item()))
    assert publish(cloud.stream_records()) == {"batchItemFailures": []}
    [envelope] = cloud.received()
    assert set(envelope["MessageAttributes"]) == {"fare", "distance"}
    [published] = emitted.lines("ride published")
    assert "correlation_id" not in published
