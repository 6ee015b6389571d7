"""Analytic rasterisation of many tubes (hairs, vessels) lying on the image plane.

A tube is a polyline centreline with a circular cross-section of radius r.
Each straight piece owns exactly the pixels between the bisector planes at its
two joins, so the pieces of one tube never overlap. The free ends are cut by
a plane that may be tilted (oblique cut) or jagged (frayed), or the radius
falls to zero over a taper. Across the tube the pixel is treated as a unit
box: the covered width and the integral of the chord 2*sqrt(r^2 - d^2) over
the box are exact, so thin shafts are anti-aliased without supersampling.

Pixels are generated row by row inside a rectangle around each piece (no
square bounding boxes), and everything runs in vectorised batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind.runs import RowForms, plain_batches, special_batches
from sim.blind.tubes import Batch, Tubes

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _unit(vx: F64, vy: F64) -> tuple[F64, F64]:
    n = np.maximum(np.hypot(vx, vy), 1e-12)
    return vx / n, vy / n


def _inverse(v: F64) -> F64:
    """1 / v, kept finite: a tiny v gives a huge value of the same sign."""
    out: F64 = np.where(v >= 0, 1.0, -1.0) / np.maximum(np.abs(v), 1e-9)
    return out


def _half_plane(inv_coef: F64, off: F64, strict: bool) -> tuple[F64, F64]:
    """Integer x-range where x * coef + off >= 0 (> 0 if strict), given 1 / coef."""
    root = -off * inv_coef
    if strict:
        lo, hi = np.floor(root) + 1.0, np.ceil(root) - 1.0
    else:
        lo, hi = np.ceil(root), np.floor(root)
    big = 1e18
    up = inv_coef > 0
    return np.where(up, lo, -big), np.where(up, big, hi)


@dataclass(frozen=True)
class _Rows:
    """One entry per (piece, image row) with its run of pixels."""

    seg: I64
    y: F64
    x0: F64
    count: I64


def _rows(cx: F64, cy: F64, ux: F64, uy: F64, hu: F64, hn: F64, height: int, width: int) -> _Rows:
    """Runs of pixel centres inside each piece's rectangle, one per image row."""
    ext_y = hu * np.abs(uy) + hn * np.abs(ux)
    y0 = np.clip(np.ceil(cy - ext_y), 0, height - 1).astype(np.int64)
    y1 = np.clip(np.floor(cy + ext_y), 0, height - 1).astype(np.int64)
    nrows = np.maximum(y1 - y0 + 1, 0)
    # |(x - cx) ux + dy uy| <= hu and |-(x - cx) uy + dy ux| <= hn, solved for x
    inv_u = _inverse(ux)
    inv_n = _inverse(-uy)
    k1, h1 = -uy * inv_u, hu * np.abs(inv_u)
    k2, h2 = ux * inv_n * -1.0, hn * np.abs(inv_n)
    seg = np.repeat(np.arange(len(cx)), nrows)
    first = np.zeros(len(cx) + 1, dtype=np.int64)
    np.cumsum(nrows, out=first[1:])
    y = (np.repeat(y0 - first[:-1], nrows) + np.arange(len(seg))).astype(np.float64)
    dy = y - np.repeat(cy, nrows)
    c1 = dy * np.repeat(k1, nrows)
    c2 = dy * np.repeat(k2, nrows)
    e1 = np.repeat(h1, nrows)
    e2 = np.repeat(h2, nrows)
    ccx = np.repeat(cx, nrows)
    x_lo = np.maximum(np.ceil(ccx + np.maximum(c1 - e1, c2 - e2)), 0.0)
    x_hi = np.minimum(np.floor(ccx + np.minimum(c1 + e1, c2 + e2)), width - 1.0)
    return _Rows(seg=seg, y=y, x0=x_lo, count=np.maximum(x_hi - x_lo + 1, 0).astype(np.int64))


