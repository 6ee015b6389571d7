"""Which hair roots a hair model misses, and what they look like (``scripts/study_roots.py``;
its figures: :mod:`sim.generality.roots_report`).

The bench's recall (:func:`sim.heldout.metrics.hair_finders`, the matching
:func:`sim.heldout.metrics.score` counts by: a detection within 60 um claims as many true
roots as the hairs it reports) split by how each root looks in the image, measured the same
way on every generator from the pixels and the truth's root positions and diameters alone:

- opening contrast: skin luma minus the mean luma of a disc one hair diameter across at
  the root (> 0: the root sits on something darker than the skin). The skin is the median
  luma of an annulus 3 to 5 diameters out (at least 90 to 150 um: a vellus hair's own
  opening would fill an annulus of 60-100 um), leaving out the pixels of shafts the truth
  draws (its own too);
- behind-root contrast: skin minus the luma 0.5, 1 and 1.5 diameters behind the root, away
  from its shaft - an opening as the model could see it beside the shaft's own darkness;
- shaft contrast: skin minus the luma 20-60 um along the shaft from the root;
- whether another hair's shaft crosses within 60 um of the root (its own root further), how
  many other roots lie within 60 um (a unit's mates: a detection claims as many as it
  reports) and within 250 um (local density), and how far the frame's edge is.

The shafts' geometry is the truth's: the direction at the root and the length where it
gives them (a straight shaft: arcs and curls are drawn straight here), the ``shafts`` list of
blind-3 and blind-4, and the twin's own shaft points (its world rebuilt from the truth's
scalp). Where a truth gives none, the measures that need one are left out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import distance_transform_edt, map_coordinates
from scipy.spatial import cKDTree

from inference import HairModel
from sim.config import ScalpConfig
from sim.generality.cases import (
    BLIND3,
    BLIND13,
    BLIND19,
    BLIND21,
    Case,
    labels,
)
from sim.generality.tips import (
    IMAGE_FACTORS,
    _bin,
    _luma,
    reads,
)
from sim.heldout.metrics import MATCH_RADIUS_UM, VELLUS_SPLIT_UM, hair_finders, score
from sim.render import View, shaft_points
from sim.scalp import generate_scalp

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
DEFAULT_GENERATORS = (BLIND21, BLIND19, BLIND13, BLIND3)
SKIN_DIAMETERS = (3.0, 5.0)  # the skin annulus, in the hair's diameters
SKIN_MIN_UM = (90.0, 150.0)  # ... and at least this (see the module docstring)
BEHIND_DIAMETERS = (0.5, 1.0, 1.5)
SHAFT_UM = (20.0, 30.0, 40.0, 50.0, 60.0)
PROFILE_UM = (-120.0, -80.0, -40.0, -20.0, 0.0, 20.0, 40.0, 80.0)  # < 0: behind the root
DENSITY_UM = 250.0
NEAREST_UM = 250.0  # the nearest detection's offset along the shaft: only within this
NEAREST_BANDS = (
    ("within 60 um", -1.0, 60.0),
    ("60-120 um", 60.0, 120.0),
    ("120-250 um", 120.0, NEAREST_UM),
    ("none within 250 um", NEAREST_UM, math.inf),
)
CONTRAST_EDGES = (0.0, 0.05, 0.1, 0.2, 0.35)  # luma (0-1) bins of every contrast
BENCH_KEYS = ("terminal", "terminal_hit", "vellus", "vellus_hit")  # score()'s recall counts
# the measures compared between generators (name, key in RootFind.measures)
CONTRASTS = (
    ("opening contrast", "opening"),
    ("behind-root contrast", "behind"),
    ("shaft contrast 20-60 um", "shaft"),
)


@dataclass(frozen=True)
class Shaft:
    """A hair's shaft in pixels, root first, and its diameter in pixels; ``whole``: the
    points reach its end (else they only give its direction at the root)."""

    points: F64
    diameter_px: float
    whole: bool


@dataclass(frozen=True)
class RootFind:
    """One true root: its image and place in it, whether a detection claims it (``read``,
    the bench's recall) and whether any detection lies within the radius (``near``), its
    numeric measures (luma 0-1, um, counts; a measure the truth cannot give is absent) and
    its factors (factor -> bin)."""

    image: str
    x_px: float
    y_px: float
    read: bool
    near: bool
    terminal: bool
    measures: dict[str, float]
    factors: dict[str, str]


@dataclass
class Study:
    """A generator's roots and its bench figures (``score()``'s terminal and vellus hits)."""

    generator: str
    roots: list[RootFind] = field(default_factory=list)
    bench: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BENCH_KEYS, 0))


# -- geometry --------------------------------------------------------------------------------


def _straight(x: float, y: float, deg: float, length_px: float) -> F64:
    a = math.radians(deg)
    return np.array([[x, y], [x + length_px * math.cos(a), y + length_px * math.sin(a)]])


def twin_shafts(truth: dict[str, Any]) -> tuple[list[Shaft | None], list[Shaft]]:
    """A twin frame's shafts, its world rebuilt from the truth's scalp: each truth hair's,
    found among the world's by its pixel position (None where none lies within 0.02 px),
    and those of the hairs rooted outside the frame that may reach into it."""
    world = generate_scalp(ScalpConfig.model_validate(truth["scalp"]))
    w, h, upp = int(truth["width"]), int(truth["height"]), float(truth["um_per_px"])
    view = View(0.0, 0.0, 0.0, upp, w, h)
    u, v = view.world_to_pixel(world.hairs.x_mm, world.hairs.y_mm)
    tree = cKDTree(np.stack([u, v], axis=1))

    def shaft(i: int) -> Shaft:
        d_px = float(world.hairs.diameter_um[i]) / upp
        return Shaft(shaft_points(world, i, view, step_px=2.0), d_px, True)

    own: list[Shaft | None] = []
    taken = set()
    for hair in truth["hairs"]:
        dist, i = tree.query([hair["x_px"], hair["y_px"]])
        own.append(shaft(int(i)) if dist <= 0.02 else None)
        taken.add(int(i))
    reach = world.hairs.length_mm / view.mm_per_px + 2.0
    near = (u > -reach) & (u < w + reach) & (v > -reach) & (v < h + reach)
    return own, [shaft(int(i)) for i in np.flatnonzero(near) if int(i) not in taken]


def truth_shafts(truth: dict[str, Any]) -> tuple[list[Shaft | None], list[Shaft]]:
    """Each hair's shaft as far as the truth gives it: the twin's (:func:`twin_shafts`),
    ``shafts`` entries (``angle_rad``, ``length_px``), or ``direction_deg`` with or without
    ``length_um``; None where it gives no direction. Second, the shafts of hairs rooted
    outside the frame, where known (the twin's only)."""
    hairs = truth["hairs"]
    upp = float(truth["um_per_px"])
    if "scalp" in truth:
        return twin_shafts(truth)
    listed = truth.get("shafts")
    out: list[Shaft | None] = []
    for i, h in enumerate(hairs):
        x, y, d_px = float(h["x_px"]), float(h["y_px"]), float(h["diameter_um"]) / upp
        if isinstance(listed, list) and len(listed) == len(hairs):
            s = listed[i]
            deg = math.degrees(float(s["angle_rad"]))
            out.append(Shaft(_straight(x, y, deg, float(s["length_px"])), d_px, True))
        elif "direction_deg" in h and "length_um" in h:
            pts = _straight(x, y, float(h["direction_deg"]), float(h["length_um"]) / upp)
            out.append(Shaft(pts, d_px, True))
        elif "direction_deg" in h:
            out.append(Shaft(_straight(x, y, float(h["direction_deg"]), 1.0), d_px, False))
        else:
            out.append(None)
    return out, []


def _along(points: F64, t_px: F64) -> F64:
    """Points at arc lengths ``t_px`` along a polyline (< 0: behind its first point, on its
    first segment's line; past its end: on its last's)."""
    seg = np.diff(points, axis=0)
    ln = np.hypot(seg[:, 0], seg[:, 1])
    keep = ln > 1e-9
    if not keep.any():
        return np.repeat(points[:1], len(t_px), axis=0)
    seg, ln = seg[keep], ln[keep]
    base = np.concatenate([points[:1], points[:1] + np.cumsum(seg, axis=0)[:-1]])
    start = np.concatenate([[0.0], np.cumsum(ln)[:-1]])
    k = np.clip(np.searchsorted(start, t_px, side="right") - 1, 0, len(ln) - 1)
    out: F64 = base[k] + seg[k] * ((t_px - start[k]) / ln[k])[:, None]
    return out


def _samples(points: F64, step_px: float = 0.5) -> F64:
    """Points every ``step_px`` along a polyline, its ends included."""
    seg = np.hypot(*np.diff(points, axis=0).T)
    total = float(seg.sum())
    t = np.linspace(0.0, total, max(math.ceil(total / step_px) + 1, 2))
    return _along(points, t)


def hair_mask(shape: tuple[int, int], shafts: Iterable[Shaft | None]) -> NDArray[np.bool_]:
    """Pixels within half a diameter and a pixel of a whole shaft's centre line."""
    h, w = shape
    centre = np.zeros(shape, dtype=bool)
    radius = np.zeros(shape, dtype=np.float64)
    for s in shafts:
        if s is None or not s.whole:
            continue
        d = s.diameter_px
        p = np.rint(_samples(s.points)).astype(np.int64)
        p = p[(p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)]
        centre[p[:, 1], p[:, 0]] = True
        radius[p[:, 1], p[:, 0]] = np.maximum(radius[p[:, 1], p[:, 0]], d / 2.0 + 1.0)
    if not centre.any():
        return centre
    dist, (iy, ix) = distance_transform_edt(~centre, return_indices=True)
    out: NDArray[np.bool_] = dist <= radius[iy, ix]
    return out


# -- measures --------------------------------------------------------------------------------

# a unit disc sampled on rings (centre, 6, 12, 18 points), for a disc's mean luma
_DISC = np.concatenate(
    [
        np.zeros((1, 2)),
        *(
            r * np.stack([np.cos(a), np.sin(a)], axis=1)
            for r, n in ((1 / 3, 6), (2 / 3, 12), (1.0, 18))
            for a in [np.arange(n) * 2 * math.pi / n]
        ),
    ]
)


def _luma_at(luma: F64, xy: F64) -> F64:
    out: F64 = map_coordinates(luma, [xy[:, 1], xy[:, 0]], order=1, mode="nearest")
    return out


def skin_luma(
    luma: F64, mask: NDArray[np.bool_] | None, x: float, y: float, d_um: float, upp: float
) -> float:
    """Median luma of the skin annulus around (x, y) (:data:`SKIN_DIAMETERS`, at least
    :data:`SKIN_MIN_UM`), the pixels of ``mask`` (shafts) left out. Where shafts cover
    three quarters of it or more, its outer radius doubles, twice at most, before the
    annulus is taken whole (a frame matted with hair has little skin to show)."""
    r0 = max(SKIN_DIAMETERS[0] * d_um, SKIN_MIN_UM[0]) / upp
    r1 = max(SKIN_DIAMETERS[1] * d_um, SKIN_MIN_UM[1]) / upp
    h, w = luma.shape
    need = 0
    for grow in (1.0, 2.0, 4.0):
        r2 = r0 + (r1 - r0) * grow
        x0, x1 = max(int(x - r2), 0), min(int(x + r2) + 2, w)
        y0, y1 = max(int(y - r2), 0), min(int(y + r2) + 2, h)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        r = np.hypot(xx - x, yy - y)
        ring = (r >= r0) & (r <= r2)
        need = need or max(8, int(ring.sum()) // 4)
        free = ring if mask is None else ring & ~mask[y0:y1, x0:x1]
        if free.sum() >= need:
            return float(np.median(luma[y0:y1, x0:x1][free]))
    vals = luma[y0:y1, x0:x1][ring]
    return float(np.median(vals)) if vals.size else float(luma[int(y), int(x)])


def root_measures(
    luma: F64,
    mask: NDArray[np.bool_] | None,
    hair: dict[str, Any],
    shaft: Shaft | None,
    upp: float,
) -> dict[str, float]:
    """A root's own measures (luma 0-1 contrasts against its skin, its skin, diameter):
    ``opening``, ``skin``, ``diameter_um`` always; ``behind``, ``shaft`` and the contrast
    along the axis at each of :data:`PROFILE_UM` (``at -40 um``, ...) where the ``shaft`` is
    known."""
    x, y, d_um = float(hair["x_px"]), float(hair["y_px"]), float(hair["diameter_um"])
    skin = skin_luma(luma, mask, x, y, d_um, upp)
    r_px = max(d_um / 2.0 / upp, 0.5)
    disc = float(_luma_at(luma, np.array([x, y]) + r_px * _DISC).mean())
    out = {"opening": skin - disc, "skin": skin, "diameter_um": d_um}
    if shaft is not None:
        # arc lengths in pixels; behind the root and past a short shaft's end the points
        # go on along its first and last segments
        behind = -np.array(BEHIND_DIAMETERS) * max(d_um / upp, 1.0)
        out["behind"] = skin - float(_luma_at(luma, _along(shaft.points, behind)).mean())
        along = np.array(SHAFT_UM) / upp
        out["shaft"] = skin - float(_luma_at(luma, _along(shaft.points, along)).mean())
        prof = skin - _luma_at(luma, _along(shaft.points, np.array(PROFILE_UM) / upp))
        out.update({f"at {t:g} um": float(c) for t, c in zip(PROFILE_UM, prof, strict=True)})
    return out


def neighbours(
    truth: dict[str, Any],
    shafts: Sequence[Shaft | None],
    outside: Sequence[Shaft],
    radius_px: float,
) -> list[dict[str, float]]:
    """Per hair: ``mates`` (other roots within ``radius_px``), ``density_roots`` (other roots,
    the frame's and those just outside it, within :data:`DENSITY_UM`), ``edge_um`` (to the
    frame's nearest edge) and, where every hair's shaft is whole, ``crossed`` (1: another
    shaft, the frame's or one of ``outside``, rooted further than ``radius_px`` away, passes
    within ``radius_px``)."""
    hairs = truth["hairs"]
    upp = float(truth["um_per_px"])
    w, h = int(truth["width"]), int(truth["height"])
    xy = np.array([(a["x_px"], a["y_px"]) for a in hairs], dtype=np.float64).reshape(-1, 2)
    out_xy = [(e["x_px"], e["y_px"]) for e in truth.get("emergence_outside", [])]
    every = np.concatenate([xy, np.array(out_xy, dtype=np.float64).reshape(-1, 2)])
    tree = cKDTree(every) if len(every) else None
    lines: cKDTree | None = None
    if hairs and all(s is not None and s.whole for s in shafts):
        pts = [_samples(s.points) for s in [*shafts, *outside] if s is not None]
        roots = np.array([p[0] for p in pts])
        owner = np.concatenate([np.full(len(p), k) for k, p in enumerate(pts)])
        lines = cKDTree(np.concatenate(pts))
    res = []
    for i, (x, y) in enumerate(xy):
        m: dict[str, float] = {"edge_um": min(x + 0.5, y + 0.5, w - 0.5 - x, h - 0.5 - y) * upp}
        if tree is not None:
            m["mates"] = len(tree.query_ball_point((x, y), radius_px)) - 1
            m["density_roots"] = len(tree.query_ball_point((x, y), DENSITY_UM / upp)) - 1
        if lines is not None:
            others = {int(owner[k]) for k in lines.query_ball_point((x, y), radius_px)}
            m["crossed"] = float(any(math.hypot(*(roots[k] - xy[i])) > radius_px for k in others))
        res.append(m)
    return res


def nearest_detection(
    hair: dict[str, Any], shaft: Shaft | None, dets_xy: F64, upp: float
) -> dict[str, float]:
    """Where the detection nearest a root sits: ``nearest_um`` (its distance; absent where
    the frame has none) and, within :data:`NEAREST_UM` where the shaft's direction is known,
    ``nearest_along_um`` (its offset along the shaft from the root, > 0: up the shaft)."""
    if not len(dets_xy):
        return {}
    xy = np.array([hair["x_px"], hair["y_px"]], dtype=np.float64)
    gap = np.hypot(*(dets_xy - xy).T) * upp
    j = int(gap.argmin())
    out = {"nearest_um": float(gap[j])}
    if shaft is not None and gap[j] <= NEAREST_UM:
        step = np.diff(_along(shaft.points, np.array([0.0, 1.0])), axis=0)[0]
        if np.hypot(*step) > 1e-6:
            out["nearest_along_um"] = float((dets_xy[j] - xy) @ step / np.hypot(*step) * upp)
    return out


def root_factors(m: dict[str, float], image: dict[str, str], kind: str | None) -> dict[str, str]:
    """A root's factors (bins of its measures ``m``, its kind in the truth's words where it
    gives one, and its image's factors ``image``: the bench's labels)."""
    out = {"diameter, um": _bin(m["diameter_um"], (VELLUS_SPLIT_UM, 55.0, 80.0))}
    if kind is not None:
        out["truth's kind"] = kind
    for name, key in CONTRASTS:
        if key in m:
            out[f"{name} (skin - root luma)"] = _bin(m[key], CONTRAST_EDGES)
    out["skin luma"] = _bin(m["skin"], (0.3, 0.45, 0.6, 0.75))
    if "crossed" in m:
        out["another shaft within 60 um"] = "crossed" if m["crossed"] else "clear"
    if "mates" in m:
        out["other roots within 60 um"] = str(min(int(m["mates"]), 2)) + (
            "+" if m["mates"] >= 2 else ""
        )
        out[f"other roots within {DENSITY_UM:g} um"] = _bin(m["density_roots"], (1, 3, 6))
    out["frame edge, um"] = _bin(m["edge_um"], (60.0, 200.0))
    out["nearest detection, um"] = _bin(m.get("nearest_um", math.inf), (30.0, 60.0, 120.0, 250.0))
    if "nearest_along_um" in m:
        out["nearest detection along the shaft, um"] = _bin(
            m["nearest_along_um"], (-30.0, -10.0, 10.0, 30.0, 60.0)
        )
    for k in IMAGE_FACTORS:
        if k in image:
            out[k] = image[k]
    return out


def study_image(
    case: Case, img: NDArray[np.uint8], truth: dict[str, Any], read: dict[str, Any]
) -> tuple[list[RootFind], dict[str, int]]:
    """One image's roots (:class:`RootFind`) and its bench figures: ``score()``'s terminal
    and vellus counts and hits."""
    upp = float(truth["um_per_px"])
    r_px = MATCH_RADIUS_UM / upp
    found, near = hair_finders(truth, read, r_px)
    s = score(truth, read, radius_um=MATCH_RADIUS_UM)
    bench = {k: int(getattr(s, k)) for k in BENCH_KEYS}
    hairs = truth["hairs"]
    if not hairs:
        return [], bench
    luma = _luma(img)
    shafts, outside = truth_shafts(truth)
    mask = hair_mask(luma.shape, [*shafts, *outside])
    image = labels(case, truth)
    dets = [(e["x_px"], e["y_px"]) for e in read.get("emergence_points", [])]
    dets_xy = np.array(dets, dtype=np.float64).reshape(-1, 2)
    out = []
    for hair, shaft, k, nr, nb in zip(
        hairs, shafts, found, near, neighbours(truth, shafts, outside, r_px), strict=True
    ):
        m = {
            **root_measures(luma, mask, hair, shaft, upp),
            **nb,
            **nearest_detection(hair, shaft, dets_xy, upp),
        }
        terminal = float(hair["diameter_um"]) >= VELLUS_SPLIT_UM
        kind = str(hair["kind"]) if "kind" in hair else None
        factors = root_factors(m, image, kind)
        x, y = float(hair["x_px"]), float(hair["y_px"])
        out.append(RootFind(case.name, x, y, bool(k >= 0), bool(nr), terminal, m, factors))
    return out, bench


def study(cases: Iterable[Case], files: Iterable[str], model: HairModel) -> dict[str, Study]:
    """Run ``model`` on every case's image (built: ``files``) and study its roots."""
    out: dict[str, Study] = {}
    for case, img, truth, read in reads(cases, files, model):
        st = out.setdefault(case.generator, Study(case.generator))
        roots, bench = study_image(case, img, truth, read)
        st.roots += roots
        for k, v in bench.items():
            st.bench[k] += v
    return out
