"""Frame-level draws of blind-6: every choice that shapes one scalp and one capture, from the
seed alone (the follow-up visit's changes come from its own seed, in frame.py)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sim.blind6.rng import SCENE, stream

HAIR_COLOURS = (
    "black",
    "dark-brown",
    "brown",
    "light-brown",
    "red",
    "blond",
    "grey",
    "white",
    "dyed-black",
)
# melanin per colour label: (eumelanin, pheomelanin) in 1/um of absorption per unit, ranges
MELANIN: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "black": ((0.13, 0.19), (0.002, 0.01)),
    "dark-brown": ((0.075, 0.12), (0.005, 0.02)),
    "brown": ((0.04, 0.075), (0.008, 0.025)),
    "light-brown": ((0.01, 0.025), (0.005, 0.02)),
    "red": ((0.002, 0.008), (0.015, 0.04)),
    "blond": ((0.001, 0.005), (0.003, 0.012)),
    "dyed-black": ((0.17, 0.24), (0.0, 0.01)),
}
PATTERNS = ("healthy", "androgenetic", "areata", "effluvium", "mixed")
HAIR_TYPES = (
    "terminal",
    "intermediate",
    "vellus",
    "regrowing",
    "broken",
    "exclamation",
    "black-dot",
)
TYPE_WEIGHTS: dict[str, tuple[float, ...]] = {
    #              term  inter vell  regrow broken excl  bdot
    "healthy": (0.78, 0.10, 0.08, 0.03, 0.01, 0.0, 0.0),
    "androgenetic": (0.38, 0.26, 0.28, 0.06, 0.02, 0.0, 0.0),
    "areata": (0.42, 0.08, 0.12, 0.1, 0.1, 0.08, 0.1),
    "effluvium": (0.55, 0.1, 0.07, 0.25, 0.03, 0.0, 0.0),
    "mixed": (0.5, 0.14, 0.14, 0.08, 0.06, 0.03, 0.05),
}


@dataclass
class Scene:
    """One frame's drawn parameters (all JSON-able)."""

    um_per_px: float
    width: int
    height: int
    skin_tone: str = "light"
    skin_lab: tuple[float, float, float] = (0.8, 0.04, 0.05)
    hair_colour: str = "black"
    grey_share: float = 0.0
    hair_length: str = "trimmed"
    light: str = "polarised"
    pattern: str = "healthy"
    density: float = 150.0
    curl: str = "straight"
    terminal_d: float = 75.0
    clip_um: float = 500.0
    long_um: float = 4000.0
    long_share: float = 0.0
    flow_deg: float = 0.0
    flow_swirl: float = 0.0
    elev_deg: tuple[float, float] = (30.0, 70.0)
    unit_sizes: tuple[float, float, float, float] = (0.3, 0.4, 0.22, 0.08)
    halo_prob: float = 0.0
    halo_kind: str = "brown"
    sub_follicle: float = 0.0
    light_azimuth_deg: float = 0.0
    light_zenith_deg: float = 40.0
    specular: float = 0.0
    shadow: float = 0.0
    dye_root_um: float = 0.0
    coil_radius_um: float = 0.0
    coil_period_um: float = 0.0
    wave_amp: float = 0.0
    wave_len_um: float = 1500.0
    extras: dict[str, Any] = field(default_factory=dict)

    def as_params(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in list(out.items()):
            if isinstance(value, tuple):
                out[key] = [float(v) for v in value]
        return out


def _pick(gen: np.random.Generator, names: tuple[str, ...], weights: tuple[float, ...]) -> str:
    p = np.asarray(weights, dtype=np.float64)
    return names[int(gen.choice(len(names), p=p / p.sum()))]


def draw_scene(seed: int, um_per_px: float, width: int, height: int) -> Scene:
    """The frame-level draws of ``seed``."""
    g = stream(seed, SCENE)
    sc = Scene(um_per_px=float(um_per_px), width=int(width), height=int(height))
    sc.skin_tone = _pick(g, ("light", "medium", "dark"), (0.45, 0.3, 0.25))
    if sc.skin_tone == "light":
        lab = (g.uniform(0.74, 0.87), g.uniform(0.02, 0.055), g.uniform(0.015, 0.05))
    elif sc.skin_tone == "medium":
        lab = (g.uniform(0.6, 0.74), g.uniform(0.02, 0.05), g.uniform(0.035, 0.07))
    else:
        lab = (g.uniform(0.36, 0.56), g.uniform(0.018, 0.042), g.uniform(0.03, 0.065))
    sc.skin_lab = (float(lab[0]), float(lab[1]), float(lab[2]))
    # hair colour: grey and white common (also on light skin), dark hair on dark skin
    if sc.skin_tone == "dark":
        w_col = (0.42, 0.2, 0.06, 0.02, 0.01, 0.0, 0.13, 0.08, 0.08)
    elif sc.skin_tone == "medium":
        w_col = (0.22, 0.2, 0.1, 0.05, 0.02, 0.02, 0.16, 0.12, 0.11)
    else:
        w_col = (0.06, 0.14, 0.13, 0.1, 0.07, 0.1, 0.17, 0.14, 0.09)
    sc.hair_colour = _pick(g, HAIR_COLOURS, w_col)
    if sc.hair_colour == "grey":
        sc.grey_share = float(g.uniform(0.3, 0.8))
    elif sc.hair_colour == "white":
        sc.grey_share = float(g.uniform(0.88, 1.0))
    else:
        sc.grey_share = float(g.choice([0.0, g.uniform(0.0, 0.2)], p=[0.6, 0.4]))
    sc.dye_root_um = float(g.uniform(0.0, 2500.0)) if sc.hair_colour == "dyed-black" else 0.0
    sc.hair_length = _pick(g, ("trimmed", "long", "mixed"), (0.4, 0.3, 0.3))
    sc.light = _pick(g, ("polarised", "non-polarised", "immersion"), (0.4, 0.35, 0.25))
    sc.pattern = _pick(g, PATTERNS, (0.32, 0.26, 0.14, 0.12, 0.16))
    if g.random() < 0.12:
        sc.density = float(g.uniform(10.0, 60.0))
    else:
        sc.density = float(math.exp(g.uniform(math.log(60.0), math.log(400.0))))
    if sc.pattern in ("androgenetic", "areata") and g.random() < 0.5:
        sc.density *= float(g.uniform(0.4, 0.8))
    sc.density = float(np.clip(sc.density, 10.0, 400.0))
    if sc.skin_tone == "dark":
        w_curl = (0.15, 0.15, 0.2, 0.5)
    else:
        w_curl = (0.5, 0.28, 0.14, 0.08)
    sc.curl = _pick(g, ("straight", "wavy", "curly", "coiled"), w_curl)
    sc.terminal_d = float(g.uniform(58.0, 98.0))
    sc.clip_um = float(g.uniform(100.0, 1000.0))
    sc.long_um = float(np.exp(g.uniform(math.log(1500.0), math.log(9000.0))))
    sc.long_share = {"trimmed": 0.0, "long": 1.0, "mixed": float(g.uniform(0.2, 0.7))}[
        sc.hair_length
    ]
    sc.flow_deg = float(g.uniform(0.0, 360.0))
    sc.flow_swirl = float(g.uniform(-60.0, 60.0))
    lo = float(g.uniform(12.0, 45.0))
    sc.elev_deg = (lo, float(min(88.0, lo + g.uniform(15.0, 50.0))))
    sizes = g.dirichlet((3.0, 4.0, 2.2, 0.8))
    if sc.pattern == "androgenetic":
        sizes = 0.5 * sizes + 0.5 * np.array([0.75, 0.2, 0.05, 0.0])
    sc.unit_sizes = (float(sizes[0]), float(sizes[1]), float(sizes[2]), float(sizes[3]))
    sc.halo_prob = float(g.choice([0.0, g.uniform(0.2, 0.9)], p=[0.55, 0.45]))
    if sc.pattern == "androgenetic":
        sc.halo_prob = max(sc.halo_prob, float(g.uniform(0.2, 0.6)))
    sc.halo_kind = "white" if (sc.skin_tone == "dark" and g.random() < 0.6) else "brown"
    sc.sub_follicle = float(g.uniform(0.0, 0.4)) if g.random() < 0.7 else 0.0
    sc.light_azimuth_deg = float(g.uniform(0.0, 360.0))
    sc.light_zenith_deg = float(g.uniform(8.0, 35.0))
    sc.specular = {
        "polarised": float(g.uniform(0.0, 0.03)),
        "non-polarised": float(g.uniform(0.25, 0.8)),
        "immersion": float(g.uniform(0.05, 0.2)),
    }[sc.light]
    sc.shadow = float(g.uniform(0.1, 0.35)) if sc.light == "non-polarised" else 0.0
    if sc.curl == "coiled":
        sc.coil_radius_um = float(g.uniform(60.0, 220.0))
        sc.coil_period_um = float(g.uniform(350.0, 1100.0))
    elif sc.curl == "curly":
        sc.coil_radius_um = float(g.uniform(200.0, 600.0))
        sc.coil_period_um = float(g.uniform(1200.0, 3500.0))
    if sc.curl == "wavy":
        sc.wave_amp = float(g.uniform(0.3, 0.9))
        sc.wave_len_um = float(g.uniform(1200.0, 4000.0))
    elif sc.curl == "straight":
        sc.wave_amp = float(g.uniform(0.0, 0.15))
        sc.wave_len_um = float(g.uniform(2000.0, 6000.0))
    return sc


def factor_scale(um_per_px: float) -> str:
    return "3-5" if um_per_px < 5 else "5-8" if um_per_px < 8 else "8-12"
