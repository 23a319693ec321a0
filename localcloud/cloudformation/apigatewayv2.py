"""HTTP APIs (API Gateway v2), which moto's CloudFormation does not model at all: the API (from an
OpenAPI body, as SAM writes `AWS::Serverless::HttpApi` and a function's `HttpApi` events, by
quick create, or bare for hand-written routes), its stages, routes and integrations.

Everything lands in moto's apigatewayv2 backend, so GetApis / GetRoutes / GetIntegrations /
GetStages answer for it and localcloud.apigw serves it from there. What localcloud cannot serve
fails the resource, before anything is created, with the reason: an integration that is not a
Lambda proxy (HTTP_PROXY, private integrations, AWS service integrations), a URI that names no
Lambda function, a route key HTTP APIs would reject, a body that is not OpenAPI.

moto's own ImportApi is not used for the body: it names `x-amazon-apigateway-any-method` routes
"X-AMAZON-APIGATEWAY-ANY-METHOD /path", fails on a path's `parameters` list (SAM writes one for
every path variable) and drops the `$default` route.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, apigatewayv2_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localcloud.apigw import http_route_keys as keys
from localcloud.cloudformation.base import Handler, camel_case_keys
from localcloud.cloudformation.lifecycle import ResourceFailed

_OPENAPI_METHODS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}
_INTEGRATION = "x-amazon-apigateway-integration"
_SHARED_INTEGRATIONS = "x-amazon-apigateway-integrations"  # components-level, by $ref
_CORS = "x-amazon-apigateway-cors"
_TAG_VALUE = "x-amazon-apigateway-tag-value"
# HTTP APIs' integration timeout bounds (moto accepts anything int() takes, or raises later).
_MIN_TIMEOUT_MILLIS = 50
_MAX_TIMEOUT_MILLIS = 30000


def _v2(account_id: str, region: str) -> ApiGatewayV2Backend:
    return apigatewayv2_backends[account_id][region]


def _http_api(account_id: str, region: str, api_id: Any) -> Api:
    api = _v2(account_id, region).apis.get(str(api_id))
    if api is None:
        raise ResourceFailed(f"Invalid API identifier specified {api_id}")
    if api.protocol_type != "HTTP":
        raise ResourceFailed(f"API {api_id} is not an HTTP API")
    return api


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# --- the OpenAPI body ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaIntegration:
    """An AWS_PROXY integration with a Lambda function, as localcloud serves it."""

    uri: str
    payload_format_version: str
    timeout_in_millis: int | None = None
    description: str = ""


@dataclass(frozen=True)
class ImportedRoute:
    route_key: str
    integration: LambdaIntegration | None
    operation_name: str | None = None


@dataclass(frozen=True)
class ImportedBody:
    """What an OpenAPI body defines for an HTTP API, checked before anything is created."""

    title: str | None
    version: str | None
    description: str | None
    routes: list[ImportedRoute]
    cors: dict[str, Any] | None
    tags: dict[str, str] = field(default_factory=dict)


def load_body(properties: dict[str, Any], account_id: str, region: str) -> Any:
    """The Body (an object, or JSON / YAML text) or the BodyS3Location's object; None if
    neither is set. Raises ResourceFailed for text that does not parse."""
    if "Body" in properties:
        body = properties["Body"]
        source = "Body"
    elif properties.get("BodyS3Location"):
        location = properties["BodyS3Location"]
        backend = s3_backends[account_id][get_partition(region)]
        try:
            key = backend.get_object(location["Bucket"], location["Key"])
        except Exception as error:
            raise ResourceFailed(
                message=f"BodyS3Location: cannot read s3://{location.get('Bucket')}/"
                f"{location.get('Key')} ({error})"
            ) from error
        body = key.value.decode("utf-8", errors="replace")  # type: ignore[union-attr]
        source = "BodyS3Location"
    else:
        return None
    if isinstance(body, str):
        try:
            return yaml.safe_load(body)  # YAML is a superset of JSON
        except yaml.YAMLError as error:
            raise ResourceFailed(
                message=f"{source} is not a valid OpenAPI definition: it does not parse as "
                f"JSON or YAML ({error})"
            ) from error
    return body


def parse_body(body: Any) -> ImportedBody:
    """The routes and integrations of an OpenAPI 3 (or Swagger 2) body; ResourceFailed naming
    the first thing localcloud cannot serve."""
    if not isinstance(body, dict):
        raise ResourceFailed("Body must be an OpenAPI definition (a JSON/YAML object)")
    if not (str(body.get("openapi", "")).startswith("3.") or str(body.get("swagger")) == "2.0"):
        raise ResourceFailed(
            message="Body is not an OpenAPI definition: it has no `openapi: 3.x` (or "
            '`swagger: "2.0"`) field'
        )
    paths = body.get("paths") or {}
    if not isinstance(paths, dict):
        raise ResourceFailed("Body: `paths` must be an object")
    shared = ((body.get("components") or {}).get(_SHARED_INTEGRATIONS)) or {}
    routes = []
    for path, item in paths.items():
        if not isinstance(item, dict):
            raise ResourceFailed(f"Body: path {path!r} must be an object")
        for name, operation in item.items():
            method = _OPENAPI_METHODS.get(str(name).lower())
            if method is None:
                continue  # parameters, summary, servers...
            if path == keys.DEFAULT_ROUTE:
                route_key = keys.DEFAULT_ROUTE
            else:
                route_key = f"{method} {path}"
                try:
                    keys.parse_route_key(route_key)
                except ValueError as error:
                    raise ResourceFailed(f"Body: {error}") from error
            operation = operation if isinstance(operation, dict) else {}
            spec = operation.get(_INTEGRATION)
            integration = (
                _lambda_integration(route_key, _resolved(spec, shared))
                if spec is not None
                else None
            )
            routes.append(ImportedRoute(route_key, integration, operation.get("operationId")))
    info = body.get("info") if isinstance(body.get("info"), dict) else {}
    tags = {
        str(tag["name"]): str(tag[_TAG_VALUE])
        for tag in body.get("tags") or []
        if isinstance(tag, dict) and "name" in tag and _TAG_VALUE in tag
    }
    cors = body.get(_CORS)
    return ImportedBody(
        title=str(info["title"]) if info.get("title") is not None else None,
        version=str(info["version"]) if info.get("version") is not None else None,
        description=info.get("description"),
        routes=routes,
        cors=cors if isinstance(cors, dict) else None,
        tags=tags,
    )


def _resolved(spec: Any, shared: dict[str, Any]) -> Any:
    """An integration given by `$ref` to components.x-amazon-apigateway-integrations."""
    if isinstance(spec, dict) and "$ref" in spec:
        prefix = f"#/components/{_SHARED_INTEGRATIONS}/"
        ref = str(spec["$ref"])
        if ref.startswith(prefix) and ref[len(prefix) :] in shared:
            return shared[ref[len(prefix) :]]
        raise ResourceFailed(f"Body: integration $ref {ref!r} resolves to nothing")
    return spec


def _lambda_integration(route_key: str, spec: Any) -> LambdaIntegration:
    if not isinstance(spec, dict):
        raise ResourceFailed(f"Body: {route_key}: {_INTEGRATION} must be an object")
    return lambda_integration(
        f"Body: {route_key}",
        integration_type=spec.get("type"),
        uri=spec.get("uri"),
        method=spec.get("httpMethod"),
        version=spec.get("payloadFormatVersion"),
        timeout=spec.get("timeoutInMillis"),
        description=str(spec.get("description") or ""),
    )


def lambda_integration(
    where: str,
    *,
    integration_type: Any,
    uri: Any,
    method: Any,
    version: Any,
    timeout: Any = None,
    description: str = "",
) -> LambdaIntegration:
    """A Lambda proxy integration, or ResourceFailed saying why localcloud cannot serve it."""
    if str(integration_type or "").upper() != "AWS_PROXY":
        raise ResourceFailed(
            message=f"{where}: integration type {integration_type!r} is not emulated: localcloud "
            "serves Lambda proxy integrations (aws_proxy) only"
        )
    if not keys.is_lambda_uri(uri):
        raise ResourceFailed(
            message=f"{where}: integration uri {uri!r} is not a Lambda function ARN (or "
            "arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function "
            "ARN>/invocations)"
        )
    if method is not None and str(method).upper() != "POST":
        raise ResourceFailed(
            message=f"{where}: a Lambda integration's httpMethod must be POST, not {method!r}"
        )
    payload_version = keys.payload_format_version(version)
    if payload_version is None:
        raise ResourceFailed(
            message=f'{where}: payloadFormatVersion must be "1.0" or "2.0" (required for '
            f"HTTP APIs), not {version!r}"
        )
    return LambdaIntegration(
        str(uri), payload_version, _timeout_millis(where, timeout), description
    )


def _timeout_millis(where: str, value: Any) -> int | None:
    """The integration timeout as an int, checked here because moto's Integration calls int()
    on it only once the API exists (a bare ValueError, half an import behind it)."""
    if value is None:
        return None
    try:
        millis = int(value)
    except (TypeError, ValueError):
        millis = None
    # int() would also take True and 29.9 without a word.
    if (
        isinstance(value, bool | float)
        or millis is None
        or not _MIN_TIMEOUT_MILLIS <= millis <= _MAX_TIMEOUT_MILLIS
    ):
        raise ResourceFailed(
            message=f"{where}: timeoutInMillis must be an integer between "
            f"{_MIN_TIMEOUT_MILLIS} and {_MAX_TIMEOUT_MILLIS} (HTTP APIs), not {value!r}"
        )
    return millis


def check_cors(where: str, config: Any) -> None:
    """API Gateway refuses credentials for any origin (CreateApi / UpdateApi / ImportApi answer
    BadRequestException): browsers refuse `*` with credentials, and reflecting every origin
    instead would hand any site the caller's cookies."""
    if not isinstance(config, dict) or not _truthy(config.get("allowCredentials")):
        return
    if "*" in [str(origin) for origin in config.get("allowOrigins") or []]:
        raise ResourceFailed(
            message=f"{where}: allow-credentials is not supported if 'allow-origin' is * "
            "(list the origins that may send credentials instead)"
        )


