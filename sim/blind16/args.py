"""Argument checks of blind-16: every refusal is a ValueError naming the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

UM_RANGE = (3.0, 12.0)
WIDTH_RANGE = (32, 2028)
HEIGHT_RANGE = (32, 1521)
FACTOR_MAX = 4.0


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def check(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[int, float, int, int, tuple[float, int] | None]:
    """The checked arguments as plain Python values; ValueError naming the first bad one."""
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, not {seed!r}")
    if not _is_real(um_per_px) or not math.isfinite(float(um_per_px)):
        raise ValueError(f"um_per_px must be a finite number, not {um_per_px!r}")
    um = float(um_per_px)
    if not UM_RANGE[0] <= um <= UM_RANGE[1]:
        raise ValueError(f"um_per_px must lie in {UM_RANGE}, not {um}")
    for name, v, (lo, hi) in (("width", width, WIDTH_RANGE), ("height", height, HEIGHT_RANGE)):
        if not _is_int(v):
            raise ValueError(f"{name} must be an int, not {v!r}")
        if not lo <= int(v) <= hi:
            raise ValueError(f"{name} must lie in [{lo}, {hi}], not {v}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, not {hairless!r}")
    visit: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be (factor, visit_seed), not {regrown!r}")
        factor, vseed = regrown
        if not _is_real(factor) or not math.isfinite(float(factor)):
            raise ValueError(f"regrown factor must be a finite number, not {factor!r}")
        if not 0.0 < float(factor) <= FACTOR_MAX:
            raise ValueError(f"regrown factor must lie in (0, {FACTOR_MAX}], not {factor}")
        if not _is_int(vseed):
            raise ValueError(f"regrown visit seed must be an int, not {vseed!r}")
        visit = (float(factor), int(vseed))
    return int(seed), um, int(width), int(height), visit
