"""A blind-13 scalp site in world micrometres: its look, its follicular units and hairs, the
marks on its skin, and its regrowth between visits.

Everything here is drawn from the site's seed alone (one stream per part, so the hairless
and follow-up frames of a seed see the very same units, marks and kept hairs); a follow-up's
shedding and new hairs come from the visit's own seed. World coordinates are micrometres
with the baseline frame's centre at the origin, x right and y down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from sim.blind13.palette import HAIR_COLOURS, hair_optics

TAU = 2.0 * math.pi


def stream(seed: int, *tags: int) -> np.random.Generator:
    """The random stream of one part of a site (any int seed, negative ones too)."""
    return np.random.default_rng([seed % (1 << 64), int(seed < 0), *tags])


@dataclass(frozen=True)
class Hair:
    """One hair: emergence point (world um), diameter, kind (``terminal``, ``vellus``,
    ``regrowing``, ``broken``, ``exclamation``, ``black_dot``), shaft length along its
    axis, direction (azimuth in the skin plane, elevation off it, both radians), whether it
    lies down after a short rise, the wander of its azimuth, its end (``taper``, ``square``,
    ``oblique``, ``frayed``), its optics, stacking key and peripilar cast."""

    x_um: float
    y_um: float
    diameter_um: float
    kind: str
    length_um: float
    azimuth: float
    elevation: float
    lying: bool
    wander: tuple[float, ...]
    end: str
    colour: str
    rho: tuple[float, float, float]
    tau: tuple[float, float, float]
    opacity: float
    depth: float
    jag_phase: float
    cast: bool
    unit: int


@dataclass(frozen=True)
class Vessel:
    """A capillary as a polyline in world um, its width and its haemoglobin load."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    width_um: float
    load: float


@dataclass
class Site:
    """A scalp site: look, units (centres, opening radii), hairs and skin marks."""

    seed: int
    look: dict[str, float | str | bool]
    half_w_um: float
    half_h_um: float
    region_um: float
    unit_xy: np.ndarray
    unit_r: np.ndarray
    unit_style: np.ndarray
    hairs: list[Hair]
    white_xy: np.ndarray
    vessels: list[Vessel] = field(default_factory=list)


_KINDS = ("terminal", "vellus", "regrowing", "broken", "exclamation", "black_dot")


def site_look(seed: int) -> dict[str, float | str | bool]:
    """The site's appearance and hair population, drawn from its seed (stream 1)."""
    r = stream(seed, 1)
    near_bald = r.random() < 0.25
    if near_bald:
        density = float(r.uniform(0.0, 6.0) if r.random() < 0.4 else r.uniform(6.0, 30.0))
    else:
        density = float(30.0 + 370.0 * r.beta(1.6, 1.4))
    mode = ("trimmed", "long", "mixed")[int(r.integers(3))]
    tone = float(r.beta(1.3, 1.3))
    colour = str(r.choice(HAIR_COLOURS, p=[0.1, 0.2, 0.2, 0.14, 0.08, 0.1, 0.1, 0.08]))
    signs = {
        "black_dots": r.random() < 0.22,
        "exclamation": r.random() < 0.1,
        "broken": r.random() < 0.18,
        "yellow_dots": r.random() < 0.35,
        "white_dots": r.random() < 0.55,
        "halos": r.random() < 0.3,
        "casts": r.random() < 0.2,
        "scale": r.random() < 0.3,
        "flakes_over": r.random() < 0.3,
        "creases": r.random() < 0.5,
        "sebum": r.random() < 0.5,
        "flecks": r.random() < 0.25,
        "lentigo": r.random() < 0.15,
        "crusts": r.random() < 0.1,
        "network": r.random() < 0.75,
    }
    look: dict[str, float | str | bool] = {
        "near_bald": near_bald,
        "density_per_cm2": density,
        "hair_length": mode,
        "tone": tone,
        "hair_colour": colour,
        "grey_share": float(r.uniform(0.3, 0.8)),
        "vellus_fraction": float(r.uniform(0.03, 0.45)),
        "miniaturised": float(r.uniform(0.0, 0.3)),
        "regrowing": float(r.uniform(0.0, 0.2)),
        "unit_mean": float(r.uniform(1.2, 2.6)),
        "empty_share": float(r.uniform(0.0, 0.35)),
        "bald_openings_per_cm2": float(r.uniform(0.0, 160.0)),
        "azimuth": float(r.uniform(0.0, TAU)),
        "spread": float(r.uniform(0.2, 1.2)),
        "stub_max_um": float(r.uniform(300.0, 2000.0)),
        "long_max_um": float(r.uniform(3000.0, 11000.0)),
        "network_kind": ("regular", "irregular", "labyrinth")[int(r.choice(3, p=[0.5, 0.3, 0.2]))],
        "network_um": float(r.uniform(110.0, 240.0)),
        "vessel_kind": ("none", "comma", "twisted", "arborising")[int(r.integers(4))],
        "polarised": r.random() < 0.6,
        **{k: bool(v) for k, v in signs.items()},
    }
    return look


