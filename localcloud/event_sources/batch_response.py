"""Reads a ReportBatchItemFailures response with the rules Lambda documents.

Complete success: null or empty response, missing/null/empty `batchItemFailures`.
Complete failure: a response that is not JSON, or an item whose `itemIdentifier` is missing, null,
empty or not one of the batch's identifiers.
"""

from __future__ import annotations

import json
from collections.abc import Collection

WHOLE_BATCH_FAILED = None


def failed_identifiers(payload: bytes, batch_identifiers: Collection[str]) -> set[str] | None:
    """The identifiers to retry, or None when the whole batch counts as failed."""
    if not payload or not payload.strip():
        return set()
    try:
        response = json.loads(payload)
    except ValueError:
        return WHOLE_BATCH_FAILED
    if response is None:
        return set()
    if not isinstance(response, dict):
        return WHOLE_BATCH_FAILED
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return WHOLE_BATCH_FAILED
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_identifiers:
            return WHOLE_BATCH_FAILED
        failed.add(str(identifier))
    return failed
