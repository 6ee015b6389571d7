"""Compose one independent test image and its ground truth (see :func:`generate`)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from sim.heldout.hairs import (
    Shafts,
    Units,
    draw_shaft,
    is_vellus,
    join,
    place,
    regrow,
    subset,
)
from sim.heldout.marks import draw_dots, draw_flakes, draw_openings, draw_vessels
from sim.heldout.params import END_STYLES, Params, draw_params
from sim.heldout.skin import lighting, skin_field

GENERATOR = "heldout-1"
MIN_UM_PER_PX = 2.0
MAX_UM_PER_PX = 15.0


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    **overrides: Any,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One RGB image of scalp that shares no drawing code with the twin, and its truth.

    Args:
        seed: every random choice (appearance and geometry) follows from it.
        um_per_px: scale of the image, 2-15 um per pixel.
        width, height: image size in pixels, 32-4096.
        hairless: no hairs at all (textured skin with openings, dots and flakes).
        regrown: ``(factor, seed2)``: the same site at a later visit (see :func:`render`).
        overrides: fields of :class:`~sim.heldout.params.Params` to set instead of drawing
            them (e.g. ``hair_length="long"``, ``hair_colour="dyed_black"``).

    Returns:
        ``(image, truth)``: the uint8 (height, width, 3) image and a dict in the format of
        ``sim.render.scalp_truth`` (pixel coordinates, origin at the centre of the top-left
        pixel) plus ``tips`` (every free shaft end inside the frame: ``cut`` ends and the
        natural tapered ends of long hairs never cut), ``emergence_outside``
        (emergence points up to 200 um outside the frame), ``factors`` and ``params``.

    Raises:
        ValueError: a seed that is not a non-negative integer, a scale or size outside
            those ranges, a ``hairless`` that is not a bool, an unknown override, or a
            ``regrown`` that is not a pair of a factor in 0.2-3 and a non-negative integer.
    """
    _check_arguments(seed, um_per_px, width, height, hairless, regrown)
    p = draw_params(seed, um_per_px=um_per_px, width=width, height=height, hairless=hairless)
    if overrides:
        p = p.with_(**overrides)
    return render(seed, p, regrown)


def _is_number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float | np.number)


def _is_count(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | np.integer) and bool(v >= 0)


