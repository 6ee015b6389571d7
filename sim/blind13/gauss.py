"""Closed-form Gaussian integrals of shafts and dots: blind-13's one drawing primitive.

A shaft piece is a rectangle (a straight run of the shaft, its width tapering along it) seen
through an isotropic Gaussian point-spread function of standard deviation ``sigma`` pixels.
In the piece's own frame (``t`` along, ``d`` across) the blurred rectangle is separable and
exact: ``[Phi(t/s) - Phi((t-L)/s)] * [Phi((d+h)/s) - Phi((d-h)/s)]``. Pieces of one shaft
laid end to end sum to the blurred whole shaft (the along factors of collinear pieces
telescope), so a shaft is summed, never max-ed, and joints neither bead nor gap. A dot is a
disc, blurred the same way (``Phi((R-r)/s)``; a Gaussian of the same integral when the disc
is smaller than the blur). Nothing is ever blurred after it is drawn here: the defocus of a
standing stub's tip is just a larger ``sigma`` on its last pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

_REACH = 3.5  # Gaussian tails cut at 3.5 sigma (under 2.4e-4 of the step)
_BATCH = 48  # shaft pieces evaluated together (bounds the patch memory)


@dataclass(frozen=True)
class Pieces:
    """One shaft as straight pieces in frame pixels (pixel centres at integers): ends
    ``x0, y0 -> x1, y1``, half widths ``h0, h1`` and blurs ``s0, s1`` at each end (both
    varying linearly along the piece, so neighbours agree at their joint), the shade of
    each piece's pigment, and the shape of the free end on the last piece: ``slant`` (the
    end's along-shift per pixel across: an oblique cut) and ``jag`` amplitude, frequency and
    phase (a frayed cut)."""

    x0: F64
    y0: F64
    x1: F64
    y1: F64
    h0: F64
    h1: F64
    s0: F64
    s1: F64
    shade: F64
    slant: float = 0.0
    jag_amp: float = 0.0
    jag_freq: float = 1.0
    jag_phase: float = 0.0


def polyline(
    x: F64, y: F64, half: F64, sigma: F64, shade: F64 | None = None, **end: float
) -> Pieces:
    """The pieces between consecutive samples of an axis in frame pixels, with the half
    widths and blurs at each sample, each piece's ``shade`` (1 unless given) and the free
    end's shape (``end``: ``slant``, ``jag_amp``, ``jag_freq``, ``jag_phase``)."""
    return Pieces(
        x[:-1],
        y[:-1],
        x[1:],
        y[1:],
        half[:-1],
        half[1:],
        sigma[:-1],
        sigma[1:],
        np.ones(len(x) - 1) if shade is None else shade,
        **end,
    )


@dataclass(frozen=True)
class Footprint:
    """A shaft's blurred coverage: flat pixel indices (unique), summed coverage clipped to 1,
    the coverage-weighted shade, and the coverage of a narrow highlight strip."""

    index: NDArray[np.int64]
    cover: F32
    shade: F32
    gloss: F32


