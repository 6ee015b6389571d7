"""blind-13's dermoscope and camera: a ring light, a field stop, and a three-CCD camera.

The ring of LEDs lights the skin as a sum of point sources (inverse square, Lambert); in
non-polarised light their mirror images off sebum and glossy shafts add specular light.
The camera splits light by a prism onto three sensors: each channel has its own MTF (in
the Fourier domain) and sub-pixel registration error (interpolated), its own gain and full
well, and independent shot and read noise (no mosaic, no demosaicking). Rows are exposed in
turn under a slowly dimming, flickering light (a rolling gradient). A film-like curve (gamma
then a toe) maps exposure to 8 bits; some sites are saved as JPEG through Pillow with
4:2:0, 4:2:2 or 4:4:4 chroma.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import fft, ndimage
from scipy.special import ndtr

from sim.blind13.gauss import F32


@dataclass(frozen=True)
class Camera:
    """A site's light and camera (the same at every visit)."""

    polarised: bool
    leds: int
    ring_radius: float  # in half-diagonals of the frame
    ring_height: float
    led_gain: tuple[float, ...]
    vignette: float
    stop: tuple[float, float, float, float] | None  # centre x, y (px), radius, edge (px)
    mtf_px: tuple[float, float, float]
    shift_px: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    cast: tuple[float, float, float]
    crosstalk: float
    exposure: float
    well: float
    read: float
    gamma: float
    toe: float
    roll: float
    flicker: float
    jpeg: int  # quality, 0: no JPEG
    chroma: int  # Pillow's subsampling: 0 4:4:4, 1 4:2:2, 2 4:2:0

    def params(self) -> dict[str, object]:
        """The camera's settings as plain JSON values."""
        return {
            "polarised": self.polarised,
            "leds": self.leds,
            "vignette": round(self.vignette, 4),
            "field_stop": self.stop is not None,
            "jpeg_quality": self.jpeg,
            "chroma_subsampling": self.chroma,
            "gamma": round(self.gamma, 3),
            "exposure": round(self.exposure, 3),
        }


def make_camera(r: np.random.Generator, width: int, height: int, polarised: bool) -> Camera:
    """A camera for a ``width`` x ``height`` frame drawn from ``r``."""
    leds = int(r.integers(6, 13))
    stop = None
    if r.random() < 0.2:
        diag = 0.5 * math.hypot(width, height)
        stop = (
            (width - 1) / 2.0 + float(r.normal(0, 0.02 * width)),
            (height - 1) / 2.0 + float(r.normal(0, 0.02 * height)),
            float(r.uniform(0.72, 0.95) * diag),
            float(r.uniform(1.5, 6.0) * max(width, 200) / 1000.0),
        )
    jpeg = int(r.integers(55, 93)) if r.random() < 0.4 else 0
    return Camera(
        polarised=polarised,
        leds=leds,
        ring_radius=float(r.uniform(0.7, 1.5)),
        ring_height=float(r.uniform(0.5, 1.3)),
        led_gain=tuple(float(g) for g in r.uniform(0.85, 1.15, leds)),
        vignette=float(r.uniform(0.05, 0.45)),
        stop=stop,
        mtf_px=(
            float(r.uniform(0.25, 0.9)),
            float(r.uniform(0.2, 0.6)),
            float(r.uniform(0.3, 1.0)),
        ),
        shift_px=(
            (float(r.uniform(-0.4, 0.4)), float(r.uniform(-0.4, 0.4))),
            (0.0, 0.0),
            (float(r.uniform(-0.4, 0.4)), float(r.uniform(-0.4, 0.4))),
        ),
        cast=(float(r.uniform(0.85, 1.15)), 1.0, float(r.uniform(0.8, 1.2))),
        crosstalk=float(r.uniform(0.0, 0.08)),
        exposure=float(r.uniform(0.7, 1.1)),
        well=float(r.uniform(1500.0, 12000.0)),
        read=float(r.uniform(0.001, 0.006)),
        gamma=float(r.uniform(1.9, 2.5)),
        toe=float(r.uniform(0.0, 0.035)),
        roll=float(r.uniform(-0.07, 0.07)),
        flicker=float(r.uniform(0.0, 0.02)),
        jpeg=jpeg,
        chroma=int(r.integers(0, 3)),
    )


_COARSE = 8  # the light's fields are smooth: worked out every 8 pixels, then interpolated


