"""API Gateway data plane: serves every deployed REST API stage and HTTP API over HTTP on
127.0.0.1.

moto only implements the control plane, so requests are served here on a separate port (default
4567): `invoke_url(api_id, stage)` gives `http://127.0.0.1:PORT/<api-id>/<stage>`. Two more URL
forms reach the same stage, for tools that build them: `/restapis/<api-id>/<stage>/_user_request_/`
(LocalStack's) and `Host: <api-id>.execute-api.localhost:PORT` with `/<stage>/...`.

Per request, like API Gateway: route by resource path and method, API key + usage plan check
(403), throttling (429), then the AWS_PROXY Lambda integration; a function error or malformed
response is a 502, an unknown route a 403 "Missing Authentication Token". Those errors take the
API's gateway responses (status, headers, body) when it defines them: see localcloud.apigw.errors.

HTTP APIs (API Gateway v2) share the port: `http://127.0.0.1:PORT/<api-id>/<path>` reaches the
`$default` stage (no stage in the path, as on AWS) and `/<api-id>/<stage>/<path>` a named one;
`Host: <api-id>.execute-api.localhost:PORT` with `/<path>` or `/<stage>/<path>` too. A request is
an HTTP API's when its API id is one; see localcloud.apigw.http_api for how it is served.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.apigw.errors import (
    API_CONFIGURATION_ERROR,
    INTEGRATION_FAILURE,
    INVALID_API_KEY,
    MALFORMED_PROXY_RESPONSE,
    MISSING_AUTHENTICATION_TOKEN,
    QUOTA_EXCEEDED,
    THROTTLED,
    UNKNOWN_STAGE,
    ErrorContext,
    GatewayError,
    render,
)
from localcloud.apigw.http_api import INTERNAL_SERVER_ERROR, HttpApiGateway, answer
from localcloud.apigw.http_routes import HttpApiCatalog
from localcloud.apigw.proxy import (
    IncomingRequest,
    MalformedProxyResponse,
    ProxyResponse,
    build_event,
    map_response,
)
from localcloud.apigw.routes import ApiCatalog, Route, RouteNotFound, StageNotFound
from localcloud.apigw.throttle import Throttles
from localcloud.lambda_runtime.functions import FunctionNotFound
from localcloud.lambda_runtime.invoker import Invoker, Throttled
from localcloud.loopback import BIND_ADDRESS, refusal, refusal_body

log = logging.getLogger(__name__)

DEFAULT_PORT = 4567


def _built_in(error: GatewayError) -> ProxyResponse:
    """API Gateway's own answer, for requests that reach no deployed stage."""
    return render(error, {}, ErrorContext(api_id="", stage="", request_id=""))


class ApiGateway:
    """Resolves and runs one request; independent of the HTTP server so it is easy to test."""

    def __init__(self, catalog: ApiCatalog, invoker: Invoker, account_id: str) -> None:
        self._catalog = catalog
        self._invoker = invoker
        self._account_id = account_id
        self._throttles = Throttles()
        # HTTP APIs of the same account and region, served on the same port.
        self.http_apis = HttpApiGateway(
            HttpApiCatalog(account_id, catalog.region), invoker, account_id
        )

    def handle(self, api_id: str, stage: str, request: IncomingRequest) -> ProxyResponse:
        request_id = str(uuid.uuid4())
        outcome = self._handle(api_id, stage, request, request_id)
        if isinstance(outcome, _Failure):
            if outcome.error is UNKNOWN_STAGE:
                responses, variables = {}, {}
            else:
                responses = self._catalog.gateway_responses(api_id)
                variables = self._catalog.stage_variables(api_id, stage)
            context = ErrorContext(api_id, stage, request_id, request, outcome.route, variables)
            response = render(outcome.error, responses, context)
        else:
            response = outcome
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.append(("x-amz-apigw-id", uuid.uuid4().hex[:16] + "="))
        return response

    def _handle(
        self, api_id: str, stage: str, request: IncomingRequest, request_id: str
    ) -> ProxyResponse | _Failure:
        try:
            route = self._catalog.find_route(api_id, stage, request.method, request.path)
        except StageNotFound:
            return _Failure(UNKNOWN_STAGE)
        except RouteNotFound:
            return _Failure(MISSING_AUTHENTICATION_TOKEN)

        key_value = _header(request.headers, "x-api-key")
        key_id = None
        if route.api_key_required:
            check = self._catalog.check_api_key(api_id, stage, key_value)
            if not check.allowed:
                return _Failure(INVALID_API_KEY, route)
            key_id = check.key_id
            owner = f"{check.plan_id}:{check.key_id}"
            if not self._throttles.allow(f"key:{owner}", check.throttle):
                return _Failure(THROTTLED, route)
            if not self._throttles.within_quota(f"quota:{owner}", check.quota):
                return _Failure(QUOTA_EXCEEDED, route)
        stage_throttle = self._catalog.stage_throttle(route)
        if not self._throttles.allow(f"stage:{api_id}:{stage}", stage_throttle):
            return _Failure(THROTTLED, route)
        return self._integrate(route, request, request_id, (key_value, key_id))

    def _integrate(
        self,
        route: Route,
        request: IncomingRequest,
        request_id: str,
        api_key: tuple[str | None, str | None],
    ) -> ProxyResponse | _Failure:
        function_arn = route.lambda_arn()
        if (route.integration_type or "").upper() != "AWS_PROXY" or function_arn is None:
            log.error(
                "%s %s: only AWS_PROXY Lambda integrations are served locally (got %s %s)",
                request.method,
                route.resource_path,
                route.integration_type,
                route.integration_uri,
            )
            return _Failure(API_CONFIGURATION_ERROR, route)
        event = build_event(request, route, self._account_id, request_id, api_key)
        try:
            result = self._invoker.invoke(function_arn, event)
        except Throttled:
            return _Failure(THROTTLED, route)
        except FunctionNotFound:
            log.error("integration target %s does not exist", function_arn)
            return _Failure(INTEGRATION_FAILURE, route)
        if not result.ok:
            log.warning("function error behind %s: %s", route.resource_path, result.payload[:500])
            return _Failure(INTEGRATION_FAILURE, route)
        try:
            return map_response(result.payload)
        except MalformedProxyResponse as exc:
            log.warning("malformed Lambda proxy response from %s: %s", function_arn, exc)
            return _Failure(MALFORMED_PROXY_RESPONSE, route)


