"""Where things are: site micrometres, the site grid, a visit's canvas and the output image.

The site has its origin at the centre of the baseline frame, x to the right and y down, in
micrometres. The *site grid* is a pixel lattice at the image's um/px covering the baseline
frame plus a margin; every skin field is a function of site position, so a later visit that
looks at a shifted and rotated frame sees the same skin. A visit renders its scene on a
*canvas*, an integer crop of the site grid that covers what its lens sees, and the optics
resample the canvas into the output image (distortion, the visit's shift and rotation,
lateral chromatic aberration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    s: float  # um per px
    rot: float = 0.0  # radians, output frame -> site
    tx: float = 0.0  # um, output centre in site coordinates
    ty: float = 0.0
    k: float = 0.0  # barrel distortion at the corner radius
    ca: float = 0.0  # lateral chromatic magnification of red (blue gets -ca)

    @property
    def cu(self) -> float:
        return (self.width - 1) / 2.0

    @property
    def cv(self) -> float:
        return (self.height - 1) / 2.0

    @property
    def rn(self) -> float:
        return math.hypot(self.width / 2.0, self.height / 2.0)

    @property
    def margin(self) -> int:
        return math.ceil(0.15 * max(self.width, self.height)) + 12

    @property
    def grid_shape(self) -> tuple[int, int]:
        m = self.margin
        return self.height + 2 * m, self.width + 2 * m

    @property
    def grid_origin(self) -> tuple[float, float]:
        """Site um of grid pixel (0, 0)."""
        m = self.margin
        return -(self.cu + m) * self.s, -(self.cv + m) * self.s

    def undistort(self, u: np.ndarray, v: np.ndarray, mag: float = 0.0) -> tuple[np.ndarray, ...]:
        """Output pixel -> ideal (distortion-free) frame pixel, for a channel magnification."""
        du = u - self.cu
        dv = v - self.cv
        f = (1.0 + mag) * (1.0 + self.k * (du * du + dv * dv) / (self.rn * self.rn))
        return self.cu + du * f, self.cv + dv * f

    def distort(self, up: np.ndarray, vp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ideal frame pixel -> output pixel (inverse of undistort, green channel)."""
        du = up - self.cu
        dv = vp - self.cv
        if self.k == 0.0:
            return up.copy(), vp.copy()
        rp = np.hypot(du, dv)
        a = self.k / (self.rn * self.rn)
        r = rp.copy()
        for _ in range(8):
            r = r - (r + a * r**3 - rp) / (1.0 + 3.0 * a * r * r)
        scale = np.divide(r, rp, out=np.ones_like(rp), where=rp > 1e-9)
        return self.cu + du * scale, self.cv + dv * scale

    def ideal_to_site(self, up: np.ndarray, vp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xu = (up - self.cu) * self.s
        yu = (vp - self.cv) * self.s
        c, sn = math.cos(self.rot), math.sin(self.rot)
        return c * xu - sn * yu + self.tx, sn * xu + c * yu + self.ty

    def site_to_ideal(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, sn = math.cos(self.rot), math.sin(self.rot)
        dx = x - self.tx
        dy = y - self.ty
        return (c * dx + sn * dy) / self.s + self.cu, (-sn * dx + c * dy) / self.s + self.cv

    def site_to_output(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        up, vp = self.site_to_ideal(np.asarray(x, float), np.asarray(y, float))
        return self.distort(up, vp)

    def output_angle(self, site_angle: np.ndarray) -> np.ndarray:
        """A direction in the site as an angle in the output image (y down)."""
        a = np.asarray(site_angle, float) - self.rot
        return np.asarray(np.arctan2(np.sin(a), np.cos(a)))

    def canvas_box(self) -> tuple[int, int, int, int]:
        """(i0, j0, hc, wc): the crop of the site grid that the lens sees, with a border."""
        n = 64
        us = np.concatenate(
            [
                np.linspace(-0.5, self.width - 0.5, n),
                np.full(n, self.width - 0.5),
                np.linspace(-0.5, self.width - 0.5, n),
                np.full(n, -0.5),
            ]
        )
        vs = np.concatenate(
            [
                np.full(n, -0.5),
                np.linspace(-0.5, self.height - 0.5, n),
                np.full(n, self.height - 0.5),
                np.linspace(-0.5, self.height - 0.5, n),
            ]
        )
        gx0, gy0 = self.grid_origin
        xs_all: list[np.ndarray] = []
        ys_all: list[np.ndarray] = []
        for mag in (-abs(self.ca), abs(self.ca)):
            up, vp = self.undistort(us, vs, mag)
            x, y = self.ideal_to_site(up, vp)
            xs_all.append((x - gx0) / self.s)
            ys_all.append((y - gy0) / self.s)
        gj = np.concatenate(xs_all)
        gi = np.concatenate(ys_all)
        gh, gw = self.grid_shape
        j0 = max(0, math.floor(gj.min()) - 4)
        i0 = max(0, math.floor(gi.min()) - 4)
        j1 = min(gw, math.ceil(gj.max()) + 5)
        i1 = min(gh, math.ceil(gi.max()) + 5)
        return i0, j0, i1 - i0, j1 - j0


@dataclass(frozen=True)
class Canvas:
    """A visit's scene raster: canvas pixel (i, j) sits at site (x0 + j*s, y0 + i*s)."""

    i0: int
    j0: int
    h: int
    w: int
    x0: float
    y0: float
    s: float

    @staticmethod
    def of(geo: Geometry) -> Canvas:
        i0, j0, h, w = geo.canvas_box()
        gx0, gy0 = geo.grid_origin
        return Canvas(i0, j0, h, w, gx0 + j0 * geo.s, gy0 + i0 * geo.s, geo.s)

    def to_px(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Site um -> canvas (column, row)."""
        return (np.asarray(x) - self.x0) / self.s, (np.asarray(y) - self.y0) / self.s

    def xs(self) -> np.ndarray:
        return (self.x0 + np.arange(self.w) * self.s).astype(np.float64)

    def ys(self) -> np.ndarray:
        return (self.y0 + np.arange(self.h) * self.s).astype(np.float64)

    def bounds_um(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x0 + (self.w - 1) * self.s, self.y0 + (self.h - 1) * self.s
