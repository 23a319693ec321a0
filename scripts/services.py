"""The services of the monorepo, discovered from their manifests (`services/<name>/service.toml`).

Every list of services (Make, deploys, CI's change plan, smoke, tests, benchmarks) comes from
here, so adding a service folder with a manifest is all it takes for the tooling to know it.
A manifest holds only the facts other code needs; the template owns everything else.

Standard library only: `make` and CI's change planner run this before `make setup`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"
MANIFEST = "service.toml"
KINDS = ("producer", "consumer")
# A service name is a folder, a stack-name suffix and (with "-" as "_") a Python package.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,20}$")
# Names that are not services: the platform stack, the shared layer folder, and the CI bootstrap
# stack (<prefix>-github-oidc), which a service stack of that name would replace.
RESERVED_NAMES = frozenset({"platform", "shared", "github-oidc"})


class ManifestError(Exception):
    """A manifest that is missing, unreadable or incomplete; the message names file and field."""


@dataclass(frozen=True)
class Received:
    """How to tell that a consumer received a ride: an item in the table its stack outputs."""

    table_output: str  # the stack output holding the table name
    key: dict[str, str]  # attribute -> value, with "{ride_id}" where the ride id goes
    recorded_at: str  # the item attribute holding when the consumer recorded the ride

    def item_key(self, ride_id: str) -> dict[str, dict[str, str]]:
        """The DynamoDB key (low-level attribute values) of the ride's item."""
        return {name: {"S": value.format(ride_id=ride_id)} for name, value in self.key.items()}


@dataclass(frozen=True)
class Manifest:
    name: str
    kind: str  # "producer" (publishes rides) or "consumer" (subscribes to them)
    package: str  # the Python package under src/ (handler <package>.app.lambda_handler)
    description: str
    received: Received | None  # consumers only

    @property
    def folder(self) -> Path:
        return SERVICES_DIR / self.name

    @property
    def is_consumer(self) -> bool:
        return self.kind == "consumer"


def _field(data: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, str | dict) and not value):
        raise ManifestError(f"{where}: '{name}' must be a non-empty {kind.__name__}")
    return value


def parse_manifest(path: Path) -> Manifest:
    """Read and check one manifest; the folder name is the service name."""
    where = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"{where}: cannot read it ({error})") from error
    name = path.parent.name
    if not NAME_PATTERN.fullmatch(name) or name in RESERVED_NAMES:
        raise ManifestError(f"{where}: '{name}' is not a valid service folder name")
    if data.get("name") != name:
        raise ManifestError(f"{where}: 'name' must be the folder's name, '{name}'")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ManifestError(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    package = _field(data, "package", str, where)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", package):
        raise ManifestError(f"{where}: 'package' must be a Python package name")
    received = None
    if kind == "consumer":
        section = _field(data, "received", dict, where)
        key = _field(section, "key", dict, f"{where} [received]")
        if not all(isinstance(v, str) and "{ride_id}" in v for v in key.values()):
            raise ManifestError(f"{where} [received]: every 'key' value must contain '{{ride_id}}'")
        received = Received(
            table_output=_field(section, "table_output", str, f"{where} [received]"),
            key=dict(key),
            recorded_at=_field(section, "recorded_at", str, f"{where} [received]"),
        )
    return Manifest(name, kind, package, _field(data, "description", str, where), received)


def discover(services_dir: Path = SERVICES_DIR) -> tuple[Manifest, ...]:
    """Every service: producers first (consumers need what they publish), then by name."""
    # Hidden and private folders are not services (make new-service stages one as .new-<name>).
    manifests = [
        parse_manifest(path)
        for path in sorted(services_dir.glob(f"*/{MANIFEST}"))
        if not path.parent.name.startswith((".", "_"))
    ]
    folders = {
        path.name
        for path in (services_dir.iterdir() if services_dir.is_dir() else ())
        if path.is_dir() and not path.name.startswith((".", "_"))
    }
    missing = sorted(folders - {m.name for m in manifests})
    if missing:
        raise ManifestError(
            f"services/{missing[0]}/ has no {MANIFEST}: every service folder needs one "
            "(make new-service writes it)"
        )
    return tuple(sorted(manifests, key=lambda m: (KINDS.index(m.kind), m.name)))


def names(kind: str | None = None, services_dir: Path = SERVICES_DIR) -> tuple[str, ...]:
    return tuple(m.name for m in discover(services_dir) if kind in (None, m.kind))


def get(name: str, services_dir: Path = SERVICES_DIR) -> Manifest:
    for manifest in discover(services_dir):
        if manifest.name == name:
            return manifest
    raise ManifestError(f"'{name}' is not a service: use one of {', '.join(names())}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.services", description=__doc__)
    parser.add_argument("--kind", choices=KINDS, help="only services of this kind")
    parser.add_argument("action", choices=("list",))
    args = parser.parse_args(argv)
    try:
        print(" ".join(names(args.kind)))
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
