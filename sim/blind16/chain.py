"""Splat chains: a polyline with a half-width profile resampled into EWA splats.

Level mode (thick shafts): the splats are the ``P_NORM``-th powers of Gaussians of the
shaft's field (sigmas divided by sqrt(P_NORM)) spaced so that their sum ``G`` is a ridge of
constant peak 1; the shaft's field is ``G ** (1 / P_NORM)``, a Gaussian ridge across the
shaft, and over several shafts a soft maximum (a p-norm) of theirs rather than their sum,
so crossing or touching shafts do not melt together. The shaft is where that field exceeds
``LEVEL``. Coverage mode (sub-pixel shafts, vessels, creases): prefiltered Gaussians whose
sum integrates across to the shaft's width.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
P_NORM = 4.0
LEVEL = math.exp(-2.0)  # a level-mode shaft's edge: its field at two across-sigmas
LEVEL_REACH = 5.2  # footprint of a level-mode splat, in its own sigmas
THICK_PX = 1.2  # half-widths at or above this (px) are drawn in level mode
BLUNT_K = 0.1  # along-sigma / half-width near a blunt end
PRE = 0.2  # squared prefilter sigma (px^2) of the EWA reconstruction (coverage mode)
_ROOT_P = math.sqrt(P_NORM)


def along_sigma(k: F64 | float, half: F64 | float) -> F64:
    """A level-mode splat's along-sigma (px) for along-factor ``k`` and half-width ``half``."""
    out: F64 = np.maximum(np.multiply(k, half), 0.3) / _ROOT_P
    return out


def blunt_run(half: float) -> float:
    """How far (px) a blunt level-mode end's edge runs on past its last splat: where half a
    ridge's ``G`` falls to ``LEVEL ** P_NORM``."""
    return 3.4 * float(along_sigma(BLUNT_K, half))


def chain(
    px: F64,
    py: F64,
    half: F64,
    level_ok: bool = True,
    blunt: bool = False,
    rooted: bool = False,
) -> tuple[F64, F64, F64, F64, F64, F64, NDArray[np.bool_]]:
    """Splats (x, y, sa, sc, theta, amp, level) along polyline (px, py) of half-width ``half``
    (pixels, per vertex). ``blunt``: the last half-widths use ever shorter along-sigmas, so a
    level-mode end stops square, running on past its last splat by only ``blunt_run``;
    ``rooted``: so does the first end, less sharply."""
    seg = np.hypot(np.diff(px), np.diff(py))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(s[-1])
    k_v = np.full(px.size, 0.6)
    if blunt:
        hr = float(half[-1])
        ramp = np.clip((s - (total - 4.0 * hr - 2.0)) / (3.5 * hr + 1.0), 0.0, 1.0)
        k_v = 0.6 - (0.6 - BLUNT_K) * ramp
    if rooted:
        # the root end too is short along: the shaft starts at its opening
        h0 = float(half[0])
        k_v = np.minimum(k_v, 0.6 - 0.45 * np.clip(1.0 - s / (3.0 * h0 + 1.0), 0.0, 1.0))
    lv_v = (half >= THICK_PX) & level_ok
    sa_v = np.where(lv_v, along_sigma(k_v, half), np.sqrt((0.6 * half) ** 2 + PRE))
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
    level = (r >= THICK_PX) & level_ok
    sa = np.where(level, along_sigma(k, r), np.sqrt((0.6 * r) ** 2 + PRE))
    d = 1.6 * sa * scale
    sc = np.where(level, r / 2.0 / _ROOT_P, np.sqrt((r / 2.0) ** 2 + PRE))
    if n == 1:
        # a lone splat: a disc of radius ``r`` (level) or of area pi r^2 (coverage)
        sa = sc.copy()
        amp = np.where(level, 1.0, r * r / (2.0 * sa * sc))
    else:
        amp = np.where(
            level, d / (math.sqrt(2 * math.pi) * sa), 2 * r * d / (2 * math.pi * sa * sc)
        )
    return x, y, sa, sc, th, amp, level
