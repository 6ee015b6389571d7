"""Hair shafts as ribbons of quadrilaterals: each shaft's outline is cut into five strips
across (dark rims, body, sheen line) and short pieces along, and every piece is handed to
the polygon filler as a quadrilateral with its own colour, so the shading across a shaft is
a width profile of nested polygons and the edges keep exact area coverage."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind15.raster import Layer
from sim.blind15.site import Hair

F64 = NDArray[np.float64]
ToFrame = Callable[[F64, F64], tuple[F64, F64]]

U = np.array([-1.0, -0.62, -0.05, 0.32, 0.66, 1.0])  # strip edges across the shaft
SHADE = np.array([0.72, 1.0, 1.0, 1.0, 0.8])  # colour factor per strip
OPAC = np.array([0.8, 1.0, 1.0, 1.0, 0.85])
SHEEN = np.array([0.0, 0.04, 1.0, 0.12, 0.0])


@dataclass
class Shaft:
    x: F64  # centreline, frame px
    y: F64
    r: F64  # half width, px
    end_x: float
    end_y: float
    end_d: float  # um


def centreline(h: Hair, step: float) -> tuple[F64, F64, F64, F64]:
    """World centreline (x, y), arclength s and heading of a shaft."""
    n = max(2, math.ceil(h.length / step))
    s = np.linspace(0.0, h.length, n + 1)
    two = 2.0 * math.pi / h.wave_len
    head = (
        h.heading
        + h.curv * s
        + h.wave_amp * (np.sin(two * s + h.wave_phase) - math.sin(h.wave_phase))
    )
    mid = 0.5 * (head[1:] + head[:-1])
    ds = np.diff(s)
    x = h.x + np.concatenate([[0.0], np.cumsum(np.cos(mid) * ds)])
    y = h.y + np.concatenate([[0.0], np.cumsum(np.sin(mid) * ds)])
    return x, y, s, head


def diameter(h: Hair, s: F64) -> F64:
    """Diameter (um) along the shaft."""
    d = np.full_like(s, h.d)
    if h.kind == "exclamation":
        d = h.d + (h.d_end - h.d) * (s / max(h.length, 1.0)) ** 1.5
    if h.end == "taper" and h.taper_len > 0:
        t = np.clip((s - (h.length - h.taper_len)) / h.taper_len, 0.0, 1.0)
        d = d * (1.0 - t**1.6) + h.d_end * t**1.6
    if h.twist > 0:
        ph = (s / h.twist) % 1.0
        d = d * (1.0 - 0.55 * np.exp(-(((ph - 0.5) / 0.07) ** 2)))
    out: F64 = d
    return out


def add_shaft(
    layer: Layer, h: Hair, um: float, to_frame: ToFrame, width: int, height: int, sheen: float
) -> Shaft | None:
    """Put a shaft's quadrilaterals into ``layer``; None when no part is near the frame."""
    rx, ry = to_frame(np.array([h.x]), np.array([h.y]))
    reach = (h.length + h.d) / um + 4
    gx = max(-float(rx[0]), float(rx[0]) - width, 0.0)
    gy = max(-float(ry[0]), float(ry[0]) - height, 0.0)
    if math.hypot(gx, gy) > reach:
        return None
    # pieces of about 4 px, shorter where the shaft bends fast (coils, tight waves)
    bend = h.wave_amp * 2.0 * math.pi / h.wave_len + abs(h.curv)
    step = float(np.clip(min(4.0 * um, 0.12 / max(bend, 1e-6)), 4.0, 60.0))
    wx, wy, s, _head = centreline(h, step)
    fx, fy = to_frame(wx, wy)
    pad = h.d / um + 4
    if fx.max() < -pad or fy.max() < -pad or fx.min() > width + pad or fy.min() > height + pad:
        return None
    d = diameter(h, s)
    r = d / 2.0 / um
    # frame-space normals from the frame-space centreline
    tx = np.gradient(fx)
    ty = np.gradient(fy)
    norm = np.hypot(tx, ty) + 1e-12
    tx, ty = tx / norm, ty / norm
    nx, ny = -ty, tx
    px = fx[:, None] + nx[:, None] * r[:, None] * U[None, :]
    py = fy[:, None] + ny[:, None] * r[:, None] * U[None, :]
    if h.end == "oblique":
        k = math.tan(h.end_angle)
        px[-1] += tx[-1] * r[-1] * U * k
        py[-1] += ty[-1] * r[-1] * U * k
    nseg = len(s) - 1
    ns = len(U) - 1
    j = np.arange(ns)[None, :]
    base = np.array(h.colour)
    sm = 0.5 * (s[1:] + s[:-1])
    col = np.broadcast_to(base, (nseg, ns, 3)).copy()
    if h.root_band > 0:
        col[sm < h.root_band] = np.array(h.root_colour)
    # light hair shows darker rims; dark hair barely
    light = float(base.mean())
    shade = 1.0 - (1.0 - SHADE[j]) * (0.3 + 1.2 * light)
    col = col * shade[:, :, None]
    glint = np.broadcast_to(SHEEN[j] * sheen, (nseg, ns))
    if h.twist > 0:
        ph = ((sm / h.twist) % 1.0)[:, None]
        glint = glint + 0.5 * sheen * np.exp(-(((ph - 0.42) / 0.06) ** 2)) * (SHEEN[j] > 0)
    col = col + (1.0 - col) * glint[:, :, None] * 0.8
    alpha = np.broadcast_to(h.alpha * OPAC[j], (nseg, ns)).copy()
    if h.kind == "vellus":
        alpha = alpha * (1.0 - 0.5 * (np.abs(U[j] + U[j + 1]) / 2))
    qx0 = np.minimum(px[:-1], px[1:]).min(1)
    qx1 = np.maximum(px[:-1], px[1:]).max(1)
    qy0 = np.minimum(py[:-1], py[1:]).min(1)
    qy1 = np.maximum(py[:-1], py[1:]).max(1)
    out = (qx1 < -2) | (qy1 < -2) | (qx0 > width + 1) | (qy0 > height + 1)
    alpha[out] = 0.0
    # quantise colours a little so that cross edges along a plain shaft cancel exactly
    col = np.round(np.clip(col, 0, 1), 3)
    layer.add_grid(px, py, alpha, col)
    if h.end == "frayed":
        _fray(layer, h, fx[-1], fy[-1], tx[-1], ty[-1], r[-1], base * 0.9)
    return Shaft(fx, fy, r, float(fx[-1]), float(fy[-1]), float(d[-1]))


