"""The skin under the hairs, anchored to the world so every view of a site shows the same.

Cellular (Worley) fields give the honeycomb pigment network (F2 - F1 ridges), flakes of
scale (whole cells) and keratinocyte micro-texture; sparse convolution noise (Gabor kernels
convolved with random world-anchored impulses) gives the crossing creases and the melanin
mottle; lattice value noise gives speckle. Marks (openings, halos, dots, flecks, black dots)
are soft discs; vessels are dense point chains splatted and blurred. Colour comes from
melanin and blood absorbing on a pale base (Beer-Lambert per channel)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.signal import fftconvolve

from sim.blind14.follicles import Hairs, Units
from sim.blind14.hashing import hash_u, scatter
from sim.blind14.site import Site
from sim.blind14.view import View, upsample

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]

_EPS_MEL = np.array([0.8, 1.15, 1.6], dtype=np.float32)
_EPS_HB = np.array([0.03, 0.45, 0.3], dtype=np.float32)
_BASE = np.array([0.8, 0.62, 0.5], dtype=np.float32)


def worley(key: int, salt: int, x: F64, y: F64, cell: float) -> tuple[F32, F32, F64]:
    """Distances to the nearest and second nearest feature point (one per square cell of
    side ``cell``) and a uniform number owned by the nearest point's cell."""
    cx = x / cell
    cy = y / cell
    ix = np.floor(cx).astype(np.int64)
    iy = np.floor(cy).astype(np.int64)
    lo_x, lo_y = int(ix.min()) - 1, int(iy.min()) - 1
    lx = (cx - lo_x).astype(np.float32)
    ly = (cy - lo_y).astype(np.float32)
    gx = np.arange(lo_x, int(ix.max()) + 2)
    gy = np.arange(lo_y, int(iy.max()) + 2)
    fx = (gx[:, None] - lo_x + hash_u(key, salt, gx[:, None], gy[None, :])).astype(np.float32)
    fy = (gy[None, :] - lo_y + hash_u(key, salt + 1, gx[:, None], gy[None, :])).astype(np.float32)
    fid = hash_u(key, salt + 2, gx[:, None], gy[None, :])
    ix -= lo_x
    iy -= lo_y
    f1 = np.full(x.shape, np.inf, dtype=np.float32)
    f2 = np.full(x.shape, np.inf, dtype=np.float32)
    best = np.zeros(x.shape, dtype=np.int64)
    flat_x, flat_y = fx.ravel(), fy.ravel()
    ny = fx.shape[1]
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            k = (ix + dx) * ny + (iy + dy)
            ddx = flat_x[k] - lx
            ddy = flat_y[k] - ly
            d = ddx * ddx + ddy * ddy
            closer = d < f1
            f2 = np.where(closer, f1, np.minimum(f2, d))
            best = np.where(closer, k, best)
            f1 = np.where(closer, d, f1)
    own: F64 = fid.ravel()[best]
    return np.sqrt(f1) * np.float32(cell), np.sqrt(f2) * np.float32(cell), own


def gabor(
    key: int,
    salt: int,
    view: View,
    step: int,
    shape: tuple[int, int],
    wavelength: float,
    angle: float,
    envelope: float,
) -> F32:
    """Sparse convolution noise on the frame's ``step`` grid: random-signed impulses at
    world points convolved with a Gabor kernel (``wavelength`` and ``envelope`` in microns,
    ``angle`` of the wave in the world), scaled to unit variance."""
    gh, gw = shape
    cell = step * view.um
    bbox = view.world_bbox(2.0 * envelope)
    tile = max(envelope, 4 * cell)
    per_tile = 4.0
    wx, wy, uid = scatter(key, salt, bbox, tile, per_tile)
    sign = np.where(hash_u(key, salt + 5, uid) < 0.5, -1.0, 1.0)
    px, py = view.to_px(wx, wy)
    gx, gy = px / step, py / step
    pad = math.ceil(1.6 * envelope / cell) + 1
    field = np.zeros((gh + 2 * pad, gw + 2 * pad))
    ok = (gx > -pad) & (gx < gw + pad - 2) & (gy > -pad) & (gy < gh + pad - 2)
    gx, gy, sign = gx[ok] + pad, gy[ok] + pad, sign[ok]
    x0 = np.floor(gx).astype(np.int64)
    y0 = np.floor(gy).astype(np.int64)
    ax, ay = gx - x0, gy - y0
    flat = field.ravel()
    w2 = field.shape[1]
    for ddx, ddy, wt in (
        (0, 0, (1 - ax) * (1 - ay)),
        (1, 0, ax * (1 - ay)),
        (0, 1, (1 - ax) * ay),
        (1, 1, ax * ay),
    ):
        flat += np.bincount((y0 + ddy) * w2 + x0 + ddx, weights=wt * sign, minlength=flat.size)
    r = np.arange(-pad, pad + 1) * cell
    kx, ky = np.meshgrid(r, r)
    a = angle - view.theta
    phase = 2.0 * np.pi * (kx * np.cos(a) + ky * np.sin(a)) / wavelength
    kern = np.exp(-np.pi * (kx * kx + ky * ky) / envelope**2) * np.cos(phase)
    out = fftconvolve(field, kern, mode="same")[pad : pad + gh, pad : pad + gw]
    density = per_tile / (tile / cell) ** 2
    scale = math.sqrt(max(density * float(np.sum(kern * kern)) * 0.75, 1e-12))
    res: F32 = (out / scale).astype(np.float32)
    return res


