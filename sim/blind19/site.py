"""A blind-19 site: its look (skin, hair, light, camera), drawn from the seed alone, and its
follicular units and hairs, drawn per 1 mm world cell from a generator keyed by the seed and
the cell, so that one seed is the same scalp in any frame, size or scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CELL_UM = 1000.0
_KEY = 0xB19
# LED bands the monochrome sensor sees in turn (nm): red, green, blue
BANDS_NM = (630.0, 525.0, 460.0)
# melanin absorption of a fibre, per unit load, at the three bands (eu ~ l^-3.5, pheo ~ l^-5)
_EU = np.array([(630.0 / b) ** 3.5 for b in BANDS_NM])
_PHEO = np.array([(630.0 / b) ** 5.0 for b in BANDS_NM])
# (eumelanin, pheomelanin) load of the fibre per hair colour
FIBRE = {
    "black": (4.5, 0.1),
    "dark brown": (2.6, 0.15),
    "brown": (1.5, 0.2),
    "light brown": (0.75, 0.2),
    "blond": (0.22, 0.16),
    "red": (0.4, 1.1),
    "grey": (2.5, 0.12),  # pigmented fibres of a greying site; the rest are white
    "white": (0.01, 0.02),
}
# epidermal melanin volume fraction per Fitzpatrick type (low, high)
_EPI_MELANIN = {1: (0.012, 0.025), 2: (0.025, 0.05), 3: (0.05, 0.1), 4: (0.1, 0.18)}
_EPI_MELANIN |= {5: (0.18, 0.26), 6: (0.26, 0.38)}
# pattern: density range /cm2, vellus, intermediate, black-dot and broken shares, unit sizes
_PATTERN: dict[str, tuple[tuple[float, float], float, float, float, float, list[float]]] = {
    "normal": ((160.0, 320.0), 0.07, 0.12, 0.006, 0.02, [0.3, 0.42, 0.2, 0.08]),
    "androgenetic": ((80.0, 220.0), 0.3, 0.28, 0.01, 0.02, [0.6, 0.28, 0.09, 0.03]),
    "alopecia_areata": ((50.0, 160.0), 0.15, 0.15, 0.15, 0.12, [0.5, 0.3, 0.13, 0.07]),
    "near_bald": ((4.0, 26.0), 0.35, 0.25, 0.06, 0.05, [0.55, 0.3, 0.1, 0.05]),
    "bare": ((0.0, 0.0), 0.0, 0.0, 0.0, 0.0, [1.0, 0.0, 0.0, 0.0]),
}


def _words(v: int) -> list[int]:
    """A signed int of any size as 32-bit words (sign folded in), for a SeedSequence."""
    z = 2 * v if v >= 0 else -2 * v - 1
    out = [z & 0xFFFFFFFF]
    z >>= 32
    while z:
        out.append(z & 0xFFFFFFFF)
        z >>= 32
    return out


def stream(seed: int, *keys: int) -> np.random.Generator:
    """The generator of one part of site ``seed``, named by ``keys``."""
    entropy = [_KEY, len(keys), *_words(seed)]
    for k in keys:
        w = _words(k)
        entropy += [len(w), *w]
    return np.random.default_rng(entropy)


def fibre_reflectance(eu: float, pheo: float) -> list[float]:
    """A fibre's diffuse reflectance in the red, green and blue LED bands."""
    return [round(float(v), 4) for v in 0.74 * np.exp(-(eu * _EU + pheo * _PHEO))]


def _choose(r: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(r.choice(len(keys), p=p / p.sum()))]


