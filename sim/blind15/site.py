"""A site: its look (drawn from the seed alone) and its world of follicular units, hairs and
skin marks, laid out in 1 mm cells that each draw from their own generator, so any frame
over the same place sees the same things whatever its size or scale."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

CELL = 1000.0  # um
MARGIN = 7500.0  # um: the longest shaft, so hairs from outside can cross the frame
MASK = (1 << 64) - 1

SKIN = {  # Fitzpatrick type -> display RGB of the skin between marks
    1: (0.93, 0.80, 0.72),
    2: (0.88, 0.71, 0.60),
    3: (0.79, 0.59, 0.46),
    4: (0.64, 0.45, 0.32),
    5: (0.44, 0.29, 0.20),
    6: (0.27, 0.17, 0.12),
}
HAIR = {
    "black": (0.035, 0.032, 0.03),
    "dark brown": (0.09, 0.06, 0.045),
    "brown": (0.22, 0.14, 0.085),
    "blond": (0.76, 0.57, 0.3),
    "red": (0.48, 0.19, 0.08),
    "grey": (0.82, 0.79, 0.72),
    "dyed": (0.33, 0.07, 0.09),
}


def rng_for(*parts: int) -> np.random.Generator:
    return np.random.default_rng([p & MASK for p in parts])


@dataclass
class Hair:
    uid: str
    unit: str
    x: float
    y: float
    kind: str
    d: float
    length: float
    heading: float
    colour: tuple[float, float, float]
    alpha: float
    end: str  # taper, square, oblique, frayed, dot
    cut: bool
    depth: int
    curv: float = 0.0
    wave_amp: float = 0.0
    wave_len: float = 1000.0
    wave_phase: float = 0.0
    d_end: float = 0.0
    taper_len: float = 0.0
    twist: float = 0.0
    end_angle: float = 0.0
    root_band: float = 0.0
    root_colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
    prio: float = 0.0
    new: bool = False


@dataclass
class Unit:
    uid: str
    x: float
    y: float
    heading: float
    prio: float
    opening: float  # radius, um
    yellow: bool
    halo: float  # halo width, um (0 none)
    cast: bool
    hairs: list[Hair] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)


def site_look(seed: int) -> dict[str, Any]:
    """Everything about the site's look, from the seed alone (JSON-serialisable)."""
    r = rng_for(seed, 1515)
    fitz = int(r.choice([1, 2, 3, 4, 5, 6], p=[0.14, 0.22, 0.22, 0.18, 0.13, 0.11]))
    base = np.array(SKIN[fitz]) * r.uniform(0.94, 1.05, 3)
    bald = r.random() < 0.26
    density = float(
        r.uniform(0.0, 24.0) if bald else math.exp(r.uniform(math.log(45), math.log(280)))
    )
    if bald:
        unit_p = [0.8, 0.15, 0.05, 0.0]
    else:
        a = r.dirichlet([3.0, 4.0, 2.0, 1.0])
        unit_p = [float(v) for v in a]
    colour = str(r.choice(list(HAIR), p=[0.22, 0.22, 0.16, 0.12, 0.08, 0.12, 0.08]))
    if fitz >= 5 and colour in ("blond", "red") and r.random() < 0.7:
        colour = "black"
    length = str(r.choice(["trimmed", "long", "mixed"], p=[0.35, 0.35, 0.30]))
    sun = float(r.uniform(0, 1) if r.random() < 0.5 else 0.0)
    polarised = bool(r.random() < 0.55)
    return {
        "fitzpatrick": fitz,
        "skin_rgb": [round(float(v), 4) for v in np.clip(base, 0.05, 0.98)],
        "redness": round(float(r.uniform(0.0, 0.12)), 4),
        "yellowness": round(float(r.uniform(-0.03, 0.06)), 4),
        "density_target": round(density, 3),
        "unit_p": [round(v, 4) for v in unit_p],
        "empty_frac": round(float(r.uniform(0.03, 0.35 if not bald else 0.7)), 4),
        "hair_length": length,
        "hair_colour": colour,
        "grey_share": round(float(r.uniform(0.3, 0.95)), 3),
        "d_mean": round(float(r.uniform(58, 95)), 2),
        "vellus_frac": round(float(r.uniform(0.3, 0.7) if bald else r.uniform(0.0, 0.25)), 4),
        "intermediate_frac": round(float(r.uniform(0.05, 0.3)), 4),
        "p_black_dot": round(float(r.uniform(0, 0.15) if r.random() < 0.35 else 0.0), 4),
        "p_broken": round(float(r.uniform(0, 0.12) if r.random() < 0.4 else 0.0), 4),
        "p_exclamation": round(float(r.uniform(0, 0.08) if r.random() < 0.2 else 0.0), 4),
        "p_tapered": round(float(r.uniform(0, 0.2) if r.random() < 0.4 else 0.0), 4),
        "coiled": bool(r.random() < 0.12),
        "pili_torti": bool(r.random() < 0.06),
        "heading": round(float(r.uniform(0, 2 * math.pi)), 4),
        "heading_var": round(float(r.uniform(0.1, 1.2)), 4),
        "texture": round(float(r.uniform(0.03, 0.1)), 4),
        "creases": round(float(r.uniform(0.0, 0.15)), 4),
        "network": round(
            float(min(1.0, sun + (0.5 if fitz >= 4 else 0.0)) * r.uniform(0.3, 1.0)), 4
        ),
        "freckles": round(float(r.uniform(0, 0.25) if r.random() < 0.4 else 0.0), 4),
        "white_dots": round(float(r.uniform(0, 8) * (2.0 if fitz >= 4 else 0.6)), 3),
        "yellow_share": round(float(r.uniform(0, 0.9) if r.random() < 0.5 else 0.0), 3),
        "halo": round(float(r.uniform(0, 0.8) if r.random() < 0.35 else 0.0), 3),
        "casts": round(float(r.uniform(0, 0.6) if r.random() < 0.2 else 0.0), 3),
        "flakes": round(float(r.uniform(0, 6.0) if r.random() < 0.45 else 0.0), 3),
        "vessels": round(float(r.uniform(0, 2.5) if r.random() < 0.5 else 0.0), 3),
        "pig_dots": round(float(r.uniform(0, 5.0) if r.random() < 0.45 else 0.0), 3),
        "pores": round(float(r.uniform(2, 15)), 3),
        "polarised": polarised,
        "sheen": round(float(r.uniform(0.03, 0.1) if polarised else r.uniform(0.1, 0.22)), 4),
        "glints": round(float(0.0 if polarised else r.uniform(0.0, 1.0)), 4),
        "exposure": round(float(r.uniform(0.85, 1.1)), 4),
        "white_balance": [round(float(v), 4) for v in r.uniform(0.93, 1.07, 3)],
        "vignette": round(float(r.uniform(0.05, 0.45)), 4),
        "light_tilt": [round(float(v), 4) for v in r.uniform(-0.15, 0.15, 2)],
        "defocus": round(float(r.uniform(0.0, 0.9)), 4),
        "astigmatism": round(float(r.uniform(-0.4, 0.4)), 4),
        "coma": round(float(r.uniform(-0.3, 0.3)), 4),
        "spherical": round(float(r.uniform(-0.3, 0.3)), 4),
        "noise": round(float(r.uniform(0.004, 0.025)), 5),
        "jpeg_quality": int(r.choice([0, 0, 55, 70, 85, 95])),
    }


