"""blind-22's camera: light fall-off, a hexagonal iris, an RGBW sensor, a tone curve and
block truncation coding.

* **Light**: a ring light tilted off the axis (a linear ramp) over **Kang-Weiss
  vignetting** - the off-axis illumination factor ``1 / (1 + (r / f)^2)^2`` times a
  geometric factor ``1 - alpha r`` (Kang and Weiss 2000).
* **Defocus through a six-bladed iris**: the blur spot is a hexagon; a hexagon is the
  Minkowski sum of three segments 60 degrees apart (a zonotope), so the spot is the
  convolution of three line boxes and its transfer function is exactly the product of three
  sincs, applied in the frequency domain; the spot grows toward the corners (field
  curvature) and red's is a little wider (axial colour).
* **RGBW sensor**: Kodak's 4x4 "CFA 2.0" layout, half the photosites panchromatic (W), the
  rest red, green and blue; shot noise, read noise, row banding, a 12-bit ADC.
* **Demosaic**: W is filled in at the colour sites along the direction of least change
  (horizontal or vertical neighbours, blended by their gradients); each colour is carried as
  its difference from a scaled W, averaged over a window from its own sites, and put back;
  the four estimates (R, G, B, W) give linear RGB by least squares.
* **Tone**: white balance, Reinhard's extended operator, a display gamma of 2.2.
* **Codec** (``btc_levels`` 2 or 4 on half the sites): YCbCr, chroma averaged over 2x2,
  luma by **block truncation coding** - per 4x4 block a bit map (or two) and two (or four)
  levels: the means below and above the block's mean (AMBTC, Lema and Mitchell 1984)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

# Kodak CFA 2.0: 0 R, 1 G, 2 B, 3 W
LAYOUT = np.array([[3, 1, 3, 0], [1, 3, 0, 3], [3, 2, 3, 1], [2, 3, 1, 3]])
FILTERS = np.array([[0.92, 0.07, 0.01], [0.08, 0.86, 0.1], [0.02, 0.1, 0.88], [0.4, 0.48, 0.38]])
FULL_WELL = 5200.0  # electrons at a white diffuser's exposure 1 through the green filter
ADC_MAX = 4095.0


def illumination(h: int, w: int, g: np.random.Generator, vignette: float) -> NDArray[np.float64]:
    """The light reaching each pixel relative to the centre: tilted ring light times
    Kang-Weiss vignetting (``vignette``: how much the corners lose, about)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    half = 0.5 * math.hypot(w, h)
    r = np.hypot(u - 0.5 * (w - 1), v - 0.5 * (h - 1)) / half
    focal = 1.0 / math.sqrt(max(1e-6, (1.0 - vignette) ** -0.5 - 1.0))
    geometric = 1.0 - float(g.uniform(0.0, 0.12)) * r
    lens = 1.0 / (1.0 + (r / focal) ** 2) ** 2
    tilt = float(g.uniform(0.0, 0.14))
    toward = float(g.uniform(0, 2 * math.pi))
    ramp = 1.0 + tilt * ((u - 0.5 * w) * math.cos(toward) + (v - 0.5 * h) * math.sin(toward)) / half
    out: NDArray[np.float64] = lens * geometric * ramp
    return out


def iris_transfer(
    shape: tuple[int, int], side_px: float, turn: float, sigma_px: float
) -> NDArray[np.float64]:
    """Transfer function (rfft2 layout) of a hexagonal blur spot: three boxes of length
    ``side_px`` at ``turn``, +60 and +120 degrees, and a Gaussian of ``sigma_px`` (the
    lens's own spread)."""
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    out = np.exp(-2.0 * (math.pi * sigma_px) ** 2 * (fx * fx + fy * fy))
    for k in range(3):
        a = turn + k * math.pi / 3
        out = out * np.sinc(side_px * (fx * math.cos(a) + fy * math.sin(a)))
    return out


