"""Where the follicles are and what grows from them.

Follicular openings sit on a jittered hexagonal lattice (follicles are spaced fairly
regularly), thinned by a smooth random 'patchiness' field; each kept site is an opening
with 1-4 hairs, or an empty opening (dark, a yellow dot, or a black dot: a pigmented hair
broken at the surface, which has no shaft but counts as a hair, at its dot's diameter, with
no tip: :func:`black_dots`). Thinned sites stay as hidden reserve sites where a follow-up
visit may grow new hairs. Each hair gets its kind (trimmed stub, long, vellus, broken,
exclamation-mark, regrowing), diameter, length, end (tapered, blunt, oblique or frayed),
colour, curl and emergence direction."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind11.design import COLOUR_RGB, Design
from sim.blind11.streams import stream

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

STUB, LONG, VELLUS, BROKEN, EXCLAM, REGROW = range(6)
TAPER, BLUNT, OBLIQUE, FRAYED = range(4)
STRAIGHT, WAVY, CURLY, COILED = range(4)
CURL_CODE = {"straight": STRAIGHT, "wavy": WAVY, "curly": CURLY, "coiled": COILED}
HAIR_UNIT, EMPTY, YELLOW, BLACK_DOT = range(4)
# the names of the hair kinds (STUB ... REGROW) in the truth's counts, and of a black dot's
KIND_NAMES = ("stub", "long", "vellus", "broken", "exclamation", "regrowing")
BLACK_DOT_NAME = "black_dot"


@dataclass
class Openings:
    x: F64
    y: F64
    kind: I64
    n_hairs: I64
    radius_um: F64
    peripilar: F64
    white_halo: BOOL
    tilt: F64
    reserve_x: F64
    reserve_y: F64


@dataclass
class Hairs:
    x: F64
    y: F64
    unit: I64
    azimuth: F64
    elevation: F64
    diameter: F64
    length: F64
    kind: I64
    end: I64
    end_angle: F64
    taper_um: F64
    colour: F64
    alpha: F64
    curl: I64
    curv_a: F64
    curv_b: F64
    roll: F64
    stack: F64
    new: BOOL
    uid: I64  # stable identity: baseline hairs 0.., a follow-up's new hairs from 10**7

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, idx: NDArray[np.intp] | BOOL) -> Hairs:
        return Hairs(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(a: Hairs, b: Hairs) -> Hairs:
        return Hairs(
            **{f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
        )


def _smooth_field(
    rng: np.random.Generator, corr_um: float, waves: int = 10
) -> Callable[[F64, F64], F64]:
    """A smooth random field (sum of random plane waves), unit amplitude-ish."""
    k = rng.normal(0.0, 1.0 / corr_um, (waves, 2))
    ph = rng.uniform(0.0, 2 * math.pi, waves)

    def field(x: F64, y: F64) -> F64:
        acc = np.zeros_like(x)
        for i in range(waves):
            acc += np.cos(k[i, 0] * x + k[i, 1] * y + ph[i])
        out: F64 = acc * math.sqrt(2.0 / waves)
        return out

    return field


def flow_azimuth(design: Design, x: F64, y: F64) -> F64:
    """The hair stream's direction (radians) over the scalp."""
    phi0 = math.radians(design.flow_azimuth_deg)
    across = -x * math.sin(phi0) + y * math.cos(phi0)
    turn = math.radians(design.flow_turn_per_mm_deg) * across / 1000.0
    out: F64 = phi0 + 0.6 * np.tanh(turn / 0.6)
    return out


