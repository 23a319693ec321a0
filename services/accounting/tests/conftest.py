"""Fixtures of this service's tests: its JSON events (tests/events/*.json)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wildrydes_testing.events import EventLoader, event_loader


@pytest.fixture
def events() -> EventLoader:
    """events("sqs_ride_event"): a fresh copy of tests/events/sqs_ride_event.json."""
    return event_loader(Path(__file__).parent)
