"""A smartphone behind a clip-on dermoscope lens: defocus that varies over the field,
chromatic aberration, vignetting, an optional round field stop, sensor noise, and the
phone's processing: multi-frame merge ghosts, edge-aware denoise, local tone mapping on a
bilateral grid, white-balance error, gamma, unsharp mask, then JPEG or WebP (Pillow).
None of these steps moves the image except the lateral colour shift of R and B (about a
pixel): the geometry of the labels is fixed before, in geometry.Pose."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

Arr = NDArray[Any]


def _blur(img: Arr, sigma: float) -> Arr:
    if sigma < 0.05:
        return img
    return np.asarray(ndimage.gaussian_filter(img, (0, sigma, sigma)), dtype=np.float32)


def optics(
    rad: Arr,
    look: dict[str, Any],
    um: float,
    stop: tuple[float, float, float] | None,
    bubbles: list[tuple[float, float, float]],
) -> Arr:
    """Lens and field stop on linear radiance (3, H, W)."""
    _, hgt, wid = rad.shape
    yy = (np.arange(hgt, dtype=np.float32) - (hgt - 1) / 2)[:, None]
    xx = (np.arange(wid, dtype=np.float32) - (wid - 1) / 2)[None, :]
    hd = 0.5 * math.hypot(wid, hgt)
    r2 = (xx * xx + yy * yy) / (hd * hd)
    # immersion bubbles: dark refracting rim with a bright inner edge
    for bx, by, br in bubbles:
        d = np.sqrt((xx - bx) ** 2 + (yy - by) ** 2)
        rim = np.exp(-(((d - br) / max(1.2, 0.06 * br)) ** 2))
        inner = np.exp(-(((d - 0.85 * br) / max(1.0, 0.05 * br)) ** 2))
        rad = rad * (1.0 - 0.55 * rim)[None] + 0.35 * inner[None] * rad.mean()
    # defocus growing over the field (tilt + field curvature)
    d0, d1 = look["defocus_um"]
    sig_a = d0 / um
    sig_b = (d0 + d1) / um
    if sig_b > 0.3:
        tilt = look["oblique"]
        w = np.clip(
            0.5 * r2 + 0.5 * (tilt[0] * xx + tilt[1] * yy) / (0.12 * hd) * 0.5 + 0.25, 0.0, 1.0
        )
        a = _blur(rad, sig_a)
        b = _blur(rad, sig_b)
        rad = a + (b - a) * w[None]
    # lateral colour: R and B scaled about the centre by +-ca_px at the half diagonal
    ca = look["ca_px"] / hd
    if abs(look["ca_px"]) > 0.1:
        gy, gx = np.mgrid[0:hgt, 0:wid].astype(np.float32)
        cx, cy = (wid - 1) / 2, (hgt - 1) / 2
        for ch, sgn in ((0, 1.0), (2, -1.0)):
            f = 1.0 / (1.0 + sgn * ca)
            coords = [cy + (gy - cy) * f, cx + (gx - cx) * f]
            rad[ch] = ndimage.map_coordinates(rad[ch], coords, order=1, mode="nearest")
        del gy, gx
    vig = 1.0 / (1.0 + look["vignette"] * r2 * 1.6) ** 2
    rad = rad * vig[None]
    if stop is not None:
        sx, sy, sr = stop
        d = np.sqrt((np.arange(wid)[None, :] - sx) ** 2 + (np.arange(hgt)[:, None] - sy) ** 2)
        edge = max(2.0, 0.01 * sr)
        # the soft edge is centred on the radius the truth uses (d <= sr: listed), so
        # every listed emergence point gets at least half the light and every masked one
        # at most half; a ramp from sr out to sr + edge left hairs visible but unlisted
        m = np.clip((sr + 0.5 * edge - d) / edge, 0.0, 1.0)
        rad = rad * m[None].astype(np.float32)
    return np.asarray(rad, dtype=np.float32)


def _bilateral_base(lum: Arr, cell: int, bins: int) -> Arr:
    """Edge-aware smooth of ``lum`` (log luminance, ~0..1) through a bilateral grid."""
    hgt, wid = lum.shape
    gh, gw = hgt // cell + 2, wid // cell + 2
    lo, hi = float(lum.min()), float(lum.max())
    z = (lum - lo) / max(hi - lo, 1e-6) * (bins - 1)
    yi = (np.arange(hgt) // cell)[:, None] + np.zeros((1, wid), dtype=np.int64)
    xi = (np.arange(wid) // cell)[None, :] + np.zeros((hgt, 1), dtype=np.int64)
    zi = np.rint(z).astype(np.int64)
    idx = ((yi * gw + xi) * bins + zi).ravel()
    size = gh * gw * bins
    s = np.bincount(idx, lum.ravel().astype(np.float64), minlength=size).reshape(gh, gw, bins)
    n = np.bincount(idx, minlength=size).reshape(gh, gw, bins).astype(np.float64)
    s = ndimage.gaussian_filter(s, (1.0, 1.0, 1.0))
    n = ndimage.gaussian_filter(n, (1.0, 1.0, 1.0))
    grid = s / np.maximum(n, 1e-6)
    cy = (np.arange(hgt, dtype=np.float32) + 0.5) / cell - 0.5
    cx = (np.arange(wid, dtype=np.float32) + 0.5) / cell - 0.5
    coords = [
        np.broadcast_to(np.clip(cy, 0, None)[:, None], (hgt, wid)),
        np.broadcast_to(np.clip(cx, 0, None)[None, :], (hgt, wid)),
        z,
    ]
    return np.asarray(ndimage.map_coordinates(grid, coords, order=1, mode="nearest"), np.float32)


def sensor_and_isp(rad: Arr, hair_alpha: Arr, visit: dict[str, Any], look: dict[str, Any]) -> Arr:
    """Sensor noise and the phone's processing; returns sRGB uint8 (H, W, 3)."""
    rng = np.random.default_rng(visit["noise_seed"])
    _, hgt, wid = rad.shape
    lum = rad.mean(axis=0)
    inside = lum > 0.02 * float(lum.max())
    med = float(np.median(lum[inside])) if inside.any() else 1.0
    img = rad * (visit["exposure"] / max(med, 1e-4))
    # multi-frame merge: a second frame whose hairs moved a little leaks in
    gw = visit["ghost"]
    if gw > 0.02:
        gdx, gdy = visit["ghost_px"]
        shifted = np.asarray(ndimage.shift(img, (0, gdy, gdx), order=1, mode="nearest"))
        am = np.maximum(hair_alpha, np.asarray(ndimage.shift(hair_alpha, (gdy, gdx), order=1)))
        img = img + gw * np.clip(am, 0, 1)[None] * (shifted - img)
    # sensor: shot + read noise (Poisson-Gaussian), per channel
    sig = visit["noise"]
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img = img + noise * np.sqrt(sig * sig + 0.6 * sig * np.maximum(img, 0.0))
    img = np.maximum(img, 0.0)
    # in-camera denoise: chroma blur + edge-aware luminance smoothing (smears faint hair)
    y = img.mean(axis=0)
    chroma = img - y[None]
    chroma = _blur(chroma, 1.0 + 1.5 * visit["denoise"])
    ys = np.asarray(ndimage.gaussian_filter(y, 0.8 + 1.2 * visit["denoise"]), np.float32)
    diff = y - ys
    k = (2.5 + 2.0 * visit["denoise"]) * sig
    keep = 1.0 - np.exp(-((diff / max(k, 1e-6)) ** 2))
    y = ys + keep * diff
    # local tone mapping: compress the bilateral base layer, keep (boost) detail
    logy = np.log(np.maximum(y, 1e-4) + 0.01)
    base = _bilateral_base(logy, max(16, min(hgt, wid) // 24), 10)
    lit = np.clip(y / 0.04, 0.0, 1.0)  # the black of a field stop stays black
    mean_base = float(base[lit > 0.5].mean()) if (lit > 0.5).any() else float(base.mean())
    delta = (visit["tone_base"] - 1.0) * (base - mean_base) + (visit["tone_detail"] - 1.0) * (
        logy - base
    )
    gain = np.exp(np.clip(delta, -0.8, 0.8) * lit)
    img = np.maximum((y[None] + chroma) * gain[None], 0.0)
    # white balance error and saturation
    wr, wb = visit["wb"]
    img = img * np.array([1.0 + wr, 1.0, 1.0 + wb], dtype=np.float32)[:, None, None]
    ymean = img.mean(axis=0, keepdims=True)
    img = ymean + visit["saturation"] * (img - ymean)
    img = np.clip(img, 0.0, 1.0)
    srgb = np.where(img <= 0.0031308, 12.92 * img, 1.055 * np.power(img, 1 / 2.4) - 0.055)
    # unsharp mask (halos)
    amt = visit["sharpen"]
    if amt > 0.02:
        srgb = srgb + amt * (srgb - _blur(srgb, visit["sharpen_px"]))
    out = np.clip(np.rint(srgb.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    return encode(out, visit["codec"], visit["quality"])


def encode(rgb: Arr, codec: str, quality: int) -> Arr:
    """Save as the phone would (JPEG or WebP via Pillow) and read back."""
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    if codec == "webp":
        im.save(buf, format="WEBP", quality=quality, method=2)
    else:
        im.save(buf, format="JPEG", quality=quality, subsampling=2 if quality < 85 else 0)
    buf.seek(0)
    with Image.open(buf) as back:
        return np.asarray(back.convert("RGB"), dtype=np.uint8).copy()
