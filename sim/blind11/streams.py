"""Named, independent random streams: one per part of the scene, so that switching hairs
off, or planning a follow-up visit, never shifts the draws of the skin or the look."""

from __future__ import annotations

import zlib

import numpy as np


def _word(tag: str | int) -> int:
    if isinstance(tag, str):
        return zlib.crc32(tag.encode("utf-8"))
    return 2 * abs(tag) + (1 if tag < 0 else 0)


def stream(seed: int, *tags: str | int) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the ``tags`` (strings or ints)."""
    entropy = [0xB11, 1 if seed < 0 else 0, abs(seed), *(_word(t) for t in tags)]
    return np.random.default_rng(np.random.SeedSequence(entropy))
