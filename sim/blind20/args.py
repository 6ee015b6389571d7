"""blind-20's argument checks: every refusal is a ValueError whose message names the argument."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

UM_PER_PX = (3.0, 12.0)
WIDTH_PX = (32, 2028)
HEIGHT_PX = (32, 1521)
MOST_REGROWTH = 4.0  # a follow-up visit holds at most four times the site's hair


@dataclass(frozen=True)
class Call:
    """One call's arguments, checked: ``visit`` is None at a baseline, else (factor, seed)."""

    seed: int
    um: float
    w: int
    h: int
    hairless: bool
    visit: tuple[float, int] | None


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    ok = isinstance(v, int | float | np.integer | np.floating)
    return ok and not isinstance(v, bool | np.bool_) and math.isfinite(float(v))


def _refuse(name: str, rule: str, got: Any) -> ValueError:
    return ValueError(f"{name} must be {rule}, not {got!r}")


def check_call(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> Call:
    """The arguments as a :class:`Call`, or ValueError naming the first bad one."""
    if not _is_int(seed):
        raise _refuse("seed", "an int", seed)
    lo, hi = UM_PER_PX
    if not (_is_real(um_per_px) and lo <= float(um_per_px) <= hi):
        raise _refuse("um_per_px", f"a finite number from {lo} to {hi}", um_per_px)
    for name, got, (least, most) in (("width", width, WIDTH_PX), ("height", height, HEIGHT_PX)):
        if not (_is_int(got) and least <= int(got) <= most):
            raise _refuse(name, f"an int from {least} to {most}", got)
    if not isinstance(hairless, bool | np.bool_):
        raise _refuse("hairless", "True or False", hairless)
    visit = None
    if regrown is not None:
        pair = "None or a pair (factor, visit_seed)"
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise _refuse("regrown", pair, regrown)
        factor, visit_seed = regrown
        if not (_is_real(factor) and 0.0 < float(factor) <= MOST_REGROWTH):
            raise _refuse("regrown's factor", f"a number in (0, {MOST_REGROWTH}]", factor)
        if not _is_int(visit_seed):
            raise _refuse("regrown's visit seed", "an int", visit_seed)
        visit = (float(factor), int(visit_seed))
    return Call(int(seed), float(um_per_px), int(width), int(height), bool(hairless), visit)