def rasterise(tubes: Tubes, height: int, width: int, max_elems: int = 2_500_000) -> Iterator[Batch]:
    """Yield batches of pixels covered by the tubes."""
    ln = tubes.lines
    n_pts = len(ln.x)
    if n_pts < 2:
        return
    tube_of_pt = np.repeat(np.arange(len(ln.start) - 1), np.diff(ln.start))
    ax, ay, bx, by = ln.x[:-1], ln.y[:-1], ln.x[1:], ln.y[1:]
    valid = tube_of_pt[:-1] == tube_of_pt[1:]
    seg_len = np.hypot(bx - ax, by - ay)
    ux, uy = _unit(bx - ax, by - ay)
    first = np.zeros(n_pts - 1, dtype=bool)
    first[ln.start[:-1]] = True
    last = np.zeros(n_pts - 1, dtype=bool)
    last[ln.start[1:] - 2] = True
    t = tube_of_pt[:-1]
    # bisector planes at the joins (the same numbers on both sides of a join)
    pux = np.where(first, ux, np.roll(ux, 1))
    puy = np.where(first, uy, np.roll(uy, 1))
    nux = np.where(last, ux, np.roll(ux, -1))
    nuy = np.where(last, uy, np.roll(uy, -1))
    sx, sy = _unit(pux + ux, puy + uy)
    ex, ey = _unit(ux + nux, uy + nuy)
    ca, sa = np.cos(tubes.end_angle[t]), np.sin(tubes.end_angle[t])
    ex = np.where(last, ux * ca - uy * sa, ex)
    ey = np.where(last, ux * sa + uy * ca, ey)
    sx = np.where(first, ux, sx)
    sy = np.where(first, uy, sy)
    r0 = tubes.radius[t]
    hn = r0 + 0.6
    cos_s = np.clip(sx * ux + sy * uy, 0.2, 1.0)
    cos_e = np.clip(ex * ux + ey * uy, 0.2, 1.0)
    slack_s = hn * np.sqrt(1.0 - cos_s**2) / cos_s + 1.0
    slack_e = hn * np.sqrt(1.0 - cos_e**2) / cos_e + 1.0 + np.where(last, tubes.fray_amp[t], 0.0)
    hu = 0.5 * (seg_len + slack_s + slack_e)
    cx = ax + ux * (0.5 * (seg_len + slack_e - slack_s))
    cy = ay + uy * (0.5 * (seg_len + slack_e - slack_s))
    ext_x = hu * np.abs(ux) + hn * np.abs(uy)
    ext_y = hu * np.abs(uy) + hn * np.abs(ux)
    keep = (
        valid
        & (cx + ext_x >= 0.0)
        & (cx - ext_x <= width - 1.0)
        & (cy + ext_y >= 0.0)
        & (cy - ext_y <= height - 1.0)
    )
    seg = np.flatnonzero(keep)
    if len(seg) == 0:
        return
    seg = seg[np.argsort(cy[seg], kind="stable")]
    rows = _rows(cx[seg], cy[seg], ux[seg], uy[seg], hu[seg], hn[seg], height, width)
    rs = seg[rows.seg]
    yr = rows.y
    # inner joins cut the run exactly (no pixel owned twice or lost)
    o_s = -ax[rs] * sx[rs] + (yr - ay[rs]) * sy[rs]
    o_e = -bx[rs] * ex[rs] + (yr - by[rs]) * ey[rs]
    inv_sx = _inverse(sx)[rs]
    lo_s, hi_s = _half_plane(inv_sx, o_s, strict=False)
    lo_e, hi_e = _half_plane(-_inverse(ex)[rs], -o_e, strict=True)
    hard_s = ~first[rs]
    hard_e = ~last[rs]
    x_lo = np.maximum(rows.x0, np.where(hard_s, lo_s, -1e18))
    x_lo = np.maximum(x_lo, np.where(hard_e, lo_e, -1e18))
    x_hi = rows.x0 + rows.count - 1
    x_hi = np.minimum(x_hi, np.where(hard_s, hi_s, 1e18))
    x_hi = np.minimum(x_hi, np.where(hard_e, hi_e, 1e18))
    cnt = np.maximum(x_hi - x_lo + 1, 0).astype(np.int64)
    live = cnt > 0
    rs, yr, x_lo, cnt = rs[live], yr[live], x_lo[live], cnt[live]

    rx = x_lo - ax[rs]
    ry = yr - ay[rs]
    tr = t[rs]
    f32 = np.float32
    s_lo = (ln.s[:-1][rs] + rx * ux[rs] + ry * uy[rs]).astype(f32)
    d_lo = (-rx * uy[rs] + ry * ux[rs]).astype(f32)
    ux_r = ux[rs].astype(f32)
    nx_r = (-uy[rs]).astype(f32)
    r_row = r0[rs].astype(f32)
    idx_lo = (yr * width + x_lo).astype(np.int64)
    # soft end planes (emergence side of the under-skin piece, free end): per pixel
    gs_lo = (rx * sx[rs] + ry * sy[rs] + 0.5).astype(f32)
    gs_k = sx[rs].astype(f32)
    ge_lo = ((bx[rs] - x_lo) * ex[rs] + (by[rs] - yr) * ey[rs] + 0.5).astype(f32)
    ge_k = (-ex[rs]).astype(f32)
    s_end = s_lo + (cnt - 1) * ux_r
    s_min = np.minimum(s_lo, s_end) - r_row
    s_max = np.maximum(s_lo, s_end) + r_row
    tl = tubes.taper_len[tr]
    special = first[rs] | last[rs] | ((tl > 0) & (s_max >= tubes.length[tr] - tl))
    special |= (tubes.sub_len[tr] > 0) & (s_min < 0.6)

    planes = (gs_lo, gs_k, ge_lo, ge_k, first[rs], last[rs])
    rows_out = RowForms(idx_lo, tr, d_lo, nx_r, s_lo, ux_r, r_row)
    yield from special_batches(np.flatnonzero(special), cnt, rows_out, tubes, planes, max_elems)
    yield from plain_batches(np.flatnonzero(~special), cnt, rows_out, height * width, max_elems)
