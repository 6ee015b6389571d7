"""Hair shafts in 3-D world micrometres: axis polylines with radii, and their cut ends.

A shaft's axis starts under the skin (so that the cylinder pierces the skin plane in an
ellipse around the emergence point, partly seen inside a follicle's pit), leaves the skin at
its emergence point (z = 0) at its elevation, then either stands straight and is cut (trimmed
stubs, broken hairs, black dots cut a few micrometres above the skin) or rises a little and
settles onto the skin at its own resting height, waving or curling, and ends cut or tapering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
STEP_UM = 15.0
PIT_UM = 25.0  # deeper than any opening's pit: a root hidden under skin stays hidden


@dataclass
class Shaft:
    """Axis points ``p`` (n, 3) in um (index ``first`` is the emergence point, those before it
    lie under the skin), radii ``r``
    (n,), arc length from the emergence ``s`` (n,), and the cut: the end plane's normal ``m``
    (None for a natural tip) and splinter amplitudes of a frayed cut (``jag``, um)."""

    p: F64
    r: F64
    s: F64
    first: int
    m: F64 | None
    jag: F64 | None
    jag_phase: F64 | None


def _unit(az: float, el: float) -> F64:
    return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def _buried(h: dict[str, Any], u: F64, el: float) -> F64:
    """The axis point under the skin where the shaft's top is below any pit's floor."""
    rad = h["d"] / 2.0
    b = (rad / math.cos(el) + PIT_UM + 5.0) / max(math.sin(el), 0.05)
    out: F64 = np.array([h["x"], h["y"], 0.0]) - b * u
    return out


def _cut(h: dict[str, Any], u: F64, r: np.random.Generator) -> tuple[F64, F64 | None, F64 | None]:
    """The cut plane's normal (tilted from the axis: square a little, oblique much) and a
    frayed end's splinters (amplitudes in um and phases of 2-5 lobes round the fibre)."""
    style = h["cut_style"]
    tilt = math.radians(
        float(r.uniform(0.0, 8.0))
        if style == "square"
        else float(r.uniform(25.0, 55.0))
        if style == "oblique"
        else float(r.uniform(0.0, 20.0))
    )
    # a direction perpendicular to the axis to tilt toward
    a = np.cross(u, [0.0, 0.0, 1.0])
    if np.linalg.norm(a) < 1e-6:
        a = np.array([1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(u, a)
    phi = float(r.uniform(0.0, 2 * math.pi))
    side = math.cos(phi) * a + math.sin(phi) * b
    m = math.cos(tilt) * u + math.sin(tilt) * side
    if m[2] < 0.08:  # keep the cut face turned to the lens
        m[2] = 0.08
    m /= np.linalg.norm(m)
    if style != "frayed":
        return m, None, None
    lobes = int(r.integers(2, 6))
    amp = r.uniform(0.25, 0.8, lobes) * h["d"]
    phase = r.uniform(0.0, 2 * math.pi, lobes)
    return m, amp, phase


def _lying(h: dict[str, Any], r: np.random.Generator, curl: str) -> tuple[F64, F64]:
    """Azimuths along the arc and heights of a hair that rises and settles onto the skin
    (vellus hair waves less than the site's terminal hair)."""
    n = max(2, math.ceil(h["length"] / STEP_UM) + 1)
    s = np.linspace(0.0, h["length"], n)
    rad = h["d"] / 2.0
    # resting on the skin or on other hair (a contact plate keeps the mat low)
    rest = rad * (1.0 + float(r.uniform(0.0, 1.2))) + float(r.uniform(0.0, 10.0))
    tan0 = math.tan(h["elevation"])
    lam = float(r.uniform(200.0, 600.0))
    mu = max(lam / 3.0, rest / tan0)
    bump = max(0.0, (tan0 - rest / mu) * lam / math.e)
    z = rest * (1.0 - np.exp(-s / mu)) + bump * (s / lam) * np.exp(1.0 - s / lam)
    # azimuth: a steady bend, waves or coils, and a smoothed random walk
    bend = float(r.normal(0.0, 0.25)) * 1e-3
    walk = np.cumsum(r.normal(0.0, 0.02, n))
    walk = np.convolve(walk, np.ones(9) / 9.0, mode="same")
    wave = 0.0 * s
    soft = 0.4 if h["kind"] == "vellus" else 1.0
    if curl == "wavy":
        wave = (
            soft
            * float(r.uniform(0.15, 0.5))
            * np.sin(2 * math.pi * s / float(r.uniform(900.0, 3000.0)) + float(r.uniform(0, 6.3)))
        )
    elif curl == "curly":
        wave = (
            soft
            * float(r.uniform(0.6, 1.4))
            * np.sin(2 * math.pi * s / float(r.uniform(300.0, 800.0)) + float(r.uniform(0, 6.3)))
        )
    az = h["azimuth"] + bend * s + walk - walk[0] + wave - wave[0]
    return az, z


def shaft(h: dict[str, Any], curl: str) -> Shaft:
    """The hair's axis, radii and end (see :class:`Shaft`)."""
    r = np.random.default_rng(h["shape_seed"])
    el = h["elevation"]
    u0 = _unit(h["azimuth"], el)
    start = _buried(h, u0, el)
    rad = h["d"] / 2.0
    if h["lying"]:
        az, z = _lying(h, r, curl)
        dx = np.cos(az[:-1]) * STEP_UM
        dy = np.sin(az[:-1]) * STEP_UM
        scale = np.diff(np.linspace(0.0, h["length"], az.size)) / STEP_UM
        x = h["x"] + np.concatenate([[0.0], np.cumsum(dx * scale)])
        y = h["y"] + np.concatenate([[0.0], np.cumsum(dy * scale)])
        pts = np.stack([x, y, z], axis=1)
    else:
        n = max(2, math.ceil(h["length"] / STEP_UM) + 1)
        t = np.linspace(0.0, h["length"], n)
        # a stub bends a little as it rises
        bend = float(r.normal(0.0, 0.3)) * 1e-3
        az = h["azimuth"] + bend * t
        el_t = el + float(r.normal(0.0, 0.2)) * 1e-3 * t
        d = np.stack([np.cos(el_t) * np.cos(az), np.cos(el_t) * np.sin(az), np.sin(el_t)], axis=1)
        seg = np.diff(t)[:, None] * (d[:-1] + d[1:]) / 2.0
        pts = np.array([h["x"], h["y"], 0.0]) + np.concatenate(
            [np.zeros((1, 3)), np.cumsum(seg, 0)]
        )
    # the buried part in short pieces too (a long diagonal piece would have a wide box)
    nb = max(1, math.ceil(float(np.linalg.norm(pts[0] - start)) / (4.0 * STEP_UM)))
    buried = start[None, :] + np.linspace(0.0, 1.0, nb + 1)[:-1, None] * (pts[0] - start)
    p = np.concatenate([buried, pts], axis=0)
    seg_len = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg_len)]) - seg_len[:nb].sum()
    radius = np.full(p.shape[0], rad)
    m = jag = phase = None
    if h["end"] == "taper":
        total = s[-1]
        taper = min(0.45 * total, float(r.uniform(250.0, 1100.0)))
        f = np.clip((total - s) / max(taper, 1e-6), 0.0, 1.0)
        radius = rad * (0.08 + 0.92 * np.sqrt(f))
    elif h["end"] in ("cut", "dot"):
        tail = p[-1] - p[-2]
        m, jag, phase = _cut(h, tail / np.linalg.norm(tail), r)
    return Shaft(p=p, r=radius, s=s, first=nb, m=m, jag=jag, jag_phase=phase)


def decimate(sh: Shaft, step_um: float) -> Shaft:
    """The shaft with axis points about ``step_um`` apart (its buried start, emergence point
    and end kept): fewer, longer segments for drawing at a coarse scale."""
    k = max(1, int(step_um // STEP_UM))
    if k == 1 or sh.p.shape[0] <= 3:
        return sh
    n, f = sh.p.shape[0], sh.first
    keep = np.unique(np.concatenate([[0, f, n - 1], np.arange(f, n, k)]))
    keep = np.concatenate([np.arange(f), keep[keep > f]]) if f else keep
    return Shaft(sh.p[keep], sh.r[keep], sh.s[keep], f, sh.m, sh.jag, sh.jag_phase)
