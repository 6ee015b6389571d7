"""Skin texture by image quilting (Efros and Freeman): a small exemplar of the scalp's fine
structure is grown into a texture as large as the view by laying square patches that
overlap their neighbours, each picked among random exemplar patches for how well it
matches what is already laid, and joined along the minimum-error boundary cut.

The exemplar's three channels (pigment network, micro-relief, pigment speckle) are drawn
in micrometres: a honeycomb network from the boundaries of a papilla tessellation (the
feature transform of hard-core points), a labyrinth from the edges of a majority-vote
cellular automaton, a relief of fine furrows around skin plates, and speckle from
thresholded smoothed noise.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind12.design import Design

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _hardcore(rng: np.random.Generator, n_side: float, size: int) -> tuple[F64, F64]:
    """Jittered points about ``n_side`` apart in a size x size square (dart throwing)."""
    target = int(size * size / (n_side * n_side) * 1.4) + 4
    pts = rng.uniform(0, size, (target * 4, 2))
    keep: list[int] = []
    r2 = (0.7 * n_side) ** 2
    for i in range(len(pts)):
        if keep:
            q = pts[keep]
            if np.min(np.sum((q - pts[i]) ** 2, axis=1)) < r2:
                continue
        keep.append(i)
        if len(keep) >= target:
            break
    arr = pts[keep]
    return arr[:, 0], arr[:, 1]


def _cell_walls(rng: np.random.Generator, size: int, cell: float) -> tuple[F64, I64]:
    """Distance (texels) to the nearest boundary between cells of a tessellation of
    jittered seeds, and each texel's cell label."""
    sx, sy = _hardcore(rng, cell, size)
    free = np.ones((size, size), dtype=np.bool_)
    label = np.zeros((size, size), dtype=np.int64)
    cx = np.clip(sx.astype(np.int64), 0, size - 1)
    cy = np.clip(sy.astype(np.int64), 0, size - 1)
    free[cy, cx] = False
    label[cy, cx] = np.arange(len(cx))
    idx = ndimage.distance_transform_edt(free, return_distances=False, return_indices=True)
    lab = label[idx[0], idx[1]]
    # warp the tessellation so that its walls bend (papillae are not polygons)
    amp = 0.16 * cell
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float64)
    wy = np.clip(gy + amp * _noise(rng, size, max(cell * 0.45, 1.5)), 0, size - 1)
    wx = np.clip(gx + amp * _noise(rng, size, max(cell * 0.45, 1.5)), 0, size - 1)
    lab = lab[np.rint(wy).astype(np.int64), np.rint(wx).astype(np.int64)]
    edge = np.zeros((size, size), dtype=np.bool_)
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edge[1:, :] |= lab[1:, :] != lab[:-1, :]
    dist = ndimage.distance_transform_edt(~edge)
    return np.asarray(dist, dtype=np.float64), lab


def _labyrinth(rng: np.random.Generator, size: int, cell: float) -> F64:
    """Distance (texels) to the edges of the domains of a threshold cellular automaton:
    from random cells, each step every cell takes the majority of a round neighbourhood
    (a Gaussian vote, the threshold kept at the median so both phases stay half), which
    coarsens the noise into meandering, bicontinuous domains."""
    grid = rng.random((size, size))
    for _ in range(4):
        votes = ndimage.gaussian_filter(grid, max(cell / 5.0, 1.0), mode="wrap")
        grid = (votes > np.median(votes)).astype(np.float64)
    edge = grid.astype(np.bool_) ^ ndimage.binary_erosion(grid.astype(np.bool_))
    dist = ndimage.distance_transform_edt(~edge)
    return np.asarray(dist, dtype=np.float64)


def _noise(rng: np.random.Generator, size: int, sigma: float) -> F64:
    f = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), sigma, mode="wrap")
    out: F64 = (f - f.mean()) / (f.std() + 1e-9)
    return out


