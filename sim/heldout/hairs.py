"""Hair geometry and strokes of the independent generator: Bezier shafts drawn as polygons.

Follicular units are placed by dart throwing (a minimum spacing, no grid); each hair is a
cubic Bezier from its emergence point, outlined with its width profile and filled on a
supersampled canvas with Pillow, so coverage comes from supersampling, not from a distance
field. Cut ends are square, oblique, frayed (split into strands) or tapered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray
from PIL import ImageDraw

from sim.heldout.params import END_STYLES, HAIR_PALETTE, VELLUS_SPLIT_UM, Params, skin_colour

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass(frozen=True)
class Units:
    """Follicular openings in output pixels (may lie outside the frame) and hairs per opening."""

    xy: F64  # (n, 2)
    hairs: I64  # 0 for an empty opening
    angle: F64  # direction its hairs leave in (radians, image axes), before per-hair scatter


@dataclass(frozen=True)
class Shafts:
    """Every hair that may reach the frame; output pixel coordinates, units in the names."""

    ctrl: F64  # (n, 4, 2) Bezier control points; ctrl[:, 0] is the emergence point
    diameter_um: F64
    length_um: F64
    rgb: F64  # (n, 3) display RGB
    alpha: F64
    end: I64  # index into END_STYLES
    trimmed: B
    natural: B  # ends in its natural taper (a long hair never cut); other ends are cut
    unit: I64

    def __len__(self) -> int:
        return int(self.diameter_um.shape[0])

    @property
    def root(self) -> F64:
        out: F64 = self.ctrl[:, 0]
        return out

    @property
    def tip(self) -> F64:
        out: F64 = self.ctrl[:, 3]
        return out


def dart_throw(
    rng: np.random.Generator, n: int, box: tuple[float, float, float, float], r: float
) -> F64:
    """Up to ``n`` uniform points in ``box`` (x0, y0, x1, y1), none closer than ``r``."""
    x0, y0, x1, y1 = box
    cand = rng.uniform((x0, y0), (x1, y1), (int(n * 1.6) + 8, 2))
    cell = max(r, 1e-6)
    grid: dict[tuple[int, int], list[int]] = {}
    kept: list[int] = []
    r2 = r * r
    for i, (x, y) in enumerate(cand):
        gx, gy = int((x - x0) // cell), int((y - y0) // cell)
        ok = True
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((gx + dx, gy + dy), ()):
                    ex, ey = cand[j]
                    if (ex - x) ** 2 + (ey - y) ** 2 < r2:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            grid.setdefault((gx, gy), []).append(i)
            kept.append(i)
            if len(kept) == n:
                break
    out: F64 = cand[kept]
    return out


def _lengths_um(rng: np.random.Generator, p: Params, n: int) -> tuple[F64, B]:
    if p.hair_length == "trimmed":
        trimmed = np.ones(n, dtype=bool)
    elif p.hair_length == "long":
        trimmed = np.zeros(n, dtype=bool)
    else:
        trimmed = rng.random(n) < 0.5
    length = np.where(trimmed, rng.uniform(300.0, 1500.0, n), rng.uniform(3000.0, 12000.0, n))
    return length, trimmed


def place(rng: np.random.Generator, p: Params) -> tuple[Units, Shafts]:
    """Openings and shafts around the frame (a margin as long as the longest shaft)."""
    upp = p.um_per_px
    long_hair = p.hair_length != "trimmed" and not p.hairless
    margin = (12500.0 if long_hair else 1600.0) / upp
    box = (-margin, -margin, p.width + margin, p.height + margin)
    area_cm2 = (box[2] - box[0]) * (box[3] - box[1]) * (upp * 1e-4) ** 2
    shares = np.array(p.unit_shares) / sum(p.unit_shares)
    per_unit = float(shares @ np.arange(1, 5))
    n_units = round(p.density_per_cm2 / per_unit * area_cm2)
    n_empty = (
        round(p.empty_opening_share * max(n_units, 1))
        if not p.hairless
        else round(float(rng.uniform(20, 120)) * area_cm2)
    )
    spacing_um = 1e4 / math.sqrt(max(n_units + n_empty, 1) / area_cm2)
    xy = dart_throw(rng, n_units + n_empty, box, 0.45 * spacing_um / upp)
    sizes = rng.choice(4, size=len(xy), p=shares) + 1
    empty = np.zeros(len(xy), dtype=bool)
    empty[rng.permutation(len(xy))[:n_empty]] = True
    counts = np.where(empty, 0, sizes).astype(np.int64)
    unit = np.repeat(np.arange(len(xy)), counts).astype(np.int64)
    n = unit.shape[0]
    # emergence: the unit's opening, hairs of one unit a few um apart
    root = xy[unit] + rng.normal(0.0, 8.0 / upp, (n, 2))
    # direction: a main flow bent round a whorl centre, per-unit and per-hair scatter
    flow = math.radians(p.flow_deg)
    cx, cy = rng.uniform(0, p.width), rng.uniform(0, p.height)
    swirl = np.arctan2(xy[:, 1] - cy, xy[:, 0] - cx) + math.pi / 2
    vx = (1 - p.whorl) * math.cos(flow) + p.whorl * np.cos(swirl)
    vy = (1 - p.whorl) * math.sin(flow) + p.whorl * np.sin(swirl)
    unit_ang = np.arctan2(vy, vx) + rng.normal(0.0, 0.3, len(xy))
    units = Units(xy=xy, hairs=counts, angle=unit_ang)
    shafts = _grow(rng, p, root, unit, unit_ang[unit])
    return units, subset(shafts, _near_frame(shafts, p))


def _grow(rng: np.random.Generator, p: Params, root: F64, unit: I64, unit_ang: F64) -> Shafts:
    """Hairs emerging at ``root`` from openings ``unit`` that leave at about ``unit_ang``."""
    upp = p.um_per_px
    n = len(unit)
    ang = unit_ang + rng.normal(0.0, 0.18, n)
    cross = rng.random(n) < 0.1
    ang[cross] = rng.uniform(0, 2 * math.pi, int(cross.sum()))

    vellus = rng.random(n) < p.vellus_fraction
    diameter = np.where(
        vellus, rng.uniform(10.0, 29.0, n), np.clip(rng.gamma(16.0, 4.4, n), 32.0, 125.0)
    )
    length, trimmed = _lengths_um(rng, p, n)
    length = np.where(vellus, np.minimum(length, rng.uniform(300.0, 2200.0, n)), length)
    bend = rng.normal(0.0, np.where(trimmed, 0.2, 0.7))
    ctrl = np.empty((n, 4, 2))
    ctrl[:, 0] = root
    step = length / upp / 3.0
    for k, a in enumerate((ang, ang + bend / 2, ang + bend), start=1):
        ctrl[:, k, 0] = ctrl[:, k - 1, 0] + step * np.cos(a)
        ctrl[:, k, 1] = ctrl[:, k - 1, 1] + step * np.sin(a)

    weights = np.array(p.end_weights) / sum(p.end_weights)
    end = rng.choice(len(END_STYLES), size=n, p=weights).astype(np.int64)
    # long hairs mostly end in a natural taper, the rest were cut once
    natural = (~trimmed) & (rng.random(n) < 0.6)
    end[natural] = END_STYLES.index("tapered")

    skin = np.array(skin_colour(p.skin_tone, p.skin_warmth))
    base = np.array(HAIR_PALETTE[p.hair_colour])
    rgb = base[None, :] * rng.uniform(0.85, 1.15, (n, 1))
    grey = rng.random(n) < p.grey_share
    rgb[grey] = np.array(HAIR_PALETTE["white"]) * rng.uniform(0.8, 1.0, (int(grey.sum()), 1))
    mix = rng.uniform(0.35, 0.65, n)[:, None]
    rgb = np.where(vellus[:, None], (1 - mix) * rgb + mix * skin[None, :], rgb)
    alpha = np.where(vellus, rng.uniform(0.55, 0.9, n), rng.uniform(0.92, 1.0, n))
    return Shafts(
        ctrl=ctrl,
        diameter_um=diameter,
        length_um=length,
        rgb=np.clip(rgb, 0.0, 1.0),
        alpha=alpha,
        end=end,
        trimmed=trimmed,
        natural=natural,
        unit=unit,
    )


def _near_frame(s: Shafts, p: Params) -> B:
    """The shafts whose hull (the control points) comes near the frame."""
    pad = 130.0 / p.um_per_px
    lo, hi = s.ctrl.min(axis=1), s.ctrl.max(axis=1)
    near: B = (hi[:, 0] > -pad) & (lo[:, 0] < p.width + pad) & (hi[:, 1] > -pad)
    near &= lo[:, 1] < p.height + pad
    return near


def regrow(
    rng: np.random.Generator, p: Params, units: Units, shafts: Shafts, factor: float
) -> tuple[Units, B, Shafts]:
    """The same site months later with ``factor`` times the hairs near the frame.

    Every opening and kept hair stays where it was. ``factor > 1``: new hairs wake in empty
    openings first, then join units of up to 4 (``round((factor - 1) * hairs)`` of them,
    drawn like the others); ``factor < 1``: that share of the hairs near the frame is shed
    at random. Returns the units with their new counts, which of ``shafts`` are kept, and the
    new shafts (near the frame). ``rng`` is a stream of its own, so the baseline's drawing is
    unchanged.
    """
    if not 0.2 <= factor <= 3.0:
        raise ValueError(f"regrowth factor {factor} outside 0.2-3.0")
    counts = units.hairs.copy()
    keep = np.ones(len(shafts), dtype=bool)
    if factor < 1.0:
        shed = rng.choice(len(shafts), size=round((1.0 - factor) * len(shafts)), replace=False)
        keep[shed] = False
        np.subtract.at(counts, shafts.unit[shed], 1)
        return replace(units, hairs=counts), keep, subset(shafts, np.zeros_like(keep))
    add = round((factor - 1.0) * int(counts.sum()))
    empty = list(rng.permutation(np.flatnonzero(counts == 0)))
    woke: list[int] = []
    while len(woke) < add:
        if empty:
            u = int(empty.pop())
        else:
            room = np.flatnonzero(counts < 4)
            if room.size == 0:
                break
            u = int(rng.choice(room))
        woke.append(u)
        counts[u] += 1
    unit = np.array(woke, dtype=np.int64)
    root = units.xy[unit] + rng.normal(0.0, 8.0 / p.um_per_px, (len(unit), 2))
    new = _grow(rng, p, root, unit, units.angle[unit])
    return replace(units, hairs=counts), keep, subset(new, _near_frame(new, p))


def join(a: Shafts, b: Shafts) -> Shafts:
    """The shafts of ``a`` then those of ``b``."""
    return Shafts(**{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _FIELDS})


def subset(s: Shafts, keep: B) -> Shafts:
    """The shafts of ``s`` where ``keep`` is true."""
    return Shafts(**{f: getattr(s, f)[keep] for f in _FIELDS})


_FIELDS = tuple(f.name for f in fields(Shafts))


def _bezier(ctrl: F64, t: F64) -> tuple[F64, F64]:
    """Points and unit tangents of one cubic Bezier at parameters ``t``."""
    p0, p1, p2, p3 = ctrl
    s = 1 - t[:, None]
    tt = t[:, None]
    pts = s**3 * p0 + 3 * s**2 * tt * p1 + 3 * s * tt**2 * p2 + tt**3 * p3
    d = 3 * s**2 * (p1 - p0) + 6 * s * tt * (p2 - p1) + 3 * tt**2 * (p3 - p2)
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    tan = d / np.where(norm > 1e-9, norm, 1.0)
    return pts, tan


def _fill(
    draw: ImageDraw.ImageDraw,
    pts: F64,
    tan: F64,
    half: F64,
    offset: F64,
    rgba: tuple[int, int, int, int],
    slant: float = 0.0,
) -> None:
    """Fill the outline of a band ``offset +- half`` (pixels) along a polyline; ``slant``
    shifts the last point of the two sides along the tangent in opposite directions."""
    nrm = np.stack([-tan[:, 1], tan[:, 0]], axis=1)
    left = pts + nrm * (offset + half)[:, None]
    right = pts + nrm * (offset - half)[:, None]
    if slant:
        left[-1] += tan[-1] * slant * half[-1]
        right[-1] -= tan[-1] * slant * half[-1]
    outline = np.concatenate([left, right[::-1]])
    draw.polygon([(float(x), float(y)) for x, y in outline], fill=rgba)


def _rgba(rgb: F64, alpha: float) -> tuple[int, int, int, int]:
    c = np.clip(np.rint(rgb * 255.0), 0, 255).astype(int)
    return int(c[0]), int(c[1]), int(c[2]), int(np.clip(round(alpha * 255), 0, 255))


def draw_shaft(
    draw: ImageDraw.ImageDraw,
    s: Shafts,
    i: int,
    rng: np.random.Generator,
    *,
    ss: int,
    um_per_px: float,
    shading: str,
) -> None:
    """Draw hair ``i`` on a canvas ``ss`` times the output size (Pillow, RGBA blending)."""
    ctrl = (s.ctrl[i] * ss) + (ss - 1) / 2.0  # output pixel centres -> canvas coordinates
    length_px = float(s.length_um[i]) / um_per_px * ss
    width = float(s.diameter_um[i]) / um_per_px * ss
    alpha = float(s.alpha[i])
    if width < 1.2:  # too thin to outline reliably: draw 1.2 px and lower the opacity
        alpha *= width / 1.2
        width = 1.2
    style = END_STYLES[int(s.end[i])]
    fray_px = 0.0
    t_end = 1.0
    if style == "frayed":
        fray_px = min(float(rng.uniform(20.0, 70.0)) / um_per_px * ss, 0.3 * length_px)
        t_end = 1.0 - fray_px / max(length_px, 1e-6)
    n = int(np.clip(math.ceil(length_px / (4.0 * ss)), 4, 160))
    t = np.linspace(0.0, t_end, n)
    pts, tan = _bezier(ctrl, t)
    half = np.full(n, width / 2.0)
    if style == "tapered":
        taper_px = (
            float(rng.uniform(0.1, 0.35)) * length_px
            if not s.trimmed[i]
            else min(float(rng.uniform(30.0, 90.0)) / um_per_px * ss, 0.5 * length_px)
        )
        frac = taper_px / max(length_px, 1e-6)
        half *= np.clip((1.0 - t) / max(frac, 1e-6), 0.1, 1.0)
    slant = math.tan(math.radians(float(rng.uniform(25.0, 65.0)))) if style == "oblique" else 0.0
    rgb = s.rgb[i]
    zero = np.zeros(n)
    if shading == "flat" or width < 3.0:
        _fill(draw, pts, tan, half, zero, _rgba(rgb, alpha), slant)
    else:
        _fill(draw, pts, tan, half, zero, _rgba(rgb * 0.72, alpha), slant)
        _fill(draw, pts, tan, half * 0.55, zero, _rgba(rgb * 1.08 + 0.03, alpha), slant * 0.55)
        if shading == "glossy":
            hi = rgb + (1.0 - rgb) * 0.5
            _fill(draw, pts, tan, half * 0.16, half * 0.3, _rgba(hi, 0.75 * alpha))
    if style == "frayed":
        start, direction = pts[-1], tan[-1]
        k = int(rng.integers(2, 4))
        base = math.atan2(direction[1], direction[0])
        for j in range(k):
            a = base + math.radians(float(rng.uniform(4.0, 22.0))) * (j - (k - 1) / 2)
            ln = fray_px * float(rng.uniform(0.8, 1.3))
            end = start + ln * np.array([math.cos(a), math.sin(a)])
            mid = (start + end) / 2 + rng.normal(0.0, 0.05 * ln, 2)
            sub = np.stack([start, mid, end])
            stan = np.diff(sub, axis=0)
            stan = np.concatenate([stan, stan[-1:]]) / max(ln / 2, 1e-6)
            sh = np.array([width / (k + 0.5), width / (k + 1.0), width / (2 * k + 2)]) / 2
            _fill(draw, sub, stan, np.maximum(sh, 0.6), np.zeros(3), _rgba(rgb, alpha))


def is_vellus(diameter_um: F64) -> B:
    """Vellus split used for the truth (the model's own split)."""
    out: B = diameter_um < VELLUS_SPLIT_UM
    return out
