"""blind-21's sensor: a complementary CYGM mosaic, its own demosaic, and a filmic tone curve.

Each photosite sits under one of cyan, yellow, green or magenta (a 2 x 2 pattern, as in
early CCD cameras): complementary filters pass two primaries each, so the sensor sees about
twice the light of an RGB mosaic and must unmix it. Photoelectrons get a fixed per-site gain
pattern (photo-response non-uniformity), shot and read noise and a 10-bit ADC. The demosaic
interpolates each of the four quarter-resolution planes bilinearly to every pixel, at its
own phase, and unmixes the four to RGB through the least-squares inverse of a slightly
wrong estimate of the filters; a white balance with a small error and the ACES filmic curve
(Narkowicz's fit) with a display gamma make the 8-bit frame."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

# rows: cyan, yellow, green, magenta; columns: what each passes of red, green, blue
FILTERS = np.array(
    [[0.08, 0.86, 0.9], [0.92, 0.88, 0.1], [0.1, 0.8, 0.12], [0.9, 0.12, 0.86]], np.float64
)
PHASE = ((0, 0), (0, 1), (1, 0), (1, 1))  # (row, column) of each filter in the 2 x 2 cell
FULL_WELL = 12000.0
READ_NOISE = 6.0


def expose(
    light: NDArray[np.float64],
    look: dict[str, Any],
    fixed: np.random.Generator,
    noise: np.random.Generator,
) -> NDArray[np.float64]:
    """The mosaic's raw counts (0-1023), one filter per photosite."""
    h, w, _ = light.shape
    gain = FULL_WELL * 0.62 * float(look["exposure"]) / FILTERS.sum(1).max()
    mix = np.einsum("hwc,fc->hwf", light, FILTERS) * gain
    which = np.zeros((h, w), np.int64)
    for k, (r, c) in enumerate(PHASE):
        which[r::2, c::2] = k
    electrons = np.take_along_axis(mix, which[..., None], 2)[..., 0]
    electrons = np.clip(electrons * (1 + 0.008 * fixed.standard_normal((h, w))), 0, None)
    electrons = electrons + noise.standard_normal((h, w)) * np.sqrt(electrons + READ_NOISE**2)
    return np.asarray(np.clip(np.rint(electrons / FULL_WELL * 1023), 0, 1023))


def _spread(plane: NDArray[np.float64], offset: int, n: int, axis: int) -> NDArray[np.float64]:
    """Linear interpolation of samples at ``offset + 2 k`` to all ``n`` positions of
    ``axis`` (held at the edges)."""
    at = (np.arange(n) - offset) / 2.0
    last = plane.shape[axis] - 1
    lo = np.clip(np.floor(at), 0, last).astype(np.int64)
    hi = np.minimum(lo + 1, last)
    frac = np.clip(at - lo, 0.0, 1.0)
    shape = [1, 1]
    shape[axis] = n
    frac = frac.reshape(shape)
    a, b = np.take(plane, lo, axis=axis), np.take(plane, hi, axis=axis)
    return np.asarray(a * (1 - frac) + b * frac)


def demosaic(raw: NDArray[np.float64], g: np.random.Generator) -> NDArray[np.float64]:
    """Linear RGB (scaled so a white diffuser is about 1) from the CYGM counts."""
    h, w = raw.shape
    planes = np.empty((h, w, 4))
    for k, (r, c) in enumerate(PHASE):
        quarter = raw[r::2, c::2]
        planes[..., k] = _spread(_spread(quarter, r, h, 0), c, w, 1)
    believed = FILTERS * (1 + g.normal(0, 0.025, FILTERS.shape))
    unmix = np.linalg.pinv(believed)
    gain = 1023 * 0.62 / FILTERS.sum(1).max()
    rgb = np.einsum("hwf,cf->hwc", planes, unmix) / gain
    return np.asarray(rgb * (1 + g.normal(0, 0.025, 3)))


def filmic(rgb: NDArray[np.float64], look: dict[str, Any]) -> NDArray[np.uint8]:
    """ACES's filmic curve (Narkowicz 2015) after a fixed exposure, then gamma 1/2.2."""
    x = np.clip(rgb * 1.6, 0, None)
    toned = x * (2.51 * x + 0.03) / (x * (2.43 * x + 0.59) + 0.14)
    display = np.clip(toned, 0, 1) ** (1 / 2.2)
    return np.asarray(np.clip(np.rint(display * 255), 0, 255), np.uint8)


def unfilmic(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    """The inverse of :func:`filmic` (8-bit steps aside): linear RGB back from a frame."""
    y = np.clip((img.astype(np.float64) + 0.5) / 256.0, 0, 1) ** 2.2
    a, b, c = 2.51 - 2.43 * y, 0.03 - 0.59 * y, -0.14 * y
    x = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return np.asarray(x / 1.6)
