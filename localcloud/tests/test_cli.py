"""`python -m localcloud`: the commands that need no running localcloud."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def localcloud(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "LOCALCLOUD_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_on_a_busy_port_says_which_and_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = localcloud("up", "--port", str(port), "--apigw-port", "0", home=tmp_path)

    assert result.returncode == 1
    assert f"port {port} (AWS API) is already in use" in result.stdout
    assert "LOCALCLOUD_PORT" in result.stdout
    assert not (tmp_path / "localcloud.json").exists()


def test_commands_that_need_localcloud_say_how_to_start_it(tmp_path: Path) -> None:
    for command in ("env", "logs"):
        result = localcloud(command, home=tmp_path)
        assert result.returncode != 0
        assert "not running (start it with `make local-up`)" in result.stderr

    status = localcloud("status", home=tmp_path)
    assert status.returncode == 3
    assert "not running" in status.stdout
    assert localcloud("down", home=tmp_path).stdout.strip() == "localcloud: not running"
