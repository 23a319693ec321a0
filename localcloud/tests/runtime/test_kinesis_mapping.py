"""Kinesis event source mappings, on the same stream poller as DynamoDB Streams: Lambda's record
shape, filtering on the data's JSON fields, partial batch responses, and the on-failure
destination with its KinesisBatchInfo."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localcloud.tests.runtime.support import (
    Deployer,
    create_mapping,
    drain,
    read_records,
    succeeded_ids,
    unique,
    wait_for,
)

# Records every invocation; raises when a record's data says "poison", and reports the record
# named by FAIL_ONCE as a batch item failure the first time it is seen.
KINESIS_HANDLER = """
import base64, json, os

def handler(event, context):
    rides = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"]]
    poisoned = any(ride.get("poison") for ride in rides)
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({"ids": [r["id"] for r in rides], "records": event["Records"],
                              "ok": not poisoned}) + "\\n")
    if poisoned:
        raise RuntimeError("poison in batch")
    marker = os.environ.get("FAIL_ONCE_MARKER")
    for ride, record in zip(rides, event["Records"]):
        if ride["id"] == os.environ.get("FAIL_ONCE") and not os.path.exists(marker):
            open(marker, "w").close()
            return {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
    return {"batchItemFailures": []}
"""


@pytest.fixture
def stream(aws: Callable[[str], Any]) -> dict[str, str]:
    name = unique("rides")
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return {"name": name, "arn": arn}


def _put(aws: Callable[[str], Any], stream: dict[str, str], ride_id: str, **extra: Any) -> str:
    data = json.dumps({"id": ride_id, "fare": 12.5, **extra}).encode()
    answer = aws("kinesis").put_record(StreamName=stream["name"], Data=data, PartitionKey=ride_id)
    return answer["SequenceNumber"]


def test_records_arrive_in_lambdas_kinesis_shape_filtered_on_their_data(
    deploy: Deployer,
    aws: Callable[[str], Any],
    mappings: list[str],
    stream: dict[str, str],
    tmp_path: Path,
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(KINESIS_HANDLER, env={"RECORD_FILE": str(record_file)})
    _put(aws, stream, "cheap", fare=3)  # the filter drops it: never invoked
    expensive = _put(aws, stream, "expensive", fare=75)
    create_mapping(
        aws,
        mappings,
        EventSourceArn=stream["arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={
            "Filters": [{"Pattern": json.dumps({"data": {"fare": [{"numeric": [">=", 50]}]}})}]
        },
    )

    wait_for(lambda: "expensive" in succeeded_ids(record_file))
    [record] = [r for call in read_records(record_file) for r in call["records"]]
    assert record["eventSource"] == "aws:kinesis"
    assert record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == stream["arn"]
    assert record["eventID"] == f"shardId-000000000000:{expensive}"
    assert record["invokeIdentityArn"] == deploy.role_arn
    assert record["kinesis"]["partitionKey"] == "expensive"
    assert record["kinesis"]["sequenceNumber"] == expensive
    assert json.loads(base64.b64decode(record["kinesis"]["data"]))["fare"] == 75
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)


def test_a_reported_failure_is_retried_from_that_record_in_order(
    deploy: Deployer,
    aws: Callable[[str], Any],
    mappings: list[str],
    stream: dict[str, str],
    tmp_path: Path,
) -> None:
    record_file = tmp_path / "calls.jsonl"
    env = {
        "RECORD_FILE": str(record_file),
        "FAIL_ONCE": "r2",
        "FAIL_ONCE_MARKER": str(tmp_path / "failed-once"),
    }
    name = deploy.function(KINESIS_HANDLER, env=env)
    for ride_id in ("r1", "r2", "r3"):
        _put(aws, stream, ride_id)
    create_mapping(
        aws,
        mappings,
        EventSourceArn=stream["arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    wait_for(lambda: len(read_records(record_file)) >= 2)
    calls = [call["ids"] for call in read_records(record_file)]
    # The first batch reported r2: r1 is checkpointed, the retry starts at r2.
    assert calls[:2] == [["r1", "r2", "r3"], ["r2", "r3"]]


def test_a_batch_given_up_goes_to_the_on_failure_queue_with_its_kinesis_batch_info(
    deploy: Deployer,
    aws: Callable[[str], Any],
    mappings: list[str],
    stream: dict[str, str],
    tmp_path: Path,
) -> None:
    record_file = tmp_path / "calls.jsonl"
    name = deploy.function(KINESIS_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue()
    first = _put(aws, stream, "p1", poison=True)
    _put(aws, stream, "ok-after")
    create_mapping(
        aws,
        mappings,
        EventSourceArn=stream["arn"],
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue["arn"]}},
    )

    [message] = drain(aws("sqs"), queue["url"], expected=1)
    failure = json.loads(message["Body"])
    info = failure["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000"
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == first
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream["arn"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    wait_for(lambda: "ok-after" in succeeded_ids(record_file))
