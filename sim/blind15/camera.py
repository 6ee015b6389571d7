"""The dermoscope's optics and sensor: a pupil with Zernike aberrations whose point-spread
function comes from its Fourier transform (per colour, with axial chromatic defocus), light
fall-off and tilt, shot and read noise, and an optional baseline JPEG (8x8 DCT, quantised
with the standard tables, 4:2:0 chroma) written here with scipy.fft."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import fft, signal

F64 = NDArray[np.float64]

_LUMA_Q = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=float,
)
_CHROMA_Q = np.full((8, 8), 99.0)
_CHROMA_Q[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def psf(look: dict[str, Any], channel: int, um: float) -> F64:
    """Point-spread function (odd square, sums to 1) from a pupil with defocus, astigmatism,
    coma and spherical aberration (Zernike terms, waves)."""
    n = 48
    y, x = (np.mgrid[0:n, 0:n] - n / 2 + 0.5) / (n / 4)
    rho2 = x * x + y * y
    rho = np.sqrt(rho2)
    th = np.arctan2(y, x)
    inside = rho <= 1.0
    chroma = (-0.25, 0.0, 0.3)[channel]
    # the same lens blurs less in pixels when each pixel spans more skin
    blur = 1.0 / (1.0 + um / 8.0)
    w = (
        (look["defocus"] + chroma) * blur * math.sqrt(3) * (2 * rho2 - 1)
        + look["astigmatism"] * blur * math.sqrt(6) * rho2 * np.cos(2 * th)
        + look["coma"] * blur * math.sqrt(8) * (3 * rho2 * rho - 2 * rho) * np.cos(th)
        + look["spherical"] * blur * math.sqrt(5) * (6 * rho2 * rho2 - 6 * rho2 + 1)
    )
    pupil = inside * np.exp(2j * math.pi * w)
    p = np.abs(np.fft.fftshift(np.fft.fft2(pupil))) ** 2
    # two PSF samples per pixel: bin 2x2
    p = p.reshape(n // 2, 2, n // 2, 2).sum(axis=(1, 3))
    c = n // 4
    k = p[c - 4 : c + 5, c - 4 : c + 5]
    out: F64 = k / k.sum()
    return out


def optics(img: F64, look: dict[str, Any], um: float) -> F64:
    out = np.empty_like(img)
    for c in range(3):
        out[:, :, c] = signal.oaconvolve(img[:, :, c], psf(look, c, um)[::-1, ::-1], mode="same")
    return out


def light(img: F64, look: dict[str, Any], turn: float, shift: tuple[float, float]) -> F64:
    """Vignetting and an uneven, tilted illumination (fixed to the scope, not the skin)."""
    h, w = img.shape[:2]
    yy = (np.arange(h) - (h - 1) / 2) / max(h, w)
    xx = (np.arange(w) - (w - 1) / 2) / max(h, w)
    r2 = yy[:, None] ** 2 + xx[None, :] ** 2
    tx, ty = look["light_tilt"]
    gain = (1.0 - look["vignette"] * r2 / 0.3) * (1.0 + 2 * tx * xx[None, :] + 2 * ty * yy[:, None])
    gain = gain * look["exposure"]
    out: F64 = img * gain[:, :, None] * np.array(look["white_balance"])[None, None, :]
    return out


def sensor(img: F64, look: dict[str, Any], rng: np.random.Generator) -> F64:
    sig = look["noise"]
    lin = np.clip(img, 0, 1.2)
    noise = rng.standard_normal(img.shape).astype(np.float32)
    out: F64 = img + noise * (sig * np.sqrt(0.3 + lin))
    return out


def jpeg(rgb8: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    """Baseline JPEG round trip: YCbCr, 4:2:0, 8x8 DCT, quantisation at ``quality``."""
    h, w = rgb8.shape[:2]
    ph, pw = -h % 16, -w % 16
    x = np.pad(rgb8.astype(np.float64), ((0, ph), (0, pw), (0, 0)), mode="edge")
    r, g, b = x[:, :, 0], x[:, :, 1], x[:, :, 2]
    yy = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    s = 5000 / quality if quality < 50 else 200 - 2 * quality
    ql = np.clip(np.floor((_LUMA_Q * s + 50) / 100), 1, 255)
    qc = np.clip(np.floor((_CHROMA_Q * s + 50) / 100), 1, 255)

    def code(ch: F64, q: F64) -> F64:
        hh, ww = ch.shape
        blocks = (ch - 128).reshape(hh // 8, 8, ww // 8, 8).transpose(0, 2, 1, 3)
        co = fft.dctn(blocks, axes=(2, 3), norm="ortho")
        co = np.round(co / q) * q
        back = fft.idctn(co, axes=(2, 3), norm="ortho")
        out: F64 = back.transpose(0, 2, 1, 3).reshape(hh, ww) + 128
        return out

    def sub(ch: F64) -> F64:
        hh, ww = ch.shape
        out: F64 = ch.reshape(hh // 2, 2, ww // 2, 2).mean(axis=(1, 3))
        return out

    def up(ch: F64) -> F64:
        return np.repeat(np.repeat(ch, 2, axis=0), 2, axis=1)

    yq = code(yy, ql)
    cbq = up(code(sub(cb), qc))
    crq = up(code(sub(cr), qc))
    r2 = yq + 1.402 * (crq - 128)
    g2 = yq - 0.344136 * (cbq - 128) - 0.714136 * (crq - 128)
    b2 = yq + 1.772 * (cbq - 128)
    out = np.stack([r2, g2, b2], -1)[:h, :w]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
