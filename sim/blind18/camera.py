"""blind-18's camera: defocus by height, an X-Trans sensor, colour-difference demosaic, a
tone curve and, on most sites, JPEG.

The lens's transfer function is a defocus disc's (``2 J1(x) / x``) times a Gaussian,
applied by FFT; the stubs' tops above the focal plane are blurred more (the frame blends a
sharp and a blurred render by each pixel's height). The sensor has a 6x6 X-Trans colour
filter array (green on 20 of 36 sites, every row and column holding all three colours),
shot and read noise and 12 bits; the demosaic interpolates green by normalised convolution,
then red minus green and blue minus green at their own sites, and adds them back.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import fft, ndimage, special

F32 = NDArray[np.float32]

_XTRANS = np.array(
    [
        [1, 2, 1, 1, 0, 1],
        [0, 1, 0, 2, 1, 2],
        [1, 2, 1, 1, 0, 1],
        [1, 0, 1, 1, 2, 1],
        [2, 1, 2, 0, 1, 0],
        [1, 0, 1, 1, 2, 1],
    ]
)  # 0 red, 1 green, 2 blue


def _otf(shape: tuple[int, int], disc_px: float, sigma_px: float) -> F32:
    fy = fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    rho = np.sqrt(fy * fy + fx * fx)
    out = np.exp(np.float32(-2.0 * math.pi**2 * sigma_px**2) * rho * rho)
    if disc_px > 0.3:
        x = np.float32(2.0 * math.pi * disc_px) * rho
        jinc = np.where(x > 1e-6, 2.0 * special.j1(x) / np.maximum(x, 1e-6), 1.0)
        out = out * jinc.astype(np.float32)
    res: F32 = out.astype(np.float32)
    return res


def _blur(img: F32, discs: list[float], sigma: float) -> F32:
    h, w, _ = img.shape
    pad = min(48, max(h, w) // 3)
    big = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    out = np.empty_like(img)
    for c in range(3):
        tf = _otf(big.shape[:2], discs[c], sigma)
        res = fft.irfft2(fft.rfft2(big[..., c], workers=1) * tf, s=big.shape[:2], workers=1)
        out[..., c] = res[pad : pad + h, pad : pad + w]
    return out


def _norm_conv(vals: F32, mask: F32, sigma: float) -> F32:
    num = ndimage.gaussian_filter(vals * mask, sigma, mode="mirror")
    den = ndimage.gaussian_filter(mask, sigma, mode="mirror")
    out: F32 = (num / np.maximum(den, 1e-6)).astype(np.float32)
    return out


def _demosaic(raw: F32, cfa: NDArray[np.int64]) -> F32:
    masks = [(cfa == c).astype(np.float32) for c in range(3)]
    g = _norm_conv(raw, masks[1], 0.75)
    out = np.empty((*raw.shape, 3), np.float32)
    out[..., 1] = g * (1 - masks[1]) + raw * masks[1]
    for c in (0, 2):
        diff = _norm_conv(raw - g, masks[c], 1.1)
        out[..., c] = np.where(masks[c] > 0, raw, g + diff)
    return out


def expose(
    look: dict[str, Any],
    radiance: F32,
    meter: F32,
    height_um: F32,
    um: float,
    rng: np.random.Generator,
) -> NDArray[np.uint8]:
    """Radiance (h, w, 3; a white diffuser reflects 1) and each pixel's top height (um) to
    the 8-bit RGB frame; ``meter`` (h, w, 3), the ground's reflectance, sets exposure."""
    h, w, _ = radiance.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rr = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / (0.25 * (w * w + h * h))
    tilt = math.radians(float(rng.uniform(0, 360)))
    field = 1.0 - look["vignetting"] * rr
    field *= 1.0 + look["light_tilt"] * (
        (x / w - 0.5) * math.cos(tilt) + (y / h - 0.5) * math.sin(tilt)
    )
    img = radiance * field[..., None]
    # the lens: a defocus disc per colour (axial colour) and the stubs above focus
    base = look["defocus_um"] / um
    # the lens's blur and the optical low-pass filter before the sensor (px)
    lens = math.hypot(look["lens_um"] / um, 0.55)
    discs = [base * 1.12, base, base * 0.9]
    sharp = _blur(img, discs, lens)
    lift = np.abs(height_um - look["focus_um"])
    far = 300.0 * look["dof_slope"] / um
    if far > 0.6:
        soft = _blur(img, [d + far for d in discs], lens)
        wgt = np.clip(lift / 300.0, 0.0, 1.0)
        wgt = ndimage.gaussian_filter(wgt, max(1.0, far / 2.0))[..., None]
        img = sharp * (1 - wgt) + soft * wgt
    else:
        img = sharp
    # exposure: set for the LEDs' power, with the site's error, lowered where the skin's
    # brightest part would clip (metered on the skin's reflectance, so that a frame and its
    # bare twin get the same exposure; white hair may clip, as it does)
    gain = 1.25 * 2.0 ** look["exposure_ev"]
    gain = min(gain, 0.85 / max(float(np.percentile(meter[::4, ::4, 1], 99.5)), 1e-3))
    sens = np.array([0.55, 1.0, 0.72], np.float32)  # the sensor's raw balance
    cfa = _XTRANS[np.arange(h)[:, None] % 6, np.arange(w)[None, :] % 6]
    raw = np.take_along_axis(img * gain * sens, cfa[..., None], axis=2)[..., 0]
    electrons = np.clip(raw, 0.0, 1.2) * look["full_well"]
    noisy = electrons + rng.standard_normal(raw.shape).astype(np.float32) * np.sqrt(
        electrons + look["read_noise"] ** 2
    )
    raw = np.clip(np.round(noisy / look["full_well"] * 4095.0), 0, 4095) / 4095.0
    rgb = _demosaic(raw.astype(np.float32), cfa)
    rgb = rgb / (sens * np.array(look["wb_error"], np.float32))
    grey = rgb.mean(axis=2, keepdims=True)
    rgb = np.clip(grey + (rgb - grey) * look["saturation"], 0.0, None)
    if look["sharpen"] > 0:
        rgb = rgb + look["sharpen"] * (rgb - ndimage.gaussian_filter(rgb, (1.2, 1.2, 0)))
    # sRGB-like curve with the site's contrast round mid-grey
    v = np.clip(rgb, 0.0, 1.0) ** (1 / 2.2)
    v = np.clip(0.5 + (v - 0.5) * look["contrast"], 0.0, 1.0)
    out = np.round(v * 255.0).astype(np.uint8)
    if look["jpeg_quality"]:
        buf = io.BytesIO()
        Image.fromarray(out).save(
            buf, "JPEG", quality=look["jpeg_quality"], subsampling=look["chroma_subsampling"]
        )
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).copy()
    res: NDArray[np.uint8] = out.astype(np.uint8)
    return res
