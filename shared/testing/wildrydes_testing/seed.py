"""The seed's smoke-test ride: the body of the workshop's curl request, which tests submit
unless they say otherwise. Tests copy it ({**SEED, "fare": 0}); never change it in place."""

from __future__ import annotations

from typing import Any

SEED: dict[str, Any] = {
    "from": "Berlin",
    "to": "Munich",
    "duration": 480,
    "distance": 600,
    "customer": "234234",
    "fare": 256.5,
}
