"""Hair shafts as fragments: each pixel near an axis (from the distance-transform band)
becomes a fragment with the shaft's coverage, height, colour and per-channel
transmittance; fragments are sorted by height per pixel and composited (an A-buffer).

Coverage is the box filter of the shaft's width across the axis; ends are cut by a plane
through the end point (square, oblique or jagged, the cut face seen as an ellipse where the
stub stands) or round off at a tapered tip. Shading treats the shaft as a dielectric
cylinder with melanin in its cortex, after Marschner's three paths: R (white, at the
surface, shifted by the cuticle tilt), TRT (coloured, twice through the fibre, shifted the
other way and broader) and TT, which here goes down through the fibre to the skin and
back (the shaft's transmittance squared); plus a diffuse term from the light scattered in
the cortex and medulla. Cross-polarised light keeps only the light that lost its
polarisation. Hairs cast soft shadows from every lamp of the ring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind12.camera import Pose
from sim.blind12.design import Design
from sim.blind12.fields import Band, polyline_band
from sim.blind12.scene import JAGGED, OBLIQUE, TAPER, Curves, Slots

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

# absorption per um of eumelanin and pheomelanin at unit load (R, G, B)
EU = np.array([0.419, 0.697, 1.37]) / 80.0
PHEO = np.array([0.187, 0.4, 1.05]) / 80.0
# fragments pass from the sharp layer to the nearer, more blurred one between these heights
NEAR_UM = (120.0, 300.0)
BLOCK = 300_000  # fragments shaded at a time
GROUP_PIXELS = 1_500_000  # about how many band pixels the hairs of one group may cover


@dataclass(frozen=True)
class Hairs:
    """The drawn hairs: their slots and their centrelines in one flat table (offsets)."""

    slots: Slots
    x: F64
    y: F64
    z: F64
    r: F64
    s: F64
    start: I64  # each hair's first node in the flat table
    count: I64  # its number of nodes


def flatten(slots: Slots, groups: list[tuple[I64, Curves]]) -> Hairs:
    """One table from groups of hairs (indices into ``slots``, their curves)."""
    idx: list[I64] = []
    xs, ys, zs, rs, ss, cn = [], [], [], [], [], []
    for ind, c in groups:
        if len(ind) == 0:
            continue
        idx.append(ind)
        k = c.x.shape[1]
        xs.append(c.x.ravel())
        ys.append(c.y.ravel())
        zs.append(c.z.ravel())
        rs.append(c.r.ravel())
        ss.append(c.s.ravel())
        cn.append(np.full(len(ind), k, dtype=np.int64))
    if not idx:
        e = np.zeros(0)
        ei = np.zeros(0, dtype=np.int64)
        return Hairs(slots.take(ei), e, e, e, e, e, ei, ei)
    count = np.concatenate(cn)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return Hairs(
        slots.take(np.concatenate(idx)),
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(zs),
        np.concatenate(rs),
        np.concatenate(ss),
        start,
        count,
    )


@dataclass(frozen=True)
class Layers:
    """Composited hair light: per layer the colour added (premultiplied) and the
    transmittance of what lies below, and the shadow the hairs cast on the skin."""

    far_c: F32
    far_t: F32
    near_c: F32
    near_t: F32
    shadow: F32


def lights(d: Design) -> F64:
    """Unit vectors to the ring's lamps (px frame, z up)."""
    el = math.radians(d.led_elev_deg)
    az = np.arange(d.leds) * 2 * math.pi / d.leds + 0.3
    out: F64 = np.stack(
        [math.cos(el) * np.cos(az), math.cos(el) * np.sin(az), np.full(d.leds, math.sin(el))],
        axis=1,
    )
    return out


def _lobe(x: F64, width: float) -> F64:
    out: F64 = np.exp(-0.5 * (x / width) ** 2)
    return out


