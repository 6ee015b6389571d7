"""Perspective camera, lens distortion and the depth-buffered stroke rasteriser."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass
class Camera:
    """A pinhole ``height_um`` above the skin. World (um, origin at the baseline frame's
    centre) -> ideal frame pixels -> canvas pixels (ideal + margin) -> output pixels
    (radial distortion ``k``; channel c is magnified by ``ca[c]``)."""

    um: float
    width: int
    height: int
    height_um: float
    tx: float
    ty: float
    yaw: float
    k: float
    ca: tuple[float, float, float]
    margin: int

    @property
    def rnorm(self) -> float:
        return 0.5 * math.hypot(self.width, self.height)

    def project(self, p: F64) -> tuple[F64, F64, F64]:
        """World points (n, 3) -> canvas pixel x, y and the perspective magnification."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = p[:, 0] - self.tx, p[:, 1] - self.ty
        xr, yr = c * dx + s * dy, -s * dx + c * dy
        mag = self.height_um / (self.height_um - p[:, 2])
        u = xr / self.um * mag + (self.width - 1) / 2 + self.margin
        v = yr / self.um * mag + (self.height - 1) / 2 + self.margin
        return u, v, mag

    def canvas_to_output(self, u: F64, v: F64) -> tuple[F64, F64]:
        """Ideal (canvas) points -> output pixels through the green channel's distortion."""
        cx, cy = (self.width - 1) / 2, (self.height - 1) / 2
        xu, yu = u - self.margin - cx, v - self.margin - cy
        ru = np.hypot(xu, yu) / self.rnorm / self.ca[1]
        # solve rd * (1 + k rd^2) = ru on [0, 1.5], where it is monotone for |k| <= 0.1
        # (the frame's corners are at rd = 1); beyond, extend it monotonically: those
        # points are far outside the frame either way
        k, rmax = self.k, 1.5
        fmax = rmax * (1 + k * rmax * rmax)
        rd = np.clip(ru, 0.0, rmax)
        for _ in range(40):
            f = rd * (1 + k * rd * rd) - ru
            rd = np.clip(rd - f / (1 + 3 * k * rd * rd), 0.0, rmax)
        rd = np.where(ru > fmax, rmax + (ru - fmax), rd)
        scale = np.where(ru > 1e-12, rd / np.maximum(ru, 1e-12), 1.0) / self.ca[1]
        return np.asarray(cx + xu * scale), np.asarray(cy + yu * scale)

    def output_to_canvas(self, ch: int, xo: F32, yo: F32) -> tuple[F32, F32]:
        """Output pixel grid -> where channel ``ch`` samples the ideal canvas."""
        cx, cy = (self.width - 1) / 2, (self.height - 1) / 2
        xd, yd = xo - np.float32(cx), yo - np.float32(cy)
        r2 = (xd * xd + yd * yd) / np.float32(self.rnorm**2)
        f = (1 + np.float32(self.k) * r2) * np.float32(self.ca[ch])
        ox = np.asarray(xd * f + np.float32(cx + self.margin), dtype=np.float32)
        return ox, np.asarray(yd * f + np.float32(cy + self.margin), dtype=np.float32)


@dataclass
class Strokes:
    """Projected centreline segments, in canvas pixels, with per-segment attributes."""

    x0: F64
    y0: F64
    x1: F64
    y1: F64
    hw0: F64
    hw1: F64
    z0: F64
    z1: F64
    flat_end: NDArray[np.bool_]
    attr: F64  # (n, k) attributes copied to the winning pixels
    opac: F64
    rad_um: F64  # shaft radius in um, for the surface depth


