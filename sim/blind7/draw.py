"""The per-scalp draws of blind-7: every factor of a frame, from the seed alone.

Streams are separate (skin, follicles, hair, camera, ...) so that a hairless frame or a follow-up
visit of the same seed repeats exactly the draws it shares with the baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STREAM_SCENE = 1
STREAM_SKIN = 2
STREAM_FOLLICLES = 3
STREAM_HAIR = 4
STREAM_CAMERA = 5
STREAM_NOISE = 6
STREAM_VISIT = 7
STREAM_OPTICS = 8
STREAM_BARE = 9  # which hair-bearing openings are left undrawn (bare_roots)


def rng_for(seed: int, stream: int, *more: int) -> np.random.Generator:
    """A numpy Generator for one stream of one seed (no global state)."""
    words = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF, 0xB17, stream]
    words += [int(m) & 0xFFFFFFFF for m in more]
    return np.random.default_rng(np.random.SeedSequence(words))


def _pick(rng: np.random.Generator, options: dict[str, float]) -> str:
    names = list(options)
    p = np.array([options[k] for k in names], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


FITZ_MELANIN = {
    1: (0.008, 0.018),
    2: (0.016, 0.035),
    3: (0.035, 0.07),
    4: (0.07, 0.13),
    5: (0.13, 0.24),
    6: (0.24, 0.42),
}

# hair colours: eumelanin, pheomelanin, dye, scattering (per um) ranges of a pigmented hair
COLOURS: dict[str, dict[str, tuple[float, float]]] = {
    "black": {"eu": (0.85, 1.3), "pheo": (0.0, 0.05), "scat": (0.003, 0.005)},
    "dark_brown": {"eu": (0.45, 0.8), "pheo": (0.04, 0.12), "scat": (0.003, 0.006)},
    "brown": {"eu": (0.2, 0.42), "pheo": (0.08, 0.22), "scat": (0.004, 0.008)},
    "red": {"eu": (0.02, 0.09), "pheo": (0.35, 0.8), "scat": (0.005, 0.009)},
    "blond": {"eu": (0.02, 0.07), "pheo": (0.05, 0.14), "scat": (0.01, 0.018)},
    "grey": {"eu": (0.0, 0.025), "pheo": (0.0, 0.01), "scat": (0.01, 0.025)},
    "white": {"eu": (0.0, 0.003), "pheo": (0.0, 0.003), "scat": (0.012, 0.03)},
    "dyed_black": {"eu": (0.05, 0.2), "pheo": (0.0, 0.03), "scat": (0.002, 0.004)},
}


def draw_scene(seed: int, um_per_px: float, hairless: bool) -> dict[str, Any]:
    """Everything about the scalp, the hair and the light that is not a per-hair draw."""
    rng = rng_for(seed, STREAM_SCENE)
    p: dict[str, Any] = {}
    fitz = int(rng.choice(6, p=[0.12, 0.2, 0.18, 0.16, 0.16, 0.18])) + 1
    p["fitzpatrick"] = fitz
    p["skin_tone"] = "light" if fitz <= 2 else "medium" if fitz <= 4 else "dark"
    lo, hi = FITZ_MELANIN[fitz]
    p["melanin"] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    p["light"] = _pick(rng, {"polarised": 0.45, "non_polarised": 0.25, "immersion": 0.3})
    p["contact"] = bool(p["light"] == "immersion" or rng.uniform() < 0.4)
    p["condition"] = _pick(
        rng, {"healthy": 0.42, "androgenetic": 0.27, "areata": 0.13, "damaged": 0.13, "bald": 0.05}
    )
    dens_range = {
        "healthy": (110.0, 400.0),
        "androgenetic": (35.0, 260.0),
        "areata": (10.0, 140.0),
        "damaged": (50.0, 320.0),
        "bald": (10.0, 40.0),
    }[p["condition"]]
    p["density_target_per_cm2"] = float(np.exp(rng.uniform(*np.log(dens_range))))
    p["hair_length"] = _pick(rng, {"trimmed": 0.38, "long": 0.37, "mixed": 0.25})
    p["hair_colour"] = _pick(
        rng,
        {
            "black": 0.15,
            "dark_brown": 0.17,
            "brown": 0.11,
            "red": 0.06,
            "blond": 0.1,
            "grey": 0.13,
            "white": 0.08,
            "salt_pepper": 0.12,
            "dyed_black": 0.08,
        },
    )
    dark = p["skin_tone"] == "dark"
    p["curl"] = _pick(
        rng,
        {"straight": 0.25, "wavy": 0.2, "curly": 0.2, "coiled": 0.35}
        if dark
        else {"straight": 0.47, "wavy": 0.27, "curly": 0.16, "coiled": 0.1},
    )
    p["terminal_diameter_um"] = float(rng.uniform(55.0, 95.0))
    p["diameter_spread"] = float(rng.uniform(0.08, 0.2))
    p["flow_azimuth"] = float(rng.uniform(-np.pi, np.pi))
    p["flow_swirl"] = float(rng.uniform(-0.4, 0.4))
    p["elevation_deg"] = float(rng.uniform(20.0, 65.0))
    p["trim_mm"] = [float(v) for v in np.sort(rng.uniform(0.1, 1.0, 2))]
    p["long_mm"] = float(rng.uniform(3.0, 15.0))
    p["lying_fraction"] = float(rng.uniform(0.35, 1.0))
    p["canopy_um"] = float(rng.uniform(40.0, 350.0))
    p["glass_gap_um"] = float(rng.uniform(40.0, 160.0))
    p["parting"] = bool(rng.uniform() < 0.3)
    p["parting_offset"] = float(rng.uniform(-0.3, 0.3))
    p["mixed_split"] = _pick(rng, {"per_hair": 0.5, "patch": 0.5})
    p["mixed_long_share"] = float(rng.uniform(0.2, 0.7))
    p["salt_pepper_white_share"] = float(rng.uniform(0.25, 0.75))
    p["dye_root_um"] = float(rng.uniform(0.0, 900.0)) if rng.uniform() < 0.5 else 0.0
    p["medulla_share"] = float(rng.uniform(0.0, 0.6))
    p["coverage_cap"] = float(rng.uniform(0.9, 2.2))
    # skin
    p["blood"] = float(np.exp(rng.uniform(np.log(0.006), np.log(0.03))))
    p["so2"] = float(rng.uniform(0.6, 0.85))
    p["carotene"] = float(rng.uniform(0.1, 0.6))
    p["epidermis_mm"] = float(rng.uniform(0.06, 0.1))
    p["dermal_scatter"] = float(rng.uniform(0.8, 1.25))
    p["plate_um"] = float(rng.uniform(110.0, 320.0))
    p["furrow_um"] = float(rng.uniform(5.0, 13.0))
    p["furrow_depth_um"] = float(rng.uniform(1.0, 9.0))
    p["furrow_fade"] = float(rng.uniform(0.2, 1.0))
    p["major_plate_um"] = float(rng.uniform(500.0, 1600.0))
    p["major_depth_um"] = float(rng.uniform(0.0, 16.0)) if rng.uniform() < 0.45 else 0.0
    p["network_um"] = float(rng.uniform(90.0, 230.0))
    p["network_strength"] = float(
        rng.uniform(0.25, 0.7)
        if dark
        else rng.uniform(0.1, 0.5)
        if fitz >= 3
        else rng.uniform(0, 0.3)
    )
    p["white_dots_per_mm2"] = float(rng.uniform(0.5, 3.0) if fitz >= 4 else rng.uniform(0.0, 0.6))
    p["scale_amount"] = float(rng.uniform(0.0, 0.6) ** 1.5) if rng.uniform() < 0.6 else 0.0
    p["perifollicular_scale"] = float(rng.uniform(0.0, 1.0) if rng.uniform() < 0.25 else 0.0)
    p["yellow_dots"] = float(
        rng.uniform(0.4, 0.9) if p["condition"] in ("areata", "bald") else rng.uniform(0.0, 0.25)
    )
    p["peripilar_sign"] = float(
        rng.uniform(0.2, 0.8) if p["condition"] == "androgenetic" else rng.uniform(0.0, 0.3)
    )
    p["white_halo"] = float(rng.uniform(0.0, 0.5) if rng.uniform() < 0.3 else 0.0)
    p["redness"] = float(rng.uniform(0.0, 1.0) ** 2)
    p["vessels"] = int(rng.integers(1, 5)) if rng.uniform() < 0.35 else 0
    p["dotted_vessels_per_mm2"] = float(rng.uniform(0.0, 2.0) if rng.uniform() < 0.2 else 0.0)
    p["sebum"] = float(rng.uniform(0.0, 1.0))
    p["dye_stain"] = float(
        rng.uniform(0.1, 0.6) if p["hair_colour"] == "dyed_black" and rng.uniform() < 0.6 else 0.0
    )
    p["scar"] = float(
        rng.uniform(0.3, 0.9) if p["condition"] == "bald" and rng.uniform() < 0.5 else 0.0
    )
    p["opening_um"] = float(rng.uniform(25.0, 60.0))
    p["pores_per_mm2"] = float(rng.uniform(0.5, 2.5))
    if hairless:
        p["hair_length_label"] = "hairless"
    elif p["condition"] == "bald":
        p["hair_length_label"] = "hairless"
    else:
        p["hair_length_label"] = p["hair_length"]
    return p


def draw_camera(seed: int, um_per_px: float) -> dict[str, Any]:
    """The camera and its optics (the same device at every visit of a scalp)."""
    rng = rng_for(seed, STREAM_CAMERA)
    c: dict[str, Any] = {}
    c["k1"] = float(rng.uniform(-0.07, 0.05))
    c["k2"] = float(rng.uniform(-0.02, 0.02))
    c["p1"] = float(rng.normal(0.0, 0.002))
    c["p2"] = float(rng.normal(0.0, 0.002))
    ca = float(rng.uniform(0.0, 0.0018))
    c["lateral_ca"] = [ca * float(rng.uniform(0.6, 1.2)), 0.0, -ca]
    c["axial_ca_um"] = float(rng.uniform(0.0, 35.0))
    c["na"] = float(np.exp(rng.uniform(np.log(0.012), np.log(0.09))))
    c["focus_um"] = float(rng.uniform(-20.0, 260.0))
    c["focus_tilt"] = [float(v) for v in rng.normal(0.0, 0.012, 2)]
    c["field_curvature_um"] = float(rng.normal(0.0, 50.0))
    c["vignetting"] = float(rng.uniform(0.0, 0.5))
    c["vignetting_centre"] = [float(v) for v in rng.normal(0.0, 0.06, 2)]
    c["field_stop"] = bool(rng.uniform() < 0.3)
    c["field_stop_radius"] = float(rng.uniform(0.52, 0.66))
    c["field_stop_centre"] = [float(v) for v in rng.normal(0.0, 0.03, 2)]
    c["field_stop_soft"] = float(rng.uniform(0.004, 0.03))
    c["ring_leds"] = int(rng.choice([4, 6, 8, 12, 16]))
    c["ring_elevation_deg"] = float(rng.uniform(35.0, 65.0))
    c["ring_unevenness"] = float(rng.uniform(0.0, 0.35))
    c["ring_phase"] = float(rng.uniform(0.0, 2 * np.pi))
    c["illum_falloff"] = float(rng.uniform(-0.25, 0.3))
    c["exposure_ev"] = float(rng.normal(0.0, 0.25))
    c["full_well_e"] = float(np.exp(rng.uniform(np.log(1500.0), np.log(20000.0))))
    c["read_noise_e"] = float(rng.uniform(1.5, 12.0))
    c["gamma"] = float(rng.uniform(1.8, 2.5))
    c["contrast"] = float(rng.uniform(-0.15, 0.35))
    c["saturation"] = float(rng.uniform(0.95, 1.35))
    c["sharpen"] = float(rng.uniform(0.0, 0.7))
    c["sharpen_sigma"] = float(rng.uniform(0.7, 2.0))
    c["jpeg"] = bool(rng.uniform() < 0.85)
    c["jpeg_quality"] = int(rng.integers(55, 98))
    c["chroma_subsampling"] = bool(rng.uniform() < 0.8)
    c["bayer"] = bool(rng.uniform() < 0.9)
    c["bubbles_per_mm2"] = float(rng.uniform(0.0, 0.8) ** 2)
    return c
