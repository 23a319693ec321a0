"""What makes a ride extraordinary. The subscription's filter policy in template.yaml uses the
same thresholds (fare >= 50 OR distance >= 20); test_criteria.py keeps the two equal."""

from __future__ import annotations

from decimal import Decimal

from wildrydes.ride import Ride

# Inclusive lower bounds, per reason.
THRESHOLDS: dict[str, Decimal] = {
    "fare": Decimal(50),
    "distance": Decimal(20),
}


def reasons(ride: Ride) -> list[str]:
    """The reasons the ride qualifies, in a fixed order; empty when it does not."""
    return [name for name, minimum in THRESHOLDS.items() if getattr(ride, name) >= minimum]
