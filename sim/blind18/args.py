"""blind-18's argument contract: every refusal is a ValueError that names the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

UM_PER_PX = (3.0, 12.0)
WIDTH = (32, 2028)
HEIGHT = (32, 1521)
MAX_FACTOR = 4.0


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
        return False
    return math.isfinite(float(v))


def checked(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[int, float, int, int, bool, tuple[float, int] | None]:
    """The arguments as plain Python values, or ValueError naming the first bad one."""
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _is_real(um_per_px):
        raise ValueError(f"um_per_px must be a finite number, got {um_per_px!r}")
    um = float(um_per_px)
    if not UM_PER_PX[0] <= um <= UM_PER_PX[1]:
        raise ValueError(f"um_per_px must lie in [{UM_PER_PX[0]}, {UM_PER_PX[1]}], got {um}")
    for name, v, (lo, hi) in (("width", width, WIDTH), ("height", height, HEIGHT)):
        if not _is_int(v) or not lo <= int(v) <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {v!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is None:
        return int(seed), um, int(width), int(height), bool(hairless), None
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be a pair (factor, visit_seed), got {regrown!r}")
    factor, visit_seed = regrown
    if not _is_real(factor) or not 0.0 < float(factor) <= MAX_FACTOR:
        raise ValueError(f"regrown's factor must be a number in (0, {MAX_FACTOR}], got {factor!r}")
    if not _is_int(visit_seed):
        raise ValueError(f"regrown's visit seed must be an int, got {visit_seed!r}")
    return int(seed), um, int(width), int(height), bool(hairless), (float(factor), int(visit_seed))
