"""JSON event fixtures: each service keeps the events its handlers receive under
`tests/events/*.json`, as Lambda delivers them (like the aws-samples workshop's
`tests/unit/events/`), so its tests read real shapes instead of building them in code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

EventLoader = Callable[[str], dict[str, Any]]


def event_loader(tests_dir: Path) -> EventLoader:
    """A loader of `<tests_dir>/events/<name>.json`; each call returns a fresh copy."""

    def load(name: str) -> dict[str, Any]:
        path = tests_dir / "events" / f"{name}.json"
        if not path.is_file():
            known = sorted(p.stem for p in (tests_dir / "events").glob("*.json"))
            raise FileNotFoundError(f"no event fixture {path.name}; this service has {known}")
        event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return event

    return load
