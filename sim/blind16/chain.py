"""Splat chains: a polyline with a half-width profile resampled into EWA splats whose
sum is a ridge of constant peak (level mode, thick shafts) or of the right coverage
integral across (coverage mode, sub-pixel shafts, vessels, creases)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
LEVEL = math.exp(-2.0)  # a level-mode shaft's edge: the ridge at two across-sigmas
THICK_PX = 1.2  # half-widths at or above this (px) are drawn in level mode
BLUNT_K = 0.1  # along-sigma / half-width near a blunt end
BLUNT_RUN = 1.1 * BLUNT_K  # how far a blunt level-mode end runs past its last splat
PRE = 0.2  # squared prefilter sigma (px^2) of the EWA reconstruction


def chain(
    px: F64, py: F64, half: F64, level_ok: bool = True, blunt: bool = False
) -> tuple[F64, F64, F64, F64, F64, F64, NDArray[np.bool_]]:
    """Splats (x, y, sa, sc, theta, amp, level) along polyline (px, py) of half-width ``half``
    (pixels, per vertex). ``blunt``: the last half-widths use ever shorter along-sigmas, so a
    level-mode end stops square, running on past its last splat by only BLUNT_RUN half-widths.
    """
    seg = np.hypot(np.diff(px), np.diff(py))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(s[-1])
    k_v = np.full(px.size, 0.6)
    if blunt:
        hr = float(half[-1])
        ramp = np.clip((s - (total - 4.0 * hr - 2.0)) / (3.5 * hr + 1.0), 0.0, 1.0)
        k_v = 0.6 - (0.6 - BLUNT_K) * ramp
    sa_v = np.sqrt((k_v * half) ** 2 + PRE)
    d_v = 1.6 * sa_v
    if total <= 1e-9:
        n = 1
        si = np.zeros(1)
        scale = 1.0
    else:
        inv = np.concatenate([[0.0], np.cumsum(seg / (0.5 * (d_v[1:] + d_v[:-1])))])
        n = math.ceil(inv[-1]) + 1
        ti = np.linspace(0.0, inv[-1], n)
        si = np.interp(ti, inv, s)
        scale = float(inv[-1]) / (n - 1) if n > 1 else 1.0
    x = np.interp(si, s, px)
    y = np.interp(si, s, py)
    r = np.interp(si, s, half)
    k = np.interp(si, s, k_v)
    ang = np.unwrap(np.arctan2(np.diff(py), np.diff(px))) if px.size > 1 else np.zeros(1)
    mid = 0.5 * (s[1:] + s[:-1]) if px.size > 1 else np.zeros(1)
    th = np.interp(si, mid, ang)
    sa = np.sqrt((k * r) ** 2 + PRE)
    d = 1.6 * sa * scale
    level = (r >= THICK_PX) & level_ok
    sc = np.where(level, r / 2.0, np.sqrt((r / 2.0) ** 2 + PRE))
    if n == 1:
        # a lone splat: a disc of radius ``r`` (level) or of area pi r^2 (coverage)
        sa = sc.copy()
        amp = np.where(level, 1.0, r * r / (2.0 * sa * sc))
    else:
        amp = np.where(
            level, d / (math.sqrt(2 * math.pi) * sa), 2 * r * d / (2 * math.pi * sa * sc)
        )
    return x, y, sa, sc, th, amp, level
