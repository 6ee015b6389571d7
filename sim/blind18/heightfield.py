"""Hairs into one height field: a z-buffer of exact cylinder heights over supersamples.

Every axis segment of every shaft is a tilted circular cylinder (rounded where segments
meet). For each supersample in a segment's box the vertical ray's first hit on the cylinder
is solved in closed form: with ``s`` along the segment's projection, ``d`` across it and
``theta`` its elevation, the surface's height is ``z(s) + sqrt(r**2 - d**2) / cos(theta)`` and
its normal is the cylinder's radial direction there. A cut shaft keeps only what lies below
its cut plane (frayed ends: splinters reach past it) and adds the plane's disc inside the
fibre (the cut face, normal along the plane's normal). The highest surface over each
supersample wins (the skin's and scale's heights are the buffer's floor), so crossing hairs,
roots sinking into pits and stubs standing over lying hair all come out of one rule; what is
kept per supersample is the height, the shaft, the normal and the place along the shaft.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_CHUNK = 1_500_000  # candidate supersamples per pass
# A cut plane trims a shaft within this many radii of its cut point (frayed splinters reach
# 1.6): beyond that the plane would clip a hair that turns back (its root, even)
CUT_REACH = 4.0


@dataclass
class Segments:
    """Axis segments in frame pixels (heights in pixels too): ends ``a``, ``b`` (n, 3), radii
    ``ra``, ``rb`` (px), arc length at the ends ``sa``, ``sb`` (um), the shaft ``hair`` (n,),
    whether each is its shaft's last (``last``); and per shaft, its cut point ``c`` (k, 3),
    cut normal ``m`` (k, 3; zero: not cut) and frayed splinters ``jag`` (k, 5, px) at
    ``phase`` (k, 5)."""

    a: F64
    b: F64
    ra: F64
    rb: F64
    sa: F64
    sb: F64
    hair: I64
    last: NDArray[np.bool_]
    c: F64
    m: F64
    jag: F64
    phase: F64


@dataclass
class Buffer:
    """The z-buffer at ``ss`` supersamples per pixel side: height (px), shaft (-1: ground),
    normal's x and y (z follows: normals face the lens), arc length (um), cut face or not."""

    z: F32
    hair: NDArray[np.int32]
    nx: NDArray[np.float16]
    ny: NDArray[np.float16]
    along: F32
    face: NDArray[np.bool_]
    ss: int


def new_buffer(ground: F32, ss: int) -> Buffer:
    """An empty buffer over ``ground`` (heights at the supersamples, px)."""
    n = ground.size
    return Buffer(
        z=ground.astype(np.float32).ravel().copy(),
        hair=np.full(n, -1, np.int32),
        nx=np.zeros(n, np.float16),
        ny=np.zeros(n, np.float16),
        along=np.zeros(n, np.float32),
        face=np.zeros(n, np.bool_),
        ss=ss,
    )


def _boxes(sg: Segments, ss: int, w: int, h: int) -> tuple[I64, I64, I64, I64]:
    rmax = 1.45 * np.maximum(sg.ra, sg.rb) + 1.0  # the radius, and the run past the ends
    lo_x = np.minimum(sg.a[:, 0], sg.b[:, 0]) - rmax
    hi_x = np.maximum(sg.a[:, 0], sg.b[:, 0]) + rmax
    lo_y = np.minimum(sg.a[:, 1], sg.b[:, 1]) - rmax
    hi_y = np.maximum(sg.a[:, 1], sg.b[:, 1]) + rmax
    # supersample j's centre is pixel x = (j + 0.5) / ss - 0.5
    x0 = np.clip(np.ceil((lo_x + 0.5) * ss - 0.5), 0, w * ss).astype(np.int64)
    x1 = np.clip(np.floor((hi_x + 0.5) * ss - 0.5), -1, w * ss - 1).astype(np.int64)
    y0 = np.clip(np.ceil((lo_y + 0.5) * ss - 0.5), 0, h * ss).astype(np.int64)
    y1 = np.clip(np.floor((hi_y + 0.5) * ss - 0.5), -1, h * ss - 1).astype(np.int64)
    return x0, x1, y0, y1


