"""What lies on top of the scalp and hairs in a blind-3 frame: scale and dandruff flakes
(irregular noise-edged translucent plates, small and large, some over the hairs), sebum shine,
air bubbles in the immersion fluid, and glare of unpolarised light on the relief.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind3.colour import lab_colour
from sim.blind3.noise import fbm, value_noise

F32 = NDArray[np.float32]


def flakes(img: F32, look: dict[str, Any], rng: np.random.Generator, over: bool) -> None:
    """Scale flakes (``over``: the share lying over the hairs, else the share under them)."""
    if look["flakes"] == "none":
        return
    upp = look["um_per_px"]
    h, w = img.shape[:2]
    area = w * h * (upp * 1e-4) ** 2
    per_cm2 = 15.0 if look["flakes"] == "few" else 70.0
    n = int(rng.poisson(per_cm2 * area))
    for _ in range(n):
        big = rng.random() < 0.15
        size_um = float(rng.uniform(300, 1500) if big else rng.uniform(40, 300))
        keep = (rng.random() < look["flakes_over_hair"]) == over
        a = size_um / upp / 2
        b = a * float(rng.uniform(0.35, 0.9))
        x, y = float(rng.uniform(-a, w + a)), float(rng.uniform(-a, h + a))
        th = float(rng.uniform(0, math.pi))
        col = lab_colour(
            float(rng.uniform(84, 95)), float(rng.uniform(-1, 3)), float(rng.uniform(5, 18))
        )
        opacity = float(rng.uniform(0.25, 0.7))
        seed = int(rng.integers(0, 2**62))
        if not keep:
            continue
        _plate(img, x, y, a, b, th, col, opacity, np.random.default_rng(seed), upp)


def _plate(
    img: F32,
    x: float,
    y: float,
    a: float,
    b: float,
    th: float,
    col: F32,
    opacity: float,
    rng: np.random.Generator,
    upp: float,
) -> None:
    h, w = img.shape[:2]
    r = a * 1.4 + 2
    x0, x1 = max(int(x - r), 0), min(int(x + r) + 1, w)
    y0, y1 = max(int(y - r), 0), min(int(y + r) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    bh, bw = y1 - y0, x1 - x0
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(x)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(y)
    c, s = np.float32(math.cos(th)), np.float32(math.sin(th))
    u = (xs * c + ys * s) / np.float32(a)
    v = (-xs * s + ys * c) / np.float32(b)
    rad = np.sqrt(u * u + v * v)
    edge = 0.3 * value_noise(rng, bh, bw, max(a / 2.5, 1.0))
    inside = np.clip((1.0 + edge - rad) * np.float32(a / 2.0), 0, 1)
    tex = 0.5 + 0.5 * np.clip(fbm(rng, bh, bw, max(60.0 / upp, 1.5), 3), -1, 1)
    alpha = inside * np.float32(opacity) * (0.55 + 0.45 * tex)
    # the thick rim of a lifted flake is brighter
    rim = np.clip(1 - np.abs(1.0 + edge - rad) * np.float32(a / 3.0), 0, 1) * 0.25
    view = img[y0:y1, x0:x1]
    view += (alpha + rim * inside)[..., None] * (col - view)


def sebum(img: F32, look: dict[str, Any], relief: F32, rng: np.random.Generator) -> None:
    """Specular shine of sebum: small bright glints on the ridges of the relief."""
    if look["sebum"] <= 0:
        return
    h, w = img.shape[:2]
    upp = look["um_per_px"]
    blobs = value_noise(rng, h, w, 500 / upp)
    ridge = np.clip((relief - relief.mean()) / (relief.std() + 1e-6) - 1.0, 0, None)
    shine = np.clip(blobs - 1.2, 0, None) * ridge * np.float32(0.12 * look["sebum"])
    img += shine[..., None]


def bubbles(img: F32, look: dict[str, Any], rng: np.random.Generator) -> list[dict[str, float]]:
    """Air bubbles in the immersion fluid: a dark refracting rim, a bright glint, a slightly
    lighter inside. Returns where they are."""
    out: list[dict[str, float]] = []
    if not look["bubbles"]:
        return out
    h, w = img.shape[:2]
    upp = look["um_per_px"]
    for _ in range(int(rng.integers(1, 5))):
        rad = float(rng.uniform(40, 350)) / upp
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        rim_w = max(rad * float(rng.uniform(0.06, 0.14)), 1.0)
        out.append({"x_px": round(x, 1), "y_px": round(y, 1), "radius_px": round(rad, 1)})
        x0, x1 = max(int(x - rad - 3), 0), min(int(x + rad + 4), w)
        y0, y1 = max(int(y - rad - 3), 0), min(int(y + rad + 4), h)
        if x0 >= x1 or y0 >= y1:
            continue
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(x)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(y)
        d = np.sqrt(xs * xs + ys * ys) / np.float32(rad)
        inside = np.clip((1 - d) * np.float32(rad) + 0.5, 0, 1)
        rim = np.exp(-(((1 - d) * np.float32(rad) / np.float32(rim_w)) ** 2)) * inside
        ga = float(rng.uniform(0, 2 * math.pi))
        gx, gy = 0.55 * math.cos(ga), 0.55 * math.sin(ga)
        glint = np.exp(
            -(((xs / np.float32(rad) - gx) ** 2 + (ys / np.float32(rad) - gy) ** 2) / 0.012)
        )
        view = img[y0:y1, x0:x1]
        view *= (1 + 0.08 * inside - 0.75 * rim)[..., None]
        view += (0.9 * glint * inside)[..., None]
    return out


def glare(img: F32, look: dict[str, Any], relief: F32, rng: np.random.Generator) -> None:
    """Unpolarised light reflected by the skin surface: broad sheen, brightest on ridges."""
    g = look["glare"]
    if g <= 0:
        return
    h, w = img.shape[:2]
    upp = look["um_per_px"]
    broad = np.clip(0.4 + 0.6 * fbm(rng, h, w, 2500 / upp, 2), 0, None)
    ridge = np.clip(1 + 6 * (relief - relief.mean()), 0, None)
    img += (np.float32(g * 0.15) * broad * ridge)[..., None]
