"""blind-20's frame and shafts: where the frame lies on the site, and each hair as pieces of
axis (world micrometres, projected on the skin) with a diameter and an opacity along them,
turned into the weighted points that :func:`sim.blind20.fourier.convolve_discs` draws."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

STEP_UM = 20.0  # spacing of a shaft's axis points


@dataclass(frozen=True)
class View:
    """The frame on the site: ``w`` x ``h`` px at ``um`` um/px, centred on world ``(sx, sy)``
    um and turned by ``turn`` radians; pixel centres at integers."""

    w: int
    h: int
    um: float
    turn: float = 0.0
    sx: float = 0.0
    sy: float = 0.0

    def px(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        c, s = math.cos(self.turn), math.sin(self.turn)
        dx, dy = x - self.sx, y - self.sy
        return (c * dx + s * dy) / self.um + (self.w - 1) / 2, (c * dy - s * dx) / self.um + (
            self.h - 1
        ) / 2

    def world(
        self, u: NDArray[np.float64], v: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        c, s = math.cos(self.turn), math.sin(self.turn)
        du, dv = (u - (self.w - 1) / 2) * self.um, (v - (self.h - 1) / 2) * self.um
        return self.sx + c * du - s * dv, self.sy + s * du + c * dv

    def inside(self, u: float, v: float) -> bool:
        return -0.5 <= u < self.w - 0.5 and -0.5 <= v < self.h - 0.5

    def gap_um(self, u: float, v: float) -> float:
        du = max(-0.5 - u, u - (self.w - 0.5), 0.0)
        dv = max(-0.5 - v, v - (self.h - 0.5), 0.0)
        return math.hypot(du, dv) * self.um

    def cells(self, margin_um: float) -> tuple[range, range]:
        """World cells (of 1 mm) that may hold anything within ``margin_um`` of the frame."""
        cu = np.array([-0.5, self.w - 0.5, -0.5, self.w - 0.5])
        cv = np.array([-0.5, -0.5, self.h - 0.5, self.h - 0.5])
        x, y = self.world(cu, cv)
        return (
            range(
                math.floor((x.min() - margin_um) / 1000),
                math.floor((x.max() + margin_um) / 1000) + 1,
            ),
            range(
                math.floor((y.min() - margin_um) / 1000),
                math.floor((y.max() + margin_um) / 1000) + 1,
            ),
        )


@dataclass
class Piece:
    """A run of a shaft's axis: points (world um), diameter (um) and opacity factor at each."""

    xy: NDArray[np.float64]
    d: NDArray[np.float64]
    fade: NDArray[np.float64]


@dataclass
class Shaft:
    hair: dict[str, Any]
    pieces: list[Piece] = field(default_factory=list)
    tip: NDArray[np.float64] | None = None  # the axis's end (world um); None for a dot
    tip_d: float = 0.0
    length_um: float = 0.0


def projected_length(hr: dict[str, Any]) -> float:
    if hr["end"] == "dot":
        return 0.0
    if hr["lie"] == "long" or hr["kind"] == "vellus":
        return float(hr["length_3d"]) * 0.97
    return float(hr["length_3d"]) * math.cos(math.radians(hr["elevation"]))


def shaft(hr: dict[str, Any]) -> Shaft:
    """A hair's pieces: a dot, or an axis from its emergence point along its azimuth, bending
    by its curl and wave, tapering to a natural tip or cut square, obliquely or frayed."""
    sh = Shaft(hr)
    root = np.array([hr["x"], hr["y"]])
    d = float(hr["d"])
    if hr["end"] == "dot":
        sh.pieces.append(Piece(root[None, :], np.array([d]), np.ones(1)))
        return sh
    length = projected_length(hr)
    n = max(2, math.ceil(length / STEP_UM) + 1)
    s = np.linspace(0.0, length, n)
    bend = hr["curl"] * s + (3e-4 if hr["lie"] == "long" else 0.0) * 700 * (
        np.sin(s / 700 + hr["wave"]) - math.sin(hr["wave"])
    )
    heading = hr["azimuth"] + bend
    step = np.diff(s, prepend=0.0)
    xy = root + np.cumsum(np.stack([np.cos(heading) * step, np.sin(heading) * step], 1), 0)
    t = s / max(length, 1e-9)
    diam = np.full(n, d)
    fade = np.ones(n)
    if hr["end"] == "taper":
        share = 0.7 if hr["new"] else (0.5 if hr["kind"] == "vellus" else 0.25)
        diam = d * (1 - 0.88 * np.clip((t - (1 - share)) / share, 0, 1))
    elif hr["cut_style"] == "oblique":
        face = min(0.9 * d, 0.5 * length)
        fade = 1 - 0.7 * np.clip((s - (length - face)) / max(face, 1e-9), 0, 1)
    sh.tip, sh.tip_d, sh.length_um = xy[-1].copy(), float(diam[-1]), length
    if hr["cut_style"] == "frayed" and hr["end"] == "cut" and length > 2.4 * d:
        g = np.random.default_rng(hr["id"] % (1 << 62))
        keep = s <= length - 1.2 * d
        sh.pieces.append(Piece(xy[keep], diam[keep], fade[keep]))
        start, ahead = xy[keep][-1], heading[-1]
        across = np.array([-math.sin(ahead), math.cos(ahead)])
        for k in (-1, 0, 1):
            reach = 1.2 * d * float(g.uniform(0.5, 1.5)) + d / 6
            a = ahead + 0.12 * k + float(g.normal(0, 0.05))
            q = np.linspace(0, reach, 4)[:, None] * np.array([math.cos(a), math.sin(a)])
            sh.pieces.append(Piece(start + k * d / 3 * across + q, np.full(4, d / 3), np.ones(4)))
        return sh
    sh.pieces.append(Piece(xy, diam, fade))
    return sh


