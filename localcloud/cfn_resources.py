"""CloudFormation resource handlers for the types moto 5.2.5 skips or gets wrong.

Each handler turns template properties into calls on moto's real backends (so a subscription made
by a stack filters messages exactly like one made with the API) and keeps what it needs to
update and delete that state. They are plain classes: `patches.add_missing_cfn_resources()` is
what makes moto's CloudFormation use them.

moto's CloudFormation calls, per resource:
  create_from_cloudformation_json(name, {"Properties": ...}, account, region) -> handler
  update_from_cloudformation_json(original_resource=handler, new_resource_name, json, account,
                                  region) -> handler
  handler.delete(account, region)
and reads handler.physical_resource_id (Ref) and handler.get_cfn_attribute(name) (GetAtt).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar

from moto.apigateway.models import APIGatewayBackend, apigateway_backends
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import cloudwatch_backends
from moto.s3.models import s3_backends
from moto.sns.models import SNSBackend, sns_backends
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition


def _json_text(value: Any) -> str:
    """Policies and filter policies are objects in templates but JSON strings in the APIs."""
    return value if isinstance(value, str) else json.dumps(value)


def _tags(value: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in value or []}


def _camel(value: Any) -> Any:
    """CloudFormation spells API Gateway's structures in PascalCase; the API uses camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