def value_noise(key: int, salt: int, view: View, wx: F64, wy: F64, lattice: float) -> F32:
    """Bilinear lattice noise (uniform values on a world lattice of ``lattice`` microns)."""
    lx, ly = wx / lattice, wy / lattice
    x0, y0 = int(np.floor(lx.min())) - 1, int(np.floor(ly.min())) - 1
    x1, y1 = int(np.ceil(lx.max())) + 2, int(np.ceil(ly.max())) + 2
    gx = np.arange(x0, x1)
    gy = np.arange(y0, y1)
    lat = hash_u(key, salt, gx[None, :], gy[:, None])
    out: F32 = map_coordinates(lat, [ly - y0, lx - x0], order=1, mode="nearest").astype(np.float32)
    return out


def stamp(
    out: F32,
    x: F64,
    y: F64,
    radius: F64,
    strength: F64,
    soft: F64,
    ring: F64 | None = None,
) -> None:
    """Max-composite soft discs (or rings of inner radius ``ring``) into ``out``, in
    pixels."""
    h, w = out.shape
    ext = radius + 2.0 * soft + 1.0
    x0 = np.maximum(np.floor(x - ext), 0).astype(np.int64)
    x1 = np.minimum(np.ceil(x + ext), w - 1).astype(np.int64)
    y0 = np.maximum(np.floor(y - ext), 0).astype(np.int64)
    y1 = np.minimum(np.ceil(y + ext), h - 1).astype(np.int64)
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    live = np.nonzero((bw > 0) & (bh > 0))[0]
    if live.size == 0:
        return
    cnt = (bw * bh)[live]
    flat = out.ravel()
    cum = np.cumsum(cnt)
    lo = 0
    while lo < live.size:
        base = cum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cum, base + 2_000_000, side="right")), lo + 1)
        sel = live[lo:hi]
        c = cnt[lo:hi]
        rep = np.repeat(sel, c)
        local = np.arange(rep.size) - np.repeat(np.cumsum(c) - c, c)
        px = x0[rep] + local % bw[rep]
        py = y0[rep] + local // bw[rep]
        d = np.hypot(px - x[rep], py - y[rep])
        a = np.clip(0.5 - (d - radius[rep]) / (2.0 * soft[rep]), 0.0, 1.0)
        if ring is not None:
            a *= np.clip(0.5 + (d - ring[rep]) / (2.0 * soft[rep]), 0.0, 1.0)
        np.maximum.at(flat, py * w + px, (a * strength[rep]).astype(np.float32))
        lo = hi


