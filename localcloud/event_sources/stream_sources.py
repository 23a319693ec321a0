"""The two kinds of stream a Lambda mapping reads shard by shard: DynamoDB Streams and Kinesis.

The poller (`streams.StreamPoller`) owns Lambda's semantics (batching window, retries, bisect,
checkpointing, on-failure destination); a source owns only what differs between the services:
how shards and records are read, the record shape Lambda passes to the function, and the name
of the batch description in an on-failure record.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import logging
from typing import Any, Protocol

from localcloud.event_sources.event_filter import kinesis_filter_view
from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.lambda_runtime.aws_clients import ClientFactory

log = logging.getLogger(__name__)

_FETCH_LIMIT = 1000


class StreamSource(Protocol):
    batch_info_key: str  # the on-failure record's description of the batch

    def shard_ids(self) -> list[str]: ...

    def iterator(self, shard_id: str, position: str) -> str: ...

    def read(self, shard_id: str, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        """Lambda-shaped records from the iterator, and the next iterator (None: shard closed)."""
        ...

    @staticmethod
    def sequence_number(record: dict[str, Any]) -> str: ...

    @staticmethod
    def arrival_epoch(record: dict[str, Any]) -> float: ...

    @staticmethod
    def filter_view(record: dict[str, Any]) -> dict[str, Any]: ...


def source_for(config: MappingConfig, clients: ClientFactory) -> StreamSource:
    if config.service == "kinesis":
        return KinesisSource(config, clients)
    return DynamoDBStreamSource(config, clients)


def _iterator_type(position: str) -> str:
    return "LATEST" if position == "LATEST" else "TRIM_HORIZON"


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return calendar.timegm(value.utctimetuple()) + value.microsecond / 1_000_000
    return float(value)


class DynamoDBStreamSource:
    batch_info_key = "DDBStreamBatchInfo"

    def __init__(self, config: MappingConfig, clients: ClientFactory) -> None:
        self._config = config
        self._streams = clients.client("dynamodbstreams", config.region)

    def shard_ids(self) -> list[str]:
        description = self._streams.describe_stream(StreamArn=self._config.source_arn)
        return [shard["ShardId"] for shard in description["StreamDescription"].get("Shards", [])]

    def iterator(self, shard_id: str, position: str) -> str:
        return self._streams.get_shard_iterator(
            StreamArn=self._config.source_arn,
            ShardId=shard_id,
            ShardIteratorType=_iterator_type(position),
        )["ShardIterator"]

    def read(self, shard_id: str, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        response = self._streams.get_records(ShardIterator=iterator, Limit=_FETCH_LIMIT)
        records = [lambda_dynamodb_record(raw, self._config) for raw in response.get("Records", [])]
        return records, response.get("NextShardIterator")

    @staticmethod
    def sequence_number(record: dict[str, Any]) -> str:
        return record["dynamodb"]["SequenceNumber"]

    @staticmethod
    def arrival_epoch(record: dict[str, Any]) -> float:
        return float(record["dynamodb"]["ApproximateCreationDateTime"])

    @staticmethod
    def filter_view(record: dict[str, Any]) -> dict[str, Any]:
        return record  # DynamoDB filters match the record itself (`dynamodb`, `eventName`, ...)


class KinesisSource:
    batch_info_key = "KinesisBatchInfo"

    def __init__(self, config: MappingConfig, clients: ClientFactory) -> None:
        self._config = config
        self._kinesis = clients.client("kinesis", config.region)
        self._lambda = clients.client("lambda", config.region)
        self._invoke_identity: str | None = None

    def shard_ids(self) -> list[str]:
        shards = self._kinesis.list_shards(StreamARN=self._config.source_arn)["Shards"]
        return [shard["ShardId"] for shard in shards]

    def iterator(self, shard_id: str, position: str) -> str:
        if position == "AT_TIMESTAMP":
            log.warning(
                "%s: StartingPosition AT_TIMESTAMP is read from the shard's start locally",
                self._config.uuid,
            )
        return self._kinesis.get_shard_iterator(
            StreamARN=self._config.source_arn,
            ShardId=shard_id,
            ShardIteratorType=_iterator_type(position),
        )["ShardIterator"]

    def read(self, shard_id: str, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        response = self._kinesis.get_records(
            ShardIterator=iterator, Limit=_FETCH_LIMIT, StreamARN=self._config.source_arn
        )
        records = [self._lambda_record(raw, shard_id) for raw in response.get("Records", [])]
        return records, response.get("NextShardIterator")

    def _lambda_record(self, raw: dict[str, Any], shard_id: str) -> dict[str, Any]:
        """A GetRecords record (boto3 decodes Data to bytes) in the shape Lambda passes on."""
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": raw["SequenceNumber"],
                "data": base64.b64encode(raw["Data"]).decode(),
                "approximateArrivalTimestamp": _epoch(raw["ApproximateArrivalTimestamp"]),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{raw['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": self._role_arn(),
            "awsRegion": self._config.region,
            "eventSourceARN": self._config.source_arn,
        }

    def _role_arn(self) -> str:
        # The function's execution role, as Lambda fills invokeIdentityArn; read once.
        if self._invoke_identity is None:
            configuration = self._lambda.get_function_configuration(
                FunctionName=self._config.function_arn
            )
            self._invoke_identity = configuration.get("Role", "")
        return self._invoke_identity

    @staticmethod
    def sequence_number(record: dict[str, Any]) -> str:
        return record["kinesis"]["sequenceNumber"]

    @staticmethod
    def arrival_epoch(record: dict[str, Any]) -> float:
        return float(record["kinesis"]["approximateArrivalTimestamp"])

    @staticmethod
    def filter_view(record: dict[str, Any]) -> dict[str, Any]:
        return kinesis_filter_view(record)


def lambda_dynamodb_record(raw: dict[str, Any], config: MappingConfig) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record (as boto3 parses it) in Lambda's event shape."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        dynamodb["ApproximateCreationDateTime"] = calendar.timegm(created.utctimetuple())
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            dynamodb[image] = _json_safe(dynamodb[image])
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": config.region,
        "dynamodb": dynamodb,
        "eventSourceARN": config.source_arn,
    }


def _json_safe(value: Any) -> Any:
    # boto3 decodes B/BS attribute values to bytes; Lambda events carry them base64-encoded.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
