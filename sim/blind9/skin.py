"""The scalp's skin as textures in scene coordinates: a height field (furrows, plates,
pores, follicle pits) for the displaced grid mesh, and a per-texel albedo (melanin tone,
pigment network, redness, halos, yellow and white dots, vessels, scale) and a gloss map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind9.noise import F32, F64, Grid, blobs, cells, noise

# linear reflectance of the skin per Fitzpatrick type (I-VI)
TONE_RGB = {
    1: (0.80, 0.60, 0.52),
    2: (0.71, 0.50, 0.41),
    3: (0.58, 0.40, 0.29),
    4: (0.43, 0.28, 0.19),
    5: (0.26, 0.165, 0.11),
    6: (0.135, 0.085, 0.06),
}
HEIGHT_LIMIT = 10.0  # um: the skin never rises above this (lying hairs rest over it)


@dataclass
class Skin:
    grid: Grid
    albedo: F32  # (3, ny, nx) linear
    height: F32  # (ny, nx) um
    gloss: F32  # (ny, nx) 0..1


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _points(rng: np.random.Generator, grid: Grid, per_mm2: float) -> tuple[F64, F64]:
    w = grid.nx * grid.pitch
    h = grid.ny * grid.pitch
    n = int(rng.poisson(max(per_mm2, 0.0) * w * h * 1e-6))
    x = grid.x0 + rng.uniform(0, w, n)
    y = grid.y0 + rng.uniform(0, h, n)
    return x, y


def _vessels(rng: np.random.Generator, grid: Grid, per_mm2: float) -> tuple[F64, F64]:
    """Points along random thin vessels: arborising lines, loops and commas."""
    sx, sy = _points(rng, grid, per_mm2)
    xs: list[F64] = []
    ys: list[F64] = []
    step = grid.pitch * 0.8
    for x0, y0 in zip(sx, sy, strict=True):
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.uniform(60, 900) / step) + 2
            turn = np.cumsum(rng.normal(0, rng.uniform(0.01, 0.06), n)) * np.sqrt(step)
            ang = rng.uniform(0, 2 * np.pi) + turn + rng.uniform(-0.02, 0.02) * np.arange(n)
            xs.append(x0 + np.cumsum(step * np.cos(ang)))
            ys.append(y0 + np.cumsum(step * np.sin(ang)))
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def build_skin(
    rng: np.random.Generator,
    grid: Grid,
    tone: int,
    units: F64,
    unit_halo: NDArray[np.bool_],
    unit_yellow: NDArray[np.bool_],
    params: dict[str, Any],
) -> Skin:
    """Textures of one scalp site; ``units`` (n, 2) are the follicular units' centres."""
    ux, uy = units[:, 0], units[:, 1]
    # --- relief (um)
    f_amp = _u(rng, 1.5, 6.0)
    f_scale = _u(rng, 150, 450)
    f_w = _u(rng, 0.08, 0.2)
    n1 = noise(rng, grid, f_scale)
    n2 = noise(rng, grid, f_scale * _u(rng, 0.45, 0.85))
    furrow = np.maximum(np.exp(-((n1 / f_w) ** 2)), 0.7 * np.exp(-((n2 / f_w) ** 2)))
    del n1, n2
    plate_amp = _u(rng, 0.4, 2.0)
    relief = plate_amp * noise(rng, grid, _u(rng, 40, 90))
    relief += _u(rng, 0.2, 0.7) * noise(rng, grid, _u(rng, 10, 18))
    relief -= f_amp * furrow
    pore_density = _u(rng, 10, 70)
    px, py = _points(rng, grid, pore_density)
    pore_sigma = _u(rng, 4, 8)
    relief -= _u(rng, 1.5, 4.0) * blobs(grid, px, py, pore_sigma)
    pit_sigma = _u(rng, 20, 34)
    pit_depth = _u(rng, 2.0, 4.5)
    calm = np.clip(1.3 * blobs(grid, ux, uy, 2.0 * pit_sigma), 0, 1)
    height = (1 - calm) * relief - pit_depth * blobs(grid, ux, uy, pit_sigma)
    height = np.clip(height, -HEIGHT_LIMIT, HEIGHT_LIMIT).astype(np.float32)
    del relief, calm
    # --- albedo
    base = np.array(TONE_RGB[tone]) * np.exp(rng.normal(0, 0.06, 3))
    mottle = 1 + _u(rng, 0.03, 0.1) * noise(rng, grid, _u(rng, 250, 800))
    mottle += _u(rng, 0.02, 0.06) * noise(rng, grid, _u(rng, 50, 120))
    alb = base[:, None, None].astype(np.float32) * mottle[None]
    del mottle
    net_k = [0.0, 0.0, 0.06, 0.13, 0.2, 0.26, 0.3][tone] * _u(rng, 0.5, 1.3)
    cell = _u(rng, 70, 180)
    net = cells(rng, grid, cell, _u(rng, 0.15, 0.3))
    net *= np.clip(0.65 + 0.45 * noise(rng, grid, _u(rng, 300, 700)), 0, 1)
    alb *= (1 - net_k * net)[None]
    alb *= (1 + 0.25 * net_k * (1 - net))[None]
    del net
    red_k = _u(rng, 0.0, 0.5) * (1.0 if tone <= 4 else 0.4)
    red = np.clip(0.5 * noise(rng, grid, _u(rng, 300, 900)) + _u(rng, -0.2, 0.5), 0, 1)
    peri_k = _u(rng, 0.0, 0.7) if rng.random() < 0.5 else 0.0
    red = red_k * red + peri_k * blobs(grid, ux, uy, _u(rng, 35, 70))
    alb[1] *= 1 - 0.45 * np.clip(red, 0, 1)
    alb[2] *= 1 - 0.35 * np.clip(red, 0, 1)
    del red
    # follicle openings: a small darker, slightly pink spot at every unit
    opening = blobs(grid, ux, uy, _u(rng, 8, 14))
    alb *= (1 - _u(rng, 0.1, 0.35) * np.clip(opening, 0, 1))[None]
    del opening
    halo_k = _u(rng, 0.0, 0.35) if rng.random() < 0.6 else 0.0
    hx, hy = ux[unit_halo], uy[unit_halo]
    hs = _u(rng, 35, 60)
    halo = np.clip(blobs(grid, hx, hy, hs) - 0.8 * blobs(grid, hx, hy, hs * 0.45), 0, 1)
    alb *= (1 - halo_k * halo * np.array([0.8, 1.0, 1.15], np.float32)[:, None, None]).astype(
        np.float32
    )
    del halo
    yellow_k = _u(rng, 0.4, 0.9)
    yx, yy = ux[unit_yellow], uy[unit_yellow]
    yel = np.clip(blobs(grid, yx, yy, _u(rng, 18, 35)), 0, 1) * yellow_k
    ycol = np.array([0.85, 0.68, 0.28], np.float32)[:, None, None] * _u(rng, 0.6, 1.0)
    alb += (ycol - alb) * yel[None]
    del yel
    white_density = [0.0, 0.0, 0.0, _u(rng, 0, 3), _u(rng, 1, 8), _u(rng, 2, 12)][tone - 1]
    wx, wy = _points(rng, grid, white_density)
    wd = np.clip(blobs(grid, wx, wy, _u(rng, 5, 9)), 0, 1) * _u(rng, 0.25, 0.65)
    alb += (np.float32(0.75) - alb) * wd[None]
    del wd
    vessel_density = _u(rng, 0.0, 1.0) if rng.random() < 0.6 else 0.0
    vx, vy = _vessels(rng, grid, vessel_density)
    v_sigma = _u(rng, 3.5, 7.0)
    vw = grid.pitch * 0.8 / (v_sigma * np.sqrt(2 * np.pi))
    ves = np.clip(blobs(grid, vx, vy, v_sigma, vw), 0, 1) * _u(rng, 0.3, 0.8)
    alb *= (1 - ves[None] * np.array([0.15, 0.6, 0.5], np.float32)[:, None, None]).astype(
        np.float32
    )
    del ves
    scale_k = _u(rng, 0.0, 0.5) if rng.random() < 0.4 else 0.0
    sc = np.clip((noise(rng, grid, _u(rng, 30, 90)) - _u(rng, 1.4, 2.2)) * 1.5, 0, 1)
    alb += (np.array([0.82, 0.8, 0.74], np.float32)[:, None, None] - alb) * (scale_k * sc)[None]
    del sc
    alb = np.clip(alb, 0.01, 0.95).astype(np.float32)
    gloss = np.clip(
        _u(rng, 0.1, 0.7) + _u(rng, 0.1, 0.5) * noise(rng, grid, _u(rng, 150, 600)), 0, 1
    ).astype(np.float32)
    params.update(
        furrow_amp_um=f_amp,
        furrow_scale_um=f_scale,
        plate_amp_um=plate_amp,
        pore_density_per_mm2=pore_density,
        pit_sigma_um=pit_sigma,
        pit_depth_um=pit_depth,
        skin_base_rgb=[float(v) for v in base],
        pigment_network=net_k,
        network_cell_um=cell,
        redness=red_k,
        perifollicular_redness=peri_k,
        halo=halo_k,
        yellow_dots=int(unit_yellow.sum()),
        white_dot_density_per_mm2=white_density,
        vessel_density_per_mm2=vessel_density,
        scale=scale_k,
    )
    return Skin(grid=grid, albedo=alb, height=height, gloss=gloss)
