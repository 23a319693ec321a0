"""Lambda proxy integration (REST API, payload format 1.0): the event in, the response out."""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud.apigw.routes import Route

_RESPONSE_KEYS = {
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
    "cookies",
}


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str  # below the stage, decoded, starting with /
    raw_query: str
    headers: list[tuple[str, str]]  # in arrival order, repeated names kept
    body: bytes
    source_ip: str


@dataclass
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class MalformedProxyResponse(ValueError):
    pass


def build_event(
    request: IncomingRequest,
    route: Route,
    account_id: str,
    request_id: str,
    api_key: tuple[str | None, str | None],
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value  # the last value wins in `headers`, as in API Gateway
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(request.raw_query, keep_blank_values=True)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    content_type = _header(request.headers, "content-type") or ""
    binary = _is_binary(content_type, route.binary_media_types)
    if not request.body:
        body: str | None = None
    elif binary:
        body = base64.b64encode(request.body).decode()
    else:
        body = request.body.decode("utf-8", errors="replace")
    now = time.time()
    key_value, key_id = api_key
    return {
        "resource": route.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": route.stage_variables or None,
        "requestContext": {
            "resourceId": route.resource_id,
            "resourcePath": route.resource_path,
            "httpMethod": request.method,
            "extendedRequestId": uuid.uuid4().hex[:16] + "=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{route.stage}{request.path}",
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": route.stage,
            "domainPrefix": route.api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": _header(request.headers, "user-agent"),
                "user": None,
                "apiKey": key_value,
                "apiKeyId": key_id,
            },
            "domainName": f"{route.api_id}.execute-api.localhost",
            "apiId": route.api_id,
        },
        "body": body,
        "isBase64Encoded": binary and body is not None,
    }


def map_response(payload: bytes) -> ProxyResponse:
    """Turn the function's return value into the HTTP response, or raise if it is malformed."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError as exc:
        raise MalformedProxyResponse("response is not JSON") from exc
    if not isinstance(result, dict) or not set(result) <= _RESPONSE_KEYS:
        raise MalformedProxyResponse("response must be an object with proxy response keys")
    status = result.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"invalid statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse("multiValueHeaders values must be lists")
        headers.extend((name, _header_text(v)) for v in values)
    multi_names = {name.lower() for name in multi}
    # When a name is in both, API Gateway sends the multi-value list and ignores the single one.
    headers.extend(
        (name, _header_text(v)) for name, v in single.items() if name.lower() not in multi_names
    )
    return ProxyResponse(status, headers, response_body(result))


def response_body(result: dict[str, Any]) -> bytes:
    """A proxy response's `body` as bytes (base64-decoded when `isBase64Encoded`)."""
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise MalformedProxyResponse("body is not valid base64") from exc
    return body.encode()


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _is_binary(content_type: str, binary_media_types: tuple[str, ...]) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    # API Gateway stores "/" in binaryMediaTypes escaped as "~1" when set through PATCH.
    patterns = [t.replace("~1", "/").lower() for t in binary_media_types]
    return bool(media_type) and any(fnmatch.fnmatchcase(media_type, p) for p in patterns)
