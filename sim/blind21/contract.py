"""What blind-21's ``generate`` accepts: a :class:`Request` built from checked arguments, or a
ValueError whose message starts with the name of the first argument that is wrong."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

SCALE_UM = (3.0, 12.0)  # um per pixel, both ends accepted
FRAME_PX = {"width": (32, 2028), "height": (32, 1521)}
TOP_FACTOR = 4.0  # a follow-up holds up to four times the site's hair


@dataclass(frozen=True)
class Request:
    """A checked call: frame ``width`` x ``height`` px at ``um`` um/px of site ``seed``;
    ``factor`` and ``visit_seed`` are None at a baseline."""

    seed: int
    um: float
    width: int
    height: int
    hairless: bool
    factor: float | None
    visit_seed: int | None

    @property
    def follow_up(self) -> bool:
        return self.factor is not None


class _Refusal(ValueError):
    def __init__(self, name: str, wanted: str, value: Any) -> None:
        super().__init__(f"{name}: wanted {wanted}, got {value!r} ({type(value).__name__})")


def _whole(value: Any) -> bool:
    """An integer that is not a bool (numpy's included)."""
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, numbers.Integral)


def _finite(value: Any) -> bool:
    """A finite real number that is not a bool (numpy's included)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


def _visit(regrown: Any) -> tuple[float | None, int | None]:
    if regrown is None:
        return None, None
    shape = "None or a (factor, visit seed) pair"
    if not isinstance(regrown, tuple | list):
        raise _Refusal("regrown", shape, regrown)
    if len(regrown) != 2:
        raise _Refusal("regrown", shape, regrown)
    factor, visit_seed = regrown[0], regrown[1]
    if not _finite(factor) or not 0.0 < float(factor) <= TOP_FACTOR:
        raise _Refusal("regrown factor", f"a real number above 0, at most {TOP_FACTOR}", factor)
    if not _whole(visit_seed):
        raise _Refusal("regrown visit seed", "an integer", visit_seed)
    return float(factor), int(visit_seed)


def _in(low: float, high: float, whole: bool) -> Callable[[Any], bool]:
    """A test: an integer (``whole``) or a finite real number, from ``low`` to ``high``."""

    def test(value: Any) -> bool:
        kind_ok = _whole(value) if whole else _finite(value)
        return kind_ok and low <= float(value) <= high

    return test


def request(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> Request:
    """Check one call's arguments, in the order of ``generate``'s signature."""
    (um_lo, um_hi), (w_lo, w_hi), (h_lo, h_hi) = SCALE_UM, FRAME_PX["width"], FRAME_PX["height"]
    rules: tuple[tuple[str, Any, Callable[[Any], bool], str], ...] = (
        ("seed", seed, _whole, "an integer"),
        ("um_per_px", um_per_px, _in(um_lo, um_hi, False), f"a real number in [{um_lo}, {um_hi}]"),
        ("width", width, _in(w_lo, w_hi, True), f"an integer in [{w_lo}, {w_hi}] pixels"),
        ("height", height, _in(h_lo, h_hi, True), f"an integer in [{h_lo}, {h_hi}] pixels"),
        ("hairless", hairless, lambda v: isinstance(v, bool | np.bool_), "a bool"),
    )
    for name, value, test, wanted in rules:
        if not test(value):
            raise _Refusal(name, wanted, value)
    factor, visit_seed = _visit(regrown)
    return Request(
        int(seed), float(um_per_px), int(width), int(height), bool(hairless), factor, visit_seed
    )
