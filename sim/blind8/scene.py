"""What a blind-8 frame shows, drawn from the seed: the look of the scalp (skin, hair
colour and length, lighting), the follicle pool and which hairs are present, and the
visit's camera. Everything here is numbers; drawing happens elsewhere."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]

# Relative absorption of the two melanins in the R, G, B channels (~610, 540, 465 nm).
EUMELANIN = np.array([0.62, 1.0, 1.6])
PHEOMELANIN = np.array([0.25, 1.0, 2.4])

HAIR_COLOURS = {
    # label: (eumelanin range, pheomelanin range, scatter range, share of white hairs)
    "black": ((9.0, 22.0), (0.0, 0.5), (0.3, 0.6), 0.0),
    "dark_brown": ((4.5, 9.0), (0.4, 1.4), (0.4, 0.7), 0.0),
    "brown": ((2.2, 4.5), (0.8, 2.0), (0.5, 0.8), 0.0),
    "red": ((0.3, 1.0), (2.0, 4.5), (0.6, 0.9), 0.0),
    "blond": ((0.25, 0.9), (0.3, 1.1), (0.8, 1.3), 0.0),
    "grey": ((0.15, 0.6), (0.05, 0.3), (1.4, 2.4), 0.55),
    "white": ((0.0, 0.08), (0.02, 0.15), (1.6, 3.2), 1.0),
    "salt_pepper": ((5.0, 14.0), (0.2, 1.0), (0.4, 0.7), 0.45),
    "dyed_black": ((16.0, 30.0), (0.8, 1.6), (0.3, 0.5), 0.0),
}
COLOUR_P = {
    "black": 0.15,
    "dark_brown": 0.14,
    "brown": 0.12,
    "red": 0.06,
    "blond": 0.1,
    "grey": 0.14,
    "white": 0.11,
    "salt_pepper": 0.1,
    "dyed_black": 0.08,
}
KINDS = ("terminal", "intermediate", "vellus", "regrowing", "broken", "exclamation", "black_dot")


def rng_for(*parts: int) -> np.random.Generator:
    """A Generator for a tuple of ints of any size and sign (blind-8's own stream tags)."""
    entropy: list[int] = [0x8B8]
    for p in parts:
        entropy += [1 if p < 0 else 0, abs(int(p))]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _pick(rng: np.random.Generator, table: dict[str, float]) -> str:
    keys = list(table)
    p = np.array([table[k] for k in keys])
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])


@dataclass
class Look:
    """Frame-level parameters of the scalp, light and device (same for both visits)."""

    p: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.p[key]


