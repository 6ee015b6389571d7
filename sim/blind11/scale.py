"""Scale: flakes of stratum corneum grown plate by plate.

A flake starts as one polygonal plate (a corneocyte aggregate) and grows by an Eden-like
process: a random existing plate buds a new, slightly smaller plate next to it, biased
along the flake's long axis. The plates are drawn with Pillow over everything else (scale
lies on top of hairs), each with its own whiteness and opacity, thicker and more opaque
towards the flake's middle."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from sim.blind11.camera import Camera
from sim.blind11.design import Design
from sim.blind11.draw import REFL_MAX
from sim.blind11.streams import stream


def draw_scale(
    cam: Camera, ss: int, design: Design, seed: int, radius_um: float
) -> Image.Image | None:
    if design.scale_flakes == 0:
        return None
    rng = stream(seed, "scale")
    area_mm2 = math.pi * (radius_um / 1000.0) ** 2
    n = int(rng.poisson(design.scale_flakes * area_mm2 / 30.0))
    if n == 0:
        return None
    w, h = cam.width * ss, cam.height * ss
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    dr = ImageDraw.Draw(layer)
    white = np.array([0.86, 0.84, 0.8])
    yellow = np.array([0.86, 0.74, 0.42])
    drawn = 0
    for _ in range(n):
        ang = rng.uniform(0, 2 * math.pi)
        rad = radius_um * math.sqrt(rng.random())
        fx, fy = rad * math.cos(ang), rad * math.sin(ang)
        size = rng.uniform(18.0, 55.0)
        plates = int(rng.integers(1, 40))
        axis = rng.uniform(0, math.pi)
        centres = [(fx, fy, size)]
        for _ in range(plates - 1):
            px, py, ps = centres[int(rng.integers(0, len(centres)))]
            a = axis + rng.normal(0.0, 0.9) + (math.pi if rng.random() < 0.5 else 0.0)
            step = ps * rng.uniform(0.6, 1.0)
            centres.append(
                (px + step * math.cos(a), py + step * math.sin(a), ps * rng.uniform(0.8, 1.02))
            )
        tint = white + (yellow - white) * design.scale_yellow * rng.uniform(0.5, 1.0)
        base_a = rng.uniform(0.35, 0.85)
        arr = np.asarray(centres)
        dist = np.hypot(arr[:, 0] - fx, arr[:, 1] - fy)
        core = 1.0 - 0.5 * dist / max(float(dist.max()), 1.0)
        for k, (px, py, ps) in enumerate(centres):
            nv = int(rng.integers(5, 8))
            th = np.sort(rng.uniform(0, 2 * math.pi, nv))
            rr = ps * rng.uniform(0.6, 1.0, nv)
            vx, vy = px + rr * np.cos(th), py + rr * np.sin(th)
            qx, qy = cam.to_px(vx, vy)
            xs = (qx + 0.5) * ss - 0.5
            ys = (qy + 0.5) * ss - 0.5
            if xs.max() < 0 or ys.max() < 0 or xs.min() > w or ys.min() > h:
                continue
            a = float(np.clip(base_a * core[k] * rng.uniform(0.8, 1.15), 0.0, 0.95))
            c = np.clip(tint * rng.uniform(0.92, 1.05), 0.0, REFL_MAX)
            fill = (*(round(255 * a * float(v) / REFL_MAX) for v in c), round(255 * a))
            dr.polygon(np.stack([xs, ys], axis=1).ravel().tolist(), fill=fill)
            drawn += 1
    return layer if drawn else None
