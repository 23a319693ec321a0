"""The receipt a customer gets for a completed ride."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from wildrydes.ride import Ride, decimal_text

CENTS = Decimal("0.01")


def money(amount: Decimal) -> str:
    """Two decimals, half up as people round money (the contract allows up to five)."""
    return str(amount.quantize(CENTS, rounding=ROUND_HALF_UP))


def receipt_text(ride: Ride) -> str:
    return (
        f"Your Wild Rydes unicorn ride from {ride.from_} to {ride.to}: "
        f"{decimal_text(ride.distance)} km in {decimal_text(ride.duration)} min. "
        f"Fare: {money(ride.fare)}."
    )
