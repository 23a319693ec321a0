"""Scaffold a consumer service of the same shape as the others: `make new-service NAME=x
[FILTER='<json>']`.

Writes services/<name>/ (manifest, template nesting the shared inbox module with the filter
policy as literal YAML, samconfig, src/<package>/app.py with a RideConsumer that records each
ride once, tests running the shared consumer contract, a JSON SQS event fixture) and a row in
the README's services table. Everything is checked before anything is written: a bad NAME or
FILTER writes nothing. The filter policy is validated by SNS's own rules, through SNS's API
(`Subscribe` against moto's emulation of it, offline).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import string
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from scripts import services

REPO_ROOT = services.REPO_ROOT
SCAFFOLD = Path(__file__).resolve().parent / "scaffold" / "consumer"
# make new-service adds each new service's row just above this line of the README.
README_MARKER = "<!-- make new-service adds a row above this line -->"
# Names no consumer may take: those that are not services, and the producer's.
RESERVED = services.RESERVED_NAMES | {"management"}
# The test helpers the scaffold uses, importable as they are in the tests (the ride contract
# is, from scripts/__init__.py).
if str(REPO_ROOT / "shared" / "testing") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "shared" / "testing"))
NUMBER_LIMIT = Decimal(1_000_000_000)  # the ride contract's (and SNS numeric matching's) bound
SAMPLE_NUMBERS = (Decimal(0), Decimal(1), Decimal(20), Decimal(50), Decimal("256.5"), Decimal(600))


class ScaffoldError(Exception):
    """Bad NAME or FILTER; printed without a traceback, nothing written."""


@dataclass(frozen=True)
class Scaffold:
    name: str
    policy: dict[str, Any]  # {} means no filter: every ride
    sample_fare: Decimal
    sample_distance: Decimal

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def logical(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def summary(self) -> str:
        if not self.policy:
            return "every ride (no filter)"
        return f"rides matching {json.dumps(self.policy, separators=(',', ':'))}"

    def substitutions(self) -> dict[str, str]:
        summary = self.summary
        return {
            "name": self.name,
            "package": self.package,
            "logical": self.logical,
            "filter_summary": summary,
            # A JSON string is a valid TOML basic string (same escapes).
            "description": json.dumps(f"{summary[:1].upper()}{summary[1:]}: one record per ride."),
            "filter_block": filter_block(self.policy),
            "filter_json": repr(json.dumps(self.policy)),
            "sample_fare": str(self.sample_fare),
            "sample_distance": str(self.sample_distance),
        }


def check_name(name: str, services_dir: Path) -> str:
    if not services.NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(
            f"NAME='{name}' is not a service name: 2-21 characters, lowercase letters, digits "
            "and hyphens, starting with a letter (e.g. NAME=loyalty or NAME=fraud-check)"
        )
    if name in RESERVED:
        raise ScaffoldError(f"NAME='{name}' is reserved: {', '.join(sorted(RESERVED))} are taken")
    if (services_dir / name).exists():
        raise ScaffoldError(f"NAME='{name}': services/{name}/ already exists")
    package = name.replace("-", "_")
    # Lambda puts the code folder before the layers and the runtime's boto3, and the tests put
    # every service's src/ first: a package named like any importable module would replace it.
    if package in sys.stdlib_module_names or _importable(package):
        raise ScaffoldError(
            f"NAME='{name}': its Python package '{package}' would shadow a module of that name"
        )
    return name


def _importable(package: str) -> bool:
    """A module of that name exists: the toolchain's, the layer's (wildrydes, its pinned
    requirements) or one of this repository's top-level folders."""
    try:
        return (REPO_ROOT / package).exists() or importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return True