class Handler:
    """Base: one resource of one stack, identified by its physical id."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, physical_id: str, properties: dict[str, Any], account_id: str, region: str):
        self.physical_id = physical_id
        self.properties = properties
        self.account_id = account_id
        self.region = region

    # moto's CloudFormation protocol -----------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        return cls.create(resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Handler,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Handler:
        return original_resource.update(cloudformation_json["Properties"], new_resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region: str
    ) -> None:
        # Only reached if a handler's own delete() failed with TypeError/AttributeError.
        cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region).delete(
            account_id, region
        )

    # what each handler implements -------------------------------------------------------------
    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> Handler:
        raise NotImplementedError

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        """Default: replace (delete, then create with the new properties)."""
        self.delete(self.account_id, self.region)
        return self.create(name, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


# --- SNS / SQS ----------------------------------------------------------------------------------


class SnsSubscription(Handler):
    """AWS::SNS::Subscription: subscribe, then set the attributes (scope before policy, as SNS
    validates a filter policy against its scope)."""

    TYPE = "AWS::SNS::Subscription"
    # Order matters: FilterPolicyScope must be set before FilterPolicy.
    SETTABLE = (
        "FilterPolicyScope",
        "FilterPolicy",
        "RawMessageDelivery",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
    )
    REPLACING = ("TopicArn", "Protocol", "Endpoint", "Region")

    @staticmethod
    def _backend(account_id: str, properties: dict[str, Any]) -> SNSBackend:
        topic_arn = properties["TopicArn"]
        return sns_backends[account_id][properties.get("Region") or topic_arn.split(":")[3]]

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SnsSubscription:
        backend = cls._backend(account_id, properties)
        subscription = backend.subscribe(
            properties["TopicArn"], properties["Endpoint"], properties["Protocol"]
        )
        handler = cls(subscription.arn, properties, account_id, region)
        handler._set_attributes(backend, previous={})
        return handler

    def _set_attributes(self, backend: SNSBackend, previous: dict[str, Any]) -> None:
        for key in self.SETTABLE:
            if key in self.properties:
                value = self.properties[key]
                if key == "RawMessageDelivery":
                    # moto delivers raw when the stored value is truthy: store a real bool.
                    value = str(value).lower() == "true"
                elif key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
                    value = _json_text(value)
                backend.set_subscription_attributes(self.physical_id, key, value)
            elif key in previous:
                # Removed from the template: back to SNS's default.
                cleared: Any = False if key == "RawMessageDelivery" else ""
                backend.set_subscription_attributes(self.physical_id, key, cleared)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if any(properties.get(k) != self.properties.get(k) for k in self.REPLACING):
            return super().update(properties, name)
        previous, self.properties = self.properties, properties
        self._set_attributes(self._backend(self.account_id, properties), previous)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, self.properties).unsubscribe(self.physical_id)


class SnsTopicPolicy(Handler):
    """AWS::SNS::TopicPolicy: the topics' Policy attribute; deleting restores SNS's default."""

    TYPE = "AWS::SNS::TopicPolicy"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SnsTopicPolicy:
        handler = cls(name, properties, account_id, region)
        for topic_arn in properties["Topics"]:
            backend = sns_backends[account_id][topic_arn.split(":")[3]]
            backend.set_topic_attribute(
                topic_arn, "policy", _json_text(properties["PolicyDocument"])
            )
        return handler

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        dropped = set(self.properties["Topics"]) - set(properties["Topics"])
        self._reset(dropped)
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def _reset(self, topic_arns: set[str]) -> None:
        for topic_arn in topic_arns:
            backend = sns_backends[self.account_id][topic_arn.split(":")[3]]
            # The topic may already be gone (same stack, deleted first): nothing to reset.
            with contextlib.suppress(Exception):
                topic = backend.get_topic(topic_arn)
                topic._policy_json = topic._create_default_topic_policy(
                    backend.region_name, self.account_id, topic.name
                )

    def delete(self, account_id: str, region_name: str) -> None:
        self._reset(set(self.properties["Topics"]))


class SqsQueuePolicy(Handler):
    """AWS::SQS::QueuePolicy: the queues' Policy attribute (Queues are queue URLs)."""

    TYPE = "AWS::SQS::QueuePolicy"

    @staticmethod
    def _queue_name(queue_url: str) -> str:
        return queue_url.rstrip("/").rsplit("/", 1)[-1]

    def _set(self, queue_urls: list[str], policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for url in queue_urls:
            with contextlib.suppress(Exception):  # a deleted queue has no policy to clear
                backend.set_queue_attributes(self._queue_name(url), {"Policy": policy})

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SqsQueuePolicy:
        handler = cls(name, properties, account_id, region)
        backend = sqs_backends[account_id][region]
        for url in properties["Queues"]:
            backend.set_queue_attributes(
                cls._queue_name(url), {"Policy": _json_text(properties["PolicyDocument"])}
            )
        return handler

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        self._set(sorted(set(self.properties["Queues"]) - set(properties["Queues"])), "")
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        self._set(self.properties["Queues"], "")


# --- API Gateway --------------------------------------------------------------------------------

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
            endpoint_configuration=_camel(properties.get("EndpointConfiguration")),
            tags=_tags(properties.get("Tags")) or None,  # type: ignore[arg-type]
            policy=_json_text(properties["Policy"]) if "Policy" in properties else None,
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
            tags=_tags(properties.get("Tags")),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        stage.method_settings = _method_settings(properties)
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
            "stageKeys": _camel(properties.get("StageKeys")),
            "customerId": properties.get("CustomerId"),
            "generateDistinctId": properties.get("GenerateDistinctId", False),
            "tags": _tags(properties.get("Tags")) or None,
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
        key.stage_keys = _camel(properties.get("StageKeys")) or []
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
            "apiStages": _camel(properties.get("ApiStages", [])),
            "throttle": _camel(properties.get("Throttle", {})),
            "quota": _camel(properties.get("Quota", {})),
        }

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> UsagePlan:
        payload = {
            "name": properties.get("UsagePlanName") or name,
            "tags": _tags(properties.get("Tags")) or None,
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
    """AWS::ApiGateway::UsagePlanKey. Ref is the key id."""

    TYPE = "AWS::ApiGateway::UsagePlanKey"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> UsagePlanKey:
        key = _apigw(account_id, region).create_usage_plan_key(
            properties["UsagePlanId"],
            {"keyId": properties["KeyId"], "keyType": properties["KeyType"]},
        )
        return cls(key.id, properties, account_id, region)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _apigw(account_id, region_name)
        backend.usage_plan_keys.get(self.properties["UsagePlanId"], {}).pop(self.physical_id, None)


# --- Lambda / CloudWatch ------------------------------------------------------------------------


class LambdaEventInvokeConfig(Handler):
    """AWS::Lambda::EventInvokeConfig (async retries / destinations), kept on the function."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def _config(properties: dict[str, Any]) -> dict[str, Any]:
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        return {k: properties[k] for k in keys if k in properties}

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> LambdaEventInvokeConfig:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region]
        function_name = properties["FunctionName"]
        with contextlib.suppress(Exception):  # replace, as PutFunctionEventInvokeConfig does
            backend.delete_function_event_invoke_config(function_name)
        backend.put_function_event_invoke_config(function_name, cls._config(properties))
        return cls(
            f"{function_name}:{properties.get('Qualifier', '$LATEST')}",
            properties,
            account_id,
            region,
        )

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        with contextlib.suppress(Exception):  # function deleted first
            lambda_backends[account_id][region_name].delete_function_event_invoke_config(
                self.properties["FunctionName"]
            )


class CloudWatchAlarm(Handler):
    """AWS::CloudWatch::Alarm (e.g. on a DLQ's depth). Ref is the alarm name."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> CloudWatchAlarm:
        alarm_name = properties.get("AlarmName") or name
        cloudwatch_backends[account_id][region].put_metric_alarm(
            name=alarm_name,
            namespace=properties.get("Namespace"),  # type: ignore[arg-type]
            metric_name=properties.get("MetricName"),  # type: ignore[arg-type]
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties["Period"]) if "Period" in properties else None,  # type: ignore[arg-type]
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,  # type: ignore[arg-type]
            statistic=properties.get("Statistic"),  # type: ignore[arg-type]
            description=properties.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=properties.get("Dimensions", []),
            alarm_actions=properties.get("AlarmActions", []),
            datapoints_to_alarm=properties.get("DatapointsToAlarm"),
            extended_statistic=properties.get("ExtendedStatistic"),
            ok_actions=properties.get("OKActions", []),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
            unit=properties.get("Unit"),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=properties.get("TreatMissingData"),
        )
        return cls(alarm_name, properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        if properties.get("AlarmName", self.physical_id) != self.physical_id:
            return super().update(properties, name)
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            partition = get_partition(self.region)
            return (
                f"arn:{partition}:cloudwatch:{self.region}:{self.account_id}"
                f":alarm:{self.physical_id}"
            )
        return super().get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_id])


