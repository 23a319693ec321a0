"""HTTP APIs (API Gateway v2): deployed through CloudFormation (the SAM transform's
AWS::ApiGatewayV2::Api with an OpenAPI body, hand-written Api/Integration/Route/Stage, quick
create), answered by GetApis/GetRoutes/GetStages, and served on the API Gateway port with HTTP
APIs' stage and route selection, payload formats 2.0 and 1.0 and their error answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from localcloud import patches
from localcloud.apigw import http_cors
from localcloud.apigw.http_route_keys import (
    is_lambda_uri,
    lambda_function,
    match_path,
    parse_route_key,
)
from localcloud.apigw.http_routes import HttpApiCatalog
from localcloud.apigw.proxy import IncomingRequest
from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, request, unique

HANDLER = """
import base64, json

def handler(event, context):
    v2 = event.get("version") == "2.0"
    path = event["rawPath"] if v2 else event["path"]
    method = event["requestContext"]["http"]["method"] if v2 else event["httpMethod"]
    kind = path.rsplit("/", 1)[-1]
    if kind == "string":
        return "plain text"
    if kind == "object":
        return {"ride": 42}
    if kind == "list":
        return [1, 2]
    if kind == "boom":
        raise RuntimeError("boom")
    if kind == "malformed":
        return {"statusCode": "teapot"}
    if kind == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG").decode(), "isBase64Encoded": True}
    if v2:
        return {"statusCode": 201 if method == "POST" else 200,
                "headers": {"content-type": "application/json", "x-route": event["routeKey"]},
                "cookies": ["a=1", "b=2; Path=/"], "body": json.dumps(event)}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(event)}
