"""The frame's view of the world (a visit turns and shifts it), the hairs and units round the
frame, and the shafts that reach it, as segments in frame pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind18 import site
from sim.blind18.heightfield import Segments
from sim.blind18.shafts import Shaft, decimate, shaft

F64 = NDArray[np.float64]


class Frame:
    """World micrometres to frame pixels (pixel centres at integers) and back, as one 2x3
    affine matrix and its inverse: the frame's centre sits at world ``shift_px * um``, turned
    by ``turn`` (radians) against the world."""

    def __init__(self, w: int, h: int, um: float, turn: float, shift_px: tuple[float, float]):
        self.w, self.h, self.um = w, h, um
        rot = np.array([[math.cos(turn), math.sin(turn)], [-math.sin(turn), math.cos(turn)]])
        centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
        origin = np.array(shift_px, dtype=np.float64) * um
        self.fwd = np.hstack([rot / um, (centre - rot @ origin / um)[:, None]])
        inv = np.linalg.inv(np.vstack([self.fwd, [0.0, 0.0, 1.0]]))
        self.back = inv[:2]

    def to_px(self, x: F64, y: F64) -> tuple[F64, F64]:
        m = self.fwd
        return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]

    def vec_px(self, vx: F64, vy: F64) -> tuple[F64, F64]:
        """A world direction turned into the frame (no scaling)."""
        m = self.fwd * self.um
        return m[0, 0] * vx + m[0, 1] * vy, m[1, 0] * vx + m[1, 1] * vy

    def affine(self) -> tuple[float, float, float, float, float, float]:
        """(a, b, c, d, e, f) with world = (a x + b y + c, d x + e y + f) for pixel (x, y)."""
        a, b, c, d, e, f = (float(v) for v in self.back.ravel())
        return a, b, c, d, e, f

    def inside(self, x: float, y: float) -> bool:
        return -0.5 <= x < self.w - 0.5 and -0.5 <= y < self.h - 0.5

    def outside_um(self, x: float, y: float) -> float:
        """How far (um) a point lies outside the frame's edge (0 inside)."""
        gap = np.maximum(
            np.abs([x - (self.w - 1) / 2.0, y - (self.h - 1) / 2.0])
            - [
                self.w / 2.0,
                self.h / 2.0,
            ],
            0.0,
        )
        return float(np.hypot(*gap)) * self.um


def visit_pose(
    seed: int, visit: tuple[float, int] | None, w: int, h: int
) -> tuple[float, tuple[float, float], dict[str, Any] | None]:
    """A follow-up's re-positioned cone: the frame turned 1-5 degrees either way and moved
    1-6 % of its size in some direction; (turn in radians, shift in px, the record)."""
    if visit is None:
        return 0.0, (0.0, 0.0), None
    r = site.rng_for(seed, 6, visit[1])
    turn_deg = float(r.choice([-1.0, 1.0])) * float(r.uniform(1.0, 5.0))
    size, angle = float(r.uniform(0.01, 0.06)), float(r.uniform(-math.pi, math.pi))
    shift = (size * w * math.cos(angle), size * h * math.sin(angle))
    record = {
        "factor": visit[0],
        "seed": visit[1],
        "turn_deg": round(turn_deg, 4),
        "shift_px": [round(v, 4) for v in shift],
    }
    return math.radians(turn_deg), shift, record


