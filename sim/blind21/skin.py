"""blind-21's skin: a phase-separation pigment network, recursively filtered mottle, and marks
drawn as arc-band shapes.

* The pigment network is a **Cahn-Hilliard** phase field (``c_t = lap(c^3 - c - lap c)``) on a
  periodic tile, quenched off the critical mix and stepped semi-implicitly in Fourier space
  until the minority phase has gathered into drops (the network's holes) in a matrix (its
  pigmented lines); the site's mix sets how thick the lines are.
* Tone, redness and fine grain are white noise through **recursive (IIR) first-order filters**
  run forward and back along rows and columns of periodic tiles: fields with an exponential
  correlation, at the length each filter's pole sets.
* Colour is a dermis's reflectance through melanin and blood absorbance per channel.
* Marks are shapes for :mod:`sim.blind21.quadtree`: follicle openings, yellow plugs, halos,
  pinpoint white dots, pigmented dots and scale flakes are discs and rings; vessels are
  wandering chains of arcs.
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from sim.blind21.growth import Chain, View, disc, grow, ring
from sim.blind21.world import TILE_UM, rng

DERMIS = np.array([0.84, 0.74, 0.68])
MELANIN_ABS = np.array([0.55, 0.86, 1.25])
BLOOD_ABS = np.array([0.06, 0.52, 0.36])


def cahn_hilliard(g: np.random.Generator, n: int, mix: float, steps: int) -> NDArray[np.float64]:
    """A phase field (about -1 to 1) on an n x n torus after ``steps`` semi-implicit steps
    from a small random start about ``mix``: the nonlinear term explicit, the fourth-order
    one implicit."""
    c = mix + 0.05 * g.standard_normal((n, n))
    ky = 2 * math.pi * np.fft.fftfreq(n)[:, None]
    kx = 2 * math.pi * np.fft.rfftfreq(n)[None, :]
    k2 = ky * ky + kx * kx
    dt = 1.0
    spec = np.fft.rfft2(c)
    for _ in range(steps):
        spec = (spec - dt * k2 * np.fft.rfft2(c * c * c - c)) / (1.0 + dt * k2 * k2)
        c = np.fft.irfft2(spec, s=(n, n))
    return np.asarray(c)


def recursive_noise(g: np.random.Generator, n: int, corr_px: float) -> NDArray[np.float64]:
    """White noise on an n x n torus through a first-order recursive filter (pole
    ``exp(-1/corr_px)``) forward and back on both axes; zero mean, unit deviation."""
    pole = math.exp(-1.0 / corr_px)
    x = np.tile(g.standard_normal((n, n)), (3, 3))
    for axis in (0, 1):
        x = signal.lfilter([1 - pole], [1, -pole], x, axis=axis)
        x = np.flip(signal.lfilter([1 - pole], [1, -pole], np.flip(x, axis), axis=axis), axis)
    mid = x[n : 2 * n, n : 2 * n]
    return np.asarray((mid - mid.mean()) / (mid.std() + 1e-12))


def _lay(
    tile: NDArray[np.float64], spacing_um: float, angle: float, world: NDArray[np.complex128]
) -> NDArray[np.float64]:
    """A periodic tile laid over world points (complex, um), ``spacing_um`` per tile cell
    and turned by ``angle``; bilinear between its cells."""
    at = world * cmath.exp(-1j * angle) / spacing_um
    got = ndimage.map_coordinates(
        tile, [at.imag.ravel(), at.real.ravel()], order=1, mode="grid-wrap"
    )
    return np.asarray(got.reshape(world.shape))


def fields(seed: int, look: dict[str, Any], view: View) -> dict[str, NDArray[np.float64]]:
    """The site's skin fields at every pixel (anchored to the world: a visit sees the same)."""
    g = rng(seed, "skin")
    net = cahn_hilliard(g, 96, float(look["network_mix"]), 110)
    tiles = {
        "net": (np.clip(0.5 * (1 - net), 0, 1), float(g.uniform(11, 19))),
        "patch": (recursive_noise(g, 64, 6.0), float(g.uniform(150, 260))),
        "tone": (recursive_noise(g, 64, 4.0), float(g.uniform(60, 110))),
        "red": (recursive_noise(g, 64, 3.0), float(g.uniform(45, 90))),
        "grain": (recursive_noise(g, 96, 1.2), float(g.uniform(5, 9))),
    }
    wx, wy = view.to_world(*np.meshgrid(np.arange(view.w), np.arange(view.h)))
    world = wx + 1j * wy
    return {k: _lay(t, sp, float(g.uniform(0, 2 * math.pi)), world) for k, (t, sp) in tiles.items()}