"""


def _events(*routes: tuple[str, str, str | None], **extra: Any) -> dict[str, Any]:
    """SAM HttpApi events: (name, method, path); path None is the $default route."""
    events = {}
    for name, method, path in routes:
        properties: dict[str, Any] = dict(extra)
        if path is not None:
            properties.update(Method=method, Path=path)
        events[name] = {"Type": "HttpApi", "Properties": properties}
    return events


def _sam_template() -> dict[str, Any]:
    def function(events: dict[str, Any]) -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "index.handler",
                "InlineCode": HANDLER,
                "Events": events,
            },
        }

    routing = {"ApiId": {"Ref": "Routing"}}
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            # The implicit ServerlessHttpApi ($default stage).
            "Rides": function(
                {
                    **_events(
                        ("Get", "GET", "/rides/{id}"),
                        ("Post", "POST", "/rides"),
                        ("Responses", "GET", "/responses/{kind}"),
                    ),
                    **_events(("V1", "ANY", "/v1/{proxy+}"), PayloadFormatVersion="1.0"),
                }
            ),
            # An explicit API with a named stage only, and the routes of the AWS guide's example.
            "Routing": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {"StageName": "dev", "StageVariables": {"env": "local"}},
            },
            "Router": function(
                _events(
                    ("Exact", "GET", "/pets/dog/1"),
                    ("Param", "GET", "/pets/dog/{id}"),
                    ("Greedy", "GET", "/pets/{proxy+}"),
                    ("AnyGreedy", "ANY", "/{proxy+}"),
                    ("Default", "", None),
                    **routing,
                )
            ),
            "Throttled": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "DefaultRouteSettings": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.01}
                },
            },
            "Limited": function(_events(("Get", "GET", "/limited"), ApiId={"Ref": "Throttled"})),
            "Cors": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "CorsConfiguration": {
                        "AllowOrigins": ["http://localhost:3000"],
                        "AllowMethods": ["GET", "POST"],
                        "AllowHeaders": ["x-ride"],
                        "ExposeHeaders": ["x-route"],
                        "MaxAge": 300,
                    }
                },
            },
            "CorsRides": function(_events(("Get", "GET", "/cors"), ApiId={"Ref": "Cors"})),
        },
        "Outputs": {
            "RidesApi": {"Value": {"Ref": "ServerlessHttpApi"}},
            "RidesEndpoint": {"Value": {"Fn::GetAtt": ["ServerlessHttpApi", "ApiEndpoint"]}},
            "RoutingApi": {"Value": {"Ref": "Routing"}},
            "ThrottledApi": {"Value": {"Ref": "Throttled"}},
            "CorsApi": {"Value": {"Ref": "Cors"}},
        },
    }


def _create_stack(aws: Callable[[str], Any], template: dict[str, Any], name: str = "") -> str:
    name = name or unique("http-api")
    aws("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    return name


def _outputs(aws: Callable[[str], Any], stack: str) -> dict[str, str]:
    [described] = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


@pytest.fixture(scope="module")
def apis(aws: Callable[[str], Any], runtime: Runtime) -> dict[str, str]:
    outputs = _outputs(aws, _create_stack(aws, _sam_template()))
    base = f"http://127.0.0.1:{runtime.apigw.port}"  # type: ignore[union-attr]
    return {**outputs, "base": base}


def _url(apis: dict[str, str], api: str, path: str) -> str:
    return f"{apis['base']}/{apis[api]}{path}"


# --- what SAM deploys, as the API answers it -------------------------------------------------


def test_the_sam_http_api_is_in_moto_s_apigatewayv2(
    aws: Callable[[str], Any], apis: dict[str, str]
) -> None:
    v2 = aws("apigatewayv2")
    api = v2.get_api(ApiId=apis["RidesApi"])
    assert api["ProtocolType"] == "HTTP"
    assert api["Tags"] == {"httpapi:createdBy": "SAM"}
    assert (
        apis["RidesEndpoint"] == f"https://{apis['RidesApi']}.execute-api.us-east-1.amazonaws.com"
    )
    routes = {r["RouteKey"]: r for r in v2.get_routes(ApiId=apis["RidesApi"])["Items"]}
    assert set(routes) == {
        "GET /rides/{id}",
        "POST /rides",
        "GET /responses/{kind}",
        "ANY /v1/{proxy+}",
    }
    integrations = {
        i["IntegrationId"]: i for i in v2.get_integrations(ApiId=apis["RidesApi"])["Items"]
    }
    v1 = integrations[routes["ANY /v1/{proxy+}"]["Target"].split("/")[1]]
    assert v1["IntegrationType"] == "AWS_PROXY"
    assert v1["PayloadFormatVersion"] == "1.0"
    [stage] = v2.get_stages(ApiId=apis["RidesApi"])["Items"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    [dev] = v2.get_stages(ApiId=apis["RoutingApi"])["Items"]
    assert (dev["StageName"], dev["StageVariables"]) == ("dev", {"env": "local"})


# --- payload format 2.0 ------------------------------------------------------------------------


def test_a_route_with_a_path_parameter_gets_the_2_0_event(apis: dict[str, str]) -> None:
    reply = request(
        _url(apis, "RidesApi", "/rides/ride%2042?tag=a&tag=b&empty="),
        headers={"Cookie": "session=s1; theme=dark", "X-Multi": "one", "User-Agent": "tests/1"},
    )

    assert reply.status == 200
    assert reply.headers["x-route"] == "GET /rides/{id}"
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2; Path=/"]
    assert reply.headers["apigw-requestid"]
    event = reply.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /rides/{id}"
    assert event["rawPath"] == "/rides/ride%2042"
    assert event["rawQueryString"] == "tag=a&tag=b&empty="
    assert event["cookies"] == ["session=s1", "theme=dark"]
    assert "cookie" not in event["headers"]  # moved to cookies
    assert event["headers"]["x-multi"] == "one"
    assert event["headers"]["user-agent"] == "tests/1"
    assert all(name == name.lower() for name in event["headers"])
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": ""}
    assert event["pathParameters"] == {"id": "ride 42"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert "stageVariables" not in event
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == apis["RidesApi"]
    assert context["domainName"] == f"{apis['RidesApi']}.execute-api.localhost"
    assert context["domainPrefix"] == apis["RidesApi"]
    assert context["http"] == {
        "method": "GET",
        "path": "/rides/ride%2042",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1",
    }
    assert context["requestId"] == reply.headers["apigw-requestid"]
    assert context["routeKey"] == "GET /rides/{id}"
    assert context["stage"] == "$default"
    assert context["time"].endswith(" +0000")
    assert isinstance(context["timeEpoch"], int)
    assert context["timeEpoch"] > 1_600_000_000_000  # milliseconds


def test_post_bodies_are_text_or_base64_by_content_type(apis: dict[str, str]) -> None:
    url = _url(apis, "RidesApi", "/rides")
    as_json = request(url, "POST", b'{"id": 1}', {"Content-Type": "application/json"})
    assert as_json.status == 201
    event = as_json.json()
    assert (event["body"], event["isBase64Encoded"]) == ('{"id": 1}', False)
    assert event["routeKey"] == "POST /rides"
    assert "pathParameters" not in event

    # HTTP APIs base64-encode anything that is not text, form posts included.
    form = request(url, "POST", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"})
    event = form.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"a=1&b=2"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("string", b"plain text"),  # a string is the body itself
        ("object", b'{"ride": 42}'),  # an object without statusCode is the body, as JSON
        ("list", b"[1, 2]"),
    ],
)
def test_a_result_without_status_code_is_a_200_json_body(
    apis: dict[str, str], kind: str, body: bytes
) -> None:
    reply = request(_url(apis, "RidesApi", f"/responses/{kind}"))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == body


def test_base64_responses_are_decoded(apis: dict[str, str]) -> None:
    reply = request(_url(apis, "RidesApi", "/responses/binary"))
    assert (reply.status, reply.headers["Content-Type"], reply.body) == (
        200,
        "image/png",
        b"\x89PNG",
    )


@pytest.mark.parametrize("kind", ["boom", "malformed"])
def test_a_function_error_or_unreadable_response_is_a_500(apis: dict[str, str], kind: str) -> None:
    reply = request(_url(apis, "RidesApi", f"/responses/{kind}"))
    assert (reply.status, reply.json()) == (500, {"message": "Internal Server Error"})
    assert reply.headers["apigw-requestid"]


def test_no_route_is_404_not_found(apis: dict[str, str]) -> None:
    for path in ("/nowhere", "/rides", "/rides/1/more", "/"):
        reply = request(_url(apis, "RidesApi", path))
        assert (reply.status, reply.json()) == (404, {"message": "Not Found"}), path
    # POST /rides exists, DELETE /rides does not.
    assert request(_url(apis, "RidesApi", "/rides"), "DELETE").status == 404


# --- payload format 1.0 ------------------------------------------------------------------------


def test_payload_format_1_0_gets_the_rest_shaped_event(apis: dict[str, str]) -> None:
    reply = request(
        _url(apis, "RidesApi", "/v1/a/b?x=1&x=2"),
        "PUT",
        b"hello",
        {"Content-Type": "text/plain", "X-Multi": "one"},
    )

    assert reply.status == 200
    event = reply.json()
    assert event["version"] == "1.0"
    assert event["resource"] == "/v1/{proxy+}"
    assert event["path"] == "/v1/a/b"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["headers"]["X-Multi"] == "one"
    assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["path"] == "/v1/a/b"


# --- stages and route selection ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1", None),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}", {"proxy": "cat/1"}),
        ("POST", "/pets/cat/1", "ANY /{proxy+}", {"proxy": "pets/cat/1"}),
        ("GET", "/", "$default", None),
    ],
)
def test_the_most_specific_route_wins_on_a_named_stage(
    apis: dict[str, str],
    method: str,
    path: str,
    route_key: str,
    parameters: dict[str, str] | None,
) -> None:
    reply = request(_url(apis, "RoutingApi", f"/dev{path}"), method)

    assert reply.status == (201 if method == "POST" else 200)
    event = reply.json()
    assert event["routeKey"] == route_key
    assert event.get("pathParameters") == parameters
    assert event["rawPath"] == f"/dev{path}"  # a named stage stays in rawPath
    assert event["requestContext"]["stage"] == "dev"
    assert event["stageVariables"] == {"env": "local"}


def test_raw_path_keeps_what_the_client_sent(apis: dict[str, str]) -> None:
    # Route matching ignores empty segments; rawPath and http.path do not.
    event = request(_url(apis, "RidesApi", "//rides/7/")).json()
    assert (event["routeKey"], event["pathParameters"]) == ("GET /rides/{id}", {"id": "7"})
    assert event["rawPath"] == "//rides/7/"
    assert event["requestContext"]["http"]["path"] == "//rides/7/"

    v1 = request(_url(apis, "RidesApi", "/v1/a//b/")).json()  # payload format 1.0
    assert (v1["path"], v1["requestContext"]["path"]) == ("/v1/a//b/", "/v1/a//b/")


def test_an_api_without_a_default_stage_answers_not_found_outside_its_stages(
    apis: dict[str, str],
) -> None:
    reply = request(_url(apis, "RoutingApi", "/pets/dog/1"))
    assert (reply.status, reply.json()) == (404, {"message": "Not Found"})


def test_the_host_form_reaches_the_same_api(apis: dict[str, str]) -> None:
    port = apis["base"].rsplit(":", 1)[1]
    host = {"Host": f"{apis['RidesApi']}.execute-api.localhost:{port}"}
    reply = request(f"{apis['base']}/rides/7", headers=host)
    assert reply.status == 200
    assert reply.json()["pathParameters"] == {"id": "7"}

    named = {"Host": f"{apis['RoutingApi']}.execute-api.localhost:{port}"}
    assert request(f"{apis['base']}/dev/pets/dog/1", headers=named).json()["routeKey"] == (
        "GET /pets/dog/1"
    )


def test_an_unknown_api_id_is_refused_as_api_gateway_refuses_it(apis: dict[str, str]) -> None:
    reply = request(f"{apis['base']}/nosuchapi/rides/1")
    assert reply.status == 403  # no HTTP API by that id: the REST answer for an unknown stage
    assert reply.json() == {"message": "Forbidden"}


def test_the_stage_throttle_answers_429(apis: dict[str, str]) -> None:
    url = _url(apis, "ThrottledApi", "/limited")
    assert request(url).status == 200  # the burst of one
    reply = request(url)
    assert (reply.status, reply.json()) == (429, {"message": "Too Many Requests"})


def test_cors_preflights_are_answered_and_responses_get_the_configured_headers(
    aws: Callable[[str], Any], apis: dict[str, str]
) -> None:
    assert aws("apigatewayv2").get_api(ApiId=apis["CorsApi"])["CorsConfiguration"] == {
        "AllowOrigins": ["http://localhost:3000"],
        "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["x-ride"],
        "ExposeHeaders": ["x-route"],
        "MaxAge": 300,
    }
    origin = {"Origin": "http://localhost:3000"}
    # No OPTIONS route: API Gateway answers the preflight itself.
    preflight = request(
        _url(apis, "CorsApi", "/cors"),
        "OPTIONS",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight.headers["Access-Control-Allow-Headers"] == "x-ride"
    assert preflight.headers["Access-Control-Max-Age"] == "300"

    reply = request(_url(apis, "CorsApi", "/cors"), headers=origin)
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert reply.headers["Access-Control-Expose-Headers"] == "x-route"

    other = request(_url(apis, "CorsApi", "/cors"), headers={"Origin": "http://localhost:8080"})
    assert other.status == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    # Credentials for any origin (refused at deploy, as AWS refuses it) never echo the origin.
    any_origin = {"allowOrigins": ["*"], "allowCredentials": True}
    asked = IncomingRequest(
        "OPTIONS", "/cors", "", [*origin.items(), ("Access-Control-Request-Method", "GET")], b"", ""
    )
    answered = http_cors.preflight(any_origin, asked)
    assert answered is not None
    assert dict(answered.headers)["Access-Control-Allow-Origin"] == "*"
    # An API without CORS passes OPTIONS to its routes (none here).
    assert request(_url(apis, "RidesApi", "/rides"), "OPTIONS", headers=origin).status == 404


# --- hand-written templates --------------------------------------------------------------------


def _hand_written(function_arn: str, route_key: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": "hand-written", "ProtocolType": "HTTP"},
            },
            "Integration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": function_arn,
                    "PayloadFormatVersion": "2.0",
                },
            },
            "Route": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "RouteKey": route_key,
                    "Target": {"Fn::Sub": "integrations/${Integration}"},
                },
            },
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "StageName": "$default",
                    "AutoDeploy": True,
                },
            },
        },
        "Outputs": {
            "ApiId": {"Value": {"Ref": "Api"}},
            "Endpoint": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}},
            "RouteId": {"Value": {"Fn::GetAtt": ["Route", "RouteId"]}},
            "IntegrationId": {"Value": {"Ref": "Integration"}},
            "Stage": {"Value": {"Ref": "Stage"}},
        },
    }


def _function_arn(aws: Callable[[str], Any], deploy: Deployer) -> str:
    name = deploy.function(_ECHO)
    return aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


_ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""


def test_hand_written_resources_are_created_updated_and_deleted(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    function_arn = _function_arn(aws, deploy)
    stack = _create_stack(aws, _hand_written(function_arn, "GET /hand/{id}"))
    outputs = _outputs(aws, stack)
    v2 = aws("apigatewayv2")
    api_id = outputs["ApiId"]
    assert outputs["Endpoint"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com"
    assert outputs["Stage"] == "$default"
    [route] = v2.get_routes(ApiId=api_id)["Items"]
    assert route["RouteId"] == outputs["RouteId"]
    assert route["Target"] == f"integrations/{outputs['IntegrationId']}"
    base = f"http://127.0.0.1:{runtime.apigw.port}/{api_id}"  # type: ignore[union-attr]
    assert request(f"{base}/hand/1").json()["pathParameters"] == {"id": "1"}

    aws("cloudformation").update_stack(
        StackName=stack, TemplateBody=json.dumps(_hand_written(function_arn, "POST /moved"))
    )
    [route] = v2.get_routes(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "POST /moved"
    assert request(f"{base}/hand/1").status == 404
    assert request(f"{base}/moved", "POST").json()["routeKey"] == "POST /moved"

    aws("cloudformation").delete_stack(StackName=stack)
    assert api_id not in {a["ApiId"] for a in v2.get_apis()["Items"]}
    assert request(f"{base}/moved", "POST").status == 403  # no such API any more


def test_quick_create_serves_every_path_through_the_default_route(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    function_arn = _function_arn(aws, deploy)
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": "quick", "ProtocolType": "HTTP", "Target": function_arn},
            }
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    api_id = _outputs(aws, _create_stack(aws, template))["ApiId"]
    base = f"http://127.0.0.1:{runtime.apigw.port}/{api_id}"  # type: ignore[union-attr]
    event = request(f"{base}/any/where", "PATCH").json()
    assert (event["routeKey"], event["rawPath"]) == ("$default", "/any/where")
    assert event["requestContext"]["stage"] == "$default"


# --- what localcloud cannot serve fails the deploy, saying why ---------------------------------

_LAMBDA_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:rides/invocations"
)


def _body_api(body: Any) -> dict[str, Any]:
    return {"Resources": {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": body}}}}


def _openapi(integration: dict[str, Any], path: str = "/rides") -> dict[str, Any]:
    return {
        "openapi": "3.0.1",
        "info": {"title": "bad", "version": "1"},
        "paths": {path: {"get": {"x-amazon-apigateway-integration": integration}}},
    }


_GOOD = {
    "type": "aws_proxy",
    "httpMethod": "POST",
    "uri": _LAMBDA_URI,
    "payloadFormatVersion": "2.0",
}


@pytest.mark.parametrize(
    ("logical_id", "template", "reason"),
    [
        ("Api", _body_api("{not: [yaml"), "Body is not a valid OpenAPI definition"),
        ("Api", _body_api({"paths": {}}), "Body is not an OpenAPI definition"),
        ("Api", _body_api(["not", "an", "object"]), "Body must be an OpenAPI definition"),
        (
            "Api",
            _body_api(_openapi({**_GOOD, "uri": "arn:aws:sqs:us-east-1:123456789012:rides"})),
            "is not a Lambda function ARN",
        ),
        (
            "Api",
            _body_api(_openapi({**_GOOD, "type": "http_proxy", "uri": "https://example.com"})),
            "integration type 'http_proxy' is not emulated",
        ),
        (
            "Api",
            _body_api(_openapi({k: v for k, v in _GOOD.items() if k != "payloadFormatVersion"})),
            'payloadFormatVersion must be "1.0" or "2.0"',
        ),
        ("Api", _body_api(_openapi(_GOOD, path="/a/{proxy+}/b")), "must be the last segment"),
        (
            "Api",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {"Name": "ws", "ProtocolType": "WEBSOCKET"},
                    }
                }
            },
            "ProtocolType WEBSOCKET of Api is not emulated",
        ),
        (
            "Proxy",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {"Name": "proxy", "ProtocolType": "HTTP"},
                    },
                    "Proxy": {
                        "Type": "AWS::ApiGatewayV2::Integration",
                        "Properties": {
                            "ApiId": {"Ref": "Api"},
                            "IntegrationType": "HTTP_PROXY",
                            "IntegrationUri": "https://example.com",
                            "PayloadFormatVersion": "1.0",
                        },
                    },
                }
            },
            "IntegrationType HTTP_PROXY of Proxy is not emulated",
        ),
        (
            "Route",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {"Name": "route", "ProtocolType": "HTTP"},
                    },
                    "Route": {
                        "Type": "AWS::ApiGatewayV2::Route",
                        "Properties": {"ApiId": {"Ref": "Api"}, "RouteKey": "FETCH /rides"},
                    },
                }
            },
            "route key 'FETCH /rides': the method must be one of",
        ),
        (
            "Route",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {"Name": "target", "ProtocolType": "HTTP"},
                    },
                    "Route": {
                        "Type": "AWS::ApiGatewayV2::Route",
                        "Properties": {
                            "ApiId": {"Ref": "Api"},
                            "RouteKey": "GET /rides",
                            "Target": "integrations/nosuch",
                        },
                    },
                }
            },
            "Target 'integrations/nosuch' is not integrations/<id> of an integration",
        ),
    ],
)
def test_what_localcloud_cannot_serve_fails_the_resource_saying_why(
    aws: Callable[[str], Any], logical_id: str, template: dict[str, Any], reason: str
) -> None:
    _assert_create_fails(aws, logical_id, template, reason)


def _assert_create_fails(
    aws: Callable[[str], Any], logical_id: str, template: dict[str, Any], reason: str
) -> None:
    """The stack rolls back, `logical_id` failed saying `reason`, and no API is left."""
    before = {a["ApiId"] for a in aws("apigatewayv2").get_apis()["Items"]}
    stack = unique("bad-http-api")
    with pytest.raises(ClientError):
        _create_stack(aws, template, stack)

    [described] = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    events = aws("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    [failed] = [
        e
        for e in events
        if e["LogicalResourceId"] == logical_id and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reason in failed["ResourceStatusReason"], failed["ResourceStatusReason"]
    assert {a["ApiId"] for a in aws("apigatewayv2").get_apis()["Items"]} == before  # none left


def _with_stage(**stage: Any) -> dict[str, Any]:
    """An API with one $default stage carrying `stage`'s extra properties."""
    return {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": unique("staged"), "ProtocolType": "HTTP"},
            },
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "StageName": "$default",
                    "AutoDeploy": True,
                    **stage,
                },
            },
        }
    }


