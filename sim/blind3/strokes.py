"""Strokes of blind-3: hair shafts (and vessels) as Catmull-Rom curves rasterised with signed
distances. A curve is cut into short straight pieces joined by mitre planes, so every pixel
near the curve belongs to exactly one piece, which gives it the distance across the shaft and
the arc length along it. Coverage is the exact overlap of the pixel's footprint with the
shaft's width (an analytic box filter, no aliasing at any thickness); the shaft is shaded as
a glossy cylinder with pigment streaks, a fragmented medulla, cuticle banding, a translucent
rim, a faint cast shadow, the part still under the skin behind the opening, and its end:
tapered natural tip, blunt or oblique clip, or frayed break.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind3.follicles import Hair

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def catmull_rom(ctrl: F64, per: int = 8) -> F64:
    """Dense points of the uniform Catmull-Rom spline through ``ctrl`` (m, 2)."""
    if len(ctrl) < 2:
        return ctrl.copy()
    c = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    tau = np.linspace(0.0, 1.0, per, endpoint=False)[None, :, None]
    t2, t3 = tau * tau, tau * tau * tau
    p0, p1, p2, p3 = (c[k : len(c) - 3 + k][:, None, :] for k in range(4))
    curve = 0.5 * (
        2 * p1
        + (-p0 + p2) * tau
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
        + (-p0 + 3 * p1 - 3 * p2 + p3) * t3
    )
    out: F64 = np.vstack([curve.reshape(-1, 2), ctrl[-1:]])
    return out


def resample(dense: F64, spacing: float, length: float) -> tuple[F64, F64]:
    """Points every ``spacing`` along a dense polyline up to arc ``length`` (and its end)."""
    seg = np.hypot(*np.diff(dense, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    length = min(length, float(arc[-1]))
    n = max(1, math.ceil(length / spacing))
    t = np.linspace(0.0, length, n + 1)
    pts = np.stack([np.interp(t, arc, dense[:, 0]), np.interp(t, arc, dense[:, 1])], axis=1)
    return pts, t


def shaft(h: Hair, um_per_px: float) -> tuple[F64, F64]:
    """The shaft of ``h`` as a polyline (n, 2) with arc positions (n,): from the part under
    the skin (negative arc) through the emergence point (arc 0) to the free end."""
    rng = np.random.default_rng([h.seed, 7])
    r_px = h.diameter_um / 2 / um_per_px
    cp = float(np.clip(300.0 / um_per_px, 4.0, 60.0))
    cp = min(cp, max(h.length_px / 3.0, 1.0))
    n_ctrl = math.ceil(h.length_px / cp) + 2
    s = np.arange(n_ctrl) * cp
    wander = np.cumsum(rng.normal(0, 0.015 * math.sqrt(cp * um_per_px / 300.0), n_ctrl))
    ang = (
        h.angle
        + h.curl * s
        + h.curl2 * s * s
        + wander
        + h.wave_amp * np.sin(2 * np.pi * s / h.wave_px + rng.uniform(0, 2 * np.pi))
    )
    steps = np.stack([np.cos(ang[:-1]), np.sin(ang[:-1])], axis=1) * cp
    ctrl = np.vstack([np.zeros((1, 2)), np.cumsum(steps, axis=0)]) + np.array([h.x, h.y])
    dense = catmull_rom(ctrl, 8)
    spacing = float(np.clip(3 * r_px + 5, 5.0, 40.0))
    spacing = min(spacing, max(cp, 2.0))
    pts, t = resample(dense, spacing, h.length_px)
    d0 = pts[1] - pts[0] if len(pts) > 1 else np.array([math.cos(h.angle), math.sin(h.angle)])
    d0 = d0 / max(float(np.hypot(*d0)), 1e-9)
    start = pts[0] - d0 * h.sub_px
    out_p: F64 = np.vstack([start, pts])
    out_t: F64 = np.concatenate([[-h.sub_px], t])
    return out_p, out_t


Piece = tuple[int, slice, slice, F32, F32, F32]


def pieces(
    shape: tuple[int, int],
    pts: F64,
    arc: F64,
    reach: float,
    end_normal: F64 | None = None,
    fray: Callable[[F32], F32] | None = None,
) -> Iterator[Piece]:
    """Each straight piece of a polyline that touches an image of ``shape``: its box (row and
    column slices), arc position and signed distance across at every pixel of the box, and
    the share of each pixel that belongs to this piece (0 outside its mitre planes; the free
    end's plane, tilted by ``end_normal`` and frayed by ``fray(across)``, is anti-aliased)."""
    h, w = shape
    n = len(pts) - 1
    if n < 1:
        return
    d = np.diff(pts, axis=0)
    seg_len = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    d = d / seg_len[:, None]
    m = np.empty((n + 1, 2))
    m[0] = d[0]
    m[n] = d[n - 1] if end_normal is None else end_normal
    if n > 1:
        mid = d[:-1] + d[1:]
        m[1:n] = mid / np.maximum(np.hypot(mid[:, 0], mid[:, 1]), 1e-9)[:, None]
    lo = np.minimum(pts[:-1], pts[1:]) - reach - 2
    hi = np.maximum(pts[:-1], pts[1:]) + reach + 3
    for j in range(n):
        x0, y0 = max(int(lo[j, 0]), 0), max(int(lo[j, 1]), 0)
        x1, y1 = min(int(hi[j, 0]), w), min(int(hi[j, 1]), h)
        if x0 >= x1 or y0 >= y1:
            continue
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(pts[j, 0])
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(pts[j, 1])
        dx, dy = np.float32(d[j, 0]), np.float32(d[j, 1])
        along = xs * dx + ys * dy
        across = ys * dx - xs * dy
        ex, ey = np.float32(pts[j + 1, 0] - pts[j, 0]), np.float32(pts[j + 1, 1] - pts[j, 1])
        start_side = xs * np.float32(m[j, 0]) + ys * np.float32(m[j, 1])
        end_side = (xs - ex) * np.float32(m[j + 1, 0]) + (ys - ey) * np.float32(m[j + 1, 1])
        if j == n - 1:
            if fray is not None:
                end_side = end_side + fray(across)
            share = np.clip(np.float32(0.5) - end_side, 0.0, 1.0)
        else:
            share = (end_side < 0).astype(np.float32)
        if j == 0:
            share = share * np.clip(start_side + np.float32(0.5), 0.0, 1.0)
        else:
            share = share * (start_side >= 0)
        t = along + np.float32(arc[j])
        yield j, slice(y0, y1), slice(x0, x1), t.astype(np.float32), across, share


def coverage(across: F32, r: F32) -> F32:
    """Share of a unit pixel footprint at distance ``across`` inside a band of half-width r."""
    out: F32 = np.clip(np.minimum(across + 0.5, r) - np.maximum(across - 0.5, -r), 0.0, 1.0).astype(
        np.float32
    )
    return out


def _noise1d(rng: np.random.Generator, length: float, cell: float) -> tuple[F64, F64]:
    n = max(4, math.ceil(length / max(cell, 0.5)) + 4)
    xs = (np.arange(n) - 2) * cell
    v: F64 = np.convolve(rng.standard_normal(n), [0.25, 0.5, 0.25], mode="same") * 1.6
    return xs.astype(np.float64), v


def near(h: Hair, um_per_px: float, width: int, height: int) -> bool:
    """Whether any of the shaft of ``h`` can reach the frame."""
    reach = h.length_px + h.sub_px + h.diameter_um / um_per_px + 4
    return -reach < h.x < width + reach and -reach < h.y < height + reach


def draw_hair(img: F32, h: Hair, look: dict[str, Any], pts: F64, arc: F64) -> None:
    """Composite the shaft of ``h`` (its polyline from :func:`shaft`) onto the linear-RGB
    image (in place)."""
    upp = look["um_per_px"]
    r0 = h.diameter_um / 2 / upp
    rng = np.random.default_rng([h.seed, 11])
    length = float(arc[-1])
    end_normal = None
    fray = None
    d_end = pts[-1] - pts[-2]
    d_end = d_end / max(float(np.hypot(*d_end)), 1e-9)
    if h.end == "oblique":
        a = float(rng.uniform(0.35, 0.9)) * (1 if rng.random() < 0.5 else -1)
        ca, sa = math.cos(a), math.sin(a)
        end_normal = np.array([ca * d_end[0] - sa * d_end[1], sa * d_end[0] + ca * d_end[1]])
    elif h.end == "frayed":
        amp = np.float32(max(0.5, r0 * float(rng.uniform(0.4, 1.0))))
        f1 = np.float32(float(rng.uniform(2.0, 5.0)) / max(r0, 0.5))
        ph = np.float32(rng.uniform(0, 6.3))

        def fray(across: F32) -> F32:
            out: F32 = (amp * np.abs(np.sin(across * f1 + ph))).astype(np.float32)
            return out

    shadow_k = np.float32(look["hair_shadow"])
    sh_w = np.float32(0.5 * r0 + 1.0)
    la = look["light_angle"]
    light = np.array([math.cos(la), math.sin(la)])
    sheen = np.float32(look["hair_sheen"] * (0.6 if h.white else 1.0))
    base = np.asarray(h.colour, dtype=np.float32)
    dark = float(base.mean()) < 0.15
    edge_k = np.float32(0.2 + 0.4 * (1 - h.opacity)) if dark else np.float32(-0.25)
    rim = np.float32(0.15 + 0.6 * (1 - h.opacity))
    mx, mv = _noise1d(rng, length + 10, 90.0 / upp)
    px_, pv = _noise1d(rng, length + 10, 150.0 / upp)
    med_thr = float(rng.uniform(-0.6, 0.6))
    med_k = np.float32(0.3 if dark else -0.18)
    cut_period = float(rng.uniform(5.0, 9.0)) / upp
    taper = h.taper_px
    sub = max(h.sub_px, 1e-6)
    reach = r0 + sh_w + 1
    for j, ys, xs, t, s, share in pieces(img.shape[:2], pts, arc, reach, end_normal, fray):
        f = np.ones_like(t)
        if taper > 0:
            f = np.clip((length - t) / np.float32(taper), 0.06, 1.0) ** np.float32(0.8)
        if h.kind == "exclamation":
            f = f * (np.float32(0.35) + np.float32(0.65) * np.clip(t / np.float32(length), 0, 1))
        r = np.float32(r0) * f
        cov = coverage(s, r) * share
        u = np.clip(s / np.maximum(r, 1e-3), -1.0, 1.0)
        g = np.float32(0.14) * np.interp(t, px_, pv).astype(np.float32)
        g += edge_k * u * u
        if h.medulla > 0:
            on = np.clip(np.interp(t, mx, mv) - med_thr, 0, 0.5) * 2
            g += med_k * on * np.clip((np.float32(h.medulla) - np.abs(u)) * 8, 0, 1)
        if cut_period > 2.2:
            g += np.float32(0.05) * np.sin(np.float32(2 * np.pi / cut_period) * t + 2 * u)
        spec = sheen * np.exp(-(((u + np.float32(0.3)) / np.float32(0.16)) ** 2))
        col = base * np.exp(g)[..., None] + spec[..., None] * np.float32(0.9)
        alpha = cov * np.float32(h.opacity) * (1 - rim * u**4)
        below = t < 0
        if below.any():
            # seen through the epidermis: fading and cooler with depth
            depth = np.clip(-t / np.float32(sub), 0, 1)
            fade = np.float32(1) - np.float32(0.85) * np.sqrt(depth)
            alpha = np.where(below, alpha * fade, alpha)
            col = np.where(
                below[..., None],
                col * (1 - 0.3 * depth[..., None])
                + np.float32(0.04) * depth[..., None] * np.array([0.6, 0.8, 1.2], np.float32),
                col,
            )
        view = img[ys, xs]
        if shadow_k > 0:
            seg = pts[j + 1] - pts[j]
            side = 1.0 if (light[0] * -seg[1] + light[1] * seg[0]) >= 0 else -1.0
            dist = np.abs(s)
            shade = np.clip(1 - (dist - r) / sh_w, 0, 1) * (dist > r) * (s * np.float32(side) > 0)
            shade = shade * share * (t > 0) * shadow_k * np.float32(min(1.0, r0))
            view *= (1 - shade)[..., None]
        view += alpha[..., None] * (col - view)
        img[ys, xs] = view


def draw_band(img: F32, pts: F64, arc: F64, radius: float, colour: F32, opacity: float) -> None:
    """A soft flat-coloured band along a polyline (a vessel): opacity falls off to the edge."""
    for _j, ys, xs, _t, s, share in pieces(img.shape[:2], pts, arc, radius + 1):
        r = np.full_like(s, radius)
        cov = coverage(s, r) * share
        u = np.clip(np.abs(s) / r, 0, 1)
        alpha = cov * np.float32(opacity) * (1 - u * u)
        view = img[ys, xs]
        view += alpha[..., None] * (colour - view)
        img[ys, xs] = view
