#!/usr/bin/env python3
"""Read twin frames of straight and curled hair (the same roots) with one or more models.

    python scripts/bench_twin_curl.py --model shipped=inference/models --model c30=/tmp/dev3/c30

For each scalp (seeds 101 on, disjoint from training's 1,000,000 on; 60-300 hairs/cm², any
skin tone, the twin's default look, one 2028x1520 capture at ~5.2 um/px), each hair length
and each curl (``sim.scalp.curl``), the INT8 model's density against the truth; prints MAPE
and the median read/true per length, curl and model. The twin's curled hair trains models
given ``--curl-share``, so this is a training source's row (model card, "After 2.8.0").

``--openings`` also prints where each model's count sits: the count maps' mass within
``OPENING_UM`` of a follicular unit's opening (each map cell given to its nearest true
emergence point), per hair and by the unit's hairs (1-4), and the share of the frame's mass
further from any. A model that counts a unit's opening once whatever its hairs, or that
makes up a miss with mass on shafts, can read a frame's total right; this table shows it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from inference.model import HairModel
from sim.config import SimConfig
from sim.generality.openings import OPENING_UM, UNIT_SIZES, mass_at_openings
from sim.scalp import CURLS
from sim.tools import RenderRequest, render_capture

SEED_BASE = 101


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        action="append",
        metavar="NAME=DIR",
        help="a models folder (with manifest.json) under a name; repeat for more "
        "(default: shipped=the packaged models)",
    )
    p.add_argument("--n", type=int, default=10, help="scalps per length and curl")
    p.add_argument("--lengths", default="long,trimmed", help="hair lengths, comma-separated")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument(
        "--openings",
        action="store_true",
        help="also print where the count sits: at openings by unit size, and elsewhere",
    )
    args = p.parse_args(argv)
    if args.n < 1:
        p.error(f"--n is a number of scalps, 1 or more (got {args.n})")
    if args.threads < 1:
        p.error(f"--threads is a number of threads, 1 or more (got {args.threads})")
    lengths = args.lengths.split(",")
    if not set(lengths) <= {"long", "trimmed", "mixed"} or len(set(lengths)) != len(lengths):
        p.error(f"--lengths takes long, trimmed and mixed, each once (got {args.lengths})")
    args.lengths = lengths
    models: dict[str, Path | None] = {}
    for item in args.model or ["shipped="]:
        name, sep, folder = item.partition("=")
        if not sep or not name:
            p.error(f"--model wants NAME=DIR (got {item!r})")
        if name in models:
            p.error(f"--model {name} is given twice: give each model its own name")
        if folder and not (Path(folder) / "manifest.json").is_file():
            p.error(f"--model {name}: {folder} holds no manifest.json (a models folder)")
        models[name] = Path(folder) if folder else None
    args.models = models
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    models = {
        name: HairModel.load("int8", threads=args.threads, models_dir=folder)
        for name, folder in args.models.items()
    }
    reads: dict[tuple[str, str, str], list[float]] = {}
    where: dict[tuple[str, str, str], dict[str, float]] = {}
    base = SimConfig()
    try:
        for seed in range(SEED_BASE, SEED_BASE + args.n):
            rng = np.random.default_rng(seed)
            density, tone = float(rng.uniform(60.0, 300.0)), float(rng.uniform(0.0, 1.0))
            for length in args.lengths:
                for kind in CURLS:
                    scalp = base.scalp.model_copy(
                        update={
                            "hair_length": length,
                            "curl": kind,
                            "density_per_cm2": density,
                            "skin_tone": tone,
                        }
                    )
                    cfg = base.model_copy(update={"scalp": scalp})
                    img, truth = render_capture(cfg, RenderRequest(seed=seed, noise_seed=seed))
                    true = float(truth["density_per_cm2"])
                    for name, model in models.items():
                        read = model.analyze(img, float(truth["um_per_px"])).density_per_cm2
                        reads.setdefault((length, kind, name), []).append(read / true)
                        if args.openings:
                            maps, _ = model.predict_maps(img, float(truth["um_per_px"]))
                            split = mass_at_openings(maps[0] + maps[1], truth)
                            acc = where.setdefault((length, kind, name), {})
                            for key, value in split.items():
                                acc[key] = acc.get(key, 0.0) + value
    finally:
        for model in models.values():
            model.close()
    print(f"{'length':8s} {'curl':8s} {'model':10s}  n  MAPE %  median read/true")
    for (row_length, row_curl, row_model), ratios in reads.items():
        r = np.array(ratios)
        mape, median = float(np.mean(np.abs(r - 1.0))) * 100, float(np.median(r))
        print(
            f"{row_length:8s} {row_curl:8s} {row_model:10s} {len(r):2d} {mape:7.1f}  {median:.2f}"
        )
    if where:
        print()
        print(f"count within {OPENING_UM:.0f} um of an opening, per unit of k hairs (units)")
        sizes = "  ".join(f"k={k}{'+' if k == UNIT_SIZES[-1] else ' '}      " for k in UNIT_SIZES)
        print(f"{'length':8s} {'curl':8s} {'model':10s}  {sizes}  far %")
        for (row_length, row_curl, row_model), acc in where.items():
            cols = "  ".join(
                f"{acc[str(k)] / acc['n' + str(k)]:4.2f} ({acc['n' + str(k)]:4.0f})"
                if acc["n" + str(k)]
                else "   - (   0)"
                for k in UNIT_SIZES
            )
            far = 100 * acc["far"] / acc["total"] if acc["total"] else 0.0
            print(f"{row_length:8s} {row_curl:8s} {row_model:10s}  {cols}  {far:5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
