"""The site of blind-16: its look (one draw per seed) and its world objects (units, hairs,
marks), drawn cell by cell (1 mm cells keyed by the seed) so a site is the same in any frame."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CELL_UM = 1000.0
MAX_SHAFT_UM = 6000.0

COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.030, 0.028, 0.027),
    "dark brown": (0.075, 0.052, 0.038),
    "brown": (0.19, 0.12, 0.075),
    "red": (0.38, 0.14, 0.06),
    "blond": (0.60, 0.47, 0.28),
    "grey": (0.50, 0.49, 0.48),
    "white": (0.80, 0.79, 0.76),
    "dyed": (0.040, 0.030, 0.038),
}
SKIN: dict[int, tuple[float, float, float]] = {
    1: (0.80, 0.63, 0.55),
    2: (0.73, 0.54, 0.44),
    3: (0.62, 0.43, 0.32),
    4: (0.47, 0.31, 0.21),
    5: (0.30, 0.19, 0.13),
    6: (0.17, 0.11, 0.08),
}


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed % 2**64, *[k % 2**32 for k in keys]])


def site_look(seed: int) -> dict[str, Any]:
    """Every site-level parameter (JSON-ready): skin, hair, marks, light and camera."""
    r = rng_for(seed, 0)
    fitz = int(r.choice([1, 2, 3, 4, 5, 6], p=[0.16, 0.22, 0.2, 0.16, 0.14, 0.12]))
    if fitz >= 5:
        pc = [0.5, 0.25, 0.05, 0.0, 0.0, 0.07, 0.03, 0.10]
    elif fitz >= 3:
        pc = [0.22, 0.25, 0.15, 0.05, 0.05, 0.12, 0.04, 0.12]
    else:
        pc = [0.08, 0.18, 0.17, 0.12, 0.15, 0.12, 0.06, 0.12]
    colour = str(r.choice(list(COLOURS), p=pc))
    length = str(r.choice(["trimmed", "long", "mixed"], p=[0.42, 0.33, 0.25]))
    low = bool(r.random() < 0.25)
    pattern = str(r.choice(["near-bald", "diffuse", "areata"])) if low else "normal"
    if low:
        density = float(r.uniform(1.0, 24.0))
    else:
        density = float(math.exp(r.uniform(math.log(45.0), math.log(330.0))))
    unit_p = list(r.dirichlet([5.0, 4.0, 1.6, 0.6]))
    d_mean = float(r.uniform(55.0, 95.0))
    vellus = float(r.uniform(0.03, 0.2) + (0.35 if pattern == "diffuse" else 0.0))
    inter = float(r.uniform(0.05, 0.25))
    areata = pattern == "areata"
    look: dict[str, Any] = {
        "fitzpatrick": fitz,
        "skin_rgb": [round(c * float(r.uniform(0.92, 1.08)), 4) for c in SKIN[fitz]],
        "erythema": float(r.uniform(0.0, 0.5)),
        "hair_colour": colour,
        "grey_share": float(r.uniform(0.0, 0.4) if r.random() < 0.5 else 0.0)
        if colour not in ("grey", "white")
        else 0.0,
        "hair_length": length,
        "pattern": pattern,
        "density_target": density,
        "unit_p": [float(p) for p in unit_p],
        "empty_rate": float(r.uniform(0.05, 0.4) + (r.uniform(0.4, 2.5) if low else 0.0)),
        "d_mean": d_mean,
        "vellus_frac": vellus,
        "intermediate_frac": inter,
        "p_black_dot": float(r.uniform(0.15, 0.35) if areata else r.uniform(0.0, 0.06)),
        "p_broken": float(r.uniform(0.05, 0.2) if areata else r.uniform(0.0, 0.05)),
        "p_exclamation": float(r.uniform(0.08, 0.2) if areata else r.uniform(0.0, 0.02)),
        "p_tapered": float(r.uniform(0.0, 0.1)),
        "heading_deg": float(r.uniform(0.0, 360.0)),
        "heading_spread_deg": float(
            r.uniform(5.0, 25.0) if length == "long" else r.uniform(8.0, 50.0)
        ),
        "curl": float(r.uniform(0.0, 1.0) ** 2),
        "texture": float(r.uniform(0.04, 0.16)),
        "network": float(r.uniform(0.0, 0.35) * (0.15 + 0.17 * fitz)) if r.random() < 0.7 else 0.0,
        "network_um": float(r.uniform(120.0, 260.0)),
        "creases": int(r.integers(0, 4)),
        "white_dots": float(r.uniform(0.0, 3.0) * (1.5 if fitz >= 4 else 0.6)),
        "flecks": float(r.uniform(0.0, 2.0) * (1.0 if fitz >= 3 else 0.4)),
        "yellow_share": float(r.uniform(0.4, 0.9) if areata else r.uniform(0.0, 0.8)),
        "halo": float(r.uniform(0.0, 0.5)),
        "casts": float(r.uniform(0.0, 0.3)) if r.random() < 0.3 else 0.0,
        "flakes": float(r.uniform(0.0, 1.1) ** 2),
        "vessels": str(
            r.choice(["none", "dotted", "hairpin", "arborising"], p=[0.3, 0.3, 0.2, 0.2])
        ),
        "vessel_rate": float(r.uniform(0.2, 1.6)),
        "polarised": bool(r.random() < 0.55),
        "shine": float(r.uniform(0.0, 0.6)),
        "exposure": float(r.uniform(0.8, 1.2)),
        "white_balance": [float(r.uniform(0.93, 1.07)), 1.0, float(r.uniform(0.9, 1.1))],
        "vignette": float(r.uniform(0.05, 0.45)),
        "light_tilt": [float(r.uniform(-0.2, 0.2)), float(r.uniform(-0.2, 0.2))],
        "airy_um": float(r.uniform(4.0, 12.0)),
        "defocus_um": float(r.uniform(0.0, 12.0) if r.random() < 0.5 else 0.0),
        "noise": float(r.uniform(0.3, 1.5)),
        "codec_step": float(r.uniform(2.0, 9.0)) if r.random() < 0.6 else 0.0,
        "patch_um": [
            float(r.uniform(-1500, 1500)),
            float(r.uniform(-1500, 1500)),
            float(r.uniform(3500, 7000)),
        ]
        if areata
        else [],
        # dyed hair grows out in its natural colour: the part next to the skin is undyed
        "natural_colour": str(r.choice(["grey", "white", "brown", "dark brown", "blond"])),
        "dye_regrowth_um": float(r.uniform(80.0, 1500.0)) if colour == "dyed" else 0.0,
    }
    return look


@dataclass
class Hair:
    hid: str
    unit: str
    x: float  # world um
    y: float
    kind: str
    diameter: float
    colour: tuple[float, float, float]
    heading: float  # rad, world
    length: float  # um of visible shaft (0 for a black dot)
    end: str  # cut / taper / broken / dot
    curv: float
    wave: tuple[float, float, float]
    keep_u: float
    cast: float
    new: bool = False
    root_colour: tuple[float, float, float] = (0.0, 0.0, 0.0)  # next to the skin


@dataclass
class Unit:
    uid: str
    x: float
    y: float
    radius: float
    yellow: bool
    halo: float
    hairs: list[Hair] = field(default_factory=list)


def _hair_colour(look: dict[str, Any], r: np.random.Generator) -> tuple[float, float, float]:
    base = np.array(COLOURS[look["hair_colour"]])
    if r.random() < look["grey_share"]:
        base = np.array(COLOURS["white" if r.random() < 0.5 else "grey"])
    base = np.clip(base * r.uniform(0.85, 1.15), 0.01, 0.95)
    return (float(base[0]), float(base[1]), float(base[2]))


def _make_hair(
    look: dict[str, Any],
    r: np.random.Generator,
    hid: str,
    uid: str,
    x: float,
    y: float,
    heading: float,
    new: bool,
) -> Hair:
    u = r.random()
    kind = "terminal"
    acc = 0.0
    # hairs grown since the last visit are regrowing, not breaking
    old = 0.0 if new else 1.0
    for name, p in (
        ("black_dot", look["p_black_dot"] * old),
        ("broken", look["p_broken"] * old),
        ("exclamation", look["p_exclamation"] * old),
        ("tapered", look["p_tapered"] + (0.25 if new else 0.0)),
        ("vellus", look["vellus_frac"]),
        ("intermediate", look["intermediate_frac"]),
    ):
        acc += p
        if u < acc:
            kind = name
            break
    if kind == "vellus":
        diameter = float(r.uniform(10.0, 29.0))
    elif kind == "intermediate":
        diameter = float(r.uniform(30.0, 55.0))
    else:
        diameter = float(np.clip(r.normal(look["d_mean"], 14.0), 45.0, 120.0))
    colour = _hair_colour(look, r)
    if kind == "vellus":
        colour = (
            float(min(0.9, colour[0] * 0.5 + 0.4)),
            float(min(0.9, colour[1] * 0.5 + 0.33)),
            float(min(0.9, colour[2] * 0.5 + 0.27)),
        )
    style = look["hair_length"]
    if style == "mixed":
        style = "trimmed" if r.random() < 0.5 else "long"
    if kind == "black_dot":
        length, end = 0.0, "dot"
        diameter = float(r.uniform(25.0, 90.0))
        colour = (0.03, 0.025, 0.025)
    elif kind == "broken":
        length, end = float(r.uniform(120.0, 600.0)), "broken"
    elif kind == "exclamation":
        length, end = float(r.uniform(250.0, 700.0)), "broken"
        colour = tuple(float(c) for c in np.minimum(colour, 0.08))  # type: ignore[assignment]
    elif kind == "tapered":
        length, end = float(r.uniform(150.0, 900.0)), "taper"
    elif kind == "vellus":
        length, end = float(r.uniform(200.0, 1500.0)), "taper"
    elif style == "trimmed":
        length, end = float(r.uniform(250.0, 1400.0)), "cut"
    else:
        length = float(r.uniform(1500.0, MAX_SHAFT_UM))
        end = "cut" if r.random() < 0.25 else "taper"
    if look["hair_colour"] == "dyed" and end == "cut":
        colour = (0.035, 0.03, 0.035)
    curv = float(r.normal(0.0, 1.0) * (0.05 + 0.4 * look["curl"]) / 1000.0)
    wave = (
        float(r.uniform(0.0, 0.8) * look["curl"] / 1000.0),
        float(r.uniform(300.0, 1200.0)),
        float(r.uniform(0.0, 2 * math.pi)),
    )
    root_colour = colour
    dyed = look["hair_colour"] == "dyed" and kind in ("terminal", "intermediate", "tapered")
    if dyed and max(colour) < 0.1:
        nat = np.clip(np.array(COLOURS[look["natural_colour"]]) * r.uniform(0.85, 1.15), 0, 0.95)
        root_colour = (float(nat[0]), float(nat[1]), float(nat[2]))
        if new:  # grown since the dye: undyed throughout
            colour = root_colour
    hair = Hair(
        hid=hid,
        unit=uid,
        x=x,
        y=y,
        kind=kind,
        diameter=diameter,
        colour=colour,
        heading=heading + math.radians(float(r.normal(0.0, 12.0))),
        length=length,
        end=end,
        curv=curv,
        wave=wave,
        keep_u=float(r.random()),
        cast=float(r.uniform(80.0, 300.0)) if r.random() < look["casts"] else 0.0,
        new=new,
    )
    hair.root_colour = root_colour
    return hair


def _density_at(look: dict[str, Any], x: float, y: float) -> float:
    if look["pattern"] == "areata":
        px, py, rad = look["patch_um"]
        if math.hypot(x - px, y - py) > rad:
            return 150.0
    return float(look["density_target"])


def cell_units(seed: int, look: dict[str, Any], i: int, j: int) -> list[Unit]:
    """The units (follicular openings with their 0-4 hairs) of world cell (i, j)."""
    r = rng_for(seed, 1, i, j)
    sizes = np.arange(1, 5)
    mean_size = float(np.dot(look["unit_p"], sizes))
    lam_max = 150.0 / 100.0 / mean_size if look["pattern"] == "areata" else 0.0
    lam_max = max(lam_max, look["density_target"] / 100.0 / mean_size)
    # a jittered grid of candidate openings (follicles are spread evenly, not in clumps)
    lam = lam_max * CELL_UM * CELL_UM / 1e6
    k_grid = max(1, math.ceil(math.sqrt(lam * 1.4)))
    p_sub = lam / k_grid**2
    spots = []
    for a in range(k_grid):
        for b in range(k_grid):
            u, jx, jy = float(r.random()), float(r.random()), float(r.random())
            if u < p_sub:
                spots.append(((i + (a + jx) / k_grid) * CELL_UM, (j + (b + jy) / k_grid) * CELL_UM))
    n = len(spots)
    ne = int(r.poisson(look["empty_rate"] * CELL_UM * CELL_UM / 1e6))
    units: list[Unit] = []
    spread = math.radians(look["heading_spread_deg"])
    for k in range(n + ne):
        if k < n:
            x, y = spots[k]
        else:
            x = (i + float(r.random())) * CELL_UM
            y = (j + float(r.random())) * CELL_UM
        accept = float(r.random())
        uid = f"{i}:{j}:{k}"
        unit = Unit(
            uid=uid,
            x=x,
            y=y,
            radius=float(r.uniform(25.0, 60.0)),
            yellow=bool(r.random() < look["yellow_share"]),
            halo=float(r.uniform(40.0, 110.0)) if r.random() < look["halo"] else 0.0,
        )
        units.append(unit)
        if k >= n or accept * lam_max > _density_at(look, x, y) / 100.0 / mean_size:
            continue
        size = int(r.choice(sizes, p=look["unit_p"]))
        heading = math.radians(look["heading_deg"]) + float(r.normal(0.0, spread))
        line = heading + math.pi / 2 + float(r.normal(0.0, 0.4))
        pos = 0.0
        prev_d = 0.0
        for m in range(size):
            hair = _make_hair(look, r, f"{uid}:{m}", uid, x, y, heading, False)
            if m:
                pos += 0.62 * (prev_d + hair.diameter) + float(r.uniform(2.0, 12.0))
            prev_d = hair.diameter
            hair.x = x + math.cos(line) * pos
            hair.y = y + math.sin(line) * pos
            unit.hairs.append(hair)
        # centre the unit's hairs on its opening
        cxm = float(np.mean([h.x for h in unit.hairs])) - x
        cym = float(np.mean([h.y for h in unit.hairs])) - y
        for hair in unit.hairs:
            hair.x -= cxm
            hair.y -= cym
        unit.radius = max(unit.radius, 0.5 * pos + 0.6 * prev_d)
    return units


def cell_new_hairs(
    seed: int, look: dict[str, Any], i: int, j: int, factor: float, vseed: int
) -> list[Unit]:
    """Units grown between visits (factor - 1 times the baseline's rate) in cell (i, j)."""
    r = rng_for(seed, 2, i, j, vseed)
    out: list[Unit] = []
    spread = math.radians(look["heading_spread_deg"])
    for k in range(int(r.poisson(12.0 * CELL_UM * CELL_UM / 1e6))):
        x = (i + float(r.random())) * CELL_UM
        y = (j + float(r.random())) * CELL_UM
        lam = (factor - 1.0) * _density_at(look, x, y) / 100.0
        if float(r.random()) * 12.0 >= lam:
            continue
        uid = f"{i}:{j}:n{vseed % 100000}:{k}"
        unit = Unit(uid=uid, x=x, y=y, radius=float(r.uniform(20.0, 40.0)), yellow=False, halo=0.0)
        heading = math.radians(look["heading_deg"]) + float(r.normal(0.0, spread))
        unit.hairs.append(_make_hair(look, r, f"{uid}:0", uid, x, y, heading, True))
        out.append(unit)
    return out
