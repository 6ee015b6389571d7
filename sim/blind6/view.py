"""The camera's placement over the scalp in blind-6: scalp coordinates (um, origin at the
baseline frame's centre, x right, y down) to output pixels (pixel centres at integers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]


@dataclass(frozen=True)
class View:
    width: int
    height: int
    um_per_px: float
    angle: float = 0.0  # radians, camera rotation on the scalp
    tx: float = 0.0  # um, camera centre on the scalp
    ty: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        return (self.width - 1) / 2.0, (self.height - 1) / 2.0

    def to_px(self, x: Arr, y: Arr) -> tuple[Arr, Arr]:
        """Scalp um to output pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        dx = np.asarray(x, dtype=np.float64) - self.tx
        dy = np.asarray(y, dtype=np.float64) - self.ty
        cx, cy = self.centre
        # inverse rotation
        return (c * dx + s * dy) / self.um_per_px + cx, (-s * dx + c * dy) / self.um_per_px + cy

    def to_um(self, px: Arr, py: Arr) -> tuple[Arr, Arr]:
        """Output pixels to scalp um."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        cx, cy = self.centre
        dx = (np.asarray(px, dtype=np.float64) - cx) * self.um_per_px
        dy = (np.asarray(py, dtype=np.float64) - cy) * self.um_per_px
        return c * dx - s * dy + self.tx, s * dx + c * dy + self.ty

    def direction_px(self, ang: Arr) -> Arr:
        """A scalp direction angle (radians) as the image's angle."""
        return np.asarray(ang, dtype=np.float64) - self.angle

    def inside(self, px: Arr, py: Arr) -> Arr:
        return np.asarray(
            (px >= -0.5) & (px < self.width - 0.5) & (py >= -0.5) & (py < self.height - 0.5)
        )

    def outside_distance_um(self, px: Arr, py: Arr) -> Arr:
        """Distance (um) from the frame rectangle of points outside it (0 inside)."""
        ddx = np.maximum(np.maximum(-0.5 - px, px - (self.width - 0.5)), 0.0)
        ddy = np.maximum(np.maximum(-0.5 - py, py - (self.height - 0.5)), 0.0)
        return np.asarray(np.hypot(ddx, ddy) * self.um_per_px)
