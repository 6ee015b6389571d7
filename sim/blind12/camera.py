"""Where the camera looks (a rigid pose over the scalp) and how it makes the file: lens
blur with a nearer layer blurred more, lateral colour, fall-off, a round field stop,
shot and read noise, colour matrix, tone curve, sharpening and JPEG through Pillow."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind12.design import Design

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


@dataclass(frozen=True)
class Pose:
    """Orthographic view: pixel centres at integers, the frame's centre at scene point
    (tx, ty) um, turned by ``theta`` (radians)."""

    w: int
    h: int
    um: float
    tx: float = 0.0
    ty: float = 0.0
    theta: float = 0.0

    def to_px(self, x: F64, y: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.theta), math.sin(self.theta)
        u, v = x - self.tx, y - self.ty
        return (c * u + s * v) / self.um + 0.5 * (self.w - 1), (-s * u + c * v) / self.um + 0.5 * (
            self.h - 1
        )

    def to_scene(self, px: F64, py: F64) -> tuple[F64, F64]:
        c, s = math.cos(self.theta), math.sin(self.theta)
        a = (px - 0.5 * (self.w - 1)) * self.um
        b = (py - 0.5 * (self.h - 1)) * self.um
        return c * a - s * b + self.tx, s * a + c * b + self.ty

    def grid(self) -> tuple[F64, F64]:
        """Scene coordinates of every pixel centre, (h, w) each."""
        py, px = np.mgrid[0 : self.h, 0 : self.w].astype(np.float64)
        return self.to_scene(px, py)


def in_frame(px: F64, py: F64, w: int, h: int) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = (px >= -0.5) & (px < w - 0.5) & (py >= -0.5) & (py < h - 0.5)
    return out


def frame_distance(px: F64, py: F64, w: int, h: int) -> F64:
    dx = np.maximum(np.maximum(-0.5 - px, px - (w - 0.5)), 0.0)
    dy = np.maximum(np.maximum(-0.5 - py, py - (h - 0.5)), 0.0)
    out: F64 = np.hypot(dx, dy)
    return out


def field_stop(d: Design, w: int, h: int) -> tuple[float, float, float] | None:
    """The round field stop (centre x, y and radius, px), if the frame has one."""
    if not d.field_stop:
        return None
    half_diag = 0.5 * math.hypot(w, h)
    return (
        0.5 * (w - 1) + d.stop_dx * w,
        0.5 * (h - 1) + d.stop_dy * h,
        d.stop_frac * 1.55 * half_diag,
    )


def _blur(img: F32, sigma: float) -> F32:
    if sigma < 0.15:
        return img
    out: F32 = ndimage.gaussian_filter(img, (sigma, sigma, 0), mode="nearest")
    return out


def lens(radiance: F32, near_c: F32, near_t: F32, d: Design, um: float) -> F32:
    """Blur: the far scene by the lens, the near layer (stub tops above the focal depth)
    by more; then lateral colour (red and blue scaled about the centre)."""
    far = _blur(radiance, d.blur_px)
    extra = math.hypot(d.blur_px, d.dof_px * (6.0 / um) ** 0.5)
    img = far * _blur(near_t, extra) + _blur(near_c, extra)
    h, w = img.shape[:2]
    if d.chroma_px > 0.05:
        py, px = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        rmax = math.hypot(cx, cy)
        for ch, sign in ((0, 1.0), (2, -1.0)):
            k = 1.0 + sign * d.chroma_px / rmax
            img[..., ch] = ndimage.map_coordinates(
                img[..., ch], [cy + (py - cy) / k, cx + (px - cx) / k], order=1, mode="nearest"
            )
    return img


def light_falloff(d: Design, w: int, h: int, rng: np.random.Generator) -> F32:
    """Vignetting and the ring light's hot spot, relative to the centre."""
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    rr = ((px - cx) ** 2 + (py - cy) ** 2) / (cx * cx + cy * cy)
    ang = rng.uniform(0, 2 * math.pi)
    hx, hy = cx + 0.3 * cx * math.cos(ang), cy + 0.3 * cy * math.sin(ang)
    hot = np.exp(-((px - hx) ** 2 + (py - hy) ** 2) / (2 * (0.45 * max(w, h)) ** 2))
    out: F32 = ((1.0 - d.vignette * rr) * (1.0 - d.hotspot + d.hotspot * hot)).astype(np.float32)
    return out


def _tone(x: F32, kind: str) -> F32:
    v = np.clip(x.astype(np.float64), 0.0, None)
    if kind == "gamma":
        out = np.clip(v, 0, 1) ** (1 / 2.2)
    elif kind == "filmic":
        y = v * (2.51 * v + 0.03) / (v * (2.43 * v + 0.59) + 0.14)
        out = np.clip(y, 0, 1) ** (1 / 2.2)
    else:
        vc = np.clip(v, 0, 1)
        out = np.where(vc <= 0.0031308, 12.92 * vc, 1.055 * vc ** (1 / 2.4) - 0.055)
    res: F32 = out.astype(np.float32)
    return res


def develop(
    img: F32,
    d: Design,
    stop: tuple[float, float, float] | None,
    gain: float,
    rng: np.random.Generator,
) -> NDArray[np.uint8]:
    """Sensor, processing and file: linear radiance in, decoded JPEG out."""
    h, w = img.shape[:2]
    img = img * np.float32(gain)
    if stop is not None:
        py, px = np.mgrid[0:h, 0:w].astype(np.float32)
        rr = np.hypot(px - stop[0], py - stop[1])
        edge = np.clip((stop[2] - rr) / 2.5 + 0.5, 0.0, 1.0)
        img *= (0.012 + 0.988 * edge)[..., None]
    # shot noise (electrons), read noise, a little row banding
    wb = np.array([d.wb_red, 1.0, d.wb_blue], dtype=np.float32)
    e = np.clip(img / wb, 0.0, 1.5) * np.float32(d.full_well)
    e = rng.poisson(e).astype(np.float32) + rng.normal(0.0, d.read_noise, e.shape).astype(
        np.float32
    )
    if d.row_noise > 0:
        e += (rng.normal(0.0, d.row_noise, (h, 1, 1)) * d.full_well).astype(np.float32)
    raw = e / np.float32(d.full_well) * wb
    # colour matrix: saturation about the luminance (it mixes the channels' noise too)
    s = d.saturation
    lum = np.array([0.3, 0.59, 0.11], dtype=np.float32)
    ccm = (s * np.eye(3) + (1 - s) * np.outer(np.ones(3), lum)).astype(np.float32)
    rgb = raw @ ccm.T
    # chroma noise reduction as phones do: smooth colour differences, keep luminance
    y = rgb @ lum
    chroma = ndimage.gaussian_filter(rgb - y[..., None], (1.0, 1.0, 0))
    rgb = y[..., None] + chroma
    out = _tone(rgb, d.tone)
    if d.sharpen > 0.02:
        soft = ndimage.gaussian_filter(out, (1.2, 1.2, 0))
        out = out + np.float32(d.sharpen) * (out - soft)
    u8 = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8, "RGB").save(
        buf, format="JPEG", quality=d.jpeg_quality, subsampling=d.subsampling
    )
    buf.seek(0)
    with Image.open(buf) as im:
        decoded: NDArray[np.uint8] = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    return decoded
