"""The Makefile is the project's interface: its input checks run before anything touches AWS."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from wildrydes_testing.repository import run_make

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["management", "notification", "accounting", "extraordinary"]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return run_make(*args, timeout=60)


def declared_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    phony = re.findall(r"^\.PHONY:\s*(.+)$", text, flags=re.MULTILINE)
    return {target for line in phony for target in line.split()}


def test_help_is_the_default_and_lists_every_target() -> None:
    result = make()
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert listed == declared_targets()


@pytest.mark.parametrize("target", ["deploy", "destroy", "test-service", "logs"])
@pytest.mark.parametrize("service", ["nope", "", "platform", "accounting notification"])
def test_a_bad_service_is_refused_with_the_valid_names(target: str, service: str) -> None:
    result = make(target, f"SERVICE={service}")
    assert result.returncode != 0
    assert f"SERVICE='{service}' is not a service" in result.stderr
    for name in SERVICES:
        assert name in result.stderr
    # Nothing ran: no sam, no install, no AWS call.
    assert "sam" not in result.stdout


@pytest.mark.parametrize(
    "target", ["deploy-platform", "deploy-all", "destroy-platform", "destroy-all", "smoke"]
)
def test_an_unknown_target_environment_is_refused(target: str) -> None:
    result = make(target, "TARGET=production")
    assert result.returncode != 0
    assert "TARGET='production' is not a target. Use one of: aws local" in result.stderr


def test_the_readme_documents_every_target() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert sorted(t for t in declared_targets() if f"make {t}" not in readme) == []


def test_the_files_make_test_starts_first_exist_and_lead_the_collection() -> None:
    """conftest.LONGEST_FIRST orders make test's work; a renamed file would silently drop out."""
    from conftest import LONGEST_FIRST, pytest_collection_modifyitems

    for path in LONGEST_FIRST:
        assert (REPO_ROOT / path).is_file(), path
    collected = [
        SimpleNamespace(nodeid=nodeid)
        for nodeid in (
            "platform/tests/test_template.py::test_a",
            f"{LONGEST_FIRST[1]}::test_first",
            "tests/test_stacks.py::test_b",
            f"{LONGEST_FIRST[0]}::test_first",
            f"{LONGEST_FIRST[1]}::test_second",
            f"{LONGEST_FIRST[0]}::test_second",
        )
    ]
    pytest_collection_modifyitems(collected)  # type: ignore[arg-type]
    assert [item.nodeid for item in collected] == [
        f"{LONGEST_FIRST[0]}::test_first",
        f"{LONGEST_FIRST[0]}::test_second",
        f"{LONGEST_FIRST[1]}::test_first",
        f"{LONGEST_FIRST[1]}::test_second",
        "platform/tests/test_template.py::test_a",
        "tests/test_stacks.py::test_b",
    ]


def test_the_session_drops_the_bytecode_of_its_temporary_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import pytest_sessionfinish

    prefix, basetemp = tmp_path / "pycache", tmp_path / "pytest-of-someone" / "pytest-7"
    mirrored = prefix / basetemp.relative_to(basetemp.anchor) / "popen-gw0" / "repo"
    mirrored.mkdir(parents=True)
    (mirrored / "module.cpython-311.pyc").write_bytes(b"bytecode")
    kept = prefix / tmp_path.relative_to(tmp_path.anchor) / "other-session"
    kept.mkdir()
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    factory = SimpleNamespace(_basetemp=basetemp)

    worker = SimpleNamespace(config=SimpleNamespace(workerinput={}, _tmp_path_factory=factory))
    pytest_sessionfinish(worker)  # type: ignore[arg-type]
    assert mirrored.is_dir()  # a worker leaves it: the controller's folder holds every worker's

    controller = SimpleNamespace(config=SimpleNamespace(_tmp_path_factory=factory))
    pytest_sessionfinish(controller)  # type: ignore[arg-type]
    assert not (prefix / basetemp.relative_to(basetemp.anchor)).exists()
    assert kept.is_dir()

    unused = SimpleNamespace(config=SimpleNamespace(_tmp_path_factory=SimpleNamespace()))
    pytest_sessionfinish(unused)  # type: ignore[arg-type]  # no test made a basetemp: no-op
