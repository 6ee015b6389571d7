"""A z-buffer triangle rasteriser in numpy.

Triangles come in sample coordinates (sample centres at integers) with a depth per vertex;
the larger depth wins (depth is height towards the viewer). Each triangle is tested only
over its own bounding box: triangles are grouped by box size, and every group is tested
as one array of (triangle, row, column) candidates. Winners keep the triangle's index and
two barycentric weights so that any vertex attribute can be interpolated afterwards.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I32 = NDArray[np.int32]

_SIZES = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512])
_CHUNK = 1 << 21
_EPS = 1e-6


def rasterise(
    xy: F64,
    z: F64,
    depth: F32,
    *,
    y_offset: int = 0,
    tri_ids: I32 | None = None,
    tri_buf: I32 | None = None,
    b1_buf: F32 | None = None,
    b2_buf: F32 | None = None,
) -> None:
    """Draw triangles ``xy`` (T, 3, 2) with depths ``z`` (T, 3) into ``depth`` (H, W), a band
    of sample rows starting at ``y_offset``. With ``tri_buf``, winners write ``tri_ids`` and
    the barycentric weights of vertices 1 and 2 into ``tri_buf``, ``b1_buf``, ``b2_buf``."""
    if len(xy) == 0:
        return
    h, w = depth.shape
    x = xy[..., 0]
    y = xy[..., 1] - y_offset
    xa, ya = x[:, 0], y[:, 0]
    ex1, ey1 = x[:, 1] - xa, y[:, 1] - ya
    ex2, ey2 = x[:, 2] - xa, y[:, 2] - ya
    area = ex1 * ey2 - ex2 * ey1
    x0 = np.maximum(np.ceil(x.min(1) - _EPS), 0)
    x1 = np.minimum(np.floor(x.max(1) + _EPS), w - 1)
    y0 = np.maximum(np.ceil(y.min(1) - _EPS), 0)
    y1 = np.minimum(np.floor(y.max(1) + _EPS), h - 1)
    keep = (np.abs(area) > 1e-9) & (x1 >= x0) & (y1 >= y0)
    if not keep.any():
        return
    sel = np.nonzero(keep)[0]
    bw = (x1 - x0 + 1)[sel].astype(np.int64)
    bh = (y1 - y0 + 1)[sel].astype(np.int64)
    kx = np.searchsorted(_SIZES, np.minimum(bw, _SIZES[-1]))
    ky = np.searchsorted(_SIZES, np.minimum(bh, _SIZES[-1]))
    big = (bw > _SIZES[-1]) | (bh > _SIZES[-1])
    if big.any():  # split huge boxes by drawing those triangles alone, row block by block
        for t in sel[big]:
            _draw_big(int(t), xy, z, depth, y_offset, tri_ids, tri_buf, b1_buf, b2_buf)
        sel, kx, ky = sel[~big], kx[~big], ky[~big]
    key = kx * 64 + ky
    order = np.argsort(key, kind="stable")
    sel, key = sel[order], key[order]
    bounds = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(key)]])
    inv = 1.0 / np.where(keep, area, 1.0)
    # barycentric weight of vertex 1 and 2 as linear functions of (px, py) relative to box
    b1x, b1y = ey2 * inv, -ex2 * inv
    b2x, b2y = -ey1 * inv, ex1 * inv
    dz1, dz2 = z[:, 1] - z[:, 0], z[:, 2] - z[:, 0]
    flat_depth = depth.reshape(-1)
    for s0, s1 in zip(starts, ends, strict=True):
        sx = int(_SIZES[key[s0] // 64])
        sy = int(_SIZES[key[s0] % 64])
        step = max(1, _CHUNK // (sx * sy))
        for c0 in range(s0, s1, step):
            t = sel[c0 : min(s1, c0 + step)]
            ox = np.arange(sx, dtype=np.float64)
            oy = np.arange(sy, dtype=np.float64)[:, None]
            dx0 = x0[t] - xa[t]
            dy0 = y0[t] - ya[t]
            l1_0 = (b1x[t] * dx0 + b1y[t] * dy0).astype(np.float32)[:, None, None]
            l2_0 = (b2x[t] * dx0 + b2y[t] * dy0).astype(np.float32)[:, None, None]
            l1 = (
                l1_0
                + (b1x[t][:, None, None] * ox).astype(np.float32)
                + (b1y[t][:, None, None] * oy).astype(np.float32)
            )
            l2 = (
                l2_0
                + (b2x[t][:, None, None] * ox).astype(np.float32)
                + (b2y[t][:, None, None] * oy).astype(np.float32)
            )
            inside = (l1 >= -_EPS) & (l2 >= -_EPS) & (l1 + l2 <= 1 + _EPS)
            inside &= ox[None, None, :] <= (x1[t] - x0[t])[:, None, None]
            inside &= oy[None, :, :] <= (y1[t] - y0[t])[:, None, None]
            ti, yi, xi = np.nonzero(inside)
            if len(ti) == 0:
                continue
            w1 = l1[ti, yi, xi]
            w2 = l2[ti, yi, xi]
            tt = t[ti]
            d = (z[tt, 0] + w1 * dz1[tt] + w2 * dz2[tt]).astype(np.float32)
            pix = (y0[tt].astype(np.int64) + yi) * w + x0[tt].astype(np.int64) + xi
            np.maximum.at(flat_depth, pix, d)
            if tri_buf is None or b1_buf is None or b2_buf is None or tri_ids is None:
                continue
            win = d >= flat_depth[pix]
            pw = pix[win]
            tri_buf.reshape(-1)[pw] = tri_ids[tt[win]]
            b1_buf.reshape(-1)[pw] = w1[win]
            b2_buf.reshape(-1)[pw] = w2[win]


def _draw_big(
    t: int,
    xy: F64,
    z: F64,
    depth: F32,
    y_offset: int,
    tri_ids: I32 | None,
    tri_buf: I32 | None,
    b1_buf: F32 | None,
    b2_buf: F32 | None,
) -> None:
    """A triangle whose box is larger than the largest group: cut into four by its edge
    midpoints (exact: the pieces tile it and keep linear attributes) and draw again."""
    p = xy[t]
    q = z[t]
    m = np.array([(p[0] + p[1]) / 2, (p[1] + p[2]) / 2, (p[2] + p[0]) / 2])
    mz = np.array([(q[0] + q[1]) / 2, (q[1] + q[2]) / 2, (q[2] + q[0]) / 2])
    pieces_xy = np.array(
        [[p[0], m[0], m[2]], [m[0], p[1], m[1]], [m[2], m[1], p[2]], [m[0], m[1], m[2]]]
    )
    pieces_z = np.array(
        [[q[0], mz[0], mz[2]], [mz[0], q[1], mz[1]], [mz[2], mz[1], q[2]], [mz[0], mz[1], mz[2]]]
    )
    if tri_buf is None or tri_ids is None:
        rasterise(pieces_xy, pieces_z, depth, y_offset=y_offset)
        return
    # barycentrics of the pieces differ from the parent's: draw the pieces, then recompute
    # the parent's weights for the pixels a piece won
    w = depth.shape[1]
    before = depth.copy()
    rasterise(pieces_xy, pieces_z, depth, y_offset=y_offset)
    changed = np.nonzero(depth.reshape(-1) > before.reshape(-1))[0]
    if len(changed) == 0 or b1_buf is None or b2_buf is None:
        return
    py = (changed // w + y_offset).astype(np.float64)
    px = (changed % w).astype(np.float64)
    e1 = p[1] - p[0]
    e2 = p[2] - p[0]
    area = e1[0] * e2[1] - e2[0] * e1[1]
    dx, dy = px - p[0, 0], py - p[0, 1]
    tri_buf.reshape(-1)[changed] = tri_ids[t]
    b1_buf.reshape(-1)[changed] = ((dx * e2[1] - dy * e2[0]) / area).astype(np.float32)
    b2_buf.reshape(-1)[changed] = ((e1[0] * dy - e1[1] * dx) / area).astype(np.float32)
