"""Per-pixel cover and chord along runs of pixels, and the special treatment of tube ends.

A run is a horizontal stretch of pixels owned by one straight piece of a tube;
along it the signed distance from the axis and the arc length change linearly.
Most runs are handled as padded 2-D blocks of similar length (no gathers);
runs near a free end, a taper or the under-skin start go through a flat path
that applies the soft cut planes, the frayed edge, the taper and the fade.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind.tubes import Batch, Tubes

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]


def _chord_integral(x: F32, r: F32) -> F32:
    """Antiderivative of 2*sqrt(r^2 - x^2), the chord of a circle at offset x."""
    q = np.clip(x / r, -1.0, 1.0)
    out: F32 = r * r * (q * np.sqrt(np.maximum(1.0 - q * q, 0.0)) + np.arcsin(q))
    return out


@dataclass(frozen=True)
class RowForms:
    """Per run of pixels: where it starts and the linear forms along it."""

    idx: I64
    tube: I64
    d: F32  # signed distance from the axis at the first pixel
    d_k: F32  # its change per pixel
    s: F32  # arc length at the first pixel
    s_k: F32
    r: F32


def _cover_path(d: F32, r: F32) -> tuple[F32, F32]:
    lo = np.maximum(d - 0.5, -r)
    hi = np.minimum(d + 0.5, r)
    cover = np.maximum(hi - lo, 0.0)
    path = np.where(cover > 0, _chord_integral(hi, r) - _chord_integral(lo, r), 0.0)
    return cover, path


def plain_batches(sel: I64, cnt: I64, rf: RowForms, n_pix: int, max_elems: int) -> Iterator[Batch]:
    """Runs with nothing special: padded 2-D blocks of similar run length, no gathers."""
    if len(sel) == 0:
        return
    widths = np.unique(np.ceil(1.2 ** np.arange(60)).astype(np.int64))
    bucket = np.searchsorted(widths, cnt[sel])
    order = sel[np.argsort(bucket, kind="stable")]
    b_sorted = np.sort(bucket, kind="stable")
    cuts = np.flatnonzero(np.diff(b_sorted)) + 1
    f32 = np.float32
    for group, b in zip(np.split(order, cuts), b_sorted[np.concatenate([[0], cuts])], strict=True):
        w = int(widths[b])
        step = max(1, max_elems // w)
        k_int = np.arange(w, dtype=np.int64)[None, :]
        k = k_int.astype(f32)
        for a in range(0, len(group), step):
            g = group[a : a + step]
            valid = k_int < cnt[g][:, None]
            d = rf.d[g][:, None] + k * rf.d_k[g][:, None]
            r = rf.r[g][:, None]
            cover, path = _cover_path(d, r)
            cover = np.where(valid, cover, f32(0.0))
            path = np.where(valid, path, f32(0.0))
            yield Batch(
                idx=np.minimum(rf.idx[g][:, None] + k_int, n_pix - 1),
                tube=rf.tube[g],
                cover=cover.astype(f32, copy=False),
                path=path.astype(f32, copy=False),
                across=(d * (1.0 / r)).astype(f32, copy=False),
                along=(rf.s[g][:, None] + k * rf.s_k[g][:, None]).astype(f32, copy=False),
            )


def special_batches(
    sel: I64,
    cnt: I64,
    rf: RowForms,
    tubes: Tubes,
    planes: tuple[F32, F32, F32, F32, NDArray[np.bool_], NDArray[np.bool_]],
    max_elems: int,
) -> Iterator[Batch]:
    """Runs near ends, tapers or the under-skin start: one flat array of pixels."""
    if len(sel) == 0:
        return
    cum = np.cumsum(cnt[sel])
    f32 = np.float32
    r_end = 0
    while r_end < len(sel):
        r_begin = r_end
        base = int(cum[r_begin - 1]) if r_begin else 0
        r_end = max(int(np.searchsorted(cum, base + max_elems, side="right")), r_begin + 1)
        g = sel[r_begin:r_end]
        c = cnt[g]
        total = int(c.sum())
        row = np.repeat(g, c)
        offs = np.zeros(len(c), dtype=np.int64)
        np.cumsum(c[:-1], out=offs[1:])
        k_int = np.arange(total, dtype=np.int64) - np.repeat(offs, c)
        k = k_int.astype(f32)
        tube = rf.tube[row]
        d = rf.d[row] + k * rf.d_k[row]
        s = rf.s[row] + k * rf.s_k[row]
        r = rf.r[row]
        gate = _ends(row, k, s, d, r, tube, tubes, planes)
        cover, path = _cover_path(d, r)
        yield Batch(
            idx=(rf.idx[row] + k_int)[:, None],
            tube=tube,
            cover=(cover * gate).astype(f32)[:, None],
            path=(path * gate).astype(f32)[:, None],
            across=(d / r).astype(f32)[:, None],
            along=s[:, None],
        )


def _ends(
    rows: I64,
    k: F32,
    s: F32,
    d: F32,
    r: F32,
    ts: I64,
    tubes: Tubes,
    planes: tuple[F32, F32, F32, F32, NDArray[np.bool_], NDArray[np.bool_]],
) -> F32:
    """Soft cut planes, frayed ends, tapers and the faint under-skin start.

    Returns each pixel's weight; the radius ``r`` is narrowed in place along tapers.
    """
    gs_lo, gs_k, ge_lo, ge_k, first, last = planes
    one = np.float32(1.0)
    g = np.where(first[rows], np.clip(gs_lo[rows] + k * gs_k[rows], 0.0, 1.0), one)
    ge = ge_lo[rows] + k * ge_k[rows]
    amp = tubes.fray_amp[ts].astype(np.float32)
    if np.any(amp > 0):
        q = d / r
        ph = tubes.fray_phase[ts].astype(np.float32)
        wig = 0.55 * np.sin(q * 4.7 + ph) + 0.3 * np.sin(q * 11.3 + 2.1 * ph)
        ge = ge + amp * (wig + 0.15 * np.sin(q * 23.0 + ph) - 0.3)
    g = np.where(last[rows], g * np.clip(ge, 0.0, 1.0), g)
    tl = tubes.taper_len[ts].astype(np.float32)
    ln_e = tubes.length[ts].astype(np.float32)
    taper = np.where(tl > 0, np.clip((ln_e - s) / np.maximum(tl, 1e-6), 0.0, 1.0) ** 0.7, one)
    r *= taper
    np.maximum(r, np.float32(1e-4), out=r)
    sub_l = tubes.sub_len[ts].astype(np.float32)
    ramp = np.clip(1.0 + s / np.maximum(sub_l, 1e-6), 0.0, 1.0) * tubes.sub_opacity[ts]
    ramp = np.where(sub_l > 0, ramp, one).astype(np.float32)
    out: F32 = (g * (ramp + (1.0 - ramp) * np.clip(s + 0.5, 0.0, 1.0))).astype(np.float32)
    return out
