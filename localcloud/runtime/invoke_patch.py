"""Makes moto's Lambda `Invoke` run the function's real code on the local runtime.

moto 5.2.5 either needs Docker (LambdaBackend.invoke) or only echoes (LambdaSimpleBackend, the
`use_docker: false` mode). Both classes are patched, plus LambdaFunction.invoke which the
deprecated InvokeAsync API calls. `apply()` is idempotent and cheap; the patch forwards to
whichever Invoker is registered with `register()` and falls back to moto's behaviour when none
is (so importing localcloud never changes moto for code that does not start the runtime).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from localcloud.runtime.functions import lambda_backend, spec_from_model
from localcloud.runtime.invoker import Invoker, Throttled

log = logging.getLogger(__name__)

_ORIGINALS: dict[tuple[type, str], Any] = {}
_state_lock = threading.Lock()
# Registered invokers, newest last; the newest one serves invocations. A stack (not a single
# slot) so a second Runtime started and stopped in the same process hands control back.
_invokers: list[Invoker] = []


class TooManyRequestsException(JsonRESTError):
    code = 429

    def __init__(self, message: str) -> None:
        super().__init__("TooManyRequestsException", message)


def register(invoker: Invoker) -> None:
    """Route moto's Invoke to `invoker` (until it is unregistered)."""
    with _state_lock:
        _invokers.append(invoker)


def unregister(invoker: Invoker) -> None:
    with _state_lock:
        if invoker in _invokers:
            _invokers.remove(invoker)


def _current() -> Invoker | None:
    with _state_lock:
        return _invokers[-1] if _invokers else None


def apply() -> None:
    """Install the patch on moto's Lambda classes (idempotent)."""
    with _state_lock:
        if _ORIGINALS:
            return
        for cls in (LambdaBackend, LambdaSimpleBackend):
            _ORIGINALS[(cls, "invoke")] = cls.__dict__["invoke"]
            cls.invoke = _backend_invoke  # type: ignore[method-assign]
        _ORIGINALS[(LambdaFunction, "invoke")] = LambdaFunction.__dict__["invoke"]
        LambdaFunction.invoke = _function_invoke  # type: ignore[method-assign]


def remove() -> None:
    """Restore moto's own invoke (tests of the patch use it)."""
    with _state_lock:
        for (cls, name), original in _ORIGINALS.items():
            setattr(cls, name, original)
        _ORIGINALS.clear()


def is_applied() -> bool:
    return bool(_ORIGINALS)


def _backend_invoke(
    self: LambdaBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes | str | None:
    invoker = _current()
    if invoker is None:
        cls = LambdaSimpleBackend if isinstance(self, LambdaSimpleBackend) else LambdaBackend
        original = _ORIGINALS[(cls, "invoke")]
        return original(self, function_name, qualifier, body, headers, response_headers)
    function = self.get_function(function_name, qualifier)  # raises moto's 404 when unknown
    payload = _run(
        invoker, self, function, function_name, qualifier, body, headers, response_headers
    )
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _function_invoke(
    self: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, str]
) -> bytes | str:
    invoker = _current()
    if invoker is None:
        return _ORIGINALS[(LambdaFunction, "invoke")](self, body, request_headers, response_headers)
    backend = lambda_backend(self.account_id, self.region)
    return _run(
        invoker, backend, self, self.function_arn, None, body, request_headers, response_headers
    )


def _run(
    invoker: Invoker,
    backend: LambdaBackend,
    function: LambdaFunction,
    invoked_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    spec = spec_from_model(function, backend)
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
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
