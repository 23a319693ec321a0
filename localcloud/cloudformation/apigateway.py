"""API Gateway resources moto's CloudFormation skips or gets wrong: the REST API's OpenAPI body,
deployments, stages, API keys, usage plans and the account's CloudWatch role."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from moto.apigateway.models import APIGatewayBackend, apigateway_backends
from moto.cloudformation.utils import random_suffix
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localcloud.cloudformation.base import Handler, camel_case_keys, json_text, tag_map

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _apigw(account_id: str, region: str) -> APIGatewayBackend:
    return apigateway_backends[account_id][region]


def api_key_schemes(body: dict[str, Any]) -> set[str]:
    """Names of the security schemes that mean "x-api-key header" (OpenAPI 3 and Swagger 2).
    Also used by `patches.complete_openapi_import` for PutRestApi / ImportRestApi."""
    schemes = {
        **(body.get("securityDefinitions") or {}),
        **((body.get("components") or {}).get("securitySchemes") or {}),
    }
    return {
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, dict)
        and scheme.get("type") == "apiKey"
        and scheme.get("name", "").lower() == "x-api-key"
        and scheme.get("in") == "header"
        and "x-amazon-apigateway-authtype" not in scheme
    }


def import_openapi_body(backend: APIGatewayBackend, api_id: str, body: dict[str, Any]) -> None:
    """Build the API's resources, methods, integrations and gateway responses from an OpenAPI 3 /
    Swagger 2 body, replacing what it had. moto's own import handles OpenAPI 3 only and drops
    `security` and the gateway responses."""
    api = backend.get_rest_api(api_id)
    api.resources = {}
    api.default = api.add_child("/")
    api.root_resource_id = api.default.id
    key_schemes = api_key_schemes(body)
    default_security = body.get("security", [])
    for path, item in sorted(body.get("paths", {}).items()):
        resource = _resource_for_path(backend, api_id, path)
        for method_name, operation in item.items():
            name = method_name.lower()
            if name == "x-amazon-apigateway-any-method":
                http_method = "ANY"
            elif name in _HTTP_METHODS:
                http_method = name.upper()
            else:
                continue  # parameters, summary, servers...
            security = operation.get("security", default_security)
            needs_key = any(key_schemes & set(requirement) for requirement in security)
            backend.put_method(api_id, resource.id, http_method, "NONE", api_key_required=needs_key)
            for status in operation.get("responses", {}):
                backend.put_method_response(
                    api_id, resource.id, http_method, str(status), None, None
                )
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                args = backend._build_integration_args(integration)
                args["integration_type"] = (args["integration_type"] or "").upper()
                backend.put_integration(
                    function_id=api_id,
                    resource_id=resource.id,
                    method_type=http_method,
                    **{k: v for k, v in args.items() if v is not None},
                )
    api.gateway_responses = {}
    import_gateway_responses(backend, api_id, body)


_GATEWAY_RESPONSES_KEY = "x-amazon-apigateway-gateway-responses"


def import_gateway_responses(backend: APIGatewayBackend, api_id: str, body: dict[str, Any]) -> None:
    """Store the body's `x-amazon-apigateway-gateway-responses` (where SAM puts an Api's
    GatewayResponses) as the API's gateway responses, as PutGatewayResponse would.
    Also used by `patches.complete_openapi_import` for PutRestApi / ImportRestApi."""
    for response_type, response in (body.get(_GATEWAY_RESPONSES_KEY) or {}).items():
        if not isinstance(response, dict):
            continue
        status = response.get("statusCode")
        backend.put_gateway_response(
            api_id,
            response_type,
            status_code=str(status) if status is not None else None,
            response_parameters=response.get("responseParameters"),
            response_templates=response.get("responseTemplates"),
        )


def _resource_for_path(backend: APIGatewayBackend, api_id: str, path: str) -> Any:
    api = backend.get_rest_api(api_id)
    current = api.default
    walked = ""
    for part in [p for p in path.split("/") if p]:
        walked += "/" + part
        found = api.get_resource_for_path(walked)
        current = found or backend.create_resource(api_id, current.id, part)
    return current


class RestApi(Handler):
    """AWS::ApiGateway::RestApi: named (Name, else the Body's title) and built from its Body."""

    TYPE = "AWS::ApiGateway::RestApi"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("RootResourceId", "RestApiId")

    @staticmethod
    def _body(properties: dict[str, Any], account_id: str, region: str) -> dict[str, Any] | None:
        if "Body" in properties:
            body = properties["Body"]
            return json.loads(body) if isinstance(body, str) else body
        location = properties.get("BodyS3Location")
        if location:
            backend = s3_backends[account_id][get_partition(region)]
            key = backend.get_object(location["Bucket"], location["Key"])
            import yaml  # only templates that keep their OpenAPI file in S3 need YAML

            return yaml.safe_load(key.value)  # type: ignore[union-attr]
        return None

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> RestApi:
        body = cls._body(properties, account_id, region)
        title = ((body or {}).get("info") or {}).get("title")
        backend = _apigw(account_id, region)
        api = backend.create_rest_api(
            name=properties.get("Name") or title or name,
            description=properties.get("Description", ""),
            api_key_source=properties.get("ApiKeySourceType"),
            endpoint_configuration=camel_case_keys(properties.get("EndpointConfiguration")),
            tags=tag_map(properties.get("Tags")) or None,  # type: ignore[arg-type]
            policy=json_text(properties["Policy"]) if "Policy" in properties else None,
            minimum_compression_size=properties.get("MinimumCompressionSize"),
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
        )
        api.binaryMediaTypes = properties.get("BinaryMediaTypes", [])
        if body is not None:
            import_openapi_body(backend, api.id, body)
        return cls(api.id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        backend = _apigw(self.account_id, self.region)
        api = backend.get_rest_api(self.physical_id)
        body = self._body(properties, self.account_id, self.region)
        title = ((body or {}).get("info") or {}).get("title")
        api.name = properties.get("Name") or title or api.name
        api.description = properties.get("Description", "")
        api.binaryMediaTypes = properties.get("BinaryMediaTypes", [])
        if body is not None:
            import_openapi_body(backend, api.id, body)
        self.properties = properties
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "RootResourceId":
            return _apigw(self.account_id, self.region).get_rest_api(self.physical_id).default.id
        if attribute_name == "RestApiId":
            return self.physical_id
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _apigw(account_id, region_name).apis.pop(self.physical_id, None)


class ApiDeployment(Handler):
    """AWS::ApiGateway::Deployment, whose Ref (the deployment id) moto cannot give."""

    TYPE = "AWS::ApiGateway::Deployment"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> ApiDeployment:
        deployment = _apigw(account_id, region).create_deployment(
            function_id=properties["RestApiId"],
            name=properties.get("StageName"),  # type: ignore[arg-type]
            description=properties.get("Description", ""),
        )
        return cls(deployment.id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties["RestApiId"] != self.properties["RestApiId"]:
            return super().update(properties, name)
        api = _apigw(self.account_id, self.region).get_rest_api(properties["RestApiId"])
        api.deployments[self.physical_id].description = properties.get("Description", "")
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # the API went first
            api = _apigw(account_id, region_name).get_rest_api(self.properties["RestApiId"])
            api.deployments.pop(self.physical_id, None)


def _method_settings(properties: dict[str, Any]) -> dict[str, Any]:
    """Stage MethodSettings in the shape GetStage returns: {"path/METHOD": {...}}."""
    settings: dict[str, Any] = {}
    for entry in properties.get("MethodSettings", []):
        path = entry.get("ResourcePath", "/*").lstrip("/")
        key = f"{path}/{entry.get('HttpMethod', '*')}"
        values = {
            "throttlingBurstLimit": entry.get("ThrottlingBurstLimit"),
            "throttlingRateLimit": entry.get("ThrottlingRateLimit"),
            "metricsEnabled": entry.get("MetricsEnabled"),
            "loggingLevel": entry.get("LoggingLevel"),
            "dataTraceEnabled": entry.get("DataTraceEnabled"),
            "cachingEnabled": entry.get("CachingEnabled"),
        }
        settings[key] = {k: v for k, v in values.items() if v is not None}
    return settings


def _access_log_settings(properties: dict[str, Any]) -> dict[str, Any] | None:
    """AccessLogSetting as GetStage returns it (stored only: nothing writes access logs)."""
    setting = properties.get("AccessLogSetting")
    if not setting:
        return None
    return {"destinationArn": setting.get("DestinationArn"), "format": setting.get("Format")}


class ApiStage(Handler):
    """AWS::ApiGateway::Stage. Ref is the stage name, as in AWS."""

    TYPE = "AWS::ApiGateway::Stage"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> ApiStage:
        backend = _apigw(account_id, region)
        stage_name = properties.get("StageName") or name
        api = backend.get_rest_api(properties["RestApiId"])
        api.stages.pop(stage_name, None)  # a Deployment with StageName may have made it already
        stage = backend.create_stage(
            function_id=properties["RestApiId"],
            stage_name=stage_name,
            deploymentId=properties.get("DeploymentId"),  # type: ignore[arg-type]
            variables=properties.get("Variables"),
            description=properties.get("Description", ""),
            cacheClusterEnabled=properties.get("CacheClusterEnabled"),
            cacheClusterSize=properties.get("CacheClusterSize"),
            tags=tag_map(properties.get("Tags")),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        stage.method_settings = _method_settings(properties)
        stage.access_log_settings = _access_log_settings(properties)
        return cls(stage_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if (
            properties["RestApiId"] != self.properties["RestApiId"]
            or (properties.get("StageName") or self.physical_id) != self.physical_id
        ):
            return super().update(properties, name)
        stage = _apigw(self.account_id, self.region).get_stage(
            properties["RestApiId"], self.physical_id
        )
        stage.deployment_id = properties.get("DeploymentId")
        stage.variables = properties.get("Variables") or {}
        stage.description = properties.get("Description", "")
        stage.tracing_enabled = properties.get("TracingEnabled")
        stage.method_settings = _method_settings(properties)
        stage.access_log_settings = _access_log_settings(properties)
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # the API went first
            _apigw(account_id, region_name).delete_stage(
                self.properties["RestApiId"], self.physical_id
            )


class ApiKey(Handler):
    """AWS::ApiGateway::ApiKey. Ref is the key id."""

    TYPE = "AWS::ApiGateway::ApiKey"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("APIKeyId",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> ApiKey:
        payload = {
            "name": properties.get("Name") or name,
            "description": properties.get("Description"),
            "enabled": str(properties.get("Enabled", False)).lower() == "true",
            "value": properties.get("Value"),
            "stageKeys": camel_case_keys(properties.get("StageKeys")),
            "customerId": properties.get("CustomerId"),
            "generateDistinctId": properties.get("GenerateDistinctId", False),
            "tags": tag_map(properties.get("Tags")) or None,
        }
        key = _apigw(account_id, region).create_api_key(
            {k: v for k, v in payload.items() if v is not None}
        )
        return cls(key.id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("Value") != self.properties.get("Value"):
            return super().update(properties, name)
        key = _apigw(self.account_id, self.region).get_api_key(self.physical_id)
        key.enabled = str(properties.get("Enabled", False)).lower() == "true"
        key.description = properties.get("Description")
        key.stage_keys = camel_case_keys(properties.get("StageKeys")) or []
        self.properties = properties
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "APIKeyId":
            return self.physical_id
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):
            _apigw(account_id, region_name).delete_api_key(self.physical_id)


class UsagePlan(Handler):
    """AWS::ApiGateway::UsagePlan (stages, throttle, quota). Ref is the plan id."""

    TYPE = "AWS::ApiGateway::UsagePlan"
    NAME_PROPERTY = "UsagePlanName"

    @staticmethod
    def _fields(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": properties.get("Description"),
            "apiStages": camel_case_keys(properties.get("ApiStages", [])),
            "throttle": camel_case_keys(properties.get("Throttle", {})),
            "quota": camel_case_keys(properties.get("Quota", {})),
        }

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> UsagePlan:
        payload = {
            "name": properties.get("UsagePlanName") or name,
            "tags": tag_map(properties.get("Tags")) or None,
            **cls._fields(properties),
        }
        plan = _apigw(account_id, region).create_usage_plan(payload)
        return cls(plan.id, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        plan = _apigw(self.account_id, self.region).get_usage_plan(self.physical_id)
        fields = self._fields(properties)
        plan.name = properties.get("UsagePlanName") or plan.name
        plan.description = fields["description"]
        plan.api_stages = fields["apiStages"]
        plan.throttle = fields["throttle"]
        plan.quota = fields["quota"]
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _apigw(account_id, region_name)
        backend.usage_plans.pop(self.physical_id, None)
        backend.usage_plan_keys.pop(self.physical_id, None)


class UsagePlanKey(Handler):
    """AWS::ApiGateway::UsagePlanKey. Ref is "<key id>:<usage plan id>", as in AWS."""

    TYPE = "AWS::ApiGateway::UsagePlanKey"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> UsagePlanKey:
        key = _apigw(account_id, region).create_usage_plan_key(
            properties["UsagePlanId"],
            {"keyId": properties["KeyId"], "keyType": properties["KeyType"]},
        )
        return cls(f"{key.id}:{properties['UsagePlanId']}", properties, account_id, region)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _apigw(account_id, region_name)
        keys = backend.usage_plan_keys.get(self.properties["UsagePlanId"], {})
        keys.pop(self.properties["KeyId"], None)


class ApiGatewayAccount(Handler):
    """AWS::ApiGateway::Account: the region's CloudWatch role for API Gateway (GetAccount answers
    it). Deleting the stack leaves the setting in place, as on AWS. localcloud's API Gateway
    writes no logs through the role (see the registry's notes on stages)."""

    TYPE = "AWS::ApiGateway::Account"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        # The id CloudFormation's reference gives: stack and logical id cut to five characters
        # and a random suffix, lower case (e.g. "mysta-accou-01234b567890example").
        stack_name = str(kwargs.get("StackId", "")).split("/")[1:2] or [resource_name]
        logical_id = str(kwargs.get("LogicalId", resource_name))
        physical_id = f"{stack_name[0][:5]}-{logical_id[:5]}-{random_suffix()}".lower()
        properties = cloudformation_json["Properties"]
        handler = cls(physical_id, properties, account_id, region_name)
        handler._apply(properties)
        return handler

    def _apply(self, properties: dict[str, Any]) -> None:
        role = properties.get("CloudWatchRoleArn")
        if role:
            _apigw(self.account_id, self.region).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}]
            )

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        self.properties = properties
        self._apply(properties)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        """The account setting outlives the stack."""
