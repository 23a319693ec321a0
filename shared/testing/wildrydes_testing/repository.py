"""A working copy of this repository for tests that change it (scaffold a service, edit a
template) and then run the real Make targets in it, sharing this checkout's `.venv`."""

from __future__ import annotations

import shutil
from pathlib import Path

from wildrydes_testing.templates import REPO_ROOT

# Build output, caches and local state: never part of a copy.
_SKIPPED = (
    ".git",
    ".venv",
    ".aws-sam",
    ".localcloud",
    "__pycache__",
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