def make_openings(seed: int, design: Design, half_size_um: float) -> Openings:
    rng = stream(seed, "openings")
    mean_unit = float(np.dot(design.unit_probs, [1, 2, 3, 4]))
    rho_u = design.density_per_cm2 * 1e-8 / max((1.0 - design.empty_share) * mean_unit, 1e-9)
    rho_site = rho_u / design.keep_share
    patch = _smooth_field(rng, 1500.0)
    angle = rng.uniform(0.0, math.pi)
    empty = np.zeros(0)
    if rho_site * (2 * half_size_um) ** 2 < 0.5:
        xs, ys = empty, empty
    else:
        a = math.sqrt(2.0 / (math.sqrt(3.0) * rho_site))
        n = math.ceil(1.5 * half_size_um / a) + 2
        i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
        u = (i + 0.5 * (j % 2)).ravel() * a + rng.uniform(0, a)
        v = j.ravel() * a * math.sqrt(3.0) / 2.0 + rng.uniform(0, a)
        c, s = math.cos(angle), math.sin(angle)
        xs, ys = c * u - s * v, s * u + c * v
        jr = a * 0.32 * np.sqrt(rng.random(xs.shape))
        ja = rng.uniform(0, 2 * math.pi, xs.shape)
        xs = xs + jr * np.cos(ja)
        ys = ys + jr * np.sin(ja)
        inside = (np.abs(xs) <= half_size_um) & (np.abs(ys) <= half_size_um)
        xs, ys = xs[inside], ys[inside]
    keep_p = np.clip(design.keep_share + 0.5 * design.patchiness * patch(xs, ys), 0.03, 1.0)
    if keep_p.size:
        # clipping biases the mean: rescale so the scalp keeps its share of follicles
        keep_p = np.clip(keep_p * design.keep_share / float(keep_p.mean()), 0.0, 1.0)
    keep = rng.random(xs.shape) < keep_p
    ux, uy = xs[keep], ys[keep]
    nu = ux.shape[0]
    r = rng.random(nu)
    kind = np.full(nu, HAIR_UNIT, dtype=np.int64)
    is_empty = r < design.empty_share
    sub = rng.random(nu)
    kind[is_empty] = EMPTY
    kind[is_empty & (sub < design.yellow_share)] = YELLOW
    black = (
        is_empty
        & (sub >= design.yellow_share)
        & (sub < design.yellow_share + design.black_dot_share)
    )
    kind[black] = BLACK_DOT
    drawn = np.asarray(rng.choice(4, size=nu, p=np.asarray(design.unit_probs)), dtype=np.int64)
    n_hairs = np.where(kind == HAIR_UNIT, 1 + drawn, 0).astype(np.int64)
    radius = np.where(
        kind == HAIR_UNIT,
        rng.uniform(16.0, 32.0, nu) + 7.0 * n_hairs,
        np.where(
            kind == YELLOW,
            rng.uniform(40.0, 140.0, nu),
            np.where(kind == BLACK_DOT, rng.uniform(18.0, 42.0, nu), rng.uniform(20.0, 55.0, nu)),
        ),
    )
    peripilar = np.where(
        (rng.random(nu) < design.peripilar_share) & (kind == HAIR_UNIT),
        design.peripilar_strength * rng.uniform(0.5, 1.0, nu),
        0.0,
    )
    halo = (rng.random(nu) < design.white_halo_share) & (kind == HAIR_UNIT)
    tilt = np.asarray(rng.uniform(0.0, 2 * math.pi, nu), dtype=np.float64)
    return Openings(
        x=ux,
        y=uy,
        kind=kind,
        n_hairs=n_hairs,
        radius_um=radius,
        peripilar=peripilar,
        white_halo=halo,
        tilt=tilt,
        reserve_x=xs[~keep],
        reserve_y=ys[~keep],
    )


def black_dots(op: Openings, hairs: Hairs) -> I64:
    """The openings whose black dot is a hair of this visit: every black-dot opening but
    one a follow-up's new hair has grown in (its root in the dot's opening, or inside the
    dot). That new hair is the broken hair grown again, listed once, as itself; the dark
    dot is still drawn around its root. A black dot is never shed: a follow-up keeps the
    dots of the scene, as it keeps the skin."""
    dot = np.flatnonzero(op.kind == BLACK_DOT)
    new = np.flatnonzero(hairs.new)
    if dot.size == 0 or new.size == 0:
        out: I64 = dot.astype(np.int64)
        return out
    taken = np.isin(dot, hairs.unit[new])
    nearest, _ = cKDTree(np.stack([hairs.x[new], hairs.y[new]], axis=1)).query(
        np.stack([op.x[dot], op.y[dot]], axis=1)
    )
    taken |= nearest <= op.radius_um[dot]
    kept: I64 = dot[~taken].astype(np.int64)
    return kept


