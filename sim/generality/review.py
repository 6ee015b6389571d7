"""Do the review flags find the bad reads? Per generator: bad results flagged, good ones spared.

A clinic acts on an unflagged number as if it were checked. The review flags
(:func:`inference.second_opinion.review_reasons`) are worth what they catch: on each bench
image the bench stores the classical second opinion's fields and, per model variant, the
reasons the result would carry. Here every image is sorted by how far the network read
from the truth:

* **bad**: a frame with hairs read more than ``BAD_APE_PCT`` off the true density (a number
  a clinic must not act on unchecked), or bare skin read above ``BARE_BAD_PER_CM2``;
* **good**: a frame with hairs read within ``GOOD_APE_PCT``, or bare skin read at most
  ``BARE_BAD_PER_CM2`` (a flag there is a false alarm: a technician recaptures for nothing);
* **fair**: in between (counted, not judged).

and the share of each flagged is given per generator, with the reasons' kinds. The ideal is
every bad frame flagged and no good one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from inference.second_opinion import (
    DENSITY_IMPLAUSIBLE,
    DIAMETER_IMPLAUSIBLE,
    HAIR_MAT,
    NET_ABOVE_CLASSICAL,
    NET_BELOW_CLASSICAL,
    NO_SHAFTS,
    SecondOpinion,
    reason_fields,
    review_reasons,
)
from sim.generality.cases import HELD_OUT_GENERATORS, TRAINING_GENERATORS, TWIN

# The sources that train the model (the twin and the training generators), and the pools the
# tables sum over.
TRAINING_SOURCES = (*TRAINING_GENERATORS, TWIN)
REVIEW_POOLS = {"training": TRAINING_SOURCES, "held out": HELD_OUT_GENERATORS}

BAD_APE_PCT = 25.0
GOOD_APE_PCT = 10.0
BARE_BAD_PER_CM2 = 5.0  # the release target for bare skin

# The tables' name of each review kind (inference.second_opinion.REVIEW_KINDS).
KIND_LABELS = {
    HAIR_MAT: "mat",
    DENSITY_IMPLAUSIBLE: "implausible density",
    DIAMETER_IMPLAUSIBLE: "implausible diameter",
    NO_SHAFTS: "no shafts",
    NET_ABOVE_CLASSICAL: "net high",
    NET_BELOW_CLASSICAL: "net low",
}
# A reason's kind from its words, for benches written before results named their kinds
# (review_kinds, since issue 14's twenty-second round).
REASON_WORDS = (
    ("mat", "long hair lies over"),
    ("implausible density", "more than a scalp holds"),
    ("implausible diameter", "thicker than any scalp hair"),
    ("no shafts", "finds shafts for only"),
    ("no shafts", "sees few or no shafts"),  # its first wording (benches of 23b3250-ef2ba9f)
    ("net high", "the classical count"),
)


def reason_kind(reason: str) -> str:
    """The kind of one review reason by its words ("net low" for a disagreement the net
    reads under), for a bench that stored no kinds."""
    for kind, words in REASON_WORDS:
        if words in reason:
            if kind == "net high" and "check the frame for faint or missed hairs" in reason:
                return "net low"
            return kind
    return "other"


def read_kinds(read: dict[str, Any]) -> set[str]:
    """The kinds of a bench read's review reasons: the ones it stored, else from the words."""
    stored = read.get("review_kinds")
    if stored:
        return {KIND_LABELS.get(k, k) for k in stored}
    return {reason_kind(r) for r in read["review_reasons"]}


def outcome(true_density: float, read_density: float) -> str:
    """Sort one read: "bad", "good" or "fair", as the module says."""
    if true_density <= 0:
        return "bad" if read_density > BARE_BAD_PER_CM2 else "good"
    ape = abs(read_density - true_density) / true_density * 100.0
    if ape > BAD_APE_PCT:
        return "bad"
    return "good" if ape <= GOOD_APE_PCT else "fair"


