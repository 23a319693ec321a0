"""`python -m localcloud`: the commands that need no running localcloud."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
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


def test_an_exited_process_waiting_to_be_reaped_no_longer_counts_as_running() -> None:
    """`down` waits for localcloud to exit; once it has, a zombie waiting for its parent (not
    `down`: localcloud's parent was `up`) to reap it must not keep `down` waiting."""
    from localcloud import cli

    # A parent that starts a child which exits at once, and never reaps it.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "print(subprocess.Popen([sys.executable, '-c', 'pass']).pid, flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        orphan = int(parent.stdout.readline())
        deadline = time.monotonic() + 30
        while not cli.is_zombie(orphan) and time.monotonic() < deadline:
            time.sleep(0.01)

        assert cli.is_zombie(orphan)
        assert not cli.process_exists(orphan)
        assert cli.process_exists(parent.pid)
        assert not cli.is_zombie(parent.pid)
    finally:
        parent.kill()
        parent.wait()


def test_a_busy_localcloud_still_counts_as_running_and_a_closed_port_does_not() -> None:
    """A localcloud whose one interpreter is busy answers slowly; it is running. A port
    nothing listens on refuses at once."""
    import os
    import threading

    from localcloud import state

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer_late() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                time.sleep(1.5)  # longer than the 0.5 s the check used to allow
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

        answering = threading.Thread(target=answer_late, daemon=True)
        answering.start()
        assert state.Running(pid=os.getpid(), port=port, apigw_port=0).is_alive()
        answering.join(timeout=10)

    started = time.monotonic()
    assert not state.Running(pid=os.getpid(), port=port, apigw_port=0).is_alive()
    assert time.monotonic() - started < state.ALIVE_TIMEOUT_S / 2  # refused, not waited for
