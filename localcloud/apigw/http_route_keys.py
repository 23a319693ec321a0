"""The grammar HTTP APIs share between deploy time and request time: route keys and the Lambda
integration URIs localcloud can serve.

Kept in one place so a template that deploys is one the data plane can route: the CloudFormation
handlers (localcloud.cloudformation.apigatewayv2) refuse what these functions reject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
# The methods an HTTP API route may name (ANY: every method without a route of its own).
METHODS = frozenset({"ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})

# A Lambda integration's URI: the API Gateway invocation path around a function ARN (what SAM
# writes), or the function ARN itself (what CreateIntegration also takes for HTTP APIs). A stage
# variable may stand for any part of it.
_FUNCTION_ARN = r"arn:[^:/\s]+:lambda:[^:/\s]+:[^:/\s]+:function:[^/\s]+"
_INVOCATION_URI = re.compile(
    rf"^arn:[^:/\s]+:apigateway:[^:/\s]+:lambda:path/[^/\s]+/functions/(?P<fn>{_FUNCTION_ARN})"
    r"/invocations$"
)
_PLAIN_FUNCTION = re.compile(rf"^(?P<fn>{_FUNCTION_ARN})$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
PAYLOAD_FORMAT_VERSIONS = ("1.0", "2.0")


@dataclass(frozen=True)
class RouteKey:
    """`METHOD /path` (method ANY matches every method) or the `$default` catch-all."""

    method: str  # "" for $default
    segments: tuple[str, ...]  # the path split on "/", e.g. ("rides", "{id}")

    @property
    def is_default(self) -> bool:
        return not self.method

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")


def parse_route_key(key: str) -> RouteKey:
    """The route key, or ValueError saying what is wrong with it (as CreateRoute would)."""
    if key == DEFAULT_ROUTE:
        return RouteKey("", ())
    method, _, path = key.partition(" ")
    if method not in METHODS:
        raise ValueError(
            f"route key {key!r}: the method must be one of {', '.join(sorted(METHODS))} "
            "(or the key $default)"
        )
    if not path.startswith("/") or " " in path:
        raise ValueError(f"route key {key!r}: the path must start with '/'")
    segments = tuple(part for part in path.split("/") if part)
    for index, segment in enumerate(segments):
        variable = segment.startswith("{") or segment.endswith("}")
        if variable and not (segment.startswith("{") and segment.endswith("}") and segment[1:-1]):
            raise ValueError(f"route key {key!r}: {segment!r} is not a path variable {{name}}")
        if segment.endswith("+}") and index != len(segments) - 1:
            raise ValueError(
                f"route key {key!r}: the greedy path variable {segment} must be the last segment"
            )
    return RouteKey(method, segments)


def match_path(route: RouteKey, path_segments: tuple[str, ...]) -> dict[str, str] | None:
    """The path parameters if the request path matches the route's path, else None."""
    params: dict[str, str] = {}
    for index, part in enumerate(route.segments):
        if part.endswith("+}"):
            rest = path_segments[index:]
            if not rest:  # a greedy variable takes one segment at least
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(path_segments):
            return None
        if part.startswith("{"):
            params[part[1:-1]] = path_segments[index]
        elif part != path_segments[index]:
            return None
    return params if len(route.segments) == len(path_segments) else None


def is_lambda_uri(uri: object) -> bool:
    """Whether an integration URI names a Lambda function (stage variables allowed in it)."""
    if not isinstance(uri, str):
        return False
    probe = _STAGE_VARIABLE.sub("x", uri)
    return bool(_INVOCATION_URI.match(probe) or _PLAIN_FUNCTION.match(probe))


def lambda_function(uri: str | None, stage_variables: Mapping[str, str]) -> str | None:
    """The function ARN an integration calls, stage variables substituted; None if it names
    none."""
    if uri is None:
        return None
    resolved = _STAGE_VARIABLE.sub(lambda m: stage_variables.get(m.group(1), ""), uri)
    match = _INVOCATION_URI.match(resolved) or _PLAIN_FUNCTION.match(resolved)
    return match.group("fn") if match else None


def payload_format_version(value: object) -> str | None:
    """ "1.0" / "2.0" as written (a YAML body may give them as numbers); None if neither."""
    if isinstance(value, bool):
        return None
    text = f"{float(value):.1f}" if isinstance(value, int | float) else value
    return text if isinstance(text, str) and text in PAYLOAD_FORMAT_VERSIONS else None