def _vessels(site: Site, view: View) -> F32:
    """Blood from fine loops and arborising vessels (point chains splatted and blurred)."""
    h, w = view.height, view.width
    acc = np.zeros(h * w)
    if site.vessels < 0.05:
        return acc.reshape(h, w).astype(np.float32)
    bbox = view.world_bbox(600.0)
    tile = 2000.0
    xs: list[F64] = []
    ys: list[F64] = []
    tx0, ty0 = math.floor(bbox[0] / tile), math.floor(bbox[1] / tile)
    tx1, ty1 = math.floor(bbox[2] / tile), math.floor(bbox[3] / tile)
    spacing = 3.0
    for tx in range(tx0, tx1 + 1):
        for ty in range(ty0, ty1 + 1):
            rng = np.random.default_rng([site.key, 5151, tx + (1 << 20), ty + (1 << 20)])
            for _ in range(int(rng.poisson(site.vessels * 10.0))):
                # a hairpin loop: out and back, 60-220 um
                ln = rng.uniform(60.0, 220.0)
                wd = rng.uniform(12.0, 35.0)
                ang = rng.uniform(0, 2 * np.pi)
                s = np.linspace(0, np.pi, max(8, int(2 * ln / spacing)))
                lx = ln * np.sin(s) * 0.5 + ln * 0.5 * (s / np.pi)
                ly = wd * np.cos(s)
                ox, oy = (tx + rng.random()) * tile, (ty + rng.random()) * tile
                xs.append(ox + lx * np.cos(ang) - ly * np.sin(ang))
                ys.append(oy + lx * np.sin(ang) + ly * np.cos(ang))
            for _ in range(int(rng.poisson(site.vessels * 0.8))):
                # an arborising vessel: a wandering trunk with a few branches
                starts = [
                    (
                        (tx + rng.random()) * tile,
                        (ty + rng.random()) * tile,
                        rng.uniform(0, 2 * np.pi),
                        rng.uniform(600.0, 2500.0),
                    )
                ]
                for _b in range(int(rng.integers(1, 4))):
                    starts.append((0.0, 0.0, 0.0, -1.0))
                trunk: tuple[F64, F64] | None = None
                for sx, sy, sa, sl in starts:
                    if sl < 0 and trunk is not None:
                        k = int(rng.integers(0, len(trunk[0])))
                        sx, sy = float(trunk[0][k]), float(trunk[1][k])
                        sa = rng.uniform(0, 2 * np.pi)
                        sl = rng.uniform(200.0, 900.0)
                    n = max(4, int(sl / spacing))
                    head = sa + np.cumsum(rng.normal(0.0, 0.05, n))
                    cx = sx + np.cumsum(spacing * np.cos(head))
                    cy = sy + np.cumsum(spacing * np.sin(head))
                    if trunk is None:
                        trunk = (cx, cy)
                    xs.append(cx)
                    ys.append(cy)
    if not xs:
        return acc.reshape(h, w).astype(np.float32)
    px, py = view.to_px(np.concatenate(xs), np.concatenate(ys))
    ok = (px > -3) & (px < w + 2) & (py > -3) & (py < h + 2)
    px, py = px[ok], py[ok]
    sigma = max(0.8, 5.0 / view.um)
    weight = (spacing / view.um) * math.sqrt(2 * math.pi) * sigma
    x0 = np.floor(px).astype(np.int64)
    y0 = np.floor(py).astype(np.int64)
    ax, ay = px - x0, py - y0
    for ddx, ddy, wt in (
        (0, 0, (1 - ax) * (1 - ay)),
        (1, 0, ax * (1 - ay)),
        (0, 1, (1 - ax) * ay),
        (1, 1, ax * ay),
    ):
        xx, yy = x0 + ddx, y0 + ddy
        inb = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        acc += np.bincount(yy[inb] * w + xx[inb], weights=wt[inb] * weight, minlength=h * w)
    out: F32 = gaussian_filter(acc.reshape(h, w), sigma).astype(np.float32)
    return np.minimum(out, 1.5)


