"""Run the hair model over every generator, tally by group, check the release targets.

A release is judged by its worst generator: for every target the bench names the generator
(and group) that comes off worst. Figures are defined in :mod:`sim.heldout.metrics`.
"""

from __future__ import annotations

import logging
import multiprocessing
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference import HairModel
from inference.second_opinion import second_opinion
from sim.generality.cases import (
    DENSITY_BANDS,
    HELD_OUT_GENERATORS,
    INDEPENDENT_GENERATORS,
    TRAINING_GENERATORS,
    TWIN,
    Case,
    build,
    independent_cases,
    labels,
    load,
    twin_cases,
)
from sim.generality.review import (
    REVIEW_POOLS,
    TRAINING_SOURCES,
    reasons_for,
    review_figures,
    review_text,
    stored_opinion,
)
from sim.heldout import generate
from sim.heldout.metrics import Tally, score

log = logging.getLogger(__name__)

VARIANTS = ("int8", "fp32")
# groups whose density MAPE a release must keep under the limit ("every group")
GROUP_FAMILIES = ("hair_length", "skin_tone", "hair_colour", "rich")
MIN_GROUP_N = 3  # smaller groups are printed, not judged
# --near-roots: the count read within this distance of the nearest true root (one of
# sim.generality.endmaps.NEAR_UM), per true hair
NEAR_ROOTS_UM = 96.0


def _limits(twin: float, independent: float) -> dict[str, float]:
    """A target's limit on the twin and on every independent generator."""
    return {TWIN: twin, **dict.fromkeys(INDEPENDENT_GENERATORS, independent)}


@dataclass(frozen=True)
class Target:
    """One release target: a figure, its limit per generator, and which way is good."""

    name: str
    limits: dict[str, float]
    higher_is_better: bool = False


TARGETS = (
    Target("density MAPE all, %", _limits(5.0, 10.0)),
    Target("density MAPE worst group, %", _limits(7.0, 10.0)),
    Target("hairless skin read, max hairs/cm2", _limits(5.0, 5.0)),
    Target("cut tips detected as hairs, %", _limits(5.0, 5.0)),
    Target("terminal recall 60 um", _limits(0.90, 0.90), True),
    Target("vellus recall 60 um", _limits(0.80, 0.80), True),
    Target("mean diameter MAE, um", _limits(5.0, 5.0)),
    Target("vellus fraction abs. error", _limits(0.05, 0.05)),
    Target("|INT8 - FP32| density MAPE, points", _limits(1.0, 1.0)),
)


