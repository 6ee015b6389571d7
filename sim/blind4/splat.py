"""Hair shafts drawn as point clouds of surface elements (surfels), splatted.

A shaft is a dense lattice of surfels in (arc length s, across-fibre coordinate u): rows
at most 0.85 px apart along a perturbed centreline, lanes at most 0.85 px apart across it.
Every surfel carries its own shaded colour and opacity and its area; it is deposited into
its nine nearest pixels with quadratic B-spline weights, into accumulators of opacity-weighted
coverage and of colour weighted by it. Coverage reconstructs the silhouette (anti-aliased,
sub-pixel shafts included); colour is the weighted mean.
Each shaft is composited over what lies beneath it, in a window per stretch of shaft, so
shafts occlude each other in drawing order.

Shading is Marschner-style for a fibre under a ring of LEDs around the lens: for each LED the
longitudinal half angle decides whether the surface (R) reflex, white and shifted toward the
root by the cuticle tilt, and the internal (TRT) reflex, tinted by the pigment and shifted the
other way, light up this stretch of shaft; the azimuth of the light around the fibre decides
where across the shaft the reflex lies. Body colour has limb darkening, pigment streaks, a
medulla (continuous, interrupted or fragmented) and cuticle scale banding when the scale
resolves it. Cross-polarised light removes most of the R reflex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

LANE_PX = 0.85  # largest spacing of surfel lanes and rows, px
END_SQUARE = 0
END_OBLIQUE = 1
END_TAPERED = 2
END_BROKEN = 3
END_NONE = 4


@dataclass(frozen=True)
class Light:
    ring_elev: float  # rad from the optical axis
    n_leds: int
    r_gain: float
    trt_gain: float
    phase: float  # azimuth of the first LED
    sheen: float = 0.0  # broad, dull reflex of the room and diffuser


@dataclass
class Strand:
    x: np.ndarray  # canvas px along the centreline, (n,)
    y: np.ndarray
    tx: np.ndarray  # unit tangent in the image plane
    ty: np.ndarray
    elev: np.ndarray  # elevation of the fibre axis above the skin (rad)
    r: np.ndarray  # radius in px
    s_um: np.ndarray  # arc length from the emergence, um
    colour: np.ndarray  # (3, n) linear body colour
    opacity: np.ndarray  # (n,)
    length_um: float
    end: int
    end_offset_um: np.ndarray | None = None  # per-lane end of the shaft relative to length
    medulla: float = 0.0  # width as a fraction of the radius
    medulla_on: np.ndarray | None = None  # (n,) 0..1
    light_hair: bool = False
    shine: float = 1.0
    trt_colour: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))
    seed: int = 0
    um_per_px: float = 5.0


def _lanes(rmax: float) -> np.ndarray:
    n_u = max(2, math.ceil(2.0 * rmax / LANE_PX))
    return (-1.0 + (np.arange(n_u) + 0.5) * 2.0 / n_u).astype(np.float32)


def _highlights(
    st: Strand, idx: np.ndarray, u: np.ndarray, light: Light
) -> tuple[np.ndarray, np.ndarray]:
    """R (white) and TRT (tinted) reflex strength per surfel, shape (len(idx), n_u)."""
    e = 0.4 * st.elev[idx].astype(np.float64)  # rough fibres: reflexes as if flatter
    txy = np.stack([st.tx[idx], st.ty[idx]]).astype(np.float64)
    ce = np.cos(e)
    t3 = np.stack([txy[0] * ce, txy[1] * ce, np.sin(e)])  # (3, m)
    up = np.array([0.0, 0.0, 1.0])[:, None] - np.sin(e)[None, :] * t3
    up /= np.maximum(np.linalg.norm(up, axis=0, keepdims=True), 1e-9)
    side = np.cross(t3.T, up.T).T  # (3, m)
    betas = light.phase + np.arange(light.n_leds) * 2 * math.pi / light.n_leds
    sl, cl = math.sin(light.ring_elev), math.cos(light.ring_elev)
    leds = np.stack([sl * np.cos(betas), sl * np.sin(betas), np.full(light.n_leds, cl)])  # (3,k)
    th_r = np.arcsin(np.clip(np.sin(e), -1, 1))[:, None]
    th_i = np.arcsin(np.clip(t3.T @ leds, -1, 1))  # (m, k)
    th_h = 0.5 * (th_i + th_r)
    alpha = math.radians(3.0)
    m_r = np.exp(-0.5 * ((th_h + alpha) / math.radians(3.0)) ** 2)
    m_t = np.exp(-0.5 * ((th_h - 1.5 * alpha) / math.radians(9.0)) ** 2)
    phi = np.arctan2(side.T @ leds, up.T @ leds)  # (m, k) azimuth of each LED around the fibre
    u_r = np.sin(0.5 * phi)
    # the two strongest LEDs for each reflex: each lights its own line, fading in and out
    rows = np.arange(len(idx))[:, None]
    top = np.argpartition(-m_r, 1, axis=1)[:, :2] if m_r.shape[1] > 2 else np.argsort(-m_r, axis=1)
    mr = m_r[rows, top].astype(np.float32)
    ur = u_r[rows, top].astype(np.float32)
    top_t = np.argsort(-m_t, axis=1)[:, :1]
    mt = m_t[rows, top_t].astype(np.float32)
    ut = (-np.sign(u_r[rows, top_t]) * (0.4 + 0.3 * np.abs(u_r[rows, top_t]))).astype(np.float32)
    uu = u[None, :]
    w_r = max(0.07, 0.6 * 2.0 / u.size)
    gain_r = np.float32(0.07 / w_r)
    hr = np.zeros((len(idx), u.size), np.float32)
    ht = np.zeros((len(idx), u.size), np.float32)
    for j in range(top.shape[1]):
        hr += (gain_r * mr[:, j : j + 1]) * np.exp(
            -0.5 * ((uu - ur[:, j : j + 1]) / np.float32(w_r)) ** 2
        )
    ht += mt[:, :1] * np.exp(-0.5 * ((uu - ut[:, :1]) / np.float32(0.22)) ** 2)
    return hr.astype(np.float32), ht.astype(np.float32)


def _smooth_noise(rng: np.random.Generator, n: int, corr: float) -> np.ndarray:
    """1-D noise of unit-ish std with correlation length ``corr`` samples."""
    if n <= 1:
        return np.zeros(n, np.float32)
    sig = max(corr / 2.0, 0.5)
    raw = rng.standard_normal(n + int(6 * sig))
    sm = ndimage.gaussian_filter1d(raw, sig, mode="wrap")[:n]
    return np.asarray(sm / max(float(sm.std()), 1e-6), np.float32)


def draw_strand(
    img: np.ndarray,
    acc: np.ndarray,
    st: Strand,
    light: Light,
    owner: np.ndarray | None = None,
    sid: int = 0,
) -> None:
    """Composite one shaft over ``img`` (3, H, W); ``acc`` (4, H, W) is zero on entry and exit.
    Where the shaft is mostly opaque, ``owner`` (H, W) is set to ``sid``."""
    _, hh, ww = img.shape
    n = st.x.size
    if n < 2:
        return
    rmax = float(st.r.max())
    pad = rmax + 2.0
    inside = (st.x > -pad) & (st.x < ww - 1 + pad) & (st.y > -pad) & (st.y < hh - 1 + pad)
    keep = np.flatnonzero(inside)
    if keep.size == 0:
        return
    rng = np.random.default_rng(st.seed)
    u = _lanes(rmax)
    n_u = u.size
    # body shading across the fibre (lane functions) and along it
    if st.light_hair:
        across = 0.9 + 0.1 * np.sqrt(1 - u * u)
        across *= 1.0 - 0.35 * np.clip((np.abs(u) - 0.65) / 0.35, 0, 1) ** 1.5
    else:
        across = 0.5 + 0.5 * np.sqrt(1 - u * u) ** 0.7
    streak = 1.0 + 0.06 * np.cos(u * rng.uniform(4, 9) + rng.uniform(0, 6.3))
    streak += 0.04 * np.cos(u * rng.uniform(11, 19) + rng.uniform(0, 6.3))
    across = (across * streak).astype(np.float32)
    step_um = float(st.s_um[1] - st.s_um[0]) if n > 1 else st.um_per_px
    along = 1.0 + 0.07 * _smooth_noise(rng, n, 60.0 / max(step_um, 0.1))
    sparkle = np.clip(1.0 + 0.3 * _smooth_noise(rng, n, 70.0 / max(step_um, 0.1)), 0, 3)
    end_off = st.end_offset_um if st.end_offset_um is not None else np.zeros(n_u, np.float32)
    if end_off.size != n_u:
        end_off = np.interp(u, np.linspace(-1, 1, end_off.size), end_off.astype(np.float64))
    end_off = np.asarray(end_off, np.float32)
    seg = np.hypot(np.diff(st.x), np.diff(st.y)).astype(np.float32)
    ds_px = np.empty(n, np.float32)
    ds_px[0] = 0.5 * seg[0]
    ds_px[-1] = 0.5 * seg[-1]
    ds_px[1:-1] = 0.5 * (seg[:-1] + seg[1:])

    # ---- every surfel of the visible samples: position, area, shaded colour
    m = keep.size
    r = st.r[keep]
    nx = -st.ty[keep]
    ny = st.tx[keep]
    off = u[None, :] * r[:, None]
    px = st.x[keep][:, None] + off * nx[:, None]
    py = st.y[keep][:, None] + off * ny[:, None]
    s_um = st.s_um[keep][:, None]
    r_um = (r * st.um_per_px)[:, None]
    valid = s_um <= st.length_um + end_off[None, :]
    # the root end is rounded where the shaft enters the skin
    valid &= s_um >= 0.5 * r_um * (1 - np.sqrt(1 - u * u))[None, :]
    mass = (ds_px[keep] * (2.0 * r / n_u))[:, None] * valid
    col = st.colour[:, keep][:, :, None] * (across[None, :] * along[keep][:, None])[None]
    if st.medulla > 0 and st.medulla_on is not None:
        med = np.clip(1 - (u / st.medulla) ** 2, 0, 1)[None, :] * st.medulla_on[keep][:, None]
        if st.light_hair:
            col = col * (1 - 0.45 * med)[None]
        else:
            col = col * (1 + 0.45 * med)[None] + 0.008 * med[None]
    r_um0 = rmax * st.um_per_px
    p_cut = 7.0  # um, cuticle scale spacing
    if p_cut / st.um_per_px > 2.5:
        band = np.sin(2 * math.pi * (s_um + 0.45 * u[None, :] * r_um0) / p_cut)
        col = col * (1 + 0.05 * band)[None]
    if st.end in (END_SQUARE, END_OBLIQUE):
        # the cut face: the cortex seen end-on is a little lighter
        tail = np.flatnonzero(st.s_um[keep] > st.length_um - float(np.abs(end_off).max()) - r_um0)
        if tail.size:
            ft = st.length_um + end_off[None, :] - s_um[tail]
            face = np.clip(1 - ft / (0.35 * r_um0), 0, 1)
            col[:, tail] = col[:, tail] * (1 + 0.5 * face)[None] + 0.015 * face[None]
    hr, ht = _highlights(st, keep, u, light)
    col = col + (light.r_gain * st.shine) * (hr * sparkle[keep][:, None])[None]
    col = col + (light.trt_gain * st.shine) * ht[None] * st.trt_colour[:, None, None]
    if light.sheen > 0:
        col = col + np.float32(light.sheen) * np.exp(-2.5 * u * u)[None, None, :]
    w_all = (mass * st.opacity[keep][:, None]).ravel()
    # nearest pixel; the kernel reaches one pixel either side
    ix_all = np.floor(px + 0.5).astype(np.int64).ravel()
    iy_all = np.floor(py + 0.5).astype(np.int64).ravel()
    # surfels whose nine pixels are all on the canvas (its border is never shown)
    sel = np.flatnonzero(
        (w_all > 0) & (ix_all >= 1) & (ix_all <= ww - 2) & (iy_all >= 1) & (iy_all <= hh - 2)
    )
    if sel.size == 0:
        return
    fx = px.ravel()[sel]
    fy = py.ravel()[sel]
    ix = ix_all[sel]
    iy = iy_all[sel]
    w_m = w_all[sel]
    # coverage x opacity, and colour weighted by it
    attrs = [w_m] + [w_m * col[c].ravel()[sel] for c in range(3)]

    # ---- chunks of shaft, each deposited in its own window
    clen_px = max(100.0, 3.0 * 2 * rmax)
    sample_len = np.cumsum(ds_px[keep])
    new_chunk = np.zeros(m, bool)
    new_chunk[1:] = (np.diff(keep) > 1) | (
        np.floor(sample_len[1:] / clen_px) != np.floor(sample_len[:-1] / clen_px)
    )
    chunk_of_sample = np.cumsum(new_chunk)
    cid = np.repeat(chunk_of_sample, n_u)[sel]
    dx = (fx - ix).astype(np.float32)
    dy = (fy - iy).astype(np.float32)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(cid)) + 1])
    ids = cid[starts]
    nc = int(chunk_of_sample[-1]) + 1
    x0c = np.zeros(nc, np.int64)
    x1c = np.zeros(nc, np.int64)
    y0c = np.zeros(nc, np.int64)
    y1c = np.zeros(nc, np.int64)
    x0c[ids] = np.minimum.reduceat(ix, starts) - 1
    x1c[ids] = np.maximum.reduceat(ix, starts) + 2
    y0c[ids] = np.minimum.reduceat(iy, starts) - 1
    y1c[ids] = np.maximum.reduceat(iy, starts) + 2
    wc = x1c - x0c
    hc = y1c - y0c
    areas = np.where(np.isin(np.arange(nc), ids), wc * hc, 0)
    offs = np.concatenate([[0], np.cumsum(areas)])
    total = int(offs[-1])
    base = offs[cid] + (iy - y0c[cid]) * wc[cid] + (ix - x0c[cid])
    row = wc[cid]
    # quadratic B-spline reconstruction kernel: nearly a partition of unity for any
    # orientation of the surfel lattice at spacings up to a pixel
    kx = (0.5 * (0.5 - dx) ** 2, 0.75 - dx * dx, 0.5 * (0.5 + dx) ** 2)
    ky = (0.5 * (0.5 - dy) ** 2, 0.75 - dy * dy, 0.5 * (0.5 + dy) ** 2)
    flat = np.concatenate([base + (oy * row + ox) for oy in (-1, 0, 1) for ox in (-1, 0, 1)])
    wt = np.concatenate([ky[oy + 1] * kx[ox + 1] for oy in (-1, 0, 1) for ox in (-1, 0, 1)])
    buf = np.stack([np.bincount(flat, wt * np.tile(a, 9), minlength=total) for a in attrs]).astype(
        np.float32
    )
    live = [int(c) for c in ids]
    for c in live:
        a = buf[:, offs[c] : offs[c + 1]].reshape(4, hc[c], wc[c])
        acc[:4, y0c[c] : y1c[c], x0c[c] : x1c[c]] += a
    # composite: a pixel in two windows is blended once (its accumulator is then zero)
    for c in live:
        y0, y1, x0, x1 = y0c[c], y1c[c], x0c[c], x1c[c]
        a = acc[:4, y0:y1, x0:x1]
        wsum = a[0]
        inv = 1.0 / np.maximum(wsum, 1e-7)
        alpha = np.clip(wsum * 1.05, 0, 1)
        dst = img[:, y0:y1, x0:x1]
        dst += alpha[None] * (a[1:4] * inv[None] - dst)
        if owner is not None:
            owner[y0:y1, x0:x1][alpha > 0.5] = sid
        a[...] = 0.0
