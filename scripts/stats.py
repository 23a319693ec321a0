"""`make stats [SINCE=1h]`: per service, what its functions counted in the window, and its DLQs.

The counts are the functions' own metrics (wildrydes.observability.MetricName, dimension
`service`, the platform's namespace), summed with CloudWatch GetMetricStatistics over the
window; the DLQ depths are the queues' ApproximateNumberOfMessages now. Public APIs only, so
the same on AWS and on localcloud (which turns the functions' EMF lines into metrics).
SINCE is a duration (90s, 30m, 1h, 2d; at most 15 days, CloudWatch's 1-minute retention) or an
ISO-8601 UTC time.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from wildrydes.observability import (
    CONSUMER_METRICS,
    MANAGEMENT_METRICS,
    METRIC_DIMENSION,
    MetricName,
)

from scripts import services as manifests
from scripts import stacks

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_WINDOW = timedelta(days=15)  # metrics of 60 s periods are kept 15 days


class StatsError(Exception):
    """Bad input; printed without a traceback."""


def parse_since(text: str, now: datetime) -> datetime:
    value = text.strip()
    match = DURATION.fullmatch(value)
    if match:
        try:
            window = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            raise StatsError(f"SINCE='{text}' is more than 15 days ago") from None
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise StatsError(
                f"SINCE='{text}' is neither a duration (90s, 30m, 1h, 2d) nor an ISO-8601 time "
                "(2026-12-02T10:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            raise StatsError(f"SINCE='{text}' has no time zone: add Z for UTC")
        window = now - moment
    if window <= timedelta(0):
        raise StatsError(f"SINCE='{text}' is not in the past")
    if window > MAX_WINDOW:
        raise StatsError(f"SINCE='{text}' is more than 15 days ago: CloudWatch has no such data")
    return now - window


def metric_total(
    cloudwatch: Any, namespace: str, name: MetricName, service: str, start: datetime, end: datetime
) -> int:
    # One period over the whole window (a multiple of 60 s, as CloudWatch requires).
    period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    answer = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=name.value,
        Dimensions=[{"Name": METRIC_DIMENSION, "Value": service}],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=["Sum"],
    )
    return round(sum(point["Sum"] for point in answer["Datapoints"]))


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def stats(prefix: str, since: datetime, now: datetime, env: Mapping[str, str]) -> Iterator[str]:
    namespace = stacks.stack_outputs(f"{prefix}-platform", env)["MetricsNamespace"]
    cloudwatch, sqs = stacks.client("cloudwatch", env), stacks.client("sqs", env)
    yield f"{namespace}, {_iso(since)} to {_iso(now)}"
    for manifest in manifests.discover():
        stack_name = f"{prefix}-{manifest.name}"
        try:
            outputs = stacks.service_outputs(stack_name, env)
        except stacks.StackError:
            yield f"\n{manifest.name}: not deployed ({stack_name})"
            continue
        names = CONSUMER_METRICS if manifest.is_consumer else MANAGEMENT_METRICS
        counts = {
            name: metric_total(cloudwatch, namespace, name, manifest.name, since, now)
            for name in names
        }
        queues = (
            {"DLQ": "DeadLetterQueueUrl", "delivery DLQ": "DeliveryDeadLetterQueueUrl"}
            if manifest.is_consumer
            else {"publisher failure queue": "PublisherFailureQueueUrl"}
        )
        depths = {label: queue_depth(sqs, outputs[key]) for label, key in queues.items()}
        yield f"\n{manifest.name}"
        width = max(len(name.value) for name in names)
        for name, total in counts.items():
            yield f"  {name.value.ljust(width)}  {total}"
        for label, depth in depths.items():
            yield f"  {(label + ' now').ljust(width)}  {depth}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.stats", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("--since", default="1h")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        since = parse_since(args.since, now)
        env = stacks.target_environment(args.target)
        for line in stats(args.prefix, since, now, env):
            print(line, flush=True)
    except (StatsError, stacks.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:  # credentials, permissions
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