def _draw_hair(
    r: np.random.Generator, look: dict[str, Any], uid: str, unit: Unit, x: float, y: float
) -> Hair:
    hd = unit.heading + float(r.normal(0, 0.12))
    mode = look["hair_length"]
    base = HAIR[look["hair_colour"]]
    tint = float(r.uniform(0.85, 1.15)) * r.uniform(0.97, 1.03, 3)
    colour = tuple(float(c) for c in np.clip(np.array(base) * tint, 0, 1))
    root_band = 0.0
    root_colour = colour
    if look["hair_colour"] == "grey" and r.random() > look["grey_share"]:
        colour = tuple(float(c) for c in np.array(HAIR["dark brown"]) * r.uniform(0.8, 1.6))
    if look["hair_colour"] == "dyed":
        root_band = float(r.uniform(0, 900))
        root_colour = HAIR["grey"] if r.random() < 0.5 else HAIR["brown"]
    alpha = float(r.uniform(0.9, 1.0))
    if max(colour) > 0.5:  # unpigmented and blond shafts let some skin through
        alpha = float(r.uniform(0.72, 0.9))
    u = float(r.random())
    cum = 0.0
    kind = "terminal"
    for name, p in (
        ("vellus", look["vellus_frac"]),
        ("black_dot", look["p_black_dot"]),
        ("broken", look["p_broken"]),
        ("exclamation", look["p_exclamation"]),
        ("tapered", look["p_tapered"]),
        ("intermediate", look["intermediate_frac"]),
    ):
        cum += p
        if u < cum:
            kind = name
            break
    d = float(np.clip(r.normal(look["d_mean"], 10.0), 55.0, 110.0))
    end_style = str(r.choice(["square", "oblique", "frayed"], p=[0.45, 0.35, 0.2]))
    long_hair = mode == "long" or (mode == "mixed" and r.random() < 0.5)
    length = float(r.uniform(2500, MARGIN) if long_hair else r.uniform(200, 1500))
    if look["coiled"] and long_hair:
        length = float(r.uniform(1200, 3500))
    end = end_style
    if long_hair and r.random() < 0.45:
        end = "taper"
    d_end = d
    taper_len = 0.0
    if kind == "intermediate":
        d = float(r.uniform(30, 55))
        d_end = d
    if kind == "vellus":
        d = float(r.uniform(12, 29))
        length = float(r.uniform(150, 1000))
        end = "taper"
        colour = tuple(
            float(0.55 * c + 0.45 * s) for c, s in zip(colour, (0.85, 0.8, 0.72), strict=True)
        )
        alpha = float(r.uniform(0.3, 0.55))
    elif kind == "black_dot":
        d = float(r.uniform(45, 105))
        length = 0.0
        end = "dot"
        colour = tuple(float(c) for c in np.array(HAIR["black"]) * r.uniform(0.8, 1.6))
    elif kind == "broken":
        length = float(r.uniform(80, 600))
        end = "frayed" if r.random() < 0.5 else "square"
    elif kind == "exclamation":
        d_end = d
        d = float(r.uniform(22, 42))
        length = float(r.uniform(300, 1100))
        end = "frayed"
    elif kind == "tapered":
        length = float(r.uniform(200, 1500))
        end = "taper"
    if end == "taper":
        taper_len = float(min(length, r.uniform(0.25, 0.5) * length + 100.0))
        d_end = d * float(r.uniform(0.08, 0.16))
    cut = end in ("square", "oblique", "frayed")
    curv = float(r.normal(0, 1.0 / 4000.0))
    amp, lam = float(r.uniform(0, 0.35)), float(r.uniform(900, 3000))
    if look["coiled"]:
        amp, lam = float(r.uniform(0.7, 1.4)), float(r.uniform(250, 700))
    twist = float(r.uniform(300, 800)) if look["pili_torti"] and kind == "terminal" else 0.0
    return Hair(
        uid=uid,
        unit=unit.uid,
        x=x,
        y=y,
        kind=kind,
        d=d,
        length=length,
        heading=hd,
        colour=(colour[0], colour[1], colour[2]),
        alpha=alpha,
        end=end,
        cut=cut,
        depth=int(r.integers(1, 4)) if length > 1600 else 0,
        curv=curv,
        wave_amp=amp,
        wave_len=lam,
        wave_phase=float(r.uniform(0, 2 * math.pi)),
        d_end=d_end,
        taper_len=taper_len,
        twist=twist,
        end_angle=float(r.uniform(-0.9, 0.9)) if end == "oblique" else 0.0,
        root_band=root_band,
        root_colour=(root_colour[0], root_colour[1], root_colour[2]),
        prio=float(r.random()),
    )


