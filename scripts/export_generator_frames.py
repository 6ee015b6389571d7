#!/usr/bin/env python3
"""Write training frames of the training generators (blind-1, -2, -3, -6, -7) for a fine-tune.

    python scripts/export_generator_frames.py --out /tmp/dermocap-train/generators --n 300

then ``python scripts/train_model.py ... --real-dir /tmp/dermocap-train/generators``. The
held-out judges (heldout-1, blind-4, -5, -8 to -18) are refused: see
``sim/generality/train_frames.py``. A generator may carry counts of its own, ``NAME:N:BARE``
(``--generators blind:300:30,blind2:100:0``); the index records each generator's.
Frames already written by the same generator source are kept (a rerun resumes).
``--bare-roots P`` (0-1, default 0) leaves that share of the hair-bearing openings undrawn (roots
on plain skin, the truth the same); the index records it, and frames of another share are drawn
again.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sim.generality.cases import TRAINING_GENERATORS
from sim.generality.train_frames import export, parse_plan


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder of NAME.png + NAME.json")
    p.add_argument("--n", type=int, default=300, help="frames with hairs per generator")
    p.add_argument("--hairless", type=int, default=30, help="bare frames per generator")
    p.add_argument(
        "--generators",
        default=",".join(TRAINING_GENERATORS),
        help=f"comma-separated, of {', '.join(TRAINING_GENERATORS)} (default: all); each "
        "NAME or NAME:N:BARE (its own counts)",
    )
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument(
        "--bare-roots",
        type=float,
        default=0.0,
        metavar="P",
        help="share (0-1) of hair-bearing openings left undrawn: roots on plain skin (default 0)",
    )
    args = p.parse_args(argv)
    if not 0.0 <= args.bare_roots <= 1.0:
        p.error(f"--bare-roots must lie in [0, 1] (a share of the roots), not {args.bare_roots}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        plan = parse_plan(str(args.generators), args.n, args.hairless)
        index = export(plan, args.n, args.hairless, args.out, args.workers, args.bare_roots)
    except ValueError as exc:
        print(f"export_generator_frames: {exc}", file=sys.stderr)
        return 2
    print(f"{index['count']} frames of {', '.join(plan)} in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
