"""The look of one blind-2 image: every scene-level choice, drawn from the seed.

Each choice goes through :class:`Drawer`, which records it by name.  That gives
the truth's "params" for free and lets a caller override any single choice by
keyword (``hair_colour="red"``).  Every name is drawn on every call, so an
override never shifts the other draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Value = float | int | str | bool

HAIR_COLOURS: tuple[str, ...] = (
    "dyed-black",
    "black",
    "dark-brown",
    "brown",
    "light-brown",
    "auburn",
    "red",
    "blond",
    "grey",
    "white",
    "salt-and-pepper",
)
HAIR_COLOUR_WEIGHTS = (0.06, 0.14, 0.18, 0.14, 0.1, 0.05, 0.04, 0.08, 0.08, 0.05, 0.08)
HAIR_LENGTHS: tuple[str, ...] = ("trimmed", "long", "mixed")


class Drawer:
    """Draws named choices from one generator, letting overrides replace them."""

    def __init__(self, rng: np.random.Generator, overrides: dict[str, Any]) -> None:
        self.rng = rng
        self.overrides = dict(overrides)
        self.params: dict[str, Value] = {}

    def _take(self, key: str, drawn: Value, allowed: str) -> Value:
        if key in self.params:
            raise RuntimeError(f"choice {key!r} drawn twice")
        value = drawn
        if key in self.overrides:
            value = self.overrides[key]
            if isinstance(drawn, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"override {key} must be a bool")
            elif isinstance(drawn, str):
                if not isinstance(value, str) or value not in allowed.split("|"):
                    raise ValueError(f"override {key} must be one of {allowed}")
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"override {key} must be a number")
                lo, hi = (float(part) for part in allowed.split("|"))
                if not (math.isfinite(value) and lo <= value <= hi):
                    raise ValueError(f"override {key} must lie in [{lo}, {hi}]")
                value = int(value) if isinstance(drawn, int) else float(value)
        self.params[key] = value
        return value

    def uniform(self, key: str, lo: float, hi: float, power: float = 1.0) -> float:
        """A number in [lo, hi]; power > 1 leans towards lo."""
        drawn = lo + (hi - lo) * float(self.rng.uniform()) ** power
        return float(self._take(key, drawn, f"{lo}|{hi}"))

    def loguniform(self, key: str, lo: float, hi: float) -> float:
        """A number in [lo, hi], uniform in its logarithm."""
        drawn = math.exp(float(self.rng.uniform(math.log(lo), math.log(hi))))
        return float(self._take(key, min(max(drawn, lo), hi), f"{lo}|{hi}"))

    def choice(self, key: str, options: Sequence[str], weights: Sequence[float]) -> str:
        """One of the options, with the given relative weights."""
        p = np.asarray(weights, dtype=np.float64)
        drawn = options[int(self.rng.choice(len(options), p=p / p.sum()))]
        return str(self._take(key, drawn, "|".join(options)))

    def flag(self, key: str, prob: float) -> bool:
        """True with the given probability."""
        return bool(self._take(key, bool(self.rng.uniform() < prob), ""))

    def integer(self, key: str, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        drawn = int(self.rng.integers(lo, hi + 1))
        return int(self._take(key, drawn, f"{lo}|{hi}"))

    def finish(self) -> None:
        """Refuse overrides that named no choice."""
        unknown = sorted(set(self.overrides) - set(self.params))
        if unknown:
            raise ValueError(f"unknown override(s): {', '.join(unknown)}")


class Look:
    """Read access to the drawn choices, typed."""

    def __init__(self, params: dict[str, Value]) -> None:
        self.params = params

    def num(self, key: str) -> float:
        value = self.params[key]
        if isinstance(value, str):
            raise TypeError(key)
        return float(value)

    def text(self, key: str) -> str:
        return str(self.params[key])

    def on(self, key: str) -> bool:
        return bool(self.params[key])


def draw_look(rng: np.random.Generator, overrides: dict[str, Any]) -> Look:
    """Draw every scene-level choice (see the module docstring)."""
    d = Drawer(rng, overrides)
    # who: hair and scalp
    d.choice("hair_length", HAIR_LENGTHS, (0.42, 0.3, 0.28))
    d.choice("hair_colour", HAIR_COLOURS, HAIR_COLOUR_WEIGHTS)
    tone = d.uniform("skin_tone", 0.0, 1.0)
    d.loguniform("density_per_cm2", 40.0, 330.0)
    d.uniform("vellus_share", 0.0, 0.45, power=1.6)
    d.uniform("miniaturised_share", 0.0, 0.3, power=1.5)
    d.uniform("terminal_diameter_um", 55.0, 95.0)
    d.uniform("diameter_spread", 0.06, 0.2)
    d.uniform("units_lambda", 0.05, 1.6)
    d.uniform("empty_share", 0.0, 0.35, power=1.8)
    d.uniform("density_gradient", 0.0, 0.5, power=2.0)
    d.uniform("elevation_deg", 14.0, 32.0)
    d.uniform("comb_azimuth_deg", 0.0, 360.0)
    d.uniform("whorl", 0.0, 1.0, power=2.0)
    d.uniform("whorl_x", -1.0, 2.0)  # whorl centre, in frame widths
    d.uniform("whorl_y", -1.0, 2.0)
    d.uniform("azimuth_spread_deg", 6.0, 50.0)
    d.uniform("fan_deg", 4.0, 22.0)
    d.uniform("clip_length_mm", 0.1, 1.5, power=1.3)
    d.choice("cut_style", ("clipper", "scissors", "razor"), (0.55, 0.3, 0.15))
    d.uniform("lie_length_mm", 3.0, 20.0)
    d.uniform("lifted_share", 0.0, 0.6)
    d.uniform("regrowing_share", 0.03, 0.25)
    d.uniform("long_share_mixed", 0.25, 0.75)
    d.uniform("waviness", 0.0, 1.0, power=1.5)
    d.uniform("flatness", 0.65, 0.95)
    d.uniform("white_share", 0.2, 0.8)
    d.choice("pepper_base", ("black", "dark-brown"), (0.5, 0.5))
    d.uniform("pigment_jitter", 0.05, 0.3)
    d.uniform("dye_root_mm", 0.0, 3.0)
    d.uniform("dye_natural_pigment", 0.05, 1.0)
    # skin signs
    d.uniform("erythema", 0.0, 1.0, power=2.0)
    d.flag("honeycomb", 0.15 + 0.4 * tone)
    d.uniform("honeycomb_strength", 0.2, 1.0)
    d.uniform("furrow_depth_um", 3.0, 20.0)
    d.uniform("furrow_scale_um", 120.0, 450.0)
    d.uniform("cell_relief_um", 0.3, 1.5)
    d.uniform("opening_visibility", 0.0, 1.0)
    d.uniform("opening_margin_um", 10.0, 60.0)
    d.uniform("pit_depth_um", 8.0, 60.0)
    d.uniform("yellow_dot_share", 0.0, 0.9)
    d.flag("yellow_dots", 0.3)
    d.flag("white_dots", 0.1 + 0.5 * tone)
    d.uniform("white_dot_density_per_cm2", 40.0, 250.0)
    d.flag("peripilar_sign", 0.25)
    d.uniform("perifollicular_scale", 0.0, 0.7, power=2.5)
    d.flag("flakes", 0.35)
    d.uniform("flake_amount", 0.05, 1.0)
    d.uniform("flake_size_mm", 0.08, 1.2)
    d.flag("crusts", 0.08)
    d.flag("vessels", 0.3)
    d.uniform("vessel_amount", 0.1, 1.0)
    d.uniform("sebum", 0.0, 1.0, power=1.5)
    d.flag("pigment_blotches", 0.12)
    d.flag("micropigmentation", 0.05)
    d.flag("ink_mark", 0.07)
    d.choice("ink_colour", ("violet", "black", "blue", "green"), (0.5, 0.2, 0.2, 0.1))
    d.flag("ruler_edge", 0.06)
    d.integer("ruler_side", 0, 3)
    # light
    d.flag("polarised", 0.6)
    d.uniform("ring_angle_deg", 8.0, 35.0)
    d.uniform("ring_asymmetry", 0.0, 0.6, power=1.5)
    d.uniform("ring_azimuth_deg", 0.0, 360.0)
    d.uniform("uneven_light", 0.0, 0.5, power=1.8)
    d.uniform("uneven_azimuth_deg", 0.0, 360.0)
    d.uniform("vignetting", 0.0, 0.6)
    d.flag("hair_shadows", 0.6)
    d.uniform("skin_shine", 0.01, 0.06)
    d.uniform("hair_shine", 0.01, 0.07)
    d.uniform("hair_roughness", 0.15, 0.35)
    # optics
    d.uniform("focus_um", -80.0, 250.0)
    d.uniform("aperture_na", 0.01, 0.04)
    d.uniform("blur_px", 0.0, 1.6, power=2.0)
    d.uniform("field_blur_px", 0.0, 3.0, power=2.5)
    d.flag("motion_blur", 0.12)
    d.uniform("motion_px", 1.0, 6.0)
    d.uniform("motion_deg", 0.0, 180.0)
    d.uniform("distortion", -0.06, 0.06)
    # sensor
    d.loguniform("exposure", 0.45, 2.2)
    d.uniform("auto_exposure", 0.0, 1.0)
    d.loguniform("full_well", 300.0, 20000.0)
    d.uniform("read_noise", 0.0005, 0.01)
    d.flag("bayer", 0.6)
    d.uniform("wb_red", 0.88, 1.15)
    d.uniform("wb_blue", 0.85, 1.12)
    d.uniform("saturation", 0.8, 1.4)
    d.choice("tone_curve", ("srgb", "gamma", "filmic"), (0.45, 0.25, 0.3))
    d.uniform("gamma", 1.8, 2.5)
    d.flag("sharpen", 0.5)
    d.uniform("sharpen_amount", 0.2, 1.5)
    d.uniform("sharpen_radius_px", 0.8, 2.5)
    d.flag("jpeg", 0.6)
    d.integer("jpeg_quality", 40, 95)
    d.flag("chroma_420", 0.6)
    d.finish()
    return Look(d.params)
