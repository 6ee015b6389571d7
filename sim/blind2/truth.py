"""The answer key of one image, built from the same arrays that were drawn.

A hair counts when its emergence point (the shaft vertex at s = 0, where the
centreline crosses the skin plane) lands inside the frame after the lens
distortion.  Free ends are the last vertices of shafts that do not lift out
of view.  Everything is converted to plain Python types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.follicles import TAPERED, Table
from sim.blind2.frame import Frame
from sim.blind2.look import Look
from sim.blind2.shafts import Shafts

Arr = NDArray[Any]
END_NAMES = ("square", "oblique", "frayed", "tapered")
VELLUS_UM = 30.0


def factors(look: Look, frame: Frame, hairless: bool, regrown: bool) -> dict[str, str]:
    """Coarse labels of what the image shows."""
    tone = look.num("skin_tone")
    upp = frame.upp
    exposure = look.num("exposure")
    na_blur = look.num("blur_px") + look.num("field_blur_px") / 2 + 3 * look.on("motion_blur")
    signs = [
        name
        for name in ("yellow_dots", "white_dots", "peripilar_sign", "flakes", "crusts", "vessels")
        if look.on(name)
    ]
    marks = [n for n in ("ink_mark", "ruler_edge", "micropigmentation") if look.on(n)]
    return {
        "hair_length": "hairless" if hairless else look.text("hair_length"),
        "hair_colour": look.text("hair_colour"),
        "skin_tone": "light" if tone < 1 / 3 else "medium" if tone < 2 / 3 else "dark",
        "scale": "3-5" if upp < 5 else "5-8" if upp < 8 else "8-12",
        "light": "polarised" if look.on("polarised") else "unpolarised",
        "exposure": "under" if exposure < 0.7 else "over" if exposure > 1.5 else "normal",
        "focus": "sharp" if na_blur < 0.8 else "soft" if na_blur < 2.0 else "blurred",
        "compression": f"jpeg-{int(look.num('jpeg_quality'))}" if look.on("jpeg") else "none",
        "scalp_signs": "+".join(signs) or "none",
        "marks": "+".join(marks) or "none",
        "visit": "regrown" if regrown else "baseline",
        "technique": "ring-lit-kubelka-munk-3d",
    }


def make_truth(
    frame: Frame,
    look: Look,
    sites: Table,
    hairs: Table,
    shafts: Shafts,
    hairless: bool,
    regrown: tuple[float, int] | None,
) -> dict[str, Any]:
    """The full truth dict of the brief."""
    area = frame.area_cm2
    ex, ey = frame.distort(hairs["x"], hairs["y"])
    inside = frame.inside(ex, ey)
    counted = np.flatnonzero(inside)
    unit = hairs["unit"].astype(np.int64)
    sizes = np.bincount(unit, minlength=sites["x"].size)
    diam = hairs["diam_um"][counted]
    vellus = int((diam < VELLUS_UM).sum())
    n = int(counted.size)
    units = np.unique(unit[counted])
    shares = np.zeros(4)
    if units.size:
        shares = np.bincount(np.minimum(sizes[units], 4) - 1, minlength=4)[:4] / units.size
    renumber = {int(u): i for i, u in enumerate(units)}
    hair_rows = [
        {
            "x_px": float(ex[i]),
            "y_px": float(ey[i]),
            "diameter_um": float(hairs["diam_um"][i]),
            "trimmed": bool(hairs["trimmed"][i] > 0.5),
            "unit": renumber[int(unit[i])],
            "unit_size": int(sizes[unit[i]]),
            "new": bool(hairs["new"][i] > 0.5),
        }
        for i in counted
    ]
    tx, ty = shafts.tip_x, shafts.tip_y
    has_tip = np.isfinite(tx)
    tip_in = np.flatnonzero(
        has_tip & frame.inside(np.nan_to_num(tx, nan=-9.0), np.nan_to_num(ty, nan=-9.0))
    )
    tips = [
        {
            "x_px": float(tx[i]),
            "y_px": float(ty[i]),
            "end": END_NAMES[int(hairs["end"][i])],
            "cut": bool(hairs["end"][i] != TAPERED),
            "trimmed": bool(hairs["trimmed"][i] > 0.5),
            "diameter_um": float(hairs["diam_um"][i]),
        }
        for i in tip_in
    ]
    far = frame.outside_um(ex, ey)
    near_out = np.flatnonzero(~inside & (far <= 200.0))
    ox, oy = frame.distort(sites["x"], sites["y"])
    empty = (sites["kind"] <= 1) & (sizes == 0) & frame.inside(ox, oy)
    return {
        "generator": "blind-2",
        "um_per_px": float(frame.upp),
        "width": int(frame.width),
        "height": int(frame.height),
        "hair_count": n,
        "area_cm2": float(area),
        "density_per_cm2": float(n / area),
        "terminal_density_per_cm2": float((n - vellus) / area),
        "vellus_density_per_cm2": float(vellus / area),
        "vellus_fraction": float(vellus / n) if n else 0.0,
        "mean_diameter_um": float(diam.mean()) if n else 0.0,
        "cumulative_thickness_mm_per_cm2": float(diam.sum() * 1e-3 / area),
        "follicular_units_per_cm2": float(units.size / area),
        "unit_shares_1_2_3_4plus": [float(v) for v in shares],
        "empty_follicles": int(empty.sum()),
        "hairs": hair_rows,
        "tips": tips,
        "emergence_outside": [{"x_px": float(ex[i]), "y_px": float(ey[i])} for i in near_out],
        "factors": factors(look, frame, hairless, regrown is not None),
        "params": dict(look.params),
    }
