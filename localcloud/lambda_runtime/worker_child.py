"""One Lambda execution environment: a long-lived child process that runs one function's handler.

The parent (`localcloud.lambda_runtime.worker_process`) starts this file as a script with
`python -I`, on the Python the function's runtime names (`interpreters`), so that neither the
repository root (whose `platform/` folder shadows the standard library) nor the parent's PYTHON*
variables leak into the function. It must therefore import nothing but the standard library,
and run on every Python 3 Lambda offers. Requests and results travel as JSON over two inherited
pipes (fds given on the command line), not over stdout, because the handler's own prints go there.

Lambda's Python runtime behaviours copied here on purpose, so handlers behave as in AWS:
- the code directory first on sys.path, then each layer's `python/` folders (like /opt/python),
  then the runtime-provided AWS SDK (localcloud's own site-packages, or on another Python a
  folder of links to the toolchain's pure-Python boto3 and its dependencies);
- the module is imported once (cold start) and the handler reused for every invocation;
- the root logger gets Lambda's handler and format, stdout/stderr are captured line by line;
- results are serialised with Decimal support, errors reported as errorMessage/errorType/stackTrace.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any


class _Channel:
    """Message pipe to the parent; several threads of the handler may log at once."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._rx = Connection(read_fd, readable=True, writable=False)
        self._tx = Connection(write_fd, readable=False, writable=True)
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        with self._lock:
            self._tx.send_bytes(data)

    def receive(self) -> dict[str, Any]:
        return json.loads(self._rx.recv_bytes())


class _LineStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: each complete line becomes one log event."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._channel.send({"op": "log", "text": line})
        return len(text)

    def flush(self) -> None:
        with self._lock:
            line, self._pending = self._pending, ""
        if line:
            self._channel.send({"op": "log", "text": line})


class LambdaContext:
    """The context object the Python runtime passes to handlers (same attribute names)."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id: str = request["id"]
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn: str = request["invoked_arn"]
        # A string in AWS too: the runtime copies it from the environment.
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = request.get("client_context")
        self.tenant_id = None
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version}])"
        )


class _RequestIdFilter(logging.Filter):
    """Adds aws_request_id to every record, as the Lambda runtime's log handler does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_lambda_logging(stream: io.TextIOBase) -> _RequestIdFilter:
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.handlers = [handler]
    return request_filter


def _error(error_type: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": trace or []}


def _exception_error(exc: BaseException) -> dict[str, Any]:
    # Lambda drops the runtime's own frame and keeps the handler's frames, formatted per frame.
    frames = traceback.extract_tb(exc.__traceback__)[1:]
    return _error(type(exc).__name__, str(exc), traceback.format_list(frames))


def _decimal_default(value: Any) -> Any:
    # Lambda's Python runtime serialises Decimal (what boto3's DynamoDB resource returns).
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise _InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
        ) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _max_memory_mb() -> int:
    # VmHWM is this process image's peak; ru_maxrss on Linux survives exec and would report
    # the peak of the (much larger) parent that forked the worker.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _invoke(handler: Any, request: dict[str, Any], request_filter: _RequestIdFilter) -> dict:
    request_filter.request_id = request["id"]
    os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
    try:
        event = json.loads(request["event"])
        result = handler(event, LambdaContext(request))
    except Exception as exc:  # the handler's failure is the function's result, not ours
        error = _exception_error(exc)
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stdout)
        return {"op": "result", "ok": False, "error": error}
    try:
        payload = json.dumps(result, default=_decimal_default)
    except (TypeError, ValueError) as exc:
        error = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        return {"op": "result", "ok": False, "error": error}
    return {"op": "result", "ok": True, "payload": payload}


def main(argv: list[str]) -> int:
    channel = _Channel(int(argv[1]), int(argv[2]))
    # The parent decides the search path (code, layers, then the runtime-provided boto3).
    sys.path[:0] = json.loads(os.environ.pop("_LOCALCLOUD_SYS_PATH"))
    stream = _LineStream(channel)
    sys.stdout = sys.stderr = stream  # type: ignore[assignment]
    request_filter = _install_lambda_logging(stream)

    started = time.perf_counter()
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitError as exc:
        print(f"[ERROR] {exc.error_type}: {exc}")
        stream.flush()
        channel.send({"op": "init_error", "error": _error(exc.error_type, str(exc))})
        return 1
    except Exception as exc:  # an exception at import time fails the init phase
        error = _exception_error(exc)
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}")
        stream.flush()
        channel.send({"op": "init_error", "error": error})
        return 1
    init_ms = (time.perf_counter() - started) * 1000
    channel.send({"op": "ready", "init_ms": init_ms})

    while True:
        try:
            request = channel.receive()
        except EOFError:
            return 0
        if request["op"] == "exit":
            return 0
        response = _invoke(handler, request, request_filter)
        stream.flush()
        response["max_memory_mb"] = _max_memory_mb()
        channel.send(response)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
