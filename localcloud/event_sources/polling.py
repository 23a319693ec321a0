"""What every event-source poller shares: its thread, stop and join, the backoff after an error,
settings updated in place, and the concurrency slots that cap its batches in flight.

A poller subclasses `PollingLoop` and implements `poll_once()`: one round of polling, returning
how long to wait before the next (0: at once). An exception from it is logged and followed by
the poller's error backoff: a transient failure (moto restarting, a queue or stream deleted)
never ends the mapping.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod

from localcloud.event_sources.event_filter import EventFilter
from localcloud.event_sources.mapping_config import MappingConfig

log = logging.getLogger(__name__)


class PollingLoop(ABC):
    KIND = "event-source"  # the thread's name: "<kind>-poller-<mapping uuid>"
    ERROR_BACKOFF_S = 1.0

    def __init__(self, config: MappingConfig) -> None:
        self._config = config
        self._filter = EventFilter(config.filter_criteria)
        self._stop = threading.Event()
        self._in_flight = 0
        self._slots = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.KIND}-poller-{config.uuid[:8]}", daemon=True
        )

    @property
    def config(self) -> MappingConfig:
        return self._config

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def update(self, config: MappingConfig) -> None:
        """New settings apply from the next batch (Lambda also updates a mapping in place)."""
        self._filter = EventFilter(config.filter_criteria)
        self._config = config
        with self._slots:
            self._slots.notify_all()  # a raised MaximumConcurrency frees waiting batches

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._slots:
            self._slots.notify_all()

    def join(self, timeout: float) -> None:
        """Wait for the loop and for the batches still in flight, within one deadline."""
        deadline = time.monotonic() + timeout
        self._thread.join(timeout)
        with self._slots:
            self._slots.wait_for(
                lambda: self._in_flight == 0, max(0.0, deadline - time.monotonic())
            )

    def pause(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when the poller is stopping."""
        return self._stop.wait(seconds)

    @abstractmethod
    def poll_once(self) -> float:
        """One round of polling; the seconds to wait before the next round."""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.poll_once()
            except Exception:
                log.exception("polling %s failed", self._config.source_arn)
                wait = self.ERROR_BACKOFF_S
            if wait > 0:
                self._stop.wait(wait)

    # ---- concurrency slots ------------------------------------------------------------------

    def take_slot(self) -> bool:
        """Block until a batch may start (fewer than MaximumConcurrency in flight); False when
        the poller stops first."""
        with self._slots:
            self._slots.wait_for(
                lambda: self._stop.is_set() or self._in_flight < self._config.max_concurrency
            )
            if self._stop.is_set():
                return False
            self._in_flight += 1
            return True

    def release_slot(self) -> None:
        with self._slots:
            self._in_flight -= 1
            self._slots.notify_all()
