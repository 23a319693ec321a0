"""The fault mix of the suite: about one call in five of each faulted operation fails, the way
AWS fails it, as microburst rules for localcloud's fault proxy.

Each operation's share is split over faults that exercise different paths:
- errors the SDK retries by itself (throttling, 5xx, a reset connection, a 504 after a hold):
  the SDK's own backoff runs (Lambda's default retry mode, `legacy`: 10 attempts for DynamoDB,
  5 for the others; localcloud's pollers: `standard`, 3 attempts);
- errors it does not retry, which reach our code: DynamoDB `RequestLimitExceeded` (legacy mode
  does not retry it) and `TransactionCanceledException` for a `TransactionConflict` on the
  accounting transaction (concurrent bookings of one customer's totals); SNS `KMSThrottling`
  (the topic is KMS-encrypted: that is how KMS throttling reaches a publisher). A consumer then
  reports the record in `batchItemFailures` and SQS redelivers it after the visibility timeout;
  the publisher reports it and the stream retries with bisect; the API answers 5xx and the
  client retries with its Idempotency-Key;
- answers lost after the call took effect (`response.abort_frac`): the SDK retries a write
  that committed (the consumer's conditional write then says duplicate), a publish that went
  out (consumers receive the ride twice), a receive whose messages are now in flight (they come
  back after the visibility timeout), a delete that happened.

SNS faults fire on a count rather than a draw: the publisher batches, so a run makes only a
few dozen PublishBatch calls, and each fault should happen in every run.

KMS: the rule is there, but no call of ours reaches KMS in localcloud (the handlers never call
it, and moto's SNS and SQS do not encrypt), so it counts 0 calls; the SNS `KMSThrottling` above
is how KMS throttling reaches this system on AWS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DYNAMODB_WRITES = ("PutItem", "TransactWriteItems", "UpdateItem")
SNS_PUBLISHES = ("Publish", "PublishBatch")
SQS_POLLER_CALLS = ("ReceiveMessage", "DeleteMessage", "DeleteMessageBatch")
KMS_CALLS = ("Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext")
# Forward the call, send half the answer, drop the connection: the call took effect.
LOST_ANSWER = {"response": {"abort_frac": 0.5}}


@dataclass(frozen=True)
class Fault:
    share: float  # of the operation's calls
    effect: dict[str, Any]  # microburst's effect keys: error, reset, timeout_ms, response


def error(code: str, message: str, status: int | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if status is not None:
        body["status"] = status
    if fields:
        body["fields"] = fields
    return {"error": body}


DYNAMODB_FAULTS = (
    Fault(
        0.06,
        error(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
            status=400,
        ),
    ),
    Fault(
        0.03,
        error(
            "ThrottlingException",
            "Throughput exceeds the current capacity of your table or index. DynamoDB is "
            "automatically scaling your table or index so please try again shortly.",
            status=400,
        ),
    ),
    Fault(0.03, error("InternalServerError", "Internal server error", status=500)),
    Fault(
        0.03,
        error(
            "RequestLimitExceeded",
            "Throughput exceeds the current throughput limit for your account. Please contact "
            "AWS Support at https://aws.amazon.com/support request a limit increase",
            status=400,  # as DynamoDB sends it; microburst's own default for it is 503
        ),
    ),
    Fault(0.02, {"reset": True}),
    Fault(0.03, LOST_ANSWER),
)
# Concurrent bookings of one customer conflict on its totals item; DynamoDB cancels one.
TRANSACTION_CONFLICT = Fault(
    0.03,
    error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, TransactionConflict]",
        status=400,
        CancellationReasons=[
            {"Code": "None"},
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
        ],
    ),
)
SNS_FAULTS = (
    Fault(
        0.05,
        error(
            "KMSThrottling",
            "Request was denied due to request throttling. (Service: AWSKMS; Status Code: "
            "400; Error Code: ThrottlingException)",
            status=400,
        ),
    ),
    Fault(0.06, error("Throttled", "Rate exceeded", status=429)),
    Fault(0.04, error("InternalError", "Internal Error", status=500)),
    Fault(0.05, LOST_ANSWER),
)
# SQS codes by status and socket error only: see test_proxy's microburst SQS gap.
SQS_FAULTS = (
    Fault(0.05, error("ServiceUnavailable", "Service Unavailable", status=503)),
    Fault(0.04, error("InternalFailure", "We encountered an internal error.", status=500)),
    Fault(0.03, {"timeout_ms": 1500}),  # held, then 504 RequestTimeout, as a gateway would
    Fault(0.03, {"reset": True}),
    Fault(0.05, LOST_ANSWER),
)
KMS_FAULTS = (Fault(0.20, error("ThrottlingException", "Rate exceeded", status=400)),)


def rules(
    service: str,
    operations: Sequence[str],
    faults: Sequence[Fault],
    body: str | None = None,
    *,
    counted: bool = False,
) -> list[dict[str, Any]]:
    """microburst rules giving each fault its share of the operations' calls.

    The proxy tries rules in order and the first that fires wins, each drawing only when the
    ones before did not fire: a fault's probability is its share of what is left. `counted`
    fires on a count instead of a draw (microburst's `sequence`: fail one call, pass the next
    n-1), so an operation called only a few dozen times in a run (the publisher's batched
    PublishBatch) meets every one of its faults in every run."""
    result = []
    for operation in operations:
        left = 1.0
        for fault in faults:
            share_of_left = fault.share / left
            rule: dict[str, Any] = {"service": service, "operation": operation, **fault.effect}
            if counted:
                rule["sequence"] = {"fail": 1, "pass": round(1 / share_of_left) - 1}
            else:
                rule["probability"] = round(share_of_left, 6)
            if body is not None:
                rule["body"] = body
            result.append(rule)
            left -= fault.share
    return result


def writes_to(table: str) -> str:
    """A JMESPath `body` matcher: DynamoDB writes to `table` (single-item or transaction)."""
    # `|| \`[]\``: contains() of null is an error, and a failing expression fails the call.
    return f"TableName == '{table}' || contains(TransactItems[].*.TableName[] || `[]`, '{table}')"


def one_in_five(accounting_table: str) -> list[dict[str, Any]]:
    """The whole mix: DynamoDB writes, SNS publishes, the SQS pollers' calls, KMS."""
    return [
        *rules(
            "dynamodb", ["TransactWriteItems"], [TRANSACTION_CONFLICT], writes_to(accounting_table)
        ),
        *rules("dynamodb", DYNAMODB_WRITES, DYNAMODB_FAULTS),
        *rules("sns", SNS_PUBLISHES, SNS_FAULTS, counted=True),
        *rules("sqs", SQS_POLLER_CALLS, SQS_FAULTS),
        *rules("kms", KMS_CALLS, KMS_FAULTS),
    ]
