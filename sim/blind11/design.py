"""Frame-level choices: what kind of scalp, hair, light, optics and camera a frame shows.

Everything here is drawn from the seed alone (never from the visit or the hairless flag),
so a frame's hairless twin and its follow-up share the same skin and the same look."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.blind11.streams import stream

HAIR_COLOURS = (
    "black",
    "dark_brown",
    "light_brown",
    "red",
    "blond",
    "grey",
    "white",
    "dyed",
)
# linear reflectance of a thick shaft's core
COLOUR_RGB: dict[str, tuple[float, float, float]] = {
    "black": (0.018, 0.016, 0.015),
    "dark_brown": (0.036, 0.022, 0.016),
    "light_brown": (0.13, 0.08, 0.048),
    "red": (0.24, 0.08, 0.035),
    "blond": (0.44, 0.33, 0.19),
    "white": (0.64, 0.63, 0.61),
    "dyed": (0.012, 0.011, 0.014),
}
TONE_MELANIN = {"light": (0.0, 0.35), "medium": (0.35, 0.9), "dark": (0.9, 1.8)}


@dataclass(frozen=True)
class Design:
    # hair
    hair_length: str
    hair_colour: str
    grey_white_share: float
    curl: str
    density_per_cm2: float
    vellus_share: float
    terminal_mean_um: float
    terminal_sd_um: float
    elevation_mean_deg: float
    elevation_sd_deg: float
    flow_azimuth_deg: float
    flow_turn_per_mm_deg: float
    flow_jitter_deg: float
    unit_probs: tuple[float, float, float, float]
    keep_share: float
    patchiness: float
    empty_share: float
    yellow_share: float
    black_dot_share: float
    stub_mm: tuple[float, float]
    cut_mix: tuple[float, float, float]
    long_mm: tuple[float, float]
    long_blunt_share: float
    mixed_stub_share: float
    broken_share: float
    exclamation_share: float
    regrow_share: float
    wave_len_um: float
    wave_angle: float
    helix_radius_um: float
    helix_pitch_ratio: float
    ell_mm: float
    stack_um: float
    follicle_shadow: float
    hair_shadow: float
    shadow_azimuth_deg: float
    shadow_slope: float
    # skin
    skin_tone: str
    melanin: float
    haemoglobin: float
    network: str
    network_strength: float
    network_width: float
    network_wavelength_um: float
    network_r: float
    network_warp: float
    erythema: float
    freckles: float
    furrows: float
    white_dots_per_mm2: float
    white_dot_strength: float
    peripilar_share: float
    peripilar_strength: float
    white_halo_share: float
    vessels: str
    vessel_count: int
    scale_flakes: int
    scale_veil: float
    scale_yellow: float
    # light and optics
    light: str
    medium: str
    bubbles: int
    plate_um: float | None
    shine: float
    defocus_px: float
    defocus_tilt_px: float
    defocus_curv_px: float
    motion_px: float
    motion_deg: float
    glare: float
    glare_px: float
    aberration_px: float
    vignetting: float
    light_gradient: float
    light_gradient_deg: float
    illuminant: tuple[float, float, float]
    field_stop: bool
    field_stop_frac: float
    field_stop_dx: float
    field_stop_dy: float
    k1: float
    k2: float
    lens_height_mm: float
    # sensor and pipeline
    exposure: float
    full_well: float
    read_noise: float
    bayer: str
    demosaic: str
    wb_error: tuple[float, float, float]
    saturation: float
    tone: str
    local_tone: float
    denoise_chroma_px: float
    denoise_luma: float
    sharpen: float
    sharpen_px: float
    jpeg_quality: int
    jpeg_subsampling: int

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng: np.random.Generator, names: tuple[str, ...], weights: tuple[float, ...]) -> str:
    p = np.asarray(weights, dtype=np.float64)
    return str(names[int(rng.choice(len(names), p=p / p.sum()))])


def make_design(seed: int) -> Design:
    rng = stream(seed, "design")
    hair_length = _pick(rng, ("trimmed", "long", "mixed"), (0.36, 0.40, 0.24))
    colour = _pick(rng, HAIR_COLOURS, (0.21, 0.2, 0.13, 0.08, 0.11, 0.12, 0.08, 0.07))
    if hair_length == "trimmed" and rng.random() < 0.4:
        colour = "dyed"  # TrichoScan: the trimmed area is dyed before the picture
    skin_tone = _pick(rng, ("light", "medium", "dark"), (0.42, 0.30, 0.28))
    curl_w = (0.34, 0.26, 0.20, 0.20) if skin_tone != "dark" else (0.2, 0.15, 0.25, 0.40)
    curl = _pick(rng, ("straight", "wavy", "curly", "coiled"), curl_w)
    if hair_length == "trimmed":
        curl = "straight"
    if rng.random() < 0.05:
        density = _u(rng, 0.0, 5.0)
    else:
        density = float(math.exp(rng.uniform(math.log(5.0), math.log(420.0))))
    vellus = float(min(0.6, rng.beta(0.9, 2.2) * 0.75))
    t_mean = _u(rng, 48.0, 92.0)
    stub_lo = _u(rng, 0.3, 1.0)
    stub = (stub_lo, min(1.5, stub_lo + _u(rng, 0.1, 0.6)))
    long_lo = _u(rng, 2.0, 6.0)
    long_ = (long_lo, long_lo + _u(rng, 1.0, 7.0))
    if curl == "coiled":
        long_ = (long_[0] * 0.6, long_[1] * 0.55)
    big = density / 400.0
    units = np.array([0.75 - 0.45 * big, 0.2 + 0.25 * big, 0.04 + 0.17 * big, 0.01 + 0.05 * big])
    units = units / units.sum()
    light = _pick(rng, ("polarised", "non-polarised"), (0.6, 0.4))
    medium = _pick(rng, ("dry", "gel"), (0.55, 0.45))
    contact = rng.random() < 0.6
    network = _pick(
        rng,
        ("none", "faint", "strong"),
        {"light": (0.35, 0.5, 0.15), "medium": (0.15, 0.5, 0.35), "dark": (0.03, 0.3, 0.67)}[
            skin_tone
        ],
    )
    strength = {"none": 0.0, "faint": _u(rng, 0.12, 0.4), "strong": _u(rng, 0.45, 1.1)}[network]
    m_lo, m_hi = TONE_MELANIN[skin_tone]
    blur_kind = _pick(rng, ("sharp", "soft", "defocus"), (0.55, 0.3, 0.15))
    defocus = {"sharp": _u(rng, 0.0, 0.5), "soft": _u(rng, 0.5, 1.3), "defocus": _u(rng, 1.3, 3.0)}[
        blur_kind
    ]
    tone = _pick(rng, ("gamma", "filmic", "hdr"), (0.4, 0.35, 0.25))
    cast = rng.normal(0.0, 0.07, 3)
    return Design(
        hair_length=hair_length,
        hair_colour=colour,
        grey_white_share=_u(rng, 0.2, 0.8),
        curl=curl,
        density_per_cm2=density,
        vellus_share=vellus,
        terminal_mean_um=t_mean,
        terminal_sd_um=_u(rng, 5.0, 20.0),
        elevation_mean_deg=_u(rng, 15.0, 38.0),
        elevation_sd_deg=_u(rng, 3.0, 9.0),
        flow_azimuth_deg=_u(rng, 0.0, 360.0),
        flow_turn_per_mm_deg=_u(rng, -3.0, 3.0),
        flow_jitter_deg=_u(rng, 8.0, 35.0),
        unit_probs=(float(units[0]), float(units[1]), float(units[2]), float(units[3])),
        keep_share=_u(rng, 0.55, 0.95),
        patchiness=_u(rng, 0.0, 1.0),
        empty_share=_u(rng, 0.02, 0.3),
        yellow_share=_u(rng, 0.0, 0.6),
        black_dot_share=_u(rng, 0.0, 0.25),
        stub_mm=stub,
        cut_mix=(_u(rng, 0.2, 1.0), _u(rng, 0.0, 1.0), _u(rng, 0.0, 0.7)),
        long_mm=long_,
        long_blunt_share=_u(rng, 0.0, 0.8),
        mixed_stub_share=_u(rng, 0.3, 0.75),
        broken_share=_u(rng, 0.0, 0.08),
        exclamation_share=_u(rng, 0.0, 0.04),
        regrow_share=_u(rng, 0.0, 0.12),
        wave_len_um=_u(rng, 1200.0, 5000.0),
        wave_angle=_u(rng, 0.25, 0.8),
        helix_radius_um=_u(rng, 350.0, 1200.0) if curl == "curly" else _u(rng, 60.0, 200.0),
        helix_pitch_ratio=_u(rng, 0.15, 0.8),
        ell_mm=_u(rng, 0.6, 2.5),
        stack_um=_u(rng, 10.0, 80.0),
        follicle_shadow=_u(rng, 0.0, 0.25) if rng.random() < 0.6 else 0.0,
        hair_shadow=_u(rng, 0.05, 0.3) if light == "polarised" else _u(rng, 0.15, 0.5),
        shadow_azimuth_deg=_u(rng, 0.0, 360.0),
        shadow_slope=_u(rng, 0.03, 0.3),
        skin_tone=skin_tone,
        melanin=_u(rng, m_lo, m_hi),
        haemoglobin=_u(rng, 0.1, 0.6),
        network=network,
        network_strength=strength,
        network_width=_u(rng, 0.0, 1.0),
        network_wavelength_um=_u(rng, 70.0, 180.0),
        network_r=_u(rng, 0.12, 0.35),
        network_warp=_u(rng, 0.1, 0.35),
        erythema=_u(rng, 0.0, 0.6) if rng.random() < 0.5 else 0.0,
        freckles=_u(rng, 0.0, 1.0) if rng.random() < 0.3 else 0.0,
        furrows=_u(rng, 0.0, 0.12),
        white_dots_per_mm2=_u(rng, 0.5, 6.0),
        white_dot_strength={"light": _u(rng, 0.0, 0.25), "medium": _u(rng, 0.1, 0.5)}.get(
            skin_tone, _u(rng, 0.3, 0.9)
        ),
        peripilar_share=_u(rng, 0.0, 0.7) if rng.random() < 0.5 else 0.0,
        peripilar_strength=_u(rng, 0.15, 0.7),
        white_halo_share=_u(rng, 0.0, 0.6) if skin_tone != "light" else 0.0,
        vessels=_pick(
            rng,
            ("none", "arborising", "looped", "both"),
            (0.75, 0.12, 0.08, 0.05) if skin_tone == "dark" else (0.45, 0.25, 0.2, 0.1),
        ),
        vessel_count=int(rng.integers(1, 9)),
        scale_flakes=int(rng.integers(0, 40)) if rng.random() < 0.45 else 0,
        scale_veil=_u(rng, 0.0, 0.25) if rng.random() < 0.3 else 0.0,
        scale_yellow=_u(rng, 0.0, 1.0),
        light=light,
        medium=medium,
        bubbles=int(rng.integers(0, 7)) if medium == "gel" and rng.random() < 0.6 else 0,
        plate_um=_u(rng, 220.0, 900.0) if contact else None,
        shine=(_u(rng, 0.01, 0.12) if medium == "dry" else _u(rng, 0.0, 0.03))
        if light == "non-polarised"
        else 0.0,
        defocus_px=defocus,
        defocus_tilt_px=_u(rng, 0.0, 1.2),
        defocus_curv_px=_u(rng, 0.0, 1.5),
        motion_px=_u(rng, 1.0, 5.0) if rng.random() < 0.12 else 0.0,
        motion_deg=_u(rng, 0.0, 180.0),
        glare=_u(rng, 0.0, 0.035),
        glare_px=_u(rng, 10.0, 60.0),
        aberration_px=_u(rng, 0.3, 0.9),
        vignetting=_u(rng, 0.05, 0.55),
        light_gradient=_u(rng, 0.0, 0.25),
        light_gradient_deg=_u(rng, 0.0, 360.0),
        illuminant=(float(math.exp(cast[0])), 1.0, float(math.exp(cast[2] - 0.5 * cast[1]))),
        field_stop=bool(rng.random() < 0.3),
        field_stop_frac=_u(rng, 0.52, 0.9),
        field_stop_dx=_u(rng, -0.04, 0.04),
        field_stop_dy=_u(rng, -0.04, 0.04),
        k1=_u(rng, -0.05, 0.04),
        k2=_u(rng, -0.01, 0.01),
        lens_height_mm=_u(rng, 18.0, 60.0),
        exposure=_u(rng, 0.22, 0.55),
        full_well=float(math.exp(rng.uniform(math.log(600.0), math.log(9000.0)))),
        read_noise=_u(rng, 1.5, 9.0),
        bayer=_pick(rng, ("RGGB", "BGGR", "GRBG", "GBRG"), (1, 1, 1, 1)),
        demosaic=_pick(rng, ("bilinear", "mhc"), (0.4, 0.6)),
        wb_error=(float(rng.normal(0, 0.06)), 0.0, float(rng.normal(0, 0.06))),
        saturation=_u(rng, 0.85, 1.45),
        tone=tone,
        local_tone=_u(rng, 0.1, 0.45) if tone == "hdr" else 0.0,
        denoise_chroma_px=_u(rng, 0.0, 3.0),
        denoise_luma=_u(rng, 0.0, 0.8),
        sharpen=_u(rng, 0.0, 1.6),
        sharpen_px=_u(rng, 0.7, 2.0),
        jpeg_quality=int(rng.integers(60, 96)),
        jpeg_subsampling=int(rng.choice([0, 2])),
    )
