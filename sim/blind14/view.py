"""The camera's view of the site: world microns to frame pixels and back, with the frame's
turn and shift (a follow-up visit), a small shear (rolling shutter of a moving probe) and
barrel/pincushion lens distortion folded into one mapping, so truth and pixels agree."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class View:
    width: int
    height: int
    um: float
    cx: float
    cy: float
    theta: float
    shear: float
    k1: float

    @property
    def radius_px(self) -> float:
        return 0.5 * math.hypot(self.width, self.height)

    def to_px(self, x: F64, y: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.theta), math.sin(self.theta)
        dx, dy = x - self.cx, y - self.cy
        u = (c * dx + s * dy) / self.um
        v = (-s * dx + c * dy) / self.um
        u = u + self.shear * v
        # radial distortion, held constant beyond 1.4 frame radii (where nothing is drawn)
        # so the map stays one-to-one however far a world point lies
        r2 = np.minimum((u * u + v * v) / (self.radius_px**2), 2.0)
        f = 1.0 + self.k1 * r2
        return u * f + (self.width - 1) / 2.0, v * f + (self.height - 1) / 2.0

    def to_world(self, px: F64, py: F64) -> tuple[F64, F64]:
        ud = px - (self.width - 1) / 2.0
        vd = py - (self.height - 1) / 2.0
        u, v = ud, vd
        for _ in range(8):
            f = 1.0 + self.k1 * np.minimum((u * u + v * v) / (self.radius_px**2), 2.0)
            u, v = ud / f, vd / f
        u = u - self.shear * v
        c, s = math.cos(self.theta), math.sin(self.theta)
        return self.cx + (c * u - s * v) * self.um, self.cy + (s * u + c * v) * self.um

    def world_bbox(self, margin_um: float) -> tuple[float, float, float, float]:
        """World box holding the frame (and ``margin_um`` around it)."""
        xs = np.array([-0.5, self.width - 0.5, -0.5, self.width - 0.5])
        ys = np.array([-0.5, -0.5, self.height - 0.5, self.height - 0.5])
        wx, wy = self.to_world(xs, ys)
        pad = margin_um + 0.05 * self.radius_px * self.um
        return (
            float(wx.min()) - pad,
            float(wy.min()) - pad,
            float(wx.max()) + pad,
            float(wy.max()) + pad,
        )

    def grid(self, step: int) -> tuple[F64, F64, int, int]:
        """World coordinates of every ``step``-th pixel centre (rows, columns) and the grid's
        shape; :func:`upsample` brings such a grid back to the frame."""
        gh = (self.height - 1) // step + 2
        gw = (self.width - 1) // step + 2
        py, px = np.mgrid[0:gh, 0:gw].astype(np.float64) * step
        wx, wy = self.to_world(px, py)
        return wx, wy, gh, gw


def upsample(
    field: NDArray[np.float32], step: int, height: int, width: int, to_step: int = 1
) -> NDArray[np.float32]:
    """Bilinear interpolation of a grid from :meth:`View.grid` onto the frame's pixels (or
    onto the (height, width) grid of every ``to_step``-th pixel)."""
    if step == to_step:
        return np.ascontiguousarray(field[:height, :width])
    ys = np.arange(height, dtype=np.float32) * (to_step / step)
    xs = np.arange(width, dtype=np.float32) * (to_step / step)
    y0 = np.minimum(ys.astype(np.int64), field.shape[0] - 2)
    x0 = np.minimum(xs.astype(np.int64), field.shape[1] - 2)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    rows = field[y0] * (1 - fy) + field[y0 + 1] * fy
    out: NDArray[np.float32] = (rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx).astype(np.float32)
    return out
