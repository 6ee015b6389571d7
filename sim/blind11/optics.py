"""Image formation: light, gel bubbles, a measured-style point-spread function applied in
the Fourier domain, and the field stop.

The PSF's optical transfer function is a product of analytic terms: the defocus disc
(2 J1(x) / x), a Gaussian for the lens's residual aberrations, a motion streak (sinc),
and a veiling-glare halo (a Cauchy tail, exp(-2 pi g rho) in frequency) carrying a few
per cent of the energy. Defocus varies over the field (tilt and field curvature): the
frame is convolved at a few defocus levels and blended per pixel. Each colour channel
has its own defocus (longitudinal chromatic aberration). Arrays are float32 and are
modified in place where possible, to keep large frames within memory."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import fft, special

from sim.blind11.camera import Camera
from sim.blind11.design import Design
from sim.blind11.streams import stream

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
CHROMA = np.array([1.12, 1.0, 1.25])


def _grid(cam: Camera) -> tuple[F32, F32]:
    """Column and row offsets from the frame centre, shaped to broadcast."""
    cx, cy = cam.centre
    xx = (np.arange(cam.width, dtype=np.float32) - np.float32(cx))[None, :]
    yy = (np.arange(cam.height, dtype=np.float32) - np.float32(cy))[:, None]
    return xx, yy


def illuminate(img: F32, cam: Camera, design: Design) -> F32:
    """Ring-light falloff, vignetting and the illuminant's colour (in place)."""
    xx, yy = _grid(cam)
    r = np.float32(cam.half_diag_px)
    rho2 = (xx * xx + yy * yy) / (r * r)
    vig = np.clip(1.0 - design.vignetting * rho2 * (0.8 + 0.2 * rho2), 0.05, None)
    g = math.radians(design.light_gradient_deg)
    grad = 1.0 + design.light_gradient * (xx * math.cos(g) + yy * math.sin(g)) / r
    field = (vig * grad).astype(np.float32)
    for c in range(3):
        img[..., c] *= field * np.float32(design.illuminant[c])
    return img


def add_bubbles(img: F32, cam: Camera, design: Design, seed: int, radius_um: float) -> F32:
    """Air bubbles in the immersion gel: a dark refracting rim and a bright reflex."""
    if design.bubbles == 0:
        return img
    rng = stream(seed, "bubbles")
    h, w = img.shape[:2]
    for _ in range(design.bubbles):
        ang = rng.uniform(0, 2 * math.pi)
        rad = radius_um * math.sqrt(rng.random())
        r_um = math.exp(rng.uniform(math.log(60.0), math.log(700.0)))
        rim_w = rng.uniform(0.08, 0.2)
        bx, by = cam.to_px(np.array([rad * math.cos(ang)]), np.array([rad * math.sin(ang)]))
        cx, cy, r = float(bx[0]), float(by[0]), r_um / cam.um_per_px
        x0, x1 = max(int(cx - r - 4), 0), min(int(cx + r + 5), w)
        y0, y1 = max(int(cy - r - 4), 0), min(int(cy + r + 5), h)
        if x0 >= x1 or y0 >= y1:
            continue
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        d = np.hypot(gx - cx, gy - cy) / r
        rim = np.exp(-(((d - 1.0 + rim_w) / rim_w) ** 2)) * (d < 1.05)
        inside = np.clip((1.0 - d) * r, 0.0, 1.0)
        shade = 1.0 - 0.75 * rim + 0.04 * inside
        hx, hy = cx - 0.35 * r, cy - 0.35 * r
        spot = np.exp(-((gx - hx) ** 2 + (gy - hy) ** 2) / (2 * (0.07 * r + 0.6) ** 2))
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * shade[..., None] + 0.9 * spot[..., None]
    return img


def _otf(fy: F64, fx: F64, blur: float, sigma: float, design: Design) -> F64:
    rho = np.sqrt(fy**2 + fx**2)
    arg = 2 * math.pi * max(blur, 1e-6) * rho
    disc = np.where(arg < 1e-6, 1.0, 2.0 * special.j1(arg) / np.maximum(arg, 1e-12))
    gauss = np.exp(-2.0 * (math.pi * sigma * rho) ** 2)
    glare = (1.0 - design.glare) + design.glare * np.exp(-2 * math.pi * design.glare_px * rho)
    out: F64 = disc * gauss * glare
    if design.motion_px > 0:
        a = math.radians(design.motion_deg)
        proj = fx * math.cos(a) + fy * math.sin(a)
        out = out * np.sinc(design.motion_px * proj)
    return out


def defocus_map(cam: Camera, design: Design) -> F32:
    """Defocus blur radius (pixels) over the field: tilt plus field curvature."""
    xx, yy = _grid(cam)
    r = np.float32(cam.half_diag_px)
    a = math.radians(design.shadow_azimuth_deg * 1.7)
    lin = (xx * math.cos(a) + yy * math.sin(a)) / r
    rho2 = (xx * xx + yy * yy) / (r * r)
    out: F32 = np.clip(
        design.defocus_px + design.defocus_tilt_px * lin + design.defocus_curv_px * (rho2 - 0.3),
        0.0,
        None,
    ).astype(np.float32)
    return out


def blur(img: F32, cam: Camera, design: Design) -> F32:
    """Convolve each channel with the field-varying PSF (in place)."""
    h, w = img.shape[:2]
    bmap = defocus_map(cam, design)
    lo, hi = float(bmap.min()), float(bmap.max())
    levels = [lo] if hi - lo < 0.3 else list(np.linspace(lo, hi, 3 if hi - lo < 1.5 else 4))
    pos = (bmap - lo) / max(hi - lo, 1e-9) * (len(levels) - 1)
    del bmap
    pad = math.ceil(
        3 * hi * CHROMA.max() + 4 * design.aberration_px + 8 + design.motion_px + design.glare_px
    )
    ph, pw = fft.next_fast_len(h + 2 * pad, real=True), fft.next_fast_len(w + 2 * pad, real=True)
    fy = fft.fftfreq(ph)[:, None]
    fx = fft.rfftfreq(pw)[None, :]
    for c in range(3):
        buf = np.zeros((ph, pw), dtype=np.float32)
        buf[: h + 2 * pad, : w + 2 * pad] = np.pad(img[..., c], pad, mode="reflect")
        spec = fft.rfft2(buf)
        del buf
        sigma = design.aberration_px * (0.8 + 0.2 * CHROMA[c])
        acc = np.zeros((h, w), dtype=np.float32)
        for k, b in enumerate(levels):
            otf = _otf(fy, fx, b * CHROMA[c], sigma, design).astype(np.float32)
            res = fft.irfft2(spec * otf, s=(ph, pw))[pad : pad + h, pad : pad + w]
            if len(levels) == 1:
                acc += res
            else:
                acc += res * np.clip(1.0 - np.abs(pos - k), 0.0, 1.0)
        img[..., c] = acc
    return img


def field_stop_mask(cam: Camera, stop: tuple[float, float, float] | None) -> F32:
    if stop is None:
        return np.ones((cam.height, cam.width), dtype=np.float32)
    cx, cy, r = stop
    xx = np.arange(cam.width, dtype=np.float32)[None, :] - np.float32(cx)
    yy = np.arange(cam.height, dtype=np.float32)[:, None] - np.float32(cy)
    d = np.sqrt(xx * xx + yy * yy)
    out: F32 = np.clip((r - d) / 1.2 + 0.5, 0.0, 1.0).astype(np.float32)
    return out
