"""Lambda proxy integration of HTTP APIs: the event in and the response out, for payload format
2.0 and 1.0, as https://docs.aws.amazon.com/apigateway/latest/developerguide/
http-api-develop-integrations-lambda.html defines them.

2.0 differs from the REST (1.0) event: lower-cased header names with repeated headers joined by
commas, repeated query parameters joined by commas, the request's cookies in `cookies` (and no
`cookie` header), `rawPath` / `rawQueryString` as sent, and fields that would be empty left out.
Its response may be any JSON value: only an object with `statusCode` is read as a structured
response; anything else is the body of a 200 application/json response.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from localcloud.apigw.http_routes import HttpRoute
from localcloud.apigw.proxy import (
    IncomingRequest,
    MalformedProxyResponse,
    ProxyResponse,
    build_event,
    map_response,
    response_body,
)
from localcloud.apigw.routes import Route

# HTTP APIs pass these bodies as text and base64-encode every other one, a request without a
# Content-Type and form posts included (checked against AWS by others: the documentation only
# says "binary"). There is no binaryMediaTypes setting for HTTP APIs.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_TYPES


def _body(request: IncomingRequest) -> tuple[str | None, bool]:
    """The body as the event carries it, and whether it is base64-encoded."""
    if not request.body:
        return None, False
    if _is_text(_header(request.headers, "content-type") or ""):
        return request.body.decode("utf-8", errors="replace"), False
    return base64.b64encode(request.body).decode(), True


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _domain(api_id: str) -> str:
    # As the REST events say: the API's host name on localcloud (the Host form of its URL).
    return f"{api_id}.execute-api.localhost"


def build_event_v2(
    request: IncomingRequest, route: HttpRoute, account_id: str, request_id: str
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":  # moved to `cookies`, one entry per cookie
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    body, encoded = _body(request)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": route.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": route.api_id,
        "domainName": _domain(route.api_id),
        "domainPrefix": route.api_id,
        "http": {
            "method": request.method,
            "path": route.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": _header(request.headers, "user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": route.stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if body is not None:
        event["body"] = body
    if route.path_parameters:
        event["pathParameters"] = route.path_parameters
    event["isBase64Encoded"] = encoded
    if route.stage_variables:
        event["stageVariables"] = route.stage_variables
    return event


def build_event_v1(
    request: IncomingRequest, route: HttpRoute, account_id: str, request_id: str
) -> dict[str, Any]:
    """The REST proxy event (localcloud.apigw.proxy), as an HTTP API sends it: `version` 1.0,
    `path` as sent (a named stage's segment included), `resource` the route's path, and the
    body base64-encoded by content type as for 2.0."""
    as_rest = Route(
        api_id=route.api_id,
        stage=route.stage,
        resource_id=route.route_key,
        resource_path=route.resource_path,
        http_method=request.method,
        path_parameters=route.path_parameters,
        api_key_required=False,
        integration_type=route.integration_type,
        integration_uri=route.integration_uri,
        stage_variables=route.stage_variables,
        binary_media_types=(),
    )
    event = build_event(request, as_rest, account_id, request_id, (None, None))
    body, encoded = _body(request)
    context = event["requestContext"]
    context["path"] = route.raw_path
    context.pop("resourceId", None)
    context["identity"].pop("apiKey", None)
    context["identity"].pop("apiKeyId", None)
    return {
        "version": "1.0",
        **event,
        "path": route.raw_path,
        "body": body,
        "isBase64Encoded": encoded,
    }


def map_response_v2(payload: bytes) -> ProxyResponse:
    """The HTTP response for a 2.0 function result; MalformedProxyResponse if it cannot be one."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError as exc:
        raise MalformedProxyResponse("response is not JSON") from exc
    if not (isinstance(result, dict) and "statusCode" in result):
        # Anything else is the body: a string as it is, other values as the JSON returned.
        text = result if isinstance(result, str) else payload.decode("utf-8", errors="replace")
        return ProxyResponse(200, [("Content-Type", "application/json")], text.encode())
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"invalid statusCode {status!r}")
    headers_in = result.get("headers") or {}
    cookies = result.get("cookies") or []
    if not isinstance(headers_in, dict) or not isinstance(cookies, list):
        raise MalformedProxyResponse("headers must be an object and cookies a list")
    headers = [(str(name), _header_text(value)) for name, value in headers_in.items()]
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    return ProxyResponse(status, headers, response_body(result))


def map_response_v1(payload: bytes) -> ProxyResponse:
    """1.0 takes the REST proxy response shape only: anything else is malformed (a 500)."""
    return map_response(payload)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
