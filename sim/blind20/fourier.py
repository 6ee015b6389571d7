"""blind-20's one drawing operation: a measure (weighted points) convolved with discs in the
frequency domain.

A shaft is a line of points whose weights are a line density; the convolution of a line with
a disc of radius r is, across the line, the chord ``2 sqrt(r^2 - t^2)`` through a cylinder of
that radius - the shaft's optical thickness - so a hair is never rasterised: its thickness
field is the inverse FFT of (the line's spectrum) x (the disc's Fourier transform, the Airy
kernel ``2 pi r^2 J1(2 pi r rho) / (2 pi r rho)``) x (a small Gaussian that band-limits the
edge). A single point of weight w convolved with the same kernel is a flat disc of height w
(a black dot, a yellow plug); a point of weight -w at a smaller radius makes a ring (a halo).
Points are grouped by radius into classes a factor ``RATIO`` apart, each class's deposit is
transformed once, multiplied by its kernel and summed; one inverse FFT gives every field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from numpy.typing import NDArray
from scipy.special import j0, j1

RATIO = 1.08  # neighbouring radius classes; a drawn width is within +-4 % of its radius
SMALLEST_R = 0.25  # px


@dataclass(frozen=True)
class Grid:
    """The frame padded by ``pad`` px on every side to a fast FFT size, and the radial
    frequency (cycles per px) of each term of its real FFT."""

    h: int
    w: int
    pad: int
    hp: int
    wp: int
    rho: NDArray[np.float32]

    @classmethod
    def of(cls, h: int, w: int, pad: int) -> Grid:
        hp = sfft.next_fast_len(h + 2 * pad, real=True)
        wp = sfft.next_fast_len(w + 2 * pad, real=True)
        fy = sfft.fftfreq(hp).astype(np.float32)[:, None]
        fx = sfft.rfftfreq(wp).astype(np.float32)[None, :]
        return cls(h, w, pad, hp, wp, np.sqrt(fx * fx + fy * fy))

    def crop(self, a: NDArray[np.float32]) -> NDArray[np.float32]:
        return a[..., self.pad : self.pad + self.h, self.pad : self.pad + self.w]


_JINC_X = np.linspace(0.0, 400.0, 160_001)
_JINC = np.where(_JINC_X > 0, 2.0 * j1(_JINC_X) / np.maximum(_JINC_X, 1e-12), 1.0)


def disc_spectrum(grid: Grid, r: float, sigma: float) -> NDArray[np.float32]:
    """The Fourier transform of the indicator of a disc of radius ``r`` px, times a Gaussian
    of ``sigma`` px (the edge's band limit), on the grid's frequencies."""
    x = (2.0 * math.pi * r) * grid.rho
    jinc = np.interp(x.ravel(), _JINC_X, _JINC).reshape(x.shape).astype(np.float32)
    gauss = np.exp(np.float32(-2.0 * math.pi**2 * sigma**2) * grid.rho * grid.rho)
    return np.asarray(np.float32(math.pi * r * r) * jinc * gauss, np.float32)


def ring_spectrum(grid: Grid, r: float, sigma: float) -> NDArray[np.float32]:
    """A unit-mass ring of radius ``r`` px blurred by ``sigma``: the light of a ring of lamps."""
    x = (2.0 * math.pi * r) * grid.rho
    return np.asarray(j0(x) * np.exp(-2.0 * math.pi**2 * sigma**2 * grid.rho**2), np.float32)


def radius_class(r: NDArray[np.float64], ratio: float) -> NDArray[np.int64]:
    """The class of each radius: the nearest of ``SMALLEST_R * ratio**k`` in log scale."""
    k = np.rint(np.log(np.maximum(r, SMALLEST_R) / SMALLEST_R) / math.log(ratio))
    return k.astype(np.int64)


def _deposit(
    grid: Grid, x: NDArray[np.float64], y: NDArray[np.float64], wts: NDArray[np.float64]
) -> tuple[int, int, NDArray[np.float32]]:
    """Bilinear deposit of points (frame px, centres at integers) with weights ``wts`` (points
    x channels) into the box of the padded grid that holds them: (top, left, channels x box)."""
    gx, gy = x + grid.pad, y + grid.pad
    top, left = int(np.floor(gy.min())), int(np.floor(gx.min()))
    bh, bw = int(np.floor(gy.max())) - top + 2, int(np.floor(gx.max())) - left + 2
    x0, y0 = np.floor(gx), np.floor(gy)
    fx, fy = gx - x0, gy - y0
    ix, iy = x0.astype(np.int64) - left, y0.astype(np.int64) - top
    m, size = wts.shape[1], bh * bw
    idx = np.concatenate([(iy + dy) * bw + ix + dx for dy in (0, 1) for dx in (0, 1)])
    share = np.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    chan = np.concatenate([idx + c * size for c in range(m)])
    wt = np.concatenate([share * np.tile(wts[:, c], 4) for c in range(m)])
    return (
        top,
        left,
        np.bincount(chan, wt, minlength=m * size).reshape(m, bh, bw).astype(np.float32),
    )


def convolve_discs(
    grid: Grid,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    r: NDArray[np.float64],
    wts: NDArray[np.float64],
    sigma: float,
    ratio: float = RATIO,
) -> NDArray[np.float32]:
    """Sum over points of weight x (indicator of a disc of radius ``r`` px at the point),
    band-limited by ``sigma`` px; ``wts`` is points x channels, radii in classes ``ratio``
    apart. Returns channels x the padded grid (:meth:`Grid.crop` cuts the frame out)."""
    m = wts.shape[1]
    out = np.zeros((m, grid.hp, grid.wp), np.float32)
    keep = (
        (x > 1 - grid.pad)
        & (x < grid.w + grid.pad - 2)
        & (y > 1 - grid.pad)
        & (y < grid.h + grid.pad - 2)
    )
    if not keep.any():
        return out
    x, y, r, wts = x[keep], y[keep], r[keep], wts[keep]
    cls = radius_class(r, ratio)
    spectra = np.zeros((m, grid.hp, grid.wp // 2 + 1), np.complex64)
    live = np.zeros(m, bool)
    for k in np.unique(cls):
        sel = cls == k
        used = np.abs(wts[sel]).sum(0) > 0
        top, left, maps = _deposit(grid, x[sel], y[sel], wts[sel][:, used])
        kernel = disc_spectrum(grid, SMALLEST_R * ratio ** int(k), sigma)
        for c, chan in enumerate(np.flatnonzero(used)):
            field = np.zeros((grid.hp, grid.wp), np.float32)
            bh, bw = maps.shape[1:]
            field[top : top + bh, left : left + bw] = maps[c]
            spectra[chan] += sfft.rfft2(field, workers=1) * kernel
            live[chan] = True
    for done in np.flatnonzero(live):
        out[done] = sfft.irfft2(spectra[done], s=(grid.hp, grid.wp), workers=1)
    return out


def ring_blur(
    grid: Grid, padded: NDArray[np.float32], r: float, sigma: float
) -> NDArray[np.float32]:
    """A padded field convolved with a ring of radius ``r`` px, cropped to the frame."""
    spec = sfft.rfft2(padded, workers=1) * ring_spectrum(grid, r, sigma)
    return grid.crop(sfft.irfft2(spec, s=(grid.hp, grid.wp), workers=1).astype(np.float32))
