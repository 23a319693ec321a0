"""Repository-wide pytest set-up."""

import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from scripts import services

# The client fixed a top-level `platform/` folder, which shares its name with the standard
# library module. pytest's importlib mode imports `platform/tests/test_*.py` as
# `platform.tests.test_*` and, finding that stdlib `platform` has no `__path__`, re-imports
# `platform` as our folder, which breaks every library that calls platform.system().
# Giving the stdlib module a package path to our folder lets pytest find the tests under it
# while `platform` itself stays the standard library.
if not hasattr(platform, "__path__"):
    platform.__path__ = [str(Path(__file__).parent / "platform")]  # type: ignore[attr-defined]

# Every service's source imports side by side (unique package names), found from the manifests,
# so a new service's tests run without editing any list.
for _manifest in services.discover():
    _source = str(_manifest.folder / "src")
    if _source not in sys.path:
        sys.path.insert(0, _source)

# Handlers flush their metrics as EMF log lines, which need a namespace; the templates set it
# from the platform's export, tests use this one.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WildRydes/test")

# The longest files, by their wall time in a run of every file (`make test-core` and a bare
# `pytest` run the sam_apps ones too): the end-to-end suite, then those that run the SAM CLI or
# wait on batching windows. pytest-xdist (--dist loadfile) hands files to
# its workers in collection order, and without this the end-to-end files came near the end
# (collected with the rest of tests/, and xdist's own reordering by test count puts files
# with few tests last): one worker then ran alone for the suite's last minute. First, the
# short files fill the gaps instead.
LONGEST_FIRST = (
    "tests/e2e/test_system.py",
    "tests/e2e/test_operations.py",
    "tests/test_new_service.py",
    "localcloud/tests/test_sam_deploy.py",
    "localcloud/tests/test_event_source_apps.py",
    "localcloud/tests/test_local_compatibility.py",
)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    rank = {path: position for position, path in enumerate(LONGEST_FIRST)}
    # A stable sort: the tests of a file keep their order (the end-to-end suite relies on it).
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_sessionfinish(session: Any) -> None:
    """Drop the bytecode compiled from this session's temporary folders (copies of the
    repository, extracted Lambda code): under the Makefile's PYTHONPYCACHEPREFIX it mirrors
    paths that are gone after the run, ~32 MB a run that nothing would ever read again."""
    if sys.pycache_prefix is None or hasattr(session.config, "workerinput"):
        return  # no prefix, or an xdist worker: the controller's basetemp holds the workers'
    # pytest's own record of the folder, if a test made one (asking for it would make one).
    basetemp = getattr(getattr(session.config, "_tmp_path_factory", None), "_basetemp", None)
    if basetemp is not None:
        mirrored = Path(sys.pycache_prefix) / basetemp.relative_to(basetemp.anchor)
        shutil.rmtree(mirrored, ignore_errors=True)
