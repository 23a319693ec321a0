"""A working copy shares this checkout's bytecode: Python in the copy takes it as valid, and a
source the copy changes gets bytecode of its own without touching the checkout's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wildrydes_testing.repository import REPO_ROOT, repository_copy

MODULE = "scripts.services"
SOURCE = Path("scripts/services.py")


def import_module(root: Path, pycache_prefix: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-c", f"import {MODULE}"],
        cwd=root,
        env={**env, "PYTHONPYCACHEPREFIX": str(pycache_prefix)},
        check=True,
    )


def bytecode(pycache_prefix: Path, root: Path) -> Path:
    """Where Python keeps the bytecode of SOURCE under root, with that prefix."""
    tag = sys.implementation.cache_tag
    folder = pycache_prefix / root.resolve().relative_to(root.anchor) / SOURCE.parent
    return folder / f"{SOURCE.stem}.{tag}.pyc"


def test_a_copy_reuses_the_checkout_s_bytecode_until_it_changes_a_source(tmp_path: Path) -> None:
    prefix = tmp_path / "checkout-pycache"
    import_module(REPO_ROOT, prefix)
    compiled = bytecode(prefix, REPO_ROOT)
    original = compiled.read_bytes()

    copy = repository_copy(tmp_path / "repo", pycache_prefix=str(prefix))
    shared = bytecode(copy / ".pycache", copy)
    assert shared.stat().st_ino == compiled.stat().st_ino

    import_module(copy, copy / ".pycache")
    assert shared.stat().st_ino == compiled.stat().st_ino  # valid as it was: not compiled again

    with (copy / SOURCE).open("a") as source:
        source.write("\n# changed in the copy\n")
    import_module(copy, copy / ".pycache")
    assert shared.stat().st_ino != compiled.stat().st_ino  # compiled anew, to a file of its own
    assert compiled.read_bytes() == original


def test_without_a_prefix_nothing_is_shared(tmp_path: Path) -> None:
    copy = repository_copy(tmp_path / "repo", pycache_prefix=None)
    assert not (copy / ".pycache").exists()
    assert (copy / ".venv").resolve() == (REPO_ROOT / ".venv").resolve()
