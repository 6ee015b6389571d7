"""The generality bench: the hair model judged on the independent generator and on held-out
twin renders, every figure per generator and group (``scripts/bench_generality.py``)."""

from sim.generality.bench import TARGETS, judge, run, table, verdict_lines
from sim.generality.cases import BASELINE_COMMIT, baseline_from_git

__all__ = [
    "BASELINE_COMMIT",
    "TARGETS",
    "baseline_from_git",
    "judge",
    "run",
    "table",
    "verdict_lines",
]
