"""The geometric camera: skin-plane micrometres to pixels.

A weak pinhole (the dermoscope's lens sits a few centimetres above the skin, so anything
standing off the skin is magnified by H / (H - z)), a rigid placement of the cone on the
scalp (shift and turn; a follow-up visit re-positions it), and Brown radial distortion
(k1, k2 over the half-diagonal, saturating far outside the frame). Pixel centres are at
integer coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    um_per_px: float
    tx_um: float = 0.0
    ty_um: float = 0.0
    theta: float = 0.0
    k1: float = 0.0
    k2: float = 0.0
    lens_height_um: float = 40000.0

    @property
    def centre(self) -> tuple[float, float]:
        return (self.width - 1) / 2.0, (self.height - 1) / 2.0

    @property
    def half_diag_px(self) -> float:
        return 0.5 * math.hypot(self.width, self.height)

    def _factor(self, rho2: F64) -> F64:
        """Radial magnification: Brown's 1 + k1 r^2 + k2 r^4 near the frame, saturating
        smoothly far outside it so that the mapping stays monotonic everywhere."""
        out: F64 = (
            1.0
            + self.k1 * rho2 / (1.0 + rho2 / 4.0)
            + self.k2 * rho2 * rho2 / (1.0 + rho2 * rho2 / 9.0)
        )
        return out

    def _distort(self, u: F64, v: F64) -> tuple[F64, F64]:
        f = self._factor((u * u + v * v) / (self.half_diag_px**2))
        return u * f, v * f

    def to_px(self, x: F64, y: F64, z: F64 | float = 0.0) -> tuple[F64, F64]:
        """World micrometres (z up from the skin) to pixel coordinates."""
        dx = np.asarray(x, dtype=np.float64) - self.tx_um
        dy = np.asarray(y, dtype=np.float64) - self.ty_um
        c, s = math.cos(self.theta), math.sin(self.theta)
        persp = self.lens_height_um / (self.lens_height_um - np.asarray(z, dtype=np.float64))
        u = (c * dx + s * dy) * persp / self.um_per_px
        v = (-s * dx + c * dy) * persp / self.um_per_px
        du, dv = self._distort(u, v)
        cx, cy = self.centre
        return cx + du, cy + dv

    def scale_at(self, x: F64, y: F64, z: F64 | float = 0.0) -> F64:
        """Pixels per micrometre at a world point (radial magnification only)."""
        px, py = self.to_px(x, y, z)
        cx, cy = self.centre
        rho2 = ((px - cx) ** 2 + (py - cy) ** 2) / (self.half_diag_px**2)
        persp = self.lens_height_um / (self.lens_height_um - np.asarray(z, dtype=np.float64))
        out: F64 = self._factor(rho2) * persp / self.um_per_px
        return out

    def to_world(self, px: F64, py: F64) -> tuple[F64, F64]:
        """Pixel coordinates to the skin plane (z = 0), inverting the distortion by
        fixed-point iteration."""
        cx, cy = self.centre
        qu = np.asarray(px, dtype=np.float64) - cx
        qv = np.asarray(py, dtype=np.float64) - cy
        u, v = qu.copy(), qv.copy()
        for _ in range(8):
            f = self._factor((u * u + v * v) / (self.half_diag_px**2))
            u, v = qu / f, qv / f
        u = u * self.um_per_px
        v = v * self.um_per_px
        c, s = math.cos(self.theta), math.sin(self.theta)
        return self.tx_um + c * u - s * v, self.ty_um + s * u + c * v
