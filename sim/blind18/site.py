"""A blind-18 site: its look, drawn from the seed alone, and its follicular units and hairs,
drawn cell by cell (1 mm cells of the world, each from its own generator keyed by the seed
and the cell), so that a seed is the same scalp in any frame, size or scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CELL_UM = 1000.0
_TAG = 0xB18

# hair colours: (eumelanin, pheomelanin) in the fibre; white and grey hair hold almost none
COLOURS: dict[str, tuple[float, float]] = {
    "black": (9.0, 0.4),
    "dark brown": (3.6, 0.5),
    "brown": (2.0, 0.6),
    "light brown": (1.0, 0.55),
    "blond": (0.3, 0.55),
    "red": (0.8, 3.5),
    "grey": (3.0, 0.4),  # a mix of pigmented and white hairs
    "white": (0.03, 0.06),
}
_EUMELANIN = np.array([0.419, 0.697, 1.37])  # absorption per unit concentration, R G B
_PHEOMELANIN = np.array([0.187, 0.4, 1.05])
# per Fitzpatrick type: epidermal melanin volume fraction (low, high)
_MELANIN = {1: (0.015, 0.03), 2: (0.03, 0.055), 3: (0.055, 0.1), 4: (0.1, 0.17)}
_MELANIN |= {5: (0.17, 0.27), 6: (0.27, 0.42)}
_PATTERNS = {
    # density (/cm2), vellus share, intermediate share, black dots, broken, unit sizes 1-4
    "normal": ((170.0, 330.0), 0.06, 0.12, 0.005, 0.02, (0.33, 0.4, 0.19, 0.08)),
    "androgenetic": ((90.0, 230.0), 0.3, 0.3, 0.01, 0.02, (0.58, 0.3, 0.09, 0.03)),
    "alopecia_areata": ((50.0, 170.0), 0.15, 0.15, 0.14, 0.12, (0.5, 0.3, 0.13, 0.07)),
    "near_bald": ((4.0, 28.0), 0.35, 0.25, 0.06, 0.06, (0.55, 0.3, 0.1, 0.05)),
    "bare": ((0.0, 0.0), 0.0, 0.0, 0.0, 0.0, (1.0, 0.0, 0.0, 0.0)),
}


def _zigzag(k: int) -> list[int]:
    z = 2 * k if k >= 0 else -2 * k - 1
    words = []
    while True:
        words.append(z & 0xFFFFFFFF)
        z >>= 32
        if not z:
            return words


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A generator keyed by the site's seed and ``keys`` (any ints, negative or huge)."""
    entropy = [_TAG, *_zigzag(seed), len(keys)]
    for k in keys:
        w = _zigzag(k)
        entropy += [len(w), *w]
    return np.random.default_rng(entropy)


def fibre_albedo(eu: float, pheo: float) -> list[float]:
    """Multiple-scattering albedo (R, G, B) of a hair fibre holding the given melanins."""
    a = 0.7 * np.exp(-(eu * _EUMELANIN + pheo * _PHEOMELANIN))
    return [round(float(v), 4) for v in a]


def _pick(r: np.random.Generator, options: dict[str, float]) -> str:
    names = list(options)
    p = np.array([options[n] for n in names])
    return names[int(r.choice(len(names), p=p / p.sum()))]


