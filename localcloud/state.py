"""Where a running localcloud keeps its facts: one git-ignored folder with a small JSON file.

`make local-up` starts localcloud in the background and later commands (deploys, smoke, logs,
local-down) must find it again: the state file names its process and ports.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from localcloud.env import DEFAULT_PORT, endpoint_url, local_env

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_APIGW_PORT = 4567
__all__ = ["DEFAULT_PORT", "Running"]


def home() -> Path:
    """The state folder: $LOCALCLOUD_HOME, or .localcloud/ in the repository (git-ignored)."""
    return Path(os.environ.get("LOCALCLOUD_HOME") or REPO_ROOT / ".localcloud")


# How long a listening localcloud may take to answer before it counts as not running.
ALIVE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Running:
    pid: int
    port: int
    apigw_port: int

    @property
    def endpoint_url(self) -> str:
        return endpoint_url(self.port)

    @property
    def env(self) -> dict[str, str]:
        """The environment that points AWS tools at this localcloud."""
        return local_env(self.port)

    def api_url(self, api_id: str, stage: str) -> str:
        """Where the API Gateway data plane serves a deployed REST API stage."""
        return f"http://127.0.0.1:{self.apigw_port}/{api_id}/{stage}"

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # Any answer will do; "/" is cheap (moto's data.json would serialise every model). A
        # port nothing listens on refuses at once; one that is listening but slow is a busy
        # localcloud (one interpreter under load answered "/" in over 0.5 s in a test run),
        # not a dead one: wait for it that long.
        return answers(f"http://127.0.0.1:{self.port}/", timeout=ALIVE_TIMEOUT_S)


def state_file() -> Path:
    return home() / "localcloud.json"


def log_file() -> Path:
    return home() / "localcloud.log"


def write(running: Running) -> None:
    home().mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(asdict(running)))


def recorded() -> Running | None:
    """The localcloud the state folder names, whether or not it is still up."""
    try:
        return Running(**json.loads(state_file().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def read() -> Running | None:
    """The localcloud recorded in the state folder, if its process is still up."""
    running = recorded()
    return running if running and running.is_alive() else None


def clear() -> None:
    state_file().unlink(missing_ok=True)


def answers(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - loopback URL we built
            return True
    except urllib.error.HTTPError:
        return True  # it answered, even if with an error status
    except (OSError, ValueError):
        return False


def stop_process_group(pid: int) -> None:
    """SIGTERM the whole group: localcloud and the worker processes it started."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
