"""Hair shafts of the blind-5 generator as 3-D centrelines turned into capsule chains: each
hair starts under the skin (its sub-surface part shows through the epidermis), leaves the skin
at its emergence point and follows an arc-length parametrised curve whose elevation and
azimuth vary along it (trimmed hairs stand, long hairs lie down and wave). Each chain segment
carries a radius (tapered tips, club-shaped exclamation marks) and the fibre's optical
constants (grey mixes, dyed shafts with natural roots, hypopigmented vellus)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.blind5.choices import Design
from sim.blind5.fields import F64, I64, Pose
from sim.blind5.follicles import BLACK_DOT, BROKEN, CUT, EXCLAIM, LONG, REGROW, VELLUS, Slots

NATURAL = (LONG, REGROW, VELLUS)
BLUNT = (CUT, BROKEN, EXCLAIM)


@dataclass(frozen=True)
class Chains:
    """Capsule segments in pixel units (z up from the skin plane, in pixels)."""

    p0: F64  # (n, 3)
    p1: F64  # (n, 3)
    r0: F64  # radius at p0 (the radius varies linearly to r1)
    r1: F64
    hair: I64  # index into the visit's hair list
    end: I64  # what closes the segment at p1: 0 the next segment, 1 a round tip, 2 a cut face
    albedo: F64  # (n, 3)
    sigma: F64  # (n, 3) extinction per pixel of path


@dataclass(frozen=True)
class Tip:
    """A free shaft end (pixel coordinates) of hair ``hair``."""

    x: float
    y: float
    cut: bool
    diameter_um: float
    hair: int


def _step(d: Design, s: Slots, j: int, um: float) -> float:
    """Segment length (um): short enough to follow the curve, and about twice the fibre's
    width in pixels so that segment bounding boxes stay tight."""
    bend = abs(s.drift[j])
    if s.kind[j] == LONG:
        bend += d.curl * 2.0 * math.pi / d.curl_um + (s.elevation[j] + 0.3) / s.bend[j]
    else:
        bend += s.droop[j] / max(s.length[j], 1.0)
    by_width = float(np.clip(2.0 * (s.diameter[j] / um + 2.0), 4.0, 40.0)) * um
    return max(min(by_width, 0.15 / max(float(bend), 1e-9), 300.0), 5.0)


def _centreline(d: Design, s: Slots, j: int, um: float) -> tuple[F64, F64]:
    """World points (m, 3) of slot j's hair from its deepest point to its tip, and the arc
    length of each point from the emergence point (negative under the skin)."""
    kind, length, th0, az0 = int(s.kind[j]), float(s.length[j]), s.elevation[j], s.azimuth[j]
    r = s.diameter[j] / 2.0
    if kind == BLACK_DOT:
        length = 0.6 * r / math.sin(th0)
    ds = _step(d, s, j, um)
    n = max(1, math.ceil(length / ds))
    arc = np.linspace(0.0, length, n + 1)
    if kind in NATURAL:
        taper = min(0.4 * length, 800.0)
        arc = np.unique(np.append(arc, length - taper))
    mid = 0.5 * (arc[1:] + arc[:-1])
    if kind == LONG:
        e = np.exp(-mid / s.bend[j])
        theta = th0 * e - 0.3 * (1.0 - e)
        wave = np.sin(2 * math.pi * mid / d.curl_um + s.phase[j]) - math.sin(s.phase[j])
        phi = az0 + s.drift[j] * mid + d.curl * wave
    else:
        theta = th0 - s.droop[j] * mid / max(length, 1.0)
        phi = az0 + s.drift[j] * mid
    step = np.diff(arc)
    dirs = np.stack([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), np.sin(theta)], 1)
    pts = np.vstack([np.zeros((1, 3)), np.cumsum(dirs * step[:, None], axis=0)])
    rest = (r + (s.layer[j] if kind == LONG else 0.0)) * (1.0 - np.exp(-arc / 150.0))
    pts[:, 2] = np.maximum(pts[:, 2], rest)
    u0 = np.array([math.cos(th0) * math.cos(az0), math.cos(th0) * math.sin(az0), math.sin(th0)])
    pts = np.vstack([-s.sub[j] * u0[None, :], pts])
    pts[:, 0] += s.x[j]
    pts[:, 1] += s.y[j]
    return pts, np.concatenate([[-s.sub[j]], arc])


def _radius(kind: int, arc: F64, length: float) -> F64:
    """Relative radius along the shaft at arc lengths ``arc``."""
    if kind in NATURAL:
        taper = min(0.4 * length, 800.0)
        return np.asarray(1.0 - 0.8 * np.clip((arc - (length - taper)) / taper, 0.0, 1.0))
    if kind == EXCLAIM:
        return np.asarray(1.0 + 1.2 * (np.clip(arc, 0.0, None) / length) ** 2)
    return np.ones_like(arc)


def _optics(d: Design, s: Slots, j: int, mid: F64, length: float) -> tuple[F64, F64]:
    """Scattering albedo and extinction per um (each (m, 3)) along the shaft."""
    alb = np.tile(np.asarray(d.albedo), (mid.size, 1))
    sig = np.tile(np.asarray(d.sigma), (mid.size, 1))
    if d.hair_colour == "grey" and s.alt[j]:
        alb[:], sig[:] = d.alt_albedo, d.alt_sigma
    if d.hair_colour == "dyed":
        root = mid < d.root_um
        alb[root], sig[root] = d.alt_albedo, d.alt_sigma
    pig = np.full(mid.size, s.pigment[j])
    if s.diameter[j] < 30.0:
        pig *= 0.4
    if s.kind[j] == EXCLAIM:
        pig *= 0.5 + 0.9 * np.clip(mid / max(length, 1.0), 0.0, 1.0)
    return alb ** pig[:, None], sig * (0.6 + 0.4 * pig[:, None])


def build(d: Design, s: Slots, hairs: I64, pose: Pose) -> tuple[Chains, list[Tip]]:
    """Capsule chains and free tips of the slots ``hairs`` that can reach into the frame."""
    um = pose.um
    ex, ey = pose.to_px(s.x[hairs], s.y[hairs])
    reach = (s.length[hairs] + s.sub[hairs] + 2.0 * s.diameter[hairs]) / um + 2.0
    near = (ex > -reach) & (ex < pose.width + reach) & (ey > -reach) & (ey < pose.height + reach)
    parts: list[tuple[F64, F64, F64, F64, I64, I64, F64, F64]] = []
    tips: list[Tip] = []
    for i in np.flatnonzero(near):
        j = int(hairs[i])
        kind, length = int(s.kind[j]), float(s.length[j])
        pts, arc = _centreline(d, s, j, um)
        mid = 0.5 * (arc[1:] + arc[:-1])
        rad = s.diameter[j] / 2.0 * _radius(kind, arc, length)
        alb, sig = _optics(d, s, j, mid, length)
        x, y = pose.to_px(pts[:, 0], pts[:, 1])
        p = np.stack([x, y, pts[:, 2] / um], axis=1)
        end = np.zeros(mid.size, dtype=np.int64)
        end[-1] = 2 if kind in BLUNT else 1
        hair = np.full(mid.size, i, dtype=np.int64)
        parts.append((p[:-1], p[1:], rad[:-1] / um, rad[1:] / um, hair, end, alb, sig * um))
        if kind != BLACK_DOT:
            tips.append(Tip(float(x[-1]), float(y[-1]), kind == CUT, float(2.0 * rad[-1]), int(i)))
    if not parts:
        z3 = np.zeros((0, 3))
        z1 = np.zeros(0)
        none = np.zeros(0, np.int64)
        empty = Chains(z3, z3, z1, z1, none, none, z3, z3)
        return empty, tips
    cols = [np.concatenate([part[k] for part in parts]) for k in range(8)]
    p0, p1, r = cols[0], cols[1], np.maximum(cols[2], cols[3])
    lo = np.minimum(p0[:, :2], p1[:, :2]) - r[:, None] - 2.0
    hi = np.maximum(p0[:, :2], p1[:, :2]) + r[:, None] + 2.0
    keep = (hi[:, 0] >= 0) & (lo[:, 0] <= pose.width) & (hi[:, 1] >= 0) & (lo[:, 1] <= pose.height)
    hair_ids = np.asarray(cols[4], dtype=np.int64)[keep]
    ends = np.asarray(cols[5], dtype=np.int64)[keep]
    ch = Chains(
        p0[keep],
        p1[keep],
        cols[2][keep],
        cols[3][keep],
        hair_ids,
        ends,
        cols[6][keep],
        cols[7][keep],
    )
    return ch, tips
