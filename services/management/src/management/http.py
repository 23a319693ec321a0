"""API Gateway (REST, Lambda proxy integration) requests in, JSON responses out.

Every error the handlers return has one shape, the API contract:
`{"message": ..., "errors": [{"field": ..., "error": ...}]}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wildrydes.ride import json_decimal

JSON_TYPE = "application/json"


class HttpError(Exception):
    """A request the handler refuses; becomes the JSON error response."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []

    def response(self) -> dict[str, Any]:
        return json_response(self.status, {"message": self.message, "errors": self.errors})


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON_TYPE, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
    }


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header by name; HTTP header names are case-insensitive, API Gateway keeps
    the client's spelling."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    return None


def require_json_content_type(event: Mapping[str, Any]) -> None:
    """415 unless the body is declared as JSON (UTF-8, the only charset JSON allows)."""
    declared = header(event, "Content-Type")
    media_type, *parameters = (declared or "").split(";")
    if media_type.strip().lower() != JSON_TYPE:
        raise HttpError(
            415,
            f"Content-Type must be {JSON_TYPE}",
            [{"field": "Content-Type", "error": f"got {declared or 'none'!r}"}],
        )
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise HttpError(
                415,
                "JSON bodies must be UTF-8",
                [{"field": "Content-Type", "error": f"unsupported charset {charset!r}"}],
            )


def body_text(event: Mapping[str, Any], limit: int) -> str:
    """The request body as text: 413 above `limit` bytes, 400 when it is not UTF-8."""
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw
    except (binascii.Error, ValueError) as error:
        raise HttpError(400, "body is not valid base64", [_body_error(str(error))]) from error
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise HttpError(
            413,
            f"body is larger than {limit} bytes",
            [_body_error(f"{size} bytes; the limit is {limit}")],
        )
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HttpError(400, "body is not UTF-8 text", [_body_error(str(error))]) from error


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object keeping numbers exact (Decimal). NaN and Infinity, which Python's
    parser accepts, come through as Decimals so validation names the field they were in."""
    try:
        value = json.loads(
            text,
            parse_float=json_decimal,
            parse_int=json_decimal,  # no int() digit limit; the model bounds the value
            parse_constant=Decimal,
            object_pairs_hook=_object_without_duplicates,
        )
    except _DuplicateKeyError as error:
        raise HttpError(
            400, "body has a repeated field", [{"field": error.key, "error": "appears twice"}]
        ) from error
    except ValueError as error:  # JSONDecodeError and any number the parsers refuse
        raise HttpError(400, "body is not valid JSON", [_body_error(str(error))]) from error
    except RecursionError as error:  # [[[[... nested deeper than the parser's stack allows
        raise HttpError(
            400, "body is not valid JSON", [_body_error("nested too deeply")]
        ) from error
    if not isinstance(value, dict):
        raise HttpError(400, "body must be a JSON object", [_body_error(f"got {_kind(value)}")])
    return value


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject {"fare": 1, "fare": 100}: which one a parser keeps is not defined by JSON."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _kind(value: Any) -> str:
    """What a client would call the JSON value it sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _body_error(text: str) -> dict[str, str]:
    return {"field": "body", "error": text}
