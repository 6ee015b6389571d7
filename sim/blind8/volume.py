"""The hair volume: fibre segments voxelised into extinction per depth slab, light
transmittance by marching the same volume toward each lamp of the ring, and the front-to-
back march of each pixel's (orthographic) ray through the slabs down to the lit skin.

A fibre's extinction is a Gaussian tube around its centreline. For a vertical ray at
lateral distance d from the axis the squared distance to the axis along the ray is
d^2 + h^2 (z - z0)^2 (h: horizontal share of the axis direction), so the optical depth a
slab gets is an exact erf difference; each segment owns only the points that project onto
it, so a polyline is voxelised without gaps or double counting at its joints."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

Arr = NDArray[Any]

SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
PAIR_CHUNK = 600_000
VOX_CHUNK = 1_500_000


def voxelise(
    seg: dict[str, Arr],
    hair: dict[str, Arr],
    box: tuple[int, int, int, int],
    pu: float,
    nz: int,
    dz: float,
    pix_sigma: float,
    full: bool,
) -> Arr:
    """Optical depths on the grid ``box = (gx0, gy0, tw, th)`` (pixel indices, centres
    ``pu`` um apart) x ``nz`` slabs of ``dz`` um. ``seg`` holds segment end points x0, y0,
    x1, y1 in grid pixels, z0, z1 in um, radius r (um) and hair index hid. Returns
    (5, nz, th, tw): absorption R, G, B, scattering, specular emission (``full``), or
    (1, nz, th, tw): total extinction."""
    gx0, gy0, tw, th = box
    nch = 5 if full else 1
    out = np.zeros((nch, nz * th * tw), dtype=np.float64)
    if len(seg["r"]) == 0:
        return out.reshape(nch, nz, th, tw).astype(np.float32)
    ax, ay, az = seg["x0"] * pu, seg["y0"] * pu, seg["z0"]
    bx, by, bz = seg["x1"] * pu, seg["y1"] * pu, seg["z1"]
    dxv, dyv, dzv = bx - ax, by - ay, bz - az
    ln = np.maximum(np.sqrt(dxv * dxv + dyv * dyv + dzv * dzv), 1e-6)
    tx, ty, tz = dxv / ln, dyv / ln, dzv / ln
    hh = np.maximum(np.hypot(tx, ty), 0.05)
    ux, uy = tx / hh, ty / hh
    r = seg["r"]
    wseg = seg["w"]
    sig = 0.42 * r
    sig_l = np.sqrt(sig * sig + pix_sigma * pix_sigma)
    reach = 3.0 * sig_l
    ix0 = np.maximum(np.floor((np.minimum(ax, bx) - reach) / pu), gx0).astype(np.int64)
    ix1 = np.minimum(np.ceil((np.maximum(ax, bx) + reach) / pu), gx0 + tw - 1).astype(np.int64)
    iy0 = np.maximum(np.floor((np.minimum(ay, by) - reach) / pu), gy0).astype(np.int64)
    iy1 = np.minimum(np.ceil((np.maximum(ay, by) + reach) / pu), gy0 + th - 1).astype(np.int64)
    bw = np.maximum(ix1 - ix0 + 1, 0)
    bh = np.maximum(iy1 - iy0 + 1, 0)
    cnt = bw * bh
    hid = seg["hid"]
    absorb = hair["absorb"]
    scat = hair["scat"]
    med = hair["medulla"]
    cut = hair["cuticle"]
    spec = hair["spec"]
    ext_h = absorb.mean(axis=1) + scat
    zmax = nz * dz
    csum = np.cumsum(cnt)
    start = 0
    nseg = len(cnt)
    while start < nseg:
        base = csum[start - 1] if start > 0 else 0
        stop = int(np.searchsorted(csum, base + PAIR_CHUNK, side="right"))
        stop = max(stop, start + 1)
        sl = np.arange(start, stop)
        start = stop
        c = cnt[sl]
        tot = int(c.sum())
        if tot == 0:
            continue
        rep = np.repeat(sl, c)
        first = np.repeat(np.cumsum(c) - c, c)
        loc = np.arange(tot) - first
        bwr = bw[rep]
        px = ix0[rep] + loc % bwr
        py = iy0[rep] + loc // bwr
        qx = px * pu - ax[rep]
        qy = py * pu - ay[rep]
        dpar = qx * ux[rep] + qy * uy[rep]
        dp2 = np.maximum(qx * qx + qy * qy - dpar * dpar, 0.0)
        keep = dp2 < reach[rep] ** 2
        rep, px, py, dpar, dp2 = rep[keep], px[keep], py[keep], dpar[keep], dp2[keep]
        h_r = hh[rep]
        tz_r = tz[rep]
        zc = az[rep] + dpar * tz_r / h_r
        zg = 3.0 * sig[rep] / h_r
        s0 = dpar * h_r
        flat = np.abs(tz_r) < 1e-6
        safe_tz = np.where(flat, 1.0, tz_r)
        za = az[rep] + (0.0 - s0) / safe_tz
        zb = az[rep] + (ln[rep] - s0) / safe_tz
        inside = (s0 >= 0.0) & (s0 <= ln[rep])
        lo = np.where(flat, np.where(inside, -1e9, 1e9), np.minimum(za, zb))
        hi = np.where(flat, np.where(inside, 1e9, -1e9), np.maximum(za, zb))
        zlo = np.maximum(np.maximum(lo, zc - zg), 0.0)
        zhi = np.minimum(np.minimum(hi, zc + zg), zmax)
        ok = zhi > zlo
        rep, px, py, dp2, zc, zlo, zhi = (
            rep[ok],
            px[ok],
            py[ok],
            dp2[ok],
            zc[ok],
            zlo[ok],
            zhi[ok],
        )
        k0 = np.clip(np.floor(zlo / dz), 0, nz - 1).astype(np.int64)
        k1 = np.clip(np.floor(zhi / dz), 0, nz - 1).astype(np.int64)
        kc = k1 - k0 + 1
        rr = r[rep]
        sg = sig[rep]
        sgl = sig_l[rep]
        lat = np.exp(-dp2 / (2.0 * sgl * sgl)) * sg / sgl / (SQRT_2PI * sg) * wseg[rep]
        aa = hh[rep] / (math.sqrt(2.0) * sg)
        cell = ((py - gy0) * tw + (px - gx0)).astype(np.int64)
        hrep = hid[rep]
        if full:
            dperp = np.sqrt(dp2)
            mcore = np.exp(-((dperp / (0.3 * rr)) ** 2))
            cedge = np.clip(dperp / rr, 0.0, 1.0) ** 4
            fa = 1.0 - med[hrep] * mcore
            fs = scat[hrep] + 0.8 * med[hrep] * mcore + cut[hrep] * cedge
            fe = spec[hrep] * hh[rep] ** 3 * np.exp(-((dperp / (0.35 * rr)) ** 2))
        kcs = np.cumsum(kc)
        p0 = 0
        npair = len(kc)
        while p0 < npair:
            b0 = kcs[p0 - 1] if p0 > 0 else 0
            p1 = max(int(np.searchsorted(kcs, b0 + VOX_CHUNK, side="right")), p0 + 1)
            ps = np.arange(p0, p1)
            p0 = p1
            kk = kc[ps]
            tv = int(kk.sum())
            r2 = np.repeat(ps, kk)
            k = k0[r2] + (np.arange(tv) - np.repeat(np.cumsum(kk) - kk, kk))
            z1 = np.maximum(k * dz, zlo[r2])
            z2 = np.minimum((k + 1) * dz, zhi[r2])
            a2 = aa[r2]
            zc2 = zc[r2]
            val = (special.erf(a2 * (z2 - zc2)) - special.erf(a2 * (z1 - zc2))) * (
                SQRT_PI / (2.0 * a2)
            )
            tau = val * lat[r2]
            idx = k * (th * tw) + cell[r2]
            size = nz * th * tw
            if full:
                hr2 = hrep[r2]
                ta = tau * fa[r2]
                for ch in range(3):
                    out[ch] += np.bincount(idx, ta * absorb[hr2, ch], minlength=size)
                out[3] += np.bincount(idx, tau * fs[r2], minlength=size)
                out[4] += np.bincount(idx, tau * fe[r2], minlength=size)
            else:
                out[0] += np.bincount(idx, tau * ext_h[hrep[r2]], minlength=size)
    return out.reshape(nch, nz, th, tw).astype(np.float32)


def light_fields(
    ext: Arr,
    dz: float,
    pu_c: float,
    elev: float,
    azimuths: Arr,
    power: Arr,
    ambient: float,
) -> tuple[Arr, Arr]:
    """From the coarse extinction ``ext`` (nz, H, W): the light reaching each slab centre
    (sum over lamps of power x transmittance, plus ambient), and each lamp's
    transmittance down to the skin (nl, H, W). The march toward a lamp is a running sum
    of slabs, each shifted along the lamp's horizontal direction."""
    nz, hgt, wid = ext.shape
    lin = np.full((nz, hgt, wid), ambient, dtype=np.float32)
    tskin = np.ones((len(azimuths), hgt, wid), dtype=np.float32)
    occupied = np.nonzero(ext.reshape(nz, -1).max(axis=1) > 1e-5)[0]
    if len(occupied) == 0:
        lin += float(power.sum())
        return lin, tskin
    ktop = int(occupied.max())
    # spread each slab's density over its neighbours so a steep shaft crossing slab
    # boundaries does not shade in bands
    ext = ext.copy()
    if nz > 2:
        ext[1:-1] = 0.25 * ext[:-2] + 0.5 * ext[1:-1] + 0.25 * ext[2:]
    step = dz / math.tan(elev) / pu_c
    for li, (psi, pw) in enumerate(zip(azimuths, power, strict=True)):
        sx, sy = math.cos(psi) * step, math.sin(psi) * step
        g = np.zeros((hgt, wid), dtype=np.float32)
        lin[ktop + 1 :] += pw
        for k in range(ktop, -1, -1):
            lin[k] += pw * np.exp(-(g + 0.5 * ext[k]))
            g = _shift_read(g + ext[k], sx, sy)
        tskin[li] = np.exp(-g)
    return lin, tskin


