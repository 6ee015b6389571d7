"""The USB digital microscope: geometry (scene plane to sensor to output pixel, with lens
distortion, rolling-shutter skew and lateral colour), and the image chain (depth-of-field
blur from the z-buffer, vignetting and field stop, Bayer mosaic with noise, fixed-pattern
noise and hot pixels, bilinear demosaic, sharpening, YUV 4:2:0, upscaling, JPEG)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass
class Camera:
    w: int
    h: int
    um: float
    ws: int  # sensor size
    hs: int
    k1: float  # radial distortion at the half diagonal
    rs: float  # rolling-shutter skew (x shift per unit of y)
    ca: float  # lateral colour: red scaled by 1 + ca, blue by 1 - ca
    q: float  # ideal render grid pitch (um)
    m: int  # samples per ideal pixel and axis
    gx0: float  # ideal grid origin (camera um)
    gy0: float
    wi: int
    hi: int
    stop: tuple[float, float, float] | None  # field stop circle (x, y, r) in output px

    @property
    def sx(self) -> float:
        return self.w / self.ws

    @property
    def sy(self) -> float:
        return self.h / self.hs

    @property
    def centre(self) -> tuple[float, float]:
        return self.w * self.um / 2, self.h * self.um / 2

    @property
    def r0(self) -> float:
        return float(np.hypot(self.w, self.h)) * self.um / 2

    def sensor_to_cam(self, u: F64, v: F64, channel: int = 1) -> tuple[F64, F64]:
        """Scene-plane point (camera um) that sensor pixel (u, v) sees."""
        cx, cy = self.centre
        dx = (u + 0.5) * self.um * self.sx - cx
        dy = (v + 0.5) * self.um * self.sy - cy
        f = 1 + self.k1 * (dx * dx + dy * dy) / (self.r0 * self.r0)
        f = f * (1 + self.ca * (1 - channel))
        return cx + dx * f + self.rs * dy, cy + dy * f

    def cam_to_output(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Output pixel of a scene-plane point: the inverse of ``sensor_to_cam`` (green),
        by Newton's method on the offsets from the centre. Started at the point itself, it
        stays on the branch where the lens model is monotonic (the one the frame sees) and
        converges wherever that branch reaches; NaN where it does not (a barrel model folds
        back a few half-diagonals out, which small frames reach within 200 um)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        cx, cy = self.centre
        tx, ty = x - cx, y - cy
        s = self.k1 / (self.r0 * self.r0)
        dx, dy = tx.copy(), ty.copy()
        with np.errstate(all="ignore"):
            for _ in range(40):
                f = 1 + s * (dx * dx + dy * dy)
                rx = dx * f + self.rs * dy - tx
                ry = dy * f - ty
                a = f + 2 * s * dx * dx
                b = 2 * s * dx * dy + self.rs
                c = 2 * s * dx * dy
                d = f + 2 * s * dy * dy
                det = a * d - b * c
                dx = dx - (d * rx - b * ry) / det
                dy = dy - (a * ry - c * rx) / det
            f = 1 + s * (dx * dx + dy * dy)
            res = np.hypot(dx * f + self.rs * dy - tx, dy * f - ty)
            ok = (res <= 1e-6 * (1 + np.hypot(tx, ty))) & (1 + 3 * s * (dx * dx + dy * dy) > 0)
            # sensor u = (cx + dx) / (um sx) - 0.5, output = (u + 0.5) sx - 0.5
            ox = np.where(ok, (cx + dx) / self.um - 0.5, np.nan)
            oy = np.where(ok, (cy + dy) / self.um - 0.5, np.nan)
        return ox, oy

    def output_to_cam(self, x: F64, y: F64) -> tuple[F64, F64]:
        return self.sensor_to_cam((x + 0.5) / self.sx - 0.5, (y + 0.5) / self.sy - 0.5)

    def cam_to_ideal(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Ideal-grid pixel coordinates (centres at integers) of camera um."""
        return (x - self.gx0) / self.q - 0.5, (y - self.gy0) / self.q - 0.5


def depth_of_field(img: F32, coc: F32) -> F32:
    """Blur whose Gaussian width (ideal px) varies per pixel: a stack of blurred copies,
    blended between the two nearest widths."""
    levels = [0.0, 0.6, 1.2, 2.0, 3.0]
    c = np.clip(coc, 0, levels[-1])
    top = float(c.max())
    out = img.copy()
    prev = img
    for k in range(1, len(levels)):
        a, b = levels[k - 1], levels[k]
        if a >= top:
            break
        cur = ndimage.gaussian_filter(img, (b, b, 0), truncate=3.0)
        sel = (c > a) & (c <= b)
        t = ((c[sel] - a) / (b - a))[:, None]
        out[sel] = prev[sel] * (1 - t) + cur[sel] * t
        prev = cur
    return out


