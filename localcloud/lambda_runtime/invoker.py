"""Runs an invocation on a warm worker: pooling, cold starts, timeouts, Lambda's log framing.

Each function version has a pool of workers (execution environments). A worker is reused while
the function's fingerprint (code sha256, handler, env, layers, timeout, memory) is unchanged and
replaced when it changes, which is what Lambda does after UpdateFunctionCode/Configuration.
"""

from __future__ import annotations

import json
import logging
import math
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.lambda_runtime import interpreters
from localcloud.lambda_runtime.artifacts import ArtifactCache, layer_python_paths
from localcloud.lambda_runtime.async_invocations import AsyncInvocation
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.environment import AwsTarget, worker_environment
from localcloud.lambda_runtime.functions import FunctionSpec, load_function
from localcloud.lambda_runtime.interpreters import Interpreter
from localcloud.lambda_runtime.logs import LogSink
from localcloud.lambda_runtime.worker_process import (
    WORKER_SCRIPT,
    WorkerProcess,
    WorkerReply,
    new_log_stream_name,
)

log = logging.getLogger(__name__)

# Lambda's init phase has its own 10 s limit, separate from the function timeout.
INIT_TIMEOUT_S = 10.0
DEFAULT_MAX_CONCURRENCY = 10
_THROTTLE_WAIT_S = 30.0
_LOG_TAIL_BYTES = 4096


class Throttled(RuntimeError):
    """No execution environment became free in time (or reserved concurrency is 0)."""


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" like the X-Amz-Function-Error header, or None
    executed_version: str
    log_lines: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None

    def log_tail(self) -> str:
        """The last 4 KB of the invocation's log, as `LogType=Tail` returns it."""
        text = "\n".join(self.log_lines) + "\n"
        return text.encode()[-_LOG_TAIL_BYTES:].decode(errors="ignore")


class _Pool:
    """Idle workers of one function version plus a concurrency gate."""

    def __init__(self) -> None:
        self.idle: list[WorkerProcess] = []
        self.busy = 0
        self.changed = threading.Condition()