def site_look(seed: int) -> dict[str, Any]:
    """Everything about site ``seed`` but its hairs (JSON values only)."""
    r = stream(seed, 0)
    fitz = int(r.choice(6, p=[0.14, 0.2, 0.2, 0.18, 0.14, 0.14])) + 1
    dark_skin = fitz >= 5
    colours = {"black": 6.0, "dark brown": 3.0, "grey": 1.0, "white": 0.4, "brown": 0.6}
    if not dark_skin:
        colours = {"black": 1.4, "dark brown": 2.0, "brown": 2.0, "light brown": 1.4}
        colours |= {"blond": 1.3, "red": 0.8, "grey": 1.0, "white": 0.6}
    colour = _choose(r, colours)
    pattern = _choose(
        r, {"normal": 0.42, "androgenetic": 0.25, "alopecia_areata": 0.1, "near_bald": 0.18}
    )
    if r.random() < 0.05:
        pattern = "bare"
    dens, vellus, inter, dots, broken, sizes = _PATTERN[pattern]
    bald = pattern in ("near_bald", "bare")
    length = _choose(r, {"trimmed": 0.45, "long": 0.25, "mixed": 0.3})
    mel = _EPI_MELANIN[fitz]
    dyed = colour not in ("grey", "white") and r.random() < 0.08
    look: dict[str, Any] = {
        "fitzpatrick": fitz,
        "skin_tone": "light" if fitz <= 2 else ("medium" if fitz <= 4 else "dark"),
        "hair_colour": colour,
        "dyed": dyed,
        "dye": _choose(r, {"black": 1.0, "red": 1.0, "blond": 1.0}) if dyed else None,
        "white_share": round(float(r.uniform(0.3, 0.8)), 3) if colour == "grey" else 0.0,
        "pattern": pattern,
        "hair_length": length,
        "light": "polarised" if r.random() < 0.6 else "non-polarised",
        "contact": bool(r.random() < 0.5),  # a glass plate on gel, or the cone held off
        "density_target": round(float(r.uniform(*dens)), 2),
        "vellus_share": vellus,
        "intermediate_share": inter,
        "black_dot_share": dots,
        "broken_share": broken,
        "unit_sizes": sizes,
        "terminal_um": round(float(r.uniform(55.0, 95.0)), 2),
        "trimmed_um": round(float(r.uniform(450.0, 1100.0)), 1),
        "long_um": round(float(r.uniform(3000.0, 8500.0)), 1),
        "long_share": round(float(r.uniform(0.2, 0.6)), 3),
        "stub_elevation_deg": sorted(round(float(v), 2) for v in r.uniform(18.0, 65.0, 2)),
        "stream_deg": round(float(r.uniform(0.0, 360.0)), 2),
        "stream_turn_per_mm": round(float(r.normal(0.0, 7.0)), 3),
        "spread_deg": round(float(r.uniform(6.0, 32.0)), 2),
        "curl": _choose(r, {"straight": 0.45, "wavy": 0.4, "curly": 0.15 + 0.5 * (fitz == 6)}),
        "cut_styles": [round(float(v), 3) for v in r.dirichlet([3.0, 2.0, 1.5])],
        "epidermal_melanin": round(float(r.uniform(*mel)), 4),
        "blood_fraction": round(float(r.uniform(0.002, 0.008)), 5),
        "erythema": round(float(r.uniform(0.0, 1.0) ** 2), 3),
        "network": round(float(r.uniform(0.0, 1.0) * (0.4 + 0.4 * bald + 0.4 * (fitz >= 4))), 3),
        "network_um": round(float(r.uniform(100.0, 190.0)), 1),
        "crease_um": round(float(r.uniform(250.0, 600.0)), 1),
        "white_dots_per_mm2": round(float(r.uniform(0.4, 2.5) if fitz >= 4 else 0.0), 3),
        "empty_openings_per_mm2": round(float(r.uniform(0.1, 1.4 + 2.0 * bald)), 3),
        "yellow_share": round(
            float(r.uniform(0.0, 0.25) + 0.5 * (pattern in ("androgenetic", "alopecia_areata"))),
            3,
        ),
        "vessels_per_mm2": round(float(r.uniform(0.0, 1.0) ** 2 * (1.2 + 2.0 * bald)), 3),
        "scale": round(float(r.uniform(0.0, 1.0) ** 2.5) if r.random() < 0.5 else 0.0, 3),
        "sebum": round(float(r.uniform(0.0, 1.0)), 3),
        "relief_um": round(float(r.uniform(1.0, 4.0)), 2),
        "collar_um": round(float(r.uniform(2.0, 7.0)), 2),
        "leds": int(r.integers(4, 13)),
        "led_elevation_deg": round(float(r.uniform(30.0, 70.0)), 2),
        "led_power": [round(float(v), 4) for v in r.normal(1.0, 0.04, 3)],
        "field_drift_px": [round(float(v), 3) for v in r.normal(0.0, 0.35, 2)],
        "na": round(float(r.uniform(0.04, 0.12)), 4),
        "defocus_um": round(float(r.uniform(0.0, 1.0) ** 2 * 18.0), 2),
        "focus_um": round(float(r.uniform(0.0, 90.0)), 1),
        "depth_of_field_um": round(float(r.uniform(120.0, 400.0)), 1),
        "exposure": round(float(np.exp(r.normal(0.0, 0.2))), 4),
        "full_well": round(float(np.exp(r.uniform(np.log(3000.0), np.log(25000.0)))), 1),
        "read_noise_e": round(float(r.uniform(2.0, 9.0)), 2),
        "prnu": round(float(r.uniform(0.002, 0.012)), 4),
        "column_offset_dn": round(float(r.uniform(0.0, 0.8)), 3),
        "vignetting": round(float(r.uniform(0.0, 0.3)), 3),
        "ring_tilt": round(float(r.uniform(0.0, 0.12)), 3),
        "gamma": round(float(r.uniform(2.0, 2.5)), 3),
        "saturation": round(float(r.uniform(0.8, 1.05)), 3),
        "near_lossless": int(r.integers(1, 6)) if r.random() < 0.65 else 0,
    }
    longest = look["long_um"] * 1.3 if length != "trimmed" else look["trimmed_um"] * 1.2
    look["reach_um"] = round(max(longest, 3000.0 if length != "trimmed" else 1400.0) + 600.0, 1)
    return look