def _shift_read(a: Arr, sx: float, sy: float) -> Arr:
    """``out[y, x] = a[y + sy, x + sx]`` (bilinear, edges extended)."""
    hgt, wid = a.shape
    ix, iy = math.floor(sx), math.floor(sy)
    fx, fy = sx - ix, sy - iy
    xs = np.clip(np.arange(wid) + ix, 0, wid - 1)
    xs1 = np.clip(xs + 1, 0, wid - 1)
    ys = np.clip(np.arange(hgt) + iy, 0, hgt - 1)
    ys1 = np.clip(ys + 1, 0, hgt - 1)
    row = a[ys] * (1.0 - fy) + a[ys1] * fy
    return np.asarray(row[:, xs] * (1.0 - fx) + row[:, xs1] * fx, dtype=np.float32)


def sample_coarse(field: Arr, cy: Arr, cx: Arr) -> Arr:
    """Bilinear look-up of ``field`` (..., H, W) at float coarse coordinates (m,)."""
    hgt, wid = field.shape[-2:]
    cy = np.clip(cy, 0.0, hgt - 1.001)
    cx = np.clip(cx, 0.0, wid - 1.001)
    y0 = cy.astype(np.int64)
    x0 = cx.astype(np.int64)
    wy = (cy - y0).astype(np.float32)
    wx = (cx - x0).astype(np.float32)
    f00 = field[..., y0, x0]
    f01 = field[..., y0, x0 + 1]
    f10 = field[..., y0 + 1, x0]
    f11 = field[..., y0 + 1, x0 + 1]
    top = f00 + (f01 - f00) * wx
    bot = f10 + (f11 - f10) * wx
    return np.asarray(top + (bot - top) * wy, dtype=np.float32)


