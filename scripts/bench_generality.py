#!/usr/bin/env python3
"""Judge a hair model beyond the twin: the independent generators and held-out twin renders.

    python scripts/bench_generality.py --models-dir inference/models --n 40 --json out.json

Runs INT8 and FP32 of ``--models-dir`` over images of the independent generators
(``sim/heldout``, ``sim/blind`` to ``sim/blind22``, none sharing drawing code with the twin or
with each other; ``--generators`` picks some) and over twin renders with held-out seeds, bare
skin included in both, prints one table per generator and a "worst generator" line per
release target (issue 14), and times INT8's whole analyze of a 2028x1520 frame against the
baseline's INT8 (default: the shipped 1.0.0 files, read from git), interleaved.
Images are cached under ``--cache``, keyed by the generators' source.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from dermocap.fsutil import atomic_write_json
from sim.generality import BASELINE_COMMIT, baseline_from_git, run
from sim.generality.cases import add_generators_option, chosen_generators


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--models-dir", type=Path, default=None, help="default: packaged models")
    p.add_argument(
        "--baseline-dir",
        type=Path,
        default=None,
        help=f"INT8 latency reference (default: inference/models of git {BASELINE_COMMIT})",
    )
    p.add_argument("--n", type=int, default=40, help="images per generator, with hairs")
    p.add_argument(
        "--hairless", type=int, default=None, help="bare-skin images per generator (default n/4)"
    )
    p.add_argument("--twin", type=int, default=None, help="twin renders (default n)")
    p.add_argument("--workers", type=int, default=1, help="image-making processes")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads (accuracy runs)")
    p.add_argument("--repeats", type=int, default=10, help="latency runs per model (0: none)")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    p.add_argument(
        "--near-roots",
        action="store_true",
        help="also the share of the count within 96 um of the true roots, per true hair "
        "(near_roots_96um; read from the maps the other figures are measured from)",
    )
    add_generators_option(p)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    n_hairless = max(4, args.n // 4) if args.hairless is None else args.hairless
    n_twin = args.n if args.twin is None else args.twin
    with tempfile.TemporaryDirectory(prefix="dermocap-baseline-") as tmp:
        baseline = args.baseline_dir or baseline_from_git(Path(tmp))
        out = run(
            models_dir=args.models_dir,
            baseline_dir=baseline,
            n=args.n,
            n_hairless=n_hairless,
            n_twin=n_twin,
            workers=args.workers,
            threads=args.threads,
            repeats=args.repeats,
            cache_dir=args.cache,
            generators=generators,
            near_roots=args.near_roots,
        )
    print(out["text"])
    if args.json is not None:
        atomic_write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
