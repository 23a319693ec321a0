"""Start and stop the fault proxy process next to localcloud, and find a running one.

`python -m localcloud serve` calls `start_from_environment()`: with LOCALCLOUD_FAULTS set it
starts localcloud.faults.server in front of moto and gives the runtime the proxy's URL for the
functions and pollers; otherwise it returns None and nothing else happens. The proxy stays in
localcloud's process group, so `make local-down` stops it with everything else.

Where it listens is recorded in `faults.json` in localcloud's state folder (LOCALCLOUD_HOME),
so tests and tools find its control API with `running()`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from localcloud import state
from localcloud.env import endpoint_url
from localcloud.faults import requested

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ProxyInfo:
    """A running fault proxy, as `faults.json` records it."""

    pid: int
    port: int
    rules_file: str

    @property
    def endpoint_url(self) -> str:
        """What the functions and pollers use as their AWS endpoint."""
        return endpoint_url(self.port)

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/_microburst"


def info_file() -> Path:
    return state.home() / "faults.json"


def running() -> ProxyInfo | None:
    """The fault proxy of the localcloud in LOCALCLOUD_HOME, if one was started."""
    try:
        info = ProxyInfo(**json.loads(info_file().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None  # left behind by a localcloud that was killed
    except PermissionError:
        pass
    return info


class FaultProxy:
    """The proxy process; `stop()` ends it and forgets it."""

    def __init__(self, process: subprocess.Popen[bytes], info: ProxyInfo) -> None:
        self._process = process
        self.info = info
        self._recorded = False

    @property
    def endpoint_url(self) -> str:
        return self.info.endpoint_url

    def record(self) -> None:
        """Name this proxy in the state folder: the one of the localcloud living there."""
        state.home().mkdir(parents=True, exist_ok=True)
        info_file().write_text(json.dumps(asdict(self.info)))
        self._recorded = True

    def stop(self) -> None:
        if self._recorded:
            info_file().unlink(missing_ok=True)
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def start(upstream: str, rules_file: Path) -> FaultProxy:
    """Start the proxy in front of `upstream` and wait until it accepts connections."""
    with tempfile.TemporaryDirectory(prefix="localcloud-faults-") as scratch:
        port_file = Path(scratch) / "port"
        process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "-m",
                "localcloud.faults.server",
                "--upstream",
                upstream,
                "--config",
                str(rules_file),
                "--port",
                "0",
                "--port-file",
                str(port_file),
            ],
            stdin=subprocess.DEVNULL,
            cwd=state.REPO_ROOT,  # `-m localcloud...` must import this checkout
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"the fault proxy exited with code {process.returncode}")
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the fault proxy did not start in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        port = int(port_file.read_text())
    return FaultProxy(process, ProxyInfo(process.pid, port, str(rules_file)))


def start_from_environment(
    moto_port: int, environ: Mapping[str, str] | None = None
) -> FaultProxy | None:
    """The proxy LOCALCLOUD_FAULTS asks for (in front of moto on `moto_port`), or None."""
    rules_file = requested(os.environ if environ is None else environ)
    if rules_file is None:
        return None
    # 127.0.0.1, not localhost: the proxy's client would try ::1 first, where moto does not
    # listen.
    started = start(f"http://127.0.0.1:{moto_port}", rules_file)
    started.record()
    return started