def march(vol: Arr, lin: Arr, skin: Arr, hg_phase: float) -> tuple[Arr, Arr]:
    """Front-to-back march of the columns of ``vol`` (5, nz, m) lit by ``lin`` (nz, m)
    over ``skin`` radiance (3, m): single scattering (albedo x Henyey-Greenstein phase
    ``hg_phase`` of the ring's back-scattering angle) plus an isotropic multiple-scattering
    term of the fibre's albedo, then the skin seen through what is left. Returns radiance
    (3, m) and the hair opacity (m,)."""
    nz, m = vol.shape[1], vol.shape[2]
    col = np.zeros((3, m), dtype=np.float32)
    trans = np.ones((3, m), dtype=np.float32)
    active = np.nonzero(vol[:4].reshape(4, nz, m).max(axis=(0, 2)) > 1e-6)[0]
    for k in active[::-1]:
        a = vol[0:3, k]
        s = vol[3, k]
        ext = a + s
        att = np.exp(-ext)
        alb = s / np.maximum(ext, 1e-6)
        ms = 0.5 * alb * alb / (1.0 - 0.5 * alb)
        col += trans * ((alb * hg_phase + ms) * lin[k] * (1.0 - att) + vol[4, k])
        trans *= att
    col += trans * skin
    return col, 1.0 - trans[1]
