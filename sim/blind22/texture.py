"""The strand textures every card is painted with, filtered through summed-area tables.

A hair card carries two 1-D textures: one *across* the fibre, in units of its radius q
(|q| <= 1 is the shaft: its cover, the cylinder's facing, a sheen line, pigment streaks and
the medulla, each premultiplied by the cover), in eight variants; one *along* it, in
micrometres and periodic (cuticle scale edges, the medulla's breaks, slow pigment drift).
Each is stored as its running integral (a summed-area table, Crow 1984), so a pixel's
footprint - any width, centred where the pixel falls - is averaged by two reads: a box filter
of exactly the pixel's extent, not a mip level's power-of-two block."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

Q_MAX = 48.0  # the across texture spans q in [-Q_MAX, Q_MAX] radii
PER_Q = 32  # texels per radius
ACROSS = ("cover", "facing", "sheen", "streak", "medulla")
VARIANTS = 8
ALONG_UM = 4096.0  # the along texture's period
PER_UM = 0.5  # texels per um along
ALONG = ("cuticle", "gap", "drift")


def _across_texels(g: np.random.Generator) -> NDArray[np.float64]:
    """One variant: (texels, channels) of the across texture, premultiplied by cover."""
    n = round(2 * Q_MAX * PER_Q)
    lo = -Q_MAX + np.arange(n) / PER_Q
    hi = lo + 1.0 / PER_Q
    cover = np.clip(np.minimum(hi, 1.0) - np.maximum(lo, -1.0), 0.0, None) * PER_Q
    q = np.clip(0.5 * (lo + hi), -1.0, 1.0)
    facing = np.sqrt(np.clip(1.0 - q * q, 0.0, 1.0))
    at = float(g.uniform(0.2, 0.45)) * float(g.choice([-1.0, 1.0]))
    sheen = np.exp(-(((q - at) / float(g.uniform(0.08, 0.16))) ** 2))
    streak = np.zeros(n)
    for _ in range(int(g.integers(3, 8))):
        streak += float(g.uniform(0.3, 1.0)) * np.exp(
            -(((q - float(g.uniform(-0.85, 0.85))) / float(g.uniform(0.03, 0.09))) ** 2)
        )
    medulla = (np.abs(q) < float(g.uniform(0.12, 0.3))).astype(np.float64)
    return np.stack(
        [cover, cover * facing, cover * sheen, cover * np.clip(streak, 0, 1), cover * medulla],
        axis=1,
    )


def _along_texels(g: np.random.Generator) -> NDArray[np.float64]:
    n = round(ALONG_UM * PER_UM)
    s = (np.arange(n) + 0.5) / PER_UM
    edges = np.cumsum(g.uniform(5.0, 9.0, int(ALONG_UM / 5) + 2))
    cuticle = np.zeros(n)
    k = np.floor(edges[edges < ALONG_UM] * PER_UM).astype(np.int64)
    cuticle[k] = 1.0
    gap = np.zeros(n)
    pos = 0.0
    while pos < ALONG_UM:  # the medulla: runs and breaks
        run, brk = float(g.uniform(40, 400)), float(g.uniform(10, 150))
        gap[int((pos + run) * PER_UM) : int((pos + run + brk) * PER_UM)] = 1.0
        pos += run + brk
    freq = np.arange(1, 9)
    drift = np.sin(2 * math.pi * np.outer(s, freq) / ALONG_UM + g.uniform(0, 6.3, 8)) @ (
        g.normal(0, 1, 8) / freq
    )
    drift = drift / max(float(np.abs(drift).max()), 1e-9)
    return np.stack([cuticle, gap, drift], axis=1)


def _table(texels: NDArray[np.float64], per: float) -> NDArray[np.float64]:
    """Running integral at texel boundaries: (texels + 1, channels)."""
    start = np.zeros((1, texels.shape[1]))
    return np.concatenate([start, np.cumsum(texels, axis=0) / per])


class Strands:
    """The textures of one site (drawn from ``g``) and their box-filtered lookups."""

    def __init__(self, g: np.random.Generator) -> None:
        self.across_texels = np.stack([_across_texels(g) for _ in range(VARIANTS)])
        self.across_sat = np.stack([_table(t, PER_Q) for t in self.across_texels])
        self.along_texels = _along_texels(g)
        self.along_sat = _table(self.along_texels, PER_UM)

    def across(
        self, variant: Any, q: Any, width: Any, channels: slice = slice(None)
    ) -> NDArray[np.float64]:
        """Mean of the across ``channels`` over [q - width/2, q + width/2] (radii) of texture
        ``variant``: (n, channels). Outside the texture everything is 0."""
        v = np.asarray(variant, np.int64)
        f = np.maximum(np.asarray(width, np.float64), 1.0 / PER_Q)
        q_arr = np.asarray(q, np.float64)
        rows = self.across_sat.shape[1]
        flat = self.across_sat[:, :, channels].reshape(VARIANTS * rows, -1)

        def integral(at: NDArray[np.float64]) -> NDArray[np.float64]:
            x = np.clip((at + Q_MAX) * PER_Q, 0.0, rows - 1.0)
            j = np.minimum(x.astype(np.int64), rows - 2) + v * rows
            frac = (x - (j - v * rows))[:, None]
            lo = flat[j]
            out: NDArray[np.float64] = lo + frac * (flat[j + 1] - lo)
            return out

        return (integral(q_arr + 0.5 * f) - integral(q_arr - 0.5 * f)) / f[:, None]

    def along(self, s: Any, width: Any) -> NDArray[np.float64]:
        """Mean of each along channel over [s - width/2, s + width/2] (um, periodic)."""
        f = np.maximum(np.asarray(width, np.float64), 1.0 / PER_UM)
        sa = np.asarray(s, np.float64)
        total = self.along_sat[-1]
        rows = self.along_sat.shape[0]

        def integral(at: NDArray[np.float64]) -> NDArray[np.float64]:
            laps = np.floor(at / ALONG_UM)
            x = (at - laps * ALONG_UM) * PER_UM
            j = np.minimum(np.floor(x).astype(np.int64), rows - 2)
            frac = (x - j)[:, None]
            lo = self.along_sat[j]
            out: NDArray[np.float64] = (
                laps[:, None] * total + lo + frac * (self.along_sat[j + 1] - lo)
            )
            return out

        return (integral(sa + 0.5 * f) - integral(sa - 0.5 * f)) / f[:, None]