_TIMEOUT_REASON = "timeoutInMillis must be an integer between 50 and 30000"
_THROTTLE_REASON = "must be a non-negative number"
_CORS_REASON = "allow-credentials is not supported if 'allow-origin' is *"


@pytest.mark.parametrize(
    ("logical_id", "template", "reason"),
    [
        pytest.param(
            "Api",
            _body_api(_openapi({**_GOOD, "timeoutInMillis": "abc"})),
            _TIMEOUT_REASON,
            id="body-timeout-not-a-number",
        ),
        pytest.param(
            "Api",
            _body_api(_openapi({**_GOOD, "timeoutInMillis": 30001})),
            _TIMEOUT_REASON,
            id="body-timeout-above-30000",
        ),
        pytest.param(
            "Integration",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {"Name": "timeout", "ProtocolType": "HTTP"},
                    },
                    "Integration": {
                        "Type": "AWS::ApiGatewayV2::Integration",
                        "Properties": {
                            "ApiId": {"Ref": "Api"},
                            "IntegrationType": "AWS_PROXY",
                            "IntegrationUri": _LAMBDA_URI,
                            "PayloadFormatVersion": "2.0",
                            "TimeoutInMillis": "abc",
                        },
                    },
                }
            },
            _TIMEOUT_REASON,
            id="integration-timeout-not-a-number",
        ),
        pytest.param(
            "Stage",
            _with_stage(DefaultRouteSettings={"ThrottlingRateLimit": "abc"}),
            f"DefaultRouteSettings: ThrottlingRateLimit {_THROTTLE_REASON}, not 'abc'",
            id="stage-rate-not-a-number",
        ),
        pytest.param(
            "Stage",
            _with_stage(RouteSettings={"GET /rides": {"ThrottlingBurstLimit": -1}}),
            f"RouteSettings GET /rides: ThrottlingBurstLimit {_THROTTLE_REASON}",
            id="route-burst-negative",
        ),
        pytest.param(
            "Api",
            {
                "Resources": {
                    "Api": {
                        "Type": "AWS::ApiGatewayV2::Api",
                        "Properties": {
                            "Name": "cors",
                            "ProtocolType": "HTTP",
                            "CorsConfiguration": {
                                "AllowOrigins": ["*"],
                                "AllowCredentials": True,
                            },
                        },
                    }
                }
            },
            f"CorsConfiguration: {_CORS_REASON}",
            id="cors-configuration-credentials-for-any-origin",
        ),
        pytest.param(
            "Api",
            _body_api(
                {
                    **_openapi(_GOOD),
                    "x-amazon-apigateway-cors": {
                        "allowOrigins": ["https://example.com", "*"],
                        "allowCredentials": True,
                    },
                }
            ),
            f"Body: x-amazon-apigateway-cors: {_CORS_REASON}",
            id="body-cors-credentials-for-any-origin",
        ),
    ],
)
def test_invalid_settings_fail_the_deploy_and_leave_nothing_behind(
    aws: Callable[[str], Any], logical_id: str, template: dict[str, Any], reason: str
) -> None:
    _assert_create_fails(aws, logical_id, template, reason)


