"""Sphere tracing of one signed distance field: the skin's surface smoothly united with every
hair shaft (tapering round cones along its centreline; a cut shaft intersected with its cut
plane, ragged for a frayed cut).

Rays are the telecentric lens's: parallel to the optical axis, one through each pixel centre.
Each ray marches down from above the highest shaft near it by the field's value (a distance
no surface is nearer than) until the field falls below ``EPS``. Only the pieces of shaft whose
projection passes within a pad of a pixel are in its field (up to eight, the highest kept),
and pixels with none need no march: their ray meets the skin where it is. On the way the
nearest approach of the ray to a shaft is kept: a ray that passes within a pixel of a shaft
without touching it gives that shaft a share of the pixel (cone tracing's coverage), so thin
and grazing shafts are anti-aliased without extra rays. At the hit, the normal is the
field's gradient and ambient occlusion comes from five field samples along it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind19.scene import Pieces

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
EPS = 0.02  # px: a ray has reached a surface
MAX_STEPS = 80
STRIP = 96  # rows traced together
_BIG = np.float32(1e6)
_AO_UM = (3.0, 8.0, 16.0, 28.0, 45.0)


@dataclass
class Trace:
    """Per pixel (flattened rows): the piece hit (-1: skin), the hit's height (px), normal,
    ambient occlusion, the hit piece's parameter along it, its coverage of the pixel, and the
    piece a ray passed near above its hit (-1: none) with that piece's share of the pixel."""

    piece: I64
    z: F32
    normal: F32
    ao: F32
    t: F32
    cover: F32
    edge_piece: I64
    edge_cover: F32


@dataclass
class _Cand:
    """Candidate pieces of N pixels, (N, K) each."""

    x: F32
    y: F32
    ax: F32
    ay: F32
    az: F32
    abx: F32
    aby: F32
    abz: F32
    l2: F32
    ra: F32
    rb: F32
    tmax: F32
    capped: NDArray[np.bool_]
    nx: F32
    ny: F32
    nz: F32
    bx: F32
    by: F32
    bz: F32
    fray: F32
    valid: NDArray[np.bool_]
    idx: I64


def _gather(pc: Pieces, idx: I64, x: F32, y: F32) -> _Cand:
    ok = idx >= 0
    j = np.where(ok, idx, 0)

    def g(v: NDArray[np.float64]) -> F32:
        return v[j].astype(np.float32)

    a, b = pc.a, pc.b
    ab = b - a
    capped = pc.capped[j] & ok
    return _Cand(
        x=x[:, None].astype(np.float32),
        y=y[:, None].astype(np.float32),
        ax=g(a[:, 0]),
        ay=g(a[:, 1]),
        az=g(a[:, 2]),
        abx=g(ab[:, 0]),
        aby=g(ab[:, 1]),
        abz=g(ab[:, 2]),
        l2=np.maximum(g((ab**2).sum(axis=1)), np.float32(1e-8)),
        ra=g(pc.ra),
        rb=g(pc.rb),
        tmax=np.where(capped, np.float32(1e4), np.float32(1.0)).astype(np.float32),
        capped=capped,
        nx=g(pc.normal[:, 0]),
        ny=g(pc.normal[:, 1]),
        nz=g(pc.normal[:, 2]),
        bx=g(b[:, 0]),
        by=g(b[:, 1]),
        bz=g(b[:, 2]),
        fray=g(pc.fray),
        valid=ok,
        idx=idx,
    )


def _take(c: _Cand, rows: I64) -> _Cand:
    return _Cand(**{k: getattr(c, k)[rows] for k in _Cand.__dataclass_fields__})


def _field(c: _Cand, px: F32, py: F32, pz: F32) -> tuple[F32, F32]:
    """Distance (px) from points (N,) to each candidate piece (N, K), and the parameter along
    it of the nearest axis point."""
    dx = px[:, None] - c.ax
    dy = py[:, None] - c.ay
    dz = pz[:, None] - c.az
    dot = dx * c.abx + dy * c.aby + dz * c.abz
    t = np.clip(dot / c.l2, 0.0, c.tmax)
    d2 = dx * dx + dy * dy + dz * dz - 2.0 * t * dot + t * t * c.l2
    rad = c.ra + np.minimum(t, 1.0) * (c.rb - c.ra)
    d = np.sqrt(np.maximum(d2, 0.0)) - rad
    if c.capped.any():
        ex, ey, ez = px[:, None] - c.bx, py[:, None] - c.by, pz[:, None] - c.bz
        plane = ex * c.nx + ey * c.ny + ez * c.nz
        # a frayed cut: the plane pushed back and forth across the fibre in splinters
        across = ex * c.ny - ey * c.nx
        plane = plane + c.fray * np.sin(across * 2.7 / np.maximum(c.ra, 0.3))
        d = np.where(c.capped, np.maximum(d, plane), d)
    d = np.where(c.valid, d, _BIG)
    return d.astype(np.float32), t.astype(np.float32)


