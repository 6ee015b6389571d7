"""Hair cards: each shaft is a strip of quads laid along its axis, a little wider than the
fibre, and every pixel centre inside a quad is mapped back to the strip's (u, v) by solving
the bilinear patch's inverse (a quadratic); (u, v) become the arc length along the shaft
and the offset across it, which look up the strand textures (:mod:`sim.blind22.texture`)
with a footprint of the pixel's own extent. Cover, shading, sheen, streaks and the cut ends
all come from that lookup: no edge of a quad is ever seen. Round things (black dots, and the
skin's marks) are sprites: square cards whose texture is read at the radius.

Fragments - (owner, pixel, cover, colour) - are composited front to back per pixel in one
vectorised pass (a segmented running sum of log-transmittance)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind22.clothoid import Axis, Shaft
from sim.blind22.frame import Frame
from sim.blind22.texture import Strands

MARGIN_PX = 1.5  # a card's half-width beyond the fibre's radius
SAGITTA_PX = 0.08  # how far a quad's chord may stray from the curved axis
CHUNK = 2_500_000  # candidate pixels per pass


@dataclass
class Quads:
    """Quads of the strips: corners ``a`` (u=0, v=0), ``b`` (u=1, v=0), ``c`` (u=1, v=1),
    ``d`` (u=0, v=1) as (n, 2) px; the arc lengths at u = 0 and 1 (um); the card's owner."""

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    d: NDArray[np.float64]
    s0: NDArray[np.float64]
    s1: NDArray[np.float64]
    card: NDArray[np.int64]


@dataclass
class Frags:
    """Fragments: the drawn thing's rank (depth order), flat pixel, cover in [0, 1] and
    linear RGB."""

    rank: NDArray[np.int64]
    pixel: NDArray[np.int64]
    cover: NDArray[np.float64]
    rgb: NDArray[np.float64]

    @staticmethod
    def join(parts: list[Frags]) -> Frags:
        if not parts:
            z = np.zeros(0, np.int64)
            return Frags(z, z.copy(), np.zeros(0), np.zeros((0, 3)))
        return Frags(
            np.concatenate([p.rank for p in parts]),
            np.concatenate([p.pixel for p in parts]),
            np.concatenate([p.cover for p in parts]),
            np.concatenate([p.rgb for p in parts]),
        )


def radius_at(
    s: NDArray[np.float64],
    radius: NDArray[np.float64],
    length: NDArray[np.float64],
    taper_from: NDArray[np.float64],
    fray_from: NDArray[np.float64],
) -> NDArray[np.float64]:
    """A shaft's radius at arc length ``s`` (um), arrays of per-fragment builds: full up to
    ``taper_from``, then narrowing to a tenth at ``length``; 0.3 of it past ``fray_from``."""
    span = np.maximum(length - taper_from, 1e-9)
    frac = np.where(taper_from < length, np.clip((s - taper_from) / span, 0.0, 1.0), 0.0)
    r = radius * (1.0 - 0.9 * frac)
    out: NDArray[np.float64] = np.where((fray_from < length) & (s > fray_from), 0.3 * r, r)
    return out


def strands_of(sh: Shaft) -> list[Shaft]:
    """A frayed end's two side strands (the axis goes on as the middle one): thin straight
    shafts leaving the split point a little to each side, splayed 6-14 degrees."""
    if sh.fray_from >= sh.length:
        return []
    g = np.random.default_rng(int(sh.hair["shape_key"]) ^ 0x5EED)
    p, head = sh.axis.at(np.array([sh.fray_from]))
    out = []
    for side in (-1.0, 1.0):
        spread = side * math.radians(float(g.uniform(6, 14)))
        normal = complex(math.cos(head[0] + math.pi / 2), math.sin(head[0] + math.pi / 2))
        root = complex(p[0]) + side * 0.55 * sh.radius * normal
        run = (sh.length - sh.fray_from) * float(g.uniform(0.75, 1.0))
        axis = Axis(root, float(head[0]) + spread, np.array([0.0, run]), np.zeros(2))
        out.append(Shaft(sh.hair, axis, run, 0.3 * sh.radius, run, run, 0.0))
    return out


