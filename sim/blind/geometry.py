"""Where things are, in micrometres: the frame, the hair flow, follicular units.

Pixel (i, j) has its centre at (j * um_per_px, i * um_per_px) um, so pixel
coordinates are micrometres divided by the scale, x right and y down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from sim.blind.noise import eval_waves, wave_field

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# styles of a follicle opening
INVISIBLE, FAINT, DARK, YELLOW = 0, 1, 2, 3
_STYLE_P = {
    "dark": (0.05, 0.25, 0.7),
    "faint": (0.2, 0.7, 0.1),
    "mixed": (0.3, 0.35, 0.35),
    "invisible": (1.0, 0.0, 0.0),
}


@dataclass(frozen=True)
class Frame:
    """The imaged rectangle and its scale."""

    width: int
    height: int
    upp: float  # micrometres per pixel

    @property
    def w_um(self) -> float:
        return self.width * self.upp

    @property
    def h_um(self) -> float:
        return self.height * self.upp

    @property
    def diag_um(self) -> float:
        return math.hypot(self.w_um, self.h_um)

    @property
    def area_cm2(self) -> float:
        return self.width * self.height * (self.upp * 1e-4) ** 2

    def inside(self, x_um: F64, y_um: F64) -> NDArray[np.bool_]:
        """Whether points (um) fall inside the frame (half-open pixel edges)."""
        x = x_um / self.upp
        y = y_um / self.upp
        return (x >= -0.5) & (x < self.width - 0.5) & (y >= -0.5) & (y < self.height - 0.5)

    def distance_outside(self, x_um: F64, y_um: F64) -> F64:
        """Distance (um) from points to the frame rectangle, 0 inside."""
        lo = -0.5 * self.upp
        dx = np.maximum(np.maximum(lo - x_um, x_um - (self.w_um + lo)), 0.0)
        dy = np.maximum(np.maximum(lo - y_um, y_um - (self.h_um + lo)), 0.0)
        out: F64 = np.hypot(dx, dy)
        return out


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def take(obj: T, idx: Any) -> T:
    """Select rows of every array field of a dataclass of parallel arrays."""
    return replace(obj, **{f.name: getattr(obj, f.name)[idx] for f in fields(obj)})


def concat(a: T, b: T) -> T:
    """Join two dataclasses of parallel arrays row-wise."""
    joined = {f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
    return replace(a, **joined)


@dataclass(frozen=True)
class Units:
    """Follicular units: one skin opening each, from which 0-5 hairs leave."""

    ident: I64
    x: F64
    y: F64
    theta: F64  # mean direction of the unit's hairs (rad)
    size: F64  # opening diameter (um)
    style: I64
    halo: F64  # strength of a peripilar brown ring, 0 for none
    depth: F64  # how dark (or how yellow) the opening shows, 0-1

    def __len__(self) -> int:
        return len(self.ident)


class Flow:
    """The direction hairs lie in: uniform, away from a parting, or a whorl."""

    def __init__(self, params: dict[str, Any], frame: Frame, rng: np.random.Generator) -> None:
        self.kind = str(params["flow"])
        self.angle = math.radians(float(params["flow_angle_deg"]))
        self.cx = float(params["flow_x"]) * frame.w_um
        self.cy = float(params["flow_y"]) * frame.h_um
        self.wobble = math.radians(float(params["flow_wobble_deg"]))
        self.lean = rng.uniform(0.2, 0.7)
        self.spiral = rng.uniform(1.0, 1.35) * rng.choice([-1.0, 1.0])
        self.waves = wave_field(rng, 4, (2000.0, 9000.0))

    def __call__(self, x: F64, y: F64) -> F64:
        """Direction (rad) at points (um)."""
        if self.kind == "parting":
            nx, ny = -math.sin(self.angle), math.cos(self.angle)
            side = np.where((x - self.cx) * nx + (y - self.cy) * ny >= 0.0, 1.0, -1.0)
            base = self.angle + side * (math.pi / 2 - self.lean)
        elif self.kind == "whorl":
            base = np.arctan2(y - self.cy, x - self.cx) + self.spiral
        else:
            base = np.full_like(x, self.angle)
        out: F64 = base + self.wobble * eval_waves(self.waves, x, y)
        return out


def unit_share_probs(params: dict[str, Any]) -> tuple[float, float, float, float]:
    """Shares of 1-, 2-, 3- and 4+-hair units for this image."""
    b = float(params["unit_bias"])
    return (0.35 - 0.12 * b, 0.45 + 0.02 * b, 0.15 + 0.06 * b, 0.05 + 0.04 * b)


def draw_counts(rng: np.random.Generator, params: dict[str, Any], n: int) -> I64:
    """Hairs per unit (1-5) for ``n`` units."""
    p = np.asarray(unit_share_probs(params))
    counts = rng.choice(4, size=n, p=p / p.sum()).astype(np.int64) + 1
    five = (counts == 4) & (rng.random(n) < 0.2)
    counts[five] = 5
    return counts


def make_units(
    rng: np.random.Generator,
    params: dict[str, Any],
    flow: Flow,
    box: tuple[float, float, float, float],
    first_ident: int = 0,
    n_units: int | None = None,
) -> tuple[Units, I64]:
    """Place units over ``box`` (x0, y0, x1, y1 um) on a jittered grid.

    Returns the units and the number of hairs planned for each (0 = empty).
    With ``n_units`` that many units are placed at random rather than from density.
    """
    x0, y0, x1, y1 = box
    area_cm2 = (x1 - x0) * (y1 - y0) * 1e-8
    mean_per_unit = float(np.dot(unit_share_probs(params), (1.0, 2.0, 3.0, 4.2)))
    empty = float(params["empty_unit_share"])
    if n_units is None:
        n_target = float(params["density"]) * area_cm2 / (mean_per_unit * (1.0 - empty))
        cell = math.sqrt((x1 - x0) * (y1 - y0) / max(n_target, 1e-9))
        nx = max(1, math.ceil((x1 - x0) / cell))
        ny = max(1, math.ceil((y1 - y0) / cell))
        gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
        x = x0 + (gx.ravel() + rng.random(gx.size)) * cell
        y = y0 + (gy.ravel() + rng.random(gy.size)) * cell
        keep = (x < x1) & (y < y1)
        x, y = x[keep], y[keep]
    else:
        x = rng.uniform(x0, x1, n_units)
        y = rng.uniform(y0, y1, n_units)
    n = len(x)
    counts = draw_counts(rng, params, n)
    counts[rng.random(n) < empty] = 0
    theta = flow(x, y) + rng.normal(0.0, math.radians(6.0), n)
    size = float(params["opening_um"]) * rng.uniform(0.75, 1.25, n) * (1 + 0.12 * (counts - 1))
    p = _STYLE_P[str(params["opening"])]
    style = rng.choice(3, size=n, p=p).astype(np.int64)
    ys = float(params["yellow_dot_share"])
    yellow = rng.random(n) < np.where(counts == 0, min(0.9, 1.5 * ys), 0.25 * ys)
    style[yellow] = YELLOW
    size[yellow] = rng.uniform(60.0, 200.0, int(yellow.sum()))
    halo_on = (rng.random(n) < float(params["halo_share"])) & (counts > 0)
    halo = np.where(halo_on, rng.uniform(0.4, 1.0, n), 0.0)
    units = Units(
        ident=np.arange(first_ident, first_ident + n, dtype=np.int64),
        x=x,
        y=y,
        theta=theta,
        size=size,
        style=style,
        halo=halo,
        depth=rng.uniform(0.4, 1.0, n),
    )
    return units, counts


def without_openings(rng: np.random.Generator, units: Units, held: I64, share: float) -> Units:
    """``units`` with the opening of about ``share`` of those holding a hair (idents in
    ``held``) left undrawn: no dark or faint opening, peripilar ring or yellow dot, for a root
    on plain skin. Empty openings stay as they are; ``rng`` draws one number per unit."""
    bare = np.isin(units.ident, held) & (rng.random(len(units)) < share)
    return replace(units, style=np.where(bare, INVISIBLE, units.style), halo=units.halo * ~bare)


def region_box(frame: Frame, margin_um: float) -> tuple[float, float, float, float]:
    """The frame grown by ``margin_um`` on every side (um)."""
    lo = -0.5 * frame.upp
    return (
        lo - margin_um,
        lo - margin_um,
        frame.w_um + lo + margin_um,
        frame.h_um + lo + margin_um,
    )


def long_length_range(params: dict[str, Any], frame: Frame) -> tuple[float, float]:
    """Smallest and largest length (um) of an unbroken long hair in this image."""
    lf = float(params["long_factor"])
    # Long shafts pressed flat under the plate pile up; keep the mat at about
    # two and a half layers on average (density x length x diameter <= 2.5).
    vs = float(params["vellus_share"])
    mean_d = float(params["terminal_diameter_um"]) * (1.0 - vs) + 20.0 * vs
    cap = max(2500.0, 2.5e8 / (float(params["density"]) * mean_d))
    lo = float(np.clip(0.6 * lf * frame.diag_um, 2500.0, min(25000.0, cap)))
    hi = float(np.clip(1.1 * lf * frame.diag_um, 2500.0, min(25000.0, cap)))
    return lo, hi


def margin_um(params: dict[str, Any], frame: Frame, hairless: bool) -> float:
    """How far outside the frame hairs must be drawn for every shaft in it to exist."""
    if hairless:
        return 250.0
    if params["hair_length"] == "trimmed":
        return 1500.0 + 250.0
    return min(0.85 * long_length_range(params, frame)[1], 20000.0) + 250.0
