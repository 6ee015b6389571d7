"""Pure scoring functions of the generality bench: point matching, tip hits, tallies by group.

Positions are pixels of the analysed image; radii are given in pixels (the bench turns
60 um into pixels with the image's scale).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
B = NDArray[np.bool_]
I64 = NDArray[np.int64]
# A detection matches a true emergence point (and reads a cut tip) within this distance
MATCH_RADIUS_UM = 60.0
# A hair thinner than this is vellus, for the recall figures
VELLUS_SPLIT_UM = 30.0


def _as_xy(points: Any) -> F64:
    a = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return a


def _distances(a: F64, b: F64) -> F64:
    out: F64 = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    return out


def match_emergence(truth_xy: Any, det_xy: Any, det_hairs: Any, radius_px: float) -> B:
    """Which true emergence points a detection claims (:func:`root_finders`): one bool per
    true point."""
    out: B = root_finders(truth_xy, det_xy, det_hairs, radius_px) >= 0
    return out


def root_finders(truth_xy: Any, det_xy: Any, det_hairs: Any, radius_px: float) -> I64:
    """Which detection claims each true emergence point: greedy one-to-one matching.

    Pairs closer than ``radius_px`` are taken in order of distance; a detection that
    reports ``n`` hairs (a follicular unit) may claim up to ``n`` true hairs, each true hair
    is claimed at most once. Returns one index into ``det_xy`` per true point, -1 where none
    claims it.

    Raises:
        ValueError: ``det_hairs`` is not one entry per detection.
    """
    t, d = _as_xy(truth_xy), _as_xy(det_xy)
    cap = np.asarray(det_hairs, dtype=np.int64).reshape(-1).copy()
    if cap.shape[0] != d.shape[0]:
        raise ValueError("det_hairs needs one entry per detection")
    out: I64 = np.full(t.shape[0], -1, dtype=np.int64)
    if t.shape[0] == 0 or d.shape[0] == 0:
        return out
    dist = _distances(t, d)
    ti, di = np.nonzero(dist <= radius_px)
    for k in np.argsort(dist[ti, di], kind="stable"):
        i, j = int(ti[k]), int(di[k])
        if out[i] < 0 and cap[j] > 0:
            out[i] = j
            cap[j] -= 1
    return out


def hair_finders(truth: dict[str, Any], read: dict[str, Any], radius_px: float) -> tuple[I64, B]:
    """For each of a truth's ``hairs``: the detection of ``read`` (``HairMetrics.model_dump()``)
    that claims it (:func:`root_finders`, by the hairs each detection reports; -1: none), and
    whether any detection lies within ``radius_px`` whatever hairs it reports (an opening
    found, its count aside). The recall :func:`score` counts."""
    t_xy = [(h["x_px"], h["y_px"]) for h in truth["hairs"]]
    pts = read.get("emergence_points", [])
    d_xy = [(e["x_px"], e["y_px"]) for e in pts]
    found = root_finders(t_xy, d_xy, [e["hairs"] for e in pts], radius_px)
    near = match_emergence(t_xy, d_xy, [len(t_xy)] * len(d_xy), radius_px)
    return found, near


def tip_readers(tips_xy: Any, det_xy: Any, emergence_xy: Any, radius_px: float) -> I64:
    """Which detection reads each tip as a hair: the nearest one within ``radius_px`` of the
    tip that is not within ``radius_px`` of any true emergence point (its index in
    ``det_xy``), -1 where none does. One index per tip."""
    tips, det, em = _as_xy(tips_xy), _as_xy(det_xy), _as_xy(emergence_xy)
    out: I64 = np.full(tips.shape[0], -1, dtype=np.int64)
    if tips.shape[0] == 0 or det.shape[0] == 0:
        return out
    if em.shape[0]:
        free: B = _distances(det, em).min(axis=1) > radius_px
    else:
        free = np.ones(det.shape[0], dtype=bool)
    if not free.any():
        return out
    dist = np.where(free[None, :], _distances(tips, det), np.inf)
    near = dist.argmin(axis=1)
    read = dist[np.arange(tips.shape[0]), near] <= radius_px
    out[read] = near[read]
    return out


def cut_tip_readers(
    truth: dict[str, Any], det_xy: Any, radius_px: float
) -> tuple[list[dict[str, Any]], I64]:
    """The cut tips of a truth (its ``tips`` without ``"cut": false``) and which detection
    reads each as a hair (:func:`tip_readers`, against every true emergence point: the
    frame's hairs and ``emergence_outside``); the bench's tip figure counts those >= 0."""
    cut = [t for t in truth.get("tips", []) if t.get("cut", True)]
    em = [(h["x_px"], h["y_px"]) for h in truth["hairs"]]
    em += [(e["x_px"], e["y_px"]) for e in truth.get("emergence_outside", [])]
    return cut, tip_readers([(t["x_px"], t["y_px"]) for t in cut], det_xy, em, radius_px)


@dataclass
class Tally:
    """Figures of one (generator, model, group), summed or averaged over its images."""

    ape: list[float] = field(default_factory=list)  # per image with hairs, |pred-true|/true
    bias: list[float] = field(default_factory=list)  # the same, signed: (pred-true)/true
    abs_err: list[float] = field(default_factory=list)  # the same images, |pred-true| per cm2
    hairless_read: list[float] = field(default_factory=list)  # hairs/cm2 read on bare skin
    diam_ae: list[float] = field(default_factory=list)
    vellus_ae: list[float] = field(default_factory=list)
    tips: int = 0
    tips_hit: int = 0
    tips_known: bool = False
    units_ape: list[float] = field(default_factory=list)  # |units read - true| / true per cm2
    shares_ae: list[float] = field(default_factory=list)  # mean |read - true| of the 4 shares
    terminal: int = 0
    terminal_hit: int = 0
    vellus: int = 0
    vellus_hit: int = 0
    terminal_near: int = 0
    vellus_near: int = 0
    # the bench's --near-roots: the count map's mass near the true roots, and the true hairs
    # of the images read so (emerging in the frame); known: some image was read so
    near_roots: float = 0.0
    near_roots_hairs: int = 0
    near_roots_known: bool = False

    @property
    def n(self) -> int:
        return len(self.ape) + len(self.hairless_read)

    def figures(self) -> dict[str, float | int | None]:
        """JSON-ready figures; None where the group holds nothing to measure."""

        def mean(xs: list[float]) -> float | None:
            return statistics.fmean(xs) if xs else None

        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        return {
            "n": self.n,
            "n_with_hairs": len(self.ape),
            "density_mape_pct": None if not self.ape else 100.0 * statistics.fmean(self.ape),
            # > 0: the model over-reads on average (the MAPE alone cannot say which way)
            "density_bias_pct": None if not self.bias else 100.0 * statistics.fmean(self.bias),
            # in hairs/cm2: what a near-bald frame's error weighs beside a dense one's (a
            # relative error of 300 % on 2 hairs/cm2 is 6 hairs/cm2)
            "density_mae_per_cm2": mean(self.abs_err),
            "diameter_mae_um": mean(self.diam_ae),
            "vellus_fraction_ae": mean(self.vellus_ae),
            "tips": self.tips if self.tips_known else None,
            "tips_detected_pct": 100.0 * self.tips_hit / self.tips
            if self.tips_known and self.tips
            else None,
            "terminal_recall": ratio(self.terminal_hit, self.terminal),
            "vellus_recall": ratio(self.vellus_hit, self.vellus),
            # any detection within the radius, whatever hair count it reports: openings found
            "terminal_near": ratio(self.terminal_near, self.terminal),
            "vellus_near": ratio(self.vellus_near, self.vellus),
            # follicular units: what the clinic reads beside the density, where the truth
            # lists them (units per cm2 and the 1/2/3/4+ shares)
            "units_mape_pct": None
            if not self.units_ape
            else 100.0 * statistics.fmean(self.units_ape),
            "unit_shares_ae": mean(self.shares_ae),
            # the share of the count within 96 um of the nearest true root, per true hair
            # (the bench's --near-roots; sim.generality.endmaps.near_mass): a count that sits
            # at the roots reads near 1, one spread along the shafts or at the tips less
            "near_roots_96um": self.near_roots / self.near_roots_hairs
            if self.near_roots_known and self.near_roots_hairs
            else None,
            "hairless_n": len(self.hairless_read),
            "hairless_mean_per_cm2": mean(self.hairless_read),
            "hairless_max_per_cm2": max(self.hairless_read) if self.hairless_read else None,
        }


@dataclass(frozen=True)
class ImageScore:
    """What one model read on one image, scored against its truth."""

    true_density: float
    read_density: float
    diam_ae: float | None
    vellus_ae: float | None
    tips: int | None  # None: the truth has no tip list
    tips_hit: int
    terminal: int
    terminal_hit: int
    vellus: int
    vellus_hit: int
    terminal_near: int = 0
    vellus_near: int = 0
    units_ape: float | None = None  # None: the truth lists no units, or none emerge
    shares_ae: float | None = None
    # the count map's mass within 96 um of the true roots (the bench's --near-roots), tallied
    # per true hair (terminal + vellus); None: not read
    near_roots: float | None = None

    def add_to(self, t: Tally) -> None:
        """Add this image's figures to a group's tally."""
        if self.true_density > 0:
            rel = (self.read_density - self.true_density) / self.true_density
            t.ape.append(abs(rel))
            t.bias.append(rel)
            t.abs_err.append(abs(self.read_density - self.true_density))
        else:
            t.hairless_read.append(self.read_density)
        if self.diam_ae is not None:
            t.diam_ae.append(self.diam_ae)
        if self.vellus_ae is not None:
            t.vellus_ae.append(self.vellus_ae)
        if self.tips is not None:
            t.tips_known = True
            t.tips += self.tips
            t.tips_hit += self.tips_hit
        t.terminal += self.terminal
        t.terminal_hit += self.terminal_hit
        t.vellus += self.vellus
        t.vellus_hit += self.vellus_hit
        t.terminal_near += self.terminal_near
        t.vellus_near += self.vellus_near
        if self.units_ape is not None:
            t.units_ape.append(self.units_ape)
        if self.shares_ae is not None:
            t.shares_ae.append(self.shares_ae)
        if self.near_roots is not None:
            t.near_roots_known = True
            t.near_roots += self.near_roots
            t.near_roots_hairs += self.terminal + self.vellus  # every hair of the frame


def score(
    truth: dict[str, Any],
    read: dict[str, Any],
    *,
    radius_um: float = MATCH_RADIUS_UM,
    vellus_split_um: float = VELLUS_SPLIT_UM,
    near_roots: float | None = None,
) -> ImageScore:
    """Score one model result (``HairMetrics.model_dump()``) against a truth dict.

    ``truth`` is in the format of ``sim.render.scalp_truth``; ``tips`` (the cut ones: those
    without ``"cut": false``) and ``emergence_outside`` are used when present. Diameter and
    vellus errors are only scored on images with hairs. ``near_roots``: the model's count
    within 96 um of the true roots (the bench's ``--near-roots``), kept for the tally.
    """
    r_px = radius_um / float(truth["um_per_px"])
    hairs = truth["hairs"]
    vel = np.array([h["diameter_um"] < vellus_split_um for h in hairs], dtype=bool)
    finders, near = hair_finders(truth, read, r_px)
    hit = finders >= 0
    tips: int | None = None
    tips_hit = 0
    if "tips" in truth:
        d_xy = [(e["x_px"], e["y_px"]) for e in read.get("emergence_points", [])]
        cut, readers = cut_tip_readers(truth, d_xy, r_px)
        tips = len(cut)
        tips_hit = int((readers >= 0).sum())
    n = len(hairs)
    true_units = truth.get("follicular_units_per_cm2")
    units_ape = None
    if true_units and "follicular_units_per_cm2" in read:
        units_ape = abs(float(read["follicular_units_per_cm2"]) - true_units) / true_units
    true_shares = truth.get("unit_shares_1_2_3_4plus")
    shares_ae = None
    if n and true_shares is not None and "unit_shares_1_2_3_4plus" in read:
        pairs = zip(read["unit_shares_1_2_3_4plus"], true_shares, strict=True)
        shares_ae = statistics.fmean(abs(float(a) - float(b)) for a, b in pairs)
    return ImageScore(
        true_density=float(truth["density_per_cm2"]),
        read_density=float(read["density_per_cm2"]),
        diam_ae=abs(float(read["mean_diameter_um"]) - float(truth["mean_diameter_um"]))
        if n
        else None,
        vellus_ae=abs(float(read["vellus_fraction"]) - float(truth["vellus_fraction"]))
        if n
        else None,
        tips=tips,
        tips_hit=tips_hit,
        terminal=int((~vel).sum()),
        terminal_hit=int((hit & ~vel).sum()),
        vellus=int(vel.sum()),
        vellus_hit=int((hit & vel).sum()),
        terminal_near=int((near & ~vel).sum()),
        vellus_near=int((near & vel).sum()),
        units_ape=units_ape,
        shares_ae=shares_ae,
        near_roots=near_roots,
    )