def render(hairs: Hairs, pose: Pose, d: Design) -> Layers:
    """Fragments of every hair, shaded and composited into a far and a near layer."""
    w, h, um = pose.w, pose.h, pose.um
    nh = len(hairs.start)
    zero3 = np.zeros((h, w, 3), dtype=np.float32)
    one3 = np.ones((h, w, 3), dtype=np.float32)
    if nh == 0:
        return Layers(zero3, one3, zero3.copy(), one3.copy(), np.zeros((h, w), np.float32))
    px, py = pose.to_px(hairs.x, hairs.y)
    rpx = hairs.r / um
    paths = []
    reach = []
    size = []
    for i in range(nh):
        a, n = int(hairs.start[i]), int(hairs.count[i])
        xy = np.stack([px[a : a + n], py[a : a + n]], axis=1)
        paths.append(xy)
        rr = rpx[a : a + n] + 1.0
        # room beyond the end for the end's shape (a cut plane at an angle, its face)
        end = int(hairs.slots.end[i])
        slant = abs(math.tan(float(hairs.slots.cut[i]))) if end == OBLIQUE else 0.4
        rr[-3:] = (1.0 if end == TAPER else 1.1 * math.hypot(1.0 + slant, 1.0)) * rpx[
            a + n - 1
        ] + 1.5
        reach.append(rr)
        size.append(float(np.hypot(*np.diff(xy, axis=0).T).sum() + 4.0) * 2.0 * float(rr.max()))
    # hairs in groups of bounded band size (memory), fragments gathered over the groups
    parts: list[tuple[I64, F64, F32, F32, F64]] = []
    group: list[int] = []
    load = 0.0
    for i in range(nh):
        group.append(i)
        load += size[i]
        if load > GROUP_PIXELS or i == nh - 1:
            ids = np.array(group, dtype=np.int64)
            band = polyline_band([paths[k] for k in group], [reach[k] for k in group], w, h)
            if len(band.pix):
                parts.append(_fragments(hairs, ids[band.path], band, px, py, d, um, w))
            group, load = [], 0.0
    if not parts or sum(len(p[0]) for p in parts) == 0:
        return Layers(zero3, one3, zero3.copy(), one3.copy(), np.zeros((h, w), np.float32))
    pix = np.concatenate([p[0] for p in parts])
    z_top = np.concatenate([p[1] for p in parts])
    c_frag = np.concatenate([p[2] for p in parts])
    t_frag = np.concatenate([p[3] for p in parts])
    opacity = np.concatenate([p[4] for p in parts])
    del parts
    # a fragment between the heights is shared: its transmittance split in log space (the
    # product is the fragment's), its light in proportion
    wn = np.clip((z_top - NEAR_UM[0]) / (NEAR_UM[1] - NEAR_UM[0]), 0.0, 1.0)[:, None]
    t_safe = np.clip(t_frag, 1e-6, 1.0)
    layers = []
    for share in (1.0 - wn, wn):
        sel = share[:, 0] > 0
        layers.append(
            _composite(
                pix[sel], z_top[sel], c_frag[sel] * share[sel], t_safe[sel] ** share[sel], h, w
            )
        )
    shadow = _shadows(pix, z_top, opacity, lights(d), d, pose)
    return Layers(layers[0][0], layers[0][1], layers[1][0], layers[1][1], shadow)