def bare_openings(op: Openings) -> Openings:
    """The openings of a hairless frame: a black dot is a hair, so on bare skin its opening
    is drawn as a hair's opening is, with no hair in it (no dark dot)."""
    kind = np.where(op.kind == BLACK_DOT, HAIR_UNIT, op.kind).astype(np.int64)
    return replace(op, kind=kind)


def _hair_colours(
    rng: np.random.Generator, design: Design, n: int, vellus: BOOL
) -> tuple[F64, F64]:
    name = design.hair_colour
    col = np.empty((n, 3))
    alpha = np.empty(n)
    if name == "grey":
        white = rng.random(n) < design.grey_white_share
        dark = np.where(rng.random(n) < 0.5, 0, 1)
        base = np.array([COLOUR_RGB["dark_brown"], COLOUR_RGB["black"]])[dark]
        col[:] = np.where(white[:, None], np.asarray(COLOUR_RGB["white"]), base)
        alpha[:] = np.where(white, 0.8, 0.97)
    else:
        col[:] = np.asarray(COLOUR_RGB[name])
        alpha[:] = {"white": 0.8, "blond": 0.9, "red": 0.95, "light_brown": 0.95}.get(name, 0.98)
    col *= np.exp(rng.normal(0.0, 0.13, (n, 1)) + rng.normal(0.0, 0.03, (n, 3)))
    # vellus hairs carry little pigment
    fade = np.where(vellus, rng.uniform(0.35, 0.8, n), 0.0)[:, None]
    col = col * (1 - fade) + fade * np.array([0.5, 0.42, 0.32])
    alpha = np.where(vellus, alpha * rng.uniform(0.55, 0.85, n), alpha)
    return np.clip(col, 0.004, 0.8), alpha