def develop(
    cam: Camera,
    optical: F32,
    coc: F32,
    prm: dict[str, Any],
    rng_fixed: np.random.Generator,
    rng_noise: np.random.Generator,
) -> NDArray[np.uint8]:
    """From the exposed optical image on the ideal grid (linear, about 0..1) to the saved
    frame: uint8 (h, w, 3)."""
    img = depth_of_field(optical, coc)
    # --- onto the sensor, through distortion, skew and lateral colour
    vv, uu = np.mgrid[0 : cam.hs, 0 : cam.ws].astype(np.float64)
    sensor = np.zeros((cam.hs, cam.ws, 3), np.float32)
    for ch in range(3):
        x, y = cam.sensor_to_cam(uu, vv, ch)
        ix, iy = cam.cam_to_ideal(x, y)
        sensor[..., ch] = ndimage.map_coordinates(img[..., ch], [iy, ix], order=1, mode="nearest")
    # --- vignetting and field stop (in output pixel units)
    ox = (uu + 0.5) * cam.sx - 0.5
    oy = (vv + 0.5) * cam.sy - 0.5
    rr = np.hypot(ox - cam.w / 2, oy - cam.h / 2) / (np.hypot(cam.w, cam.h) / 2)
    gain = (1 - prm["vignette"] * rr**2) ** 2
    if cam.stop is not None:
        sx_, sy_, sr = cam.stop
        # a soft edge 1.5 sensor px wide, placed so that the saved frame (after the tone
        # curve: linear 1/4 is about half as bright) is half dark at the stop's radius, the
        # truth's line between listed and masked hairs
        edge = 1.5 * cam.sx
        gain = gain * np.clip((sr + 0.25 * edge - np.hypot(ox - sx_, oy - sy_)) / edge, 0, 1)
    sensor *= gain[..., None].astype(np.float32)
    # --- Bayer mosaic (RGGB), noise, fixed pattern, hot pixels
    bayer = np.empty((cam.hs, cam.ws), np.float32)
    bayer[0::2, 0::2] = sensor[0::2, 0::2, 0]
    bayer[0::2, 1::2] = sensor[0::2, 1::2, 1]
    bayer[1::2, 0::2] = sensor[1::2, 0::2, 1]
    bayer[1::2, 1::2] = sensor[1::2, 1::2, 2]
    prnu = 1 + rng_fixed.normal(0, prm["prnu"], bayer.shape)
    colfpn = rng_fixed.normal(0, prm["col_fpn"], (1, cam.ws))
    hot = rng_fixed.random(bayer.shape) < prm["hot_fraction"]
    hot_v = rng_fixed.uniform(0.4, 1.0, bayer.shape)
    sig = np.clip(bayer * prnu, 0, None)
    shot = rng_noise.standard_normal(bayer.shape) * np.sqrt(sig * prm["shot"])
    read = rng_noise.standard_normal(bayer.shape) * prm["read"]
    raw = sig + shot + read + colfpn + prm["black"]
    raw = np.where(hot, np.maximum(raw, hot_v), raw)
    raw = np.round(np.clip(raw, 0, 1) * 1023) / 1023
    # --- bilinear demosaic
    mask = np.zeros((cam.hs, cam.ws, 3), np.float32)
    mask[0::2, 0::2, 0] = 1
    mask[0::2, 1::2, 1] = 1
    mask[1::2, 0::2, 1] = 1
    mask[1::2, 1::2, 2] = 1
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4
    rgb = np.empty_like(mask)
    for ch, k in ((0, k_rb), (1, k_g), (2, k_rb)):
        rgb[..., ch] = ndimage.convolve(raw * mask[..., ch], k, mode="mirror")
    rgb = np.clip(rgb - prm["black"], 0, None) * np.asarray(prm["wb"], np.float32)
    # --- tone curve, sharpening, YUV 4:2:0
    rgb = np.clip(rgb, 0, 1) ** (1 / prm["gamma"])
    rgb = rgb + prm["contrast"] * (rgb - ndimage.gaussian_filter(rgb, (3, 3, 0)))
    yy = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    blur = ndimage.gaussian_filter(yy, prm["sharp_sigma"])
    yy = yy + prm["sharp"] * (yy - blur)
    cb = (rgb[..., 2] - rgb @ np.array([0.299, 0.587, 0.114], np.float32)) * 0.564
    cr = (rgb[..., 0] - rgb @ np.array([0.299, 0.587, 0.114], np.float32)) * 0.713
    h2, w2 = (cam.hs + 1) // 2, (cam.ws + 1) // 2

    def sub(c: F32) -> F32:
        p = np.pad(c, ((0, 2 * h2 - cam.hs), (0, 2 * w2 - cam.ws)), mode="edge")
        small = p.reshape(h2, 2, w2, 2).mean((1, 3))
        return np.repeat(np.repeat(small, 2, 0), 2, 1)[: cam.hs, : cam.ws]

    cb, cr = sub(cb), sub(cr)
    r = yy + 1.403 * cr
    b = yy + 1.773 * cb
    g = (yy - 0.299 * r - 0.114 * b) / 0.587
    out = np.clip(np.stack([r, g, b], -1) * 255 + 0.5, 0, 255).astype(np.uint8)
    # --- upscaled to the frame size and saved as JPEG
    pic = Image.fromarray(out, "RGB")
    if (cam.ws, cam.hs) != (cam.w, cam.h):
        pic = pic.resize((cam.w, cam.h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    pic.save(buf, format="JPEG", quality=int(prm["jpeg_quality"]), subsampling=2)
    buf.seek(0)
    with Image.open(buf) as dec:
        return np.asarray(dec.convert("RGB"), dtype=np.uint8).copy()
