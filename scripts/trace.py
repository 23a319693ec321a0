"""`make trace RIDE=<id>`: the journey of one ride, as one table.

Submitted (time, correlation id) and stored (the Rides table), published (the SNS message id
and time, from the publisher's log lines), then for every consumer service: does its live
subscription's filter policy match the ride (and which rule decided), when its function first
saw the ride, and what became of it: processed, ignored as a duplicate, skipped, failing (N
attempts so far), in its DLQ, or still pending. Times are shown with their lag from submission.

Only public AWS APIs, so it reads AWS and localcloud alike: the stacks' outputs and resources
(CloudFormation), the ride (DynamoDB GetItem), the subscriptions and their filter policies
(SNS), the functions' log lines (CloudWatch Logs FilterLogEvents, by the ride id: every line
about a ride carries `ride_id`, design section 8) and, for a ride a service keeps failing, a
look into that service's DLQ (SQS ReceiveMessage with a zero visibility timeout: the messages
stay where they are; only their receive count in the DLQ goes up).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from wildrydes.consumer import FAILED_MESSAGE, INJECTED_MESSAGE, OUTCOME_MESSAGES, Outcome
from wildrydes.observability import NOT_PUBLISHED_MESSAGE, PUBLISHED_MESSAGE

from scripts import services as manifests
from scripts import stacks
from scripts.filter_policy import FilterPolicyError, explain
from scripts.rides import (
    CommandError,
    RideInputError,
    RideNotFound,
    StoredRide,
    live_filter_policy,
    load_ride,
    parse_ride_id,
)

# Log lines can be written a little before the ride's submittedAt (clocks) and shipped late.
LOG_LOOKBACK_MS = 60_000
DLQ_PEEK_CALLS = 10  # up to 10 receives of 10: a trace samples the DLQ, it does not drain it

# The messages the functions log, from where they log them.
PUBLISHED, NOT_PUBLISHED = PUBLISHED_MESSAGE, NOT_PUBLISHED_MESSAGE
PROCESSED = OUTCOME_MESSAGES[Outcome.PROCESSED]
DUPLICATE = OUTCOME_MESSAGES[Outcome.DUPLICATE]
SKIPPED = OUTCOME_MESSAGES[Outcome.SKIPPED]
FAILED, INJECTED = FAILED_MESSAGE, INJECTED_MESSAGE


class TraceError(Exception):
    """Bad input or a ride that cannot be traced; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class LogLine:
    at_ms: int
    fields: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.fields.get("message", ""))


@dataclass
class ServiceJourney:
    service: str
    rule: str  # the filter policy's verdict, in words
    matches: bool | None  # None: not deployed or not subscribed
    lines: list[LogLine] = field(default_factory=list)
    in_dlq: bool = False

    def count(self, *messages: str) -> int:
        return sum(1 for line in self.lines if line.message in messages)

    def first(self, *messages: str) -> LogLine | None:
        return next((line for line in self.lines if line.message in messages), None)

    @property
    def failures(self) -> int:
        return self.count(FAILED, INJECTED)

    def status(self) -> str:
        if self.matches is None:
            return self.rule
        processed = self.first(PROCESSED)
        failures = f" after {self.failures} failed attempt(s)" if self.failures else ""
        duplicates = self.count(DUPLICATE)
        again = f"; {duplicates} duplicate deliver(ies) ignored" if duplicates else ""
        if processed:
            return f"processed{failures}{again}"
        if duplicates:
            return f"ignored as a duplicate (processed before these logs){failures}"
        if self.first(SKIPPED):
            return "skipped: the service had nothing to do for it"
        if self.in_dlq:
            return f"in its DLQ after {self.failures} failed attempt(s)"
        if self.failures:
            return f"failing: {self.failures} attempt(s) so far, SQS retries it"
        if not self.matches:
            return "not delivered (filtered out)"
        return "pending: not reached yet"


def function_log_groups(cloudformation: Any, stack_name: str) -> list[str]:
    """The log groups of the stack's functions (each template declares them)."""
    groups = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            physical = resource.get("PhysicalResourceId") or ""
            if resource.get("ResourceType") == "AWS::Logs::LogGroup" and physical.startswith(
                "/aws/lambda/"
            ):
                groups.append(physical)
    return sorted(groups)


def ride_lines(logs: Any, groups: Sequence[str], ride_id: str, since_ms: int) -> list[LogLine]:
    """Every JSON log line of these groups whose `ride_id` is the ride, oldest first."""
    found = []
    for group in groups:
        try:
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, filterPattern=f'"{ride_id}"', startTime=since_ms
            )
            events = [event for page in pages for event in page.get("events", [])]
        except logs.exceptions.ResourceNotFoundException:
            continue  # a function that never ran has no log group yet (localcloud)
        for event in events:
            fields = _json_object(event.get("message", ""))
            if fields.get("ride_id") == ride_id:
                found.append(LogLine(int(event["timestamp"]), fields))
    return sorted(found, key=lambda line: line.at_ms)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def peek_dlq_for(sqs: Any, queue_url: str, ride_id: str) -> bool:
    """Whether the ride is among the DLQ's messages a few receives sample (SQS cannot list a
    queue: each receive returns some messages; long polling asks every server)."""
    seen: set[str] = set()
    for _ in range(DLQ_PEEK_CALLS):
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
        ).get("Messages", [])
        if any(ride_id in message.get("Body", "") for message in messages):
            return True
        fresh = {message["MessageId"] for message in messages} - seen
        if not fresh:
            return False
        seen |= fresh
    return False


