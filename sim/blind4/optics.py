"""The contact dermoscope's optical path and camera, from scene to file.

Lens: barrel distortion, lateral chromatic aberration (the red and blue images magnified
slightly differently) and the visit's re-positioning are one resampling of the scene canvas;
then lens blur and, on some images, defocus or motion blur; vignetting and an uneven ring
light; on some images a round field stop with black corners; on immersion (non-polarised)
images, reflections of the LED ring in the glass. Camera: white-balance error, exposure,
shot and read noise, a Bayer mosaic demosaiced bilinearly on some images, sRGB encoding,
saturation and sharpening, then PNG or JPEG through Pillow (4:2:0 or 4:4:4 chroma).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from scipy import ndimage

from sim.blind4.geometry import Canvas, Geometry
from sim.blind4.look import Look
from sim.blind4.spectral import smoothstep

_LUT_N = 1 << 14
_lin = np.linspace(0.0, 1.0, _LUT_N)
_SRGB_LUT = np.where(_lin <= 0.0031308, 12.92 * _lin, 1.055 * _lin ** (1 / 2.4) - 0.055).astype(
    np.float32
)


def _encode_srgb(x: np.ndarray) -> np.ndarray:
    idx = (np.clip(x, 0.0, 1.0) * (_LUT_N - 1) + 0.5).astype(np.int32)
    return np.asarray(_SRGB_LUT[idx])


def resample(scene: np.ndarray, canvas: Canvas, geo: Geometry) -> np.ndarray:
    """The scene as the lens images it onto the output grid (3, H, W)."""
    h, w = geo.height, geo.width
    _gx0, _gy0 = geo.grid_origin
    if geo.rot == 0.0 and geo.tx == 0.0 and geo.ty == 0.0 and geo.k == 0.0 and geo.ca == 0.0:
        oj = round((-geo.cu * geo.s - canvas.x0) / geo.s)
        oi = round((-geo.cv * geo.s - canvas.y0) / geo.s)
        return np.ascontiguousarray(scene[:, oi : oi + h, oj : oj + w])
    du0 = (np.arange(w, dtype=np.float32) - np.float32(geo.cu))[None, :]
    dv0 = (np.arange(h, dtype=np.float32) - np.float32(geo.cv))[:, None]
    f = 1.0 + np.float32(geo.k / (geo.rn * geo.rn)) * (du0 * du0 + dv0 * dv0)
    du = du0 * f
    dv = dv0 * f
    del f
    # ideal pixel -> site -> canvas pixel is affine
    c, sn = math.cos(geo.rot), math.sin(geo.rot)
    bj = (geo.tx - canvas.x0) / geo.s
    bi = (geo.ty - canvas.y0) / geo.s
    out = np.empty((3, h, w), np.float32)
    mags = (geo.ca, 0.0, -geo.ca)
    coords: list[np.ndarray] = []
    for ch in range(3):
        if not coords or geo.ca != 0.0:
            g = 1.0 + mags[ch]
            jj = np.float32(c * g) * du - np.float32(sn * g) * dv + np.float32(bj)
            ii = np.float32(sn * g) * du + np.float32(c * g) * dv + np.float32(bi)
            coords = [ii, jj]
        ndimage.map_coordinates(
            scene[ch], coords, output=out[ch], order=1, mode="nearest", prefilter=False
        )
    return out


def aperture(look: Look, geo: Geometry, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Transmission of the field stop at output pixels (1 everywhere without one)."""
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    if not look.field_stop:
        return np.ones(np.broadcast(u, v).shape)
    rn = geo.rn
    cx = geo.cu + look.field_stop_shift[0] * rn
    cy = geo.cv + look.field_stop_shift[1] * rn
    r = np.hypot(u - cx, v - cy)
    edge = max(1.5, 0.012 * rn)
    rad = look.field_stop_radius * rn
    return np.asarray(smoothstep(rad + edge, rad - edge, r))