def parse_filter(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        policy = json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise ScaffoldError(f"FILTER is not JSON: {error}") from error
    if not isinstance(policy, dict):
        raise ScaffoldError("FILTER must be a JSON object (an SNS filter policy)")
    check_or_branches(policy)
    for operand in _numeric_operands(policy):
        number = Decimal(str(operand)) if isinstance(operand, int | float | Decimal) else None
        exponent = number.normalize().as_tuple().exponent if number is not None else 0
        if number is not None and isinstance(exponent, int) and exponent < -5:
            raise ScaffoldError(
                f"FILTER compares with {operand}: rides carry at most 5 decimal places, as SNS "
                "numeric matching does"
            )
    policy = json.loads(json.dumps(policy, default=_number))  # Decimals to int/float literals
    validate_with_sns(policy)
    return policy


def _number(value: Any) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {value!r}")


@contextmanager
def offline_topic_and_queue(
    subscription: dict[str, str] | None = None,
) -> Iterator[tuple[Any, Any, str, str]]:
    """(sns, sqs, topic ARN, queue URL) on moto's in-process emulation, the queue subscribed to
    the topic with the given subscription attributes: nothing leaves this machine."""
    import boto3
    from moto import mock_aws

    # moto needs some credentials to sign with; these reach no account.
    session = boto3.Session(
        aws_access_key_id="offline",
        aws_secret_access_key="offline",  # noqa: S106 - not a secret, moto only
        region_name="us-east-1",
    )
    with mock_aws():
        sns, sqs = session.client("sns"), session.client("sqs")
        topic = sns.create_topic(Name="wild-rydes-platform-RideCompletionTopic-1A2B3C4D5E6F")
        queue = sqs.create_queue(QueueName="wild-rydes-new-service-Inbox-Queue-7G8H9I0J")
        arn = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=topic["TopicArn"],
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes=subscription or {},
        )
        yield sns, sqs, topic["TopicArn"], queue["QueueUrl"]


def validate_with_sns(policy: dict[str, Any]) -> None:
    """Subscribe a queue with the policy through the SNS API (moto's emulation, offline):
    whatever SNS refuses — an unknown operator, a non-numeric bound, too many combinations —
    is refused here with SNS's message."""
    from botocore.exceptions import ClientError

    names = attribute_names(policy)
    published = set(published_attributes())
    unknown = sorted(names - published)
    if unknown:
        raise ScaffoldError(
            f"FILTER names {', '.join(unknown)}, which no ride carries: the topic's messages have "
            f"the attributes {', '.join(sorted(published))}"
        )
    subscription = {"FilterPolicyScope": "MessageAttributes", "FilterPolicy": json.dumps(policy)}
    try:
        with offline_topic_and_queue(subscription):
            pass
    except ClientError as error:
        raise ScaffoldError(
            f"FILTER is not a valid SNS filter policy: {error.response['Error']['Message']}"
        ) from error


def check_or_branches(policy: Any) -> None:
    """Every "$or" holds a list of policies (objects), as SNS requires."""
    if isinstance(policy, dict):
        for key, value in policy.items():
            if key == "$or":
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise ScaffoldError('FILTER: "$or" must be a list of filter policies (objects)')
                for branch in value:
                    check_or_branches(branch)


def attribute_names(policy: Any) -> set[str]:
    """The message attributes a filter policy names ($or branches included)."""
    names: set[str] = set()
    if isinstance(policy, dict):
        for key, value in policy.items():
            names |= set().union(*(attribute_names(v) for v in value)) if key == "$or" else {key}
    return names


def published_attributes() -> tuple[str, ...]:
    from wildrydes.events import FILTERED_ATTRIBUTES

    return FILTERED_ATTRIBUTES


