"""Clocks passed into hardware code, so the twin can skip waiting while pins stay real.

A :class:`Clock` provides ``monotonic()`` in seconds and ``sleep(seconds)``.
:class:`SystemClock` is the real one. :class:`FastClock` never blocks in
``sleep``: it adds the time to an offset instead, so a stepper move that takes
2 s on the rig takes microseconds on the twin while every timestamp it reports
still advances as if the time had passed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

# How the rig writes a moment in its records: UTC to the second, e.g. 2026-12-03T08:15:00Z.
STAMP = "%Y-%m-%dT%H:%M:%SZ"


class Clock(Protocol):
    """What hardware code needs of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (or, on a simulated clock, pretend to)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FastClock:
    """Real monotonic time plus every sleep skipped so far; thread-safe."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        # Reading the offset is atomic (one attribute load); only sleep's update needs the lock.
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._offset += seconds


def utc_stamp(at: datetime | None = None) -> str:
    """``at`` (default: now) as the rig's record time stamp, e.g. ``2026-12-03T08:15:00Z``."""
    return (at or datetime.now(UTC)).astimezone(UTC).strftime(STAMP)


def parse_utc_stamp(text: str) -> datetime:
    """An aware UTC datetime from a record time stamp made by :func:`utc_stamp`.

    Raises:
        ValueError: ``text`` is not in that form.
    """
    return datetime.strptime(text, STAMP).replace(tzinfo=UTC)
