"""Camera of the blind-5 generator: ring-light vignetting and a tilt gradient, white balance
error, auto exposure, defocus by a disc kernel growing towards the corners (field curvature),
lateral chromatic aberration, Poisson-Gaussian sensor noise, an unsharp-mask ISP, the sRGB
curve, and a hand-written baseline JPEG round trip (8x8 DCT, quality-scaled quantisation
tables, 4:2:0 chroma) when the site's camera compresses."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sim.blind5.choices import Design
from sim.blind5.fields import F64

LUMA_Q = np.array(
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
    dtype=np.float64,
)
CHROMA_Q = np.full((8, 8), 99.0)
CHROMA_Q[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def _dct_matrix() -> F64:
    k, n = np.mgrid[0:8, 0:8]
    c = np.cos((2 * n + 1) * k * math.pi / 16.0) * math.sqrt(2.0 / 8.0)
    c[0] /= math.sqrt(2.0)
    return np.asarray(c, dtype=np.float64)


def _codec(plane: F64, table: F64) -> F64:
    """DCT-quantise-dequantise-inverse of a plane whose sides are multiples of 8."""
    h, w = plane.shape
    c = _dct_matrix()
    blocks = plane.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    coef = c @ blocks @ c.T
    coef = np.round(coef / table) * table
    back = c.T @ coef @ c
    return np.asarray(back.transpose(0, 2, 1, 3).reshape(h, w), dtype=np.float64)


def jpeg(rgb: F64, quality: int) -> F64:
    """Baseline JPEG round trip of an (h, w, 3) image in 0..255."""
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    luma_t = np.clip(np.floor((LUMA_Q * scale + 50.0) / 100.0), 1.0, 255.0)
    chroma_t = np.clip(np.floor((CHROMA_Q * scale + 50.0) / 100.0), 1.0, 255.0)
    h, w = rgb.shape[:2]
    img = np.pad(rgb, ((0, -h % 16), (0, -w % 16), (0, 0)), mode="edge")
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    y = _codec(y - 128.0, luma_t) + 128.0
    hh, ww = y.shape
    chroma = []
    for plane in (cb, cr):
        small = plane.reshape(hh // 2, 2, ww // 2, 2).mean(axis=(1, 3)) - 128.0
        small = np.pad(small, ((0, -small.shape[0] % 8), (0, -small.shape[1] % 8)), mode="edge")
        small = _codec(small, chroma_t)[: hh // 2, : ww // 2] + 128.0
        chroma.append(np.repeat(np.repeat(small, 2, axis=0), 2, axis=1))
    cb, cr = chroma
    out = np.stack(
        [
            y + 1.402 * (cr - 128.0),
            y - 0.344136 * (cb - 128.0) - 0.714136 * (cr - 128.0),
            y + 1.772 * (cb - 128.0),
        ],
        axis=-1,
    )
    return np.asarray(out[:h, :w], dtype=np.float64)


def _disc(radius: float) -> F64:
    """Anti-aliased disc kernel (supersampled 4x4), normalised."""
    n = math.ceil(radius + 0.5)
    sub = (np.arange(4) + 0.5) / 4.0 - 0.5
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    sy = yy[..., None, None] + sub[:, None]
    sx = xx[..., None, None] + sub[None, :]
    k = (np.hypot(sx, sy) <= radius).mean(axis=(2, 3))
    return np.asarray(k / k.sum(), dtype=np.float64)


def develop(d: Design, radiance: F64, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """Turn scene radiance (h, w, 3, relative to a white under the ring light) into the
    camera's 8-bit sRGB frame, one colour channel at a time."""
    h, w = radiance.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    rr = ((xx - cx) ** 2 + (yy - cy) ** 2) / max(cx * cx + cy * cy, 1.0)
    along = (xx - cx) * math.cos(d.gradient_dir) + (yy - cy) * math.sin(d.gradient_dir)
    light = (1.0 - d.vignette * rr) * (1.0 + d.gradient * along / max(cx, cy, 1.0))
    gains = np.array([d.wb_r, 1.0, d.wb_b])
    luma = sum(
        float(np.mean(radiance[..., c] * light)) * gains[c] * weight
        for c, weight in enumerate((0.2126, 0.7152, 0.0722))
    )
    gains *= d.exposure * (0.45 / max(luma, 1e-6)) ** 0.35  # partial auto exposure
    blur_w = np.clip(1.0 - d.field_curve + 2.0 * d.field_curve * rr, 0.0, 1.0)
    kernel = _disc(d.defocus_px) if d.defocus_px >= 0.3 else None
    out = np.empty((h, w, 3))
    for c in range(3):
        img = radiance[..., c] * light * gains[c]
        if kernel is not None:
            img += (ndimage.convolve(img, kernel, mode="reflect") - img) * blur_w
        if d.aberration > 0.0 and c != 1:
            k = 1.0 + (d.aberration if c == 0 else -d.aberration)
            coords = [cy + (yy - cy) / k, cx + (xx - cx) / k]
            img = ndimage.map_coordinates(img, coords, order=1, mode="nearest")
        img = rng.poisson(np.clip(img, 0.0, 4.0) * d.full_well) / d.full_well
        img += rng.normal(0.0, d.read_noise, img.shape)
        if d.sharpen > 0.0:
            img += d.sharpen * (img - ndimage.gaussian_filter(img, 1.0))
        img = np.clip(img, 0.0, 1.0)
        srgb = np.where(img <= 0.0031308, 12.92 * img, 1.055 * img ** (1 / 2.4) - 0.055)
        out[..., c] = np.round(srgb * 255.0)
    if d.jpeg_quality:
        out = np.round(jpeg(out, d.jpeg_quality))
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)
