"""The Rides table (and the Idempotency-Key records beside it).

A ride is written exactly once: a put conditioned on the id not existing. With an
Idempotency-Key the ride and the key record go in one transaction, so either both exist or
neither does, and a retry can never add a second ride (nor a second stream INSERT).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from wildrydes.observability import CORRELATION_ATTRIBUTE
from wildrydes.ride import Ride

from management.idempotency import RETENTION_SECONDS, IdempotencyClaim

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class IdempotencyConflict(Exception):
    """The key was used for another ride request, or by a request still racing this one."""


@dataclass(frozen=True)
class StoredRide:
    ride: Ride
    replayed: bool  # True when an earlier request with the same key stored it


def to_attributes(document: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in document.items()}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class RidesStore:
    def __init__(self, client: Any, rides_table: str, keys_table: str | None = None) -> None:
        self._client = client
        self._rides_table = rides_table
        self._keys_table = keys_table

    def add(self, ride: Ride, correlation_id: str) -> None:
        """Store a new ride; fails (ConditionalCheckFailed) rather than overwrite one."""
        put = self._ride_put(ride, correlation_id)
        try:
            self._client.put_item(**put)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            # The SDK retries a write whose answer was lost (a timeout, a reset, a 5xx after
            # the commit); its retry then meets our own item. That is a success, not a clash.
            if code != "ConditionalCheckFailedException" or not self._holds(put["Item"]):
                raise

    def add_once(
        self,
        ride: Ride,
        claim: IdempotencyClaim,
        correlation_id: str,
        now: float | None = None,
    ) -> StoredRide:
        """Store the ride unless the key already stored one: then return that ride, or raise
        IdempotencyConflict if the key was used for a different request."""
        now = time.time() if now is None else now
        key_put = {
            "TableName": self._keys_table,
            "Item": to_attributes(
                {
                    "key": claim.key,
                    "fingerprint": claim.fingerprint,
                    "rideId": ride.id,
                    "ride": ride.to_item(),
                    "expiresAt": int(now) + RETENTION_SECONDS,
                }
            ),
            # TTL deletes expired records lazily (within days): an expired key is free again.
            "ConditionExpression": "attribute_not_exists(#key) OR expiresAt < :now",
            "ExpressionAttributeNames": {"#key": "key"},
            "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
        }
        try:
            self._client.transact_write_items(
                TransactItems=[{"Put": self._ride_put(ride, correlation_id)}, {"Put": key_put}]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            stored = self._ride_for_existing_key(ride, claim, error, now)
            # `ride` itself when this very transaction had committed (an SDK retry after a
            # lost answer): a new ride, not a replay of an earlier request.
            return StoredRide(stored, replayed=stored.id != ride.id)
        return StoredRide(ride, replayed=False)

    def get(self, ride_id: str) -> Ride | None:
        # Consistent: a client that just got its 201 must be able to read the ride back.
        item = self._client.get_item(
            TableName=self._rides_table, Key={"id": {"S": ride_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else Ride.model_validate(from_attributes(item))

    def _holds(self, item: dict[str, Any]) -> bool:
        """The Rides table holds exactly this item (same ride, same correlation id)."""
        stored = self._client.get_item(
            TableName=self._rides_table, Key={"id": item["id"]}, ConsistentRead=True
        ).get("Item")
        return stored is not None and from_attributes(stored) == from_attributes(item)

    def _ride_put(self, ride: Ride, correlation_id: str) -> dict[str, Any]:
        # The correlation id sits beside the ride, not in it: the stream carries it to the
        # publisher, while the API's answers and the SNS body keep the ride contract's shape.
        item = {**ride.to_item(), CORRELATION_ATTRIBUTE: correlation_id}
        return {
            "TableName": self._rides_table,
            "Item": to_attributes(item),
            "ConditionExpression": "attribute_not_exists(id)",
        }

    def _ride_for_existing_key(
        self, ride: Ride, claim: IdempotencyClaim, cancelled: ClientError, now: float
    ) -> Ride:
        reasons = cancelled.response.get("CancellationReasons", [])
        codes = [reason.get("Code") for reason in reasons]
        record = self._client.get_item(
            TableName=self._keys_table, Key={"key": {"S": claim.key}}, ConsistentRead=True
        ).get("Item")
        if codes[:1] == ["ConditionalCheckFailed"]:
            # This ride's id is taken. If the key's record names this ride with this request's
            # fingerprint, it is our own transaction, committed before its answer was lost and
            # retried by the SDK. Otherwise a fresh uuid4 collided: not a client's doing; let
            # it surface as a 500.
            if record is not None:
                mine = from_attributes(record)
                if (mine["rideId"], mine["fingerprint"]) == (ride.id, claim.fingerprint):
                    return ride
            raise cancelled
        if record is None or int(record["expiresAt"]["N"]) < now:
            # Cancelled by a concurrent transaction on the same key that has not committed.
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is in progress; retry it"
            ) from cancelled
        stored = from_attributes(record)
        if stored["fingerprint"] != claim.fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different ride"
            ) from cancelled
        return Ride.model_validate(stored["ride"])