def _unit_points(r: np.random.Generator, per_cm2: float, half: float) -> np.ndarray:
    """Unit centres on a jittered, turned hexagonal lattice over a square of half side
    ``half`` um (follicles sit near-regularly on a scalp)."""
    if per_cm2 <= 0:
        return np.zeros((0, 2))
    a = math.sqrt(2.0 / (math.sqrt(3.0) * per_cm2 * 1e-8))
    n = math.ceil(1.5 * half / a) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1))
    pts = np.stack([(i + 0.5 * (j % 2)) * a, j * a * math.sqrt(3.0) / 2.0], -1).reshape(-1, 2)
    th = r.uniform(0, TAU)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    pts = pts @ rot.T + r.uniform(-a, a, 2)
    pts = pts + r.normal(0.0, 0.3 * a, pts.shape)
    inside = (np.abs(pts) <= half).all(axis=1)
    return np.asarray(pts[inside])


def make_hair(
    r: np.random.Generator,
    look: dict[str, float | str | bool],
    x: float,
    y: float,
    unit: int,
    kind: str | None = None,
) -> Hair:
    """One hair of the site's population at emergence point ``(x, y)`` um."""
    if kind is None:
        u = r.random()
        regrowing = float(look["regrowing"])
        vellus = float(look["vellus_fraction"])
        if u < vellus:
            kind = "vellus"
        elif u < vellus + regrowing:
            kind = "regrowing"
        else:
            kind = "terminal"
            if look["black_dots"] and r.random() < 0.12:
                kind = "black_dot"
            elif look["exclamation"] and r.random() < 0.08:
                kind = "exclamation"
            elif look["broken"] and r.random() < 0.12:
                kind = "broken"
    mode = str(look["hair_length"])
    lying = mode == "long" or (mode == "mixed" and r.random() < 0.5)
    azimuth = float(look["azimuth"]) + float(r.normal(0.0, float(look["spread"])))
    elevation = float(r.uniform(math.radians(10), math.radians(60)))
    end = ("square", "oblique", "frayed")[int(r.integers(3))]
    if kind == "vellus":
        diameter = float(r.uniform(10.0, 29.5))
        length = float(r.uniform(150.0, 2500.0))
        lying = lying and length > 1200.0
        end = "taper"
    elif kind == "regrowing":
        diameter = float(r.uniform(25.0, 55.0))
        length = float(r.uniform(100.0, 700.0))
        elevation = float(r.uniform(math.radians(35), math.radians(70)))
        lying, end = False, "taper"
    elif kind == "black_dot":
        diameter = float(r.uniform(50.0, 100.0))
        length, lying, end = 0.0, False, "square"
    elif kind == "exclamation":
        diameter = float(r.uniform(60.0, 100.0))
        length = float(r.uniform(300.0, 1300.0))
        lying, end = False, "frayed"
        elevation = float(r.uniform(math.radians(25), math.radians(60)))
    elif kind == "broken":
        diameter = float(r.uniform(45.0, 100.0))
        length = float(r.uniform(100.0, 700.0))
        lying, end = False, ("square", "frayed")[int(r.integers(2))]
    else:
        small = r.random() < float(look["miniaturised"])
        diameter = float(r.uniform(30.0, 50.0) if small else r.uniform(50.0, 110.0))
        if lying:
            length = float(r.uniform(2500.0, float(look["long_max_um"])))
            end = "taper" if r.random() < 0.5 else end
        else:
            length = float(r.uniform(100.0, float(look["stub_max_um"])))
    wander = tuple(float(v) for v in r.normal(0.0, 1.0, 6))
    colour = str(look["hair_colour"])
    if colour == "grey":
        colour = "white" if r.random() < float(look["grey_share"]) else "dark-brown"
    rho, tau, opacity = hair_optics(colour, diameter, kind, r)
    return Hair(
        x_um=x,
        y_um=y,
        diameter_um=diameter,
        kind=kind,
        length_um=length,
        azimuth=azimuth,
        elevation=elevation,
        lying=lying,
        wander=wander,
        end=end,
        colour=colour,
        rho=rho,
        tau=tau,
        opacity=opacity,
        depth=float(r.random() if lying else 0.35 + 0.65 * r.random()),
        jag_phase=float(r.uniform(0.0, TAU)),
        cast=bool(look["casts"]) and r.random() < 0.3,
        unit=unit,
    )