def _samples(sh: Shaft, um: float) -> NDArray[np.float64]:
    """Arc lengths of a strip's quad edges: the root, a split and the axis end fall on edges."""
    bend = float(np.abs(sh.axis.kappa).max()) if sh.axis.kappa.size else 0.0
    width = 2.0 * (sh.radius / um + MARGIN_PX) * um
    step = min(width, 32.0 * um)
    if bend > 0:
        step = min(step, math.sqrt(8.0 * SAGITTA_PX * um / bend))
    step = max(step, 0.75 * um)
    marks = sorted({0.0, sh.length, min(max(sh.fray_from, 0.0), sh.length)})
    parts = [np.array([-MARGIN_PX * um])]
    for lo, hi in itertools.pairwise(marks):
        parts.append(np.linspace(lo, hi, max(1, math.ceil((hi - lo) / step)) + 1)[:-1])
    parts.append(np.array([sh.length, sh.length + sh.reach + MARGIN_PX * um]))
    return np.concatenate(parts)


def strip(frame: Frame, sh: Shaft, card: int) -> Quads:
    """One shaft's card as quads in frame px."""
    s = _samples(sh, frame.um)
    point, head = sh.axis.at(s)
    x, y = frame.px(point.real, point.imag)
    turn = frame.heading_px(0.0)
    nx, ny = -np.sin(head + turn), np.cos(head + turn)  # the left normal, in the frame
    half = radius_at(
        s,
        np.full(s.size, sh.radius),
        np.full(s.size, sh.length),
        np.full(s.size, sh.taper_from),
        np.full(s.size, sh.fray_from),
    )
    half = np.maximum(half, sh.radius * (sh.slant != 0)) / frame.um + MARGIN_PX
    left = np.stack([x + half * nx, y + half * ny], axis=1)
    right = np.stack([x - half * nx, y - half * ny], axis=1)
    n = s.size - 1
    return Quads(left[:-1], left[1:], right[1:], right[:-1], s[:-1], s[1:], np.full(n, card))


