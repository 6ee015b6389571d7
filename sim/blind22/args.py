"""What blind-22's ``generate`` accepts: :func:`checked` turns the call's arguments into a
:class:`Call` or raises ValueError whose message starts with the first bad argument's name."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

UM_RANGE = (3.0, 12.0)  # um per pixel, both ends accepted
WIDTH_RANGE = (32, 2028)
HEIGHT_RANGE = (32, 1521)
MOST_GROWTH = 4.0  # a follow-up may hold up to four times the site's hair


@dataclass(frozen=True)
class Call:
    """One accepted call: site ``seed``, ``width`` x ``height`` px at ``um`` um/px; a
    follow-up visit has ``factor`` and ``visit`` (both None at a baseline)."""

    seed: int
    um: float
    width: int
    height: int
    hairless: bool
    factor: float | None
    visit: int | None

    @property
    def later(self) -> bool:
        return self.factor is not None


def _refuse(name: str, wanted: str, got: Any) -> ValueError:
    return ValueError(f"{name}: wanted {wanted}, got {got!r} ({type(got).__name__})")


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    if isinstance(v, bool | np.bool_) or not isinstance(v, Real):
        return False
    return math.isfinite(float(v))


def checked(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> Call:
    """The call's arguments checked in the order of ``generate``'s signature."""
    if not _is_int(seed):
        raise _refuse("seed", "an integer", seed)
    lo, hi = UM_RANGE
    if not (_is_real(um_per_px) and lo <= float(um_per_px) <= hi):
        raise _refuse("um_per_px", f"a real number in [{lo}, {hi}]", um_per_px)
    for name, value, (least, most) in (
        ("width", width, WIDTH_RANGE),
        ("height", height, HEIGHT_RANGE),
    ):
        if not (_is_int(value) and least <= int(value) <= most):
            raise _refuse(name, f"an integer in [{least}, {most}] pixels", value)
    if not isinstance(hairless, bool | np.bool_):
        raise _refuse("hairless", "a bool", hairless)
    factor: float | None = None
    visit: int | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise _refuse("regrown", "None or a (factor, visit seed) pair", regrown)
        f, v = regrown
        if not (_is_real(f) and 0.0 < float(f) <= MOST_GROWTH):
            raise _refuse("regrown factor", f"a real number above 0, at most {MOST_GROWTH}", f)
        if not _is_int(v):
            raise _refuse("regrown visit seed", "an integer", v)
        factor, visit = float(f), int(v)
    return Call(int(seed), float(um_per_px), int(width), int(height), bool(hairless), factor, visit)