def _smooth_union(d_skin: F32, d_hair: F32, k: float) -> tuple[F32, F32]:
    """Polynomial smooth minimum and the hair's weight in it (the collar where a shaft
    leaves the skin)."""
    if k <= 0:
        w = (d_hair < d_skin).astype(np.float32)
        return np.minimum(d_skin, d_hair), w
    w = np.clip(0.5 + 0.5 * (d_skin - d_hair) / k, 0.0, 1.0).astype(np.float32)
    return (d_skin + (d_hair - d_skin) * w - k * w * (1.0 - w)).astype(np.float32), w


def _pairs(pc: Pieces, rows: tuple[int, int], w: int, pad: float) -> tuple[I64, I64]:
    """(pixel index within the strip, piece) for every pixel whose centre lies within the
    piece's radius plus ``pad`` of its projected axis."""
    r0, r1 = rows
    rmax = np.maximum(pc.ra, pc.rb) + pc.fray + pad
    lo_x = np.floor(np.minimum(pc.a[:, 0], pc.b[:, 0]) - rmax).astype(np.int64)
    hi_x = np.ceil(np.maximum(pc.a[:, 0], pc.b[:, 0]) + rmax).astype(np.int64)
    lo_y = np.floor(np.minimum(pc.a[:, 1], pc.b[:, 1]) - rmax).astype(np.int64)
    hi_y = np.ceil(np.maximum(pc.a[:, 1], pc.b[:, 1]) + rmax).astype(np.int64)
    lo_x, hi_x = np.maximum(lo_x, 0), np.minimum(hi_x, w - 1)
    lo_y, hi_y = np.maximum(lo_y, r0), np.minimum(hi_y, r1 - 1)
    sel = np.nonzero((hi_x >= lo_x) & (hi_y >= lo_y))[0]
    if sel.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bw = hi_x[sel] - lo_x[sel] + 1
    bh = hi_y[sel] - lo_y[sel] + 1
    n = bw * bh
    owner = np.repeat(sel, n)
    first = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(int(n.sum()), dtype=np.int64) - first
    bwr = np.repeat(bw, n)
    xs = np.repeat(lo_x[sel], n) + k % bwr
    ys = np.repeat(lo_y[sel], n) + k // bwr
    ax, ay = pc.a[owner, 0], pc.a[owner, 1]
    ux, uy = pc.b[owner, 0] - ax, pc.b[owner, 1] - ay
    ll = np.maximum(ux * ux + uy * uy, 1e-9)
    t = np.clip(((xs - ax) * ux + (ys - ay) * uy) / ll, 0.0, 1.0)
    dist = np.hypot(xs - ax - t * ux, ys - ay - t * uy)
    keep = dist <= rmax[owner]
    return (ys[keep] - r0) * w + xs[keep], owner[keep]


def _candidates(pix: I64, piece: I64, top: NDArray[np.float64], kmax: int) -> tuple[I64, I64]:
    """Pixels with candidates and their pieces (N, kmax), highest first, -1 padded."""
    order = np.lexsort((-top[piece], pix))
    pix, piece = pix[order], piece[order]
    starts = np.r_[0, np.nonzero(np.diff(pix))[0] + 1]
    counts = np.diff(np.r_[starts, pix.size])
    rank = np.arange(pix.size) - np.repeat(starts, counts)
    keep = rank < kmax
    uniq = pix[starts]
    row = np.repeat(np.arange(uniq.size), counts)[keep]
    table = np.full((uniq.size, kmax), -1, dtype=np.int64)
    table[row, rank[keep]] = piece[keep]
    return uniq, table


