"""A blind-20 site: its look, and its follicular units and hairs over a world of 1 mm cells.

A seed is a site. Every choice about it comes from a stream keyed by the seed and a tag (and,
for the hair, the world cell), so a site is the same in any frame size, scale or visit."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

CELL_UM = 1000.0
REACH_UM = 5200.0  # the longest shaft's reach from its root, in the skin plane
NEW_ID = 1 << 52  # ids of hairs that grow in after the baseline start here

# natural hair: reflectance (linear RGB) of the fibre
HAIR_RGB = {
    "black": (0.018, 0.016, 0.015),
    "dark brown": (0.045, 0.032, 0.024),
    "brown": (0.11, 0.07, 0.045),
    "light brown": (0.22, 0.15, 0.09),
    "blond": (0.45, 0.36, 0.22),
    "red": (0.30, 0.11, 0.05),
    "grey": (0.05, 0.045, 0.04),  # the pigmented fibres among the white ones
    "white": (0.70, 0.69, 0.66),
}
DYES = {
    "dyed black": (0.02, 0.018, 0.02),
    "dyed red": (0.28, 0.05, 0.06),
    "dyed blond": (0.5, 0.4, 0.2),
}
PATTERNS = (  # name, share of sites, density range /cm2, unit-size weights (empty, 1, 2, 3, 4)
    ("bare", 0.05, (0.0, 0.0), (1.0, 0, 0, 0, 0)),
    ("near_bald", 0.16, (4.0, 28.0), (0.5, 0.35, 0.12, 0.03, 0.0)),
    ("androgenetic", 0.24, (60.0, 190.0), (0.25, 0.45, 0.22, 0.06, 0.02)),
    ("alopecia_areata", 0.10, (40.0, 160.0), (0.3, 0.4, 0.2, 0.08, 0.02)),
    ("healthy", 0.45, (150.0, 360.0), (0.08, 0.25, 0.4, 0.2, 0.07)),
)


def stream(seed: int, *tags: int | str) -> np.random.Generator:
    """The random stream of ``seed`` (any int) for one purpose."""
    key = hashlib.blake2b(repr(("blind-20", seed, *tags)).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(key, "little"))


def hashed(ids: NDArray[np.int64], salt: int) -> NDArray[np.float64]:
    """A uniform number in [0, 1) per id (a splitmix64 finaliser of the id and ``salt``)."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(salt % (1 << 63)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def site_look(seed: int) -> dict[str, Any]:
    """Everything about site ``seed`` but its hairs: pattern, density, colours, light, marks."""
    g = stream(seed, "look")
    shares = np.array([p[1] for p in PATTERNS])
    name, _, (lo, hi), sizes = PATTERNS[int(g.choice(len(PATTERNS), p=shares / shares.sum()))]
    fitz = int(g.choice(6, p=[0.16, 0.2, 0.2, 0.16, 0.14, 0.14])) + 1
    colour = str(g.choice(list(HAIR_RGB), p=[0.22, 0.2, 0.16, 0.1, 0.09, 0.07, 0.1, 0.06]))
    if fitz >= 5 and colour in ("blond", "red", "light brown") and g.random() < 0.8:
        colour = "black"
    dyed = bool(g.random() < 0.08)
    dye = str(g.choice(list(DYES))) if dyed else ""
    length = str(g.choice(["trimmed", "long", "mixed"], p=[0.45, 0.25, 0.3]))
    polarised = bool(g.random() < 0.6)
    ita = (62.0, 48.0, 35.0, 20.0, -5.0, -40.0)[fitz - 1] + float(g.uniform(-6, 6))
    return {
        "pattern": name,
        "density_target": round(float(g.uniform(lo, hi)), 1),
        "unit_weights": list(sizes),
        "vellus_share": round(
            float(g.uniform(*{"androgenetic": (0.25, 0.5)}.get(name, (0.04, 0.2)))), 3
        ),
        "fitzpatrick": fitz,
        "skin_tone": "light" if fitz <= 2 else ("medium" if fitz <= 4 else "dark"),
        "ita_deg": round(ita, 2),
        "hair_colour": dye if dyed else colour,
        "natural_colour": colour,
        "dyed": dyed,
        "regrowth_um": round(float(g.uniform(300, 2500)), 1) if dyed else 0.0,
        "hair_length": length,
        "light": "polarised" if polarised else "non-polarised",
        "stream_deg": round(float(g.uniform(0, 360)), 2),
        "swirl": round(float(g.uniform(0.0, 0.8)), 3),
        "network": round(float(g.uniform(0.0, 1.0) * (0.4 + 0.12 * fitz)), 3),
        "white_dots": round(float(g.uniform(0, 1) * (fitz >= 4) * 60 + g.uniform(0, 6)), 2),
        "yellow_dots": round(float(g.uniform(0, 0.6 if name != "healthy" else 0.15)), 3),
        "scale": round(float(g.uniform(0, 1) ** 2), 3),
        "vessels": round(float(g.uniform(0, 1) ** 2 * 8), 2),
        "halos": round(float(g.uniform(0, 0.7)), 3),
        "erythema": round(float(g.uniform(0, 1)), 3),
        "blur_px": round(float(g.uniform(0.5, 1.6)), 3),
        "shadow": round(float(g.uniform(0.15, 0.45)), 3),
        "ring_um": round(float(g.uniform(15, 40)), 2),  # how far a shaft's ring-light shadow falls
        "exposure": round(float(g.uniform(0.8, 1.15)), 3),
        "codec_q": int(g.choice([0, 0, 3, 5, 8, 12])),
    }


