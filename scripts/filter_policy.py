"""Why a subscription does or does not get a ride: SNS filter policies evaluated with a reason.

`make trace RIDE=<id>` asks, for each consumer, whether its live subscription's filter policy
matches the ride's message attributes. A yes/no is not enough for an operator chasing a
missing delivery, so `explain` also names the rule that decided::

    explain('{"fare": [{"numeric": [">", 0]}]}', sns_message(ride)["MessageAttributes"])
    -> Verdict(matches=False, reason='fare 0 does not match {"numeric": [">", 0]}')

Scope: FilterPolicyScope MessageAttributes (the scope every consumer here uses), with the rules
AWS documents for it (Amazon SNS developer guide, "Amazon SNS subscription filter policies"):

* AND across a policy's keys, OR within a key's list of rules; `$or` at the top level and
  nested inside a branch. `$or` is the operator when it holds a list of objects whose keys are
  not operator keywords (AWS wants two or more; one is refused here); anything else under
  `$or` is, as in AWS, an attribute that happens to be called "$or".
* exact strings, numbers (compared as numbers: 12.5 == 1.25e1) and true/false/null;
  `numeric` with =, <, <=, >, >= and two-sided ranges (lower bound first, as SNS requires);
  `exists` true/false (false never matches a message without any attributes); `anything-but`
  with a value, a list of values or {"prefix": ...}; `prefix`; `suffix`; `equals-ignore-case`;
  `cidr`.
* Types never cross: a Number attribute only meets number rules, a String attribute only string
  rules. A String.Array matches when any element does (each element keeps its JSON type).
  Binary attributes are ignored, as SNS ignores them when filtering.

Numbers are Decimals, never floats, so 0.1 + 0.2 style surprises cannot flip a verdict. SNS
promises five digits after the decimal point; beyond that, exact comparison here may be
stricter than AWS.

Anything this module does not understand raises FilterPolicyError instead of guessing: a trace
that silently said "matches" for an unknown operator would send the operator the wrong way.
SNS's size limits (5 keys, 150 combinations) are not checked: a live policy already passed them.

moto's own matcher (moto.sns.utils.FilterPolicyMatcher, what localcloud delivers with) departs
from the AWS documentation in places; tests/test_filter_policy.py lists them and cross-checks
this module against moto where moto follows the documentation.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

NO_POLICY_REASON = "no filter policy: every ride"
EMPTY_POLICY_REASON = "empty filter policy: every ride"

# Keys that make an object a rule rather than a `$or` branch (AWS: an "$or" whose objects use a
# reserved keyword is an attribute name, not the operator).
_OPERATORS = frozenset(
    {"exists", "numeric", "anything-but", "prefix", "suffix", "equals-ignore-case", "cidr"}
)
_LOWER_BOUNDS = frozenset({">", ">="})
_UPPER_BOUNDS = frozenset({"<", "<="})
_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "=": lambda value, bound: value == bound,
    ">": lambda value, bound: value > bound,
    ">=": lambda value, bound: value >= bound,
    "<": lambda value, bound: value < bound,
    "<=": lambda value, bound: value <= bound,
}


class FilterPolicyError(ValueError):
    """The filter policy is not one this module can evaluate faithfully."""


@dataclass(frozen=True)
class Verdict:
    """Whether the policy lets the message through, and the rule that decided, in words."""

    matches: bool
    reason: str


def explain(
    policy: str | Mapping[str, Any] | None, attributes: Mapping[str, Mapping[str, str]]
) -> Verdict:
    """Evaluate a MessageAttributes-scope filter policy against a message's attributes.

    `policy` is the subscription's `FilterPolicy` attribute as SNS returns it (a JSON string),
    an already decoded object, or None/"" when the subscription has none. `attributes` is the
    publish shape `{name: {"DataType": ..., "StringValue": ...}}`; the delivered shape
    `{name: {"Type": ..., "Value": ...}}` is accepted too.

    Raises FilterPolicyError for a policy that is not a JSON object or uses a rule this module
    does not support, and ValueError for an attribute SNS itself would refuse to publish.
    """
    decoded = _decode(policy)
    if decoded is None:
        return Verdict(True, NO_POLICY_REASON)
    # Compile the whole policy before looking at the message, so a bad rule is reported even
    # when an earlier key already decided the verdict.
    clauses = _compile_policy(decoded, where="filter policy")
    if not clauses:
        return Verdict(True, EMPTY_POLICY_REASON)
    return _evaluate_all(clauses, _Message(_parse_attributes(attributes)))


# --- the policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    text: str  # the rule as the policy spells it, for reasons
    test: Callable[[_Value], bool] | None = None  # None for an `exists` rule
    exists: bool | None = None


@dataclass(frozen=True)
class _Key:
    name: str
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class _Or:
    branches: tuple[tuple[_Key | _Or, ...], ...]


def _decode(policy: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    if isinstance(policy, str):
        # get_subscription_attributes omits FilterPolicy when unset; an empty string is how
        # set_subscription_attributes removes one, so both mean "no policy".
        if not policy.strip():
            return None
        try:
            # Decimal keeps the policy's numbers exact (and its spelling, for reasons).
            decoded = json.loads(policy, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise FilterPolicyError(f"filter policy is not valid JSON: {error}") from error
    elif isinstance(policy, Mapping):
        decoded = _from_python(policy)
    else:
        raise FilterPolicyError(
            f"filter policy must be a JSON object (string or mapping), got {type(policy).__name__}"
        )
    if not isinstance(decoded, dict):
        raise FilterPolicyError(
            f"filter policy must be a JSON object, got {_json_kind(decoded)}: {_render(decoded)}"
        )
    return decoded


def _from_python(value: Any) -> Any:
    """A policy built in Python, as json.loads(..., parse_float=Decimal) would have given it."""
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise FilterPolicyError("filter policy keys must be strings")
        return {key: _from_python(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_from_python(item) for item in value]
    if isinstance(value, float):
        # repr is the shortest text that round-trips, so 0.1 becomes Decimal("0.1"), not the
        # binary fraction the float really holds.
        return _finite(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _finite(value)
    if value is None or isinstance(value, str | bool | int):
        return value
    raise FilterPolicyError(f"filter policy holds a {type(value).__name__}, not a JSON value")


def _finite(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise FilterPolicyError(f"filter policy number {number} is not finite")
    return number


def _compile_policy(policy: Mapping[str, Any], *, where: str) -> tuple[_Key | _Or, ...]:
    clauses: list[_Key | _Or] = []
    for name, rules in policy.items():
        if name == "$or" and _is_or_operator(rules):
            if len(rules) < 2:
                raise FilterPolicyError(
                    f"$or in {where} needs at least two branches, got {len(rules)}"
                )
            branches = []
            for number, branch in enumerate(rules, start=1):
                compiled = _compile_policy(branch, where=f"$or branch {number}")
                if not compiled:
                    # An empty branch would let every message through; refuse rather than guess.
                    raise FilterPolicyError(f"$or branch {number} in {where} is empty")
                branches.append(compiled)
            clauses.append(_Or(tuple(branches)))
        elif isinstance(rules, list):
            if not rules:
                raise FilterPolicyError(f"{name} in {where}: empty rule lists are not allowed")
            clauses.append(_Key(name, tuple(_compile_rule(name, rule) for rule in rules)))
        elif isinstance(rules, dict):
            raise FilterPolicyError(
                f"{name} in {where}: nested policies need FilterPolicyScope MessageBody; "
                "this evaluates MessageAttributes only"
            )
        else:
            raise FilterPolicyError(f'{name} in {where}: "{name}" must be an array of rules')
    return tuple(clauses)


def _is_or_operator(rules: Any) -> bool:
    # AWS: "$or" is the operator only for a list of objects with no operator keywords in them;
    # anything else is an ordinary attribute called "$or".
    return (
        isinstance(rules, list)
        and bool(rules)
        and all(isinstance(branch, dict) for branch in rules)
        and not any(key in _OPERATORS for branch in rules for key in branch)
    )


def _compile_rule(name: str, rule: Any) -> _Rule:
    text = _render(rule)
    if isinstance(rule, str):
        return _Rule(text, _is_string(lambda value: value == rule))
    if isinstance(rule, bool) or rule is None:
        return _Rule(text, lambda value: value.kind == "literal" and value.value is rule)
    if isinstance(rule, int | Decimal):
        number = Decimal(rule)
        return _Rule(text, _is_number(lambda value: value == number))
    if not isinstance(rule, dict):
        raise FilterPolicyError(
            f"{name}: rule {text} must be a string, number, true, false, null or an object"
        )
    if len(rule) != 1:
        raise FilterPolicyError(f"{name}: rule {text} must have exactly one operator")
    ((operator, operand),) = rule.items()
    compile_operator = _OPERATOR_COMPILERS.get(operator)
    if compile_operator is None:
        raise FilterPolicyError(f"{name}: unsupported operator {operator!r} in {text}")
    return compile_operator(f"{name}: {text}", text, operand)


def _is_string(test: Callable[[str], bool]) -> Callable[[_Value], bool]:
    return lambda value: value.kind == "string" and test(value.value)  # type: ignore[arg-type]


def _is_number(test: Callable[[Decimal], bool]) -> Callable[[_Value], bool]:
    return lambda value: value.kind == "number" and test(value.value)  # type: ignore[arg-type]


def _string_operand(where: str, operator: str, operand: Any) -> str:
    if not isinstance(operand, str):
        raise FilterPolicyError(f"{where}: {operator} needs a string")
    return operand


def _compile_exists(where: str, text: str, operand: Any) -> _Rule:
    if not isinstance(operand, bool):
        raise FilterPolicyError(f"{where}: exists must be true or false")
    return _Rule(text, exists=operand)


def _compile_numeric(where: str, text: str, operand: Any) -> _Rule:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise FilterPolicyError(
            f'{where}: numeric needs [operator, number] or a range like [">", 0, "<=", 150]'
        )
    comparisons: list[tuple[str, Decimal]] = []
    for operator, bound in zip(operand[0::2], operand[1::2], strict=True):
        if operator not in _COMPARE:
            raise FilterPolicyError(f"{where}: unsupported numeric operator {_render(operator)}")
        if isinstance(bound, bool) or not isinstance(bound, int | Decimal):
            raise FilterPolicyError(f"{where}: the value of {operator} must be a number")
        comparisons.append((operator, Decimal(bound)))
    if len(comparisons) == 2:
        # SNS accepts a range only as lower bound then upper bound, bottom below top.
        (low_op, low), (high_op, high) = comparisons
        if low_op not in _LOWER_BOUNDS or high_op not in _UPPER_BOUNDS:
            raise FilterPolicyError(
                f"{where}: a numeric range is a lower bound (> or >=) then an upper (< or <=)"
            )
        if not low < high:
            raise FilterPolicyError(f"{where}: the range's bottom must be below its top")

    def in_range(value: Decimal) -> bool:
        return all(_COMPARE[operator](value, bound) for operator, bound in comparisons)

    return _Rule(text, _is_number(in_range))


def _compile_anything_but(where: str, text: str, operand: Any) -> _Rule:
    if isinstance(operand, dict):
        if set(operand) != {"prefix"}:
            raise FilterPolicyError(
                f'{where}: anything-but takes a value, a list of values or {{"prefix": ...}}'
            )
        prefix = _string_operand(where, "anything-but prefix", operand["prefix"])
        return _Rule(text, _is_string(lambda value: not value.startswith(prefix)))
    excluded = operand if isinstance(operand, list) else [operand]
    if not excluded:
        raise FilterPolicyError(f"{where}: anything-but needs at least one value")
    if all(isinstance(item, str) for item in excluded):
        return _Rule(text, _is_string(lambda value: value not in excluded))
    if all(isinstance(item, int | Decimal) and not isinstance(item, bool) for item in excluded):
        numbers = [Decimal(item) for item in excluded]
        return _Rule(text, _is_number(lambda value: all(value != item for item in numbers)))
    # Mixed or other values: SNS's own meaning for them is not documented.
    raise FilterPolicyError(f"{where}: anything-but values must be all strings or all numbers")


def _compile_prefix(where: str, text: str, operand: Any) -> _Rule:
    prefix = _string_operand(where, "prefix", operand)
    return _Rule(text, _is_string(lambda value: value.startswith(prefix)))


def _compile_suffix(where: str, text: str, operand: Any) -> _Rule:
    suffix = _string_operand(where, "suffix", operand)
    return _Rule(text, _is_string(lambda value: value.endswith(suffix)))


def _compile_equals_ignore_case(where: str, text: str, operand: Any) -> _Rule:
    folded = _string_operand(where, "equals-ignore-case", operand).casefold()
    return _Rule(text, _is_string(lambda value: value.casefold() == folded))


def _compile_cidr(where: str, text: str, operand: Any) -> _Rule:
    try:
        network = ipaddress.ip_network(_string_operand(where, "cidr", operand), strict=False)
    except ValueError as error:
        raise FilterPolicyError(f"{where}: {error}") from error

    def in_network(value: str) -> bool:
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:  # not an IP address: it cannot be in the block
            return False

    return _Rule(text, _is_string(in_network))


_OPERATOR_COMPILERS: dict[str, Callable[[str, str, Any], _Rule]] = {
    "exists": _compile_exists,
    "numeric": _compile_numeric,
    "anything-but": _compile_anything_but,
    "prefix": _compile_prefix,
    "suffix": _compile_suffix,
    "equals-ignore-case": _compile_equals_ignore_case,
    "cidr": _compile_cidr,
}


# --- the message --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """One value of an attribute: a String.Array contributes one per element."""

    kind: Literal["number", "string", "literal"]
    value: Decimal | str | bool | None


@dataclass(frozen=True)
class _Attribute:
    shown: str  # how a reason prints the value
    values: tuple[_Value, ...]


@dataclass(frozen=True)
class _Message:
    attributes: Mapping[str, _Attribute]


def _parse_attributes(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, _Attribute]:
    parsed: dict[str, _Attribute] = {}
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", attribute.get("Type"))
        if not isinstance(data_type, str):
            raise ValueError(f"message attribute {name} has no DataType")
        # SNS allows custom labels after the base type ("Number.float"); only the base counts.
        base_type = data_type.split(".", 1)[0]
        if base_type == "Binary":
            continue  # SNS ignores Binary attributes when filtering
        text = attribute.get("StringValue", attribute.get("Value"))
        if not isinstance(text, str):
            raise ValueError(f"message attribute {name} ({data_type}) has no StringValue")
        if data_type == "String.Array":
            parsed[name] = _Attribute(text, _array_values(name, text))
        elif base_type == "Number":
            parsed[name] = _Attribute(text.strip(), (_Value("number", _number(name, text)),))
        elif base_type == "String":
            shown = json.dumps(text, ensure_ascii=False)  # quoted: "req-42", and "" stays visible
            parsed[name] = _Attribute(shown, (_Value("string", text),))
        else:
            raise ValueError(f"message attribute {name} has unknown DataType {data_type!r}")
    return parsed


def _number(name: str, text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"message attribute {name} is a Number but {text!r} is not a number")
    return number


def _array_values(name: str, text: str) -> tuple[_Value, ...]:
    try:
        elements = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise ValueError(f"message attribute {name} is a String.Array but not JSON") from error
    if not isinstance(elements, list):
        raise ValueError(f"message attribute {name} is a String.Array but not a JSON array")
    values: list[_Value] = []
    for element in elements:
        if isinstance(element, str):
            values.append(_Value("string", element))
        elif isinstance(element, Decimal):
            values.append(_Value("number", element))
        elif isinstance(element, bool) or element is None:
            values.append(_Value("literal", element))
        # Nested arrays and objects match no SNS rule, so they add nothing to test.
    return tuple(values)


# --- evaluation ---------------------------------------------------------------------------


def _evaluate_all(clauses: Sequence[_Key | _Or], message: _Message) -> Verdict:
    """AND: every clause must match; a failure names the first clause that failed."""
    matched: list[str] = []
    for clause in clauses:
        verdict = (
            _evaluate_or(clause, message)
            if isinstance(clause, _Or)
            else _evaluate_key(clause, message)
        )
        if not verdict.matches:
            return verdict
        matched.append(verdict.reason)
    return Verdict(True, " and ".join(matched))


def _evaluate_or(clause: _Or, message: _Message) -> Verdict:
    failures: list[str] = []
    for branch in clause.branches:
        verdict = _evaluate_all(branch, message)
        if verdict.matches:
            return Verdict(True, f"$or: {verdict.reason}")
        failures.append(verdict.reason)
    return Verdict(False, f"$or: no branch matched ({'; '.join(failures)})")


def _evaluate_key(key: _Key, message: _Message) -> Verdict:
    """OR within a key: the first rule that matches decides."""
    attribute = message.attributes.get(key.name)
    for rule in key.rules:
        if rule.exists is True and attribute is not None:
            return Verdict(True, f"{key.name} {attribute.shown} matches {rule.text}")
        # AWS: "exists": false only matches a message that carries at least one attribute.
        if rule.exists is False and attribute is None and message.attributes:
            return Verdict(True, f"{key.name} is absent, matching {rule.text}")
        if (
            rule.test is not None
            and attribute is not None
            and any(rule.test(value) for value in attribute.values)
        ):
            return Verdict(True, f"{key.name} {attribute.shown} matches {rule.text}")
    if attribute is not None:
        rules = (
            key.rules[0].text
            if len(key.rules) == 1
            else "any of [" + ", ".join(rule.text for rule in key.rules) + "]"
        )
        return Verdict(False, f"{key.name} {attribute.shown} does not match {rules}")
    if not message.attributes and any(rule.exists is False for rule in key.rules):
        return Verdict(
            False,
            f'{key.name} is absent, but {{"exists": false}} never matches a message '
            "without attributes",
        )
    return Verdict(False, f"{key.name} is absent (the rule needs it)")


# --- rendering ----------------------------------------------------------------------------


def _render(value: Any) -> str:
    """JSON as the policy spelled it (Decimals included), for reasons and errors."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
