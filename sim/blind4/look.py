"""The look of a site: the named choices a caller may override, and the rest drawn per seed.

Every draw happens in a fixed order whatever the overrides, so overriding one choice leaves
the others as they were. Everything here belongs to the site (and the device used on it):
it is the same at every visit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.blind4.rng import stream

SKIN_TONES = ("light", "medium", "dark")
HAIR_COLOURS = ("black", "dark_brown", "brown", "red", "blond", "grey", "white", "dyed")
HAIR_LENGTHS = ("trimmed", "long", "mixed")
CONDITIONS = ("normal", "aga", "areata", "te")
LIGHTS = ("polarised", "non-polarised")
FLAKES = ("none", "few", "many")
CURLS = ("straight", "wavy", "curly")
COMPRESSIONS = ("png", "jpeg420", "jpeg444")
BLURS = ("none", "motion", "defocus")
FLAGS = (
    "vessels",
    "erythema",
    "ink",
    "ruler",
    "part_line",
    "bubbles",
    "field_stop",
    "fibres",
    "halos",
    "yellow_dots",
    "white_dots",
    "perifollicular_scale",
    "led_reflections",
    "distortion",
)

#: Named look choices a caller may force, with their allowed values. A value
#: ("range", lo, hi) is a closed numeric interval (an int interval for jpeg_quality).
OVERRIDES: dict[str, tuple[Any, ...]] = {
    "skin_tone": SKIN_TONES,
    "fitzpatrick": (1, 2, 3, 4, 5, 6),
    "hair_colour": HAIR_COLOURS,
    "hair_length": HAIR_LENGTHS,
    "condition": CONDITIONS,
    "density_per_cm2": ("range", 0.0, 1000.0),
    "light": LIGHTS,
    "flakes": FLAKES,
    "curl": CURLS,
    "compression": COMPRESSIONS,
    "jpeg_quality": ("range", 40, 98),
    "blur": BLURS,
    **{flag: (False, True) for flag in FLAGS},
}

# Scalp seen through a dermoscope, sRGB, per Fitzpatrick type (polarised look).
SKIN_SRGB = {
    1: (236.0, 202.0, 188.0),
    2: (226.0, 186.0, 164.0),
    3: (204.0, 162.0, 136.0),
    4: (168.0, 126.0, 100.0),
    5: (126.0, 86.0, 62.0),
    6: (86.0, 58.0, 44.0),
}

HAIR_SRGB = {
    "black": (30.0, 26.0, 24.0),
    "dark_brown": (60.0, 43.0, 33.0),
    "brown": (104.0, 72.0, 48.0),
    "red": (140.0, 76.0, 48.0),
    "blond": (198.0, 162.0, 110.0),
    "white": (234.0, 230.0, 220.0),
    "dye_black": (26.0, 22.0, 28.0),
    "dye_dark_brown": (62.0, 38.0, 30.0),
    "dye_auburn": (122.0, 48.0, 34.0),
    "dye_copper": (160.0, 84.0, 50.0),
    "dye_blond": (204.0, 160.0, 96.0),
}

# P(hair colour | skin tone): black, dark_brown, brown, red, blond, grey, white, dyed
_HAIR_P = {
    "light": (0.06, 0.20, 0.20, 0.09, 0.15, 0.14, 0.06, 0.10),
    "medium": (0.24, 0.30, 0.13, 0.03, 0.03, 0.12, 0.04, 0.11),
    "dark": (0.56, 0.18, 0.03, 0.00, 0.00, 0.10, 0.04, 0.09),
}


@dataclass
class Look:
    """A site's look; plain JSON values only (it becomes truth["params"])."""

    fitzpatrick: int
    skin_tone: str
    skin_srgb: list[float]
    hair_colour: str
    natural_colour: str
    dye_colour: str
    dye_root_mm: float
    white_fraction: float
    hair_length: str
    condition: str
    density_per_cm2: float
    light: str
    flakes: str
    curl: str
    compression: str
    jpeg_quality: int
    blur: str
    vessels: bool
    erythema: bool
    ink: bool
    ruler: bool
    part_line: bool
    bubbles: bool
    field_stop: bool
    fibres: bool
    halos: bool
    yellow_dots: bool
    white_dots: bool
    perifollicular_scale: bool
    led_reflections: bool
    distortion: bool
    # hair population
    fu_sizes: list[float]
    empty_openings: float
    vellus_fraction: float
    intermediate_fraction: float
    terminal_um: float
    black_dot_fraction: float
    exclamation_fraction: float
    broken_fraction: float
    regrowing_fraction: float
    long_median_mm: float
    flow_deg: float
    flow_wobble_deg: float
    stray_rate: float
    # skin
    mottle: float
    erythema_level: float
    network_um: float
    network_strength: float
    furrow_um: float
    scale_um: float
    scale_amount: float
    white_dot_per_cm2: float
    sheen: float
    # device
    ring_elev_deg: float
    n_leds: int
    distortion_k: float
    chromatic: float
    vignetting: float
    exposure: float
    wb_gains: list[float]
    full_well: float
    read_noise: float
    demosaic: bool
    sharpen: float
    saturation: float
    lens_blur_px: float
    blur_px: float
    blur_angle_deg: float
    field_stop_radius: float
    field_stop_shift: list[float]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _pick(u: float, options: tuple[Any, ...], probs: tuple[float, ...]) -> Any:
    total = sum(probs)
    acc = 0.0
    for opt, p in zip(options, probs, strict=True):
        acc += p / total
        if u < acc:
            return opt
    return options[-1]


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check every override against OVERRIDES; raise ValueError naming the bad one."""
    out: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in OVERRIDES:
            known = ", ".join(sorted(OVERRIDES))
            raise ValueError(f"unknown override {name!r} (known: {known})")
        allowed = OVERRIDES[name]
        if allowed and allowed[0] == "range":
            lo, hi = allowed[1], allowed[2]
            want_int = isinstance(lo, int)
            ok_type = isinstance(value, int | float) and not isinstance(value, bool)
            if want_int:
                ok_type = isinstance(value, int) and not isinstance(value, bool)
            if not ok_type or not math.isfinite(float(value)) or not lo <= value <= hi:
                kind = "an int" if want_int else "a finite number"
                raise ValueError(f"override {name!r} must be {kind} in [{lo}, {hi}], got {value!r}")
            out[name] = int(value) if want_int else float(value)
            continue
        ok = any(type(value) is type(a) and value == a for a in allowed)
        if not ok:
            raise ValueError(f"override {name!r} must be one of {allowed!r}, got {value!r}")
        out[name] = value
    tone = out.get("skin_tone")
    fitz = out.get("fitzpatrick")
    if tone is not None and fitz is not None and tone_of(int(fitz)) != tone:
        raise ValueError(f"override 'fitzpatrick'={fitz} contradicts 'skin_tone'={tone!r}")
    return out


def tone_of(fitz: int) -> str:
    return "light" if fitz <= 2 else ("medium" if fitz <= 4 else "dark")


def sample_look(seed: int, ov: dict[str, Any]) -> Look:
    """Draw a site's look; ``ov`` holds validated overrides."""
    rng = stream(seed, "look")
    u = rng.random(40)  # the categorical draws, always consumed in full

    def get(name: str, drawn: Any) -> Any:
        return ov[name] if name in ov else drawn

    tone = get("skin_tone", _pick(u[0], SKIN_TONES, (0.40, 0.34, 0.26)))
    fitz_in_tone = {"light": (1, 2), "medium": (3, 4), "dark": (5, 6)}[tone]
    fitz = int(get("fitzpatrick", fitz_in_tone[int(u[1] < 0.5)]))
    tone = tone_of(fitz)
    hair_colour = get("hair_colour", _pick(u[2], HAIR_COLOURS, _HAIR_P[tone]))
    hair_length = get("hair_length", _pick(u[3], HAIR_LENGTHS, (0.42, 0.36, 0.22)))
    condition = get("condition", _pick(u[4], CONDITIONS, (0.35, 0.33, 0.12, 0.20)))
    light = get("light", _pick(u[5], LIGHTS, (0.5, 0.5)))
    flakes = get("flakes", _pick(u[6], FLAKES, (0.45, 0.35, 0.20)))
    curl_p = (0.2, 0.25, 0.55) if fitz >= 5 else (0.62, 0.3, 0.08)
    curl = get("curl", _pick(u[7], CURLS, curl_p))
    compression = get("compression", _pick(u[8], COMPRESSIONS, (0.25, 0.5, 0.25)))
    blur = get("blur", _pick(u[9], BLURS, (0.72, 0.13, 0.15)))
    pol = light == "polarised"
    long_ok = hair_length != "trimmed"
    flag_p = {
        "vessels": 0.45 if pol else 0.25,
        "erythema": 0.25,
        "ink": 0.07,
        "ruler": 0.05,
        "part_line": 0.35 if long_ok else 0.0,
        "bubbles": 0.0 if pol else 0.4,
        "field_stop": 0.15,
        "fibres": 0.04,
        "halos": {"aga": 0.7, "normal": 0.15, "te": 0.2, "areata": 0.1}[condition],
        "yellow_dots": {"aga": 0.5, "normal": 0.1, "te": 0.15, "areata": 0.85}[condition],
        "white_dots": {"light": 0.15, "medium": 0.4, "dark": 0.85}[tone],
        "perifollicular_scale": 0.5 if flakes == "many" else 0.2,
        "led_reflections": 0.0 if pol else 0.25,
        "distortion": 0.6,
    }
    flags = {name: bool(get(name, bool(u[10 + i] < flag_p[name]))) for i, name in enumerate(FLAGS)}

    # continuous draws (a second generator, so the categorical ones never shift)
    r = stream(seed, "look-numbers")
    dens = {
        "normal": r.uniform(170, 320),
        "aga": r.uniform(80, 200),
        "areata": r.uniform(10, 90),
        "te": r.uniform(110, 200),
    }[condition]
    density = float(get("density_per_cm2", dens))
    fu = {
        "normal": (0.25, 0.48, 0.21, 0.06),
        "aga": (0.62, 0.29, 0.08, 0.01),
        "areata": (0.70, 0.25, 0.05, 0.0),
        "te": (0.45, 0.40, 0.13, 0.02),
    }[condition]
    vellus = {"normal": 0.07, "aga": 0.28, "areata": 0.3, "te": 0.12}[condition]
    vellus *= float(r.uniform(0.6, 1.4))
    inter = {"normal": 0.1, "aga": 0.25, "areata": 0.15, "te": 0.15}[condition]
    inter *= float(r.uniform(0.6, 1.4))
    specials = {
        "normal": (0.0, 0.0, 0.01, 0.02),
        "aga": (0.02, 0.0, 0.02, 0.04),
        "areata": (r.uniform(0.1, 0.3), r.uniform(0.05, 0.15), r.uniform(0.08, 0.2), 0.1),
        "te": (0.0, 0.0, 0.02, r.uniform(0.1, 0.25)),
    }[condition]
    natural = hair_colour
    dye = "none"
    wf = r.random(4)  # white-hair fractions, drawn whatever the colour
    base_pick = r.random()
    dye_pick = r.random()
    white_frac = 0.04 * float(wf[0])
    if hair_colour == "grey":
        natural = _pick(base_pick, ("black", "dark_brown", "brown"), (0.4, 0.4, 0.2))
        white_frac = 0.3 + 0.5 * float(wf[1])
    elif hair_colour == "white":
        natural = "brown"
        white_frac = 0.88 + 0.12 * float(wf[2])
    elif hair_colour == "dyed":
        natural = _pick(base_pick, ("black", "dark_brown", "brown"), (0.35, 0.45, 0.2))
        white_frac = 0.1 + 0.5 * float(wf[3])
        dye = _pick(
            dye_pick,
            ("dye_black", "dye_dark_brown", "dye_auburn", "dye_copper", "dye_blond"),
            (0.2, 0.25, 0.25, 0.15, 0.15),
        )
    elif hair_colour in ("blond", "red"):
        white_frac = 0.02 * float(wf[0])
    dye_root = float(r.uniform(0.8, 9.0))
    hue = np.clip(r.normal(0, 0.035, 3), -0.07, 0.07)
    base = np.array(SKIN_SRGB[fitz]) * np.exp(hue) * float(r.uniform(0.94, 1.06))
    base = np.clip(base, 40, 250)
    k_dist = float(r.uniform(0.008, 0.03)) if flags["distortion"] else 0.0
    ca = float(r.uniform(2e-4, 1.1e-3)) if flags["distortion"] else 0.0
    wb = np.exp(np.clip(r.normal(0.0, 0.035, 3), -0.07, 0.07))
    network = {1: 0.0, 2: 0.03, 3: 0.12, 4: 0.3, 5: 0.6, 6: 0.7}[fitz] * float(r.uniform(0.6, 1.2))
    wdots = float(r.uniform(90, 260)) if flags["white_dots"] else 0.0
    blur_px = float(r.uniform(1.5, 5.0)) if blur == "motion" else float(r.uniform(0.8, 2.2))
    q_draw = int(r.integers(55, 97))
    look = Look(
        fitzpatrick=fitz,
        skin_tone=tone,
        skin_srgb=[round(float(v), 2) for v in base],
        hair_colour=hair_colour,
        natural_colour=natural,
        dye_colour=dye,
        dye_root_mm=round(dye_root, 3),
        white_fraction=round(white_frac, 4),
        hair_length=hair_length,
        condition=condition,
        density_per_cm2=round(density, 4) if "density_per_cm2" not in ov else density,
        light=light,
        flakes=flakes,
        curl=curl,
        compression=compression,
        jpeg_quality=int(get("jpeg_quality", q_draw)),
        blur=blur,
        vessels=flags["vessels"],
        erythema=flags["erythema"],
        ink=flags["ink"],
        ruler=flags["ruler"],
        part_line=flags["part_line"],
        bubbles=flags["bubbles"],
        field_stop=flags["field_stop"],
        fibres=flags["fibres"],
        halos=flags["halos"],
        yellow_dots=flags["yellow_dots"],
        white_dots=flags["white_dots"],
        perifollicular_scale=flags["perifollicular_scale"],
        led_reflections=flags["led_reflections"],
        distortion=flags["distortion"],
        fu_sizes=list(fu),
        empty_openings=float(r.uniform(0.02, 0.08) + (0.25 if flags["yellow_dots"] else 0.0)),
        vellus_fraction=round(float(vellus), 4),
        intermediate_fraction=round(float(inter), 4),
        terminal_um=round(float(r.uniform(62, 88)) + (6.0 if fitz >= 5 else 0.0), 3),
        black_dot_fraction=round(float(specials[0]), 4),
        exclamation_fraction=round(float(specials[1]), 4),
        broken_fraction=round(float(specials[2]), 4),
        regrowing_fraction=round(float(specials[3]), 4),
        long_median_mm=round(float(r.uniform(4.0, 12.0)), 3),
        flow_deg=round(float(r.uniform(-180, 180)), 3),
        flow_wobble_deg=round(float(r.uniform(5, 25)), 3),
        stray_rate=round(float(r.uniform(0.3, 1.2)), 4),
        mottle=round(float(r.uniform(0.03, 0.08)), 4),
        erythema_level=round(float(r.uniform(0.2, 0.45) if flags["erythema"] else 0.05), 4),
        network_um=round(float(r.uniform(110, 210)), 3),
        network_strength=round(float(network), 4),
        furrow_um=round(float(r.uniform(260, 520)), 3),
        scale_um=round(float(r.uniform(35, 70)), 3),
        scale_amount=round(float(r.uniform(0.0, 0.6) + (0.35 if flakes == "many" else 0.0)), 4),
        white_dot_per_cm2=round(wdots, 3),
        sheen=round(float(r.uniform(0.0, 0.05)) if not pol else 0.0, 4),
        ring_elev_deg=round(float(r.uniform(18, 42)), 3),
        n_leds=int(r.choice([4, 6, 8, 12])),
        distortion_k=round(k_dist, 5),
        chromatic=round(ca, 6),
        vignetting=round(float(r.uniform(0.05, 0.32)), 4),
        exposure=round(float(r.uniform(0.86, 1.1)), 4),
        wb_gains=[round(float(g), 4) for g in wb],
        full_well=round(float(np.exp(r.uniform(np.log(350), np.log(5000)))), 2),
        read_noise=round(float(r.uniform(0.001, 0.006)), 5),
        demosaic=bool(r.random() < 0.3),
        sharpen=round(float(r.uniform(0.2, 0.9)) if r.random() < 0.4 else 0.0, 4),
        saturation=round(float(r.uniform(0.9, 1.12)), 4),
        lens_blur_px=round(float(r.uniform(0.4, 0.9)), 4),
        blur_px=round(blur_px, 4),
        blur_angle_deg=round(float(r.uniform(0, 180)), 3),
        field_stop_radius=round(float(r.uniform(0.86, 0.97)), 4),
        field_stop_shift=[round(float(v), 4) for v in r.uniform(-0.03, 0.03, 2)],
    )
    return look
