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

from sim.generality.tips import main

if __name__ == "__main__":
    raise SystemExit(main())