def raster(
    st: Strokes,
    shape: tuple[int, int],
    prio_buf: F32,
    alpha: F32,
    attrs: list[F32],
    shade_spec: tuple[F32, F32] | None,
    chunk: int = 3_000_000,
) -> None:
    """Splat anti-aliased capsules (flat ends where asked) into flat buffers: the nearest
    (highest z) well-covered stroke wins a pixel's attributes, coverage keeps the max."""
    h, w = shape
    pad = np.maximum(st.hw0, st.hw1) + 1.0
    xmin = np.maximum(np.floor(np.minimum(st.x0, st.x1) - pad), 0).astype(np.int64)
    xmax = np.minimum(np.ceil(np.maximum(st.x0, st.x1) + pad), w - 1).astype(np.int64)
    ymin = np.maximum(np.floor(np.minimum(st.y0, st.y1) - pad), 0).astype(np.int64)
    ymax = np.minimum(np.ceil(np.maximum(st.y0, st.y1) + pad), h - 1).astype(np.int64)
    ok = (xmax >= xmin) & (ymax >= ymin)
    seg = np.nonzero(ok)[0]
    if len(seg) == 0:
        return
    bw = (xmax - xmin + 1)[seg]
    bh = (ymax - ymin + 1)[seg]
    n = bw * bh
    cum = np.cumsum(n)
    start = 0
    while start < len(seg):
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + chunk, side="right"))
        stop = max(stop, start + 1)
        sl = seg[start:stop]
        nn = n[start:stop]
        idx = np.repeat(np.arange(len(sl)), nn)
        offs = np.arange(int(nn.sum())) - np.repeat(np.cumsum(nn) - nn, nn)
        g = sl[idx]
        bwi = bw[start:stop][idx]
        px = (xmin[g] + offs % bwi).astype(np.float64)
        py = (ymin[g] + offs // bwi).astype(np.float64)
        dx, dy = st.x1[g] - st.x0[g], st.y1[g] - st.y0[g]
        l2 = np.maximum(dx * dx + dy * dy, 1e-9)
        traw = ((px - st.x0[g]) * dx + (py - st.y0[g]) * dy) / l2
        t = np.clip(traw, 0.0, 1.0)
        dist = np.hypot(px - st.x0[g] - t * dx, py - st.y0[g] - t * dy)
        hw = st.hw0[g] + t * (st.hw1[g] - st.hw0[g])
        cov = np.clip(np.minimum(hw + 0.5 - dist, 2 * hw), 0.0, 1.0)
        fe = st.flat_end[g]
        if fe.any():
            endc = np.clip((1 - traw) * np.sqrt(l2) + 0.5, 0.0, 1.0)
            cov = np.where(fe, cov * endc, cov)
        keep = cov > 0.01
        # distance across the shaft (to the segment's line, so joints do not show)
        dperp = np.abs((px - st.x0[g]) * dy - (py - st.y0[g]) * dx) / np.sqrt(l2)
        dperp = np.where(l2 > 1e-6, np.minimum(dperp, dist), dist)
        g, px, py, t, dperp, hw, cov = (a[keep] for a in (g, px, py, t, dperp, hw, cov))
        start = stop
        if len(g) == 0:
            continue
        z = st.z0[g] + t * (st.z1[g] - st.z0[g])
        # the depth of the shaft's top surface there
        rr = np.sqrt(np.clip(1.0 - (dperp / np.maximum(hw, 1e-3)) ** 2, 0.0, 1.0))
        prio = z + st.rad_um[g] * rr + 1e5 * (cov >= 0.5)
        flat = py.astype(np.int64) * w + px.astype(np.int64)
        order = np.lexsort((-prio, flat))
        fs = flat[order]
        first = np.nonzero(np.r_[True, fs[1:] != fs[:-1]])[0]
        a = (cov * st.opac[g])[order].astype(np.float32)
        amax = np.maximum.reduceat(a, first)
        fu = fs[first]
        alpha[fu] = np.maximum(alpha[fu], amax)
        win = order[first]
        upd = prio[win] > prio_buf[fu]
        fu, win = fu[upd], win[upd]
        prio_buf[fu] = prio[win]
        for j, buf in enumerate(attrs):
            buf[fu] = st.attr[g[win], j]
        if shade_spec is not None:
            sc = np.clip(dperp[win] / np.maximum(hw[win], 0.3), 0.0, 1.0)
            shade_spec[0][fu] = 0.5 + 0.5 * np.sqrt(1 - sc * sc)
            shade_spec[1][fu] = np.exp(-(((sc - 0.35) / 0.15) ** 2))
