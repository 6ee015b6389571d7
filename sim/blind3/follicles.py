"""The hair population of a blind-3 site: follicular units placed by dart throwing, 1-4 hairs
per opening, each hair's shaft as Catmull-Rom control points (combed direction field, curl,
waves), its length, thickness, colour and end (clipped, oblique, frayed, broken or a natural
tapered tip), and the later visit's hairs (most kept, some shed, some new).

Coordinates are pixels of the frame (pixel centres at integers, x right, y down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind3.colour import lab_colour
from sim.blind3.look import HAIR_LAB

F64 = NDArray[np.float64]


@dataclass
class Hair:
    """One hair: emergence point, shaft shape and appearance."""

    x: float
    y: float
    angle: float  # direction the shaft leaves the opening, radians (image axes)
    length_px: float  # visible length along the shaft
    diameter_um: float
    kind: str  # stubble, long, vellus, broken, exclamation
    end: str  # natural, blunt, oblique, frayed
    colour: tuple[float, float, float]  # linear RGB
    opacity: float
    white: bool
    taper_px: float
    curl: float  # radians per pixel
    curl2: float  # radians per pixel^2
    wave_amp: float
    wave_px: float
    sub_px: float  # shaft seen through the skin behind the opening
    medulla: float  # medulla width as a share of the shaft (0: none)
    seed: int
    unit: int


@dataclass
class Unit:
    """A follicular opening: where 0-4 hairs emerge (0: an empty opening, a dot)."""

    x: float
    y: float
    kind: str  # hair, yellow, white, black
    radius_um: float


@dataclass
class World:
    """The site: its openings and hairs (frame plus a margin)."""

    units: list[Unit]
    hairs: list[Hair] = field(default_factory=list)


def direction(look: dict[str, Any], x: F64 | float, y: F64 | float) -> Any:
    """The combed direction (radians) at pixel positions: a base angle bent by a slow swirl."""
    upp = look["um_per_px"]
    d = look["swirl_dir"]
    phase = (np.cos(d) * np.asarray(x) + np.sin(d) * np.asarray(y)) * upp / 1000.0
    return look["comb_angle"] + look["swirl_rad"] * np.sin(2 * np.pi * phase / look["swirl_mm"])


def margin_px(look: dict[str, Any]) -> float:
    """How far outside the frame hairs are planted (long shafts enter from there)."""
    mm = 1.8 if look["hair_length"] == "trimmed" else 6.0
    return float(mm * 1000.0 / look["um_per_px"])


def _darts(
    rng: np.random.Generator, n: int, x0: float, y0: float, x1: float, y1: float, dmin: float
) -> list[tuple[float, float]]:
    """Up to ``n`` points in the box, none closer than ``dmin`` (dart throwing, grid hash)."""
    cand = rng.uniform([x0, y0], [x1, y1], size=(int(n * 1.6) + 4, 2))
    cell = max(dmin, 1e-6)
    grid: dict[tuple[int, int], list[int]] = {}
    out: list[tuple[float, float]] = []
    d2 = dmin * dmin
    for cx, cy in cand:
        gx, gy = int(cx // cell), int(cy // cell)
        ok = True
        for i in (gx - 1, gx, gx + 1):
            for j in (gy - 1, gy, gy + 1):
                for k in grid.get((i, j), ()):
                    px, py = out[k]
                    if (px - cx) ** 2 + (py - cy) ** 2 < d2:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            grid.setdefault((gx, gy), []).append(len(out))
            out.append((float(cx), float(cy)))
            if len(out) >= n:
                break
    return out


def _hair_lab(
    rng: np.random.Generator, look: dict[str, Any], vellus: bool, white: bool
) -> tuple[tuple[float, float, float], float]:
    name = look["hair_colour"]
    if white:
        name = "white"
    elif name == "grey":
        name = "dark_brown" if rng.random() < 0.6 else "brown"
    lab_l, lab_a, lab_b, opacity = HAIR_LAB[name]
    lab_l += float(rng.normal(0, look["hair_lightness_sd"]))
    if vellus and not white:  # hypopigmented, translucent
        pale = float(rng.uniform(0.35, 0.7))
        lab_l += (68.0 - lab_l) * pale
        lab_a *= 0.7
        lab_b = lab_b * 0.6 + 8.0
        opacity *= float(rng.uniform(0.45, 0.75))
    rgb = lab_colour(float(np.clip(lab_l, 4, 95)), lab_a, lab_b)
    return (float(rgb[0]), float(rgb[1]), float(rgb[2])), float(opacity)


def new_hair(
    rng: np.random.Generator,
    look: dict[str, Any],
    unit: Unit,
    index: int,
    spread: float,
    fresh: bool = False,
    unit_turn: float | None = None,
) -> Hair:
    """A hair of ``unit`` (its ``index``-th): thickness, kind, length, colour, shape."""
    upp = look["um_per_px"]
    mm = 1000.0 / upp
    vellus = rng.random() < look["vellus_fraction"]
    if vellus:
        diam = float(rng.uniform(8, 29.5))
    else:
        diam = float(np.clip(rng.normal(look["mean_terminal_um"], look["sd_terminal_um"]), 32, 125))
    white = look["hair_colour"] == "white" or (
        look["hair_colour"] == "grey" and rng.random() < look["grey_white_share"]
    )
    colour, opacity = _hair_lab(rng, look, vellus, white)
    mode = look["hair_length"]
    if mode == "mixed":
        mode = "long" if rng.random() < look["long_share"] else "trimmed"
    if fresh and mode == "long" and rng.random() < 0.5:
        mode = "trimmed"  # a regrowing hair is short
    u = rng.random()
    elev = math.radians(float(rng.uniform(15, 65)))
    if u < look["exclamation_share"] and not vellus:
        kind, end = "exclamation", "frayed"
        length = float(rng.uniform(0.3, 1.6)) * mm
    elif u < look["exclamation_share"] + look["broken_share"]:
        kind, end = "broken", "frayed" if rng.random() < 0.6 else "blunt"
        length = float(rng.uniform(0.1, 2.0)) * mm
    elif mode == "trimmed":
        lo, hi = look["cut_length_mm"]
        kind = "vellus" if vellus else "stubble"
        length = float(rng.uniform(lo, hi)) * math.cos(elev) * mm
        v = rng.random()
        end = (
            "frayed"
            if v < look["frayed_share"]
            else "oblique"
            if v < look["frayed_share"] + look["oblique_share"]
            else "blunt"
        )
        if vellus and rng.random() < 0.5:
            end = "natural"
            length = float(rng.uniform(0.1, 0.8)) * mm
    elif vellus:
        kind, end = "vellus", "natural"
        length = float(rng.uniform(0.3, 2.5)) * mm
    else:
        kind = "long"
        length = float(rng.uniform(3.0, 14.0)) * mm
        end = "natural" if rng.random() < 0.6 else "blunt"
    length = max(length, 0.1 * mm)
    jitter = look["jitter_long"] if kind == "long" else look["jitter_stubble"]
    turn = float(rng.normal(0, jitter))
    if unit_turn is not None:  # hairs of one opening leave it nearly together
        turn = unit_turn * (jitter / look["jitter_stubble"]) + 0.3 * turn
    angle = float(direction(look, unit.x, unit.y)) + spread + turn
    taper = float(rng.uniform(0.15, 0.35)) * length if end == "natural" else 0.0
    if end == "natural" and kind == "long":
        taper = min(taper, float(rng.uniform(0.8, 2.5)) * mm)
    curl = float(rng.normal(0, look["curl_per_mm"])) / mm
    wave = rng.random() < look["wave_share"] and kind == "long"
    medulla = (
        float(rng.uniform(0.15, 0.35))
        if (not vellus and rng.random() < look["medulla_share"])
        else 0.0
    )
    # the emergence point: a little off the opening's centre, towards the shaft's direction
    off = float(rng.uniform(0, 0.6)) * unit.radius_um / upp
    oa = angle + float(rng.normal(0, 0.8))
    return Hair(
        x=unit.x + off * math.cos(oa),
        y=unit.y + off * math.sin(oa),
        angle=angle,
        length_px=length,
        diameter_um=round(diam, 3),
        kind=kind,
        end=end,
        colour=colour,
        opacity=opacity,
        white=white,
        taper_px=taper,
        curl=curl,
        curl2=float(rng.normal(0, 0.3)) * curl / max(length, 1.0),
        wave_amp=float(rng.uniform(0.05, 0.25)) if wave else 0.0,
        wave_px=float(rng.uniform(1.0, 4.0)) * mm,
        sub_px=float(rng.uniform(30, 110)) / upp * (0.6 if vellus else 1.0),
        medulla=medulla,
        seed=int(rng.integers(0, 2**31 - 1)),
        unit=-1,
    )


def plant(
    rng: np.random.Generator, look: dict[str, Any], width: int, height: int, hairless: bool
) -> World:
    """The site's openings and (unless ``hairless``) hairs."""
    upp = look["um_per_px"]
    m = margin_px(look)
    x0, y0, x1, y1 = -m, -m, width + m, height + m
    area_cm2 = (x1 - x0) * (y1 - y0) * (upp * 1e-4) ** 2
    p = np.asarray(look["hairs_per_unit_p"])
    per_unit = float((p * np.arange(1, 5)).sum())
    n_hair_units = rng.poisson(max(look["density_per_cm2"], 1.0) * area_cm2 / per_unit)
    n_empty = int(n_hair_units * look["empty_share"] / max(1 - look["empty_share"], 0.05))
    if look["density_per_cm2"] < 1.0:
        n_empty = int(rng.poisson(60 * area_cm2))
    n_units = n_hair_units + n_empty
    spacing = math.sqrt((x1 - x0) * (y1 - y0) / max(n_units, 1))
    pts = _darts(rng, n_units, x0, y0, x1, y1, 0.45 * spacing)
    kinds = ["hair"] * len(pts)
    for i in rng.permutation(len(pts))[: min(n_empty, len(pts))]:
        kinds[i] = "yellow" if rng.random() < look["yellow_share"] else "white"
    units = []
    for (ux, uy), kind in zip(pts, kinds, strict=True):
        r_um = look["opening_um"] * float(rng.uniform(0.7, 1.3))
        if kind == "yellow":
            r_um *= float(rng.uniform(1.0, 2.2))
        units.append(Unit(ux, uy, kind, r_um))
    if look["black_dots"] and not hairless:  # black dots are hairs: none on bare skin
        n_black = int(rng.integers(2, 12) * area_cm2 / 1.0)
        for ux, uy in rng.uniform([x0, y0], [x1, y1], size=(n_black, 2)):
            units.append(Unit(float(ux), float(uy), "black", float(rng.uniform(20, 45))))
    world = World(units)
    if hairless or look["density_per_cm2"] < 1.0:
        for u in world.units:
            if u.kind == "hair":
                u.kind = "yellow" if rng.random() < 0.5 else "white"
        return world
    for k, u in enumerate(world.units):
        if u.kind != "hair":
            continue
        n = 1 + int(rng.choice(4, p=p / p.sum()))
        unit_turn = float(rng.normal(0, look["jitter_stubble"]))
        for j in range(n):
            spread = (j - (n - 1) / 2) * float(rng.uniform(0.04, 0.15))
            h = new_hair(rng, look, u, j, spread, unit_turn=unit_turn)
            h.unit = k
            world.hairs.append(h)
    return world


