"""blind-21's one rasteriser: exact-bound quadtree subdivision of arc-band shapes.

A shape is a union of arc-band pieces (:mod:`sim.blind21.growth`). For each piece there is a
cheap bound function ``f`` (px) of a point: outside the piece it is the exact distance to it;
inside it is minus a distance no greater than the point's depth (the distance to the band's
arcs or its end lines), clipped by a half-plane for slanted cuts. With a Lipschitz factor
``L`` per piece (1 plus the piece's taper slope), a box of half-diagonal ``e`` is wholly outside
the piece when ``f(centre) > L e`` and wholly inside when ``f(centre) < -L e``. The frame is
cut into 16 px boxes per shape; boxes that no piece can reach are dropped, boxes some piece
wholly holds are known covered, and the rest split into four, down to pixels and then half
pixels, whose coverage is the share of the half pixel on the inside of the edge as ``f``
places it (a linear ramp over the half pixel). Each box carries only the pieces that can
reach it, so the work follows the shapes' outlines, not the frame.

Per covered pixel of each shape the result is a fragment: coverage, and from the piece
nearest the pixel centre the place across the band (-1 to 1) and along the shape (um)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind21.growth import Chain, View, arc_point

TOP_PX = 16  # the first boxes' side; a power of two
# columns of the piece table (frame px)
(CX, CY, RAD, UX, UY, HALF, SIGN, R0, R1, P0X, P0Y, E0X, E0Y, P1X, P1Y, E1X, E1Y) = range(17)
(ROUND0, ROUND1, NX, NY, NC, LIP, S0, LEN, SHAPE, X0, X1, Y0, Y1) = range(17, 30)
COLUMNS = 30


def piece_table(view: View, chain: Chain, shape: NDArray[np.int64]) -> NDArray[np.float64]:
    """The pieces of ``chain`` in frame px, one row each (see the column names), owned by
    ``shape``; ``S0`` and ``LEN`` stay in um."""
    n = chain.size
    t = np.zeros((n, COLUMNS))
    if n == 0:
        return t
    um, turn = view.um, view.turn
    u0, v0 = view.to_px(chain.x, chain.y)
    head = chain.heading - turn
    bend = chain.bend * um
    run = chain.length / um
    sign = np.where(bend < 0, -1.0, 1.0)
    rad = 1.0 / np.abs(bend)
    t[:, CX] = u0 - sign * rad * np.sin(head)
    t[:, CY] = v0 + sign * rad * np.cos(head)
    t[:, RAD] = rad
    sweep = np.abs(bend) * run
    start = head - sign * 0.5 * math.pi
    mid = start + 0.5 * bend * run
    stop = start + bend * run
    t[:, UX], t[:, UY] = np.cos(mid), np.sin(mid)
    t[:, HALF] = np.minimum(0.5 * sweep, math.pi)
    t[:, SIGN] = sign
    t[:, R0], t[:, R1] = chain.r0 / um, chain.r1 / um
    u1, v1 = arc_point(u0, v0, head, bend, run)
    t[:, P0X], t[:, P0Y], t[:, P1X], t[:, P1Y] = u0, v0, u1, v1
    t[:, E0X], t[:, E0Y] = np.cos(start), np.sin(start)
    t[:, E1X], t[:, E1Y] = np.cos(stop), np.sin(stop)
    t[:, ROUND0], t[:, ROUND1] = chain.round0, chain.round1
    co, si = math.cos(turn), math.sin(turn)
    nx, ny, c = chain.clip[:, 0], chain.clip[:, 1], chain.clip[:, 2]
    t[:, NX], t[:, NY] = co * nx + si * ny, co * ny - si * nx
    centre_dot = nx * view.cx + ny * view.cy
    t[:, NC] = (c - centre_dot) / um + t[:, NX] * 0.5 * (view.w - 1) + t[:, NY] * 0.5 * (view.h - 1)
    t[:, LIP] = 1.0 + np.minimum(np.abs(t[:, R1] - t[:, R0]) / np.maximum(run, 1e-6), 3.0)
    t[:, S0], t[:, LEN], t[:, SHAPE] = chain.s0, chain.length, shape
    um_mid, vm_mid = arc_point(u0, v0, head, bend, 0.5 * run)
    reach = np.maximum(t[:, R0], t[:, R1]) + 1.0 + run * sweep / 8
    whole = sweep > math.pi
    xs, ys = np.stack([u0, um_mid, u1]), np.stack([v0, vm_mid, v1])
    t[:, X0] = np.where(whole, t[:, CX] - rad, xs.min(0)) - reach
    t[:, X1] = np.where(whole, t[:, CX] + rad, xs.max(0)) + reach
    t[:, Y0] = np.where(whole, t[:, CY] - rad, ys.min(0)) - reach
    t[:, Y1] = np.where(whole, t[:, CY] + rad, ys.max(0)) + reach
    return t


def _end_gap(
    c: NDArray[np.float64], qx: NDArray[Any], qy: NDArray[Any], end: int
) -> NDArray[np.float64]:
    """Distance from a point to a piece's end: its round cap, or its flat end (a radial
    segment one half-width either side of the axis)."""
    px, py, ex, ey, r, rnd = (
        (P0X, P0Y, E0X, E0Y, R0, ROUND0) if end == 0 else (P1X, P1Y, E1X, E1Y, R1, ROUND1)
    )
    dx, dy = qx - c[px], qy - c[py]
    on = np.clip(dx * c[ex] + dy * c[ey], -c[r], c[r])
    flat = np.hypot(dx - on * c[ex], dy - on * c[ey])
    out: NDArray[np.float64] = np.where(c[rnd] > 0, np.hypot(dx, dy) - c[r], flat)
    return out


def bound(
    c: NDArray[np.float64], qx: NDArray[Any], qy: NDArray[Any], places: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """For pieces given as columns ``c`` (the piece table's rows, transposed: COLUMNS x n)
    and points (qx, qy), one each: the bound ``f`` (px), the signed distance to the band's
    edges (the bound without the piece's end lines, which inside a chain are no edge of the
    shape: what the half pixels ramp by), and with ``places`` the place across the band (-1 to
    1) and the arc length along the shape (um) (else those two are empty)."""
    dx, dy = qx - c[CX], qy - c[CY]
    rho = np.hypot(dx, dy)
    delta = c[SIGN] * np.arctan2(c[UX] * dy - c[UY] * dx, c[UX] * dx + c[UY] * dy)
    half = c[HALF]
    off = np.abs(delta)
    ranged = (off <= half) & (half > 0)
    share = np.clip((delta + half) / np.maximum(2 * half, 1e-12), 0.0, 1.0)
    r = c[R0] + (c[R1] - c[R0]) * share
    band = np.abs(rho - c[RAD]) - r
    to_end = -rho * np.sin(np.clip(half - off, 0, 0.5 * math.pi))
    to_end[half >= math.pi - 1e-9] = -np.inf  # a whole ring has no ends
    out = np.flatnonzero(~ranged)
    cut = c[:, out]
    gap0, gap1 = _end_gap(cut, qx[out], qy[out], 0), _end_gap(cut, qx[out], qy[out], 1)
    plane = c[NX] * qx + c[NY] * qy - c[NC]
    f, edge = np.maximum(band, to_end), band
    f[out] = edge[out] = np.minimum(gap0, gap1)
    f, edge = np.maximum(f, plane), np.maximum(edge, plane)
    if not places:
        return f, edge, np.zeros(0), np.zeros(0)
    across = c[SIGN] * (rho - c[RAD]) / np.maximum(r, 0.25)
    first = gap0 <= gap1
    o = np.where(first, P0X, P1X), np.where(first, E0X, E1X), np.where(first, R0, R1)
    ox, oy = c[o[0], out], c[o[0] + 1, out]
    ex, ey = c[o[1], out], c[o[1] + 1, out]
    across[out] = ((qx[out] - ox) * ex + (qy[out] - oy) * ey) / np.maximum(c[o[2], out], 0.25)
    share[out] = np.where(first, 0.0, 1.0)
    return f, edge, np.clip(across, -1, 1), c[S0] + share * c[LEN]


@dataclass
class Fragments:
    """Per (shape, pixel) covered: flat pixel index (row * width + column), coverage (0-1],
    place across the nearest piece (-1 to 1), arc length along the shape (um)."""

    shape: NDArray[np.int64]
    pixel: NDArray[np.int64]
    cover: NDArray[np.float64]
    across: NDArray[np.float64]
    along: NDArray[np.float64]


def _first_pairs(
    table: NDArray[np.float64], w: int, h: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(piece, box column, box row) for every TOP_PX box each piece's bounds overlap."""
    nbx, nby = -(-w // TOP_PX), -(-h // TOP_PX)
    bx0 = np.clip(np.floor((table[:, X0] + 0.5) / TOP_PX), 0, nbx - 1).astype(np.int64)
    bx1 = np.clip(np.floor((table[:, X1] + 0.5) / TOP_PX), 0, nbx - 1).astype(np.int64)
    by0 = np.clip(np.floor((table[:, Y0] + 0.5) / TOP_PX), 0, nby - 1).astype(np.int64)
    by1 = np.clip(np.floor((table[:, Y1] + 0.5) / TOP_PX), 0, nby - 1).astype(np.int64)
    cols, rows = bx1 - bx0 + 1, by1 - by0 + 1
    count = cols * rows
    piece = np.repeat(np.arange(table.shape[0]), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    ncol = np.repeat(cols, count)
    return piece, np.repeat(bx0, count) + k % ncol, np.repeat(by0, count) + k // ncol


@dataclass
class _Pairs:
    """(piece, box) pairs of one level: the piece, the box's column and row (in boxes of the
    level's size), whether the box is known to lie wholly inside the piece's shape; once
    :meth:`sorted`, also each pair's run (its box of its shape) and each run's first pair."""

    piece: NDArray[np.int64]
    bx: NDArray[np.int64]
    by: NDArray[np.int64]
    known: NDArray[np.bool_]
    run: NDArray[np.int64] | None = None
    starts: NDArray[np.int64] | None = None

    def take(self, keep: NDArray[Any]) -> _Pairs:
        """The pairs ``keep`` picks (a mask or indices)."""
        return _Pairs(self.piece[keep], self.bx[keep], self.by[keep], self.known[keep])

    def sorted(
        self, tab: NDArray[np.float64]
    ) -> tuple[_Pairs, NDArray[np.int64], NDArray[np.int64]]:
        """The pairs by (shape, box row, box column), each pair's run and each run's start."""
        key = (tab[self.piece, SHAPE].astype(np.int64) << 42) + (self.by << 21) + self.bx
        order = np.argsort(key, kind="stable")
        key = key[order]
        step = key[1:] != key[:-1]
        run = np.concatenate([[0], np.cumsum(step)]).astype(np.int64)
        starts = np.flatnonzero(np.concatenate([[True], step]))
        return self.take(order), run, starts

    def split(self) -> _Pairs:
        """Each pair's box as its four children (a known box's children are known)."""
        n = self.piece.size
        bx = np.repeat(2 * self.bx, 4) + np.tile([0, 1, 0, 1], n)
        by = np.repeat(2 * self.by, 4) + np.tile([0, 0, 1, 1], n)
        return _Pairs(np.repeat(self.piece, 4), bx, by, np.repeat(self.known, 4))


def rasterise(table: NDArray[np.float64], w: int, h: int) -> Fragments:
    """Every shape of the piece table on a ``w`` x ``h`` frame, as fragments."""
    live = (table[:, X1] >= -0.5) & (table[:, X0] <= w - 0.5)
    live &= (table[:, Y1] >= -0.5) & (table[:, Y0] <= h - 0.5)
    tab = table[live]
    z = np.zeros(0)
    nothing = Fragments(z.astype(np.int64), z.astype(np.int64), z, z, z)
    if tab.shape[0] == 0:
        return nothing
    cols = np.ascontiguousarray(tab.T)
    piece, bx, by = _first_pairs(tab, w, h)
    pairs = _Pairs(piece, bx, by, np.zeros(piece.size, bool))
    size = TOP_PX
    while size >= 1 and pairs.piece.size:
        pairs, run, starts = pairs.sorted(tab)
        if size == 1:
            return _pixels(tab, cols, pairs, run, starts, w)
        f = np.full(pairs.piece.size, -np.inf)  # known boxes need no look
        todo = np.flatnonzero(~pairs.known)
        centre = (pairs.bx[todo] + 0.5) * size - 0.5, (pairs.by[todo] + 0.5) * size - 0.5
        f[todo] = bound(cols[:, pairs.piece[todo]], *centre, places=False)[0]
        slack = tab[pairs.piece, LIP] * size * math.sqrt(0.5)
        pairs.known = np.logical_or.reduceat(f < -slack, starts)[run]
        # a box wholly inside keeps only its deepest piece (for the place across and along)
        deepest = f == np.minimum.reduceat(f, starts)[run]
        pairs = pairs.take(np.where(pairs.known, deepest, f <= slack)).split()
        size //= 2
        pairs = pairs.take((pairs.bx * size < w) & (pairs.by * size < h))
    return nothing


def _pixels(
    tab: NDArray[np.float64],
    cols: NDArray[np.float64],
    pairs: _Pairs,
    run: NDArray[np.int64],
    starts: NDArray[np.int64],
    w: int,
) -> Fragments:
    """The pixel level: the nearest piece's place at each pixel centre, coverage 1 where the
    pixel is known or found inside, else the half pixels' ramped shares."""
    rows = cols[:, pairs.piece]
    bx, by = pairs.bx.astype(np.float64), pairs.by.astype(np.float64)
    f = bound(rows, bx, by, places=False)[0]
    f = np.where(pairs.known, np.minimum(f, -1.0), f)
    nearest = f == np.minimum.reduceat(f, starts)[run]
    pick = np.zeros(starts.size, np.int64)
    pick[run[nearest]] = np.flatnonzero(nearest)
    slack = rows[LIP] * math.sqrt(0.5)
    cover = np.logical_or.reduceat(pairs.known | (f < -slack), starts).astype(np.float64)
    edge = np.logical_or.reduceat(f <= slack, starts) & (cover < 1)
    sel = np.flatnonzero(edge[run] & (f <= slack))
    if sel.size:
        sub_starts = np.flatnonzero(np.concatenate([[True], run[sel][1:] != run[sel][:-1]]))
        share = np.zeros(sub_starts.size)
        for ox, oy in ((-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)):
            g = bound(rows[:, sel], bx[sel] + ox, by[sel] + oy, places=False)[1]
            share += 0.25 * np.clip(0.5 - 2.0 * np.minimum.reduceat(g, sub_starts), 0.0, 1.0)
        cover[run[sel][sub_starts]] = share
    hit = np.flatnonzero(cover > 1e-4)
    first = pick[hit]
    _, _, across, along = bound(rows[:, first], bx[first], by[first])
    return Fragments(
        shape=rows[SHAPE, first].astype(np.int64),
        pixel=pairs.by[first] * w + pairs.bx[first],
        cover=cover[hit],
        across=across,
        along=along,
    )
