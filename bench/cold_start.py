"""Cold-start cost of every Lambda handler against a boto3-only baseline.

    python bench/cold_start.py [--runs 15] [--service management]

Finds every AWS::Serverless::Function in services/*/template.yaml (Handler, CodeUri, layers,
environment), learns which boto3 clients each handler creates at import, then times, in fresh
interpreters, `import <handler module>` (import + module-level init) against
bench/baseline_handler.py creating the same clients. Runs of a handler and its baseline are
interleaved so machine noise hits both alike; the medians and their ratio are printed.
Not part of `make test`: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Time one import in a fresh interpreter; module-level code (clients, loggers) is the init.
TIMED_IMPORT = """
import time
started = time.perf_counter()
import importlib
importlib.import_module({module!r})
print((time.perf_counter() - started) * 1000)
"""

# Learn which clients a handler creates at import: record the outermost boto3 Session.client /
# Session.resource calls (a resource creates a client inside; that one is not counted).
CLIENT_DISCOVERY = """
import importlib, json
import boto3.session
created, depth = [], [0]
def recording(kind, original):
    def wrapper(self, service_name, *args, **kwargs):
        if depth[0] == 0:
            created.append(kind + ":" + service_name)
        depth[0] += 1
        try:
            return original(self, service_name, *args, **kwargs)
        finally:
            depth[0] -= 1
    return wrapper
boto3.session.Session.client = recording("client", boto3.session.Session.client)
boto3.session.Session.resource = recording("resource", boto3.session.Session.resource)
importlib.import_module({module!r})
print(json.dumps(created))
"""


@dataclass
class Target:
    """One handler: how to import it and what its environment holds."""

    label: str
    module: str
    paths: list[Path]
    environment: dict[str, str]
    clients: list[str] = field(default_factory=list)


def load_yaml(path: Path) -> dict[str, Any]:
    from cfnlint.decode.cfn_yaml import load  # the dev toolchain's CloudFormation loader

    return dict(load(str(path)))


def fake_value(name: str) -> str:
    """A stand-in for a value CloudFormation resolves at deploy time. Init must not call AWS,
    so only the shape matters."""
    upper = name.upper()
    if upper.endswith("_ARN"):
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:bench-{name.lower()}"
    if upper.endswith("_URL"):
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/bench-{name.lower()}"
    return f"bench-{name.lower().replace('_', '-')}"


def resolve(name: str, value: Any, parameters: dict[str, Any]) -> str:
    """A variable's value at deploy time: literal, a parameter's default, or a stand-in."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    reference = value.get("Ref") if isinstance(value, dict) else None
    if reference in parameters and "Default" in parameters[reference]:
        return str(parameters[reference]["Default"])
    return fake_value(name)


def discover(services: list[str] | None) -> list[Target]:
    targets = []
    for template_path in sorted(REPO_ROOT.glob("services/*/template.yaml")):
        service = template_path.parent.name
        if services and service not in services:
            continue
        template = load_yaml(template_path)
        globals_ = template.get("Globals", {}).get("Function", {})
        resources = template.get("Resources", {})
        for name, resource in resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            properties = {**globals_, **resource.get("Properties", {})}
            code = template_path.parent / properties.get("CodeUri", ".")
            layer_paths = [
                template_path.parent / resources[layer["Ref"]]["Properties"]["ContentUri"]
                for layer in properties.get("Layers", [])
                if isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in resources
            ]
            variables = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            parameters = template.get("Parameters", {})
            environment = {key: resolve(key, value, parameters) for key, value in variables.items()}
            targets.append(
                Target(
                    label=f"{service}/{name}",
                    module=properties["Handler"].rpartition(".")[0],
                    paths=[code.resolve(), *(p.resolve() for p in layer_paths)],
                    environment=environment,
                )
            )
    return targets


def lambda_like_environment(target: Target, extra: dict[str, str]) -> dict[str, str]:
    """What the Lambda runtime provides (region, credentials in variables) and nothing from
    this shell that could change what is imported."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path.home()),
        # Lambda has no AWS config files; do not let this machine's shape the clients.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": target.label.replace("/", "-"),
        "PYTHONPATH": os.pathsep.join(str(path) for path in target.paths),
        **target.environment,
        **extra,
    }


def run(code: str, environment: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else "failed")
    return result.stdout.strip().splitlines()[-1]


def baseline_of(target: Target) -> Target:
    return Target(
        label=f"baseline for {target.label}",
        module="baseline_handler",
        paths=[BENCH],
        environment={"BENCH_CLIENTS": ",".join(target.clients)},
    )


def time_import(target: Target) -> float:
    environment = lambda_like_environment(target, {})
    return float(run(TIMED_IMPORT.format(module=target.module), environment))


def measure(targets: list[Target], runs: int) -> list[tuple[Target, list[float], list[float]]]:
    results = []
    for target in targets:
        environment = lambda_like_environment(target, {})
        try:
            discovered = run(CLIENT_DISCOVERY.format(module=target.module), environment)
        except RuntimeError as error:
            print(f"  cannot import {target.label}: {error}", file=sys.stderr)
            continue
        target.clients = json.loads(discovered)
        baseline = baseline_of(target)
        # One untimed import each first: compiles .pyc files, as a deployed package has them.
        time_import(target)
        time_import(baseline)
        handler_ms, baseline_ms = [], []
        for index in range(runs):
            # Alternate which goes first so drift (caches, CPU frequency) hits both alike.
            pair = (target, baseline) if index % 2 == 0 else (baseline, target)
            for measured in pair:
                (handler_ms if measured is target else baseline_ms).append(time_import(measured))
        results.append((target, handler_ms, baseline_ms))
        print(f"  measured {target.label}", file=sys.stderr)
    return results


def report(results: list[tuple[Target, list[float], list[float]]], runs: int) -> None:
    rows = [("handler", "clients", "median ms", "baseline ms", "ratio")]
    for target, handler_ms, baseline_ms in results:
        handler, baseline = statistics.median(handler_ms), statistics.median(baseline_ms)
        rows.append(
            (
                target.label,
                " ".join(c.partition(":")[2] for c in target.clients) or "-",
                f"{handler:.1f}",
                f"{baseline:.1f}",
                f"{handler / baseline:.2f}x",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"import + init, median of {runs} fresh interpreters ({sys.version.split()[0]})")
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed imports per handler")
    parser.add_argument("--service", action="append", help="only this service (repeatable)")
    arguments = parser.parse_args(argv)
    targets = discover(arguments.service)
    if not targets:
        print("no AWS::Serverless::Function found in services/*/template.yaml", file=sys.stderr)
        return 1
    report(measure(targets, arguments.runs), arguments.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
