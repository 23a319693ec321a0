"""DynamoDB Streams event source mappings: filtering, bisect, retries, on-failure destination."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localcloud.event_sources import streams as stream_poller
from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.lambda_runtime.invoker import InvocationResult
from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import (
    Deployer,
    create_mapping,
    drain,
    read_records,
    succeeded_ids,
    unique,
    wait_for,
)

# Records every invocation; fails (raises) when a record carries poison, or reports the first
# record listed in FAIL_ONCE as a batch item failure the first time it is seen.
STREAM_HANDLER = """
import json, os

def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
    poisoned = any("poison" in r["dynamodb"].get("NewImage", {}) for r in event["Records"])
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({"ids": ids, "records": event["Records"], "ok": not poisoned}) + "\\n")
    if poisoned:
        raise RuntimeError("poison in batch")
    marker = os.environ.get("FAIL_ONCE_MARKER")
    for record in event["Records"]:
        is_target = record["dynamodb"]["Keys"]["id"]["S"] == os.environ.get("FAIL_ONCE")
        if is_target and not os.path.exists(marker):
            open(marker, "w").close()
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
"""


@pytest.fixture
def table(aws: Callable[[str], Any]) -> dict[str, str]:
    name = unique("rides")
    description = aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    return {"name": name, "stream_arn": description["LatestStreamArn"]}


def _put(aws: Callable[[str], Any], table: str, ride_id: str, **extra: str) -> None:
    item = {"id": {"S": ride_id}, "fare": {"N": "12.5"}}
    item.update({key: {"S": value} for key, value in extra.items()})
    aws("dynamodb").put_item(TableName=table, Item=item)


def test_insert_only_filter_and_lambda_record_shape(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], table: dict, tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(STREAM_HANDLER, env={"RECORD_FILE": str(record_file)})
    _put(aws, table["name"], "r1")
    aws("dynamodb").update_item(
        TableName=table["name"],
        Key={"id": {"S": "r1"}},
        UpdateExpression="SET fare = :f",
        ExpressionAttributeValues={":f": {"N": "20"}},
    )
    aws("dynamodb").delete_item(TableName=table["name"], Key={"id": {"S": "r1"}})
    _put(aws, table["name"], "r2")

    create_mapping(
        aws,
        mappings,
        EventSourceArn=table["stream_arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
    )

    wait_for(lambda: "r2" in succeeded_ids(record_file))
    calls = read_records(record_file)
    records = [r for call in calls for r in call["records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == table["stream_arn"]
    assert first["awsRegion"] == "us-east-1"
    assert first["eventID"]
    assert first["eventVersion"]
    dynamodb = first["dynamodb"]
    assert dynamodb["Keys"] == {"id": {"S": "r1"}}
    assert dynamodb["NewImage"]["fare"] == {"N": "12.5"}
    assert dynamodb["StreamViewType"] == "NEW_IMAGE"
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
    assert dynamodb["SequenceNumber"]
    assert dynamodb["SizeBytes"] > 0


def test_bisect_isolates_the_poison_record_and_reports_it_on_failure(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], table: dict, tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(STREAM_HANDLER, env={"RECORD_FILE": str(record_file)})
    failures = deploy.queue()
    for ride_id in ("a", "b"):
        _put(aws, table["name"], ride_id)
    _put(aws, table["name"], "p", poison="yes")
    _put(aws, table["name"], "d")

    create_mapping(
        aws,
        mappings,
        EventSourceArn=table["stream_arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": failures["arn"]}},
    )

    [message] = drain(aws("sqs"), failures["url"], expected=1)
    wait_for(lambda: "d" in succeeded_ids(record_file))
    assert sorted(succeeded_ids(record_file)) == ["a", "b", "d"]
    record = json.loads(message["Body"])
    batch = record["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 1
    assert batch["streamArn"] == table["stream_arn"]
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"]
    poison_sequence = next(
        r["dynamodb"]["SequenceNumber"]
        for call in read_records(record_file)
        for r in call["records"]
        if r["dynamodb"]["Keys"]["id"]["S"] == "p"
    )
    assert batch["startSequenceNumber"] == poison_sequence
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_retry_limit_sends_the_failed_batch_to_the_on_failure_queue_and_moves_on(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], table: dict, tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(STREAM_HANDLER, env={"RECORD_FILE": str(record_file)})
    failures = deploy.queue()
    _put(aws, table["name"], "x1", poison="yes")
    _put(aws, table["name"], "x2")

    create_mapping(
        aws,
        mappings,
        EventSourceArn=table["stream_arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures["arn"]}},
    )

    [message] = drain(aws("sqs"), failures["url"], expected=1)
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}")
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    batch = record["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 2
    assert batch["shardId"]
    assert int(batch["startSequenceNumber"]) < int(batch["endSequenceNumber"])
    assert batch["approximateArrivalOfFirstRecord"].endswith("Z")
    assert batch["approximateArrivalOfLastRecord"].endswith("Z")
    calls = read_records(record_file)
    assert [call["ids"] for call in calls] == [["x1", "x2"], ["x1", "x2"]]

    _put(aws, table["name"], "after")  # the shard is no longer blocked
    wait_for(lambda: "after" in succeeded_ids(record_file))


def test_batch_item_failure_checkpoints_before_the_failed_record(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], table: dict, tmp_path: Path
) -> None:
    record_file = tmp_path / "calls.jsonl"
    env = {
        "RECORD_FILE": str(record_file),
        "FAIL_ONCE": "k3",
        "FAIL_ONCE_MARKER": str(tmp_path / "failed-once"),
    }
    name = deploy.function(STREAM_HANDLER, env=env)
    for index in range(1, 5):
        _put(aws, table["name"], f"k{index}")

    create_mapping(
        aws,
        mappings,
        EventSourceArn=table["stream_arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    wait_for(lambda: len(read_records(record_file)) >= 2)
    calls = [call["ids"] for call in read_records(record_file)]
    assert calls[:2] == [["k1", "k2", "k3", "k4"], ["k3", "k4"]]


def test_latest_starting_position_skips_existing_records(
    deploy: Deployer,
    aws: Callable[[str], Any],
    mappings: list[str],
    table: dict,
    tmp_path: Path,
    runtime: Runtime,
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(STREAM_HANDLER, env={"RECORD_FILE": str(record_file)})
    _put(aws, table["name"], "old")

    uuid = create_mapping(
        aws,
        mappings,
        EventSourceArn=table["stream_arn"],
        FunctionName=name,
        StartingPosition="LATEST",
    )
    assert runtime.mappings is not None
    wait_for(lambda: runtime.mappings.is_polling(uuid))
    _put(aws, table["name"], "new")

    wait_for(lambda: succeeded_ids(record_file))
    assert succeeded_ids(record_file) == ["new"]


# --- MaximumRecordAgeInSeconds (the poller on its own: ages are hard to stage end to end) -------

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/rides/stream/2024-01-01T00:00:00.000"
FAILURES_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"


class _FakeStreams:
    """GetRecords answers, one fetch after another."""

    def __init__(self, fetches: list[list[dict[str, Any]]]) -> None:
        self._fetches = fetches

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        records = self._fetches.pop(0) if self._fetches else []
        return {"Records": records, "NextShardIterator": ShardIterator}


class _FakeClients:
    def __init__(self, streams: _FakeStreams) -> None:
        self._streams = streams

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "dynamodbstreams"
        return self._streams


class _FakeInvoker:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        self.batches.append([r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]])
        return InvocationResult("req", b"null", None, "$LATEST")


def _raw_record(ride_id: str, sequence: int, age_s: float) -> dict[str, Any]:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s)
    return {
        "eventID": f"event-{sequence}",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"id": {"S": ride_id}},
            "SequenceNumber": str(sequence),
        },
    }


def test_records_older_than_the_maximum_age_are_given_up_once_and_the_shard_moves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = MappingConfig.from_api(
        {
            "UUID": "mapping-1",
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:publisher",
            "EventSourceArn": STREAM_ARN,
            "BatchSize": 10,
            "MaximumRecordAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": FAILURES_ARN}},
        }
    )
    streams = _FakeStreams(
        [
            [_raw_record("stale-1", 1, age_s=120), _raw_record("stale-2", 2, age_s=90)],
            [_raw_record("fresh", 3, age_s=0)],
        ]
    )
    invoker = _FakeInvoker()
    shard = stream_poller.ShardState("shard-1", iterator="iterator-1")
    poller = stream_poller.StreamPoller(
        config,
        _FakeClients(streams),
        invoker,
        {"shard-1": shard},
    )
    sent: list[tuple[str, dict[str, Any]]] = []

    def send(clients: Any, destination: str, record: dict[str, Any]) -> None:
        sent.append((destination, record))
        if len(sent) > 3:
            poller.stop()  # the same batch again and again: stop the flood, then fail below

    monkeypatch.setattr(stream_poller, "send_to_destination", send)

    poller._poll_shard(shard)

    assert len(sent) == 1
    destination, record = sent[0]
    assert destination == FAILURES_ARN
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    batch = record["DDBStreamBatchInfo"]
    assert (batch["startSequenceNumber"], batch["endSequenceNumber"]) == ("1", "2")
    assert batch["batchSize"] == 2
    # The expired records were never processed; the shard moved past them to the next read.
    assert invoker.batches == [["fresh"]]
    assert shard.buffer == []


# --- batching: what a batch holds and when it leaves (the poller on its own, with a clock) ------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _SlowInvoker(_FakeInvoker):
    """Each invocation takes `duration_s` on the clock, as a function that runs a while."""

    def __init__(self, clock: _Clock, duration_s: float) -> None:
        super().__init__()
        self._clock = clock
        self._duration_s = duration_s

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        self._clock.now += self._duration_s
        return super().invoke(function_arn, event)


def _records(first: int, count: int) -> list[dict[str, Any]]:
    return [_raw_record(f"ride-{n}", n, age_s=0) for n in range(first, first + count)]


def _polled_once(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[stream_poller.ShardState, stream_poller.StreamPoller, _SlowInvoker, _Clock]:
    """A mapping (batch size 50, 1 s window) polled once: 96 records were there to read, and
    32 more were written while its first batch ran (each invocation takes 0.7 s)."""
    clock = _Clock()
    monkeypatch.setattr(stream_poller, "time", clock)
    config = MappingConfig.from_api(
        {
            "UUID": "mapping-2",
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:publisher",
            "EventSourceArn": STREAM_ARN,
            "BatchSize": 50,
            "MaximumBatchingWindowInSeconds": 1,
        }
    )
    invoker = _SlowInvoker(clock, duration_s=0.7)
    shard = stream_poller.ShardState("shard-1", iterator="iterator-1")
    streams = _FakeStreams([_records(0, 96), _records(96, 32)])
    poller = stream_poller.StreamPoller(config, _FakeClients(streams), invoker, {"shard-1": shard})
    poller._next_shard_refresh = math.inf  # one known shard; no ListShards in these tests
    poller.poll_once()
    return shard, poller, invoker, clock


def test_records_written_while_a_batch_runs_fill_the_next_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shard, _, invoker, _ = _polled_once(monkeypatch)

    # The second batch is full: the 46 left over and 4 of the records read after the first
    # batch; the other 28 wait for their own window.
    assert [len(batch) for batch in invoker.batches] == [50, 50]
    assert invoker.batches[1][-1] == "ride-99"
    assert len(shard.buffer) == 28


def test_a_batch_that_does_not_fill_leaves_when_its_window_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN 28 records read just as the second batch started, 0.7 s ago
    shard, poller, invoker, clock = _polled_once(monkeypatch)
    read_at = clock.now - 0.7

    # WHEN polled again 0.2 s before their window (counted from that read) closes
    clock.now = read_at + 0.8
    wait = poller.poll_once()

    # THEN they still wait, and the next round comes when the window closes, not a poll later
    assert len(invoker.batches) == 2
    assert wait == pytest.approx(0.2)
    clock.now += wait
    poller.poll_once()
    assert [len(batch) for batch in invoker.batches] == [50, 50, 28]
    assert shard.buffer == []
    assert shard.read_at == []
