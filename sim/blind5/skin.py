"""Scalp skin of the blind-5 generator, as linear reflectance. Melanin and haemoglobin maps are
built from B-spline random fields and a Worley cell texture (the honeycomb pigment network
along cell borders), plus stamped follicular openings, peripilar halos, white dots (eccrine
openings or fibrotic dots), arborising vessels and red dots, milky scarring patches, and the
shadows of hair shafts under the skin. A Beer-Lambert model turns them into colour and a
per-channel Gaussian sub-surface scattering blur (red widest) softens them. Surface layers
follow: yellow dots, perifollicular scaling, dandruff flakes, and, without polarisation,
specular glare from a micro-relief with skin furrows. Gel bubbles are drawn last."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from sim.blind5.choices import Design, stream
from sim.blind5.fields import F64, B, Pose, blur, lattice, lines, sample, stamp, worley
from sim.blind5.follicles import Follicles

EPS_MEL = np.array([0.40, 0.62, 0.80])
EPS_HB = np.array([0.06, 0.95, 0.62])
DERMIS = np.array([0.93, 0.83, 0.76])
SURFACE = 0.025  # uncoloured reflection of the stratum corneum
SSS_SHARE = np.array([1.0, 0.55, 0.35])  # scattering length per channel, relative to red


def _vessels(rng: np.random.Generator, d: Design, half: tuple[float, float]) -> tuple[F64, F64]:
    """Random-walk vessel segments (n, 4) in world um and their half-widths (um)."""
    area_cm2 = 4.0 * half[0] * half[1] * 1e-8
    segs: list[list[float]] = []
    widths: list[float] = []
    for _ in range(int(rng.poisson(d.vessels_cm2 * area_cm2))):
        x, y = rng.uniform(-half[0], half[0]), rng.uniform(-half[1], half[1])
        heading, width = rng.uniform(0.0, 2 * math.pi), d.vessel_um * rng.uniform(0.6, 1.4)
        for _step in range(int(rng.integers(6, 30))):
            heading += rng.normal(0.0, 0.35)
            step = rng.uniform(40.0, 90.0)
            nx, ny = x + step * math.cos(heading), y + step * math.sin(heading)
            segs.append([x, y, nx, ny])
            widths.append(width)
            if rng.random() < 0.12:  # a branch
                heading += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.1)
                width *= 0.8
            x, y = nx, ny
    return np.asarray(segs, dtype=np.float64).reshape(-1, 4), np.asarray(widths, np.float64)


def _scatter(
    rng: np.random.Generator, rate_cm2: float, half: tuple[float, float]
) -> tuple[F64, F64]:
    n = int(rng.poisson(rate_cm2 * 4.0 * half[0] * half[1] * 1e-8))
    return rng.uniform(-half[0], half[0], n), rng.uniform(-half[1], half[1], n)


def _blend(refl: F64, alpha: F64, colour: F64) -> None:
    """Cover ``refl`` (h, w, 3) in place by ``colour`` (3 or (h, w, 3)) with ``alpha``."""
    for c in range(3):
        target = colour[c] if colour.ndim == 1 else colour[..., c]
        refl[..., c] += alpha * (target - refl[..., c])


def _pigments(
    d: Design, rng: np.random.Generator, f: Follicles, present: B, pose: Pose, seen: B
) -> tuple[F64, F64, F64]:
    """Melanin, haemoglobin and dermal brightness maps (h, w)."""
    um, shape = pose.um, (pose.height, pose.width)
    half = (f.half_w * 1.08 + 1000.0, f.half_h * 1.08 + 1000.0)
    x, y = pose.grid()
    low = sample(lattice(rng, half, 1500.0), pose)
    mid = sample(lattice(rng, half, 400.0), pose)
    mid2 = sample(lattice(rng, half, 500.0), pose)
    fine = sample(lattice(rng, half, max(30.0, 1.2 * um)), pose)
    scar_f = sample(lattice(rng, half, 2000.0), pose)
    net = np.exp(-((worley(rng, half, d.network_cell_um, x, y) / (0.18 * d.network_cell_um)) ** 2))
    n_fu = f.fu_x.size
    op_r = d.opening_um * rng.uniform(0.7, 1.3, n_fu)
    op_depth = d.opening_depth * rng.uniform(0.7, 1.3, n_fu)
    vseg, vessel_w = _vessels(rng, d, half)
    wx, wy = _scatter(rng, d.white_dots_cm2, half)
    wr = d.white_dot_um * rng.uniform(0.7, 1.3, wx.size)
    rx, ry = _scatter(rng, d.red_dots_cm2, half)
    red_r = rng.uniform(8.0, 18.0, rx.size)

    fpx, fpy = pose.to_px(f.fu_x, f.fu_y)
    holes = np.zeros(shape)
    stamp(holes, fpx[seen], fpy[seen], op_r[seen] / um, op_depth[seen])
    halo = np.zeros(shape)
    if d.peripilar > 0.0:
        hairy = np.zeros(n_fu, dtype=bool)
        hairy[f.slots.fu[present]] = True
        hs = seen & hairy
        stamp(halo, fpx[hs], fpy[hs], 3.2 * op_r[hs] / um, np.full(hs.sum(), d.peripilar), soft=0.6)
    white = np.zeros(shape)
    wpx, wpy = pose.to_px(wx, wy)
    stamp(white, wpx, wpy, wr / um, np.full(wx.size, 0.9))
    white = np.clip(white, 0.0, 1.0)
    vessel = np.zeros(shape)
    if vseg.size:
        ax, ay = pose.to_px(vseg[:, 0], vseg[:, 1])
        bx, by = pose.to_px(vseg[:, 2], vseg[:, 3])
        lines(vessel, np.stack([ax, ay, bx, by], 1), vessel_w / um, np.full(ax.size, 1.0))
    rpx, rpy = pose.to_px(rx, ry)
    stamp(vessel, rpx, rpy, red_r / um, np.full(rx.size, 0.8))

    scar = np.clip((scar_f - (1.0 - d.scar)) / 0.5, 0.0, 1.0) * d.scar
    mel = d.melanin * np.exp(d.mottle * low + 0.12 * mid)
    mel = mel * (1.0 + d.network * net * (0.75 + 0.25 * mid)) + d.melanin * (0.25 * holes + halo)
    mel *= (1.0 - 0.75 * scar) * (1.0 - 0.85 * white)
    hb = d.haemoglobin * np.exp(d.erythema * mid2 + 0.15 * low) + 2.5 * vessel
    hb *= (1.0 - 0.5 * scar) * (1.0 - 0.5 * white)
    gain = (1.0 + 0.05 * fine) * (1.0 - np.clip(holes, 0.0, 0.8))
    gain *= 1.0 + 0.1 * scar + 0.15 * white
    return mel, hb, gain


def _surface(
    d: Design, rng: np.random.Generator, f: Follicles, present: B, pose: Pose, seen: B, refl: F64
) -> None:
    """Yellow dots, perifollicular scaling and flakes over the skin, in place."""
    um, shape = pose.um, (pose.height, pose.width)
    half = (f.half_w * 1.08 + 1000.0, f.half_h * 1.08 + 1000.0)
    yellow_r = rng.uniform(40.0, 120.0, f.fu_x.size)
    yellow_a = rng.uniform(0.55, 0.9, f.fu_x.size)
    fpx, fpy = pose.to_px(f.fu_x, f.fu_y)
    ys = seen & f.fu_yellow
    if ys.any():
        yellow = np.zeros(shape)
        stamp(yellow, fpx[ys], fpy[ys], yellow_r[ys] / um, yellow_a[ys])
        rim = np.zeros(shape)
        edge = 8.0 / um + 0.5
        stamp(rim, fpx[ys], fpy[ys], yellow_r[ys] / um, np.full(ys.sum(), 0.25), ring=edge)
        tinted = 0.6 * np.array([0.85, 0.72, 0.35]) + 0.4 * refl * np.array([1.1, 1.0, 0.6])
        _blend(refl, np.clip(yellow, 0.0, 1.0), tinted)
        refl *= 1.0 - np.clip(rim, 0.0, 0.5)[..., None]
    if d.peri_scale > 0.0:
        ring = np.zeros(shape)
        epx, epy = pose.to_px(f.slots.x[present], f.slots.y[present])
        radii = np.full(epx.size, 70.0 / um)
        stamp(ring, epx, epy, radii, np.full(epx.size, d.peri_scale), ring=15.0 / um + 0.5)
        _blend(refl, np.clip(ring, 0.0, 0.9), np.array([0.88, 0.86, 0.80]))
    if d.flakes > 0.0:
        flake = sample(lattice(rng, half, d.flake_cell_um), pose)
        flake += 0.5 * sample(lattice(rng, half, d.flake_cell_um / 3.0), pose)
        grain = sample(lattice(rng, half, max(30.0, 1.2 * um)), pose)
        thr = NormalDist(0.0, math.sqrt(1.25)).inv_cdf(1.0 - d.flakes)
        cover = 0.6 * np.clip((flake - thr) / 0.25, 0.0, 1.0) * (0.75 + 0.25 * grain)
        _blend(refl, cover, np.array([0.92, 0.89, 0.80]))


def reflectance(
    d: Design, seed: int, f: Follicles, present: B, opening: B, pose: Pose, sub: F64
) -> F64:
    """Skin reflectance (h, w, 3) under the hairs; ``sub`` is the shafts' absorption under
    the skin."""
    rng = stream(seed, 3)
    fpx, fpy = pose.to_px(f.fu_x, f.fu_y)
    w, h = pose.width, pose.height
    seen = opening & (fpx > -50) & (fpx < w + 50) & (fpy > -50) & (fpy < h + 50)
    mel, hb, gain = _pigments(d, rng, f, present, pose, seen)
    refl = np.empty((h, w, 3))
    for c in range(3):
        skin = DERMIS[c] * gain * np.exp(-(mel * EPS_MEL[c] + hb * EPS_HB[c])) + SURFACE
        skin *= 1.0 - sub[..., c]
        refl[..., c] = 0.45 * skin + 0.55 * blur(skin, d.sss_um * SSS_SHARE[c] / pose.um)
    _surface(d, rng, f, present, pose, seen, refl)
    return refl


def glare(d: Design, seed: int, f: Follicles, pose: Pose, lights: F64) -> F64:
    """Specular reflection (h, w) of the ring lights off the skin's micro-relief: fine bumps
    and a polygonal network of furrows."""
    if d.skin_glare <= 0.0:
        return np.zeros((pose.height, pose.width))
    rng = stream(seed, 4)
    half = (f.half_w * 1.08 + 1000.0, f.half_h * 1.08 + 1000.0)
    bumps = sample(lattice(rng, half, max(30.0, 1.2 * pose.um)), pose, exact=True)
    cell = float(rng.uniform(250.0, 600.0))
    x, y = pose.grid()
    furrows = np.exp(-((worley(rng, half, cell, x, y) / (0.05 * cell)) ** 2))
    relief = 2.5 * bumps - 10.0 * furrows  # um
    gy, gx = np.gradient(relief, pose.um)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    normal = np.stack([-gx / norm, -gy / norm, 1.0 / norm], axis=-1)
    halfway = lights + np.array([0.0, 0.0, 1.0])
    halfway /= np.linalg.norm(halfway, axis=1)[:, None]
    spec = np.mean(np.clip(normal @ halfway.T, 0.0, 1.0) ** 60, axis=-1)
    return np.asarray(d.skin_glare * spec, dtype=np.float64)


def bubbles(img: F64, rng: np.random.Generator, um: float) -> None:
    """Air bubbles in immersion gel, in place: a dark rim, a lighter inside, a highlight."""
    h, w = img.shape[:2]
    n = int(rng.integers(0, 7))
    cx, cy = rng.uniform(0, w, n), rng.uniform(0, h, n)
    radius = rng.uniform(80.0, 600.0, n) / um
    rim, inside, spot = np.zeros((h, w)), np.zeros((h, w)), np.zeros((h, w))
    stamp(rim, cx, cy, radius, np.full(n, 0.55), ring=6.0 / um + 0.6)
    stamp(inside, cx, cy, radius, np.full(n, 0.05))
    stamp(spot, cx - 0.5 * radius, cy - 0.5 * radius, 0.06 * radius, np.full(n, 0.35))
    img *= ((1.0 - np.clip(rim, 0.0, 0.8)) * (1.0 + inside))[..., None]
    img += spot[..., None]