def _place(unit: Unit, d: float) -> tuple[float, float, float]:
    """Where the next hair of a unit leaves the skin: beside the others, alternating sides,
    without moving the hairs already there. Returns (x, y, offset)."""
    if not unit.hairs:
        off = 0.0
    else:
        gap = 1.12
        right = max(o + h.d / 2 for o, h in zip(unit.offsets, unit.hairs, strict=True))
        left = min(o - h.d / 2 for o, h in zip(unit.offsets, unit.hairs, strict=True))
        off = right + gap * d / 2 + 3 if len(unit.hairs) % 2 else left - gap * d / 2 - 3
    nx, ny = -math.sin(unit.heading), math.cos(unit.heading)
    return unit.x + nx * off, unit.y + ny * off, off


def _field_heading(look: dict[str, Any], seed: int, x: float, y: float) -> float:
    """The growth direction: a slow swirl over millimetres round the site's heading."""
    ph = look["heading"] + (seed % 997) * 0.37
    swirl = (
        0.6 * math.sin(x / 4100.0 + 3.0 * ph)
        + 0.4 * math.sin(y / 3300.0 - 2.0 * ph)
        + 0.3 * math.sin((x + y) / 2700.0 + ph)
    )
    return float(look["heading"] + look["heading_var"] * swirl)


