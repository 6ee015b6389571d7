"""Emergence points by other rules on the same maps (``scripts/study_points.py``).

The runtime finds a follicular unit's point as a peak of the count maps' 5 x 5 window mass
(at least ``min_mass`` hairs) and, since issue 14's thirty-seventh round, reads its hairs as
the count nearest it within 5 cells (:func:`inference.postprocess.unit_masses`; before, the
window's mass). The bench's recall lets a point claim as many roots as it reports hairs, so
both the points and their sizes move it; cut tips read as hairs and the points' precision say
what a rule pays for it. This reads one model's maps once per frame and scores every rule on
them, paired: a rule's gain is the rule's, not another model's.

Rules are named ``count-r{R}-m{M}-{sizes}``: window radius ``R`` cells, minimum window mass
``M`` hairs, unit sizes ``window`` (the window's mass) or ``nearest`` (the runtime's); and,
for a training checkpoint with a root map (``--root-weight``), ``root-t{T}``: the 3 x 3 local
maxima of the root map's chance at least ``T``, sized by the nearest count. Given a models
folder it reads the INT8 file through the runtime, as the bench does.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from inference.postprocess import (
    Peaks,
    cell_to_pixel,
    find_peaks,
    unit_masses,
    unit_shares,
    unit_sizes,
)
from inference.targets import ROOT_OUT
from sim.generality.bench import build_all
from sim.generality.cases import (
    Case,
    add_generators_option,
    chosen_generators,
    load,
)
from sim.generality.endmaps import open_maps, study_sources
from sim.heldout import metrics
from sim.heldout.metrics import MATCH_RADIUS_UM, score
from sim.model_recipe import STRIDE

DEFAULT_GENERATORS = ("blind", "blind2", "blind3", "blind6", "blind7")  # the training sources
DEFAULT_RULES = (
    "count-r2-m0.5-window",  # the runtime until the thirty-seventh round
    "count-r2-m0.5-nearest",  # the runtime now
    "count-r2-m0.35-nearest",
    "count-r1-m0.35-nearest",
    "count-r1-m0.25-nearest",
)
ROOT_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)  # root-t rules added for a checkpoint with a root map
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Rule:
    """One way from maps to points: see the module's docstring for the names."""

    name: str
    source: str  # "count" or "root"
    radius: int = 2
    min_mass: float = 0.5
    sizes: str = "nearest"
    threshold: float = 0.0

    @classmethod
    def parse(cls, name: str) -> Rule:
        """The rule a name gives; ValueError naming the forms for any other."""
        parts = name.split("-")
        try:
            if parts[0] == "count" and len(parts) == 4 and parts[3] in ("window", "nearest"):
                if parts[1][0] == "r" and parts[2][0] == "m":
                    r, m = int(parts[1][1:]), float(parts[2][1:])
                    if r >= 1 and m > 0:
                        return cls(name, "count", r, m, parts[3])
            if parts[0] == "root" and len(parts) == 2 and parts[1][0] == "t":
                t = float(parts[1][1:])
                if 0 < t < 1:
                    return cls(name, "root", threshold=t)
        except (ValueError, IndexError):
            pass
        raise ValueError(
            f"{name!r} is not a rule: count-r<cells>-m<hairs>-window|nearest "
            "(e.g. count-r2-m0.5-nearest) or root-t<chance in 0-1> (e.g. root-t0.4)"
        )


def root_peaks(chance: F64, threshold: float) -> tuple[F64, F64]:
    """Cells that are the largest chance in their 3 x 3 cells and at least ``threshold``, at
    the chance-weighted centroid of those cells: (rows, cols), in cells."""
    top = ndimage.maximum_filter(chance, size=3, mode="constant", cval=-1.0)
    r, c = np.nonzero((chance >= top) & (chance >= threshold))
    k = np.arange(-1, 2)
    win = np.pad(chance, 1)[r[:, None, None] + 1 + k[:, None], c[:, None, None] + 1 + k]
    s = win.sum(axis=(1, 2))
    rows: F64 = r + (win.sum(axis=2) * k).sum(axis=1) / s
    cols: F64 = c + (win.sum(axis=1) * k).sum(axis=1) / s
    return rows, cols


