"""A lossy wavelet codec in the manner of JPEG 2000's irreversible path, as DICOM archives
may store dermoscopy: the irreversible colour transform (YCbCr), three levels of the CDF 9/7
wavelet by lifting (four lifting steps and a scaling, symmetric extension at the edges),
dead-zone scalar quantisation per sub-band (finer for the coarse bands, chroma twice as
coarse) with reconstruction a little inside each bin, and the inverse. No entropy coding:
only what quantisation throws away shows in the frame."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

LIFT = (-1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971)
SCALE = 1.230174104914001
LEVELS = 3
# step multipliers by level (1 = finest): horizontal or vertical detail, diagonal detail
DETAIL = {1: (1.0, 1.6), 2: (0.7, 1.1), 3: (0.5, 0.8)}
APPROX = 0.4


def _next(a: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.concatenate([a[..., 1:], a[..., -1:]], axis=-1)


def _prev(a: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.concatenate([a[..., :1], a[..., :-1]], axis=-1)


def analyse(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One CDF 9/7 step along the last axis (even length): (low, high) halves."""
    s, d = x[..., 0::2].copy(), x[..., 1::2].copy()
    d += LIFT[0] * (s + _next(s))
    s += LIFT[1] * (_prev(d) + d)
    d += LIFT[2] * (s + _next(s))
    s += LIFT[3] * (_prev(d) + d)
    return s * SCALE, d / SCALE


def synthesise(s: NDArray[np.float64], d: NDArray[np.float64]) -> NDArray[np.float64]:
    """The inverse of :func:`analyse`."""
    s, d = s / SCALE, d * SCALE
    s = s - LIFT[3] * (_prev(d) + d)
    d = d - LIFT[2] * (s + _next(s))
    s = s - LIFT[1] * (_prev(d) + d)
    d = d - LIFT[0] * (s + _next(s))
    out = np.empty((*s.shape[:-1], 2 * s.shape[-1]))
    out[..., 0::2], out[..., 1::2] = s, d
    return out


def _quantise(c: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    q = np.floor(np.abs(c) / step)
    return np.asarray(np.sign(c) * np.where(q > 0, (q + 0.4) * step, 0.0))


def _plane(x: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """One plane through LEVELS of the 2-D transform, quantised, and back."""
    details = []
    low = x
    for level in range(1, LEVELS + 1):
        lo, hi = analyse(low)  # along rows
        ll, lh = analyse(lo.T)  # then columns
        hl, hh = analyse(hi.T)
        line, diag = DETAIL[level]
        details.append(
            (_quantise(lh, line * step), _quantise(hl, line * step), _quantise(hh, diag * step))
        )
        low = ll.T
    low = _quantise(low, APPROX * step)
    for lh, hl, hh in reversed(details):
        lo = synthesise(low.T, lh).T
        hi = synthesise(hl, hh).T
        low = synthesise(lo, hi)
    return low


def codec(img: NDArray[np.uint8], step: float) -> NDArray[np.uint8]:
    """Store and read back an RGB frame; ``step`` 0 keeps it as it is."""
    if step <= 0:
        return img
    h, w, _ = img.shape
    m = 1 << LEVELS
    x = np.pad(img.astype(np.float64), ((0, -h % m), (0, -w % m), (0, 0)), mode="symmetric")
    r, g, b = x[..., 0] - 128, x[..., 1] - 128, x[..., 2] - 128
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    y, cb, cr = _plane(y, step), _plane(cb, 2 * step), _plane(cr, 2 * step)
    out = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)[
        :h, :w
    ]
    return np.asarray(np.clip(np.rint(out + 128), 0, 255), np.uint8)
