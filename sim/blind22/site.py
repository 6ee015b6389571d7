"""A blind-22 site: its look, and the follicular units and hairs of its world.

The skin is cut into plots of ``PLOT_UM``; each plot draws its units from an SFC64 stream
keyed by a BLAKE2 digest of the seed and the plot, so a seed is the same scalp under any
frame, scale or visit. A follow-up sheds a hair when a SplitMix64 hash of its id and the visit
seed lands above the factor, or (factor above 1) adds plots' worth of new, tapering hairs from
streams keyed by the visit as well."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

PLOT_UM = 900.0
REACH_UM = 5800.0  # no shaft's axis ends farther than this from its root (projected)
VISIT_BIT = 52  # units grown in at a visit carry the visit in their id from this bit up

# pattern, share of sites, hairs per cm2 (low, high), odds of units holding 0..4 hairs
PATTERNS = (
    ("bare", 0.05, (0.0, 0.0), (1.0, 0.0, 0.0, 0.0, 0.0)),
    ("near_bald", 0.16, (4.0, 25.0), (0.5, 0.36, 0.11, 0.03, 0.0)),
    ("androgenetic", 0.24, (50.0, 190.0), (0.22, 0.48, 0.21, 0.07, 0.02)),
    ("alopecia_areata", 0.1, (40.0, 165.0), (0.27, 0.43, 0.21, 0.07, 0.02)),
    ("healthy", 0.45, (150.0, 330.0), (0.05, 0.25, 0.4, 0.22, 0.08)),
)
# hair colour: linear RGB albedo of the fibre, odds among natural colours
NATURAL = {
    "black": ((0.021, 0.019, 0.018), 0.21),
    "dark brown": ((0.048, 0.034, 0.025), 0.19),
    "brown": ((0.105, 0.066, 0.041), 0.15),
    "light brown": ((0.205, 0.145, 0.088), 0.1),
    "blond": ((0.43, 0.34, 0.21), 0.09),
    "red": ((0.29, 0.105, 0.052), 0.08),
    "grey": ((0.048, 0.034, 0.025), 0.11),  # the pigmented fibres among the white ones
    "white": ((0.6, 0.6, 0.58), 0.07),
}
DYES = {"dyed black": (0.011, 0.011, 0.014), "dyed burgundy": (0.13, 0.022, 0.034)}
WIDTHS_UM = {
    "terminal": (55.0, 105.0),
    "intermediate": (30.5, 54.5),
    "vellus": (12.0, 29.0),
    "broken": (45.0, 92.0),
    "black_dot": (42.0, 86.0),
}


def stream(seed: int, *tags: int | str) -> np.random.Generator:
    """An SFC64 stream of site ``seed`` (any int) for the purpose ``tags``."""
    text = "/".join(["blind-22", str(seed), *(str(t) for t in tags)])
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    entropy = int.from_bytes(digest, "little")
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(entropy)))


def share(ids: NDArray[np.int64], salt: int) -> NDArray[np.float64]:
    """A number in [0, 1) per hair id for the visit ``salt`` (SplitMix64's finaliser)."""
    mask = (1 << 64) - 1
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (salt + 1)) & mask)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _pick(g: np.random.Generator, names: list[str], odds: list[float]) -> str:
    p = np.asarray(odds, np.float64)
    return names[int(g.choice(len(names), p=p / p.sum()))]


