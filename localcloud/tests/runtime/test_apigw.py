"""API Gateway data plane: routing, proxy events, API keys, throttling, error mapping."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, request, unique

PNG = b"\x89PNG\r\n\x1a\n\x00\x01binary"

API_HANDLER = f"""
import base64, json

def handler(event, context):
    resource = event["resource"]
    if resource == "/boom":
        raise RuntimeError("boom")
    if resource == "/malformed":
        return {{"statusCode": "teapot", "body": {{"not": "a string"}}}}
    if resource == "/image":
        return {{"statusCode": 200, "headers": {{"Content-Type": "image/png"}},
                "body": base64.b64encode({PNG!r}).decode(), "isBase64Encoded": True}}
    return {{
        "statusCode": 201 if event["httpMethod"] == "POST" else 200,
        "headers": {{"Content-Type": "application/json", "X-Resource": resource}},
        "multiValueHeaders": {{"Set-Cookie": ["a=1", "b=2"]}},
        "body": json.dumps(event),
    }}
"""


@dataclass
class Api:
    api_id: str
    url: str
    key: str


def _openapi(function_arn: str, gateway_responses: dict[str, Any] | None = None) -> dict[str, Any]:
    uri = (
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
    integration = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
    keyed = {"security": [{"api_key": []}], "x-amazon-apigateway-integration": integration}
    open_method = {"x-amazon-apigateway-integration": integration}
    return {
        "openapi": "3.0.1",
        "info": {"title": "rides", "version": "1.0"},
        "paths": {
            "/rides/{id}": {"get": keyed},
            "/submit-ride-completion": {"post": keyed},
            "/boom": {"get": open_method},
            "/malformed": {"get": open_method},
            "/image": {"get": open_method},
            "/echo": {"x-amazon-apigateway-any-method": open_method},
        },
        "components": {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        },
        "x-amazon-apigateway-binary-media-types": ["image/png"],
        **(
            {"x-amazon-apigateway-gateway-responses": gateway_responses}
            if gateway_responses
            else {}
        ),
    }


def _deploy_api(
    aws: Callable[[str], Any],
    deploy: Deployer,
    runtime: Runtime,
    throttle: dict[str, Any],
    gateway_responses: dict[str, Any] | None = None,
) -> Api:
    name = deploy.function(API_HANDLER)
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    apigw = aws("apigateway")
    api_id = apigw.create_rest_api(name=unique("api"))["id"]
    body = _openapi(function_arn, gateway_responses)
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(body))
    apigw.create_deployment(restApiId=api_id, stageName="Prod", variables={"env": "local"})
    key = apigw.create_api_key(name=unique("key"), enabled=True)
    plan = apigw.create_usage_plan(
        name=unique("plan"), apiStages=[{"apiId": api_id, "stage": "Prod"}], throttle=throttle
    )
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return Api(api_id, runtime.invoke_url(api_id, "Prod"), key["value"])


@pytest.fixture
def api(aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime) -> Api:
    return _deploy_api(aws, deploy, runtime, {"rateLimit": 100.0, "burstLimit": 100})


def test_route_with_path_parameters_builds_a_proxy_event(api: Api) -> None:
    reply = request(
        f"{api.url}/rides/ride-42?verbose=1&tag=a&tag=b", headers={"x-api-key": api.key}
    )

    assert reply.status == 200
    assert reply.headers["X-Resource"] == "/rides/{id}"
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    event = reply.json()
    assert event["resource"] == "/rides/{id}"
    assert event["path"] == "/rides/ride-42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "ride-42"}
    assert event["queryStringParameters"] == {"verbose": "1", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"verbose": ["1"], "tag": ["a", "b"]}
    assert event["stageVariables"] == {"env": "local"}
    # Header names arrive as the client sent them (urllib capitalises them).
    headers = {name.lower(): value for name, value in event["headers"].items()}
    multi = {name.lower(): value for name, value in event["multiValueHeaders"].items()}
    assert headers["x-api-key"] == api.key
    assert multi["x-api-key"] == [api.key]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["resourcePath"] == "/rides/{id}"
    assert context["httpMethod"] == "GET"
    assert context["apiId"] == api.api_id
    assert context["identity"]["apiKey"] == api.key
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]


def test_post_body_is_passed_as_text(api: Api) -> None:
    body = json.dumps({"from": "A", "to": "B"}).encode()
    reply = request(
        f"{api.url}/submit-ride-completion",
        method="POST",
        body=body,
        headers={"x-api-key": api.key, "Content-Type": "application/json"},
    )

    assert reply.status == 201
    assert reply.json()["body"] == body.decode()


def test_missing_or_unknown_api_key_is_forbidden(api: Api) -> None:
    for headers in ({}, {"x-api-key": "not-a-real-key"}):
        reply = request(f"{api.url}/rides/1", headers=headers)
        assert reply.status == 403
        assert reply.json() == {"message": "Forbidden"}
        assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_key_of_a_plan_for_another_api_is_forbidden(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime, api: Api
) -> None:
    other = _deploy_api(aws, deploy, runtime, {"rateLimit": 100.0, "burstLimit": 100})

    reply = request(f"{api.url}/rides/1", headers={"x-api-key": other.key})

    assert reply.status == 403


def test_unknown_route_is_missing_authentication_token(api: Api) -> None:
    reply = request(f"{api.url}/nowhere")

    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}
    assert request(f"{api.url}/boom", method="DELETE").status == 403


def test_burst_over_the_usage_plan_throttle_is_429(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    tight = _deploy_api(aws, deploy, runtime, {"rateLimit": 0.5, "burstLimit": 2})

    statuses = [
        request(f"{tight.url}/rides/1", headers={"x-api-key": tight.key}).status for _ in range(6)
    ]

    assert statuses[:2] == [200, 200]
    assert 429 in statuses
    throttled = request(f"{tight.url}/rides/1", headers={"x-api-key": tight.key})
    assert throttled.status == 429
    assert throttled.json() == {"message": "Too Many Requests"}


def test_binary_request_and_base64_response(api: Api) -> None:
    reply = request(f"{api.url}/image")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "image/png"
    assert reply.body == PNG

    echoed = request(
        f"{api.url}/echo", method="PUT", body=PNG, headers={"Content-Type": "image/png"}
    ).json()
    assert echoed["httpMethod"] == "PUT"
    assert echoed["isBase64Encoded"] is True
    assert base64.b64decode(echoed["body"]) == PNG


def test_function_error_and_malformed_response_are_502(api: Api) -> None:
    for path in ("/boom", "/malformed"):
        reply = request(f"{api.url}{path}")
        assert reply.status == 502
        assert reply.json() == {"message": "Internal server error"}


def test_other_url_forms_reach_the_same_stage(api: Api, runtime: Runtime) -> None:
    assert runtime.apigw is not None
    base = runtime.apigw.base_url
    user_request = request(f"{base}/restapis/{api.api_id}/Prod/_user_request_/echo")
    assert user_request.status == 200
    host_style = request(
        f"{base}/Prod/echo", headers={"Host": f"{api.api_id}.execute-api.localhost"}
    )
    assert host_style.status == 200
    assert host_style.json()["path"] == "/echo"


def test_unknown_stage_is_forbidden(api: Api, runtime: Runtime) -> None:
    reply = request(runtime.invoke_url(api.api_id, "NoSuchStage") + "/echo")
    assert reply.status == 403


# --- gateway responses --------------------------------------------------------------------------

# What SAM renders from an Api's GatewayResponses (the management service's error contract), plus
# the customisations gateway responses allow: status code, headers, more $context variables.
CONTRACT = '{"message":$context.error.messageString,"errors":[]}'
GATEWAY_RESPONSES = {
    "DEFAULT_4XX": {"responseParameters": {}, "responseTemplates": {"application/json": CONTRACT}},
    "DEFAULT_5XX": {
        "responseTemplates": {
            "application/json": '{"message":$context.error.messageString,"errors":[],'
            '"requestId":"$context.requestId","type":"${context.error.responseType}"}'
        }
    },
    "MISSING_AUTHENTICATION_TOKEN": {
        "statusCode": "404",
        "responseTemplates": {
            "application/json": '{"message":"no route for $context.httpMethod $context.path",'
            '"errors":[],"env":"$stageVariables.env","unknown":"$context.noSuchVariable"}'
        },
    },
    "THROTTLED": {
        "responseParameters": {
            "gatewayresponse.header.Retry-After": "'1'",
            "gatewayresponse.header.X-Api-Key-Seen": "method.request.header.x-api-key",
            "gatewayresponse.header.X-Ride": "method.request.path.id",
        },
        "responseTemplates": {"application/json": CONTRACT},
    },
}


@pytest.fixture
def contract_api(aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime) -> Api:
    return _deploy_api(aws, deploy, runtime, {"rateLimit": 0.5, "burstLimit": 2}, GATEWAY_RESPONSES)


def test_gateway_responses_shape_a_missing_or_wrong_key(contract_api: Api) -> None:
    for headers in ({}, {"x-api-key": "not-a-real-key"}):
        reply = request(f"{contract_api.url}/rides/1", headers=headers)

        assert reply.status == 403  # DEFAULT_4XX sets no status: the error's own
        assert reply.json() == {"message": "Forbidden", "errors": []}
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_a_gateway_response_can_set_the_status_code(contract_api: Api) -> None:
    reply = request(f"{contract_api.url}/nowhere", method="POST")

    assert reply.status == 404
    assert reply.json() == {
        "message": "no route for POST /Prod/nowhere",
        "errors": [],
        "env": "local",
        "unknown": "",
    }


def test_a_throttled_request_gets_the_throttled_response(contract_api: Api) -> None:
    url, key = f"{contract_api.url}/rides/ride-7", contract_api.key
    replies = [request(url, headers={"x-api-key": key}) for _ in range(6)]
    throttled = [reply for reply in replies if reply.status == 429]

    assert throttled
    assert throttled[0].json() == {"message": "Too Many Requests", "errors": []}
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].headers["X-Api-Key-Seen"] == key
    assert throttled[0].headers["X-Ride"] == "ride-7"


def test_integration_failures_get_the_default_5xx_response(contract_api: Api) -> None:
    for path, response_type in (
        ("/boom", "INTEGRATION_FAILURE"),
        ("/malformed", "API_CONFIGURATION_ERROR"),
    ):
        reply = request(f"{contract_api.url}{path}")

        assert reply.status == 502
        assert reply.json() == {
            "message": "Internal server error",
            "errors": [],
            "requestId": reply.headers["x-amzn-RequestId"],
            "type": response_type,
        }


def test_put_gateway_response_applies_and_a_specific_type_beats_the_default(
    aws: Callable[[str], Any], contract_api: Api
) -> None:
    apigw = aws("apigateway")
    apigw.put_gateway_response(
        restApiId=contract_api.api_id,
        responseType="INVALID_API_KEY",
        statusCode="401",
        responseTemplates={"application/json": '{"error":"$context.error.message"}'},
    )

    reply = request(f"{contract_api.url}/rides/1")

    assert reply.status == 401
    assert reply.json() == {"error": "Forbidden"}
    # The other types are unchanged.
    assert request(f"{contract_api.url}/boom", method="DELETE").status == 404
    assert request(f"{contract_api.url}/rides/1", headers={"x-api-key": "wrong"}).status == 401


def test_an_unknown_stage_gets_api_gateways_own_answer(contract_api: Api, runtime: Runtime) -> None:
    reply = request(runtime.invoke_url(contract_api.api_id, "NoSuchStage") + "/echo")

    assert reply.status == 403
    assert reply.json() == {"message": "Forbidden"}
