"""Training targets of the hair model from annotated emergence points (pure numpy).

The network predicts three maps on a grid of ``stride``-pixel cells:

0. terminal hairs emerging per cell (shaft >= the split diameter),
1. vellus hairs emerging per cell (shaft < the split diameter),
2. the sum of shaft diameters per cell, in units of ``DIAMETER_SCALE_UM``.

Each hair adds a small Gaussian of total mass 1 (map 2: diameter / scale), so the
integral of a map over any region is the count (or summed diameter) of the hairs
emerging there. The same function serves the twin's renders and a clinic's
annotated images.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

DIAMETER_SCALE_UM = 100.0
VELLUS_SPLIT_UM = 30.0
BLOB_SIGMA_CELLS = 1.0
N_MAPS = 3


def density_targets(
    x_px: F64,
    y_px: F64,
    diameter_um: F64,
    height: int,
    width: int,
    stride: int,
    *,
    sigma_cells: float = BLOB_SIGMA_CELLS,
    vellus_split_um: float = VELLUS_SPLIT_UM,
) -> F32:
    """The (3, height/stride, width/stride) target maps for hairs at pixel positions.

    Positions are pixel coordinates of the native-scale image (pixel centres at
    integers). Hairs outside the image still add the part of their Gaussian that
    falls inside, as the network sees it.
    """
    hc, wc = height // stride, width // stride
    out = np.zeros((N_MAPS, hc, wc), dtype=np.float32)
    s = sigma_cells * stride
    r = int(np.ceil(3 * sigma_cells)) + 1
    offsets = np.arange(-r, r + 1)
    for x, y, d in zip(x_px, y_px, diameter_um, strict=True):
        ic = int(np.floor((y + 0.5) / stride))
        jc = int(np.floor((x + 0.5) / stride))
        rows, cols = ic + offsets, jc + offsets
        # Cell centres in pixel coordinates; the Gaussian is normalised over the whole
        # window before clipping, so a hair near the edge adds only its share.
        gy = np.exp(-0.5 * (((rows + 0.5) * stride - 0.5 - y) / s) ** 2)
        gx = np.exp(-0.5 * (((cols + 0.5) * stride - 0.5 - x) / s) ** 2)
        gy /= gy.sum()
        gx /= gx.sum()
        ky = (rows >= 0) & (rows < hc)
        kx = (cols >= 0) & (cols < wc)
        if not ky.any() or not kx.any():
            continue
        g = np.outer(gy[ky], gx[kx]).astype(np.float32)
        sl = (slice(rows[ky][0], rows[ky][-1] + 1), slice(cols[kx][0], cols[kx][-1] + 1))
        out[1 if d < vellus_split_um else 0][sl] += g
        out[2][sl] += g * np.float32(d / DIAMETER_SCALE_UM)
    return out
