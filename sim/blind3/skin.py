"""The scalp of blind-3, drawn in CIELAB: a measured-looking base colour per skin tone,
slow erythema and pigment mottling (B-spline fBm), a honeycomb pigment network (Worley cell
borders), arborising vessels, follicular openings with peripilar halo, yellow, white and
black dots and ink marks, all softened by a subsurface blur; then the surface relief on top:
skin furrows (Worley) and anisotropic microrelief (Gabor noise). Output is linear sRGB.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind3.colour import lab_colour, lab_to_linear
from sim.blind3.follicles import World
from sim.blind3.noise import fbm, gabor, value_noise, worley
from sim.blind3.strokes import catmull_rom, draw_band, resample

F32 = NDArray[np.float32]


def disc(
    img: F32,
    x: float,
    y: float,
    radius: float,
    colour: F32,
    opacity: float,
    soft: float = 1.0,
    ring: float = 0.0,
) -> None:
    """A soft disc (``ring`` > 0: an annulus of that width outside ``radius``) composited in
    place; ``soft``: edge width in pixels."""
    h, w = img.shape[:2]
    outer = radius + ring + soft + 1
    x0, x1 = max(int(x - outer), 0), min(int(x + outer) + 2, w)
    y0, y1 = max(int(y - outer), 0), min(int(y + outer) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(x)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(y)
    d = np.sqrt(xs * xs + ys * ys)
    s = np.float32(max(soft, 0.5))
    if ring > 0:
        a = np.clip((d - radius) / s + 0.5, 0, 1) * np.clip((radius + ring - d) / s + 0.5, 0, 1)
    else:
        a = np.clip((radius - d) / s + 0.5, 0, 1)
    a = a * np.float32(opacity)
    view = img[y0:y1, x0:x1]
    view += a[..., None] * (colour - view)


def _vessel(
    img: F32,
    rng: np.random.Generator,
    look: dict[str, Any],
    x: float,
    y: float,
    angle: float,
    length: float,
    radius: float,
    depth: int,
) -> None:
    upp = look["um_per_px"]
    cp = max(60.0 / upp, 3.0)
    n = max(3, int(length / cp))
    ang = angle + np.cumsum(rng.normal(0, 0.25, n))
    steps = np.stack([np.cos(ang), np.sin(ang)], axis=1) * cp
    ctrl = np.vstack([np.zeros((1, 2)), np.cumsum(steps, axis=0)]) + np.array([x, y])
    pts, arc = resample(catmull_rom(ctrl, 6), max(radius * 2, 3.0), length)
    colour = lab_colour(
        float(rng.uniform(38, 50)), float(rng.uniform(35, 48)), float(rng.uniform(15, 25))
    )
    seen = float(np.clip((look["skin_lab"][0] - 25) / 40, 0.15, 1.0))  # melanin hides vessels
    draw_band(img, pts, arc, radius, colour, float(rng.uniform(0.2, 0.45)) * seen)
    if depth < 3:
        for _ in range(int(rng.integers(1, 3))):
            k = int(rng.integers(1, len(pts)))
            a2 = float(np.arctan2(*(pts[k] - pts[k - 1])[::-1])) + float(
                rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
            )
            _vessel(
                img,
                rng,
                look,
                float(pts[k, 0]),
                float(pts[k, 1]),
                a2,
                length * 0.55,
                max(radius * 0.7, 0.6),
                depth + 1,
            )


def draw_skin(
    seed_rng: np.random.Generator,
    look: dict[str, Any],
    world: World,
    h: int,
    w: int,
    bare: list[bool] | None = None,
) -> tuple[F32, F32]:
    """The scalp without hairs (linear sRGB, (h, w, 3)) and its surface relief (h, w), the
    latter used again for glare and sebum shine. ``bare``: per unit, whether its opening is
    left undrawn."""
    upp = look["um_per_px"]
    rng = np.random.default_rng(seed_rng.integers(0, 2**63, 8))
    r = [np.random.default_rng(int(s)) for s in rng.integers(0, 2**63, 8)]
    lab = np.empty((h, w, 3), dtype=np.float32)
    lab[..., 0] = look["skin_lab"][0] + 2.5 * fbm(r[0], h, w, 1500 / upp, 3)
    red = fbm(r[1], h, w, 2500 / upp, 3)
    lab[..., 1] = look["skin_lab"][1] + look["erythema"] * np.clip(red, -0.4, None)
    lab[..., 2] = look["skin_lab"][2] + 0.8 * fbm(r[2], h, w, 1200 / upp, 3) + 0.3 * red
    # brown mottling of melanin at ~0.3 mm
    mott = value_noise(r[3], h, w, 300 / upp)
    lab[..., 0] -= 1.2 * np.maximum(mott, 0)
    if look["pigment_network"]:
        f1, f2 = worley(r[4], h, w, look["network_cell_um"] / upp)
        width = max(14.0 / upp, 0.7)
        lines = np.exp(-(((f2 - f1) / np.float32(width)) ** 2))
        holes = np.exp(-((f1 / np.float32(0.35 * look["network_cell_um"] / upp)) ** 2))
        mask = np.clip(0.55 + 0.6 * value_noise(r[5], h, w, 1800 / upp), 0, 1)
        depth = look["network_depth"]
        lab[..., 0] -= depth * mask * (0.75 * lines + 0.25 * (1 - holes))
        lab[..., 2] += 0.25 * depth * mask * lines
    img = lab_to_linear(lab)
    del lab
    if look["vessels"]:
        vr = np.random.default_rng(r[6].integers(0, 2**63))
        for _ in range(int(vr.integers(1, 4))):
            x, y = vr.uniform(0, w), vr.uniform(0, h)
            _vessel(
                img,
                vr,
                look,
                float(x),
                float(y),
                float(vr.uniform(0, 2 * np.pi)),
                float(vr.uniform(600, 1800)) / upp,
                float(vr.uniform(6, 14)) / upp,
                0,
            )
    _openings(img, look, world, rng, bare)
    # light scattered under the surface softens everything drawn so far
    sigma = max(look["subsurface_um"] / upp, 0.3)
    img = ndimage.gaussian_filter(img, sigma=(sigma, sigma, 0), mode="nearest", truncate=3.0)
    relief = _relief(r[7], look, h, w)
    img *= np.exp(relief)[..., None]
    return img, relief


def _openings(
    img: F32,
    look: dict[str, Any],
    world: World,
    rng: np.random.Generator,
    bare: list[bool] | None,
) -> None:
    upp = look["um_per_px"]
    h, w = img.shape[:2]
    base_seed = int(rng.integers(0, 2**62))
    pad = 400.0 / upp
    for k, u in enumerate(world.units):
        if not (-pad < u.x < w + pad and -pad < u.y < h + pad) or (bare and bare[k]):
            continue
        ur = np.random.default_rng([base_seed, k])
        rad = u.radius_um / upp
        if u.kind == "hair":
            if look["halo"] > 0:  # peripilar sign: a brownish ring round the opening
                halo = lab_colour(
                    look["skin_lab"][0] - 10 * look["halo"],
                    look["skin_lab"][1],
                    look["skin_lab"][2] + 3,
                )
                disc(img, u.x, u.y, rad * 1.1, halo, 0.6, soft=rad * 0.8, ring=rad * 1.2)
            dim = lab_colour(
                look["skin_lab"][0] - float(ur.uniform(4, 10)),
                look["skin_lab"][1] + 2,
                look["skin_lab"][2] - 1,
            )
            disc(img, u.x, u.y, rad, dim, float(ur.uniform(0.4, 0.8)), soft=max(rad * 0.5, 0.7))
        elif u.kind == "yellow":
            col = lab_colour(
                float(ur.uniform(66, 80)), float(ur.uniform(4, 12)), float(ur.uniform(30, 50))
            )
            disc(img, u.x, u.y, rad, col, float(ur.uniform(0.5, 0.85)), soft=max(rad * 0.4, 0.7))
            core = lab_colour(85, 2, 25)
            disc(img, u.x, u.y, rad * 0.4, core, 0.4, soft=max(rad * 0.3, 0.5))
        elif u.kind == "white":
            col = lab_colour(float(ur.uniform(82, 94)), 1, float(ur.uniform(3, 9)))
            disc(
                img,
                u.x,
                u.y,
                rad * 0.8,
                col,
                float(ur.uniform(0.5, 0.85)),
                soft=max(rad * 0.3, 0.6),
            )
        else:  # black dot: a pigmented hair broken at the skin surface
            col = lab_colour(float(ur.uniform(10, 20)), 2, 3)
            disc(img, u.x, u.y, rad / 1.0, col, 0.95, soft=max(rad * 0.25, 0.6))
    # pinpoint white dots: eccrine ducts and empty openings between the units
    n = int(look["white_dots_per_cm2"] * w * h * (upp * 1e-4) ** 2)
    wr = np.random.default_rng([base_seed, 1 << 40])
    for _ in range(n):
        x, y = wr.uniform(0, w), wr.uniform(0, h)
        rad = float(wr.uniform(18, 45)) / upp
        col = lab_colour(float(wr.uniform(80, 92)), 1, 6)
        disc(img, float(x), float(y), rad, col, float(wr.uniform(0.35, 0.8)), soft=rad * 0.5)
    if look["ink_mark"]:
        ir = np.random.default_rng([base_seed, 1 << 41])
        x, y = ir.uniform(0.15 * w, 0.85 * w), ir.uniform(0.15 * h, 0.85 * h)
        rad = float(ir.uniform(150, 450)) / upp
        ink = lab_colour(
            float(ir.uniform(18, 30)), float(ir.uniform(0, 8)), float(ir.uniform(-30, -12))
        )
        for _ in range(int(ir.integers(6, 14))):  # pigment granules of a tattoo dot
            gx = x + ir.normal(0, rad * 0.35)
            gy = y + ir.normal(0, rad * 0.35)
            disc(
                img,
                float(gx),
                float(gy),
                rad * float(ir.uniform(0.3, 0.7)),
                ink,
                float(ir.uniform(0.3, 0.7)),
                soft=rad * 0.3,
            )


def _relief(rng: np.random.Generator, look: dict[str, Any], h: int, w: int) -> F32:
    """Log-gain of the skin surface: furrows, microrelief, fine grain."""
    upp = look["um_per_px"]
    f1, f2 = worley(rng, h, w, look["furrow_cell_um"] / upp)
    furrow = np.exp(-(((f2 - f1) / np.float32(max(10.0 / upp, 0.7))) ** 2))
    relief = -np.float32(look["furrow_depth"]) * furrow
    wl = 60.0 / upp
    if wl >= 2.5:
        relief += np.float32(0.5 * look["grain"]) * gabor(rng, h, w, wl, look["relief_angle"], 0.5)
    grain_cell = max(25.0 / upp, 1.0)
    relief += np.float32(look["grain"]) * value_noise(rng, h, w, grain_cell)
    out: F32 = relief.astype(np.float32)
    return out