def _add_integration(api: Api, integration: LambdaIntegration, description: str) -> str:
    created = api.create_integration(
        connection_type="INTERNET",
        description=integration.description or description,
        integration_method="POST",
        integration_type="AWS_PROXY",
        integration_uri=integration.uri,
        payload_format_version=integration.payload_format_version,
        timeout_in_millis=integration.timeout_in_millis,
    )
    return str(created.id)


def import_body(backend: ApiGatewayV2Backend, api: Api, body: ImportedBody) -> None:
    """Replace the API's routes and integrations with the body's (its stages stay, as a
    reimport leaves them on AWS). The body was checked (parse_body); should moto still fail,
    the API keeps its previous routes and integrations rather than half of the new ones."""
    previous = (api.routes, api.integrations)
    api.routes, api.integrations = {}, {}
    try:
        for route in body.routes:
            target = None
            if route.integration is not None:
                target = f"integrations/{_add_integration(api, route.integration, 'Imported')}"
            api.create_route(
                api_key_required=False,
                authorization_scopes=[],
                route_key=route.route_key,
                target=target,  # type: ignore[arg-type]
                operation_name=route.operation_name,
            )
    except BaseException:
        api.routes, api.integrations = previous
        raise
    if body.cors is not None and not api.cors_configuration:  # CorsConfiguration wins
        api.cors_configuration = body.cors  # type: ignore[assignment]
    if body.tags:
        backend.tag_resource(api.arn, body.tags)


