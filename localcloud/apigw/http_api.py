"""Serves one HTTP API (API Gateway v2) request: stage and route selection, the route's
throttling, then its Lambda proxy integration with payload format 2.0 or 1.0.

HTTP APIs answer their own errors with a fixed JSON message and no gateway responses: 404
`{"message":"Not Found"}` (no stage or route), 429 `{"message":"Too Many Requests"}` (the stage's
or route's throttling, or the function's concurrency), 500 `{"message":"Internal Server
Error"}` (a function error, a response the payload format cannot read, a missing function or
integration), 403 `{"message":"Forbidden"}` when the API's execute-api endpoint is disabled.
Every response carries the `apigw-requestid` header, as on AWS. An API with a CORS configuration
answers preflight requests itself and puts its CORS headers on integration responses
(localcloud.apigw.http_cors).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass

from localcloud.apigw import http_cors
from localcloud.apigw.http_proxy import (
    build_event_v1,
    build_event_v2,
    map_response_v1,
    map_response_v2,
)
from localcloud.apigw.http_routes import EndpointDisabled, HttpApiCatalog, HttpRoute, NotFound
from localcloud.apigw.proxy import IncomingRequest, MalformedProxyResponse, ProxyResponse
from localcloud.apigw.throttle import Throttles
from localcloud.lambda_runtime.functions import FunctionNotFound
from localcloud.lambda_runtime.invoker import Invoker, Throttled

log = logging.getLogger(__name__)


def answer(status: int, message: str) -> ProxyResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return ProxyResponse(status, [("Content-Type", "application/json")], body)


NOT_FOUND = (404, "Not Found")
FORBIDDEN = (403, "Forbidden")
TOO_MANY_REQUESTS = (429, "Too Many Requests")
INTERNAL_SERVER_ERROR = (500, "Internal Server Error")


def new_request_id() -> str:
    """An id shaped like HTTP APIs' (16 characters of base64, e.g. "MIZRNhJtIAMEMDw=")."""
    return base64.b64encode(os.urandom(11)).decode().replace("+", "A").replace("/", "B")


@dataclass(frozen=True)
class _FromIntegration:
    """The function's own response (not one of API Gateway's error answers)."""

    response: ProxyResponse


class HttpApiGateway:
    """Independent of the HTTP server (localcloud.apigw.server), so it is easy to test."""

    def __init__(self, catalog: HttpApiCatalog, invoker: Invoker, account_id: str) -> None:
        self._catalog = catalog
        self._invoker = invoker
        self._account_id = account_id
        self._throttles = Throttles()

    def serves(self, api_id: str) -> bool:
        return self._catalog.serves(api_id)

    def handle(self, api_id: str, request: IncomingRequest) -> ProxyResponse:
        """`request.path` is the path below the API id, as sent (not decoded)."""
        request_id = new_request_id()
        response = self._handle(api_id, request, request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _handle(self, api_id: str, request: IncomingRequest, request_id: str) -> ProxyResponse:
        cors = self._catalog.cors(api_id)
        try:
            route = self._catalog.find_route(api_id, request.method, request.path)
        except EndpointDisabled:
            return answer(*FORBIDDEN)
        except NotFound:
            route = None
        preflight = http_cors.preflight(cors, request)  # answered with or without a route
        if preflight is not None:
            return preflight
        if route is None:
            return answer(*NOT_FOUND)
        owner = f"{api_id}:{route.stage}:{route.route_key}"
        # On AWS a rate or burst limit of 0 blocks every request to the route.
        if not self._throttles.allow(owner, route.throttle, zero_blocks=True):
            return answer(*TOO_MANY_REQUESTS)
        response = self._integrate(route, request, request_id)
        if isinstance(response, _FromIntegration):  # CORS headers go on these only
            return http_cors.decorate(cors, request, response.response)
        return response

    def _integrate(
        self, route: HttpRoute, request: IncomingRequest, request_id: str
    ) -> ProxyResponse | _FromIntegration:
        function_arn = route.lambda_arn()
        if function_arn is None or (route.integration_type or "").upper() != "AWS_PROXY":
            log.error(
                "%s %s: route %s has no Lambda proxy integration (got %s %s)",
                request.method,
                route.raw_path,
                route.route_key,
                route.integration_type,
                route.integration_uri,
            )
            return answer(*INTERNAL_SERVER_ERROR)
        v1 = route.payload_format_version == "1.0"
        build = build_event_v1 if v1 else build_event_v2
        event = build(request, route, self._account_id, request_id)
        try:
            result = self._invoker.invoke(function_arn, event)
        except Throttled:
            return answer(*TOO_MANY_REQUESTS)
        except FunctionNotFound:
            log.error("integration target %s does not exist", function_arn)
            return answer(*INTERNAL_SERVER_ERROR)
        if not result.ok:
            log.warning("function error behind %s: %s", route.route_key, result.payload[:500])
            return answer(*INTERNAL_SERVER_ERROR)
        try:
            return _FromIntegration((map_response_v1 if v1 else map_response_v2)(result.payload))
        except MalformedProxyResponse as exc:
            log.warning("malformed Lambda response from %s: %s", function_arn, exc)
            return answer(*INTERNAL_SERVER_ERROR)
