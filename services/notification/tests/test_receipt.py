"""The receipt text a customer gets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from notification.receipt import money, receipt_text
from wildrydes_testing.routing import make_ride


def test_the_seed_ride_receipt() -> None:
    assert receipt_text(make_ride()) == (
        "Your Wild Rydes unicorn ride from Berlin to Munich: 600 km in 480 min. Fare: 256.50."
    )


def test_fractional_distance_and_duration_are_shown_as_given() -> None:
    ride = make_ride(fare="7", distance="19.99", duration=Decimal("12.5"), to="Potsdam")
    assert receipt_text(ride) == (
        "Your Wild Rydes unicorn ride from Berlin to Potsdam: 19.99 km in 12.5 min. Fare: 7.00."
    )


@pytest.mark.parametrize(
    ("fare", "text"),
    [("0", "0.00"), ("0.00001", "0.00"), ("1.005", "1.01"), ("2.675", "2.68"), ("1E+3", "1000.00")],
)
def test_money_has_two_decimals_rounded_half_up(fare: str, text: str) -> None:
    assert money(Decimal(fare)) == text
