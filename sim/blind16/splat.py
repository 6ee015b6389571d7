"""Elliptical weighted-average (EWA) Gaussian splatting: the one drawing primitive of blind-16.

A splat is an anisotropic Gaussian ``amp * exp(-u^2 / 2 sa^2 - v^2 / 2 sc^2)`` (``u`` along
its heading, ``v`` across) centred anywhere in the frame. Splats are grouped by footprint,
sorted by row and evaluated chunk by chunk over their pixel footprints; the weights are
summed into a field (and, weighted by each splat's colour, into a colour field) with
``np.bincount`` over the band of rows a chunk covers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

CHUNK = 1_000_000  # footprint samples per chunk
_BUCKETS = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 19, 24, 30, 38, 48, 60, 76, 96, 128])


def splat(
    shape: tuple[int, int],
    x: F64,
    y: F64,
    sa: F64,
    sc: F64,
    theta: F64,
    amp: F64,
    colour: F64 | None = None,
    reach: float = 2.7,
) -> tuple[F32, F32 | None]:
    """Sum of the splats over a ``shape`` frame (pixel centres at integer coordinates) and,
    with ``colour`` (n, 3), the colour-weighted sum (h, w, 3). The buffers are padded by the
    largest footprint, so no footprint needs clipping; the frame is cut out at the end."""
    h, w = shape
    x = np.asarray(x, np.float64)
    n = x.size
    y = np.asarray(y, np.float64)
    sa = np.broadcast_to(np.asarray(sa, np.float64), (n,))
    sc = np.broadcast_to(np.asarray(sc, np.float64), (n,))
    theta = np.broadcast_to(np.asarray(theta, np.float64), (n,))
    amp = np.broadcast_to(np.asarray(amp, np.float64), (n,))
    rad = np.ceil(reach * np.maximum(sa, sc) + 0.5)
    keep = (x + rad >= 0) & (x - rad <= w - 1) & (y + rad >= 0) & (y - rad <= h - 1) & (amp != 0)
    idx_all = np.nonzero(keep)[0]
    if idx_all.size == 0:
        empty = np.zeros((h, w), np.float32)
        return empty, (None if colour is None else np.zeros((h, w, 3), np.float32))
    bucket = _BUCKETS[np.minimum(np.searchsorted(_BUCKETS, rad[idx_all]), len(_BUCKETS) - 1)]
    pad = 2 * int(bucket.max()) + 2
    wp, hp = w + 2 * pad, h + 2 * pad
    field = np.zeros(hp * wp, np.float64)
    cfield = np.zeros((3, hp * wp), np.float64) if colour is not None else None
    for b in np.unique(bucket):
        sel = idx_all[bucket == b]
        sel = sel[np.argsort(y[sel], kind="stable")]
        off = np.arange(-b, b + 1, dtype=np.int64)
        per = max(1, CHUNK // (2 * int(b) + 1) ** 2)
        for k in range(0, sel.size, per):
            s = sel[k : k + per]
            cx, cy = x[s], y[s]
            jx = np.clip(np.rint(cx).astype(np.int64), -pad + b, w - 1 + pad - b)
            jy = np.clip(np.rint(cy).astype(np.int64), -pad + b, h - 1 + pad - b)
            ix = jx[:, None, None] + off[None, None, :]
            iy = jy[:, None, None] + off[None, :, None]
            dx = (ix - cx[:, None, None]).astype(np.float32)
            dy = (iy - cy[:, None, None]).astype(np.float32)
            c = np.cos(theta[s]).astype(np.float32)[:, None, None]
            sn = np.sin(theta[s]).astype(np.float32)[:, None, None]
            u = dx * c + dy * sn
            v = dy * c - dx * sn
            ia = (0.5 / sa[s] ** 2).astype(np.float32)[:, None, None]
            ic = (0.5 / sc[s] ** 2).astype(np.float32)[:, None, None]
            g = np.exp(-(u * u * ia + v * v * ic)) * amp[s].astype(np.float32)[:, None, None]
            row0 = int(jy.min()) - int(b) + pad
            row1 = int(jy.max()) + int(b) + pad + 1
            flat = ((iy + pad - row0) * wp + (ix + pad)).ravel()
            span = (row1 - row0) * wp
            gv = g.ravel()
            field[row0 * wp : row1 * wp] += np.bincount(flat, gv, minlength=span)
            if cfield is not None and colour is not None:
                for ch in range(3):
                    cw = (g * colour[s, ch].astype(np.float32)[:, None, None]).ravel()
                    cfield[ch, row0 * wp : row1 * wp] += np.bincount(flat, cw, minlength=span)
    out = field.reshape(hp, wp)[pad : pad + h, pad : pad + w].astype(np.float32)
    if cfield is None:
        return out, None
    cut = cfield.reshape(3, hp, wp)[:, pad : pad + h, pad : pad + w]
    return out, np.moveaxis(cut, 0, -1).astype(np.float32)


def level_alpha(field: F32, level: float) -> F32:
    """Coverage of the region where ``field`` exceeds ``level``: the first-order signed
    distance ``(field - level) / |grad field|`` (in pixels) through a one-pixel ramp."""
    gy, gx = np.gradient(field)
    grad = np.sqrt(gx * gx + gy * gy)
    dist = (field - level) / np.maximum(grad, 1e-6)
    out: F32 = np.clip(dist + 0.5, 0.0, 1.0).astype(np.float32)
    return out
