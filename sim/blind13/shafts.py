"""A hair's axis in three dimensions, seen through the view: straight pieces in frame pixels
with their widths and blur, and the truth of where it leaves the skin and where it ends."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from sim.blind13.gauss import F64, Pieces, polyline
from sim.blind13.site import Hair

PIECE_PX = 10.0  # a shaft piece's projected length, pixels


@dataclass(frozen=True)
class View:
    """Where a frame looks: its size and scale, and the turn (radians) and shift (um) of
    its centre in the world (both zero at the baseline visit)."""

    width: int
    height: int
    um_per_px: float
    angle: float = 0.0
    shift_x_um: float = 0.0
    shift_y_um: float = 0.0

    def to_frame(self, x_um: F64, y_um: F64) -> tuple[F64, F64]:
        """World micrometres to frame pixels (pixel centres at integers)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        dx = np.asarray(x_um, np.float64) - self.shift_x_um
        dy = np.asarray(y_um, np.float64) - self.shift_y_um
        fx = (c * dx + s * dy) / self.um_per_px + (self.width - 1) / 2.0
        fy = (-s * dx + c * dy) / self.um_per_px + (self.height - 1) / 2.0
        return fx, fy

    def inside(self, x: float, y: float) -> bool:
        """Whether a frame point lies on the frame's pixels."""
        return -0.5 <= x < self.width - 0.5 and -0.5 <= y < self.height - 0.5

    def near(self, fx: F64, fy: F64, pad: float) -> NDArray[np.bool_]:
        """Which frame points lie within ``pad`` pixels of the frame (strictly)."""
        inside_x = (fx > -pad) & (fx < self.width + pad)
        return np.asarray(inside_x & (fy > -pad) & (fy < self.height + pad))


@dataclass(frozen=True)
class Optics:
    """The blur of a point at height ``z`` um over the skin: a base blur circle (its
    standard deviation, um), growth with distance from the focal height, and the lens."""

    base_um: float
    slope: float
    focus_um: float
    lens_px: float

    def sigma_px(self, z_um: F64, um_per_px: float) -> F64:
        """The Gaussian blur, pixels, of points at heights ``z_um`` (the pixel's own box
        folded in as its variance, 1/12)."""
        blur = self.base_um + self.slope * np.abs(np.asarray(z_um) - self.focus_um)
        return np.sqrt((blur / um_per_px) ** 2 + self.lens_px**2 + 1.0 / 12.0)


@dataclass(frozen=True)
class Shaft:
    """A hair's drawing and truth in one frame: pieces, emergence and free end (pixels),
    and the diameter at the end (um)."""

    pieces: Pieces
    root: tuple[float, float]
    tip: tuple[float, float]
    tip_um: float


def _axis(h: Hair, n: int) -> tuple[F64, F64, F64, F64]:
    """Points along the axis (x, y, z um) at ``n + 1`` arc lengths, and those lengths."""
    s = np.linspace(0.0, h.length_um, n + 1)
    w = h.wander
    if h.lying:
        rise = 120.0 + 80.0 * abs(w[0])
        elev = h.elevation * np.exp(-s / rise)
        az = (
            h.azimuth
            + 0.25 * w[1] * np.sin(s / 1500.0 * 2 * math.pi + w[2])
            + 0.15 * w[3] * np.sin(s / 4200.0 * 2 * math.pi + w[4])
            + 0.05 * w[5] * s / 1000.0
        )
    else:
        elev = h.elevation + 0.1 * w[0] * s / max(h.length_um, 1.0)
        az = h.azimuth + 0.12 * w[1] * s / max(h.length_um, 1.0)
    ds = np.diff(s)
    cx = np.cos(elev) * np.cos(az)
    cy = np.cos(elev) * np.sin(az)
    cz = np.sin(elev)
    x = h.x_um + np.concatenate([[0.0], np.cumsum(_mid(cx) * ds)])
    y = h.y_um + np.concatenate([[0.0], np.cumsum(_mid(cy) * ds)])
    z = np.concatenate([[0.0], np.cumsum(_mid(cz) * ds)])
    return x, y, z, s


def _mid(v: F64) -> F64:
    """Midpoints of consecutive samples (the trapezoid rule's weights)."""
    return np.asarray(0.5 * (v[1:] + v[:-1]), np.float64)


