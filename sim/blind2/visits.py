"""A later visit to the same site.

Every baseline hair that stays keeps its row and all its numbers, so it is
drawn identically.  For a factor below 1 a random share is shed: exactly the
rounded share of the hairs in the frame, and each hair outside with that
probability.  For a factor above 1 new hairs are offered in random order,
from three sources: one more hair beside either side of an existing unit's
row, new units (1-3 hairs) in dormant or empty follicles, and, if those run
short, single hairs at fresh places away from every known opening.  Offers are
taken until the frame holds the wanted number of new hairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind2.follicles import (
    Table,
    concat,
    extend,
    fresh_units,
    hairs_for,
    position,
    take,
    unit_shares,
)
from sim.blind2.frame import Frame
from sim.blind2.look import Look

Arr = NDArray[Any]


def _shed(rng: np.random.Generator, hairs: Table, inside: Arr, factor: float) -> Table:
    keep = rng.uniform(size=inside.size) < factor
    idx_in = np.flatnonzero(inside)
    chosen = rng.permutation(idx_in)[: round(factor * idx_in.size)]
    keep[idx_in] = False
    keep[chosen] = True
    return take(hairs, np.flatnonzero(keep))


def _fresh_sites(rng: np.random.Generator, sites: Table, frame: Frame, n: int) -> tuple[Table, Arr]:
    """Up to n new invisible sites in and near the frame, clear of all known ones."""
    margin = 300.0 / frame.upp
    x = rng.uniform(-0.5 - margin, frame.width - 0.5 + margin, n)
    y = rng.uniform(-0.5 - margin, frame.height - 0.5 + margin, n)
    tree = cKDTree(np.stack([sites["x"], sites["y"]], axis=1))
    span = np.ptp(sites["x"]) * np.ptp(sites["y"])
    cell = float(np.sqrt(span / max(sites["x"].size, 1)))
    dist, near = tree.query(np.stack([x, y], axis=1))
    ok = np.flatnonzero(dist > 0.3 * cell)
    rows: Table = {}
    for key, col in sites.items():
        like_neighbour = key in ("dir", "fan", "curv", "wave", "wave_len")
        rows[key] = col[near[ok]] if like_neighbour else np.zeros(ok.size)
    rows["x"], rows["y"] = x[ok], y[ok]
    rows["kind"] = np.full(ok.size, 2.0)
    rows["dir"] = rows["dir"] + rng.normal(0.0, 0.2, ok.size)
    first = sites["x"].size
    return concat(sites, rows), np.arange(first, first + ok.size)


def regrow(
    rng: np.random.Generator, look: Look, frame: Frame, sites: Table, hairs: Table, factor: float
) -> tuple[Table, Table]:
    """Sites and hairs of a later visit with about ``factor`` times the hairs in the frame."""
    sites = {k: v.copy() for k, v in sites.items()}
    ex, ey = frame.distort(hairs["x"], hairs["y"])
    inside = frame.inside(ex, ey)
    if factor <= 1.0:
        return sites, _shed(rng, hairs, inside, factor)
    need = round((factor - 1.0) * int(inside.sum()))
    if need == 0:
        return sites, hairs
    counts = np.bincount(hairs["unit"].astype(np.int64), minlength=sites["x"].size)
    grow = np.flatnonzero(counts > 0)
    both = np.concatenate([grow, grow])
    sides = np.r_[-np.ones(grow.size), np.ones(grow.size)]
    extra = hairs_for(rng, look, both, sides, counts[both] + 1, new=True)
    extend(sites, extra, rng)
    spare = np.flatnonzero((sites["kind"] >= 1) & (counts == 0))
    sizes = np.minimum(rng.choice(4, size=spare.size, p=unit_shares(look)) + 1, 3)
    fresh = fresh_units(rng, look, sites, spare, sizes, new=True)
    offers = concat(extra, fresh)
    position(sites, offers, frame)
    offers = take(offers, rng.permutation(offers["x"].size))
    ox, oy = frame.distort(offers["x"], offers["y"])
    have = int(frame.inside(ox, oy).sum())
    if have < need:
        sites, new_sites = _fresh_sites(rng, sites, frame, 4 * (need - have) + 20)
        more = fresh_units(rng, look, sites, new_sites, np.ones(new_sites.size, np.int64), True)
        position(sites, more, frame)
        offers = concat(offers, more)
        ox, oy = frame.distort(offers["x"], offers["y"])
    hits = np.cumsum(frame.inside(ox, oy))
    stop = int(np.searchsorted(hits, need, side="left")) + 1
    return sites, concat(hairs, take(offers, np.arange(min(stop, offers["x"].size))))
