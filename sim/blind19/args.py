"""What blind-19 accepts: each argument is checked and a refusal is a ValueError that names it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SCALE_RANGE = (3.0, 12.0)  # micrometres per pixel
WIDTH_RANGE = (32, 2028)
HEIGHT_RANGE = (32, 1521)
TOP_FACTOR = 4.0  # a follow-up holds at most four times the hair


def _integer(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return False
    return isinstance(v, int | np.integer)


def _finite(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return False
    if not isinstance(v, int | float | np.integer | np.floating):
        return False
    return math.isfinite(float(v))


def _visit(regrown: Any) -> tuple[float, int] | None:
    if regrown is None:
        return None
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be None or a pair (factor, visit_seed), not {regrown!r}")
    factor, visit_seed = regrown
    if not _finite(factor) or not 0.0 < float(factor) <= TOP_FACTOR:
        raise ValueError(
            f"regrown: the factor must be a number in (0, {TOP_FACTOR}], not {factor!r}"
        )
    if not _integer(visit_seed):
        raise ValueError(f"regrown: the visit seed must be an int, not {visit_seed!r}")
    return float(factor), int(visit_seed)


def validated(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[int, float, int, int, bool, tuple[float, int] | None]:
    """The call's arguments as plain values; ValueError naming the first one out of range."""
    if not _integer(seed):
        raise ValueError(f"seed must be an int, not {seed!r}")
    if not _finite(um_per_px) or not SCALE_RANGE[0] <= float(um_per_px) <= SCALE_RANGE[1]:
        lo, hi = SCALE_RANGE
        raise ValueError(f"um_per_px must be a finite number in [{lo}, {hi}], not {um_per_px!r}")
    for name, value, (lo_px, hi_px) in (
        ("width", width, WIDTH_RANGE),
        ("height", height, HEIGHT_RANGE),
    ):
        if not _integer(value) or not lo_px <= int(value) <= hi_px:
            raise ValueError(f"{name} must be an int in [{lo_px}, {hi_px}], not {value!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be True or False, not {hairless!r}")
    visit = _visit(regrown)
    return int(seed), float(um_per_px), int(width), int(height), bool(hairless), visit
