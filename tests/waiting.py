"""Waiting for a condition another thread brings about (a state, a light, an event)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Return once ``cond()`` holds; AssertionError after ``timeout_s``. A generous
    timeout costs nothing when the condition comes, and keeps a loaded CI machine green."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")
