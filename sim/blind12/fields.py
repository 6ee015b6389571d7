"""Distance fields from Euclidean distance transforms.

Polylines (hair shafts, vessels, creases, follicle canals) are resampled at half-pixel
steps and cut into short pieces; each piece's box (its samples widened by the band it
must cover) is packed into one atlas, and a single feature transform of the atlas gives
every pixel its nearest sample. That sample is only a spatial index: the exact distance,
the position along the path and the signed lateral offset come from the few segments
around it. Pieces overlap by a few samples and a pixel belongs to the piece that owns its
nearest segment, so joints are seamless and a path that crosses itself covers a pixel
twice. Round things (openings, dots, flakes) are the nearest of a set of centres, from one
frame-wide feature transform per kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

STEP_PX = 0.5  # resampling step along a path
PIECE = 40  # samples a piece owns
EXTRA = 4  # samples a piece sees on either side beyond its own
ATLAS_MAX = 500_000  # pixels per atlas (a larger job runs in several)


@dataclass(frozen=True)
class Band:
    """Pixels near paths: one entry per (pixel, path piece) whose nearest segment the piece
    owns and that lies within the path's reach."""

    pix: I64  # flat frame index y * w + x
    path: I64
    node: F64  # position along the path in node units (0 .. n - 1, fractional)
    lat: F64  # signed lateral offset of the pixel centre from the axis (px)
    before: F64  # how far the pixel lies before the path's start along it (px; negative in
    # front of the start, -1e9 away from the first segment)
    dist: F64  # distance to the path (px)
    tx: F64  # unit tangent of the nearest segment (px frame)
    ty: F64

    @staticmethod
    def empty() -> Band:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return Band(zi, zi, z, z, z, z, z, z)


