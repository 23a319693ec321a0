"""The notification subscription, built from the template, receives every ride."""

from __future__ import annotations

import pytest
from wildrydes_testing.aws import mocked
from wildrydes_testing.routing import ROUTES, Route, make_ride, routed


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_every_ride_reaches_the_notification_queue(route: Route) -> None:
    assert "notification" in route.receivers
    ride = make_ride(fare=route.fare, distance=route.distance)
    with mocked():
        assert routed(["notification"], [ride]) == {"notification": {ride.id}}
