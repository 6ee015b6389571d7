"""The dermoscope and the camera: light, lens, Bayer sensor, processing, JPEG.

Light falls off towards the corners and along a gradient; the lens blurs
with a defocus that changes across the frame (a tilted focal plane) and has
lateral chromatic aberration. The sensor samples an RGGB mosaic with
signal-dependent (Poisson-Gaussian) noise and 10-bit quantisation; a
bilinear demosaic, a slightly wrong white balance, the sRGB curve with an
S-shaped tone tweak and optionally JPEG compression make the final image.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]


def illumination(params: dict[str, Any], h: int, w: int) -> F32:
    """Relative irradiance over the frame (1 at the centre)."""
    yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2.0)[:, None]
    xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2.0)[None, :]
    half = np.float32(math.hypot(h, w) / 2.0)
    rho2 = (xx * xx + yy * yy) / (half * half)
    v = np.float32(params["vignetting"])
    a = math.radians(float(params["light_angle_deg"]))
    g = np.float32(params["light_gradient"])
    ramp = (xx * np.float32(math.cos(a)) + yy * np.float32(math.sin(a))) / half
    out: F32 = ((1.0 - v * rho2 * (0.6 + 0.4 * rho2)) * (1.0 + g * ramp)).astype(np.float32)
    return out


def _blur(img: F32, sigma: float) -> F32:
    if sigma < 0.25:
        return img
    out: F32 = ndimage.gaussian_filter(img, sigma=(sigma, sigma, 0.0), mode="nearest")
    return out


def defocus(params: dict[str, Any], img: F32) -> F32:
    """Blur whose width grows linearly across the frame."""
    h, w, _ = img.shape
    s0 = float(params["blur_px"])
    tilt = float(params["blur_tilt"])
    near = _blur(img, s0)
    if tilt < 0.1:
        return near
    far = _blur(img, s0 + tilt)
    a = math.radians(float(params["blur_angle_deg"]))
    yy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    wgt = np.clip(0.5 + 0.5 * (xx * np.float32(math.cos(a)) + yy * np.float32(math.sin(a))), 0, 1)
    out: F32 = (near + (far - near) * wgt[..., None]).astype(np.float32)
    return out


def _magnify_axis(a: F32, factor: float, axis: int) -> F32:
    """Resample ``a`` along one axis, magnified by ``factor`` about its centre."""
    n = a.shape[axis]
    c = (n - 1) / 2.0
    src = np.clip(c + (np.arange(n) - c) / factor, 0.0, n - 1.0)
    j0 = np.minimum(np.floor(src).astype(np.intp), n - 2) if n > 1 else np.zeros(n, np.intp)
    f = (src - j0).astype(np.float32)
    shape = [1] * a.ndim
    shape[axis] = n
    lo = np.take(a, j0, axis=axis)
    hi = np.take(a, np.minimum(j0 + 1, n - 1), axis=axis)
    out: F32 = lo + (hi - lo) * f.reshape(shape)
    return out


def chromatic(params: dict[str, Any], img: F32) -> F32:
    """Lateral chromatic aberration: red a little larger, blue a little smaller."""
    h, w, _ = img.shape
    eps = float(params["chromatic_px"]) / (math.hypot(h, w) / 2.0)
    if eps < 1e-5:
        return img
    for ch, f in ((0, 1.0 + eps), (2, 1.0 - eps)):
        plane = img[..., ch]
        img[..., ch] = _magnify_axis(_magnify_axis(plane, f, 0), f, 1)
    return img


def bayer_capture(params: dict[str, Any], img: F32, rng: np.random.Generator) -> F32:
    """RGGB mosaic with Poisson-Gaussian noise and 10-bit steps, bilinear demosaic."""
    h, w, _ = img.shape
    yy = np.arange(h)[:, None] % 2
    xx = np.arange(w)[None, :] % 2
    ch = np.where((yy == 0) & (xx == 0), 0, np.where((yy == 1) & (xx == 1), 2, 1))
    raw = np.take_along_axis(img, ch[..., None], axis=2)[..., 0]
    raw = np.clip(raw, 0.0, 1.0)
    var = float(params["shot_noise"]) * raw + float(params["read_noise"]) ** 2
    raw = raw + np.sqrt(var) * rng.standard_normal((h, w), dtype=np.float32)
    raw = np.round(np.clip(raw, 0.0, 1.0) * 1023.0) / np.float32(1023.0)
    k_rb = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=np.float32)
    k_g = np.array([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]], dtype=np.float32)
    out = np.empty((h, w, 3), dtype=np.float32)
    for c, k in ((0, k_rb), (1, k_g), (2, k_rb)):
        plane = np.where(ch == c, raw, np.float32(0.0)).astype(np.float32)
        out[..., c] = ndimage.correlate(plane, k, mode="mirror")
    return out


def finish(params: dict[str, Any], img: F32) -> U8:
    """White balance error, sRGB curve, tone tweak, 8 bits and optional JPEG."""
    img[..., 0] *= np.float32(params["wb_red"])
    img[..., 2] *= np.float32(params["wb_blue"])
    x = np.clip(img, 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)
    t = np.float32(params["tone"])
    srgb = srgb - t * np.sin(np.float32(2.0 * math.pi) * srgb) / np.float32(2.0 * math.pi)
    out: U8 = np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)
    q = int(params["jpeg_quality"])
    if q == 0:
        return out
    buf = io.BytesIO()
    Image.fromarray(out, "RGB").save(buf, format="JPEG", quality=q)
    buf.seek(0)
    with Image.open(buf) as im:
        decoded: U8 = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    return decoded
