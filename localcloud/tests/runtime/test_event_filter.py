"""Lambda FilterCriteria pattern matching."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.event_sources.event_filter import EventFilter, pattern_matches, sqs_filter_view

RECORD = {
    "eventName": "INSERT",
    "dynamodb": {"NewImage": {"fare": {"N": "75.5"}, "customer": {"S": "alice@example.com"}}},
    "count": 7,
    "tags": ["a", "b"],
    "nothing": None,
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"dynamodb": {"NewImage": {"customer": {"S": [{"prefix": "alice"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"customer": {"S": [{"suffix": ".org"}]}}}}, False),
        ({"eventName": [{"equals-ignore-case": "insert"}]}, True),
        ({"count": [{"numeric": [">", 5, "<=", 7]}]}, True),
        ({"count": [{"numeric": [">=", 8]}]}, False),
        # DynamoDB numbers are strings: numeric matching does not apply, as documented.
        ({"dynamodb": {"NewImage": {"fare": {"N": [{"numeric": [">", 1]}]}}}}, False),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, True),
        ({"dynamodb": {"NewImage": {"fare": [{"exists": True}]}}}, True),
        ({"missing": [{"exists": True}]}, False),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, True),
        ({"eventName": [{"anything-but": "INSERT"}]}, False),
        ({"eventName": [{"anything-but": {"prefix": "IN"}}]}, False),
        ({"tags": ["b"]}, True),
        ({"nothing": [None]}, True),
        ({"count": [7.0]}, True),
        ({"$or": [{"eventName": ["REMOVE"]}, {"count": [7]}]}, True),
        ({"$or": [{"eventName": ["REMOVE"]}, {"count": [8]}]}, False),
        ({"eventName": ["INSERT"], "count": [8]}, False),
    ],
)
def test_pattern(pattern: dict[str, Any], expected: bool) -> None:
    assert pattern_matches(pattern, RECORD) is expected


def test_filters_are_ored_and_empty_criteria_match_everything() -> None:
    criteria = {
        "Filters": [
            {"Pattern": json.dumps({"eventName": ["REMOVE"]})},
            {"Pattern": json.dumps({"eventName": ["INSERT"]})},
        ]
    }
    assert EventFilter(criteria).matches(RECORD)
    assert EventFilter(None).matches(RECORD)
    assert not EventFilter({"Filters": [{"Pattern": '{"eventName": ["X"]}'}]}).matches(RECORD)


def test_sqs_json_body_is_matched_by_field_and_plain_body_as_text() -> None:
    json_record = sqs_filter_view({"body": json.dumps({"fare": 60})})
    assert pattern_matches({"body": {"fare": [{"numeric": [">=", 50]}]}}, json_record)
    text_record = sqs_filter_view({"body": "hello"})
    assert pattern_matches({"body": [{"prefix": "he"}]}, text_record)
