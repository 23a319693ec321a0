"""Which Python runs a function: the version its `Runtime` names, when this machine has it.

Lambda runs a `python3.13` function on CPython 3.13; code that needs 3.12+ (or that only 3.11
accepts) must fail or pass locally exactly as it does there. So each Python runtime maps to a
real interpreter of that minor version, looked for the way the SAM CLI's build needs one too:
a `pythonX.Y` on PATH that is not a pyenv shim (a shim fails unless that version is active),
then pyenv's installed versions. Where none exists, the function runs on localcloud's own
interpreter and the deploy says so (registry.runtime_note). Runtimes other than Python are
refused at deploy time (registry.runtime_refusal): localcloud runs Python handlers only.

An interpreter other than localcloud's own starts with `-S` (no site-packages of its own):
like Lambda's runtime it sees the function's code, its layers, and the runtime-provided AWS
SDK (runtime_packages), nothing the developer happened to install into that Python.
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

_PYTHON_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")

# What Lambda's Python runtimes provide besides the standard library (the AWS SDK and its
# dependencies), as importable top-level names. All pure Python, so the toolchain's copies load
# on any Python 3 interpreter.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")

_PROBE = (
    "import importlib.machinery, json, sys; "
    "print(json.dumps([sys.executable, list(sys.version_info[:3]), "
    "importlib.machinery.EXTENSION_SUFFIXES]))"
)


class UnsupportedRuntime(ValueError):
    """A runtime localcloud cannot run (not Python)."""


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs functions, and what its native extension modules must look like."""

    executable: Path
    version: tuple[int, int, int]
    extension_suffixes: tuple[str, ...]
    own: bool  # localcloud's own interpreter (its venv's site-packages stand in for the SDK)

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def runtime(self) -> str:
        return f"python{self.minor}"

    @property
    def cpython_tag(self) -> str:
        return f"cp{self.version[0]}{self.version[1]}"

    def command(self, script: Path) -> list[str]:
        # -I: no script dir, user site or PYTHON* variables; -u so fd-level writes flush.
        flags = ["-I", "-u"] if self.own else ["-I", "-S", "-u"]
        return [str(self.executable), *flags, str(script)]


def python_version(runtime: str) -> tuple[int, int] | None:
    """(3, 13) for "python3.13"; None for any other runtime."""
    match = _PYTHON_RUNTIME.match(runtime)
    return (int(match[1]), int(match[2])) if match else None


@cache
def own() -> Interpreter:
    return Interpreter(
        executable=Path(sys.executable),
        version=tuple(sys.version_info[:3]),  # type: ignore[arg-type]
        extension_suffixes=tuple(importlib.machinery.EXTENSION_SUFFIXES),
        own=True,
    )


def find_python(minor: str, environ: dict[str, str] | None = None) -> Path | None:
    """A real `python<minor>` binary: on PATH (not a pyenv shim), else in pyenv's versions."""
    environ = dict(os.environ) if environ is None else environ
    on_path = shutil.which(f"python{minor}", path=environ.get("PATH"))
    if on_path and "/shims/" not in on_path:
        return Path(on_path)
    pyenv_root = environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    # Releases only (3.13.1, not 3.13.0rc1 or the free-threaded 3.13.0t, whose wheels differ).
    release = re.compile(rf"^{re.escape(minor)}\.\d+$")
    candidates = sorted(
        (
            path
            for path in glob.glob(f"{pyenv_root}/versions/{minor}.*/bin/python{minor}")
            if release.match(Path(path).parents[1].name)
        ),
        key=lambda path: int(Path(path).parents[1].name.rsplit(".", 1)[1]),
    )
    return Path(candidates[-1]) if candidates else None


_probed: dict[Path, Interpreter] = {}


def _probe(executable: Path) -> Interpreter | None:
    """Ask the binary what it is (version, extension suffixes); None if it does not run (not
    remembered: the next cold start asks again). The caller holds `_lock`."""
    if executable in _probed:
        return _probed[executable]
    try:
        answer = subprocess.run(
            [str(executable), "-I", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        real, version, suffixes = json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        log.warning("%s does not answer as a Python (%s): not used", executable, error)
        return None
    found = Interpreter(Path(real), tuple(version), tuple(suffixes), own=False)  # type: ignore[arg-type]
    _probed[executable] = found
    return found


_lock = threading.Lock()


def for_runtime(runtime: str) -> Interpreter:
    """The interpreter that runs a function of this runtime (its own version when present)."""
    version = python_version(runtime)
    if version is None:
        raise UnsupportedRuntime(
            f"Runtime {runtime} is not supported by localcloud: it runs Python functions only"
        )
    mine = own()
    if version == mine.version[:2]:
        return mine
    with _lock:  # one probe per binary, even when many workers start at once
        binary = find_python(f"{version[0]}.{version[1]}")
        found = _probe(binary) if binary else None
    if found is None or found.version[:2] != version:
        return mine
    return found


def runs_on(runtime: str) -> str | None:
    """What the deploy says about a Python runtime: None when it runs on that very version."""
    interpreter = for_runtime(runtime)
    if interpreter.runtime == runtime:
        return None
    return (
        f"no {runtime} interpreter on this machine (looked on PATH and in pyenv's versions): "
        f"the function runs on localcloud's own Python {interpreter.minor} "
        f"({interpreter.executable}); install Python {runtime.removeprefix('python')} to run it "
        "on the version Lambda uses"
    )


def runtime_packages(root: Path) -> Path:
    """A folder holding the runtime-provided SDK (links to the toolchain's pure-Python copies),
    the stand-in for Lambda's /var/runtime on an interpreter other than localcloud's own.
    Made again when a link no longer resolves (the toolchain's venv was rebuilt or moved)."""
    target = root / "runtime-packages"
    with _lock:
        if target.is_dir() and all(entry.exists() for entry in target.iterdir()):
            return target
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
        try:
            for name in RUNTIME_PROVIDED:
                spec = importlib.util.find_spec(name)
                if spec is None or spec.origin is None:
                    continue  # not installed with the toolchain: Lambda's runtime lacks it too
                origin = Path(spec.origin)
                source = origin.parent if origin.name == "__init__.py" else origin
                (staging / source.name).symlink_to(source)
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():  # not another localcloud on the same state folder
                raise
    return target