# Optical depth on a shaft's axis by its width in px, chosen so that its opacity summed across
# the shaft (1 - exp(-depth), after the band limit) is its width: a sub-pixel fibre darkens
# its width's share of a pixel, a thick one is opaque with edges at its diameter.
_WIDTH_PX = (0.6, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0, 20.0, 40.0)
_DEPTH = (1.6, 1.66, 2.0, 2.15, 2.76, 3.0, 4.0, 4.4, 5.9, 7.6)


def axis_depth(d_px: NDArray[np.float64], hr: dict[str, Any]) -> NDArray[np.float64]:
    """Optical depth on the axis of a shaft ``d_px`` wide; vellus fibres, little pigmented
    and thin-walled, let more light through."""
    clear = 0.6 + 0.4 * min(1.0, float(hr["d"]) / 30.0) if hr["kind"] == "vellus" else 1.0
    return np.interp(d_px, _WIDTH_PX, _DEPTH) * clear


@dataclass
class Samples:
    """Points to draw (frame px): radius, owner (shaft index) and channel weights."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    r: NDArray[np.float64]
    owner: NDArray[np.int64]
    wts: NDArray[np.float64]  # optical depth, thickness over diameter, depth x red, green, blue


def samples(
    view: View,
    shafts: list[Shaft],
    colours: list[tuple[list[float], list[float]]],
    regrowth_um: float,
) -> Samples:
    """Each shaft's pieces as points a fraction of their radius apart, weighted by line density
    (optical depth on the axis over the diameter, per px of length); a dot is one point."""
    xs, ys, rs, owners, ws = [], [], [], [], []
    pad_px = 60.0
    for k, sh in enumerate(shafts):
        shaft_rgb, root_rgb = (np.array(c) for c in colours[k])
        along = 0.0
        for piece in sh.pieces:
            u, v = view.px(piece.xy[:, 0], piece.xy[:, 1])
            r = piece.d / view.um / 2
            if (
                u.max() < -pad_px
                or u.min() > view.w + pad_px
                or v.max() < -pad_px
                or v.min() > view.h + pad_px
            ):
                continue
            if u.size == 1:
                x, y, rr = u, v, r
                w, thick = axis_depth(2 * r, sh.hair), np.ones(1)
                root_share = np.ones(1)
            else:
                seg = np.hypot(np.diff(u), np.diff(v))
                cum = np.concatenate([[0.0], np.cumsum(seg)])
                spacing = np.clip(0.35 * r.min(), 0.25, 1.5)
                m = max(1, math.ceil(cum[-1] / spacing))
                at = (np.arange(m) + 0.5) * (cum[-1] / m)
                x, y = np.interp(at, cum, u), np.interp(at, cum, v)
                rr = np.interp(at, cum, r)
                thick = (cum[-1] / m) / (2 * rr)
                w = axis_depth(2 * rr, sh.hair) * np.interp(at, cum, piece.fade) * thick
                root_share = (along + at * view.um <= regrowth_um).astype(float)
                along += cum[-1] * view.um
            rgb = root_share[:, None] * root_rgb + (1 - root_share[:, None]) * shaft_rgb
            xs.append(x)
            ys.append(y)
            rs.append(rr)
            owners.append(np.full(x.size, k))
            ws.append(np.column_stack([w, thick, w[:, None] * rgb]))
    if not xs:
        z = np.zeros(0)
        return Samples(z, z, z, np.zeros(0, np.int64), np.zeros((0, 5)))
    return Samples(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(rs),
        np.concatenate(owners),
        np.concatenate(ws),
    )


def tips(
    view: View, shafts: list[Shaft], pts: Samples
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaft ends in the frame: shown, or covered (another shaft's body within half a pixel)."""
    shown: list[dict[str, Any]] = []
    covered: list[dict[str, Any]] = []
    tree = cKDTree(np.column_stack([pts.x, pts.y])) if pts.x.size else None
    reach = float(pts.r.max()) + 0.5 if pts.x.size else 0.0
    for k, sh in enumerate(shafts):
        if sh.tip is None:
            continue
        u, v = view.px(sh.tip[0:1], sh.tip[1:2])
        x, y = round(float(u[0]), 4), round(float(v[0]), 4)
        if not view.inside(x, y):
            continue
        last = sh.pieces[0].xy
        head = last[-1] - last[-2] if len(last) > 1 else np.array([1.0, 0.0])
        hr = sh.hair
        rec = {
            "x_px": x,
            "y_px": y,
            "cut": hr["end"] == "cut",
            "diameter_um": round(max(sh.tip_d, 1.0), 2),
            "id": hr["id"],
            "kind": hr["kind"],
            "end": hr["end"],
            "cut_style": hr["cut_style"],
            "direction_deg": round(
                math.degrees(math.atan2(head[1], head[0]) - view.turn) % 360.0, 2
            ),
        }
        hidden = False
        if tree is not None:
            near = np.array(tree.query_ball_point([x, y], reach), np.int64)
            if near.size:
                other = near[pts.owner[near] != k]
                gap = np.hypot(pts.x[other] - x, pts.y[other] - y)
                hidden = bool((gap < pts.r[other] + 0.5).any())
        (covered if hidden else shown).append(rec)
    return shown, covered
