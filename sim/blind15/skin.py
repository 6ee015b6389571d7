"""The bare scalp: tone, erythema, texture, creases, pigment network, freckles and speckle,
all as fractal Brownian motion of gradient noise (or hashed lattices) in world microns."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind15.noise import fbm, unit_hash

F64 = NDArray[np.float64]
ToWorld = Callable[[F64, F64], tuple[F64, F64]]


def _grid(h: int, w: int, k: int, to_world: ToWorld) -> tuple[F64, F64]:
    gy = np.arange(0, (h - 1) // k + 3) * float(k)
    gx = np.arange(0, (w - 1) // k + 3) * float(k)
    px, py = np.meshgrid(gx, gy)
    return to_world(px, py)


def _up(g: F64, k: int, h: int, w: int) -> F64:
    """Bilinear from a grid of spacing k (frame px) to the frame."""
    if k == 1:
        out1: F64 = g[:h, :w]
        return out1
    yi = np.arange(h) / k
    y0 = np.floor(yi).astype(np.int64)
    fy = (yi - y0)[:, None]
    rows = g[y0] * (1 - fy) + g[y0 + 1] * fy
    xi = np.arange(w) / k
    x0 = np.floor(xi).astype(np.int64)
    fx = (xi - x0)[None, :]
    out: F64 = rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx
    return out


def skin(look: dict[str, Any], seed: int, h: int, w: int, um: float, to_world: ToWorld) -> F64:
    """(h, w, 3) display RGB of the skin before marks, hairs and camera."""
    key = (seed * 1000003) & 0xFFFFFFFF
    k = max(1, int(12.0 / um), math.ceil(math.sqrt(h * w / 200_000)))
    wx, wy = _grid(h, w, k, to_world)
    kl = k * max(1, int(120.0 / um / k))
    lx, ly = _grid(h, w, kl, to_world)
    gh, gw = wx.shape
    # low-frequency fields on the coarse grid, brought to the fine grid
    tone = _up(fbm(lx, ly, 2600.0, key + 1, 3), kl // k, gh, gw)
    red = _up(fbm(lx, ly, 1400.0, key + 2, 2), kl // k, gh, gw)
    frk = _up(fbm(lx, ly, 1300.0, key + 3, 3), kl // k, gh, gw)
    tex = fbm(wx, wy, 260.0, key + 4, 3)
    # creases: ridges of stretched noise
    c, s = math.cos(look["heading"]), math.sin(look["heading"])
    u, v = c * wx + s * wy, -s * wx + c * wy
    crease = np.clip(fbm(u * 0.35, v, 420.0, key + 5, 2, ridged=True), 0, 1) ** 6
    net = np.clip(fbm(wx, wy, 190.0, key + 6, 2, gain=0.35, ridged=True), 0, 1) ** 3
    netf = net * look["network"]
    base = np.array(look["skin_rgb"])
    lum = 1.0 + 0.06 * tone + tex * look["texture"] - crease * look["creases"]
    blot = np.clip((frk - 0.15) * 4.0, 0.0, 1.0) * look["freckles"]
    dark_net = (0.3, 0.4, 0.52)
    dark_frk = (0.25, 0.36, 0.48)
    ery = look["redness"] * (1.0 + red)
    # speckle on a world lattice of ~7 um, at full resolution
    fx, fy = to_world(
        np.arange(w, dtype=np.float64)[None, :], np.arange(h, dtype=np.float64)[:, None]
    )
    sp = unit_hash(
        np.floor(fx / 7.0).astype(np.int64), np.floor(fy / 7.0).astype(np.int64), key + 7
    )
    speck = 1.0 + (sp - 0.5) * 0.05
    img = np.empty((h, w, 3))
    for ch in range(3):
        v_ch = base[ch] * lum
        if ch == 0:
            v_ch = v_ch + ery * 0.5
        else:
            v_ch = v_ch - ery * (0.6 if ch == 1 else 0.4) * base[ch]
        if ch == 2:
            v_ch = v_ch - look["yellowness"]
        v_ch = v_ch * (1.0 - dark_net[ch] * netf) * (1.0 - dark_frk[ch] * blot)
        img[:, :, ch] = _up(v_ch, k, h, w) * speck
    tone_f = _up(tone, k, h, w) if look["glints"] > 0 else tone
    if look["glints"] > 0:
        sp2 = unit_hash(
            np.floor(fx / 11.0).astype(np.int64), np.floor(fy / 11.0).astype(np.int64), key + 8
        )
        oil = np.clip(tone_f + 0.3, 0, 1) * look["glints"]
        g = np.clip((sp2 - 0.985) / 0.015, 0, 1) * oil
        img += g[:, :, None] * 0.6
    return img
