"""The photographic path of a blind-3 frame: uneven illumination (vignetting, a gradient and
rolling-shutter flicker bands), white-balance error, lens blur with a depth-of-field map
(sharp, soft, or with out-of-focus patches), lateral chromatic aberration, shot and read
noise, a tone curve, and JPEG compression by Pillow's encoder at the site's quality.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind3.colour import encode_srgb
from sim.blind3.noise import value_noise

F32 = NDArray[np.float32]


def illuminate(img: F32, look: dict[str, Any]) -> None:
    """Multiply the scene by the light falling on it (in place)."""
    h, w = img.shape[:2]
    cx, cy = look["vignette_centre"]
    ys = (np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1) - cy) * 2
    xs = (np.arange(w, dtype=np.float32)[None, :] / max(w - 1, 1) - cx) * 2 * (w / h)
    r2 = (xs * xs + ys * ys) / (1 + (w / h) ** 2)
    gx, gy = look["illum_gradient"]
    light = (1 - look["vignetting"] * r2**1.5) * (1 + gx * xs + gy * ys)
    if look["rolling_amp"] > 0:
        rows = np.arange(h, dtype=np.float32)[:, None]
        light = light * (
            1 + look["rolling_amp"] * np.sin(2 * np.pi * rows / look["rolling_period_px"])
        )
    img *= (np.float32(look["exposure"]) * light.astype(np.float32))[..., None]
    img *= np.asarray(look["wb_gains"], dtype=np.float32)


def focus_map(look: dict[str, Any], h: int, w: int, rng: np.random.Generator) -> F32:
    """Blur radius (pixels, Gaussian sigma) at every pixel."""
    upp = look["um_per_px"]
    base = look["lens_blur_um"] / upp
    if look["focus"] == "sharp":
        defocus = np.zeros((h, w), dtype=np.float32)
    else:
        tx, ty = look["focus_tilt"]
        ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        plane = 0.5 * (tx * xs + ty * ys)
        if look["focus"] == "soft":
            defocus = np.abs(0.8 + 0.3 * plane) * np.ones((h, w), dtype=np.float32)
        else:
            patches = value_noise(rng, h, w, 2000 / upp)
            defocus = np.clip(patches - 0.4, 0, None) * 1.2 + 0.25 * np.abs(plane)
    sigma: F32 = (np.float32(base) + np.float32(look["defocus_um"] / upp) * defocus).astype(
        np.float32
    )
    return sigma


def blur(img: F32, sigma: F32) -> F32:
    """Spatially varying Gaussian blur: blend of a few fixed blurs by the per-pixel sigma."""
    lo, hi = float(sigma.min()), float(sigma.max())
    if hi - lo < 0.15:
        s = max(lo, 0.0)
        return ndimage.gaussian_filter(img, (s, s, 0), mode="nearest") if s > 0.2 else img
    levels = np.unique(np.round(np.geomspace(max(lo, 0.3), max(hi, 0.31), 5), 2))
    stack = [ndimage.gaussian_filter(img, (float(s), float(s), 0), mode="nearest") for s in levels]
    idx = np.interp(sigma, levels, np.arange(len(levels))).astype(np.float32)
    out = np.zeros_like(img)
    for k in range(len(levels)):
        wk = np.clip(1 - np.abs(idx - k), 0, 1)
        out += stack[k] * wk[..., None]
    return out


def chromatic(img: F32, look: dict[str, Any]) -> F32:
    """Lateral chromatic aberration: red magnified, blue shrunk about the centre."""
    shift = look["chromatic_px"]
    h, w = img.shape[:2]
    if shift < 0.1:
        return img
    half = 0.5 * np.hypot(h, w)
    out = img.copy()
    for ch, sign in ((0, 1.0), (2, -1.0)):
        scale = 1 + sign * shift / half
        c = np.array([(h - 1) / 2, (w - 1) / 2])
        out[..., ch] = ndimage.affine_transform(
            img[..., ch], [1 / scale, 1 / scale], offset=c - c / scale, order=1, mode="nearest"
        )
    return out


def expose(img: F32, look: dict[str, Any], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Sensor noise, tone curve, 8-bit encoding and JPEG round trip."""
    fw = look["full_well_e"]
    e = np.clip(img, 0, 1.5) * np.float32(fw)
    noisy = e + rng.standard_normal(e.shape, dtype=np.float32) * np.sqrt(
        e + np.float32(look["read_noise_e"] ** 2)
    )
    lin = np.clip(noisy / np.float32(fw), 0, 1)
    enc = encode_srgb(lin)
    k = np.float32(look["contrast"])
    enc = np.clip(0.5 + (enc - 0.5) * k, 0, 1)
    grey = enc.mean(axis=2, keepdims=True)
    enc = np.clip(grey + (enc - grey) * np.float32(look["saturation"]), 0, 1)
    out: NDArray[np.uint8] = (enc * 255 + 0.5).astype(np.uint8)
    q = int(look["jpeg_quality"])
    if q >= 100:
        return out
    buf = io.BytesIO()
    Image.fromarray(out, "RGB").save(buf, format="JPEG", quality=q)
    buf.seek(0)
    with Image.open(buf) as im:
        dec: NDArray[np.uint8] = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    return dec