class Invoker:
    def __init__(
        self,
        cache: ArtifactCache,
        target: AwsTarget,
        sink: LogSink,
        default_region: str,
        account_id: str,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self._cache = cache
        self._target = target
        self._sink = sink
        self._default_region = default_region
        self._account_id = account_id
        self._max_concurrency = max_concurrency
        self._pools: dict[str, _Pool] = {}
        self._pools_lock = threading.Lock()
        self._closed = False
        self._async_lock = threading.Lock()
        self._async_threads: list[threading.Thread] = []
        self._stopping = threading.Event()  # ends the waits between asynchronous retries
        # Destinations of asynchronous invocations are reached like the functions reach AWS.
        self._clients = ClientFactory(target, default_region)

    # ---- public API -------------------------------------------------------------------------

    def invoke(
        self,
        function: str,
        event: Any = None,
        qualifier: str | None = None,
        client_context: Any = None,
    ) -> InvocationResult:
        """Invoke by name or ARN; `event` is raw JSON (str/bytes) or a JSON-able object."""
        spec = load_function(function, qualifier, self._default_region, self._account_id)
        invoked_arn = function if function.startswith("arn:") else spec.arn
        if qualifier and not invoked_arn.endswith(f":{qualifier}"):
            invoked_arn = f"{invoked_arn}:{qualifier}"
        return self.invoke_spec(spec, _event_json(event), invoked_arn, client_context)

    def invoke_spec(
        self,
        spec: FunctionSpec,
        event_json: str,
        invoked_arn: str,
        client_context: Any = None,
    ) -> InvocationResult:
        if spec.package_type != "Zip":
            raise ValueError(f"{spec.name}: only Zip functions can run locally")
        if interpreters.python_version(spec.runtime) is None:
            return _unsupported_runtime(spec)
        pool = self._pool(spec.pool_key)
        worker = self._acquire(pool, spec)
        request_id = str(uuid.uuid4())
        lines: list[str] = []
        try:
            return self._run(
                spec, worker, pool, request_id, event_json, invoked_arn, client_context, lines
            )
        finally:
            with pool.changed:
                pool.busy -= 1
                pool.changed.notify()

    def submit_async(
        self, spec: FunctionSpec, event_json: str, invoked_arn: str, client_context: Any = None
    ) -> None:
        """InvocationType=Event: accepted now, run in the background with Lambda's retries,
        event age limit and destinations (async_invocations)."""
        invocation = AsyncInvocation(
            self.invoke_spec,
            Throttled,
            self._clients,
            self._stopping,
            spec,
            event_json,
            invoked_arn,
            client_context,
        )
        with self._async_lock:
            self._async_threads = [t for t in self._async_threads if t.is_alive()]
            thread = threading.Thread(target=invocation.run, name=f"async-{spec.name}", daemon=True)
            self._async_threads.append(thread)
        thread.start()

    def shutdown(self) -> None:
        """Stop every worker; later invocations are refused."""
        self._closed = True
        self._stopping.set()
        with self._async_lock:
            pending = list(self._async_threads)
        for thread in pending:
            thread.join(timeout=30)
        with self._pools_lock:
            pools = list(self._pools.values())
        for pool in pools:
            with pool.changed:
                idle, pool.idle = pool.idle, []
            for worker in idle:
                worker.stop()

    def worker_pids(self, function_name: str | None = None) -> list[int]:
        """Live idle workers (tests use it to see reuse and replacement)."""
        with self._pools_lock:
            pools = [
                pool
                for key, pool in self._pools.items()
                if function_name is None
                or key.split(":function:")[1].startswith(function_name + ":")
            ]
        return [worker.pid for pool in pools for worker in pool.idle if worker.alive()]

    # ---- internals --------------------------------------------------------------------------

    def _pool(self, key: str) -> _Pool:
        with self._pools_lock:
            return self._pools.setdefault(key, _Pool())

    def _acquire(self, pool: _Pool, spec: FunctionSpec) -> WorkerProcess | None:
        """Reserve a concurrency slot; return a warm matching worker or None (cold start)."""
        if self._closed:
            raise Throttled("the local runtime is stopped")
        limit = self._max_concurrency
        if spec.reserved_concurrency is not None:
            if spec.reserved_concurrency == 0:
                raise Throttled("Rate Exceeded.")
            limit = min(limit, spec.reserved_concurrency)
        stale: list[WorkerProcess] = []
        with pool.changed:
            if not pool.changed.wait_for(lambda: pool.busy < limit, _THROTTLE_WAIT_S):
                raise Throttled("Rate Exceeded.")
            pool.busy += 1
            warm = None
            for worker in list(pool.idle):
                if worker.fingerprint != spec.fingerprint or not worker.alive():
                    pool.idle.remove(worker)
                    stale.append(worker)
                elif warm is None:
                    pool.idle.remove(worker)
                    warm = worker
        for worker in stale:  # code or configuration changed: retire the old environment
            worker.stop()
        return warm

    def _release(self, pool: _Pool, spec: FunctionSpec, worker: WorkerProcess) -> None:
        if self._closed or not worker.alive():
            worker.stop()
            return
        with pool.changed:
            pool.idle.append(worker)

    def _spawn(
        self, spec: FunctionSpec, interpreter: Interpreter, emit: Callable[[str], None]
    ) -> WorkerProcess:
        code_dir = self._cache.code_dir(spec.code_sha256, spec.code_zip)
        sys_path = [str(code_dir)]
        for layer in spec.layers:
            layer_dir = self._cache.layer_dir(layer.sha256, layer.zip_bytes, interpreter)
            sys_path.extend(str(p) for p in layer_python_paths(layer_dir))
        if not interpreter.own:
            # Lambda's /var/runtime (boto3) comes after the code and the layers; localcloud's
            # own interpreter finds it in its site-packages at the same place.
            sys_path.append(str(self._cache.runtime_packages()))
            if spec.foreign_layers:
                # Stands in for the layers it does not hold, as on its own interpreter.
                sys_path.append(sysconfig.get_paths()["purelib"])
        stream = new_log_stream_name()
        env = worker_environment(spec, self._target, code_dir, stream)
        command = interpreter.command(WORKER_SCRIPT)
        return WorkerProcess(spec.fingerprint, command, sys_path, env, code_dir, stream, emit)

    def _run(
        self,
        spec: FunctionSpec,
        worker: WorkerProcess | None,
        pool: _Pool,
        request_id: str,
        event_json: str,
        invoked_arn: str,
        client_context: Any,
        lines: list[str],
    ) -> InvocationResult:
        group = f"/aws/lambda/{spec.name}"
        stream_holder: list[str] = []

        def emit(text: str) -> None:
            lines.append(text)
            stream = stream_holder[0] if stream_holder else "pending"
            self._sink.write(spec.name, group, stream, text)

        cold = worker is None
        if worker is None:
            interpreter = interpreters.for_runtime(spec.runtime)
            worker = self._spawn(spec, interpreter, emit)
            stream_holder.append(worker.log_stream)
            emit(f"INIT_START Runtime Version: python:{interpreter.minor} (localcloud)")
            ready = worker.wait_ready(time.monotonic() + INIT_TIMEOUT_S)
        else:
            stream_holder.append(worker.log_stream)
            worker.set_log_handler(emit)
            ready = WorkerReply("ready", {})

        started = time.monotonic()
        emit(f"START RequestId: {request_id} Version: {spec.version}")
        if ready.kind == "ready":
            request = {
                "id": request_id,
                "event": event_json,
                "invoked_arn": invoked_arn,
                "deadline_ms": int(time.time() * 1000) + spec.timeout * 1000,
                "trace_id": _trace_header(),
                "client_context": client_context,
            }
            reply = worker.invoke(request, started + spec.timeout)
        else:
            reply = ready
        duration_ms = (time.monotonic() - started) * 1000

        payload, function_error, status = self._outcome(spec, request_id, reply, emit)
        emit(f"END RequestId: {request_id}")
        emit(_report_line(request_id, duration_ms, spec, reply, worker, cold, status))
        if status is None:
            self._release(pool, spec, worker)
        else:
            # A timed-out, crashed or failed-init environment is never reused.
            worker.kill()
        return InvocationResult(
            request_id=request_id,
            payload=payload,
            function_error=function_error,
            executed_version=spec.version,
            log_lines=lines,
            duration_ms=duration_ms,
        )

    @staticmethod
    def _outcome(
        spec: FunctionSpec, request_id: str, reply: WorkerReply, emit: Callable[[str], None]
    ) -> tuple[bytes, str | None, str | None]:
        """(payload, function error, REPORT status) for a worker reply."""
        if reply.kind == "result" and reply.message["ok"]:
            return reply.message["payload"].encode(), None, None
        if reply.kind == "result":
            return json.dumps(reply.message["error"]).encode(), "Unhandled", None
        if reply.kind == "timeout":
            timed_out = f"Task timed out after {spec.timeout:.2f} seconds"
            emit(f"{_now_iso()} {request_id} {timed_out}")
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: {timed_out}",
            }
            return json.dumps(error).encode(), "Unhandled", "timeout"
        if reply.kind == "init_error":
            return json.dumps(reply.message["error"]).encode(), "Unhandled", "error"
        code = reply.exit_code
        error = {
            "errorType": "Runtime.ExitError",
            "errorMessage": (
                f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
            ),
        }
        return json.dumps(error).encode(), "Unhandled", "error"


