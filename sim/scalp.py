"""Procedural scalp world with exact ground truth for every hair and follicle.

World coordinates are millimetres on the scalp surface, origin at the patch centre,
+y towards the forehead. Hairs are grouped in follicular units of 1-4 hairs that
share one opening; some openings are empty (they are not hairs).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import get_args

import numpy as np
from numpy.typing import NDArray

from sim.config import Curl, HairColour, ScalpConfig

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

VELLUS_THRESHOLD_UM = 30.0
# A hair this short above the skin is a black dot (broken at the surface, no free end to see):
# only synth-v18's training scalps hold one (sim.dataset._maybe_black_dots).
BLACK_DOT_MAX_MM = 0.035

# Reflectance (linear RGB) of hair pigment, darkest to lightest.
HAIR_RGB: dict[str, tuple[float, float, float]] = {
    "black": (0.035, 0.030, 0.028),
    "dark_brown": (0.09, 0.06, 0.045),
    "brown": (0.20, 0.13, 0.08),
    "auburn": (0.32, 0.14, 0.07),
    "blond": (0.62, 0.50, 0.32),
    "grey": (0.55, 0.55, 0.55),
    "white": (0.86, 0.85, 0.82),
}

# Skin reflectance at the two ends of the tone scale (Fitzpatrick I .. VI).
_SKIN_LIGHT = np.array([0.80, 0.62, 0.52])
_SKIN_DARK = np.array([0.20, 0.13, 0.10])

# Share of follicular units holding 1, 2, 3, 4 hairs (typical adult scalp).
UNIT_SHARES = (0.30, 0.45, 0.20, 0.05)

CURLS: tuple[Curl, ...] = get_args(Curl)
# Per curl, the ranges its hairs' heading swing (radians either way) and swing period (mm
# of shaft) are drawn from. A swing past ~1.3 rad turns the shaft back on itself: from above,
# a coiled hair is a chain of loops that advances little (a tight spring seen side-on).
CURL_WAVES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "wavy": ((0.25, 0.6), (2.0, 5.0)),
    "curly": ((0.6, 1.3), (0.8, 2.0)),
    "coiled": ((1.3, 2.2), (0.25, 0.8)),
}
CURL_POINTS_PER_PERIOD = 16  # shaft points per swing period, at the least
CURL_STEP_PX = 2.0  # a curled shaft is traced at this step whatever a caller asks (shaft_steps)
CURL_VERSION = 2  # bump when a curled shaft's path changes (it names curled training caches)
VELLUS_SWING = 0.5  # a vellus hair's curl swings this share as far as a terminal one's


def swing_scale(diameter_um: F64) -> F64:
    """Each hair's share of its curl's swing by its diameter (:data:`VELLUS_SWING` if vellus)."""
    return np.where(diameter_um < VELLUS_THRESHOLD_UM, VELLUS_SWING, 1.0)


def skin_rgb(tone: float) -> F64:
    """Linear RGB reflectance of skin for a tone in 0 (very light) .. 1 (very dark)."""
    t = float(np.clip(tone, 0.0, 1.0))
    # Perceptually even steps need a curved blend: most tones sit in the middle.
    w = t**1.3
    out: F64 = (1 - w) * _SKIN_LIGHT + w * _SKIN_DARK
    return out


@dataclass(frozen=True)
class Hairs:
    """Ground truth for every hair: one array entry per hair, units in the names."""

    x_mm: F64
    y_mm: F64
    angle_rad: F64  # direction the shaft lies in, on the scalp plane
    curvature_per_mm: F64
    length_mm: F64  # visible length lying on the scalp
    diameter_um: F64
    rgb: F64  # (n, 3) linear reflectance
    trimmed: NDArray[np.bool_]
    unit_id: NDArray[np.int64]
    # The heading also swings by wave_amp_rad * sin(2 pi t / wave_period_mm + wave_phase_rad)
    # at arc length t (curl, below); 0 for a straight hair, whose shaft then bends only by
    # its curvature.
    wave_amp_rad: F64
    wave_period_mm: F64
    wave_phase_rad: F64

    def __len__(self) -> int:
        return int(self.x_mm.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> Hairs:
        """The hairs ``mask`` selects (a boolean array, one entry per hair)."""
        return Hairs(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})

    def heading(self, i: int, t: F64) -> F64:
        """Direction (radians, on the scalp plane) of hair ``i``'s shaft at arc lengths ``t``
        (mm from its emergence point). Exactly ``angle + curvature * t`` for a straight hair."""
        ang: F64 = float(self.angle_rad[i]) + float(self.curvature_per_mm[i]) * t
        amp = float(self.wave_amp_rad[i])
        if amp != 0.0:
            period = float(self.wave_period_mm[i])
            ang = ang + amp * np.sin(2.0 * np.pi * t / period + float(self.wave_phase_rad[i]))
        return ang

    def shaft_steps(self, i: int, mm_per_px: float, step_px: float) -> int:
        """How many points trace hair ``i``'s shaft at ``step_px`` pixels apart.

        A curled hair ignores ``step_px``: it is traced at :data:`CURL_STEP_PX` and at least
        :data:`CURL_POINTS_PER_PERIOD` points per swing, so that the renderer's shaft, the
        training targets' shaft and tip, and the bench's free ends are one polyline (a
        swinging heading summed at different steps ends tens of um apart)."""
        length = float(self.length_mm[i])
        if float(self.wave_amp_rad[i]) == 0.0:
            return max(2, math.ceil(length / mm_per_px / step_px) + 1)
        period = float(self.wave_period_mm[i])
        if not period > 0.0:
            raise ValueError(f"hair {i}: a curled hair needs a swing period over 0 mm")
        return max(
            2,
            math.ceil(length / mm_per_px / CURL_STEP_PX) + 1,
            math.ceil(CURL_POINTS_PER_PERIOD * length / period) + 1,
        )


@dataclass(frozen=True)
class Follicles:
    """Follicle openings: every unit, and whether it is empty."""

    x_mm: F64
    y_mm: F64
    radius_mm: F64
    hair_count: NDArray[np.int64]  # 0 for an empty follicle


@dataclass(frozen=True)
class ScalpWorld:
    """A square patch of scalp, ``extent_mm`` wide, with hairs, follicles and skin texture."""

    extent_mm: float
    hairs: Hairs
    follicles: Follicles
    skin: F64  # base skin RGB
    texture: F32  # (n, n) skin texture multiplier around 1, spacing texture_mm
    sheen: F32  # (n, n) 0..1 oily sheen that glares under the non-polarised ring
    texture_mm: float
    config: ScalpConfig

    def hairs_in(self, x0: float, y0: float, x1: float, y1: float) -> NDArray[np.bool_]:
        """Mask of hairs emerging inside the axis-aligned world rectangle."""
        h = self.hairs
        return (h.x_mm >= x0) & (h.x_mm < x1) & (h.y_mm >= y0) & (h.y_mm < y1)


def _smooth_noise(rng: np.random.Generator, n: int, scale_px: float) -> F32:
    """Gaussian-filtered white noise (via FFT), normalised to zero mean, unit std."""
    white = rng.standard_normal((n, n))
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    h = np.exp(-2.0 * (np.pi * scale_px) ** 2 * (fx**2 + fy**2))
    field = np.fft.irfft2(np.fft.rfft2(white) * h, s=(n, n))
    field -= field.mean()
    std = field.std()
    return (field / (std if std > 0 else 1.0)).astype(np.float32)


def _unit_positions(rng: np.random.Generator, count: int, extent_mm: float) -> F64:
    """Follicular unit openings spread evenly but not on a grid (jittered grid)."""
    side = int(np.ceil(np.sqrt(count)))
    step = extent_mm / side
    gy, gx = np.mgrid[0:side, 0:side].astype(np.float64)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    pts = (pts + 0.5 + rng.uniform(-0.38, 0.38, pts.shape)) * step - extent_mm / 2
    rng.shuffle(pts)
    out: F64 = pts[:count]
    return out


def generate_scalp(cfg: ScalpConfig) -> ScalpWorld:
    """Make a scalp world from its config; the same config always gives the same world."""
    rng = np.random.default_rng(cfg.seed)
    extent = cfg.extent_mm
    area_cm2 = (extent / 10.0) ** 2
    n_hairs_target = round(cfg.density_per_cm2 * area_cm2)

    mean_per_unit = float(np.dot(UNIT_SHARES, [1, 2, 3, 4]))
    n_units = max(1, round(n_hairs_target / mean_per_unit))
    sizes = rng.choice([1, 2, 3, 4], size=n_units, p=UNIT_SHARES)
    # Trim or pad unit sizes so the total hits the target density exactly.
    diff = n_hairs_target - int(sizes.sum())
    while diff != 0:
        i = int(rng.integers(n_units))
        if diff > 0 and sizes[i] < 4:
            sizes[i] += 1
            diff -= 1
        elif diff < 0 and sizes[i] > 1:
            sizes[i] -= 1
            diff += 1
    n_empty = round(cfg.empty_follicle_fraction * n_units)
    unit_xy = _unit_positions(rng, n_units + n_empty, extent)
    counts = np.concatenate([sizes, np.zeros(n_empty, dtype=sizes.dtype)]).astype(np.int64)

    hair_unit = np.repeat(np.arange(n_units), sizes[:n_units])
    n = hair_unit.shape[0]
    # Hairs of one unit emerge from one opening, fanning out slightly.
    x = unit_xy[hair_unit, 0] + rng.normal(0, 0.015, n)
    y = unit_xy[hair_unit, 1] + rng.normal(0, 0.015, n)

    # A smooth hair-flow field (a whorl-like drift), plus per-hair scatter.
    flow = 0.35 * np.sin(unit_xy[hair_unit, 0] / 9.0) + 0.25 * np.cos(unit_xy[hair_unit, 1] / 7.0)
    angle = -np.pi / 2 + flow + rng.normal(0, 0.35, n)
    # A share of hairs grow against the flow: the crossing hairs of a real scalp.
    crossing = rng.random(n) < 0.12
    angle[crossing] += rng.uniform(0.6, 2.5, int(crossing.sum())) * rng.choice(
        [-1, 1], int(crossing.sum())
    )

    vellus = rng.random(n) < cfg.vellus_fraction
    diameter = np.where(
        vellus,
        rng.uniform(12.0, 28.0, n),
        np.clip(rng.normal(72.0, 14.0, n), 42.0, 115.0),
    )
    if cfg.hair_length == "trimmed":
        trimmed = np.ones(n, dtype=bool)
    elif cfg.hair_length == "long":
        trimmed = np.zeros(n, dtype=bool)
    else:
        trimmed = rng.random(n) < 0.5
    length = np.where(trimmed, rng.uniform(0.5, 1.3, n), rng.uniform(5.0, 14.0, n))
    length = np.where(vellus, np.minimum(length, rng.uniform(0.4, 2.5, n)), length)
    curvature = rng.normal(0.0, 0.06, n) * np.where(trimmed, 0.3, 1.0)

    base = np.array(HAIR_RGB[cfg.hair_colour])
    rgb = base[None, :] * rng.uniform(0.85, 1.15, (n, 1))
    grey_mix = {"grey": 0.5, "white": 0.3}.get(cfg.hair_colour, 0.04)
    greys = rng.random(n) < grey_mix
    rgb[greys] = np.array(HAIR_RGB["white"]) * rng.uniform(0.85, 1.0, (int(greys.sum()), 1))
    # Vellus hairs carry little pigment: their colour drifts towards the skin.
    skin = skin_rgb(cfg.skin_tone)
    rgb[vellus] = 0.45 * rgb[vellus] + 0.55 * skin[None, :] * 0.85
    rgb = np.clip(rgb, 0.0, 1.0)

    radius = np.where(counts > 0, 0.035 + 0.012 * counts, 0.04) + rng.uniform(0, 0.01, counts.shape)

    texture_mm = 0.02
    tn = int(np.ceil(extent / texture_mm)) + 2
    texture = 1.0 + 0.05 * _smooth_noise(rng, tn, 25.0) + 0.03 * _smooth_noise(rng, tn, 3.0)
    sheen_field = _smooth_noise(rng, tn, 12.0)
    sheen = np.clip((sheen_field - 1.2) * 1.5, 0.0, 1.0).astype(np.float32)

    hairs = Hairs(
        x_mm=x,
        y_mm=y,
        angle_rad=angle,
        curvature_per_mm=curvature,
        length_mm=length,
        diameter_um=diameter,
        rgb=rgb,
        trimmed=trimmed,
        unit_id=hair_unit.astype(np.int64),
        wave_amp_rad=np.zeros(n),
        wave_period_mm=np.ones(n),
        wave_phase_rad=np.zeros(n),
    )
    follicles = Follicles(
        x_mm=unit_xy[:, 0].copy(), y_mm=unit_xy[:, 1].copy(), radius_mm=radius, hair_count=counts
    )
    world = ScalpWorld(
        extent_mm=extent,
        hairs=hairs,
        follicles=follicles,
        skin=skin,
        texture=texture.astype(np.float32),
        sheen=sheen,
        texture_mm=texture_mm,
        config=cfg,
    )
    return curl(world, cfg.curl, seed=cfg.seed)  # straight: the world itself


def hair_colour_names() -> tuple[HairColour, ...]:
    """Every hair colour the twin can render."""
    return ("black", "dark_brown", "brown", "auburn", "blond", "grey", "white")


def regrow(world: ScalpWorld, factor: float, seed: int = 0) -> ScalpWorld:
    """The same scalp months later, with ``factor`` times the hairs (a treatment's effect).

    Every skin feature, follicle opening and existing hair stays where it was, so a
    follow-up visit relocates onto the baseline's field exactly as on a real scalp. With
    ``factor > 1`` new hairs emerge from empty follicles first (dormant follicles waking
    up), then as extra hairs of existing units (up to 4 per opening); with ``factor < 1``
    hairs are shed at random; ``factor == 0`` sheds them all: bare skin with its empty
    openings (a patch of alopecia, or the rig aimed at hairless skin).
    """
    if not (factor == 0.0 or 0.2 <= factor <= 3.0):
        raise ValueError(f"density factor {factor} outside 0.2-3.0 (or 0: bare skin)")
    rng = np.random.default_rng(seed)
    h, f = world.hairs, world.follicles
    n = len(h)
    counts = f.hair_count.copy()
    fields = {name: getattr(h, name) for name in h.__dataclass_fields__}
    if factor < 1.0:
        keep = np.ones(n, dtype=bool)
        keep[rng.choice(n, size=round((1.0 - factor) * n), replace=False)] = False
        np.subtract.at(counts, h.unit_id[~keep], 1)
        new = {k: v[keep] for k, v in fields.items()}
    else:
        add = round((factor - 1.0) * n)
        units: list[int] = []
        empty = list(rng.permutation(np.flatnonzero(counts == 0)))
        while len(units) < add:
            if empty:
                u = int(empty.pop())
            else:
                open_units = np.flatnonzero(counts < 4)
                if open_units.size == 0:
                    break
                u = int(rng.choice(open_units))
            units.append(u)
            counts[u] += 1
        uid = np.array(units, dtype=np.int64)
        k = uid.shape[0]
        cfg = world.config
        donors = rng.integers(0, n, k)  # new hairs look like the subject's others
        x = f.x_mm[uid] + rng.normal(0, 0.015, k)
        y = f.y_mm[uid] + rng.normal(0, 0.015, k)
        flow = 0.35 * np.sin(f.x_mm[uid] / 9.0) + 0.25 * np.cos(f.y_mm[uid] / 7.0)
        vellus = rng.random(k) < cfg.vellus_fraction
        diameter = np.where(
            vellus, rng.uniform(12.0, 28.0, k), np.clip(rng.normal(72.0, 14.0, k), 42.0, 115.0)
        )
        extra = {
            "x_mm": x,
            "y_mm": y,
            "angle_rad": -np.pi / 2 + flow + rng.normal(0, 0.35, k),
            "curvature_per_mm": h.curvature_per_mm[donors],
            "length_mm": np.where(
                vellus, np.minimum(h.length_mm[donors], 2.5), h.length_mm[donors]
            ),
            "diameter_um": diameter,
            "rgb": h.rgb[donors],
            "trimmed": h.trimmed[donors],
            "unit_id": uid,
            # A donor's curl; a vellus hair swings half as far as a terminal one (curl()).
            "wave_amp_rad": h.wave_amp_rad[donors]
            * swing_scale(diameter)
            / swing_scale(h.diameter_um[donors]),
            "wave_period_mm": h.wave_period_mm[donors],
            "wave_phase_rad": (
                rng.uniform(0.0, 2.0 * np.pi, k)
                if h.wave_amp_rad.any()
                else h.wave_phase_rad[donors]
            ),
        }
        new = {name: np.concatenate([fields[name], extra[name]]) for name in fields}
    radius = np.where(counts > 0, np.maximum(f.radius_mm, 0.035 + 0.012 * counts), f.radius_mm)
    follicles = Follicles(
        x_mm=f.x_mm, y_mm=f.y_mm, radius_mm=radius, hair_count=counts.astype(np.int64)
    )
    return dataclasses.replace(world, hairs=Hairs(**new), follicles=follicles)


def curl(world: ScalpWorld, kind: Curl, seed: int = 0) -> ScalpWorld:
    """The same scalp with its hairs ``kind`` of curl: every hair keeps its emergence point,
    direction, length (along the shaft), diameter and colour, only its shaft's path winds.

    Each hair draws its own swing and period from ``kind``'s ranges (:data:`CURL_WAVES`) and
    a phase, from a random stream of ``seed`` of its own. Vellus hairs swing half as far.
    ``"straight"`` returns ``world`` unchanged.
    """
    if kind not in CURLS:
        raise ValueError(f"curl {kind!r} is not one of {', '.join(CURLS)}")
    if kind == "straight":
        return world
    (a0, a1), (p0, p1) = CURL_WAVES[kind]
    rng = np.random.default_rng([seed, 0xC0])
    h = world.hairs
    n = len(h)
    amp = rng.uniform(a0, a1, n) * swing_scale(h.diameter_um)
    hairs = dataclasses.replace(
        h,
        wave_amp_rad=amp,
        wave_period_mm=rng.uniform(p0, p1, n),
        wave_phase_rad=rng.uniform(0.0, 2.0 * np.pi, n),
    )
    return dataclasses.replace(world, hairs=hairs)
