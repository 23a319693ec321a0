"""The notification subscription, built from the template, receives every ride."""

from __future__ import annotations

import pytest
from moto import mock_aws
from wildrydes_testing.routing import ROUTES, Route, make_ride, routed


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_every_ride_reaches_the_notification_queue(route: Route) -> None:
    assert "notification" in route.receivers
    ride = make_ride(fare=route.fare, distance=route.distance)
    with mock_aws():
        assert routed(["notification"], [ride]) == {"notification": {ride.id}}
