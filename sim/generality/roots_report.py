"""The printed figures of the root study (``scripts/study_roots.py``): per generator the
recall split by each root factor (:mod:`sim.generality.roots`), then the generators side by
side against the twin."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from sim.generality.cases import (
    TWIN,
    add_generators_option,
    chosen_generators,
    independent_cases,
    twin_cases,
)
from sim.generality.roots import (
    BENCH_KEYS,
    CONTRAST_EDGES,
    CONTRASTS,
    DEFAULT_GENERATORS,
    F64,
    NEAREST_BANDS,
    PROFILE_UM,
    RootFind,
    Study,
    study,
)
from sim.generality.tips import (
    Rate,
    _bin,
    _se,
    add_study_options,
    factor_rows,
    rate,
    run_study,
)


def with_quartiles(roots: Sequence[RootFind], key: str, name: str) -> list[RootFind]:
    """``roots`` with a factor ``name``: the quartile of measure ``key`` among those that
    have it ("Q1 <a", "Q2 a-b", ...); roots without it unchanged."""
    vals = np.array([r.measures[key] for r in roots if key in r.measures])
    if vals.size < 4:
        return list(roots)
    q = np.quantile(vals, [0.25, 0.5, 0.75])
    heads = [f"Q1 <{q[0]:.3f}", f"Q2 {q[0]:.3f}-{q[1]:.3f}", f"Q3 {q[1]:.3f}-{q[2]:.3f}"]
    heads.append(f"Q4 >={q[2]:.3f}")
    out = []
    for r in roots:
        if key in r.measures:
            b = heads[int(np.searchsorted(q, r.measures[key], side="right"))]
            r = replace(r, factors={**r.factors, name: b})
        out.append(r)
    return out


def near_rate(roots: Sequence[RootFind]) -> Rate:
    """As :func:`sim.generality.tips.rate`, of a detection lying near (whatever its count)."""
    return rate([replace(r, read=r.near) for r in roots])


def overlap(a: F64, b: F64, step: float = 0.025) -> float:
    """Overlap coefficient of two samples' histograms (bins of ``step``): the share of
    ``a``'s mass that ``b``'s also has, 0 (apart) to 1 (the same)."""
    if not a.size or not b.size:
        return float("nan")
    lo = min(a.min(), b.min())
    hi = max(a.max(), b.max())
    edges = np.arange(lo, hi + 2 * step, step)
    ha = np.histogram(a, edges)[0] / a.size
    hb = np.histogram(b, edges)[0] / b.size
    return float(np.minimum(ha, hb).sum())


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f} ({n})" if n else "    - (0)"


def _block(title: str, roots: list[RootFind]) -> list[str]:
    total, nr = rate(roots), near_rate(roots)
    lines = [
        f"  -- {title}: found {total.read} of {total.n} = {total.pct:.1f} % (SE roots "
        f"{total.se_tips:.1f}, images {_se(total.se_images)}); a detection near "
        f"{nr.pct:.1f} %",
        f"  {'factor':44s} {'value':24s} {'n':>5s} {'found':>5s} {'%':>6s} {'SE img':>6s} "
        f"{'near %':>6s}",
    ]
    for name, key in CONTRASTS[:1]:
        roots = with_quartiles(roots, key, f"{name}, quartile")
    groups: dict[str, dict[str, list[RootFind]]] = {}
    for r in roots:
        for k, v in r.factors.items():
            groups.setdefault(k, {}).setdefault(v, []).append(r)
    for k, rows in factor_rows(roots).items():
        for v, rt in rows.items():
            near = near_rate(groups[k][v])
            lines.append(
                f"  {k:44s} {v:24s} {rt.n:5d} {rt.read:5d} {rt.pct:6.1f} "
                f"{_se(rt.se_images):>6s} {near.pct:6.1f}"
            )
    return lines


def _cells(gens: Iterable[str], cell: Any) -> str:
    return "".join(f"{cell(g):>15s}" for g in gens)


def _x_lines(term: dict[str, list[RootFind]]) -> list[str]:
    """Per contrast: X (the twin's median) and how each generator's roots sit against the
    twin's: the shares below X of its missed, found and all roots, the share inside the
    twin's 5-95 % range, the histograms' overlap (:func:`overlap`), its median."""
    lines = []
    for name, key in CONTRASTS:
        twin = np.array([r.measures[key] for r in term[TWIN] if key in r.measures])
        if not twin.size:
            continue
        x = float(np.median(twin))
        lo, hi = (float(v) for v in np.quantile(twin, [0.05, 0.95]))
        lines += [
            f"  {name}: X = the twin's median {x:.3f}; its 5-95 % range {lo:.3f} to {hi:.3f}",
            f"  {'':30s} {'missed < X':>11s} {'found < X':>10s} {'all < X':>8s} "
            f"{'in twin 5-95':>12s} {'overlap':>8s} {'median':>7s}",
        ]
        for g, roots in term.items():
            rs = [r for r in roots if key in r.measures]
            v = np.array([r.measures[key] for r in rs])
            if not v.size:
                continue
            miss = np.array([not r.read for r in rs])
            below = v < x
            every = np.ones_like(miss)
            cells = [
                f"{100 * float(below[m].mean()):.0f} %" if m.any() else "-"
                for m in (miss, ~miss, every)
            ]
            inside = 100 * float(((v >= lo) & (v <= hi)).mean())
            lines.append(
                f"  {g:30s} {cells[0]:>11s} {cells[1]:>10s} {cells[2]:>8s} "
                f"{inside:11.0f} % {overlap(v, twin):8.2f} {float(np.median(v)):7.3f}"
            )
    return lines


def side_by_side(term: dict[str, list[RootFind]], title: str) -> list[str]:
    """Generators side by side over ``term`` (generator -> roots): recall per bin of each
    contrast, the median contrast along the axis and the measures' medians (found /
    missed), and, with the twin among them, :func:`_x_lines`."""
    gens = list(term)
    lines = [f"== {title}, generators side by side: found % (n)"]
    bins = ["<0", *(f"{a:g}-{b:g}" for a, b in itertools.pairwise(CONTRAST_EDGES))]
    for name, key in CONTRASTS:
        lines.append(f"  {name + ' (skin - root luma)':48s}" + _cells(gens, str))
        for b in [*bins, f">={CONTRAST_EDGES[-1]:g}"]:

            def cell(g: str, b: str = b, key: str = key) -> str:
                have = [r for r in term[g] if key in r.measures]
                sel = [r.read for r in have if _bin(r.measures[key], CONTRAST_EDGES) == b]
                return _pct(sum(sel), len(sel))

            lines.append(f"  {b:>48s}" + _cells(gens, cell))
    lines.append(f"  {'median (found / missed)':48s}" + _cells(gens, str))
    keys = [f"at {t:g} um" for t in PROFILE_UM]
    keys += ["skin", "diameter_um", "mates", "density_roots"]
    for key in keys:

        def med(g: str, key: str = key) -> str:
            f = [r.measures[key] for r in term[g] if key in r.measures and r.read]
            m = [r.measures[key] for r in term[g] if key in r.measures and not r.read]
            return "-" if not (f and m) else f"{np.median(f):.3f}/{np.median(m):.3f}"

        label = f"contrast {key} along the axis" if key.startswith("at ") else key
        lines.append(f"  {label:48s}" + _cells(gens, med))
    if TWIN in term:
        lines += _x_lines(term)
    return lines


def summary(studies: dict[str, Study]) -> list[str]:
    """Terminal roots, generators side by side (:func:`side_by_side`): first how many are
    found, found among roots no other shaft crosses within 60 um and among crossed ones,
    then all terminal roots and the clear ones apart (where the truth can tell them)."""
    term = {g: [r for r in st.roots if r.terminal] for g, st in studies.items()}
    clear = {g: [r for r in rs if r.measures.get("crossed") == 0.0] for g, rs in term.items()}
    crossed = {g: [r for r in rs if r.measures.get("crossed") == 1.0] for g, rs in term.items()}
    gens = list(term)
    lines = [
        "== terminal roots: found % (n)" + " " * 20 + _cells(gens, str),
        f"  {'all':48s}" + _cells(gens, lambda g: _pct(sum(r.read for r in term[g]), len(term[g]))),
        f"  {'a detection near (any count)':48s}"
        + _cells(gens, lambda g: _pct(sum(r.near for r in term[g]), len(term[g]))),
        f"  {'no other shaft within 60 um':48s}"
        + _cells(gens, lambda g: _pct(sum(r.read for r in clear[g]), len(clear[g]))),
        f"  {'another shaft within 60 um':48s}"
        + _cells(gens, lambda g: _pct(sum(r.read for r in crossed[g]), len(crossed[g]))),
        "  where the nearest detection sits, % of terminal roots (n)",
    ]
    for label, lo, hi in NEAREST_BANDS:

        def share(g: str, lo: float = lo, hi: float = hi) -> str:
            at = [lo < r.measures.get("nearest_um", math.inf) <= hi for r in term[g]]
            return _pct(sum(at), len(at))

        lines.append(f"  {'  ' + label:48s}" + _cells(gens, share))

    def offset(g: str) -> str:
        f = [r.measures["nearest_along_um"] for r in term[g] if "nearest_along_um" in r.measures]
        return f"{np.median(f):.0f} ({len(f)})" if f else "-"

    lines += [
        f"  {'  along the shaft (within 250 um), median um':48s}" + _cells(gens, offset),
        "",
    ]
    lines += side_by_side(term, "terminal roots")
    kept = {g: rs for g, rs in clear.items() if rs}
    if kept:
        lines += ["", *side_by_side(kept, "terminal roots no other shaft crosses within 60 um")]
    return lines


def report(studies: dict[str, Study]) -> str:
    """The printed tables: one block per generator (terminal, then vellus roots), then the
    generators side by side."""
    lines: list[str] = []
    for g, st in studies.items():
        b = st.bench
        found_t = sum(r.read for r in st.roots if r.terminal)
        found_v = sum(r.read for r in st.roots if not r.terminal)
        n_t = sum(r.terminal for r in st.roots)
        mine = (n_t, found_t, len(st.roots) - n_t, found_v)
        agree = "=" if mine == tuple(b[k] for k in BENCH_KEYS) else "!="
        lines.append(
            f"== {g}: roots found, terminal {found_t} of {n_t}, vellus {found_v} of "
            f"{len(st.roots) - n_t}; the bench's score(): terminal {b['terminal_hit']} of "
            f"{b['terminal']}, vellus {b['vellus_hit']} of {b['vellus']} {agree}"
        )
        lines += _block("terminal", [r for r in st.roots if r.terminal])
        lines += _block("vellus", [r for r in st.roots if not r.terminal])
        lines.append("")
    lines += summary(studies)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/study_roots.py`` (its docstring says what it prints); returns the exit status."""
    p = argparse.ArgumentParser(
        description="Which hair roots a hair model misses, and what they look like"
    )
    add_study_options(p, "root")
    p.add_argument("--twin", type=int, default=None, help="twin bench frames (default n; 0: none)")
    add_generators_option(p, DEFAULT_GENERATORS)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    n_twin = args.n if args.twin is None else args.twin
    cases = twin_cases(n_twin) + [c for g in generators for c in independent_cases(args.n, 0, g)]
    studies = run_study(args, cases, study)
    print(report(studies))
    if args.json is not None:
        out = {g: [asdict(r) for r in st.roots] for g, st in studies.items()}
        args.json.write_text(json.dumps(out))
    return 0
