"""Records each object an S3 event names in the table, with when S3 saw it."""

import os
import time
from urllib.parse import unquote_plus

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        table.put_item(
            Item={
                "id": unquote_plus(record["s3"]["object"]["key"]),
                "eventName": record["eventName"],
                "bucket": record["s3"]["bucket"]["name"],
                "eventTime": record["eventTime"],
                "handled": str(time.time()),
            }
        )
