"""Anisotropic Gaussian splats accumulated onto a raster.

A splat is an oriented elliptical Gaussian footprint: centre (x, y) in pixels, unit direction
(ux, uy) of its long axis, standard deviations sa (along) and sc (across), and per-channel
amplitudes. Its footprint is cut where it falls below a small fraction of its peak and lowered
there to zero, so no edge shows. Footprints are evaluated on rectangular pixel patches, grouped by
patch size, and summed into the channel planes with ``numpy.add.at``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]

# odd patch sizes growing by about 25 % a step
_SIZES = np.unique(np.round(3.0 * 1.25 ** np.arange(26)).astype(np.int64) // 2 * 2 + 1)
_MAX_EVALS = 1_500_000


def _bucket(k: Arr) -> Arr:
    idx = np.searchsorted(_SIZES, k)
    idx = np.minimum(idx, len(_SIZES) - 1)
    out: Arr = _SIZES[idx]
    return out


def accumulate(
    out: Arr,
    x: Arr,
    y: Arr,
    ux: Arr,
    uy: Arr,
    sa: Arr,
    sc: Arr,
    vals: Arr,
    floor: float = 0.004,
) -> None:
    """Add the splats' footprints times ``vals`` (N, C) into ``out`` (C, H, W), in place.

    The cut-off of each splat is where peak * footprint falls to ``floor`` (at least 2.2 and at
    most 4.6 standard deviations), so an opaque fibre's edge is not clipped."""
    c, h, w = out.shape
    n = len(x)
    if n == 0:
        return
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    peak = np.abs(vals).max(axis=1)
    keep = peak > floor * 0.05
    nsig = np.sqrt(2.0 * np.maximum(np.log(np.maximum(peak, 1e-9) / floor), 0.0))
    nsig = np.clip(nsig, 2.2, 4.6)
    hx = nsig * np.sqrt((sa * ux) ** 2 + (sc * uy) ** 2)
    hy = nsig * np.sqrt((sa * uy) ** 2 + (sc * ux) ** 2)
    # drop splats wholly outside the raster
    keep &= (x + hx > -1) & (x - hx < w) & (y + hy > -1) & (y - hy < h)
    if not keep.any():
        return
    sel = np.nonzero(keep)[0]
    kx = _bucket(2 * np.ceil(hx[sel]).astype(np.int64) + 1)
    ky = _bucket(2 * np.ceil(hy[sel]).astype(np.int64) + 1)
    flat = out.reshape(c, h * w)
    key = kx * 10000 + ky
    order = np.argsort(key, kind="stable")
    sel = sel[order]
    key = key[order]
    bounds = np.nonzero(np.diff(key))[0] + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(sel)]])
    for s0, e0 in zip(starts, ends, strict=True):
        kxx = int(key[s0] // 10000)
        kyy = int(key[s0] % 10000)
        per = max(1, _MAX_EVALS // (kxx * kyy))
        for s1 in range(s0, e0, per):
            idx = sel[s1 : min(e0, s1 + per)]
            _chunk(flat, h, w, kxx, kyy, idx, x, y, ux, uy, sa, sc, vals, nsig)


def _chunk(
    flat: Arr,
    h: int,
    w: int,
    kx: int,
    ky: int,
    idx: Arr,
    x: Arr,
    y: Arr,
    ux: Arr,
    uy: Arr,
    sa: Arr,
    sc: Arr,
    vals: Arr,
    nsig: Arr,
) -> None:
    cx = x[idx]
    cy = y[idx]
    ix0 = np.rint(cx).astype(np.int64) - kx // 2
    iy0 = np.rint(cy).astype(np.int64) - ky // 2
    ox = np.arange(kx)
    oy = np.arange(ky)
    px = ix0[:, None] + ox[None, :]
    py = iy0[:, None] + oy[None, :]
    dx = (px - cx[:, None]).astype(np.float32)
    dy = (py - cy[:, None]).astype(np.float32)
    a_x = ux[idx].astype(np.float32)[:, None, None]
    a_y = uy[idx].astype(np.float32)[:, None, None]
    u = dx[:, None, :] * a_x + dy[:, :, None] * a_y
    v = dy[:, :, None] * a_x - dx[:, None, :] * a_y
    isa = (1.0 / sa[idx]).astype(np.float32)[:, None, None]
    isc = (1.0 / sc[idx]).astype(np.float32)[:, None, None]
    u *= isa
    v *= isc
    q = u * u
    q += v * v
    qcut = (nsig[idx] ** 2).astype(np.float32)[:, None, None]
    edge = np.exp(-0.5 * qcut)
    g = np.exp(-0.5 * np.minimum(q, qcut))
    g -= edge
    g *= 1.0 / (1.0 - edge)
    valid_x = (px >= 0) & (px < w)
    valid_y = (py >= 0) & (py < h)
    g *= valid_y[:, :, None] & valid_x[:, None, :]
    pix = (np.clip(py, 0, h - 1)[:, :, None] * w + np.clip(px, 0, w - 1)[:, None, :]).ravel()
    v_sel = vals[idx].astype(np.float32)
    for ch in range(flat.shape[0]):
        col = v_sel[:, ch]
        if not np.any(col):
            continue
        np.add.at(flat[ch], pix, (g * col[:, None, None]).ravel())


def blobs(out: Arr, x: Arr, y: Arr, sigma: Arr, vals: Arr, floor: float = 0.004) -> None:
    """Isotropic Gaussian blobs (a special case of ``accumulate``)."""
    one = np.ones_like(np.asarray(x, np.float64))
    accumulate(out, x, y, one, 0.0 * one, sigma, sigma, vals, floor)