def exemplar(rng: np.random.Generator, d: Design, tau: float, size: int) -> F32:
    """The exemplar (size x size texels of ``tau`` um): network, relief, speckle."""
    cell = d.network_cell_um / tau
    wall = max(d.network_wall_um / tau, 0.6)
    breaks = _noise(rng, size, max(cell * 0.25, 1.5))
    if d.network in ("honeycomb", "faint"):
        dist, lab = _cell_walls(rng, size, cell)
        # a wall's pigment falls off into round, paler holes
        net = 0.5 * np.exp(-((dist / (0.6 * wall)) ** 2)) + 0.5 * np.exp(-dist / (0.28 * cell))
        # walls fade in and out; the holes differ a little from cell to cell
        net *= np.clip(0.85 + 0.3 * breaks, 0.2, 1.0)
        holes = rng.uniform(-0.05, 0.05, int(lab.max()) + 1)[lab]
        net = net + holes * (1.0 - net)
        if d.network == "faint":
            net *= 0.45
    elif d.network == "labyrinth":
        dist = _labyrinth(rng, size, cell)
        net = 0.75 * np.exp(-((dist / (0.55 * wall)) ** 2)) + 0.25 * np.exp(-dist / (0.2 * cell))
        net *= np.clip(0.85 + 0.3 * breaks, 0.2, 1.0)
    else:
        net = 0.08 * _noise(rng, size, 1.5)
    # micro-relief: fine furrows around skin plates (negative), fine grain
    plates = max(220.0 / tau, 6.0)
    fdist, _ = _cell_walls(rng, size, plates)
    furrow = -np.exp(-((fdist / max(6.0 / tau, 0.5)) ** 2)) * np.clip(
        0.6 + 0.5 * _noise(rng, size, plates * 0.5), 0.0, 1.0
    )
    relief = furrow + 0.12 * _noise(rng, size, max(6.0 / tau, 0.9))
    # speckle: scattered pigment granules and slight blotches
    sp = _noise(rng, size, max(8.0 / tau, 0.8))
    speckle = np.clip(sp - 1.6, 0.0, None) + 0.15 * _noise(rng, size, max(30.0 / tau, 1.0))
    out: F32 = np.stack([net, relief, speckle], axis=-1).astype(np.float32)
    return out


def _min_cut(err: F64) -> I64:
    """Per row, the column where a vertical minimum-error seam crosses ``err`` (B, P, O)."""
    bsz, p, o = err.shape
    cum = err.copy()
    for r in range(1, p):
        prev = cum[:, r - 1]
        left = np.concatenate([np.full((bsz, 1), np.inf), prev[:, :-1]], axis=1)
        right = np.concatenate([prev[:, 1:], np.full((bsz, 1), np.inf)], axis=1)
        cum[:, r] += np.minimum(np.minimum(left, prev), right)
    path = np.zeros((bsz, p), dtype=np.int64)
    path[:, -1] = np.argmin(cum[:, -1], axis=1)
    rows = np.arange(bsz)
    for r in range(p - 2, -1, -1):
        c = path[:, r + 1]
        lo = np.maximum(c - 1, 0)
        win = np.stack(
            [cum[rows, r, lo], cum[rows, r, c], cum[rows, r, np.minimum(c + 1, o - 1)]], axis=1
        )
        win[:, 0] = np.where(c - 1 < 0, np.inf, win[:, 0])
        win[:, 2] = np.where(c + 1 > o - 1, np.inf, win[:, 2])
        path[:, r] = c + np.argmin(win, axis=1) - 1
    return path