def _band(
    x0: F64, y0: F64, x1: F64, y1: F64, reach: F64
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Pixels (n, rows, cols) within ``reach`` of each piece's line, pieces running more
    across than down: every column of the piece's span, the rows of a band round the line
    (a square box would hold two to three times as many pixels for a thin shaft)."""
    lo = np.floor(np.minimum(x0, x1) - reach).astype(np.int32)
    cols = int((np.ceil(np.maximum(x0, x1) + reach) - lo).max()) + 1
    dx = x1 - x0
    slope = np.where(np.abs(dx) > 1e-9, (y1 - y0) / np.where(dx == 0, 1.0, dx), 0.0)
    half = reach * np.sqrt(1.0 + slope * slope)
    rows = int(np.ceil(2.0 * half.max())) + 3
    gx = lo[:, None] + np.arange(cols, dtype=np.int32)[None, :]
    yc = y0[:, None] + (gx - x0[:, None]) * slope[:, None]
    top = np.floor(yc - half[:, None]).astype(np.int32)
    gy = top[:, :, None] + np.arange(rows, dtype=np.int32)[None, None, :]
    return np.broadcast_to(gx[:, :, None], gy.shape), gy


def _pixels(
    x0: F64, y0: F64, x1: F64, y1: F64, reach: F64
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Pixels near each piece (n, a, b), by bands along x or, for steep pieces, along y."""
    steep = np.abs(y1 - y0) > np.abs(x1 - x0)
    if not steep.any():
        return _band(x0, y0, x1, y1, reach)
    if steep.all():
        gy, gx = _band(y0, x0, y1, x1, reach)
        return gx, gy
    raise ValueError("mixed orientations: split the batch")


def shaft_samples(
    p: Pieces,
    width: int,
    height: int,
    gloss: bool = True,
    gloss_offset: float = 0.35,
    gloss_half: float = 0.18,
) -> tuple[NDArray[np.int64], F32, F32, F32]:
    """Every (pixel, piece) sample of a shaft's blurred coverage inside the frame: flat
    indices, coverage, coverage times shade, and the highlight strip's coverage (a strip
    ``gloss_half`` of the half width wide, ``gloss_offset`` of it off the axis towards the
    upper left, where the ring light's brightest arc sits)."""
    last = len(p.x0) - 1
    smax = np.maximum(p.s0, p.s1)
    extra = abs(p.slant) * np.maximum(p.h0, p.h1) + p.jag_amp
    reach_all = np.maximum(p.h0, p.h1) + _REACH * smax + extra + 1.0
    # only pieces whose reach meets the frame are evaluated
    near = (
        (np.maximum(p.x0, p.x1) + reach_all >= 0)
        & (np.minimum(p.x0, p.x1) - reach_all <= width - 1)
        & (np.maximum(p.y0, p.y1) + reach_all >= 0)
        & (np.minimum(p.y0, p.y1) - reach_all <= height - 1)
    )
    steep = np.abs(p.y1 - p.y0) > np.abs(p.x1 - p.x0)
    out_i: list[NDArray[np.int64]] = []
    out_c: list[F32] = []
    out_s: list[F32] = []
    out_g: list[F32] = []
    for group in (np.flatnonzero(near & ~steep), np.flatnonzero(near & steep)):
        for a in range(0, len(group), _BATCH):
            sel = group[a : a + _BATCH]
            x0, y0, x1, y1 = p.x0[sel], p.y0[sel], p.x1[sel], p.y1[sel]
            reach = reach_all[sel]
            gx, gy = _pixels(x0, y0, x1, y1, reach)
            dx, dy = x1 - x0, y1 - y0
            length = np.maximum(np.hypot(dx, dy), 1e-6)
            ux, uy = dx / length, dy / length
            inside = (gx >= 0) & (gx < width) & (gy >= 0) & (gy < height)
            k = np.nonzero(inside)[0]
            if len(k) == 0:
                continue
            px = gx[inside]
            py = gy[inside]
            rx = (px - x0[k]).astype(np.float32)
            ry = (py - y0[k]).astype(np.float32)
            uxk = ux[k].astype(np.float32)
            uyk = uy[k].astype(np.float32)
            tk = rx * uxk + ry * uyk
            dk = ry * uxk - rx * uyk
            lk = length[k].astype(np.float32)
            rk = reach[k].astype(np.float32)
            smk = smax[sel][k].astype(np.float32)
            ok = (np.abs(dk) < rk) & (tk > -_REACH * smk - 1.0) & (tk < lk + rk)
            k, px, py, tk, dk, lk = k[ok], px[ok], py[ok], tk[ok], dk[ok], lk[ok]
            uxk, uyk = uxk[ok], uyk[ok]
            frac = np.clip(tk / lk, 0.0, 1.0)
            s0, s1 = p.s0[sel][k], p.s1[sel][k]
            s = (s0 + (s1 - s0) * frac).astype(np.float32)
            h0, h1 = p.h0[sel][k], p.h1[sel][k]
            half = (h0 + (h1 - h0) * frac).astype(np.float32)
            end = lk.copy()
            on_last = sel[k] == last
            if on_last.any() and (p.slant != 0.0 or p.jag_amp != 0.0):
                dl = dk[on_last]
                end[on_last] += p.slant * dl + p.jag_amp * np.sin(p.jag_freq * dl + p.jag_phase)
            along = ndtr(tk / s) - ndtr((tk - end) / s)
            across = ndtr((dk + half) / s) - ndtr((dk - half) / s)
            cover = (along * across).astype(np.float32)
            out_i.append(py.astype(np.int64) * width + px)
            out_c.append(cover)
            out_s.append(cover * p.shade[sel][k].astype(np.float32))
            if gloss:
                # the highlight strip lies on the side of the axis facing the upper left
                side = np.sign(uyk - uxk + 1e-9)
                centre = side * gloss_offset * half
                gh = np.maximum(gloss_half * half, 0.05)
                gl = along * (ndtr((dk - centre + gh) / s) - ndtr((dk - centre - gh) / s))
                out_g.append(gl.astype(np.float32))
    if not out_i:
        e = np.zeros(0, np.float32)
        return np.zeros(0, np.int64), e, e, e
    idx = np.concatenate(out_i)
    glo = np.concatenate(out_g) if gloss else np.zeros(len(idx), np.float32)
    return idx, np.concatenate(out_c), np.concatenate(out_s), glo


class Accumulator:
    """Frame-sized scratch buffers that sum a shaft's samples per pixel and hand back each
    touched pixel once (the last writer of a pixel's slot marks it: no sort)."""

    def __init__(self, width: int, height: int) -> None:
        n = width * height
        self.width = width
        self.height = height
        self._cover = np.zeros(n, np.float32)
        self._shade = np.zeros(n, np.float32)
        self._gloss = np.zeros(n, np.float32)
        self._owner = np.zeros(n, np.int32)

    def footprint(self, p: Pieces, gloss: bool = False) -> Footprint:
        """A shaft's summed coverage (and its highlight strip's, with ``gloss``)."""
        idx, cov, sha, glo = shaft_samples(p, self.width, self.height, gloss)
        if len(idx) == 0:
            e = np.zeros(0, np.float32)
            return Footprint(idx, e, e, e)
        plain = bool(np.all(p.shade == 1.0))
        np.add.at(self._cover, idx, cov)
        if not plain:
            np.add.at(self._shade, idx, sha)
        if gloss:
            np.add.at(self._gloss, idx, glo)
        order = np.arange(len(idx), dtype=np.int32)
        self._owner[idx] = order
        u = idx[self._owner[idx] == order]
        c = self._cover[u]
        self._cover[u] = 0.0
        shade = np.ones(len(u), np.float32)
        if not plain:
            shade = (self._shade[u] / np.maximum(c, 1e-6)).astype(np.float32)
            self._shade[u] = 0.0
        shine = np.zeros(len(u), np.float32)
        if gloss:
            shine = np.minimum(self._gloss[u], 1.0)
            self._gloss[u] = 0.0
        return Footprint(u, np.minimum(c, 1.0), shade, shine)


def add_dots(
    field: F32,
    cx: F64,
    cy: F64,
    radius: F64,
    sigma: float,
    amount: F64,
    wobble: F64 | None = None,
    angle: F64 | None = None,
) -> None:
    """Adds blurred discs to ``field`` (H x W, in place): centres ``cx, cy`` (pixels),
    radii (pixels), each times ``amount``; ``wobble`` makes a disc oval (radius times
    ``1 + wobble * cos 2(phi - angle)``). A disc smaller than the blur is added as the
    Gaussian of the same integral and a spread of ``sigma**2 + R**2 / 4``."""
    h, w = field.shape
    flat = flat_view(field)
    n = len(cx)
    if n == 0:
        return
    wob = np.zeros(n) if wobble is None else wobble
    ang = np.zeros(n) if angle is None else angle
    s = max(sigma, 0.3)
    big_r = radius * (1.0 + np.abs(wob))
    spread = np.where(radius >= s, s, np.sqrt(s * s + radius * radius / 4.0))
    reach_all = big_r + _REACH * spread + 1.0
    # dots of similar reach share a patch size; a batch holds about 400k samples
    order = np.argsort(reach_all)
    a = 0
    while a < n:
        m = math.ceil(float(reach_all[order[min(a + 255, n - 1)]]))
        count = int(min(256, max(1, 400_000 // (2 * m + 1) ** 2)))
        sel = order[a : a + count]
        a += count
        m = math.ceil(float(reach_all[sel].max()))
        off = np.arange(-m, m + 1, dtype=np.int32)
        ix = np.round(cx[sel]).astype(np.int32)[:, None, None] + off[None, None, :]
        iy = np.round(cy[sel]).astype(np.int32)[:, None, None] + off[None, :, None]
        shape = (len(sel), 2 * m + 1, 2 * m + 1)
        ix, iy = np.broadcast_to(ix, shape), np.broadcast_to(iy, shape)
        keep = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        k = np.nonzero(keep)[0]
        if len(k) == 0:
            continue
        px, py = ix[keep], iy[keep]
        ddx = (px - cx[sel][k]).astype(np.float32)
        ddy = (py - cy[sel][k]).astype(np.float32)
        r = np.hypot(ddx, ddy)
        rad = radius[sel][k].astype(np.float32)
        if wobble is not None:
            phi = np.arctan2(ddy, ddx)
            rad = rad * (1.0 + wob[sel][k] * np.cos(2.0 * (phi - ang[sel][k]))).astype(np.float32)
        near = r < big_r[sel][k] + _REACH * spread[sel][k] + 1.0
        k, px, py, r, rad = k[near], px[near], py[near], r[near], rad[near]
        big = ndtr((rad - r) / np.float32(s))
        var = np.float32(s * s) + rad * rad / 4.0
        small = rad * rad / (2.0 * var) * np.exp(-(r * r) / (2.0 * var))
        v = np.where(rad >= s, big, small) * amount[sel][k]
        np.add.at(flat, py.astype(np.int64) * w + px, v.astype(np.float32))


def add_lines(field: F32, acc: Accumulator, pieces: Pieces, amount: float) -> None:
    """Adds a blurred line's coverage times ``amount`` to ``field`` (H x W, in place)."""
    fp = acc.footprint(pieces)
    flat_view(field)[fp.index] += amount * fp.cover


def join(runs: list[Pieces]) -> Pieces:
    """Straight runs with plain ends as one set of pieces (for layers that only add)."""

    def cat(name: str) -> F64:
        return np.concatenate([getattr(r, name) for r in runs]).astype(np.float64)

    return Pieces(
        cat("x0"),
        cat("y0"),
        cat("x1"),
        cat("y1"),
        cat("h0"),
        cat("h1"),
        cat("s0"),
        cat("s1"),
        cat("shade"),
    )


def flat_view(field: F32) -> F32:
    """``field`` as one row that writes through to it (refuses a copy)."""
    if not field.flags.c_contiguous:
        raise ValueError("a drawing target must be C-contiguous")
    return field.reshape(-1)
