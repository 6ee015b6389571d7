"""Spectral synthesis of skin fields.

Random fields are drawn in the Fourier domain (complex white noise shaped by a 1/f^beta
power law inside a band, the real and imaginary parts of one inverse transform giving two
independent fields) on a coarse lattice over the whole site grid, then sampled at a
canvas's pixels by separable linear interpolation. Cellular patterns (the honeycomb pigment
network, skin furrows) are three plane waves at 120 degrees whose phases wander with such
coarse fields: a hexagonal spectrum, locally deformed. Finer isotropic textures are sums of a
few plane waves with random directions (a ring spectrum, sampled sparsely). Everything is a
function of site position, so every visit sees the same skin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.blind4.geometry import Canvas, Geometry


@dataclass
class CoarseFields:
    """Named smooth fields on a coarse lattice over the site grid (unit std each)."""

    x0: float
    y0: float
    step: float
    fields: dict[str, np.ndarray]

    def sample(self, name: str, canvas: Canvas) -> np.ndarray:
        """The field at every canvas pixel (float32, shape (h, w))."""
        f = self.fields[name]
        ny, nx = f.shape
        ry = (canvas.ys() - self.y0) / self.step
        rx = (canvas.xs() - self.x0) / self.step
        iy, wy = _lin(ry, ny)
        ix, wx = _lin(rx, nx)
        rows = f[iy] * (1.0 - wy)[:, None] + f[iy + 1] * wy[:, None]
        out = rows[:, ix] * (1.0 - wx)[None, :] + rows[:, ix + 1] * wx[None, :]
        return np.asarray(out, np.float32)

    def at(self, name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The field at scattered site points (bilinear)."""
        f = self.fields[name]
        ny, nx = f.shape
        iy, wy = _lin((np.asarray(y, float) - self.y0) / self.step, ny)
        ix, wx = _lin((np.asarray(x, float) - self.x0) / self.step, nx)
        top = f[iy, ix] * (1 - wx) + f[iy, ix + 1] * wx
        bot = f[iy + 1, ix] * (1 - wx) + f[iy + 1, ix + 1] * wx
        return np.asarray(top * (1 - wy) + bot * wy)


def _lin(r: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.clip(r, 0.0, n - 1.000001)
    i = np.floor(r).astype(np.int64)
    i = np.minimum(i, n - 2)
    return i, (r - i).astype(np.float32)


def _band_spectrum(
    shape: tuple[int, int], step: float, beta: float, lam_min: float, lam_max: float
) -> np.ndarray:
    ny, nx = shape
    fy = np.fft.fftfreq(ny, d=step)[:, None]
    fx = np.fft.fftfreq(nx, d=step)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    lo, hi = 1.0 / lam_max, 1.0 / lam_min
    amp *= 1.0 / (1.0 + (lo / f) ** 4)  # soft high-pass below 1/lam_max
    amp *= np.exp(-((f / hi) ** 2))  # soft low-pass above 1/lam_min
    amp[0, 0] = 0.0
    return np.asarray(amp, np.float64)


def powerlaw_pair(
    rng: np.random.Generator,
    shape: tuple[int, int],
    step: float,
    beta: float,
    lam_min: float,
    lam_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 1/f^beta fields (unit std) in the band [lam_min, lam_max] um."""
    amp = _band_spectrum(shape, step, beta, lam_min, lam_max)
    noise = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    field = np.fft.ifft2(noise * amp)
    a = field.real
    b = field.imag
    a = (a - a.mean()) / max(float(a.std()), 1e-12)
    b = (b - b.mean()) / max(float(b.std()), 1e-12)
    return a.astype(np.float32), b.astype(np.float32)


def site_fields(rng: np.random.Generator, geo: Geometry) -> CoarseFields:
    """The smooth fields of a site: pigment mottle, blood, phases of the cellular patterns."""
    gh, gw = geo.grid_shape
    gx0, gy0 = geo.grid_origin
    span_x = gw * geo.s
    span_y = gh * geo.s
    step = max(geo.s, 40.0)
    nx = max(8, math.ceil(span_x / step) + 2)
    ny = max(8, math.ceil(span_y / step) + 2)
    shape = (ny, nx)
    fields: dict[str, np.ndarray] = {}
    fields["mottle"], fields["blood"] = powerlaw_pair(rng, shape, step, 3.0, 160.0, 4000.0)
    fields["ph1"], fields["ph2"] = powerlaw_pair(rng, shape, step, 3.5, 350.0, 3000.0)
    fields["ph3"], fields["sheen"] = powerlaw_pair(rng, shape, step, 3.5, 350.0, 3000.0)
    fields["patch"], fields["misc"] = powerlaw_pair(rng, shape, step, 2.5, 300.0, 2500.0)
    return CoarseFields(gx0 - step, gy0 - step, step, fields)


def hex_network(
    canvas: Canvas,
    fields: CoarseFields,
    lam: float,
    angle: float,
    wander: float,
    names: tuple[str, str] = ("ph1", "ph2"),
) -> np.ndarray:
    """A deformed hexagonal cell pattern at wavelength ``lam`` um: values in [-1.5, 3],
    cell centres near 3 and the honeycomb of cell walls below about -0.5."""
    xs = canvas.xs()
    ys = canvas.ys()
    k = 2.0 * math.pi / lam * 2.0 / math.sqrt(3.0)
    psi = np.zeros((canvas.h, canvas.w), np.float32)
    p1 = fields.sample(names[0], canvas) * np.float32(wander)
    p2 = fields.sample(names[1], canvas) * np.float32(wander)
    # the third phase closes the triad (sum zero): always cells of one sign, never inverted
    for i, ph in enumerate((p1, p2, -(p1 + p2))):
        a = angle + i * 2.0 * math.pi / 3.0
        arg = (k * math.sin(a) * ys)[:, None].astype(np.float32) + (k * math.cos(a) * xs)[
            None, :
        ].astype(np.float32)
        psi += np.cos(np.mod(arg, 2 * math.pi).astype(np.float32) + ph)
    return psi


def ring_waves(
    rng: np.random.Generator, canvas: Canvas, lam: float, n: int = 7, spread: float = 0.25
) -> np.ndarray:
    """A quasi-random isotropic texture at wavelength about ``lam`` um (unit-ish std)."""
    xs = canvas.xs()
    ys = canvas.ys()
    out = np.zeros((canvas.h, canvas.w), np.float32)
    angles = rng.uniform(0, math.pi, n) + np.arange(n) * math.pi / n
    lams = lam * np.exp(rng.normal(0, spread, n))
    phases = rng.uniform(0, 2 * math.pi, n)
    for a, lm, ph in zip(angles, lams, phases, strict=True):
        k = 2.0 * math.pi / lm
        ay = np.mod(k * math.sin(a) * ys + ph, 2 * math.pi).astype(np.float32)
        ax = np.mod(k * math.cos(a) * xs, 2 * math.pi).astype(np.float32)
        out += np.cos(ay[:, None] + ax[None, :])
    return out * np.float32(math.sqrt(2.0 / n))


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t))