def site_look(seed: int) -> dict[str, Any]:
    """Everything about a site that is not its hairs: tones, light, camera (JSON values)."""
    r = rng_for(seed, 0)
    fitz = int(r.choice(6, p=[0.15, 0.2, 0.2, 0.17, 0.14, 0.14])) + 1
    if fitz >= 5:
        colour = _pick(r, {"black": 6, "dark brown": 3, "grey": 1, "white": 0.5, "brown": 0.5})
    else:
        colour = _pick(
            r,
            {
                "black": 1.5,
                "dark brown": 2.0,
                "brown": 2.0,
                "light brown": 1.3,
                "blond": 1.3,
                "red": 0.8,
                "grey": 1.0,
                "white": 0.6,
            },
        )
    pattern = _pick(
        r,
        {"normal": 0.42, "androgenetic": 0.24, "alopecia_areata": 0.1, "near_bald": 0.19},
    )
    if r.random() < 0.05:
        pattern = "bare"
    dens, vel, inter, bdots, broken, sizes = _PATTERNS[pattern]
    length = _pick(r, {"trimmed": 0.45, "long": 0.25, "mixed": 0.3})
    light = "polarised" if r.random() < 0.6 else "non-polarised"
    dyed = colour not in ("grey", "white") and r.random() < 0.08
    dye = _pick(r, {"black": 1, "red": 1, "blond": 1}) if dyed else None
    mel_lo, mel_hi = _MELANIN[fitz]
    bald = pattern in ("near_bald", "bare")
    look: dict[str, Any] = {
        "fitzpatrick": fitz,
        "skin_tone": "light" if fitz <= 2 else "medium" if fitz <= 4 else "dark",
        "hair_colour": colour,
        "dye": dye,
        "dyed": dyed,
        "grey_white_share": round(float(r.uniform(0.3, 0.8)), 3) if colour == "grey" else 0.0,
        "pattern": pattern,
        "hair_length": length,
        "light": light,
        "density_target": round(float(r.uniform(*dens)), 2),
        "vellus_share": vel,
        "intermediate_share": inter,
        "black_dot_share": bdots,
        "broken_share": broken,
        "unit_sizes": list(sizes),
        "terminal_um": round(float(r.uniform(58.0, 95.0)), 2),
        "trimmed_um": round(float(r.uniform(480.0, 1050.0)), 1),
        "long_um": round(float(r.uniform(3000.0, 9000.0)), 1),
        "mixed_long_share": round(float(r.uniform(0.2, 0.6)), 3),
        "stub_elevation_deg": [round(float(v), 2) for v in sorted(r.uniform(16.0, 60.0, 2))],
        "stream_deg": round(float(r.uniform(0.0, 360.0)), 2),
        "stream_turn_per_mm": round(float(r.normal(0.0, 6.0)), 3),
        "spread_deg": round(float(r.uniform(8.0, 35.0)), 2),
        "curl": _pick(r, {"straight": 0.45, "wavy": 0.4, "curly": 0.15 + 0.5 * (fitz == 6)}),
        "cut_styles": [round(float(v), 3) for v in r.dirichlet([3.0, 2.0, 1.5])],
        "melanin": round(float(r.uniform(mel_lo, mel_hi)), 4),
        "blood": round(float(r.uniform(0.003, 0.009)), 5),
        "erythema": round(float(r.uniform(0.0, 1.0) ** 2), 3),
        "network": round(float(r.uniform(0.0, 1.0) * (0.5 + 0.5 * bald + 0.3 * (fitz >= 4))), 3),
        "network_um": round(float(r.uniform(90.0, 170.0)), 1),
        "freckles": round(float(r.uniform(0.0, 1.0) * bald * (fitz <= 3)), 3),
        "white_dots_per_mm2": round(
            float(r.uniform(0.3, 2.5) if fitz >= 4 else r.uniform(0, 0.4)), 3
        ),
        "empty_openings_per_mm2": round(float(r.uniform(0.1, 1.5 + 2.0 * bald)), 3),
        "yellow_dot_share": round(
            float(r.uniform(0.0, 0.25) + 0.5 * (pattern in ("androgenetic", "alopecia_areata"))), 3
        ),
        "halo": _pick(r, {"none": 0.5, "peripilar": 0.3, "white": 0.2}),
        "vessels_per_mm2": round(float(r.uniform(0.0, 1.0) ** 2 * (1.5 + 2.0 * bald)), 3),
        "scale": round(float(r.uniform(0.0, 1.0) ** 2.5) if r.random() < 0.6 else 0.0, 3),
        "sebum": round(float(r.uniform(0.0, 1.0)), 3),
        "relief_um": round(float(r.uniform(1.5, 5.0)), 2),
        "leds": int(r.integers(4, 13)),
        "led_elevation_deg": round(float(r.uniform(35.0, 70.0)), 2),
        "led_spread": round(float(r.uniform(0.0, 0.25)), 3),
        # light reaching the skin diffusely (the cone's walls, the plate, other skin)
        "ambient": round(float(r.uniform(0.2, 0.45)), 3),
        "roughness_hair": round(float(r.uniform(0.18, 0.35)), 3),
        "roughness_skin": round(float(r.uniform(0.3, 0.6)), 3),
        "defocus_um": round(float(r.uniform(0.0, 1.0) ** 2 * 22.0), 2),
        "focus_um": round(float(r.uniform(0.0, 80.0)), 1),
        "dof_slope": round(float(r.uniform(0.03, 0.09)), 4),
        "lens_um": round(float(r.uniform(2.0, 6.0)), 2),
        "exposure_ev": round(float(r.normal(0.0, 0.3)), 3),
        "full_well": round(float(np.exp(r.uniform(np.log(2500.0), np.log(20000.0)))), 1),
        "read_noise": round(float(r.uniform(1.5, 8.0)), 2),
        "wb_error": [round(float(v), 4) for v in r.normal(1.0, 0.05, 3)],
        "saturation": round(float(r.uniform(0.85, 1.2)), 3),
        "contrast": round(float(r.uniform(0.9, 1.2)), 3),
        "vignetting": round(float(r.uniform(0.0, 0.35)), 3),
        "light_tilt": round(float(r.uniform(0.0, 0.15)), 3),
        "sharpen": round(float(r.uniform(0.0, 0.7) if r.random() < 0.6 else 0.0), 3),
        "jpeg_quality": int(r.integers(55, 96)) if r.random() < 0.75 else 0,
        "chroma_subsampling": int(r.choice([0, 2])),
    }
    # how far from its emergence point any of the site's hairs may reach
    longest = look["long_um"] * 1.3 if length != "trimmed" else look["trimmed_um"] * 1.2
    look["reach_um"] = round(max(longest, 3000.0 if length != "trimmed" else 1400.0) + 700.0, 1)
    return look


