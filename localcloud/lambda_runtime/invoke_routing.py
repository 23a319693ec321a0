"""Routes moto's Lambda Invoke to the invoker of a running localcloud Runtime.

The patch itself (`localcloud.patches.run_invocations_in_localcloud`) only forwards moto's
invoke methods here while an invoker is registered; this module holds the registry and the
translation between moto's invoke arguments (headers, body) and the Invoker. A Runtime
registers its Invoker on start() and unregisters it on stop().
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Protocol

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core.exceptions import JsonRESTError

from localcloud.lambda_runtime.functions import FunctionSpec, lambda_backend, spec_from_model
from localcloud.lambda_runtime.invoker import InvocationResult, Throttled
from localcloud.registration import LatestRegistered

log = logging.getLogger(__name__)


class InvocationTarget(Protocol):
    """What routing needs from an invoker (localcloud.lambda_runtime.invoker.Invoker)."""

    def invoke_spec(
        self, spec: FunctionSpec, event_json: str, invoked_arn: str, client_context: Any = None
    ) -> InvocationResult: ...

    def submit_async(
        self, spec: FunctionSpec, event_json: str, invoked_arn: str, client_context: Any = None
    ) -> None: ...


class TooManyRequestsException(JsonRESTError):
    code = 429

    def __init__(self, message: str) -> None:
        super().__init__("TooManyRequestsException", message)


# Registered invokers, newest last; the newest one serves invocations (see registration).
_invokers: LatestRegistered[InvocationTarget] = LatestRegistered()
register = _invokers.register  # route moto's Invoke to this invoker until it is unregistered
unregister = _invokers.unregister
current = _invokers.current  # the invoker that serves moto's Invoke now, or None (moto's own)


def invoke_through_backend(
    invoker: InvocationTarget,
    backend: LambdaBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    """LambdaBackend.invoke's contract (the Invoke API), served by `invoker`."""
    function = backend.get_function(function_name, qualifier)  # raises moto's 404 when unknown
    payload = _run(
        invoker, backend, function, function_name, qualifier, body, headers, response_headers
    )
    response_headers["Content-Length"] = str(len(payload))
    return payload


def invoke_function(
    invoker: InvocationTarget,
    function: LambdaFunction,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    """LambdaFunction.invoke's contract. Its callers in moto are the deprecated InvokeAsync API
    and the services' notifications (SNS, S3, CloudWatch Logs subscriptions), all of which AWS
    invokes asynchronously: without an X-Amz-Invocation-Type it is an Event invocation."""
    backend = lambda_backend(function.account_id, function.region)
    return _run(
        invoker,
        backend,
        function,
        function.function_arn,
        None,
        body,
        headers,
        response_headers,
        default_invocation_type="Event",
    )


def _run(
    invoker: InvocationTarget,
    backend: LambdaBackend,
    function: LambdaFunction,
    invoked_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
    default_invocation_type: str = "RequestResponse",
) -> bytes:
    spec = spec_from_model(function, backend)
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or default_invocation_type
    response_headers["x-amz-executed-version"] = spec.version
    if invocation_type == "DryRun":
        return b""
    event_json = _body_text(body)
    invoked_arn = invoked_name if invoked_name.startswith("arn:") else spec.arn
    if qualifier and not invoked_arn.endswith(f":{qualifier}"):
        invoked_arn = f"{invoked_arn}:{qualifier}"
    client_context = _client_context(_header(headers, "X-Amz-Client-Context"))
    if invocation_type == "Event":
        invoker.submit_async(spec, event_json, invoked_arn, client_context)
        return b""
    try:
        result = invoker.invoke_spec(spec, event_json, invoked_arn, client_context)
    except Throttled as exc:
        raise TooManyRequestsException(str(exc)) from exc
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    # moto's response drops this header unless the caller asked for LogType=Tail.
    response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail().encode()).decode()
    return result.payload


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _body_text(body: Any) -> str:
    if body is None:
        return "{}"
    if isinstance(body, bytes):
        body = body.decode()
    if not isinstance(body, str):
        return json.dumps(body)
    return body if body.strip() else "{}"


def _client_context(encoded: str | None) -> Any:
    if not encoded:
        return None
    try:
        return json.loads(base64.b64decode(encoded))
    except ValueError:
        log.warning("ignoring a client context that is not base64 JSON")
        return None