def site_look(seed: int) -> dict[str, Any]:
    """Everything about the site but its hairs: pattern, density, skin, hair colour and
    length, light, marks, camera (a plain-JSON dict: the truth's ``params``)."""
    g = stream(seed, "look")
    k = int(g.choice(len(PATTERNS), p=np.array([p[1] for p in PATTERNS]) / 1.0))
    pattern, _, (lo, hi), units = PATTERNS[k]
    fitz = 1 + int(g.choice(6, p=np.array([0.15, 0.18, 0.2, 0.17, 0.16, 0.14])))
    natural = _pick(g, list(NATURAL), [v[1] for v in NATURAL.values()])
    if fitz >= 5 and natural in ("blond", "red", "light brown") and g.random() < 0.8:
        natural = "black"
    dye = _pick(g, list(DYES), [0.7, 0.3]) if g.random() < 0.08 else ""
    vellus = (0.2, 0.48) if pattern == "androgenetic" else (0.04, 0.17)
    return {
        "pattern": pattern,
        "density_target": round(float(g.uniform(lo, hi)), 1),
        "unit_odds": [float(u) for u in units],
        "vellus_share": round(float(g.uniform(*vellus)), 3),
        "fitzpatrick": fitz,
        "skin_tone": ("light", "light", "medium", "medium", "dark", "dark")[fitz - 1],
        "melanin": round(
            (0.3, 0.6, 1.0, 1.6, 2.5, 3.6)[fitz - 1] * float(g.uniform(0.85, 1.15)), 3
        ),
        "blood": round(float(g.uniform(0.2, 0.85)), 3),
        "yellow": round(float(g.uniform(0.05, 0.4)), 3),
        "hair_colour": dye or natural,
        "natural_colour": natural,
        "dyed": bool(dye),
        "regrowth_um": round(float(g.uniform(200, 2400)), 1) if dye else 0.0,
        "hair_length": _pick(g, ["trimmed", "long", "mixed"], [0.45, 0.25, 0.3]),
        "light": "polarised" if g.random() < 0.6 else "non-polarised",
        "flow_deg": round(float(g.uniform(0, 360)), 2),
        "whorl_um": [round(float(v), 1) for v in g.uniform(-9000, 9000, 2)],
        "whorl_pull": round(float(g.uniform(0, 0.8)), 3),
        "opening_dark": round(float(g.uniform(0.0, 0.5)), 3),
        "network": round(float(g.uniform(0.1, 1.0)) * (0.3 + 0.13 * fitz), 3),
        "network_um": round(float(g.uniform(110, 240)), 1),
        "white_dots": round(float(g.uniform(0, 1)) * (1.0, 1.5, 2.5, 9.0, 22.0, 28.0)[fitz - 1], 2),
        "yellow_dots": round(float(g.uniform(0, 0.6 if pattern != "healthy" else 0.15)), 3),
        "pigment_dots": round(float(g.uniform(0, 1)) ** 3 * 5, 3),
        "halos": round(float(g.uniform(0, 0.55)), 3),
        "vessels": round(float(g.uniform(0, 1)) ** 2 * 3.5, 2),
        "flakes": round(float(g.uniform(0, 1)) ** 2.5 * 1.4, 3),
        "sebum": round(float(g.uniform(0, 1)), 3),
        "shadow": round(float(g.uniform(0.08, 0.28)), 3),
        "shadow_um": [round(float(v), 2) for v in g.normal(0, 12, 2)],
        "iris_um": round(float(g.uniform(4, 14)), 2),
        "field_curve": round(float(g.uniform(0.0, 0.9)), 3),
        "vignette": round(float(g.uniform(0.15, 0.55)), 3),
        "exposure": round(float(g.uniform(0.82, 1.1)), 3),
        "btc_levels": int(g.choice([0, 0, 0, 2, 4, 4])),
    }


def _kind(g: np.random.Generator, look: dict[str, Any], new: bool) -> str:
    roll = float(g.random())
    if look["pattern"] == "alopecia_areata" and not new:
        if roll < 0.19:
            return "black_dot"
        if roll < 0.31:
            return "broken"
        roll = float(g.random())
    if roll < look["vellus_share"]:
        return "vellus"
    return "intermediate" if roll < look["vellus_share"] + 0.16 else "terminal"


def _hair(g: np.random.Generator, look: dict[str, Any], kind: str, new: bool) -> dict[str, Any]:
    """One hair's build: diameter, length, elevation, curvature and its end."""
    d = round(float(g.uniform(*WIDTHS_UM[kind])), 2)
    style = look["hair_length"]
    lying = style == "long" or (style == "mixed" and g.random() < 0.5)
    end, cut_style = "cut", _pick(g, ["square", "oblique", "frayed"], [0.5, 0.3, 0.2])
    bend, sway = float(g.normal(0, 1.5e-4)), 1.2e-4  # 1/um: the hair's curvature, its wander
    lies = False
    if kind == "black_dot":
        length, rise, end, cut_style = 0.0, 90.0, "dot", "none"
    elif new:
        length, rise, end, cut_style = (
            float(g.uniform(120, 650)),
            float(g.uniform(30, 68)),
            "taper",
            "none",
        )
    elif kind == "vellus":
        length, rise, end, cut_style = (
            float(g.uniform(150, 900)),
            float(g.uniform(8, 28)),
            "taper",
            "none",
        )
        bend, sway = float(g.normal(0, 1.4e-3)), 9e-4
    elif kind == "broken":
        length, rise = float(g.uniform(70, 400)), float(g.uniform(35, 75))
        cut_style = _pick(g, ["oblique", "frayed"], [0.55, 0.45])
    elif lying:
        length, rise = float(g.uniform(2000, 5500)), float(g.uniform(8, 26))
        bend, sway = float(g.normal(0, 1.6e-4)), 2.2e-4
        lies = kind in ("terminal", "intermediate")
        if g.random() < 0.35:
            end, cut_style = "taper", "none"
    else:
        length, rise = float(g.uniform(150, 1500)), float(g.uniform(24, 72))
        bend, sway = float(g.normal(0, 9e-5)), 5e-5
    return {
        "d": d,
        "kind": kind,
        "new": new,
        "lies": lies,
        "end": end,
        "cut_style": cut_style,
        "length_3d": round(length, 1),
        "elevation": round(rise, 2),
        "bend": bend,
        "sway": sway,
        "cut_deg": round(float(g.uniform(25, 58)) * float(g.choice([-1.0, 1.0])), 2),
        "white": bool(look["natural_colour"] == "grey" and g.random() < 0.6),
        "shape_key": int(g.integers(0, 1 << 62)),
        "strand": int(g.integers(0, 8)),
        "tilt": float(g.normal(0, 10)),
    }