def _march(c: _Cand, z0: F32, h: F32, cosf: F32, collar: float) -> tuple[F32, F32, I64, F32, I64]:
    """Sphere-trace N rays down from ``z0``: hit height, hair weight at the hit, candidate
    column nearest at the hit, nearest approach to a shaft before it and that column.
    Finished rays are dropped from the arrays once under 60 % of them still march."""
    n = z0.size
    done_z = np.zeros(n, np.float32)
    done_w = np.zeros(n, np.float32)
    done_k = np.zeros(n, np.int64)
    near = np.full(n, _BIG, np.float32)
    near_k = np.full(n, -1, np.int64)
    ray = np.arange(n)  # which ray each row of ``cur`` is
    cur, z, hh, cc = c, z0.copy(), h, cosf
    going = np.ones(n, bool)
    for step in range(MAX_STEPS + 1):
        dh_all, _t = _field(cur, cur.x[:, 0], cur.y[:, 0], z)
        k = np.argmin(dh_all, axis=1)
        dh = dh_all[np.arange(ray.size), k]
        d, wgt = _smooth_union((z - hh) * cc, dh, collar)
        fin = going & ((d < EPS) | (z <= hh) | (step == MAX_STEPS))
        closer = going & (dh < near[ray])
        near[ray[closer]] = dh[closer]
        near_k[ray[closer]] = k[closer]
        idx = ray[fin]
        done_z[idx], done_w[idx], done_k[idx] = z[fin], wgt[fin], k[fin]
        going &= ~fin
        z = np.where(going, z - 0.95 * np.maximum(d, EPS * 0.5), z).astype(np.float32)
        left = int(going.sum())
        if left == 0:
            break
        if left < 0.6 * ray.size:
            keep = np.nonzero(going)[0]
            cur, z, hh, cc, ray, going = (
                _take(cur, keep),
                z[keep],
                hh[keep],
                cc[keep],
                ray[keep],
                going[keep],
            )
    return done_z, done_w, done_k, near, near_k


