#!/usr/bin/env python3
"""Judge a hair model by the change it reads between two visits of one site.

    python scripts/bench_change.py --models-dir inference/models --n 40 --json out.json

Pairs of images per generator: a held-out twin scalp and the same scalp regrown (a
follow-up visit), and images of each independent generator (``sim/heldout``, ``sim/blind``
to ``sim/blind22``; ``--generators`` picks some) with one look at two densities. Factors
cycle 1.0, 1.1, 1.2, 0.9. Prints, per generator and group, how far INT8's (and FP32's) read
change lies from the true change, in percentage points, and whether every site is within 2
points (issue 14's demo target, applied to every pair).
See ``sim/generality/change.py``.
Images are cached under ``--cache`` like ``scripts/bench_generality.py``'s.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from dermocap.fsutil import atomic_write_json
from sim.generality.cases import add_generators_option, chosen_generators
from sim.generality.change import run_change


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--models-dir", type=Path, default=None, help="default: packaged models")
    p.add_argument("--n", type=int, default=40, help="pairs per generator")
    p.add_argument("--workers", type=int, default=1, help="image-making processes")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    add_generators_option(p)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    if args.n < 1:
        p.error("--n must be at least 1 (pairs per generator)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = run_change(
        models_dir=args.models_dir,
        n=args.n,
        workers=args.workers,
        threads=args.threads,
        cache_dir=args.cache,
        generators=generators,
    )
    print(out["text"])
    if args.json is not None:
        atomic_write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
