"""The frame's view of the site (a follow-up turns and moves it), the hairs round the frame,
and each hair's shaft: a centreline in world micrometres (z up from the skin plane) with its
radius, its end and, for a cut, the cut plane."""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind19 import site

F64 = NDArray[np.float64]
ROOT_DEPTH_UM = 45.0  # how far below the skin plane each drawn shaft begins


class View:
    """World micrometres <-> frame pixels (pixel centres at integers), as complex numbers:
    ``pixel = centre + (world - origin) * spin / um`` with ``spin = exp(-i turn)``."""

    def __init__(self, w: int, h: int, um: float, turn: float, shift_px: tuple[float, float]):
        self.w, self.h, self.um = w, h, um
        self.centre = complex((w - 1) / 2.0, (h - 1) / 2.0)
        self.origin = complex(*shift_px) * um
        self.spin = cmath.exp(-1j * turn)

    def px(self, x: F64, y: F64) -> tuple[F64, F64]:
        z = self.centre + (np.asarray(x) + 1j * np.asarray(y) - self.origin) * self.spin / self.um
        return np.real(z), np.imag(z)

    def world(self, u: F64, v: F64) -> tuple[F64, F64]:
        z = (np.asarray(u) + 1j * np.asarray(v) - self.centre) * self.um / self.spin + self.origin
        return np.real(z), np.imag(z)

    def azimuth_deg(self, world_azimuth: float) -> float:
        """A world direction's angle in the frame (degrees, 0 along +x, 90 along +y)."""
        return round(math.degrees(world_azimuth + cmath.phase(self.spin)) % 360.0, 2)

    def holds(self, x: float, y: float) -> bool:
        return -0.5 <= x < self.w - 0.5 and -0.5 <= y < self.h - 0.5

    def gap_um(self, x: float, y: float) -> float:
        """How far a pixel position lies outside the frame, in micrometres (0 inside)."""
        gx = max(-0.5 - x, x - (self.w - 0.5), 0.0)
        gy = max(-0.5 - y, y - (self.h - 0.5), 0.0)
        return math.hypot(gx, gy) * self.um


def follow_up(
    seed: int, visit: tuple[float, int] | None, w: int, h: int
) -> tuple[float, tuple[float, float], dict[str, Any] | None]:
    """A follow-up's re-placed cone: turned 1-5 degrees either way and moved by 1-6 % of the
    frame in some direction. (turn in radians, shift in px, its record)."""
    if visit is None:
        return 0.0, (0.0, 0.0), None
    r = site.stream(seed, 5, visit[1])
    turn = float(r.uniform(1.0, 5.0)) * (1.0 if r.random() < 0.5 else -1.0)
    frac, ang = float(r.uniform(0.01, 0.06)), float(r.uniform(0.0, 2.0 * math.pi))
    shift = (frac * w * math.cos(ang), frac * h * math.sin(ang))
    rec = {
        "factor": visit[0],
        "seed": visit[1],
        "turn_deg": round(turn, 4),
        "shift_px": [round(shift[0], 4), round(shift[1], 4)],
    }
    return math.radians(turn), shift, rec


