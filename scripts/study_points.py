#!/usr/bin/env python3
"""Emergence points by several rules on one model's maps, per source.

    nice -n 10 python scripts/study_points.py inference/models --n 40
    nice -n 10 python scripts/study_points.py /tmp/dermocap-train/h70.pt --n 40

For the twin's bench frames and each of ``--generators`` (default the five training
generators; the bench's own cases and image cache), each rule's terminal and vellus recall,
openings found, cut tips read as hairs, precision, follicular units and the single-hair
units' share (:mod:`sim.generality.points`). A models folder is read by its INT8 file; a
checkpoint trained with ``--root-weight`` adds its root map's rules. Choose a rule on the
training sources; never run it on a judge that must stay unread.
"""

from sim.generality.points import main

if __name__ == "__main__":
    raise SystemExit(main())
