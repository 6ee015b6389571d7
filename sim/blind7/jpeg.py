"""A baseline-JPEG round trip written for blind-7: YCbCr, optional 4:2:0 chroma subsampling,
8x8 DCT, quantisation with tables from a simple frequency-weighting formula, and back.

No entropy coding is needed: only the loss matters, and the loss is all in the quantiser.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import fft, ndimage

Arr = NDArray[Any]


def tables(quality: int) -> tuple[Arr, Arr]:
    """Luma and chroma quantisation steps: coarser with frequency (more across the diagonal),
    chroma coarser than luma, all scaled by quality (1..100)."""
    u = np.arange(8)[:, None]
    v = np.arange(8)[None, :]
    f = np.sqrt(u**2 + v**2 + 0.4 * u * v)
    luma = 9.0 + 5.2 * f + 0.55 * f**2
    chroma = 15.0 + 9.0 * f + 0.9 * f**2
    q = float(np.clip(quality, 1, 100))
    scale = 5000.0 / q / 100.0 if q < 50 else (200.0 - 2.0 * q) / 100.0
    lt = np.clip(np.round(luma * scale), 1, 255).astype(np.float32)
    ct = np.clip(np.round(chroma * scale), 1, 255).astype(np.float32)
    return lt, ct


def _blocks(plane: Arr, table: Arr) -> Arr:
    h, w = plane.shape
    b = plane.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3) - 128.0
    coef = fft.dctn(b, type=2, norm="ortho", axes=(2, 3))
    coef = np.round(coef / table) * table
    back = fft.idctn(coef, type=2, norm="ortho", axes=(2, 3)) + 128.0
    out: Arr = back.transpose(0, 2, 1, 3).reshape(h, w)
    return out


def roundtrip(img: Arr, quality: int, subsample: bool) -> Arr:
    """uint8 (H, W, 3) RGB -> the same after a JPEG save and load at ``quality``."""
    h, w, _ = img.shape
    x = img.astype(np.float32)
    y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    cb = 128.0 - 0.168736 * x[..., 0] - 0.331264 * x[..., 1] + 0.5 * x[..., 2]
    cr = 128.0 + 0.5 * x[..., 0] - 0.418688 * x[..., 1] - 0.081312 * x[..., 2]
    m = 16 if subsample else 8
    hp = -(-h // m) * m
    wp = -(-w // m) * m
    lt, ct = tables(quality)

    def pad(a: Arr) -> Arr:
        out: Arr = np.pad(a, ((0, hp - h), (0, wp - w)), mode="edge")
        return out

    y2 = _blocks(pad(y), lt)[:h, :w]
    chans = []
    for c in (cb, cr):
        cp = pad(c)
        if subsample:
            small = cp.reshape(hp // 2, 2, wp // 2, 2).mean(axis=(1, 3))
            small = _blocks(small, ct)
            big = ndimage.zoom(small, 2, order=1, mode="nearest", grid_mode=True)
            chans.append(big[:h, :w])
        else:
            chans.append(_blocks(cp, ct)[:h, :w])
    cb2, cr2 = chans
    r = y2 + 1.402 * (cr2 - 128.0)
    g = y2 - 0.344136 * (cb2 - 128.0) - 0.714136 * (cr2 - 128.0)
    b = y2 + 1.772 * (cb2 - 128.0)
    out: Arr = np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)
    return out
