"""Skin of blind-17: spectrally shaped diamond-square fractals (midpoint displacement on a
torus, each octave's displacement amplitude chosen per field) sampled in world microns,
turned into melanin and blood loads, with openings, dots, vessels and scale on top."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

F = NDArray[np.float64]
F32 = NDArray[np.float32]


def diamond_square(r: np.random.Generator, n: int, amps: list[float]) -> F:
    """A periodic 2**n square by the diamond-square algorithm; ``amps[k]`` scales the
    displacements of octave k (k = 0 coarsest). Normalised to mean 0, std 1."""
    size = 2**n
    a = np.zeros((size, size))
    step, k = size, 0
    while step > 1:
        half = step // 2
        amp = amps[k] if k < len(amps) else 0.0
        c = a[0::step, 0::step]
        m = c.shape[0]
        cen = (c + np.roll(c, -1, 1) + np.roll(c, -1, 0) + np.roll(np.roll(c, -1, 0), -1, 1)) / 4
        a[half::step, half::step] = cen + amp * r.standard_normal((m, m))
        cen = a[half::step, half::step]
        top = (c + np.roll(c, -1, 1) + np.roll(cen, 1, 0) + cen) / 4
        a[0::step, half::step] = top + amp * r.standard_normal((m, m))
        left = (c + np.roll(c, -1, 0) + np.roll(cen, 1, 1) + cen) / 4
        a[half::step, 0::step] = left + amp * r.standard_normal((m, m))
        step, k = half, k + 1
    a -= a.mean()
    return a / max(float(a.std()), 1e-9)


def _band(n: int, peak: int, width: float = 1.2) -> list[float]:
    return [float(np.exp(-(((k - peak) / width) ** 2))) + 0.03 for k in range(n)]


class SkinFields:
    """The fractal tiles of one site and their texel sizes in micrometres."""

    def __init__(self, r: np.random.Generator) -> None:
        self.tone = (diamond_square(r, 8, [1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.12, 0.08]), 90.0)
        self.red = (diamond_square(r, 8, [1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05]), 90.0)
        # 2**11 texels of 14 um: a period of 28.7 mm, wider than any frame (a 2**8 tile
        # repeated every 3.6 mm, and its flakes and glints showed as a grid)
        self.mid = (
            diamond_square(r, 11, [0.03, 0.03, 0.03, 0.2, 0.5, 1.0, 0.8, 0.6, 0.4, 0.25, 0.15]),
            14.0,
        )
        self.net1 = (diamond_square(r, 9, _band(9, 3)), 3.1)
        self.net2 = (diamond_square(r, 9, _band(9, 3)), 4.3)
        self.fine = (diamond_square(r, 8, _band(8, 5, 2.0)), 2.3)


def sample(field: tuple[F, float], x: F32, y: F32) -> F32:
    tile, texel = field
    out: F32 = ndimage.map_coordinates(
        tile.astype(np.float32), [y / texel, x / texel], order=1, mode="grid-wrap"
    )
    return out


def reflectance(
    look: dict[str, Any],
    fields: SkinFields,
    x: F32,
    y: F32,
    marks: dict[str, F32],
) -> F32:
    """RGB reflectance (h, w, 3) of the skin at world points (x, y) (um), with mark maps
    (opening, yellow, white, vessel: 0..1) in frame pixels."""
    tone = sample(fields.tone, x, y)
    red = sample(fields.red, x, y)
    mid = sample(fields.mid, x, y)
    # a network whose tiles repeat at incommensurate periods, turned against each other
    c, s = np.float32(0.8), np.float32(0.6)
    n = 0.6 * sample(fields.net1, x, y) + 0.4 * sample(fields.net2, c * x - s * y, s * x + c * y)
    net = np.exp(-((n / 0.28) ** 2)).astype(np.float32)
    fine = sample(fields.fine, x, y)
    mel = np.float32(look["melanin"]) * (
        1.0 + 0.18 * tone + np.float32(look["network"]) * (0.8 * net - 0.15) + 0.05 * fine
    )
    mel = mel + marks["opening"] * np.float32(0.5 + 0.3 * look["melanin"])
    hb = np.float32(look["blood"]) * (1.0 + 0.45 * np.maximum(red, 0.0)) + 1.6 * marks["vessel"]
    dermis = np.array([0.96, 0.86, 0.79], dtype=np.float32)
    kmel = np.array([0.42, 0.78, 1.25], dtype=np.float32)
    khb = np.array([0.04, 0.8, 0.55], dtype=np.float32)
    refl = dermis * np.exp(-mel[..., None] * kmel - hb[..., None] * khb)
    refl *= (1.0 + 0.04 * fine)[..., None]
    yellow = marks["yellow"][..., None]
    refl = refl * (1 - 0.75 * yellow) + 0.75 * yellow * np.array([0.82, 0.66, 0.3], np.float32)
    white = marks["white"][..., None]
    refl = refl * (1 - 0.7 * white) + 0.7 * white * np.array([0.9, 0.88, 0.84], np.float32)
    if look["scale"] > 0:
        flake = np.clip((mid - 1.9 + look["scale"]) * 2.5, 0.0, 1.0)[..., None]
        refl = refl * (1 - 0.8 * flake) + 0.8 * flake * np.array([0.9, 0.89, 0.85], np.float32)
    out: F32 = refl.astype(np.float32)
    return out