@dataclass
class Results:
    """Every tally: generator -> variant -> group -> Tally, plus per-image reads."""

    tallies: dict[str, dict[str, dict[str, Tally]]] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)

    def add(self, gen: str, variant: str, groups: Iterable[str], s: Any) -> None:
        by_group = self.tallies.setdefault(gen, {}).setdefault(variant, {})
        for g in groups:
            s.add_to(by_group.setdefault(g, Tally()))

    def figures(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        return {
            gen: {v: {g: t.figures() for g, t in by_v.items()} for v, by_v in by_gen.items()}
            for gen, by_gen in self.tallies.items()
        }


def make_cases(
    n: int, n_hairless: int, n_twin: int, generators: Iterable[str] = INDEPENDENT_GENERATORS
) -> list[Case]:
    """The bench's images: each independent generator's (with hairs, then bare), then twin."""
    out = [c for g in generators for c in independent_cases(n, n_hairless, g)]
    return out + twin_cases(n_twin, n_hairless)


def build_all(cases: list[Case], cache_dir: Path, workers: int) -> list[str]:
    """Make every case's image (cached), in ``workers`` processes."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(c, str(cache_dir)) for c in cases]
    out: list[str] = []
    t0 = time.monotonic()
    if workers <= 1:
        it: Iterable[str] = map(build, jobs)
        for k, path in enumerate(it, 1):
            out.append(path)
            if k % 10 == 0 or k == len(jobs):
                log.info("images %d/%d (%.0f s)", k, len(jobs), time.monotonic() - t0)
        return out
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        for k, path in enumerate(pool.imap(build, jobs), 1):
            out.append(path)
            if k % 10 == 0 or k == len(jobs):
                log.info("images %d/%d (%.0f s)", k, len(jobs), time.monotonic() - t0)
    return out


def group_names(lab: dict[str, str]) -> list[str]:
    """Every group an image belongs to: "all" and one "factor=value" per label."""
    return ["all", *(f"{k}={v}" for k, v in lab.items())]


def near_roots_mass(maps: np.ndarray[Any, Any], truth: dict[str, Any]) -> float:
    """The mass of a model's count maps (terminal and vellus, ``maps`` as
    :meth:`HairModel.predict_maps` gives them) within :data:`NEAR_ROOTS_UM` of the nearest true
    root of ``truth``, roots emerging outside the frame included
    (:func:`sim.generality.endmaps.near_mass`)."""
    # endmaps imports this module (build_all): imported here, and only when asked for
    from sim.generality.endmaps import NEAR_UM, near_mass

    count = (maps[0] + maps[1]).astype(np.float64)
    size = (int(truth["width"]), int(truth["height"]))
    return near_mass(count, truth, size)[NEAR_UM.index(NEAR_ROOTS_UM)]


def analyze_all(
    cases: list[Case],
    files: list[str],
    models: dict[str, HairModel],
    *,
    near_roots: bool = False,
) -> Results:
    """Run every model on every image and tally the scores by group.

    ``near_roots``: also read each model's maps (:func:`near_roots_mass`, from the one run of
    its network that the metrics are measured from) for the ``near_roots_96um`` figure; off,
    that figure is None.
    """
    res = Results()
    t0 = time.monotonic()
    for k, (case, f) in enumerate(zip(cases, files, strict=True), 1):
        img, truth = load(f)
        lab = labels(case, truth)
        groups = group_names(lab)
        row: dict[str, Any] = {
            "image": case.name,
            "generator": case.generator,
            "labels": lab,
            "true_density_per_cm2": truth["density_per_cm2"],
            "um_per_px": truth["um_per_px"],
            "size": [truth["width"], truth["height"]],
        }
        upp = float(truth["um_per_px"])
        # The second opinion reads only the image: once for every variant.
        opinion = second_opinion(img, upp)
        row["second_opinion"] = stored_opinion(opinion)
        for v, model in models.items():
            maps = model.predict_maps(img, upp) if near_roots else None
            read = model.analyze(img, upp, review_factor=None, maps=maps).model_dump()
            near = near_roots_mass(maps[0], truth) if maps is not None else None
            s = score(truth, read, near_roots=near)
            res.add(case.generator, v, groups, s)
            row[v] = {
                "density_per_cm2": read["density_per_cm2"],
                "tips": s.tips,
                "tips_hit": s.tips_hit,
                "terminal_recall": (s.terminal_hit, s.terminal),
                "vellus_recall": (s.vellus_hit, s.vellus),
                "mean_diameter_um": read["mean_diameter_um"],
                **reasons_for(read, opinion),
            }
            if near is not None:
                row[v]["near_roots_96um"] = [near, len(truth["hairs"])]
        res.images.append(row)
        if k % 10 == 0 or k == len(cases):
            log.info("analysed %d/%d (%.0f s)", k, len(cases), time.monotonic() - t0)
    return res


def latency(
    model: HairModel, baseline: HairModel, repeats: int, frame: np.ndarray[Any, Any], upp: float
) -> dict[str, float]:
    """Whole-analyze ms of ``model`` and ``baseline`` on one frame, interleaved; medians.

    Both without the classical second opinion (the model's own cost, as 1.0.0 shipped);
    ``second_opinion_ms`` is what the second opinion adds to ``model`` (interleaved too).
    """
    model.analyze(frame, upp, review_factor=None)
    baseline.analyze(frame, upp, review_factor=None)
    a: list[float] = []
    b: list[float] = []
    c: list[float] = []
    for _ in range(repeats):
        a.append(model.analyze(frame, upp, review_factor=None).total_ms)
        b.append(baseline.analyze(frame, upp, review_factor=None).total_ms)
        c.append(model.analyze(frame, upp).total_ms)
    ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
    return {
        "model_ms": ma,
        "baseline_ms": mb,
        "ratio": ma / mb,
        "with_second_opinion_ms": mc,
        "second_opinion_ms": mc - ma,
        "repeats": repeats,
    }


def rig_frame(cases: list[Case], files: list[str]) -> tuple[np.ndarray[Any, Any], float]:
    """A 2028x1520 frame for the latency figure: a twin render at the rig's scale if any."""
    for case, f in zip(cases, files, strict=True):
        if case.generator == TWIN and case.spec["nominal"] == 5.1667:
            img, truth = load(f)
            if img.shape[:2] == (1520, 2028):
                return img, float(truth["um_per_px"])
    img, _ = generate(1, um_per_px=5.27, width=2028, height=1520)
    return img, 5.27


# -- judging ---------------------------------------------------------------------------------


def _worst_group(by_group: dict[str, dict[str, Any]]) -> tuple[str, float | None]:
    worst: tuple[str, float | None] = ("-", None)
    for g, f in by_group.items():
        fam = g.split("=", 1)[0]
        if fam not in GROUP_FAMILIES or f["n_with_hairs"] < MIN_GROUP_N:
            continue
        m = f["density_mape_pct"]
        if m is not None and (worst[1] is None or m > worst[1]):
            worst = (g, m)
    return worst


def target_values(figs: dict[str, Any], gen: str) -> dict[str, tuple[float | None, str]]:
    """Each target's figure for one generator (INT8), with a note (e.g. which group)."""
    i8 = figs[gen]["int8"]
    fp = figs[gen].get("fp32", {})
    a = i8["all"]
    worst_g, worst_m = _worst_group(i8)
    gap = None
    if fp and a["density_mape_pct"] is not None and fp["all"]["density_mape_pct"] is not None:
        gap = abs(a["density_mape_pct"] - fp["all"]["density_mape_pct"])
    return {
        TARGETS[0].name: (a["density_mape_pct"], ""),
        TARGETS[1].name: (worst_m, worst_g),
        TARGETS[2].name: (a["hairless_max_per_cm2"], f"mean {fmt(a['hairless_mean_per_cm2'])}"),
        TARGETS[3].name: (a["tips_detected_pct"], f"of {a['tips']} tips"),
        TARGETS[4].name: (a["terminal_recall"], f"any det. near: {fmt(a['terminal_near'], 3)}"),
        TARGETS[5].name: (a["vellus_recall"], f"any det. near: {fmt(a['vellus_near'], 3)}"),
        TARGETS[6].name: (a["diameter_mae_um"], ""),
        TARGETS[7].name: (a["vellus_fraction_ae"], ""),
        TARGETS[8].name: (gap, ""),
    }


def judge(figs: dict[str, Any]) -> list[dict[str, Any]]:
    """For every target: each generator's value, the worst generator, the worst of the
    held-out judges (:data:`HELD_OUT_GENERATORS`: what a release is judged by, as the others
    give training frames or are the twin), and whether all pass."""
    out = []
    for t in TARGETS:
        per_gen: dict[str, Any] = {}
        # how far past (or short of) its own limit, so generators with other limits compare
        badness: dict[str, float] = {}
        for gen in figs:
            value, note = target_values(figs, gen)[t.name]
            limit = t.limits[gen]
            ok = (
                None
                if value is None
                else (value >= limit if t.higher_is_better else value <= limit)
            )
            per_gen[gen] = {"value": value, "limit": limit, "met": ok, "note": note}
            if value is not None:
                badness[gen] = limit / max(value, 1e-9) if t.higher_is_better else value / limit
        held = [g for g in badness if g in HELD_OUT_GENERATORS]
        known = [g["met"] for g in per_gen.values() if g["met"] is not None]
        out.append(
            {
                "target": t.name,
                "generators": per_gen,
                "worst_generator": max(badness, key=badness.__getitem__, default=None),
                "worst_held_out": max(held, key=badness.__getitem__, default=None),
                "met": all(known) if known else None,
            }
        )
    return out


# -- printing --------------------------------------------------------------------------------


def fmt(x: float | None, nd: int = 2) -> str:
    """A figure with ``nd`` decimals, "-" for none."""
    return "-" if x is None else f"{x:.{nd}f}"


_BAND_ORDER = {name: k for k, name in enumerate(["bare", *(n for _, n in DENSITY_BANDS)])}


def _order(group: str) -> tuple[int, str, int, str]:
    fam, _, value = group.partition("=")
    rank = {"all": 0, "hair_length": 1, "skin_tone": 2, "hair_colour": 3}.get(fam, 4)
    return rank, fam, _BAND_ORDER.get(value, 0) if fam == "density_band" else 0, group


def table(gen: str, figs: dict[str, Any]) -> str:
    """One generator's table: INT8 figures per group, FP32's density MAPE beside them; the
    count near the roots (``near_roots_96um``) only where some group has it (--near-roots)."""
    i8, fp = figs[gen]["int8"], figs[gen].get("fp32", {})
    near = any(f.get("near_roots_96um") is not None for f in i8.values())
    head = (
        f"{'group':26s} {'n':>4s} {'MAPE i8':>8s} {'bias i8':>8s} {'MAPE f32':>8s} "
        f"{'MAE /cm2':>8s} {'tips %':>7s} {'rec T':>6s} {'rec V':>6s} {'diam AE':>7s} "
        f"{'vel AE':>6s} {'units %':>7s} {'shares':>6s} "
        + (f"{'roots 96':>8s} " if near else "")
        + f"{'bare mean':>9s} {'bare max':>8s}"
    )
    lines = [
        f"== {gen} (INT8 unless marked; MAPE in %, MAE and bare skin in hairs/cm2; units %: "
        "follicular units per cm2, MAPE; shares: mean abs. error of the 1/2/3/4+ unit shares"
        + (
            f"; roots 96: the count within {NEAR_ROOTS_UM:.0f} um of the nearest true root, "
            "per true hair)"
            if near
            else ")"
        ),
        head,
    ]
    for g in sorted(i8, key=_order):
        f = i8[g]
        f32 = fp.get(g, {}).get("density_mape_pct")
        lines.append(
            f"{g:26s} {f['n']:4d} {fmt(f['density_mape_pct']):>8s} "
            f"{fmt(f['density_bias_pct']):>8s} {fmt(f32):>8s} "
            f"{fmt(f['density_mae_per_cm2'], 1):>8s} {fmt(f['tips_detected_pct'], 1):>7s} "
            f"{fmt(f['terminal_recall'], 3):>6s} {fmt(f['vellus_recall'], 3):>6s} "
            f"{fmt(f['diameter_mae_um']):>7s} {fmt(f['vellus_fraction_ae'], 3):>6s} "
            f"{fmt(f.get('units_mape_pct'), 1):>7s} {fmt(f.get('unit_shares_ae'), 3):>6s} "
            + (f"{fmt(f.get('near_roots_96um'), 3):>8s} " if near else "")
            + f"{fmt(f['hairless_mean_per_cm2'], 1):>9s} "
            f"{fmt(f['hairless_max_per_cm2'], 1):>8s}"
        )
    return "\n".join(lines)


def verdict_lines(verdicts: list[dict[str, Any]], lat: dict[str, float] | None) -> str:
    """The final "worst generator" line per target."""
    lines = [
        "== worst generator per target (INT8; held-out: the worst of "
        + ", ".join(HELD_OUT_GENERATORS)
        + ", which never train the model; * marks a generator that gives training frames)"
    ]
    for v in verdicts:
        parts = []
        for gen, g in v["generators"].items():
            note = f" [{g['note']}]" if g["note"] else ""
            star = "*" if gen in TRAINING_GENERATORS else ""
            parts.append(f"{gen}{star} {fmt(g['value'], 3)} (limit {g['limit']:g}){note}")
        met = {True: "met", False: "NOT MET", None: "-"}[v["met"]]
        worst = v["worst_generator"] or "-"
        held = v["worst_held_out"] or "-"
        lines.append(
            f"{v['target']:38s} worst: {worst:11s} held-out: {held:11s} {met:7s} | "
            + "; ".join(parts)
        )
    if lat is not None:
        met = "met" if lat["ratio"] <= 1.25 else "NOT MET"
        lines.append(
            f"{'INT8 whole analyze vs baseline INT8':38s} ratio {lat['ratio']:.2f} (limit 1.25) "
            f"{met}: {lat['model_ms']:.1f} vs {lat['baseline_ms']:.1f} ms, 2028x1520, "
            f"median of {lat['repeats']:g}, interleaved (without the second opinion, which "
            f"adds {lat['second_opinion_ms']:.1f} ms)"
        )
    return "\n".join(lines)


def load_models(models_dir: Path | None, threads: int) -> dict[str, HairModel]:
    """INT8 and FP32 of a models folder (the packaged ones when None)."""
    return {v: HairModel.load(v, threads=threads, models_dir=models_dir) for v in VARIANTS}


def run(
    *,
    models_dir: Path | None,
    baseline_dir: Path,
    n: int,
    n_hairless: int,
    n_twin: int,
    workers: int,
    threads: int,
    repeats: int,
    cache_dir: Path,
    generators: tuple[str, ...] = INDEPENDENT_GENERATORS,
    near_roots: bool = False,
) -> dict[str, Any]:
    """The whole bench; returns every figure (JSON-ready) with the printed report under "text".

    ``generators``: the independent generators to run (default: every one) besides the twin.
    ``near_roots``: also the count within 96 um of the true roots per true hair
    (:func:`analyze_all`; a second read of each model's maps per image).
    """
    cases = make_cases(n, n_hairless, n_twin, generators)
    files = build_all(cases, cache_dir, workers)
    models = load_models(models_dir, threads)
    try:
        res = analyze_all(cases, files, models, near_roots=near_roots)
        lat = None
        if repeats > 0:
            frame, upp = rig_frame(cases, files)
            with HairModel.load("int8", threads=2, models_dir=baseline_dir) as base:
                with HairModel.load("int8", threads=2, models_dir=models_dir) as mine:
                    lat = latency(mine, base, repeats, frame, upp)
    finally:
        for m in models.values():
            m.close()
    figs = res.figures()
    verdicts = judge(figs)
    review = review_figures(res.images)
    text = "\n\n".join(
        [
            *(table(g, figs) for g in figs),
            review_text(review, TRAINING_SOURCES, REVIEW_POOLS),
            verdict_lines(verdicts, lat),
        ]
    )
    return {
        "models_dir": str(models_dir) if models_dir else "packaged",
        "baseline_dir": str(baseline_dir),
        "n": {"independent": n, "hairless": n_hairless, "twin": n_twin},
        "generators": [*generators, TWIN],
        "figures": figs,
        "targets": verdicts,
        "latency": lat,
        "review": review,
        "images": res.images,
        "text": text,
    }
