"""The extraordinary subscription (from the template) gets exactly fare >= 50 or distance >= 20."""

from __future__ import annotations

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.routing import ROUTES, Route, make_ride, routed


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_the_extraordinary_queue_gets_exactly_the_rides_of_the_routing_table(route: Route) -> None:
    ride = make_ride(fare=route.fare, distance=route.distance)
    expected = {ride.id} if "extraordinary" in route.receivers else set()
    with mocked():
        assert routed(["extraordinary"], [ride]) == {"extraordinary": expected}
