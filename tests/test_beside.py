"""scripts/beside.py: how `make test` runs lint beside the tests."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts import beside

SH = "/bin/sh"
REPO_ROOT = Path(beside.__file__).resolve().parents[1]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.beside", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )


def test_both_run_at_once_and_the_side_output_follows_the_main_output() -> None:
    started = time.monotonic()
    result = run(
        "--beside",
        f"{SH} -c 'sleep 1; echo side done'",
        "--",
        SH,
        "-c",
        "sleep 1; echo main done",
    )
    assert time.monotonic() - started < 1.9  # side by side, not one after the other
    assert result.returncode == 0, result.stderr
    main_at, side_at = result.stdout.index("main done"), result.stdout.index("side done")
    assert main_at < result.stdout.index("--- /bin/sh -c") < side_at


@pytest.mark.parametrize(
    ("main", "side", "says"),
    [
        ("exit 3", "true", "/bin/sh exited 3, /bin/sh exited 0"),
        ("true", "exit 4", "/bin/sh exited 0, /bin/sh exited 4"),
        ("exit 5", "exit 6", "/bin/sh exited 5, /bin/sh exited 6"),
    ],
)
def test_either_failing_fails_and_says_which(main: str, side: str, says: str) -> None:
    result = run("--beside", f"{SH} -c '{side}'", "--", SH, "-c", main)
    assert result.returncode == 1
    assert f"failed: {says}" in result.stderr


def test_a_command_that_does_not_exist_is_a_clear_error() -> None:
    result = run("--beside", "/nonexistent/pre-commit run", "--", "true")
    assert result.returncode == 2
    assert "cannot run /nonexistent/pre-commit run" in result.stderr
    result = run("--beside", "true", "--", "/nonexistent/pytest")
    assert result.returncode == 2
    assert "cannot run /nonexistent/pytest" in result.stderr


def test_a_sigterm_reaches_both_commands_and_each_report_is_still_printed(tmp_path: Path) -> None:
    """Both commands get the signal and stop their own way (each trap writes a file), and
    beside waits for them: what the side command printed still follows."""
    # Each traps TERM: stops its sleep, leaves a file, exits with its own code.
    side = f"trap 'kill $!; echo side stopped; touch {tmp_path}/side; exit 7' TERM; echo side up"
    main = f"trap 'kill $!; touch {tmp_path}/main; exit 9' TERM"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.beside",
            "--beside",
            f'{SH} -c "{side}; sleep 30 & wait"',
            "--",
            SH,
            "-c",
            f"{main}; sleep 30 & wait",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)  # both started
    process.terminate()
    out, err = process.communicate(timeout=20)

    assert process.returncode == 1
    assert (tmp_path / "side").exists()
    assert (tmp_path / "main").exists()
    assert "side up\nside stopped" in out
    assert "exited 9" in err
    assert "exited 7" in err


@pytest.mark.parametrize("argv", [["--beside", "true"], ["--beside", "", "--", "true"], ["true"]])
def test_a_missing_command_is_refused_with_usage(argv: list[str]) -> None:
    result = run(*argv)
    assert result.returncode == 2
    assert "usage: python -m scripts.beside" in result.stderr
    assert "Traceback" not in result.stderr
