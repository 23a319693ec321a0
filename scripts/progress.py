"""One status line for long operator commands (replay, redrive), on stderr.

On a terminal the line is rewritten in place; in a log (CI, a pipe) a line is written at most
every few seconds, and the last state always, so progress is visible either way without
flooding the output.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

LOG_EVERY_S = 5.0


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._interactive = self._stream.isatty()
        self._last_written = 0.0
        self._state = ""
        self._shown = ""

    def update(self, state: str) -> None:
        self._state = state
        now = time.monotonic()
        if self._interactive:
            self._stream.write(f"\r{state}\033[K")
            self._stream.flush()
            self._shown = state
        elif now - self._last_written >= LOG_EVERY_S:
            self._write_line(state)
            self._last_written = now

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._interactive and self._shown:
            self._stream.write("\n")
        elif self._state and self._state != self._shown:
            self._write_line(self._state)
        self._stream.flush()

    def _write_line(self, state: str) -> None:
        self._stream.write(f"{state}\n")
        self._stream.flush()
        self._shown = state