def _kind(g: np.random.Generator, look: dict[str, Any], new: bool) -> str:
    if look["pattern"] == "alopecia_areata" and not new:
        r = g.random()
        if r < 0.22:
            return "black_dot"
        if r < 0.34:
            return "broken"
    r = g.random()
    if r < look["vellus_share"]:
        return "vellus"
    return "intermediate" if r < look["vellus_share"] + 0.18 else "terminal"


def _hair(
    g: np.random.Generator, look: dict[str, Any], kind: str, new: bool, hid: int
) -> dict[str, Any]:
    """One hair's build (diameter, length, angles, end) from its unit's stream."""
    d = {"terminal": (55, 105), "intermediate": (30, 55), "vellus": (12, 29.5)}.get(kind, (50, 95))
    diameter = float(g.uniform(*d))
    lying = look["hair_length"] == "long" or (look["hair_length"] == "mixed" and g.random() < 0.5)
    end, cut, curl = "cut", str(g.choice(["square", "oblique", "frayed"], p=[0.5, 0.3, 0.2])), 0.0
    if kind == "black_dot":
        length, elev, end, cut = 0.0, 90.0, "dot", "none"
    elif new:
        length, elev, end, cut = (
            float(g.uniform(120, 700)),
            float(g.uniform(30, 65)),
            "taper",
            "none",
        )
    elif kind == "vellus":
        length, elev, end, cut = (
            float(g.uniform(150, 900)),
            float(g.uniform(8, 30)),
            "taper",
            "none",
        )
        curl = float(g.normal(0, 1.5e-3))
    elif kind == "broken":
        length, elev = float(g.uniform(60, 450)), float(g.uniform(35, 75))
        cut = str(g.choice(["frayed", "oblique"]))
    elif lying:
        length, elev, curl = (
            float(g.uniform(1800, 5000)),
            float(g.uniform(10, 30)),
            float(g.normal(0, 4e-4)),
        )
        if g.random() < 0.4:
            end, cut = "taper", "none"
    else:
        length, elev = float(g.uniform(150, 1400)), float(g.uniform(22, 70))
    if lying and kind in ("terminal", "intermediate") and not new:
        kind_len = "long"
    else:
        kind_len = "short"
    pigment = float(g.random())
    return {
        "id": hid,
        "d": round(diameter, 2),
        "kind": kind,
        "new": new,
        "length_3d": round(length, 1),
        "elevation": round(elev, 2),
        "end": end,
        "cut_style": cut,
        "curl": curl,
        "wave": float(g.uniform(0, 6.3)),
        "lie": kind_len,
        "white": bool(look["natural_colour"] == "grey" and pigment < 0.65),
        "turn": float(g.normal(0, 12)),
    }


