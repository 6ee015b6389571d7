"""Skin as layered optical media over a height field.

The skin's colour is not painted: it is computed with Kubelka-Munk theory from
what is in it.  A melanin-bearing epidermis (an absorbing filter) lies over a
blood-bearing, strongly scattering dermis (an infinitely thick layer), with a
few per cent of light scattered back at the surface.  Keratin scale, sebum
plugs and crust lie on top as thin translucent layers with their own
absorption and scattering; marker ink stains the horny layer.  Alongside the
colour, a height field (micrometres) holds furrows, the corneocyte relief,
the follicle pits and lifted plates, for the ring light to shade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.frame import Frame
from sim.blind2.look import Look
from sim.blind2.raster import blur, cell_lines, noise

Arr = NDArray[Any]

EPS_MEL = np.array([1.0, 1.4, 2.0], dtype=np.float32)  # epidermal melanin, per unit
Q_DERMIS = np.array([0.035, 0.09, 0.13], dtype=np.float32)  # bloodless dermis K/S
EPS_BLOOD = np.array([0.004, 0.11, 0.09], dtype=np.float32)
EPS_INK = np.array([0.9, 0.85, 0.6], dtype=np.float32)  # dermal (tattoo) carbon, bluish
PLATES = {  # absorption K (1/um, RGB), scattering S (1/um)
    "white": (np.array([0.0008, 0.0012, 0.002], dtype=np.float32), 0.06),
    "yellow": (np.array([0.002, 0.012, 0.06], dtype=np.float32), 0.07),
    "crust": (np.array([0.003, 0.012, 0.06], dtype=np.float32), 0.035),
}
SURFACE = 0.015
DARK_TINT = (0.8, 0.9, 0.95)  # what an opening's shadow and contents take out
HONEYCOMB_GAIN = 0.2  # relative melanin added on a honeycomb wall at full strength


@dataclass
class Canvas:
    """Per-pixel ingredients of the skin, filled in by the painters."""

    frame: Frame
    mel: Arr  # epidermal melanin optical depth
    blood: Arr  # dermal blood (1 = normal)
    ink: Arr  # dermal tattoo ink
    floor: Arr  # surface height without plates, um
    white: Arr  # keratin scale thickness, um
    yellow: Arr  # sebum / keratin plug thickness, um
    crust: Arr  # crust thickness, um
    lift: Arr  # extra height of lifted plate edges, um
    dark: Arr  # darkening inside openings, 0..1
    dye: Arr  # marker ink in the horny layer
    shine: Arr  # specular strength
    dye_k: Arr

    @classmethod
    def blank(cls, frame: Frame) -> Canvas:
        def z() -> Arr:
            return np.zeros((frame.height, frame.width), dtype=np.float32)

        return cls(frame, z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), np.zeros(3))


@dataclass
class SkinMaps:
    """What the shader needs: reflectance, heights and shine."""

    refl: Arr  # (3, h, w) linear reflectance, one plane per channel
    floor: Arr  # (h, w) um
    relief: Arr  # (h, w) um, plates included
    shine: Arr  # (h, w)


def ridge(field: Arr, width: float) -> Arr:
    """Thin lines along the zero crossings of a smooth field."""
    return np.asarray(np.exp(-np.square(field / width)), dtype=np.float32)


def base_layers(rng: np.random.Generator, look: Look, cv: Canvas) -> None:
    """Melanin, blood, relief and shine common to all skin."""
    f = cv.frame
    h, w, upp = f.height, f.width, f.upp

    def nz(scale_um: float) -> Arr:
        return noise(rng, h, w, scale_um / upp)

    def cells(cell_um: float, line_um: float, stretch: float) -> Arr:
        angle = float(rng.uniform(0.0, math.pi))
        return cell_lines(rng, h, w, cell_um / upp, line_um / upp, stretch, angle)

    tone = look.num("skin_tone")
    c_m = 0.06 + 1.4 * tone**1.5
    cv.mel[:] = c_m * (1.0 + 0.12 * nz(2500.0) + 0.05 * nz(300.0))
    if look.on("honeycomb"):
        cv.mel *= honeycomb(rng.spawn(1)[0], look, f)
    if look.on("pigment_blotches"):
        blot = np.clip((nz(1500.0) - 0.9) * 2.0, 0.0, 1.0)
        cv.mel *= 1.0 + 1.2 * blot * (1.0 + 0.3 * nz(200.0))
    ery = look.num("erythema")
    cv.blood[:] = np.maximum(1.0 + 0.15 * nz(1500.0) + ery * (1.0 + 0.6 * nz(2000.0)), 0.5)
    depth = look.num("furrow_depth_um")
    scale = look.num("furrow_scale_um")
    fade = np.clip(0.55 + 0.45 * nz(2.0 * scale), 0.0, 1.0)
    major = blur(cells(scale, 30.0, 1.3), 8.0 / upp)
    minor = cells(0.45 * scale, 12.0, 1.0) * np.clip(0.3 + 0.7 * nz(scale), 0.0, 1.0)
    cv.floor[:] = -depth * fade * (major + 0.25 * minor) + 3.0 * nz(700.0)
    if 35.0 / upp >= 4.0:
        cv.floor -= look.num("cell_relief_um") * cells(35.0, 3.0, 1.1)
        cv.floor += 0.2 * look.num("cell_relief_um") * nz(15.0)
    sebum = look.num("sebum")
    patches = np.clip(nz(1200.0) + 0.3, 0.0, 2.0)
    glint = np.clip(0.6 + 0.5 * nz(40.0), 0.0, 1.5)
    cv.shine[:] = (
        look.num("skin_shine") * (1.0 + 3.0 * sebum * patches) * (1.0 - 0.6 * major) * glint
    )


def honeycomb(rng: np.random.Generator, look: Look, f: Frame) -> Arr:
    """Melanin factor (about 1) of the honeycomb pigment network of darker scalps.

    In trichoscopy of Fitzpatrick IV-VI scalps the network is brown hyperchromic
    lines around paler (hypochromic) cells: the lines are thin and soft-edged
    (about 10-25 um across, far narrower than a terminal shaft), only a few to
    about 15 % darker than the cells, the cells 100-250 um wide, and the network
    comes and goes in patches rather than covering the frame.  It is drawn with
    its own generator (spawned by the caller, so the other skin draws do not
    depend on it).
    """
    h, w, upp = f.height, f.width, f.upp
    cell = float(rng.uniform(110.0, 230.0))
    line = float(rng.uniform(6.0, 11.0))  # Gaussian 1/e half width: 10-18 um at half height
    stretch, angle = float(rng.uniform(1.0, 1.25)), float(rng.uniform(0.0, math.pi))
    net = cell_lines(rng, h, w, cell / upp, line / upp, stretch, angle)
    broken = np.clip(0.55 + 0.6 * noise(rng, h, w, 0.8 * cell / upp), 0.0, 1.0)
    net = blur(net * broken, max(5.0 / upp, 0.6))  # soft edges: the pigment lies deeper
    patches = np.clip(0.3 + 1.2 * noise(rng, h, w, 900.0 / upp), 0.0, 1.0)
    amp = HONEYCOMB_GAIN * look.num("honeycomb_strength") * patches
    return np.asarray(1.0 + amp * (net - 0.12), dtype=np.float32)


def km_layer(k: Arr, s: Arr, d: Arr, below: Arr) -> tuple[Arr, Arr]:
    """Kubelka-Munk layer (absorption k, scattering s, thickness d) over ``below``.

    Returns (reflectance of the stack, the layer's own transmittance).
    """
    s = np.maximum(s, 1e-5)
    a = 1.0 + k / s
    b = np.sqrt(a * a - 1.0)
    x = np.minimum(b * s * d, 25.0)
    sh, ch = np.sinh(x), np.cosh(x)
    den = a * sh + b * ch
    r = sh / den
    t = b / den
    return r + t * t * below / (1.0 - r * below), t


def compose(cv: Canvas) -> SkinMaps:
    """Reflectance of the skin with everything on and in it (channel planes)."""
    h, w = cv.mel.shape
    refl = np.empty((3, h, w), dtype=np.float32)
    dark = np.clip(cv.dark, 0.0, 1.0) if cv.dark.any() else None
    ink, dye = cv.ink.any(), cv.dye.any()
    for c in range(3):
        r = cv.mel * np.float32(-2.0 * EPS_MEL[c])  # epidermis, both ways: exp(-2 tau)
        np.exp(r, out=r)
        q = cv.blood * EPS_BLOOD[c]  # dermis K/S, then its reflectance R_inf
        q += Q_DERMIS[c]
        if ink:
            q += cv.ink * EPS_INK[c]
        root = q + np.float32(2.0)
        root *= q
        np.sqrt(root, out=root)
        q += np.float32(1.0)
        q -= root
        r *= q
        q *= np.float32(-SURFACE)
        q += np.float32(1.0)
        r /= q
        r *= np.float32((1 - SURFACE) ** 2)
        top = cv.mel * np.float32(-0.5 * EPS_MEL[c])  # light scattered high in the epidermis
        np.exp(top, out=top)
        top *= np.float32(SURFACE)
        r += top
        if dark is not None:
            r *= 1.0 - np.float32(0.6 * DARK_TINT[c]) * dark
        if dye:
            r *= np.exp(np.float32(-2.0 * cv.dye_k[c]) * cv.dye)
        refl[c] = r
    thick = cv.white + cv.yellow + cv.crust
    mask = thick > 0.2
    if mask.any():
        wt, yl, cr = cv.white[mask], cv.yellow[mask], cv.crust[mask]
        tot = (wt + yl + cr)[:, None]
        k = (
            wt[:, None] * PLATES["white"][0]
            + yl[:, None] * PLATES["yellow"][0]
            + cr[:, None] * PLATES["crust"][0]
        ) / tot
        s = (wt * PLATES["white"][1] + yl * PLATES["yellow"][1] + cr * PLATES["crust"][1])[
            :, None
        ] / tot
        stacked, _ = km_layer(k, s, tot, refl[:, mask].T)
        refl[:, mask] = stacked.T
    relief = cv.floor + 0.3 * np.minimum(thick, 40.0) + cv.lift
    return SkinMaps(refl, cv.floor, relief.astype(np.float32), cv.shine)


def ink_absorption(colour: str) -> Arr:
    """Absorption of surgical marker ink (per unit concentration, RGB)."""
    table = {
        "violet": (0.55, 1.1, 0.25),
        "black": (1.0, 1.0, 0.95),
        "blue": (1.1, 0.5, 0.12),
        "green": (1.0, 0.25, 0.8),
    }
    return np.array(table[colour], dtype=np.float64)


def curve(
    rng: np.random.Generator, n: int, start: Arr, heading: float, bend: float, step: float
) -> tuple[Arr, Arr]:
    """A smooth random path of n steps (pixels) from a start point."""
    turns = np.cumsum(rng.normal(0.0, bend, n)) + heading
    x = start[0] + np.cumsum(np.cos(turns)) * step
    y = start[1] + np.cumsum(np.sin(turns)) * step
    return np.r_[start[0], x], np.r_[start[1], y]


def angle_noise(rng: np.random.Generator, n: int, amp: float) -> tuple[Arr, Arr]:
    """Random low harmonics (amplitude, phase) for ragged outlines: n rows of 4."""
    amps = rng.uniform(0.0, amp, (n, 4)) / np.array([1.0, 1.6, 3.0, 5.0])
    return amps, rng.uniform(0.0, 2 * math.pi, (n, 4))