def _motion(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    n = max(2, math.ceil(length) + 1)
    ts = np.linspace(-length / 2, length / 2, n)
    dx = np.round(ts * math.cos(angle)).astype(int)
    dy = np.round(ts * math.sin(angle)).astype(int)
    p = int(max(np.abs(dx).max(), np.abs(dy).max())) + 1
    out = np.zeros_like(img)
    _, h, w = img.shape
    padded = np.pad(img, ((0, 0), (p, p), (p, p)), mode="edge")
    for ddx, ddy in zip(dx, dy, strict=True):
        out += padded[:, p + ddy : p + ddy + h, p + ddx : p + ddx + w]
    return np.asarray(out / np.float32(n))


def _demosaic(img: np.ndarray) -> np.ndarray:
    _, h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    rm = ((yy % 2 == 0) & (xx % 2 == 0)).astype(np.float32)
    bm = ((yy % 2 == 1) & (xx % 2 == 1)).astype(np.float32)
    gm = 1.0 - rm - bm
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4.0
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4.0
    out = np.empty_like(img)
    for c, (m, k) in enumerate(((rm, k_rb), (gm, k_g), (bm, k_rb))):
        num = ndimage.convolve(img[c] * m, k, mode="mirror")
        den = ndimage.convolve(m, k, mode="mirror")
        out[c] = num / np.maximum(den, 1e-6)
    return out


def _blur3(img: np.ndarray, sigma: float) -> None:
    """Gaussian blur of each plane, in place."""
    tmp = np.empty_like(img[0])
    for c in range(img.shape[0]):
        ndimage.gaussian_filter(img[c], sigma, output=tmp)
        img[c] = tmp


def capture(
    scene: np.ndarray, canvas: Canvas, geo: Geometry, look: Look, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, object]]:
    """Scene (3, hc, wc) linear -> the saved-and-reloaded RGB uint8 image (H, W, 3)."""
    img = resample(scene, canvas, geo)
    h, w = geo.height, geo.width
    _blur3(img, look.lens_blur_px)
    if look.blur == "defocus":
        _blur3(img, 0.6 * look.blur_px)
    elif look.blur == "motion":
        img = _motion(img, look.blur_px, math.radians(look.blur_angle_deg))
    du = ((np.arange(w, dtype=np.float32) - np.float32(geo.cu)) / np.float32(geo.rn))[None, :]
    dv = ((np.arange(h, dtype=np.float32) - np.float32(geo.cv)) / np.float32(geo.rn))[:, None]
    rho2 = du * du + dv * dv
    g_ang = rng.uniform(0, 2 * math.pi)
    grad = np.float32(rng.uniform(0.0, 0.08))
    illum = 1.0 - np.float32(look.vignetting) * rho2 * (0.7 + 0.3 * rho2)
    del rho2
    illum *= 1.0 + grad * (du * np.float32(math.cos(g_ang)) + dv * np.float32(math.sin(g_ang)))
    img *= illum[None]
    del illum
    info: dict[str, object] = {}
    if look.led_reflections:
        n = look.n_leds
        rr = rng.uniform(0.3, 0.75) * geo.rn
        ph = rng.uniform(0, 2 * math.pi)
        size = rng.uniform(0.005, 0.016) * geo.rn
        cx0 = geo.cu + rng.normal(0, 0.03) * geo.rn
        cy0 = geo.cv + rng.normal(0, 0.03) * geo.rn
        for i in range(n):
            a = ph + 2 * math.pi * i / n
            sx = cx0 + rr * math.cos(a)
            sy = cy0 + rr * math.sin(a) * rng.uniform(0.9, 1.1)
            lo_x, hi_x = int(max(0, sx - 10 * size)), int(min(w, sx + 10 * size + 1))
            lo_y, hi_y = int(max(0, sy - 10 * size)), int(min(h, sy + 10 * size + 1))
            if hi_x <= lo_x or hi_y <= lo_y:
                continue
            xs = (np.arange(lo_x, hi_x) - sx)[None, :]
            ys = (np.arange(lo_y, hi_y) - sy)[:, None]
            d2 = xs * xs + ys * ys
            spot = 1.4 * np.exp(-d2 / (2 * size * size)) + 0.12 * np.exp(
                -d2 / (2 * (3 * size) ** 2)
            )
            for c, tint in enumerate((1.0, 1.0, 1.02)):
                img[c, lo_y:hi_y, lo_x:hi_x] += (tint * spot).astype(np.float32)
        info["led_ring_radius_px"] = round(float(rr), 2)
    if look.field_stop:
        uu = np.arange(w, dtype=np.float64)[None, :]
        vv = np.arange(h, dtype=np.float64)[:, None]
        img *= aperture(look, geo, uu, vv).astype(np.float32)[None]
    gains = np.array(look.wb_gains, np.float32) * np.float32(look.exposure)
    img *= gains[:, None, None]
    img += np.float32(0.01) * img.mean(axis=(1, 2), keepdims=True)  # veiling glare
    read2 = np.float32(look.read_noise) ** 2
    inv_well = np.float32(1.0 / look.full_well)
    for c in range(3):
        sigma = np.sqrt(np.maximum(img[c], 0) * inv_well + read2)
        img[c] += sigma * rng.standard_normal((h, w), dtype=np.float32)
    del sigma
    if look.demosaic:
        img = _demosaic(img)
    for c in range(3):
        img[c] = _encode_srgb(img[c])
    lum = 0.2126 * img[0] + 0.7152 * img[1] + 0.0722 * img[2]
    sat = np.float32(look.saturation)
    sharp = None
    if look.sharpen > 0:
        sharp = np.float32(look.sharpen) * (lum - ndimage.gaussian_filter(lum, 1.1))
    u8 = np.empty((h, w, 3), np.uint8)
    for c in range(3):
        plane = lum + sat * (img[c] - lum)
        if sharp is not None:
            plane += sharp
        u8[:, :, c] = np.clip(plane * 255 + 0.5, 0, 255).astype(np.uint8)
    del img, lum, sharp
    if look.compression == "png":
        return u8, info
    buf = io.BytesIO()
    sub = 2 if look.compression == "jpeg420" else 0
    Image.fromarray(u8, "RGB").save(buf, format="JPEG", quality=look.jpeg_quality, subsampling=sub)
    buf.seek(0)
    with Image.open(buf) as im:
        dec = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(dec), info
