"""Runtime start/stop, worker crashes, the layer cache and the routing of moto's Invoke."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localcloud import patches
from localcloud.cli import is_zombie
from localcloud.lambda_runtime import interpreters, invoke_routing, native_packages
from localcloud.lambda_runtime.artifacts import ArtifactCache
from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not is_zombie(pid)  # a zombie still answers kill(0); it is gone for our purposes


def test_stop_leaves_no_worker_processes_and_hands_invoke_back(
    deploy: Deployer, endpoint: str, runtime: Runtime, tmp_path: Path, aws: Callable[[str], Any]
) -> None:
    name = deploy.function(
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "def handler(e, c):\n"
        "    return [os.getpid(), child.pid]\n"
    )
    second = Runtime(endpoint, tmp_path / "state", apigw_port=0, console=None).start()
    worker_pid, grandchild_pid = second.invoke(name).json()
    assert _alive(worker_pid)

    second.stop()

    wait_for(lambda: not _alive(worker_pid) and not _alive(grandchild_pid), timeout=5)
    # The session runtime serves boto3 invokes again once the second one is gone.
    response = aws("lambda").invoke(FunctionName=name)
    assert "FunctionError" not in response
    assert runtime.invoker.worker_pids(name)


def test_worker_exit_is_reported_as_runtime_exit_error(deploy: Deployer, runtime: Runtime) -> None:
    name = deploy.function("import os\ndef handler(e, c):\n    os._exit(3)\n")

    result = runtime.invoke(name)

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in result.json()["errorMessage"]


def test_layer_packages_with_foreign_native_modules_are_set_aside(tmp_path: Path) -> None:
    aarch64_elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00" + b"\x00" * 40
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer:
        layer.writestr("python/purepkg/__init__.py", "")
        layer.writestr("python/nativepkg/__init__.py", "")
        layer.writestr("python/nativepkg/_speed.cpython-313-aarch64-linux-gnu.so", aarch64_elf)

    layer = ArtifactCache(tmp_path).layer_dir("sha-1", archive.getvalue(), interpreters.own())
    root = layer / "python"

    assert (root / "purepkg").is_dir()
    assert not (root / "nativepkg").exists()
    assert (root / "nativepkg.foreign-abi").is_dir()


def test_a_layer_whose_native_modules_could_not_be_replaced_is_retried_by_the_next_start(
    tmp_path: Path,
) -> None:
    aarch64_elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00" + b"\x00" * 40
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer:  # no dist-info: nothing to fetch it by
        layer.writestr("python/nativepkg/_speed.cpython-313-aarch64-linux-gnu.so", aarch64_elf)
    own = interpreters.own()
    first = ArtifactCache(tmp_path)
    extracted = first.layer_dir("sha-2", archive.getvalue(), own)
    (extracted / "seen").touch()  # tells this extraction from a new one

    assert (first.layer_dir("sha-2", archive.getvalue(), own) / "seen").exists()
    retried = ArtifactCache(tmp_path).layer_dir("sha-2", archive.getvalue(), own)
    assert retried == extracted
    assert not (retried / "seen").exists()
    assert (retried / "python" / "nativepkg.foreign-abi").is_dir()


def test_start_applies_the_patches_and_routes_invoke_to_its_invoker(runtime: Runtime) -> None:
    assert all(patches.is_applied(name) for name in patches.names())
    assert invoke_routing.current() is runtime.invoker


def test_a_layer_in_the_lib_site_packages_layout_keeps_its_packages(tmp_path: Path) -> None:
    aarch64_elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00" + b"\x00" * 40
    site = "python/lib/python3.13/site-packages"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer:
        layer.writestr(f"{site}/purepkg/__init__.py", "")
        layer.writestr(f"{site}/nativepkg/_speed.cpython-313-aarch64-linux-gnu.so", aarch64_elf)

    layer = ArtifactCache(tmp_path).layer_dir("sha-3", archive.getvalue(), interpreters.own())

    assert (layer / site / "purepkg").is_dir()
    assert (layer / site / "nativepkg.foreign-abi").is_dir()
    assert sorted(p.name for p in (layer / "python").iterdir()) == ["lib"]


def test_a_native_module_for_another_libc_or_suffix_is_not_loadable(tmp_path: Path) -> None:
    own = interpreters.own()
    glibc_suffix = next(s for s in own.extension_suffixes if s.startswith(".cpython-"))
    musl = tmp_path / f"_speed{glibc_suffix.replace('-gnu', '-musl')}"
    mine = tmp_path / f"_speed{glibc_suffix}"
    for path in (musl, mine):
        path.write_bytes(Path(own.executable).resolve().read_bytes()[:64])  # this CPU's ELF

    assert native_packages.loadable(mine, own)
    assert not native_packages.loadable(musl, own)


def test_a_layer_whose_links_point_nowhere_is_made_again(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer:
        layer.writestr("python/purepkg/__init__.py", "")
    own = interpreters.own()
    extracted = ArtifactCache(tmp_path).layer_dir("sha-4", archive.getvalue(), own)
    (extracted / "python" / "fetched").symlink_to(tmp_path / "emptied-cache" / "fetched")

    again = ArtifactCache(tmp_path).layer_dir("sha-4", archive.getvalue(), own)

    assert not (again / "python" / "fetched").is_symlink()
    assert (again / "python" / "purepkg").is_dir()