def _jag(sg: Segments, hair: I64, beta: F32) -> F32:
    """Splinter reach past the cut plane (px) at angle ``beta`` round the fibre."""
    amp = sg.jag[hair]
    k = np.arange(1, 6, dtype=np.float32)
    lobes = np.cos(beta[:, None] * k[None, :] * 2.0 + sg.phase[hair].astype(np.float32))
    out: F32 = np.clip(lobes * amp.astype(np.float32), 0.0, None).max(axis=1)
    return out


def _per_segment(sg: Segments) -> dict[str, F32]:
    """Each segment's direction, length, slope and radii as float32 arrays."""
    ex, ey = sg.b[:, 0] - sg.a[:, 0], sg.b[:, 1] - sg.a[:, 1]
    lxy = np.maximum(np.hypot(ex, ey), 1e-4)
    tan = (sg.b[:, 2] - sg.a[:, 2]) / lxy
    cos = 1.0 / np.sqrt(1.0 + tan * tan)
    f = {
        "ax": sg.a[:, 0],
        "ay": sg.a[:, 1],
        "az": sg.a[:, 2],
        "ex": ex / lxy,
        "ey": ey / lxy,
        "lxy": lxy,
        "ra": sg.ra,
        "dr": sg.rb - sg.ra,
        # each cylinder runs on past its ends by its radius, so that at a bend the outer side
        # is covered by both neighbours and their surfaces meet in a crease (no seam of caps)
        "over": np.maximum(sg.ra, sg.rb),
        "tan": tan,
        "cos": cos,
        "sin": tan * cos,
        "sa": sg.sa,
        "ds": sg.sb - sg.sa,
    }
    return {k: v.astype(np.float32) for k, v in f.items()}