def slot_offset(r: np.random.Generator, radius: float, slot: int) -> tuple[float, float]:
    """Where the ``slot``-th hair of a unit leaves its opening, relative to its centre."""
    if slot == 0:
        return float(r.normal(0, 0.1 * radius)), float(r.normal(0, 0.1 * radius))
    ang = r.uniform(0, TAU)
    rad = radius * r.uniform(0.35, 0.7)
    return float(rad * math.cos(ang)), float(rad * math.sin(ang))


ROOT_GAP_UM = 2.0  # the least gap between two hairs' roots
_CELL_UM = 150.0  # the roots' hash cells: wider than any two radii and a gap


class Roots:
    """The hairs' roots placed so far (centres and diameters, um, in a hash of cells) and
    where a new root stands clear of them."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[tuple[float, float, float]]] = {}

    def add(self, x: float, y: float, d: float) -> None:
        key = (math.floor(x / _CELL_UM), math.floor(y / _CELL_UM))
        self._cells.setdefault(key, []).append((x, y, d))

    def _hit(self, x: float, y: float, d: float) -> tuple[float, float, float] | None:
        i, j = math.floor(x / _CELL_UM), math.floor(y / _CELL_UM)
        for a in (i - 1, i, i + 1):
            for b in (j - 1, j, j + 1):
                for q in self._cells.get((a, b), ()):
                    if math.hypot(x - q[0], y - q[1]) < 0.5 * (d + q[2]) + ROOT_GAP_UM - 1e-9:
                        return q
        return None

    def clear(self, x: float, y: float, d: float, cx: float, cy: float) -> tuple[float, float]:
        """``(x, y)``, or where a root of diameter ``d`` there stands beside (not inside)
        every root placed: pushed off each it meets (outwards from ``(cx, cy)``, its unit's
        centre, when the two coincide), or, caught among several, the nearest clear point
        on rings round where it was drawn. No random draw: a site whose roots all stand
        apart keeps them where they were drawn."""
        x0, y0 = x, y
        for _ in range(12):
            q = self._hit(x, y, d)
            if q is None:
                return x, y
            vx, vy = x - q[0], y - q[1]
            n = math.hypot(vx, vy)
            if n < 1e-6:
                vx, vy = x - cx, y - cy
                n = math.hypot(vx, vy)
                if n < 1e-6:
                    vx, vy, n = 1.0, 0.0, 1.0
            reach = 0.5 * (d + q[2]) + ROOT_GAP_UM + 1e-6
            x, y = q[0] + vx / n * reach, q[1] + vy / n * reach
        if self._hit(x, y, d) is None:
            return x, y
        for ring in range(1, 400):
            rad = 4.0 * ring
            for k in range(6 * ring):
                a = 2.0 * math.pi * k / (6 * ring)
                px, py = x0 + rad * math.cos(a), y0 + rad * math.sin(a)
                if self._hit(px, py, d) is None:
                    return px, py
        return x, y


def _placed(hair: Hair, roots: Roots, cx: float, cy: float) -> Hair:
    """``hair`` moved clear of the roots placed, then placed among them."""
    x, y = roots.clear(hair.x_um, hair.y_um, hair.diameter_um, cx, cy)
    roots.add(x, y, hair.diameter_um)
    return hair if (x, y) == (hair.x_um, hair.y_um) else replace(hair, x_um=x, y_um=y)


def build_site(seed: int, width: int, height: int, um_per_px: float) -> Site:
    """The site of ``seed`` around a ``width`` x ``height`` frame at ``um_per_px``."""
    look = site_look(seed)
    half_w = 0.5 * width * um_per_px
    half_h = 0.5 * height * um_per_px
    reach = float(look["long_max_um"]) * 0.7 if look["hair_length"] != "trimmed" else 0.0
    region = max(half_w, half_h) * 1.2 + 300.0 + min(reach, 8000.0)
    r = stream(seed, 2)
    density = float(look["density_per_cm2"])
    per_unit = float(look["unit_mean"])
    if look["near_bald"]:
        empty_density = float(look["bald_openings_per_cm2"])
    else:
        e = float(look["empty_share"])
        empty_density = density / per_unit * e / (1.0 - e)
    units = _unit_points(r, density / per_unit + empty_density, region)
    n_units = len(units)
    # a unit holds 1-4 hairs with the site's mean; empty ones at the empty openings' share
    share_empty = empty_density / max(density / per_unit + empty_density, 1e-9)
    empty = r.random(n_units) < share_empty
    lam = max(per_unit - 1.0, 0.0)
    counts = np.where(empty, 0, np.minimum(1 + r.poisson(lam, n_units), 4))
    unit_r = r.uniform(35.0, 70.0, n_units) + 18.0 * counts
    style = r.random(n_units)
    hr = stream(seed, 3)
    hairs: list[Hair] = []
    # a unit's hairs share its opening side by side: none stands inside another
    roots = Roots()
    for u in range(n_units):
        cx, cy = float(units[u, 0]), float(units[u, 1])
        for slot in range(int(counts[u])):
            ox, oy = slot_offset(hr, float(unit_r[u]), slot)
            hairs.append(_placed(make_hair(hr, look, cx + ox, cy + oy, u), roots, cx, cy))
    wr = stream(seed, 4)
    n_white = 0
    if look["white_dots"]:
        n_white = int(wr.poisson(wr.uniform(30, 150) * (2 * region) ** 2 * 1e-8))
    white = wr.uniform(-region, region, (n_white, 2))
    vessels = _vessels(stream(seed, 5), str(look["vessel_kind"]), region)
    return Site(seed, look, half_w, half_h, region, units, unit_r, style, hairs, white, vessels)


def _vessels(r: np.random.Generator, kind: str, region: float) -> list[Vessel]:
    """Capillaries of the site's pattern over its region."""
    if kind == "none":
        return []
    per_cm2 = {"comma": 60.0, "twisted": 40.0, "arborising": 4.0}[kind]
    n = int(r.poisson(per_cm2 * (2 * region) ** 2 * 1e-8))
    out: list[Vessel] = []
    for _ in range(n):
        cx, cy = r.uniform(-region, region, 2)
        th = r.uniform(0, TAU)
        if kind == "comma":
            s = np.linspace(0, 1, 9)
            size = r.uniform(60, 160)
            bend = r.uniform(1.0, 2.5)
            ang = th + bend * s
            xs = cx + np.cumsum(np.cos(ang)) * size / 8
            ys = cy + np.cumsum(np.sin(ang)) * size / 8
            out.append(Vessel(tuple(xs), tuple(ys), float(r.uniform(10, 22)), 1.0))
        elif kind == "twisted":
            s = np.linspace(0, 1, 40)
            loops = r.uniform(2.0, 4.5)
            rad = r.uniform(12, 30)
            run = r.uniform(40, 120)
            ax = run * s + rad * np.cos(TAU * loops * s)
            ay = rad * 1.4 * np.sin(TAU * loops * s)
            xs = cx + ax * math.cos(th) - ay * math.sin(th)
            ys = cy + ax * math.sin(th) + ay * math.cos(th)
            out.append(Vessel(tuple(xs), tuple(ys), float(r.uniform(8, 16)), 1.2))
        else:
            _branch(r, cx, cy, th, r.uniform(600, 1400), r.uniform(25, 45), 0, out)
    return out


