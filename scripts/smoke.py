"""Smoke test of a deployed system (AWS or localcloud): submit rides, see who received them.

It reads the management stack's outputs and API key, sends the seed's request (or the rides
given), prints each response, then polls every consumer's table (bounded) and prints which
services received which ride. The expected routing is each subscription's own filter policy,
read from SNS, so the check stays true when a policy changes. Exit code 0 only when exactly the
services whose filter matches received each ride.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts import services as manifests
from scripts import stacks

# The seed's smoke-test request (the workshop's curl example).
SEED_RIDE = {
    "from": "Berlin",
    "to": "Munich",
    "duration": 480,
    "distance": 600,
    "customer": "234234",
    "fare": 256.5,
}
# After every expected delivery has arrived, wait this long for unexpected ones.
SETTLE_S = 2.0


@dataclass(frozen=True)
class Consumer:
    service: str
    table: str
    filter_policy: dict[str, Any] | None
    filter_scope: str
    # How its table is keyed by ride, from its manifest (services/<name>/service.toml).
    received: manifests.Received

    def should_receive(self, ride: Mapping[str, Any]) -> bool:
        # moto's matcher implements SNS's filter-policy semantics; it is already in the dev venv.
        from moto.sns.utils import FilterPolicyMatcher

        attributes = {
            name: {"Type": "Number", "Value": str(ride[name])} for name in ("fare", "distance")
        }
        matcher = FilterPolicyMatcher(self.filter_policy or {}, self.filter_scope)
        return matcher.matches(attributes, json.dumps(ride))


@dataclass
class Submission:
    request: dict[str, Any]
    status: int
    response: dict[str, Any]

    @property
    def ride_id(self) -> str | None:
        return self.response.get("id") if self.status in (200, 201) else None


def api_endpoint(outputs: Mapping[str, str], target: str) -> str:
    if target == "local":
        from localcloud import state

        running = state.read()
        if running is None:
            raise stacks.StackError("localcloud is not running: start it with `make local-up`")
        return running.api_url(outputs["ApiId"], "Prod") + "/submit-ride-completion"
    return outputs["SubmitRideCompletionEndpoint"]


def api_key(outputs: Mapping[str, str], env: Mapping[str, str]) -> str:
    key = stacks.client("apigateway", env).get_api_key(
        apiKey=outputs["ApiKeyId"], includeValue=True
    )
    return str(key["value"])


def submit(url: str, key: str, ride: Mapping[str, Any]) -> Submission:
    request = urllib.request.Request(  # noqa: S310 - the URL is the deployed API's
        url,
        data=json.dumps(ride).encode(),
        headers={"Content-Type": "application/json", "x-api-key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Submission(dict(ride), response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {"message": body.decode(errors="replace")}
        return Submission(dict(ride), error.code, parsed)


def consumers(prefix: str, env: Mapping[str, str]) -> list[Consumer]:
    """Each consumer's table and the filter policy of its subscription to the platform topic."""
    sns = stacks.client("sns", env)
    topic_arn = stacks.stack_outputs(f"{prefix}-platform", env)["TopicArn"]
    subscriptions = [
        subscription
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for subscription in page["Subscriptions"]
    ]
    found = []
    for manifest in manifests.discover():
        if not manifest.is_consumer or manifest.received is None:
            continue
        service = manifest.name
        outputs = stacks.service_outputs(f"{prefix}-{service}", env)
        matching = [s for s in subscriptions if s["Endpoint"] == outputs["QueueArn"]]
        if not matching:
            raise stacks.StackError(f"{prefix}-{service}'s queue is not subscribed to the topic")
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=matching[0]["SubscriptionArn"]
        )["Attributes"]
        policy = json.loads(attributes["FilterPolicy"]) if attributes.get("FilterPolicy") else None
        scope = attributes.get("FilterPolicyScope") or "MessageAttributes"
        table = outputs[manifest.received.table_output]
        found.append(Consumer(service, table, policy, scope, manifest.received))
    return found


def received(dynamodb: Any, consumer: Consumer, ride_id: str) -> bool:
    key = consumer.received.item_key(ride_id)
    return "Item" in dynamodb.get_item(TableName=consumer.table, Key=key, ConsistentRead=True)


def poll_deliveries(
    dynamodb: Any, services: Sequence[Consumer], rides: Sequence[Submission], timeout_s: float
) -> dict[tuple[str, str], bool]:
    """(ride id, service) -> received, polled until every expected delivery arrived (then a
    short settle for unexpected ones) or the timeout passed."""
    expected = {
        (ride.ride_id, consumer.service): consumer.should_receive(ride.response)
        for ride in rides
        if ride.ride_id
        for consumer in services
    }
    by_name = {consumer.service: consumer for consumer in services}
    seen: dict[tuple[str, str], bool] = dict.fromkeys(expected, False)
    deadline = time.monotonic() + timeout_s
    settle_until: float | None = None
    while True:
        for (ride_id, service), got in seen.items():
            if not got:
                seen[(ride_id, service)] = received(dynamodb, by_name[service], ride_id)
        if all(seen[k] for k, wanted in expected.items() if wanted):
            settle_until = settle_until or time.monotonic() + SETTLE_S
        now = time.monotonic()
        if now >= deadline or (settle_until is not None and now >= settle_until):
            return seen
        time.sleep(0.5)


def describe(ride: Mapping[str, Any]) -> str:
    route = f"{ride.get('from')} -> {ride.get('to')}"
    return f"{route}, {ride.get('distance')} km, fare {ride.get('fare')}"


def report(
    services: Sequence[Consumer], rides: Sequence[Submission], seen: Mapping[tuple[str, str], bool]
) -> bool:
    """Print the fan-out table; True when every service got exactly the rides it should."""
    names = [consumer.service for consumer in services]
    print(f"\n{'ride':<44}" + "".join(f"{name:>16}" for name in names))
    all_right = True
    for ride in rides:
        if not ride.ride_id:
            continue
        cells = []
        for consumer in services:
            got = seen[(ride.ride_id, consumer.service)]
            wanted = consumer.should_receive(ride.response)
            all_right &= got == wanted
            mark = "received" if got else "-"
            cells.append(f"{mark if got == wanted else mark + ' (!)':>16}")
        print(f"{describe(ride.response):<44}" + "".join(cells))
    print(
        "\nexpected: every service whose filter policy matches the ride, and no other"
        + ("" if all_right else "\n(!) marks a delivery that differs from the filter policy")
    )
    return all_right


def parse_ride(text: str) -> dict[str, Any]:
    try:
        ride = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--ride must be a JSON object: {error}") from error
    if not isinstance(ride, dict):
        raise argparse.ArgumentTypeError("--ride must be a JSON object")
    return ride


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("--ride", type=parse_ride, action="append", help="a ride (JSON object)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait")
    args = parser.parse_args(argv)
    try:
        env = stacks.target_environment(args.target)
        outputs = stacks.stack_outputs(f"{args.prefix}-management", env)
        url, key = api_endpoint(outputs, args.target), api_key(outputs, env)
        services = consumers(args.prefix, env)
        submissions = []
        for ride in args.ride or [SEED_RIDE]:
            submission = submit(url, key, ride)
            print(f"POST {url} -> {submission.status} {json.dumps(submission.response)}")
            submissions.append(submission)
        if not all(s.ride_id for s in submissions):
            print("error: the API did not accept every ride", file=sys.stderr)
            return 1
        seen = poll_deliveries(stacks.client("dynamodb", env), services, submissions, args.timeout)
    except stacks.StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if report(services, submissions, seen) else 1


if __name__ == "__main__":
    sys.exit(main())