def _event_json(event: Any) -> str:
    if event is None:
        return "{}"
    if isinstance(event, bytes):
        event = event.decode()
    if isinstance(event, str):
        return event if event.strip() else "{}"
    return json.dumps(event)


def _report_line(
    request_id: str,
    duration_ms: float,
    spec: FunctionSpec,
    reply: WorkerReply,
    worker: WorkerProcess,
    cold: bool,
    status: str | None,
) -> str:
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {spec.memory_size} MB",
        f"Max Memory Used: {reply.message.get('max_memory_mb', 0)} MB",
    ]
    if cold and worker.init_ms is not None:
        parts.append(f"Init Duration: {worker.init_ms:.2f} ms")
    if status is not None:
        parts.append(f"Status: {status}")
    return "\t".join(parts)


def _trace_header() -> str:
    # Sampled=0: X-Ray SDKs in the handler (Powertools Tracer) record nothing and send nothing.
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0;Lineage=localcloud"


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _unsupported_runtime(spec: FunctionSpec) -> InvocationResult:
    """A function whose runtime localcloud cannot run (the deploy refused it; one created
    through the API alone gets here): the answer names the runtime, nothing runs."""
    message = f"Runtime {spec.runtime} is not emulated by localcloud: it runs Python functions only"
    log.warning("%s: %s", spec.name, message)
    error = {"errorType": "localcloud.UnsupportedRuntime", "errorMessage": message}
    return InvocationResult(
        request_id=str(uuid.uuid4()),
        payload=json.dumps(error).encode(),
        function_error="Unhandled",
        executed_version=spec.version,
        log_lines=[message],
    )
