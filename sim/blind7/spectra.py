"""Spectral side of blind-7: 16 bands from 400 to 700 nm.

Every absorption curve here is a smooth analytic shape written for this generator (power laws,
exponentials and sums of Gaussian bumps placed where the chromophores have their known features),
not a table. Units: skin coefficients per millimetre, hair coefficients per micrometre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[Any]

LAMBDA_NM: Arr = np.linspace(400.0, 700.0, 16)
N_BANDS = 16


def _bump(lam: Arr, centre: float, width: float) -> Arr:
    out: Arr = np.exp(-0.5 * ((lam - centre) / width) ** 2)
    return out


def eumelanin(lam: Arr) -> Arr:
    """Relative eumelanin absorption, 1 at 500 nm: a steep power law."""
    out: Arr = (lam / 500.0) ** -3.3
    return out


def pheomelanin(lam: Arr) -> Arr:
    """Relative pheomelanin absorption, 1 at 500 nm: much steeper in the blue, little in the red."""
    out: Arr = np.exp(-(lam - 500.0) / 42.0) * 0.96 + 0.04 * (lam / 500.0) ** -2.0
    return out


def oxyhaemoglobin(lam: Arr) -> Arr:
    """Relative oxy-haemoglobin absorption, about 1 at its Soret peak (~414 nm) with a long blue
    tail, twin Q bands at ~541 and ~576 nm, falling by two orders of magnitude past 600 nm."""
    soret = 0.6 * _bump(lam, 414.0, 9.0) + 0.4 * np.exp(-np.abs(lam - 414.0) / 22.0)
    broad = 0.04 * _bump(lam, 470.0, 60.0) + 0.03 * _bump(lam, 556.0, 22.0)
    q = 0.07 * _bump(lam, 541.0, 9.5) + 0.08 * _bump(lam, 577.0, 7.5)
    tail = 0.0012 * np.exp(-(lam - 600.0) / 60.0) + 0.0004
    red = 1.0 / (1.0 + np.exp((lam - 588.0) / 4.0))  # the steep fall past the Q bands
    out: Arr = soret + (broad + q) * (0.15 + 0.85 * red) + tail
    return out


def deoxyhaemoglobin(lam: Arr) -> Arr:
    """Relative deoxy-haemoglobin absorption: Soret at ~431 nm, one broad Q band at ~556 nm and
    a red tail well above the oxy form's (why veins look bluish)."""
    soret = 0.6 * _bump(lam, 431.0, 9.0) + 0.4 * np.exp(-np.abs(lam - 431.0) / 20.0)
    broad = 0.03 * _bump(lam, 480.0, 50.0)
    q = 0.095 * _bump(lam, 556.0, 19.0)
    tail = 0.026 * np.exp(-(lam - 600.0) / 40.0) * (1.0 / (1.0 + np.exp(-(lam - 575.0) / 8.0)))
    out: Arr = soret + broad + q + tail + 0.002
    return out


def carotene(lam: Arr) -> Arr:
    """Relative beta-carotene absorption: three fingers between 420 and 490 nm, none past 530."""
    out: Arr = (
        0.62 * _bump(lam, 427.0, 11.0)
        + 1.0 * _bump(lam, 452.0, 12.0)
        + 0.86 * _bump(lam, 480.0, 11.0)
    )
    return out


def tissue_scatter(lam: Arr) -> Arr:
    """Relative reduced scattering of dermis, 1 at 500 nm."""
    out: Arr = (lam / 500.0) ** -1.3
    return out


def keratin_base(lam: Arr) -> Arr:
    """Small background absorption of keratinised tissue, rising towards the blue."""
    out: Arr = 0.25 + 0.75 * np.exp(-(lam - 400.0) / 70.0)
    return out


def led_spectrum(
    lam: Arr, blue_nm: float, phosphor_nm: float, phosphor_width: float, blue_ratio: float
) -> Arr:
    """A white phosphor LED: a narrow blue pump plus a broad phosphor hump."""
    out: Arr = blue_ratio * _bump(lam, blue_nm, 10.0) + _bump(lam, phosphor_nm, phosphor_width)
    out = out + 0.08 * _bump(lam, phosphor_nm + 70.0, 40.0)
    return out


def camera_sensitivities(lam: Arr, shifts: Arr, widths: Arr, ir_cut_nm: float) -> Arr:
    """Made-up (16, 3) camera sensitivities: Gaussian lobes with cross-talk, an IR-cut filter."""
    r = _bump(lam, 600.0 + shifts[0], 36.0 * widths[0]) + 0.06 * _bump(lam, 455.0, 25.0)
    g = _bump(lam, 535.0 + shifts[1], 42.0 * widths[1]) + 0.04 * _bump(lam, 620.0, 30.0)
    b = _bump(lam, 462.0 + shifts[2], 30.0 * widths[2]) + 0.08 * _bump(lam, 525.0, 35.0)
    cut = 1.0 / (1.0 + np.exp((lam - ir_cut_nm) / 9.0))
    qe = 0.55 + 0.45 * np.clip((lam - 400.0) / 150.0, 0.0, 1.0)
    out: Arr = np.stack([r, g, b], axis=1) * (cut * qe)[:, None]
    return out