def regrow(
    world: World,
    look: dict[str, Any],
    factor: float,
    rng: np.random.Generator,
    width: int,
    height: int,
) -> World:
    """The same site at a later visit: about ``factor`` times the hairs; kept hairs stay
    where and as they were, shed ones leave empty openings, new ones fill empty openings
    first, then join occupied ones, then open new follicles."""
    n = len(world.hairs)
    units = [replace(u) for u in world.units]
    if n == 0:
        return World(units, [])
    if factor <= 1.0:
        keep = np.sort(rng.choice(n, size=round(factor * n), replace=False))
        return World(units, [world.hairs[i] for i in keep])
    hairs = list(world.hairs)
    n_new = round((factor - 1.0) * n)
    occupied: dict[int, int] = {}
    for h in hairs:
        occupied[h.unit] = occupied.get(h.unit, 0) + 1
    empty = [k for k, u in enumerate(units) if u.kind in ("yellow", "white")]
    rng.shuffle(empty)
    full = list(occupied)
    m = margin_px(look)
    new: list[Hair] = []
    for i in range(n_new):
        if i < len(empty) // 2:
            k = empty[i]
        elif full and rng.random() < 0.5:
            k = full[int(rng.integers(len(full)))]
            if occupied.get(k, 0) >= 5:
                k = -1
        else:
            k = -1
        if k < 0:
            ux, uy = rng.uniform([-m, -m], [width + m, height + m])
            units.append(Unit(float(ux), float(uy), "hair", look["opening_um"]))
            k = len(units) - 1
        occupied[k] = occupied.get(k, 0) + 1
        h = new_hair(rng, look, units[k], occupied[k], float(rng.normal(0, 0.1)), fresh=True)
        h.unit = k
        new.append(h)
    # new shafts lie among the old ones (the old ones keep their stacking order)
    keys = np.concatenate([np.arange(len(hairs)) + 0.5, rng.uniform(0, len(hairs) + 1, len(new))])
    merged = hairs + new
    return World(units, [merged[i] for i in np.argsort(keys, kind="stable")])
