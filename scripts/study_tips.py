#!/usr/bin/env python3
"""Which cut tips a hair model reads as hairs: the bench's tip figure split by cut style and more.

    nice -n 10 python scripts/study_tips.py --generators blind20,blind19,blind3,blind13 --n 40

Runs ``--variant`` (INT8 as the bench's targets read it) of ``--models-dir`` over the first
``--n`` images with hairs of each generator - the bench's own cases (same seeds, same image
cache under ``--cache``; bare frames hold no tips) - and, for every cut tip, applies the bench's
own rule (:func:`sim.heldout.metrics.cut_tip_readers`: a detection within 60 um of the tip and
not within 60 um of any true emergence point). Prints per generator: the tips read, checked
against the bench's ``score()`` total, then the share read per cut style, kind, tip diameter,
shaft length, end contrast and the image's factors (n, read, %, binomial SE, SE over images),
where the reads sit and whether the hair's own root is read too, and the median luma profile
across cut ends and roots (:mod:`sim.generality.tips`). Each factor only where the generator's
truth can give it. Never run it on a judge that must stay unread.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from dataclasses import asdict
from pathlib import Path

from inference import HairModel
from sim.generality.bench import VARIANTS, build_all
from sim.generality.cases import add_generators_option, chosen_generators, independent_cases
from sim.generality.tips import report, study


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--models-dir", type=Path, default=None, help="default: packaged models")
    p.add_argument("--variant", choices=VARIANTS, default="int8")
    p.add_argument("--n", type=int, default=40, help="images with hairs per generator")
    p.add_argument("--workers", type=int, default=1, help="image-making processes")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--json", type=Path, default=None, help="write every tip's record here")
    add_generators_option(p)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cases = [c for g in generators for c in independent_cases(args.n, 0, g)]
    files = build_all(cases, args.cache, args.workers)
    with HairModel.load(args.variant, threads=args.threads, models_dir=args.models_dir) as m:
        studies = study(cases, files, m)
    print(report(studies))
    if args.json is not None:
        out = {g: [asdict(t) for t in st.tips] for g, st in studies.items()}
        args.json.write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