def _profile(h: Hair, f: F64) -> F64:
    """A shaft's diameter along it (a share of ``h.diameter_um``) at fractions ``f``."""
    if h.kind == "exclamation":
        return np.asarray(0.35 + 0.65 * f**0.7)
    if h.end == "taper":
        start = 0.75 if h.kind != "regrowing" else 0.45
        return np.where(f < start, 1.0, 1.0 - 0.88 * (f - start) / (1.0 - start))
    return np.ones_like(f)


def _shade(h: Hair, f: F64) -> F64:
    """Brightness of the shaft's pigment along it (exclamation marks pale at the root)."""
    if h.kind == "exclamation":
        return np.asarray(1.0 + 2.0 * (1.0 - f) ** 2)
    return np.ones_like(f)


def shaft(h: Hair, view: View, optics: Optics) -> Shaft:
    """The pieces of hair ``h`` (not a black dot) in ``view``."""
    um = view.um_per_px
    flat = h.length_um * (1.0 if h.lying else math.cos(h.elevation))
    if h.lying:
        # chords of a wandering hair: 150 um pieces bend off its arc by under 3 um
        piece = min(max(150.0 / um, PIECE_PX), 4 * PIECE_PX)
        n = int(min(max(math.ceil(flat / (piece * um)), 4), 900))
    else:
        # straight stubs: four pieces (the taper's knee at 3/4) unless very long
        n = 4 * int(min(max(math.ceil(flat / (16 * PIECE_PX * um)), 1), 50))
    x, y, z, s = _axis(h, n)
    fx, fy = view.to_frame(x, y)
    f = s / max(h.length_um, 1e-9)
    half = 0.5 * h.diameter_um * _profile(h, f) / um
    sig = optics.sigma_px(z, um)
    shade = _shade(h, 0.5 * (f[1:] + f[:-1]))
    slant = jag = 0.0
    freq = 1.0
    h_end = float(half[-1])
    if h.end == "oblique":
        slant = math.tan(math.radians(35.0 + 40.0 * (h.jag_phase / (2 * math.pi))))
        slant *= 1.0 if h.jag_phase < math.pi else -1.0
    elif h.end == "frayed":
        jag = 0.2 * h_end + 0.3
        freq = 2.0 * math.pi / max(0.6 * h_end, 0.6)
    pieces = polyline(
        fx, fy, half, sig, shade, slant=slant, jag_amp=jag, jag_freq=freq, jag_phase=h.jag_phase
    )
    tip_um = h.diameter_um * float(_profile(h, np.array([1.0]))[0])
    return Shaft(pieces, (float(fx[0]), float(fy[0])), (float(fx[-1]), float(fy[-1])), tip_um)


def below_skin(h: Hair, view: View, optics: Optics) -> Pieces:
    """The part of the follicle and shaft seen through the epidermis: a faint run back from
    the emergence point, opposite the shaft."""
    um = view.um_per_px
    run = (140.0 + 90.0 * abs(h.wander[2])) * math.cos(h.elevation)
    xs = h.x_um - np.linspace(0.0, run, 3) * math.cos(h.azimuth)
    ys = h.y_um - np.linspace(0.0, run, 3) * math.sin(h.azimuth)
    fx, fy = view.to_frame(xs, ys)
    half = np.array([0.5, 0.45, 0.3]) * h.diameter_um / um
    sig = optics.sigma_px(np.array([-60.0, -120.0, -200.0]), um)
    return polyline(fx, fy, half, sig)


def cast(h: Hair, view: View, optics: Optics) -> Pieces:
    """A peripilar cast: a pale keratin sleeve round the shaft's first 80-200 um."""
    um = view.um_per_px
    sleeve = 80.0 + 60.0 * abs(h.wander[3])
    g = replace_length(h, min(sleeve, h.length_um))
    x, y, z, _ = _axis(g, 3)
    fx, fy = view.to_frame(x, y)
    half = np.full(4, 0.75 * h.diameter_um / um)
    sig = optics.sigma_px(z, um)
    return polyline(fx, fy, half, sig)


def replace_length(h: Hair, length_um: float) -> Hair:
    """``h`` cut to ``length_um`` along its axis (the same path up to there)."""
    return replace(h, length_um=length_um)
