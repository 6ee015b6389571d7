"""The drawn choices of one blind image, how they are drawn and how they may be set.

Each parameter has a spec: a choice from a list (with weights), a float or an
integer drawn uniformly from a range (optionally zero with some probability),
or a yes/no flag. ``draw_params`` draws all of them in a fixed order;
``apply_overrides`` then replaces the ones a caller named, after checking them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

HAIR_LENGTHS = ("trimmed", "long", "mixed")
HAIR_COLOURS = (
    "dyed_black",
    "black",
    "dark_brown",
    "brown",
    "auburn",
    "blond",
    "grey",
    "white",
)

ALIASES = {"red": "auburn"}  # other names accepted for a choice


@dataclass(frozen=True)
class Spec:
    """How one parameter is drawn and which values it may take."""

    kind: str  # "choice", "float", "int" or "bool"
    lo: float = 0.0
    hi: float = 1.0
    choices: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    p_zero: float = 0.0  # float/int: probability of exactly zero
    p_true: float = 0.5  # bool: probability of True


def _f(lo: float, hi: float, p_zero: float = 0.0) -> Spec:
    return Spec("float", lo, hi, p_zero=p_zero)


SPECS: dict[str, Spec] = {
    # hair population
    "hair_length": Spec("choice", choices=HAIR_LENGTHS, weights=(0.4, 0.35, 0.25)),
    "hair_colour": Spec(
        "choice",
        choices=HAIR_COLOURS,
        weights=(0.14, 0.2, 0.2, 0.15, 0.07, 0.11, 0.08, 0.05),
    ),
    "density": _f(40.0, 330.0),  # hairs per cm2 over the drawn region
    "vellus_share": _f(0.0, 0.45),
    "miniaturised_share": _f(0.0, 0.25),
    "terminal_diameter_um": _f(55.0, 95.0),
    "unit_bias": _f(-1.0, 1.0),  # < 0: more single-hair units, > 0: more multi-hair
    "empty_unit_share": _f(0.0, 0.15),
    "pigment_jitter": _f(0.05, 0.3),
    "grey_white_share": _f(0.3, 0.8),
    # geometry
    "flow": Spec("choice", choices=("uniform", "parting", "whorl"), weights=(0.5, 0.3, 0.2)),
    "flow_angle_deg": _f(0.0, 360.0),
    "flow_x": _f(0.0, 1.0),
    "flow_y": _f(0.0, 1.0),
    "flow_wobble_deg": _f(3.0, 15.0),
    "fan_deg": _f(4.0, 20.0),
    "curl": _f(0.0, 1.0),
    "trim_mm": _f(0.15, 1.1),
    "long_factor": _f(0.7, 1.5),
    "regrowing_share": _f(0.02, 0.15),
    "clip_edge_deg": _f(0.0, 360.0),
    "clip_offset": _f(-0.3, 0.3),
    # skin and marks
    "skin_tone": _f(0.0, 1.0),
    "redness": _f(0.0, 1.0),
    "yellowness": _f(0.0, 1.0),
    "mottle": _f(0.03, 0.18),
    "mottle_cell_um": _f(120.0, 450.0),
    "grain": _f(0.02, 0.12),
    "grain_cell_um": _f(10.0, 40.0),
    "network": Spec("bool", p_true=0.35),
    "network_cell_um": _f(140.0, 400.0),
    "network_strength": _f(0.1, 0.45),
    "opening": Spec(
        "choice", choices=("dark", "faint", "mixed", "invisible"), weights=(0.3, 0.3, 0.3, 0.1)
    ),
    "opening_um": _f(40.0, 90.0),
    "halo_share": _f(0.0, 0.6, p_zero=0.5),
    "white_dots_per_cm2": _f(0.0, 400.0, p_zero=0.4),
    "yellow_dot_share": _f(0.0, 0.5, p_zero=0.6),
    "scale_cover": _f(0.0, 0.2, p_zero=0.5),
    "vessels_per_cm2": _f(0.0, 30.0, p_zero=0.4),
    "vessel_kind": Spec("choice", choices=("arborising", "looped"), weights=(0.5, 0.5)),
    "sebum": _f(0.0, 1.0),
    # optics and sensor
    "polarised": Spec("bool", p_true=0.5),
    "hair_sheen": _f(0.03, 0.18),
    "exposure": _f(0.75, 1.15),
    "vignetting": _f(0.0, 0.45),
    "light_gradient": _f(0.0, 0.3),
    "light_angle_deg": _f(0.0, 360.0),
    "blur_px": _f(0.2, 1.6),
    "blur_tilt": _f(0.0, 1.2),
    "blur_angle_deg": _f(0.0, 360.0),
    "chromatic_px": _f(0.0, 1.2),
    "wb_red": _f(0.88, 1.12),
    "wb_blue": _f(0.88, 1.12),
    "read_noise": _f(0.002, 0.012),
    "shot_noise": _f(0.0005, 0.005),
    "tone": _f(0.0, 0.35),
    "jpeg_quality": Spec("int", 45.0, 95.0, p_zero=0.35),
}


def _draw_one(rng: np.random.Generator, spec: Spec) -> Any:
    if spec.kind == "choice":
        w = np.asarray(spec.weights, dtype=np.float64)
        return spec.choices[int(rng.choice(len(spec.choices), p=w / w.sum()))]
    if spec.kind == "bool":
        return bool(rng.random() < spec.p_true)
    zero = rng.random() < spec.p_zero
    value = rng.uniform(spec.lo, spec.hi)
    if spec.kind == "int":
        return 0 if zero else round(value)
    return 0.0 if zero else float(value)


def draw_params(rng: np.random.Generator) -> dict[str, Any]:
    """Draw every parameter, in the fixed order of ``SPECS``."""
    return {name: _draw_one(rng, spec) for name, spec in SPECS.items()}


def is_number(value: Any) -> bool:
    """A real number, not a bool (which Python counts as an int)."""
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def check_value(name: str, value: Any) -> Any:
    """Return ``value`` as the parameter's type, or raise ValueError if it cannot be."""
    if name not in SPECS:
        raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(SPECS))}")
    spec = SPECS[name]
    if spec.kind == "choice":
        value = ALIASES.get(value, value) if isinstance(value, str) else value
        if value not in spec.choices:
            raise ValueError(f"{name} must be one of {spec.choices}, not {value!r}")
        return str(value)
    if spec.kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, not {value!r}")
        return bool(value)
    if not is_number(value):
        raise ValueError(f"{name} must be a number, not {value!r}")
    v = float(value)
    allowed_zero = spec.p_zero > 0.0 and v == 0.0
    if not allowed_zero and not spec.lo <= v <= spec.hi:
        raise ValueError(f"{name} must lie in [{spec.lo}, {spec.hi}], not {v}")
    return round(v) if spec.kind == "int" else v