@dataclass(frozen=True)
class _Failure:
    """A request API Gateway answers itself, with the gateway response for `error`."""

    error: GatewayError
    route: Route | None = None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def split_http_api_target(host: str, raw_path: str) -> tuple[str, str] | None:
    """(API id, path below it as sent) for an HTTP API's URL forms, or None. Whether the id is an
    HTTP API's is the gateway's to say."""
    host_name = host.split(":", 1)[0]
    if ".execute-api." in host_name:
        return host_name.split(".", 1)[0], raw_path or "/"
    api_id, _, rest = raw_path.lstrip("/").partition("/")
    return (unquote(api_id), "/" + rest) if api_id else None


def split_target(host: str, raw_path: str) -> tuple[str, str, str] | None:
    """(api id, stage, path below the stage) for the three URL forms, or None."""
    path = unquote(raw_path)
    host_name = host.split(":", 1)[0]
    if ".execute-api." in host_name:
        api_id = host_name.split(".", 1)[0]
        parts = path.lstrip("/").split("/", 1)
        rest = "/" + parts[1] if len(parts) > 1 else "/"
        return (api_id, parts[0], rest) if parts[0] else None
    parts = path.lstrip("/").split("/")
    if parts[0] == "restapis" and len(parts) >= 4 and parts[3] == "_user_request_":
        return parts[1], parts[2], "/" + "/".join(parts[4:])
    if len(parts) >= 2 and parts[0] and parts[1]:
        return parts[0], parts[1], "/" + "/".join(parts[2:])
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reason = refusal(self.headers.get("Host"), self.headers.get("Origin"))
        if reason is not None:  # before any routing: a foreign page never reaches a function
            headers = [("Content-Type", "application/json")]
            self._send(ProxyResponse(403, headers, refusal_body(reason)))
            return
        http_api = split_http_api_target(self.headers.get("Host", ""), url.path)
        if http_api is not None and self.server.gateway.http_apis.serves(http_api[0]):
            self._serve_http_api(*http_api, url.query, body)
            return
        target = split_target(self.headers.get("Host", ""), url.path)
        if target is None:
            self._send(_built_in(MISSING_AUTHENTICATION_TOKEN))
            return
        api_id, stage, path = target
        request = IncomingRequest(
            method=self.command,
            path=path,
            raw_query=url.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response = self.server.gateway.handle(api_id, stage, request)
        except Exception:
            log.exception("API Gateway request failed")
            response = _built_in(API_CONFIGURATION_ERROR)
        self._send(response)

    def _serve_http_api(self, api_id: str, raw_path: str, raw_query: str, body: bytes) -> None:
        request = IncomingRequest(
            method=self.command,
            path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response = self.server.gateway.http_apis.handle(api_id, request)
        except Exception:
            log.exception("HTTP API request failed")
            response = answer(*INTERNAL_SERVER_ERROR)
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _send(self, response: ProxyResponse) -> None:
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("apigw %s - %s", self.client_address[0], format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    gateway: ApiGateway


class ApiGatewayServer:
    def __init__(self, gateway: ApiGateway, port: int = DEFAULT_PORT) -> None:
        self._server = _Server((BIND_ADDRESS, port), _Handler)
        self._server.gateway = gateway
        self._thread = threading.Thread(
            # A short poll interval: stop() waits for the loop to notice (0.5 s by default).
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="localcloud-apigw",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{BIND_ADDRESS}:{self.port}"

    def invoke_url(self, api_id: str, stage: str) -> str:
        return f"{self.base_url}/{api_id}/{stage}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
