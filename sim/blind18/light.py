"""Light on the height field: a ring of LEDs, horizon shadows, a microfacet BRDF for surface
reflection and a diffusion model for the light that enters the skin.

* **Surface reflection** is Trowbridge-Reitz (GGX) microfacets with Smith masking and
  Schlick's Fresnel term (skin n = 1.4, keratin n = 1.55); under a cross-polariser it is
  blocked, since singly reflected light keeps the LEDs' polarisation, and only a leak stays.
* **Skin below the surface** is a two-layer model: an epidermis whose melanin absorbs on the
  way in and out (Beer-Lambert over its thickness), over a dermis whose total diffuse
  reflectance comes from the diffusion dipole (Jensen et al. 2001: ``Rd`` from the reduced
  albedo) with blood and a baseline absorbing and collagen scattering. Light that enters at
  one place leaves at another: the irradiance (already shadowed by hair and relief) is spread
  by a sum-of-Gaussians diffusion profile per colour, red widest (d'Eon and Luebke's fit to
  the skin's dipole profile, its variances scaled by each channel's diffusion length here),
  applied by FFT; texture is split before and after the scatter (half the pigment each).
* **Shadows** are horizon tests on the height field toward each LED, at growing steps, soft
  by the LED's angular size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import fft

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

# per cm, over the camera's R, G and B bands (about 650, 550 and 460 nm)
MU_MELANIN = np.array([330.0, 480.0, 700.0])  # per unit volume fraction, band-averaged
MU_BLOOD = np.array([4.0, 250.0, 150.0])  # whole blood
MU_BASE = np.array([0.3, 0.9, 3.0])  # bloodless dermis (carotene, bilirubin)
MU_SCATTER = np.array([31.9, 40.2, 51.7])  # reduced scattering of the dermis
EPIDERMIS_CM = 0.006
_FDR = -1.440 / 1.4**2 + 0.710 / 1.4 + 0.668 + 0.0636 * 1.4
_A = (1.0 + _FDR) / (1.0 - _FDR)
# d'Eon and Luebke's sum-of-Gaussians skin profile: variances (mm2) and weights per channel
_VAR_MM2 = np.array([0.0064, 0.0484, 0.187, 0.567, 1.99, 7.41])
_WEIGHTS = np.array(
    [
        [0.233, 0.100, 0.118, 0.113, 0.358, 0.078],
        [0.455, 0.336, 0.198, 0.007, 0.004, 0.0],
        [0.649, 0.344, 0.0, 0.007, 0.0, 0.0],
    ]
)
_REF_BLOOD = 0.004


def dipole_rd(blood: F32) -> F32:
    """The dermis's total diffuse reflectance (h, w, 3) for a blood volume fraction."""
    mua = blood[..., None] * MU_BLOOD.astype(np.float32) + MU_BASE.astype(np.float32)
    ap = MU_SCATTER.astype(np.float32) / (MU_SCATTER.astype(np.float32) + mua)
    k = np.sqrt(3.0 * (1.0 - ap))
    out: F32 = (ap / 2.0 * (1.0 + np.exp(-4.0 / 3.0 * _A * k)) * np.exp(-k)).astype(np.float32)
    return out


def diffusion_mm(blood: float) -> F64:
    """Each channel's diffusion length 1 / sigma_tr (mm) in a dermis of ``blood``."""
    mua = blood * MU_BLOOD + MU_BASE
    out: F64 = 10.0 / np.sqrt(3.0 * mua * (mua + MU_SCATTER))
    return out


def epidermis(melanin: F32) -> F32:
    """One pass through the epidermis (h, w, 3)."""
    out: F32 = np.exp(-melanin[..., None] * (MU_MELANIN * EPIDERMIS_CM).astype(np.float32))
    return out


def leds(look: dict[str, Any], seed_rng: np.random.Generator) -> list[tuple[F64, float]]:
    """The ring's LEDs: unit direction toward each (world frame: z up) and its intensity,
    scaled so that a flat white diffuser under all of them reflects 1."""
    n = int(look["leds"])
    el = math.radians(look["led_elevation_deg"])
    phase = float(seed_rng.uniform(0.0, 2 * math.pi))
    power = 1.0 + look["led_spread"] * seed_rng.uniform(-1.0, 1.0, n)
    out = []
    for k in range(n):
        a = phase + 2 * math.pi * k / n
        d = np.array([math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)])
        out.append((d, float(power[k])))
    total = sum(p * d[2] for d, p in out)
    return [(d, p / total) for d, p in out]


