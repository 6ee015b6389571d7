"""A site: its look (drawn from the seed alone) and its world of follicular units, hairs and
marks, laid out in 1 mm cells that each draw from their own generator keyed by the seed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
CELL_UM = 1000.0

HAIR_RGB: dict[str, tuple[float, float, float]] = {
    "black": (0.030, 0.026, 0.024),
    "dark brown": (0.075, 0.050, 0.036),
    "brown": (0.20, 0.125, 0.075),
    "blond": (0.66, 0.47, 0.26),
    "red": (0.52, 0.20, 0.085),
    "white": (0.86, 0.85, 0.81),
}
DYES: tuple[tuple[float, float, float], ...] = (
    (0.33, 0.06, 0.11),
    (0.045, 0.045, 0.08),
    (0.70, 0.56, 0.30),
    (0.42, 0.14, 0.05),
)
FITZ_MELANIN = (0.10, 0.28, 0.62, 1.15, 2.2, 3.4)


def rng_for(*keys: int) -> np.random.Generator:
    """A generator keyed by integers of any size and sign."""
    ent: list[int] = []
    for k in keys:
        ent += [0 if k >= 0 else 1, abs(int(k))]
    return np.random.default_rng(np.random.SeedSequence(ent))


def site_look(seed: int) -> dict[str, Any]:
    """Everything about a site that is not where things are: drawn from the seed alone."""
    r = rng_for(seed, 1)
    fitz = int(r.integers(1, 7))
    tone = "light" if fitz <= 2 else "medium" if fitz <= 4 else "dark"
    names = ["black", "dark brown", "brown", "blond", "red", "grey", "white", "dyed"]
    p = np.array([0.2, 0.2, 0.14, 0.1, 0.07, 0.12, 0.06, 0.11])
    if fitz >= 5:
        p = np.array([0.45, 0.2, 0.06, 0.02, 0.01, 0.12, 0.04, 0.1])
    colour = names[int(r.choice(8, p=p / p.sum()))]
    length = ["trimmed", "long", "mixed"][int(r.choice(3, p=[0.4, 0.35, 0.25]))]
    u = float(r.random())
    if u < 0.05:
        pattern, dens = "bare", 0.0
    elif u < 0.27:
        pattern, dens = "near-bald", float(r.uniform(4.0, 26.0))
    else:
        pattern, dens = "normal", float(r.uniform(45.0, 320.0))
    light = "polarised" if r.random() < 0.55 else "non-polarised"
    natural = "black" if fitz >= 5 or r.random() < 0.4 else "dark brown"
    return {
        "fitzpatrick": fitz,
        "skin_tone": tone,
        "melanin": FITZ_MELANIN[fitz - 1] * float(r.uniform(0.85, 1.15)),
        "blood": float(r.uniform(0.12, 0.4)),
        "hair_colour": colour,
        "natural_colour": natural,
        "dye": int(r.integers(len(DYES))),
        "hair_length": length,
        "pattern": pattern,
        "density_target": dens,
        "vellus_share": float(r.uniform(0.03, 0.35 if pattern == "normal" else 0.6)),
        "black_dot_share": float(r.uniform(0.0, 0.04 if pattern == "normal" else 0.15)),
        "flow_deg": float(r.uniform(0.0, 360.0)),
        "curl": float(r.uniform(0.0, 1.0)),
        "light": light,
        "defocus_um": float(r.uniform(1.0, 14.0)),
        "network": float(r.uniform(0.15, 0.9)),
        "scale": float(r.uniform(0.0, 0.45)) if r.random() < 0.3 else 0.0,
        "vessels": float(r.uniform(0.0, 0.5)),
        "yellow_dots": float(r.uniform(0.0, 0.5)) if r.random() < 0.4 else 0.0,
        "white_dots": float(r.uniform(2.0, 12.0)) if fitz >= 4 else 0.0,
        "empty_openings": float(r.uniform(0.0, 0.6)),
        "sebum": float(r.uniform(0.0, 0.35)) if light == "non-polarised" else 0.0,
        "noise": float(r.uniform(0.002, 0.02)),
        "jpeg_quality": int(r.integers(45, 96)) if r.random() < 0.6 else 0,
        "vignette": float(r.uniform(0.0, 0.45)),
        "exposure": float(r.uniform(0.8, 1.2)),
        "tint": [float(v) for v in r.uniform(0.93, 1.07, 3)],
        "reach_um": 1300.0 if length == "trimmed" else 6000.0,
    }


def _flow(look: dict[str, Any], x: float, y: float) -> float:
    a = math.radians(look["flow_deg"])
    return a + 0.5 * math.sin(x / 7000.0 + look["curl"] * 6) + 0.4 * math.cos(y / 9000.0)


def _colours(
    look: dict[str, Any], r: np.random.Generator, kind: str
) -> tuple[list[float], list[float], float, float]:
    """Shaft colour, root colour, length of natural-coloured regrowth and opacity."""
    name = look["hair_colour"]
    nat = HAIR_RGB[look["natural_colour"]]
    regrow = 0.0
    if name == "grey":
        base = HAIR_RGB["white"] if r.random() < 0.55 else nat
    elif name == "white":
        base = HAIR_RGB["white"] if r.random() < 0.9 else (0.55, 0.53, 0.5)
    elif name == "dyed":
        base = DYES[look["dye"]]
        regrow = float(r.uniform(80.0, 600.0))
    else:
        base = HAIR_RGB[name]
    jit = r.uniform(0.97, 1.03, 3) * float(r.uniform(0.85, 1.15))
    shaft = [float(min(0.95, c * j)) for c, j in zip(base, jit, strict=True)]
    root = [float(min(0.95, c * j)) for c, j in zip(nat, jit, strict=True)] if regrow else shaft
    opacity = float(r.uniform(0.9, 0.98))
    if kind == "vellus":
        pale = (0.82, 0.74, 0.64)
        shaft = [0.45 * c + 0.55 * q for c, q in zip(shaft, pale, strict=True)]
        root, regrow = shaft, 0.0
        opacity = float(r.uniform(0.35, 0.6))
    return shaft, root, regrow, opacity


def cell(
    seed: int, look: dict[str, Any], cx: int, cy: int, density: float, visit: int | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The units (openings) and hairs of one cell; ``visit`` keys the hairs a later visit adds
    (None: the site's own)."""
    keys = (seed, 2, cx, cy) if visit is None else (seed, 3, visit, cx, cy)
    r = rng_for(*keys)
    sizes = np.array([1, 2, 3, 4])
    psize = np.array([0.36, 0.4, 0.17, 0.07])
    lam = density * (CELL_UM * CELL_UM * 1e-8) / float((sizes * psize).sum())
    n_units = int(r.poisson(lam))
    n_empty = int(r.poisson(look["empty_openings"] * max(lam, 0.3))) if visit is None else 0
    units: list[dict[str, Any]] = []
    hairs: list[dict[str, Any]] = []
    tag = f"{cx}.{cy}" if visit is None else f"v{visit}.{cx}.{cy}"
    for k in range(n_units + n_empty):
        ux = (cx + float(r.random())) * CELL_UM
        uy = (cy + float(r.random())) * CELL_UM
        uid = f"{tag}.{k}"
        n = int(r.choice(4, p=psize) + 1) if k < n_units else 0
        ua = _flow(look, ux, uy) + float(r.normal(0.0, 0.25))
        sp = float(r.uniform(50.0, 70.0))
        dmax = 20.0
        for j in range(n):
            v = float(r.random())
            if visit is not None:
                kind = (
                    "vellus"
                    if v < look["vellus_share"]
                    else ("intermediate" if v < look["vellus_share"] + 0.2 else "terminal")
                )
            elif v < look["black_dot_share"]:
                kind = "black_dot"
            elif v < look["black_dot_share"] + look["vellus_share"]:
                kind = "vellus"
            elif v < look["black_dot_share"] + look["vellus_share"] + 0.15:
                kind = "intermediate"
            elif v < look["black_dot_share"] + look["vellus_share"] + 0.19:
                kind = "broken"
            else:
                kind = "terminal"
            d = {
                "terminal": r.uniform(55.0, 100.0),
                "intermediate": r.uniform(30.0, 55.0),
                "vellus": r.uniform(14.0, 29.0),
                "broken": r.uniform(45.0, 95.0),
                "black_dot": r.uniform(40.0, 80.0),
            }[kind]
            off = (j - (n - 1) / 2.0) * sp
            hx = ux - math.sin(ua) * off + float(r.normal(0.0, 4.0))
            hy = uy + math.cos(ua) * off + float(r.normal(0.0, 4.0))
            mode = look["hair_length"]
            if mode == "mixed":
                mode = "trimmed" if r.random() < 0.5 else "long"
            end, length = "cut", 0.0
            if kind == "black_dot":
                end = "dot"
            elif kind == "vellus":
                end, length = "taper", float(r.uniform(200.0, 1200.0))
            elif kind == "broken":
                length = float(r.uniform(120.0, 450.0))
            elif mode == "trimmed":
                length = float(r.uniform(700.0, 1300.0)) * math.cos(math.radians(r.uniform(15, 55)))
            else:
                length = float(r.uniform(1500.0, look["reach_um"]))
                end = "taper" if r.random() < 0.6 else "cut"
            shaft, root, regrow, opacity = _colours(look, r, kind)
            if kind == "black_dot":
                shaft = root = [c * 0.8 for c in HAIR_RGB[look["natural_colour"]]]
                opacity = 0.95
            dmax = max(dmax, float(d))
            hairs.append(
                {
                    "id": f"{uid}.{j}",
                    "unit": uid,
                    "x": hx,
                    "y": hy,
                    "kind": kind,
                    "d": round(float(d), 2),
                    "angle": ua + float(r.normal(0.0, 0.15)),
                    "length": length,
                    "end": end,
                    "mode": mode,
                    "colour": shaft,
                    "root_colour": root,
                    "regrow": regrow,
                    "opacity": opacity,
                    "z": float(r.random()) + (1.0 if mode == "trimmed" else 0.0),
                    "curl": float(r.normal(0.0, 1.0)) * look["curl"] / 1500.0,
                    "shape": int(r.integers(2**62)),
                    "new": visit is not None,
                }
            )
        yellow = r.random() < look["yellow_dots"] * (2.0 if n == 0 else 1.0)
        units.append(
            {
                "x": ux,
                "y": uy,
                # wide enough for every hair of the unit to emerge inside the opening
                "r": max(dmax / 2 + float(r.uniform(12.0, 40.0)), (n - 1) / 2 * sp + dmax / 2 + 12),
                "yellow": bool(yellow),
                "depth": float(r.uniform(0.3, 1.0)),
            }
        )
    return units, hairs