def _runs(keep: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def polyline_band(paths: Sequence[F64], reach: Sequence[F64], width: int, height: int) -> Band:
    """Every pixel within ``reach`` (px, per node) of each path (``(n, 2)`` nodes, x and y
    in pixels; pixel centres at integers)."""
    sx: list[F64] = []
    sy: list[F64] = []
    su: list[F64] = []
    sr: list[F64] = []
    pieces: list[tuple[int, int, int, int, int, int]] = []  # path, first, lo, hi, elo, ehi
    first = 0
    for p, (nodes, rch) in enumerate(zip(paths, reach, strict=True)):
        n = len(nodes)
        if n < 2:
            continue
        # every segment split into equal steps of at most STEP_PX: the samples keep the
        # nodes, so the resampled path is the path
        seg = np.hypot(*np.diff(nodes, axis=0).T)
        parts = np.maximum(np.ceil(seg / STEP_PX).astype(np.int64), 1)
        base = np.repeat(np.arange(n - 1, dtype=np.float64), parts)
        within = np.arange(int(parts.sum())) - np.repeat(np.cumsum(parts) - parts, parts)
        u = np.concatenate([base + within / np.repeat(parts, parts), [n - 1.0]])
        m = len(u)
        k = np.arange(n, dtype=np.float64)
        x = np.interp(u, k, nodes[:, 0])
        y = np.interp(u, k, nodes[:, 1])
        r = np.interp(u, k, rch)
        keep = (x > -r - 2) & (x < width + r + 1) & (y > -r - 2) & (y < height + r + 1)
        runs = _runs(keep)
        if not runs:
            continue
        for a, b in runs:
            for lo in range(a, b, PIECE):
                hi = min(lo + PIECE, b)
                pieces.append((p, first, lo, hi, max(0, lo - EXTRA), min(m, hi + EXTRA + 1)))
        sx.append(x)
        sy.append(y)
        su.append(u)
        sr.append(r)
        first += m
    if not pieces:
        return Band.empty()
    ax = np.concatenate(sx)
    ay = np.concatenate(sy)
    au = np.concatenate(su)
    ar = np.concatenate(sr)
    piece_arr = np.array(pieces, dtype=np.int64)
    out: list[Band] = []
    # pack the pieces into atlases of bounded size
    boxes = []
    reach_of = []
    for _p, f, _lo, _hi, elo, ehi in pieces:
        xs = ax[f + elo : f + ehi]
        ys = ay[f + elo : f + ehi]
        rr = float(ar[f + elo : f + ehi].max()) + 1.0
        reach_of.append(rr)
        boxes.append(
            (
                int(np.floor(xs.min() - rr)),
                int(np.floor(ys.min() - rr)),
                int(np.ceil(xs.max() + rr)),
                int(np.ceil(ys.max() + rr)),
            )
        )
    box_arr = np.array(boxes, dtype=np.int64)
    reach_arr = np.array(reach_of)
    # Boxes of similar reach share an atlas: a box's samples lie at least its own reach
    # inside it, so a gap of the reach difference (plus two) keeps every band pixel's
    # nearest sample in its own box.
    cls = np.searchsorted(np.array([3.0, 5.0, 8.0, 12.0, 18.0, 27.0, 40.0]), reach_arr)
    for c in np.unique(cls).tolist():
        members = np.flatnonzero(cls == c)
        gap = int(np.ceil(reach_arr[members].max() - reach_arr[members].min())) + 2
        order = members[np.argsort(-(box_arr[members, 3] - box_arr[members, 1]), kind="stable")]
        batch: list[int] = []
        area = 0
        for i in order.tolist():
            bw = int(box_arr[i, 2] - box_arr[i, 0] + 1 + gap)
            bh = int(box_arr[i, 3] - box_arr[i, 1] + 1 + gap)
            if batch and area + bw * bh > ATLAS_MAX:
                out.append(_atlas(batch, piece_arr, box_arr, gap, ax, ay, au, ar, width, height))
                batch, area = [], 0
            batch.append(i)
            area += bw * bh
        if batch:
            out.append(_atlas(batch, piece_arr, box_arr, gap, ax, ay, au, ar, width, height))
    return Band(*(np.concatenate([getattr(b, f) for b in out]) for f in Band.__dataclass_fields__))


def _atlas(
    batch: list[int],
    pieces: I64,
    boxes: I64,
    gap: int,
    ax: F64,
    ay: F64,
    au: F64,
    ar: F64,
    width: int,
    height: int,
) -> Band:
    """One atlas: shelf-pack the boxes, one feature transform, then exact distances."""
    bw = boxes[batch, 2] - boxes[batch, 0] + 1
    bh = boxes[batch, 3] - boxes[batch, 1] + 1
    atlas_w = int(max(1024, int(bw.max()) + gap))
    offx = np.zeros(len(batch), dtype=np.int64)
    offy = np.zeros(len(batch), dtype=np.int64)
    cx = cy = shelf = 0
    for b_i in range(len(batch)):
        if cx + int(bw[b_i]) > atlas_w:
            cy += shelf + gap
            cx = shelf = 0
        offx[b_i], offy[b_i] = cx, cy
        cx += int(bw[b_i]) + gap
        shelf = max(shelf, int(bh[b_i]))
    atlas_h = cy + shelf + 1
    owner = np.full((atlas_h, atlas_w), -1, dtype=np.int32)
    for b_i in range(len(batch)):
        owner[offy[b_i] : offy[b_i] + bh[b_i], offx[b_i] : offx[b_i] + bw[b_i]] = b_i
    # place every piece's samples (its own and the extra ones) in its box
    pc = pieces[batch]
    counts = pc[:, 5] - pc[:, 4]
    which = np.repeat(np.arange(len(batch)), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    gidx = pc[which, 1] + pc[which, 4] + within
    bx0 = boxes[batch, 0]
    by0 = boxes[batch, 1]
    col = np.rint(ax[gidx]).astype(np.int64) - bx0[which] + offx[which]
    row = np.rint(ay[gidx]).astype(np.int64) - by0[which] + offy[which]
    free = np.ones((atlas_h, atlas_w), dtype=np.bool_)
    free[row, col] = False
    copy_id = np.full((atlas_h, atlas_w), -1, dtype=np.int32)
    copy_id[row, col] = np.arange(len(gidx), dtype=np.int32)
    idx = ndimage.distance_transform_edt(free, return_distances=False, return_indices=True)
    # the box's reach bounds the band: most box pixels leave here, on integer positions
    reach_box = np.zeros(len(batch))
    np.maximum.at(reach_box, which, ar[gidx])
    ys, xs = np.nonzero(owner >= 0)
    j = owner[ys, xs].astype(np.int64)
    ny, nx = idx[0, ys, xs], idx[1, ys, xs]
    ok = (ys - ny) ** 2 + (xs - nx) ** 2 <= (reach_box[j] + 2.3) ** 2
    ys, xs, ny, nx, j = ys[ok], xs[ok], ny[ok], nx[ok], j[ok]
    near = copy_id[ny, nx].astype(np.int64)
    ok = which[near] == j
    ys, xs, near, j = ys[ok], xs[ok], near[ok], j[ok]
    px = (xs - offx[j] + bx0[j]).astype(np.float64)
    py = (ys - offy[j] + by0[j]).astype(np.float64)
    k = gidx[near]
    ok = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    px, py, k, j = px[ok], py[ok], k[ok], j[ok]
    first = pc[j, 1]
    elo, ehi = first + pc[j, 4], first + pc[j, 5]
    # the rounded sample is only near the foot of the perpendicular: step along the
    # local tangent to it, then try the segments on either side of it
    kk = np.minimum(k, ehi - 2)
    tdx, tdy = ax[kk + 1] - ax[kk], ay[kk + 1] - ay[kk]
    tl2 = np.maximum(tdx * tdx + tdy * tdy, 1e-12)
    shift = np.rint(((px - ax[k]) * tdx + (py - ay[k]) * tdy) / tl2)
    k = np.clip(k + shift.astype(np.int64), elo, ehi - 1)
    cand = k[:, None] + np.arange(-1, 1)[None, :]
    valid = (cand >= elo[:, None]) & (cand + 1 < ehi[:, None])
    cs = np.clip(cand, elo[:, None], np.maximum(ehi[:, None] - 2, elo[:, None]))
    x0, y0 = ax[cs], ay[cs]
    dx, dy = ax[cs + 1] - x0, ay[cs + 1] - y0
    ll = np.maximum(dx * dx + dy * dy, 1e-12)
    t_raw = ((px[:, None] - x0) * dx + (py[:, None] - y0) * dy) / ll
    t = np.clip(t_raw, 0.0, 1.0)
    d = np.hypot(px[:, None] - x0 - t * dx, py[:, None] - y0 - t * dy)
    d = np.where(valid, d, np.inf)
    b = np.argmin(d, axis=1)
    r_ = np.arange(len(b))
    seg = cs[r_, b]
    dist = d[r_, b]
    own = (seg >= first + pc[j, 2]) & (seg < first + pc[j, 3])
    tt = t[r_, b]
    reach = ar[seg] + tt * (ar[seg + 1] - ar[seg])
    keep = own & (dist <= reach)
    seg, dist, tt, j = seg[keep], dist[keep], tt[keep], j[keep]
    node = au[seg] + tt * (au[seg + 1] - au[seg])
    px, py, tr = px[keep], py[keep], t_raw[r_, b][keep]
    sdx, sdy = ax[seg + 1] - ax[seg], ay[seg + 1] - ay[seg]
    sl = np.maximum(np.hypot(sdx, sdy), 1e-9)
    tx, ty = sdx / sl, sdy / sl
    lat = tx * (py - ay[seg]) - ty * (px - ax[seg])
    # (a path's end is cut by the caller, which knows the end's geometry)
    before = np.where(seg == pc[j, 1], -tr * sl, -1e9)
    pix = py.astype(np.int64) * width + px.astype(np.int64)
    path = pieces[batch][j, 0]
    return Band(pix, path, node, lat, before, dist, tx, ty)


@dataclass(frozen=True)
class Nearest:
    """For every pixel the nearest of a set of centres (``-1`` where there is none), and
    the pixel centre's offset from it (px)."""

    index: NDArray[np.int64]
    dx: F64
    dy: F64


def nearest_centres(px: F64, py: F64, width: int, height: int, pad: int) -> Nearest:
    """Feature transform of the centres ``(px, py)`` (pixels): centres up to ``pad`` pixels
    outside the frame still count."""
    gw, gh = width + 2 * pad, height + 2 * pad
    if len(px) == 0:
        z = np.zeros((height, width))
        return Nearest(np.full((height, width), -1, dtype=np.int64), z, z)
    col = np.rint(px).astype(np.int64) + pad
    row = np.rint(py).astype(np.int64) + pad
    ok = (col >= 0) & (col < gw) & (row >= 0) & (row < gh)
    ids = np.flatnonzero(ok)
    if len(ids) == 0:
        z = np.zeros((height, width))
        return Nearest(np.full((height, width), -1, dtype=np.int64), z, z)
    free = np.ones((gh, gw), dtype=np.bool_)
    free[row[ok], col[ok]] = False
    label = np.full((gh, gw), -1, dtype=np.int64)
    label[row[ok], col[ok]] = ids
    idx = ndimage.distance_transform_edt(free, return_distances=False, return_indices=True)
    sl = (slice(pad, pad + height), slice(pad, pad + width))
    index = label[idx[0][sl], idx[1][sl]]
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float64)
    return Nearest(index, gx - px[index], gy - py[index])