# --- the resources ------------------------------------------------------------------------------


class HttpApi(Handler):
    """AWS::ApiGatewayV2::Api with ProtocolType HTTP. Ref is the API id; GetAtt ApiId and
    ApiEndpoint (https://<id>.execute-api.<region>.amazonaws.com, as on AWS: localcloud serves
    it at http://127.0.0.1:<API Gateway port>/<id>/, see localcloud.apigw.server)."""

    TYPE = "AWS::ApiGatewayV2::Api"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("ApiEndpoint", "ApiId")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> HttpApi:
        protocol = properties.get("ProtocolType") or "HTTP"
        if protocol != "HTTP":
            raise ResourceFailed(
                message=f"ProtocolType {protocol} is not emulated: localcloud serves HTTP APIs only"
            )
        raw_body = load_body(properties, account_id, region)
        body = parse_body(raw_body) if raw_body is not None else None
        if body is None and not properties.get("Name"):
            raise ResourceFailed("Name is required for an HTTP API without a Body")
        target = properties.get("Target")
        quick = None
        if target is not None:
            if body is not None:
                raise ResourceFailed("Target (quick create) cannot be used with a Body")
            route_key = properties.get("RouteKey") or keys.DEFAULT_ROUTE
            try:
                keys.parse_route_key(route_key)
            except ValueError as error:
                raise ResourceFailed(f"RouteKey: {error}") from error
            quick = (
                route_key,
                lambda_integration(
                    "Target", integration_type="AWS_PROXY", uri=target, method=None, version="2.0"
                ),
            )
        cors = camel_case_keys(properties.get("CorsConfiguration"))
        check_cors("CorsConfiguration", cors)
        if body is not None:
            check_cors(f"Body: {_CORS}", body.cors)
        backend = _v2(account_id, region)
        api = backend.create_api(
            api_key_selection_expression=properties.get("ApiKeySelectionExpression"),  # type: ignore[arg-type]
            cors_configuration=cors,
            description=properties.get("Description") or (body.description if body else None),  # type: ignore[arg-type]
            disable_schema_validation=properties.get("DisableSchemaValidation"),  # type: ignore[arg-type]
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),  # type: ignore[arg-type]
            name=properties.get("Name") or (body.title if body else None) or name,
            protocol_type="HTTP",
            route_selection_expression=properties.get("RouteSelectionExpression"),  # type: ignore[arg-type]
            tags=dict(properties.get("Tags") or {}),
            version=properties.get("Version") or (body.version if body else None),  # type: ignore[arg-type]
        )
        try:
            if body is not None:
                import_body(backend, api, body)
            if quick is not None:
                route_key, integration = quick
                integration_id = _add_integration(api, integration, "Quick create")
                api.create_route(
                    api_key_required=False,
                    authorization_scopes=[],
                    route_key=route_key,
                    target=f"integrations/{integration_id}",
                )
                api.create_stage({"stageName": keys.DEFAULT_STAGE, "autoDeploy": True})
        except BaseException:
            # A failed resource leaves nothing behind: the stack's rollback never saw this API.
            backend.delete_api(api.api_id)
            raise
        return cls(api.api_id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("Target") != self.properties.get("Target") or properties.get(
            "RouteKey"
        ) != self.properties.get("RouteKey"):
            return super().update(properties, name)  # quick create: a new API, as on AWS
        # Everything is checked before the live API changes: a failed update leaves it as it was.
        raw_body = load_body(properties, self.account_id, self.region)
        body = parse_body(raw_body) if raw_body is not None else None
        cors = camel_case_keys(properties.get("CorsConfiguration"))
        check_cors("CorsConfiguration", cors)
        if body is not None:
            check_cors(f"Body: {_CORS}", body.cors)
        backend = _v2(self.account_id, self.region)
        api = _http_api(self.account_id, self.region, self.physical_id)
        if body is not None:
            import_body(backend, api, body)
        api.name = properties.get("Name") or (body.title if body else None) or api.name
        api.description = properties.get("Description") or (body.description if body else None)  # type: ignore[assignment]
        api.version = properties.get("Version") or (body.version if body else None)  # type: ignore[assignment]
        api.cors_configuration = cors
        if body is not None and body.cors is not None and not cors:  # CorsConfiguration wins
            api.cors_configuration = body.cors  # type: ignore[assignment]
        api.disable_execute_api_endpoint = properties.get("DisableExecuteApiEndpoint") or False  # type: ignore[assignment]
        backend.tag_resource(api.arn, dict(properties.get("Tags") or {}))
        self.properties = properties
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "ApiId":
            return self.physical_id
        if attribute_name == "ApiEndpoint":
            return _v2(self.account_id, self.region).get_api(self.physical_id).api_endpoint
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _v2(account_id, region_name).delete_api(self.physical_id)


def _route_settings(value: Any) -> dict[str, Any]:
    """RouteSettings keyed by route key: the keys stay as written ("GET /rides"), only the
    settings inside become camelCase."""
    if not isinstance(value, dict):
        return {}
    return {str(key): camel_case_keys(settings) for key, settings in value.items()}


_THROTTLING = ("throttlingBurstLimit", "throttlingRateLimit")


def checked_throttling(where: str, settings: Any) -> Any:
    """Route settings with their throttling limits as numbers: the data plane reads them on
    every request (localcloud.apigw.throttle), so a limit that is no number fails the deploy
    rather than every request with a 500."""
    if not isinstance(settings, dict):
        return settings
    checked = dict(settings)
    for name in _THROTTLING:
        value = checked.get(name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not (math.isfinite(number) and number >= 0):
            raise ResourceFailed(
                message=f"{where}: {name[:1].upper()}{name[1:]} must be a non-negative number, "
                f"not {value!r}"
            )
        checked[name] = int(number) if number.is_integer() else number
    return checked


def _stage_config(stage_name: str, properties: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "stageName": stage_name,
        "autoDeploy": _truthy(properties.get("AutoDeploy", False)),
        "stageVariables": dict(properties.get("StageVariables") or {}),
        "description": properties.get("Description"),
        "routeSettings": {
            key: checked_throttling(f"RouteSettings {key}", settings)
            for key, settings in _route_settings(properties.get("RouteSettings")).items()
        },
        "accessLogSettings": camel_case_keys(properties.get("AccessLogSettings")),
        "clientCertificateId": properties.get("ClientCertificateId"),
        "tags": dict(properties.get("Tags") or {}),
    }
    if properties.get("DefaultRouteSettings"):
        config["defaultRouteSettings"] = checked_throttling(
            "DefaultRouteSettings", camel_case_keys(properties["DefaultRouteSettings"])
        )
    return config


class HttpApiStage(Handler):
    """AWS::ApiGatewayV2::Stage of an HTTP API. Ref is the stage name. Only a stage with
    AutoDeploy is served: localcloud does not model deployments (AWS::ApiGatewayV2::Deployment is
    refused), and on AWS a stage nothing was deployed to answers Not Found too."""

    TYPE = "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> HttpApiStage:
        api = _http_api(account_id, region, properties.get("ApiId"))
        stage_name = str(properties.get("StageName") or "")
        if not stage_name:
            raise ResourceFailed("StageName is required")
        if stage_name in api.stages:
            raise ResourceFailed(f"Stage already exists: {stage_name}")
        api.create_stage(_stage_config(stage_name, properties))
        return cls(stage_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if (
            properties.get("ApiId") != self.properties.get("ApiId")
            or properties.get("StageName") != self.physical_id
        ):
            return super().update(properties, name)
        api = _http_api(self.account_id, self.region, properties["ApiId"])
        created = api.stages[self.physical_id].created
        stage = api.create_stage(_stage_config(self.physical_id, properties))
        stage.created = created
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        api = _v2(account_id, region_name).apis.get(str(self.properties.get("ApiId")))
        if api is not None:  # else the API went first, its stages with it
            api.delete_stage(self.physical_id)


class HttpApiIntegration(Handler):
    """AWS::ApiGatewayV2::Integration: a Lambda proxy integration (anything else is refused).
    Ref is the integration id."""

    TYPE = "AWS::ApiGatewayV2::Integration"
    ATTRIBUTES = ("IntegrationId",)

    @staticmethod
    def _checked(properties: dict[str, Any]) -> LambdaIntegration:
        return lambda_integration(
            "Integration",
            integration_type=properties.get("IntegrationType"),
            uri=properties.get("IntegrationUri"),
            method=properties.get("IntegrationMethod"),
            version=properties.get("PayloadFormatVersion"),
            timeout=properties.get("TimeoutInMillis"),
            description=str(properties.get("Description") or ""),
        )

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> HttpApiIntegration:
        integration = cls._checked(properties)
        api = _http_api(account_id, region, properties.get("ApiId"))
        integration_id = _add_integration(api, integration, "")
        return cls(integration_id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("ApiId") != self.properties.get("ApiId"):
            return super().update(properties, name)
        checked = self._checked(properties)
        api = _http_api(self.account_id, self.region, properties["ApiId"])
        stored = api.get_integration(self.physical_id)
        stored.integration_uri = checked.uri
        stored.payload_format_version = checked.payload_format_version
        stored.description = checked.description
        stored.timeout_in_millis = checked.timeout_in_millis or _MAX_TIMEOUT_MILLIS
        self.properties = properties
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "IntegrationId":
            return self.physical_id
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _v2(account_id, region_name).apis.get(str(self.properties.get("ApiId")))
        if api is not None:
            api.delete_integration(self.physical_id)


_TARGET_PREFIX = "integrations/"


def _check_unique_key(api: Api, route_key: str, route_id: str | None) -> None:
    """One route per key, as AWS's ConflictException enforces: `route_id` is the route being
    updated (its own key is no conflict)."""
    if any(
        route.route_key == route_key and route.route_id != route_id for route in api.routes.values()
    ):
        raise ResourceFailed(f"Route with key {route_key} already exists for this API")


class HttpApiRoute(Handler):
    """AWS::ApiGatewayV2::Route: `METHOD /path` or `$default`, targeting an integration of the
    same API. Ref is the route id."""

    TYPE = "AWS::ApiGatewayV2::Route"
    ATTRIBUTES = ("RouteId",)

    @staticmethod
    def _checked(api: Api, properties: dict[str, Any]) -> tuple[str, str | None]:
        route_key = str(properties.get("RouteKey") or "")
        try:
            keys.parse_route_key(route_key)
        except ValueError as error:
            raise ResourceFailed(f"RouteKey: {error}") from error
        target = properties.get("Target")
        if target is not None:
            integration_id = str(target)[len(_TARGET_PREFIX) :]
            if not str(target).startswith(_TARGET_PREFIX) or integration_id not in api.integrations:
                raise ResourceFailed(
                    message=f"Target {target!r} is not integrations/<id> of an integration of "
                    f"API {api.api_id}"
                )
        return route_key, target

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> HttpApiRoute:
        api = _http_api(account_id, region, properties.get("ApiId"))
        route_key, target = cls._checked(api, properties)
        _check_unique_key(api, route_key, route_id=None)
        route = api.create_route(
            api_key_required=_truthy(properties.get("ApiKeyRequired", False)),
            authorization_scopes=list(properties.get("AuthorizationScopes") or []),
            route_key=route_key,
            target=target,  # type: ignore[arg-type]
            authorization_type=properties.get("AuthorizationType") or "NONE",
            authorizer_id=properties.get("AuthorizerId"),
            operation_name=properties.get("OperationName"),
            request_parameters=properties.get("RequestParameters"),
        )
        return cls(route.route_id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("ApiId") != self.properties.get("ApiId"):
            return super().update(properties, name)
        api = _http_api(self.account_id, self.region, properties["ApiId"])
        route_key, target = self._checked(api, properties)
        _check_unique_key(api, route_key, route_id=self.physical_id)
        route = api.get_route(self.physical_id)
        route.route_key = route_key
        route.target = target  # type: ignore[assignment]
        route.operation_name = properties.get("OperationName")
        route.authorization_type = properties.get("AuthorizationType") or "NONE"
        route.authorizer_id = properties.get("AuthorizerId")
        route.authorization_scopes = list(properties.get("AuthorizationScopes") or [])
        self.properties = properties
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "RouteId":
            return self.physical_id
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _v2(account_id, region_name).apis.get(str(self.properties.get("ApiId")))
        if api is not None:
            api.delete_route(self.physical_id)


def body_notes(value: Any) -> str | None:
    """What an HTTP API body defines that localcloud does not run (registry value note)."""
    body = value
    if isinstance(value, str):
        with contextlib.suppress(yaml.YAMLError):
            body = yaml.safe_load(value)
    if not isinstance(body, dict):
        return None
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    if isinstance(schemes, dict) and any(
        isinstance(s, dict) and "x-amazon-apigateway-authorizer" in s for s in schemes.values()
    ):
        return (
            "its authorizers (x-amazon-apigateway-authorizer) are not evaluated: every request "
            "reaches its route and requestContext has no authorizer"
        )
    return None