def target_sensitivities(lam: Arr) -> Arr:
    """The (16, 3) 'display' responses the colour matrix aims at (made up, all positive)."""
    r = _bump(lam, 605.0, 30.0) + 0.1 * _bump(lam, 445.0, 17.0) - 0.22 * _bump(lam, 520.0, 28.0)
    g = _bump(lam, 543.0, 30.0) - 0.12 * _bump(lam, 470.0, 20.0) - 0.1 * _bump(lam, 620.0, 25.0)
    b = _bump(lam, 450.0, 21.0) - 0.06 * _bump(lam, 540.0, 30.0)
    out: Arr = np.stack([r, g, b], axis=1)
    return out


@dataclass(frozen=True)
class Optics:
    """Band weights of the light and camera: raw_c = sum_l R(l) * weights[l, c]."""

    weights: Arr  # (16, 3): LED * sensitivity, normalised so a white reflector gives G = 1
    white: Arr  # (3,): raw of a perfect white reflector
    ccm: Arr  # (3, 3): white-balanced raw -> display linear RGB (with its errors)
    wb_gain: Arr  # (3,): white-balance gains the camera applies (with their errors)


def _training_spectra(rng: np.random.Generator) -> Arr:
    """Reflectances the colour matrix is fitted on: smooth random spectra and skin-like ones."""
    lam = LAMBDA_NM
    out = []
    for _ in range(60):
        c = rng.uniform(0.05, 0.9, 5)
        knots = np.linspace(400.0, 700.0, 5)
        out.append(np.interp(lam, knots, c))
    for mel in (0.01, 0.05, 0.15, 0.3):
        for blood in (0.003, 0.01, 0.03):
            out.append(
                skin_reflectance(
                    np.array([mel]),
                    np.array([blood]),
                    np.array([0.75]),
                    np.array([0.1]),
                    np.array([1.0]),
                    0.08,
                )[0]
            )
    return np.asarray(out)


def make_optics(rng: np.random.Generator, params: dict[str, Any]) -> Optics:
    """Draw the ring light's LED and the camera, fit its colour matrix, and spoil it a little."""
    lam = LAMBDA_NM
    blue_nm = float(rng.uniform(445.0, 462.0))
    ph_nm = float(rng.uniform(548.0, 600.0))
    ph_w = float(rng.uniform(42.0, 62.0))
    blue_ratio = float(rng.uniform(0.3, 0.95))
    led = led_spectrum(lam, blue_nm, ph_nm, ph_w, blue_ratio)
    shifts = rng.normal(0.0, 6.0, 3)
    widths = rng.uniform(0.85, 1.2, 3)
    ir_cut = float(rng.uniform(640.0, 690.0))
    sens = camera_sensitivities(lam, shifts, widths, ir_cut)
    w = led[:, None] * sens
    w = w / w[:, 1].sum()
    white = w.sum(axis=0)
    # the matrix: least squares from white-balanced raw to the white-balanced target
    tgt_w = led[:, None] * target_sensitivities(lam)
    spectra = _training_spectra(rng)
    cam = (spectra @ w) / white
    tgt = spectra @ tgt_w
    tgt = tgt / tgt_w.sum(axis=0)
    m, *_ = np.linalg.lstsq(cam, tgt, rcond=None)
    ccm = m.T
    ccm = ccm + (1.0 - ccm.sum(axis=1, keepdims=True)) / 3.0  # white stays white
    err = float(rng.uniform(0.0, 0.04))
    ccm = ccm + rng.normal(0.0, err, (3, 3))
    ccm = ccm / ccm.sum(axis=1, keepdims=True)
    wb_err = np.clip(rng.normal(0.0, 0.03, 3), -0.06, 0.06)
    wb_gain = (1.0 / white) * np.exp(wb_err)
    wb_gain = wb_gain / wb_gain[1]
    params.update(
        led_blue_nm=blue_nm,
        led_phosphor_nm=ph_nm,
        led_phosphor_width_nm=ph_w,
        led_blue_ratio=blue_ratio,
        camera_shift_nm=[float(v) for v in shifts],
        camera_width_factor=[float(v) for v in widths],
        ir_cut_nm=ir_cut,
        ccm_error_sd=err,
        ccm=[[float(v) for v in row] for row in ccm],
        wb_error_log=[float(v) for v in wb_err],
    )
    return Optics(weights=w, white=white, ccm=ccm, wb_gain=wb_gain)


