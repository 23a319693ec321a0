"""What the data plane needs from moto's apigatewayv2 backend to serve an HTTP API request: the
stage, the route and its integration, selected the way HTTP APIs select them.

Read from moto's in-process backend on every request (a few dict lookups), like the REST
catalog, so a deploy is served the moment it completes.

Stage selection (AWS): a request whose first path segment names a stage goes to that stage, with
the segment removed for route matching (but kept in rawPath); any other request goes to the
`$default` stage, whole; with neither, the answer is 404 Not Found. Only a stage with AutoDeploy
is served: localcloud models no deployments, and a stage nothing was deployed to answers Not
Found on AWS too.

Route selection (AWS): the most specific match wins. Here that is: any route before `$default`;
routes without a greedy `{proxy+}` before greedy ones; then literal segments before path
variables, segment by segment from the left; then the route's own method before ANY.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, apigatewayv2_backends

from localcloud.apigw import http_route_keys as keys


@dataclass(frozen=True)
class HttpRoute:
    api_id: str
    stage: str
    route_key: str  # "GET /rides/{id}" or "$default"
    resource_path: str  # the route's path ("/rides/{id}"), or "$default"
    raw_path: str  # as the client sent it below the API: "/dev/rides/1/" on stage dev
    path_parameters: dict[str, str]
    stage_variables: dict[str, str]
    integration_type: str | None
    integration_uri: str | None
    payload_format_version: str | None
    throttle: dict[str, Any] | None  # {"rateLimit", "burstLimit"} of the route or the stage

    def lambda_arn(self) -> str | None:
        return keys.lambda_function(self.integration_uri, self.stage_variables)


class NotFound(LookupError):
    """No stage or route takes the request: 404 {"message":"Not Found"}."""


class EndpointDisabled(LookupError):
    """The API's execute-api endpoint is disabled (DisableExecuteApiEndpoint): 403 Forbidden."""


class HttpApiCatalog:
    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region

    @property
    def _backend(self) -> ApiGatewayV2Backend:
        return apigatewayv2_backends[self._account_id][self._region]

    def _api(self, api_id: str) -> Api | None:
        api = self._backend.apis.get(api_id)
        return api if api is not None and api.protocol_type == "HTTP" else None

    def serves(self, api_id: str) -> bool:
        """Whether `api_id` is an HTTP API (else the request is a REST API's, or nobody's)."""
        return self._api(api_id) is not None

    def cors(self, api_id: str) -> dict[str, Any] | None:
        """The API's CORS configuration (CorsConfiguration or the body's), None without one."""
        api = self._api(api_id)
        config = api.cors_configuration if api is not None else None
        return config if isinstance(config, dict) and config else None

    def find_route(self, api_id: str, method: str, raw_path: str) -> HttpRoute:
        """The route for `method raw_path` (the path below the API id, as sent)."""
        api = self._api(api_id)
        if api is None:
            raise NotFound(api_id)
        if str(api.disable_execute_api_endpoint).lower() == "true":
            raise EndpointDisabled(api_id)
        raw_segments = [part for part in raw_path.split("/") if part]
        segments = tuple(unquote(part) for part in raw_segments)
        stages = dict(api.stages)
        if segments and segments[0] != keys.DEFAULT_STAGE and segments[0] in stages:
            stage, segments = stages[segments[0]], segments[1:]
        elif keys.DEFAULT_STAGE in stages:
            stage = stages[keys.DEFAULT_STAGE]
        else:
            raise NotFound(raw_path)
        if str(stage.auto_deploy).lower() != "true":
            raise NotFound(f"stage {stage.name} has no deployment")
        route, params = _select(list(api.routes.values()), method, segments)
        integration = None
        target = str(route.target or "")
        if target.startswith("integrations/"):
            integration = api.integrations.get(target[len("integrations/") :])
        parsed = keys.parse_route_key(route.route_key)
        return HttpRoute(
            api_id=api_id,
            stage=stage.name,
            route_key=route.route_key,
            resource_path=(
                keys.DEFAULT_ROUTE if parsed.is_default else "/" + "/".join(parsed.segments)
            ),
            # As sent (trailing slash, `//` and all): only route matching normalises it.
            raw_path=raw_path or "/",
            path_parameters=params,
            stage_variables=dict(stage.stage_variables or {}),
            integration_type=getattr(integration, "integration_type", None),
            integration_uri=getattr(integration, "integration_uri", None),
            payload_format_version=getattr(integration, "payload_format_version", None),
            throttle=_throttle(stage, route.route_key),
        )


def _select(routes: list[Any], method: str, segments: tuple[str, ...]) -> tuple[Any, dict]:
    best: tuple[tuple[Any, ...], Any, dict[str, str]] | None = None
    for route in routes:
        try:
            key = keys.parse_route_key(route.route_key)
        except ValueError:
            continue  # made through the API with a key HTTP APIs would refuse
        if key.is_default:
            rank: tuple[Any, ...] = (0,)
            params: dict[str, str] | None = {}
        else:
            if key.method not in (method, "ANY"):
                continue
            params = keys.match_path(key, segments)
            if params is None:
                continue
            literals = tuple(int(not part.startswith("{")) for part in key.segments)
            rank = (1, int(not key.greedy), literals, int(key.method == method))
        if best is None or rank > best[0]:
            best = (rank, route, params)
    if best is None:
        raise NotFound(f"{method} /{'/'.join(segments)}")
    return best[1], best[2]


def _throttle(stage: Any, route_key: str) -> dict[str, Any] | None:
    """The route's own throttling settings, else the stage's default route settings."""
    for settings in (
        (stage.route_settings or {}).get(route_key),
        getattr(stage, "default_route_settings", None),
    ):
        settings = settings or {}
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is not None or burst is not None:
            return {"rateLimit": rate, "burstLimit": burst}
    return None
