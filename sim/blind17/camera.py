"""The camera of blind-17: ring light, vignetting, sebum glints, defocus, sensor noise, tone
curve and a block-DCT codec of its own (8x8 blocks, 2x chroma blur, quality-scaled tables)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import fft, ndimage

F32 = NDArray[np.float32]

_Q = np.array(
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
    dtype=np.float32,
)


def _codec(img: F32, quality: int) -> F32:
    """Round trip through 8x8 DCT quantisation in YCbCr (values 0..255)."""
    h, w, _ = img.shape
    ph, pw = -h % 8, -w % 8
    a = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="edge")
    m = np.array(
        [[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]], np.float32
    )
    ycc = a @ m.T
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    q = np.maximum(np.floor((_Q * scale + 50.0) / 100.0), 1.0)
    H, W = a.shape[:2]
    for ch in range(3):
        plane = ycc[..., ch] - (128.0 if ch == 0 else 0.0)
        if ch:
            plane = ndimage.uniform_filter(plane, 2)
        blocks = plane.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
        qq = q * (1.6 if ch else 1.0)
        coef = np.round(fft.dctn(blocks, axes=(2, 3), norm="ortho") / qq) * qq
        back = fft.idctn(coef, axes=(2, 3), norm="ortho")
        ycc[..., ch] = back.transpose(0, 2, 1, 3).reshape(H, W) + (128.0 if ch == 0 else 0.0)
    inv = np.linalg.inv(m).astype(np.float32)
    out: F32 = (ycc @ inv.T)[:h, :w].astype(np.float32)
    return out


def expose(
    look: dict[str, Any], refl: F32, glint: F32, um: float, noise_rng: np.random.Generator
) -> NDArray[np.uint8]:
    """The frame as 8-bit sRGB-like values from scene reflectance (h, w, 3)."""
    h, w, _ = refl.shape
    yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / max(h, w) * 2
    xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / max(h, w) * 2
    r2 = yy[:, None] ** 2 + xx[None, :] ** 2
    light = (1.0 - np.float32(look["vignette"]) * r2 / 2) * np.float32(look["exposure"])
    img = refl * light[..., None] * np.array(look["tint"], np.float32)
    img = img + glint[..., None]
    sigma = float(np.clip(look["defocus_um"] / um, 0.3, 3.5))
    img = ndimage.gaussian_filter(img, (sigma, sigma, 0), mode="nearest")
    sd = np.sqrt(np.maximum(img, 0.0) * np.float32(look["noise"]) + 1e-5).astype(np.float32)
    img = img + sd * noise_rng.standard_normal(img.shape, dtype=np.float32)
    img = np.clip(img, 0.0, 1.0) ** np.float32(1 / 2.2) * 255.0
    if look["jpeg_quality"]:
        img = _codec(img.astype(np.float32), int(look["jpeg_quality"]))
    out: NDArray[np.uint8] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return out