def rule_points(rule: Rule, maps: F32) -> tuple[F64, F64, NDArray[np.int64]]:
    """A rule's points on ``maps`` (count maps first, in hairs; for a root rule, the root
    map's logit at :data:`~inference.targets.ROOT_OUT`): rows, cols (cells) and hairs each."""
    count = maps[0] + maps[1]
    if rule.source == "count":
        pk = find_peaks(count, maps[2], radius_cells=rule.radius, min_mass=rule.min_mass)
        mass = pk.mass if rule.sizes == "window" else unit_masses(count, pk)
        return pk.row, pk.col, unit_sizes(mass)
    if maps.shape[0] <= ROOT_OUT:
        raise ValueError(f"{rule.name}: these maps have no root map")
    chance = 1.0 / (1.0 + np.exp(-maps[ROOT_OUT].astype(np.float64)))
    rows, cols = root_peaks(chance, rule.threshold)
    none = np.zeros(len(rows))
    pk = Peaks(row=rows, col=cols, mass=none, diameter_um=none)
    return rows, cols, unit_sizes(unit_masses(count, pk))


@dataclass
class Tally:
    """One (source, rule)'s figures, summed over its frames: the bench's own tally of the
    frames' scores (``scores``; the density figures in it read nothing, as the rules give only
    points) and the points' own figures."""

    scores: metrics.Tally = field(default_factory=metrics.Tally)
    points: int = 0
    points_at_roots: int = 0  # within the match radius of a true root
    single_ae: list[float] = field(default_factory=list)  # single-hair units' share

    def line(self) -> str:
        f = self.scores.figures()

        def fmt(x: float | int | None, width: int, scale: float = 1.0, digits: int = 3) -> str:
            return f"{scale * x:{width}.{digits}f}" if x is not None else f"{'-':>{width}s}"

        single = float(np.mean(self.single_ae)) if self.single_ae else None
        prec = self.points_at_roots / self.points if self.points else None
        return (
            f"{fmt(f['terminal_recall'], 6)} {fmt(f['vellus_recall'], 6)} "
            f"{fmt(f['terminal_near'], 6)} {fmt(f['tips_detected_pct'], 6, digits=1)} "
            f"{fmt(prec, 6)} {fmt(f['units_mape_pct'], 7)} {fmt(single, 7)}"
        )


def score_points(
    tally: Tally,
    truth: dict[str, Any],
    rows: F64,
    cols: F64,
    sizes: NDArray[np.int64],
    cells: tuple[int, int],
) -> None:
    """Add one frame's points (cells of a native grid of ``cells`` = (rows, cols)) to
    ``tally``, scored against ``truth`` by the bench's own :func:`score`."""
    w, h = int(truth["width"]), int(truth["height"])
    xs = cell_to_pixel(cols, STRIDE, w / (cells[1] * STRIDE))
    ys = cell_to_pixel(rows, STRIDE, h / (cells[0] * STRIDE))
    pts = [
        {"x_px": float(x), "y_px": float(y), "hairs": int(n)}
        for x, y, n in zip(xs, ys, sizes, strict=True)
    ]
    shares = unit_shares(sizes)
    area = w * h * (float(truth["um_per_px"]) * 1e-4) ** 2
    read = {
        "density_per_cm2": 0.0,
        "mean_diameter_um": 0.0,
        "vellus_fraction": 0.0,
        "emergence_points": pts,
        "follicular_units_per_cm2": len(pts) / area,
        "unit_shares_1_2_3_4plus": shares,
    }
    score(truth, read).add_to(tally.scores)
    tally.points += len(pts)
    roots = [(e["x_px"], e["y_px"]) for e in truth["hairs"]]
    roots += [(e["x_px"], e["y_px"]) for e in truth.get("emergence_outside", [])]
    if pts and roots:
        r = np.asarray(roots, dtype=np.float64)
        d = np.hypot(xs[:, None] - r[None, :, 0], ys[:, None] - r[None, :, 1]).min(axis=1)
        tally.points_at_roots += int((d <= MATCH_RADIUS_UM / float(truth["um_per_px"])).sum())
    true_shares = truth.get("unit_shares_1_2_3_4plus")
    if true_shares is not None and truth["hairs"]:
        tally.single_ae.append(abs(shares[0] - float(true_shares[0])))