def shadow(top: F32, recv: F32, d: F64, um: float, slack: float = 0.0) -> F32:
    """Visibility (0-1) of an LED in direction ``d`` from surfaces at ``recv`` (px heights)
    under occluders ``top``: the worst horizon over steps of 1 to 128 px, soft by ~4 degrees.
    ``slack`` (px per px) lets a surface rise that much toward the LED without shadowing
    itself (a fibre's own top, which its normal already shades)."""
    h, w = top.shape
    tan = d[2] / max(math.hypot(d[0], d[1]), 1e-6)
    span = float(top.max() - recv.min())
    reach = min(128.0, span / tan + 2.0)
    ux, uy = d[0] / math.hypot(d[0], d[1]), d[1] / math.hypot(d[0], d[1])
    worst = np.full((h, w), -1e9, np.float32)
    t = 1.0
    pad = math.ceil(reach) + 1
    big = np.pad(top, pad, mode="edge")
    while t <= reach:
        dx, dy = round(t * ux), round(t * uy)
        occ = big[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
        # how far above the ray to the LED the occluder rises, per unit of softness
        rise = (occ - recv - t * (tan + slack)) / (0.07 * t + 0.5)
        np.maximum(worst, rise, out=worst)
        t = t + 1.0 if t < 4 else t * 1.35
    out: F32 = np.clip(0.5 - worst, 0.0, 1.0).astype(np.float32)
    return out


def ggx(nx: F32, ny: F32, nz: F32, d: F64, rough: F32 | float, f0: float) -> F32:
    """Microfacet reflection (per unit irradiance, cosine included) toward the lens (+z)."""
    hv = d + np.array([0.0, 0.0, 1.0])
    hv /= np.linalg.norm(hv)
    ndl = np.clip(nx * d[0] + ny * d[1] + nz * d[2], 0.0, 1.0)
    ndh = np.clip(nx * hv[0] + ny * hv[1] + nz * hv[2], 0.0, 1.0)
    ndv = np.clip(nz, 1e-3, 1.0)
    a2 = np.asarray(rough, np.float32) ** 2
    a2 = a2 * a2
    dist = a2 / (math.pi * (ndh * ndh * (a2 - 1.0) + 1.0) ** 2)
    k = np.sqrt(a2) / 2.0
    g = (ndl / (ndl * (1 - k) + k)) * (ndv / (ndv * (1 - k) + k))
    vdh = float(hv[2])
    fres = f0 + (1.0 - f0) * (1.0 - vdh) ** 5
    out: F32 = (fres * dist * g / (4.0 * ndv)).astype(np.float32)
    return out


def scatter(x: F32, um: float, blood: float) -> F32:
    """``x`` (h, w, 3) spread by the skin's diffusion profile per channel (FFT; edges
    mirrored by up to 256 px)."""
    h, w, _ = x.shape
    pad = min(256, max(h, w) // 3)
    big = np.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    fy = fft.fftfreq(big.shape[0]).astype(np.float32)[:, None]
    fx = fft.rfftfreq(big.shape[1]).astype(np.float32)[None, :]
    f2 = fy * fy + fx * fx
    scale = (diffusion_mm(blood) / diffusion_mm(_REF_BLOOD)) ** 2
    out = np.empty_like(x)
    for c in range(3):
        sig2 = _VAR_MM2 * scale[c] * (1000.0 / um) ** 2  # px2
        tf = np.zeros_like(f2)
        for wgt, s2 in zip(_WEIGHTS[c], sig2, strict=True):
            if wgt > 0:
                tf += np.float32(wgt) * np.exp(np.float32(-2.0 * math.pi**2 * s2) * f2)
        spec = fft.rfft2(big[..., c], workers=1)
        res = fft.irfft2(spec * tf, s=big.shape[:2], workers=1)
        out[..., c] = res[pad : pad + h, pad : pad + w]
    return out
