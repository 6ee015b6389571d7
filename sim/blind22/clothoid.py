"""Hair axes as clothoid chains: curvature runs linearly with arc length within each piece
(an Euler spiral) and continuously from piece to piece, so the axis is smooth to its second
derivative. A piece is evaluated in closed form through the Fresnel integrals.

Everything here is in world micrometres on the skin plane, positions as complex numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

PIECE_UM = 160.0  # the longest piece of an axis
FLAT = 1e-13  # 1/um^2: a change of curvature below this is taken as a circular arc
STRAIGHT = 1e-12  # 1/um: a curvature below this is taken as a straight line
RISE_UM = 320.0  # a lying hair's first stretch, where it rises off the skin


def euler_step(heading: Any, kappa: Any, c: Any, t: Any) -> NDArray[np.complex128]:
    """Displacement after arc length ``t`` (um) along a clothoid leaving at ``heading``
    (radians) with curvature ``kappa`` (1/um) changing at ``c`` (1/um^2); arrays broadcast.

    With c != 0 the heading is ``a (t + kappa / c)^2 + phi0`` (a = c / 2), and
    ``int exp(i a tau^2) dtau = sqrt(pi / |c|) (C(z) + i sgn(c) S(z))``, z = tau sqrt(|c| / pi).
    """
    th, k, cc, tt = np.broadcast_arrays(
        *(np.asarray(v, np.float64) for v in (heading, kappa, c, t))
    )
    out = np.zeros(th.shape, np.complex128)
    line = (np.abs(cc) < FLAT) & (np.abs(k) < STRAIGHT)
    arc = (np.abs(cc) < FLAT) & ~line
    spiral = ~(line | arc)
    out[line] = tt[line] * np.exp(1j * th[line])
    ka = k[arc]
    out[arc] = (np.exp(1j * (th[arc] + ka * tt[arc])) - np.exp(1j * th[arc])) / (1j * ka)
    if spiral.any():
        cs, ks, ts, hs = cc[spiral], k[spiral], tt[spiral], th[spiral]
        scale = np.sqrt(np.abs(cs) / math.pi)
        s0, c0 = special.fresnel(ks / cs * scale)
        s1, c1 = special.fresnel((ts + ks / cs) * scale)
        phase = np.exp(1j * (hs - ks * ks / (2.0 * cs)))
        out[spiral] = phase * ((c1 - c0) + 1j * np.sign(cs) * (s1 - s0)) / scale
    return out


class Axis:
    """A chain of clothoid pieces starting at ``root`` (complex um) heading ``heading``
    (radians): knot arc lengths ``s`` (n + 1, from 0) and curvatures at the knots ``kappa``
    (1/um); each piece's start point and heading follow from those before it."""

    def __init__(
        self, root: complex, heading: float, s: NDArray[np.float64], kappa: NDArray[np.float64]
    ) -> None:
        self.s, self.kappa = s, kappa
        length = np.diff(s)
        self.change = np.diff(kappa) / np.where(length > 0, length, 1.0)
        turn = kappa[:-1] * length + 0.5 * self.change * length**2
        self.heads = heading + np.concatenate([[0.0], np.cumsum(turn)])
        steps = euler_step(self.heads[:-1], kappa[:-1], self.change, length)
        self.starts = root + np.concatenate([[0j], np.cumsum(steps)])

    def at(self, s: Any) -> tuple[NDArray[np.complex128], NDArray[np.float64]]:
        """Points and headings at arc lengths ``s``; beyond the ends the axis runs straight
        on along its end tangent."""
        sa = np.asarray(s, np.float64)
        inner = np.clip(sa, 0.0, float(self.s[-1]))
        k = np.clip(np.searchsorted(self.s, inner, side="right") - 1, 0, self.s.size - 2)
        t = inner - self.s[k]
        point = self.starts[k] + euler_step(self.heads[k], self.kappa[k], self.change[k], t)
        head = self.heads[k] + self.kappa[k] * t + 0.5 * self.change[k] * t * t
        point = point + (sa - inner) * np.exp(1j * head)  # past an end: straight on
        return point, head


@dataclass(frozen=True)
class Shaft:
    """A hair's axis and its build: ``length`` (um, projected, root to the axis end), the
    radius along it, the end's style and where the drawn shaft may reach past its end."""

    hair: dict[str, Any]
    axis: Axis
    length: float
    radius: float
    taper_from: float  # arc length where a natural tip starts narrowing (length: no taper)
    fray_from: float  # arc length where a frayed end splits (length: no fray)
    slant: float  # tan of an oblique cut's angle to the square face (0 otherwise)

    def r(self, s: Any) -> NDArray[np.float64]:
        """Radius (um) at arc lengths ``s``."""
        sa = np.asarray(s, np.float64)
        out = np.full(sa.shape, self.radius)
        if self.taper_from < self.length:
            frac = np.clip((sa - self.taper_from) / (self.length - self.taper_from), 0.0, 1.0)
            out = out * (1.0 - 0.9 * frac)
        if self.fray_from < self.length:
            out = np.where(sa > self.fray_from, out * 0.3, out)
        return out

    @property
    def tip(self) -> tuple[complex, float, float]:
        """The axis end: point (complex um), heading and radius there."""
        p, h = self.axis.at(np.array([self.length]))
        return complex(p[0]), float(h[0]), float(self.r(np.array([self.length]))[0])

    @property
    def reach(self) -> float:
        """How far past the axis end the drawn shaft can reach (um): an oblique face."""
        return self.radius * abs(self.slant) + 1.0


def projected(hr: dict[str, Any]) -> float:
    """A hair's axis length seen from above (um): a standing shaft foreshortened by its
    elevation, a lying one only over the stretch where it rises."""
    length, rise = float(hr["length_3d"]), math.radians(float(hr["elevation"]))
    if hr["lies"]:
        up = min(RISE_UM, length)
        return up * math.cos(rise) + (length - up)
    return length * math.cos(rise)


def shaft(hr: dict[str, Any]) -> Shaft:
    """A hair's clothoid axis from its root, heading and the curvature walk its
    ``shape_key`` draws (curvature kept below what its drawn card can follow)."""
    length = projected(hr)
    radius = 0.5 * float(hr["d"])
    g = np.random.default_rng(int(hr["shape_key"]))
    n = max(1, math.ceil(length / PIECE_UM))
    knots = np.linspace(0.0, max(length, 1e-3), n + 1)
    most = 0.5 / (radius + 45.0)
    walk = np.empty(n + 1)
    walk[0] = float(hr["bend"]) + float(g.normal(0, 0.5 * float(hr["sway"])))
    for k in range(n):
        walk[k + 1] = 0.75 * walk[k] + 0.25 * float(hr["bend"]) + float(g.normal(0, hr["sway"]))
    axis = Axis(complex(hr["x"], hr["y"]), float(hr["azimuth"]), knots, np.clip(walk, -most, most))
    taper_from = fray_from = length
    if hr["end"] == "taper":
        part = 0.6 if hr["new"] else (0.5 if hr["kind"] == "vellus" else 0.3)
        taper_from = length - min(part * length, 1500.0)
    slant = 0.0
    if hr["end"] == "cut" and hr["cut_style"] == "frayed":
        fray_from = max(0.0, length - min(2.5 * float(hr["d"]), 0.5 * length))
    if hr["end"] == "cut" and hr["cut_style"] == "oblique":
        slant = math.tan(math.radians(float(hr["cut_deg"])))
    return Shaft(hr, axis, length, radius, taper_from, fray_from, slant)