def make_hairs(
    rng: np.random.Generator,
    design: Design,
    x: F64,
    y: F64,
    unit: I64,
    fan: F64,
) -> Hairs:
    """Draw the properties of hairs emerging at (x, y); ``fan`` is each hair's turn
    within its follicular unit (radians)."""
    n = x.shape[0]
    vellus: BOOL = np.asarray(rng.random(n) < design.vellus_share, dtype=np.bool_)
    terminal = np.clip(rng.normal(design.terminal_mean_um, design.terminal_sd_um, n), 40.0, 110.0)
    inter = rng.random(n) < 0.08
    d = np.where(inter, rng.uniform(30.0, 40.0, n), terminal)
    d = np.where(vellus, rng.uniform(10.0, 29.5, n), d)
    kind = np.full(n, LONG, dtype=np.int64)
    if design.hair_length == "trimmed":
        kind[:] = STUB
    elif design.hair_length == "mixed":
        kind[rng.random(n) < design.mixed_stub_share] = STUB
    else:
        rng.random(n)
    r = rng.random(n)
    b, e, g = design.broken_share, design.exclamation_share, design.regrow_share
    kind[r < b] = BROKEN
    kind[(r >= b) & (r < b + e)] = EXCLAM
    kind[(r >= b + e) & (r < b + e + g)] = REGROW
    stub_len = rng.uniform(*design.stub_mm, n) * 1000.0 * rng.normal(1.0, 0.06, n)
    vel_len = rng.uniform(400.0, 2500.0, n)
    kind = np.where(vellus & (kind != STUB), VELLUS, kind)
    trimmed_vellus = vellus & (kind == STUB) & (vel_len < stub_len)
    kind = np.where(trimmed_vellus, VELLUS, kind)
    lo, hi = design.long_mm
    long_len = np.exp(rng.uniform(math.log(lo), math.log(hi), n)) * 1000.0
    length = np.select(
        [kind == STUB, kind == LONG, kind == VELLUS, kind == BROKEN, kind == EXCLAM],
        [
            stub_len,
            long_len,
            vel_len,
            rng.uniform(150.0, 2500.0, n),
            rng.uniform(500.0, 2500.0, n),
        ],
        rng.uniform(150.0, 1500.0, n),
    )
    cm = np.asarray(design.cut_mix)
    cut = 1 + rng.choice(3, size=n, p=cm / cm.sum())
    blunt_long = rng.random(n) < design.long_blunt_share
    end = np.select(
        [kind == STUB, kind == LONG, kind == BROKEN, kind == EXCLAM],
        [
            cut,
            np.where(blunt_long, BLUNT, TAPER),
            np.where(rng.random(n) < 0.5, BLUNT, FRAYED),
            FRAYED,
        ],
        TAPER,
    ).astype(np.int64)
    taper = np.select(
        [kind == LONG, kind == VELLUS, kind == REGROW],
        [np.minimum(rng.uniform(800.0, 3000.0, n), 0.5 * length), 0.45 * length, 0.7 * length],
        0.0,
    )
    # only a natural end tapers: a hair cut blunt (a long hair cut short included) keeps
    # its full width to the cut
    taper = np.where(end == TAPER, taper, 0.0)
    end_angle = rng.choice([-1.0, 1.0], n) * rng.uniform(0.35, 1.05, n)
    colour, alpha = _hair_colours(rng, design, n, vellus)
    elev = np.asarray(rng.normal(design.elevation_mean_deg, design.elevation_sd_deg, n))
    elev = np.where((kind == REGROW) | (kind == EXCLAM), elev + 6.0, elev)
    elev = np.radians(np.clip(elev, 10.0, 45.0))
    az = flow_azimuth(design, x, y) + fan + np.radians(rng.normal(0.0, design.flow_jitter_deg, n))
    curl = np.where(kind == LONG, CURL_CODE[design.curl], STRAIGHT).astype(np.int64)
    curl = np.where((kind == VELLUS) & (design.curl in ("curly", "coiled")), WAVY, curl)
    jitter = rng.normal(1.0, 0.15, n)
    curv_a = np.select(
        [curl == WAVY, curl == CURLY, curl == COILED],
        [
            design.wave_angle * 2 * math.pi / design.wave_len_um * jitter,
            1.0 / design.helix_radius_um * jitter,
            1.0 / design.helix_radius_um * jitter,
        ],
        rng.normal(0.0, 0.12, n) / 1000.0,
    )
    curv_b = np.select(
        [curl == WAVY, curl == CURLY, curl == COILED],
        [
            design.wave_len_um * rng.normal(1.0, 0.15, n),
            design.helix_pitch_ratio * rng.normal(1.0, 0.2, n),
            design.helix_pitch_ratio * rng.normal(1.0, 0.2, n),
        ],
        0.0,
    )
    roll = np.where(curl == WAVY, rng.normal(0.0, 0.3, n), rng.uniform(0, 2 * math.pi, n))
    stack = np.asarray(rng.uniform(0.0, design.stack_um, n), dtype=np.float64)
    return Hairs(
        x=x,
        y=y,
        unit=unit,
        azimuth=az,
        elevation=elev,
        diameter=d,
        length=length,
        kind=kind,
        end=end,
        end_angle=end_angle,
        taper_um=taper,
        colour=colour,
        alpha=alpha,
        curl=curl,
        curv_a=curv_a,
        curv_b=curv_b,
        roll=roll,
        stack=stack,
        new=np.zeros(n, dtype=np.bool_),
        uid=np.arange(n, dtype=np.int64),
    )


def _unit_roots(
    rng: np.random.Generator, design: Design, op: Openings, unit: I64, slot: I64, count: I64
) -> tuple[F64, F64, F64]:
    """Emergence points of the ``slot``-th of ``count`` hairs in openings ``unit``: close
    together inside the opening, fanned across the hair stream."""
    ux, uy = op.x[unit], op.y[unit]
    phi = flow_azimuth(design, ux, uy)
    off = (slot - (count - 1) / 2.0) * np.minimum(op.radius_um[unit] * 0.45, 22.0)
    off = off + rng.normal(0.0, 3.0, unit.shape[0])
    x = ux - off * np.sin(phi)
    y = uy + off * np.cos(phi)
    fan = (slot - (count - 1) / 2.0) * np.radians(rng.uniform(6.0, 22.0, unit.shape[0]))
    return x, y, fan