def apply_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return ``params`` with the named values replaced (each checked first)."""
    out = dict(params)
    for name, value in overrides.items():
        out[name] = check_value(name, value)
    return out


def factor_labels(
    params: dict[str, Any], um_per_px: float, hairless: bool, density: float
) -> dict[str, str]:
    """The coarse labels used to slice results (skin tone, scale, blur, ...).

    ``density`` is the hair density actually in the frame (hairs per cm2).
    """
    tone = float(params["skin_tone"])
    q = int(params["jpeg_quality"])
    blur = float(params["blur_px"]) + 0.5 * float(params["blur_tilt"])
    if params["network"]:
        texture = "network"
    elif float(params["mottle"]) > 0.11:
        texture = "mottled"
    else:
        texture = "plain"
    return {
        "hair_length": "hairless" if hairless else str(params["hair_length"]),
        "hair_colour": str(params["hair_colour"]),
        "skin_tone": "light" if tone < 1 / 3 else ("medium" if tone < 2 / 3 else "dark"),
        "scale": "3-5" if um_per_px < 5 else ("5-8" if um_per_px < 8 else "8-12"),
        "density": "0"
        if hairless
        else ("<100" if density < 100 else ("100-200" if density < 200 else ">=200")),
        "opening": str(params["opening"]),
        "texture": texture,
        "blur": "sharp" if blur < 0.8 else ("soft" if blur < 1.4 else "blurred"),
        "jpeg": "none" if q == 0 else ("low" if q < 70 else "high"),
        "polarised": "cross" if params["polarised"] else "none",
        "flow": str(params["flow"]),
        "vessels": "none" if float(params["vessels_per_cm2"]) == 0 else str(params["vessel_kind"]),
        "flakes": "none" if float(params["scale_cover"]) == 0 else "flakes",
        "marks": _marks_label(params),
    }


def _marks_label(params: dict[str, Any]) -> str:
    parts = []
    if float(params["halo_share"]) > 0:
        parts.append("halo")
    if float(params["white_dots_per_cm2"]) > 0:
        parts.append("white_dots")
    if float(params["yellow_dot_share"]) > 0:
        parts.append("yellow_dots")
    return "+".join(parts) if parts else "none"
