"""The photographic path of blind-16: an Airy-disc lens PSF (with a defocus disc), light
fall-off, a Quad-Bayer sensor with shot and read noise, a normalised-convolution
demosaic, and a Haar-wavelet codec (dead-zone quantised detail bands) in place of a DCT."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal, special

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
OLPF_PX = 0.8


def airy_psf(first_zero_px: float, defocus_px: float) -> F64:
    """Airy pattern with its first dark ring at ``first_zero_px`` convolved with a uniform
    disc of radius ``defocus_px`` and the low-pass filter's Gaussian, 3x supersampled."""
    n = math.ceil(2.2 * first_zero_px + defocus_px + 2 * OLPF_PX + 1)
    ss = 3
    m = 2 * n + 1
    t = (np.arange(m * ss, dtype=np.float64) + 0.5) / ss - m / 2
    yy, xx = np.meshgrid(t, t, indexing="ij")
    rr = np.hypot(xx, yy)
    z = 3.8317 * rr / max(first_zero_px, 1e-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(z < 1e-9, 1.0, (2 * special.j1(z) / np.where(z < 1e-9, 1.0, z)) ** 2)
    if defocus_px > 0.3:
        disc = (rr <= defocus_px).astype(np.float64)
        a = signal.fftconvolve(a, disc, mode="same")
    # the sensor's optical low-pass filter and pixel aperture
    a = ndimage.gaussian_filter(a, OLPF_PX * ss, mode="constant")
    k = a.reshape(m, ss, m, ss).sum(axis=(1, 3))
    k = np.maximum(k, 0.0)
    out: F64 = k / k.sum()
    return out


def blur(img: F32, psf: F64) -> F32:
    if psf.shape[0] <= 1:
        return img
    pad = psf.shape[0] // 2
    out = np.empty_like(img)
    for c in range(3):
        p = np.pad(img[..., c], pad, mode="reflect")
        out[..., c] = signal.fftconvolve(p, psf.astype(np.float32), mode="valid")
    return out


def quad_bayer_masks(h: int, w: int) -> list[NDArray[np.bool_]]:
    """R, G, B site masks of a Quad-Bayer sensor (2x2 same-colour blocks in a 4x4 tile)."""
    yy, xx = np.mgrid[0:h, 0:w]
    by, bx = (yy // 2) % 2, (xx // 2) % 2
    return [(by == 0) & (bx == 0), (by + bx) == 1, (by == 1) & (bx == 1)]


def sensor(img: F32, look: dict[str, Any], rng: np.random.Generator) -> F32:
    """Mosaic, noise and demosaic (normalised convolution of each channel's samples, with
    the relative detail of every sample carried to all three)."""
    h, w, _ = img.shape
    masks = quad_bayer_masks(h, w)
    raw = np.zeros((h, w), np.float32)
    for c, m in enumerate(masks):
        raw[m] = img[..., c][m]
    full = 4000.0 / look["noise"]  # electrons at full scale
    shot = rng.standard_normal((h, w)).astype(np.float32) * np.sqrt(np.maximum(raw, 0) / full)
    read = rng.standard_normal((h, w)).astype(np.float32) * (0.0025 * look["noise"])
    raw = raw + shot + read
    # normalised convolution of each channel's samples, wide, for the colour; every raw
    # sample's ratio to its own channel's estimate there, lightly smoothed, for the
    # detail of all three (constant hue)
    out = np.empty_like(img)
    own = np.zeros_like(raw)
    for c, m in enumerate(masks):
        mf = m.astype(np.float32)
        e = ndimage.gaussian_filter(raw * mf, 1.6) / ndimage.gaussian_filter(mf, 1.6)
        out[..., c] = e
        own[m] = e[m]
    floor = 0.02
    detail = ndimage.gaussian_filter((raw + floor) / (np.maximum(own, 0.0) + floor), 0.6)
    res: F32 = ((out + floor) * np.clip(detail, 0.4, 2.5)[..., None] - floor).astype(np.float32)
    return res


def _haar_fwd(a: F64) -> tuple[F64, F64, F64, F64]:
    p, q = a[0::2, 0::2], a[0::2, 1::2]
    r, s = a[1::2, 0::2], a[1::2, 1::2]
    return (p + q + r + s) / 2, (p - q + r - s) / 2, (p + q - r - s) / 2, (p - q - r + s) / 2


def _haar_inv(ll: F64, lh: F64, hl: F64, hh: F64) -> F64:
    h, w = ll.shape
    out = np.empty((2 * h, 2 * w), np.float64)
    out[0::2, 0::2] = (ll + lh + hl + hh) / 2
    out[0::2, 1::2] = (ll - lh + hl - hh) / 2
    out[1::2, 0::2] = (ll + lh - hl - hh) / 2
    out[1::2, 1::2] = (ll - lh - hl + hh) / 2
    return out


def wavelet_codec(rgb8: F32, step: float, levels: int = 3) -> F32:
    """Round trip through a Haar-wavelet codec: YCbCr, ``levels`` Haar levels, dead-zone
    quantisation of the detail bands (coarser for chroma and for finer bands)."""
    h, w, _ = rgb8.shape
    m = 2**levels
    ph, pw = (-h) % m, (-w) % m
    x = np.pad(rgb8, ((0, ph), (0, pw), (0, 0)), mode="edge")
    y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    cb = (x[..., 2] - y) * 0.564
    cr = (x[..., 0] - y) * 0.713
    planes = []
    for k, plane in enumerate((y, cb, cr)):
        q0 = step * (1.0 if k == 0 else 2.2)
        bands = []
        ll = plane.astype(np.float64)
        for lev in range(levels):
            ll, lh, hl, hh = _haar_fwd(ll)
            q = q0 / (1.6**lev)
            bands.append([np.sign(b) * np.floor(np.abs(b) / q + 0.35) * q for b in (lh, hl, hh)])
        for lev in reversed(range(levels)):
            ll = _haar_inv(ll, *bands[lev])
        planes.append(ll)
    y, cb, cr = planes
    r = y + cr / 0.713
    b = y + cb / 0.564
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    out: F32 = np.stack([r, g, b], axis=-1)[:h, :w].astype(np.float32)
    return out
