"""Follicular units of a blind-5 site and the hair slots they hold, in world micrometres
(origin at the centre of the baseline frame): where each opening is, which slots carry a hair
at the baseline, and which gain or lose one at a follow-up visit. Every per-slot attribute is
drawn up front in a fixed order, so a follow-up only switches slots on or off."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.blind5.choices import Design, stream
from sim.blind5.fields import F64, I64, B

CUT, LONG, REGROW, VELLUS, BROKEN, EXCLAIM, BLACK_DOT = range(7)
SLOTS_PER_UNIT = 4


@dataclass(frozen=True)
class Slots:
    """One row per hair slot (4 per follicular unit)."""

    x: F64
    y: F64
    fu: I64
    cls: I64  # 0 baseline hair, 1 empty opening, 2 spare slot of a hair unit, 3 latent follicle
    grow: F64  # order in which a regrowth fills slots
    drop: F64  # order in which a thinning empties slots
    kind: I64
    diameter: F64  # at the emergence point, um
    length: F64  # above the skin, um
    azimuth: F64
    elevation: F64
    sub: F64  # shaft length under the skin, um
    layer: F64  # resting height of a lying hair above the skin, um
    bend: F64  # length over which a long hair lies down, um
    droop: F64
    drift: F64  # azimuth change per um
    phase: F64
    pigment: F64
    alt: B  # grey: a white hair


@dataclass(frozen=True)
class Follicles:
    """The units of a site and their slots."""

    slots: Slots
    fu_x: F64
    fu_y: F64
    fu_cls: I64  # 0 hair-bearing at baseline, 1 empty opening, 2 latent (no opening yet)
    fu_yellow: B
    half_w: float
    half_h: float


def margin_um(d: Design) -> float:
    """How far outside the frame a hair may emerge and still reach into it."""
    return 7500.0 if d.hair_length in ("long", "mixed") else 3500.0


def _kinds(d: Design, u_kind: F64, u_style: F64) -> tuple[I64, I64]:
    """Each slot's kind, and its class in ``kind_p`` order (0 black dot .. 5 miniaturised,
    6 terminal)."""
    k = np.searchsorted(np.cumsum(d.kind_p), u_kind, side="right")
    style = {"trimmed": np.full(u_style.shape, CUT), "long": np.full(u_style.shape, LONG)}.get(
        d.hair_length, np.where(u_style < 0.5, CUT, LONG)
    )
    vellus = np.where((d.hair_length == "trimmed") & (u_style < 0.6), CUT, VELLUS)
    table = [np.full(k.shape, BLACK_DOT), np.full(k.shape, EXCLAIM), np.full(k.shape, BROKEN)]
    table += [np.full(k.shape, REGROW), vellus, style, style]
    return np.asarray(np.choose(k, table), dtype=np.int64), np.asarray(k, dtype=np.int64)


def layout(d: Design, seed: int, half_w: float, half_h: float) -> Follicles:
    """Place the units on a jittered grid over the frame plus a margin, and draw every slot."""
    rng = stream(seed, 2)
    sizes_p = np.asarray(d.fu_size_p)
    mean_size = float(np.dot(sizes_p, np.arange(1, 5)))
    rho_h = d.density * 1e-8 / mean_size
    rho_e = d.empty_cm2 * 1e-8
    rho_all = rho_h + rho_e + max(rho_h, 40e-8) * 1.3
    a = 1.0 / math.sqrt(rho_all)
    slack = 0.05 * max(half_w, half_h)
    rx, ry = half_w + margin_um(d) + slack, half_h + margin_um(d) + slack
    nx, ny = math.ceil(2 * rx / a), math.ceil(2 * ry / a)
    gy, gx = np.mgrid[0:ny, 0:nx]
    fx = -rx + (gx.ravel() + 0.5 + rng.uniform(-0.42, 0.42, nx * ny)) * a
    fy = -ry + (gy.ravel() + 0.5 + rng.uniform(-0.42, 0.42, nx * ny)) * a
    n_fu = fx.size
    u = rng.random(n_fu)
    fu_cls = np.where(u < rho_h / rho_all, 0, np.where(u < (rho_h + rho_e) / rho_all, 1, 2))
    size = rng.choice(4, n_fu, p=sizes_p / sizes_p.sum()) + 1
    fu_dev = rng.normal(0.0, 0.2, n_fu)
    fu_key = rng.random(n_fu)
    fu_yellow = (fu_cls == 1) & (rng.random(n_fu) < d.yellow_p)

    n = n_fu * SLOTS_PER_UNIT
    fu = np.repeat(np.arange(n_fu), SLOTS_PER_UNIT)
    k = np.tile(np.arange(SLOTS_PER_UNIT), n_fu)
    rad = np.where(k == 0, rng.uniform(0.0, 15.0, n), rng.uniform(25.0, 70.0, n))
    ang = rng.uniform(0.0, 2.0 * math.pi, n)
    x, y = fx[fu] + rad * np.cos(ang), fy[fu] + rad * np.sin(ang)
    cls = np.select(
        [fu_cls[fu] == 1, fu_cls[fu] == 2, k < size[fu]], [np.full(n, 1), np.full(n, 3), 0], 2
    )
    u_grow = rng.random(n)
    spread = (k + fu_key[fu]) / SLOTS_PER_UNIT
    grow = np.select([cls == 1, cls == 2, cls == 3], [spread, 1.0 + u_grow, 1.0 + spread], 9.0)

    kind, klass = _kinds(d, rng.random(n), rng.random(n))
    terminal = np.clip(rng.normal(d.diameter_um, d.diameter_sd, n), 35.0, 120.0)
    diameter = np.select(
        [klass == 4, klass == 5, klass == 3],
        [rng.uniform(10.0, 29.5, n), rng.uniform(20.0, 45.0, n), terminal * 0.75],
        terminal,
    )
    lengths = [
        np.clip(d.trim_um * rng.uniform(0.6, 1.3, n), 300.0, 3000.0),
        np.exp(rng.uniform(math.log(2500.0), math.log(7000.0), n)),
        rng.uniform(200.0, 1200.0, n),
        rng.uniform(300.0, 1500.0, n),
        rng.uniform(150.0, 1200.0, n),
        rng.uniform(800.0, 2500.0, n),
        np.zeros(n),
    ]
    elev_deg = [(25, 65), (15, 45), (35, 75), (15, 45), (25, 60), (30, 70), (65, 85)]
    elevs = [np.radians(rng.uniform(lo, hi, n)) for lo, hi in elev_deg]
    flow = d.flow + d.flow_grad * (x + 0.5 * y) / 1000.0
    if d.parted:
        normal = d.part_angle + math.pi / 2.0
        side = x * math.cos(normal) + y * math.sin(normal) > d.part_offset_um
        away = np.where(side, normal + d.part_lean, normal + math.pi - d.part_lean)
        flow = away + d.flow_grad * (x + 0.5 * y) / 1000.0
    slots = Slots(
        x=x,
        y=y,
        fu=fu,
        cls=np.asarray(cls, dtype=np.int64),
        grow=np.asarray(grow, dtype=np.float64),
        drop=rng.random(n),
        kind=kind,
        diameter=np.asarray(diameter, dtype=np.float64),
        length=np.asarray(np.choose(kind, lengths), dtype=np.float64),
        azimuth=flow + fu_dev[fu] + rng.normal(0.0, 0.1, n),
        elevation=np.asarray(np.choose(kind, elevs), dtype=np.float64),
        sub=rng.uniform(200.0, 450.0, n),
        layer=rng.uniform(0.0, 120.0, n),
        bend=rng.uniform(250.0, 700.0, n),
        droop=rng.uniform(0.0, 0.35, n),
        drift=rng.normal(0.0, 0.12e-3, n),
        phase=rng.uniform(0.0, 2.0 * math.pi, n),
        pigment=rng.uniform(0.8, 1.25, n),
        alt=rng.random(n) < d.alt_share,
    )
    return Follicles(slots, fx, fy, np.asarray(fu_cls, np.int64), fu_yellow, half_w, half_h)


def visit(f: Follicles, factor: float | None, hairless: bool) -> tuple[B, B]:
    """Which slots carry a hair, and which units show an opening, at this visit. A follow-up
    scales the baseline count by ``factor`` separately inside and outside the baseline frame:
    new hairs fill empty openings first, then spare slots and new follicles; a thinning
    removes hairs in a fixed random order."""
    s = f.slots
    present = (s.cls == 0) & (not hairless)
    if factor is not None and not hairless:
        inside = (np.abs(s.x) < f.half_w) & (np.abs(s.y) < f.half_h)
        for stratum in (inside, ~inside):
            base = np.flatnonzero(present & stratum)
            if factor >= 1.0:
                cand = np.flatnonzero(~present & stratum)
                n_add = min(round((factor - 1.0) * base.size), cand.size)
                present[cand[np.argsort(s.grow[cand], kind="stable")[:n_add]]] = True
            else:
                n_rm = round((1.0 - factor) * base.size)
                present[base[np.argsort(s.drop[base], kind="stable")[:n_rm]]] = False
    opening = f.fu_cls <= 1
    opening[np.unique(s.fu[present])] = True
    return present, opening
