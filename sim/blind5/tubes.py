"""Ray casting of hair capsule chains for the blind-5 generator. The camera looks straight down
(orthographic). Each pixel belongs to the chain segment onto whose axis it projects; its
vertical ray is intersected with that segment's cylinder (a quadratic in height; the radius
varies linearly along the segment), with a sphere cap at a natural tip or a flat face at a cut
end. The hit's analytic normal and the fibre tangent feed a Kajiya-Kay model (tangent diffuse
and specular-cone terms averaged over a ring of lights, modulated across the fibre by the
normal); the ray's chord through the fibre gives its opacity per colour. All hairs over a
pixel are composited front to back (exact multi-layer transmission), and hits below the skin
plane go into an absorption map that the skin's scattering blurs. Pixels are processed in
tiles as flat (pixel, segment) pair arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.blind5.fields import F64, I64
from sim.blind5.shafts import Chains

TILE = 128


@dataclass(frozen=True)
class Shading:
    """Lights (k, 3) as unit vectors towards them, specular strength and Kajiya-Kay exponent,
    ambient share, and the depth (px) over which a shaft under the skin fades out."""

    lights: F64
    spec: float
    shine: float
    ambient: float
    depth_px: float


@dataclass(frozen=True)
class HairLayer:
    """What the hairs add to a frame of (h, w) pixels."""

    colour: F64  # (h, w, 3) light scattered by the hair layers (premultiplied)
    trans: F64  # (h, w, 3) share of the skin's light passing through them
    sub: F64  # (h, w, 3) absorption by shafts under the skin
    top: I64  # (h, w) index of the front-most hair, -1 where none
    height: F64  # (h, w) height of the front-most hair above the skin, px


@dataclass(frozen=True)
class _Prep:
    """Per-segment quantities of the chains, computed once."""

    ax: F64  # start
    ay: F64
    az: F64
    vx: F64  # direction (not normalised)
    vy: F64
    vz: F64
    inv2: F64  # 1 / |v|^2
    lxy: F64  # |v|
    r0: F64
    dr: F64
    tcap: F64  # 1 with a sphere cap at p1, else inf (the footprint is a strip)
    tlim: F64  # how far past p1 the footprint reaches (past a joint: enough to close bends)
    axis: F64  # (n, 3) unit 3-D axis
    len3: F64
    diffuse: F64  # Kajiya-Kay diffuse term of the tangent, averaged over the lights
    cone: F64  # Kajiya-Kay specular cone term, averaged over the lights


def _prep(ch: Chains, sh: Shading) -> _Prep:
    v3 = ch.p1 - ch.p0
    len3 = np.maximum(np.linalg.norm(v3, axis=1), 1e-9)
    len2 = np.maximum(v3[:, 0] ** 2 + v3[:, 1] ** 2, 1e-12)
    axis = v3 / len3[:, None]
    lxy = np.sqrt(len2)
    t_l = axis @ sh.lights.T
    sin_tl = np.sqrt(np.clip(1.0 - t_l * t_l, 0.0, 1.0))
    sin_tv = np.sqrt(np.clip(1.0 - axis[:, 2:] ** 2, 0.0, 1.0))
    cone = np.clip(sin_tl * sin_tv - t_l * axis[:, 2:], 0.0, None) ** sh.shine
    return _Prep(
        ch.p0[:, 0],
        ch.p0[:, 1],
        ch.p0[:, 2],
        v3[:, 0],
        v3[:, 1],
        v3[:, 2],
        1.0 / len2,
        lxy,
        ch.r0,
        ch.r1 - ch.r0,
        np.where(ch.end == 1, 1.0, np.inf),
        np.where(ch.end == 0, 1.0 + (np.maximum(ch.r0, ch.r1) + 1.5) / lxy, np.inf),
        axis,
        len3,
        sin_tl.mean(axis=1),
        cone.mean(axis=1),
    )


def _cover(pp: _Prep, g: I64, px: F64, py: F64) -> tuple[I64, F64]:
    """Pairs (pixel, segment g) whose pixel the segment's footprint reaches: their indices
    and a key to keep one segment per hair and pixel (the segment that owns the pixel's
    projection, else the highest axis)."""
    wx, wy = px - pp.ax[g], py - pp.ay[g]
    vx, vy = pp.vx[g], pp.vy[g]
    t = (wx * vx + wy * vy) * pp.inv2[g]
    r = pp.r0[g] + pp.dr[g] * np.clip(t, 0.0, 1.0)
    tc = np.minimum(np.maximum(t, 0.0), pp.tcap[g])
    ex, ey = wx - tc * vx, wy - tc * vy
    d2 = ex * ex + ey * ey
    keep = np.flatnonzero((d2 < (r + 0.5) ** 2) & (t >= 0.0) & (t <= pp.tlim[g]))
    gk, tk = g[keep], t[keep]
    return keep, pp.az[gk] + np.clip(tk, 0.0, 1.0) * pp.vz[gk] + 1e6 * (tk <= 1.0)


def _hits(
    ch: Chains, pp: _Prep, g: I64, px: F64, py: F64, sh: Shading
) -> tuple[F64, F64, F64, F64]:
    """Shade the covering pairs (pixel (px, py), segment g): height of the hit, premultiplied
    colour, transmission and sub-surface absorption."""
    wx, wy, vx, vy = px - pp.ax[g], py - pp.ay[g], pp.vx[g], pp.vy[g]
    t = (wx * vx + wy * vy) * pp.inv2[g]
    r = pp.r0[g] + pp.dr[g] * np.clip(t, 0.0, 1.0)
    tc = np.minimum(np.maximum(t, 0.0), pp.tcap[g])
    dist = np.hypot(wx - tc * vx, wy - tc * vy)
    alpha = np.clip(r + 0.5 - dist, 0.0, 1.0)
    axx, axy, az = pp.axis[g, 0], pp.axis[g, 1], pp.axis[g, 2]
    len3, blunt, round_ = pp.len3[g], ch.end[g] == 2, ch.end[g] == 1
    perp = np.abs(wx * vy - wy * vx) / pp.lxy[g]
    ext = r * np.abs(az) * np.sqrt(np.clip(1.0 - (perp / r) ** 2, 0.0, 1.0))
    end = np.clip(0.5 + ext - (t - 1.0) * pp.lxy[g], 0.0, 1.0)
    alpha = np.where(blunt, alpha * end, alpha)
    a0z = pp.az[g]
    a1x, a1y, a1z = ch.p1[g, 0], ch.p1[g, 1], ch.p1[g, 2]
    # vertical ray (px, py, z) against the cylinder |(Q - p0) x axis| = r
    w_a = wx * axx + wy * axy - a0z * az
    qa = np.maximum(1.0 - az * az, 1e-9)
    qb = 2.0 * (-a0z - w_a * az)
    qc = wx * wx + wy * wy + a0z * a0z - w_a * w_a - r * r
    z_body = (-qb + np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))) / (2.0 * qa)
    s_ax = w_a + z_body * az
    d1 = np.hypot(px - a1x, py - a1y)
    past = s_ax > len3
    cap, face = past & round_, past & blunt
    body = ~(cap | face)
    cap_z = a1z + np.sqrt(np.maximum(r * r - d1 * d1, 0.0))
    az_safe = np.where(np.abs(az) > 1e-3, az, 1e-3)
    tilt = ((px - a1x) * axx + (py - a1y) * axy) / az_safe
    z = np.where(body, z_body, np.where(face, a1z - np.clip(tilt, -r, r), cap_z))
    # analytic normal: only its height component enters the ring-light shading
    nx = np.where(body, wx - s_ax * axx, px - a1x)
    ny = np.where(body, wy - s_ax * axy, py - a1y)
    nz = np.where(body, z - a0z - s_ax * az, z - a1z)
    nz = nz / np.maximum(np.sqrt(nx * nx + ny * ny + nz * nz), 1e-9)
    nz = np.clip(np.where(face, np.abs(az), nz), 0.0, 1.0)
    # chord of the vertical ray through the fibre (clamped off the exact silhouette)
    across = np.where(cap, d1, perp)
    half = np.sqrt(r * r - np.minimum(across, 0.85 * r) ** 2)
    chord = np.where(cap, 2.0 * half, 2.0 * half / np.maximum(np.sqrt(qa), 0.3))
    opac = 1.0 - np.exp(-ch.sigma[g] * chord[:, None])
    diffuse = pp.diffuse[g] * (sh.ambient + (1.0 - sh.ambient) * nz)
    spec = sh.spec * pp.cone[g] * nz**60
    albedo = ch.albedo[g]
    colour = alpha[:, None] * (diffuse[:, None] * albedo * opac + spec[:, None])
    trans = 1.0 - alpha[:, None] + alpha[:, None] * (1.0 - opac) ** 2
    depth = np.exp(np.minimum(z, 0.0) / sh.depth_px)
    grey = 1.0 - 0.5 * albedo - 0.5 * albedo.mean(axis=1, keepdims=True)
    sub = 0.7 * (alpha * depth)[:, None] * opac * grey
    return z, colour, trans, sub


def _tile(
    ch: Chains,
    pp: _Prep,
    sel: I64,
    box: tuple[int, int, int, int],
    lo: I64,
    hi: I64,
    sh: Shading,
) -> tuple[F64, F64, F64, I64, F64] | None:
    """Render the segments ``sel`` into the tile box (x0, y0, x1, y1) (exclusive ends)."""
    bx0, by0, bx1, by1 = box
    tw, th = bx1 - bx0, by1 - by0
    x0, y0 = np.maximum(lo[sel, 0], bx0), np.maximum(lo[sel, 1], by0)
    w = np.minimum(hi[sel, 0], bx1 - 1) - x0 + 1
    h = np.minimum(hi[sel, 1], by1 - 1) - y0 + 1
    ok = (w > 0) & (h > 0)
    sel, x0, y0, w, h = sel[ok], x0[ok], y0[ok], w[ok], h[ok]
    counts = w * h
    if counts.sum() == 0:
        return None
    g = np.repeat(sel, counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    wr = np.repeat(w, counts)
    ix = np.repeat(x0, counts) + local % wr
    iy = np.repeat(y0, counts) + local // wr
    keep, est = _cover(pp, g, ix.astype(np.float64), iy.astype(np.float64))
    if keep.size == 0:
        return None
    g, pix = g[keep], (iy[keep] - by0) * tw + (ix[keep] - bx0)
    hair = ch.hair[g]
    # one layer per hair and pixel (the joints of a chain overlap): the highest
    order = np.lexsort((-est, hair, pix))
    first = np.ones(order.size, dtype=bool)
    first[1:] = (pix[order[1:]] != pix[order[:-1]]) | (hair[order[1:]] != hair[order[:-1]])
    order = order[first]
    g, pix, hair = g[order], pix[order], hair[order]
    z, colour, trans, sub = _hits(
        ch, pp, g, (pix % tw + bx0).astype(np.float64), (pix // tw + by0).astype(np.float64), sh
    )
    n = tw * th
    below = z < 0.0
    sub_map = np.stack([np.bincount(pix, sub[:, c] * below, n) for c in range(3)], axis=1)
    above = ~below
    pix, hair, z, colour, trans = pix[above], hair[above], z[above], colour[above], trans[above]
    order = np.argsort(pix + 0.5 - 0.49 * np.tanh(z / 500.0), kind="stable")
    pix, hair, z, colour, trans = pix[order], hair[order], z[order], colour[order], trans[order]
    log_t = np.log(np.clip(trans, 1e-7, 1.0))
    before = np.cumsum(log_t, axis=0) - log_t
    start = np.ones(pix.size, dtype=bool)
    start[1:] = pix[1:] != pix[:-1]
    group = np.cumsum(start) - 1
    lead = np.flatnonzero(start)
    weight = np.exp(before - before[lead][group])
    col_map = np.stack([np.bincount(pix, colour[:, c] * weight[:, c], n) for c in range(3)], 1)
    trans_map = np.exp(np.stack([np.bincount(pix, log_t[:, c], n) for c in range(3)], 1))
    top = np.full(n, -1, dtype=np.int64)
    top[pix[lead]] = hair[lead]
    height = np.zeros(n)
    height[pix[lead]] = z[lead]
    return (
        np.asarray(col_map, dtype=np.float64),
        np.asarray(trans_map, dtype=np.float64),
        np.asarray(np.minimum(sub_map, 1.0), dtype=np.float64),
        top,
        height,
    )


def render(ch: Chains, width: int, height: int, sh: Shading) -> HairLayer:
    """Cast every pixel's ray against the chains, tile by tile."""
    colour = np.zeros((height, width, 3))
    trans = np.ones((height, width, 3))
    sub = np.zeros((height, width, 3))
    top = np.full((height, width), -1, dtype=np.int64)
    zmap = np.zeros((height, width))
    if ch.r0.size:
        reach = np.maximum(ch.r0, ch.r1)[:, None] + 1.0
        lo = np.floor(np.minimum(ch.p0[:, :2], ch.p1[:, :2]) - reach).astype(np.int64)
        hi = np.ceil(np.maximum(ch.p0[:, :2], ch.p1[:, :2]) + reach).astype(np.int64)
        pp = _prep(ch, sh)
        for by0 in range(0, height, TILE):
            by1 = min(by0 + TILE, height)
            rows = np.flatnonzero((lo[:, 1] < by1) & (hi[:, 1] >= by0))
            for bx0 in range(0, width, TILE):
                bx1 = min(bx0 + TILE, width)
                sel = rows[(lo[rows, 0] < bx1) & (hi[rows, 0] >= bx0)]
                out = _tile(ch, pp, sel, (bx0, by0, bx1, by1), lo, hi, sh) if sel.size else None
                if out is None:
                    continue
                shape = (by1 - by0, bx1 - bx0)
                colour[by0:by1, bx0:bx1] = out[0].reshape(*shape, 3)
                trans[by0:by1, bx0:bx1] = out[1].reshape(*shape, 3)
                sub[by0:by1, bx0:bx1] = out[2].reshape(*shape, 3)
                top[by0:by1, bx0:bx1] = out[3].reshape(shape)
                zmap[by0:by1, bx0:bx1] = out[4].reshape(shape)
    return HairLayer(colour, trans, sub, top, zmap)
