"""Pure optics and sensor physics of the twin: blur, vignetting, light, glare, noise.

All functions are plain numpy on arrays. Brightness is linear in LED duty x LED
efficiency x exposure x gain (plus ambient light) up to the sensor's full scale;
the ISP then applies colour gains and a display gamma, like picamera2's output.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

# Raw sensor response of each channel to the rig's white LEDs; colour gains of
# about (1/0.56, 1/0.62) make a grey patch grey, which calibration discovers.
SENSOR_RGB = np.array([0.56, 1.0, 0.62], dtype=np.float32)
# Full-scale signal per unit of reflectance x LED duty at this exposure and gain 1.
REFERENCE_EXPOSURE_US = 8000.0
RESPONSIVITY = 1.25
LENS_PSF_SIGMA_PX = 0.55
DISPLAY_GAMMA = 2.2


def defocus_sigma_px(
    z_mm: float,
    z_focus_mm: float,
    *,
    px_per_mm: float,
    depth_of_field_mm: float,
    scale: float = 1.0,
) -> float:
    """Gaussian blur sigma in pixels for a stage at ``z_mm``; ``scale`` < 1 for binned frames."""
    off = max(0.0, abs(z_mm - z_focus_mm) - depth_of_field_mm)
    return math.hypot(LENS_PSF_SIGMA_PX, px_per_mm * off) * scale


def _gaussian_kernel(sigma_px: float) -> F32:
    radius = max(1, math.ceil(3.0 * sigma_px))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / np.float32(sigma_px)) ** 2)
    out: F32 = (k / k.sum()).astype(np.float32)
    return out


def gaussian_blur(img: F32, sigma_px: float) -> F32:
    """Separable Gaussian blur over axes 0 and 1 with mirrored edges.

    Small kernels run as shifted sums (fast, float32); large ones through the FFT.
    """
    if sigma_px < 0.3:
        return img
    if sigma_px <= 4.0:
        k = _gaussian_kernel(sigma_px)
        r = (k.shape[0] - 1) // 2
        out = img
        for axis in (0, 1):
            if out.shape[axis] <= r:
                continue
            widths = [(0, 0)] * out.ndim
            widths[axis] = (r, r)
            padded = np.pad(out, widths, mode="reflect")
            n = out.shape[axis]
            acc = np.zeros_like(out)
            for i, w in enumerate(k):
                sl = [slice(None)] * out.ndim
                sl[axis] = slice(i, i + n)
                acc += w * padded[tuple(sl)]
            out = acc
        return out
    pad = math.ceil(3.0 * sigma_px)
    out = img
    for axis in (0, 1):
        n = out.shape[axis]
        p = min(pad, n - 1)
        widths = [(0, 0)] * out.ndim
        widths[axis] = (p, p)
        padded = np.pad(out, widths, mode="reflect")
        m = padded.shape[axis]
        f = np.fft.rfftfreq(m)
        h = np.exp(-2.0 * (math.pi * sigma_px * f) ** 2).astype(np.float32)
        shape = [1] * out.ndim
        shape[axis] = h.shape[0]
        spec = np.fft.rfft(padded, axis=axis) * h.reshape(shape)
        full = np.fft.irfft(spec, n=m, axis=axis)
        out = np.take(full, np.arange(p, p + n), axis=axis).astype(np.float32)
    return out


def vignetting(height: int, width: int, strength: float) -> F32:
    """Relative illumination: 1 at the centre, 1 - strength at the corners (cos^4-like)."""
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / ((height - 1) / 2 or 1)
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / ((width - 1) / 2 or 1)
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2.0
    out: F32 = (1.0 - strength * r2 * (0.6 + 0.4 * r2)).astype(np.float32)
    return out


def irradiance(
    cross_duty: float, parallel_duty: float, *, led_efficiency: float, ambient: float
) -> float:
    """Diffuse light on the scalp in units of one fully driven ring."""
    return led_efficiency * (cross_duty + parallel_duty) + ambient


def expose(
    reflectance: F32,
    specular: F32,
    *,
    cross_duty: float,
    parallel_duty: float,
    led_efficiency: float,
    ambient: float,
    specular_strength: float,
    vignette: F32,
    exposure_us: float,
    analogue_gain: float,
    colour_gains: tuple[float, float],
    full_well_e: float,
    read_noise: float,
    rng: np.random.Generator | None,
) -> NDArray[np.uint8]:
    """Turn scene reflectance into an 8-bit RGB frame as the ISP would deliver it.

    Diffuse light comes from both rings and the room; specular glare only from the
    non-polarised ring (the cross-polarised ring's glare is blocked by the analyser).
    """
    e = irradiance(cross_duty, parallel_duty, led_efficiency=led_efficiency, ambient=ambient)
    k = RESPONSIVITY * (exposure_us / REFERENCE_EXPOSURE_US)
    raw = reflectance * (SENSOR_RGB[None, None, :] * np.float32(e * k))
    glare = specular * np.float32(specular_strength * led_efficiency * parallel_duty * k)
    raw += glare[..., None]
    raw *= vignette[..., None]
    if rng is not None:
        # Shot noise in electrons, then read noise, before the analogue gain.
        # Both are Gaussian here, so one draw with the summed variance serves.
        var = np.clip(raw, 0.0, 4.0) * np.float32(1.0 / full_well_e) + np.float32(read_noise**2)
        raw += rng.standard_normal(raw.shape, dtype=np.float32) * np.sqrt(var)
    raw = np.clip(raw * np.float32(analogue_gain), 0.0, 1.0)  # the ADC clips at full scale
    gains = np.array([colour_gains[0], 1.0, colour_gains[1]], dtype=np.float32)
    lin = np.clip(raw * gains[None, None, :], 0.0, 1.0)
    out: NDArray[np.uint8] = (lin ** np.float32(1.0 / DISPLAY_GAMMA) * 255.0 + 0.5).astype(np.uint8)
    return out


def linearize(img: NDArray[np.uint8]) -> F32:
    """Undo the display gamma: 8-bit frame to linear 0..1 (for brightness measurements)."""
    out: F32 = (img.astype(np.float32) / 255.0) ** np.float32(DISPLAY_GAMMA)
    return out
