"""The scalp skin as a lit height field: albedo from a melanin / blood absorption mix per
pixel, texture from gradient noise (furrows, roughness, flakes) and a Gray-Scott pattern
(honeycomb pigment network), follicle openings as pits with their own shading, and the
small things of trichoscopy (white and yellow dots, halos, redness, vessels, the shaft
under the translucent skin). Computed on a world grid, so both visits share it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind8.noise import fbm, gray_scott, upsample

Arr = NDArray[Any]

MEL = np.array([0.6, 0.8, 1.0], dtype=np.float32)
BLOOD = np.array([0.05, 0.6, 0.45], dtype=np.float32)
BASE = np.array([0.92, 0.85, 0.79], dtype=np.float32)


@dataclass(frozen=True)
class Grid:
    """World grid: cell (0, 0) at world ``(x0, y0)`` um, ``step`` um apart."""

    width: int
    height: int
    x0: float
    y0: float
    step: float

    def to_cell(self, x: Arr, y: Arr) -> tuple[Arr, Arr]:
        return (np.asarray(x) - self.x0) / self.step, (np.asarray(y) - self.y0) / self.step


@dataclass
class Marks:
    """What the hairs of this visit leave on the skin (world um)."""

    open_x: Arr
    open_y: Arr
    open_r: Arr
    open_used: Arr  # a hair stands in it this visit
    yellow_x: Arr
    yellow_y: Arr
    yellow_r: Arr
    sub_x: Arr
    sub_y: Arr
    sub_w: Arr  # darkening weight of subsurface shaft points


def _stamp(grid: Arr, cx: Arr, cy: Arr, radius: Arr, amp: Arr, ring: float = 0.0) -> None:
    """Adds a Gaussian (``ring`` = 0) or a ring of relative radius ``ring`` per point."""
    hgt, wid = grid.shape
    for x, y, rr, a in zip(cx, cy, radius, amp, strict=True):
        ext = 3.0 * rr * (1.0 + ring)
        xa, xb = max(int(x - ext), 0), min(int(x + ext) + 2, wid)
        ya, yb = max(int(y - ext), 0), min(int(y + ext) + 2, hgt)
        if xa >= xb or ya >= yb:
            continue
        xs = np.arange(xa, xb, dtype=np.float32) - x
        ys = np.arange(ya, yb, dtype=np.float32) - y
        d = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
        if ring > 0:
            prof = np.exp(-(((d - ring * rr) / (0.45 * rr)) ** 2))
        else:
            prof = np.exp(-0.5 * (d / rr) ** 2)
        grid[ya:yb, xa:xb] += a * prof


def _splat(shape: tuple[int, int], cx: Arr, cy: Arr, w: Arr) -> Arr:
    """Bilinear splat of weighted points into a grid."""
    hgt, wid = shape
    out = np.zeros(hgt * wid, dtype=np.float64)
    x0 = np.floor(cx).astype(np.int64)
    y0 = np.floor(cy).astype(np.int64)
    fx = cx - x0
    fy = cy - y0
    for dx, dy, ww in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xx, yy = x0 + dx, y0 + dy
        ok = (xx >= 0) & (xx < wid) & (yy >= 0) & (yy < hgt)
        out += np.bincount((yy * wid + xx)[ok], (w * ww)[ok], minlength=hgt * wid)
    return out.reshape(hgt, wid).astype(np.float32)


def _smooth(x: Arr, a: float, b: float) -> Arr:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def skin_fields(
    rng: np.random.Generator, look: dict[str, Any], g: Grid, marks: Marks
) -> tuple[Arr, Arr, Arr]:
    """Albedo (3, H, W), height (H, W) in um and shine mask (H, W) on the world grid."""
    shape = (g.height, g.width)
    step = g.step
    mel = look["melanin"] * (1.0 + 0.22 * fbm(rng, shape, step, 900.0, 3))
    blood = look["blood"] * (1.0 + 0.35 * fbm(rng, shape, step, 700.0, 3))
    # honeycomb pigment network: inverted Gray-Scott spots, warped and rotated
    spots = gray_scott(rng, 64, look["rd_feed"], 0.0649, 3000)
    net_cell = look["network_um"] / 12.0
    stride = max(1, int(net_cell / step / 2.0))
    ny = (shape[0] - 1) // stride + 2
    nx = (shape[1] - 1) // stride + 2
    wy = fbm(rng, (ny, nx), step * stride, 600.0, 2)
    wx = fbm(rng, (ny, nx), step * stride, 600.0, 2)
    ang = rng.uniform(0, 2 * math.pi)
    yy = (np.arange(ny, dtype=np.float32) * stride * step)[:, None]
    xx = (np.arange(nx, dtype=np.float32) * stride * step)[None, :]
    u = (math.cos(ang) * xx - math.sin(ang) * yy) / net_cell + 2.5 * wx
    v = (math.sin(ang) * xx + math.cos(ang) * yy) / net_cell + 2.5 * wy
    sp = ndimage.map_coordinates(spots, [v, u], order=1, mode="grid-wrap")
    net = upsample(1.0 - np.asarray(sp, dtype=np.float32), stride, shape)
    ns = look["network"]
    net = np.asarray(ndimage.gaussian_filter(net, max(0.12 * look["network_um"] / step, 0.3)))
    mel = mel * (1.0 + ns * 0.6 * (net - float(net.mean())))
    # height field: roughness, furrows, flakes
    height = look["roughness_um"] * fbm(rng, shape, step, 140.0, 3)
    rid = fbm(rng, shape, step, look["furrow_um"], 3, ridged=True)
    furrow = _smooth(rid, 0.72, 0.95) * look["furrow"]
    height = height - 14.0 * furrow
    flake_n = fbm(rng, shape, step, rng.uniform(300.0, 800.0), 4)
    thr = float(rng.uniform(0.15, 0.45))
    flake = _smooth(flake_n, thr, thr + 0.1) * look["scale"] * 0.75
    height = height + 9.0 * flake
    # pinpoint white dots (eccrine openings)
    area = shape[0] * shape[1] * step * step
    spacing = float(rng.uniform(170.0, 320.0))
    nwd = int(area / spacing**2 * (look["white_dots"] > 0))
    wdx = rng.uniform(0, shape[1], nwd)
    wdy = rng.uniform(0, shape[0], nwd)
    wdr = rng.uniform(5.0, 11.0, nwd) / step
    white = np.zeros(shape, dtype=np.float32)
    _stamp(white, wdx, wdy, np.maximum(wdr, 0.6), np.full(nwd, look["white_dots"]))
    # vessels: random walks of capillaries
    nv = int(look["vessels_per_mm2"] * area * 1e-6)
    pts_x: list[Arr] = []
    pts_y: list[Arr] = []
    for _ in range(nv):
        nstep = int(rng.integers(15, 80))
        turn = np.cumsum(rng.normal(0.0, 0.35, nstep)) + rng.uniform(0, 2 * math.pi)
        seg = 12.0 / step
        px = rng.uniform(0, shape[1]) + np.cumsum(seg * np.cos(turn))
        py = rng.uniform(0, shape[0]) + np.cumsum(seg * np.sin(turn))
        t = np.linspace(0.0, 1.0, 4 * nstep)
        pts_x.append(np.interp(t * (nstep - 1), np.arange(nstep), px))
        pts_y.append(np.interp(t * (nstep - 1), np.arange(nstep), py))
    vess = np.zeros(shape, dtype=np.float32)
    if pts_x:
        vx = np.concatenate(pts_x)
        vy = np.concatenate(pts_y)
        vess = _splat(shape, vx, vy, np.full(len(vx), 3.0 / 4.0 * 12.0 / step))
        vess = np.asarray(ndimage.gaussian_filter(vess, max(3.5 / step, 0.5)), np.float32)
    blood = blood + 1.1 * np.minimum(vess, 1.0)
    sebum = look["sebum"] * (0.5 + 0.5 * fbm(rng, shape, step, 350.0, 2))
    # ---- visit marks (no randomness below: both visits draw the same skin) ----
    ox, oy = g.to_cell(marks.open_x, marks.open_y)
    orad = marks.open_r / step
    used = marks.open_used
    if look["redness"] > 0 and used.any():
        red = np.zeros(shape, dtype=np.float32)
        _stamp(
            red,
            ox[used],
            oy[used],
            np.maximum(90.0 / step, 1.0) + 0 * orad[used],
            np.full(int(used.sum()), look["redness"]),
        )
        blood = blood + 1.2 * red
    if look["halo"] > 0 and used.any():
        halo = np.zeros(shape, dtype=np.float32)
        _stamp(
            halo,
            ox[used],
            oy[used],
            orad[used] * 0.8 + 12.0 / step,
            np.full(int(used.sum()), look["halo"]),
            ring=1.6,
        )
        mel = mel + (0.4 + 0.5 * look["melanin"]) * halo
    pit = np.zeros(shape, dtype=np.float32)
    _stamp(pit, ox, oy, np.maximum(orad / 1.6, 0.5), np.ones(len(ox)))
    pit = np.minimum(pit, 1.0)
    height = height - 22.0 * pit
    mel = mel * (1.0 + 0.35 * pit)
    refl = BASE[:, None, None] * np.exp(
        -(mel[None] * MEL[:, None, None] + blood[None] * BLOOD[:, None, None])
    )
    refl = refl * (1.0 - 0.12 * furrow)[None] * (1.0 - 0.3 * pit)[None]
    wcol = np.array([0.82, 0.78, 0.74], dtype=np.float32)[:, None, None]
    wmix = np.minimum(white, 0.9)[None]
    refl = refl * (1 - wmix) + wcol * wmix
    fcol = np.array([0.86, 0.84, 0.78], dtype=np.float32)[:, None, None]
    refl = refl * (1 - 0.8 * flake[None]) + fcol * 0.8 * flake[None]
    if len(marks.yellow_x):
        yx, yy2 = g.to_cell(marks.yellow_x, marks.yellow_y)
        yel = np.zeros(shape, dtype=np.float32)
        _stamp(yel, yx, yy2, marks.yellow_r / step / 2.2, np.full(len(yx), 1.8))
        ym = np.minimum(yel, 1.0)[None] * 0.55
        lum = np.clip(refl.mean(axis=0, keepdims=True) / 0.4, 0.3, 1.0)
        ycol = np.array([0.8, 0.66, 0.4], dtype=np.float32)[:, None, None] * lum
        refl = refl * (1 - ym) + ycol * ym
    if len(marks.sub_x):
        sx, sy = g.to_cell(marks.sub_x, marks.sub_y)
        sub = _splat(shape, sx, sy, marks.sub_w)
        sub = np.asarray(ndimage.gaussian_filter(sub, max(16.0 / step, 0.6)), np.float32)
        tint = np.array([1.0, 0.95, 0.85], dtype=np.float32)[:, None, None]
        refl = refl * np.exp(-look["subsurface"] * np.minimum(sub, 3.0)[None] * tint)
    return (
        np.asarray(np.clip(refl, 0.0, 1.0), dtype=np.float32),
        np.asarray(height, dtype=np.float32),
        np.asarray(sebum, dtype=np.float32),
    )
