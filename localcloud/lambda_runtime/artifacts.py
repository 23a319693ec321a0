"""Unpacks function code and layer zips into a content-addressed cache under the state folder.

Directories are named by the zip's sha256, so an unchanged function reuses its directory across
restarts and a code update lands in a fresh one (a running worker never sees files change).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

log = logging.getLogger(__name__)

# ELF e_machine of this interpreter: a layer built by `sam build` for arm64 / python3.13 carries
# native modules this x86_64 / 3.11 interpreter cannot load.
_ELF_MACHINE_OFFSET = 18


def _elf_machine(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return header[_ELF_MACHINE_OFFSET:20]


_OWN_MACHINE = _elf_machine(Path(os.path.realpath(sys.executable)))


def _loadable_here(extension: Path) -> bool:
    name = extension.name
    if not any(name.endswith(suffix) for suffix in EXTENSION_SUFFIXES):
        return False
    machine = _elf_machine(extension)
    return machine is None or _OWN_MACHINE is None or machine == _OWN_MACHINE


class ArtifactCache:
    """Extracts zips once per content hash; safe to call from many threads."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()

    def code_dir(self, sha256: str, zip_bytes: bytes) -> Path:
        return self._extract("code", sha256, zip_bytes, foreign_abi_check=False)

    def layer_dir(self, sha256: str, zip_bytes: bytes) -> Path:
        return self._extract("layers", sha256, zip_bytes, foreign_abi_check=True)

    def _extract(self, kind: str, sha256: str, zip_bytes: bytes, foreign_abi_check: bool) -> Path:
        target = self._root / kind / _safe_name(sha256)
        with self._lock:
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            # Extract beside the target and rename, so a crash never leaves a half-written cache.
            staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
            try:
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                    _extract_all(archive, staging)
                if foreign_abi_check:
                    _set_aside_foreign_native_packages(staging)
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return target


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


def _set_aside_foreign_native_packages(layer_dir: Path) -> None:
    """Hide top-level packages whose native modules cannot load here.

    The interpreter's own site-packages come after the layers on sys.path, so the locally
    installed build of the same package is imported instead. Renaming (not deleting) keeps the
    layer inspectable; a dotted name cannot be imported.
    """
    for root in layer_python_paths(layer_dir):
        if not root.is_dir():
            continue
        for package in list(root.iterdir()):
            if not package.is_dir() or "." in package.name:
                continue
            natives = list(package.rglob("*.so"))
            if natives and not all(_loadable_here(p) for p in natives):
                log.warning(
                    "layer package %s has native modules for another platform/Python; "
                    "using this interpreter's installed copy instead",
                    package.name,
                )
                package.rename(package.with_name(package.name + ".foreign-abi"))
