"""The sensor and a phone-style camera pipeline.

A Bayer colour-filter mosaic samples the optical image; shot noise (Gaussian with the
Poisson variance of the collected electrons) and read noise are added and the result is
quantised to 12 bits. The mosaic is demosaiced (bilinear or Malvar-He-Cutler), white
balanced with a small estimation error, colour-corrected with a saturation matrix, tone
mapped (sRGB gamma, a filmic curve, or HDR local tone mapping against a blurred
luminance), denoised (chroma blur, edge-aware luma smoothing that smears fine texture),
sharpened with an unsharp mask (halos), and stored as JPEG."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind11.design import Design

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
CHANNEL = {"R": 0, "G": 1, "B": 2}


def _cfa(pattern: str, h: int, w: int) -> NDArray[np.uint8]:
    idx = np.empty((h, w), dtype=np.uint8)
    for k, ch in enumerate(pattern):
        idx[k // 2 :: 2, k % 2 :: 2] = CHANNEL[ch]
    return idx


def _demosaic_bilinear(mosaic: F32, cfa: NDArray[np.uint8]) -> F32:
    out = np.empty((*mosaic.shape, 3), dtype=np.float32)
    k_rb = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=np.float32)
    k_g = np.array([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]], dtype=np.float32)
    for c in range(3):
        sparse = np.where(cfa == c, mosaic, np.float32(0.0))
        out[..., c] = ndimage.convolve(sparse, k_g if c == 1 else k_rb, mode="mirror")
    return out


def _demosaic_mhc(mosaic: F32, cfa: NDArray[np.uint8]) -> F32:
    """Malvar-He-Cutler gradient-corrected linear interpolation (5 x 5 kernels)."""
    g_at_rb = [
        [0, 0, -1, 0, 0],
        [0, 0, 2, 0, 0],
        [-1, 2, 4, 2, -1],
        [0, 0, 2, 0, 0],
        [0, 0, -1, 0, 0],
    ]
    rb_row = [
        [0, 0, 0.5, 0, 0],
        [0, -1, 0, -1, 0],
        [-1, 4, 5, 4, -1],
        [0, -1, 0, -1, 0],
        [0, 0, 0.5, 0, 0],
    ]
    rb_diag = [
        [0, 0, -1.5, 0, 0],
        [0, 2, 0, 2, 0],
        [-1.5, 0, 6, 0, -1.5],
        [0, 2, 0, 2, 0],
        [0, 0, -1.5, 0, 0],
    ]
    kernels = {
        "g": np.asarray(g_at_rb, dtype=np.float32) / 8,
        "row": np.asarray(rb_row, dtype=np.float32) / 8,
        "col": np.asarray(rb_row, dtype=np.float32).T / 8,
        "diag": np.asarray(rb_diag, dtype=np.float32) / 8,
    }
    h, w = mosaic.shape
    out = np.empty((h, w, 3), dtype=np.float32)
    is_g = cfa == 1
    out[..., 1] = np.where(is_g, mosaic, ndimage.convolve(mosaic, kernels["g"], mode="mirror"))
    # which of red and blue shares a green pixel's row
    row_has = np.zeros((h, 1), dtype=np.uint8)
    for y0 in (0, 1):
        row = cfa[y0, :]
        other = row[row != 1]
        row_has[y0::2] = int(other[0]) if other.size else 0
    for c in (0, 2):
        out[..., c] = ndimage.convolve(mosaic, kernels["diag"], mode="mirror")
        np.copyto(out[..., c], mosaic, where=cfa == c)
    for name in ("row", "col"):
        conv = ndimage.convolve(mosaic, kernels[name], mode="mirror")
        for c in (0, 2):
            same = row_has == c if name == "row" else row_has != c
            np.copyto(out[..., c], conv, where=is_g & same)
    return out


def _filmic(x: F32) -> F32:
    a = 2.2
    out: F32 = (x * (1.0 + x / (a * a)) / (1.0 + x) / ((1.0 + 1.0 / (a * a)) / 2.0)).astype(
        np.float32
    )
    return out


def _srgb(x: F32) -> F32:
    x = np.clip(x, 0.0, 1.0)
    out: F32 = np.where(
        x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, np.float32(1 / 2.4)) - 0.055
    ).astype(np.float32)
    return out


def develop(radiance: F32, design: Design, rng: np.random.Generator, gain: float) -> U8:
    """Radiance (linear, camera RGB) to the stored 8-bit RGB frame."""
    h, w = radiance.shape[:2]
    cfa = _cfa(design.bayer, h, w)
    raw = np.empty((h, w), dtype=np.float32)
    for c in range(3):
        np.copyto(raw, radiance[..., c], where=cfa == c)
    del radiance
    raw *= np.float32(gain)
    electrons = np.clip(raw, 0.0, None) * np.float32(design.full_well)
    noisy = electrons + np.sqrt(electrons) * rng.standard_normal((h, w), dtype=np.float32)
    noisy += np.float32(design.read_noise) * rng.standard_normal((h, w), dtype=np.float32)
    del electrons, raw
    scale = np.float32(4095.0 / design.full_well)
    mosaic = (np.clip(np.rint(noisy * scale), 0, 4095) / np.float32(4095.0)).astype(np.float32)
    del noisy
    if design.demosaic == "mhc":
        rgb = _demosaic_mhc(mosaic, cfa)
    else:
        rgb = _demosaic_bilinear(mosaic, cfa)
    del mosaic, cfa
    wb = 1.0 / np.asarray(design.illuminant) * (1.0 + np.asarray(design.wb_error))
    s = design.saturation
    lum = np.array([0.2126, 0.7152, 0.0722])
    ccm = (s * np.eye(3) + (1 - s) * np.tile(lum, (3, 1))) * (wb / wb[1])[None, :]
    mixed = np.empty_like(rgb)
    for c in range(3):
        mixed[..., c] = ccm[c, 0] * rgb[..., 0] + ccm[c, 1] * rgb[..., 1] + ccm[c, 2] * rgb[..., 2]
    del rgb
    np.clip(mixed, 0.0, None, out=mixed)
    local_gain = None
    if design.tone == "hdr":
        y = lum[0] * mixed[..., 0] + lum[1] * mixed[..., 1] + lum[2] * mixed[..., 2]
        local = ndimage.gaussian_filter(np.maximum(y, 1e-4), max(h, w) / 30.0)
        del y
        local_gain = (local / float(local.mean())) ** (-design.local_tone)
        del local
    for c in range(3):
        chan = mixed[..., c]
        if local_gain is not None:
            chan *= local_gain
        if design.tone != "gamma":
            chan = _filmic(chan)
        mixed[..., c] = _srgb(chan)
    enc = mixed
    # denoise in YCbCr
    yy = 0.299 * enc[..., 0] + 0.587 * enc[..., 1] + 0.114 * enc[..., 2]
    cb = (enc[..., 2] - yy) * 0.564
    cr = (enc[..., 0] - yy) * 0.713
    del enc
    if design.denoise_chroma_px > 0:
        cb = ndimage.gaussian_filter(cb, design.denoise_chroma_px)
        cr = ndimage.gaussian_filter(cr, design.denoise_chroma_px)
    if design.denoise_luma > 0:
        smooth = ndimage.gaussian_filter(yy, 1.0)
        grad = np.hypot(ndimage.sobel(yy, axis=0), ndimage.sobel(yy, axis=1))
        weight = design.denoise_luma * np.exp(-((grad / 0.12) ** 2))
        yy = yy + weight * (smooth - yy)
    if design.sharpen > 0:
        yy = yy + design.sharpen * (yy - ndimage.gaussian_filter(yy, design.sharpen_px))
    out8 = np.empty((h, w, 3), dtype=np.uint8)
    r = yy + cr / 0.713
    b = yy + cb / 0.564
    g = (yy - 0.299 * r - 0.114 * b) / 0.587
    for c, chan in enumerate((r, g, b)):
        out8[..., c] = np.clip(np.rint(chan * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(out8).save(
        buf, format="JPEG", quality=design.jpeg_quality, subsampling=design.jpeg_subsampling
    )
    buf.seek(0)
    with Image.open(buf) as im:
        result: U8 = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    return result