def _fray(
    layer: Layer, h: Hair, ex: float, ey: float, tx: float, ty: float, r: float, col: F64
) -> None:
    """Short splayed fibres at a broken or frayed end."""
    rng = np.random.default_rng(_uid_seed(h.uid))
    k = int(rng.integers(3, 6))
    off = rng.uniform(-0.8, 0.8, k) * r
    ang = rng.normal(0, 0.35, k)
    ln = rng.uniform(0.4, 1.0, k) * r
    wd = rng.uniform(0.12, 0.25, k) * r
    nx, ny = -ty, tx
    bx = ex + nx * off - tx * 0.3 * r
    by = ey + ny * off - ty * 0.3 * r
    c, s = np.cos(ang), np.sin(ang)
    dx = tx * c - ty * s
    dy = tx * s + ty * c
    px, py = -dy, dx
    vx = np.stack(
        [bx - px * wd, bx + dx * ln - px * wd * 0.4, bx + dx * ln + px * wd * 0.4, bx + px * wd], 1
    )
    vy = np.stack(
        [by - py * wd, by + dy * ln - py * wd * 0.4, by + dy * ln + py * wd * 0.4, by + py * wd], 1
    )
    layer.add_polygons(vx, vy, np.full(k, h.alpha * 0.9), np.repeat(col[None, :], k, 0))


def _uid_seed(uid: str) -> int:
    v = 1469598103934665603
    for ch in uid.encode():
        v = ((v ^ ch) * 1099511628211) & ((1 << 64) - 1)
    return v


def disc(cx: F64, cy: F64, rad: F64, k: int = 16) -> tuple[F64, F64]:
    """Regular k-gons (P, k) approximating discs, with the k-gon's area equal to the disc's."""
    t = np.linspace(0, 2 * math.pi, k, endpoint=False)
    fix = math.sqrt(math.pi / (0.5 * k * math.sin(2 * math.pi / k)))
    vx = cx[:, None] + (rad * fix)[:, None] * np.cos(t)[None, :]
    vy = cy[:, None] + (rad * fix)[:, None] * np.sin(t)[None, :]
    return vx, vy


def polyline_ribbon(
    layer: Layer, fx: F64, fy: F64, half: float, alpha: float, rgb: tuple[float, float, float]
) -> None:
    """A constant-width ribbon of quads along a frame-space polyline (a vessel)."""
    tx = np.gradient(fx)
    ty = np.gradient(fy)
    n = np.hypot(tx, ty) + 1e-12
    nx, ny = -ty / n, tx / n
    lx, ly = fx + nx * half, fy + ny * half
    rx, ry = fx - nx * half, fy - ny * half
    vx = np.stack([lx[:-1], lx[1:], rx[1:], rx[:-1]], 1)
    vy = np.stack([ly[:-1], ly[1:], ry[1:], ry[:-1]], 1)
    m = len(vx)
    layer.add_polygons(vx, vy, np.full(m, alpha), np.repeat(np.array([rgb]), m, 0))
