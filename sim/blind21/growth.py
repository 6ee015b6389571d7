"""Hair shafts as grown spines: chains of circular arcs, each piece of constant curvature.

A keratinising hair bends where its follicle grew it unevenly: each stretch of the shaft keeps
the curvature it was grown with. blind-21 models that literally: a spine is a chain of arcs
(G1-continuous: each starts where and in the direction the last ended), whose curvatures
follow an Ornstein-Uhlenbeck process along the shaft about the hair's own bend, and whose
half-width runs linearly within each piece (natural tips taper over their last stretch). The
same arc-band piece draws every mark too: a disc is a piece of length zero with round ends, a
ring a piece that sweeps the whole circle, a vessel a wandering chain.

Everything here is in world micrometres on the skin plane; :class:`View` maps it to frame
pixels (a similarity, so arcs stay arcs) for :mod:`sim.blind21.quadtree`."""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

BEND_FLOOR = 1e-5  # 1/um: the straightest piece is an arc of radius 100 mm
PIECE_UM = 110.0  # the longest piece of a shaft's spine
NO_CLIP = (0.0, 0.0, 1e30)  # the half-plane that keeps everything (0 <= 1e30)


@dataclass(frozen=True)
class View:
    """The frame on the site: ``w`` x ``h`` px at ``um`` um/px, its centre at world ``(cx,
    cy)`` um, turned by ``turn`` radians (a follow-up visit); pixel centres at integers.
    World and frame are complex planes; the frame is a similarity of the world."""

    w: int
    h: int
    um: float
    turn: float = 0.0
    cx: float = 0.0
    cy: float = 0.0

    def _scale(self) -> complex:
        return cmath.exp(-1j * self.turn) / self.um

    def _middle(self) -> complex:
        return complex(0.5 * (self.w - 1), 0.5 * (self.h - 1))

    def to_px(self, x: Any, y: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        z = (np.asarray(x) + 1j * np.asarray(y) - complex(self.cx, self.cy)) * self._scale()
        z = z + self._middle()
        return np.asarray(z.real), np.asarray(z.imag)

    def to_world(self, u: Any, v: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        z = (np.asarray(u) + 1j * np.asarray(v) - self._middle()) / self._scale()
        z = z + complex(self.cx, self.cy)
        return np.asarray(z.real), np.asarray(z.imag)

    def holds(self, u: float, v: float) -> bool:
        return self.outside_um(u, v) == 0.0 and u < self.w - 0.5 and v < self.h - 0.5

    def outside_um(self, u: float, v: float) -> float:
        """How far (um) a frame point lies outside the frame; 0 inside or on its edge."""
        nearest_u = min(max(u, -0.5), self.w - 0.5)
        nearest_v = min(max(v, -0.5), self.h - 0.5)
        return abs(complex(u - nearest_u, v - nearest_v)) * self.um

    def world_box(self, margin_um: float) -> tuple[float, float, float, float]:
        """The world rectangle (x0, y0, x1, y1) um that holds the frame and ``margin_um``."""
        corners = np.add.outer(np.array([-0.5, self.w - 0.5]), 1j * np.array([-0.5, self.h - 0.5]))
        x, y = self.to_world(corners.real, corners.imag)
        grow_by = margin_um * np.array([-1.0, -1.0, 1.0, 1.0])
        x0, y0, x1, y1 = np.array([x.min(), y.min(), x.max(), y.max()]) + grow_by
        return float(x0), float(y0), float(x1), float(y1)


@dataclass
class Chain:
    """Arc-band pieces (world um): start point, heading (rad), curvature (1/um, signed),
    length, half-width at start and end, round ends, a clipping half-plane (nx, ny, c:
    kept where nx x + ny y <= c) and the arc length at each piece's start."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    heading: NDArray[np.float64]
    bend: NDArray[np.float64]
    length: NDArray[np.float64]
    r0: NDArray[np.float64]
    r1: NDArray[np.float64]
    round0: NDArray[np.bool_]
    round1: NDArray[np.bool_]
    clip: NDArray[np.float64]
    s0: NDArray[np.float64]

    @classmethod
    def empty(cls) -> Chain:
        z = np.zeros(0)
        return cls(z, z, z, z, z, z, z, z.astype(bool), z.astype(bool), np.zeros((0, 3)), z)

    @property
    def size(self) -> int:
        return int(self.x.size)

    def end(self) -> tuple[float, float, float]:
        """The chain's last point and heading (of its last piece)."""
        k = -1
        x, y = arc_point(self.x[k], self.y[k], self.heading[k], self.bend[k], self.length[k])
        return float(x), float(y), float(self.heading[k] + self.bend[k] * self.length[k])

    def joined(self, other: Chain) -> Chain:
        return Chain.concat([self, other])

    @staticmethod
    def concat(chains: list[Chain]) -> Chain:
        """The pieces of all ``chains``, in order, as one chain."""
        if not chains:
            return Chain.empty()
        return Chain(*(np.concatenate([getattr(c, f) for c in chains]) for f in _FIELDS))


_FIELDS = ("x", "y", "heading", "bend", "length", "r0", "r1", "round0", "round1", "clip", "s0")


def arc_point(
    x: Any, y: Any, heading: Any, bend: Any, s: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The point at arc length ``s`` from (x, y) leaving along ``heading`` with curvature
    ``bend`` (exact for any curvature; the chord formula with sinc for small ones)."""
    half = 0.5 * np.asarray(bend) * np.asarray(s)
    chord = np.asarray(s) * np.sinc(half / math.pi)
    mid = np.asarray(heading) + half
    return np.asarray(x + chord * np.cos(mid)), np.asarray(y + chord * np.sin(mid))


def grow(
    x: float,
    y: float,
    heading: float,
    bends: NDArray[np.float64],
    lengths: NDArray[np.float64],
    radii: NDArray[np.float64],
) -> Chain:
    """A G1 chain of arcs from (x, y): piece k has curvature ``bends[k]`` and length
    ``lengths[k]``; ``radii`` are the half-widths at the n + 1 joints."""
    b = np.where(np.abs(bends) < BEND_FLOOR, np.where(bends < 0, -BEND_FLOOR, BEND_FLOOR), bends)
    turn = b * lengths
    heads = heading + np.concatenate([[0.0], np.cumsum(turn)[:-1]])
    half = 0.5 * turn
    chord = lengths * np.sinc(half / math.pi)
    steps_x, steps_y = chord * np.cos(heads + half), chord * np.sin(heads + half)
    xs = x + np.concatenate([[0.0], np.cumsum(steps_x)[:-1]])
    ys = y + np.concatenate([[0.0], np.cumsum(steps_y)[:-1]])
    n = lengths.size
    no = np.zeros(n, bool)
    return Chain(
        xs,
        ys,
        heads,
        b,
        lengths.astype(np.float64),
        radii[:-1].astype(np.float64),
        radii[1:].astype(np.float64),
        no,
        no.copy(),
        np.tile(NO_CLIP, (n, 1)),
        np.concatenate([[0.0], np.cumsum(lengths)[:-1]]),
    )


def disc(x: float, y: float, r: float) -> Chain:
    """A disc of radius ``r`` um: one piece of length zero with round ends."""
    c = grow(x, y, 0.0, np.zeros(1), np.zeros(1), np.array([r, r]))
    c.round0[:] = True
    c.round1[:] = True
    return c


def ring(x: float, y: float, radius: float, half_width: float) -> Chain:
    """An annulus: one piece sweeping the whole circle of ``radius`` round (x, y)."""
    return grow(
        x + radius,
        y,
        0.5 * math.pi,
        np.array([1.0 / radius]),
        np.array([2 * math.pi * radius]),
        np.array([half_width, half_width]),
    )


def projected_length(hr: dict[str, Any]) -> float:
    """How far (um) a hair's axis runs over the skin, seen from above."""
    if hr["end"] == "dot":
        return 0.0
    if hr["lies"] or hr["kind"] == "vellus":
        return 0.96 * float(hr["length_3d"])
    return float(hr["length_3d"]) * math.cos(math.radians(hr["elevation"]))


@dataclass
class Spine:
    """A hair's chain of pieces, the end of its axis (world um; None for a black dot), its
    heading there, and its half-width there."""

    hair: dict[str, Any]
    chain: Chain
    tip: tuple[float, float] | None
    tip_heading: float
    tip_r: float
    length_um: float


def _profile(hr: dict[str, Any], length: float) -> tuple[NDArray[np.float64], float]:
    """Joint positions along the axis (um) and where the natural taper starts (or inf)."""
    n = max(1, math.ceil(length / PIECE_UM))
    joints = np.linspace(0.0, length, n + 1)
    if hr["end"] != "taper":
        return joints, math.inf
    share = 0.65 if hr["new"] else (0.5 if hr["kind"] == "vellus" else 0.3)
    start = length * (1 - share)
    return np.unique(np.concatenate([joints, [start]])), start


def spine(hr: dict[str, Any]) -> Spine:
    """Grow one hair's spine: a disc for a black dot, else arcs from the emergence point along
    its azimuth, curvature wandering about its bend, ending square, oblique, frayed or in a
    natural taper."""
    r = 0.5 * float(hr["d"])
    if hr["end"] == "dot":
        return Spine(hr, disc(hr["x"], hr["y"], r), None, 0.0, r, 0.0)
    length = max(projected_length(hr), 2.0)
    joints, taper_at = _profile(hr, length)
    lengths = np.diff(joints)
    g = np.random.Generator(np.random.Philox(key=hr["spine_key"]))
    # Ornstein-Uhlenbeck curvature: correlated over about 400 um of growth
    keep = np.exp(-lengths / 400.0)
    walk = np.empty(lengths.size)
    state = float(g.normal())
    for k in range(lengths.size):
        state = state * keep[k] + math.sqrt(1 - keep[k] ** 2) * float(g.normal())
        walk[k] = state
    bends = hr["bend"] + hr["wander"] * walk
    fade = np.clip((joints - taper_at) / max(length - taper_at, 1e-9), 0.0, 1.0)
    radii = r * (1.0 - 0.88 * fade)
    if hr["end"] == "cut" and hr["cut_style"] == "frayed" and length > 2.6 * hr["d"]:
        return _frayed(hr, g, bends, lengths, radii, length)
    chain = grow(hr["x"], hr["y"], hr["azimuth"], bends, lengths, radii)
    ex, ey, eh = chain.end()
    if hr["end"] == "cut" and hr["cut_style"] == "oblique":
        chain = _oblique(chain, hr, ex, ey, eh, r)
    return Spine(hr, chain, (ex, ey), eh, float(radii[-1]), length)


def _oblique(chain: Chain, hr: dict[str, Any], ex: float, ey: float, eh: float, r: float) -> Chain:
    """A slanted cut: the shaft runs on past its axis end and a half-plane through that end,
    turned ``cut_deg`` from square, keeps one side of the face."""
    tilt = math.radians(hr["cut_deg"])
    reach = r * abs(math.tan(tilt)) + 1.0
    more = grow(ex, ey, eh, chain.bend[-1:], np.array([reach]), np.array([r, r]))
    more.s0[:] = chain.s0[-1] + chain.length[-1]
    both = chain.joined(more)
    nx, ny = math.cos(eh + tilt), math.sin(eh + tilt)
    plane = (nx, ny, nx * ex + ny * ey)
    near = both.s0 + both.length >= both.s0[-1] - 2.5 * r  # only the pieces at the cut
    both.clip[near] = plane
    return both


def _frayed(
    hr: dict[str, Any],
    g: np.random.Generator,
    bends: NDArray[np.float64],
    lengths: NDArray[np.float64],
    radii: NDArray[np.float64],
    length: float,
) -> Spine:
    """The shaft stops 1.2 diameters short of its axis end and three strands a third as thick
    run on, splayed a little, to a little short of or past it."""
    d = float(hr["d"])
    body = length - 1.2 * d
    joints = np.concatenate([[0.0], np.cumsum(lengths)])
    cut = np.searchsorted(joints, body, side="left")
    keep_len = np.diff(np.concatenate([joints[:cut], [body]]))
    keep_len = keep_len[keep_len > 1e-6]
    k = keep_len.size
    chain = grow(hr["x"], hr["y"], hr["azimuth"], bends[:k], keep_len, np.full(k + 1, radii[0]))
    bx, by, bh = chain.end()
    full = grow(hr["x"], hr["y"], hr["azimuth"], bends, lengths, radii)
    ex, ey, eh = full.end()
    across = (-math.sin(bh), math.cos(bh))
    for side in (-1, 0, 1):
        run = 1.2 * d * float(g.uniform(0.55, 1.45)) + d / 6
        turn = bh + 0.2 * side + float(g.normal(0, 0.06))
        sx, sy = bx + side * 0.36 * d * across[0], by + side * 0.36 * d * across[1]
        thin = d / 9 * float(g.uniform(0.8, 1.2))
        strand = grow(sx, sy, turn, np.zeros(1), np.array([run]), np.array([thin, 0.6 * thin]))
        strand.s0[:] = body
        chain = chain.joined(strand)
    return Spine(hr, chain, (ex, ey), eh, d / 2, length)
