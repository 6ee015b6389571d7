"""Hair fibres on the pixel grid: exact coverage, shading, shadows, compositing.

Each shaft segment covers the pixels between the bisectors of its two joints
(so a bent shaft has neither gaps nor double cover); across the shaft the
coverage is the exact overlap of the pixel's width with the shaft's width,
and a free end is cut by its end profile (flat, oblique, frayed or tapered).
The top of the elliptical section under the pixel gives a height and a
normal.  A fibre is a Kubelka-Munk layer whose thickness is the chord through
the section: light reflected by the fibre plus the light below seen through
it twice.  Cut faces show the fibre's bulk colour with a rough, greyer skin.
Fragments are composited back to front per pixel by height.  Shadows on the
skin come from the fragments' coverage, sorted into height bands, each band
blurred and shifted by how far the ring's light slants at that height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.follicles import FRAYED, LIFTED, OBLIQUE, SQUARE, Table
from sim.blind2.frame import Frame
from sim.blind2.light import Ring
from sim.blind2.look import Look
from sim.blind2.raster import blur, rectangles
from sim.blind2.shafts import Shafts

Arr = NDArray[Any]
EPS_EU = np.array([1.0, 1.7, 2.9], dtype=np.float32)
EPS_PHEO = np.array([1.0, 3.5, 8.0], dtype=np.float32)
KERATIN = np.array([0.0004, 0.0008, 0.0022], dtype=np.float32)  # unpigmented fibre, 1/um
_MAX_LAYERS = 10
_BANDS = ((0.0, 60.0, 25.0), (60.0, 300.0, 150.0), (300.0, 3000.0, 700.0))


@dataclass
class Frags:
    """Visible pieces of shafts, one per (segment, pixel)."""

    pix: Arr
    seg: Arr
    hair: Arr
    t: Arr  # position along the segment, 0..1
    q: Arr  # across the section, -1..1
    a: Arr  # half width there, pixels
    b_um: Arr  # half thickness there, micrometres
    ztop: Arr
    cov: Arr
    face: Arr
    frayed: Arr


def rasterise(sh: Shafts, hairs: Table, floor: Arr, frame: Frame) -> Frags:
    """Coverage and height of every shaft piece above the skin surface."""
    h, w, upp = frame.height, frame.width, frame.upp
    pad = np.maximum(sh.a0, sh.a1) + 1.0
    jt = sh.joint
    lo = -pad * np.abs(jt[1]) / jt[0]
    hi = sh.length + np.where(sh.tip, sh.ext, pad * np.abs(jt[3]) / jt[2])
    f = rectangles(sh.x0, sh.y0, sh.dx, sh.dy, lo, hi, pad, w, h)
    g = f.item
    seg_len = sh.length[g]
    own = f.u * jt[0, g] + f.v * jt[1, g] >= 0
    own &= sh.tip[g] | ((f.u - seg_len) * jt[2, g] + f.v * jt[3, g] < 0)
    t = np.clip(f.u / np.maximum(seg_len, 1e-6), 0.0, 1.0).astype(np.float32)
    a = sh.a0[g] + t * (sh.a1[g] - sh.a0[g])
    hair = sh.hair[g]
    av = np.abs(f.v)
    cov = np.clip(np.minimum(av + 0.5, a) - np.maximum(av - 0.5, -a), 0.0, 1.0)
    q = np.clip(f.v / np.maximum(a, 1e-4), -1.0, 1.0)
    sq = np.sqrt(1.0 - q * q)
    b_um = hairs["flat"][hair] * np.maximum(a, 0.05) * upp
    zc = sh.z0[g] + t * (sh.z1[g] - sh.z0[g])
    ztop = zc + b_um * sq
    end = hairs["end"][hair]
    tip = sh.tip[g]
    face_w = hairs["face"][hair] * a * sq
    e = face_w + hairs["obl"][hair] * f.v
    fa, fp = hairs["fray_amp"][hair], hairs["fray_phase"][hair]
    e += fa * a * (0.5 + 0.5 * np.sin(7.3 * q + fp) * np.sin(3.1 * q + 2 * fp))
    cov = np.where(tip, cov * np.clip(seg_len + e - f.u + 0.5, 0.0, 1.0), cov)
    face = tip & ((end == SQUARE) | (end == OBLIQUE)) & (f.u > seg_len + e - 2 * face_w)
    frayed = tip & (end == FRAYED) & (f.u > seg_len - 0.5 * fa * a)
    cov = cov * np.where(end == LIFTED, np.clip(1.0 - (zc - 1500.0) / 1000.0, 0.0, 1.0), 1.0)
    keep = np.flatnonzero(own & (cov > 0.004) & (ztop > floor.ravel()[f.pix] - 0.5))
    return Frags(
        pix=f.pix[keep],
        seg=g[keep],
        hair=hair[keep],
        t=t[keep],
        q=q[keep],
        a=a[keep],
        b_um=b_um[keep],
        ztop=ztop[keep].astype(np.float32),
        cov=cov[keep].astype(np.float32),
        face=face[keep],
        frayed=frayed[keep],
    )


def shadow(fr: Frags, ring: Ring, frame: Frame) -> Arr:
    """Soft shadow (0..0.8) the hairs cast on the skin under the ring."""
    h, w, upp = frame.height, frame.width, frame.upp
    tan = math.tan(ring.theta)
    out = np.zeros((h, w), dtype=np.float32)
    for lo, hi, z in _BANDS:
        sel = (fr.ztop >= lo) & (fr.ztop < hi)
        if not sel.any():
            continue
        cover = np.bincount(fr.pix[sel], weights=fr.cov[sel], minlength=h * w)
        cover = np.minimum(cover, 1.0).reshape(h, w).astype(np.float32)
        reach = z * tan / upp
        soft = blur(cover, 0.5 * reach + 0.4)
        sx = round(-ring.asym * reach * ring.ca)
        sy = round(-ring.asym * reach * ring.sa)
        soft = np.roll(soft, (sy, sx), axis=(0, 1))
        out += 0.45 * soft * (1.0 if z < 100 else 0.6)
    return np.minimum(out, 0.8)


def composite(
    fr: Frags,
    sh: Shafts,
    hairs: Table,
    ring: Ring,
    look: Look,
    frame: Frame,
    lf: Arr,
    canvas: Arr,
    floor: Arr,
) -> Arr:
    """Shade the fragments and lay them over the skin radiance in place.

    Returns the height of the top surface per pixel (for depth of field)."""
    upp = frame.upp
    g, hair, q = fr.seg, fr.hair, fr.q
    sq = np.sqrt(1.0 - q * q)
    tz = sh.tz[g]
    ch = np.sqrt(np.maximum(1.0 - tz * tz, 1e-6))
    dx, dy = sh.dx[g], sh.dy[g]
    qa = q / (np.maximum(fr.a, 0.05) * upp)
    sb = sq / np.maximum(fr.b_um, 1e-3)
    nx = np.where(fr.face, 0.4 * dx * ch, -dy * qa - tz * dx * sb)
    ny = np.where(fr.face, 0.4 * dy * ch, dx * qa - tz * dy * sb)
    nz = np.where(fr.face, 1.0 + 0.4 * tz, ch * sb)
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx * inv, ny * inv, nz * inv
    e_d = ring.diffuse(nx, ny, nz, 0.35) * np.exp(np.minimum(fr.ztop, 0.0) / 20.0)
    spec: Arr = np.zeros(g.size, dtype=np.float32)
    if not ring.polarised:
        rough = look.num("hair_roughness")
        spec = 2.0 * look.num("hair_shine") * ring.specular(nx, ny, nz, rough)
        spec = np.where(fr.face, spec * 0.5, spec)
    s_arc = sh.s0[g] + fr.t * (sh.s1[g] - sh.s0[g])
    root = s_arc < hairs["root_um"][hair]
    eu = np.where(root, hairs["root_eu"][hair], hairs["eu"][hair])
    pheo = np.where(root, hairs["root_pheo"][hair], hairs["pheo"][hair])
    k_abs = (eu[None] * EPS_EU[:, None] + pheo[None] * EPS_PHEO[:, None] + KERATIN[:, None]).astype(
        np.float32
    )  # (3, n): channel planes, like the canvas
    s_sc = hairs["scat"][hair][None].astype(np.float32)
    d = np.maximum(2.0 * fr.b_um * sq, 0.3)[None].astype(np.float32)
    ks = np.maximum(k_abs / s_sc, 1e-6)
    r_inf = 1.0 + ks - np.sqrt(ks * ks + 2.0 * ks)
    am = 1.0 + ks
    bm = np.sqrt(am * am - 1.0)
    x = np.minimum(bm * s_sc * d, 25.0)
    den = am * np.sinh(x) + bm * np.cosh(x)
    refl = np.sinh(x) / den
    trans = bm / den
    face = fr.face[None]
    refl = np.where(face, r_inf + 0.03, refl)
    trans = np.where(face, 0.0, trans)
    refl = np.where(fr.frayed[None], 0.6 * refl + 0.4 * (r_inf + 0.05), refl)
    lfp = lf.ravel()[fr.pix]
    own = refl * (e_d * lfp)[None] + (spec * lfp)[None]
    return _over(canvas, floor, fr.pix, fr.ztop, fr.cov, own, refl, trans * trans)


def _over(
    canvas: Arr, floor: Arr, pix: Arr, ztop: Arr, cov: Arr, own: Arr, refl: Arr, t2: Arr
) -> Arr:
    """Back-to-front 'over' per pixel, ordered by height; returns the top height map.

    canvas is (3, h, w); own, refl and t2 are (3, n) per fragment."""
    flat = canvas.reshape(3, -1)
    zf = floor.ravel().astype(np.float32)
    counts = np.bincount(pix, minlength=zf.size)
    single = np.flatnonzero(counts[pix] == 1)
    multi = np.flatnonzero(counts[pix] > 1)
    groups = [single]
    if multi.size:
        zq = np.clip((ztop[multi] + 500.0) * 8.0, 0, 2**22 - 1).astype(np.int64)
        key = pix[multi].astype(np.int64) * 2**22 + zq
        order = multi[np.argsort(key)]
        p_sorted = pix[order]
        last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
        end_pos = np.flatnonzero(last)
        group_end = np.repeat(end_pos, np.diff(np.r_[-1, end_pos]))
        from_front = group_end - np.arange(order.size)
        for r in range(_MAX_LAYERS - 1, -1, -1):
            groups.append(order[from_front == r])
    for sel in groups:
        p = pix[sel]
        c = cov[sel]
        for ch in range(3):
            below = flat[ch, p]
            r, o, t = refl[ch, sel], own[ch, sel], t2[ch, sel]
            seen = o + t * below / (1.0 - r * np.minimum(below, 0.95))
            flat[ch, p] = below + c * (seen - below)
        zf[p] = zf[p] + c * (ztop[sel] - zf[p])
    return zf.reshape(floor.shape)