def quilt(
    rng: np.random.Generator,
    ex: F32,
    out_h: int,
    out_w: int,
    patch: int,
    overlap: int,
    candidates: int = 24,
    tolerance: float = 0.1,
) -> F32:
    """Grow ``ex`` (He, We, C) into an (out_h, out_w, C) texture. Patches are laid in
    waves along i + 2 j (row i, column j): a wave's patches never overlap each other,
    and every neighbour a patch must match (above, left, lower left) is already laid.
    Besides random exemplar patches, the candidates hold the continuations of the left
    and upper neighbours' sources, so that coherent stretches of the exemplar carry on."""
    he, we, ch = ex.shape
    step = patch - overlap
    nr = max(1, math.ceil(max(out_h - overlap, 1) / step))
    nc = max(1, math.ceil(max(out_w - overlap, 1) / step))
    canvas = np.zeros((nr * step + overlap, nc * step + overlap, ch), dtype=np.float32)
    a = np.arange(patch)
    o = np.arange(overlap)
    a2, o2 = a[::2], o[::2]  # the match is judged on every other texel
    weights = np.array([1.0, 0.6, 0.4], dtype=np.float32)[:ch]
    src_y = np.zeros((nr, nc), dtype=np.int64)
    src_x = np.zeros((nr, nc), dtype=np.int64)
    for wave in range(nr + 2 * (nc - 1) + 1):
        js = np.arange(nc)
        is_ = wave - 2 * js
        ok = (is_ >= 0) & (is_ < nr)
        ii, jj = is_[ok], js[ok]
        nb = len(ii)
        if nb == 0:
            continue
        y0, x0 = ii * step, jj * step
        cy = rng.integers(0, he - patch + 1, (nb, candidates))
        cx = rng.integers(0, we - patch + 1, (nb, candidates))
        lj, ti = np.maximum(jj - 1, 0), np.maximum(ii - 1, 0)
        cy[:, 0] = np.clip(src_y[ii, lj], 0, he - patch)
        cx[:, 0] = np.clip(src_x[ii, lj] + step, 0, we - patch)
        cy[:, 1] = np.clip(src_y[ti, jj] + step, 0, he - patch)
        cx[:, 1] = np.clip(src_x[ti, jj], 0, we - patch)
        cost = np.zeros((nb, candidates), dtype=np.float64)
        has_left = jj > 0
        has_top = ii > 0
        if has_left.any():
            # left strip: rows 0..P-1, columns 0..O-1
            old = canvas[
                y0[:, None, None] + a2[None, :, None], x0[:, None, None] + o2[None, None, :]
            ]
            new = ex[
                cy[:, :, None, None] + a2[None, None, :, None],
                cx[:, :, None, None] + o2[None, None, None, :],
            ]
            diff = ((new - old[:, None]) ** 2 * weights).sum(axis=(2, 3, 4))
            cost += np.where(has_left[:, None], diff, 0.0)
        if has_top.any():
            # top strip: rows 0..O-1, columns O..P-1 (the corner counted with the left)
            cols = a[overlap::2]
            old = canvas[
                y0[:, None, None] + o2[None, :, None], x0[:, None, None] + cols[None, None, :]
            ]
            new = ex[
                cy[:, :, None, None] + o2[None, None, :, None],
                cx[:, :, None, None] + cols[None, None, None, :],
            ]
            diff = ((new - old[:, None]) ** 2 * weights).sum(axis=(2, 3, 4))
            cost += np.where(has_top[:, None], diff, 0.0)
        # a random one among the candidates close to the best
        best = cost.min(axis=1, keepdims=True)
        good = cost <= best * (1.0 + tolerance) + 1e-9
        pick = np.argmax(good * rng.random((nb, candidates)), axis=1)
        r_ = np.arange(nb)
        py, px = cy[r_, pick], cx[r_, pick]
        src_y[ii, jj], src_x[ii, jj] = py, px
        rows = y0[:, None, None] + a[None, :, None]
        cols_ = x0[:, None, None] + a[None, None, :]
        old = canvas[rows, cols_]
        new = ex[py[:, None, None] + a[None, :, None], px[:, None, None] + a[None, None, :]]
        take = np.ones((nb, patch, patch), dtype=np.bool_)
        # both seams in one pass: the left strip as it is, the top strip transposed
        err_l = ((new[:, :, :overlap] - old[:, :, :overlap]) ** 2 * weights).sum(-1)
        err_t = ((new[:, :overlap, :] - old[:, :overlap, :]) ** 2 * weights).sum(-1)
        seams = _min_cut(np.concatenate([err_l, np.transpose(err_t, (0, 2, 1))]).astype(np.float64))
        left_of = o[None, None, :] < seams[:nb, :, None]
        take[:, :, :overlap] &= ~(left_of & has_left[:, None, None])
        above = o[None, :, None] < seams[nb:, None, :]
        take[:, :overlap, :] &= ~(above & has_top[:, None, None])
        canvas[rows, cols_] = np.where(take[..., None], new, old)
    out: F32 = canvas[:out_h, :out_w]
    return out
