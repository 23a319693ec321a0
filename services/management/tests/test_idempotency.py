"""Idempotency-Key: a retried submission returns the first ride and writes (and streams)
nothing new; reusing a key for another ride is a 409."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from management import idempotency, submit
from management.rides_store import IdempotencyConflict, RidesStore
from wildrydes.ride import Ride, RideRequest
from wildrydes_testing.seed import SEED

KEY = "3f1c7c2e-8d5b-4a51-9a77-0b6f2f9d3c11"
CORRELATION_ID = "api-request-1"


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def inserts(cloud) -> list[dict[str, Any]]:
    return [record for record in cloud.stream_records() if record["eventName"] == "INSERT"]


def test_a_retry_with_the_same_key_and_body_returns_the_first_ride(
    post_ride, cloud, emitted
) -> None:
    first = post_ride(SEED, Idempotency_Key=KEY)
    # Same ride, written differently: other key order, whitespace, 256.50 for 256.5.
    retry_text = (
        '{"fare": 256.50, "customer": "234234", "distance": 600, "duration": 480,'
        ' "to": "Munich", "from": "Berlin"}'
    )
    retry = post_ride(retry_text, **{"idempotency-key": KEY})

    assert first["statusCode"] == retry["statusCode"] == 201
    assert body_of(retry) == body_of(first)
    assert retry["headers"]["Location"] == first["headers"]["Location"]
    assert retry["headers"]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first["headers"]
    [ride] = cloud.rides()
    assert ride["id"] == {"S": body_of(first)["id"]}
    assert len(inserts(cloud)) == 1  # one ride, one event for the publisher
    counts = emitted.counts("management")
    assert (counts["RideAccepted"], counts["RideReplayed"]) == (1, 1)


def test_the_key_record_is_written_with_the_ride(post_ride, cloud) -> None:
    ride = body_of(post_ride(SEED, Idempotency_Key=KEY))
    [record] = cloud.key_records()
    assert record["key"] == {"S": f"testkeyid:{KEY}"}  # scoped to the caller's API key
    assert record["rideId"] == {"S": ride["id"]}
    assert len(record["fingerprint"]["S"]) == 64
    assert int(record["expiresAt"]["N"]) > 0
    # The Rides stream carries rides only: the key record lives in its own table.
    assert [r["dynamodb"]["Keys"] for r in cloud.stream_records()] == [{"id": {"S": ride["id"]}}]


def test_the_same_key_with_another_ride_is_a_conflict(post_ride, cloud) -> None:
    first = body_of(post_ride(SEED, Idempotency_Key=KEY))
    response = post_ride({**SEED, "fare": 300}, Idempotency_Key=KEY)
    assert response["statusCode"] == 409
    answer = body_of(response)
    assert answer["errors"] == [
        {
            "field": "Idempotency-Key",
            "error": "this Idempotency-Key was already used with a different ride",
        }
    ]
    [ride] = cloud.rides()
    assert ride["id"] == {"S": first["id"]}
    assert ride["fare"] == {"N": "256.5"}
    assert len(inserts(cloud)) == 1


def test_different_keys_make_different_rides(post_ride, cloud) -> None:
    first = body_of(post_ride(SEED, Idempotency_Key="key-1"))
    second = body_of(post_ride(SEED, Idempotency_Key="key-2"))
    assert first["id"] != second["id"]
    assert len(cloud.rides()) == 2
    assert len(inserts(cloud)) == 2


def test_keys_are_scoped_to_the_api_key(cloud, make_api_event, lambda_context) -> None:
    def post(api_key_id: str) -> dict[str, Any]:
        event = make_api_event(
            "POST",
            "/submit-ride-completion",
            "/submit-ride-completion",
            json.dumps(SEED),
            {"Content-Type": "application/json", "Idempotency-Key": KEY},
        )
        event["requestContext"]["identity"]["apiKeyId"] = api_key_id
        return body_of(submit.lambda_handler(event, lambda_context))

    assert post("client-a")["id"] != post("client-b")["id"]
    assert len(cloud.rides()) == 2


def test_an_expired_key_is_free_again(cloud) -> None:
    store = RidesStore(cloud.dynamodb, cloud.rides_table, cloud.keys_table)
    request = RideRequest.model_validate(SEED)
    claim = idempotency.claim_for(KEY, "client", request)
    first = store.add_once(Ride.from_request(request), claim, CORRELATION_ID, now=1_000_000)
    # Within the retention: replayed.
    again = store.add_once(Ride.from_request(request), claim, CORRELATION_ID, now=1_000_000 + 60)
    assert (again.ride, again.replayed) == (first.ride, True)
    # After it (TTL has not deleted the record yet): a new ride.
    later = store.add_once(
        Ride.from_request(request),
        claim,
        CORRELATION_ID,
        now=1_000_001 + idempotency.RETENTION_SECONDS,
    )
    assert later.replayed is False
    assert later.ride.id != first.ride.id
    assert len(cloud.rides()) == 2


def test_a_racing_request_whose_winner_is_not_visible_is_asked_to_retry(cloud) -> None:
    store = RidesStore(cloud.dynamodb, cloud.rides_table, cloud.keys_table)
    request = RideRequest.model_validate(SEED)
    claim = idempotency.claim_for(KEY, "client", request)
    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )

    class ConflictingClient:
        def __getattr__(self, name: str) -> Any:
            return getattr(cloud.dynamodb, name)

        def transact_write_items(self, **_: Any) -> None:
            raise conflict

    racing = RidesStore(ConflictingClient(), cloud.rides_table, cloud.keys_table)
    with pytest.raises(IdempotencyConflict, match="in progress"):
        racing.add_once(Ride.from_request(request), claim, CORRELATION_ID)
    assert cloud.rides() == []
    # Once the winner has committed, the same race resolves to the winner's ride.
    winner = store.add_once(Ride.from_request(request), claim, CORRELATION_ID)
    assert racing.add_once(Ride.from_request(request), claim, CORRELATION_ID).ride == winner.ride


def test_an_id_collision_is_not_mistaken_for_a_retry(cloud) -> None:
    store = RidesStore(cloud.dynamodb, cloud.rides_table, cloud.keys_table)
    request = RideRequest.model_validate(SEED)
    ride = Ride.from_request(request)
    store.add(ride, CORRELATION_ID)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        store.add_once(ride, idempotency.claim_for(KEY, "client", request), CORRELATION_ID)
    assert cloud.key_records() == []


def test_without_a_key_a_ride_never_overwrites_another(cloud) -> None:
    store = RidesStore(cloud.dynamodb, cloud.rides_table)
    ride = Ride.from_request(RideRequest.model_validate(SEED))
    store.add(ride, CORRELATION_ID)
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        store.add(ride.model_copy(update={"fare": Decimal(1)}), CORRELATION_ID)
    assert cloud.rides()[0]["fare"] == {"N": "256.5"}


def test_fingerprints_ignore_formatting_but_not_values() -> None:
    same = RideRequest.model_validate({**SEED, "fare": Decimal("256.50"), "to": " Munich "})
    assert idempotency.fingerprint(same) == idempotency.fingerprint(
        RideRequest.model_validate(SEED)
    )
    other = RideRequest.model_validate({**SEED, "customer": "234235"})
    assert idempotency.fingerprint(other) != idempotency.fingerprint(same)


def test_minus_zero_is_the_same_ride_as_zero_for_a_retry(post_ride, cloud) -> None:
    first = post_ride({**SEED, "fare": 0}, Idempotency_Key=KEY)
    retry_text = json.dumps({**SEED, "fare": "FARE"}).replace('"FARE"', "-0.0")
    retry = post_ride(retry_text, Idempotency_Key=KEY)

    assert first["statusCode"] == retry["statusCode"] == 201
    assert body_of(retry) == body_of(first)
    assert body_of(first)["fare"] == 0
    assert len(cloud.rides()) == 1


def test_a_write_whose_answer_was_lost_succeeds_when_the_sdk_retries_it(cloud) -> None:
    # The SDK retries a call whose answer never came (timeout, reset, 5xx after the commit):
    # the retry meets the write it already made. That is this request's own ride, stored once.
    store = RidesStore(cloud.dynamodb, cloud.rides_table, cloud.keys_table)
    request = RideRequest.model_validate(SEED)
    ride = Ride.from_request(request)
    store.add(ride, CORRELATION_ID)
    store.add(ride, CORRELATION_ID)  # the retry: no error
    claim = idempotency.claim_for(KEY, "client", request)
    keyed = Ride.from_request(request)
    first = store.add_once(keyed, claim, CORRELATION_ID)
    retried = store.add_once(keyed, claim, CORRELATION_ID)
    assert (retried.ride, retried.replayed) == (first.ride, False)
    assert sorted(item["id"]["S"] for item in cloud.rides()) == sorted([ride.id, keyed.id])
    # ...but the same id with another request's key record is still a collision.
    other = idempotency.claim_for("another-key-0000000000000000", "client", request)
    store.add_once(Ride.from_request(request), other, CORRELATION_ID)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        store.add_once(keyed, other, CORRELATION_ID)