def skin_rgb(look: dict[str, Any], f: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Linear reflectance (h x w x 3) of the bare skin: melanin and blood over the dermis."""
    patches = np.clip(0.6 + 0.5 * f["patch"], 0, 1.2)
    lines = look["network"] * patches * (f["net"] - 0.5)
    mel = look["melanin"] * (1 + 0.1 * f["tone"] + 0.05 * f["grain"] + 0.55 * lines)
    blood = look["blood"] * (1 + 0.3 * f["red"])
    od = mel[..., None] * MELANIN_ABS + blood[..., None] * BLOOD_ABS
    rgb = DERMIS * np.exp(-od)
    if look["light"] == "non-polarised":  # sebum glints on the skin's micro-relief
        rgb = rgb + look["sebum"] * 0.35 * np.clip(f["grain"] - 1.7, 0, 1)[..., None]
    return np.asarray(rgb)


def mean_skin(look: dict[str, Any]) -> NDArray[np.float64]:
    """The site's skin colour without its texture (for tinting marks)."""
    od = look["melanin"] * MELANIN_ABS + look["blood"] * BLOOD_ABS
    return np.asarray(DERMIS * np.exp(-od))


def _vessel(g: np.random.Generator, x: float, y: float) -> Chain:
    """A capillary: 4-16 arcs of 10-30 um whose curvature wanders (commas, twists)."""
    n = int(g.integers(4, 17))
    bends = np.cumsum(g.normal(0, 4e-3, n)) * 0.5 + float(g.normal(0, 5e-3))
    half = np.full(n + 1, float(g.uniform(1.5, 3.5)))
    return grow(x, y, float(g.uniform(0, 2 * math.pi)), bends, g.uniform(10, 30, n), half)


RGB = tuple[float, float, float]
Mark = tuple[Chain, RGB, float]


def _rgb(a: NDArray[np.float64]) -> RGB:
    return (float(a[0]), float(a[1]), float(a[2]))


def _tile_marks(
    g: np.random.Generator, look: dict[str, Any], tx: int, ty: int, base: NDArray[np.float64]
) -> list[Mark]:
    """The flakes of scale, vessels, white and pigmented dots of one world tile."""
    out: list[Mark] = []
    area = TILE_UM * TILE_UM / 1e6  # mm2

    def spot() -> tuple[float, float]:
        return (tx + float(g.random())) * TILE_UM, (ty + float(g.random())) * TILE_UM

    for _ in range(int(g.poisson(look["flakes"] * area))):
        cx, cy = spot()
        spread = float(g.uniform(20, 60))
        for _ in range(int(g.integers(8, 22))):
            at = cx + float(g.normal(0, spread)), cy + float(g.normal(0, spread))
            out.append(
                (disc(*at, float(g.uniform(8, 30))), (0.8, 0.77, 0.66), float(g.uniform(0.1, 0.22)))
            )
    for _ in range(int(g.poisson(look["vessels"] * area))):
        out.append((_vessel(g, *spot()), (0.5, 0.09, 0.1), float(g.uniform(0.2, 0.45))))
    for _ in range(int(g.poisson(look["white_dots"] * area))):
        out.append((disc(*spot(), float(g.uniform(6, 14))), (0.8, 0.78, 0.74), 0.8))
    for _ in range(int(g.poisson(look["pigment_dots"] * area))):
        tone = _rgb(base * float(g.uniform(0.2, 0.45)))
        out.append((disc(*spot(), float(g.uniform(5, 14))), tone, float(g.uniform(0.5, 0.85))))
    return out


def marks(seed: int, look: dict[str, Any], view: View, units: list[dict[str, Any]]) -> list[Mark]:
    """The site's marks near the frame as (shape, linear RGB, opacity), bottom first."""
    base = mean_skin(look)
    out: list[Mark] = []
    pit = _rgb(base * np.array([0.5, 0.46, 0.45]))
    halo = _rgb(base * np.array([0.62, 0.55, 0.5]))
    for un in units:
        if look["pit_strength"] > 0.02:
            out.append((disc(un["x"], un["y"], un["r"]), pit, float(look["pit_strength"])))
        if not un["hairs"] and un["plug"] < look["yellow_dots"]:
            out.append((disc(un["x"], un["y"], 1.3 * un["r"]), (0.7, 0.55, 0.24), 0.8))
        elif un["hairs"] and un["plug"] < look["halos"]:
            out.append((ring(un["x"], un["y"], 1.9 * un["r"], 0.6 * un["r"]), halo, 0.35))
    x0, y0, x1, y1 = view.world_box(300.0)
    for tx in range(math.floor(x0 / TILE_UM), math.floor(x1 / TILE_UM) + 1):
        for ty in range(math.floor(y0 / TILE_UM), math.floor(y1 / TILE_UM) + 1):
            out += _tile_marks(rng(seed, "marks", tx, ty), look, tx, ty, base)
    return out
