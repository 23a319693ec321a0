"""What the API Gateway data plane needs from moto's control plane: routes, keys, usage plans,
gateway responses.

Read straight from moto's in-process API Gateway backend on every request: it is a few dict
lookups, and unlike a cached copy fetched over the API it can never serve a stale route or key
right after a deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from moto.apigateway.models import APIGatewayBackend, apigateway_backends

_LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Route:
    api_id: str
    stage: str
    resource_id: str
    resource_path: str  # e.g. /rides/{id}
    http_method: str  # the method as configured (may be ANY)
    path_parameters: dict[str, str]
    api_key_required: bool
    integration_type: str | None
    integration_uri: str | None
    stage_variables: dict[str, str]
    binary_media_types: tuple[str, ...]

    def lambda_arn(self) -> str | None:
        """The function an AWS_PROXY integration calls (stage variables substituted)."""
        if self.integration_uri is None:
            return None
        uri = _STAGE_VARIABLE.sub(
            lambda m: self.stage_variables.get(m.group(1), ""), self.integration_uri
        )
        match = _LAMBDA_URI.match(uri)
        return match.group("fn") if match else None


@dataclass(frozen=True)
class KeyCheck:
    allowed: bool
    key_id: str | None = None
    plan_id: str | None = None
    throttle: dict[str, Any] | None = None
    quota: dict[str, Any] | None = None


@dataclass(frozen=True)
class GatewayResponseSpec:
    """One customised gateway response (PutGatewayResponse's fields)."""

    status_code: str | None
    response_parameters: dict[str, str]
    response_templates: dict[str, str]


class StageNotFound(LookupError):
    pass


class RouteNotFound(LookupError):
    pass


class ApiCatalog:
    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region

    @property
    def region(self) -> str:
        return self._region

    @property
    def _backend(self) -> APIGatewayBackend:
        return apigateway_backends[self._account_id][self._region]

    def find_route(self, api_id: str, stage_name: str, method: str, path: str) -> Route:
        api = self._backend.apis.get(api_id)
        if api is None or stage_name not in api.stages:
            raise StageNotFound(f"{api_id}/{stage_name}")
        stage = api.stages[stage_name]
        best: tuple[tuple[int, int, int], Any, dict[str, str]] | None = None
        for resource in list(api.resources.values()):
            params = _match_path(resource.get_path(), path)
            if params is None:
                continue
            score = _specificity(resource.get_path())
            if best is None or score > best[0]:
                best = (score, resource, params)
        if best is None:
            raise RouteNotFound(path)
        _, resource, params = best
        methods = resource.resource_methods
        method_model = methods.get(method) or methods.get("ANY")
        if method_model is None:
            raise RouteNotFound(f"{method} {path}")
        integration = method_model.method_integration
        return Route(
            api_id=api_id,
            stage=stage_name,
            resource_id=resource.id,
            resource_path=resource.get_path(),
            http_method=method_model.http_method,
            path_parameters=params,
            api_key_required=bool(method_model.api_key_required),
            integration_type=getattr(integration, "integration_type", None),
            integration_uri=getattr(integration, "uri", None),
            stage_variables=dict(stage.variables or {}),
            binary_media_types=tuple(api.binaryMediaTypes or ()),
        )

    def stage_throttle(self, route: Route) -> dict[str, Any] | None:
        """Stage-level throttling from MethodSettings (`*/*` or this resource/method)."""
        api = self._backend.apis.get(route.api_id)
        stage = api.stages.get(route.stage) if api else None
        settings = dict(getattr(stage, "method_settings", None) or {})
        escaped = route.resource_path.replace("/", "~1")
        for key in (f"{escaped}/{route.http_method}", "*/*"):
            entry = settings.get(key) or {}
            rate, burst = entry.get("throttlingRateLimit"), entry.get("throttlingBurstLimit")
            if rate is not None or burst is not None:
                return {"rateLimit": rate, "burstLimit": burst}
        return None

    def stage_variables(self, api_id: str, stage_name: str) -> dict[str, str]:
        api = self._backend.apis.get(api_id)
        stage = api.stages.get(stage_name) if api else None
        return dict(getattr(stage, "variables", None) or {})

    def gateway_responses(self, api_id: str) -> dict[str, GatewayResponseSpec]:
        """The API's customised gateway responses by response type (e.g. DEFAULT_4XX)."""
        api = self._backend.apis.get(api_id)
        stored = dict(getattr(api, "gateway_responses", None) or {})
        return {
            response_type: GatewayResponseSpec(
                status_code=response.status_code,
                response_parameters=dict(response.response_parameters or {}),
                response_templates=dict(response.response_templates or {}),
            )
            for response_type, response in stored.items()
        }

    def check_api_key(self, api_id: str, stage: str, key_value: str | None) -> KeyCheck:
        """A key is valid when it exists, is enabled and is in a usage plan for this stage."""
        if not key_value:
            return KeyCheck(False)
        backend = self._backend
        key = next((k for k in list(backend.keys.values()) if k.value == key_value), None)
        if key is None or not _truthy(key.enabled):
            return KeyCheck(False)
        for plan_id, plan_keys in list(backend.usage_plan_keys.items()):
            if key.id not in plan_keys:
                continue
            plan = backend.usage_plans.get(plan_id)
            if plan is None:
                continue
            for api_stage in plan.api_stages or []:
                if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                    return KeyCheck(
                        True, key.id, plan_id, plan.throttle or None, plan.quota or None
                    )
        return KeyCheck(False)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _match_path(template: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` matches the resource template, else None."""
    template_parts = [p for p in template.split("/") if p]
    path_parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    for index, part in enumerate(template_parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = path_parts[index:]
            if not rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(path_parts):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = path_parts[index]
        elif part != path_parts[index]:
            return None
    return params if len(template_parts) == len(path_parts) else None


def _specificity(template: str) -> tuple[int, int, int]:
    # Literal segments beat {param}, which beats {proxy+}: API Gateway's own precedence.
    parts = [p for p in template.split("/") if p]
    greedy = sum(p.endswith("+}") for p in parts)
    params = sum(p.startswith("{") for p in parts) - greedy
    return (len(parts) - params - greedy, -greedy, len(parts))
