"""Colour conversions of blind-6: Oklab <-> linear sRGB (per plane) and the sRGB transfer curve."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]


def oklab_to_linear(lab_l: Arr, lab_a: Arr, lab_b: Arr) -> Arr:
    """Oklab planes (same shape) to a linear-sRGB array of that shape plus a last axis of 3."""
    l_ = lab_l + 0.3963377774 * lab_a + 0.2158037573 * lab_b
    m_ = lab_l - 0.1055613458 * lab_a - 0.0638541728 * lab_b
    s_ = lab_l - 0.0894841775 * lab_a - 1.2914855480 * lab_b
    lc = l_ * l_ * l_
    mc = m_ * m_ * m_
    sc = s_ * s_ * s_
    out = np.empty((*np.shape(lab_l), 3), dtype=np.float32)
    out[..., 0] = 4.0767416621 * lc - 3.3077115913 * mc + 0.2309699292 * sc
    out[..., 1] = -1.2684380046 * lc + 2.6097574011 * mc - 0.3413193965 * sc
    out[..., 2] = -0.0041960863 * lc - 0.7034186147 * mc + 1.7076147010 * sc
    np.clip(out, 0.0, None, out=out)
    return out


def linear_to_oklab(rgb: Arr) -> Arr:
    """Linear sRGB (..., 3) to Oklab (..., 3)."""
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, None)
    lms = (
        rgb
        @ np.array(
            [
                [0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005],
            ]
        ).T
    )
    lms_ = np.cbrt(lms)
    return np.asarray(
        lms_
        @ np.array(
            [
                [0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660],
            ]
        ).T
    )


def oklab_colour(lab_l: float, lab_a: float, lab_b: float) -> Arr:
    """One Oklab colour as a linear-sRGB triple (float64, shape (3,))."""
    one = oklab_to_linear(np.array([lab_l]), np.array([lab_a]), np.array([lab_b]))
    return np.asarray(one[0], dtype=np.float64)


def srgb_encode(linear: Arr) -> Arr:
    """The sRGB transfer curve of linear values in [0, 1] (float32 out)."""
    x = np.clip(linear, 0.0, 1.0).astype(np.float32)
    low = x * 12.92
    high = 1.055 * np.power(x, 1.0 / 2.4, dtype=np.float32) - 0.055
    return np.where(x <= 0.0031308, low, high).astype(np.float32)