def _cells(bbox: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = bbox
    return [
        (i, j)
        for j in range(math.floor(y0 / CELL), math.floor(y1 / CELL) + 1)
        for i in range(math.floor(x0 / CELL), math.floor(x1 / CELL) + 1)
    ]


def world_units(
    seed: int,
    look: dict[str, Any],
    bbox: tuple[float, float, float, float],
    visit: tuple[float, int] | None,
) -> list[Unit]:
    """Units (with their hairs) whose opening lies in ``bbox`` (world um) grown by MARGIN,
    for the baseline or for a visit (factor, seed2)."""
    x0, y0, x1, y1 = bbox
    big = (x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN)
    p = np.array(look["unit_p"])
    p = p / p.sum()
    mean_n = float(np.dot(p, [1, 2, 3, 4]))
    per_um2 = look["density_target"] * 1e-8 / (mean_n * (1.0 - look["empty_frac"]))
    units: list[Unit] = []
    by_cell: dict[tuple[int, int], list[Unit]] = {}
    for ci, cj in _cells(big):
        r = rng_for(seed, ci + (1 << 31), cj + (1 << 31), 11)
        for k in range(int(r.poisson(per_um2 * CELL * CELL))):
            ux = (ci + float(r.random())) * CELL
            uy = (cj + float(r.random())) * CELL
            uid = f"{ci}:{cj}:{k}"
            unit = Unit(
                uid=uid,
                x=ux,
                y=uy,
                heading=_field_heading(look, seed, ux, uy) + float(r.normal(0, 0.15)),
                prio=float(r.random()),
                opening=float(r.uniform(25, 55)),
                yellow=False,
                halo=float(r.uniform(25, 110)) if r.random() < look["halo"] else 0.0,
                cast=bool(r.random() < look["casts"]),
            )
            n = 0 if r.random() < look["empty_frac"] else int(r.choice([1, 2, 3, 4], p=p))
            unit.yellow = bool(n == 0 and r.random() < look["yellow_share"])
            hr = rng_for(seed, ci + (1 << 31), cj + (1 << 31), k, 12)
            for h in range(n):
                _add_hair(hr, look, unit, f"{uid}:{h}")
            units.append(unit)
            by_cell.setdefault((ci, cj), []).append(unit)
    drop_crowded(units)
    if visit is not None:
        alive = {id(u) for u in units}
        for (ci, cj), mine in by_cell.items():
            kept = [u for u in mine if id(u) in alive]
            units.extend(_visit_cell(seed, look, visit, ci, cj, kept))
        drop_crowded(units)
    return units


def _add_hair(r: np.random.Generator, look: dict[str, Any], unit: Unit, uid: str) -> Hair:
    hair = _draw_hair(r, look, uid, unit, unit.x, unit.y)
    hx, hy, off = _place(unit, hair.d)
    hair.x, hair.y = hx, hy
    unit.hairs.append(hair)
    unit.offsets.append(off)
    return hair


def _visit_cell(
    seed: int,
    look: dict[str, Any],
    visit: tuple[float, int],
    ci: int,
    cj: int,
    mine: list[Unit],
) -> list[Unit]:
    """Change a cell's units for a visit in place; return the new units."""
    factor, seed2 = visit
    fresh: list[Unit] = []
    r = rng_for(seed, seed2, ci + (1 << 31), cj + (1 << 31), 21)
    if factor <= 1.0:
        for u in mine:
            keep = [r.random() < factor for _ in u.hairs]
            u.offsets = [o for o, k in zip(u.offsets, keep, strict=True) if k]
            u.hairs = [h for h, k in zip(u.hairs, keep, strict=True) if k]
        return fresh
    count = sum(len(u.hairs) for u in mine)
    want = (factor - 1.0) * count
    extra = int(want) + int(r.random() < want - int(want))
    n_new = 0

    def grow(u: Unit) -> None:
        nonlocal n_new
        h = _add_hair(r, look, u, f"{u.uid}:v{n_new}")
        h.new = True
        h.prio = 2.0 + h.prio
        n_new += 1

    for u in mine:
        if extra <= 0:
            break
        if not u.hairs:
            grow(u)
            u.yellow = False
            extra -= 1
    for _ in range(4):
        for u in mine:
            if extra > 0 and 0 < len(u.hairs) < 4:
                grow(u)
                extra -= 1
    k = 0
    while extra > 0 and k < 4 * extra + 20:
        ux = (ci + float(r.random())) * CELL
        uy = (cj + float(r.random())) * CELL
        u = Unit(
            uid=f"{ci}:{cj}:n{k}",
            x=ux,
            y=uy,
            heading=_field_heading(look, seed, ux, uy) + float(r.normal(0, 0.15)),
            prio=2.0 + float(r.random()),
            opening=float(r.uniform(25, 55)),
            yellow=False,
            halo=0.0,
            cast=False,
        )
        k += 1
        up = np.array(look["unit_p"])
        n = min(extra, int(r.choice([1, 2, 3, 4], p=up / up.sum())))
        for _ in range(n):
            grow(u)
        extra -= n
        fresh.append(u)
    return fresh


def drop_crowded(units: list[Unit]) -> None:
    """Drop units whose opening crowds one of higher priority, then any hair whose root
    lies within two radii of a root of higher priority (a pairwise rule, not a greedy one,
    so the result is the same whatever part of the world was drawn)."""
    if not units:
        return
    pts = np.array([[u.x, u.y] for u in units])
    tree = cKDTree(pts)
    bad: set[int] = set()
    for i, j in tree.query_pairs(160.0):
        bad.add(i if units[i].prio > units[j].prio else j)
    units[:] = [u for k, u in enumerate(units) if k not in bad]
    hairs = [h for u in units for h in u.hairs]
    if len(hairs) < 2:
        return
    tree = cKDTree(np.array([[h.x, h.y] for h in hairs]))
    gone: set[str] = set()
    for i, j in tree.query_pairs(240.0):
        a, b = hairs[i], hairs[j]
        if math.hypot(a.x - b.x, a.y - b.y) < (a.d + b.d) / 2 * 1.05:
            gone.add(a.uid if a.prio > b.prio else b.uid)
    for u in units:
        keep = [h.uid not in gone for h in u.hairs]
        u.offsets = [o for o, k in zip(u.offsets, keep, strict=True) if k]
        u.hairs = [h for h, k in zip(u.hairs, keep, strict=True) if k]


@dataclass
class Marks:
    dots: list[tuple[float, float, float, tuple[float, float, float], float]]  # x y r rgb a
    vessels: list[tuple[np.ndarray, float, float]]  # (points (n,2), width, alpha)
    flakes: list[tuple[np.ndarray, float, tuple[float, float, float]]]  # polygon, alpha, rgb


def world_marks(seed: int, look: dict[str, Any], bbox: tuple[float, float, float, float]) -> Marks:
    """Skin marks near the frame: pores, white, pigmented dots, vessels, flakes."""
    x0, y0, x1, y1 = bbox
    m = 700.0
    skin = np.array(look["skin_rgb"])
    marks = Marks([], [], [])
    area = CELL * CELL * 1e-6
    for ci, cj in _cells((x0 - m, y0 - m, x1 + m, y1 + m)):
        r = rng_for(seed, ci + (1 << 31), cj + (1 << 31), 31)

        def pos(r: np.random.Generator = r, ci: int = ci, cj: int = cj) -> tuple[float, float]:
            return (ci + float(r.random())) * CELL, (cj + float(r.random())) * CELL

        for _ in range(int(r.poisson(look["pores"] * area))):
            x, y = pos()
            c = tuple(float(v) for v in skin * r.uniform(0.72, 0.88))
            marks.dots.append((x, y, float(r.uniform(5, 14)), (c[0], c[1], c[2]), 0.6))
        for _ in range(int(r.poisson(look["white_dots"] * area))):
            x, y = pos()
            c = tuple(float(v) for v in np.clip(skin * 0.35 + 0.68, 0, 1))
            marks.dots.append(
                (x, y, float(r.uniform(9, 28)), (c[0], c[1], c[2]), float(r.uniform(0.5, 0.9)))
            )
        for _ in range(int(r.poisson(look["pig_dots"] * area))):
            x, y = pos()
            g = float(r.uniform(0.15, 0.45))
            c = (g * 0.8 + 0.05, g * 0.62 + 0.03, g * 0.5 + 0.03)
            for _k in range(int(r.integers(1, 4))):
                marks.dots.append(
                    (
                        x + float(r.normal(0, 40)),
                        y + float(r.normal(0, 40)),
                        float(r.uniform(8, 40)),
                        c,
                        float(r.uniform(0.4, 0.85)),
                    )
                )
        for _ in range(int(r.poisson(look["vessels"] * area))):
            x, y = pos()
            style = int(r.integers(0, 3))
            w = float(r.uniform(7, 22))
            a = float(r.uniform(0.25, 0.6))
            ang = float(r.uniform(0, 2 * math.pi))
            if style == 0:  # hairpin loop
                t = np.linspace(-math.pi, 0.0, 24)
                rad = float(r.uniform(15, 45))
                L = float(r.uniform(60, 250))
                loop = np.stack([rad * np.cos(t), rad * np.sin(t)], 1)
                legs_a = np.stack([np.full(6, -rad), np.linspace(L, 0, 6)], 1)
                legs_b = np.stack([np.full(6, rad), np.linspace(0, L, 6)], 1)
                pts = np.concatenate([legs_a, loop, legs_b])
            elif style == 1:  # twisted
                t = np.linspace(0, 1, 40)
                L = float(r.uniform(100, 400))
                pts = np.stack(
                    [t * L, float(r.uniform(10, 35)) * np.sin(t * float(r.uniform(10, 25)))], 1
                )
            else:  # arborising
                t = np.linspace(0, 1, 30)
                L = float(r.uniform(300, 1400))
                pts = np.stack([t * L, np.cumsum(r.normal(0, L / 60, 30))], 1)
                for _b in range(int(r.integers(1, 4))):
                    k = int(r.integers(5, 25))
                    bt = np.linspace(0, 1, 12)
                    ba = float(r.uniform(-1.2, 1.2))
                    bl = float(r.uniform(80, 400))
                    bpts = pts[k] + np.stack([np.cos(ba) * bt * bl, np.sin(ba) * bt * bl], 1)
                    marks.vessels.append((_turn(bpts, ang, x, y), w * 0.6, a))
            marks.vessels.append((_turn(pts, ang, x, y), w, a))
        for _ in range(int(r.poisson(look["flakes"] * area))):
            x, y = pos()
            size = float(r.uniform(30, 220))
            ang = float(r.uniform(0, 6.3))
            g = float(r.uniform(0.85, 0.97))
            rgb = (g, g * 0.97, g * float(r.uniform(0.85, 0.95)))
            a = float(r.uniform(0.12, 0.3))
            for shrink in (1.0, 0.75, 0.5):  # nested layers: thicker middle, thin edges
                k = int(r.integers(12, 20))
                t = np.sort(r.uniform(0, 2 * math.pi, k))
                rads = size * shrink * r.uniform(0.5, 1.0, k)
                e = float(r.uniform(0.3, 0.8))
                pts = np.stack([rads * np.cos(t), rads * e * np.sin(t)], 1)
                off = r.normal(0, size * 0.1, 2)
                marks.flakes.append((_turn(pts, ang, x + float(off[0]), y + float(off[1])), a, rgb))
    return marks


def _turn(pts: np.ndarray, ang: float, x: float, y: float) -> np.ndarray:
    c, s = math.cos(ang), math.sin(ang)
    out: np.ndarray = np.stack(
        [pts[:, 0] * c - pts[:, 1] * s + x, pts[:, 0] * s + pts[:, 1] * c + y], 1
    )
    return out