def skin(
    site: Site, view: View, units: Units, hairs: Hairs, hairless: bool
) -> tuple[F32, F32, F32, F32]:
    """Linear RGB reflectance of the skin (h, w, 3), the flake cover (alpha) and colour
    drawn over the hairs, and a glint map for unpolarised light."""
    h, w, um = view.height, view.width, view.um
    key = site.key
    step = max(1, round(24.0 / um))
    wx, wy, gh, gw = view.grid(step)

    def smooth(salt: int, wavelength: float, angle: float, envelope: float) -> F32:
        """Sparse convolution noise on a grid as coarse as its wavelength allows, brought
        to the common grid."""
        fine = max(1, min(round(wavelength / (8.0 * um)), 64))
        if fine <= step:
            fine = step
        _, _, fh, fw = view.grid(fine) if fine != step else (wx, wy, gh, gw)
        f = gabor(key, salt, view, fine, (fh, fw), wavelength, angle, envelope)
        return upsample(f, fine, gh, gw, to_step=step)

    # melanin: mottle and the honeycomb network
    # (three orientations, so blotches rather than bands)
    mottle = (
        smooth(11, 900.0, site.crease_angle + 1.0, 700.0)
        + smooth(13, 1100.0, site.crease_angle + 2.05, 800.0)
        + smooth(15, 800.0, site.crease_angle + 3.1, 650.0)
    ) / np.float32(np.sqrt(3.0))
    f1, f2, _own = worley(key, 21, wx, wy, site.network_cell_um)
    ridge = np.exp(-(((f2 - f1) / (0.09 * site.network_cell_um)) ** 2)) * np.clip(
        0.65 + 0.35 * mottle, 0.0, 1.3
    )
    mel_g = site.melanin * (
        1.0 + 0.7 * site.mottle * mottle + site.network * 0.55 * ridge - site.network * 0.12
    )
    # creases: zero crossings of two families of oriented sparse-convolution noise
    c1 = smooth(31, site.crease_um * 2.0, site.crease_angle, 3.0 * site.crease_um)
    c2 = smooth(41, site.crease_um * 2.8, site.crease_angle + 1.2, 3.0 * site.crease_um)
    crease = np.exp(-((c1 / 0.18) ** 2)) * np.clip(0.5 + 0.5 * mottle, 0, 1) + 0.6 * np.exp(
        -((c2 / 0.14) ** 2)
    ) * np.clip(0.5 - 0.5 * mottle, 0, 1)
    patch = smooth(61, 4000.0, 0.3, 2500.0)
    # scale: flakes (whole Worley cells, their edges softened) where a slow mask allows
    flake_cell = 90.0 + 120.0 * site.scale
    if site.scale > 0:
        g1, g2, fown = worley(key, 51, wx, wy, flake_cell)
        ragged = smooth(63, 60.0, 1.0, 50.0)
        cover = site.scale * 0.45
        flake = (
            (fown < cover * (0.5 + 0.5 * np.tanh(patch)))
            * np.clip((g2 - g1) / (0.3 * flake_cell) + 0.35 * ragged - 0.1, 0, 1)
            * (0.12 + 0.3 * hash_u(key, 53, np.floor(fown * 1e6).astype(np.int64)))
        )
    else:
        flake = np.zeros_like(wx)
    blood_g = site.blood * (1.0 + 0.25 * mottle * 0.5) + site.redness * 0.8 * (
        0.5 + 0.5 * np.tanh(patch)
    )
    grid = np.stack([mel_g, blood_g, crease, flake], axis=0).astype(np.float32)
    full = [upsample(g, step, h, w) for g in grid]
    mel, blood, crease_f, flake_a = full
    # speckle and cell texture
    gx32, gy32 = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    fx, fy = view.to_world(gx32, gy32)  # type: ignore[arg-type]  # float32 saves memory
    lattice = max(9.0, 1.3 * um)
    speck = value_noise(key, 71, view, fx, fy, lattice) - 0.5
    speck_amp = site.cell_texture * min(1.0, 3.0 * 9.0 / lattice)
    # marks: openings, halos, dots, flecks (pixels)
    ux, uy = view.to_px(units.x, units.y)
    r_open = units.r_open / um
    inside = (ux > -200) & (ux < w + 200) & (uy > -200) & (uy < h + 200)
    ux, uy, r_open = ux[inside], uy[inside], r_open[inside]
    n0 = units.n[inside]
    uid = units.uid[inside]
    soft_open = np.maximum(0.6, 0.3 * r_open)
    opening = np.zeros((h, w), np.float32)
    stamp(opening, ux, uy, r_open * 0.8, 0.55 + 0 * r_open, soft_open)
    halo = np.zeros((h, w), np.float32)
    if site.halo > 0:
        hsel = (n0 > 0) & (hash_u(key, 81, uid) < 0.7)
        stamp(
            halo,
            ux[hsel],
            uy[hsel],
            2.2 * r_open[hsel],
            site.halo + 0 * r_open[hsel],
            np.maximum(1.0, r_open[hsel] * 0.4),
            ring=r_open[hsel] * 0.9,
        )
    yellow = np.zeros((h, w), np.float32)
    ysel = (n0 == 0) & (hash_u(key, 82, uid) < site.yellow_dots)
    stamp(
        yellow,
        ux[ysel],
        uy[ysel],
        r_open[ysel] * (0.8 + 0.6 * hash_u(key, 83, uid[ysel])),
        0.3 + 0.35 * hash_u(key, 84, uid[ysel]),
        np.maximum(0.8, 0.35 * r_open[ysel]),
    )
    white = np.zeros((h, w), np.float32)
    bbox = view.world_bbox(100.0)
    wdx, wdy, wid = scatter(key, 91, bbox, 1000.0, site.white_dots * 2.0)
    wpx, wpy = view.to_px(wdx, wdy)
    stamp(
        white,
        wpx,
        wpy,
        (8.0 + 12.0 * hash_u(key, 92, wid)) / um,
        (0.35 + 0.1 * site.fitzpatrick) * (0.5 + 0.5 * hash_u(key, 93, wid)),
        np.maximum(0.5, 4.0 / um) + 0 * wpx,
    )
    # empty openings on dark skin read as white dots too
    esel = (n0 == 0) & ~ysel
    stamp(
        white,
        ux[esel],
        uy[esel],
        r_open[esel] * 0.6,
        0.12 * site.fitzpatrick + 0 * ux[esel],
        np.maximum(0.6, 0.3 * r_open[esel]),
    )
    fleck = np.zeros((h, w), np.float32)
    fdx, fdy, fid = scatter(key, 95, bbox, 1000.0, site.flecks * 1.2)
    fpx, fpy = view.to_px(fdx, fdy)
    for j in range(3):
        ox = (hash_u(key, 96 + j, fid) - 0.5) * 40.0 / um
        oy = (hash_u(key, 99 + j, fid) - 0.5) * 40.0 / um
        stamp(
            fleck,
            fpx + ox,
            fpy + oy,
            (10.0 + 30.0 * hash_u(key, 102 + j, fid)) / um,
            0.6 + 0.8 * hash_u(key, 105, fid),
            np.maximum(0.6, 6.0 / um) + 0 * fpx,
        )
    black = np.zeros((h, w), np.float32)
    if not hairless:
        bsel = hairs.kind == 4
        bx, by = view.to_px(hairs.x[bsel], hairs.y[bsel])
        rad = 0.5 * hairs.d0[bsel] / um
        stamp(black, bx, by, rad, 0.93 + 0 * rad, np.maximum(0.45, 0.12 * rad))
    ves = _vessels(site, view)
    pol = 1.0 if site.polarised else 0.6
    mel = mel * (1.0 + 1.1 * halo) + 0.8 * fleck * (0.3 + site.melanin)
    hb = blood + 0.9 * pol * ves + 0.25 * opening
    refl = _BASE * np.exp(
        -mel[..., None] * _EPS_MEL * (1.0 + 0.06 * site.skin_hue) - hb[..., None] * _EPS_HB
    )
    refl *= (1.0 - np.clip(site.crease * 1.3 * crease_f, 0, 0.4))[..., None]
    refl *= (1.0 + speck_amp * 2.0 * speck)[..., None]
    refl *= (1.0 - 0.35 * opening)[..., None]
    refl = refl * (1 - white[..., None]) + white[..., None] * np.array(
        [0.86, 0.84, 0.8], np.float32
    )
    refl = refl * (1 - yellow[..., None]) + yellow[..., None] * np.array(
        [0.8, 0.62, 0.32], np.float32
    )
    refl = refl * (1 - black[..., None]) + black[..., None] * np.array(
        [0.03, 0.025, 0.022], np.float32
    )
    glint = np.clip((speck + 0.5 - 0.93) / 0.07, 0, 1) ** 2 * (1 - crease_f.clip(0, 1))
    flake_col = np.array([0.92, 0.88, 0.74], np.float32)
    if site.scale > 0:
        # perifollicular scaling: a white collar round some openings with hair
        csel = (n0 > 0) & (hash_u(key, 85, uid) < 0.5 * site.scale)
        collar = np.zeros((h, w), np.float32)
        stamp(
            collar,
            ux[csel],
            uy[csel],
            1.7 * r_open[csel],
            0.15 + 0.25 * hash_u(key, 86, uid[csel]),
            np.maximum(0.8, 0.45 * r_open[csel]),
            ring=r_open[csel] * 0.9,
        )
        flake_a = np.maximum(flake_a, collar * (0.85 + 0.3 * speck))
    return refl.astype(np.float32), flake_a.astype(np.float32), flake_col, glint.astype(np.float32)
