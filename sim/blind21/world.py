"""A blind-21 site: its look, and the follicular units and hairs of its world.

The world is tiled into squares of ``TILE_UM``; each tile draws its units from a Philox stream
keyed by the seed and the tile, so a seed is the same scalp under any frame, scale or visit.
A follow-up visit sheds a hair when a hash of its id and the visit seed falls above the factor,
or (factor above 1) adds units of new, tapering hairs from streams keyed by the visit too."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

TILE_UM = 800.0
REACH_UM = 5300.0  # the farthest a shaft's axis gets from its root, projected on the skin
GROWN_SHIFT = 40  # units that grow in after the baseline have ids from 1 << 40 up

# (name, share of sites, hairs per cm2 (low, high), weights of units holding 0, 1, 2, 3, 4)
CONDITIONS = (
    ("bare", 0.05, (0.0, 0.0), (1.0, 0.0, 0.0, 0.0, 0.0)),
    ("near_bald", 0.15, (5.0, 26.0), (0.45, 0.4, 0.12, 0.03, 0.0)),
    ("androgenetic", 0.25, (55.0, 200.0), (0.2, 0.5, 0.2, 0.07, 0.03)),
    ("alopecia_areata", 0.1, (45.0, 170.0), (0.25, 0.45, 0.2, 0.07, 0.03)),
    ("healthy", 0.45, (160.0, 340.0), (0.06, 0.27, 0.38, 0.21, 0.08)),
)
# fibre pigment: name, eumelanin and pheomelanin optical densities over a keratin base
FIBRES = (
    ("black", 4.2, 0.5), ("dark brown", 3.0, 0.6), ("brown", 1.9, 0.6),
    ("light brown", 1.15, 0.55), ("blond", 0.45, 0.4), ("red", 0.55, 1.9),
    ("grey", 2.6, 0.5),  # the pigmented fibres among the white ones
    ("white", 0.03, 0.05),
)  # fmt: skip
MELANIN = {name: (eu, pheo) for name, eu, pheo in FIBRES}
DYE_RGB = {"dyed black": (0.02, 0.02, 0.025), "dyed auburn": (0.22, 0.06, 0.05)}
COLOUR_ODDS = (0.2, 0.19, 0.16, 0.1, 0.09, 0.08, 0.11, 0.07)
TONE_ODDS = (0.15, 0.19, 0.2, 0.17, 0.15, 0.14)  # Fitzpatrick I-VI


def rng(seed: int, *tags: int | str) -> np.random.Generator:
    """A Philox stream of site ``seed`` (any int) for the purpose ``tags``."""
    digest = hashlib.sha256(f"blind-21|{seed}|{tags!r}".encode()).digest()
    key = np.frombuffer(digest[:16], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key))


def unit_interval(ids: NDArray[np.int64], salt: int) -> NDArray[np.float64]:
    """A uniform number in [0, 1) per hair id, fixed by ``salt`` (a murmur3-style mixer)."""
    mask = (1 << 64) - 1
    with np.errstate(over="ignore"):
        h = ids.astype(np.uint64) ^ np.uint64((salt * 0x632BE59BD9B4E019) & mask)
        for mult in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
            h = h ^ (h >> np.uint64(33))
            h = h * np.uint64(mult)
        h = h ^ (h >> np.uint64(33))
    return (h >> np.uint64(12)).astype(np.float64) * 2.0**-52


def site_look(seed: int) -> dict[str, Any]:
    """The site's pattern, density, skin, hair colour and length, light, marks and camera:
    everything but its hairs (a plain-JSON dict, the truth's ``params``)."""
    g = rng(seed, "look")
    odds = np.array([c[1] for c in CONDITIONS])
    name, _, (lo, hi), units = CONDITIONS[int(g.choice(len(CONDITIONS), p=odds / odds.sum()))]
    fitz = 1 + int(g.choice(6, p=np.array(TONE_ODDS) / sum(TONE_ODDS)))
    natural = str(g.choice(list(MELANIN), p=np.array(COLOUR_ODDS) / sum(COLOUR_ODDS)))
    if fitz >= 5 and natural in ("blond", "red", "light brown") and g.random() < 0.75:
        natural = "black"
    dye = str(g.choice(list(DYE_RGB))) if g.random() < 0.07 else ""
    polarised = bool(g.random() < 0.58)
    melanin = (0.25, 0.55, 0.95, 1.5, 2.3, 3.3)[fitz - 1] * float(g.uniform(0.85, 1.15))
    vellus = (0.22, 0.5) if name == "androgenetic" else (0.04, 0.18)
    return {
        "pattern": name,
        "density_target": round(float(g.uniform(lo, hi)), 1),
        "unit_weights": [float(u) for u in units],
        "vellus_share": round(float(g.uniform(*vellus)), 3),
        "fitzpatrick": fitz,
        "skin_tone": ("light", "light", "medium", "medium", "dark", "dark")[fitz - 1],
        "melanin": round(melanin, 3),
        "blood": round(float(g.uniform(0.25, 0.9)), 3),
        "hair_colour": dye or natural,
        "natural_colour": natural,
        "dyed": bool(dye),
        "regrowth_um": round(float(g.uniform(250, 2200)), 1) if dye else 0.0,
        "hair_length": str(g.choice(["trimmed", "long", "mixed"], p=[0.45, 0.25, 0.3])),
        "light": "polarised" if polarised else "non-polarised",
        "comb_deg": round(float(g.uniform(0, 360)), 2),
        "whorl": round(float(g.uniform(0, 0.7)), 3),
        "pit_strength": round(float(g.uniform(0.0, 0.45)), 3),
        "network": round(float(g.uniform(0.15, 1) * (0.35 + 0.12 * fitz)), 3),
        "network_mix": round(float(g.uniform(-0.42, -0.25)), 3),
        "white_dots": round(
            float(g.uniform(0, 1) * (1.5, 1.5, 2.0, 10.0, 25.0, 25.0)[fitz - 1]), 2
        ),
        "yellow_dots": round(float(g.uniform(0, 0.7 if name != "healthy" else 0.2)), 3),
        "pigment_dots": round(float(g.uniform(0, 1) ** 3 * 4), 3),
        "halos": round(float(g.uniform(0, 0.6)), 3),
        "vessels": round(float(g.uniform(0, 1) ** 2 * 4), 2),
        "flakes": round(float(g.uniform(0, 1) ** 3 * 1.5), 3),
        "sebum": round(float(g.uniform(0, 1)), 3),
        "shadow": round(float(g.uniform(0.1, 0.3)), 3),
        "shadow_px": [round(float(v), 3) for v in g.normal(0, 1.2, 2)],
        "blur_px": round(float(g.uniform(0.5, 1.3)), 3),
        "field_blur": round(float(g.uniform(0.0, 0.8)), 3),
        "exposure": round(float(g.uniform(0.8, 1.12)), 3),
        "jp2_step": float(g.choice([0.0, 0.0, 2.0, 3.5, 5.0, 7.0])),
    }


def _kind(g: np.random.Generator, look: dict[str, Any], new: bool) -> str:
    roll = float(g.random())
    if look["pattern"] == "alopecia_areata" and not new:
        if roll < 0.2:
            return "black_dot"
        if roll < 0.33:
            return "broken"
        roll = float(g.random())
    if roll < look["vellus_share"]:
        return "vellus"
    return "intermediate" if roll < look["vellus_share"] + 0.17 else "terminal"


WIDTH_UM = {"terminal": (56.0, 104.0), "intermediate": (31.0, 55.0), "vellus": (12.0, 29.0)}


def _build(g: np.random.Generator, look: dict[str, Any], kind: str, new: bool) -> dict[str, Any]:
    """A hair's diameter, length, angles, curvature and end, from its tile's stream."""
    d = float(g.uniform(*WIDTH_UM.get(kind, (48.0, 92.0))))
    style = look["hair_length"]
    lies = style == "long" or (style == "mixed" and g.random() < 0.5)
    hr: dict[str, Any] = {"d": round(d, 2), "kind": kind, "new": new, "lies": False}
    hr["end"], hr["cut_style"] = (
        "cut",
        str(g.choice(["square", "oblique", "frayed"], p=[0.5, 0.3, 0.2])),
    )
    bend, wander = float(g.normal(0, 2e-4)), 1.5e-4
    if kind == "black_dot":
        length, elevation, hr["end"], hr["cut_style"] = 0.0, 90.0, "dot", "none"
    elif new:
        length, elevation = float(g.uniform(130, 680)), float(g.uniform(32, 66))
        hr["end"], hr["cut_style"] = "taper", "none"
    elif kind == "vellus":
        length, elevation = float(g.uniform(160, 950)), float(g.uniform(8, 28))
        hr["end"], hr["cut_style"] = "taper", "none"
        bend, wander = float(g.normal(0, 1.2e-3)), 6e-4
    elif kind == "broken":
        length, elevation = float(g.uniform(70, 420)), float(g.uniform(34, 74))
        hr["cut_style"] = str(g.choice(["oblique", "frayed"]))
    elif lies:
        length, elevation = float(g.uniform(1900, 5200)), float(g.uniform(9, 28))
        bend, wander = float(g.normal(0, 1.2e-4)), 1.6e-4
        hr["lies"] = kind in ("terminal", "intermediate")
        if g.random() < 0.35:
            hr["end"], hr["cut_style"] = "taper", "none"
    else:
        length, elevation = float(g.uniform(140, 1450)), float(g.uniform(22, 72))
        bend, wander = float(g.normal(0, 1e-4)), 6e-5
    hr.update(
        length_3d=round(length, 1),
        elevation=round(elevation, 2),
        bend=bend,
        wander=wander,
        cut_deg=round(float(g.uniform(28, 55)) * (1 if g.random() < 0.5 else -1), 2),
        white=bool(look["natural_colour"] == "grey" and g.random() < 0.62),
        spine_key=int(g.integers(0, 1 << 62)),
        swing=float(g.normal(0, 11)),
    )
    return hr


def comb_deg(look: dict[str, Any], x_um: float, y_um: float) -> float:
    """The direction hair is combed at world point (x, y) um: a turning stream (a whorl)."""
    w = float(look["whorl"])
    return float(
        look["comb_deg"]
        + 45 * w * math.sin(x_um / 2700 + 2.1 * w)
        + 35 * w * math.cos(y_um / 1900 - w)
    )


def tile_units(
    seed: int, look: dict[str, Any], tx: int, ty: int, visit: tuple[float, int] | None = None
) -> list[dict[str, Any]]:
    """The follicular units of world tile (tx, ty): centre (um), opening radius, plug draw and
    hairs. With ``visit`` (a factor above 1) the units that grow in by that visit instead."""
    new = visit is not None
    weights = np.array(look["unit_weights"], np.float64)
    if visit is None:
        g = rng(seed, "tile", tx, ty)
        rate = float(look["density_target"])
    else:
        g = rng(seed, "grow", visit[1], tx, ty)
        rate = (visit[0] - 1.0) * float(look["density_target"])
        weights = np.array([0.0, 0.65, 0.28, 0.07, 0.0])
    per_unit = float((weights * np.arange(5)).sum() / weights.sum()) or 1.0
    area_cm2 = TILE_UM * TILE_UM * 1e-8
    count = int(g.poisson(rate * area_cm2 / per_unit)) if rate > 0 else 0
    if look["pattern"] == "bare" and not new:
        count = int(g.poisson(2.0))  # the empty openings of a bare scalp
    units = []
    for k in range(count):
        ux, uy = (tx + float(g.random())) * TILE_UM, (ty + float(g.random())) * TILE_UM
        size = int(g.choice(5, p=weights / weights.sum()))
        uid = ((tx + (1 << 15)) << 24) | ((ty + (1 << 15)) << 8) | k
        if visit is not None:  # new units of a visit: above any baseline unit's id
            uid |= ((visit[1] & 0xFFF) + 1) << GROWN_SHIFT
        heading = comb_deg(look, ux, uy) + float(g.normal(0, 8))
        hairs = []
        for j in range(size):
            hr = _build(g, look, _kind(g, look, new), new)
            gap, at = float(g.uniform(0, 14 + 7 * size)), float(g.uniform(0, 2 * math.pi))
            hr.update(
                id=(uid << 3) | j,
                unit=uid,
                x=ux + gap * math.cos(at),
                y=uy + gap * math.sin(at),
                azimuth=math.radians(heading + hr.pop("swing")),
            )
            hairs.append(hr)
        units.append(
            {
                "x": ux,
                "y": uy,
                "r": float(g.uniform(22, 52)),
                "plug": float(g.random()),
                "hairs": hairs,
            }
        )
    return units


def fibre_rgb(look: dict[str, Any], hr: dict[str, Any]) -> tuple[list[float], list[float]]:
    """A hair's shaft and root colours (linear RGB reflectance; they differ on dyed sites)."""
    name = "white" if hr["white"] else look["natural_colour"]
    if hr["kind"] == "black_dot":
        name = "black"
    eu, pheo = MELANIN[name]
    if hr["kind"] == "vellus":  # thin and little pigmented
        eu, pheo = 0.3 * eu + 0.2, 0.4 * pheo + 0.1
    keratin = np.array([0.52, 0.5, 0.44])
    absorb = eu * np.array([0.62, 0.8, 1.0]) + pheo * np.array([0.15, 0.55, 1.05])
    root = keratin * np.exp(-absorb)
    shaft = (
        np.array(DYE_RGB[look["hair_colour"]])
        if look["dyed"] and hr["kind"] != "black_dot"
        else root
    )
    return [round(float(c), 4) for c in shaft], [round(float(c), 4) for c in root]