def test_a_failed_body_update_leaves_the_api_as_it_was(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    good = {**_GOOD, "uri": _function_arn(aws, deploy)}
    template = _body_api(_openapi(good, path="/before"))
    template["Resources"]["Stage"] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "$default", "AutoDeploy": True},
    }
    template["Outputs"] = {"ApiId": {"Value": {"Ref": "Api"}}}
    stack = _create_stack(aws, template)
    api_id = _outputs(aws, stack)["ApiId"]
    v2 = aws("apigatewayv2")
    routes = v2.get_routes(ApiId=api_id)["Items"]

    bad = _openapi({**good, "timeoutInMillis": "abc"}, path="/after")
    bad["info"]["title"] = "renamed"
    template["Resources"]["Api"]["Properties"]["Body"] = bad
    with pytest.raises(ClientError, match=_TIMEOUT_REASON):
        aws("cloudformation").update_stack(StackName=stack, TemplateBody=json.dumps(template))

    assert v2.get_api(ApiId=api_id)["Name"] == "bad"  # the first body's title
    assert v2.get_routes(ApiId=api_id)["Items"] == routes
    base = f"http://127.0.0.1:{runtime.apigw.port}/{api_id}"  # type: ignore[union-attr]
    assert request(f"{base}/before").json()["routeKey"] == "GET /before"


