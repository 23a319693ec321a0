"""Records each ride of a Kinesis batch in the table, with when Kinesis received it."""

import base64
import json
import os
import time

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        ride = json.loads(base64.b64decode(record["kinesis"]["data"]))
        table.put_item(
            Item={
                "id": ride["id"],
                "sequenceNumber": record["kinesis"]["sequenceNumber"],
                "eventSource": record["eventSource"],
                "arrived": str(record["kinesis"]["approximateArrivalTimestamp"]),
                "handled": str(time.time()),
            }
        )
    return {"batchItemFailures": []}
