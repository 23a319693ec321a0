"""What a rule's target receives for one matched event, as EventBridge computes it.

- `Input`: that JSON text, whatever the event.
- `InputPath`: the part of the event the JSON path selects.
- `InputTransformer`: `InputTemplate` with each `<name>` replaced by the value `InputPathsMap`
  selects, or a predefined variable (`aws.events.rule-arn`, `aws.events.rule-name`,
  `aws.events.event.ingestion-time`, `aws.events.event` (the event without `detail`),
  `aws.events.event.json` (the whole event)).
- nothing: the whole event.

Placeholders follow EventBridge's quoting rules. In a JSON template (one that starts with `{`,
`[` or `"`), a placeholder inside a string is replaced by the value's text, escaped for JSON;
outside a string, by the value as JSON (a string gets its quotes). In a plain-text template the
value's text goes in as is. A path that selects nothing gives `null` (JSON, outside a string) or
an empty text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonpath_ng.ext import parse as parse_json_path

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_RAW_JSON_VARIABLES = ("aws.events.event", "aws.events.event.json")


class InvalidInput(ValueError):
    """A target's input settings that select or build nothing usable (a broken JSON path)."""


@dataclass(frozen=True)
class RuleContext:
    rule_arn: str
    rule_name: str
    ingestion_time: str


@cache
def compiled_path(path: str) -> Any:
    try:
        return parse_json_path(path)
    except Exception as error:  # jsonpath_ng raises bare Exception subclasses of its own
        raise InvalidInput(f"JSON path {path!r} is not valid: {error}") from None


def select(event: Any, path: str) -> Any:
    """The value a JSON path selects (a list where it has a wildcard); None if nothing."""
    found = [match.value for match in compiled_path(path).find(event)]
    if "*" in path:
        return found
    return found[0] if found else None


def input_text(target: dict[str, Any], event: dict[str, Any], context: RuleContext) -> str:
    """The text the target gets for `event` (JSON, or plain text from a text template)."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(select(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(transformer, event, context)
    return json.dumps(event)


def transform(transformer: dict[str, Any], event: dict[str, Any], context: RuleContext) -> str:
    template = str(transformer.get("InputTemplate", ""))
    values: dict[str, Any] = {
        "aws.events.rule-arn": context.rule_arn,
        "aws.events.rule-name": context.rule_name,
        "aws.events.event.ingestion-time": context.ingestion_time,
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        values[name] = select(event, path)
    if template.lstrip()[:1] in ("{", "[", '"'):
        return _fill_json_template(template, values)
    return _PLACEHOLDER.sub(
        lambda found: _as_text(values, found.group(1), found.group(0)), template
    )


def _as_text(values: dict[str, Any], name: str, placeholder: str) -> str:
    if name not in values:
        return placeholder  # not a variable: EventBridge leaves the text alone
    value = values[name]
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _fill_json_template(template: str, values: dict[str, Any]) -> str:
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        if char == "\\" and in_string:
            out.append(template[position : position + 2])
            position += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            found = _PLACEHOLDER.match(template, position)
            if found and found.group(1) in values:
                out.append(_json_fill(values, found.group(1), in_string))
                position = found.end()
                continue
        out.append(char)
        position += 1
    return "".join(out)


def _json_fill(values: dict[str, Any], name: str, in_string: bool) -> str:
    value = values[name]
    if name in _RAW_JSON_VARIABLES:
        return json.dumps(value)  # documented as not escaped: only meant as a field's value
    if in_string:
        return json.dumps(_as_text(values, name, ""))[1:-1]
    return json.dumps(value)