def test_a_route_update_cannot_take_another_route_s_key(
    aws: Callable[[str], Any], deploy: Deployer
) -> None:
    template = _hand_written(_function_arn(aws, deploy), "GET /first")
    other = json.loads(json.dumps(template["Resources"]["Route"]))
    other["Properties"]["RouteKey"] = "GET /second"
    template["Resources"]["Other"] = other
    stack = _create_stack(aws, template)
    api_id = _outputs(aws, stack)["ApiId"]

    other["Properties"]["RouteKey"] = "GET /first"
    with pytest.raises(ClientError, match="Route with key GET /first already exists"):
        aws("cloudformation").update_stack(StackName=stack, TemplateBody=json.dumps(template))

    keys = sorted(r["RouteKey"] for r in aws("apigatewayv2").get_routes(ApiId=api_id)["Items"])
    assert keys == ["GET /first", "GET /second"]


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({"ThrottlingBurstLimit": 0, "ThrottlingRateLimit": 100}, id="burst-0"),
        pytest.param({"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 0}, id="rate-0"),
    ],
)
def test_a_throttling_limit_of_zero_blocks_every_request(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime, limits: dict[str, int]
) -> None:
    template = _hand_written(_function_arn(aws, deploy), "GET /blocked")
    template["Resources"]["Stage"]["Properties"]["DefaultRouteSettings"] = limits
    api_id = _outputs(aws, _create_stack(aws, template))["ApiId"]
    url = f"http://127.0.0.1:{runtime.apigw.port}/{api_id}/blocked"  # type: ignore[union-attr]
    for _ in range(3):
        reply = request(url)
        assert (reply.status, reply.json()) == (429, {"message": "Too Many Requests"})


