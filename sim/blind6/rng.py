"""Seeded random streams of blind-6: one numpy Generator per purpose, from the seed only."""

from __future__ import annotations

import numpy as np

# stream keys (any distinct small ints)
SCENE = 1
POOL = 2
SKIN = 3
CAMERA = 4
NOISE = 5
VISIT = 6
UNIT = 7
HAIRTEX = 8
OVERLAY = 9
BARE = 10  # which hair-bearing openings are left undrawn (bare_roots)


def stream(seed: int, *keys: int) -> np.random.Generator:
    """A Generator fed by ``seed`` (any Python int, negative too) and the ``keys``."""
    entropy = [abs(int(seed)), 1 if seed < 0 else 0, *[int(k) for k in keys]]
    return np.random.default_rng(np.random.SeedSequence(entropy))
