"""The exact answer for an image: counts, densities, and where every hair starts and ends."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.blind.geometry import INVISIBLE, Frame, Units
from sim.blind.population import END_NAMES, Hairs, Polylines

VELLUS_UM = 30.0
OUTSIDE_UM = 200.0


def build_truth(
    frame: Frame,
    units: Units,
    hairs: Hairs,
    lines: Polylines,
    generator: str,
) -> dict[str, Any]:
    """Everything a reader of the image could be asked, as plain JSON types."""
    upp = frame.upp
    area = frame.area_cm2
    inside = frame.inside(hairs.x, hairs.y)
    counted = np.flatnonzero(inside)
    diam = hairs.diameter[counted]
    n = len(counted)
    hair_list = [
        {
            "x_px": float(hairs.x[i] / upp),
            "y_px": float(hairs.y[i] / upp),
            "diameter_um": float(hairs.diameter[i]),
            "trimmed": bool(hairs.trimmed[i]),
            "unit": int(hairs.unit[i]),
        }
        for i in counted
    ]
    near = np.flatnonzero(~inside & (frame.distance_outside(hairs.x, hairs.y) <= OUTSIDE_UM))
    outside = [{"x_px": float(hairs.x[i] / upp), "y_px": float(hairs.y[i] / upp)} for i in near]

    end_pt = lines.start[1:] - 1
    tx, ty = lines.x[end_pt], lines.y[end_pt]
    tip_rows = np.flatnonzero(frame.inside(tx, ty))
    tips = [
        {
            "x_px": float(tx[i] / upp),
            "y_px": float(ty[i] / upp),
            "end": END_NAMES[int(hairs.end[i])],
            "cut": bool(hairs.cut[i]),
            "trimmed": bool(hairs.trimmed[i]),
            "diameter_um": float(hairs.diameter[i]),
        }
        for i in tip_rows
    ]

    # follicular units by the hairs of theirs that are counted
    row_of = np.searchsorted(units.ident, hairs.unit)
    in_frame_per_unit = np.bincount(row_of[counted], minlength=len(units))
    all_per_unit = np.bincount(row_of, minlength=len(units))
    sizes = in_frame_per_unit[in_frame_per_unit > 0]
    n_units = len(sizes)
    shares = [
        float(np.mean(sizes == 1)) if n_units else 0.0,
        float(np.mean(sizes == 2)) if n_units else 0.0,
        float(np.mean(sizes == 3)) if n_units else 0.0,
        float(np.mean(sizes >= 4)) if n_units else 0.0,
    ]
    empty = (all_per_unit == 0) & (units.style != INVISIBLE) & frame.inside(units.x, units.y)
    vellus = int(np.sum(diam < VELLUS_UM))
    return {
        "generator": generator,
        "um_per_px": float(upp),
        "width": int(frame.width),
        "height": int(frame.height),
        "hair_count": int(n),
        "area_cm2": float(area),
        "density_per_cm2": float(n / area),
        "terminal_density_per_cm2": float((n - vellus) / area),
        "vellus_density_per_cm2": float(vellus / area),
        "vellus_fraction": float(vellus / n) if n else 0.0,
        "mean_diameter_um": float(diam.mean()) if n else 0.0,
        "cumulative_thickness_mm_per_cm2": float(diam.sum() * 1e-3 / area),
        "follicular_units_per_cm2": float(n_units / area),
        "unit_shares_1_2_3_4plus": shares,
        "empty_follicles": int(empty.sum()),
        "hairs": hair_list,
        "tips": tips,
        "emergence_outside": outside,
    }