def unbilinear(
    quads: Quads, k: NDArray[np.int64], px: NDArray[np.float64], py: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(u, v) of points (px, py) in quads ``k``'s bilinear patches ``a + u e + v f + u v g``
    (e = b - a, f = d - a, g = a - b + c - d): v solves ``k2 v^2 + k1 v + k0 = 0`` with
    k2 = g x f, k1 = e x f + h x g, k0 = h x e (h = p - a, x the 2-D cross product), and u
    follows from v. NaN where no real root exists."""
    a, b, c, d = quads.a, quads.b, quads.c, quads.d
    e, f, g = b - a, d - a, a - b + c - d
    k2_q = g[:, 0] * f[:, 1] - g[:, 1] * f[:, 0]
    ef_q = e[:, 0] * f[:, 1] - e[:, 1] * f[:, 0]
    ex, ey, fx, fy, gx, gy = e[k, 0], e[k, 1], f[k, 0], f[k, 1], g[k, 0], g[k, 1]
    hx, hy = px - a[k, 0], py - a[k, 1]
    k2 = k2_q[k]
    k1 = ef_q[k] + hx * gy - hy * gx
    k0 = hx * ey - hy * ex
    flat = np.abs(k2) < 1e-9 * np.maximum(np.abs(k1), 1e-12)
    disc = k1 * k1 - 4.0 * k0 * k2
    root = np.sqrt(np.where(disc >= 0, disc, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):

        def u_of(v: NDArray[np.float64]) -> NDArray[np.float64]:
            den_x, den_y = ex + gx * v, ey + gy * v
            use_x = np.abs(den_x) >= np.abs(den_y)
            out: NDArray[np.float64] = np.where(use_x, (hx - fx * v) / den_x, (hy - fy * v) / den_y)
            return out

        v1 = np.where(flat, -k0 / k1, (-k1 - root) / (2.0 * k2))
        v2 = np.where(flat, v1, (-k1 + root) / (2.0 * k2))
        u1, u2 = u_of(v1), u_of(v2)
        tol = 1e-9
        first = (v1 >= -tol) & (v1 <= 1 + tol) & (u1 >= -tol) & (u1 <= 1 + tol)
        u, v = np.where(first, u1, u2), np.where(first, v1, v2)
    return u, v


def spans(
    quads: Quads, w: int, h: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The pixel rows each quad crosses and, per row, the run of pixel centres between its
    edges (a convex quad meets a row in one run): quad, row, first column, count."""
    corners = (quads.a, quads.b, quads.c, quads.d)
    ys = np.stack([p[:, 1] for p in corners])
    y0 = np.clip(np.ceil(ys.min(0)), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(ys.max(0)), -1, h - 1).astype(np.int64)
    ny = np.maximum(y1 - y0 + 1, 0)
    q = np.repeat(np.arange(ny.size), ny)
    row = y0[q] + np.arange(int(ny.sum())) - np.repeat(np.cumsum(ny) - ny, ny)
    lo = np.full(q.size, np.inf)
    hi = np.full(q.size, -np.inf)
    for p0, p1 in zip(corners, corners[1:] + corners[:1], strict=True):
        ay, by, ax, bx = p0[q, 1], p1[q, 1], p0[q, 0], p1[q, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (row - ay) / (by - ay)
        meets = (t >= 0) & (t <= 1) & (by != ay)
        x = np.where(meets, ax + t * (bx - ax), np.nan)
        lo = np.where(meets, np.minimum(lo, x), lo)
        hi = np.where(meets, np.maximum(hi, x), hi)
    first = np.clip(np.ceil(lo - 1e-7), 0, w)
    last = np.clip(np.floor(hi + 1e-7), -1, w - 1)
    seen = np.isfinite(lo)
    first = np.where(seen, first, 0).astype(np.int64)
    count = np.where(seen, np.maximum(last - first + 1, 0), 0).astype(np.int64)
    return q, row.astype(np.int64), first, count


@dataclass
class Looks:
    """What every card needs to be painted: per card its shaft's build (radius, length,
    taper start, fray start, cut slant), texture variant, depth rank, shaft and root
    colour, opacity, and where the dyed part starts (um from the root; 0: none)."""

    radius: NDArray[np.float64]
    length: NDArray[np.float64]
    taper_from: NDArray[np.float64]
    fray_from: NDArray[np.float64]
    slant: NDArray[np.float64]
    variant: NDArray[np.int64]
    rank: NDArray[np.int64]
    shaft_rgb: NDArray[np.float64]
    root_rgb: NDArray[np.float64]
    opacity: NDArray[np.float64]
    dyed_from: NDArray[np.float64]


def _ramp(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = np.clip(x + 0.5, 0.0, 1.0)
    return out


def paint(frame: Frame, quads: Quads, looks: Looks, strands: Strands, sheen: float) -> Frags:
    """Every pixel centre inside a card's quads, painted from the strand textures."""
    q, row, first, count = spans(quads, frame.w, frame.h)
    parts: list[Frags] = []
    edges = np.searchsorted(np.cumsum(count), np.arange(CHUNK, int(count.sum()), CHUNK))
    for lo, hi in zip(np.r_[0, edges], np.r_[edges, count.size], strict=True):
        if hi > lo:
            sel = slice(int(lo), int(hi))
            n = count[sel]
            k = np.repeat(q[sel], n)
            ix = np.repeat(first[sel], n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            iy = np.repeat(row[sel], n)
            parts.append(_paint_some(k, ix, iy, frame, quads, looks, strands, sheen))
    return Frags.join(parts)


def _paint_some(
    k: NDArray[np.int64],
    ix: NDArray[np.int64],
    iy: NDArray[np.int64],
    frame: Frame,
    quads: Quads,
    looks: Looks,
    strands: Strands,
    sheen: float,
) -> Frags:
    um = frame.um
    u, v = unbilinear(quads, k, ix.astype(np.float64), iy.astype(np.float64))
    keep = (u >= -1e-9) & (u <= 1 + 1e-9) & (v >= -1e-9) & (v <= 1 + 1e-9)
    k, ix, iy, u, v = k[keep], ix[keep], iy[keep], u[keep], v[keep]
    c = quads.card[k]
    s = quads.s0[k] + u * (quads.s1[k] - quads.s0[k])
    # across: the strip's half-width vector at u, from the lerped edges
    mid0 = 0.5 * (quads.a[k] + quads.d[k])
    mid1 = 0.5 * (quads.b[k] + quads.c[k])
    half = (1 - u)[:, None] * (quads.a[k] - mid0) + u[:, None] * (quads.b[k] - mid1)
    size = np.hypot(half[:, 0], half[:, 1])
    t_um = (1.0 - 2.0 * v) * size * um  # signed offset from the axis, left positive
    ex, ey = half[:, 0] / size, half[:, 1] / size
    extent = np.abs(ex) + np.abs(ey)  # a pixel's extent across (and along) the card
    r = radius_at(s, looks.radius[c], looks.length[c], looks.taper_from[c], looks.fray_from[c])
    r = np.maximum(r, 1e-3)
    q, qf = t_um / r, um * extent / r
    shaft = strands.across(looks.variant[c], q, qf, slice(0, 1))[:, 0]
    foot = um * extent
    length, slant = looks.length[c], looks.slant[c]
    face = (length + t_um * slant - s) / np.sqrt(1.0 + slant * slant)
    cover = shaft * _ramp(s / foot) * _ramp(face / foot)
    alive = cover > 1e-4
    c, s, cover, foot = c[alive], s[alive], cover[alive], foot[alive]
    pixel = (iy[alive] * frame.w + ix[alive]).astype(np.int64)
    tex = strands.across(looks.variant[c], q[alive], qf[alive])
    grain = strands.along(s + looks.variant[c] * 517.0, foot)
    dyed = (looks.dyed_from[c] > 0) & (s > looks.dyed_from[c])
    base = np.where(dyed[:, None], looks.shaft_rgb[c], looks.root_rgb[c])
    inv = 1.0 / np.maximum(tex[:, 0], 1e-9)
    facing, shine, streak, medulla = (tex[:, j] * inv for j in (1, 2, 3, 4))
    pale = np.clip(base.mean(axis=1, keepdims=True) * 2.2, 0.0, 1.0)  # light fibres show more
    core = medulla * (1.0 - grain[:, 1])
    rgb = base * (0.42 + 0.58 * facing)[:, None]
    rgb = rgb * (1.0 - (0.3 * streak * (1 - 0.7 * pale[:, 0]) + 0.05 * grain[:, 2]))[:, None]
    rgb = rgb + (0.12 * core * pale[:, 0] + 0.04 * grain[:, 0])[:, None] * base
    rgb = rgb + (sheen * shine)[:, None]
    return Frags(looks.rank[c], pixel, cover * looks.opacity[c], rgb)


def sprites(
    frame: Frame,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    radius_px: NDArray[np.float64],
    hole: NDArray[np.float64],
    lobes: NDArray[np.float64],
    strands: Strands,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Round sprites at (x, y) px: a disc of ``radius_px``, less a disc of ``hole`` times it
    (0: none), its rim pushed in and out by ``lobes`` (n, 6: three cosine lobes' amplitude,
    phase pairs; zeros for a circle). Returns each fragment's sprite, flat pixel, cover, and
    its place across the sprite (radius 0-1: the centre to the rim)."""
    w, h = frame.w, frame.h
    reach = radius_px * (1.0 + np.abs(lobes[:, 0::2]).sum(axis=1)) + 1.5
    x0 = np.clip(np.ceil(x - reach), 0, w).astype(np.int64)
    x1 = np.clip(np.floor(x + reach), -1, w - 1).astype(np.int64)
    y0 = np.clip(np.ceil(y - reach), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(y + reach), -1, h - 1).astype(np.int64)
    nx, ny = np.maximum(x1 - x0 + 1, 0), np.maximum(y1 - y0 + 1, 0)
    n = nx * ny
    k = np.repeat(np.arange(x.size), n)
    local = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    ix, iy = x0[k] + local % nx[k], y0[k] + local // nx[k]
    dx, dy = ix - x[k], iy - y[k]
    dist = np.hypot(dx, dy)
    ang = np.arctan2(dy, dx)
    rim = radius_px[k] * (
        1.0
        + lobes[k, 0] * np.cos(2 * ang + lobes[k, 1])
        + lobes[k, 2] * np.cos(3 * ang + lobes[k, 3])
        + lobes[k, 4] * np.cos(5 * ang + lobes[k, 5])
    )
    rim = np.maximum(rim, 0.05)
    extent = (np.abs(dx) + np.abs(dy)) / np.maximum(dist, 1e-9)
    extent = np.where(dist > 1e-9, extent, 1.0)
    zero = np.zeros(k.size, np.int64)
    cover = strands.across(zero, dist / rim, extent / rim, slice(0, 1))[:, 0]
    inner = hole[k] > 0
    if inner.any():
        small = np.maximum(hole[k] * rim, 1e-3)
        cut = strands.across(zero, dist / small, extent / small, slice(0, 1))[:, 0]
        cover = cover - np.where(inner, cut, 0.0)
    keep = cover > 1e-4
    pixel = (iy * w + ix).astype(np.int64)
    return k[keep], pixel[keep], np.clip(cover[keep], 0, 1), (dist / rim)[keep]


def unique_cover(f: Frags, frayed: NDArray[np.int64], npix: int) -> Frags:
    """Where a frayed end's strands lie over their own shaft keep the shaft's densest
    fragment per pixel: a shaft is one layer of fibre. (No other card folds or meets itself:
    curvature stays below the inverse of a card's half-width, and quads share edges.)"""
    mine = np.isin(f.rank, frayed)
    if not mine.any():
        return f
    idx = np.flatnonzero(mine)
    key = f.rank[idx] * npix + f.pixel[idx]
    order = np.lexsort((-f.cover[idx], key))
    first = np.ones(order.size, bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = np.concatenate([np.flatnonzero(~mine), idx[order[first]]])
    return Frags(f.rank[keep], f.pixel[keep], f.cover[keep], f.rgb[keep])


def front_to_back(f: Frags, npix: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Composite fragments, the highest rank on top: per pixel the colour they lay
    (premultiplied) and the share of what lies under them that still shows."""
    colour = np.zeros((npix, 3))
    if f.pixel.size == 0:
        return colour, np.ones(npix)
    order = np.lexsort((-f.rank, f.pixel))
    pix, a, rgb = f.pixel[order], np.clip(f.cover[order], 0.0, 0.9999), f.rgb[order]
    log_t = np.log1p(-a)
    running = np.cumsum(log_t)
    start = np.ones(pix.size, bool)
    start[1:] = pix[1:] != pix[:-1]
    group_start = np.maximum.accumulate(np.where(start, np.arange(pix.size), 0))
    before = running - log_t - np.where(group_start > 0, running[group_start - 1], 0.0)
    lay = (a * np.exp(before))[:, None] * rgb
    np.add.at(colour, pix, lay)
    through = np.ones(npix)
    total = np.zeros(npix)
    np.add.at(total, pix, log_t)
    through = np.exp(total)
    return colour, through