def _grid(width: int, height: int) -> tuple[F32, F32]:
    """Coarse frame coordinates in half-diagonals from the centre (x, y)."""
    diag = 0.5 * math.hypot(width, height)
    ny, nx = -(-height // _COARSE) + 1, -(-width // _COARSE) + 1
    y = ((np.arange(ny, dtype=np.float32) * _COARSE - (height - 1) / 2.0) / diag)[:, None]
    x = ((np.arange(nx, dtype=np.float32) * _COARSE - (width - 1) / 2.0) / diag)[None, :]
    return x, y


def _fine(coarse: F32, width: int, height: int) -> F32:
    """A coarse field (one value every 8 pixels from the corner) at every pixel."""
    yy = np.arange(height, dtype=np.float32) / _COARSE
    xx = np.arange(width, dtype=np.float32) / _COARSE
    y0 = np.minimum(yy.astype(np.int32), coarse.shape[0] - 2)
    x0 = np.minimum(xx.astype(np.int32), coarse.shape[1] - 2)
    fy = (yy - y0)[:, None]
    fx = (xx - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bot = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bot * fy, np.float32)


def irradiance(cam: Camera, width: int, height: int) -> F32:
    """The ring's light on the skin (mean about 1) times the lens's vignetting."""
    x, y = _grid(width, height)
    e = np.zeros((y.shape[0], x.shape[1]), np.float32)
    h2 = cam.ring_height**2
    for i, g in enumerate(cam.led_gain):
        a = 2 * math.pi * i / cam.leds
        lx, ly = cam.ring_radius * math.cos(a), cam.ring_radius * math.sin(a)
        d2 = (x - lx) ** 2 + (y - ly) ** 2 + h2
        e += g * cam.ring_height / d2**1.5
    e /= float(e.mean())
    lit = e / (1.0 + cam.vignette * (x * x + y * y)) ** 2
    return _fine(lit.astype(np.float32), width, height)


def ring_glints(cam: Camera, width: int, height: int) -> F32:
    """Where the LEDs' mirror images fall (a ring of soft spots), for the specular light."""
    x, y = _grid(width, height)
    out = np.zeros((y.shape[0], x.shape[1]), np.float32)
    rad = 0.55 * cam.ring_radius / (1.0 + cam.ring_height)
    for i in range(cam.leds):
        a = 2 * math.pi * i / cam.leds
        d2 = (x - rad * math.cos(a)) ** 2 + (y - rad * math.sin(a)) ** 2
        out += np.exp(-d2 / (2 * 0.03**2))
    return _fine(out, width, height)


def stop_mask(cam: Camera, width: int, height: int) -> F32 | None:
    """The field stop's transmission (a blurred disc), or None without a stop."""
    if cam.stop is None:
        return None
    cx, cy, rad, edge = cam.stop
    yy = (np.arange(height, dtype=np.float32) - cy)[:, None]
    xx = (np.arange(width, dtype=np.float32) - cx)[None, :]
    return np.asarray(ndtr((rad - np.sqrt(xx * xx + yy * yy)) / edge), np.float32)


def expose(
    cam: Camera,
    reflect: F32,
    specular: F32,
    r: np.random.Generator,
) -> NDArray[np.uint8]:
    """The 8-bit frame of a scene of linear reflectance ``reflect`` (H x W x 3) and
    specular strength ``specular`` (H x W), with fresh noise from ``r``."""
    h, w, _ = reflect.shape
    light = irradiance(cam, w, h)
    spec_gain = 0.04 if cam.polarised else 1.0
    glint = spec_gain * np.minimum(specular, 1.0) * (0.25 + 0.6 * ring_glints(cam, w, h))
    scene = (reflect + glint[..., None]) * light[..., None]
    mask = stop_mask(cam, w, h)
    if mask is not None:
        scene *= mask[..., None]
    rows = np.arange(h, dtype=np.float32) / max(h - 1, 1) - 0.5
    phase = float(r.uniform(0, 2 * math.pi))
    roll = 1.0 + cam.roll * rows + cam.flicker * np.sin(2 * math.pi * rows * 3.7 + phase)
    gain = cam.exposure
    out = np.empty((h, w, 3), np.float32)
    fy = fft.fftfreq(h).astype(np.float32)[:, None]
    fx = fft.rfftfreq(w).astype(np.float32)[None, :]
    k2 = fx * fx + fy * fy
    for c in range(3):
        ch = scene[..., c] * (cam.cast[c] * gain) * roll[:, None]
        otf = np.exp(-2.0 * math.pi**2 * cam.mtf_px[c] ** 2 * k2)
        ch = fft.irfft2(fft.rfft2(ch, workers=2) * otf, s=(h, w), workers=2)
        sx, sy = cam.shift_px[c]
        if sx or sy:
            # the prism's registration error, by interpolation (a Fourier phase ramp would
            # ring along rows and columns from every glint)
            ch = ndimage.shift(ch, (sy, sx), order=1, mode="nearest")
        # shot noise on the channel's own well, then read noise
        e = np.maximum(ch, 0.0) * cam.well
        shot = np.sqrt(e + 1.0) * r.standard_normal((h, w), np.float32)
        out[..., c] = (e + shot) / cam.well + cam.read * r.standard_normal((h, w), np.float32)
    mix = cam.crosstalk
    # the prism leaks a share of each channel into the other two
    mixed = out * np.float32(1.0 - 3 * mix) + np.float32(mix) * out.sum(axis=2, keepdims=True)
    v = np.clip(mixed, 0.0, 1.0) ** (1.0 / cam.gamma)
    v = v * v / (v + cam.toe) * (1.0 + cam.toe) if cam.toe > 0 else v
    img: NDArray[np.uint8] = np.clip(np.round(v * 255.0), 0, 255).astype(np.uint8)
    if cam.jpeg:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=cam.jpeg, subsampling=cam.chroma)
        buf.seek(0)
        with Image.open(buf) as im:
            img = np.asarray(im.convert("RGB"), np.uint8).copy()
    return img