def stored_opinion(opinion: SecondOpinion) -> dict[str, Any]:
    """The second opinion's fields as a bench image keeps them (its timing left out)."""
    return {k: v for k, v in dataclasses.asdict(opinion).items() if k != "elapsed_ms"}


def reasons_for(read: dict[str, Any], opinion: SecondOpinion) -> dict[str, list[str]]:
    """The review reasons a result with ``read``'s density and mean diameter would carry, as
    a bench read stores them: ``review_reasons`` (the words) and ``review_kinds``."""
    return reason_fields(
        review_reasons(
            float(read["density_per_cm2"]),
            opinion,
            net_mean_diameter_um=read.get("mean_diameter_um"),
        )
    )


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def _both(g: dict[str, Any], what: str) -> int:
    """A count of a tally, hair frames and bare skin together ("bad", "good_flagged", ...)."""
    return int(g.get(f"hairs_{what}", 0) + g.get(f"bare_{what}", 0))


def _with_shares(g: dict[str, Any]) -> dict[str, Any]:
    """``g`` with its bad and good frames' flagged shares set from its counts."""
    g["bad_flagged_share"] = _share(_both(g, "bad_flagged"), _both(g, "bad"))
    g["good_flagged_share"] = _share(_both(g, "good_flagged"), _both(g, "good"))
    return g


def review_figures(images: list[dict[str, Any]], variant: str = "int8") -> dict[str, Any]:
    """Per generator: counts and flagged shares of bad, fair and good frames, bare skin apart,
    how often each kind of reason was given, and on which reads (``reason_outcomes``: kind ->
    bad / fair / good frames that carry it). Images without review reasons (benches before
    they were stored) are skipped."""
    out: dict[str, Any] = {}
    for row in images:
        read = row.get(variant)
        if not isinstance(read, dict) or "review_reasons" not in read:
            continue
        g = out.setdefault(
            row["generator"],
            {
                f"{part}_{what}": 0
                for part in ("hairs", "bare")
                for what in ("bad", "bad_flagged", "fair", "fair_flagged", "good", "good_flagged")
            }
            | {"reasons": Counter(), "reason_outcomes": {}},
        )
        true = float(row["true_density_per_cm2"])
        kind = outcome(true, float(read["density_per_cm2"]))
        part = "bare" if true <= 0 else "hairs"
        flagged = bool(read["review_reasons"])
        g[f"{part}_{kind}"] += 1
        g[f"{part}_{kind}_flagged"] += int(flagged)
        kinds = read_kinds(read)
        g["reasons"].update(kinds)
        for k in kinds:
            g["reason_outcomes"].setdefault(k, dict.fromkeys(("bad", "fair", "good"), 0))[kind] += 1
    for g in out.values():
        g["reasons"] = dict(sorted(g["reasons"].items()))
        g["reason_outcomes"] = dict(sorted(g["reason_outcomes"].items()))
        _with_shares(g)
    return out


def recompute(images: list[dict[str, Any]], variant: str = "int8") -> list[dict[str, Any]]:
    """The images with ``variant``'s review reasons given again by today's
    :func:`inference.second_opinion.review_reasons`, from the second opinion's fields and the
    network's reads the bench stored (images without them are left out)."""
    out = []
    for row in images:
        read, fields = row.get(variant), row.get("second_opinion")
        if not isinstance(read, dict) or not isinstance(fields, dict):
            continue
        reasons = reasons_for(read, SecondOpinion(**fields, elapsed_ms=0.0))
        out.append(row | {variant: read | reasons})
    return out


