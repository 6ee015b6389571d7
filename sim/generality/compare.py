"""Two bench runs side by side, image by image: is a candidate better than the shipped model?

Both runs of ``scripts/bench_generality.py --json`` must cover the same images (same ``--n``,
``--hairless``, ``--twin`` and cache). The per-image errors of two models on one image are
strongly correlated (0.8-0.9 between the 2.x candidates: an image that is hard for one is hard
for the other), so the difference of two MAPEs is judged on the per-image differences: their
mean and its standard error. A difference within two standard errors is not a difference the
bench can see. That covers the choice of images only; the spread between training runs of one
recipe is a second, separate noise (docs/model_card.md).

A side may be several runs (a bench split over ``--generators`` groups): their images are
pooled. Below the table, :func:`summary` gives the figures a candidate's rule is written in:
the training rows' mean MAPE and cut tips read as hairs (the rows' mean and all tips
pooled), and the held-out
judges' per-image differences pooled into one mean and standard error (``apart``: judges
left out of the pool and printed alone, e.g. one that led to the change).

**Near-bald frames apart.** A frame of 5 hairs/cm² read as 15 is a 200 % error; one of 150
read as 165, 10 %. A few near-bald frames so carry a judge's MAPE and its standard error
(blind-15's SE reached 35 points on a handful of them), and a candidate that moves them moves
the pooled MAPE far either way. So every row is also split at :data:`NEAR_BALD_PER_CM2`: the
frames below it, bare skin included, are priced in hairs/cm² (the absolute error, which is
what a clinic reads on a near-bald site: "~10 hairs/cm² off"), those at or above it in %
(MAPE); both paired by image, and pooled over the judges in :func:`summary`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.generality.cases import DENSITY_BANDS, HELD_OUT_GENERATORS, TRAINING_GENERATORS

NOISE_SE = 2.0  # a difference under this many standard errors is "within noise"
# True densities under this are near-bald sites (the bench's sparsest band, "<30"): judged in
# hairs/cm² apart from the frames with more hair (module docstring)
NEAR_BALD_PER_CM2 = DENSITY_BANDS[0][0]


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
    bias_a: float = math.nan  # mean signed error over the images with hairs, %
    bias_b: float = math.nan
    diffs: tuple[float, ...] = ()  # |err_b| - |err_a| per image with hairs, % points
    # the frames at or above NEAR_BALD_PER_CM2: per-image |err_b| - |err_a|, % points
    hair_diffs: tuple[float, ...] = ()
    hair_mape_a: float = math.nan
    hair_mape_b: float = math.nan
    # the frames below it, bare skin included: per-image |read_b - true| - |read_a - true|, in
    # hairs/cm², and each side's mean absolute error there
    sparse_diffs: tuple[float, ...] = ()
    sparse_mae_a: float = math.nan
    sparse_mae_b: float = math.nan

    @property
    def verdict(self) -> str:
        if self.n == 0:  # bare skin only (a run with --twin 0 keeps the twin's bare images)
            return "bare only"
        return _verdict(self.n, self.diff, self.se)

    @property
    def hair(self) -> Pooled:
        """The frames at or above :data:`NEAR_BALD_PER_CM2`, paired, in % points."""
        return _pooled((self.generator,), list(self.hair_diffs))

    @property
    def sparse(self) -> Pooled:
        """The near-bald and bare frames, paired, in hairs/cm²."""
        return _pooled((self.generator,), list(self.sparse_diffs))


def _verdict(n: int, diff: float, se: float) -> str:
    """Whether a mean per-image difference is beyond :data:`NOISE_SE` standard errors."""
    if n < 2 or abs(diff) <= NOISE_SE * se:
        return "within noise"
    return "b better" if diff < 0 else "b worse"


def _mean_se(diffs: list[float]) -> tuple[float, float]:
    """Mean of per-image differences and its standard error (nan / inf where too few)."""
    n = len(diffs)
    return (
        statistics.fmean(diffs) if diffs else math.nan,
        statistics.stdev(diffs) / math.sqrt(n) if n > 1 else math.inf,
    )


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


def _identity(im: dict[str, Any]) -> str:
    """Which image a record is, apart from its name: runs with other ``--twin`` counts name
    different twin images alike (a run with ``--twin 0`` keeps the twin's bare ones)."""
    key = json.dumps([im.get("size"), im.get("um_per_px"), im.get("true_density_per_cm2")])
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one model as one (a bench split over ``--generators`` groups): their
    images and figures pooled. A name two runs give to different images (the twin's, under
    other ``--twin`` counts) is kept for each, as ``NAME~ID`` (ID: of its size, scale and
    truth, so that both sides name it alike); a generator's figures come from the run that
    holds most of its images (the first of those): every run of a split bench keeps the
    twin's bare frames, and a run with ``--twin 0`` has twin figures (no tips, no hair) that
    must not stand for the run that benched the twin, whichever order the runs are given in.

    Raises:
        NotComparable: one image is in two of the runs with different reads.
    """
    seen: dict[str, dict[str, dict[str, Any]]] = {}  # name -> identity -> record
    figures: dict[str, Any] = {}
    held: dict[str, int] = {}  # generator -> images of it in the run its figures came from
    for run in runs:
        for im in run["images"]:
            kept = seen.setdefault(im["image"], {}).setdefault(_identity(im), im)
            if kept is not im and not all(
                math.isclose(kept[v]["density_per_cm2"], im[v]["density_per_cm2"], rel_tol=1e-6)
                for v in ("int8", "fp32")
                if v in kept and v in im
            ):
                raise NotComparable(
                    f"image {im['image']} is in two runs of one side with different reads: "
                    "give each side one model's runs"
                )
        for gen, fig in run.get("figures", {}).items():
            n = sum(im["generator"] == gen for im in run["images"])
            if gen not in figures or n > held[gen]:
                figures[gen], held[gen] = fig, n
    images = []
    for name, alike in seen.items():
        for ident, im in alike.items():
            images.append(im if len(alike) == 1 else {**im, "image": f"{name}~{ident}"})
    return {"images": images, "figures": figures}


def level(run: dict[str, Any], variant: str = "int8") -> tuple[dict[str, Any], float]:
    """``run`` with every density read scaled so that its median read/true over the training
    sources' frames (the twin's and :data:`TRAINING_GENERATORS`') at or above
    :data:`NEAR_BALD_PER_CM2` is 1, and the scale.

    A change that raises every read by a few per cent makes the judges that read low read
    better and those that read high worse, whatever it did to how hairs are found (c59's
    round, docs/model_card.md). Two models each levelled so on the sources that train them
    differ by what they find, not by their level. It is a way to read a comparison, not a
    recipe: the shipped gain is fitted on the twin. Cut tips and other detection figures are
    not counts and stay as they are.

    Raises:
        NotComparable: the run has no training source's frame at or above that density.
    """
    ratios = [
        im[variant]["density_per_cm2"] / im["true_density_per_cm2"]
        for im in run["images"]
        if im["generator"] in ("twin", *TRAINING_GENERATORS)
        and im["true_density_per_cm2"] >= NEAR_BALD_PER_CM2
    ]
    middle = statistics.median(ratios) if ratios else 0.0
    if middle <= 0:
        raise NotComparable(
            "--level training needs the training sources' frames with hair (the twin and "
            f"{', '.join(TRAINING_GENERATORS)}) read above zero: give the run that benched them"
        )
    scale = 1.0 / middle
    images = [
        {**im, variant: {**im[variant], "density_per_cm2": im[variant]["density_per_cm2"] * scale}}
        for im in run["images"]
    ]
    return {**run, "images": images}, scale


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
        da, db, bare_a, bare_b, sa, sb = [], [], [], [], [], []
        trues, reads_a, reads_b = [], [], []
        hair: list[tuple[float, float]] = []  # (|err a|, |err b|), %, true >= NEAR_BALD
        sparse: list[tuple[float, float]] = []  # the same in hairs/cm², true < NEAR_BALD
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
            if t < NEAR_BALD_PER_CM2:
                sparse.append((abs(ra - t), abs(rb - t)))
            if t > 0:
                sa.append(100.0 * (ra / t - 1))
                sb.append(100.0 * (rb / t - 1))
                da.append(abs(sa[-1]))
                db.append(abs(sb[-1]))
                trues.append(t)
                reads_a.append(ra)
                reads_b.append(rb)
                if t >= NEAR_BALD_PER_CM2:
                    hair.append((da[-1], db[-1]))
            else:
                bare_a.append(ra)
                bare_b.append(rb)
        diffs = [q - p for p, q in zip(da, db, strict=True)]
        n = len(diffs)
        diff, se = _mean_se(diffs)
        out.append(
            Paired(
                generator=gen,
                n=n,
                mape_a=statistics.fmean(da) if da else math.nan,
                mape_b=statistics.fmean(db) if db else math.nan,
                diff=diff,
                se=se,
                bare_n=len(bare_a),
                bare_mean_a=statistics.fmean(bare_a) if bare_a else None,
                bare_mean_b=statistics.fmean(bare_b) if bare_b else None,
                slope_a=log_slope(trues, reads_a),
                slope_b=log_slope(trues, reads_b),
                bias_a=statistics.fmean(sa) if sa else math.nan,
                bias_b=statistics.fmean(sb) if sb else math.nan,
                diffs=tuple(diffs),
                hair_diffs=tuple(q - p for p, q in hair),
                hair_mape_a=statistics.fmean(p for p, _ in hair) if hair else math.nan,
                hair_mape_b=statistics.fmean(q for _, q in hair) if hair else math.nan,
                sparse_diffs=tuple(q - p for p, q in sparse),
                sparse_mae_a=statistics.fmean(p for p, _ in sparse) if sparse else math.nan,
                sparse_mae_b=statistics.fmean(q for _, q in sparse) if sparse else math.nan,
            )
        )
    return out


@dataclass(frozen=True)
class Pooled:
    """Per-image differences of several generators pooled: mean and standard error."""

    generators: tuple[str, ...]
    n: int
    diff: float
    se: float

    @property
    def verdict(self) -> str:
        return _verdict(self.n, self.diff, self.se)


def _pooled(generators: tuple[str, ...], diffs: list[float]) -> Pooled:
    diff, se = _mean_se(diffs)
    return Pooled(generators, len(diffs), diff, se)


# Paired's per-image differences of each part of its frames (pool(), recipe_summary())
_PART_FIELD = {"all": "diffs", "hair": "hair_diffs", "sparse": "sparse_diffs"}


def pool(rows: list[Paired], part: str = "all") -> Pooled:
    """The rows' per-image differences as one sample (each image weighs the same): of every
    frame with hairs (``part="all"``, % points), of the frames at or above
    :data:`NEAR_BALD_PER_CM2` (``"hair"``, % points) or of those below it, bare skin included
    (``"sparse"``, hairs/cm²)."""
    field = _PART_FIELD[part]
    per_row = [(r.generator, getattr(r, field)) for r in rows]
    return _pooled(tuple(g for g, d in per_row if d), [x for _, d in per_row for x in d])


def tips_read(
    run: dict[str, Any], generators: list[str], variant: str = "int8"
) -> tuple[float, float] | None:
    """Cut tips read as hairs over ``generators``, %: the mean of their rows (each generator
    weighs the same, as the model card's rules are written) and all their tips pooled; None
    where none has tips."""
    rows: list[float] = []
    tips = hit = 0.0
    for gen in generators:
        fig = run.get("figures", {}).get(gen, {}).get(variant, {}).get("all", {})
        n, pct = fig.get("tips") or 0, fig.get("tips_detected_pct")
        if n and pct is not None:
            rows.append(pct)
            tips += n
            hit += n * pct / 100.0
    return (statistics.fmean(rows), 100.0 * hit / tips) if rows else None


def _paired_counts(
    a: dict[str, Any], b: dict[str, Any], generators: list[str], key: str, variant: str
) -> tuple[float, float, float, list[float]]:
    """Over the images of ``generators`` both runs hold with ``key`` = [found, of] in their
    ``variant`` reads: found by ``a``, found by ``b``, the ``of`` of ``a`` pooled, and the
    per-image differences of found (b - a)."""
    ia, ib = _by_image(a), _by_image(b)
    found_a = found_b = total = 0.0
    diffs: list[float] = []
    for name, x in ia.items():
        y = ib.get(name)
        if y is None or x["generator"] not in generators:
            continue
        ra, rb = x.get(variant, {}).get(key), y.get(variant, {}).get(key)
        if not ra or not rb or not ra[1]:
            continue
        found_a, found_b, total = found_a + ra[0], found_b + rb[0], total + ra[1]
        diffs.append(float(rb[0] - ra[0]))
    return found_a, found_b, total, diffs


def recall_read(
    a: dict[str, Any], b: dict[str, Any], generators: list[str], variant: str = "int8"
) -> str | None:
    """Terminal recall of runs ``a`` and ``b`` over the images of ``generators`` both hold
    (each image's ``terminal_recall`` = [roots found, roots]), pooled, and the mean per-image
    difference of roots found with its SE: a point rule or a model that finds more roots is
    seen image by image, as densities are. None where no image has a terminal root."""
    found_a, found_b, roots, diffs = _paired_counts(a, b, generators, "terminal_recall", variant)
    if not roots:
        return None
    diff, se = _mean_se(diffs)
    return (
        f"terminal recall {found_a / roots:.3f} -> {found_b / roots:.3f} ({roots:.0f} roots in "
        f"{len(diffs)} images; per image {diff:+.2f} roots, SE {se:.2f}, "
        f"{_verdict(len(diffs), -diff, se)})"
    )


def near_roots_read(
    a: dict[str, Any], b: dict[str, Any], generators: list[str], variant: str = "int8"
) -> str | None:
    """The count within 96 um of the true roots per true hair (``bench_generality.py
    --near-roots``: each image's ``near_roots_96um`` = [count near, hairs]) of runs ``a`` and
    ``b``, pooled, and the mean per-image difference of the count near the roots with its SE
    ("b higher" or "b lower" beyond noise: read beside the density, as a model that reads
    more everywhere puts more near the roots too). None where the runs were benched without
    it."""
    near_a, near_b, hairs, diffs = _paired_counts(a, b, generators, "near_roots_96um", variant)
    if not hairs:
        return None
    diff, se = _mean_se(diffs)
    # higher is not better by itself: a model that reads more everywhere puts more there too
    side = {"b better": "b lower", "b worse": "b higher"}.get(
        _verdict(len(diffs), diff, se), "within noise"
    )
    return (
        f"count within 96 um of a root per true hair {near_a / hairs:.3f} -> "
        f"{near_b / hairs:.3f} ({hairs:.0f} hairs in {len(diffs)} images; per image "
        f"{diff:+.2f} hairs, SE {se:.2f}, {side})"
    )


def _worse(rows: list[Paired], part: str = "all") -> str:
    """The rows worse beyond noise, over every frame with hair (``part="all"``) or over the
    frames of one side of :data:`NEAR_BALD_PER_CM2` (``"hair"``, ``"sparse"``)."""
    worse = [
        r.generator
        for r in rows
        if (r.verdict if part == "all" else getattr(r, part).verdict) == "b worse"
    ]
    return ", ".join(worse) or "none"


def summary(
    rows: list[Paired],
    a: dict[str, Any],
    b: dict[str, Any],
    variant: str = "int8",
    apart: tuple[str, ...] = (),
) -> str:
    """What a candidate's rule is written in: the training rows' mean MAPE and tips read as
    hairs, the held-out judges pooled (less ``apart``), and each judge worse beyond noise."""
    lines = []
    train = [r for r in rows if r.n and r.generator in ("twin", *TRAINING_GENERATORS)]
    if train:
        gens = [r.generator for r in train]
        ta, tb = tips_read(a, gens, variant), tips_read(b, gens, variant)
        tips = "-"
        if ta is not None and tb is not None:
            tips = f"{ta[0]:.2f} -> {tb[0]:.2f} % (all tips pooled {ta[1]:.2f} -> {tb[1]:.2f})"
        lines.append(
            f"training rows ({len(train)}: {', '.join(gens)}): mean MAPE "
            f"{statistics.fmean(r.mape_a for r in train):.2f} -> "
            f"{statistics.fmean(r.mape_b for r in train):.2f}; cut tips read as hairs {tips}; "
            f"worse beyond noise: {_worse(train)}"
        )
        for read in (recall_read, near_roots_read):
            rec = read(a, b, gens, variant)
            if rec:
                lines.append(f"  training rows' {rec}")
    judges = [r for r in rows if r.n and r.generator in HELD_OUT_GENERATORS]
    pooled = [r for r in judges if r.generator not in apart]
    if pooled:
        p = pool(pooled)
        lines.append(
            f"held-out judges pooled ({len(p.generators)}, n = {p.n}): {p.diff:+.2f} "
            f"(SE {p.se:.2f}), {p.verdict}; worse beyond noise: {_worse(pooled)}"
        )
        h, s = pool(pooled, "hair"), pool(pooled, "sparse")
        cut = f"{NEAR_BALD_PER_CM2:g}"
        lines.append(
            f"  apart, frames >= {cut} hairs/cm² (n = {h.n}): {h.diff:+.2f} points "
            f"(SE {h.se:.2f}), {h.verdict}; worse beyond noise: {_worse(pooled, 'hair')}"
        )
        lines.append(
            f"  apart, frames < {cut} hairs/cm², bare included (n = {s.n}): {s.diff:+.2f} "
            f"hairs/cm² off (SE {s.se:.2f}), {s.verdict}; worse beyond noise: "
            f"{_worse(pooled, 'sparse')}"
        )
        for read in (recall_read, near_roots_read):
            rec = read(a, b, list(p.generators), variant)
            if rec:
                lines.append(f"  judges' {rec}")
    for r in judges:
        if r.generator in apart:
            lines.append(
                f"apart: {r.generator} {r.diff:+.2f} (SE {r.se:.2f}), {r.verdict}; bias "
                f"{r.bias_a:+.1f} -> {r.bias_b:+.1f} %"
            )
    return "\n".join(lines)


# the pooled judges' three figures a rule against seeds reads: (part for pool(), what, unit)
JUDGE_PARTS = (
    ("all", "judges pooled, frames with hair", "points"),
    ("hair", f"judges pooled, frames >= {NEAR_BALD_PER_CM2:g} hairs/cm²", "points"),
    (
        "sparse",
        f"judges pooled, frames < {NEAR_BALD_PER_CM2:g} hairs/cm², bare included",
        "hairs/cm²",
    ),
)


def _on_common_generators(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs with only the images of the generators every one of them benched."""
    common = set.intersection(*({im["generator"] for im in x["images"]} for x in runs))
    return [{**x, "images": [im for im in x["images"] if im["generator"] in common]} for x in runs]


def _both(vs_a: Pooled, vs_r: Pooled) -> str:
    """A candidate's verdict against two training runs of the reference's recipe: beyond
    noise only where it is beyond noise the same way against each."""
    va, vr = vs_a.verdict, vs_r.verdict
    if va == vr and va != "within noise":
        return f"{va} than both seeds"
    return "not beyond the recipe's seeds"


def seed_summary(
    a: dict[str, Any],
    reseed: dict[str, Any],
    b: dict[str, Any],
    variant: str = "int8",
    apart: tuple[str, ...] = (),
) -> str:
    """The candidate ``b`` judged against the reference ``a`` and ``reseed``, a second
    training run of ``a``'s recipe (another seed), on the same images.

    Paired by image, a comparison's standard error covers the choice of images only. Two
    training runs of one recipe differ by more: 2.11.0's recipe trained again with seed 3
    read the judges' pooled MAPE +1.56 points (SE 0.74) worse and cut tips 2.0 points more,
    each beyond what the rules allowed a candidate (docs/model_card.md, "A third seed (r52)").
    So a candidate counts as better (worse) here only where it is better (worse) beyond
    noise than each of the two runs; the seeds' own gap is printed beside it.
    """
    a, reseed, b = _on_common_generators([a, reseed, b])
    rows_ab, rows_rb, rows_ar = (
        paired(a, b, variant),
        paired(reseed, b, variant),
        paired(a, reseed, variant),
    )
    lines = ["against the recipe's two seeds (reference a, reseed r):"]

    def judges(rows: list[Paired]) -> list[Paired]:
        return [
            r
            for r in rows
            if r.n and r.generator in HELD_OUT_GENERATORS and r.generator not in apart
        ]

    train = [r.generator for r in rows_ab if r.n and r.generator in ("twin", *TRAINING_GENERATORS)]
    if train:
        ta, tr, tb = (tips_read(x, train, variant) for x in (a, reseed, b))
        if ta is not None and tr is not None and tb is not None:
            lo, hi = sorted((ta[0], tr[0]))
            where = "below both" if tb[0] < lo else "above both" if tb[0] > hi else "between"
            lines.append(
                f"  training rows' cut tips read as hairs: seeds {ta[0]:.2f} / {tr[0]:.2f} %, "
                f"b {tb[0]:.2f} ({where})"
            )
    for part, what, unit in JUDGE_PARTS:
        gap, vs_a, vs_r = (pool(judges(x), part) for x in (rows_ar, rows_ab, rows_rb))
        if not vs_a.n:
            continue
        lines.append(
            f"  {what}: r - a {gap.diff:+.2f} (SE {gap.se:.2f}); b - a {vs_a.diff:+.2f} "
            f"(SE {vs_a.se:.2f}); b - r {vs_r.diff:+.2f} (SE {vs_r.se:.2f}) {unit}: "
            f"{_both(vs_a, vs_r)}"
        )
    vs_reseed = {r.generator: r.verdict for r in judges(rows_rb)}
    worse = [
        x.generator
        for x in judges(rows_ab)
        if x.verdict == "b worse" and vs_reseed.get(x.generator) == "b worse"
    ]
    lines.append(f"  judges worse than both seeds beyond noise: {', '.join(worse) or 'none'}")
    return "\n".join(lines)


@dataclass(frozen=True)
class AgainstRecipe:
    """A candidate's difference from the mean of a recipe's training runs (seeds), with the
    seeds' own spread added to the images' standard error (:func:`against_recipe`)."""

    n: int  # images
    k: int  # the recipe's runs
    diff: float  # mean over images of |err_b| - mean over seeds of |err_seed|
    se_images: float  # standard error of ``diff`` over the choice of images
    seed_sd: float  # SD between the seeds' pooled figures on these images (k - 1 df)

    @property
    def se(self) -> float:
        """The candidate is one training run against the mean of ``k``: its own seed's
        spread and the mean's (``seed_sd / sqrt(k)``) add to the images' standard error."""
        return math.sqrt(self.se_images**2 + self._seed_var)

    @property
    def _seed_var(self) -> float:
        return self.seed_sd**2 * (1.0 + 1.0 / self.k)

    @property
    def dof(self) -> float:
        """Welch-Satterthwaite degrees of freedom of :attr:`se`: the seeds' part is
        estimated from ``k - 1``, the images' from ``n - 1``."""
        parts = [(self.se_images**2, self.n - 1), (self._seed_var, self.k - 1)]
        den = sum(v * v / d for v, d in parts if d > 0)
        return self.se**4 / den if den > 0 else math.inf

    @property
    def limit(self) -> float:
        """How far the difference must be to count: :data:`NOISE_SE` standard errors where
        both are known well, wider by Student's t where the seeds are few (three seeds'
        SD, two degrees of freedom, is itself uncertain by half)."""
        return noise_limit(self.dof) * self.se

    @property
    def verdict(self) -> str:
        if self.n < 2 or self.k < 2 or not abs(self.diff) > self.limit:
            return "within the recipe's spread"
        return "better than the recipe" if self.diff < 0 else "worse than the recipe"


def noise_limit(dof: float) -> float:
    """Student's t at the coverage of :data:`NOISE_SE` normal standard errors (two-sided
    95.4 %), for ``dof`` degrees of freedom: 2.0 for many, 4.5 for two, 14 for one."""
    from scipy.stats import norm, t

    return float(t.ppf(norm.cdf(NOISE_SE), dof)) if math.isfinite(dof) else NOISE_SE


def against_recipe(per_seed: list[list[float]]) -> AgainstRecipe:
    """``per_seed[j][i]``: |err| of seed ``j`` minus |err| of the candidate on image ``i``
    (every seed's list in the same image order). The candidate's difference from the seeds'
    mean per image, its standard error over images, and the SD between the seeds' pooled
    offsets from their mean (what a retrain alone moves the pooled figure by)."""
    k = len(per_seed)
    n = len(per_seed[0]) if per_seed else 0
    if k == 0 or any(len(x) != n for x in per_seed):
        raise ValueError("every seed needs a difference for each image, in one order")
    if n == 0:
        return AgainstRecipe(0, k, math.nan, math.inf, math.nan)
    mean_i = [statistics.fmean(col) for col in zip(*per_seed, strict=True)]
    diff, se = _mean_se([-m for m in mean_i])
    offsets = [statistics.fmean(x - m for x, m in zip(xs, mean_i, strict=True)) for xs in per_seed]
    sd = statistics.stdev(offsets) if k > 1 else math.nan
    return AgainstRecipe(n, k, diff, se, sd)


def recipe_summary(
    seeds: list[dict[str, Any]],
    b: dict[str, Any],
    variant: str = "int8",
    apart: tuple[str, ...] = (),
) -> str:
    """The candidate ``b`` against the mean of ``seeds``, two or more training runs of the
    reference's recipe (the reference first), on the same images.

    Against one run, or each of two, a candidate is judged against a lottery ticket: three
    runs of 2.11.0's recipe (seeds 1, 3, 4) read the judges' pooled hair frames 0 / +0.80 /
    +2.30 points apart, and a rule against two seeds called the third worse (model card, "A
    third seed (r52)"). Here the candidate's per-image errors are set against the seeds'
    mean per image, and its difference is called only beyond :data:`NOISE_SE` times the
    images' standard error and the seeds' spread together (:class:`AgainstRecipe`). With few
    seeds the spread is itself rough (two degrees of freedom from three); the seeds' figures
    are printed beside it.
    """
    if len(seeds) < 2:
        raise ValueError("the recipe's mean needs two or more training runs")
    *seeds, b = _on_common_generators([*seeds, b])
    # paired(b, seed): each seed's |err| - b's, every list in b's image order
    rows = [{r.generator: r for r in paired(b, s, variant)} for s in seeds]
    gens = sorted(rows[0])
    train = [g for g in gens if rows[0][g].n and g in ("twin", *TRAINING_GENERATORS)]
    judges = [g for g in gens if rows[0][g].n and g in HELD_OUT_GENERATORS and g not in apart]

    def against(generators: list[str], part: str) -> AgainstRecipe:
        field = _PART_FIELD[part]
        return against_recipe([[x for g in generators for x in getattr(r[g], field)] for r in rows])

    k = len(seeds)
    lines = [
        f"against the recipe's mean over {k} seeds (the reference first), the seeds' spread "
        "added to the images' SE:"
    ]
    if train:
        tips = [tips_read(x, train, variant) for x in seeds]
        tb = tips_read(b, train, variant)
        if tb is not None and all(t is not None for t in tips):
            per = [t[0] for t in tips if t is not None]
            mean, sd = statistics.fmean(per), statistics.stdev(per)
            band = noise_limit(k - 1) * sd * math.sqrt(1.0 + 1.0 / k)
            where = (
                "below the recipe's seeds"
                if tb[0] < mean - band
                else "above the recipe's seeds"
                if tb[0] > mean + band
                else "within the seeds' spread"
            )
            lines.append(
                f"  training rows' cut tips read as hairs: seeds "
                f"{' / '.join(f'{x:.2f}' for x in per)} % (mean {mean:.2f}, SD {sd:.2f}), "
                f"b {tb[0]:.2f}: {where}"
            )
        x = against(train, "all")
        lines.append(
            f"  training rows pooled ({len(train)}), frames with hair: {_against_text(x, 'points')}"
        )
    for part, what, unit in JUDGE_PARTS:
        x = against(judges, part)
        if x.n:
            lines.append(f"  {what}: {_against_text(x, unit)}")
    for side in ("worse", "better"):
        called = [g for g in judges if against([g], "all").verdict == f"{side} than the recipe"]
        lines.append(
            f"  judges {side} than the recipe beyond image and seed noise: "
            f"{', '.join(called) or 'none'}"
        )
    return "\n".join(lines)


def _against_text(x: AgainstRecipe, unit: str) -> str:
    return (
        f"b - mean {x.diff:+.2f} {unit} (images' SE {x.se_images:.2f}, seeds' SD "
        f"{x.seed_sd:.2f}, SE {x.se:.2f}, limit {x.limit:.2f}, n = {x.n}): {x.verdict}"
    )


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def report(rows: list[Paired], name_a: str = "a", name_b: str = "b") -> str:
    """The comparison as a table (MAPE in %, bare skin in hairs/cm2)."""
    head = (
        f"{'generator':12s} {'n':>3s} {'MAPE ' + name_a:>14s} {'MAPE ' + name_b:>14s} "
        f"{'b - a':>7s} {'SE':>5s}  {'verdict':12s}  {'bias a / b, %':>15s}  "
        f"{'log-slope a / b':>15s}  bare skin mean a / b"
    )
    lines = [head]
    for r in rows:
        if r.n == 0:  # bare only: no error to print
            mapes, slopes = f"{'-':>14s} {'-':>14s} {'-':>7s} {'-':>5s}", f"{'-':>6s} / {'-':>6s}"
            bias = f"{'-':>15s}"
        else:
            mapes = f"{r.mape_a:14.1f} {r.mape_b:14.1f} {r.diff:+7.1f} {r.se:5.1f}"
            slopes = f"{r.slope_a:6.3f} / {r.slope_b:6.3f}"
            bias = f"{r.bias_a:+7.1f} / {r.bias_b:+5.1f}"
        lines.append(
            f"{r.generator:12s} {r.n:3d} {mapes}  {r.verdict:12s}  {bias}  {slopes}  "
            f"{_f(r.bare_mean_a)} / {_f(r.bare_mean_b)} "
            f"(n={r.bare_n})"
        )
    return "\n".join(lines)


def report_apart(rows: list[Paired]) -> str:
    """Each row split at :data:`NEAR_BALD_PER_CM2`: the frames with more hair in % (MAPE),
    the near-bald and bare ones in hairs/cm² (mean absolute error), each paired by image."""
    cut = f"{NEAR_BALD_PER_CM2:g}"
    lines = [
        f"{'':12s} | frames >= {cut} hairs/cm², MAPE %{'':9s} | frames < {cut} (bare "
        "included), hairs/cm² off",
        f"{'generator':12s} | {'n':>3s} {'a':>6s} {'b':>6s} {'b - a':>6s} {'SE':>5s} "
        f"{'verdict':12s} | {'n':>3s} {'a':>6s} {'b':>6s} {'b - a':>6s} {'SE':>5s} verdict",
    ]
    for r in rows:
        h, s = r.hair, r.sparse
        left = (
            f"{h.n:3d} {r.hair_mape_a:6.1f} {r.hair_mape_b:6.1f} {h.diff:+6.1f} "
            f"{h.se:5.1f} {h.verdict:12s}"
            if h.n
            else f"{0:3d} {'-':>6s} {'-':>6s} {'-':>6s} {'-':>5s} {'-':12s}"
        )
        right = (
            f"{s.n:3d} {r.sparse_mae_a:6.1f} {r.sparse_mae_b:6.1f} {s.diff:+6.1f} "
            f"{s.se:5.1f} {s.verdict}"
            if s.n
            else f"{0:3d} {'-':>6s} {'-':>6s} {'-':>6s} {'-':>5s} -"
        )
        lines.append(f"{r.generator:12s} | {left} | {right}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/compare_bench.py``; returns the exit status."""
    p = argparse.ArgumentParser(
        description="Compare two bench runs image by image: candidate (B) against reference "
        "(A). Either A.json B.json, or --a A1.json A2.json ... --b B1.json B2.json ... (a "
        "bench split over --generators groups: each side's runs pooled)."
    )
    p.add_argument("runs", type=Path, nargs="*", help="A.json B.json: reference, candidate")
    p.add_argument("--a", type=Path, nargs="+", default=[], help="the reference's runs")
    p.add_argument("--b", type=Path, nargs="+", default=[], help="the candidate's runs")
    p.add_argument(
        "--reseed",
        type=Path,
        nargs="+",
        action="append",
        default=[],
        help="runs of another training of the reference's recipe (another --seed), on the "
        "same images; give --reseed once per seed: the candidate is then also judged against "
        "the recipe's mean over the reference and these seeds, their spread added to the noise "
        "(and, with one --reseed, against each of the two)",
    )
    p.add_argument("--variant", choices=("int8", "fp32"), default="int8")
    p.add_argument(
        "--apart",
        default="",
        help="held-out judges to leave out of the pool and print alone, comma-separated "
        "(e.g. one that led to the change: blind9)",
    )
    p.add_argument(
        "--level",
        choices=("training",),
        default=None,
        help="first scale each model's reads (every side, --reseed too) so that its median "
        "read/true over the training sources' frames >= 30 hairs/cm2 is 1: a change of level "
        "then no longer passes for a change in what the model finds",
    )
    args = p.parse_args(argv)
    apart = tuple(g.strip() for g in args.apart.split(",") if g.strip())
    unknown = [g for g in apart if g not in HELD_OUT_GENERATORS]
    if unknown:
        p.error(f"--apart {', '.join(unknown)}: not one of {', '.join(HELD_OUT_GENERATORS)}")
    if args.runs and (args.a or args.b):
        p.error("give A.json B.json, or --a ... --b ..., not both")
    if args.runs:
        if len(args.runs) != 2:
            p.error("give two runs: the reference and the candidate")
        side_a, side_b = [args.runs[0]], [args.runs[1]]
    elif args.a and args.b:
        side_a, side_b = args.a, args.b
    else:
        p.error("give A.json B.json, or --a A.json ... --b B.json ...")
    try:
        runs_a = [json.loads(path.read_text()) for path in side_a]
        runs_b = [json.loads(path.read_text()) for path in side_b]
    except (OSError, ValueError) as exc:
        print(f"cannot read a bench run: {exc}", file=sys.stderr)
        return 2
    try:
        a, b = merge(runs_a), merge(runs_b)
        levelled = ""
        if args.level:
            (a, scale_a), (b, scale_b) = level(a, args.variant), level(b, args.variant)
            levelled = (
                f"levelled on the training sources' frames >= {NEAR_BALD_PER_CM2:g} hairs/cm2: "
                f"{side_a[0].stem} reads x {scale_a:.4f}, {side_b[0].stem} x {scale_b:.4f}"
            )
        rows = paired(a, b, args.variant)
    except NotComparable as exc:
        names = " ".join(str(x) for x in side_a) + " and " + " ".join(str(x) for x in side_b)
        print(f"{names}: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, AttributeError) as exc:
        print(f"not a bench_generality.py --json file (missing {exc})", file=sys.stderr)
        return 2
    seeds = ""
    if args.reseed:
        named = " ".join(str(path) for group in args.reseed for path in group)
        try:
            reseeds = [
                merge([json.loads(path.read_text()) for path in group]) for group in args.reseed
            ]
            if args.level:
                reseeds = [level(run, args.variant)[0] for run in reseeds]
            if len(reseeds) == 1:  # the rules written before three seeds were read so
                seeds = seed_summary(a, reseeds[0], b, args.variant, apart) + "\n"
            seeds += recipe_summary([a, *reseeds], b, args.variant, apart)
        except (OSError, ValueError) as exc:  # NotComparable is a ValueError
            print(f"--reseed {named}: {exc}", file=sys.stderr)
            return 2
        except (KeyError, TypeError, AttributeError) as exc:
            print(
                f"--reseed: not a bench_generality.py --json file (missing {exc})", file=sys.stderr
            )
            return 2
    if levelled:
        print(levelled)
    print(report(rows, side_a[0].stem, side_b[0].stem))
    print()
    print(report_apart(rows))
    text = summary(rows, a, b, args.variant, apart)
    if text:
        print(text)
    if seeds:
        print(seeds)
    print(
        "Choose models on the rows of the sources that train them (the twin, "
        + ", ".join(TRAINING_GENERATORS)
        + "); the held-out judges ("
        + ", ".join(HELD_OUT_GENERATORS)
        + ") only judge a choice made."
    )
    return 0
