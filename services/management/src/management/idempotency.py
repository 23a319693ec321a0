"""The Idempotency-Key contract: which keys are valid, what "the same request" means, how long
a key is remembered.

A client that did not see the answer to a POST (timeout, dropped connection) retries with the
same key and gets the ride created the first time instead of a second ride. Keys are scoped to
the API key that sent them, so two clients cannot collide on a key by accident.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wildrydes.ride import RideRequest, decimal_text

HEADER = "Idempotency-Key"
# Visible ASCII, no spaces, at most 128 characters: room for a UUID or a client's own scheme.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")
# How long a key is remembered (DynamoDB TTL deletes the record afterwards).
RETENTION_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class IdempotencyClaim:
    """A request's claim on a key: the stored key and the fingerprint of what it asked for."""

    key: str
    fingerprint: str


def key_error(value: str | None) -> dict[str, str] | None:
    """The field error for a malformed header, or None when absent or valid."""
    if value is None or KEY_PATTERN.fullmatch(value):
        return None
    return {
        "field": HEADER,
        "error": "must be 1 to 128 visible ASCII characters (no spaces), e.g. a UUID",
    }


def claim_for(value: str, api_key_id: str | None, request: RideRequest) -> IdempotencyClaim:
    scope = api_key_id or "-"
    return IdempotencyClaim(key=f"{scope}:{value}", fingerprint=fingerprint(request))


def fingerprint(request: RideRequest) -> str:
    """SHA-256 of the validated request in canonical form: the same ride (whatever the key
    order, whitespace or 256.50 vs 256.5) has the same fingerprint."""
    fields = request.model_dump(by_alias=True)
    canonical = {name: _canonical(value) for name, value in fields.items()}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    return decimal_text(value) if isinstance(value, Decimal) else value
