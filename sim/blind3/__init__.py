"""blind-3: an independent test-image generator of trichoscopy frames, for judging the hair
model on images drawn in a way that shares nothing with the digital twin.

Hairs are Catmull-Rom strokes rasterised by signed distance with analytic coverage and a
shaded-cylinder look (:mod:`sim.blind3.strokes`); the scalp is CIELAB colour with Worley,
Gabor and B-spline noise (:mod:`sim.blind3.skin`); flakes, bubbles and glare lie on top
(:mod:`sim.blind3.surface`); a photographic path (:mod:`sim.blind3.camera`) ends in JPEG.

Black dots (hairs broken at the skin's surface, on some sites) count as hairs in the truth,
each at its dot's diameter; a hairless frame has none.
"""

from __future__ import annotations

import hashlib
import math
import operator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind3.camera import blur, chromatic, expose, focus_map, illuminate
from sim.blind3.follicles import World, plant, regrow
from sim.blind3.look import check_overrides, draw_look, stream
from sim.blind3.skin import draw_skin
from sim.blind3.strokes import draw_hair, near, shaft
from sim.blind3.surface import bubbles, flakes, glare, sebum

GENERATOR = "blind-3"
TECHNIQUE = "catmull-rom-sdf+lab-worley-gabor+photo-jpeg"
_DRAW_RANK = {"vellus": 0, "broken": 1, "exclamation": 1, "stubble": 2, "long": 3}

__all__ = ["GENERATOR", "generate"]


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an int, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an int, not {value!r}") from None


def _size(name: str, value: Any) -> int:
    v = _int(name, value)
    if not 32 <= v <= 4096:
        raise ValueError(f"{name}={v}: must be in [32, 4096]")
    return v


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, not {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}={value!r}: must be finite")
    return v


def _later(regrown: Any) -> tuple[float, int] | None:
    if regrown is None:
        return None
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be (factor, seed) or None, not {regrown!r}")
    factor = _number("regrown factor", regrown[0])
    if not 0.2 <= factor <= 3.0:
        raise ValueError(f"regrown factor {factor}: must be in [0.2, 3]")
    return factor, _int("regrown seed", regrown[1])


def _seed_words(*values: int) -> list[int]:
    digest = hashlib.sha256("/".join(str(v) for v in values).encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def _scale_bin(upp: float) -> str:
    return "3-5" if upp < 5 else ("5-8" if upp < 8 else "8-12")


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
    """A trichoscopy frame (RGB uint8, (height, width, 3)) of site ``seed`` and its truth.

    ``regrown=(factor, seed2)``: the same site at a later visit with about ``factor`` times
    the hairs and fresh sensor noise. ``overrides``: named choices (see
    :data:`sim.blind3.look.OVERRIDES`). ``bare_roots`` (0-1): that share of the hair-bearing
    openings are left undrawn (no dim disc or halo: roots on plain skin), chosen from a stream
    of their own; the truth is the same. Raises ValueError on a bad argument.
    """
    seed = _int("seed", seed)
    upp = _number("um_per_px", um_per_px)
    if not 2.0 <= upp <= 15.0:
        raise ValueError(f"um_per_px={upp}: must be in [2, 15]")
    w = _size("width", width)
    h = _size("height", height)
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be True or False, not {hairless!r}")
    hairless = bool(hairless)
    later = _later(regrown)
    share = _number("bare_roots", bare_roots)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"bare_roots={share}: must be in [0, 1]")
    check_overrides(overrides)

    look = draw_look(seed, upp, overrides)
    world = plant(stream(seed, 2), look, w, h, hairless)
    noise_rng = stream(seed, 10)
    if later is not None:
        factor, seed2 = later
        world = regrow(
            world, look, factor, np.random.default_rng(_seed_words(seed, seed2, 3)), w, h
        )
        noise_rng = np.random.default_rng(_seed_words(seed, seed2, 10))

    bare = None
    if share > 0:  # hair-bearing openings left undrawn
        held = {hr.unit for hr in world.hairs}
        draws = stream(seed, 11).random(len(world.units))
        bare = [k in held and float(r) < share for k, r in enumerate(draws)]
    img, relief = draw_skin(stream(seed, 4), look, world, h, w, bare)
    glare(img, look, relief, stream(seed, 8))  # the skin's surface shine, under the hairs
    flakes(img, look, stream(seed, 5), over=False)
    shafts = {i: shaft(hr, upp) for i, hr in enumerate(world.hairs) if near(hr, upp, w, h)}
    order = sorted(shafts, key=lambda i: _DRAW_RANK[world.hairs[i].kind])
    for i in order:
        draw_hair(img, world.hairs[i], look, *shafts[i])
    flakes(img, look, stream(seed, 5), over=True)
    sebum(img, look, relief, stream(seed, 6))
    bubble_list = bubbles(img, look, stream(seed, 7))
    illuminate(img, look)
    img = blur(img, focus_map(look, h, w, stream(seed, 9)))
    img = chromatic(img, look)
    out = expose(img, look, noise_rng)

    ends = {i: (float(p[-1, 0]), float(p[-1, 1])) for i, (p, _) in shafts.items()}
    truth = _truth(world, ends, look, w, h, hairless, later, bubble_list)
    return out, truth


