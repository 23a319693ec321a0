"""What PutTargets (and a rule's Targets in a template) refuses, as EventBridge does, so a target
that could never be delivered fails when it is set, not at every event."""

from __future__ import annotations

import json
from typing import Any

from localcloud.eventbridge.target_input import InvalidInput, compiled_path

_INPUT_KINDS = ("Input", "InputPath", "InputTransformer")


class InvalidTarget(ValueError):
    """A target EventBridge refuses, with the reason."""


def _within(value: Any, low: int, high: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
        raise InvalidTarget(f"{what} must be a whole number from {low} to {high}, not {value!r}")


def check(target: dict[str, Any]) -> None:
    target_id = target.get("Id", "?")
    given = [kind for kind in _INPUT_KINDS if target.get(kind) not in (None, "")]
    if len(given) > 1:
        raise InvalidTarget(f"target {target_id}: only one of {', '.join(given)} may be set")
    try:
        if target.get("Input") not in (None, ""):
            json.loads(target["Input"])
    except (TypeError, ValueError):
        raise InvalidTarget(f"target {target_id}: Input is not valid JSON") from None
    try:
        if target.get("InputPath"):
            compiled_path(target["InputPath"])
        transformer = target.get("InputTransformer")
        if transformer is not None:
            if not transformer.get("InputTemplate"):
                raise InvalidTarget(f"target {target_id}: InputTransformer needs an InputTemplate")
            paths = transformer.get("InputPathsMap") or {}
            if len(paths) > 100:
                raise InvalidTarget(f"target {target_id}: InputPathsMap has more than 100 entries")
            for name, path in paths.items():
                if str(name).startswith("aws."):
                    raise InvalidTarget(
                        f"target {target_id}: InputPathsMap name {name!r} is reserved (aws.*)"
                    )
                compiled_path(path)
    except InvalidInput as error:
        raise InvalidTarget(f"target {target_id}: {error}") from None
    policy = target.get("RetryPolicy") or {}
    _within(policy.get("MaximumRetryAttempts"), 0, 185, "RetryPolicy.MaximumRetryAttempts")
    _within(
        policy.get("MaximumEventAgeInSeconds"), 60, 86400, "RetryPolicy.MaximumEventAgeInSeconds"
    )
    dead_letters = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letters and (dead_letters.count(":") < 5 or dead_letters.split(":")[2] != "sqs"):
        raise InvalidTarget(f"target {target_id}: DeadLetterConfig.Arn must be an SQS queue ARN")
    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    fifo_queue = len(parts) >= 6 and parts[2] == "sqs" and parts[5].endswith(".fifo")
    if fifo_queue and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
        raise InvalidTarget(
            f"Parameter(s) SqsParameters must be specified for target: {target_id}."
        )