def _check_arguments(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> None:
    """Refuse :func:`generate`'s bad arguments with a ValueError naming the argument."""
    if not _is_count(seed):
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not _is_number(um_per_px) or not MIN_UM_PER_PX <= um_per_px <= MAX_UM_PER_PX:
        raise ValueError(f"um_per_px {um_per_px!r} outside {MIN_UM_PER_PX}-{MAX_UM_PER_PX}")
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 32 <= v <= 4096:
            raise ValueError(f"image {name} {v!r} is not an integer in 32-4096")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be True or False, not {hairless!r}")
    if regrown is None:
        return
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be a pair (factor, seed), not {regrown!r}")
    factor, seed2 = regrown
    if not _is_number(factor) or not 0.2 <= factor <= 3.0:
        raise ValueError(f"regrown factor must be a number in 0.2-3.0, not {factor!r}")
    if not _is_count(seed2):
        raise ValueError(f"regrown seed must be a non-negative integer, not {seed2!r}")


def render(
    seed: int, p: Params, regrown: tuple[float, int] | None = None
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Draw the image that ``p`` describes (``seed`` drives the per-shape randomness).

    ``regrown = (factor, seed2)``: the same site at a later visit, with ``factor`` times the
    hairs (:func:`~sim.heldout.hairs.regrow`, its own random stream from ``seed2``). Skin,
    openings, marks, lighting and every kept hair are drawn as in the first visit; new hairs
    are drawn over the old ones, shed ones are left out, and the sensor noise is new.
    """
    rng = np.random.default_rng([0x5CA1, seed])
    units, shafts = place(rng, p)
    keep = np.ones(len(shafts), dtype=bool)
    new: Shafts | None = None
    units_after, later = units, rng
    if regrown is not None:
        later = np.random.default_rng([0x6E6, regrown[1]])
        units_after, keep, new = regrow(later, p, units, shafts, regrown[0])
    ss = 3 if p.um_per_px > 6.0 else 2
    skin = skin_field(rng, p)
    canvas = Image.fromarray(np.rint(skin * 255).astype(np.uint8)).resize(
        (p.width * ss, p.height * ss), Image.Resampling.BILINEAR
    )
    draw = ImageDraw.Draw(canvas, "RGBA")
    draw_vessels(draw, rng, p, ss)
    draw_flakes(draw, rng, p, ss, 0.5)
    draw_openings(draw, rng, units, p, ss)
    draw_dots(draw, rng, p, ss)
    # A shed hair is drawn where nothing shows, so that the others' strokes stay the same.
    nowhere = ImageDraw.Draw(Image.new("RGB", (1, 1)), "RGBA")
    for i in rng.permutation(len(shafts)):
        on = draw if keep[i] else nowhere
        draw_shaft(on, shafts, int(i), rng, ss=ss, um_per_px=p.um_per_px, shading=p.shading)
    if new is not None:
        for i in later.permutation(len(new)):
            draw_shaft(draw, new, int(i), later, ss=ss, um_per_px=p.um_per_px, shading=p.shading)
    draw_flakes(draw, rng, p, ss, 0.5)
    del draw
    small = canvas.reduce(ss)
    if p.blur_px > 0.05:
        small = small.filter(ImageFilter.GaussianBlur(p.blur_px))
    img = np.asarray(small, dtype=np.float32) / 255.0
    img = img * lighting(rng, p)[..., None]
    if p.noise > 0:  # a later visit: new sensor noise
        grain = later.standard_normal((p.height, p.width, 1)) * 0.8
        grain = grain + later.standard_normal((p.height, p.width, 3)) * 0.4
        img = img + (p.noise * grain).astype(np.float32)
    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if p.jpeg_quality:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=p.jpeg_quality)
        buf.seek(0)
        with Image.open(buf) as im:
            out = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    seen = shafts if new is None else join(subset(shafts, keep), new)
    return out, truth(p, seen, units_after)


def _inside(xy: NDArray[np.float64], w: int, h: int) -> NDArray[np.bool_]:
    x, y = xy[:, 0], xy[:, 1]
    out: NDArray[np.bool_] = (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    return out


def truth(p: Params, s: Shafts, units: Units) -> dict[str, Any]:
    """Ground truth of the frame, counted from the shafts (the same rules as the twin's)."""
    w, h, upp = p.width, p.height, p.um_per_px
    area = w * h * (upp * 1e-4) ** 2
    inside = _inside(s.root, w, h)
    diam = s.diameter_um[inside]
    vellus = is_vellus(diam)
    n = int(inside.sum())
    unit_ids, per_unit = np.unique(s.unit[inside], return_counts=True)
    shares = [
        float(np.mean(np.minimum(per_unit, 4) == k)) if len(unit_ids) else 0.0 for k in (1, 2, 3, 4)
    ]
    pad = 200.0 / upp
    x, y = s.root[:, 0], s.root[:, 1]
    near = (~inside) & (x > -pad) & (x < w + pad) & (y > -pad) & (y < h + pad)
    tip_in = _inside(s.tip, w, h)
    return {
        "generator": GENERATOR,
        "hair_count": n,
        "area_cm2": area,
        "density_per_cm2": n / area,
        "terminal_density_per_cm2": int((~vellus).sum()) / area,
        "vellus_density_per_cm2": int(vellus.sum()) / area,
        "vellus_fraction": float(vellus.mean()) if n else 0.0,
        "mean_diameter_um": float(diam.mean()) if n else 0.0,
        "cumulative_thickness_mm_per_cm2": float(diam.sum()) / 1000.0 / area,
        "follicular_units_per_cm2": len(unit_ids) / area,
        "unit_shares_1_2_3_4plus": shares,
        "empty_follicles": int(((units.hairs == 0) & _inside(units.xy, w, h)).sum()),
        "um_per_px": upp,
        "width": w,
        "height": h,
        "hairs": [
            {
                "x_px": round(float(a), 2),
                "y_px": round(float(b), 2),
                "diameter_um": round(float(c), 2),
                "trimmed": bool(t),
                "unit": int(un),
            }
            for a, b, c, t, un in zip(
                x[inside], y[inside], diam, s.trimmed[inside], s.unit[inside], strict=True
            )
        ],
        "tips": [
            {
                "x_px": round(float(a), 2),
                "y_px": round(float(b), 2),
                "end": END_STYLES[int(e)],
                "cut": not bool(nat),
                "trimmed": bool(t),
                "diameter_um": round(float(d), 2),
            }
            for a, b, e, nat, t, d in zip(
                s.tip[tip_in, 0],
                s.tip[tip_in, 1],
                s.end[tip_in],
                s.natural[tip_in],
                s.trimmed[tip_in],
                s.diameter_um[tip_in],
                strict=True,
            )
        ],
        "emergence_outside": [
            {"x_px": round(float(a), 2), "y_px": round(float(b), 2)}
            for a, b in zip(x[near], y[near], strict=True)
        ],
        "factors": p.factors(),
        "params": p.as_dict(),
    }