def baseline_hairs(seed: int, design: Design, op: Openings) -> Hairs:
    rng = stream(seed, "hairs")
    unit = np.repeat(np.arange(op.x.shape[0]), op.n_hairs).astype(np.int64)
    starts = np.cumsum(op.n_hairs) - op.n_hairs
    slot = (np.arange(unit.shape[0]) - starts[unit]).astype(np.int64)
    x, y, fan = _unit_roots(rng, design, op, unit, slot, op.n_hairs[unit])
    return make_hairs(rng, design, x, y, unit, fan)


MIN_GAP_UM = 15.0  # closest two emergence points may be, however thin the hairs


class _Roots:
    """Emergence points and diameters on a coarse grid, to find free room quickly."""

    CELL = 130.0  # at least the largest gap asked for: (110 + 110) / 2 um

    def __init__(self, x: F64, y: F64, d: F64) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
        for xi, yi, di in zip(x.tolist(), y.tolist(), d.tolist(), strict=True):
            self.add(xi, yi, di)

    def _key(self, x: float, y: float) -> tuple[int, int]:
        return math.floor(x / self.CELL), math.floor(y / self.CELL)

    def add(self, x: float, y: float, d: float) -> None:
        self.cells.setdefault(self._key(x, y), []).append((x, y, d))

    def free(self, x: float, y: float, d: float) -> bool:
        """Whether a hair of diameter ``d`` may emerge at (x, y): at least
        max((d + d_other) / 2, MIN_GAP_UM) from every root already there."""
        cx, cy = self._key(x, y)
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for ox, oy, od in self.cells.get((gx, gy), ()):
                    if math.hypot(x - ox, y - oy) < max(0.5 * (d + od), MIN_GAP_UM):
                        return False
        return True


def _room_in_unit(
    rng: np.random.Generator,
    design: Design,
    op: Openings,
    u: int,
    count: int,
    d: float,
    roots: _Roots,
) -> tuple[float, float] | None:
    """A free emergence point for one more hair in opening ``u`` (which holds ``count``),
    or None if the opening has no room left for a hair of diameter ``d``. The wanted place
    is the next slot across the hair stream; failing that, the nearest free point of the
    opening around it."""
    ux, uy, rad = float(op.x[u]), float(op.y[u]), float(op.radius_um[u])
    phi = float(flow_azimuth(design, op.x[u : u + 1], op.y[u : u + 1])[0])
    side = count * (1 if count % 2 else -1) * 0.5
    want = side * min(rad * 0.45, 22.0) + float(rng.normal(0.0, 8.0))
    wx, wy = ux - want * math.sin(phi), uy + want * math.cos(phi)
    turn = float(rng.uniform(0.0, 2 * math.pi))
    # the wanted point, then rings around it (4 um apart) that still fall in the opening
    rx, ry = [np.array([wx])], [np.array([wy])]
    for r in np.arange(4.0, 2.0 * rad + 4.0, 4.0).tolist():
        k = max(6, int(2 * math.pi * r / 4.0))
        a = turn + 2 * math.pi * np.arange(k) / k
        rx.append(wx + r * np.cos(a))
        ry.append(wy + r * np.sin(a))
    cx, cy = np.concatenate(rx), np.concatenate(ry)
    inside = np.hypot(cx - ux, cy - uy) <= rad
    for qx, qy in zip(cx[inside].tolist(), cy[inside].tolist(), strict=True):
        if roots.free(qx, qy, d):
            return qx, qy
    return None