# --- CloudFormation -----------------------------------------------------------------------------


class NestedStack(Handler):
    """AWS::CloudFormation::Stack (what SAM makes of an AWS::Serverless::Application): a real
    stack in moto's backend, created from its TemplateURL with the parent's tags, named as AWS
    names it (<parent>-<LogicalId>-<SUFFIX>); Ref is its stack id, `Fn::GetAtt <Id>.Outputs.<Key>`
    its outputs; a parent update updates it in place, a parent delete deletes it."""

    TYPE = "AWS::CloudFormation::Stack"

    def __init__(
        self,
        physical_id: str,
        properties: dict[str, Any],
        account_id: str,
        region: str,
        parent_id: str = "",
    ):
        super().__init__(physical_id, properties, account_id, region)
        self.parent_id = parent_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr.startswith("Outputs.")

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        return cloudformation_backends[account_id][region]

    @staticmethod
    def _template(properties: dict[str, Any], account_id: str, region: str) -> str:
        from moto.cloudformation.utils import get_stack_from_s3_url

        return get_stack_from_s3_url(
            properties["TemplateURL"], account_id=account_id, partition=get_partition(region)
        )

    def _tags(self) -> dict[str, str]:
        """The parent's stack tags (CloudFormation propagates them), then the resource's own."""
        parent = self._backend(self.account_id, self.region).stacks.get(self.parent_id)
        inherited = dict(parent.tags or {}) if parent is not None else {}
        return {**inherited, **_tags(self.properties.get("Tags"))}

    @staticmethod
    def _parameters(properties: dict[str, Any]) -> dict[str, str]:
        return {key: str(value) for key, value in (properties.get("Parameters") or {}).items()}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        properties = cloudformation_json["Properties"]
        # The physical id is the stack id, known once the stack exists.
        nested = cls("", properties, account_id, region_name, parent_id=kwargs.get("StackId", ""))
        stack = cls._backend(account_id, region_name).create_stack(
            name=resource_name,
            template=cls._template(properties, account_id, region_name),
            parameters=cls._parameters(properties),
            tags=nested._tags(),
        )
        nested.physical_id = stack.stack_id
        return nested

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        """In place, as CloudFormation updates a nested stack: its resources keep their ids."""
        self.properties = properties
        parameters = [
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in self._parameters(properties).items()
        ]
        self._backend(self.account_id, self.region).update_stack(
            name=self.physical_id,
            template=self._template(properties, self.account_id, self.region),
            role_arn=None,
            parameters=parameters,
            tags=self._tags(),
        )
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        key = attribute_name.removeprefix("Outputs.")
        stack = self._backend(self.account_id, self.region).get_stack(self.physical_id)
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.outputs or []}
        if not attribute_name.startswith("Outputs.") or key not in outputs:
            raise UnformattedGetAttTemplateException()
        return outputs[key]

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, region_name).delete_stack(self.physical_id)


HANDLERS: tuple[type[Handler], ...] = (
    SnsSubscription,
    SnsTopicPolicy,
    SqsQueuePolicy,
    RestApi,
    ApiDeployment,
    ApiStage,
    ApiKey,
    UsagePlan,
    UsagePlanKey,
    LambdaEventInvokeConfig,
    CloudWatchAlarm,
    NestedStack,
)
