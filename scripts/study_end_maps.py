#!/usr/bin/env python3
"""What a training checkpoint's count and tip maps read at true roots and cut tips.

    nice -n 10 python scripts/study_end_maps.py /tmp/dermocap-train/r54.pt --n 20

For the twin's bench frames and each of ``--generators`` (the bench's own cases and image
cache), the mass in hairs that the checkpoint's count maps and its training-only tip map put
in the 3 x 3 cells around every true terminal root and every true cut tip: a root read as a
tip fills the tip map and leaves the count short (:mod:`sim.generality.endmaps`); and where
the whole count sits per true hair: at the roots, at the cut tips, elsewhere. Given a models
folder instead (``python scripts/study_end_maps.py inference/models``) it reads the INT8 file,
which keeps no tip map. A checkpoint needs the ``train`` extra (torch). Never run it on a judge
that must stay unread.
"""

from sim.generality.endmaps import main

if __name__ == "__main__":
    raise SystemExit(main())