def trace(pc: Pieces, h: F32, normal_skin: F32, um: float, collar_um: float) -> Trace:
    """Trace every pixel of a frame whose skin height (px) is ``h`` (H, W) with skin normals
    ``normal_skin`` (H, W, 3); see :class:`Trace`."""
    H, W = h.shape
    n_all = H * W
    out = Trace(
        piece=np.full(n_all, -1, np.int64),
        z=h.ravel().astype(np.float32).copy(),
        normal=normal_skin.reshape(-1, 3).astype(np.float32).copy(),
        ao=np.ones(n_all, np.float32),
        t=np.zeros(n_all, np.float32),
        cover=np.zeros(n_all, np.float32),
        edge_piece=np.full(n_all, -1, np.int64),
        edge_cover=np.zeros(n_all, np.float32),
    )
    if pc.a.shape[0] == 0:
        return out
    pad = max(1.5, 22.0 / um)
    collar = collar_um / um
    top = np.maximum(pc.a[:, 2], pc.b[:, 2]) + np.maximum(pc.ra, pc.rb)
    hf = h.ravel().astype(np.float32)
    cos_all = (normal_skin[..., 2]).ravel().astype(np.float32)
    for r0 in range(0, H, STRIP):
        r1 = min(r0 + STRIP, H)
        pix, piece = _pairs(pc, (r0, r1), W, pad)
        if pix.size == 0:
            continue
        uniq, table = _candidates(pix, piece, top, 8)
        count = (table >= 0).sum(axis=1)
        for kk in (1, 2, 4, 8):
            sel = np.nonzero((count <= kk) & (count > kk // 2))[0]
            if sel.size == 0:
                continue
            glob = uniq[sel] + r0 * W
            c = _gather(
                pc, table[sel, :kk], (glob % W).astype(np.float32), (glob // W).astype(np.float32)
            )
            hh = hf[glob]
            z0 = (
                np.maximum(np.where(c.valid, top[np.maximum(c.idx, 0)], -1e9).max(axis=1), hh) + 0.5
            )
            z, wgt, k, near, near_k = _march(c, z0.astype(np.float32), hh, cos_all[glob], collar)
            _settle(out, c, glob, z, wgt, k, near, near_k)
            _occlusion(out, c, glob, hh, cos_all[glob], collar, um)
    return out


def _settle(
    out: Trace,
    c: _Cand,
    glob: I64,
    z: F32,
    wgt: F32,
    k: I64,
    near: F32,
    near_k: I64,
) -> None:
    """Record the hits of a bucket of rays: piece, height, normal, coverage, edge."""
    rows = np.arange(glob.size)
    hair = wgt >= 0.5
    piece = c.idx[rows, k]
    out.z[glob] = z
    # the gradient of the hit piece's field: radial from its axis, or the cut plane's normal
    ax, ay, az = c.ax[rows, k], c.ay[rows, k], c.az[rows, k]
    abx, aby, abz = c.abx[rows, k], c.aby[rows, k], c.abz[rows, k]
    px, py = c.x[:, 0], c.y[:, 0]
    dx, dy, dz = px - ax, py - ay, z - az
    t = np.clip((dx * abx + dy * aby + dz * abz) / c.l2[rows, k], 0.0, c.tmax[rows, k])
    rx, ry, rz = dx - t * abx, dy - t * aby, dz - t * abz
    rn = np.sqrt(rx * rx + ry * ry + rz * rz) + 1e-6
    nh = np.stack([rx / rn, ry / rn, rz / rn], axis=1)
    capped = c.capped[rows, k]
    if capped.any():
        plane = (px - c.bx[rows, k]) * c.nx[rows, k] + (py - c.by[rows, k]) * c.ny[rows, k]
        plane = plane + (z - c.bz[rows, k]) * c.nz[rows, k]
        radial = rn - (c.ra[rows, k] + np.minimum(t, 1.0) * (c.rb[rows, k] - c.ra[rows, k]))
        on_cap = capped & (plane > radial)
        cap_n = np.stack([c.nx[rows, k], c.ny[rows, k], c.nz[rows, k]], axis=1)
        nh = np.where(on_cap[:, None], cap_n, nh)
    ns = out.normal[glob]  # the skin's, until a shaft is hit
    n = wgt[:, None] * nh + (1.0 - wgt[:, None]) * ns
    n = n / (np.linalg.norm(n, axis=1, keepdims=True) + 1e-6)
    out.normal[glob] = np.where(hair[:, None], n, out.normal[glob]).astype(np.float32)
    out.piece[glob] = np.where(hair, piece, -1)
    out.t[glob] = np.where(hair, np.minimum(t, 1.0), 0.0)
    # coverage: how far inside the shaft's projected band the pixel centre lies
    ux, uy = abx, aby
    ll = np.maximum(ux * ux + uy * uy, 1e-9)
    tt = np.clip((dx * ux + dy * uy) / ll, 0.0, 1.0)
    lateral = np.hypot(dx - tt * ux, dy - tt * uy)
    rad = c.ra[rows, k] + tt * (c.rb[rows, k] - c.ra[rows, k])
    band = np.clip(0.5 + rad - lateral, 0.0, 1.0)
    out.cover[glob] = np.where(hair, np.maximum(band, 0.5), 0.0)
    # a ray that met the skin after passing near a shaft: the shaft's share of the pixel
    has = (~hair) & (near_k >= 0)
    edge = c.idx[rows, np.maximum(near_k, 0)]
    out.edge_piece[glob] = np.where(has, edge, -1)
    out.edge_cover[glob] = np.where(has, np.clip(0.5 - near, 0.0, 1.0), 0.0)


def _occlusion(
    out: Trace, c: _Cand, glob: I64, h: F32, cosf: F32, collar: float, um: float
) -> None:
    """Ambient occlusion at each hit from five field samples along its normal."""
    p = np.stack([c.x[:, 0], c.y[:, 0], out.z[glob]], axis=1)
    n = out.normal[glob]
    occ = np.zeros(glob.size, np.float32)
    weight = 1.0
    total = 0.0
    for step_um in _AO_UM:
        s = np.float32(step_um / um)
        q = p + s * n
        dh_all, _t = _field(
            c, q[:, 0].astype(np.float32), q[:, 1].astype(np.float32), q[:, 2].astype(np.float32)
        )
        dh = dh_all.min(axis=1)
        d, _w = _smooth_union((q[:, 2] - h) * cosf, dh, collar)
        occ += weight * np.clip((s - d) / s, 0.0, 1.0)
        total += weight
        weight *= 0.75
    out.ao[glob] = np.clip(1.0 - 0.9 * occ / total, 0.15, 1.0).astype(np.float32)
