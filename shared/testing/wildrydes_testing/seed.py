"""The seed's smoke-test ride: the body of the workshop's curl request (scripts.smoke's, which
`make smoke` and `make demo` submit), and the body tests submit unless they say otherwise.
Tests copy it ({**SEED, "fare": 0}); never change it in place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scripts.smoke import SEED_RIDE

SEED: dict[str, Any] = SEED_RIDE


def raw_json(field: str, json_text: str, base: Mapping[str, Any] = SEED) -> str:
    """The ride (the seed unless told otherwise) as JSON text with one value written exactly as
    given (NaN, 1e400, 0E+127...): json.dumps would rewrite a number."""
    return json.dumps({**base, field: "__RAW__"}).replace('"__RAW__"', json_text)