def skin_reflectance(
    mel: Arr, blood: Arr, so2: Arr, carot: Arr, scatter: Arr, epi_mm: float
) -> Arr:
    """(N, 16) diffuse reflectance of skin: an epidermis that absorbs (melanin, carotene,
    keratin) over a dermis whose diffuse reflectance follows from its absorption (oxy and deoxy
    haemoglobin) and reduced scattering. mel: melanin volume fraction of the epidermis; blood:
    blood volume fraction of the upper dermis; so2: oxygen saturation; carot: carotene (relative);
    scatter: multiplier of the dermal scattering."""
    lam = LAMBDA_NM[None, :]
    mu_epi = (
        68.0 * mel[:, None] * eumelanin(lam)
        + 1.6 * carot[:, None] * carotene(lam)
        + 0.35 * keratin_base(lam)
    )
    t_epi = np.exp(-mu_epi * epi_mm)
    hb = so2[:, None] * oxyhaemoglobin(lam) + (1.0 - so2[:, None]) * deoxyhaemoglobin(lam)
    mu_a = (
        275.0 * blood[:, None] * hb
        + 0.025 * keratin_base(lam)
        + 0.3 * carot[:, None] * carotene(lam)
    )
    mu_s = 4.2 * scatter[:, None] * tissue_scatter(lam)
    r_derm = 0.9 * np.exp(-7.0 * np.sqrt(mu_a / (3.0 * (mu_a + mu_s))))
    # light scattered back by the horny layer above most of the melanin
    r_horny = 0.028 * (0.6 + 0.4 * (lam / 500.0) ** -1.0) * (0.5 + 0.5 * t_epi)
    out: Arr = t_epi * t_epi * r_derm + r_horny
    return out


def skin_raw(
    mel: Arr, blood: Arr, so2: Arr, scatter: Arr, carot: float, epi_mm: float, weights: Arr
) -> Arr:
    """(N, 3) camera raw of skin: ``skin_reflectance`` for many pixels at once (float32, in
    place), projected with ``weights`` (16, 3) band by band as it goes."""
    lam = LAMBDA_NM
    f32 = np.float32
    a_mel = (68.0 * eumelanin(lam) * epi_mm).astype(f32)
    k_epi = ((1.6 * carot * carotene(lam) + 0.35 * keratin_base(lam)) * epi_mm).astype(f32)
    hb_o = (275.0 * oxyhaemoglobin(lam)).astype(f32)
    hb_d = (275.0 * deoxyhaemoglobin(lam)).astype(f32)
    base = (0.025 * keratin_base(lam) + 0.3 * carot * carotene(lam)).astype(f32)
    scat = (4.2 * tissue_scatter(lam)).astype(f32)
    horny = (0.028 * (0.6 + 0.4 * (lam / 500.0) ** -1.0)).astype(f32)
    wts = weights.astype(f32)
    mel = mel.astype(f32)
    blood = blood.astype(f32)
    so2 = so2.astype(f32)
    scatter = scatter.astype(f32)
    out = np.zeros((len(mel), 3), f32)
    for b in range(N_BANDS):
        t = np.exp(-(mel * a_mel[b] + k_epi[b]))
        mu_a = blood * (so2 * (hb_o[b] - hb_d[b]) + hb_d[b]) + base[b]
        x = mu_a / (3.0 * (mu_a + scatter * scat[b]))
        r = 0.9 * np.exp(-7.0 * np.sqrt(x))
        refl = t * t * r + horny[b] * (0.5 + 0.5 * t)
        out += refl[:, None] * wts[b]
    return out


def depth_weights(blood: float, scatter: float) -> Arr:
    """(16,) how much of the remitted light at each band has travelled ~0.3 mm deep: how strongly
    a pigmented follicle under the skin darkens each band (deeper-reaching red more)."""
    lam = LAMBDA_NM
    mu_a = 275.0 * blood * (0.75 * oxyhaemoglobin(lam) + 0.25 * deoxyhaemoglobin(lam)) + 0.025
    mu_s = 4.2 * scatter * tissue_scatter(lam)
    delta = 1.0 / np.sqrt(3.0 * mu_a * (mu_a + mu_s))
    out: Arr = np.exp(-0.3 / delta)
    return out


def hair_optics(eu: Arr, pheo: Arr, dye: Arr, scat: Arr) -> tuple[Arr, Arr]:
    """Per hair (N,) pigment -> (N, 16) extinction per um and (N, 16) body albedo.
    eu/pheo: eumelanin/pheomelanin concentrations (1 = black hair's eumelanin); dye: artificial
    near-black dye; scat: scattering per um (cortex plus air-filled medulla)."""
    lam = LAMBDA_NM[None, :]
    dye_curve = 1.0 + 0.35 * _bump(lam, 575.0, 45.0) - 0.15 * _bump(lam, 420.0, 25.0)
    k_a = (
        0.08 * eu[:, None] * (lam / 500.0) ** -4.6
        + 0.05 * pheo[:, None] * pheomelanin(lam)
        + 0.075 * dye[:, None] * dye_curve
        + 0.0006 * keratin_base(lam)
    )
    k_s = np.broadcast_to(scat[:, None], k_a.shape)
    omega = k_s / (k_s + k_a)
    root = np.sqrt(1.0 - omega)
    albedo = 0.62 * (1.0 - root) / (1.0 + root) + 0.004  # + light scattered by the cuticle
    ext: Arr = k_a + k_s
    return ext, albedo