def stream_field(look: dict[str, Any], x: Any, y: Any) -> Any:
    """The hair stream's direction (radians, world) at world points, turning slowly."""
    turn = math.radians(look["stream_turn_per_mm"]) * 1e-3
    wobble = 0.2 * np.sin(1.7e-4 * np.asarray(x) - 2.3e-4 * np.asarray(y))
    return (
        math.radians(look["stream_deg"])
        + turn * (0.6 * np.asarray(x) + 0.8 * np.asarray(y))
        + wobble
    )


def stream_azimuth(look: dict[str, Any], x: float, y: float) -> float:
    """:func:`stream_field` at one world point."""
    return float(stream_field(look, x, y))


def _density_field(seed: int, look: dict[str, Any], x: float, y: float) -> float:
    """A multiplier of the site's density at a world point: broad patches (bald patches of
    alopecia areata)."""
    r = stream(seed, 7)
    k = r.uniform(2.0 * math.pi / 8000.0, 2.0 * math.pi / 2500.0, 4)
    ang = r.uniform(0.0, math.pi, 4)
    ph = r.uniform(0.0, 2.0 * math.pi, 4)
    v = float(np.mean(np.cos(k * (x * np.cos(ang) + y * np.sin(ang)) + ph)))
    if look["pattern"] == "alopecia_areata":
        return float(np.clip(1.0 + 1.8 * v, 0.0, 2.0))
    return 1.0 + 0.3 * v


def _kind(r: np.random.Generator, look: dict[str, Any], new: bool) -> str:
    u = float(r.random())
    edge = 0.0
    for name, share in (
        ("black_dot", look["black_dot_share"]),
        ("broken", look["broken_share"]),
        ("vellus", look["vellus_share"]),
        ("intermediate", look["intermediate_share"]),
    ):
        edge += share
        if u < edge:
            if new and name in ("black_dot", "broken"):
                return "intermediate"
            return name
    return "terminal"