def draw_look(seed: int, um: float) -> Look:
    rng = rng_for(seed, 1)
    p: dict[str, Any] = {}
    tone = _pick(rng, {"light": 0.45, "medium": 0.3, "dark": 0.25})
    p["skin_tone"] = tone
    p["melanin"] = float(
        {"light": rng.uniform(0.15, 0.6), "medium": rng.uniform(0.7, 1.6)}.get(
            tone, rng.uniform(1.8, 3.6)
        )
    )
    p["blood"] = float(rng.uniform(0.25, 0.9))
    p["hair_colour"] = _pick(rng, COLOUR_P)
    p["hair_length"] = _pick(rng, {"trimmed": 0.38, "long": 0.32, "mixed": 0.3})
    p["curl"] = _pick(rng, {"straight": 0.4, "wavy": 0.3, "curly": 0.17, "coiled": 0.13})
    p["density"] = float(math.exp(rng.uniform(math.log(10.0), math.log(400.0))))
    p["fu_mean"] = float(rng.uniform(0.0, 1.0))  # 0: single-hair units .. 1: 3-4 hair units
    p["vellus_share"] = float(rng.choice([rng.uniform(0.03, 0.15), rng.uniform(0.15, 0.5)]))
    p["share"] = {
        "black_dot": float(rng.uniform(0.0, 0.07) if rng.random() < 0.35 else 0.0),
        "exclamation": float(rng.uniform(0.0, 0.05) if rng.random() < 0.2 else 0.0),
        "broken": float(rng.uniform(0.0, 0.1) if rng.random() < 0.5 else 0.0),
        "regrowing": float(rng.uniform(0.0, 0.25) if rng.random() < 0.5 else 0.0),
        "intermediate": float(rng.uniform(0.05, 0.35)),
    }
    p["terminal_um"] = [float(rng.uniform(50.0, 70.0)), float(rng.uniform(75.0, 100.0))]
    p["clip_um"] = float(rng.uniform(100.0, 1000.0))
    p["trim_share"] = float(rng.uniform(0.3, 0.7))
    p["coverage"] = float(rng.uniform(0.25, 1.3))  # long hair: shaft area / frame area
    long_um = float(rng.uniform(3000.0, 10000.0))
    # keep the long hair's shaft area near the drawn coverage of the frame
    mean_d = 0.5 * (p["terminal_um"][0] + p["terminal_um"][1]) * 1e-4
    cap = p["coverage"] / max(p["density"] * mean_d, 1e-9) * 1e4
    p["long_um"] = float(np.clip(min(long_um, cap), 1200.0, 10000.0))
    p["flow_deg"] = float(rng.uniform(0.0, 360.0))
    p["flow_bend"] = float(rng.uniform(0.1, 0.8))
    p["spread_deg"] = float(rng.uniform(8.0, 35.0))
    p["light"] = _pick(rng, {"polarised": 0.45, "non_polarised": 0.35, "immersion": 0.2})
    p["light_elev_deg"] = float(rng.uniform(35.0, 65.0))
    p["n_lights"] = int(rng.integers(4, 9))
    p["light_unevenness"] = float(rng.uniform(0.0, 0.4))
    p["hg_g"] = float(rng.uniform(0.2, 0.6))
    p["nz"] = int(rng.integers(16, 49))
    # skin texture
    p["network"] = float(
        {"light": rng.uniform(0.0, 0.15), "medium": rng.uniform(0.05, 0.4)}.get(
            tone, rng.uniform(0.25, 0.7)
        )
    )
    p["network_um"] = float(rng.uniform(90.0, 220.0))
    p["rd_feed"] = float(rng.uniform(0.036, 0.043))
    p["furrow"] = float(rng.uniform(0.0, 1.0))
    p["furrow_um"] = float(rng.uniform(400.0, 1300.0))
    p["roughness_um"] = float(rng.uniform(1.5, 6.0))
    p["scale"] = float(rng.uniform(0.2, 0.9) if rng.random() < 0.4 else 0.0)
    p["white_dots"] = float(
        {"light": rng.uniform(0.0, 0.2), "medium": rng.uniform(0.0, 0.5)}.get(
            tone, rng.uniform(0.3, 0.9)
        )
    )
    p["yellow_dots"] = float(rng.uniform(0.1, 0.8) if rng.random() < 0.35 else 0.0)
    p["empty_openings"] = float(rng.uniform(0.05, 0.5))
    p["halo"] = float(rng.uniform(0.1, 0.6) if rng.random() < 0.4 else 0.0)
    p["redness"] = float(rng.uniform(0.1, 0.8) if rng.random() < 0.4 else 0.0)
    p["vessels_per_mm2"] = float(rng.uniform(0.0, 1.2) if rng.random() < 0.5 else 0.0)
    p["sebum"] = float(rng.uniform(0.0, 1.0))
    p["subsurface"] = float(rng.uniform(0.04, 0.18))
    # device optics (same device both visits)
    p["k1"] = float(rng.uniform(-0.06, 0.04))
    p["oblique"] = [float(v) for v in rng.uniform(-0.12, 0.12, 2)]
    p["vignette"] = float(rng.uniform(0.05, 0.5))
    p["field_stop"] = bool(rng.random() < 0.3)
    p["stop_radius"] = float(rng.uniform(0.36, 0.49))  # x the frame diagonal
    p["stop_offset"] = [float(v) for v in rng.uniform(-0.03, 0.03, 2)]
    p["defocus_um"] = [float(rng.uniform(0.0, 6.0)), float(rng.uniform(0.0, 14.0))]
    p["ca_px"] = float(rng.uniform(-1.5, 1.5))
    return Look(p)


def draw_visit(seed: int, follow_up: tuple[float, int] | None, w: int, h: int) -> dict[str, Any]:
    """Pose and camera processing of one visit (baseline: from the seed; follow-up: seed2)."""
    if follow_up is None:
        rng = rng_for(seed, 2)
        pose = {"theta_deg": 0.0, "shift_px": [0.0, 0.0]}
    else:
        rng = rng_for(seed, 3, follow_up[1])
        pose = {
            "theta_deg": float(rng.uniform(-2.0, 2.0)),
            "shift_px": [float(rng.uniform(-0.02, 0.02) * w), float(rng.uniform(-0.02, 0.02) * h)],
        }
    v: dict[str, Any] = dict(pose)
    v["exposure"] = float(rng.uniform(0.22, 0.42))
    v["noise"] = float(rng.uniform(0.004, 0.025))
    v["ghost"] = float(rng.uniform(0.0, 0.3))
    v["ghost_px"] = [float(x) for x in rng.uniform(-2.5, 2.5, 2)]
    v["denoise"] = float(rng.uniform(0.2, 1.0))
    v["tone_base"] = float(rng.uniform(0.55, 0.9))
    v["tone_detail"] = float(rng.uniform(1.0, 1.35))
    v["wb"] = [float(x) for x in rng.uniform(-0.12, 0.12, 2)]
    v["saturation"] = float(rng.uniform(0.85, 1.25))
    v["sharpen"] = float(rng.uniform(0.0, 1.2))
    v["sharpen_px"] = float(rng.uniform(0.8, 2.2))
    v["codec"] = "webp" if rng.random() < 0.25 else "jpeg"
    v["quality"] = int(rng.integers(60, 96))
    v["bubbles"] = int(rng.integers(0, 7))
    v["noise_seed"] = int(rng.integers(0, 2**31))
    return v


