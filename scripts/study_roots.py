#!/usr/bin/env python3
"""Which hair roots a hair model misses, and what they look like: the bench's recall split by
the roots' appearance.

    nice -n 10 python scripts/study_roots.py --generators blind21,blind19,blind13,blind3 --n 40

Runs ``--variant`` (INT8 as the bench's targets read it) of ``--models-dir`` over the twin's
first ``--twin`` bench frames (default ``--n``) and the first ``--n`` images with hairs of each
generator - the bench's own cases (same seeds, same image cache under ``--cache``) - and, for
every true root, applies the bench's own matching (:func:`sim.heldout.metrics.hair_finders`:
a detection within 60 um claims as many roots as the hairs it reports). Prints per generator
the roots found, checked against the bench's ``score()``, then, for terminal and vellus roots
apart, the share found (and the share with any detection near) per bin of each measure of
the root's look - opening, behind-root and shaft contrast against the skin, diameter,
crossing shafts, other roots near, frame edge, where the nearest detection sits, the image's
factors - and last the generators side by side: recall per contrast bin, the contrast along
the axis and other medians found and missed, and how far each generator's roots overlap the
twin's (:mod:`sim.generality.roots`, printed by :mod:`sim.generality.roots_report`). Each
measure only where the generator's truth can give it. Never run it on a judge that must stay
unread.
"""

from sim.generality.roots_report import main

if __name__ == "__main__":
    raise SystemExit(main())