def defocus(
    light: NDArray[np.float64], look: dict[str, Any], um: float, turn: float
) -> NDArray[np.float64]:
    """The hexagonal-iris blur, wider toward the corners, red's widest."""
    h, w, _ = light.shape
    pad = 24
    big = np.pad(light, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    side = (
        float(look["iris_um"]) / um / math.sqrt(3.0)
    )  # three boxes of this span a hexagon this wide
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    edge = (((u - 0.5 * w) / (0.5 * w)) ** 2 + ((v - 0.5 * h) / (0.5 * h)) ** 2) / 2.0
    out = np.empty_like(light)
    for ch, wider in enumerate((1.15, 1.0, 1.05)):
        spectrum = np.fft.rfft2(big[..., ch])
        near = iris_transfer(big.shape[:2], side * wider, turn, 0.45)
        far = iris_transfer(
            big.shape[:2], side * wider * (1.0 + float(look["field_curve"])), turn, 0.45
        )
        sharp = np.fft.irfft2(spectrum * near, s=big.shape[:2])[pad:-pad, pad:-pad]
        soft = np.fft.irfft2(spectrum * far, s=big.shape[:2])[pad:-pad, pad:-pad]
        out[..., ch] = sharp + np.clip(edge, 0, 1) * (soft - sharp)
    return out


def expose(
    light: NDArray[np.float64], exposure: float, noise: np.random.Generator
) -> NDArray[np.float64]:
    """Raw 12-bit values of the RGBW mosaic (h x w) for linear ``light`` (h x w x 3)."""
    h, w, _ = light.shape
    site = np.tile(LAYOUT, (h // 4 + 1, w // 4 + 1))[:h, :w]
    response = np.einsum("hwc,hwc->hw", light, FILTERS[site])
    electrons = np.clip(response * FULL_WELL * exposure, 0.0, None)
    electrons = electrons + np.sqrt(electrons) * noise.standard_normal((h, w))
    electrons = electrons + 6.0 * noise.standard_normal((h, w))
    electrons = electrons + 3.0 * noise.standard_normal((h, 1))  # row banding
    raw: NDArray[np.float64] = np.round(np.clip(electrons / FULL_WELL * 3600.0 + 64.0, 0, ADC_MAX))
    return raw


def demosaic(raw: NDArray[np.float64], exposure: float) -> NDArray[np.float64]:
    """Linear RGB (h x w x 3) from the mosaic (see the module docstring)."""
    h, w = raw.shape
    signal = (raw - 64.0) / 3600.0 / exposure
    site = np.tile(LAYOUT, (h // 4 + 1, w // 4 + 1))[:h, :w]
    is_w = site == 3
    p = np.pad(signal, 1, mode="reflect")
    left, right, up, down = p[1:-1, :-2], p[1:-1, 2:], p[:-2, 1:-1], p[2:, 1:-1]
    grad_h, grad_v = np.abs(left - right) + 1e-6, np.abs(up - down) + 1e-6
    across = (grad_v * 0.5 * (left + right) + grad_h * 0.5 * (up + down)) / (grad_h + grad_v)
    white = np.where(is_w, signal, across)
    planes = []
    for ch in range(3):
        mask = (site == ch).astype(np.float64)
        ratio = FILTERS[ch].sum() / FILTERS[3].sum()
        diff = (signal - ratio * white) * mask
        size = 5 if ch == 1 else 7
        num = ndimage.uniform_filter(diff, size, mode="reflect")
        den = ndimage.uniform_filter(mask, size, mode="reflect")
        planes.append(num / np.maximum(den, 1e-9) + ratio * white)
    est = np.stack([*planes, white], axis=-1)  # R, G, B and W photosite estimates
    unmix = np.linalg.pinv(FILTERS)  # 3 x 4: least-squares linear RGB from the four
    out: NDArray[np.float64] = est @ unmix.T
    return out


def tone(rgb: NDArray[np.float64], g: np.random.Generator) -> NDArray[np.uint8]:
    """White balance (slightly off), Reinhard's extended curve and gamma 2.2 to 8 bits."""
    balance = np.array([1.0, 1.0, 1.0]) + g.normal(0, 0.025, 3)
    x = np.clip(rgb * balance * 1.35, 0.0, None)
    white = 2.2
    mapped = x * (1.0 + x / (white * white)) / (1.0 + x)
    out: NDArray[np.uint8] = np.round(np.clip(mapped, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    return out


def untone(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    """The tone curve's inverse (before white balance): linear light from 8-bit values."""
    m = (img.astype(np.float64) / 255.0) ** 2.2
    m = np.minimum(m, 0.9999)
    white2 = 2.2 * 2.2
    # m (1 + x) = x + x^2 / white^2  ->  x^2 / white^2 + (1 - m) x - m = 0
    a, b = 1.0 / white2, 1.0 - m
    x = (-b + np.sqrt(b * b + 4 * a * m)) / (2 * a)
    out: NDArray[np.float64] = x / 1.35
    return out


def _blocks(plane: NDArray[np.float64], levels: int) -> NDArray[np.float64]:
    """AMBTC of one plane whose sides are multiples of 4."""
    h, w = plane.shape
    b = plane.reshape(h // 4, 4, w // 4, 4).transpose(0, 2, 1, 3).reshape(h // 4, w // 4, 16)
    mean = b.mean(axis=2, keepdims=True)
    upper = b >= mean
    n_up = upper.sum(axis=2, keepdims=True)
    hi = np.where(n_up > 0, (b * upper).sum(axis=2, keepdims=True) / np.maximum(n_up, 1), mean)
    lo_n = 16 - n_up
    lo = np.where(lo_n > 0, (b * ~upper).sum(axis=2, keepdims=True) / np.maximum(lo_n, 1), mean)
    if levels == 2:
        out = np.where(upper, hi, lo)
    else:  # four levels: lo, hi and two between, each pixel to the nearest
        steps = lo + (hi - lo) * np.array([0.0, 1 / 3, 2 / 3, 1.0])
        pick = np.abs(b[..., None] - steps[:, :, None, :]).argmin(axis=3)
        out = np.take_along_axis(steps, pick, axis=2)
    back: NDArray[np.float64] = np.round(out).reshape(h // 4, w // 4, 4, 4)
    return back.transpose(0, 2, 1, 3).reshape(h, w)


def btc(img: NDArray[np.uint8], levels: int) -> NDArray[np.uint8]:
    """The codec's round trip (``levels`` 0: stored as it is)."""
    if levels == 0:
        return img
    h, w, _ = img.shape
    ph, pw = -h % 4, -w % 4
    x = np.pad(img.astype(np.float64), ((0, ph), (0, pw), (0, 0)), mode="edge")
    y = x @ np.array([0.299, 0.587, 0.114])
    cb = (x[..., 2] - y) * 0.564 + 128.0
    cr = (x[..., 0] - y) * 0.713 + 128.0
    y = _blocks(y, levels)
    for c in (cb, cr):
        small = c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean(axis=(1, 3))
        c[...] = np.repeat(np.repeat(np.round(small), 2, axis=0), 2, axis=1)
    r = y + (cr - 128.0) / 0.713
    b = y + (cb - 128.0) / 0.564
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    out = np.stack([r, g, b], axis=-1)[:h, :w]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
