"""scripts/beside.py: how `make test` runs lint beside the tests."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from scripts import beside

SH = "/bin/sh"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.beside", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=beside.__file__.rsplit("/scripts/", 1)[0],
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
    assert result.returncode == 1
    assert "cannot run /nonexistent/pytest" in result.stderr


@pytest.mark.parametrize("argv", [["--beside", "true"], ["--beside", "", "--", "true"], ["true"]])
def test_a_missing_command_is_refused_with_usage(argv: list[str]) -> None:
    result = run(*argv)
    assert result.returncode == 2
    assert "usage: python -m scripts.beside" in result.stderr
    assert "Traceback" not in result.stderr
