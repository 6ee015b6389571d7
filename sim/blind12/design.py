"""The look of one site: every random choice of a frame, drawn from its seed alone."""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

HAIR_LENGTHS = ("trimmed", "long", "mixed")
HAIR_COLOURS = ("black", "dark_brown", "light_brown", "blond", "red", "grey", "white")
CURLS = ("straight", "wavy", "curly", "coiled")
NETWORKS = ("honeycomb", "labyrinth", "faint", "none")
OPENINGS = ("dark", "faint", "invisible")
VESSELS = ("none", "comma", "arborising", "loops")

# eumelanin / pheomelanin loads of each hair colour (optical depth units across 80 um)
PIGMENT: dict[str, tuple[float, float]] = {
    "black": (14.0, 0.6),
    "dark_brown": (8.0, 1.0),
    "light_brown": (3.0, 1.4),
    "blond": (0.3, 0.9),
    "red": (0.7, 5.0),
    "grey": (8.0, 0.7),
    "white": (0.04, 0.05),
}


def stream(seed: int, *tags: int | str) -> np.random.Generator:
    """An independent random stream for ``seed`` and a path of tags (any int seed, negative
    and huge included)."""
    entropy = 2 * seed if seed >= 0 else -2 * seed - 1  # zig-zag: every int to a natural
    key = [t % 2**32 if isinstance(t, int) else zlib.crc32(t.encode()) for t in tags]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


