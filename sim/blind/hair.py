"""How hair shafts look: melanin absorbance along the chord through a cylinder.

Each pixel collects, over all shafts on it, the covered fraction, the chord
length through the keratin and the chord weighted by pigment. A shaft is then
a slab over the skin: light that reaches the skin passes it twice,
``T = exp(-2 (mu_s + mu_a) chord)``, and the shaft's own diffuse reflectance
is the Kubelka-Munk value for its absorption/scattering ratio. So dark shafts
are darkest on their axis and lighter towards the edges, white and grey
shafts are bright translucent tubes, and (without a polariser) a thin
specular line runs along each shaft.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from sim.blind.geometry import Frame
from sim.blind.population import Hairs, Polylines
from sim.blind.raster import rasterise
from sim.blind.tubes import Batch, Tubes, accumulate

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

# Relative absorption in the red, green and blue channels.
EUMELANIN = np.array([1.0, 1.6, 2.3])
PHEOMELANIN = np.array([1.0, 2.6, 6.0])
DYE = np.array([1.0, 1.03, 0.98])
KERATIN_SCATTER = 0.008  # 1/um

# Absorption (1/um, red channel) at pigment 1: eumelanin, pheomelanin, dye.
COLOURS: dict[str, tuple[float, float, float]] = {
    "dyed_black": (0.01, 0.0, 0.08),
    "black": (0.05, 0.002, 0.0),
    "dark_brown": (0.02, 0.004, 0.0),
    "brown": (0.009, 0.004, 0.0),
    "auburn": (0.002, 0.014, 0.0),
    "blond": (0.0007, 0.0018, 0.0),
    "grey": (0.028, 0.004, 0.0),  # the pigmented hairs; white ones carry ~no pigment
    "white": (0.0001, 0.0002, 0.0),
}


def absorption(colour: str) -> F64:
    """Absorption coefficients (1/um) per channel at pigment multiplier 1."""
    eu, ph, dye = COLOURS[colour]
    out: F64 = eu * EUMELANIN + ph * PHEOMELANIN + dye * DYE
    return out


def infinite_reflectance(mu_a: F64 | F32) -> F64:
    """Kubelka-Munk reflectance of a thick layer of keratin with absorption ``mu_a``."""
    q = 2.0 * np.asarray(mu_a, dtype=np.float64) / KERATIN_SCATTER
    out: F64 = 1.0 + q - np.sqrt(q * q + 2.0 * q)
    return out


def hair_tubes(hairs: Hairs, lines: Polylines, frame: Frame) -> Tubes:
    """The hairs as tubes in pixel units."""
    k = 1.0 / frame.upp
    return Tubes(
        lines=Polylines(x=lines.x * k, y=lines.y * k, s=lines.s * k, start=lines.start),
        radius=0.5 * hairs.diameter * k,
        length=hairs.length * k,
        taper_len=hairs.taper_len * k,
        sub_len=hairs.sub_len * k,
        sub_opacity=hairs.sub_opacity,
        end_angle=hairs.cut_angle,
        fray_amp=hairs.fray_amp * k,
        fray_phase=hairs.fray_phase,
    )


def shaft_sums(hairs: Hairs, lines: Polylines, frame: Frame) -> tuple[F32, F32, F32, F32]:
    """Per-pixel cover, chord path, pigment-weighted path and specular line."""
    h, w = frame.height, frame.width
    if len(hairs) == 0:
        z = np.zeros((h, w), dtype=np.float32)
        return z, z, z, z
    tubes = hair_tubes(hairs, lines, frame)
    pig = hairs.pigment.astype(np.float32)
    sheen = hairs.sheen.astype(np.float32)
    radius = tubes.radius.astype(np.float32)

    band_k = (hairs.band_k * frame.upp).astype(np.float32)
    band_ph = hairs.band_phase.astype(np.float32)
    medulla = hairs.medulla.astype(np.float32)

    def spec(b: Batch) -> F32:
        width = np.maximum(0.16, 0.7 / radius[b.tube])[:, None]
        q = (b.across - 0.35) / width
        gain = (sheen[b.tube][:, None] * 0.16) / width
        out: F32 = b.cover * gain * np.exp(-q * q)
        return out

    def pigment_path(b: Batch) -> F32:
        t = b.tube
        phase = b.along * band_k[t][:, None] + band_ph[t][:, None]
        out: F32 = b.path * (pig[t][:, None] * (1.0 + 0.12 * np.sin(phase)))
        with_canal = medulla[t] > 0
        if np.any(with_canal):
            rows = np.flatnonzero(with_canal)
            ph = phase[rows]
            q = b.across[rows] * np.float32(1.0 / 0.22)
            broken = np.clip(0.5 + 1.5 * np.sin(np.float32(0.8) * ph + np.float32(1.3)), 0.0, 1.0)
            canal = np.exp(-q * q) * broken
            out[rows] *= 1.0 - medulla[t[rows]][:, None] * canal
        return out

    channels: list[Callable[[Batch], F32]] = [lambda b: b.cover, lambda b: b.path, pigment_path]
    if np.any(sheen > 0):
        channels.append(spec)
    sums = accumulate(rasterise(tubes, h, w), h, w, channels)
    if len(sums) == 3:
        sums.append(np.zeros((h, w), dtype=np.float32))
    return sums[0], sums[1], sums[2], sums[3]


def composite(
    under: F32,
    sums: tuple[F32, F32, F32, F32],
    colour: str,
    upp: float,
) -> F32:
    """Lay the shafts over ``under`` (linear RGB reflectance), in place, and return it."""
    cover, path, pig_path, spec = sums
    sel = np.flatnonzero(cover.ravel() > 1e-5)
    if len(sel) == 0:
        return under
    flat = under.reshape(-1, 3)
    c1 = np.minimum(cover.ravel()[sel], 1.0)
    s = path.ravel()[sel]
    p = pig_path.ravel()[sel]
    inv_c = np.float32(upp) / np.maximum(c1, np.float32(1e-6))
    geo = s * inv_c
    pgeo = p * inv_c
    ratio = p / np.maximum(s, np.float32(1e-9))
    mu = absorption(colour)
    # a highlight is only seen on a shaft that nothing else lies over
    sp = spec.ravel()[sel] * np.clip(2.0 - cover.ravel()[sel], 0.0, 1.0)
    for ch in range(3):
        m = np.float32(mu[ch])
        trans = np.exp(np.float32(-2.0 * KERATIN_SCATTER) * geo - np.float32(2.0) * m * pgeo)
        q = np.float32(2.0 / KERATIN_SCATTER) * m * ratio
        r_inf = 1.0 + q - np.sqrt(q * q + 2.0 * q)
        base = flat[sel, ch]
        flat[sel, ch] = base * (1.0 - c1 + c1 * trans) + c1 * (1.0 - trans) * r_inf + sp
    return under


def hair_luminance(colour: str, pigment: float = 1.0) -> float:
    """Luminance of a thick shaft of this colour (for the contrast label)."""
    r = infinite_reflectance(absorption(colour) * pigment)
    return float(0.2126 * r[0] + 0.7152 * r[1] + 0.0722 * r[2])


def colour_luminance(colour: str, grey_white_share: float) -> float:
    """Mean shaft luminance of an image's hair colour (grey mixes white shafts in)."""
    if colour == "grey":
        white = hair_luminance("grey", 0.02)
        return grey_white_share * white + (1.0 - grey_white_share) * hair_luminance("grey")
    return hair_luminance(colour)


def contrast_label(skin_luma: float, hair_luma: float) -> str:
    """'high', 'medium' or 'low' from the log ratio of hair to skin luminance."""
    x = abs(math.log(max(hair_luma, 1e-4) / max(skin_luma, 1e-4)))
    return "high" if x > 1.2 else ("medium" if x > 0.5 else "low")
