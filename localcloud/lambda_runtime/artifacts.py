"""Unpacks function code and layer zips into a content-addressed cache under the state folder.

Directories are named by the zip's sha256, so an unchanged function reuses its directory across
restarts and a code update lands in a fresh one (a running worker never sees files change).
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from localcloud.lambda_runtime import interpreters, native_packages
from localcloud.lambda_runtime.interpreters import Interpreter

log = logging.getLogger(__name__)

# Marks a layer extraction whose foreign native modules could not all be replaced (no index
# reachable, say): this process keeps using it, the next localcloud start tries again.
_INCOMPLETE_MARKER = ".localcloud-incomplete"


class ArtifactCache:
    """Extracts zips once per content hash; safe to call from many threads."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()  # guards the two below
        self._target_locks: dict[Path, threading.Lock] = {}
        self._made_here: set[Path] = set()

    def code_dir(self, sha256: str, zip_bytes: bytes) -> Path:
        return self._extract("code", sha256, zip_bytes)

    def layer_dir(self, sha256: str, zip_bytes: bytes, interpreter: Interpreter) -> Path:
        """The layer as `interpreter` runs it: one extraction per layer and Python, since which
        native modules load (and which are swapped for this machine's build) depends on both."""
        return self._extract("layers", sha256, zip_bytes, interpreter)

    def runtime_packages(self) -> Path:
        return interpreters.runtime_packages(self._root)

    def _extract(
        self, kind: str, sha256: str, zip_bytes: bytes, interpreter: Interpreter | None = None
    ) -> Path:
        name = _safe_name(sha256)
        if interpreter is not None:
            name += f"-{interpreter.cpython_tag}"
        target = self._root / kind / name
        # One lock per folder: a layer whose native modules are being fetched (seconds) does not
        # hold up the cold start of a function that does not use it.
        with self._lock:
            target_lock = self._target_locks.setdefault(target, threading.Lock())
        with target_lock:
            if target.is_dir():
                if target in self._made_here or self._reusable(target):
                    return target
                shutil.rmtree(target)  # incomplete, or its links point nowhere now: again
            target.parent.mkdir(parents=True, exist_ok=True)
            # Extract beside the target and rename, so a crash never leaves a half-written cache.
            staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
            try:
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                    _extract_all(archive, staging)
                if interpreter is not None and not _swap_foreign_native_packages(
                    staging, interpreter
                ):
                    (staging / _INCOMPLETE_MARKER).touch()
                staging.rename(target)
                with self._lock:
                    self._made_here.add(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return target

    @staticmethod
    def _reusable(target: Path) -> bool:
        """An extraction an earlier localcloud left: kept if it was complete and its links
        into the package cache still resolve."""
        if (target / _INCOMPLETE_MARKER).exists():
            return False
        return not native_packages.dangling_links(layer_python_paths(target))


def _safe_name(sha256: str) -> str:
    # Lambda reports CodeSha256 as base64, which may contain '/'.
    return sha256.replace("/", "_").replace("+", "-").rstrip("=")


def _extract_all(archive: zipfile.ZipFile, target: Path) -> None:
    for info in archive.infolist():
        destination = (target / info.filename).resolve()
        if not destination.is_relative_to(target.resolve()):
            raise ValueError(f"zip entry escapes the extraction folder: {info.filename}")
        archive.extract(info, target)
        mode = info.external_attr >> 16
        if mode & 0o111:
            destination.chmod(mode & 0o777)


def layer_python_paths(layer_dir: Path) -> list[Path]:
    """The folders Lambda puts on sys.path for a layer mounted at /opt."""
    python = layer_dir / "python"
    site_packages = sorted(python.glob("lib/python3*/site-packages"))
    return [*site_packages, python]


def _swap_foreign_native_packages(layer_dir: Path, interpreter: Interpreter) -> bool:
    """Whether every foreign native package of the layer was replaced (warnings say which not)."""
    complete = True
    for root in layer_python_paths(layer_dir):
        if not root.is_dir():
            continue
        for problem in native_packages.replace_foreign_packages(root, interpreter):
            complete = False
            fallback = (
                "this interpreter's installed copy is used if it has one"
                if interpreter.own
                else "importing it will fail"
            )
            log.warning(
                "layer native module not available for %s: %s; %s",
                interpreter.runtime,
                problem,
                fallback,
            )
    return complete