def _flow_deg(look: dict[str, Any], x: float, y: float) -> float:
    s = float(look["swirl"])
    return (
        float(look["stream_deg"])
        + 40 * s * math.sin(x / 3100 + 1.3 * s)
        + 30 * s * math.cos(y / 2300)
    )


def cell_units(
    seed: int, look: dict[str, Any], cx: int, cy: int, visit: tuple[float, int] | None = None
) -> list[dict[str, Any]]:
    """The follicular units of world cell (cx, cy): centre, opening radius and hairs. With
    ``visit`` (factor > 1), the units that grow in by that visit instead."""
    new = visit is not None
    if visit is not None:
        g = stream(seed, "grow", visit[1], cx, cy)
        rate = (visit[0] - 1.0) * look["density_target"]
    else:
        g = stream(seed, "cell", cx, cy)
        rate = look["density_target"]
    weights = np.array(look["unit_weights"], float)
    sizes = np.arange(5)
    if new:  # new hair comes in units of 1-3
        weights = np.array([0.0, 0.6, 0.3, 0.1, 0.0])
    mean = float((weights * sizes).sum() / weights.sum()) or 1.0
    n_units = int(g.poisson(rate * (CELL_UM * CELL_UM * 1e-8) / mean)) if rate > 0 else 0
    if look["pattern"] == "bare" and not new:
        n_units = int(g.poisson(3.0))  # openings of a bare scalp, all empty
        weights = np.array([1.0, 0, 0, 0, 0])
    units = []
    for u in range(n_units):
        x = (cx + float(g.random())) * CELL_UM
        y = (cy + float(g.random())) * CELL_UM
        size = int(g.choice(5, p=weights / weights.sum()))
        base = (((cx + 32768) * 65536 + (cy + 32768)) * 256 + u) * 8 + (NEW_ID if new else 0)
        if visit is not None:
            base += (visit[1] % 4096) << 40
        azimuth = _flow_deg(look, x, y) + float(g.normal(0, 9))
        hairs = []
        for k in range(size):
            kind = _kind(g, look, new)
            hr = _hair(g, look, kind, new, base + k)
            off = float(g.uniform(0, 18 + 6 * size)), float(g.uniform(0, 2 * math.pi))
            hr["x"] = x + off[0] * math.cos(off[1])
            hr["y"] = y + off[0] * math.sin(off[1])
            hr["azimuth"] = math.radians(azimuth + hr.pop("turn"))
            hr["unit"] = base // 8
            hairs.append(hr)
        plug = float(g.random())
        units.append({"x": x, "y": y, "r": float(g.uniform(25, 55)), "hairs": hairs, "plug": plug})
    return units


def hair_colours(look: dict[str, Any], hr: dict[str, Any]) -> tuple[list[float], list[float]]:
    """A hair's shaft and root colours (linear RGB reflectance); they differ on dyed sites."""
    natural = "white" if hr["white"] else look["natural_colour"]
    root = list(HAIR_RGB["black" if hr["kind"] == "black_dot" else natural])
    if hr["kind"] == "vellus":  # little pigment
        root = [0.55 * c + 0.45 * w for c, w in zip(root, HAIR_RGB["blond"], strict=True)]
    shaft = list(DYES[look["hair_colour"]]) if look["dyed"] and hr["kind"] != "black_dot" else root
    return [round(float(c), 4) for c in shaft], [round(float(c), 4) for c in root]
