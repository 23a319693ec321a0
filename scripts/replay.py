"""`make replay SERVICE=x [SINCE=<ISO-8601>] [RIDE=<id>]`: backfill a consumer from the Rides table.

The stored rides submitted since SINCE (all of them without it), or the one RIDE, that the
service's *live* subscription filter policy matches are sent to the service's queue in the exact
SNS envelope its consumer reads, with the ride's own attributes (fare, distance, correlationId)
and `replay` = "true", so its lines say `replay: true` and it counts ReplayReceived. Consumers
are idempotent on the ride id: a ride the service already has is a duplicate and changes
nothing, so a replay can be repeated. Progress shows rides read, matched, sent and skipped by
the filter; the exit code is non-zero if anything could not be sent.

Public APIs only (CloudFormation outputs, DynamoDB Scan/GetItem, SNS subscription attributes,
SQS SendMessageBatch), so the same on AWS and localcloud. On AWS the caller needs
sqs:SendMessage on the queue and kms:GenerateDataKey on the platform key (the queue is
encrypted with it).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from wildrydes.events import replayed_notification

from scripts import stacks
from scripts.filter_policy import FilterPolicyError, explain
from scripts.progress import Progress
from scripts.rides import (
    CommandError,
    RideInputError,
    RideNotFound,
    StoredRide,
    consumer_service,
    live_filter_policy,
    load_ride,
    parse_ride_id,
    parse_time,
    scan_rides,
)

SQS_BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries


@dataclass
class ReplayCounts:
    read: int = 0
    matched: int = 0
    sent: int = 0
    skipped: int = 0  # the filter policy does not match: the topic would not have sent it
    failed: int = 0

    def summary(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"read {self.read}, matched {self.matched}, sent {self.sent}, "
            f"skipped by the filter {self.skipped}{failed}"
        )


@dataclass(frozen=True)
class Destination:
    """Where a service's rides go, and the rule that decides which."""

    service: str
    queue_url: str
    topic_arn: str
    filter_policy: str | None


def destination(service: str, prefix: str, env: Mapping[str, str]) -> Destination:
    outputs = stacks.service_outputs(f"{prefix}-{service}", env)
    topic_arn = stacks.stack_outputs(f"{prefix}-platform", env)["TopicArn"]
    sns = stacks.client("sns", env)
    policy = live_filter_policy(sns, topic_arn, outputs["QueueArn"], service)
    return Destination(service, outputs["QueueUrl"], topic_arn, policy)


def replay(
    rides: Iterable[StoredRide],
    to: Destination,
    sqs: Any,
    progress: Progress | None = None,
    now: datetime | None = None,
    counts: ReplayCounts | None = None,
) -> ReplayCounts:
    """Send the rides the filter matches to the queue, 10 per call; `counts` (updated as it
    goes) says how far it got if a call fails."""
    counts = ReplayCounts() if counts is None else counts
    batch: list[dict[str, str]] = []

    def send() -> None:
        answer = sqs.send_message_batch(QueueUrl=to.queue_url, Entries=batch)
        counts.sent += len(answer.get("Successful", []))
        for failure in answer.get("Failed", []):
            counts.failed += 1
            print(f"  not sent: {failure.get('Code')}: {failure.get('Message')}", file=sys.stderr)
        batch.clear()

    for stored in rides:
        counts.read += 1
        message = stored.message()
        try:
            matches = explain(to.filter_policy, message["MessageAttributes"]).matches
        except FilterPolicyError as error:
            raise CommandError(f"{to.service}'s filter policy is not understood: {error}") from None
        if not matches:
            counts.skipped += 1
        else:
            counts.matched += 1
            body = replayed_notification(
                message, to.topic_arn, str(uuid.uuid4()), now or datetime.now(UTC)
            )
            batch.append({"Id": str(len(batch)), "MessageBody": body})
            if len(batch) == SQS_BATCH_LIMIT:
                send()
        if progress is not None:
            progress.update(counts.summary())
    if batch:
        send()
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.replay", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("--service", default="")
    parser.add_argument("--since", default="")
    parser.add_argument("--ride", default="")
    args = parser.parse_args(argv)
    counts = ReplayCounts()
    try:
        service = consumer_service(args.service, "replay")
        if args.since.strip() and args.ride.strip():
            raise CommandError("give SINCE or RIDE, not both")
        since = parse_time("SINCE", args.since) if args.since.strip() else None
        ride_id = parse_ride_id(args.ride) if args.ride.strip() else None
        env = stacks.target_environment(args.target)
        to = destination(service, args.prefix, env)
        rides_table = stacks.service_outputs(f"{args.prefix}-management", env)["RidesTableName"]
        dynamodb = stacks.client("dynamodb", env)
        if ride_id is not None:
            rides: Iterable[StoredRide] = [load_ride(dynamodb, rides_table, ride_id)]
            what = f"ride {ride_id}"
        else:
            rides = scan_rides(dynamodb, rides_table, since)
            what = f"rides since {args.since.strip()}" if since else "every stored ride"
        print(f"replaying {what} from {rides_table} to {service} ({to.queue_url})")
        with Progress() as progress:
            replay(rides, to, stacks.client("sqs", env), progress, counts=counts)
    except (CommandError, RideInputError, RideNotFound, stacks.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:  # credentials, permissions (KMS), throttling
        print(f"error: {error}\nstopped after: {counts.summary()}", file=sys.stderr)
        return 1
    print(f"done: {counts.summary()}")
    return 1 if counts.failed else 0


if __name__ == "__main__":
    sys.exit(main())
