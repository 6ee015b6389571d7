#!/usr/bin/env python3
"""Compare two bench runs image by image: a candidate model (B) against a reference (A).

    python scripts/bench_generality.py --models-dir SHIPPED --n 40 --repeats 0 --json A.json
    python scripts/bench_generality.py --models-dir CANDIDATE --n 40 --repeats 0 --json B.json
    python scripts/compare_bench.py A.json B.json

Prints, per generator, both density MAPEs, the mean per-image difference of the absolute
errors with its standard error, and whether that difference is beyond two standard errors;
then each generator split at 30 hairs/cm²: the frames with more hair in % (MAPE), the
near-bald and bare ones in hairs/cm² off, each paired by image (a few near-bald frames
otherwise carry a judge's MAPE); then the figures a candidate's rule is written in.
Choose models on the rows of the sources that train them (the twin and the training
generators); the held-out judges only judge a choice made.
"""

from sim.generality.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
