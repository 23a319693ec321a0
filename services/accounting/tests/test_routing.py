"""The accounting subscription (from the template) gets exactly the rides with a fare above 0."""

from __future__ import annotations

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.routing import ROUTES, Route, make_ride, routed


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_the_accounting_queue_gets_exactly_the_rides_of_the_routing_table(route: Route) -> None:
    ride = make_ride(fare=route.fare, distance=route.distance)
    expected = {ride.id} if "accounting" in route.receivers else set()
    with mocked():
        assert routed(["accounting"], [ride]) == {"accounting": expected}
