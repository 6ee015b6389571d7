"""The image frame: its size, scale and the lens's radial distortion.

Scene points are laid out in undistorted pixel coordinates; :meth:`Frame.distort`
maps them to the image.  Everything that has a position (shaft vertices,
openings, tips) goes through the same map, so the truth is exact without ever
resampling the picture.  The map saturates far from the centre, so it stays
one-to-one for hairs that emerge well outside the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]


@dataclass(frozen=True)
class Frame:
    """Frame size (pixels), scale (micrometres per pixel) and distortion k1."""

    width: int
    height: int
    upp: float
    k1: float = 0.0

    @property
    def half_diagonal(self) -> float:
        return 0.5 * float(np.hypot(self.width, self.height))

    def distort(self, x: Arr, y: Arr) -> tuple[Arr, Arr]:
        """Undistorted scene pixels -> image pixels (barrel for k1 < 0)."""
        cx = 0.5 * (self.width - 1)
        cy = 0.5 * (self.height - 1)
        rx = (x - cx) / self.half_diagonal
        ry = (y - cy) / self.half_diagonal
        r2 = rx * rx + ry * ry
        gain = 1.0 + self.k1 * r2 / (1.0 + 0.25 * r2)
        return cx + (x - cx) * gain, cy + (y - cy) * gain

    def inside(self, x: Arr, y: Arr) -> Arr:
        """True where an image point lies in the frame."""
        return (x >= -0.5) & (x < self.width - 0.5) & (y >= -0.5) & (y < self.height - 0.5)

    def outside_um(self, x: Arr, y: Arr) -> Arr:
        """Distance (micrometres) from an image point to the frame; 0 inside."""
        dx = np.maximum(np.maximum(-0.5 - x, x - (self.width - 0.5)), 0.0)
        dy = np.maximum(np.maximum(-0.5 - y, y - (self.height - 0.5)), 0.0)
        return np.asarray(np.hypot(dx, dy) * self.upp)

    @property
    def area_cm2(self) -> float:
        return self.width * self.height * (self.upp * 1e-4) ** 2