def gather(
    seed: int, look: dict[str, Any], view: View, visit: tuple[float, int] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Units and hairs of every cell the frame or a hair reaching it can touch, with a
    follow-up's losses and gains."""
    pad = look["reach_um"] + 250.0
    u = np.array([-0.5, view.w - 0.5, -0.5, view.w - 0.5])
    v = np.array([-0.5, -0.5, view.h - 0.5, view.h - 0.5])
    x, y = view.world(u, v)
    i_lo, i_hi = (
        math.floor((x.min() - pad) / site.CELL_UM),
        math.floor((x.max() + pad) / site.CELL_UM),
    )
    j_lo, j_hi = (
        math.floor((y.min() - pad) / site.CELL_UM),
        math.floor((y.max() + pad) / site.CELL_UM),
    )
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    for i in range(i_lo, i_hi + 1):
        for j in range(j_lo, j_hi + 1):
            cu, ch = site.cell(seed, look, i, j, look["density_target"], None)
            if visit is not None and visit[0] < 1.0:
                kept = site.stream(seed, 3, visit[1], i, j).random(len(ch)) < visit[0]
                ch = [hr for hr, keep in zip(ch, kept, strict=True) if keep]
            elif visit is not None and visit[0] > 1.0:
                extra = look["density_target"] * (visit[0] - 1.0)
                nu, nh = site.cell(seed, look, i, j, extra, visit[1])
                cu, ch = cu + nu, ch + nh
            units += cu
            hairs += ch
    return units, hairs


@dataclass
class Shaft:
    """A hair's centreline (world um, z up), radius per point, arc length from the emergence
    point per point (negative below the skin), the cut plane's normal (None: no cut) and
    the ragged amplitude of a frayed cut (um)."""

    hair: dict[str, Any]
    p: F64
    r: F64
    s: F64
    cut_normal: F64 | None
    fray_um: float


def _headings(hr: dict[str, Any], curl: str, s: F64, rng: np.random.Generator) -> F64:
    """Azimuth (radians) along the shaft: straight with a slow drift, wavy or curling."""
    drift = np.cumsum(rng.normal(0.0, 0.012, s.size)) * np.sqrt(np.gradient(s).clip(1.0) / 40.0)
    base: float = hr["azimuth"]
    out: F64
    if not hr["lying"] or curl == "straight":
        out = base + drift + float(rng.normal(0.0, 1.5e-4)) * s
    elif curl == "wavy":
        period = float(rng.uniform(900.0, 2500.0))
        amp = float(rng.uniform(0.2, 0.5))
        out = base + amp * np.sin(2.0 * math.pi * s / period + float(rng.uniform(0, 6.3))) + drift
    else:
        radius = float(rng.uniform(250.0, 700.0))  # a curl: the heading turns steadily
        sign = 1.0 if rng.random() < 0.5 else -1.0
        out = base + sign * s / radius + drift
    return out


def shaft(hr: dict[str, Any], look: dict[str, Any]) -> Shaft:
    """The 3-D shaft of one hair (see :class:`Shaft`)."""
    rng = np.random.default_rng(hr["shape_seed"])
    r0 = hr["d"] / 2.0
    length = hr["length"]
    el = hr["elevation"]
    step = 12.0 if length < 300 else (30.0 if length < 1500 else 45.0)
    n = max(math.ceil(length / step), 2)
    s = np.linspace(0.0, length, n + 1)
    az = _headings(hr, look["curl"], s, rng)
    if hr["lying"]:
        # rises at its elevation, bends over and settles at its resting height
        settle = float(rng.uniform(250.0, 600.0))
        rest = r0 + (2.0 if look["contact"] else hr["rest_um"])
        droop = float(rng.uniform(0.25, 0.6))
        elev = el - (el + droop) * (1.0 - np.exp(-s / settle))
    else:
        elev = el - float(rng.uniform(0.0, 0.08)) * s / max(length, 1.0)
    ds = np.diff(s)
    mid_el = 0.5 * (elev[1:] + elev[:-1])
    mid_az = 0.5 * (az[1:] + az[:-1])
    x = hr["x"] + np.concatenate([[0.0], np.cumsum(ds * np.cos(mid_el) * np.cos(mid_az))])
    y = hr["y"] + np.concatenate([[0.0], np.cumsum(ds * np.cos(mid_el) * np.sin(mid_az))])
    z = np.concatenate([[0.0], np.cumsum(ds * np.sin(mid_el))])
    if hr["lying"]:
        top = int(np.argmax(z))
        z[top:] = np.maximum(z[top:], min(rest, float(z[top])))
        z[top:] = np.maximum(z[top:], rest * np.clip((s[top:] - s[top]) / 200.0, 0.0, 1.0))
    # the buried start: straight back along the first direction
    u0 = np.array([math.cos(el) * math.cos(az[0]), math.cos(el) * math.sin(az[0]), math.sin(el)])
    back = ROOT_DEPTH_UM / max(math.sin(el), 0.2)
    p = np.vstack([np.array([hr["x"], hr["y"], 0.0]) - back * u0, np.stack([x, y, z], axis=1)])
    sl = np.concatenate([[-back], s])
    rad = np.full(sl.size, r0)
    end = hr["end"]
    if end == "taper":
        start = length * (0.55 if hr["new"] else 0.75)
        frac = np.clip((sl - start) / max(length - start, 1.0), 0.0, 1.0)
        rad = r0 * (1.0 - 0.88 * frac**1.3)
    normal: F64 | None = None
    fray = 0.0
    if end in ("cut", "dot"):
        t = p[-1] - p[-2]
        t = t / np.linalg.norm(t)
        normal = t
        if hr["cut_style"] == "oblique":
            side = np.cross(t, np.array([0.0, 0.0, 1.0]))
            side = side / max(float(np.linalg.norm(side)), 1e-9)
            tilt = math.radians(float(rng.uniform(25.0, 50.0))) * (1 if rng.random() < 0.5 else -1)
            normal = math.cos(tilt) * t + math.sin(tilt) * side
        elif hr["cut_style"] == "frayed":
            fray = r0 * float(rng.uniform(0.25, 0.5))
    return Shaft(hr, p, rad, sl, normal, fray)


def reaching(look: dict[str, Any], view: View, hairs: list[dict[str, Any]]) -> list[Shaft]:
    """The shafts of the hairs that come within the frame."""
    if not hairs:
        return []
    ex, ey = view.px(np.array([h["x"] for h in hairs]), np.array([h["y"] for h in hairs]))
    lim = (look["reach_um"] + 100.0) / view.um
    out = []
    for k, hr in enumerate(hairs):
        if not (-lim < ex[k] < view.w + lim and -lim < ey[k] < view.h + lim):
            continue
        sh = shaft(hr, look)
        u, v = view.px(sh.p[:, 0], sh.p[:, 1])
        pad = hr["d"] / view.um + 3.0
        if (
            u.max() < -pad
            or u.min() > view.w - 1 + pad
            or v.max() < -pad
            or v.min() > view.h - 1 + pad
        ):
            continue
        out.append(sh)
    return out


@dataclass
class Pieces:
    """Every shaft cut into straight pieces, in frame pixels (z in px too): ends ``a`` and
    ``b``, radii, arc lengths (um), the shaft's index, and for each shaft's last piece
    with a cut: the cut plane's normal and ragged amplitude (px); ``capped`` marks them."""

    a: F64
    b: F64
    ra: F64
    rb: F64
    sa: F64
    sb: F64
    owner: NDArray[np.int64]
    capped: NDArray[np.bool_]
    normal: F64
    fray: F64


def pieces(view: View, shafts: list[Shaft]) -> Pieces:
    """The shafts as pieces no longer than a few pixels across the frame (so that the
    pixels near each are few)."""
    cols: dict[str, list[Any]] = {k: [] for k in Pieces.__dataclass_fields__}
    for k, sh in enumerate(shafts):
        u, v = view.px(sh.p[:, 0], sh.p[:, 1])
        q = np.stack([u, v, sh.p[:, 2] / view.um], axis=1)
        rp = sh.r / view.um
        # split each piece so that its projection is at most max(6, 2 r) px long
        seg_len = np.hypot(np.diff(u), np.diff(v))
        parts = np.maximum(np.ceil(seg_len / np.maximum(6.0, 2.0 * rp[:-1])), 1).astype(int)
        f = np.concatenate([np.arange(m) / m for m in parts] + [np.array([0.0])])
        i = np.concatenate(
            [np.full(m, j) for j, m in enumerate(parts)] + [np.array([len(parts) - 1])]
        )
        f[-1] = 1.0
        qq = q[i] + f[:, None] * (q[np.minimum(i + 1, len(q) - 1)] - q[i])
        rr = rp[i] + f * (rp[np.minimum(i + 1, len(rp) - 1)] - rp[i])
        ss = sh.s[i] + f * (sh.s[np.minimum(i + 1, len(sh.s) - 1)] - sh.s[i])
        m = len(qq) - 1
        cols["a"].append(qq[:-1])
        cols["b"].append(qq[1:])
        cols["ra"].append(rr[:-1])
        cols["rb"].append(rr[1:])
        cols["sa"].append(ss[:-1])
        cols["sb"].append(ss[1:])
        cols["owner"].append(np.full(m, k, dtype=np.int64))
        cap = np.zeros(m, dtype=bool)
        nrm = np.zeros((m, 3))
        fray = np.zeros(m)
        if sh.cut_normal is not None:
            cap[-1] = True
            nu, nv = (
                np.real(complex(*sh.cut_normal[:2]) * view.spin),
                np.imag(complex(*sh.cut_normal[:2]) * view.spin),
            )
            nrm[-1] = [nu, nv, sh.cut_normal[2]]
            fray[-1] = sh.fray_um / view.um
        cols["capped"].append(cap)
        cols["normal"].append(nrm)
        cols["fray"].append(fray)
    if not shafts:
        e3, e1 = np.zeros((0, 3)), np.zeros(0)
        return Pieces(e3, e3, e1, e1, e1, e1, np.zeros(0, np.int64), np.zeros(0, bool), e3, e1)
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    return Pieces(**joined)
