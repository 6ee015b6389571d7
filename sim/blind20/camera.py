"""blind-20's camera: a thin lens's cos^4 fall-off, a Moffat point-spread function with veiling
glare, a stacked (Foveon-style) sensor whose three depths each see a broad mix of colours, the
BT.709 transfer curve, and on most sites a small codec of its own (YCoCg-R colour, 4:2:0
chroma, H.264's 4x4 integer core transform with a dead-zone quantiser)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.fft as sfft
from numpy.typing import NDArray

# what each of the three stacked photodiodes (top, middle, bottom) collects of red, green, blue
LAYERS = np.array([[0.22, 0.42, 0.80], [0.42, 0.62, 0.34], [0.74, 0.38, 0.10]], np.float64)
FULL_WELL_E = 9000.0
READ_E = 7.0


def moffat_mtf(h: int, w: int, fwhm_px: float) -> NDArray[np.float32]:
    """Transfer function of a Moffat PSF with beta 2.5: exp(-x)(1 + x), x = 2 pi alpha rho,
    on the grid of ``rfft2`` of an h x w image."""
    alpha = fwhm_px / (2 * math.sqrt(2 ** (1 / 2.5) - 1))
    fy = sfft.fftfreq(h)[:, None]
    fx = sfft.rfftfreq(w)[None, :]
    x = 2 * math.pi * alpha * np.sqrt(fx * fx + fy * fy)
    return np.asarray(np.exp(-x) * (1 + x), np.float32)


def optics(
    radiance: NDArray[np.float32], look: dict[str, Any], g: np.random.Generator
) -> NDArray[np.float32]:
    """The lens: per colour a Moffat core (red the widest: axial colour) plus 2-5 % veiling
    glare, then cos^4 fall-off toward the corners of the field."""
    h, w, _ = radiance.shape
    ph, pw = sfft.next_fast_len(h + 16), sfft.next_fast_len(w + 16, real=True)
    glare = float(g.uniform(0.02, 0.05))
    out = np.empty_like(radiance)
    for c, spread in enumerate((1.2, 1.0, 1.1)):
        fwhm = look["blur_px"] * spread
        mtf = (1 - glare) * moffat_mtf(ph, pw, fwhm) + glare * moffat_mtf(ph, pw, 40 * fwhm)
        padded = np.pad(radiance[..., c], ((8, ph - h - 8), (8, pw - w - 8)), mode="reflect")
        out[..., c] = sfft.irfft2(sfft.rfft2(padded, workers=1) * mtf, s=(ph, pw), workers=1)[
            8 : 8 + h, 8 : 8 + w
        ]
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    corner = float(g.uniform(0.68, 0.9))  # cos^4 at the corner
    tan_max = math.sqrt(corner**-0.5 - 1)
    r = np.hypot(u - (w - 1) / 2, v - (h - 1) / 2) / (0.5 * math.hypot(w, h))
    cos4 = (1 / (1 + (r * tan_max) ** 2)) ** 2
    tilt = (
        1
        + float(g.uniform(-0.08, 0.08)) * (u / w - 0.5)
        + float(g.uniform(-0.08, 0.08)) * (v / h - 0.5)
    )
    return np.asarray(out * (cos4 * tilt)[..., None], np.float32)


def stacked_sensor(
    irradiance: NDArray[np.float32], look: dict[str, Any], g: np.random.Generator
) -> NDArray[np.float32]:
    """Three photodiodes stacked in depth: each collects ``LAYERS`` of the light, with shot and
    read noise and a 12-bit ADC; the colour is unmixed by a slightly wrong inverse of the
    layers' matrix (noise grows, hues shift a little)."""
    gain = FULL_WELL_E * 0.8 * look["exposure"]
    electrons = (
        np.einsum("hwc,lc->hwl", irradiance.astype(np.float64), LAYERS) * gain / LAYERS.sum(1).max()
    )
    electrons = np.clip(electrons, 0, None)
    noisy = electrons + g.normal(0, 1, electrons.shape) * np.sqrt(electrons + READ_E**2)
    dn = np.clip(np.rint(noisy / FULL_WELL_E * 4095), 0, 4095) / 4095 * FULL_WELL_E
    believed = LAYERS * (1 + g.normal(0, 0.03, LAYERS.shape))
    rgb = np.einsum("hwl,cl->hwc", dn, np.linalg.inv(believed)) * LAYERS.sum(1).max() / gain
    return np.asarray(rgb, np.float32)


def bt709(linear: NDArray[np.float32]) -> NDArray[np.uint8]:
    x = np.clip(linear, 0, 1)
    v = np.where(x < 0.018, 4.5 * x, 1.099 * np.power(x, 0.45) - 0.099)
    return np.asarray(np.clip(np.rint(v * 255), 0, 255), np.uint8)


CORE = np.array([[1, 1, 1, 1], [2, 1, -1, -2], [1, -1, -1, 1], [1, -2, 2, -1]], np.float64)
CORE_INV = np.linalg.inv(CORE)
NORM = np.sqrt((CORE * CORE).sum(1))


def _blocks(plane: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """4x4 integer core transform of each block, coefficients (scaled to unit gain) quantised
    with a dead zone (offset 1/3 as H.264 intra), and inverted."""
    h, w = plane.shape
    b = plane.reshape(h // 4, 4, w // 4, 4).transpose(0, 2, 1, 3)
    coef = CORE @ b @ CORE.T / np.outer(NORM, NORM)
    q = np.sign(coef) * np.floor(np.abs(coef) / step + 1 / 3)
    back = CORE_INV @ (q * step * np.outer(NORM, NORM)) @ CORE_INV.T
    return back.transpose(0, 2, 1, 3).reshape(h, w)


def codec(img: NDArray[np.uint8], step: int) -> NDArray[np.uint8]:
    """YCoCg-R, Co and Cg averaged over 2x2, each plane through :func:`_blocks` (chroma at
    twice the step), back to RGB; ``step`` 0 stores the frame as it is."""
    if step == 0:
        return img
    h, w, _ = img.shape
    ph, pw = -h % 8, -w % 8
    x = np.pad(img.astype(np.float64), ((0, ph), (0, pw), (0, 0)), mode="edge")
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    co = r - b
    t = b + co / 2
    cg = g - t
    y = t + cg / 2
    y = _blocks(y, step)
    small = []
    for c in (co, cg):
        half = c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean((1, 3))
        small.append(np.repeat(np.repeat(_blocks(half, 2 * step), 2, 0), 2, 1))
    co, cg = small
    t = y - cg / 2
    g2 = cg + t
    b2 = t - co / 2
    r2 = b2 + co
    out = np.stack([r2, g2, b2], -1)[:h, :w]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
