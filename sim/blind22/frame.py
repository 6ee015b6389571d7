"""Where the frame lies on the site: a rigid motion and a scale from world micrometres on the
skin to frame pixels (pixel centres at integers), as a 2x3 affine matrix."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Frame:
    """``w`` x ``h`` px at ``um`` um/px; its centre at world ``(cx, cy)`` um and its rows
    turned ``turn`` radians against the world's x axis (a follow-up visit)."""

    w: int
    h: int
    um: float
    turn: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    _m: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        c, s = math.cos(self.turn) / self.um, math.sin(self.turn) / self.um
        mid_x, mid_y = 0.5 * (self.w - 1), 0.5 * (self.h - 1)
        m = np.array(
            [
                [c, s, mid_x - c * self.cx - s * self.cy],
                [-s, c, mid_y + s * self.cx - c * self.cy],
            ]
        )
        object.__setattr__(self, "_m", m)

    def px(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """World um to frame px."""
        xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
        m = self._m
        return m[0, 0] * xa + m[0, 1] * ya + m[0, 2], m[1, 0] * xa + m[1, 1] * ya + m[1, 2]

    def world(self, u: ArrayLike, v: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Frame px to world um."""
        m = self._m
        du, dv = np.asarray(u, np.float64) - m[0, 2], np.asarray(v, np.float64) - m[1, 2]
        k = self.um * self.um  # the linear part is a rotation over um: its inverse is um^2 m^T
        return k * (m[0, 0] * du + m[1, 0] * dv), k * (m[0, 1] * du + m[1, 1] * dv)

    def heading_px(self, world_heading: float) -> float:
        """A world direction (radians) as a direction in the frame."""
        return world_heading - self.turn

    def beyond_um(self, u: float, v: float) -> float:
        """How far (um) a frame point lies outside the frame's area (0 inside it)."""
        dx = max(-0.5 - u, u - (self.w - 0.5), 0.0)
        dy = max(-0.5 - v, v - (self.h - 0.5), 0.0)
        return math.hypot(dx, dy) * self.um

    def inside(self, u: float, v: float) -> bool:
        """In the frame: -0.5 <= u < w - 0.5 and -0.5 <= v < h - 0.5."""
        return -0.5 <= u < self.w - 0.5 and -0.5 <= v < self.h - 0.5

    def world_box(self, pad_um: float) -> tuple[float, float, float, float]:
        """The world box (x0, y0, x1, y1) holding the frame grown by ``pad_um``."""
        u = np.array([-0.5, self.w - 0.5, -0.5, self.w - 0.5])
        v = np.array([-0.5, -0.5, self.h - 0.5, self.h - 0.5])
        x, y = self.world(u, v)
        return (
            float(x.min()) - pad_um,
            float(y.min()) - pad_um,
            float(x.max()) + pad_um,
            float(y.max()) + pad_um,
        )
