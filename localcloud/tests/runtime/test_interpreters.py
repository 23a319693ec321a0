"""Functions run on the Python their `Runtime` names, with layers' native modules built for it."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localcloud.lambda_runtime import interpreters, native_packages
from localcloud.runtime import Runtime
from localcloud.tests.runtime.support import Deployer, unique

REPORT_VERSION = "import sys\ndef handler(e, c):\n    return list(sys.version_info[:2])\n"


def _installed(minor: str) -> bool:
    return interpreters.find_python(minor) is not None or sys.version_info[:2] == tuple(
        int(part) for part in minor.split(".")
    )


def _init_start(result_lines: list[str]) -> str:
    return next(line for line in result_lines if line.startswith("INIT_START"))


@pytest.mark.parametrize("minor", ["3.11", "3.12", "3.13"])
def test_function_runs_on_the_python_its_runtime_names(
    deploy: Deployer, runtime: Runtime, minor: str
) -> None:
    if not _installed(minor):
        pytest.skip(f"no Python {minor} on this machine")
    name = deploy.function(REPORT_VERSION, runtime=f"python{minor}")

    result = runtime.invoke(name)

    assert result.ok, result.payload
    assert result.json() == [int(part) for part in minor.split(".")]
    assert (
        _init_start(result.log_lines) == f"INIT_START Runtime Version: python:{minor} (localcloud)"
    )


def test_code_that_needs_3_12_fails_on_3_11_and_runs_on_3_13(
    deploy: Deployer, runtime: Runtime
) -> None:
    if not (_installed("3.11") and _installed("3.13")):
        pytest.skip("needs Python 3.11 and 3.13 on this machine")
    code = "type RideId = str\ndef handler(e, c):\n    return RideId.__name__\n"  # PEP 695
    old = deploy.function(code, runtime="python3.11")
    new = deploy.function(code, runtime="python3.13")

    failed = runtime.invoke(old)
    ran = runtime.invoke(new)

    assert failed.function_error == "Unhandled"
    assert "SyntaxError" in failed.json()["errorType"] + failed.json()["errorMessage"]
    assert ran.ok
    assert ran.json() == "RideId"


def test_a_foreign_python_sees_the_runtime_sdk_and_nothing_else_installed(
    deploy: Deployer, runtime: Runtime
) -> None:
    if interpreters.for_runtime("python3.13").own:
        pytest.skip("Python 3.13 is localcloud's own interpreter here")
    code = (
        "import importlib.util\n"
        "def handler(e, c):\n"
        "    return {n: importlib.util.find_spec(n) is not None\n"
        "            for n in ('boto3', 'botocore', 'pytest', 'moto', 'localcloud')}\n"
    )
    name = deploy.function(code, runtime="python3.13")

    result = runtime.invoke(name)

    assert result.ok, result.payload
    assert result.json() == {
        "boto3": True,
        "botocore": True,
        "pytest": False,
        "moto": False,
        "localcloud": False,
    }


def test_a_python_runtime_this_machine_lacks_runs_on_localclouds_own_and_says_so(
    deploy: Deployer, runtime: Runtime
) -> None:
    if interpreters.find_python("3.14") is not None or sys.version_info[:2] == (3, 14):
        pytest.skip("this machine has a Python 3.14")
    name = deploy.function(REPORT_VERSION, runtime="python3.14")

    result = runtime.invoke(name)

    assert result.ok, result.payload
    assert result.json() == list(sys.version_info[:2])
    note = interpreters.runs_on("python3.14")
    assert note is not None
    assert "no python3.14 interpreter" in note
    assert f"localcloud's own Python {sys.version_info[0]}.{sys.version_info[1]}" in note
    assert interpreters.runs_on("python3.13" if _installed("3.13") else "python3.11") is None


def test_a_runtime_other_than_python_answers_unsupported_and_runs_nothing(
    deploy: Deployer, runtime: Runtime
) -> None:
    name = deploy.function("exports.handler = async () => 'ran';", runtime="nodejs20.x")

    result = runtime.invoke(name)

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "localcloud.UnsupportedRuntime"
    assert "nodejs20.x" in result.json()["errorMessage"]
    assert runtime.invoker.worker_pids(name) == []
    with pytest.raises(interpreters.UnsupportedRuntime, match=r"nodejs20\.x"):
        interpreters.for_runtime("nodejs20.x")


def _layer_with_toolchain_packages(*entries: str) -> bytes:
    """A layer holding the toolchain's own build of packages (native modules for this
    toolchain's Python) and their dist-info, as `sam build` lays a layer out."""
    import pydantic_core

    site = Path(pydantic_core.__file__).parents[1]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer:
        for pattern in entries:
            for root in site.glob(pattern):
                files = [root] if root.is_file() else list(root.rglob("*"))
                for path in files:
                    if path.is_file() and "__pycache__" not in path.parts:
                        layer.write(path, f"python/{path.relative_to(site)}")
    return archive.getvalue()


def test_layer_native_modules_are_fetched_for_the_python_that_runs_the_function(
    deploy: Deployer,
    runtime: Runtime,
    aws: Callable[[str], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interpreter = interpreters.for_runtime("python3.13")
    if interpreter.own:
        pytest.skip("Python 3.13 is localcloud's own interpreter here: nothing to swap")
    # An empty package cache, so pip really fetches the build (from the configured index).
    monkeypatch.setenv(native_packages.CACHE_VARIABLE, str(tmp_path / "native-packages"))
    import pydantic_core

    layer = aws("lambda").publish_layer_version(
        LayerName=unique("native"),
        Content={
            "ZipFile": _layer_with_toolchain_packages(
                "pydantic_core", "pydantic_core-*.dist-info", "typing_extensions*"
            )
        },
        CompatibleRuntimes=["python3.13"],
    )
    code = (
        "import os, sys, pydantic_core, pydantic_core._pydantic_core as native\n"
        "def handler(e, c):\n"
        "    where = os.path.realpath(native.__file__)\n"
        "    return [pydantic_core.__version__, where, list(sys.version_info[:2])]\n"
    )
    name = deploy.function(code, runtime="python3.13", layers=[layer["LayerVersionArn"]])

    result = runtime.invoke(name)

    assert result.ok, result.payload
    version, native_file, python = result.json()
    assert version == pydantic_core.__version__
    assert python == [3, 13]
    assert ".cpython-313-" in native_file
    assert native_file.startswith(str(tmp_path / "native-packages"))
