"""Repository-wide pytest set-up."""

import platform
from pathlib import Path

# The client fixed a top-level `platform/` folder, which shares its name with the standard
# library module. pytest's importlib mode imports `platform/tests/test_*.py` as
# `platform.tests.test_*` and, finding that stdlib `platform` has no `__path__`, re-imports
# `platform` as our folder, which breaks every library that calls platform.system().
# Giving the stdlib module a package path to our folder lets pytest find the tests under it
# while `platform` itself stays the standard library.
if not hasattr(platform, "__path__"):
    platform.__path__ = [str(Path(__file__).parent / "platform")]  # type: ignore[attr-defined]