# --- route keys and selection, without a server ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "path", "expected"),
    [
        ("GET /rides/{id}", "/rides/1", {"id": "1"}),
        ("GET /rides/{id}", "/rides", None),
        ("GET /rides/{id}", "/rides/1/2", None),
        ("ANY /{proxy+}", "/a/b/c", {"proxy": "a/b/c"}),
        ("ANY /{proxy+}", "/", None),  # a greedy variable takes one segment at least
        ("GET /a/b", "/a/b/", {}),
    ],
)
def test_route_paths_match_as_http_apis_match_them(
    key: str, path: str, expected: dict[str, str] | None
) -> None:
    segments = tuple(p for p in path.split("/") if p)
    assert match_path(parse_route_key(key), segments) == expected


def test_a_stage_without_auto_deploy_is_not_served(aws: Callable[[str], Any]) -> None:
    v2 = aws("apigatewayv2")
    api_id = v2.create_api(Name=unique("manual"), ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=api_id, StageName="$default")  # nothing deployed to it
    catalog = HttpApiCatalog("123456789012", "us-east-1")
    request = IncomingRequest("GET", "/x", "", [], b"", "127.0.0.1")
    with pytest.raises(LookupError):
        catalog.find_route(api_id, request.method, request.path)


def test_a_disabled_execute_api_endpoint_is_forbidden(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {
                    "Name": "private",
                    "ProtocolType": "HTTP",
                    "Target": _function_arn(aws, deploy),
                    "DisableExecuteApiEndpoint": True,
                },
            }
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    api_id = _outputs(aws, _create_stack(aws, template))["ApiId"]
    reply = request(f"http://127.0.0.1:{runtime.apigw.port}/{api_id}/rides")  # type: ignore[union-attr]
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_gap_moto_alone_creates_no_http_api(aws: Callable[[str], Any]) -> None:
    """What `patches.add_missing_cfn_resources` fixes for HTTP APIs: moto's CloudFormation has no
    model for them and reports the stack complete with nothing created."""
    bare = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": unique("gap"), "ProtocolType": "HTTP"},
            }
        }
    }
    before = aws("apigatewayv2").get_apis()["Items"]
    with patches.disabled("add_missing_cfn_resources", "refuse_resource_types_not_emulated"):
        stack = _create_stack(aws, bare)
        assert _outputs(aws, stack) == {}  # CREATE_COMPLETE
        assert aws("apigatewayv2").get_apis()["Items"] == before