@dataclass
class Pool:
    """Potential hairs (slots) of the site, one row per slot; ``present`` for this visit."""

    a: dict[str, Arr]
    present: Arr
    present0: Arr  # baseline presence (the openings of the site)
    fu_x: Arr
    fu_y: Arr
    fu_open: Arr  # an empty unit whose opening shows anyway
    fu_yellow: Arr


def draw_pool(
    seed: int, look: Look, half_w: float, half_h: float, margin: float, factor: float
) -> Pool:
    """The follicle units of the region (frame + margin, um) with 1-4 slots each, every
    slot a fully described hair; presence is a threshold on a per-slot score, so a
    follow-up keeps the baseline's hairs and adds (or drops) the next ones in order."""
    rng = rng_for(seed, 4)
    area_cm2 = (2 * half_w + 2 * margin) * (2 * half_h + 2 * margin) * 1e-8
    n0 = max(1, round(look["density"] * area_cm2))
    n_slots = math.ceil(3.3 * n0) + 8
    fm = look["fu_mean"]
    cap_p = np.array([1.0 - 0.6 * fm, 0.6 + 0.2 * fm, 0.15 + 0.5 * fm, 0.02 + 0.3 * fm])
    caps_list: list[int] = []
    total = 0
    while total < n_slots:
        c = int(rng.choice(4, p=cap_p / cap_p.sum())) + 1
        caps_list.append(c)
        total += c
    caps = np.array(caps_list)
    n_fu = len(caps)
    fu_x = rng.uniform(-half_w - margin, half_w + margin, n_fu)
    fu_y = rng.uniform(-half_h - margin, half_h + margin, n_fu)
    activity = rng.random(n_fu)
    fu_open = rng.random(n_fu) < look["empty_openings"]
    fu_yellow = rng.random(n_fu) < look["yellow_dots"] * 0.5
    # hair flow direction
    fl = math.radians(look["flow_deg"])
    ph = rng.uniform(0, 2 * math.pi, 2)
    fu_az = (
        fl
        + look["flow_bend"] * np.sin(fu_x / 4000.0 + ph[0]) * np.cos(fu_y / 5000.0 + ph[1])
        + rng.normal(0.0, math.radians(look["spread_deg"]), n_fu)
    )
    fu_ring = rng.uniform(25.0, 55.0, n_fu)
    a_ring = fu_ring
    fu_rot = rng.uniform(0, 2 * math.pi, n_fu)
    fu_idx = np.repeat(np.arange(n_fu), caps)
    slot_i = np.concatenate([np.arange(c) for c in caps])
    n = len(fu_idx)
    cap_s = caps[fu_idx]
    score = 0.7 * activity[fu_idx] + 0.3 * (slot_i + rng.random(n)) / cap_s
    ang = fu_rot[fu_idx] + 2 * math.pi * slot_i / cap_s
    rad = np.where(cap_s > 1, fu_ring[fu_idx], 0.0)
    a: dict[str, Arr] = {}
    a["fu"] = fu_idx
    a["ring"] = a_ring[fu_idx] * (caps[fu_idx] > 1)
    a["ex"] = fu_x[fu_idx] + rad * np.cos(ang)
    a["ey"] = fu_y[fu_idx] + rad * np.sin(ang)
    a["az"] = fu_az[fu_idx] + rng.normal(0.0, 0.15, n)
    a["score"] = score
    # kinds
    sh = look["share"]
    pv = look["vellus_share"]
    probs = np.array(
        [
            0.0,
            sh["intermediate"],
            pv,
            sh["regrowing"],
            sh["broken"],
            sh["exclamation"],
            sh["black_dot"],
        ]
    )
    probs[0] = max(0.05, 1.0 - probs.sum())
    kind = rng.choice(len(KINDS), n, p=probs / probs.sum())
    a["kind"] = kind
    t_lo, t_hi = look["terminal_um"]
    d_by_kind = np.stack(
        [
            rng.uniform(t_lo, t_hi, n),
            rng.uniform(30.0, 52.0, n),
            rng.uniform(10.5, 29.0, n),
            rng.uniform(25.0, 70.0, n),
            rng.uniform(40.0, 95.0, n),
            rng.uniform(20.0, 40.0, n),
            rng.uniform(40.0, 95.0, n),
        ]
    )
    a["d0"] = d_by_kind[kind, np.arange(n)]
    # shaft geometry
    mode = look["hair_length"]
    immersion = look["light"] == "immersion"
    trimmed = np.zeros(n, dtype=bool)
    if mode == "trimmed":
        trimmed[:] = True
    elif mode == "mixed":
        trimmed = rng.random(n) < look["trim_share"]
    a["trimmed"] = trimmed
    long_len = look["long_um"]
    nat = np.stack(
        [
            long_len * rng.uniform(0.6, 1.4, n),
            long_len * rng.uniform(0.4, 1.2, n),
            rng.uniform(300.0, 2500.0, n),
            rng.uniform(300.0, 3000.0, n),
            rng.uniform(150.0, 1500.0, n),
            rng.uniform(800.0, 3000.0, n),
            np.full(n, 1.0),
        ]
    )
    length = nat[kind, np.arange(n)]
    clip = look["clip_um"] * rng.uniform(0.7, 1.3, n)
    cut_end = np.isin(kind, [4, 5]) | (rng.random(n) < 0.3)
    was_clipped = trimmed & (length > clip) & (kind != 6)
    length = np.where(was_clipped, clip, length)
    cut_end = cut_end | was_clipped
    length = np.where(kind == 6, 0.5 * a["d0"], length)
    a["length"] = length
    a["cut"] = cut_end
    lie = (~trimmed) & np.isin(kind, [0, 1, 2]) & (length > 1200.0)
    a["lie"] = lie
    e_lo, e_hi = (10.0, 35.0) if immersion else (25.0, 70.0)
    elev = np.where(
        lie,
        rng.uniform(10.0, 40.0, n),
        np.where(kind == 2, rng.uniform(8.0, 30.0, n), rng.uniform(e_lo, e_hi, n)),
    )
    elev = np.where(kind == 6, 78.0, elev)
    a["elev"] = elev
    a["e_in"] = rng.uniform(10.0, 40.0, n)
    a["rest"] = a["d0"] / 2 + rng.uniform(0.0, 90.0 if not immersion else 10.0, n)
    a["bend"] = rng.normal(0.0, 0.25, n)  # curvature of standing shafts (rad over length)
    a["wave_ph"] = rng.uniform(0, 2 * math.pi, (n, 3))
    a["wave_len"] = rng.uniform(800.0, 4000.0, (n, 3))
    a["coil_ph"] = rng.uniform(0, 2 * math.pi, n)
    a["coil_k"] = rng.uniform(0.7, 1.3, n)
    a["taper_um"] = rng.uniform(300.0, 1200.0, n)
    # pigment
    eu_r, ph_r, sc_r, white_share = HAIR_COLOURS[look["hair_colour"]]
    white = rng.random(n) < white_share
    eu = rng.uniform(*eu_r, n) * np.exp(rng.normal(0, 0.2, n))
    pheo = rng.uniform(*ph_r, n)
    scat = rng.uniform(*sc_r, n)
    wh_eu = rng.uniform(0.0, 0.08, n)
    eu = np.where(white, wh_eu, eu)
    pheo = np.where(white, rng.uniform(0.02, 0.15, n), pheo)
    scat = np.where(white, rng.uniform(1.6, 3.2, n), scat)
    pale = kind == 2
    eu = np.where(pale, eu * rng.uniform(0.12, 0.5, n), eu)
    pheo = np.where(pale, pheo * rng.uniform(0.3, 0.7, n), pheo)
    scat = np.where(pale, scat * 1.3 + 0.3, scat)
    eu = np.where(kind == 6, np.maximum(eu, 12.0), eu)  # black dots are dense pigment
    a["eu"] = eu
    a["pheo"] = pheo
    a["scat"] = scat
    a["white"] = white
    a["medulla"] = np.where(rng.random(n) < 0.5, rng.uniform(0.2, 0.7, n), 0.0)
    a["cuticle"] = rng.uniform(0.1, 0.5, n)
    # presence for this visit
    order = np.sort(score)
    present0 = score <= order[min(n0, n) - 1]
    n1 = int(np.clip(round(n0 * factor), 0, n))
    theta = order[n1 - 1] if n1 > 0 else -1.0
    present = score <= theta
    return Pool(
        a=a,
        present=present,
        present0=present0,
        fu_x=fu_x,
        fu_y=fu_y,
        fu_open=fu_open,
        fu_yellow=fu_yellow,
    )
