"""Lambda event filtering (FilterCriteria): the EventBridge-style pattern language, on one record.

Supported, as documented for Lambda: exact values (strings, numbers, booleans, null, ""), nested
keys, `prefix`, `suffix`, `equals-ignore-case`, `numeric` (ranges), `exists`, `anything-but`
(values or a prefix/suffix), and `$or`. A record passes FilterCriteria when any of its filters
matches (filters are OR'ed); within a pattern all keys must match (AND), and the values listed for
a key are alternatives (OR). For SQS the `body` is matched as JSON when it parses as a JSON object.
"""

from __future__ import annotations

import base64
import json
import operator
from collections.abc import Callable, Iterable
from typing import Any

_MISSING = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class EventFilter:
    """Compiled FilterCriteria of one event source mapping."""

    def __init__(self, filter_criteria: dict[str, Any] | None) -> None:
        filters = (filter_criteria or {}).get("Filters") or []
        self._patterns = [json.loads(f["Pattern"]) for f in filters if f.get("Pattern")]

    @property
    def active(self) -> bool:
        return bool(self._patterns)

    def matches(self, record: dict[str, Any]) -> bool:
        if not self._patterns:
            return True
        return any(pattern_matches(pattern, record) for pattern in self._patterns)


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """The SQS record as filters see it: a JSON body is matched by its fields."""
    body = record.get("body")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return record
        if isinstance(parsed, dict):
            return {**record, "body": parsed}
    return record


def kinesis_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """A Kinesis record as filters see it: its `kinesis` fields, with `data` (base64) matched by
    its fields when it holds a JSON object, as Lambda documents."""
    fields = dict(record.get("kinesis", {}))
    try:
        parsed = json.loads(base64.b64decode(fields.get("data", ""), validate=True))
    except ValueError:
        return fields
    if isinstance(parsed, dict):
        fields["data"] = parsed
    return fields


def pattern_matches(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(pattern, dict):
        raise ValueError(f"a filter pattern must be a JSON object, not {pattern!r}")
    for key, rule in pattern.items():
        if key == "$or":
            if not any(pattern_matches(alternative, event) for alternative in rule):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(rule, dict):
            # A nested object: missing keys below only match `exists: false` rules.
            if not pattern_matches(rule, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(rule, list):
            if not _any_rule_matches(rule, value):
                return False
        else:
            raise ValueError(f"filter rule for {key!r} must be a list or an object, not {rule!r}")
    return True


def _any_rule_matches(rules: list[Any], value: Any) -> bool:
    # An array in the event matches when any of its elements does.
    values: Iterable[Any] = value if isinstance(value, list) else [value]
    return any(_rule_matches(rule, item) for rule in rules for item in values)


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return value is not _MISSING and _equal(rule, value)
    if len(rule) != 1:
        raise ValueError(f"a matcher object has exactly one key: {rule!r}")
    ((kind, argument),) = rule.items()
    if kind == "exists":
        return (value is not _MISSING) == bool(argument)
    if value is _MISSING:
        return False
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if kind == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if kind == "numeric":
        return _numeric_matches(argument, value)
    if kind == "anything-but":
        return not _anything_but_excludes(argument, value)
    raise ValueError(f"unsupported filter matcher {kind!r}")


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric_matches(conditions: list[Any], value: Any) -> bool:
    # Numeric matching applies to JSON numbers only; DynamoDB "N" values are strings and do not
    # match, exactly as the Lambda documentation warns.
    if not _is_number(value):
        return False
    if len(conditions) % 2:
        raise ValueError(f"numeric matcher needs operator/value pairs: {conditions!r}")
    pairs = zip(conditions[::2], conditions[1::2], strict=True)
    return all(_NUMERIC_OPS[op](float(value), float(bound)) for op, bound in pairs)


def _anything_but_excludes(argument: Any, value: Any) -> bool:
    if isinstance(argument, dict):
        return _rule_matches(argument, value)
    excluded = argument if isinstance(argument, list) else [argument]
    return any(_equal(item, value) for item in excluded)