def _branch(
    r: np.random.Generator,
    x: float,
    y: float,
    th: float,
    length: float,
    width: float,
    depth: int,
    out: list[Vessel],
) -> None:
    """An arborising vessel: a wandering trunk that forks into thinner branches."""
    steps = 12
    xs, ys = [x], [y]
    for _ in range(steps):
        th += r.normal(0, 0.25)
        x += math.cos(th) * length / steps
        y += math.sin(th) * length / steps
        xs.append(x)
        ys.append(y)
    out.append(Vessel(tuple(xs), tuple(ys), float(width), 0.7))
    if depth < 3 and width > 10:
        for k in range(int(r.integers(1, 3))):
            i = int(r.integers(3, steps))
            turn = (1 if k == 0 else -1) * r.uniform(0.4, 1.1)
            _branch(r, xs[i], ys[i], th + turn, length * 0.6, width * 0.65, depth + 1, out)


def regrow(site: Site, factor: float, seed2: int) -> Site:
    """The same site at a later visit: each hair kept with the factor as its chance when
    the count falls; when it rises, new hairs fill empty openings first, then join units of
    fewer than 4, then open new units (none inside a standing hair); the site's look and
    marks stay."""
    r = stream(site.seed, 7, seed2 % (1 << 64), int(seed2 < 0))
    hairs = list(site.hairs)
    n = len(hairs)
    unit_xy, unit_r = site.unit_xy, site.unit_r
    style = site.unit_style
    if factor <= 1.0:
        keep = np.sort(r.permutation(n)[: round(factor * n)])
        return replace(site, hairs=[hairs[int(i)] for i in keep])
    need = round((factor - 1.0) * n)
    counts = np.bincount([h.unit for h in hairs], minlength=len(unit_xy))
    empty = r.permutation(np.flatnonzero(counts == 0))
    partial = r.permutation(np.flatnonzero((counts > 0) & (counts < 4)))
    order = list(empty) + list(partial)
    new_units: list[tuple[float, float]] = []
    look = site.look
    added: list[Hair] = []
    roots = Roots()
    for h in hairs:
        roots.add(h.x_um, h.y_um, h.diameter_um)
    for k in range(need):
        if k < len(order):
            u = int(order[k])
            cx, cy = float(unit_xy[u, 0]), float(unit_xy[u, 1])
            ox, oy = slot_offset(r, float(unit_r[u]), int(counts[u]))
            kind = "regrowing" if r.random() < 0.4 else None
            added.append(_placed(make_hair(r, look, cx + ox, cy + oy, u, kind), roots, cx, cy))
        else:
            x, y = r.uniform(-site.region_um, site.region_um, 2)
            u = len(unit_xy) + len(new_units)
            hair = _placed(make_hair(r, look, float(x), float(y), u, None), roots, x, y)
            new_units.append((hair.x_um, hair.y_um))
            added.append(hair)
    if new_units:
        unit_xy = np.concatenate([unit_xy, np.array(new_units)])
        unit_r = np.concatenate([unit_r, r.uniform(40.0, 80.0, len(new_units))])
        style = np.concatenate([style, r.random(len(new_units))])
    return replace(site, hairs=hairs + added, unit_xy=unit_xy, unit_r=unit_r, unit_style=style)
