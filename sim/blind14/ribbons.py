"""Hair shafts as clamped cubic B-spline ribbons, rasterised by stochastic supersampling.

Each shaft's centre line is a uniform cubic B-spline through 3-D control points (its end
points tripled so the curve starts at the emergence point and ends at the tip), sampled
into cross sections; consecutive sections bound a quad (a ribbon piece) whose ends are
mitred along the sections. Every pixel carries S jittered sub-pixel samples; each sample
under a quad's bounding box is tested against the quad's four half-planes and, inside,
gets a depth (height above the skin), the position along the shaft, across it and the
local diameter, packed into one 64-bit key with the depth in the top bits. A per-sample
``maximum`` keeps the nearest surface (a visibility buffer); shading happens afterwards
from the decoded keys."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind14.follicles import Hairs
from sim.blind14.view import View

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

_B = (
    np.array(
        [[-1.0, 3.0, -3.0, 1.0], [3.0, -6.0, 3.0, 0.0], [-3.0, 0.0, 3.0, 0.0], [1.0, 4.0, 1.0, 0.0]]
    )
    / 6.0
)
NCTRL = 7  # control points per shaft (stubs use them evenly too)
ZBITS, IDBITS, TBITS, VBITS, DBITS = 14, 17, 10, 8, 11
_DSH = 0
_VSH = DBITS
_TSH = _VSH + VBITS
_IDSH = _TSH + TBITS
_ZSH = _IDSH + IDBITS


@dataclass(frozen=True)
class Shafts:
    """The drawn shafts of one frame (hairs without a shaft, black dots, left out)."""

    hair: I64  # index into the frame's hair list
    root_px: F64  # (n, 2)
    tip_px: F64  # (n, 2)
    tip_d: F64  # tip diameter, um
    tip_dir: F64  # (n, 2) unit direction of the shaft at its tip, in pixels


def control_points(hairs: Hairs) -> F64:
    """(n, NCTRL, 3) world control points (x, y, height) in microns."""
    n = len(hairs)
    s = np.linspace(0.0, 1.0, NCTRL)[None, :]
    length = hairs.length[:, None]
    # heading turns along the shaft: a steady bend plus a slow wave (curl)
    heading = (
        hairs.phi[:, None]
        + hairs.bend[:, None] * s
        + hairs.curl[:, None] * np.sin(np.pi * s) * (s - 0.5)
    )
    long = hairs.long[:, None]
    elev = hairs.elev[:, None]
    # long hair: climbs out at its elevation over the first stretch, then lies on the others
    rise = np.minimum(0.1 * length, 700.0)
    ds = np.diff(s, axis=1, prepend=0.0) * length
    horiz_long = np.where(s <= 1.0 / (NCTRL - 1) + 1e-9, ds * np.cos(elev), ds)
    horiz = np.where(long, horiz_long, ds * np.cos(elev))
    x = hairs.x[:, None] + np.cumsum(horiz * np.cos(heading), axis=1)
    y = hairs.y[:, None] + np.cumsum(horiz * np.sin(heading), axis=1)
    lying = hairs.layer[:, None] + 0.5 * hairs.d0[:, None]
    z_long = np.where(s > 0, np.maximum(lying, rise * np.sin(elev) * (s < 0.2)), 0.0)
    z_stub = s * length * np.sin(elev)
    z = np.where(long, z_long, z_stub)
    out = np.stack([x, y, z], axis=-1)
    out[:, 0, 2] = 0.0
    return out.reshape(n, NCTRL, 3)


def diameter_profile(hairs: Hairs, t: F64, idx: I64) -> F64:
    """Diameter (um) at fraction ``t`` of the shaft of hairs ``idx``."""
    d0 = hairs.d0[idx]
    kind = hairs.kind[idx]
    natural = ~hairs.cut[idx]
    taper = np.where(kind == 3, 0.9, np.where(kind == 2, 0.45, 0.3))
    start = 1.0 - taper
    frac = np.clip((t - start) / taper, 0.0, 1.0)
    tapered = d0 * np.maximum(0.1, (1.0 - frac) ** 0.8)
    excl = d0 * (1.0 + (hairs.end_ratio[idx] - 1.0) * t**1.5)
    out: F64 = np.where(natural, tapered, np.where(kind == 5, excl, d0))
    return out


def build_quads(hairs: Hairs, view: View) -> tuple[dict[str, F64], Shafts]:
    """Cross sections of every shaft that can reach the frame, and the quads between them."""
    ctrl = control_points(hairs)
    px, py = view.to_px(ctrl[..., 0], ctrl[..., 1])
    um = view.um
    pad = (hairs.d0 * hairs.end_ratio / um)[:, None] + 4.0
    vis = (
        ((px + pad).max(axis=1) >= -0.5)
        & ((px - pad).min(axis=1) <= view.width - 0.5)
        & ((py + pad).max(axis=1) >= -0.5)
        & ((py - pad).min(axis=1) <= view.height - 0.5)
        & (hairs.kind != 4)
        & (hairs.length > 0)
    )
    idx = np.nonzero(vis)[0]
    q = np.stack([px[idx], py[idx], ctrl[idx, :, 2]], axis=-1)  # (m, NCTRL, 3)
    m = len(idx)
    if m == 0:
        empty = np.zeros((0, 2))
        shafts = Shafts(np.zeros(0, np.int64), empty, empty, np.zeros(0), empty)
        return {}, shafts
    qq = np.concatenate([q[:, :1], q[:, :1], q, q[:, -1:], q[:, -1:]], axis=1)
    nseg = qq.shape[1] - 3
    poly = np.hypot(np.diff(q[..., 0], axis=1), np.diff(q[..., 1], axis=1)).sum(axis=1)
    dpx = hairs.d0[idx] / um
    step = np.clip(1.2 * dpx, 1.0, 10.0)
    ns = np.clip(np.ceil(poly / step).astype(np.int64) + 2, 3, 6000)
    owner = np.repeat(np.arange(m), ns)
    first = np.cumsum(ns) - ns
    k = np.arange(owner.size) - first[owner]
    t = k / (ns[owner] - 1.0)
    tt = t * nseg
    seg = np.minimum(tt.astype(np.int64), nseg - 1)
    u = tt - seg
    basis = np.stack([u**3, u**2, u, np.ones_like(u)], axis=1) @ _B  # (n, 4)
    pts = np.zeros((owner.size, 3))
    for j in range(4):
        pts += basis[:, j : j + 1] * qq[owner, seg + j]
    hid = idx[owner]
    diam = diameter_profile(hairs, t, hid)
    # mitred section directions: central differences along each shaft
    nxt = np.minimum(np.arange(owner.size) + 1, owner.size - 1)
    prv = np.maximum(np.arange(owner.size) - 1, 0)
    last = k == ns[owner] - 1
    nxt = np.where(last, np.arange(owner.size), nxt)
    prv = np.where(k == 0, np.arange(owner.size), prv)
    tan = pts[nxt, :2] - pts[prv, :2]
    norm = np.hypot(tan[:, 0], tan[:, 1])
    fallback = np.c_[np.cos(hairs.phi[hid]), np.sin(hairs.phi[hid])]
    tan = np.where(norm[:, None] > 1e-9, tan / np.maximum(norm, 1e-12)[:, None], fallback)
    # an oblique cut turns the last section's edge
    oblique = last & hairs.cut[hid] & (hairs.cut_style[hid] == 1)
    ang = (0.45 + 0.5 * ((hairs.uid[hid] % 997) / 997.0)) * np.where(hairs.uid[hid] % 2, 1, -1)
    ca, sa = np.cos(ang), np.sin(ang)
    turned = np.c_[ca * tan[:, 0] - sa * tan[:, 1], sa * tan[:, 0] + ca * tan[:, 1]]
    tan = np.where(oblique[:, None], turned, tan)
    sections = {
        "x": pts[:, 0],
        "y": pts[:, 1],
        "z": pts[:, 2],
        "tx": tan[:, 0],
        "ty": tan[:, 1],
        "hw": 0.5 * diam / um,
        "t": t,
        "d": diam,
        "hid": hid.astype(np.float64),
    }
    ends = np.nonzero(last)[0]
    tip_dir = tan[ends]
    tip_d = diam[ends]
    # frayed cut ends: three thin fibres splayed beyond the end section
    fray = ends[hairs.cut[hid[ends]] & (hairs.cut_style[hid[ends]] == 2)]
    extra: list[dict[str, F64]] = []
    if len(fray):
        for j, off in enumerate((-0.62, 0.0, 0.62)):
            h = hid[fray]
            rnd = ((hairs.uid[h] // (7 + j)) % 1009) / 1009.0
            flen = (0.3 + 0.9 * rnd) * diam[fray] / um
            nx, ny = -tan[fray, 1], tan[fray, 0]
            bx = pts[fray, 0] + nx * off * 0.5 * diam[fray] / um
            by = pts[fray, 1] + ny * off * 0.5 * diam[fray] / um
            spl = off * 0.35 + (rnd - 0.5) * 0.3
            dx = tan[fray, 0] * np.cos(spl) - tan[fray, 1] * np.sin(spl)
            dy = tan[fray, 0] * np.sin(spl) + tan[fray, 1] * np.cos(spl)
            n2 = len(fray)
            for e in range(2):
                extra.append(
                    {
                        "x": bx + dx * flen * e,
                        "y": by + dy * flen * e,
                        "z": pts[fray, 2],
                        "tx": dx,
                        "ty": dy,
                        "hw": np.full(n2, 0.0) + diam[fray] / um / 7.0 * (1.0 - 0.5 * e),
                        "t": np.ones(n2),
                        "d": diam[fray] / 3.5,
                        "hid": hid[fray].astype(np.float64),
                        "_pair": np.arange(n2, dtype=np.float64) + 1e6 * (j + 1),
                        "_e": np.full(n2, float(e)),
                    }
                )
    quads = _quads(sections, owner)
    if extra:
        fq = _fibre_quads(extra)
        quads = {kk: np.concatenate([quads[kk], fq[kk]]) for kk in quads}
    starts = first
    shafts = Shafts(
        hair=idx,
        root_px=pts[starts, :2],
        tip_px=pts[ends, :2],
        tip_d=tip_d,
        tip_dir=tip_dir,
    )
    return quads, shafts


def _quads(sec: dict[str, F64], owner: I64) -> dict[str, F64]:
    a = np.nonzero(owner[:-1] == owner[1:])[0]
    b = a + 1
    return _pair_quads(sec, a, b)


def _pair_quads(sec: dict[str, F64], a: I64, b: I64) -> dict[str, F64]:
    dx = sec["x"][b] - sec["x"][a]
    dy = sec["y"][b] - sec["y"][a]
    ln = np.hypot(dx, dy)
    good = ln > 1e-6
    a, b, dx, dy, ln = a[good], b[good], dx[good], dy[good], ln[good]
    return {
        "x0": sec["x"][a],
        "y0": sec["y"][a],
        "x1": sec["x"][b],
        "y1": sec["y"][b],
        "t0x": sec["tx"][a],
        "t0y": sec["ty"][a],
        "t1x": sec["tx"][b],
        "t1y": sec["ty"][b],
        "nx": -dy / ln,
        "ny": dx / ln,
        "hw0": sec["hw"][a],
        "hw1": sec["hw"][b],
        "z0": sec["z"][a],
        "z1": sec["z"][b],
        "s0": sec["t"][a],
        "s1": sec["t"][b],
        "d0": sec["d"][a],
        "d1": sec["d"][b],
        "hid": sec["hid"][a],
    }


def _fibre_quads(extra: list[dict[str, F64]]) -> dict[str, F64]:
    sec = {k: np.concatenate([e[k] for e in extra]) for k in extra[0] if not k.startswith("_")}
    pair = np.concatenate([e["_pair"] for e in extra])
    e = np.concatenate([e["_e"] for e in extra])
    starts = np.nonzero(e == 0)[0]
    ends = np.nonzero(e == 1)[0]
    order_s = starts[np.argsort(pair[starts], kind="stable")]
    order_e = ends[np.argsort(pair[ends], kind="stable")]
    return _pair_quads(sec, order_s, order_e)


def jitter_tile(samples: int) -> F32:
    """Stratified jittered sample offsets (32 x 32 pixels x samples x 2) within a pixel."""
    rng = np.random.default_rng(1414)
    nx = 2 if samples >= 4 else 1
    ny = samples // nx
    sx = (np.arange(samples) % nx + 0.5) / nx - 0.5
    sy = (np.arange(samples) // nx + 0.5) / ny - 0.5
    jit = rng.uniform(-0.5, 0.5, size=(32, 32, samples, 2))
    out = np.empty((32, 32, samples, 2), dtype=np.float32)
    out[..., 0] = sx + jit[..., 0] / nx
    out[..., 1] = sy + jit[..., 1] / ny
    return out


def rasterise(quads: dict[str, F64], width: int, height: int, samples: int) -> I64:
    """The visibility buffer: (height * width * samples) keys, -1 where no shaft."""
    buf = np.full(height * width * samples, -1, dtype=np.int64)
    if not quads or len(quads["x0"]) == 0:
        return buf
    jit = jitter_tile(samples)
    # the quad's corners: each end's edge runs along its mitred section
    cx: list[F64] = []
    cy: list[F64] = []
    for end in ("0", "1"):
        tx, ty = quads[f"t{end}x"], quads[f"t{end}y"]
        cos = np.maximum(np.abs(tx * quads["ny"] - ty * quads["nx"]), 0.35)
        half = quads[f"hw{end}"] / cos
        for sgn in (-1.0, 1.0):
            cx.append(quads[f"x{end}"] - ty * half * sgn)
            cy.append(quads[f"y{end}"] + tx * half * sgn)
    ax, ay = np.stack(cx), np.stack(cy)
    bx0 = np.floor(ax.min(axis=0) + 0.5).astype(np.int64)
    bx1 = np.ceil(ax.max(axis=0) - 0.5).astype(np.int64)
    by0 = np.floor(ay.min(axis=0) + 0.5).astype(np.int64)
    by1 = np.ceil(ay.max(axis=0) - 0.5).astype(np.int64)
    bx0, by0 = np.maximum(bx0, 0), np.maximum(by0, 0)
    bx1, by1 = np.minimum(bx1, width - 1), np.minimum(by1, height - 1)
    bw = bx1 - bx0 + 1
    bh = by1 - by0 + 1
    live = (bw > 0) & (bh > 0)
    sel = np.nonzero(live)[0]
    counts = (bw * bh)[sel]
    f32 = {k: v[sel].astype(np.float32) for k, v in quads.items() if k != "hid"}
    # plane offsets so each test is one dot product per sample
    f32["c0t"] = f32["x0"] * f32["t0x"] + f32["y0"] * f32["t0y"]
    f32["c1t"] = f32["x1"] * f32["t1x"] + f32["y1"] * f32["t1y"]
    f32["c0n"] = f32["x0"] * f32["nx"] + f32["y0"] * f32["ny"]
    f32["dhw"] = f32["hw1"] - f32["hw0"]
    hid = quads["hid"][sel].astype(np.int64)
    bx0, by0, bw = bx0[sel], by0[sel], bw[sel]
    cum = np.cumsum(counts)
    budget = 300_000
    lo = 0
    n = len(sel)
    while lo < n:
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + budget, side="right"))
        hi = max(hi, lo + 1)
        _chunk(f32, hid, bx0, by0, bw, counts, lo, hi, jit, buf, width, samples)
        lo = hi
    return buf


def _chunk(
    f: dict[str, F32],
    hid: I64,
    bx0: I64,
    by0: I64,
    bw: I64,
    counts: I64,
    lo: int,
    hi: int,
    jit: F32,
    buf: I64,
    width: int,
    samples: int,
) -> None:
    cnt = counts[lo:hi]
    rep = np.repeat(np.arange(lo, hi), cnt)
    first = np.cumsum(cnt) - cnt
    local = np.arange(rep.size) - np.repeat(first, cnt)
    w = bw[rep]
    px = bx0[rep] + local % w
    py = by0[rep] + local // w
    j = jit[py & 31, px & 31]  # (P, S, 2)
    sx = px.astype(np.float32)[:, None] + j[..., 0]
    sy = py.astype(np.float32)[:, None] + j[..., 1]
    e0 = sx * f["t0x"][rep][:, None] + sy * f["t0y"][rep][:, None] - f["c0t"][rep][:, None]
    e1 = f["c1t"][rep][:, None] - sx * f["t1x"][rep][:, None] - sy * f["t1y"][rep][:, None]
    inside = (e0 >= 0) & (e1 > 0)
    s = e0 / np.maximum(e0 + e1, 1e-6)
    u = sx * f["nx"][rep][:, None] + sy * f["ny"][rep][:, None] - f["c0n"][rep][:, None]
    hw = f["hw0"][rep][:, None] + s * f["dhw"][rep][:, None]
    inside &= np.abs(u) <= hw
    pi, si = np.nonzero(inside)
    if pi.size == 0:
        return
    s_in = s[pi, si]
    r = rep[pi]
    v = u[pi, si] / np.maximum(hw[pi, si], 1e-6)
    z = f["z0"][r] + s_in * (f["z1"][r] - f["z0"][r])
    tt = f["s0"][r] + s_in * (f["s1"][r] - f["s0"][r])
    d = f["d0"][r] + s_in * (f["d1"][r] - f["d0"][r])
    key = (
        (np.clip(np.rint(z * 4.0), 0, (1 << ZBITS) - 1).astype(np.int64) << _ZSH)
        | (hid[r] << _IDSH)
        | (np.clip(np.rint(tt * ((1 << TBITS) - 1)), 0, (1 << TBITS) - 1).astype(np.int64) << _TSH)
        | (
            np.clip(np.rint((v + 1.0) * 0.5 * ((1 << VBITS) - 1)), 0, (1 << VBITS) - 1).astype(
                np.int64
            )
            << _VSH
        )
        | np.clip(np.rint(d * 8.0), 1, (1 << DBITS) - 1).astype(np.int64)
    )
    where = (py[pi] * width + px[pi]) * samples + si
    np.maximum.at(buf, where, key)


def decode(keys: I64) -> tuple[I64, F64, F64, F64]:
    """Shaft index, fraction along, position across (-1..1) and diameter of hit samples."""
    hid = (keys >> _IDSH) & ((1 << IDBITS) - 1)
    t = ((keys >> _TSH) & ((1 << TBITS) - 1)) / float((1 << TBITS) - 1)
    v = ((keys >> _VSH) & ((1 << VBITS) - 1)) / float((1 << VBITS) - 1) * 2.0 - 1.0
    d = (keys & ((1 << DBITS) - 1)) / 8.0
    return hid, t, v, d
