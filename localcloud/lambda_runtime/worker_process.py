"""Parent side of one warm worker process (one Lambda execution environment).

Spawning costs tens of milliseconds, so a worker is started on first use and kept for later
invocations; it handles one invocation at a time, exactly like an execution environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

WORKER_SCRIPT = Path(__file__).with_name("worker_child.py")


@dataclass
class WorkerReply:
    """What came back from one request: a result, an init failure, a crash or a timeout."""

    kind: str  # "result" | "ready" | "init_error" | "crashed" | "timeout"
    message: dict[str, Any]
    exit_code: int | None = None


def new_log_stream_name() -> str:
    # Same shape as Lambda's: one stream per execution environment.
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


class WorkerProcess:
    """A child running `worker_child.py` for one function configuration (by fingerprint)."""

    def __init__(
        self,
        fingerprint: str,
        command: list[str],
        sys_path: list[str],
        env: dict[str, str],
        cwd: Path,
        log_stream: str,
        on_log: Callable[[str], None],
    ) -> None:
        self.fingerprint = fingerprint
        self.log_stream = log_stream
        self._on_log = on_log
        self.init_ms: float | None = None  # reported once, on the first invocation (cold start)
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        full_env = {**env, "_LOCALCLOUD_SYS_PATH": json.dumps(sys_path)}
        try:
            # `command` runs WORKER_SCRIPT on the function's interpreter (interpreters.py).
            self._process = subprocess.Popen(
                [*command, str(child_in), str(child_out)],
                env=full_env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                pass_fds=(child_in, child_out),
                # Own process group, so a handler's own subprocesses die with the worker.
                start_new_session=True,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self._tx = Connection(parent_out, readable=False, writable=True)
        self._rx = Connection(parent_in, readable=True, writable=False)

    def set_log_handler(self, on_log: Callable[[str], None]) -> None:
        """Route the next invocation's output to that invocation's collector."""
        self._on_log = on_log

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def wait_ready(self, deadline: float) -> WorkerReply:
        """Wait for the module import (Lambda's init phase), bounded like an invocation."""
        reply = self._read_until(("ready", "init_error"), deadline)
        if reply.kind == "ready":
            self.init_ms = float(reply.message["init_ms"])
        return reply

    def invoke(self, request: dict[str, Any], deadline: float) -> WorkerReply:
        try:
            self._tx.send_bytes(json.dumps({"op": "invoke", **request}).encode())
        except (BrokenPipeError, OSError):
            return self._crashed()
        return self._read_until(("result",), deadline)

    def _read_until(self, kinds: tuple[str, ...], deadline: float) -> WorkerReply:
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0 or not self._rx.poll(remaining):
                    return WorkerReply("timeout", {})
                message = json.loads(self._rx.recv_bytes())
            except (EOFError, OSError):
                return self._crashed()
            op = message.get("op")
            if op == "log":
                self._on_log(message["text"])
            elif op in kinds:
                return WorkerReply(op, message)

    def _crashed(self) -> WorkerReply:
        try:
            code = self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        return WorkerReply("crashed", {}, exit_code=code)

    def stop(self) -> None:
        """Ask politely, then kill the whole process group; never leaves a process behind."""
        if self.alive():
            try:
                self._tx.send_bytes(b'{"op": "exit"}')
                self._process.wait(timeout=0.5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        for connection in (self._tx, self._rx):
            with contextlib.suppress(OSError):
                connection.close()
