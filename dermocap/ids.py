"""UUIDv7 identifiers (RFC 9562): time-ordered, so captures and messages sort by creation."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """Return a new UUIDv7; ids made in one process are strictly increasing.

    The 12-bit ``rand_a`` field holds a counter within one millisecond (RFC 9562
    method 1), seeded randomly, so ids stay monotonic under bursts.
    """
    global _last_ms, _last_counter
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms:
            ms = _last_ms
            _last_counter += 1
            if _last_counter > 0xFFF:
                ms += 1
                _last_counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _last_counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        counter = _last_counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(u: uuid.UUID) -> int:
    """The Unix time in milliseconds stored in a UUIDv7."""
    return u.int >> 80
