"""Minimal handlers: localcloud's deploy test only needs code that sam can build and package."""

from typing import Any

import lc_test_layer


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"batchItemFailures": [], "seen": lc_test_layer.count(event.get("Records", []))}


def api_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 201, "body": "{}"}
