"""DDA span rasterisation (blind-17's own): a polyline of varying width is walked one
pixel column at a time along each segment's major axis (a digital differential analyser);
at each column the shaft's cross-section is an interval on the minor axis, and every pixel
of that column gets the exact 1-D overlap of its extent with the interval as coverage."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
Ix = NDArray[np.int64]


def _ragged(counts: Ix) -> tuple[Ix, Ix]:
    """For counts per item: the item of each output element and its rank within the item."""
    total = int(counts.sum())
    item = np.repeat(np.arange(counts.size), counts)
    start = np.cumsum(counts) - counts
    rank = np.arange(total) - start[item]
    return item, rank


def spans(px: F, py: F, wd: F, w: int, h: int) -> tuple[Ix, F, F, F]:
    """Pixels covered by the polyline (px, py) of widths wd (all in pixels).

    Returns flat pixel index, coverage in (0, 1], signed place across the shaft (-1..1) and
    place along the polyline (vertex index plus fraction), one entry per pixel (the largest
    coverage where segments overlap)."""
    x0, x1, y0, y1 = px[:-1], px[1:], py[:-1], py[1:]
    w0, w1 = wd[:-1], wd[1:]
    xmajor = np.abs(x1 - x0) >= np.abs(y1 - y0)
    parts: list[tuple[Ix, F, F, F]] = []
    for major in (True, False):
        m = np.nonzero(xmajor == major)[0]
        if m.size == 0:
            continue
        if major:
            u0, u1, v0, v1, un, vn = x0[m], x1[m], y0[m], y1[m], w, h
        else:
            u0, u1, v0, v1, un, vn = y0[m], y1[m], x0[m], x1[m], h, w
        lo, hi = np.minimum(u0, u1), np.maximum(u0, u1)
        first = np.maximum(np.ceil(lo), 0.0).astype(np.int64)
        last = np.minimum(np.ceil(hi) - 1, un - 1).astype(np.int64)
        cnt = np.maximum(last - first + 1, 0)
        seg, rank = _ragged(cnt)
        if seg.size == 0:
            continue
        u = (first[seg] + rank).astype(np.float64)
        du = u1[seg] - u0[seg]
        t = (u - u0[seg]) / du
        dv = v1[seg] - v0[seg]
        c = v0[seg] + t * dv
        hw = 0.5 * (w0[m][seg] + t * (w1[m][seg] - w0[m][seg])) * np.sqrt(1.0 + (dv / du) ** 2)
        jlo = np.maximum(np.floor(c - hw + 0.5), 0).astype(np.int64)
        jhi = np.minimum(np.floor(c + hw + 0.5), vn - 1).astype(np.int64)
        n2 = np.maximum(jhi - jlo + 1, 0)
        col, r2 = _ragged(n2)
        if col.size == 0:
            continue
        j = (jlo[col] + r2).astype(np.float64)
        cc, hh = c[col], hw[col]
        cov = np.clip(np.minimum(j + 0.5, cc + hh) - np.maximum(j - 0.5, cc - hh), 0.0, 1.0)
        across = np.clip((j - cc) / np.maximum(hh, 0.5), -1.0, 1.0)
        along = m[seg[col]] + t[col]
        ui = u[col].astype(np.int64)
        ji = j.astype(np.int64)
        idx = ji * w + ui if major else ui * w + ji
        keep = cov > 1e-3
        parts.append((idx[keep], cov[keep], across[keep], along[keep]))
    if not parts:
        e = np.zeros(0)
        return np.zeros(0, dtype=np.int64), e, e, e
    idx = np.concatenate([p[0] for p in parts])
    cov = np.concatenate([p[1] for p in parts])
    acr = np.concatenate([p[2] for p in parts])
    alg = np.concatenate([p[3] for p in parts])
    order = np.lexsort((-cov, idx))
    idx, cov, acr, alg = idx[order], cov[order], acr[order], alg[order]
    first_of = np.ones(idx.size, dtype=bool)
    first_of[1:] = idx[1:] != idx[:-1]
    return idx[first_of], cov[first_of], acr[first_of], alg[first_of]


def discs(cx: F, cy: F, r: F, w: int, h: int) -> tuple[Ix, F, Ix]:
    """Pixels covered by discs (centre, radius in pixels): flat index, coverage (a one-pixel
    ramp on the signed distance) and which disc. Pixels under several discs repeat."""
    if cx.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
    out: list[tuple[Ix, F, Ix]] = []
    rr = np.ceil(r + 1.0).astype(np.int64)
    for R in np.unique(rr):
        k = np.nonzero(rr == R)[0]
        off = np.arange(-R, R + 1)
        oy, ox = np.meshgrid(off, off, indexing="ij")
        bx = np.round(cx[k])[:, None] + ox.ravel()[None, :]
        by = np.round(cy[k])[:, None] + oy.ravel()[None, :]
        d = np.hypot(bx - cx[k][:, None], by - cy[k][:, None])
        cov = np.clip(r[k][:, None] - d + 0.5, 0.0, 1.0)
        ok = (cov > 1e-3) & (bx >= 0) & (bx < w) & (by >= 0) & (by < h)
        which = np.broadcast_to(k[:, None], ok.shape)[ok]
        out.append(((by[ok] * w + bx[ok]).astype(np.int64), cov[ok], which.astype(np.int64)))
    return (
        np.concatenate([o[0] for o in out]),
        np.concatenate([o[1] for o in out]),
        np.concatenate([o[2] for o in out]),
    )
