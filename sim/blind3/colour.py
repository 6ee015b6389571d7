"""Colour arithmetic of blind-3: CIELAB (D65) to linear sRGB, and sRGB encoding.

Every skin and hair colour of this generator is chosen in CIELAB (the space dermatology
measures skin in: L* lightness, a* redness, b* yellowness) and drawn in linear sRGB.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

_WHITE = (0.95047, 1.0, 1.08883)
_XYZ_TO_RGB = np.array(
    [
        [3.2404542, -1.5371385, -0.4985314],
        [-0.9692660, 1.8760108, 0.0415560],
        [0.0556434, -0.2040259, 1.0572252],
    ],
    dtype=np.float32,
)
_D = 6.0 / 29.0


def _finv(t: NDArray[Any]) -> NDArray[Any]:
    return np.where(t > _D, t**3, 3.0 * _D * _D * (t - 4.0 / 29.0))


def lab_to_linear(lab: NDArray[Any]) -> F32:
    """Linear sRGB (clipped to >= 0) of CIELAB colours, shape (..., 3) -> (..., 3)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack(
        [_WHITE[0] * _finv(fx), _WHITE[1] * _finv(fy), _WHITE[2] * _finv(fz)], axis=-1
    ).astype(np.float32)
    rgb = xyz @ _XYZ_TO_RGB.T
    out: F32 = np.maximum(rgb, 0.0).astype(np.float32)
    return out


def lab_colour(lightness: float, a: float, b: float) -> F32:
    """One CIELAB colour as a linear sRGB triple."""
    return lab_to_linear(np.array([lightness, a, b], dtype=np.float32))


def encode_srgb(lin: NDArray[Any]) -> F32:
    """sRGB transfer curve of linear values (clipped to [0, 1])."""
    x = np.clip(lin, 0.0, 1.0).astype(np.float32)
    out: F32 = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055).astype(
        np.float32
    )
    return out