def world(
    seed: int, look: dict[str, Any], fr: Frame, visit: tuple[float, int] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, int]]]:
    """Units and hairs of every cell within the site's reach of the frame, a visit's losses
    and gains applied, and the cells."""
    margin = look["reach_um"] + 300.0
    a, b, c, d, e, f = fr.affine()
    xs = [a * x + b * y + c for x in (-0.5, fr.w - 0.5) for y in (-0.5, fr.h - 0.5)]
    ys = [d * x + e * y + f for x in (-0.5, fr.w - 0.5) for y in (-0.5, fr.h - 0.5)]
    i0, i1 = int((min(xs) - margin) // site.CELL_UM), int((max(xs) + margin) // site.CELL_UM)
    j0, j1 = int((min(ys) - margin) // site.CELL_UM), int((max(ys) + margin) // site.CELL_UM)
    cells = [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    dens = look["density_target"]
    for i, j in cells:
        us, hs = site.cell(seed, look, i, j, dens, None)
        if visit is not None and visit[0] < 1.0:
            keep = site.rng_for(seed, 4, visit[1], i, j).random(len(hs)) < visit[0]
            hs = [hr for hr, k in zip(hs, keep, strict=True) if k]
        elif visit is not None and visit[0] > 1.0:
            nu, nh = site.cell(seed, look, i, j, dens * (visit[0] - 1.0), visit[1])
            us, hs = us + nu, hs + nh
        units += us
        hairs += hs
    return units, hairs, cells


@dataclass
class Drawn:
    """A hair that reaches the frame: its record, its shaft (world um) and its index."""

    hair: dict[str, Any]
    shaft: Shaft


def reaching(look: dict[str, Any], fr: Frame, hairs: list[dict[str, Any]]) -> list[Drawn]:
    """The hairs whose shafts come within the frame (their whole shafts, world um)."""
    out = []
    reach = (look["reach_um"] + 150.0) / fr.um
    ex, ey = fr.to_px(np.array([h["x"] for h in hairs]), np.array([h["y"] for h in hairs]))
    for k, h in enumerate(hairs):
        if not (-reach < ex[k] < fr.w + reach and -reach < ey[k] < fr.h + reach):
            continue
        sh = shaft(h, look["curl"])
        px, py = fr.to_px(sh.p[:, 0], sh.p[:, 1])
        pad = h["d"] / fr.um + 2.0
        if px.max() < -pad or px.min() > fr.w + pad or py.max() < -pad or py.min() > fr.h + pad:
            continue
        out.append(Drawn(h, sh))
    return out


def segments(fr: Frame, drawn: list[Drawn]) -> Segments:
    """Every drawn shaft's axis segments in frame pixels, with its cut (heights in px)."""
    parts: dict[str, list[Any]] = {k: [] for k in ("p", "r", "s", "hair", "last")}
    n = len(drawn)
    c = np.zeros((n, 3))
    m = np.zeros((n, 3))
    jag = np.zeros((n, 5))
    phase = np.zeros((n, 5))
    for k, dr in enumerate(drawn):
        step = max(1.6 * dr.hair["d"], 3.0 * fr.um)
        sh = decimate(dr.shaft, step)
        px, py = fr.to_px(sh.p[:, 0], sh.p[:, 1])
        p = np.stack([px, py, sh.p[:, 2] / fr.um], axis=1)
        parts["p"].append(p)
        parts["r"].append(sh.r / fr.um)
        parts["s"].append(sh.s)
        nseg = p.shape[0] - 1
        parts["hair"].append(np.full(nseg, k))
        parts["last"].append(np.arange(nseg) == nseg - 1)
        if sh.m is not None:
            c[k] = p[-1]
            mx, my = fr.vec_px(np.array(sh.m[0]), np.array(sh.m[1]))
            m[k] = [float(mx), float(my), sh.m[2]]
            if sh.jag is not None and sh.jag_phase is not None:
                jag[k, : sh.jag.size] = sh.jag / fr.um
                phase[k, : sh.jag.size] = sh.jag_phase
    if not drawn:
        z3, z1 = np.zeros((0, 3)), np.zeros(0)
        return Segments(
            z3, z3, z1, z1, z1, z1, z1.astype(np.int64), z1.astype(bool), c, m, jag, phase
        )
    a = np.concatenate([p[:-1] for p in parts["p"]])
    b = np.concatenate([p[1:] for p in parts["p"]])
    ra = np.concatenate([r[:-1] for r in parts["r"]])
    rb = np.concatenate([r[1:] for r in parts["r"]])
    sa = np.concatenate([s[:-1] for s in parts["s"]])
    sb = np.concatenate([s[1:] for s in parts["s"]])
    hair = np.concatenate(parts["hair"]).astype(np.int64)
    last = np.concatenate(parts["last"])
    return Segments(a, b, ra, rb, sa, sb, hair, last, c, m, jag, phase)
