"""Two bench runs side by side, image by image: is a candidate better than the shipped model?

Both runs of ``scripts/bench_generality.py --json`` must cover the same images (same ``--n``,
``--hairless``, ``--twin`` and cache). The per-image errors of two models on one image are
strongly correlated (0.8-0.9 between the 2.x candidates: an image that is hard for one is hard
for the other), so the difference of two MAPEs is judged on the per-image differences: their
mean and its standard error. A difference within two standard errors is not a difference the
bench can see. That covers the choice of images only; the spread between training runs of one
recipe is a second, separate noise (docs/model_card.md).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.generality.cases import HELD_OUT_GENERATORS, TRAINING_GENERATORS

NOISE_SE = 2.0  # a difference under this many standard errors is "within noise"


class NotComparable(ValueError):
    """The two runs did not measure the same images."""


@dataclass(frozen=True)
class Paired:
    """One generator's density error, candidate (b) against reference (a), in % points."""

    generator: str
    n: int  # images with hairs in both runs
    mape_a: float
    mape_b: float
    diff: float  # mean of |err_b| - |err_a| per image (negative: b is better)
    se: float  # standard error of ``diff``
    bare_n: int
    bare_mean_a: float | None  # hairs/cm2 read on bare skin
    bare_mean_b: float | None
    # d log(read) / d log(true) over the images with hairs: 1 when reads scale with the
    # truth; below 1, dense scalps read low and sparse ones high, and a treatment's change
    # reads smaller than it is (a true +14 % reads as 1.14**slope - 1)
    slope_a: float = math.nan
    slope_b: float = math.nan

    @property
    def verdict(self) -> str:
        if self.n == 0:  # bare skin only (a run with --twin 0 keeps the twin's bare images)
            return "bare only"
        if self.n < 2 or abs(self.diff) <= NOISE_SE * self.se:
            return "within noise"
        return "b better" if self.diff < 0 else "b worse"


def log_slope(true: list[float], read: list[float]) -> float:
    """Least-squares slope of log(read) on log(true) (pairs with both > 0; nan under 3)."""
    pts = [(math.log(t), math.log(r)) for t, r in zip(true, read, strict=True) if t > 0 and r > 0]
    if len(pts) < 3:
        return math.nan
    try:
        return statistics.linear_regression(*zip(*pts, strict=True)).slope
    except statistics.StatisticsError:  # every true density the same
        return math.nan


def _by_image(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {im["image"]: im for im in run["images"]}


def paired(a: dict[str, Any], b: dict[str, Any], variant: str = "int8") -> list[Paired]:
    """Per generator, the density error of run ``b`` against run ``a`` on the same images;
    a generator that only one of the runs holds is left out.

    Raises:
        NotComparable: the runs' image names or true densities differ.
    """
    ia, ib = _by_image(a), _by_image(b)
    # a generator only one run has (a run from before it, or --generators) is left out
    common = {x["generator"] for x in ia.values()} & {y["generator"] for y in ib.values()}
    ia = {k: x for k, x in ia.items() if x["generator"] in common}
    ib = {k: y for k, y in ib.items() if y["generator"] in common}
    if ia.keys() != ib.keys():
        only = sorted(ia.keys() ^ ib.keys())
        raise NotComparable(
            f"the runs cover different images ({len(only)} in one only, e.g. {only[0]}): "
            "bench both with the same --n, --hairless, --twin and --cache"
        )
    out = []
    for gen in sorted({im["generator"] for im in ia.values()}):
        da, db, bare_a, bare_b = [], [], [], []
        trues, reads_a, reads_b = [], [], []
        for name, x in ia.items():
            if x["generator"] != gen:
                continue
            y = ib[name]
            t = x["true_density_per_cm2"]
            if not math.isclose(t, y["true_density_per_cm2"], rel_tol=1e-9, abs_tol=1e-9):
                raise NotComparable(
                    f"image {name} has another true density in each run: the cache or the "
                    "generators changed between them; bench both again"
                )
            ra, rb = x[variant]["density_per_cm2"], y[variant]["density_per_cm2"]
            if t > 0:
                da.append(100.0 * abs(ra / t - 1))
                db.append(100.0 * abs(rb / t - 1))
                trues.append(t)
                reads_a.append(ra)
                reads_b.append(rb)
            else:
                bare_a.append(ra)
                bare_b.append(rb)
        diffs = [q - p for p, q in zip(da, db, strict=True)]
        n = len(diffs)
        out.append(
            Paired(
                generator=gen,
                n=n,
                mape_a=statistics.fmean(da) if da else math.nan,
                mape_b=statistics.fmean(db) if db else math.nan,
                diff=statistics.fmean(diffs) if diffs else math.nan,
                se=statistics.stdev(diffs) / math.sqrt(n) if n > 1 else math.inf,
                bare_n=len(bare_a),
                bare_mean_a=statistics.fmean(bare_a) if bare_a else None,
                bare_mean_b=statistics.fmean(bare_b) if bare_b else None,
                slope_a=log_slope(trues, reads_a),
                slope_b=log_slope(trues, reads_b),
            )
        )
    return out


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def report(rows: list[Paired], name_a: str = "a", name_b: str = "b") -> str:
    """The comparison as a table (MAPE in %, bare skin in hairs/cm2)."""
    head = (
        f"{'generator':12s} {'n':>3s} {'MAPE ' + name_a:>14s} {'MAPE ' + name_b:>14s} "
        f"{'b - a':>7s} {'SE':>5s}  {'verdict':12s}  {'log-slope a / b':>15s}  "
        "bare skin mean a / b"
    )
    lines = [head]
    for r in rows:
        if r.n == 0:  # bare only: no error to print
            mapes, slopes = f"{'-':>14s} {'-':>14s} {'-':>7s} {'-':>5s}", f"{'-':>6s} / {'-':>6s}"
        else:
            mapes = f"{r.mape_a:14.1f} {r.mape_b:14.1f} {r.diff:+7.1f} {r.se:5.1f}"
            slopes = f"{r.slope_a:6.3f} / {r.slope_b:6.3f}"
        lines.append(
            f"{r.generator:12s} {r.n:3d} {mapes}  {r.verdict:12s}  {slopes}  "
            f"{_f(r.bare_mean_a)} / {_f(r.bare_mean_b)} "
            f"(n={r.bare_n})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/compare_bench.py``; returns the exit status."""
    p = argparse.ArgumentParser(
        description="Compare two bench runs image by image: candidate (B) against reference (A)."
    )
    p.add_argument("a", type=Path, help="reference run (bench_generality.py --json)")
    p.add_argument("b", type=Path, help="candidate run, on the same images")
    p.add_argument("--variant", choices=("int8", "fp32"), default="int8")
    args = p.parse_args(argv)
    try:
        runs = [json.loads(path.read_text()) for path in (args.a, args.b)]
    except (OSError, ValueError) as exc:
        print(f"cannot read a bench run: {exc}", file=sys.stderr)
        return 2
    try:
        rows = paired(runs[0], runs[1], args.variant)
    except NotComparable as exc:
        print(f"{args.a} and {args.b}: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as exc:
        print(f"not a bench_generality.py --json file (missing {exc})", file=sys.stderr)
        return 2
    print(report(rows, args.a.stem, args.b.stem))
    print(
        "Choose models on the rows of the sources that train them (the twin, "
        + ", ".join(TRAINING_GENERATORS)
        + "); the held-out judges ("
        + ", ".join(HELD_OUT_GENERATORS)
        + ") only judge a choice made."
    )
    return 0
