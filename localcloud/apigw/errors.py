"""API Gateway's own error responses, shaped by the API's gateway responses when it has them.

An API can customise each gateway response type (PutGatewayResponse, or
`x-amazon-apigateway-gateway-responses` in its OpenAPI body, where SAM puts an Api's
GatewayResponses): status code, headers (`responseParameters`) and body (`responseTemplates`).
A type the API does not customise falls back to DEFAULT_4XX / DEFAULT_5XX, then to API Gateway's
built-in response, `{"message": $context.error.messageString}` with the error's own status.

Templates are not run through VTL (as in AWS): `$context.*` and `$stageVariables.*` references
are substituted; an unknown reference becomes the empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from localcloud.apigw.proxy import IncomingRequest, ProxyResponse
from localcloud.apigw.routes import GatewayResponseSpec, Route


@dataclass(frozen=True)
class GatewayError:
    status: int  # when no gateway response sets one
    message: str  # $context.error.message
    error_type: str  # the x-amzn-ErrorType header
    response_type: str  # the gateway response type that customises it


MISSING_AUTHENTICATION_TOKEN = GatewayError(
    403,
    "Missing Authentication Token",
    "MissingAuthenticationTokenException",
    "MISSING_AUTHENTICATION_TOKEN",
)
# API Gateway answers a missing key and a wrong one alike.
INVALID_API_KEY = GatewayError(403, "Forbidden", "ForbiddenException", "INVALID_API_KEY")
THROTTLED = GatewayError(429, "Too Many Requests", "TooManyRequestsException", "THROTTLED")
QUOTA_EXCEEDED = GatewayError(429, "Limit Exceeded", "LimitExceededException", "QUOTA_EXCEEDED")
INTEGRATION_FAILURE = GatewayError(
    502, "Internal server error", "InternalServerErrorException", "INTEGRATION_FAILURE"
)
MALFORMED_PROXY_RESPONSE = GatewayError(
    502, "Internal server error", "InternalServerErrorException", "API_CONFIGURATION_ERROR"
)
API_CONFIGURATION_ERROR = GatewayError(
    500, "Internal server error", "InternalServerErrorException", "API_CONFIGURATION_ERROR"
)
# A stage that does not exist has no deployed gateway responses: always the built-in answer.
UNKNOWN_STAGE = GatewayError(403, "Forbidden", "ForbiddenException", "DEFAULT_4XX")

_BUILT_IN = GatewayResponseSpec(
    status_code=None,
    response_parameters={},
    response_templates={"application/json": '{"message":$context.error.messageString}'},
)
_REFERENCE = re.compile(
    r"\$\{(context|stageVariables)\.([\w.]+)\}|\$(context|stageVariables)\.(\w+(?:\.\w+)*)"
)
_HEADER_PARAMETER = "gatewayresponse.header."


@dataclass(frozen=True)
class ErrorContext:
    """What a gateway response's templates and parameters can refer to."""

    api_id: str
    stage: str
    request_id: str
    request: IncomingRequest | None = None
    route: Route | None = None
    stage_variables: Mapping[str, str] = field(default_factory=dict)


def render(
    error: GatewayError,
    responses: Mapping[str, GatewayResponseSpec],
    context: ErrorContext,
) -> ProxyResponse:
    fallback = responses.get("DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX")
    chosen = responses.get(error.response_type) or fallback or _BUILT_IN
    status = _status(chosen.status_code) or error.status
    values = _context_values(error, context)
    stage_variables = context.stage_variables
    templates = chosen.response_templates or _BUILT_IN.response_templates
    content_type = "application/json" if "application/json" in templates else next(iter(templates))
    body = _substitute(templates[content_type], values, stage_variables)
    headers = [("Content-Type", content_type), ("x-amzn-ErrorType", error.error_type)]
    for name, expression in (chosen.response_parameters or {}).items():
        if not name.startswith(_HEADER_PARAMETER):
            continue
        value = _parameter(expression, values, stage_variables, context)
        if value is not None:
            header = name[len(_HEADER_PARAMETER) :]
            headers = [(k, v) for k, v in headers if k.lower() != header.lower()]
            headers.append((header, value))
    return ProxyResponse(status, headers, body.encode())


def _status(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _context_values(error: GatewayError, context: ErrorContext) -> dict[str, str]:
    request, route = context.request, context.route
    values = {
        "requestId": context.request_id,
        "extendedRequestId": context.request_id,
        "apiId": context.api_id,
        "stage": context.stage,
        "error.message": error.message,
        "error.messageString": json.dumps(error.message),
        "error.responseType": error.response_type,
        "error.validationErrorString": "",
    }
    if request is not None:
        values["httpMethod"] = request.method
        values["path"] = f"/{context.stage}{request.path}"
        values["identity.sourceIp"] = request.source_ip
    if route is not None:
        values["resourcePath"] = route.resource_path
        values["resourceId"] = route.resource_id
    return values


def _substitute(
    template: str, values: Mapping[str, str], stage_variables: Mapping[str, str]
) -> str:
    def replace(match: re.Match[str]) -> str:
        scope = match.group(1) or match.group(3)
        name = match.group(2) or match.group(4)
        source = values if scope == "context" else stage_variables
        return source.get(name, "")

    return _REFERENCE.sub(replace, template)


def _parameter(
    expression: str,
    values: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: ErrorContext,
) -> str | None:
    """A responseParameters value: a 'static' string, or where in the request to read it."""
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression.startswith("context."):
        return values.get(expression[len("context.") :])
    if expression.startswith("stageVariables."):
        return stage_variables.get(expression[len("stageVariables.") :])
    request = context.request
    if request is None:
        return None
    if expression.startswith("method.request.header."):
        wanted = expression[len("method.request.header.") :].lower()
        found = [v for k, v in request.headers if k.lower() == wanted]
        return found[-1] if found else None
    if expression.startswith("method.request.querystring."):
        wanted = expression[len("method.request.querystring.") :]
        found = [v for k, v in parse_qsl(request.raw_query, keep_blank_values=True) if k == wanted]
        return found[-1] if found else None
    if expression.startswith("method.request.path.") and context.route is not None:
        return context.route.path_parameters.get(expression[len("method.request.path.") :])
    return None