def _hair(
    r: np.random.Generator, look: dict[str, Any], unit: dict[str, Any], k: int, new: bool
) -> dict[str, Any]:
    kind = _kind(r, look, new)
    term = look["terminal_um"]
    diameter = {
        "terminal": term * float(r.uniform(0.82, 1.2)),
        "intermediate": float(r.uniform(30.0, 55.0)),
        "vellus": float(r.uniform(12.0, 29.0)),
        "broken": term * float(r.uniform(0.75, 1.1)),
        "black_dot": term * float(r.uniform(0.75, 1.12)),
    }[kind]
    diameter = float(np.clip(diameter, 12.0, 115.0))
    eu, pheo = FIBRE[look["hair_colour"]]
    if look["hair_colour"] == "grey" and r.random() < look["white_share"]:
        eu, pheo = FIBRE["white"]
    load = float(np.exp(r.normal(0.0, 0.15))) * (
        float(r.uniform(0.12, 0.45)) if kind == "vellus" else 1.0
    )
    root = fibre_reflectance(eu * load, pheo * load)
    shaft = root
    if look["dyed"] and kind != "vellus":
        deu, dph = FIBRE[look["dye"]]
        shaft = fibre_reflectance(deu * float(np.exp(r.normal(0.0, 0.08))), dph)
    if kind == "black_dot":
        root = shaft = [round(0.55 * c, 4) for c in root]
    lo, hi = look["stub_elevation_deg"]
    styles = np.array(look["cut_styles"])
    style: str | None = ("square", "oblique", "frayed")[int(r.choice(3, p=styles / styles.sum()))]
    lying = False
    end = "cut"
    long_hair = look["hair_length"] == "long" or (
        look["hair_length"] == "mixed" and r.random() < look["long_share"]
    )
    if kind == "black_dot":
        elevation, end, style = float(r.uniform(64.0, 84.0)), "dot", "square"
        length = float(r.uniform(4.0, 11.0)) / math.sin(math.radians(elevation))
    elif kind == "broken":
        elevation, length = float(r.uniform(28.0, 70.0)), float(r.uniform(70.0, 420.0))
        style = "frayed" if r.random() < 0.6 else "oblique"
    elif new:
        elevation, length, end = (
            float(r.uniform(22.0, 60.0)),
            float(r.uniform(120.0, 850.0)),
            "taper",
        )
    elif kind == "vellus":
        elevation, end, lying = float(r.uniform(8.0, 24.0)), "taper", True
        length = float(r.uniform(250.0, 1400.0 if look["hair_length"] == "trimmed" else 2800.0))
    elif long_hair:
        elevation, lying = float(r.uniform(8.0, 26.0)), True
        length = look["long_um"] * float(r.uniform(0.55, 1.3))
        end = "cut" if r.random() < 0.6 else "taper"
    else:
        elevation = float(r.uniform(lo, hi))
        length = look["trimmed_um"] * float(r.uniform(0.8, 1.2))
    n = unit["n"]
    across = (k - (n - 1) / 2.0) * unit["spacing"]
    az = unit["azimuth"]
    jitter = r.normal(0.0, 3.5, 2)
    x = unit["x"] - math.sin(az) * across + float(jitter[0])
    y = unit["y"] + math.cos(az) * across + float(jitter[1])
    return {
        "x": x,
        "y": y,
        "d": round(diameter, 2),
        "kind": kind,
        "id": f"{unit['id']}h{k}",
        "unit": unit["id"],
        "colour": shaft,
        "root_colour": root,
        "new": new,
        "azimuth": az + float(r.normal(0.0, math.radians(look["spread_deg"]))),
        "elevation": math.radians(elevation),
        "length": length,
        "lying": lying,
        "end": end,
        "cut_style": style if end == "cut" else None,
        "regrow_um": float(r.uniform(250.0, 1600.0)) if look["dyed"] else 0.0,
        "rest_um": float(r.uniform(0.0, 45.0)),
        "shape_seed": int(r.integers(0, 2**31)),
        "translucence": round(float(r.uniform(0.35, 0.65)) if kind == "vellus" else 0.0, 3),
    }


def cell(
    seed: int, look: dict[str, Any], i: int, j: int, density: float, visit: int | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Units (openings, with hair or empty) and hairs of world cell (i, j) at ``density``
    hairs/cm2; ``visit`` keys the new units of a follow-up (None: the site's own)."""
    r = stream(seed, 1, i, j) if visit is None else stream(seed, 2, visit, i, j)
    sizes = np.array(look["unit_sizes"], dtype=np.float64)
    per_unit = float((sizes * np.arange(1, 5)).sum())
    centre = ((i + 0.5) * CELL_UM, (j + 0.5) * CELL_UM)
    lam = density / 100.0 / per_unit * _density_field(seed, look, *centre)
    n_hairy = int(r.poisson(lam)) if lam > 0 else 0
    n_empty = int(r.poisson(look["empty_openings_per_mm2"])) if visit is None else 0
    tag = "c" if visit is None else f"v{visit}c"
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    spacing = look["terminal_um"] * 0.85 + 10.0
    for u in range(n_hairy + n_empty):
        x = (i + float(r.random())) * CELL_UM
        y = (j + float(r.random())) * CELL_UM
        n = int(r.choice(4, p=sizes / sizes.sum())) + 1 if u < n_hairy else 0
        unit = {
            "id": f"{tag}{i}_{j}u{u}",
            "x": x,
            "y": y,
            "n": n,
            "azimuth": stream_azimuth(look, x, y) + float(r.normal(0.0, 0.1)),
            "spacing": spacing,
            "r": max(n - 1, 0) / 2.0 * spacing + float(r.uniform(32.0, 65.0)),
            "depth": float(r.uniform(5.0, 18.0)),
            "yellow": bool(n <= 1 and r.random() < look["yellow_share"] * (1.6 - n)),
        }
        units.append(unit)
        hairs += [_hair(r, look, unit, k, visit is not None) for k in range(n)]
    return units, hairs