def _candidates(
    sg: Segments, ps: dict[str, F32], idx: I64, ss: int, w: int, box: tuple[I64, I64, I64, I64]
) -> tuple[I64, F32, I64, F32, F32, F32, NDArray[np.bool_]]:
    x0, x1, y0, y1 = box
    nx_ = np.maximum(x1[idx] - x0[idx] + 1, 0)
    ny_ = np.maximum(y1[idx] - y0[idx] + 1, 0)
    cnt = nx_ * ny_
    seg = np.repeat(idx, cnt)
    local = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    nxs = np.repeat(nx_, cnt)
    col = x0[seg] + local % nxs
    row = y0[seg] + local // nxs
    rx = ((col + 0.5) / ss - 0.5).astype(np.float32) - ps["ax"][seg]
    ry = ((row + 0.5) / ss - 0.5).astype(np.float32) - ps["ay"][seg]
    ex, ey, lxy = ps["ex"][seg], ps["ey"][seg], ps["lxy"][seg]
    s = rx * ex + ry * ey
    d = ry * ex - rx * ey
    t = np.clip(s / lxy, 0.0, 1.0)
    rad = ps["ra"][seg] + ps["dr"][seg] * t
    over = ps["over"][seg]
    keep = np.flatnonzero((d * d < rad * rad) & (s >= -over) & (s <= lxy + over))
    # only supersamples over the fibre go on
    seg, col, row = seg[keep], col[keep], row[keep]
    rx, ry, ex, ey, s, d, t, rad = (v[keep] for v in (rx, ry, ex, ey, s, d, t, rad))
    tan, cos, sin = ps["tan"][seg], ps["cos"][seg], ps["sin"][seg]
    root = np.sqrt(np.maximum(rad * rad - d * d, 0.0))
    z = ps["az"][seg] + s * tan + root / cos
    inv = 1.0 / np.maximum(rad, 1e-6)
    # normal: the cylinder's radial direction there
    nx = -d * inv * ey - root * inv * sin * ex
    ny = d * inv * ex - root * inv * sin * ey
    nz = root * inv * cos
    norm = np.sqrt(nx * nx + ny * ny + nz * nz) + 1e-9
    nx, ny = nx / norm, ny / norm
    along = ps["sa"][seg] + ps["ds"][seg] * t
    hair = sg.hair[seg]
    cut = sg.m[hair]
    is_cut = cut[:, 2] > 0
    inside = np.ones(z.shape, np.bool_)
    face = np.zeros(z.shape, np.bool_)
    if is_cut.any():
        qx, qy = rx + ps["ax"][seg], ry + ps["ay"][seg]
        c = sg.c[hair].astype(np.float32)
        m = cut.astype(np.float32)
        wx0, wy0, wz0 = qx - c[:, 0], qy - c[:, 1], z - c[:, 2]
        beyond = wx0 * m[:, 0] + wy0 * m[:, 1] + wz0 * m[:, 2]
        # The plane cuts the end only: a curled or wavy hair that turns back crosses the
        # infinite plane far from its end, and that part of it (or its root) stays drawn.
        near = wx0 * wx0 + wy0 * wy0 + wz0 * wz0 < (CUT_REACH * rad) ** 2
        past = np.flatnonzero(is_cut & (beyond > 0) & near)
        frayed = past[sg.jag[hair[past]].any(axis=1)]
        inside[past] = False
        if frayed.size:
            beta = np.arctan2(d[frayed], root[frayed])
            inside[frayed] = beyond[frayed] <= _jag(sg, hair[frayed], beta)
        # the cut face: the plane's disc inside the fibre, from the last segment's box
        lf = np.flatnonzero(sg.last[seg] & is_cut)
        if lf.size:
            cl, ml = c[lf], m[lf]
            wx, wy = qx[lf] - cl[:, 0], qy[lf] - cl[:, 1]
            wz = -(wx * ml[:, 0] + wy * ml[:, 1]) / np.maximum(ml[:, 2], 1e-3)
            ux, uy, uz = cos[lf] * ex[lf], cos[lf] * ey[lf], sin[lf]
            ax = wx * ux + wy * uy + wz * uz
            rend = (ps["ra"] + ps["dr"])[seg[lf]]
            on = (wx * wx + wy * wy + wz * wz - ax * ax <= rend * rend) & (
                ~inside[lf] | (cl[:, 2] + wz > z[lf])
            )
            f = lf[on]
            z[f] = (cl[:, 2] + wz)[on]
            nx[f], ny[f] = ml[on, 0], ml[on, 1]
            face[f] = True
            inside[f] = True
    sel = np.flatnonzero(inside)
    flat = row[sel] * (w * ss) + col[sel]
    return flat, z[sel], hair[sel], nx[sel], ny[sel], along[sel], face[sel]


def draw(buf: Buffer, sg: Segments, w: int, h: int) -> None:
    """Raise ``buf`` wherever a segment's surface lies above what it holds."""
    if sg.a.shape[0] == 0:
        return
    box = _boxes(sg, buf.ss, w, h)
    x0, x1, y0, y1 = box
    ps = _per_segment(sg)
    cnt = np.maximum(x1 - x0 + 1, 0) * np.maximum(y1 - y0 + 1, 0)
    order = np.flatnonzero(cnt)
    if order.size == 0:
        return
    cum = np.cumsum(cnt[order])
    cuts = np.searchsorted(cum, np.arange(_CHUNK, int(cum[-1]), _CHUNK))
    for part in np.split(order, cuts):
        if part.size == 0:
            continue
        flat, z, hair, nx, ny, along, face = _candidates(sg, ps, part, buf.ss, w, box)
        if flat.size == 0:
            continue
        before = buf.z[flat]
        np.maximum.at(buf.z, flat, z)
        # the candidates that set their supersample's new height (ties, rare, go to the last)
        o = np.flatnonzero((z > before) & (z >= buf.z[flat]))
        flat = flat[o]
        buf.hair[flat] = hair[o].astype(np.int32)
        buf.nx[flat] = nx[o].astype(np.float16)
        buf.ny[flat] = ny[o].astype(np.float16)
        buf.along[flat] = along[o]
        buf.face[flat] = face[o]
