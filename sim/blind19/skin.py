"""The scalp's skin, as functions of world micrometres sampled at the frame's pixels.

* **Phasor noise** (Tricard et al. 2019): a sum of Gabor kernels (a Gaussian times a complex
  sinusoid) dropped by a hash of world cells; what is kept is not the sum but its *phase*,
  which runs smoothly at the kernels' frequency with the same contrast everywhere. A profile of
  the phase draws lines: with kernels turned every way a labyrinthine pigment network; with
  kernels turned along a slowly varying orientation, shallow skin creases. The complex sum is
  band-limited, so it is computed on a coarse grid and interpolated before the phase is taken.
* **Random waves**: sums of plane cosines with random directions and wavelengths (0.2-4 mm
  for tone, redness and relief; 15-60 um for grain).
* **Marks** round each follicular unit and elsewhere: the opening's pit (a bowl in the
  height), keratin grey, yellow plugs, peripilar rings, pinpoint white dots, scale flakes and
  vessels, stamped in pixel footprints.

Reflectance in the three LED bands follows the diffuse-reflectance approximation of a
semi-infinite turbid medium, ``R_d = exp(-7 sqrt(mu_a / (3 (mu_a + mu_s'))))`` (Jacques),
for the dermis (blood and baseline absorption, collagen scattering), seen through the
epidermis's melanin twice."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind19 import site
from sim.blind19.scene import View

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
EPIDERMIS_CM = 0.004
# per band (630, 525, 460 nm): whole blood at 70 % saturation, baseline dermis, /cm
_BLOOD = np.array([10.4, 169.0, 150.0])
_BASE = np.array([0.25, 0.6, 1.0])
_SCATTER = np.array([45.0 * (lam / 500.0) ** -1.3 for lam in site.BANDS_NM])
_MELANIN = np.array([6.6e11 * lam**-3.33 for lam in site.BANDS_NM])


def _mix(a: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser, elementwise (wrapping arithmetic)."""
    a = (a ^ (a >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    a = (a ^ (a >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return a ^ (a >> np.uint64(31))


def _hash(key: int, i: NDArray[np.int64], j: NDArray[np.int64], salt: int) -> F64:
    """Uniform [0, 1) numbers from a world cell (i, j), a site key and a salt."""
    with np.errstate(over="ignore"):
        a = i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        a = _mix(a ^ np.uint64(key))
        a = _mix(a + j.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F) + np.uint64(salt))
    return (a >> np.uint64(11)).astype(np.float64) / float(2**53)


def _phasor(
    key: int, x: F64, y: F64, period: float, orient: F64 | None, salt: int
) -> NDArray[np.complex128]:
    """The complex Gabor sum at world points (x, y): one kernel per world cell of a period's
    size, width 1.3 periods, frequency 1/period, turned every way (``orient`` None) or along
    ``orient`` (radians, at the points) plus a little spread."""
    cell = period
    sigma = 1.3 * period
    reach = math.ceil(2.6 * sigma / cell)
    ci = np.floor(x / cell).astype(np.int64)
    cj = np.floor(y / cell).astype(np.int64)
    g = np.zeros(x.shape, np.complex128)
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            i, j = ci + di, cj + dj
            kx = (i + _hash(key, i, j, salt)) * cell
            ky = (j + _hash(key, i, j, salt + 1)) * cell
            phase = 2.0 * math.pi * _hash(key, i, j, salt + 2)
            if orient is None:
                ang = math.pi * _hash(key, i, j, salt + 3)
            else:
                ang = orient + 0.25 * (_hash(key, i, j, salt + 3) - 0.5)
            rx, ry = x - kx, y - ky
            env = np.exp(-(rx * rx + ry * ry) / (2.0 * sigma * sigma))
            arg = 2.0 * math.pi / period * (rx * np.cos(ang) + ry * np.sin(ang)) + phase
            g += env * np.exp(1j * arg)
    return g


def _waves(
    r: np.random.Generator, x: F64, y: F64, n: int, lo: float, hi: float, beta: float
) -> F64:
    """A sum of ``n`` plane waves of wavelengths ``lo``-``hi`` um (amplitude ~ wavelength **
    beta), scaled to unit deviation."""
    lam = np.exp(r.uniform(math.log(lo), math.log(hi), n))
    ang = r.uniform(0.0, math.pi, n)
    ph = r.uniform(0.0, 2.0 * math.pi, n)
    amp = lam**beta
    out = np.zeros(x.shape)
    for k in range(n):
        out += amp[k] * np.cos(
            2.0 * math.pi / lam[k] * (x * math.cos(ang[k]) + y * math.sin(ang[k])) + ph[k]
        )
    return out / math.sqrt(0.5 * float((amp**2).sum()))


@dataclass
class Skin:
    """Per pixel: height (um), normal, reflectance in the three bands and the sebum sheen."""

    height_um: F32
    normal: F32
    reflectance: F32
    sheen: F32


def _grid(view: View, step_px: float) -> tuple[F64, F64, tuple[int, int]]:
    """World coordinates of a grid over the frame every ``step_px`` pixels (one row and
    column past each edge)."""
    nw = math.ceil((view.w + 1) / step_px) + 2
    nh = math.ceil((view.h + 1) / step_px) + 2
    u = (np.arange(nw) - 1) * step_px - 0.5
    v = (np.arange(nh) - 1) * step_px - 0.5
    uu, vv = np.meshgrid(u, v)
    x, y = view.world(uu, vv)
    return x, y, (nh, nw)


def _to_pixels(field: NDArray[Any], step_px: float, view: View) -> NDArray[Any]:
    """A grid field (see :func:`_grid`) resampled (bilinear, rows then columns) at every
    pixel centre."""

    def weights(n: int, size: int) -> tuple[NDArray[np.int64], F64]:
        pos = (np.arange(n) + 0.5) / step_px + 1.0
        i = np.clip(np.floor(pos).astype(np.int64), 0, size - 2)
        return i, np.clip(pos - i, 0.0, 1.0)

    iy, fy = weights(view.h, field.shape[0])
    ix, fx = weights(view.w, field.shape[1])
    rows = field[iy] * (1.0 - fy[:, None]) + field[iy + 1] * fy[:, None]
    out: NDArray[Any] = rows[:, ix] * (1.0 - fx[None, :]) + rows[:, ix + 1] * fx[None, :]
    return out


def _stamp(
    shape: tuple[int, int], cx: F64, cy: F64, radius: F64, value: F64, edge: float = 1.0
) -> F64:
    """Round marks (centres and radii in px): the largest ``value`` of a smooth-edged disc
    over each pixel (edge: the width of the soft rim, px)."""
    h, w = shape
    out = np.zeros(shape)
    if cx.size == 0:
        return out
    rr = radius + edge
    x0 = np.clip(np.floor(cx - rr), 0, w - 1).astype(np.int64)
    x1 = np.clip(np.ceil(cx + rr), 0, w - 1).astype(np.int64)
    y0 = np.clip(np.floor(cy - rr), 0, h - 1).astype(np.int64)
    y1 = np.clip(np.ceil(cy + rr), 0, h - 1).astype(np.int64)
    ok = (cx + rr >= 0) & (cx - rr <= w - 1) & (cy + rr >= 0) & (cy - rr <= h - 1)
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return out
    bw, bh = x1[idx] - x0[idx] + 1, y1[idx] - y0[idx] + 1
    n = bw * bh
    who = np.repeat(idx, n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    px = x0[who] + k % np.repeat(bw, n)
    py = y0[who] + k // np.repeat(bw, n)
    dist = np.hypot(px - cx[who], py - cy[who])
    val = value[who] * np.clip((radius[who] + edge * 0.5 - dist) / edge, 0.0, 1.0) ** 1.5
    np.maximum.at(out, (py, px), val)
    return out


def _bowl(shape: tuple[int, int], cx: F64, cy: F64, radius: F64, depth: F64) -> F64:
    """Pits: the deepest of cosine bowls of ``depth`` and ``radius`` (px) at each pixel."""
    h, w = shape
    out = np.zeros(shape)
    if cx.size == 0:
        return out
    yy, xx = np.mgrid[0:h, 0:w]
    for k in np.nonzero(
        (cx + radius >= 0) & (cx - radius <= w) & (cy + radius >= 0) & (cy - radius <= h)
    )[0]:
        x0, x1 = max(int(cx[k] - radius[k]), 0), min(int(cx[k] + radius[k]) + 2, w)
        y0, y1 = max(int(cy[k] - radius[k]), 0), min(int(cy[k] + radius[k]) + 2, h)
        if x1 <= x0 or y1 <= y0:
            continue
        d = np.hypot(xx[y0:y1, x0:x1] - cx[k], yy[y0:y1, x0:x1] - cy[k]) / radius[k]
        bowl = depth[k] * 0.5 * (1.0 + np.cos(math.pi * np.clip(d, 0.0, 1.0)))
        out[y0:y1, x0:x1] = np.maximum(out[y0:y1, x0:x1], bowl)
    return out


def reflectance(melanin: F64, blood: F64) -> F64:
    """Diffuse reflectance (..., 3) of skin with epidermal melanin fraction ``melanin`` and
    dermal blood fraction ``blood``."""
    mua = blood[..., None] * _BLOOD + _BASE
    rd = np.exp(-7.0 * np.sqrt(mua / (3.0 * (mua + _SCATTER))))
    t = np.exp(-melanin[..., None] * _MELANIN * EPIDERMIS_CM)
    out: F64 = t * t * rd
    return out


def skin(seed: int, look: dict[str, Any], view: View, units: list[dict[str, Any]]) -> Skin:
    """The skin of site ``seed`` in the frame (see the module docstring)."""
    um = view.um
    r = site.stream(seed, 20)
    key = int(r.integers(0, 2**62))
    # coarse grid (every ~25 um) for the band-limited fields; fine grid (~5 um) for grain
    coarse = max(25.0 / um, 1.0)
    xc, yc, _ = _grid(view, coarse)
    fine = max(5.0 / um, 1.0)
    xf, yf, _ = _grid(view, fine)
    orient = site.stream_field(look, xc, yc)
    net = _to_pixels(_phasor(key, xc, yc, look["network_um"], None, 0), coarse, view)
    crease = _to_pixels(
        _phasor(key, xc, yc, look["crease_um"], orient + math.pi / 2, 10), coarse, view
    )
    tone = _to_pixels(_waves(site.stream(seed, 21), xc, yc, 18, 250.0, 4000.0, 0.8), coarse, view)
    red = _to_pixels(_waves(site.stream(seed, 22), xc, yc, 14, 300.0, 3000.0, 1.0), coarse, view)
    relief = _to_pixels(_waves(site.stream(seed, 23), xc, yc, 16, 120.0, 1500.0, 0.6), coarse, view)
    flakes = _to_pixels(_waves(site.stream(seed, 24), xc, yc, 18, 90.0, 450.0, 0.6), coarse, view)
    grain = _to_pixels(_waves(site.stream(seed, 25), xf, yf, 30, 15.0, 60.0, 0.3), fine, view)
    # network: thin lines where the phase passes 0, cells between; creases: phase lines too
    line = np.exp(-(np.angle(net) ** 2) / (2.0 * 0.55**2))
    crease_line = np.exp(-(np.angle(crease) ** 2) / (2.0 * 0.35**2))
    shape = (view.h, view.w)
    melanin = look["epidermal_melanin"] * (
        1.0 + 0.12 * tone + 0.06 * grain + 0.45 * look["network"] * line
    )
    blood = look["blood_fraction"] * (1.0 + 0.8 * look["erythema"] + 0.2 * red).clip(0.5)
    height = look["relief_um"] * (relief + 0.25 * grain) - 1.5 * look["relief_um"] * crease_line
    scale = np.clip((flakes - (2.8 - 1.0 * look["scale"])) / 0.6, 0.0, 1.0) * (look["scale"] > 0)
    height += 6.0 * scale
    white = np.zeros(shape)
    yellow = np.zeros(shape)
    grey = np.zeros(shape)
    if units:
        ux, uy = view.px(np.array([u["x"] for u in units]), np.array([u["y"] for u in units]))
        rad = np.array([u["r"] for u in units]) / um
        depth = np.array([u["depth"] for u in units])
        height -= _bowl(shape, ux, uy, rad, depth)
        n = np.array([u["n"] for u in units])
        yel = np.array([u["yellow"] for u in units])
        yellow = _stamp(shape, ux[yel], uy[yel], rad[yel] * 0.9, np.full(int(yel.sum()), 1.0), 2.0)
        grey = _stamp(shape, ux, uy, rad * 0.75, np.where(n == 0, 0.5, 0.25), 2.0)
        rm = site.stream(seed, 26)
        if rm.random() < 0.35 and look["fitzpatrick"] >= 2:  # peripilar sign
            ring = _stamp(shape, ux, uy, rad * 1.6, np.where(n > 0, 0.5, 0.0), 3.0)
            melanin = melanin * (
                1.0 + ring - 0.9 * _stamp(shape, ux, uy, rad * 1.05, np.where(n > 0, 0.5, 0.0), 2.0)
            )
    dots = _cell_marks(seed, look, view)
    if dots["white"][0].size:
        cx, cy, rad = dots["white"]
        white = np.maximum(white, _stamp(shape, cx, cy, rad, np.full(cx.size, 1.0), 1.5))
    if dots["vessel"][0].size:
        cx, cy, rad = dots["vessel"]
        blood = blood * (1.0 + 5.0 * _stamp(shape, cx, cy, rad, np.full(cx.size, 1.0), 1.0))
    melanin = melanin * (1.0 - 0.85 * white)
    refl = reflectance(melanin, blood)
    refl = refl * (1.0 - 0.25 * grey[..., None])
    refl = refl * (1.0 - yellow[..., None] * np.array([0.02, 0.12, 0.5]))
    refl = refl + (np.array([0.62, 0.6, 0.52]) - refl) * (0.55 * scale[..., None])
    hp = height / um
    gy, gx = np.gradient(hp)
    nrm = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
    sheen = look["sebum"] * (0.5 + 0.5 * np.clip(tone, -1, 1)) * (1.0 - scale)
    return Skin(
        height.astype(np.float32),
        nrm.astype(np.float32),
        refl.astype(np.float32),
        sheen.astype(np.float32),
    )


def _cell_marks(seed: int, look: dict[str, Any], view: View) -> dict[str, tuple[F64, F64, F64]]:
    """Pinpoint white dots (eccrine openings of dark skin) and vessel dots/commas, drawn per
    world cell; (x px, y px, radius px) each."""
    u = np.array([-0.5, view.w - 0.5, -0.5, view.w - 0.5])
    v = np.array([-0.5, -0.5, view.h - 0.5, view.h - 0.5])
    x, y = view.world(u, v)
    i_lo, i_hi = (
        math.floor((x.min() - 100) / site.CELL_UM),
        math.floor((x.max() + 100) / site.CELL_UM),
    )
    j_lo, j_hi = (
        math.floor((y.min() - 100) / site.CELL_UM),
        math.floor((y.max() + 100) / site.CELL_UM),
    )
    got: dict[str, list[tuple[float, float, float]]] = {"white": [], "vessel": []}
    for i in range(i_lo, i_hi + 1):
        for j in range(j_lo, j_hi + 1):
            r = site.stream(seed, 30, i, j)
            for _ in range(int(r.poisson(look["white_dots_per_mm2"]))):
                got["white"].append(
                    (
                        (i + r.random()) * site.CELL_UM,
                        (j + r.random()) * site.CELL_UM,
                        float(r.uniform(10.0, 20.0)),
                    )
                )
            for _ in range(int(r.poisson(look["vessels_per_mm2"]))):
                x0, y0 = (i + r.random()) * site.CELL_UM, (j + r.random()) * site.CELL_UM
                ang, bend = float(r.uniform(0, 2 * math.pi)), float(r.normal(0.0, 0.6))
                for k in range(int(r.integers(1, 6))):
                    got["vessel"].append(
                        (
                            x0 + 14.0 * k * math.cos(ang + bend * k * 0.3),
                            y0 + 14.0 * k * math.sin(ang + bend * k * 0.3),
                            float(r.uniform(6.0, 11.0)),
                        )
                    )
    out: dict[str, tuple[F64, F64, F64]] = {}
    for name, pts in got.items():
        a = np.array(pts, dtype=np.float64).reshape(-1, 3)
        px, py = view.px(a[:, 0], a[:, 1])
        out[name] = (np.asarray(px), np.asarray(py), a[:, 2] / view.um)
    return out
