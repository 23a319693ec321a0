"""Handing work from moto's request handlers to the running localcloud Runtime.

A patched moto method cannot be given the Runtime that should serve it: the Runtime registers
its part (its invoker, its EventBridge delivery) here on start and unregisters it on stop, and
the patch asks for the current one. A stack, not a single slot, so a second Runtime started and
stopped in the same process hands control back to the first.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestRegistered(Generic[T]):
    """Registered objects, newest last; the newest one serves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registered: list[T] = []

    def register(self, item: T) -> None:
        with self._lock:
            self._registered.append(item)

    def unregister(self, item: T) -> None:
        with self._lock:
            if item in self._registered:
                self._registered.remove(item)

    def current(self) -> T | None:
        with self._lock:
            return self._registered[-1] if self._registered else None
