"""From scene radiance to an 8-bit RGB file: lens, sensor and phone-style processing.

Lens: defocus whose blur grows with a surface's height above or below the
focal plane (the top surface height comes from the hair compositing) and with
distance from the axis (field curvature), an optional motion smear, and
vignetting.  Sensor: exposure, shot and read noise on an RGGB mosaic (or per
channel), bilinear demosaicing, white balance, a colour matrix, a tone curve,
unsharp-mask sharpening with its halo, and JPEG or plain chroma subsampling.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind2.frame import Frame
from sim.blind2.look import Look
from sim.blind2.raster import blur

Arr = NDArray[Any]
_LEVELS = (0.0, 0.8, 1.6, 3.2, 6.4, 12.8)


def _radius2(frame: Frame, cx: float = 0.0, cy: float = 0.0) -> Arr:
    h, w = frame.height, frame.width
    xs = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / frame.half_diagonal - cx
    ys = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / frame.half_diagonal - cy
    return np.asarray(ys[:, None] ** 2 + xs[None, :] ** 2, dtype=np.float32)


def defocus(img: Arr, ztop: Arr, look: Look, frame: Frame) -> Arr:
    """Blur that varies per pixel with height off the focal plane and field position.

    The image (3, h, w) is blurred at a ladder of widths, each only over the box
    where it is needed, and each pixel mixes the two rungs around its own width."""
    sig_z = 0.8 * look.num("aperture_na") * np.abs(ztop - look.num("focus_um")) / frame.upp
    sig_f = look.num("field_blur_px") * _radius2(frame)
    sigma = np.sqrt(look.num("blur_px") ** 2 + sig_z**2 + sig_f**2).astype(np.float32)
    sigma = np.maximum(sigma, blur(sigma, 3.0))  # a blurred shaft also veils what is beside it
    top = min(float(sigma.max()), _LEVELS[-1])
    levels = [lv for lv in _LEVELS if lv < top] + [min(lv for lv in _LEVELS if lv >= top)]
    if len(levels) == 1:
        return img
    sigma = np.minimum(sigma, levels[-1])
    out = np.zeros_like(img)
    for i, lv in enumerate(levels):
        lo = levels[i - 1] if i > 0 else lv - 1.0
        hi = levels[i + 1] if i + 1 < len(levels) else lv + 1.0
        weight = np.where(
            sigma <= lv,
            np.clip((sigma - lo) / (lv - lo), 0, 1),
            np.clip((hi - sigma) / (hi - lv), 0, 1),
        ).astype(np.float32)
        rows = np.flatnonzero(weight.max(axis=1) > 0)
        cols = np.flatnonzero(weight.max(axis=0) > 0)
        if rows.size == 0:
            continue
        pad = int(3 * lv) + 2
        r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, img.shape[1])
        c0, c1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, img.shape[2])
        wt = weight[r0:r1, c0:c1]
        for c in range(3):
            out[c, r0:r1, c0:c1] += blur(img[c, r0:r1, c0:c1], lv) * wt
    return out


def motion(img: Arr, look: Look) -> Arr:
    """Average of copies shifted along a line (hand shake during exposure)."""
    if not look.on("motion_blur"):
        return img
    length = look.num("motion_px")
    ang = math.radians(look.num("motion_deg"))
    taps = math.ceil(length) + 1
    pad = math.ceil(length / 2) + 1
    h, w = img.shape[1:]
    out = np.zeros_like(img)
    for c in range(3):
        padded = np.pad(img[c], pad, mode="edge")
        for t in np.linspace(-length / 2, length / 2, taps):
            ox = round(t * math.cos(ang))
            oy = round(t * math.sin(ang))
            out[c] += padded[pad + oy : pad + oy + h, pad + ox : pad + ox + w]
    out *= np.float32(1.0 / taps)
    return out


def _demosaic(mosaic: Arr) -> Arr:
    """Bilinear demosaic of an RGGB mosaic into (3, h, w) planes."""
    h, w = mosaic.shape
    k_rb = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=np.float32)
    k_g = np.array([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]], dtype=np.float32)
    rgb = np.empty((3, h, w), dtype=np.float32)
    for c, kern in enumerate((k_rb, k_g, k_rb)):
        sites = np.zeros((h, w), dtype=np.float32)
        if c == 0:
            sites[0::2, 0::2] = mosaic[0::2, 0::2]
        elif c == 2:
            sites[1::2, 1::2] = mosaic[1::2, 1::2]
        else:
            sites[0::2, 1::2] = mosaic[0::2, 1::2]
            sites[1::2, 0::2] = mosaic[1::2, 0::2]
        rgb[c] = ndimage.convolve(sites, kern, mode="mirror")
    return rgb


def _tone_lut(look: Look, size: int) -> tuple[Arr, float]:
    """Display value for linear values 0..top, as a table of ``size`` entries."""
    curve = look.text("tone_curve")
    top = 4.0 if curve == "filmic" else 1.0
    x = np.linspace(0.0, top, size)
    if curve == "srgb":
        y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    elif curve == "gamma":
        y = x ** (1.0 / look.num("gamma"))
    else:
        v = np.maximum(x - 0.004, 0.0) * 1.3
        y = (v * (6.2 * v + 0.5)) / (v * (6.2 * v + 1.7) + 0.06)
    return y.astype(np.float32), top


def sensor(img: Arr, look: Look, frame: Frame, rng: np.random.Generator) -> Arr:
    """Exposure, vignetting, noise, demosaic, colour and tone: display planes 0..1.

    Works in place on img (3, h, w)."""
    vig = look.num("vignetting")
    r2 = _radius2(frame, 0.08 * math.cos(math.radians(look.num("uneven_azimuth_deg"))), 0.05)
    mean = float(img[:, ::7, ::7].mean())
    auto = (0.2 / max(mean, 1e-3)) ** look.num("auto_exposure")  # the camera's metering
    gain = 1.45 * look.num("exposure") * min(max(auto, 0.4), 3.0)
    signal = img
    signal *= (gain * (1.0 - vig * r2 * (0.7 + 0.3 * r2)))[None]
    fw, rd = look.num("full_well"), look.num("read_noise")

    def noisy(plane: Arr) -> Arr:
        sd = np.maximum(plane, 0.0)
        sd *= np.float32(1.0 / fw)
        sd += np.float32(rd * rd)
        np.sqrt(sd, out=sd)
        sd *= rng.standard_normal(plane.shape, dtype=np.float32)
        sd += plane
        return np.minimum(sd, 1.0, out=sd)

    if look.on("bayer"):
        mosaic = signal[1].copy()
        mosaic[0::2, 0::2] = signal[0, 0::2, 0::2]
        mosaic[1::2, 1::2] = signal[2, 1::2, 1::2]
        rgb = _demosaic(noisy(mosaic))
    else:
        rgb = np.stack([noisy(signal[c]) for c in range(3)])
    sat = look.num("saturation")
    mix = np.full((3, 3), (1.0 - sat) / 3.0) + np.eye(3) * sat
    matrix = (mix * np.array([look.num("wb_red"), 1.0, look.num("wb_blue")])).astype(np.float32)
    lut, top = _tone_lut(look, 4096)
    scale = np.float32((lut.size - 1) / top)
    out = np.empty_like(rgb)
    for c in range(3):
        lin = matrix[c, 0] * rgb[0] + matrix[c, 1] * rgb[1] + matrix[c, 2] * rgb[2]
        np.clip(lin, 0.0, top, out=lin)
        lin *= scale
        out[c] = lut[lin.astype(np.int32)]
    if look.on("sharpen"):
        luma = out.mean(axis=0)
        detail = luma - blur(luma, look.num("sharpen_radius_px"))
        detail *= np.float32(look.num("sharpen_amount"))
        out += detail[None]
    return out


def encode(planes: Arr, look: Look) -> NDArray[np.uint8]:
    """Quantise to 8 bits, then JPEG or chroma subsampling as the look says."""
    out = np.empty((*planes.shape[1:], 3), dtype=np.uint8)
    for c in range(3):
        plane = planes[c] * np.float32(255.0)
        np.clip(plane, 0.0, 255.0, out=plane)
        out[..., c] = np.rint(plane)
    sub = look.on("chroma_420")
    if look.on("jpeg"):
        buf = io.BytesIO()
        Image.fromarray(out).save(
            buf, format="JPEG", quality=int(look.num("jpeg_quality")), subsampling=2 if sub else 0
        )
        buf.seek(0)
        with Image.open(buf) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    if sub:
        ycc = Image.fromarray(out).convert("YCbCr")
        y, cb, cr = ycc.split()
        size = cb.size
        half = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        cb = cb.resize(half, Image.Resampling.BOX).resize(size, Image.Resampling.BILINEAR)
        cr = cr.resize(half, Image.Resampling.BOX).resize(size, Image.Resampling.BILINEAR)
        return np.asarray(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"), dtype=np.uint8)
    return out


def develop(
    radiance: Arr, ztop: Arr, look: Look, frame: Frame, rng: np.random.Generator
) -> NDArray[np.uint8]:
    """The whole camera: lens, sensor, processing, file."""
    img = defocus(radiance, ztop, look, frame)
    img = motion(img, look)
    return encode(sensor(img, look, frame, rng), look)
