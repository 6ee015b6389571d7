"""Argument checks of :func:`sim.blind15.generate`."""

from __future__ import annotations

import math
from typing import Any


def _real(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[float, tuple[float, int] | None]:
    """Raise ValueError naming the first bad argument; return the scale and the visit."""
    if not _int(seed):
        raise ValueError(f"seed must be an int, not {seed!r}")
    if not _real(um_per_px) or not 2.0 <= float(um_per_px) <= 15.0:
        raise ValueError(f"um_per_px must be 2.0-15.0, not {um_per_px!r}")
    if not _int(width) or not 64 <= width <= 2560:
        raise ValueError(f"width must be an int 64-2560, not {width!r}")
    if not _int(height) or not 48 <= height <= 2048:
        raise ValueError(f"height must be an int 48-2048, not {height!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, not {hairless!r}")
    if regrown is None:
        return float(um_per_px), None
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be None or (factor, seed2), not {regrown!r}")
    factor, seed2 = regrown
    if not _real(factor) or not 0.0 < float(factor) <= 8.0:
        raise ValueError(f"regrown factor must be a real number in (0, 8], not {factor!r}")
    if not _int(seed2):
        raise ValueError(f"regrown seed2 must be an int, not {seed2!r}")
    return float(um_per_px), (float(factor), int(seed2))
