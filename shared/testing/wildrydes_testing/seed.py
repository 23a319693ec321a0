"""The seed's smoke-test ride: the body of the workshop's curl request (scripts.smoke's, which
`make smoke` and `make demo` submit), and the body tests submit unless they say otherwise.
Tests copy it ({**SEED, "fare": 0}); never change it in place."""

from __future__ import annotations

from typing import Any

from scripts.smoke import SEED_RIDE

SEED: dict[str, Any] = SEED_RIDE