def shaft(h: dict[str, Any]) -> tuple[F, F, F, F]:
    """World centreline (x, y in um), diameters (um) and distance from the root (um) of
    hair ``h``; a black dot has a single vertex."""
    if h["end"] == "dot":
        one = np.zeros(1)
        return one + h["x"], one + h["y"], one + h["d"], one
    r = rng_for(h["shape"])
    L = float(h["length"])
    n = max(3, math.ceil(L / 25.0) + 1)
    s = np.linspace(0.0, L, n)
    ph = float(r.uniform(0.0, 2 * math.pi))
    wave = float(r.uniform(0.0, 0.25)) if h["mode"] == "long" else 0.02
    ang = h["angle"] + h["curl"] * s + wave * np.sin(s / float(r.uniform(300.0, 900.0)) + ph)
    ang = ang + np.cumsum(r.normal(0.0, 0.01, n)) * (L > 1500)
    ds = np.diff(s)
    dx = np.concatenate([[0.0], np.cumsum(np.cos(ang[:-1]) * ds)])
    dy = np.concatenate([[0.0], np.cumsum(np.sin(ang[:-1]) * ds)])
    d = np.full(n, float(h["d"]))
    if h["end"] == "taper":
        start = 0.65 * L
        f = np.clip((s - start) / max(L - start, 1.0), 0.0, 1.0)
        d = d * (1.0 - 0.85 * f)
    return h["x"] + dx, h["y"] + dy, d, s