def test_lambda_uris_and_stage_variables() -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:rides"
    invocation = (
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"
    )
    assert lambda_function(invocation, {}) == function
    assert lambda_function(function, {}) == function
    templated = function.replace("rides", "${stageVariables.fn}")
    assert is_lambda_uri(templated)
    assert lambda_function(templated, {"fn": "rides-dev"}) == f"{function}-dev"
    assert not is_lambda_uri("https://example.com/rides")
    assert not is_lambda_uri("arn:aws:sqs:us-east-1:123456789012:rides")


def test_a_body_in_s3_is_imported(
    aws: Callable[[str], Any], deploy: Deployer, runtime: Runtime
) -> None:
    body = _openapi({**_GOOD, "uri": _function_arn(aws, deploy)}, path="/from-s3")
    bucket = unique("bodies")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="openapi.yaml", Body=yaml.safe_dump(body).encode())
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"BodyS3Location": {"Bucket": bucket, "Key": "openapi.yaml"}},
            },
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "StageName": "$default",
                    "AutoDeploy": True,
                },
            },
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    api_id = _outputs(aws, _create_stack(aws, template))["ApiId"]
    assert aws("apigatewayv2").get_api(ApiId=api_id)["Name"] == "bad"  # the body's title
    reply = request(f"http://127.0.0.1:{runtime.apigw.port}/{api_id}/from-s3")  # type: ignore[union-attr]
    assert reply.json()["routeKey"] == "GET /from-s3"


