"""The handler's thresholds are the subscription filter's, and qualify rides the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from extraordinary.criteria import THRESHOLDS, reasons
from wildrydes_testing.routing import ROUTES, Route, make_ride, subscription_properties


def filter_thresholds() -> dict[str, Decimal]:
    """{attribute: minimum} from the template's `$or` of `>=` rules."""
    policy = subscription_properties("extraordinary")["FilterPolicy"]
    found = {}
    for alternative in policy["$or"]:
        [(attribute, [rule])] = alternative.items()
        operator, operand = rule["numeric"]
        assert operator == ">=", f"{attribute}: the handler's thresholds are inclusive"
        found[attribute] = Decimal(str(operand))
    return found


def test_thresholds_agree_with_the_templates_filter_policy() -> None:
    assert filter_thresholds() == THRESHOLDS


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_a_ride_qualifies_exactly_when_the_routing_table_sends_it_here(route: Route) -> None:
    ride = make_ride(fare=route.fare, distance=route.distance)
    assert bool(reasons(ride)) == ("extraordinary" in route.receivers)


@pytest.mark.parametrize(
    ("fare", "distance", "why"),
    [
        ("50", "1", ["fare"]),
        ("1", "20", ["distance"]),
        ("256.5", "600", ["fare", "distance"]),
        ("49.99999", "19.99999", []),
    ],
)
def test_reasons_name_every_threshold_reached(fare: str, distance: str, why: list[str]) -> None:
    assert reasons(make_ride(fare=fare, distance=distance)) == why
