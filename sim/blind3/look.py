"""The choices of one blind-3 site: skin, hair population and capture, drawn from the seed.

Every choice is a plain JSON value in one dict (the truth's "params"); named overrides replace
single choices before the dependent ones are drawn.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

HAIR_LENGTHS = ("trimmed", "long", "mixed")
HAIR_COLOURS = ("black", "dark_brown", "brown", "blond", "red", "grey", "white", "dyed_black")
SKIN_TONES = ("light", "medium", "dark")
LIGHTS = ("polarised", "unpolarised")
FOCUS = ("sharp", "soft", "patchy")
FLAKES = ("none", "few", "many")

# CIELAB of terminal hair shafts seen under a dermoscope (lightness, a*, b*), and opacity
HAIR_LAB: dict[str, tuple[float, float, float, float]] = {
    "black": (13.0, 1.0, 1.5, 0.98),
    "dark_brown": (21.0, 4.0, 7.0, 0.96),
    "brown": (31.0, 7.0, 14.0, 0.93),
    "blond": (57.0, 6.0, 24.0, 0.78),
    "red": (39.0, 22.0, 27.0, 0.9),
    "white": (78.0, 0.0, 7.0, 0.5),
    "dyed_black": (9.0, 1.0, -3.0, 0.99),
}

# skin tone -> ranges of L*, a*, b* of the scalp's background
SKIN_LAB: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "light": ((62.0, 73.0), (7.0, 14.0), (12.0, 19.0)),
    "medium": ((48.0, 61.0), (8.0, 13.0), (16.0, 23.0)),
    "dark": ((27.0, 44.0), (6.0, 11.0), (11.0, 19.0)),
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "hair_length": HAIR_LENGTHS,
    "hair_colour": HAIR_COLOURS,
    "skin_tone": SKIN_TONES,
    "light": LIGHTS,
    "focus": FOCUS,
    "flakes": FLAKES,
    "immersion": ("fluid", "dry"),
}
_RANGES: dict[str, tuple[float, float]] = {
    "density_per_cm2": (0.0, 350.0),
    "vellus_fraction": (0.0, 1.0),
    "jpeg_quality": (30.0, 100.0),
    "mean_terminal_um": (35.0, 120.0),
}
_FLAGS = ("vessels", "ink_mark", "bubbles", "pigment_network", "black_dots")
OVERRIDES = (*_CHOICES, *_RANGES, *_FLAGS)


def stream(seed: int, *keys: int) -> np.random.Generator:
    """A random stream of ``seed`` (any int) and stream keys."""
    digest = hashlib.sha256(str(int(seed)).encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng([*words, *keys])


def check_overrides(overrides: dict[str, Any]) -> None:
    """Raise ValueError for an unknown override or a value it cannot take."""
    for name, value in overrides.items():
        if name in _CHOICES:
            if value not in _CHOICES[name]:
                raise ValueError(f"{name}={value!r}: choose one of {list(_CHOICES[name])}")
        elif name in _RANGES:
            lo, hi = _RANGES[name]
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(float(value)) or not lo <= float(value) <= hi:
                raise ValueError(f"{name}={value!r}: must be a number in [{lo:g}, {hi:g}]")
            if name == "jpeg_quality" and not isinstance(value, int):
                raise ValueError(f"jpeg_quality={value!r}: must be an int")
        elif name in _FLAGS:
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r}: must be True or False")
        else:
            raise ValueError(f"unknown override {name!r}: known ones are {list(OVERRIDES)}")


def _pick(rng: np.random.Generator, options: tuple[str, ...], p: list[float]) -> str:
    q = np.asarray(p, dtype=float)
    return options[int(rng.choice(len(options), p=q / q.sum()))]


def draw_look(seed: int, upp: float, overrides: dict[str, Any]) -> dict[str, Any]:
    """Every choice of the site and capture of ``seed`` (overrides win)."""
    rng = stream(seed, 1)
    o = overrides
    look: dict[str, Any] = {}
    look["hair_length"] = o.get("hair_length", _pick(rng, HAIR_LENGTHS, [1, 1, 1]))
    tone = o.get("skin_tone", _pick(rng, SKIN_TONES, [0.42, 0.33, 0.25]))
    look["skin_tone"] = tone
    colour_p = {
        "light": [0.12, 0.2, 0.2, 0.14, 0.07, 0.13, 0.05, 0.09],
        "medium": [0.25, 0.3, 0.15, 0.03, 0.02, 0.12, 0.03, 0.1],
        "dark": [0.5, 0.25, 0.04, 0.0, 0.0, 0.11, 0.02, 0.08],
    }[tone]
    look["hair_colour"] = o.get("hair_colour", _pick(rng, HAIR_COLOURS, colour_p))
    look["light"] = o.get("light", _pick(rng, LIGHTS, [0.7, 0.3]))
    look["immersion"] = o.get(
        "immersion", "fluid" if look["light"] == "polarised" or rng.random() < 0.6 else "dry"
    )
    u = rng.random()
    dens = (
        rng.uniform(8, 90)
        if u < 0.12
        else (rng.uniform(90, 260) if u < 0.88 else rng.uniform(260, 350))
    )
    look["density_per_cm2"] = float(o.get("density_per_cm2", dens))
    vf = rng.uniform(0.0, 0.3) if rng.random() < 0.8 else rng.uniform(0.3, 0.5)
    look["vellus_fraction"] = float(o.get("vellus_fraction", vf))
    look["hairs_per_unit_p"] = [float(x) for x in rng.dirichlet([6.0, 6.0, 3.0, 0.8])]
    look["mean_terminal_um"] = float(o.get("mean_terminal_um", rng.uniform(55, 95)))
    look["sd_terminal_um"] = float(rng.uniform(8, 18))
    look["grey_white_share"] = float(rng.uniform(0.3, 0.8))
    look["hair_lightness_sd"] = float(rng.uniform(1.5, 4.0))
    look["long_share"] = float(rng.uniform(0.3, 0.7))
    look["cut_length_mm"] = [float(rng.uniform(0.25, 0.6)), float(rng.uniform(0.8, 1.6))]
    look["comb_angle"] = float(rng.uniform(0, 2 * math.pi))
    look["swirl_rad"] = float(rng.uniform(0.0, 0.6))
    look["swirl_mm"] = float(rng.uniform(5, 15))
    look["swirl_dir"] = float(rng.uniform(0, 2 * math.pi))
    look["jitter_long"] = float(rng.uniform(0.05, 0.2))
    look["jitter_stubble"] = float(rng.uniform(0.25, 0.7))
    look["curl_per_mm"] = float(rng.uniform(0.0, 0.08))
    look["wave_share"] = float(rng.uniform(0.0, 0.4))
    look["broken_share"] = float(rng.uniform(0, 0.08) if rng.random() < 0.4 else 0.0)
    look["exclamation_share"] = float(rng.uniform(0.02, 0.06) if rng.random() < 0.1 else 0.0)
    look["frayed_share"] = float(rng.uniform(0.0, 0.4))
    look["oblique_share"] = float(rng.uniform(0.1, 0.6))
    look["medulla_share"] = float(rng.uniform(0.1, 0.7))
    # skin
    lr, ar, br = SKIN_LAB[tone]
    look["skin_lab"] = [float(rng.uniform(*lr)), float(rng.uniform(*ar)), float(rng.uniform(*br))]
    look["erythema"] = float(rng.uniform(0.5, 4.0))
    net_p = {"light": 0.25, "medium": 0.55, "dark": 0.85}[tone]
    look["pigment_network"] = bool(o.get("pigment_network", rng.random() < net_p))
    look["network_cell_um"] = float(rng.uniform(110, 260))
    look["network_depth"] = float(rng.uniform(3, 10) if tone != "light" else rng.uniform(2, 5))
    look["furrow_depth"] = float(rng.uniform(0.02, 0.1))
    look["furrow_cell_um"] = float(rng.uniform(250, 600))
    look["subsurface_um"] = float(rng.uniform(5, 14))
    look["grain"] = float(rng.uniform(0.02, 0.06))
    look["relief_angle"] = float(rng.uniform(0, math.pi))
    look["opening_um"] = float(rng.uniform(30, 60))
    look["halo"] = float(rng.uniform(0.0, 1.0) if rng.random() < 0.35 else 0.0)
    look["empty_share"] = float(rng.uniform(0.0, 0.35))
    look["yellow_share"] = float(rng.uniform(0.1, 0.9))
    look["white_dots_per_cm2"] = float(
        rng.uniform(20, 200) if tone == "dark" or rng.random() < 0.2 else 0.0
    )
    look["black_dots"] = bool(o.get("black_dots", rng.random() < 0.12))
    look["vessels"] = bool(o.get("vessels", rng.random() < 0.3))
    look["ink_mark"] = bool(o.get("ink_mark", rng.random() < 0.12))
    look["flakes"] = o.get("flakes", _pick(rng, FLAKES, [0.4, 0.4, 0.2]))
    look["flakes_over_hair"] = float(rng.uniform(0.2, 0.8))
    look["bubbles"] = bool(o.get("bubbles", look["immersion"] == "fluid" and rng.random() < 0.3))
    look["sebum"] = float(
        rng.uniform(0, 1) if rng.random() < 0.4 and look["light"] == "unpolarised" else 0.0
    )
    # capture
    look["focus"] = o.get("focus", _pick(rng, FOCUS, [0.6, 0.15, 0.25]))
    look["lens_blur_um"] = float(rng.uniform(1.5, 4.0))
    look["defocus_um"] = float(rng.uniform(4, 14))
    look["focus_tilt"] = [float(rng.normal(0, 1)), float(rng.normal(0, 1))]
    look["vignetting"] = float(rng.uniform(0.05, 0.4))
    look["vignette_centre"] = [float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.4, 0.6))]
    look["illum_gradient"] = [float(rng.normal(0, 0.06)), float(rng.normal(0, 0.06))]
    look["wb_gains"] = [float(rng.normal(1, 0.07)), 1.0, float(rng.normal(1, 0.09))]
    look["exposure"] = float(rng.uniform(0.8, 1.35))
    look["full_well_e"] = float(rng.uniform(1500, 8000))
    look["read_noise_e"] = float(rng.uniform(2, 8))
    look["chromatic_px"] = float(rng.uniform(0.0, 1.8))
    look["rolling_amp"] = float(rng.uniform(0.0, 0.025) if rng.random() < 0.4 else 0.0)
    look["rolling_period_px"] = float(rng.uniform(30, 300))
    look["glare"] = float(
        rng.uniform(0.05, 0.25)
        if look["light"] == "unpolarised" and look["immersion"] == "dry"
        else (rng.uniform(0.0, 0.05) if look["light"] == "unpolarised" else 0.0)
    )
    look["hair_sheen"] = float(
        rng.uniform(0.04, 0.14) if look["light"] == "unpolarised" else rng.uniform(0.01, 0.04)
    )
    look["hair_shadow"] = float(
        rng.uniform(0.1, 0.35) if look["light"] == "unpolarised" else rng.uniform(0.0, 0.15)
    )
    look["light_angle"] = float(rng.uniform(0, 2 * math.pi))
    look["contrast"] = float(rng.uniform(0.9, 1.25))
    look["saturation"] = float(rng.uniform(0.85, 1.2))
    q = int(rng.integers(55, 98)) if rng.random() < 0.85 else 100
    look["jpeg_quality"] = int(o.get("jpeg_quality", q))
    look["um_per_px"] = float(upp)
    return look
