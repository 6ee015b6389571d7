"""The dermoscope's optics and sensor: ring-light falloff and unevenness, defocus that
varies over the frame (a tilted focal plane), lateral chromatic aberration, a Bayer RGGB
mosaic with shot and read noise, bilinear demosaicing, a tone curve, and optionally JPEG
through an 8x8 DCT with the standard quantisation tables (own code)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.fft import dctn, idctn
from scipy.ndimage import convolve, gaussian_filter, map_coordinates

from sim.blind14.site import Site
from sim.blind14.view import View

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

_QL = np.array(
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
_QC = np.full((8, 8), 99.0)
_QC[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def illumination(site: Site, view: View) -> F32:
    h, w = view.height, view.width
    xn = ((np.arange(w, dtype=np.float32) - (w - 1) / 2) / view.radius_px)[None, :]
    yn = ((np.arange(h, dtype=np.float32) - (h - 1) / 2) / view.radius_px)[:, None]
    r2 = xn * xn + yn * yn
    a = site.light_angle
    light = (1.0 - site.vignette * r2 * (0.7 + 0.3 * r2)) * (
        1.0 + site.uneven * (xn * math.cos(a) + yn * math.sin(a))
    )
    out: F32 = light.astype(np.float32)
    return out


def defocus(img: F32, site: Site, view: View) -> F32:
    """Blur growing across the frame: a blend of the sharp image and two blurred copies."""
    h, w = view.height, view.width
    # sigma in pixels at the frame centre: a shallow depth of field shows more at high
    # magnification, but a usable frame is never mush
    base = site.defocus * min(9.0 / view.um, 1.5)
    if base < 0.15 and site.defocus_tilt * base < 0.15:
        return img
    xx = np.arange(w, dtype=np.float32)[None, :]
    yy = np.arange(h, dtype=np.float32)[:, None]
    a = site.light_angle * 1.7
    ramp = ((xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)) / view.radius_px
    sig = np.clip(base * (1.0 + site.defocus_tilt * ramp), 0.0, 3.2)
    top = float(sig.max())
    if top < 0.2:
        return img
    levels = [0.0, top * 0.5, top]
    blurred = [img] + [gaussian_filter(img, (s, s, 0)).astype(np.float32) for s in levels[1:]]
    pos = np.clip(sig / (top * 0.5), 0.0, 2.0)
    lo = np.minimum(pos.astype(np.int64), 1)
    f = (pos - lo)[..., None]
    low = (lo == 0).astype(np.float32)[..., None]
    first = blurred[0] * low + blurred[1] * (1 - low)
    second = blurred[1] * low + blurred[2] * (1 - low)
    res: F32 = (first * (1 - f) + second * f).astype(np.float32)
    return res


def aberration(img: F32, site: Site, view: View) -> F32:
    """Lateral colour: red magnified and blue shrunk about the centre by up to
    ``site.aberration`` pixels at the corners."""
    if site.aberration < 0.25:
        return img
    h, w = view.height, view.width
    yy, xx = np.meshgrid(
        np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij"
    )
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = img.copy()
    for ch, sgn in ((0, 1.0), (2, -1.0)):
        k = sgn * site.aberration / view.radius_px
        out[..., ch] = map_coordinates(
            img[..., ch],
            [cy + (yy - cy) * (1 - k), cx + (xx - cx) * (1 - k)],
            order=1,
            mode="nearest",
        )
    return out


def bayer(img: F32, site: Site, rng: np.random.Generator) -> F32:
    """Mosaic to RGGB, add shot and read noise, demosaic bilinearly."""
    h, w, _ = img.shape
    yy = np.arange(h)[:, None] % 2
    xx = np.arange(w)[None, :] % 2
    mask_r = ((yy == 0) & (xx == 0)).astype(np.float32)
    mask_b = ((yy == 1) & (xx == 1)).astype(np.float32)
    mask_g = 1.0 - mask_r - mask_b
    raw = img[..., 0] * mask_r + img[..., 1] * mask_g + img[..., 2] * mask_b
    raw = np.clip(raw, 0.0, None)
    noise = rng.standard_normal((h, w), dtype=np.float32)
    raw = raw + noise * np.sqrt(raw * site.noise * 0.05 + (site.noise * 0.25) ** 2)
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4.0
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4.0
    out = np.empty_like(img)
    for ch, mask, kern in ((0, mask_r, k_rb), (1, mask_g, k_g), (2, mask_b, k_rb)):
        num = convolve(raw * mask, kern, mode="mirror")
        den = convolve(mask, kern, mode="mirror")
        out[..., ch] = num / np.maximum(den, 1e-6)
    return out


def tone(img: F32) -> U8:
    x = np.clip(img, 0.0, 1.0)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    out: U8 = np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
    return out


def _quality_table(base: NDArray[np.float64], quality: int) -> NDArray[np.float64]:
    s = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    out: NDArray[np.float64] = np.clip(np.floor((base * s + 50.0) / 100.0), 1, 255)
    return out


def _blocks(plane: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    h, w = plane.shape
    ph, pw = -h % 8, -w % 8
    p = np.pad(plane, ((0, ph), (0, pw)), mode="edge") - 128.0
    hb, wb = p.shape[0] // 8, p.shape[1] // 8
    b = p.reshape(hb, 8, wb, 8)
    c = dctn(b, type=2, norm="ortho", axes=(1, 3))
    c = np.rint(c / q[None, :, None, :]) * q[None, :, None, :]
    r = idctn(c, type=2, norm="ortho", axes=(1, 3)).reshape(hb * 8, wb * 8) + 128.0
    out: NDArray[np.float64] = r[:h, :w]
    return out


def jpeg(img: U8, quality: int) -> U8:
    """Baseline JPEG's loss: YCbCr, 4:2:0 chroma, 8x8 DCT quantised with the standard
    tables scaled to ``quality``, and back."""
    x = img.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape
    ql, qc = _quality_table(_QL, quality), _quality_table(_QC, quality)
    y2 = _blocks(y, ql)
    chans = []
    for c in (cb, cr):
        ch = np.pad(c, ((0, h % 2), (0, w % 2)), mode="edge")
        small = ch.reshape(ch.shape[0] // 2, 2, ch.shape[1] // 2, 2).mean(axis=(1, 3))
        small = _blocks(small, qc)
        chans.append(np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)[:h, :w])
    cb2, cr2 = chans
    rr = y2 + 1.402 * (cr2 - 128.0)
    gg = y2 - 0.344136 * (cb2 - 128.0) - 0.714136 * (cr2 - 128.0)
    bb = y2 + 1.772 * (cb2 - 128.0)
    out: U8 = np.clip(np.rint(np.stack([rr, gg, bb], axis=-1)), 0, 255).astype(np.uint8)
    return out
