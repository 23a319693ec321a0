"""The real Make targets, run from this checkout or from a working copy of it (for tests that
change the repository: scaffold a service, edit a template), sharing this checkout's `.venv`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from wildrydes_testing.templates import REPO_ROOT

# Build output, caches and local state: never part of a copy.
_SKIPPED = (
    ".git",
    ".venv",
    ".aws-sam",
    ".localcloud",
    "__pycache__",
    ".pycache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",  # another pytest-xdist worker may be writing there during the copy
    ".checkov-*",
)


def repository_copy(destination: Path) -> Path:
    """Copy the working tree (uncommitted changes included) to destination and link `.venv`,
    so `make` there finds the toolchain installed (`make setup` is a no-op)."""
    shutil.copytree(REPO_ROOT, destination, ignore=shutil.ignore_patterns(*_SKIPPED))
    (destination / ".venv").symlink_to(REPO_ROOT / ".venv", target_is_directory=True)
    return destination


def run_make(
    *args: str,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`make <args>` in cwd, its output captured as text; the caller checks the outcome."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=dict(env if env is not None else os.environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