def _fragments(
    hairs: Hairs, hi: I64, band: Band, px: F64, py: F64, d: Design, um: float, w: int
) -> tuple[I64, F64, F32, F32, F64]:
    """The fragments of a band (``hi``: each entry's hair): pixel, height of the shaft's
    top, light added, transmittance, and opacity (for shadows)."""
    sl = hairs.slots
    # attributes at the nearest point of the axis
    base = hairs.start[hi]
    k0 = np.minimum(np.floor(band.node).astype(np.int64), hairs.count[hi] - 2)
    f = band.node - k0
    i0 = base + k0

    def at(v: F64) -> F64:
        out: F64 = v[i0] * (1 - f) + v[i0 + 1] * f
        return out

    z_ax = at(hairs.z)
    r_um = at(hairs.r)
    s_um = at(hairs.s)
    ds = np.maximum(hairs.s[i0 + 1] - hairs.s[i0], 1e-6)
    slope = np.clip((hairs.z[i0 + 1] - hairs.z[i0]) / ds, -0.99, 0.99)
    r = r_um / um
    lat = band.lat
    cov = np.clip(np.minimum(lat + 0.5, r) - np.maximum(lat - 0.5, -r), 0.0, 1.0)
    cov *= np.clip(0.5 - band.before, 0.0, 1.0)
    # the end: a plane through the end point (its trace shifted per lateral offset)
    last = hairs.start + hairs.count - 1
    ex, ey = px[last], py[last]
    etx, ety = px[last] - px[last - 1], py[last] - py[last - 1]
    en = np.maximum(np.hypot(etx, ety), 1e-9)
    etx, ety = etx / en, ety / en
    end_len = np.maximum(hairs.s[last] - hairs.s[last - 1], 1e-6)
    end_sin = np.clip(np.abs(hairs.z[last] - hairs.z[last - 1]) / end_len, 0.0, 0.99)
    r_end = hairs.r[last] / um
    pxf = (band.pix % w).astype(np.float64)
    pyf = (band.pix // w).astype(np.float64)
    al = (pxf - ex[hi]) * etx[hi] + (pyf - ey[hi]) * ety[hi]
    near_end = (hairs.s[last][hi] - s_um) / um < 3.0 * r_end[hi] + 3.0
    kind_end = sl.end[hi]
    q = np.clip(lat / np.maximum(r, 1e-6), -1.0, 1.0)
    g = np.select(
        [kind_end == OBLIQUE, kind_end == JAGGED],
        [
            np.tan(sl.cut[hi]) * lat,
            r
            * (
                0.22 * np.sin(1.7 * q * math.pi + sl.jag[hi])
                + 0.1 * np.sin(5.3 * q + 2 * sl.jag[hi])
            ),
        ],
        0.0,
    )
    c = np.where(near_end, al - g, -1e9)
    face_a = np.where(
        kind_end == TAPER, r_end[hi], np.maximum(r_end[hi] * end_sin[hi], 0.15)
    ) * np.sqrt(np.clip(1.0 - q * q, 0.0, 1.0))
    cov *= np.clip(0.5 + face_a - c, 0.0, 1.0)
    face = np.where(kind_end == TAPER, 0.0, np.clip(c + 0.5, 0.0, 1.0))
    keep = cov > 0.004
    (hi, cov, face, q, z_ax, r_um, s_um, slope, pix, tx, ty) = (
        a[keep] for a in (hi, cov, face, q, z_ax, r_um, s_um, slope, band.pix, band.tx, band.ty)
    )
    # --- shading: at the pixel's centre, or (for shafts under four pixels wide) averaged
    # over three points across the part of the shaft the pixel covers
    cos_e = np.sqrt(1.0 - slope * slope)
    t3 = np.stack([tx * cos_e, ty * cos_e, slope], axis=1)  # fibre tangent
    r_px = r_um / um
    lat_c = q * r_px
    thin = np.flatnonzero(r_px < 2.0)
    lo = np.clip((lat_c[thin] - 0.5) / r_px[thin], -1.0, 1.0)
    hi_ = np.clip((lat_c[thin] + 0.5) / r_px[thin], -1.0, 1.0)
    colour = np.empty((len(q), 3))
    trans2 = np.empty((len(q), 3))
    sigma = np.empty((len(q), 3))
    for a in range(0, len(q), BLOCK):  # in blocks, to bound the temporaries
        b = slice(a, a + BLOCK)
        colour[b], trans2[b], sigma[b] = _shade(q[b], t3[b], r_um[b], s_um[b], hi[b], sl, d, um)
    if len(thin):
        acc_c = np.zeros((len(thin), 3))
        acc_t = np.zeros((len(thin), 3))
        for k in range(3):
            qk = lo + (k + 0.5) / 3.0 * (hi_ - lo)
            ck, tk, _ = _shade(qk, t3[thin], r_um[thin], s_um[thin], hi[thin], sl, d, um)
            acc_c += ck / 3.0
            acc_t += tk / 3.0
        colour[thin], trans2[thin] = acc_c, acc_t
    # the cut face: cortex seen end-on, paler, matte
    face_col = 0.45 * np.exp(-0.35 * sigma * 80.0) + 0.05
    colour = colour * (1 - face[:, None]) + face_col * face[:, None]
    trans2 = trans2 * (1 - face[:, None])
    root = np.sqrt(np.clip(1.0 - q * q, 0.0, 1.0))
    c_frag = cov[:, None] * colour
    t_frag = 1.0 - cov[:, None] * (1.0 - trans2)
    z_top = z_ax + r_um * root
    opacity = cov * (1.0 - trans2.mean(axis=1))
    return (
        pix,
        z_top,
        c_frag.astype(np.float32),
        t_frag.astype(np.float32),
        opacity,
    )


def _shade(
    q: F64, t3: F64, r_um: F64, s_um: F64, hi: I64, sl: Slots, d: Design, um_px: float
) -> tuple[F64, F64, F64]:
    """Light leaving a shaft toward the camera at lateral position ``q`` (-1 .. 1 across
    the fibre), and the transmittance (down and back up) of the light that reaches the
    skin below it; also the cortex's absorption per um (for the cut face)."""
    tx, ty, tz = t3[:, 0], t3[:, 1], t3[:, 2]
    # across: horizontal, normal to the fibre; up: normal to both, pointing up
    an = np.maximum(np.hypot(tx, ty), 1e-9)
    ax, ay = -ty / an, tx / an
    ux, uy, uz = -tz * ay, tz * ax, tx * ay - ty * ax
    flip = np.where(uz < 0, -1.0, 1.0)
    ux, uy, uz = ux * flip, uy * flip, uz * flip
    root = np.sqrt(np.clip(1.0 - q * q, 0.0, 1.0))
    nx, ny, nz = q * ax + root * ux, q * ay + root * uy, root * uz
    # (light entering near the rim is bent away: the rim is nearly as dark as the middle)
    chord = 2.0 * r_um * (0.55 + 0.45 * root)
    eu = sl.eu[hi]
    pheo = sl.pheo[hi]
    ph = sl.jag[hi]
    # tips are paler; pigment streaks along the shaft; a medulla of air, in pieces; the
    # cuticle's faint banding
    rel = r_um / (0.5 * sl.diam[hi])
    streak = 1.0 + 0.12 * np.sin(5.0 * q + 3.0 * ph)
    pig = (0.45 + 0.55 * rel) * streak
    sigma = (eu * pig)[:, None] * EU[None, :] + (pheo * pig)[:, None] * PHEO[None, :]
    # (a band finer than about two pixels would only alias: it fades out)
    fine = float(np.clip((2 * math.pi * 3.7 / um_px - 2.0) / 2.0, 0.0, 1.0))
    coarse = float(np.clip((2 * math.pi * 9.0 / um_px - 2.0) / 2.0, 0.0, 1.0))
    grain = (
        1.0
        + 0.05 * coarse * np.sin(s_um / 9.0 + 4.0 * q + ph)
        + 0.04 * fine * np.sin(s_um / 3.7 - 7.0 * q + 2.0 * ph)
    )
    med_w = sl.medulla[hi]
    in_med = np.clip((med_w - np.abs(q)) / 0.08, 0.0, 1.0) * np.clip(
        np.sin(s_um / 140.0 + 2.0 * ph) * 2.0 + 0.5, 0.0, 1.0
    )
    scat = (0.35 + 1.1 * np.exp(-eu / 0.8)) * (1.0 + 0.8 * in_med)
    tau_s = scat * chord / 80.0
    tau_a = sigma * chord[:, None] * (1.0 - 0.2 * in_med)[:, None]
    trans2 = np.exp(-2.0 * (tau_a + tau_s[:, None])) * np.sqrt(root)[:, None]
    diffuse = 0.75 * (1.0 - np.exp(-tau_s))[:, None] * np.exp(-0.8 * tau_a) * grain[:, None]
    lamps = lights(d)
    lamps = lamps[:: max(1, len(lamps) // 6)]  # (a ring of up to six lamps is shade enough)
    spec_r = np.zeros(len(q))
    spec_trt = np.zeros(len(q))
    lamb = np.zeros(len(q))
    alpha = math.radians(-3.0)
    th_r = np.arcsin(np.clip(tz, -1.0, 1.0))
    for lx, ly, lz in lamps.tolist():
        sin_i = tx * lx + ty * ly + tz * lz
        th_h = 0.5 * (np.arcsin(np.clip(sin_i, -1.0, 1.0)) + th_r)
        hn = math.sqrt(lx * lx + ly * ly + (lz + 1.0) ** 2)
        hx, hy, hz = lx / hn, ly / hn, (lz + 1.0) / hn
        # the half vector's part normal to the fibre
        th_ = tx * hx + ty * hy + tz * hz
        px, py, pz = hx - th_ * tx, hy - th_ * ty, hz - th_ * tz
        pn = np.maximum(np.sqrt(px * px + py * py + pz * pz), 1e-9)
        px, py, pz = px / pn, py / pn, pz / pn
        n_r = np.clip(nx * px + ny * py + nz * pz, 0.0, 1.0) ** 90
        # TRT leaves from the mirrored side of the fibre
        pa = px * ax + py * ay
        mx, my, mz = px - 2.0 * pa * ax, py - 2.0 * pa * ay, pz
        n_trt = np.clip(nx * mx + ny * my + nz * mz, 0.0, 1.0) ** 8
        spec_r += _lobe(th_h - alpha, math.radians(4.0)) * n_r
        spec_trt += _lobe(th_h + 1.5 * alpha, math.radians(10.0)) * n_trt
        lamb += np.clip(nx * lx + ny * ly + nz * lz, 0.0, 1.0)
    nl = float(len(lamps))
    lamb = 0.35 + 0.65 * lamb / nl / max(float(lamps[0, 2]), 0.2)
    pol = d.light == "polarised"
    k_r = 0.01 if pol else 0.18
    k_trt = 0.15 if pol else 0.45
    colour = (
        diffuse * lamb[:, None]
        + k_r * (spec_r / nl * grain)[:, None]
        + k_trt * 0.6 * (spec_trt / nl)[:, None] * np.exp(-1.0 * tau_a)
    )
    return colour, trans2, sigma


def _composite(pix: I64, z: F64, c: F64, t: F64, h: int, w: int) -> tuple[F32, F32]:
    """Over-compositing of each pixel's fragments, lowest first: the colour added on top of
    whatever lies below, and that below's transmittance."""
    n = h * w
    if len(pix) == 0:
        return np.zeros((h, w, 3), np.float32), np.ones((h, w, 3), np.float32)
    order = np.lexsort((z, pix))
    pix, c, t = pix[order], c[order], t[order]
    lt = np.log(np.clip(t.astype(np.float64), 1e-6, 1.0))
    total = np.stack([np.bincount(pix, lt[:, k], minlength=n) for k in range(3)], axis=1)
    cs = np.cumsum(lt, axis=0)
    first = np.concatenate([[True], pix[1:] != pix[:-1]])
    start = np.maximum.accumulate(np.where(first, np.arange(len(pix)), 0))
    before = cs[start] - lt[start]  # cumulative log up to the pixel's first fragment
    above = total[pix] - (cs - before)  # log transmittance of the fragments above
    contrib = c * np.exp(above)
    col = np.stack([np.bincount(pix, contrib[:, k], minlength=n) for k in range(3)], axis=1)
    return (
        col.reshape(h, w, 3).astype(np.float32),
        np.exp(total).reshape(h, w, 3).astype(np.float32),
    )


def _shadows(pix: I64, z: F64, opacity: F64, lamps: F64, d: Design, pose: Pose) -> F32:
    """Each lamp throws each fragment's opacity onto the skin, away from itself by the
    fragment's height; the penumbra softens it."""
    w, h, um = pose.w, pose.h, pose.um
    occ = np.zeros(h * w)
    opacity = opacity * np.exp(-z / 250.0)
    x = (pix % w).astype(np.float64)
    y = (pix // w).astype(np.float64)
    use = lamps[:: max(1, len(lamps) // 6)]
    for lv in use:
        reach = z / um * math.sqrt(1.0 - lv[2] ** 2) / max(lv[2], 0.2)
        sx = np.rint(x - lv[0] / max(math.hypot(lv[0], lv[1]), 1e-9) * reach).astype(np.int64)
        sy = np.rint(y - lv[1] / max(math.hypot(lv[0], lv[1]), 1e-9) * reach).astype(np.int64)
        ok = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
        occ += np.bincount(sy[ok] * w + sx[ok], opacity[ok], minlength=h * w)
    occ = occ.reshape(h, w) / len(use)
    soft = ndimage.gaussian_filter(np.minimum(occ, 1.0), 1.0 + 25.0 / um)
    out: F32 = (d.hair_shadow * np.minimum(soft, 1.0)).astype(np.float32)
    return out
