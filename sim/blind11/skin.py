"""The scalp's skin, in linear reflectance on the output pixel grid.

Melanin and haemoglobin maps drive a two-absorber colour model over a white dermis.
The pigment network is a Turing pattern: a Swift-Hohenberg field (quadratic term on, so
it settles into hexagonal spots) grown from noise on a periodic tile and stopped early so
that it keeps dislocations and labyrinthine stretches. Its spots are the dermal papillae;
the rete ridges between them, the honeycomb's dark lines, are the boundaries of the
spots' generalised Voronoi regions (nearest spot by Euclidean distance transform), drawn
from hair-thin to broad, thicker where they meet, through a smooth domain warp and with a
strength that wanders over the field. Periodic band-limited
noise tiles give tone variation, erythema, freckle-like blotches, fine furrows (zero
lines of band-passed noise), grain, scale veil and sebum shine. Follicular openings,
peripilar halos, white halos, pinpoint white dots, empty dark openings, yellow dots and
black dots are splatted at their mapped centres; vessels (arborising trees grown by
random branching, looped and dotted capillaries) are drawn with Pillow and blurred under
the epidermis."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw
from scipy import fft, ndimage

from sim.blind11.camera import Camera
from sim.blind11.design import Design
from sim.blind11.plan import BLACK_DOT, EMPTY, HAIR_UNIT, YELLOW, Openings
from sim.blind11.streams import stream

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
MU_MEL = np.array([1.0, 1.28, 1.55])
MU_HB = np.array([0.05, 0.85, 0.6])
DERMIS = np.array([0.84, 0.67, 0.53])
TILE = 256


def periodic_noise(rng: np.random.Generator, n: int, corr_cells: float) -> F64:
    """Gaussian-filtered white noise on a periodic n x n tile, zero mean, unit std."""
    white = rng.standard_normal((n, n))
    k = fft.fftfreq(n)
    kr = fft.rfftfreq(n)
    filt = np.exp(-2.0 * (math.pi * corr_cells) ** 2 * (k[:, None] ** 2 + kr[None, :] ** 2))
    out: F64 = fft.irfft2(fft.rfft2(white) * filt, s=(n, n))
    out -= out.mean()
    out /= max(float(out.std()), 1e-12)
    return out


def swift_hohenberg(rng: np.random.Generator, n: int, r: float, steps: int) -> F64:
    """u_t = r u - (1 + lap)^2 u + u^2 - u^3 on a periodic tile with 8 cells per
    wavelength, semi-implicit in Fourier space, from small noise."""
    dx = 2 * math.pi / 8.0
    k = 2 * math.pi * fft.fftfreq(n, d=dx)
    kr = 2 * math.pi * fft.rfftfreq(n, d=dx)
    lin = r - (1.0 - (k[:, None] ** 2 + kr[None, :] ** 2)) ** 2
    dt = 1.0
    den = 1.0 - dt * lin
    u = 0.1 * rng.standard_normal((n, n))
    for _ in range(steps):
        u = np.clip(u, -3.0, 3.0)
        u = fft.irfft2(fft.rfft2(u + dt * (u * u - u * u * u)) / den, s=(n, n))
    out: F64 = u
    return out


def network_tile(u: F64, up: int = 3) -> tuple[F64, F64]:
    """Rete ridges between dermal papillae: the papillae are the Turing field's spots
    (u above a fraction of its local amplitude); the ridges are the boundaries of their
    generalised Voronoi regions (nearest spot by Euclidean distance transform). Returns,
    on a grid ``up`` times finer than the tile, the distance to the nearest ridge and the
    distance to the nearest papilla (both in tile cells)."""
    n = u.shape[0]
    pad = min(24, n // 2)
    big = ndimage.zoom(np.pad(u, pad, mode="wrap"), up, order=3)
    env = np.sqrt(ndimage.gaussian_filter(big * big, 6 * up)) / math.sqrt(1.5)
    spots, _ = ndimage.label(big > 0.3 * env)
    dist, (iy, ix) = ndimage.distance_transform_edt(spots == 0, return_indices=True)
    nearest = spots[iy, ix]
    edge = np.zeros(nearest.shape, dtype=np.bool_)
    edge[:, 1:] |= nearest[:, 1:] != nearest[:, :-1]
    edge[1:, :] |= nearest[1:, :] != nearest[:-1, :]
    ridge = ndimage.distance_transform_edt(~edge)
    crop = (slice(pad * up, (pad + n) * up), slice(pad * up, (pad + n) * up))
    return ridge[crop] / up, dist[crop] / up


def _sample(tile: F64, spacing_um: float, x: F64, y: F64, order: int = 1) -> F64:
    coords = np.stack([y / spacing_um, x / spacing_um])
    out: F64 = ndimage.map_coordinates(tile, coords, order=order, mode="grid-wrap")
    return out


def _window(
    shape: tuple[int, int], cx: float, cy: float, ext: float
) -> tuple[slice, slice, F64] | None:
    h, w = shape
    x0, x1 = max(math.floor(cx - ext), 0), min(math.ceil(cx + ext) + 1, w)
    y0, y1 = max(math.floor(cy - ext), 0), min(math.ceil(cy + ext) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    gx = np.arange(x0, x1) - cx
    gy = np.arange(y0, y1) - cy
    d = np.sqrt(gy[:, None] ** 2 + gx[None, :] ** 2)
    return slice(y0, y1), slice(x0, x1), d


def _disc(d: F64, r: float) -> F64:
    soft = max(0.4, 0.12 * r)
    gain = min(1.0, (r / 0.7) ** 2)
    out: F64 = gain / (1.0 + np.exp((d - r) / soft))
    return out


def add_disc(target: F32, cx: float, cy: float, r: float, amp: float) -> None:
    win = _window(target.shape[:2], cx, cy, r + 3.0 + 0.5 * r)
    if win is not None:
        ys, xs, d = win
        target[ys, xs] += amp * _disc(d, r)


def over_ring(
    img: F32, cx: float, cy: float, r: float, width: float, colour: F64, alpha: float
) -> None:
    win = _window(img.shape[:2], cx, cy, r + 3.0 * width + 2.0)
    if win is not None:
        ys, xs, d = win
        a = (alpha * np.exp(-(((d - r) / max(width, 0.5)) ** 2)))[..., None]
        img[ys, xs] = img[ys, xs] * (1.0 - a) + colour * a


def over_disc(img: F32, cx: float, cy: float, r: float, colour: F64, alpha: float) -> None:
    win = _window(img.shape[:2], cx, cy, r + 3.0 + 0.5 * r)
    if win is not None:
        ys, xs, d = win
        a = (alpha * _disc(d, r))[..., None]
        img[ys, xs] = img[ys, xs] * (1.0 - a) + colour * a


def _vessel_paths(
    rng: np.random.Generator, design: Design, radius_um: float
) -> list[tuple[list[tuple[float, float]], float]]:
    """Polylines (world um) with widths: arborising trees and looped capillaries."""
    paths: list[tuple[list[tuple[float, float]], float]] = []
    area_scale = max(1.0, (radius_um / 3000.0) ** 2)
    n = round(design.vessel_count * area_scale)
    kinds = {"arborising": ("tree",), "looped": ("loop",), "both": ("tree", "loop")}.get(
        design.vessels, ()
    )
    if not kinds:
        return paths
    for v in range(n):
        kind = kinds[v % len(kinds)]
        ang = rng.uniform(0, 2 * math.pi)
        rad = radius_um * math.sqrt(rng.random())
        x0, y0 = rad * math.cos(ang), rad * math.sin(ang)
        if kind == "tree":
            stack = [(x0, y0, rng.uniform(0, 2 * math.pi), rng.uniform(14.0, 38.0), 0)]
            while stack and len(paths) < 40 * (v + 1):
                x, y, th, wid, depth = stack.pop()
                pts = [(x, y)]
                for _ in range(int(rng.integers(6, 30))):
                    th += rng.normal(0.0, 0.3)
                    step = rng.uniform(30.0, 70.0)
                    x, y = x + step * math.cos(th), y + step * math.sin(th)
                    pts.append((x, y))
                    if depth < 3 and rng.random() < 0.12:
                        side = rng.choice([-1.0, 1.0])
                        stack.append(
                            (x, y, th + side * rng.uniform(0.4, 1.1), wid * 0.6, depth + 1)
                        )
                paths.append((pts, wid))
        else:
            for _ in range(int(rng.integers(3, 12))):
                cx = x0 + rng.normal(0.0, 250.0)
                cy = y0 + rng.normal(0.0, 250.0)
                a, b = rng.uniform(15.0, 60.0), rng.uniform(8.0, 30.0)
                rot = rng.uniform(0, math.pi)
                twist = rng.uniform(0.0, 0.5)
                pts = []
                for t in np.linspace(0.0, 2 * math.pi, 24):
                    u = a * math.cos(t)
                    w_ = b * math.sin(t) * (1.0 + twist * math.cos(2 * t))
                    pts.append(
                        (
                            cx + u * math.cos(rot) - w_ * math.sin(rot),
                            cy + u * math.sin(rot) + w_ * math.cos(rot),
                        )
                    )
                paths.append((pts, rng.uniform(6.0, 14.0)))
    return paths


def render_skin(
    cam: Camera,
    ss: int,
    design: Design,
    op: Openings,
    seed: int,
    radius_um: float,
) -> tuple[F32, F32]:
    """Skin reflectance (h, w, 3) and the sebum-shine map (h, w) for the frame."""
    h, w = cam.height, cam.width
    rng = stream(seed, "skin")
    lam = design.network_wavelength_um

    # tone, erythema, blotches, furrows, grain, veil, shine, warp: periodic noise tiles
    def size(spacing: float) -> int:
        need = 2.0 * radius_um / spacing
        return int(min(TILE, max(32, 2 ** math.ceil(math.log2(max(need, 1.0))))))

    def tile(corr_um: float) -> tuple[F64, float]:
        spacing = corr_um / 5.0
        return periodic_noise(rng, size(spacing), 5.0), spacing

    t_tone = tile(700.0)
    t_ery = tile(1400.0)
    t_frk = tile(260.0)
    t_fur = tile(320.0)
    t_grain = tile(22.0)
    t_veil = tile(380.0)
    t_shine = tile(90.0)
    t_warpx = tile(2.0 * lam)
    t_warpy = tile(2.0 * lam)
    t_netvar = tile(900.0)
    sh = swift_hohenberg(rng, size(lam / 8.0), design.network_r, 60)
    tiles = network_tile(sh) if design.network != "none" else None
    warp = design.network_warp * lam
    m = np.empty((h, w), dtype=np.float32)
    hb = np.empty((h, w), dtype=np.float32)
    surf = np.empty((h, w), dtype=np.float32)
    veil = np.zeros((h, w), dtype=np.float32)
    shine = np.zeros((h, w), dtype=np.float32)
    step = max(1, 262144 // w)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        py, px = np.mgrid[r0:r1, 0:w].astype(np.float64)
        X, Y = cam.to_world(px, py)
        mb = design.melanin * (1.0 + 0.1 * _sample(*t_tone, X, Y))
        if tiles is not None:
            wx = X + warp * _sample(*t_warpx, X, Y)
            wy = Y + warp * _sample(*t_warpy, X, Y)
            cell = lam / 8.0 / 3.0
            ridge = _sample(tiles[0], cell, wx, wy)
            papilla = _sample(tiles[1], cell, wx, wy)
            # ridges thicken where they meet (junctions lie farthest from the papillae)
            half = (0.15 + 1.6 * design.network_width**2) * (0.55 + 0.25 * papilla)
            net = np.exp(-((ridge / half) ** 2))
            vary = np.clip(0.7 + 0.35 * _sample(*t_netvar, X, Y), 0.15, 1.2)
            mb = mb + design.network_strength * net * vary
        if design.freckles > 0:
            blot = 1.0 / (1.0 + np.exp(-(_sample(*t_frk, X, Y) - 1.3) / 0.2))
            mb = mb + 0.7 * design.freckles * blot
        m[r0:r1] = mb
        hbb = design.haemoglobin * (1.0 + 0.25 * _sample(*t_tone, X + 5000.0, Y))
        if design.erythema > 0:
            hbb = hbb + design.erythema * np.clip(_sample(*t_ery, X, Y) + 0.3, 0.0, None)
        hb[r0:r1] = hbb
        fur = np.exp(-((_sample(*t_fur, X, Y) / 0.13) ** 2))
        surf[r0:r1] = (1.0 - design.furrows * fur) * (1.0 + 0.035 * _sample(*t_grain, X, Y))
        if design.scale_veil > 0:
            veil[r0:r1] = np.clip(_sample(*t_veil, X, Y) * 0.6 + 0.2, 0.0, 1.0) * design.scale_veil
        if design.shine > 0:
            sp = np.clip(_sample(*t_shine, X, Y) - 0.6, 0.0, None) ** 1.5
            broad = np.clip(0.5 + 0.5 * _sample(*t_veil, X + 7000.0, Y), 0.0, 1.0)
            shine[r0:r1] = design.shine * (0.6 * sp + 0.15) * broad**2
    um = cam.um_per_px
    # follicle-level melanin: peripilar halos
    ox, oy = cam.to_px(op.x, op.y)
    near = (ox > -60) & (ox < w + 60) & (oy > -60) & (oy < h + 60)
    for i in np.flatnonzero(near & (op.peripilar > 0)).tolist():
        r = float(op.radius_um[i]) * 2.6 / um
        add_disc(m, float(ox[i]), float(oy[i]), r, float(op.peripilar[i]))
    # vessels, drawn supersampled and blurred under the epidermis
    vrng = stream(seed, "vessels")
    paths = _vessel_paths(vrng, design, radius_um)
    if paths:
        canvas = Image.new("L", (w * ss, h * ss), 0)
        dr = ImageDraw.Draw(canvas)
        for pts, wid in paths:
            arr = np.asarray(pts)
            qx, qy = cam.to_px(arr[:, 0], arr[:, 1])
            xy = np.stack([(qx + 0.5) * ss - 0.5, (qy + 0.5) * ss - 0.5], axis=1)
            dr.line(
                xy.ravel().tolist(),
                fill=255,
                width=max(1, round(wid / um * ss)),
                joint="curve",
            )
        v = np.asarray(canvas.reduce(ss), dtype=np.float32) / np.float32(255.0)
        hb += np.float32(1.3) * ndimage.gaussian_filter(v, max(0.6, 8.0 / um))
    refl = np.empty((h, w, 3), dtype=np.float32)
    for c in range(3):
        refl[..., c] = DERMIS[c] * np.exp(-m * MU_MEL[c] - hb * MU_HB[c]) * surf
    del m, hb, surf
    # follicular openings and dots
    drng = stream(seed, "dots")
    skin_mean = DERMIS * np.exp(-design.melanin * MU_MEL - design.haemoglobin * MU_HB)
    for i in np.flatnonzero(near).tolist():
        cx, cy = float(ox[i]), float(oy[i])
        r = float(op.radius_um[i]) / um
        kind = int(op.kind[i])
        if kind == HAIR_UNIT:
            over_disc(refl, cx, cy, r, skin_mean * np.array([0.62, 0.6, 0.66]), 0.45)
            if op.white_halo[i]:
                over_ring(
                    refl, cx, cy, r * 1.5, max(r * 0.9, 0.7), np.array([0.62, 0.58, 0.55]), 0.18
                )
        elif kind == EMPTY:
            over_disc(refl, cx, cy, r, skin_mean * np.array([0.35, 0.3, 0.3]), 0.75)
        elif kind == YELLOW:
            tint = skin_mean * np.array([1.3, 1.22, 0.75]) + np.array([0.06, 0.035, 0.0])
            tint = np.clip(tint * float(drng.uniform(0.85, 1.05)), 0.0, 0.8)
            lobes = 1 + int(drng.integers(0, 3))
            for k in range(lobes):
                ang = float(op.tilt[i]) + 2.1 * k
                off = 0.35 * r * (k > 0)
                over_disc(
                    refl,
                    cx + off * math.cos(ang),
                    cy + off * math.sin(ang),
                    r * (1 - 0.2 * k),
                    tint,
                    float(drng.uniform(0.45, 0.8)),
                )
        elif kind == BLACK_DOT:
            over_disc(refl, cx, cy, r, np.array([0.03, 0.026, 0.025]), 0.95)
    # pinpoint white dots (eccrine and follicular openings)
    n_dots = int(drng.poisson(design.white_dots_per_mm2 * math.pi * (radius_um / 1000.0) ** 2))
    dang = drng.uniform(0, 2 * math.pi, n_dots)
    drad = radius_um * np.sqrt(drng.random(n_dots))
    dr_um = drng.uniform(6.0, 20.0, n_dots)
    da = drng.uniform(0.3, 1.0, n_dots)
    qx, qy = cam.to_px(drad * np.cos(dang), drad * np.sin(dang))
    white = np.clip(2.2 * skin_mean + 0.06, 0.0, 0.72)
    for i in np.flatnonzero((qx > -5) & (qx < w + 5) & (qy > -5) & (qy < h + 5)).tolist():
        a = design.white_dot_strength * float(da[i])
        over_disc(refl, float(qx[i]), float(qy[i]), float(dr_um[i]) / um, white, a)
    if design.scale_veil > 0:
        for c, tone in enumerate((0.8, 0.78, 0.72)):
            refl[..., c] = refl[..., c] * (1.0 - veil) + tone * veil
    return refl, shine
