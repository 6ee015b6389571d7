"""Put one image together: parameters, follicles, hairs, skin, optics, sensor, truth."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind.camera import bayer_capture, chromatic, defocus, finish, illumination
from sim.blind.geometry import (
    Flow,
    Frame,
    make_units,
    margin_um,
    region_box,
    take,
    without_openings,
)
from sim.blind.hair import colour_luminance, composite, contrast_label, shaft_sums
from sim.blind.noise import stream
from sim.blind.params import apply_overrides, draw_params, factor_labels, is_number
from sim.blind.population import centrelines, make_hairs, regrow
from sim.blind.skin import draw_skin, finish_skin
from sim.blind.truth import build_truth

GENERATOR = "blind-1"
TARGET_LUMA = 0.36


def _is_count(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | np.integer) and bool(v >= 0)


def _check(
    seed: Any, um_per_px: Any, width: Any, height: Any, hairless: Any, regrown: Any
) -> tuple[float, int] | None:
    """The arguments of :func:`generate`, each refused with a ValueError naming it."""
    if not _is_count(seed):
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not is_number(um_per_px) or not 2.0 <= float(um_per_px) <= 15.0:
        raise ValueError(f"um_per_px must lie in [2, 15], not {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 32 <= v <= 4096:
            raise ValueError(f"{name} must be an integer in [32, 4096], not {v!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be True or False, not {hairless!r}")
    if regrown is None:
        return None
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be a pair (factor, seed), not {regrown!r}")
    factor, seed2 = regrown
    if not is_number(factor) or not 0.2 <= float(factor) <= 3.0:
        raise ValueError(f"regrown factor must lie in [0.2, 3], not {factor!r}")
    if not _is_count(seed2):
        raise ValueError(f"regrown seed must be a non-negative integer, not {seed2!r}")
    return float(factor), int(seed2)


def step_um(upp: float) -> float:
    """Spacing of centreline points: short enough that a straight piece follows the curve."""
    return float(np.clip(25.0 * upp, 30.0, 200.0))


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    bare_roots: float = 0.0,
    **overrides: Any,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Draw one scalp close-up and its truth (see the package docstring).

    ``bare_roots`` (0-1): that share of the units holding hairs are drawn without their
    opening (roots on plain skin), from a stream of its own; the truth is the same.
    """
    again = _check(seed, um_per_px, width, height, hairless, regrown)
    if not is_number(bare_roots) or not 0.0 <= float(bare_roots) <= 1.0:
        raise ValueError(f"bare_roots must lie in [0, 1], not {bare_roots!r}")
    frame = Frame(int(width), int(height), float(um_per_px))
    params = apply_overrides(draw_params(stream(seed, "params")), overrides)
    flow = Flow(params, frame, stream(seed, "flow"))
    box = region_box(frame, margin_um(params, frame, hairless))
    units, counts = make_units(stream(seed, "units"), params, flow, box)
    if hairless:
        counts = np.zeros_like(counts)
    rows = np.repeat(np.arange(len(units)), counts)
    hairs = make_hairs(stream(seed, "hairs"), params, frame, units, rows)
    if again is not None and not hairless:
        factor, seed2 = again
        units, hairs = regrow(
            stream(seed, "regrow", seed2), params, frame, flow, box, units, hairs, factor
        )
    # hairs that can neither reach the frame nor be listed near it are left out
    reach = hairs.length + hairs.sub_len + hairs.diameter
    near = frame.distance_outside(hairs.x, hairs.y) <= np.maximum(reach, 200.0) + frame.upp
    hairs = take(hairs, np.flatnonzero(near))
    lines = centrelines(hairs, step_um(frame.upp))

    skin_units = units
    if bare_roots > 0:
        share = float(bare_roots)
        skin_units = without_openings(stream(seed, "bare_roots"), units, hairs.unit, share)
    skin = draw_skin(stream(seed, "skin"), params, frame, skin_units)
    img = skin.base
    composite(img, shaft_sums(hairs, lines, frame), str(params["hair_colour"]), frame.upp)
    finish_skin(img, skin)
    gain = TARGET_LUMA * float(params["exposure"]) * skin.exposure_ref**-0.4 / 0.4**0.6
    img *= illumination(params, frame.height, frame.width)[..., None] * np.float32(gain)
    img = chromatic(params, defocus(params, img))
    noise_rng = stream(seed, "sensor") if again is None else stream(seed, "sensor", again[1], 1)
    out = finish(params, bayer_capture(params, img, noise_rng))

    truth = build_truth(frame, units, hairs, lines, GENERATOR)
    factors = factor_labels(params, frame.upp, hairless, truth["density_per_cm2"])
    hair_luma = colour_luminance(str(params["hair_colour"]), float(params["grey_white_share"]))
    factors["contrast"] = "none" if hairless else contrast_label(skin.luma, hair_luma)
    truth["factors"] = factors
    truth["params"] = dict(params)
    if again is not None:
        truth["regrown"] = {"factor": again[0], "seed2": again[1]}
    return out, truth
