"""The camera's geometry: world (micrometres on the skin plane, origin at the baseline
frame's centre) to output pixels (pixel centres at integers). One forward map is used for
every label and every drawn fibre point, so truth and drawing cannot drift apart."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]

# Radius (in half-diagonals of the frame, undistorted) beyond which the radial distortion
# polynomial is continued linearly, so that the map stays monotonic (see Pose).
FOLD_R = 2.0


@dataclass(frozen=True)
class Pose:
    """Pose and lens of one visit: rotation ``theta`` (rad) and shift ``tx, ty`` (px) of
    the skin under the lens, radial distortion ``k1`` (relative, at the half diagonal),
    and an oblique view: a point ``z`` um above the skin moves ``(ox, oy) * z`` um.

    The radial polynomial ``r (1 + k1 r^2)`` folds back for barrel distortion (k1 < 0):
    beyond ``hd / sqrt(3 |k1|)`` the image radius falls again and reaches 0 at
    ``hd / sqrt(|k1|)``, so skin 3.5-4.5 half-diagonals away (inside the follicle pool
    of small or fine-scale frames) would land in the frame, hairs and labels alike. The
    polynomial is therefore held at ``FOLD_R`` half-diagonals and continued linearly:
    identical inside the field of view (which ends near 1.07 half-diagonals), monotonic
    everywhere, so nothing from outside the field is imaged into it."""

    width: int
    height: int
    um_per_px: float
    theta: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    k1: float = 0.0
    ox: float = 0.0
    oy: float = 0.0

    def __post_init__(self) -> None:
        # r (1 + k1 min(r, FOLD_R)^2) grows with r only while 1 + 3 k1 FOLD_R^2 > 0
        if not 1.0 + 3.0 * self.k1 * FOLD_R * FOLD_R > 0.0:
            raise ValueError(f"k1 = {self.k1} folds the image within {FOLD_R} half-diagonals")

    @property
    def centre(self) -> tuple[float, float]:
        return (self.width - 1) / 2.0, (self.height - 1) / 2.0

    @property
    def half_diag(self) -> float:
        return 0.5 * math.hypot(self.width, self.height)

    def _gain(self, ru: Arr, rv: Arr) -> Arr:
        """Radial distortion factor at undistorted offsets ``(ru, rv)`` px from the centre."""
        r2 = np.minimum((ru * ru + rv * rv) / (self.half_diag**2), FOLD_R * FOLD_R)
        return np.asarray(1.0 + self.k1 * r2)

    def world_to_image(self, xw: Arr, yw: Arr, z: Arr | None = None) -> tuple[Arr, Arr]:
        """Forward map of points ``(xw, yw)`` um (and height ``z`` um) to output pixels."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        u = np.asarray(xw, dtype=np.float64) / self.um_per_px
        v = np.asarray(yw, dtype=np.float64) / self.um_per_px
        if z is not None:
            zz = np.asarray(z, dtype=np.float64) / self.um_per_px
            u = u + self.ox * zz
            v = v + self.oy * zz
        ru = c * u - s * v + self.tx
        rv = s * u + c * v + self.ty
        f = self._gain(ru, rv)
        cx, cy = self.centre
        return cx + ru * f, cy + rv * f

    def image_to_world(self, xi: Arr, yi: Arr) -> tuple[Arr, Arr]:
        """Inverse map of skin-plane points (z = 0), by fixed-point iteration (used only
        to look the skin texture up; labels never go through it)."""
        cx, cy = self.centre
        du = np.asarray(xi, dtype=np.float64) - cx
        dv = np.asarray(yi, dtype=np.float64) - cy
        ru, rv = du, dv
        for _ in range(6):
            f = self._gain(ru, rv)
            ru = du / f
            rv = dv / f
        ru = ru - self.tx
        rv = rv - self.ty
        c, s = math.cos(self.theta), math.sin(self.theta)
        u = c * ru + s * rv
        v = -s * ru + c * rv
        return u * self.um_per_px, v * self.um_per_px

    def scale_at(self, xw: Arr, yw: Arr) -> Arr:
        """Local magnification of the distortion (px per undistorted px) at world points."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        u = np.asarray(xw, dtype=np.float64) / self.um_per_px
        v = np.asarray(yw, dtype=np.float64) / self.um_per_px
        ru = c * u - s * v + self.tx
        rv = s * u + c * v + self.ty
        return np.asarray(2.0 * self._gain(ru, rv) - 1.0)
