"""Named, independent random streams derived from the caller's seed."""

from __future__ import annotations

import zlib

import numpy as np

_MASK = (1 << 64) - 1


def _tag(value: int | str) -> int:
    if isinstance(value, str):
        return zlib.crc32(value.encode("utf-8"))
    return value & _MASK


def stream(seed: int, *tags: int | str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``tags`` (never on draw order)."""
    entropy = [seed & _MASK, (seed >> 64) & _MASK, *(_tag(t) for t in tags)]
    return np.random.default_rng(np.random.SeedSequence(entropy))