def study(
    read: Callable[[NDArray[np.uint8], float], F32],
    rules: Sequence[Rule],
    sources: dict[str, list[Case]],
    cache: Path,
    workers: int,
) -> dict[str, dict[str, Tally]]:
    """Every source's frames read once by ``read`` (maps on the native grid), every rule
    scored on those maps."""
    out: dict[str, dict[str, Tally]] = {}
    for gen, cases in sources.items():
        tallies = {r.name: Tally() for r in rules}
        for f in build_all(cases, cache, workers):
            img, truth = load(f)
            maps = read(img, float(truth["um_per_px"]))
            for rule in rules:
                rows, cols, sizes = rule_points(rule, maps)
                score_points(tallies[rule.name], truth, rows, cols, sizes, maps.shape[1:])
        out[gen] = tallies
    return out


def report(results: dict[str, dict[str, Tally]]) -> str:
    """One table per source: a row per rule."""
    lines = [
        "per source and rule: terminal and vellus recall within 60 um (a point claims as many "
        "roots as it reports hairs), any point within 60 um of a terminal root, cut tips read "
        "as hairs (%), points within 60 um of a true root, follicular units per cm2 MAPE (%), "
        "single-hair units' share abs. error (where the truth lists units)"
    ]
    head = f"  {'rule':26s} {'rec T':>6s} {'rec V':>6s} {'near T':>6s} {'tips %':>6s} "
    head += f"{'prec':>6s} {'units %':>7s} {'single':>7s}"
    for gen, tallies in results.items():
        lines += [gen, head]
        lines += [f"  {name:26s} {t.line()}" for name, t in tallies.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/study_points.py``; returns the exit status."""
    p = argparse.ArgumentParser(
        description="Emergence points by several rules on one model's maps, per source"
    )
    p.add_argument(
        "model",
        type=Path,
        help="a models folder (its INT8 file) or a train_model.py --checkpoint file",
    )
    p.add_argument("--n", type=int, default=40, help="images with hairs per generator")
    p.add_argument("--rules", default=",".join(DEFAULT_RULES), help="comma-separated rules")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--twin", type=int, default=None, help="twin bench frames (default n; 0: none)")
    add_generators_option(p, DEFAULT_GENERATORS)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    try:
        rules = [Rule.parse(r.strip()) for r in args.rules.split(",") if r.strip()]
    except ValueError as exc:
        p.error(str(exc))
    if not args.model.exists():
        p.error(f"{args.model}: no such models folder or checkpoint")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sources = study_sources(args.n, args.twin, generators)
    try:
        reader = open_maps(args.model, args.threads)
    except ValueError as exc:
        print(f"{args.model}: {exc}", file=sys.stderr)
        return 2
    try:
        if reader.root_map and args.rules == p.get_default("rules"):
            rules += [Rule.parse(f"root-t{t}") for t in ROOT_THRESHOLDS]
        if any(r.source == "root" for r in rules) and not reader.root_map:
            p.error(
                f"{args.model} has no root map (a models folder, or a checkpoint trained "
                "without --root-weight): root-t rules need one"
            )
        print(report(study(reader.read, rules, sources, args.cache, args.workers)))
    finally:
        reader.close()
    return 0