def _direction(look: dict[str, Any], x: float, y: float) -> float:
    """The hair stream's azimuth (radians, world) at a world point: turning slowly."""
    base = math.radians(look["stream_deg"])
    turn = math.radians(look["stream_turn_per_mm"]) * 1e-3
    return base + turn * (0.8 * x - 0.6 * y) + 0.15 * math.sin(x * 2.1e-4 + y * 1.3e-4)


def _patch(seed: int, look: dict[str, Any], x: float, y: float) -> float:
    """Density multiplier at a world point: smooth patches (bald patches in alopecia areata)."""
    r = rng_for(seed, 9)
    k = r.uniform(2 * math.pi / 9000.0, 2 * math.pi / 2500.0, 3)
    a = r.uniform(0.0, 2 * math.pi, 3)
    ph = r.uniform(0.0, 2 * math.pi, 3)
    v = (
        sum(math.sin(k[i] * (x * math.cos(a[i]) + y * math.sin(a[i])) + ph[i]) for i in range(3))
        / 3.0
    )
    if look["pattern"] == "alopecia_areata":
        return float(np.clip(1.6 * v + 1.0, 0.0, 2.0))
    return 1.0 + 0.35 * v


def _hair(
    r: np.random.Generator,
    look: dict[str, Any],
    unit: dict[str, Any],
    k: int,
    new: bool,
) -> dict[str, Any]:
    kind_r = r.random()
    shares = (
        look["black_dot_share"],
        look["broken_share"],
        look["vellus_share"],
        look["intermediate_share"],
    )
    edges = np.cumsum(shares)
    kind = "terminal"
    for name, edge in zip(("black_dot", "broken", "vellus", "intermediate"), edges, strict=True):
        if kind_r < edge:
            kind = name
            break
    if new and kind in ("black_dot", "broken"):
        kind = "intermediate"  # a follow-up's new hairs are regrowing, not broken
    term = look["terminal_um"]
    d = {
        "terminal": float(r.uniform(0.8, 1.2)) * term,
        "intermediate": float(r.uniform(30.0, 54.0)),
        "vellus": float(r.uniform(12.0, 29.0)),
        "broken": float(r.uniform(0.75, 1.1)) * term,
        "black_dot": float(r.uniform(0.75, 1.15)) * term,
    }[kind]
    d = float(np.clip(d, 12.0, 115.0))
    eu, ph = COLOURS[look["hair_colour"]]
    if look["hair_colour"] == "grey" and r.random() < look["grey_white_share"]:
        eu, ph = COLOURS["white"]
    scale = float(np.exp(r.normal(0.0, 0.15)))
    if kind == "vellus":
        scale *= float(r.uniform(0.15, 0.5))
    root = fibre_albedo(eu * scale, ph * scale)
    shaft = root
    if look["dyed"] and kind != "vellus":
        deu, dph = COLOURS[look["dye"]]
        shaft = fibre_albedo(deu * float(np.exp(r.normal(0.0, 0.08))), dph)
    if kind == "black_dot":
        root = shaft = [round(c * 0.6, 4) for c in root]
    spread = math.radians(look["spread_deg"])
    azimuth = unit["azimuth"] + float(r.normal(0.0, spread))
    lo_el, hi_el = look["stub_elevation_deg"]
    long_hair = look["hair_length"] == "long" or (
        look["hair_length"] == "mixed" and r.random() < look["mixed_long_share"]
    )
    end, style = "cut", "square"
    styles = look["cut_styles"]
    style = ("square", "oblique", "frayed")[int(r.choice(3, p=np.array(styles) / sum(styles)))]
    if kind == "black_dot":
        elev, length, end = float(r.uniform(62.0, 80.0)), 0.0, "dot"
        length = float(r.uniform(5.0, 14.0)) / math.sin(math.radians(elev))
        style = "square"
    elif kind == "broken":
        elev, length = float(r.uniform(28.0, 70.0)), float(r.uniform(70.0, 450.0))
        style = "frayed" if r.random() < 0.6 else "oblique"
    elif new:
        elev, length, end = float(r.uniform(22.0, 60.0)), float(r.uniform(120.0, 900.0)), "taper"
    elif kind == "vellus":
        elev, end = float(r.uniform(8.0, 25.0)), "taper"
        length = float(r.uniform(250.0, 1400.0 if look["hair_length"] == "trimmed" else 3000.0))
    elif long_hair:
        elev = float(r.uniform(7.0, 24.0))
        length = look["long_um"] * float(r.uniform(0.55, 1.3))
        end = "cut" if r.random() < 0.6 else "taper"
    else:
        elev = float(r.uniform(lo_el, hi_el))
        length = look["trimmed_um"] * float(r.uniform(0.8, 1.2))
    # hairs of a unit leave its opening side by side, across the stream
    n = unit["n"]
    across = (k - (n - 1) / 2.0) * unit["spacing"]
    ca, sa = math.cos(unit["azimuth"]), math.sin(unit["azimuth"])
    jit = r.normal(0.0, 4.0, 2)
    x = unit["x"] - sa * across + float(jit[0])
    y = unit["y"] + ca * across + float(jit[1])
    return {
        "x": x,
        "y": y,
        "d": round(d, 2),
        "kind": kind,
        "id": f"{unit['id']}h{k}",
        "unit": unit["id"],
        "colour": shaft,
        "root_colour": root,
        "new": new,
        "azimuth": azimuth,
        "elevation": math.radians(elev),
        "length": length,
        "lying": bool(kind == "vellus" or (long_hair and kind in ("terminal", "intermediate"))),
        "end": end,
        "cut_style": style if end == "cut" else None,
        "regrow_um": float(r.uniform(200.0, 1500.0)) if look["dyed"] else 0.0,
        "shape_seed": int(r.integers(0, 2**31)),
        # vellus and unpigmented fibres are translucent
        "opacity": round(
            float(r.uniform(0.3, 0.6)) if kind == "vellus" else 0.8 if eu < 0.5 else 1.0, 3
        ),
    }