def flow_deg(look: dict[str, Any], x_um: float, y_um: float) -> float:
    """The direction hair is combed at world point (x, y): a uniform flow pulled into a
    whorl round the site's whorl centre."""
    wx, wy = look["whorl_um"]
    swirl = math.degrees(math.atan2(y_um - wy, x_um - wx)) + 90.0
    base = float(look["flow_deg"])
    gap = (swirl - base + 180.0) % 360.0 - 180.0
    return base + float(look["whorl_pull"]) * gap


def plot_units(
    seed: int, look: dict[str, Any], px: int, py: int, visit: tuple[float, int] | None = None
) -> list[dict[str, Any]]:
    """The follicular units of plot (px, py): centre (um), opening radius, looks of the
    opening and hairs. With ``visit`` (factor above 1) the units that grow in by then."""
    if visit is None:
        g = stream(seed, "plot", px, py)
        rate = float(look["density_target"])
        odds = np.array(look["unit_odds"], np.float64)
    else:
        g = stream(seed, "grow", visit[1], px, py)
        rate = (visit[0] - 1.0) * float(look["density_target"])
        odds = np.array([0.0, 0.62, 0.3, 0.08, 0.0])
    per_unit = float((odds * np.arange(5)).sum() / odds.sum()) or 1.0
    count = int(g.poisson(rate * PLOT_UM * PLOT_UM * 1e-8 / per_unit)) if rate > 0 else 0
    if look["pattern"] == "bare" and visit is None:
        count = int(g.poisson(2.5))  # a bare scalp keeps empty openings
    base = ((px + (1 << 15)) << 36) | ((py + (1 << 15)) << 20)
    if visit is not None:
        base |= ((visit[1] & 0x7F) + 1) << VISIT_BIT
    units = []
    for k in range(count):
        ux, uy = (px + float(g.random())) * PLOT_UM, (py + float(g.random())) * PLOT_UM
        size = int(g.choice(5, p=odds / odds.sum()))
        heading = flow_deg(look, ux, uy) + float(g.normal(0, 7))
        uid = base | k
        hairs = []
        for j in range(size):
            hr = _hair(g, look, _kind(g, look, visit is not None), visit is not None)
            gap, at = float(g.uniform(0, 12 + 8 * size)), float(g.uniform(0, 2 * math.pi))
            hr.update(
                id=(uid << 3) | j,
                unit=uid,
                x=ux + gap * math.cos(at),
                y=uy + gap * math.sin(at),
                azimuth=math.radians(heading + hr.pop("tilt")),
            )
            hairs.append(hr)
        units.append(
            {
                "x": ux,
                "y": uy,
                "r": float(g.uniform(20, 50)),
                "look": float(g.random()),
                "hairs": hairs,
            }
        )
    return units


def fibre_colours(look: dict[str, Any], hr: dict[str, Any]) -> tuple[list[float], list[float]]:
    """A hair's shaft and root albedo (linear RGB; they differ where dyed hair grows out)."""
    if hr["kind"] == "black_dot":
        root = np.array(NATURAL["black"][0])
    elif hr["white"]:
        root = np.array(NATURAL["white"][0])
    else:
        root = np.array(NATURAL[look["natural_colour"]][0])
    if hr["kind"] == "vellus":  # fine and little pigmented: toward a pale keratin
        root = 0.45 * root + 0.55 * np.array([0.36, 0.31, 0.25])
    shaft = root
    if look["dyed"] and hr["kind"] != "black_dot":
        shaft = np.array(DYES[look["hair_colour"]])
    return [round(float(c), 4) for c in shaft], [round(float(c), 4) for c in root]
