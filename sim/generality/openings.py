"""Where a model's count sits on a frame with known emergence points: at follicular units'
openings, by the unit's hairs, or away from any (``scripts/bench_twin_curl.py --openings``).

A model that counts a unit's opening once whatever its hairs, or that makes up a miss at the
roots with count on shafts or skin, can read a frame's total right; this split shows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from inference.postprocess import cell_to_pixel

OPENING_UM = 96.0  # three cells of the shipped net (8 um/px, stride 4): its blobs' reach
UNIT_SIZES = (1, 2, 3, 4)


def cell_centres(shape: tuple[int, int], width: int, height: int) -> NDArray[np.float64]:
    """The centres of a map's cells (``shape`` = (rows, columns) over a frame of ``width`` x
    ``height`` pixels) in frame pixels, row by row, by the model's own rule for its peaks (a
    cell taken as one native pixel of width / columns frame pixels)."""
    hc, wc = shape
    jj, ii = np.meshgrid(np.arange(wc, dtype=np.float64), np.arange(hc, dtype=np.float64))
    return np.stack(
        [cell_to_pixel(jj.ravel(), 1, width / wc), cell_to_pixel(ii.ravel(), 1, height / hc)], 1
    )


def mass_at_openings(count: NDArray[np.float32], truth: dict[str, Any]) -> dict[str, float]:
    """The count map ``count`` (cells over the whole frame) split by the truth's hairs: for
    each unit size k, ``k`` (the mass within ``OPENING_UM`` of those units' hairs) and ``nk``
    (their units); ``far``: the mass further from any hair; ``total``."""
    upp = float(truth["um_per_px"])
    cells = cell_centres(count.shape, int(truth["width"]), int(truth["height"]))
    mass = count.ravel().astype(np.float64)
    hairs = truth["hairs"]
    out = {"total": float(mass.sum()), "far": float(mass.sum())}
    for k in UNIT_SIZES:
        out[str(k)] = out[f"n{k}"] = 0.0
    if not hairs:
        return out
    roots = np.array([(hr["x_px"], hr["y_px"]) for hr in hairs])
    dist, nearest = cKDTree(roots).query(cells)
    near = dist * upp <= OPENING_UM
    per_hair = np.bincount(nearest[near], weights=mass[near], minlength=len(hairs))
    units: dict[int, list[int]] = {}
    for i, hr in enumerate(hairs):
        units.setdefault(int(hr["unit"]), []).append(i)
    for members in units.values():
        size = str(min(len(members), UNIT_SIZES[-1]))
        out[size] += float(per_hair[members].sum())
        out["n" + size] += 1.0
    out["far"] = float(mass[~near].sum())
    return out
