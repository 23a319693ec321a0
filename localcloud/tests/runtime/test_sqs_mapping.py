"""SQS event source mappings: batching, partial failures, redrive, filtering, concurrency."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localcloud.tests.runtime.support import Deployer, create_mapping, drain, read_records, wait_for

# Records each invocation's batch to RECORD_FILE; fails the messages whose body says "fail".
RECORDING_HANDLER = """
import json, os, time

def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("SLEEP", "0")))
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({"records": event["Records"], "pid": os.getpid(),
                              "start": started, "end": time.time()}) + "\\n")
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]
    if os.environ.get("RAISE") and failures:
        raise RuntimeError("batch has a bad message")
    return {"batchItemFailures": failures}
"""


def _bodies(record_file: Path) -> list[str]:
    return [r["body"] for batch in read_records(record_file) for r in batch["records"]]


def test_batch_arrives_in_lambdas_sqs_event_shape(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue(visibility_timeout=5)
    sqs = aws("sqs")
    for index in range(3):
        sqs.send_message(
            QueueUrl=queue["url"],
            MessageBody=json.dumps({"ride": index}),
            MessageAttributes={
                "fare": {"DataType": "Number", "StringValue": str(10 + index)},
                "kind": {"DataType": "String", "StringValue": "ride"},
            },
        )

    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
    )

    batches = wait_for(lambda: len(_bodies(record_file)) == 3 and read_records(record_file))
    assert len(batches) == 1, "three waiting messages fit one batch"
    record = batches[0]["records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue["arn"]
    assert record["awsRegion"] == "us-east-1"
    assert json.loads(record["body"]) == {"ride": 0}
    assert record["md5OfBody"]
    assert record["receiptHandle"]
    assert record["messageAttributes"]["fare"] == {
        "stringValue": "10",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    assert record["messageAttributes"]["kind"]["stringValue"] == "ride"
    for attribute in (
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ):
        assert attribute in record["attributes"]
    wait_for(lambda: _queue_is_empty(sqs, queue["url"]))


def test_partial_batch_failure_redelivers_only_the_failed_message(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue(visibility_timeout=1)
    sqs = aws("sqs")
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=body)

    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    wait_for(lambda: _bodies(record_file).count("fail") >= 3)
    bodies = _bodies(record_file)
    assert bodies.count("ok-1") == 1
    assert bodies.count("ok-2") == 1
    counts = [
        int(r["attributes"]["ApproximateReceiveCount"])
        for batch in read_records(record_file)
        for r in batch["records"]
        if r["body"] == "fail"
    ]
    assert counts[:3] == [1, 2, 3]


def test_function_error_keeps_the_whole_batch(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file), "RAISE": "1"})
    queue = deploy.queue(visibility_timeout=1)
    sqs = aws("sqs")
    for body in ("ok-1", "fail"):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=body)

    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    wait_for(lambda: _bodies(record_file).count("ok-1") >= 2)


def test_poison_message_goes_to_the_dlq_while_batch_mates_succeed(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue(visibility_timeout=1, dlq_max_receive=2)
    sqs = aws("sqs")
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=body)

    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    dead = drain(sqs, queue["dlq_url"], expected=1)
    assert [m["Body"] for m in dead] == ["fail"]
    bodies = _bodies(record_file)
    assert bodies.count("fail") == 2, "tried maxReceiveCount times, then redriven"
    assert bodies.count("ok-1") == 1
    assert bodies.count("ok-2") == 1
    assert _queue_is_empty(sqs, queue["url"])


def test_filter_criteria_deletes_non_matching_messages_without_invoking(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue()
    sqs = aws("sqs")
    for fare in (5, 75):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=json.dumps({"fare": fare}))

    pattern = {"body": {"fare": [{"numeric": [">=", 50]}]}}
    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )

    wait_for(lambda: _bodies(record_file))
    wait_for(lambda: _queue_is_empty(sqs, queue["url"]))
    assert [json.loads(b)["fare"] for b in _bodies(record_file)] == [75]


def test_disabled_mapping_stays_idle_until_enabled(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(RECORDING_HANDLER, env={"RECORD_FILE": str(record_file)})
    queue = deploy.queue()
    sqs = aws("sqs")
    sqs.send_message(QueueUrl=queue["url"], MessageBody="waiting")

    uuid = create_mapping(
        aws, mappings, EventSourceArn=queue["arn"], FunctionName=name, Enabled=False
    )
    time.sleep(2.5)  # more than two rescans of the mapping list
    assert not record_file.exists()
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue["url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"

    aws("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: _bodies(record_file) == ["waiting"])


def test_maximum_concurrency_caps_parallel_batches(
    deploy: Deployer, aws: Callable[[str], Any], mappings: list[str], tmp_path: Path
) -> None:
    record_file = tmp_path / "records.jsonl"
    name = deploy.function(
        RECORDING_HANDLER, env={"RECORD_FILE": str(record_file), "SLEEP": "0.4"}, timeout=5
    )
    queue = deploy.queue(visibility_timeout=10)
    sqs = aws("sqs")
    for index in range(8):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=f"m{index}")

    create_mapping(
        aws,
        mappings,
        EventSourceArn=queue["arn"],
        FunctionName=name,
        BatchSize=1,
        ScalingConfig={"MaximumConcurrency": 2},
    )

    batches = wait_for(lambda: len(read_records(record_file)) == 8 and read_records(record_file))
    peak = max(
        sum(1 for other in batches if other["start"] <= batch["start"] < other["end"])
        for batch in batches
    )
    assert peak <= 2
    assert sorted(_bodies(record_file)) == [f"m{i}" for i in range(8)]


def _queue_is_empty(sqs: Any, url: str) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