def pooled(figs: dict[str, Any], generators: tuple[str, ...]) -> dict[str, Any]:
    """The counts of ``figs`` summed over ``generators`` (those present), shares recomputed."""
    keys = [k for k in next(iter(figs.values()), {}) if k.startswith(("hairs_", "bare_"))]
    total: dict[str, Any] = _with_shares(
        {k: sum(figs[g][k] for g in generators if g in figs) for k in keys}
    )
    outcomes: dict[str, dict[str, int]] = {}
    for gen in generators:
        for k, counts in figs.get(gen, {}).get("reason_outcomes", {}).items():
            into = outcomes.setdefault(k, dict.fromkeys(("bad", "fair", "good"), 0))
            for o, n in counts.items():
                into[o] += n
    total["reason_outcomes"] = dict(sorted(outcomes.items()))
    return total


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _line(name: str, g: dict[str, Any]) -> str:
    bad, good = _both(g, "bad"), _both(g, "good")
    cells = [
        f"{g[f'{p}_{k}_flagged']}/{g[f'{p}_{k}']}"
        for p in ("hairs", "bare")
        for k in ("bad", "fair", "good")
        if (p, k) != ("bare", "fair")
    ]
    reasons = ", ".join(f"{k} {v}" for k, v in g.get("reasons", {}).items()) or "-"
    return (
        f"{name:14s} {_pct(g['bad_flagged_share']):>5s} of {bad:<4d} "
        f"{_pct(g['good_flagged_share']):>6s} of {good:<4d} {cells[0]:>10s} {cells[1]:>10s} "
        f"{cells[2]:>10s} {cells[3]:>9s} {cells[4]:>9s}  {reasons}"
    )


def review_text(
    figs: dict[str, Any],
    training: tuple[str, ...] = (),
    pools: dict[str, tuple[str, ...]] | None = None,
    variant: str = "int8",
) -> str:
    """A table: per generator, bad frames flagged (the higher the better) and good frames
    flagged (false alarms), hair frames and bare skin apart; ``training`` gets a star, and
    each of ``pools`` (name: generators) a pooled line where it holds any."""
    lines = [
        f"== review flags ({variant.upper()}): bad = read >{BAD_APE_PCT:g} % off, or bare "
        f"skin read >{BARE_BAD_PER_CM2:g}/cm2; good = within {GOOD_APE_PCT:g} %, or bare read "
        f"<={BARE_BAD_PER_CM2:g}; flagged/n; * gives training frames",
        f"{'generator':14s} {'bad flagged':>12s} {'good flagged':>13s} {'hairs bad':>10s} "
        f"{'hairs fair':>10s} {'hairs good':>10s} {'bare bad':>9s} {'bare good':>9s}  reasons",
    ]
    lines += [_line(gen + ("*" if gen in training else ""), g) for gen, g in figs.items()]
    pooled_lines = []
    for name, gens in (pools or {}).items():
        if any(g in figs for g in gens):
            total = pooled(figs, gens)
            lines.append(_line(name, total))
            what = "; ".join(
                f"{k} {c['bad']}/{c['fair']}/{c['good']}"
                for k, c in total["reason_outcomes"].items()
            )
            pooled_lines.append(f"  {name}: {what or '-'}")
    if pooled_lines:
        lines.append("which reads each reason fell on (frames bad/fair/good):")
        lines += pooled_lines
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Would today's review flags catch a saved bench's bad reads?"
    )
    p.add_argument("bench", type=Path, nargs="+", help="JSON written by bench_generality.py")
    p.add_argument("--variant", default="int8", choices=("int8", "fp32"))
    args = p.parse_args(argv)
    images = []
    for path in args.bench:
        try:
            images += json.loads(path.read_text())["images"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(
                f"{path}: not a bench JSON ({e}); write one with scripts/bench_generality.py "
                "--json",
                file=sys.stderr,
            )
            return 2
    try:
        now = recompute(images, args.variant)
    except (KeyError, TypeError, ValueError) as e:
        print(
            f"a bench image's stored second opinion or {args.variant} read does not fit "
            f"today's fields ({e}): rerun the bench with this version",
            file=sys.stderr,
        )
        return 2
    if not now:
        print(
            f"no image carries both the second opinion's fields and a {args.variant} read: "
            "rerun the bench (7c5f042 or later stores them; it reads INT8 and FP32)",
            file=sys.stderr,
        )
        return 2
    for title, rows in (("as benched", images), ("with today's rules", now)):
        print(f"# {title}")
        print(
            review_text(
                review_figures(rows, args.variant), TRAINING_SOURCES, REVIEW_POOLS, args.variant
            )
        )
        print()
    return 0