def _truth(
    world: World,
    ends: dict[int, tuple[float, float]],
    look: dict[str, Any],
    w: int,
    h: int,
    hairless: bool,
    later: tuple[float, int] | None,
    bubble_list: list[dict[str, float]],
) -> dict[str, Any]:
    upp = look["um_per_px"]
    hairs: list[dict[str, Any]] = []
    tips: list[dict[str, Any]] = []
    outside: list[dict[str, float]] = []
    pad = 200.0 / upp
    kinds: dict[str, int] = {}
    shafts: list[dict[str, Any]] = []
    for i, hr in enumerate(world.hairs):
        inside = -0.5 <= hr.x < w - 0.5 and -0.5 <= hr.y < h - 0.5
        if inside:
            hairs.append(
                {"x_px": float(hr.x), "y_px": float(hr.y), "diameter_um": float(hr.diameter_um)}
            )
            kinds[hr.kind] = kinds.get(hr.kind, 0) + 1
            shafts.append(
                {
                    "angle_rad": round(hr.angle, 4),
                    "length_px": round(hr.length_px, 2),
                    "kind": hr.kind,
                    "end": hr.end,
                }
            )
        elif -0.5 - pad <= hr.x < w - 0.5 + pad and -0.5 - pad <= hr.y < h - 0.5 + pad:
            outside.append({"x_px": float(hr.x), "y_px": float(hr.y)})
        if i not in ends:
            continue
        ex, ey = ends[i]
        if -0.5 <= ex < w - 0.5 and -0.5 <= ey < h - 0.5:
            tips.append(
                {
                    "x_px": ex,
                    "y_px": ey,
                    "cut": hr.end != "natural",
                    "diameter_um": float(hr.diameter_um),
                }
            )
    # A black dot is a pigmented hair broken at the skin's surface: a hair in its follicle,
    # counted as one (its diameter that of the dot), as the other generators count them.
    for u in world.units:
        if u.kind == "black" and -0.5 <= u.x < w - 0.5 and -0.5 <= u.y < h - 0.5:
            hairs.append({"x_px": float(u.x), "y_px": float(u.y), "diameter_um": 2.0 * u.radius_um})
            kinds["black_dot"] = kinds.get("black_dot", 0) + 1
            shafts.append({"angle_rad": 0.0, "length_px": 0.0, "kind": "black_dot", "end": "dot"})
    area_cm2 = w * h * (upp * 1e-4) ** 2
    diam = [x["diameter_um"] for x in hairs]
    q = int(look["jpeg_quality"])
    compression = (
        "none" if q >= 100 else ("jpeg<70" if q < 70 else ("jpeg70-85" if q < 85 else "jpeg>=85"))
    )
    factors = {
        "hair_length": "hairless" if hairless else str(look["hair_length"]),
        "hair_colour": str(look["hair_colour"]),
        "skin_tone": str(look["skin_tone"]),
        "scale": _scale_bin(upp),
        "light": str(look["light"]),
        "visit": "baseline" if later is None else "regrown",
        "technique": TECHNIQUE,
        "focus": str(look["focus"]),
        "compression": compression,
        "immersion": str(look["immersion"]),
        "flakes": str(look["flakes"]),
        "marks": "ink" if look["ink_mark"] else "none",
    }
    # params: the site's look, the same at every visit; what a visit drew is in "visit"
    params = dict(look)
    params.update({"hairless": hairless, "generator": GENERATOR})
    visit = {
        "regrown": None if later is None else [later[0], later[1]],
        "n_openings": len(world.units),
        "n_hairs_planted": len(world.hairs),
        "hair_kinds_in_frame": kinds,
        "bubbles_drawn": bubble_list,
    }
    return {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": float(upp),
        "hairs": hairs,
        "density_per_cm2": len(hairs) / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if diam else 0.0,
        "vellus_fraction": float(np.mean([d < 30 for d in diam])) if diam else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "factors": factors,
        "params": params,
        "visit": visit,
        "shafts": shafts,  # beside "hairs": direction at the opening, length, kind, end
    }