def consumer_journey(
    service: str, prefix: str, ride: StoredRide, topic_arn: str, env: Any
) -> ServiceJourney:
    stack_name = f"{prefix}-{service}"
    try:
        outputs = stacks.service_outputs(stack_name, env)
    except stacks.StackError:
        return ServiceJourney(service, f"not deployed ({stack_name})", None)
    try:
        sns = stacks.client("sns", env)
        policy = live_filter_policy(sns, topic_arn, outputs["QueueArn"], service)
    except CommandError as error:
        return ServiceJourney(service, str(error), None)
    try:
        verdict = explain(policy, ride.message()["MessageAttributes"])
    except FilterPolicyError as error:
        return ServiceJourney(service, f"filter policy not understood: {error}", None)
    journey = ServiceJourney(service, verdict.reason, verdict.matches)
    groups = function_log_groups(stacks.client("cloudformation", env), stack_name)
    since_ms = int(ride.submitted_at.timestamp() * 1000) - LOG_LOOKBACK_MS
    journey.lines = ride_lines(stacks.client("logs", env), groups, ride.ride_id, since_ms)
    if journey.failures and not journey.first(PROCESSED, DUPLICATE, SKIPPED):
        journey.in_dlq = peek_dlq_for(
            stacks.client("sqs", env), outputs["DeadLetterQueueUrl"], ride.ride_id
        )
    return journey


def trace(ride_id: str, prefix: str, env: Any) -> Iterator[str]:
    """The report, line by line."""
    management = stacks.service_outputs(f"{prefix}-management", env)
    try:
        ride = load_ride(stacks.client("dynamodb", env), management["RidesTableName"], ride_id)
    except RideNotFound as missing:
        raise TraceError(str(missing), exit_code=1) from None
    submitted_ms = int(ride.submitted_at.timestamp() * 1000)
    groups = function_log_groups(stacks.client("cloudformation", env), f"{prefix}-management")
    lines = ride_lines(stacks.client("logs", env), groups, ride_id, submitted_ms - LOG_LOOKBACK_MS)

    def when(at_ms: int) -> str:
        return f"{_iso(at_ms)} (+{(at_ms - submitted_ms) / 1000:.1f} s)"

    item = ride.item
    yield (
        f"ride {ride_id}: {item.get('from')} -> {item.get('to')}, fare {item.get('fare')}, "
        f"distance {item.get('distance')}, customer {item.get('customer')}"
    )
    yield f"  submitted  {_iso(submitted_ms)}  correlation id {ride.correlation_id or '-'}"
    yield f"  stored     in {management['RidesTableName']}"
    published = [line for line in lines if line.message == PUBLISHED]
    failed = [line for line in lines if line.message == NOT_PUBLISHED]
    retries = f"  after {len(failed)} failed attempt(s)" if failed and published else ""
    if published:
        first = published[0]
        sns_id = first.fields.get("sns_message_id", "-")
        yield f"  published  {when(first.at_ms)}  SNS message id {sns_id}{retries}"
        if len(published) > 1:
            yield f"             published {len(published)} times (consumers ignore duplicates)"
    elif failed:
        yield f"  published  not yet: {len(failed)} failed attempt(s), the stream retries"
    else:
        yield "  published  pending: no publication logged yet"

    platform = stacks.stack_outputs(f"{prefix}-platform", env)
    rows = [("service", "filter policy", "reached", "outcome", "at")]
    for manifest in manifests.discover():
        if not manifest.is_consumer:
            continue
        journey = consumer_journey(manifest.name, prefix, ride, platform["TopicArn"], env)
        reached = journey.lines[0] if journey.lines else None
        done = journey.first(PROCESSED, DUPLICATE, SKIPPED)
        rows.append(
            (
                journey.service,
                journey.rule,
                when(reached.at_ms) if reached else "-",
                journey.status(),
                when(done.at_ms) if done else "-",
            )
        )
    yield ""
    yield from _table(rows)


def _iso(at_ms: int) -> str:
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _table(rows: Sequence[Sequence[str]]) -> Iterator[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for index, row in enumerate(rows):
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        if index == 0:
            yield "  ".join("-" * width for width in widths)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.trace", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("ride", help="the ride id (the 201 answer's id)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        try:
            ride_id = parse_ride_id(args.ride)
        except RideInputError as error:
            raise TraceError(str(error)) from None
        env = stacks.target_environment(args.target)
        for line in trace(ride_id, args.prefix, env):
            print(line, flush=True)
    except TraceError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except stacks.StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:  # credentials, permissions
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"\n(traced in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
