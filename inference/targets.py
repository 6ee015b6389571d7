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


TIP_MAP = 3  # training only: cut tips, a Gaussian of mass 1 each (negatives for the count)
SHAFT_MAP = 4  # training only: 1 in cells a hair shaft crosses
N_TRAIN_MAPS = 5
# The net's output after the training maps when a run prices roots (TrainSettings.root_weight):
# a logit per cell that a root (a follicular unit's opening) lies there. Its target is made
# from the count maps during training (inference.training.loop.root_targets), not stored.
ROOT_OUT = N_TRAIN_MAPS


def training_targets(
    x_px: F64,
    y_px: F64,
    diameter_um: F64,
    tips_xy: F64,
    shafts: list[F64],
    height: int,
    width: int,
    stride: int,
) -> F32:
    """The count maps of :func:`density_targets` plus where cut tips and shafts lie.

    ``tips_xy`` is (n, 2) pixel positions of cut ends; ``shafts`` are pixel-space points
    along each shaft, no further apart than a cell. Maps :data:`TIP_MAP` and
    :data:`SHAFT_MAP` are not outputs of the shipped model: training predicts them too and
    punishes count mass on tips and shafts away from emergence points, so a tip, a shaft
    and textured skin are explicit negatives.
    """
    hc, wc = height // stride, width // stride
    out = np.zeros((N_TRAIN_MAPS, hc, wc), dtype=np.float32)
    out[:N_MAPS] = density_targets(x_px, y_px, diameter_um, height, width, stride)
    if len(tips_xy):
        # Diameter 0 puts each tip's Gaussian in the vellus count map (index 1).
        zero = np.zeros(len(tips_xy))
        tips = density_targets(tips_xy[:, 0], tips_xy[:, 1], zero, height, width, stride)
        out[TIP_MAP] = tips[1]
    if shafts:
        pts = np.concatenate(shafts)
        i = np.floor((pts[:, 1] + 0.5) / stride).astype(np.int64)
        j = np.floor((pts[:, 0] + 0.5) / stride).astype(np.int64)
        ok = (i >= 0) & (i < hc) & (j >= 0) & (j < wc)
        out[SHAFT_MAP][i[ok], j[ok]] = 1.0
    return out