@dataclass(frozen=True)
class Design:
    """Every drawn choice of a site (all plain numbers, strings and bools: JSON-able)."""

    # hair
    hair_length: str
    hair_colour: str
    curl: str
    density_per_cm2: float
    unit_mean: float
    empty_share: float
    patchiness: float
    vellus_share: float
    miniaturised_share: float
    regrowing_share: float
    broken_share: float
    black_dot_share: float
    terminal_um: float
    stub_min_um: float
    stub_max_um: float
    long_min_mm: float
    long_max_mm: float
    long_cut_share: float
    oblique_share: float
    elev_min_deg: float
    elev_max_deg: float
    flow_deg: float
    flow_spread_deg: float
    flow_bend: float
    settle_um: float
    mat_lift_um: float
    plate_um: float
    grey_white_share: float
    pigment_jitter: float
    # skin
    skin_tone: str
    melanin: float
    blood: float
    carotene: float
    network: str
    network_strength: float
    network_cell_um: float
    network_wall_um: float
    mottle: float
    erythema: float
    freckles: float
    relief: float
    creases: int
    crease_depth: float
    openings: str
    opening_um: float
    follicle_shadow: float
    halo_share: float
    halo_strength: float
    white_halo: float
    yellow_share: float
    yellow_per_mm2: float
    white_dots_per_mm2: float
    vessels: str
    vessel_strength: float
    flakes_per_mm2: float
    flake_um: float
    flake_opacity: float
    flakes_over_hair: float
    sebum: float
    # light
    light: str
    leds: int
    led_elev_deg: float
    hair_shadow: float
    # optics, sensor and file
    blur_px: float
    dof_px: float
    chroma_px: float
    vignette: float
    hotspot: float
    field_stop: bool
    stop_frac: float
    stop_dx: float
    stop_dy: float
    exposure: float
    full_well: float
    read_noise: float
    row_noise: float
    wb_red: float
    wb_blue: float
    saturation: float
    tone: str
    sharpen: float
    jpeg_quality: int
    subsampling: int

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _pick(rng: np.random.Generator, names: tuple[str, ...], p: list[float]) -> str:
    w = np.asarray(p, dtype=np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _maybe(rng: np.random.Generator, p: float, lo: float, hi: float) -> float:
    """0 with probability 1 - p, else uniform in [lo, hi]."""
    return _u(rng, lo, hi) if rng.random() < p else 0.0


def make_design(seed: int) -> Design:
    """The site's look: hair, skin, light and camera, from ``seed`` only."""
    r = stream(seed, "design")
    hair_length = _pick(r, HAIR_LENGTHS, [0.42, 0.28, 0.30])
    hair_colour = _pick(r, HAIR_COLOURS, [0.22, 0.2, 0.13, 0.09, 0.07, 0.19, 0.1])
    curl = _pick(r, CURLS, [0.36, 0.34, 0.2, 0.1])
    skin_tone = _pick(r, ("light", "medium", "dark"), [0.42, 0.33, 0.25])
    melanin = {
        "light": _u(r, 0.08, 0.42),
        "medium": _u(r, 0.5, 1.15),
        "dark": _u(r, 1.35, 2.8),
    }[skin_tone]
    # a judge needs bare-looking and thin scalps as well as dense ones
    band = r.random()
    if band < 0.12:
        density = _u(r, 0.5, 10.0)
    elif band < 0.27:
        density = _u(r, 10.0, 70.0)
    elif band < 0.45:
        density = _u(r, 70.0, 160.0)
    else:
        density = _u(r, 160.0, 400.0)
    net_p = {"light": [0.2, 0.12, 0.38, 0.3], "medium": [0.45, 0.2, 0.25, 0.1]}.get(
        skin_tone, [0.62, 0.2, 0.15, 0.03]
    )
    network = _pick(r, NETWORKS, net_p)
    stub_min = _u(r, 60.0, 300.0)
    long_min = _u(r, 2.5, 5.0)
    elev_min = _u(r, 12.0, 30.0)
    light = "polarised" if r.random() < 0.6 else "non-polarised"
    stop = bool(r.random() < 0.18)
    return Design(
        hair_length=hair_length,
        hair_colour=hair_colour,
        curl=curl,
        density_per_cm2=density,
        unit_mean=_u(r, 1.2, 2.7),
        empty_share=_u(r, 0.0, 0.12) if r.random() < 0.6 else _u(r, 0.12, 0.45),
        patchiness=_maybe(r, 0.35, 0.2, 0.9),
        vellus_share=_u(r, 0.02, 0.25) if r.random() < 0.7 else _u(r, 0.25, 0.55),
        miniaturised_share=_u(r, 0.0, 0.35),
        regrowing_share=_maybe(r, 0.5, 0.02, 0.15),
        broken_share=_maybe(r, 0.35, 0.02, 0.12),
        black_dot_share=_maybe(r, 0.25, 0.02, 0.1),
        terminal_um=_u(r, 55.0, 92.0),
        stub_min_um=stub_min,
        stub_max_um=stub_min + _u(r, 150.0, 1100.0),
        long_min_mm=long_min,
        long_max_mm=long_min + _u(r, 1.0, 6.0),
        long_cut_share=_u(r, 0.0, 0.5),
        oblique_share=_u(r, 0.1, 0.7),
        elev_min_deg=elev_min,
        elev_max_deg=elev_min + _u(r, 8.0, 28.0),
        flow_deg=_u(r, 0.0, 360.0),
        flow_spread_deg=_u(r, 8.0, 45.0),
        flow_bend=_u(r, -0.25, 0.25),
        settle_um=_u(r, 120.0, 500.0),
        mat_lift_um=_u(r, 5.0, 90.0),
        plate_um=_u(r, 150.0, 450.0) if r.random() < 0.35 else 0.0,
        grey_white_share=_u(r, 0.25, 0.8),
        pigment_jitter=_u(r, 0.05, 0.3),
        skin_tone=skin_tone,
        melanin=melanin,
        blood=_u(r, 0.25, 0.75),
        carotene=_u(r, 0.1, 0.5),
        network=network,
        network_strength=_u(r, 0.25, 1.0) if network != "none" else 0.0,
        network_cell_um=_u(r, 90.0, 220.0),
        network_wall_um=_u(r, 10.0, 26.0),
        mottle=_u(r, 0.05, 0.3),
        erythema=_u(r, 0.0, 0.6),
        freckles=_maybe(r, 0.3, 0.1, 0.5),
        relief=_u(r, 0.1, 1.0),
        creases=int(r.choice(4, p=[0.45, 0.3, 0.17, 0.08])),
        crease_depth=_u(r, 0.2, 0.8),
        openings=_pick(r, OPENINGS, [0.35, 0.4, 0.25]),
        opening_um=_u(r, 60.0, 150.0),
        follicle_shadow=_u(r, 0.0, 0.6),
        halo_share=_maybe(r, 0.45, 0.1, 0.7),
        halo_strength=_u(r, 0.15, 0.6),
        white_halo=_maybe(r, 0.3 if skin_tone == "light" else 0.6, 0.1, 0.5),
        yellow_share=_maybe(r, 0.4, 0.2, 0.9),
        yellow_per_mm2=_maybe(r, 0.3, 0.2, 3.0),
        white_dots_per_mm2=_maybe(r, 0.2 if skin_tone == "light" else 0.75, 1.0, 12.0),
        vessels=_pick(r, VESSELS, [0.45, 0.2, 0.2, 0.15]),
        vessel_strength=_u(r, 0.3, 1.0),
        flakes_per_mm2=_maybe(r, 0.45, 0.2, 3.0),
        flake_um=_u(r, 50.0, 260.0),
        flake_opacity=_u(r, 0.2, 0.7),
        flakes_over_hair=_u(r, 0.0, 0.6),
        sebum=_u(r, 0.0, 1.0) if light == "non-polarised" else _u(r, 0.0, 0.15),
        light=light,
        leds=int(r.integers(4, 13)),
        led_elev_deg=_u(r, 45.0, 78.0),
        hair_shadow=_u(r, 0.0, 0.6),
        blur_px=_u(r, 0.0, 0.5) if r.random() < 0.55 else _u(r, 0.5, 1.6),
        dof_px=_u(r, 0.0, 2.5),
        chroma_px=_u(r, 0.0, 1.4),
        vignette=_u(r, 0.0, 0.45),
        hotspot=_u(r, 0.0, 0.3),
        field_stop=stop,
        stop_frac=_u(r, 0.5, 0.65),
        stop_dx=_u(r, -0.04, 0.04),
        stop_dy=_u(r, -0.04, 0.04),
        exposure=_u(r, 0.8, 1.2),
        full_well=math.exp(_u(r, math.log(600.0), math.log(20000.0))),
        read_noise=_u(r, 0.5, 6.0),
        row_noise=_maybe(r, 0.3, 0.0003, 0.0015),
        wb_red=_u(r, 0.9, 1.1),
        wb_blue=_u(r, 0.9, 1.1),
        saturation=_u(r, 0.75, 1.15),
        tone=_pick(r, ("srgb", "gamma", "filmic"), [0.4, 0.3, 0.3]),
        sharpen=_u(r, 0.0, 0.9),
        jpeg_quality=int(r.integers(55, 96)),
        subsampling=int(r.choice([0, 2], p=[0.3, 0.7])),
    )
