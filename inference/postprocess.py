"""Post-processing of the hair model as pure numpy functions: integrals, peaks, diameters.

The model's three maps (see :mod:`inference.targets`) are densities: their sum
over the frame is the number of terminal hairs, of vellus hairs, and the summed
shaft diameter. Emergence points (follicular units) are the local maxima of the
total density; the count nearest a peak (:func:`unit_masses`) says how many hairs share that
opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Peaks:
    """Emergence points found in a density map: cell coordinates (sub-cell) and hairs each."""

    row: F64
    col: F64
    mass: F64  # hairs around the point (summed density in the window)
    diameter_um: F64  # mean shaft diameter of the hairs at the point

    def __len__(self) -> int:
        return int(self.row.shape[0])


def window_sum(m: F32, radius: int) -> F64:
    """Sum of ``m`` over the (2r+1)^2 window around every cell (zeros beyond the edges)."""
    # One extra leading zero row and column turn the inclusive cumsum into window sums.
    p = np.pad(m.astype(np.float64), (radius + 1, radius))
    c = p.cumsum(0).cumsum(1)
    k = 2 * radius + 1
    out: F64 = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return out


def find_peaks(
    density: F32,
    diameter_sum: F32,
    *,
    radius_cells: int = 2,
    min_mass: float = 0.5,
    diameter_scale_um: float = 100.0,
) -> Peaks:
    """Emergence points: cells whose window mass is the largest in their window and >= ``min_mass``.

    ``density`` is the total (terminal + vellus) map, ``diameter_sum`` the summed
    diameter map in units of ``diameter_scale_um``. The position is the density
    centroid of the window, the diameter the window's summed diameter over its mass.
    """
    if density.shape != diameter_sum.shape or density.ndim != 2:
        raise ValueError("density and diameter_sum must be 2-D maps of one shape")
    r = radius_cells
    mass = window_sum(density, r)
    # A tiny ramp breaks ties on plateaus, so a flat top yields one peak, not several.
    h, w = mass.shape
    ramp = np.arange(h * w, dtype=np.float64).reshape(h, w) * 1e-12
    score = mass + ramp
    # Separable max filter: rows, then columns, as running maxima of shifted views.
    padded = np.pad(score, r, constant_values=-np.inf)
    rows_max = padded[:h].copy()
    for s in range(1, 2 * r + 1):
        np.maximum(rows_max, padded[s : s + h], out=rows_max)
    local_max = rows_max[:, :w].copy()
    for s in range(1, 2 * r + 1):
        np.maximum(local_max, rows_max[:, s : s + w], out=local_max)
    is_peak = (score >= local_max) & (mass >= min_mass)
    rows, cols = np.nonzero(is_peak)
    # Centroids and diameters only at the peaks (a few hundred windows, not every cell).
    k = np.arange(-r, r + 1)
    rr, cc = rows[:, None] + k, cols[:, None] + k  # (n, 2r+1) cell indices, may lie outside
    at = (rr[:, :, None] + r, cc[:, None, :] + r)
    win = np.pad(density.astype(np.float64), r)[at]  # (n, 2r+1, 2r+1), zeros outside
    dsum = np.pad(diameter_sum.astype(np.float64), r)[at].sum(axis=(1, 2))
    m = mass[rows, cols]
    safe = np.where(m > 0, m, 1.0)
    return Peaks(
        row=(win.sum(axis=2) * rr).sum(axis=1) / safe,
        col=(win.sum(axis=1) * cc).sum(axis=1) / safe,
        mass=m,
        diameter_um=np.clip(dsum / safe * diameter_scale_um, 0.0, None),
    )


def cell_to_pixel(cell: F64, stride: int, scale: float) -> F64:
    """Cell coordinate (cell centres at integers) to pixel of the original image.

    ``scale`` is original pixels per native pixel (native um/px over image um/px).
    """
    native = (cell + 0.5) * stride - 0.5
    out: F64 = (native + 0.5) * scale - 0.5
    return out


@dataclass(frozen=True)
class Totals:
    """Frame integrals of the three maps."""

    terminal: float
    vellus: float
    diameter_um_sum: float

    @property
    def hairs(self) -> float:
        return self.terminal + self.vellus


def integrate(maps: F32, diameter_scale_um: float) -> Totals:
    """Integrals of the (3, h, w) maps; a slightly negative total (no hairs) reads as 0.

    The hairs are the signed sum of the two count maps, clamped at zero once, as the
    training loss, the fitted count gain and the load-time self-check all count them; the
    terminal / vellus split is the vellus map's share of it, clipped to 0-1. Clamping each
    map on its own instead read bare skin high wherever one map summed below zero and the
    other above (FP32 on the twin's bare renders: 8.1 hairs/cm2 against 2.0 for the signed
    sum; docs/model_card.md, "One clamp, not two").
    """
    s = maps.astype(np.float64).sum(axis=(1, 2))
    signed = float(s[0] + s[1])
    hairs = max(0.0, signed)
    vellus_share = min(1.0, max(0.0, float(s[1]) / signed)) if signed > 0 else 0.0
    return Totals(
        terminal=hairs * (1.0 - vellus_share),
        vellus=hairs * vellus_share,
        diameter_um_sum=max(0.0, float(s[2]) * diameter_scale_um),
    )


# A unit's hairs are the count within this many cells (160 um at the 32 um cell) of its point,
# each cell's count going to its nearest unit (docs/model_card.md, "A unit's hairs").
UNIT_RADIUS_CELLS = 5.0


def unit_masses(density: F32, peaks: Peaks, radius_cells: float = UNIT_RADIUS_CELLS) -> F64:
    """The hairs of each unit: the count of every cell within ``radius_cells`` of a unit's
    point (its centroid, to the nearest cell) given to the nearest one.

    The window mass of :func:`find_peaks` counts only the 5 x 5 cells around a point, while
    the net spreads a hair's count further than that along its shaft (under half of it lies
    within 96 um of the root, docs/model_card.md "After c67: where the count sits"): units
    read too few hairs, and the recall that counts them, too few roots. Cells nearer another
    unit go to it, so no hair is counted twice.
    """
    n = len(peaks)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    h, w = density.shape
    r = np.clip(np.rint(peaks.row), 0, h - 1).astype(np.int64)
    c = np.clip(np.rint(peaks.col), 0, w - 1).astype(np.int64)
    owner = np.zeros((h, w), dtype=np.int64)
    owner[r, c] = np.arange(1, n + 1)
    dist, (ii, jj) = ndimage.distance_transform_edt(owner == 0, return_indices=True)
    near = owner[ii, jj]
    near[dist > radius_cells] = 0
    weights = density.astype(np.float64).ravel()
    out: F64 = np.bincount(near.ravel(), weights=weights, minlength=n + 1)[1:].astype(np.float64)
    return out


def unit_sizes(mass: F64) -> NDArray[np.int64]:
    """Hairs per follicular unit from peak masses (at least 1 per detected unit)."""
    out: NDArray[np.int64] = np.maximum(1, np.rint(mass)).astype(np.int64)
    return out


def unit_shares(sizes: NDArray[np.int64]) -> list[float]:
    """Shares of units holding 1, 2, 3 and 4+ hairs (all zero without units)."""
    if sizes.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    s = np.minimum(sizes, 4)
    return [float(np.mean(s == k)) for k in (1, 2, 3, 4)]
