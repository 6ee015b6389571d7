"""Shading under a dermoscope's ring light, and hair compositing.

The ring is a circle of LEDs at a polar angle around the lens axis, possibly
brighter on one side.  Averaged over the ring, Lambertian light on a surface
of normal n is n_z + asymmetry * tan(angle) * (n . bright side), relative to
flat skin; a wrap term stands in for light scattered under the surface.
Without a cross-polariser, the skin's surface reflects each LED where its
normal tilts by half the ring angle (a Gaussian lobe on that tilt), and each
hair shows a highlight stripe where the normal of its elliptical section meets
an LED's half vector.  With the polariser those surface terms vanish.

The hair fibres themselves are shaded in :mod:`sim.blind2.fibres`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from sim.blind2.frame import Frame
from sim.blind2.look import Look
from sim.blind2.raster import blur
from sim.blind2.skin import SkinMaps

Arr = NDArray[Any]


class Ring:
    """The ring light: angle, one-sided bias, diffuse and specular response."""

    def __init__(self, look: Look) -> None:
        self.theta = math.radians(look.num("ring_angle_deg"))
        self.asym = look.num("ring_asymmetry")
        az = math.radians(look.num("ring_azimuth_deg"))
        self.ca, self.sa = math.cos(az), math.sin(az)
        self.polarised = look.on("polarised")

    def diffuse(self, nx: Arr, ny: Arr, nz: Arr, wrap: float) -> Arr:
        e = nz + self.asym * math.tan(self.theta) * (nx * self.ca + ny * self.sa)
        return np.asarray(np.maximum((e + wrap) / (1.0 + wrap), 0.0), dtype=np.float32)

    def specular(self, nx: Arr, ny: Arr, nz: Arr, rough: float) -> Arr:
        """Gaussian lobe around the half vectors of a continuous ring, integrated in closed
        form: the mean over the ring of exp(-2 (1 - n.h) / rough^2), weighted by the
        ring's (1 + asym cos) brightness, is a von Mises integral (Bessel I0, I1).
        Scaled so the best-placed normal gets 1."""
        beta = np.linspace(0.0, self.theta, 33)
        top = float(self._ring(np.sin(beta), 0 * beta, np.cos(beta), rough).max())
        return np.asarray(self._ring(nx, ny, nz, rough) / top, dtype=np.float32)

    def _ring(self, nx: Arr, ny: Arr, nz: Arr, rough: float) -> Arr:
        norm = math.sqrt(2.0 + 2.0 * math.cos(self.theta))
        nxy = np.sqrt(nx * nx + ny * ny)
        k = 2.0 / rough**2
        kappa = k * nxy * math.sin(self.theta) / norm
        cos_side = (nx * self.ca + ny * self.sa) / np.maximum(nxy, 1e-6)
        ring = special.i0e(kappa) + self.asym * cos_side * special.i1e(kappa)
        return np.asarray(
            np.exp(k * (nz * (1.0 + math.cos(self.theta)) / norm - 1.0) + kappa) * ring
        )


def light_field(look: Look, frame: Frame) -> Arr:
    """Uneven illumination across the frame (1 on average)."""
    h, w = frame.height, frame.width
    az = math.radians(look.num("uneven_azimuth_deg"))
    xs = (np.arange(w, dtype=np.float32) - w / 2) / max(w, h) * 2
    ys = (np.arange(h, dtype=np.float32) - h / 2) / max(w, h) * 2
    ramp = ys[:, None] * math.sin(az) + xs[None, :] * math.cos(az)
    return np.asarray(1.0 + look.num("uneven_light") * ramp, dtype=np.float32)


def shade_skin(maps: SkinMaps, ring: Ring, look: Look, frame: Frame, lf: Arr, shadow: Arr) -> Arr:
    """Radiance of the bare skin (before hairs), linear RGB planes; reuses maps.refl."""
    gy, gx = np.gradient(maps.relief / frame.upp)
    inv = 1.0 / np.sqrt(1.0 + gx * gx + gy * gy)
    nx, ny, nz = -gx * inv, -gy * inv, inv
    e = ring.diffuse(nx, ny, nz, 0.3)
    local = blur(maps.relief, max(60.0 / frame.upp, 0.5))
    depth = look.num("furrow_depth_um") + 5.0
    e *= np.exp(-0.3 * np.clip((local - maps.relief) / depth, 0.0, 1.5))
    e *= (1.0 - shadow) * lf
    rad = maps.refl  # shaded in place: (3, h, w)
    rad *= e[None]
    if not ring.polarised:  # the cross-polariser removes the surface glint
        rad += (maps.shine * ring.specular(nx, ny, nz, 0.13) * lf)[None]
    return rad
