"""blind-22's skin: random fields by the turning-bands method, a pigment network from the
Hessian ridges of a random wave, colour by Kubelka-Munk mixing, and the marks on it.

* **Turning bands** (Matheron 1973): a 2-D field is the sum of 1-D processes laid along
  lines in many directions, each a moving average of white noise kept on a world lattice
  along its line (blocks of noise keyed by the seed, so the site is the same in any frame).
  Tone, redness, yellow and grain are such fields with Gaussian averaging kernels.
* **Pigment network**: the same bands with a cosine-under-Gaussian kernel make a random
  wave of the network's cell size; its crest lines, where the Hessian's lower eigenvalue is
  strongly negative and the upper one is not, are the network's pigmented lines, laid in
  patches by a coarser field.
* **Colour**: per channel the absorption-over-scattering ratio K/S of dermis, melanin,
  blood and carotene add up (Duncan's mixing); reflectance is Kubelka-Munk's infinite-layer
  ``R = 1 + K/S - sqrt((K/S)^2 + 2 K/S)``.
* **Marks**: follicle openings (dark, faint or not seen), yellow plugs, peripilar halos,
  pinpoint white dots, pigmented dots, dotted and looped vessels, scale flakes (some over the
  hair) and sebum glints; each is a round sprite (:func:`sim.blind22.cards.sprites`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind22.frame import Frame
from sim.blind22.site import PLOT_UM, stream

BLOCK = 2048  # lattice points of white noise per block along a band's line
DERMIS_KS = np.array([0.05, 0.068, 0.092])
MELANIN_KS = np.array([0.75, 1.4, 2.4])
BLOOD_KS = np.array([0.015, 0.24, 0.17])
CAROTENE_KS = np.array([0.0, 0.03, 0.22])
# free dots: the look's rate per mm2, radius (um), linear RGB, opacity range
DOTS = (
    ("white_dots", (7.0, 19.0), (0.8, 0.78, 0.74), (0.4, 0.8)),
    ("pigment_dots", (5.0, 16.0), (0.09, 0.06, 0.045), (0.3, 0.7)),
)


def _band_noise(seed: int, tag: str, band: int, lo: int, hi: int) -> NDArray[np.float64]:
    """White noise at lattice points lo..hi-1 of one band (whole blocks, keyed by seed)."""
    first, last = lo // BLOCK, (hi - 1) // BLOCK
    blocks = [
        stream(seed, "band", tag, band, b).standard_normal(BLOCK) for b in range(first, last + 1)
    ]
    whole = np.concatenate(blocks)
    return whole[lo - first * BLOCK : hi - first * BLOCK]


def turning_bands(
    seed: int,
    tag: str,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    kernel: NDArray[np.float64],
    step_um: float,
    bands: int = 14,
) -> NDArray[np.float64]:
    """A field at world points (x, y) um: the mean of ``bands`` 1-D moving averages (white
    noise on a lattice ``step_um`` apart convolved with ``kernel``, unit variance) along lines
    turned by evenly spread angles (jittered per site), times sqrt(bands)."""
    g = stream(seed, "angles", tag)
    angles = (np.arange(bands) + g.uniform(0, 1, bands)) * math.pi / bands
    k = kernel / math.sqrt(float((kernel * kernel).sum()))
    half = kernel.size // 2
    out = np.zeros(x.shape, np.float32)
    xs, ys = (x / step_um).astype(np.float32), (y / step_um).astype(np.float32)
    for b, a in enumerate(angles):
        tau = xs * np.float32(math.cos(a)) + ys * np.float32(math.sin(a))
        lo, hi = math.floor(float(tau.min())) - half - 1, math.ceil(float(tau.max())) + half + 2
        line = np.convolve(_band_noise(seed, tag, b, lo, hi), k, mode="same").astype(np.float32)
        pos = tau - np.float32(lo)
        j = np.clip(pos.astype(np.int64), 0, line.size - 2)
        frac = pos - j
        out += line[j] + frac * (line[j + 1] - line[j])
    return out.astype(np.float64) / math.sqrt(bands)


def _gauss(sigma_um: float, step_um: float) -> NDArray[np.float64]:
    t = np.arange(-math.ceil(3 * sigma_um / step_um), math.ceil(3 * sigma_um / step_um) + 1)
    out: NDArray[np.float64] = np.exp(-0.5 * (t * step_um / sigma_um) ** 2)
    return out


def _grid(
    frame: Frame, spacing_um: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """World points of a frame-aligned grid ``spacing_um`` apart (at most one per pixel)
    covering the frame, and its spacing in px."""
    step = max(1.0, spacing_um / frame.um)
    nu, nv = frame.w, frame.h
    if step > 1.0:
        nu, nv = math.ceil((frame.w - 1) / step) + 2, math.ceil((frame.h - 1) / step) + 2
    u, v = np.meshgrid(np.arange(nu) * step, np.arange(nv) * step)
    x, y = frame.world(u, v)
    return x, y, step


def _to_pixels(field: NDArray[np.float64], step: float, frame: Frame) -> NDArray[np.float64]:
    if step == 1.0 and field.shape == (frame.h, frame.w):
        return field
    v, u = np.meshgrid(np.arange(frame.h) / step, np.arange(frame.w) / step, indexing="ij")
    out: NDArray[np.float64] = ndimage.map_coordinates(field, [v, u], order=1, mode="nearest")
    return out


def field(
    seed: int, tag: str, frame: Frame, sigma_um: float, bands: int = 14
) -> NDArray[np.float64]:
    """A smooth unit-variance field of correlation length ``sigma_um`` on the frame's pixels
    (``bands`` lines' worth of turning bands)."""
    x, y, step = _grid(frame, sigma_um / 2.5)
    lattice = sigma_um / 4.0
    kernel = _gauss(sigma_um, lattice)
    return _to_pixels(turning_bands(seed, tag, x, y, kernel, lattice, bands), step, frame)


def network(seed: int, frame: Frame, cell_um: float) -> NDArray[np.float64]:
    """The pigment network's lines (0-1) on the frame's pixels: the crest lines of a random
    wave of wavelength ``cell_um`` - where the Hessian's lower eigenvalue is well below 0 and
    the slope along its eigenvector is nil (the distance to that line is the slope over the
    eigenvalue: a Newton step)."""
    spacing = cell_um / 16.0
    x, y, step = _grid(frame, spacing)
    lattice = cell_um / 16.0
    t = np.arange(-24, 25) * lattice
    kernel = np.cos(2 * math.pi * t / cell_um) * np.exp(-0.5 * (t / (0.7 * cell_um)) ** 2)
    wave = turning_bands(seed, "network", x, y, kernel, lattice, bands=15)
    h = step * frame.um  # the grid's spacing in um
    fy, fx = np.gradient(wave, h)
    fyy, fyx = np.gradient(fy, h)
    _, fxx = np.gradient(fx, h)
    low = 0.5 * (fxx + fyy) - np.sqrt(0.25 * (fxx - fyy) ** 2 + fyx**2)
    across = 0.5 * np.arctan2(2.0 * fyx, fxx - fyy) + 0.5 * math.pi  # the lower one's direction
    slope = fx * np.cos(across) + fy * np.sin(across)
    scale = (2 * math.pi / cell_um) ** 2
    crest = low < -0.35 * scale
    gap_um = np.abs(slope) / np.maximum(-low, 1e-12)  # Newton's step to the crest line
    half_um = 0.045 * cell_um
    lines = np.where(crest, np.clip(1.5 - gap_um / half_um, 0.0, 1.0), 0.0)
    return np.clip(_to_pixels(lines, step, frame), 0.0, 1.0)


def kubelka_munk(ks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Reflectance of an opaque layer of absorption-over-scattering ratio ``ks``."""
    out: NDArray[np.float64] = 1.0 + ks - np.sqrt(ks * ks + 2.0 * ks)
    return out


def skin_rgb(seed: int, look: dict[str, Any], frame: Frame) -> NDArray[np.float64]:
    """The bare skin's reflectance (h x w x 3, linear RGB)."""
    tone = field(seed, "tone", frame, 170.0)
    red = field(seed, "red", frame, 260.0)
    patch = field(seed, "patch", frame, 700.0)
    yellow = field(seed, "yellow", frame, 120.0)
    grain = field(seed, "grain", frame, 9.0, bands=9)
    net = network(seed, frame, float(look["network_um"]))
    patches = np.clip(0.6 + 0.8 * patch, 0.0, 1.0)
    mel = float(look["melanin"]) ** 1.6 * (1.0 + 0.16 * tone + 0.05 * grain)
    mel = mel * (1.0 + float(look["network"]) * patches * net)
    blood = float(look["blood"]) * (1.0 + 0.35 * red) + 0.05 * grain
    carotene = float(look["yellow"]) * (1.0 + 0.3 * yellow)
    ks = (
        DERMIS_KS
        + mel[..., None] * MELANIN_KS
        + np.clip(blood, 0, None)[..., None] * BLOOD_KS
        + carotene[..., None] * CAROTENE_KS
    )
    return kubelka_munk(ks)


@dataclass
class Marks:
    """Round marks in frame px: centre, radius, hole (ring), lobes (n, 6), linear RGB,
    opacity, and whether each lies over the hair (scale) rather than on the skin."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    r: NDArray[np.float64]
    hole: NDArray[np.float64]
    lobes: NDArray[np.float64]
    rgb: NDArray[np.float64]
    alpha: NDArray[np.float64]
    over: NDArray[np.bool_]


class _Stack:
    """Marks as they are drawn, in world um."""

    def __init__(self) -> None:
        self.rows: list[
            tuple[float, float, float, float, tuple[float, ...], tuple[float, ...], float, bool]
        ] = []

    def add(
        self,
        x: float,
        y: float,
        r: float,
        rgb: tuple[float, ...],
        alpha: float,
        *,
        hole: float = 0.0,
        lobes: tuple[float, ...] = (0.0,) * 6,
        over: bool = False,
    ) -> None:
        if alpha > 0 and r > 0:
            self.rows.append((x, y, r, hole, lobes, rgb, alpha, over))

    def placed(self, frame: Frame) -> Marks:
        if not self.rows:
            z = np.zeros(0)
            return Marks(z, z, z, z, np.zeros((0, 6)), np.zeros((0, 3)), z, np.zeros(0, bool))
        x, y = frame.px([r[0] for r in self.rows], [r[1] for r in self.rows])
        return Marks(
            x,
            y,
            np.array([r[2] for r in self.rows]) / frame.um,
            np.array([r[3] for r in self.rows]),
            np.array([r[4] for r in self.rows]),
            np.array([r[5] for r in self.rows]),
            np.array([r[6] for r in self.rows]),
            np.array([r[7] for r in self.rows]),
        )


def _lobes(g: np.random.Generator, size: float) -> tuple[float, ...]:
    amp = g.uniform(0, size, 3) * np.array([1.0, 0.6, 0.3])
    phase = g.uniform(0, 2 * math.pi, 3)
    return tuple(float(v) for pair in zip(amp, phase, strict=True) for v in pair)


def marks(seed: int, look: dict[str, Any], frame: Frame, units: list[dict[str, Any]]) -> Marks:
    """Every mark within reach of the frame: the units' openings, plugs and halos, and each
    plot's own dots, vessels, flakes and glints."""
    st = _Stack()
    dark = float(look["opening_dark"])
    light_skin = look["fitzpatrick"] <= 3
    for un in units:
        roll = float(un["look"])
        second = (roll * 7919.0) % 1.0
        x, y, r = float(un["x"]), float(un["y"]), float(un["r"])
        if not un["hairs"] and second < float(look["yellow_dots"]):
            st.add(x, y, r * 1.15, (0.5, 0.36, 0.1), 0.55)  # a keratin plug
            st.add(x, y, r * 1.35, (0.3, 0.2, 0.08), 0.3, hole=0.8)
            continue
        if roll > 0.22:  # seen: dark or faint
            strength = dark * (0.35 + 0.65 * roll) * (1.0 if light_skin else 0.7)
            st.add(x, y, r, (0.07, 0.05, 0.045), min(0.9, strength))
        if un["hairs"] and second > 1.0 - float(look["halos"]):
            st.add(x, y, r * 2.3, (0.22, 0.13, 0.09), 0.22, hole=0.55)
    x0, y0, x1, y1 = frame.world_box(300.0)
    area_mm2 = PLOT_UM * PLOT_UM * 1e-6
    sebum = look["light"] == "non-polarised"
    for px in range(math.floor(x0 / PLOT_UM), math.floor(x1 / PLOT_UM) + 1):
        for py in range(math.floor(y0 / PLOT_UM), math.floor(y1 / PLOT_UM) + 1):
            g = stream(seed, "marks", px, py)

            def spot(g: np.random.Generator = g, qx: int = px, qy: int = py) -> tuple[float, float]:
                return (qx + float(g.random())) * PLOT_UM, (qy + float(g.random())) * PLOT_UM

            for key, (lo, hi), rgb, (a_lo, a_hi) in DOTS:
                for _ in range(int(g.poisson(float(look[key]) * area_mm2))):
                    sx, sy = spot()
                    st.add(sx, sy, float(g.uniform(lo, hi)), rgb, float(g.uniform(a_lo, a_hi)))
            for _ in range(int(g.poisson(float(look["vessels"]) * area_mm2))):
                sx, sy = spot()
                looped = g.random() < 0.35
                beads = int(g.integers(6, 15)) if looped else 1
                bow, turn = float(g.uniform(15, 40)), float(g.uniform(0, 2 * math.pi))
                for b in range(beads):
                    a = turn + math.pi * b / max(beads - 1, 1)
                    bx = sx + (bow * math.cos(a) if looped else 0.0)
                    by = sy + (bow * 0.5 * math.sin(a) if looped else 0.0)
                    st.add(
                        bx,
                        by,
                        float(g.uniform(4, 10)),
                        (0.5, 0.07, 0.08),
                        float(g.uniform(0.25, 0.45)),
                    )
            for _ in range(int(g.poisson(float(look["flakes"]) * area_mm2))):
                sx, sy = spot()
                st.add(
                    sx,
                    sy,
                    float(g.uniform(35, 210)),
                    (0.8, 0.79, 0.76),
                    float(g.uniform(0.12, 0.4)),
                    lobes=_lobes(g, 0.35),
                    over=bool(g.random() < 0.3),
                )
            for _ in range(int(g.poisson(2.0 * float(look["sebum"]) * area_mm2)) if sebum else 0):
                sx, sy = spot()
                st.add(
                    sx,
                    sy,
                    float(g.uniform(20, 80)),
                    (1.0, 1.0, 0.97),
                    float(g.uniform(0.06, 0.16)),
                    lobes=_lobes(g, 0.25),
                )
    return st.placed(frame)
