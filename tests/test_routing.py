"""The fan-out's routing table, proven on one moto topic with all three consumer subscriptions
built from their own templates' filter policies (design section 3):

    notification   every ride
    accounting     every ride with fare > 0
    extraordinary  exactly the rides with fare >= 50 or distance >= 20
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.routing import CONSUMERS, ROUTES, Route, make_ride, routed


def test_the_routing_table_matches_the_design_rules() -> None:
    # The table is written out by hand; this keeps it honest against the rules in words.
    for route in ROUTES:
        fare, distance = Decimal(route.fare), Decimal(route.distance)
        rules = {
            "notification": True,
            "accounting": fare > 0,
            "extraordinary": fare >= 50 or distance >= 20,
        }
        assert route.receivers == {name for name, gets in rules.items() if gets}, route.label


def test_one_topic_fans_each_ride_out_to_exactly_its_services() -> None:
    rides = {route.label: make_ride(fare=route.fare, distance=route.distance) for route in ROUTES}
    with mocked():
        received = routed(CONSUMERS, rides.values())
    for service in CONSUMERS:
        expected = {rides[r.label].id for r in ROUTES if service in r.receivers}
        assert received[service] == expected, service


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_each_boundary_ride_reaches_its_receivers(route: Route) -> None:
    ride = make_ride(fare=route.fare, distance=route.distance)
    with mocked():
        received = routed(CONSUMERS, [ride])
    assert {service for service, ids in received.items() if ride.id in ids} == route.receivers
