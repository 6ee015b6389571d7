"""blind-17's argument contract: each refusal is a ValueError that names the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

UM_PER_PX = (3.0, 12.0)
WIDTH = (32, 2028)
HEIGHT = (32, 1521)
MAX_FACTOR = 4.0


def _integer(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _number(v: Any) -> bool:
    ok = isinstance(v, int | float | np.integer | np.floating)
    return ok and not isinstance(v, bool | np.bool_) and math.isfinite(float(v))


def checked(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[int, float, int, int, bool, tuple[float, int] | None]:
    """Plain Python values of the arguments, or ValueError naming the first bad one."""
    if not _integer(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _number(um_per_px):
        raise ValueError(f"um_per_px must be a finite number, got {um_per_px!r}")
    um = float(um_per_px)
    if not UM_PER_PX[0] <= um <= UM_PER_PX[1]:
        raise ValueError(f"um_per_px must be within {UM_PER_PX}, got {um}")
    for name, v, (lo, hi) in (("width", width, WIDTH), ("height", height, HEIGHT)):
        if not _integer(v) or not lo <= int(v) <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {v!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    visit: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be a pair (factor, visit_seed), got {regrown!r}")
        factor, vseed = regrown
        if not _number(factor) or not 0.0 < float(factor) <= MAX_FACTOR:
            raise ValueError(f"regrown factor must be a number in (0, {MAX_FACTOR}]: {factor!r}")
        if not _integer(vseed):
            raise ValueError(f"regrown visit seed must be an int, got {vseed!r}")
        visit = (float(factor), int(vseed))
    return int(seed), um, int(width), int(height), bool(hairless), visit
