"""Small skin marks of the independent generator, drawn as shapes on the supersampled canvas:
follicle openings, peripilar halos, white and yellow dots, scale flakes and vessels."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import ImageDraw

from sim.heldout.hairs import Units
from sim.heldout.params import Params, skin_colour

F64 = NDArray[np.float64]


def _rgba(rgb: F64 | tuple[float, float, float], alpha: float) -> tuple[int, int, int, int]:
    c = np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(int)
    return int(c[0]), int(c[1]), int(c[2]), int(np.clip(round(alpha * 255), 0, 255))


def _ellipse(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    rx: float,
    ry: float,
    angle: float,
    rgba: tuple[int, int, int, int],
    outline: tuple[int, int, int, int] | None = None,
    width: int = 0,
) -> None:
    """A rotated ellipse as a polygon (Pillow's ellipses are axis-aligned)."""
    k = 20 if max(rx, ry) > 6 else 10
    t = np.linspace(0, 2 * math.pi, k, endpoint=False)
    ca, sa = math.cos(angle), math.sin(angle)
    ex, ey = rx * np.cos(t), ry * np.sin(t)
    pts = [
        (float(x + ca * a - sa * b), float(y + sa * a + ca * b))
        for a, b in zip(ex, ey, strict=True)
    ]
    draw.polygon(pts, fill=rgba, outline=outline, width=width)


def _inside(xy: F64, p: Params, pad_px: float) -> NDArray[np.bool_]:
    x, y = xy[:, 0], xy[:, 1]
    out: NDArray[np.bool_] = (x > -pad_px) & (x < p.width + pad_px) & (y > -pad_px)
    out &= y < p.height + pad_px
    return out


def draw_openings(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, units: Units, p: Params, ss: int
) -> None:
    """Halos and openings of every unit near the frame; some empty openings as yellow dots."""
    upp = p.um_per_px
    skin = np.array(skin_colour(p.skin_tone, p.skin_warmth))
    near = np.flatnonzero(_inside(units.xy, p, 200.0 / upp))
    dark = skin * np.array([0.42, 0.36, 0.34])
    for i in near:
        x, y = (units.xy[i] * ss) + (ss - 1) / 2.0
        n = int(units.hairs[i])
        r = (float(rng.uniform(28.0, 45.0)) + 10.0 * n) / upp * ss
        a = float(rng.uniform(0, math.pi))
        if p.halo > 0 and n > 0:
            rh = r * float(rng.uniform(2.2, 3.8))
            tint = skin * np.array([0.78, 0.72, 0.74])
            _ellipse(
                draw, x, y, rh, rh * 0.9, a, _rgba(tint, p.halo * float(rng.uniform(0.5, 1.0)))
            )
        vis = p.opening_darkness * float(rng.uniform(0.6, 1.2))
        if n == 0 and rng.random() < 0.35:
            yellow = np.array([0.90, 0.76, 0.42])
            rim = _rgba(yellow * 0.75, 0.6)
            _ellipse(draw, x, y, r * 1.3, r * 1.15, a, _rgba(yellow, 0.7), rim, max(1, ss))
        elif n == 0 and rng.random() < 0.3:
            _ellipse(draw, x, y, r * 0.5, r * 0.45, a, _rgba((0.97, 0.96, 0.94), 0.8))
        elif vis > 0.02:
            _ellipse(
                draw, x, y, r, r * float(rng.uniform(0.75, 1.0)), a, _rgba(dark, min(0.9, vis))
            )


def draw_dots(draw: ImageDraw.ImageDraw, rng: np.random.Generator, p: Params, ss: int) -> None:
    """Pinpoint white dots (sweat and follicle openings) and yellow dots at random places."""
    upp = p.um_per_px
    area_cm2 = p.width * p.height * (upp * 1e-4) ** 2
    for _ in range(int(rng.poisson(p.white_dots_per_cm2 * area_cm2))):
        x, y = rng.uniform((0, 0), (p.width, p.height)) * ss
        r = float(rng.uniform(7.0, 22.0)) / upp * ss
        _ellipse(draw, x, y, r, r, 0.0, _rgba((0.98, 0.97, 0.95), float(rng.uniform(0.5, 0.95))))
    for _ in range(int(rng.poisson(p.yellow_dots_per_cm2 * area_cm2))):
        x, y = rng.uniform((0, 0), (p.width, p.height)) * ss
        r = float(rng.uniform(30.0, 110.0)) / upp * ss
        yellow = np.array([0.92, 0.78, 0.40]) * float(rng.uniform(0.85, 1.05))
        _ellipse(
            draw,
            x,
            y,
            r,
            r * float(rng.uniform(0.7, 1.0)),
            float(rng.uniform(0, math.pi)),
            _rgba(yellow, float(rng.uniform(0.45, 0.85))),
            _rgba(yellow * 0.7, 0.5),
            max(1, ss),
        )


def draw_flakes(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, p: Params, ss: int, share: float
) -> None:
    """Scale and flakes: pale irregular polygons, partly transparent (``share`` of them here)."""
    upp = p.um_per_px
    area_cm2 = p.width * p.height * (upp * 1e-4) ** 2
    for _ in range(int(rng.poisson(share * p.flakes_per_cm2 * area_cm2))):
        cx, cy = rng.uniform((0, 0), (p.width, p.height)) * ss
        r = float(rng.uniform(40.0, 350.0)) / upp * ss
        k = int(rng.integers(6, 11))
        t = np.sort(rng.uniform(0, 2 * math.pi, k))
        rr = r * rng.uniform(0.4, 1.0, k)
        pts = [
            (float(cx + a * math.cos(b)), float(cy + a * math.sin(b)))
            for a, b in zip(rr, t, strict=True)
        ]
        col = np.array([0.96, 0.94, 0.87]) * float(rng.uniform(0.9, 1.0))
        draw.polygon(pts, fill=_rgba(col, float(rng.uniform(0.25, 0.7))))


def draw_vessels(draw: ImageDraw.ImageDraw, rng: np.random.Generator, p: Params, ss: int) -> None:
    """Thin red curves: a meandering random walk of 0.3-2 mm per vessel."""
    upp = p.um_per_px
    for _ in range(p.vessels):
        pos = rng.uniform((0, 0), (p.width, p.height)) * ss
        length = float(rng.uniform(300.0, 2000.0)) / upp * ss
        steps = max(4, int(length / (8 * ss)))
        ang = float(rng.uniform(0, 2 * math.pi)) + np.cumsum(rng.normal(0, 0.25, steps))
        seg = length / steps
        pts = pos + np.cumsum(np.stack([np.cos(ang), np.sin(ang)], axis=1) * seg, axis=0)
        w = max(1, round(float(rng.uniform(6.0, 15.0)) / upp * ss))
        col = np.array([0.78, 0.22, 0.22]) * float(rng.uniform(0.8, 1.0))
        draw.line(
            [(float(x), float(y)) for x, y in pts],
            fill=_rgba(col, float(rng.uniform(0.3, 0.7))),
            width=w,
            joint="curve",
        )
