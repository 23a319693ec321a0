"""Native modules of a layer, for the Python and CPU that run it here.

`sam build` builds a layer for the Lambda's architecture and runtime (this project's: arm64,
CPython 3.13), so its native extension modules (pydantic-core's, for one) cannot load on this
machine. localcloud sets those packages aside and installs the same distribution, same version,
built for the interpreter that runs the function and this machine's CPU, from the package index
(pip, with the toolchain's configuration). Wheels land in a cache shared by every localcloud of
this user (`$XDG_CACHE_HOME/localcloud/native-packages`, or LOCALCLOUD_PACKAGE_CACHE), so only
the first start on a machine downloads them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import platform_tags

from localcloud.lambda_runtime.interpreters import Interpreter

log = logging.getLogger(__name__)

CACHE_VARIABLE = "LOCALCLOUD_PACKAGE_CACHE"
_FETCH_TIMEOUT_S = 300
_ELF_MACHINE = slice(18, 20)
_CPYTHON_SUFFIX = re.compile(r"\.cpython-(\d+)[a-z]*-")
SET_ASIDE_SUFFIX = ".foreign-abi"
_DIST_INFO = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)\.dist-info$")


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def elf_machine(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return header[_ELF_MACHINE]


def loadable(extension: Path, interpreter: Interpreter) -> bool:
    """Whether `interpreter` can import this extension module (its ABI tag and CPU)."""
    name = extension.name
    # Python imports `<module><suffix>` for exactly its own suffixes (a module name has no dot).
    if "." not in name or name[name.index(".") :] not in interpreter.extension_suffixes:
        return False
    tagged = _CPYTHON_SUFFIX.search(name)
    if tagged and f"cp{tagged[1]}" != interpreter.cpython_tag:
        return False
    machine = elf_machine(extension)
    own_machine = elf_machine(interpreter.executable)
    return machine is None or own_machine is None or machine == own_machine


def foreign_packages(root: Path, interpreter: Interpreter) -> list[Path]:
    """Top-level packages (and single-file extension modules) under `root` holding a native
    module `interpreter` cannot load. Skipped: `lib/` when it holds a `python3*/site-packages`
    (a search path of its own, looked at separately), what an earlier pass set aside or linked."""
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or entry.name.endswith(SET_ASIDE_SUFFIX):
            continue
        if entry.is_dir() and "." not in entry.name:
            if entry.name == "lib" and any(entry.glob("python3*/site-packages")):
                continue
            natives = [
                path
                for path in entry.rglob("*.so")
                if path.is_file() and not any(p.endswith(SET_ASIDE_SUFFIX) for p in path.parts)
            ]
            if natives and not all(loadable(path, interpreter) for path in natives):
                found.append(entry)
        elif entry.is_file() and entry.name.endswith(".so") and not loadable(entry, interpreter):
            found.append(entry)
    return found


def module_name(entry: Path) -> str:
    """The importable name of a top-level package or extension module file."""
    return entry.name.split(".", 1)[0]


def distribution_of(root: Path, entry: Path) -> Distribution | None:
    """The installed distribution (its *.dist-info RECORD) that owns a top-level entry."""
    prefix = f"{entry.name}/" if entry.is_dir() else entry.name
    for dist_info in root.glob("*.dist-info"):
        match = _DIST_INFO.match(dist_info.name)
        record = dist_info / "RECORD"
        if not match or not record.is_file():
            continue
        for line in record.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return Distribution(match["name"], match["version"])
    return None


def _replacement_in(installed: Path, name: str, is_package: bool) -> Path | None:
    if is_package:
        candidate = installed / name
        return candidate if candidate.is_dir() else None
    module = name.split(".", 1)[0]
    return next((path for path in sorted(installed.glob(f"{module}.*.so")) if path.is_file()), None)


def cache_root() -> Path:
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "localcloud" / "native-packages"


def installed_for(distribution: Distribution, interpreter: Interpreter) -> Path:
    """A folder with `distribution` installed for `interpreter` on this CPU (fetched once).

    Raises RuntimeError, saying why, when the index has no such build or cannot be reached."""
    machine = os.uname().machine
    target = (
        cache_root()
        / f"{distribution.name}-{distribution.version}-{interpreter.cpython_tag}-{machine}"
    )
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    platforms = [argument for tag in platform_tags() for argument in ("--platform", tag)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--implementation", "cp",
        "--python-version", interpreter.minor, *platforms,
        "--target", str(staging), distribution.requirement,
    ]  # fmt: skip
    log.info("fetching %s for %s on %s", distribution.requirement, interpreter.runtime, machine)
    try:
        answer = subprocess.run(
            command, capture_output=True, text=True, timeout=_FETCH_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"pip could not run: {error}") from None
    if answer.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        detail = (answer.stderr or answer.stdout).strip().splitlines()
        raise RuntimeError(detail[-1] if detail else f"pip exited with {answer.returncode}")
    try:
        staging.rename(target)
    except OSError:  # another localcloud installed it meanwhile: same content
        shutil.rmtree(staging, ignore_errors=True)
    return target


def replace_foreign_packages(root: Path, interpreter: Interpreter) -> list[str]:
    """Set aside what under `root` `interpreter` cannot load and link in the same version built
    for it. Returns what could not be replaced, for the caller to report.

    Setting aside renames (never deletes) so the layer stays inspectable; a dotted name cannot
    be imported. On localcloud's own interpreter an unreplaced package falls back to the copy
    installed in its venv (which follows the layers on sys.path)."""
    problems = []
    for entry in foreign_packages(root, interpreter):
        distribution = distribution_of(root, entry)
        was_dir = entry.is_dir()
        entry.rename(entry.with_name(entry.name + SET_ASIDE_SUFFIX))
        if distribution is None:
            problems.append(f"{entry.name}: no *.dist-info names it, so no build can be fetched")
            continue
        try:
            installed = installed_for(distribution, interpreter)
            replacement = _replacement_in(installed, entry.name, was_dir)
            if replacement is None:
                problems.append(f"{distribution.requirement} has no {module_name(entry)} for it")
                continue
            link = entry if was_dir else entry.with_name(replacement.name)
            link.symlink_to(replacement, target_is_directory=was_dir)
        except (RuntimeError, OSError) as error:  # no index, a full disk, an unwritable cache
            problems.append(f"{distribution.requirement} for {interpreter.runtime}: {error}")
    return problems


def dangling_links(roots: list[Path]) -> bool:
    """Whether a link this module made (at the top of a search path) points nowhere now: the
    package cache was emptied or moved since."""
    return any(
        entry.is_symlink() and not entry.exists()
        for root in roots
        if root.is_dir()
        for entry in root.iterdir()
    )
