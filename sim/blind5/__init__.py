"""blind-5: an independent generator of synthetic trichoscopy frames with exact ground truth.

Technique. Hairs are 3-D tubes: each shaft is a chain of capsules along an arc-length
parametrised centreline that starts under the skin, leaves it at the emergence point and
stands (trimmed) or lies down and waves (long). Every pixel's vertical ray is intersected
analytically with each nearby capsule (cylinder quadratic, sphere caps, flat faces at cut
ends); the hit's normal and the fibre tangent are shaded with a Kajiya-Kay model under a ring
of lights, the ray's chord through the fibre sets its per-colour opacity, and all layers over
a pixel are composited front to back. Shaft parts under the skin become an absorber that the
skin's sub-surface scattering blurs. The skin is a Beer-Lambert melanin/haemoglobin model on
B-spline random fields and a Worley cell texture (honeycomb network), with stamped openings,
yellow and white dots, halos, vessels, scarring, flakes and glare, blurred per colour channel
(red widest). The camera adds vignetting, white-balance error, auto exposure, a disc-kernel
defocus with field curvature, lateral chromatic aberration, Poisson-Gaussian noise,
sharpening, the sRGB curve and a hand-written JPEG (DCT quantisation) round trip.

Site structure. Follicular units (1-4 hairs) sit on a jittered grid; each holds four slots
with pre-drawn hairs (terminal, vellus, miniaturised, regrowing with tapered tips, broken,
exclamation-mark, black dots). A follow-up visit (``regrown``) of the same seed keeps the
skin and the units, adds hairs to empty openings, spare slots and new follicles (or removes
hairs) to scale the count by the factor, re-positions the frame by up to 2 % and 2 degrees,
and draws fresh sensor noise and gel bubbles.

Truth. A hair is listed when its emergence point (where the shaft's axis crosses the skin
plane) lies in the frame; the visible root end lies a little behind it (about r / sin of the
emergence angle), where the tube's surface meets the skin. ``diameter_um`` is the shaft's
diameter at that point (a black dot's residue diameter; an exclamation-mark hair is thinner
there than at its club-shaped tip).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.blind5.camera import develop
from sim.blind5.choices import Design, design, stream
from sim.blind5.fields import F64, Pose, blur
from sim.blind5.follicles import layout, visit
from sim.blind5.shafts import build
from sim.blind5.skin import bubbles, glare, reflectance
from sim.blind5.tubes import Shading, render

GENERATOR = "blind-5"
FITZ = ("I", "II", "III", "IV", "V", "VI")


def _check(
    seed: object, um: object, width: object, height: object, hairless: object, regrown: object
) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if isinstance(um, bool) or not isinstance(um, int | float) or not math.isfinite(um):
        raise ValueError(f"um_per_px must be a finite number, got {um!r}")
    if not 2.0 <= um <= 15.0:
        raise ValueError(f"um_per_px must lie in [2, 15], got {um!r}")
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or isinstance(v, bool) or not 32 <= v <= 4096:
            raise ValueError(f"{name} must be an int in [32, 4096], got {v!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is None:
        return
    if not isinstance(regrown, tuple) or len(regrown) != 2:
        raise ValueError(f"regrown must be None or a (factor, seed) tuple, got {regrown!r}")
    factor, seed2 = regrown
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise ValueError(f"regrown factor must be a number, got {factor!r}")
    if not math.isfinite(factor) or not 0.3 <= factor <= 3.0:
        raise ValueError(f"regrown factor must lie in [0.3, 3], got {factor!r}")
    if not isinstance(seed2, int) or isinstance(seed2, bool):
        raise ValueError(f"regrown seed must be an int, got {seed2!r}")


def _shading(d: Design, um: float) -> Shading:
    az = np.arange(6) * math.pi / 3.0
    e = d.light_elev
    lights = np.stack(
        [np.cos(az) * math.cos(e), np.sin(az) * math.cos(e), np.full(6, math.sin(e))], 1
    )
    return Shading(lights, d.hair_spec, 40.0, 0.45, 70.0 / um)


def _plain(v: Any) -> Any:
    """JSON-ready copy: tuples to lists, numpy scalars to Python numbers."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _factors(d: Design, um: float, hairless: bool, follow_up: bool) -> dict[str, str]:
    q = d.jpeg_quality
    return {
        "hair_length": "hairless" if hairless else d.hair_length,
        "hair_colour": "none" if hairless else d.hair_colour,
        "skin_tone": ("light", "medium", "dark")[(d.fitzpatrick - 1) // 2],
        "scale": "3-5" if um < 5.0 else ("5-8" if um < 8.0 else "8-12"),
        "light": d.light,
        "visit": "follow-up" if follow_up else "baseline",
        "condition": d.condition,
        "fitzpatrick": FITZ[d.fitzpatrick - 1],
        "blur": "sharp" if d.defocus_px < 0.7 else ("soft" if d.defocus_px < 1.5 else "blurred"),
        "compression": "none" if q == 0 else ("jpeg-high" if q >= 80 else "jpeg-low"),
        "noise": "low" if d.full_well >= 700.0 else "high",
    }


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[npt.NDArray[np.uint8], dict[str, Any]]:
    """Draw frame ``seed`` (or its follow-up visit) and its ground truth."""
    _check(seed, um_per_px, width, height, hairless, regrown)
    um = float(um_per_px)
    d = design(seed)
    fol = layout(d, seed, width * um / 2.0, height * um / 2.0)
    present, opening = visit(fol, None if regrown is None else float(regrown[0]), hairless)
    if regrown is None:
        pose = Pose(um, width, height)
        rng = stream(seed, 6)
    else:
        rng = stream(seed, 7, regrown[1])
        shift = rng.uniform(-0.02, 0.02, 2) * np.array([width, height]) * um
        angle = math.radians(rng.uniform(-2.0, 2.0))
        pose = Pose(um, width, height, angle, float(shift[0]), float(shift[1]))
    hairs = np.flatnonzero(present)
    chains, tips = build(d, fol.slots, hairs, pose)
    shading = _shading(d, um)
    layer = render(chains, width, height, shading)
    skin = reflectance(d, seed, fol, present, opening, pose, layer.sub)
    skin += glare(d, seed, fol, pose, shading.lights)[..., None]
    cover = (1.0 - layer.trans.mean(axis=-1)) * np.exp(-layer.height * um / 80.0)
    skin *= (1.0 - 0.35 * blur(cover, 25.0 / um))[..., None]
    radiance: F64 = layer.colour + layer.trans * skin
    top = layer.top
    del layer, skin  # free the layers before the camera's buffers
    if d.light == "gel":
        bubbles(radiance, rng, um)
    image = develop(d, radiance, rng)

    ex, ey = pose.to_px(fol.slots.x[hairs], fol.slots.y[hairs])
    inside = (ex >= -0.5) & (ex < width - 0.5) & (ey >= -0.5) & (ey < height - 0.5)
    gap_x = np.maximum(np.maximum(-0.5 - ex, ex - (width - 0.5)), 0.0)
    gap_y = np.maximum(np.maximum(-0.5 - ey, ey - (height - 0.5)), 0.0)
    near = ~inside & (np.hypot(gap_x, gap_y) * um <= 200.0)
    diam = fol.slots.diameter[hairs]
    truth_hairs = [
        {"x_px": float(ex[i]), "y_px": float(ey[i]), "diameter_um": float(diam[i])}
        for i in np.flatnonzero(inside)
    ]
    truth_tips = []
    for tip in tips:
        col, row = round(tip.x), round(tip.y)
        if not (0 <= col < width and 0 <= row < height):
            continue
        around = top[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2]
        if tip.hair in around:
            truth_tips.append(
                {"x_px": tip.x, "y_px": tip.y, "cut": tip.cut, "diameter_um": tip.diameter_um}
            )
    n = len(truth_hairs)
    area_cm2 = width * height * um * um * 1e-8
    params = {
        "design": asdict(d),
        "pose": {"angle_rad": pose.angle, "tx_um": pose.tx, "ty_um": pose.ty},
        "regrown": None if regrown is None else [float(regrown[0]), int(regrown[1])],
        "hairs_in_site": int(hairs.size),
        "capsules": int(chains.r0.size),
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": width,
        "height": height,
        "um_per_px": um,
        "hairs": truth_hairs,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam[inside])) if n else 0.0,
        "vellus_fraction": float(np.mean(diam[inside] < 30.0)) if n else 0.0,
        "tips": truth_tips,
        "emergence_outside": [
            {"x_px": float(ex[i]), "y_px": float(ey[i])} for i in np.flatnonzero(near)
        ],
        "factors": _factors(d, um, hairless, regrown is not None),
        "params": _plain(params),
    }
    return image, truth
