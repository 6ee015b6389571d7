"""Site-level random choices of the blind-5 generator: the scalp condition, the skin
(Fitzpatrick type, pigment network, vessels, dots, scale), the hair (colour, length style,
density, diameters, kinds), the lighting and the camera. Everything here is drawn from the
seed alone, so the baseline and every follow-up visit of a site share it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONDITIONS = ("normal", "androgenetic", "areata", "seborrheic", "scarring", "telogen")
CONDITION_P = (0.30, 0.24, 0.12, 0.14, 0.08, 0.12)
# baseline density range, hairs per cm^2
DENSITY = {
    "normal": (170.0, 350.0),
    "androgenetic": (50.0, 220.0),
    "areata": (0.0, 130.0),
    "seborrheic": (120.0, 320.0),
    "scarring": (0.0, 100.0),
    "telogen": (70.0, 200.0),
}
# probabilities of 1, 2, 3, 4 hairs per follicular unit
FU_SIZE_P = {
    "normal": (0.20, 0.45, 0.28, 0.07),
    "androgenetic": (0.55, 0.33, 0.10, 0.02),
    "areata": (0.60, 0.30, 0.08, 0.02),
    "seborrheic": (0.25, 0.45, 0.25, 0.05),
    "scarring": (0.45, 0.30, 0.17, 0.08),
    "telogen": (0.45, 0.40, 0.13, 0.02),
}
# share of hairs that are: black dot, exclamation mark, broken, regrowing, vellus, miniaturised
KIND_P = {
    "normal": (0.0, 0.0, 0.01, 0.04, 0.06, 0.0),
    "androgenetic": (0.0, 0.0, 0.01, 0.05, 0.15, 0.25),
    "areata": (0.15, 0.10, 0.10, 0.08, 0.10, 0.05),
    "seborrheic": (0.0, 0.0, 0.02, 0.04, 0.06, 0.02),
    "scarring": (0.02, 0.0, 0.06, 0.03, 0.04, 0.05),
    "telogen": (0.0, 0.0, 0.02, 0.22, 0.10, 0.03),
}
EMPTY_OPENINGS = {  # empty follicular openings per cm^2
    "normal": (3.0, 15.0),
    "androgenetic": (10.0, 40.0),
    "areata": (30.0, 90.0),
    "seborrheic": (5.0, 20.0),
    "scarring": (0.0, 5.0),
    "telogen": (10.0, 35.0),
}
YELLOW_P = {
    "normal": 0.1,
    "androgenetic": 0.5,
    "areata": 0.7,
    "seborrheic": 0.3,
    "scarring": 0.05,
    "telogen": 0.3,
}
# (scattering albedo RGB, extinction per um RGB) of hair fibres
HAIR = {
    "black": ((0.045, 0.040, 0.037), (0.12, 0.13, 0.14)),
    "brown": ((0.17, 0.105, 0.068), (0.060, 0.075, 0.090)),
    "blond": ((0.72, 0.52, 0.26), (0.030, 0.036, 0.050)),
    "red": ((0.52, 0.20, 0.085), (0.040, 0.060, 0.075)),
    "white": ((0.80, 0.80, 0.77), (0.028, 0.028, 0.030)),
}
DYES = {
    "burgundy": ((0.25, 0.05, 0.08), (0.05, 0.08, 0.07)),
    "copper": ((0.58, 0.24, 0.08), (0.04, 0.06, 0.08)),
    "blue-black": ((0.03, 0.035, 0.05), (0.13, 0.12, 0.10)),
    "violet": ((0.18, 0.08, 0.24), (0.06, 0.08, 0.05)),
}
MELANIN = (0.10, 0.28, 0.65, 1.2, 2.2, 3.6)  # epidermal melanin by Fitzpatrick type I..VI

RGB = tuple[float, float, float]


def stream(*keys: int) -> np.random.Generator:
    """An independent random stream for any integers (negative ones included)."""
    words = [2 * abs(k) + (1 if k < 0 else 0) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


@dataclass(frozen=True)
class Design:
    """Every site-level random choice (plain numbers and strings)."""

    condition: str
    fitzpatrick: int
    melanin: float
    haemoglobin: float
    network: float  # honeycomb pigment network contrast
    network_cell_um: float
    mottle: float
    erythema: float
    sss_um: float  # sub-surface scattering scale (red channel)
    opening_um: float  # radius of a follicular opening
    opening_depth: float
    peripilar: float  # brown halo contrast around hair-bearing openings (0: none)
    yellow_p: float
    white_dots_cm2: float
    white_dot_um: float
    vessels_cm2: float
    vessel_um: float
    red_dots_cm2: float
    flakes: float  # share of the skin under scale
    flake_cell_um: float
    scar: float  # milky-white scarring patches
    peri_scale: float  # perifollicular scaling
    hair_colour: str
    albedo: RGB
    sigma: RGB
    alt_albedo: RGB  # grey: the white hairs; dyed: the natural roots
    alt_sigma: RGB
    alt_share: float
    root_um: float
    hair_length: str
    density: float
    empty_cm2: float
    fu_size_p: tuple[float, float, float, float]
    kind_p: tuple[float, float, float, float, float, float]
    diameter_um: float
    diameter_sd: float
    trim_um: float
    flow: float  # base hair direction, rad
    flow_grad: float  # direction change, rad per mm
    parted: bool  # hair combed away from a parting line through the frame
    part_angle: float  # direction of the parting line, rad
    part_offset_um: float
    part_lean: float  # how far the hair leans along the parting, rad
    curl: float  # azimuth wave amplitude of long hair, rad
    curl_um: float
    light: str
    light_elev: float  # ring light elevation, rad
    hair_spec: float
    skin_glare: float
    vignette: float
    gradient: float
    gradient_dir: float
    wb_r: float
    wb_b: float
    exposure: float
    defocus_px: float
    field_curve: float
    aberration: float
    full_well: float
    read_noise: float
    sharpen: float
    jpeg_quality: int  # 0: lossless


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng: np.random.Generator, names: tuple[str, ...], p: tuple[float, ...]) -> str:
    return names[int(rng.choice(len(names), p=np.asarray(p) / sum(p)))]


def _hair(rng: np.random.Generator, fitz: int) -> tuple[str, RGB, RGB, RGB, RGB, float, float]:
    """Hair colour: name, albedo, extinction, second look, its share, dyed root length."""
    names = ("black", "brown", "blond", "red", "grey", "white", "dyed")
    dark = (0.70, 0.15, 0.0, 0.0, 0.10, 0.05, 0.0)
    p = dark if fitz >= 5 else (0.28, 0.27, 0.12, 0.07, 0.13, 0.05, 0.08)
    colour = _pick(rng, names, p)
    tint = tuple(float(v) for v in rng.uniform(0.85, 1.18, 3))
    base = {"grey": "black" if rng.random() < 0.6 else "brown", "dyed": "brown"}.get(colour, colour)
    alb, sig = HAIR[base]
    alt_alb, alt_sig = HAIR["white"]
    share, root = 0.0, 0.0
    if colour == "grey":
        share = _u(rng, 0.3, 0.85)
    if colour == "dyed":
        dye = _pick(rng, tuple(DYES), (1.0, 1.0, 1.0, 1.0))
        alt_alb, alt_sig = alb, sig  # natural roots
        alb, sig = DYES[dye]
        share, root = 1.0, _u(rng, 400.0, 3000.0)
    albedo = (min(alb[0] * tint[0], 0.9), min(alb[1] * tint[1], 0.9), min(alb[2] * tint[2], 0.9))
    return colour, albedo, sig, alt_alb, alt_sig, share, root


def design(seed: int) -> Design:
    """Draw a site's design from its seed."""
    rng = stream(seed, 1)
    cond = _pick(rng, CONDITIONS, CONDITION_P)
    fitz = int(rng.integers(1, 7))
    colour, alb, sig, alt_alb, alt_sig, share, root = _hair(rng, fitz)
    length = _pick(rng, ("trimmed", "long", "mixed"), (0.45, 0.30, 0.25))
    light = _pick(rng, ("polarised", "non-polarised", "gel"), (0.45, 0.35, 0.20))
    d_lo, d_hi = DENSITY[cond]
    seb, scar = cond == "seborrheic", cond == "scarring"
    quality = int(rng.integers(55, 96)) if rng.random() < 0.75 else 0
    return Design(
        condition=cond,
        fitzpatrick=fitz,
        melanin=MELANIN[fitz - 1] * _u(rng, 0.8, 1.2),
        haemoglobin=_u(rng, 0.25, 0.55) * (1.4 if seb else 1.0),
        network=_u(rng, 0.05, 0.35) + 0.08 * fitz,
        network_cell_um=_u(rng, 90.0, 220.0),
        mottle=_u(rng, 0.05, 0.3),
        erythema=_u(rng, 0.1, 0.35) + (0.3 if seb else 0.0),
        sss_um=_u(rng, 45.0, 90.0),
        opening_um=_u(rng, 22.0, 55.0),
        opening_depth=_u(rng, 0.15, 0.45),
        peripilar=_u(rng, 0.3, 0.8) if cond == "androgenetic" and rng.random() < 0.6 else 0.0,
        yellow_p=YELLOW_P[cond],
        white_dots_cm2=_u(rng, 50.0, 300.0) * (1.5 if fitz >= 4 else 0.6),
        white_dot_um=_u(rng, 10.0, 28.0) * (2.5 if scar else 1.0),
        vessels_cm2=_u(rng, 0.0, 4.0) + (_u(rng, 4.0, 12.0) if seb or scar else 0.0),
        vessel_um=_u(rng, 8.0, 22.0),
        red_dots_cm2=_u(rng, 0.0, 30.0) * (3.0 if seb else 1.0),
        flakes=_u(rng, 0.1, 0.45) if seb or rng.random() < 0.15 else 0.0,
        flake_cell_um=_u(rng, 150.0, 450.0),
        scar=_u(rng, 0.3, 0.8) if scar else 0.0,
        peri_scale=_u(rng, 0.3, 0.7) if scar or (seb and rng.random() < 0.4) else 0.0,
        hair_colour=colour,
        albedo=alb,
        sigma=sig,
        alt_albedo=alt_alb,
        alt_sigma=alt_sig,
        alt_share=share,
        root_um=root,
        hair_length=length,
        density=_u(rng, d_lo, d_hi),
        empty_cm2=_u(rng, *EMPTY_OPENINGS[cond]),
        fu_size_p=FU_SIZE_P[cond],
        kind_p=KIND_P[cond],
        diameter_um=_u(rng, 52.0, 88.0),
        diameter_sd=_u(rng, 6.0, 16.0),
        trim_um=_u(rng, 400.0, 2500.0),
        flow=_u(rng, 0.0, 2.0 * math.pi),
        flow_grad=_u(rng, -0.12, 0.12),
        parted=length != "trimmed" and rng.random() < 0.7,
        part_angle=_u(rng, 0.0, math.pi),
        part_offset_um=_u(rng, -800.0, 800.0),
        part_lean=_u(rng, -0.6, 0.6),
        curl=float(rng.choice([0.0, 0.12, 0.3])),
        curl_um=_u(rng, 1200.0, 5000.0),
        light=light,
        light_elev=math.radians(_u(rng, 45.0, 70.0)),
        hair_spec=_u(rng, 0.15, 0.45) if light == "non-polarised" else _u(rng, 0.0, 0.04),
        skin_glare=_u(rng, 0.2, 0.8) if light == "non-polarised" else 0.0,
        vignette=_u(rng, 0.05, 0.4),
        gradient=_u(rng, 0.0, 0.15),
        gradient_dir=_u(rng, 0.0, 2.0 * math.pi),
        wb_r=_u(rng, 0.85, 1.18),
        wb_b=_u(rng, 0.85, 1.18),
        exposure=_u(rng, 0.75, 1.2),
        defocus_px=float(rng.choice([_u(rng, 0.0, 0.7), _u(rng, 0.7, 1.5), _u(rng, 1.5, 2.4)])),
        field_curve=_u(rng, 0.0, 1.0),
        aberration=_u(rng, 0.0, 0.0012),
        full_well=math.exp(_u(rng, math.log(150.0), math.log(3000.0))),
        read_noise=_u(rng, 0.002, 0.01),
        sharpen=_u(rng, 0.0, 0.8),
        jpeg_quality=quality,
    )
