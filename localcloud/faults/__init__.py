"""Faults from the AWS side, locally: an opt-in fault proxy in front of localcloud's AWS API.

With `LOCALCLOUD_FAULTS=<rules file>` set, `python -m localcloud up` (`make local-up`) starts
microburst (https://pypi.org/project/microburst/, pinned in requirements-dev.txt), an AWS
fault-injection proxy, between the *data plane* and moto: every AWS call of the functions'
handlers (their AWS_ENDPOINT_URL) and of the event-source pollers (SQS ReceiveMessage /
DeleteMessageBatch, DynamoDB Streams) goes through it, and each rule can answer a call the way
AWS fails it — the service's own error envelope (JSON `__type` for DynamoDB/SQS/KMS, query XML
`<ErrorResponse>` for SNS) and status, read from the botocore models the SDK itself parses — or
delay it, hold it and answer 504, reset the connection, or forward it and lose the response. So
the SDK's retries and the system's own retry paths (partial batch failures, SQS redelivery, the
stream's retries with bisect) run for real.

Deploys (`sam deploy`, CloudFormation), localcloud's own bookkeeping (logs, metrics, listing
event source mappings) and every tool outside the runtime keep talking to moto directly; without
the variable nothing is started or imported, so normal runs are unchanged and cost nothing.

The rules file is microburst's own format (YAML or JSON): a list of rules, or a mapping whose
`rules` key holds one. Each rule matches service / operation / resource / a JMESPath `body`
expression, fires with a `probability` (first matching rule wins), and has effects such as
`error: {code, status, message, fields}`, `latency`, `timeout_ms`, `reset` or
`response: {abort_frac}`. Rules can be replaced while running through the control API at
`<proxy>/_microburst/rules` (localcloud.faults.control).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FAULTS_VARIABLE = "LOCALCLOUD_FAULTS"


class FaultRulesError(ValueError):
    """The rules file named by LOCALCLOUD_FAULTS is missing or not a list of valid rules."""


def requested(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The rules file LOCALCLOUD_FAULTS names (absolute), or None when faults are off."""
    value = environ.get(FAULTS_VARIABLE, "").strip()
    return Path(value).resolve() if value else None


def load_rules(path: Path) -> list[dict[str, Any]]:
    """Read and validate a rules file with microburst's own parser (refused before anything
    starts, so a typo is an error message instead of a proxy that injects nothing)."""
    import yaml
    from microburst.rules import from_dict

    try:
        text = path.read_text()
    except OSError as error:
        raise FaultRulesError(f"{FAULTS_VARIABLE}={path}: cannot read it ({error})") from error
    try:
        document = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as error:
        raise FaultRulesError(f"{FAULTS_VARIABLE}={path}: not YAML or JSON ({error})") from error
    if isinstance(document, dict) and "rules" not in document:
        # A typo (`rule:`) would otherwise load no rule and run with faults silently off.
        raise FaultRulesError(
            f"{FAULTS_VARIABLE}={path}: a mapping needs a `rules:` list; found "
            + ", ".join(f"`{key}`" for key in document)
        )
    rules = document["rules"] if isinstance(document, dict) else document
    if document is None:
        rules = []
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise FaultRulesError(
            f"{FAULTS_VARIABLE}={path}: expected a list of rules (or a mapping with `rules:`)"
        )
    for index, rule in enumerate(rules):
        try:
            from_dict(rule)
        except (TypeError, ValueError) as error:
            raise FaultRulesError(
                f"{FAULTS_VARIABLE}={path}: rule {index} ({json.dumps(rule)}) is invalid: {error}"
            ) from error
    return rules
