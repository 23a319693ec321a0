"""Sending an invocation record to a destination: an asynchronous invocation's OnSuccess /
OnFailure (SQS, SNS, Lambda, EventBridge) or a stream mapping's OnFailure (SQS, SNS), as Lambda
does, through the public AWS APIs. A destination that cannot be reached is logged, never raised:
the invocation it describes is over either way."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from localcloud.lambda_runtime.aws_clients import ClientFactory

log = logging.getLogger(__name__)

# EventBridge destinations: the event Lambda puts on the bus for each outcome.
EVENT_SOURCE = "lambda"
DETAIL_TYPES = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}


def record_timestamp() -> str:
    """Now, as an invocation record's `timestamp` (ISO 8601, UTC, milliseconds)."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def send_to_destination(
    clients: ClientFactory,
    destination: str,
    record: dict[str, Any],
    *,
    succeeded: bool = False,
) -> None:
    body = json.dumps(record)
    try:
        parts = destination.split(":")
        service, region = parts[2], parts[3]  # a malformed ARN is logged below, never raised
        if service == "sqs":
            clients.send_to_queue(destination, body)
        elif service == "sns":
            clients.client("sns", region).publish(TopicArn=destination, Message=body)
        elif service == "lambda":
            clients.client("lambda", region).invoke(
                FunctionName=destination, InvocationType="Event", Payload=body.encode()
            )
        elif service == "events":
            function_arn = record.get("requestContext", {}).get("functionArn", "")
            clients.client("events", region).put_events(
                Entries=[
                    {
                        "EventBusName": destination,
                        "Source": EVENT_SOURCE,
                        "DetailType": DETAIL_TYPES[succeeded],
                        "Detail": body,
                        "Resources": [function_arn] if function_arn else [],
                    }
                ]
            )
        else:
            log.error("destination %s is not a kind Lambda sends to", destination)
    except Exception:
        log.exception("could not send the invocation record to %s", destination)