def cell(
    seed: int, look: dict[str, Any], i: int, j: int, density: float, visit: int | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The follicular units (openings, with or without hair) and hairs of cell (i, j) at
    ``density`` hairs/cm2; ``visit`` keys the new units of a follow-up (None: the site's own)."""
    r = rng_for(seed, 1, i, j) if visit is None else rng_for(seed, 2, visit, i, j)
    cx, cy = (i + 0.5) * CELL_UM, (j + 0.5) * CELL_UM
    sizes = np.array(look["unit_sizes"])
    mean_size = float((sizes * np.arange(1, 5)).sum())
    lam = density / 100.0 / mean_size * _patch(seed, look, cx, cy)
    n_units = int(r.poisson(lam)) if lam > 0 else 0
    n_empty = int(r.poisson(look["empty_openings_per_mm2"])) if visit is None else 0
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    tag = "c" if visit is None else f"v{visit}c"
    for u in range(n_units + n_empty):
        x = (i + float(r.random())) * CELL_UM
        y = (j + float(r.random())) * CELL_UM
        n = int(r.choice(4, p=sizes)) + 1 if u < n_units else 0
        az = _direction(look, x, y) + float(r.normal(0.0, 0.12))
        spacing = look["terminal_um"] * 0.9 + 8.0
        unit = {
            "id": f"{tag}{i}_{j}u{u}",
            "x": x,
            "y": y,
            "n": n,
            "azimuth": az,
            "spacing": spacing,
            # wide enough that every hair of the unit emerges inside it
            "r": (n - 1) / 2.0 * spacing + float(r.uniform(35.0, 70.0)),
            "depth": float(r.uniform(6.0, 22.0)),
            "yellow": bool(n <= 1 and r.random() < look["yellow_dot_share"] * (1.6 - n)),
        }
        units.append(unit)
        for k in range(n):
            hairs.append(_hair(r, look, unit, k, visit is not None))
    return units, hairs