def test_the_api_refuses_what_api_gateway_refuses_and_stores_nothing(
    runtime: Runtime, aws: Callable[[str], Any]
) -> None:
    v2 = aws("apigatewayv2")
    any_origin = {"AllowOrigins": ["*"], "AllowCredentials": True}
    name = unique("cors")
    with pytest.raises(ClientError, match="allow-credentials is not supported"):
        v2.create_api(Name=name, ProtocolType="HTTP", CorsConfiguration=any_origin)
    assert name not in [api["Name"] for api in v2.get_apis()["Items"]]

    api_id = v2.create_api(Name=unique("limits"), ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError, match="ThrottlingRateLimit must be a non-negative number"):
        v2.create_stage(
            ApiId=api_id,
            StageName="$default",
            DefaultRouteSettings={"ThrottlingRateLimit": -5.0, "ThrottlingBurstLimit": 1},
        )
    assert v2.get_stages(ApiId=api_id)["Items"] == []
    with pytest.raises(ClientError, match="allow-credentials is not supported"):
        v2.update_api(ApiId=api_id, CorsConfiguration=any_origin)

    with patches.disabled("validate_http_api_settings_as_aws_does"):  # moto alone stores both
        v2.update_api(ApiId=api_id, CorsConfiguration=any_origin)
        v2.create_stage(
            ApiId=api_id,
            StageName="$default",
            DefaultRouteSettings={"ThrottlingRateLimit": -5.0, "ThrottlingBurstLimit": 1},
        )
    assert len(v2.get_stages(ApiId=api_id)["Items"]) == 1
    v2.delete_api(ApiId=api_id)
