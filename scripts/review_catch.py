#!/usr/bin/env python3
"""Would today's review flags catch a saved bench's bad reads? Per generator, before and now.

    python scripts/review_catch.py BENCH.json [BENCH.json ...] [--variant int8]

Reads the JSON of ``scripts/bench_generality.py`` runs (which store every image's second
opinion fields and each variant's review reasons) and prints two tables: the flags as the
bench gave them, and the flags today's :func:`inference.second_opinion.review_reasons` gives on
the same reads, so a change to the review rules is measured on the same images without
running a model again. Bad = read more than 25 % off (bare skin: above 5 hairs/cm2); good =
within 10 % (bare: at most 5).
"""

from sim.generality.review import main

if __name__ == "__main__":
    raise SystemExit(main())