def follow_up_hairs(
    seed: int, design: Design, op: Openings, hairs: Hairs, factor: float, seed2: int
) -> tuple[Hairs, dict[str, int]]:
    """The same site months later: each hair shed with probability 1 - factor, or, for a
    factor above 1, new hairs next to randomly chosen existing ones (in a free place of
    their opening while it has room, else in the nearest empty opening or reserve site).
    A new hair never emerges on top of another: its root keeps at least
    max((d1 + d2) / 2, MIN_GAP_UM) from every other."""
    rng = stream(seed, "follow-up", seed2)
    n = len(hairs)
    if factor <= 1.0:
        keep = rng.random(n) < factor
        return hairs.take(keep), {"kept": int(keep.sum()), "shed": int((~keep).sum()), "new": 0}
    n_new = round((factor - 1.0) * n)
    if n_new == 0 or n == 0:
        return hairs, {"kept": n, "shed": 0, "new": 0}
    counts = op.n_hairs.copy()
    empties = np.flatnonzero(op.kind != HAIR_UNIT)
    site_x = np.concatenate([op.x[empties], op.reserve_x])
    site_y = np.concatenate([op.y[empties], op.reserve_y])
    used = np.zeros(site_x.shape[0], dtype=np.bool_)
    tree = cKDTree(np.stack([site_x, site_y], axis=1)) if site_x.size else None
    parents = rng.integers(0, n, n_new)
    join = rng.random(n_new) < 0.5
    fan0 = rng.normal(0.0, 0.2, n_new)
    # the new hairs' properties first, at their parents' roots: how much room each needs
    # depends on its diameter; they are moved to their own places below
    px0, py0 = hairs.x[parents], hairs.y[parents]
    new = make_hairs(rng, design, px0, py0, np.full(n_new, -1, dtype=np.int64), np.zeros(n_new))
    roots = _Roots(hairs.x, hairs.y, hairs.diameter)
    xs, ys, units, fans = [], [], [], []
    for k, (p, j) in enumerate(zip(parents.tolist(), join.tolist(), strict=True)):
        d = float(new.diameter[k])
        u = int(hairs.unit[p])
        spot = None
        if j and u >= 0 and counts[u] < 4:
            spot = _room_in_unit(rng, design, op, u, int(counts[u]), d, roots)
        if spot is not None:
            xs.append(spot[0])
            ys.append(spot[1])
            units.append(u)
            fans.append(float(fan0[k]))
            counts[u] += 1
            roots.add(spot[0], spot[1], d)
            continue
        placed = False
        if tree is not None:
            kq = min(16, site_x.shape[0])
            _, idx = tree.query([hairs.x[p], hairs.y[p]], k=kq)
            for i in np.atleast_1d(idx).tolist():
                if used[i]:
                    continue
                sx = float(site_x[i]) + float(rng.normal(0.0, 3.0))
                sy = float(site_y[i]) + float(rng.normal(0.0, 3.0))
                if not roots.free(sx, sy, d):
                    continue
                used[i] = True
                xs.append(sx)
                ys.append(sy)
                units.append(int(empties[i]) if i < empties.size else -1)
                fans.append(0.0)
                roots.add(sx, sy, d)
                placed = True
                break
        tries = 0
        while not placed:
            ang = float(rng.uniform(0, 2 * math.pi))
            dist = float(rng.uniform(60.0, 200.0 + 10.0 * tries))
            tries += 1
            sx = float(hairs.x[p]) + dist * math.cos(ang)
            sy = float(hairs.y[p]) + dist * math.sin(ang)
            if roots.free(sx, sy, d):
                xs.append(sx)
                ys.append(sy)
                units.append(-1)
                fans.append(0.0)
                roots.add(sx, sy, d)
                placed = True
    fx, fy = np.asarray(xs), np.asarray(ys)
    # the stream's direction where each new hair really emerges, and its own fan
    new.azimuth = new.azimuth - flow_azimuth(design, px0, py0) + flow_azimuth(design, fx, fy) + fans
    new.x, new.y = fx, fy
    new.unit = np.asarray(units, dtype=np.int64)
    new.new[:] = True
    new.uid += 10**7
    return Hairs.concat(hairs, new), {"kept": n, "shed": 0, "new": n_new}
