"""CORS of an HTTP API (its CorsConfiguration, or `x-amazon-apigateway-cors` in its body), as
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html describes it:
API Gateway answers preflight requests itself (an OPTIONS request with `Origin` and
`Access-Control-Request-Method`), whether or not an OPTIONS route exists, and puts the configured
CORS headers on the integration's response to a request with an allowed `Origin`, dropping any
CORS headers the integration set.

Only loopback origins ever get this far: localcloud refuses other origins first (loopback.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.apigw.proxy import IncomingRequest, ProxyResponse

_PREFIX = "access-control-"


def _header(request: IncomingRequest, name: str) -> str | None:
    for key, value in request.headers:
        if key.lower() == name:
            return value
    return None


def _allowed_origin(config: Mapping[str, Any], origin: str) -> str | None:
    """The Access-Control-Allow-Origin value for `origin`, None if it is not allowed.
    allowOrigins entries: an origin, `*` (any), or a scheme wildcard (`https://*`)."""
    for allowed in config.get("allowOrigins") or []:
        allowed = str(allowed)
        if allowed == "*":
            # Never the caller's origin: with credentials that would hand any site the
            # caller's cookies. Deploys refuse `*` with credentials, as AWS does.
            return "*"
        if allowed == origin or (allowed.endswith("*") and origin.startswith(allowed[:-1])):
            return origin
    return None


def _joined(values: Any) -> str:
    return ",".join(str(v) for v in values or [])


def preflight(config: Mapping[str, Any] | None, request: IncomingRequest) -> ProxyResponse | None:
    """API Gateway's own answer to a preflight request; None when the request is not one (or
    the API has no CORS configuration): it goes to its route."""
    origin = _header(request, "origin")
    if not config or request.method != "OPTIONS" or origin is None:
        return None
    if _header(request, "access-control-request-method") is None:
        return None
    headers: list[tuple[str, str]] = []
    allow_origin = _allowed_origin(config, origin)
    if allow_origin is not None:
        headers.append(("Access-Control-Allow-Origin", allow_origin))
        if config.get("allowMethods"):
            headers.append(("Access-Control-Allow-Methods", _joined(config["allowMethods"])))
        if config.get("allowHeaders"):
            headers.append(("Access-Control-Allow-Headers", _joined(config["allowHeaders"])))
        if config.get("maxAge") is not None:
            headers.append(("Access-Control-Max-Age", str(config["maxAge"])))
        if config.get("allowCredentials"):
            headers.append(("Access-Control-Allow-Credentials", "true"))
    return ProxyResponse(204, headers, b"")


def decorate(
    config: Mapping[str, Any] | None, request: IncomingRequest, response: ProxyResponse
) -> ProxyResponse:
    """The integration's response with the configured CORS headers instead of its own."""
    if not config:
        return response
    response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith(_PREFIX)]
    origin = _header(request, "origin")
    allow_origin = _allowed_origin(config, origin) if origin is not None else None
    if allow_origin is None:
        return response
    response.headers.append(("Access-Control-Allow-Origin", allow_origin))
    if config.get("allowCredentials"):
        response.headers.append(("Access-Control-Allow-Credentials", "true"))
    if config.get("exposeHeaders"):
        response.headers.append(("Access-Control-Expose-Headers", _joined(config["exposeHeaders"])))
    return response