def sample_ride(policy: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """A (fare, distance) the policy matches, for the generated tests and fixture: tried from
    the policy's own numbers (and their neighbours) and a few usual values."""
    from moto.sns.utils import FilterPolicyMatcher

    numbers = set(SAMPLE_NUMBERS)
    for operand in _numeric_operands(policy):
        value = Decimal(str(operand))
        numbers |= {value, value + 1, value * 2, max(Decimal(0), value - 1)}
    candidates = sorted(n for n in numbers if 0 <= n <= NUMBER_LIMIT)
    matcher = FilterPolicyMatcher(policy, "MessageAttributes")
    for fare in candidates:
        for distance in candidates:
            attributes = {
                "fare": {"Type": "Number", "Value": str(fare)},
                "distance": {"Type": "Number", "Value": str(distance)},
            }
            if not policy or matcher.matches(attributes, "{}"):
                return fare, distance
    raise ScaffoldError(
        "FILTER matches no ride we could find (fares and distances from 0 to 1e9): "
        "the service would never receive anything"
    )


def _numeric_operands(policy: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(policy, dict):
        for key, value in policy.items():
            found += value[1::2] if key == "numeric" else _numeric_operands(value)
    elif isinstance(policy, list):
        for item in policy:
            found += _numeric_operands(item)
    return found


def filter_block(policy: dict[str, Any]) -> str:
    """The FilterPolicy lines of the subscription, literal YAML (numbers stay numbers: SNS
    refuses a numeric rule whose bound reaches it as a string)."""
    if not policy:
        return ""
    body = yaml.safe_dump(policy, default_flow_style=False, sort_keys=False)
    indented = "".join(f"        {line}\n" for line in body.splitlines())
    return (
        "      FilterPolicyScope: MessageAttributes\n"
        "      # Literal numbers on purpose: a !Ref to a Number parameter reaches SNS as a "
        "string.\n"
        f"      FilterPolicy:\n{indented}"
    )


def render(scaffold: Scaffold, target: Path) -> list[Path]:
    """Write every file of the scaffold under target (services/<name>); the paths written."""
    values = scaffold.substitutions()
    destinations = {
        "service.toml.tmpl": "service.toml",
        "template.yaml.tmpl": "template.yaml",
        "samconfig.toml.tmpl": "samconfig.toml",
        "src/__init__.py.tmpl": f"src/{scaffold.package}/__init__.py",
        "src/app.py.tmpl": f"src/{scaffold.package}/app.py",
        "tests/conftest.py.tmpl": "tests/conftest.py",
        "tests/test_template.py.tmpl": "tests/test_template.py",
        "tests/test_handler.py.tmpl": "tests/test_handler.py",
    }
    written = []
    for source, destination in destinations.items():
        text = string.Template((SCAFFOLD / source).read_text()).substitute(values)
        path = target / destination
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    fixture = target / "tests" / "events" / "sqs_ride_event.json"
    fixture.parent.mkdir(parents=True, exist_ok=True)
    fixture.write_text(json.dumps(sqs_ride_event(scaffold), indent=2) + "\n")
    written.append(fixture)
    return written


def sqs_ride_event(scaffold: Scaffold) -> dict[str, Any]:
    """A real SNS-in-SQS delivery of a ride the filter matches: published through (moto's) SNS
    to a subscribed queue and received, then wrapped as Lambda's SQS poller delivers it."""
    from wildrydes.events import sns_message
    from wildrydes.ride import Ride
    from wildrydes_testing.sqs_events import received_event

    from scripts.smoke import SEED_RIDE

    ride = Ride.model_validate(
        {
            **SEED_RIDE,
            "id": "5b0c7e1f2a3d4c5e9f8a7b6c5d4e3f2a",
            "submittedAt": "2026-12-02T09:30:00.000Z",
            "distance": scaffold.sample_distance,
            "fare": scaffold.sample_fare,
        }
    )
    with offline_topic_and_queue() as (sns, sqs, topic, queue):
        sns.publish(TopicArn=topic, **sns_message(ride))
        return received_event(sqs, queue, expected=1)


def readme_with_row(scaffold: Scaffold, readme: Path) -> str:
    """The README with the service's row in the routing table (written with the service)."""
    text = readme.read_text()
    if README_MARKER not in text:
        raise ScaffoldError(f"{readme} has lost its marker line `{README_MARKER}`")
    row = f"| {scaffold.name} | {scaffold.summary} | one record per ride (`rideId` key) |\n"
    return text.replace(README_MARKER, row + README_MARKER, 1)


def scaffold_service(
    name: str, filter_text: str, root: Path = REPO_ROOT, out: Any = sys.stdout
) -> list[Path]:
    services_dir = root / "services"
    readme = root / "README.md"
    check_name(name, services_dir)
    policy = parse_filter(filter_text)
    scaffold = Scaffold(name, policy, *sample_ride(policy))
    new_readme = readme_with_row(scaffold, readme)
    target = services_dir / name
    staging = services_dir / f".new-{name}"  # written whole, then moved: never half a service
    shutil.rmtree(staging, ignore_errors=True)
    try:
        written = render(scaffold, staging)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    readme.write_text(new_readme)
    for path in written:
        print(f"  wrote {(target / path.relative_to(staging)).relative_to(root)}", file=out)
    print(f"  added {name} to the services table of README.md", file=out)
    print(
        f"\nservices/{name}: {scaffold.summary}. Next:\n"
        f"  make test-service SERVICE={name}\n"
        f"  make deploy SERVICE={name} TARGET=local   (or TARGET=aws)",
        file=out,
    )
    return [target / path.relative_to(staging) for path in written]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.new_service", description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--filter", default="", help="an SNS filter policy as JSON; none: all")
    args = parser.parse_args(argv)
    try:
        scaffold_service(args.name, args.filter)
    except (ScaffoldError, services.ManifestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
