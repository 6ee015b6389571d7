"""Follicular units and their hairs in world microns.

Each unit is an opening with four fixed slots side by side across the growth direction;
its baseline hairs fill the first ``n`` slots, a follow-up visit with more hair fills the
others (or new units), so every kept hair keeps its emergence point across visits."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind14.hashing import hash_u, scatter
from sim.blind14.site import KINDS, Site

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
TILE_UM = 1000.0
MIN_UNIT_GAP_UM = 330.0
_SLOT_ORDER = np.array([0.0, 1.0, -1.0, 2.0])
_S_UNIT, _S_SLOT, _S_REGROW, _S_NEW = 100, 200, 300, 400


@dataclass(frozen=True)
class Units:
    uid: I64
    x: F64
    y: F64
    phi: F64
    n: I64
    slot_d: F64  # (N, 4) potential diameter of each slot's hair
    slot_x: F64  # (N, 4)
    slot_y: F64  # (N, 4)
    r_open: F64
    new: NDArray[np.bool_]


@dataclass(frozen=True)
class Hairs:
    uid: I64
    unit: I64
    slot: I64
    x: F64
    y: F64
    phi: F64
    d0: F64
    kind: I64
    length: F64
    long: NDArray[np.bool_]
    cut: NDArray[np.bool_]
    cut_style: I64  # 0 square, 1 oblique, 2 frayed
    elev: F64
    bend: F64
    curl: F64
    layer: F64
    grey: NDArray[np.bool_]
    pigment: F64
    end_ratio: F64

    def take(self, keep: NDArray[np.bool_] | I64) -> Hairs:
        return Hairs(**{k: getattr(self, k)[keep] for k in self.__dataclass_fields__})

    @staticmethod
    def join(a: Hairs, b: Hairs) -> Hairs:
        return Hairs(
            **{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in a.__dataclass_fields__}
        )

    def __len__(self) -> int:
        return len(self.uid)


def flow(site: Site, x: F64, y: F64) -> F64:
    """The site's hair-stream direction at world points (a slow swirl about the crown)."""
    out: F64 = site.flow_angle + site.flow_swirl * np.sin(x / 4100.0 + 1.3) * np.cos(
        y / 5300.0 - 0.4
    )
    return out


def _drop_crowded(x: F64, y: F64, prio: F64, others: list[tuple[F64, F64]]) -> NDArray[np.bool_]:
    """Keep points no nearer than MIN_UNIT_GAP_UM to a point of higher priority (a local
    rule: the same whatever window is drawn) nor to any of ``others``."""
    keep = np.ones(len(x), dtype=bool)
    if len(x) > 1:
        pairs = cKDTree(np.c_[x, y]).query_pairs(MIN_UNIT_GAP_UM, output_type="ndarray")
        if len(pairs):
            i, j = pairs[:, 0], pairs[:, 1]
            loser = np.where(prio[i] > prio[j], i, j)
            keep[loser] = False
    for ox, oy in others:
        if len(ox) and len(x):
            d, _ = cKDTree(np.c_[ox, oy]).query(np.c_[x, y])
            keep &= d >= MIN_UNIT_GAP_UM
    return keep


def _slot_diameter(site: Site, key: int, uid: I64, salt: int) -> tuple[I64, F64]:
    """Kind and root diameter of each of the four slots of each unit."""
    slots = np.arange(4, dtype=np.int64)[None, :]
    u = hash_u(key, salt, uid[:, None], slots)
    cum = np.cumsum(np.array(site.kind_p) / np.sum(site.kind_p))
    kind = np.searchsorted(cum, u * cum[-1], side="right").astype(np.int64)
    kind = np.minimum(kind, len(KINDS) - 1)
    v = hash_u(key, salt + 1, uid[:, None], slots)
    lo = np.array([55.0, 30.0, 10.5, 22.0, 45.0, 30.0, 45.0])[kind]
    hi = np.array([110.0, 55.0, 29.0, 60.0, 95.0, 60.0, 100.0])[kind]
    return kind, lo + (hi - lo) * v


def make_units(
    site: Site,
    bbox: tuple[float, float, float, float],
    salt: int,
    density_units: float,
    key: int,
    new: bool,
) -> Units:
    per_tile = density_units * (TILE_UM * TILE_UM) * 1e-8
    x, y, uid = scatter(key, salt, bbox, TILE_UM, per_tile)
    u = hash_u(key, salt + 3, uid)
    hpu = np.cumsum(np.array(site.hairs_per_unit))
    n = 1 + np.searchsorted(hpu / hpu[-1], u, side="right").astype(np.int64)
    n = np.minimum(n, 4)
    if not new:
        empty = hash_u(key, salt + 4, uid) < site.empty_share
        n[empty] = 0
    phi = flow(site, x, y) + (hash_u(key, salt + 5, uid) - 0.5) * 0.9
    _, d = _slot_diameter(site, key, uid, salt + 10)
    gap = 4.0 + 10.0 * hash_u(key, salt + 6, uid)
    # slots side by side across the growth direction: 0, +1, -1, +2 steps of one spacing
    spacing = d.max(axis=1) + gap
    px, py = -np.sin(phi), np.cos(phi)
    along = (
        (hash_u(key, salt + 7, uid[:, None], np.arange(4)[None, :]) - 0.5) * 0.5 * spacing[:, None]
    )
    across = _SLOT_ORDER[None, :] * spacing[:, None]
    sx = x[:, None] + across * px[:, None] + along * np.cos(phi)[:, None]
    sy = y[:, None] + across * py[:, None] + along * np.sin(phi)[:, None]
    r_open = 0.4 * spacing * np.clip(n, 1, 3) + 12.0 + 22.0 * hash_u(key, salt + 8, uid)
    # the opening sits at the middle of the unit's (baseline) hairs
    used = np.arange(4)[None, :] < np.maximum(n, 1)[:, None]
    x = (sx * used).sum(axis=1) / used.sum(axis=1)
    y = (sy * used).sum(axis=1) / used.sum(axis=1)
    return Units(uid, x, y, phi, n, d, sx, sy, r_open, np.full(len(uid), new))


def slot_hairs(
    site: Site, key: int, units: Units, slot_mask: NDArray[np.bool_], salt: int, regrowing: bool
) -> Hairs:
    """The hairs of the slots marked in ``slot_mask`` (N, 4)."""
    ui, si = np.nonzero(slot_mask)
    uid = units.uid[ui]
    slot = si.astype(np.int64)
    kind_all, d_all = _slot_diameter(site, key, units.uid, _S_SLOT + 10)
    kind = kind_all[ui, si]
    d0 = d_all[ui, si]
    h = [hash_u(key, salt + k, uid, slot) for k in range(16)]
    if regrowing:
        # a new hair of a later visit: a regrowing tapered hair or a vellus one, no wider
        # than its slot
        kind = np.where(h[0] < 0.7, 3, np.where(h[0] < 0.85, 2, 1)).astype(np.int64)
        lo = np.array([55.0, 30.0, 10.5, 18.0, 45, 30, 45])[kind]
        hi = np.array([110.0, 55.0, 29.0, 55.0, 95, 60, 100])[kind]
        d0 = np.minimum(d0, lo + (hi - lo) * h[1])
        d0 = np.maximum(d0, 10.5)
    mode = site.length_mode
    if mode == "trimmed":
        long = np.zeros(len(uid), dtype=bool)
    elif mode == "long":
        long = np.ones(len(uid), dtype=bool)
    else:
        long = h[2] < 0.5
    long &= (kind == 0) | (kind == 1)
    s_lo, s_hi = site.stub_um
    l_lo, l_hi = site.long_um
    length = np.where(long, l_lo + (l_hi - l_lo) * h[3], s_lo + (s_hi - s_lo) * h[3])
    length = np.where(kind == 2, 150.0 + 1100.0 * h[4], length)
    length = np.where(kind == 3, 250.0 + 2200.0 * h[4] ** 1.5, length)
    length = np.where(kind == 5, 500.0 + 1500.0 * h[4], length)
    length = np.where(kind == 6, 200.0 + 1300.0 * h[4], length)
    length = np.where(kind == 4, 0.0, length)
    cut = np.where(long, h[5] < site.long_cut_share, True)
    cut = np.where((kind == 2) | (kind == 3), False, cut)
    cut = np.where((kind == 5) | (kind == 6), True, cut)
    cs = np.cumsum(np.array(site.cut_styles))
    style = np.minimum(np.searchsorted(cs / cs[-1], h[6], side="right"), 2).astype(np.int64)
    style = np.where(kind == 6, np.where(h[6] < 0.7, 2, 1), style)
    elev = np.where(long, 0.35 + 0.5 * h[7], 0.25 + 0.9 * h[7])
    elev = np.where(kind == 2, 0.15 + 0.35 * h[7], elev)
    phi = units.phi[ui] + (h[8] - 0.5) * 0.5
    bend = (h[9] - 0.5) * np.where(long, 1.6, 0.5)
    curl = (h[10] - 0.5) * np.where(long, 2.2, 0.3)
    layer = np.where(long, site.layer_um * h[11], 0.0)
    grey = h[12] < site.grey_share
    pigment = np.where(kind == 2, 0.12 + 0.2 * h[13], 0.75 + 0.5 * h[13])
    pigment = np.where(kind == 1, 0.5 + 0.4 * h[13], pigment)
    end_ratio = np.where(kind == 5, 1.5 + 0.8 * h[14], 1.0)
    return Hairs(
        uid=uid * 8 + slot,
        unit=uid,
        slot=slot,
        x=units.slot_x[ui, si],
        y=units.slot_y[ui, si],
        phi=phi,
        d0=d0,
        kind=kind,
        length=length,
        long=long,
        cut=cut.astype(bool),
        cut_style=style,
        elev=elev,
        bend=bend,
        curl=curl,
        layer=layer,
        grey=grey,
        pigment=pigment,
        end_ratio=end_ratio,
    )


def _drop_touching(hairs: Hairs, fixed: int) -> Hairs:
    """Drop hairs (after the first ``fixed``, which stay) whose root lies within another
    kept hair's root (centres nearer than the mean of the two diameters plus 4 um); among
    the free ones the one with the larger hash gives way, a local rule."""
    n = len(hairs)
    if n < 2:
        return hairs
    tree = cKDTree(np.c_[hairs.x, hairs.y])
    pairs = tree.query_pairs(130.0, output_type="ndarray")
    if not len(pairs):
        return hairs
    i, j = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(hairs.x[i] - hairs.x[j], hairs.y[i] - hairs.y[j])
    bad = dist < 0.5 * (hairs.d0[i] + hairs.d0[j]) + 4.0
    i, j = i[bad], j[bad]
    prio = (hairs.uid % 1000003).astype(np.float64) + (np.arange(n) < fixed) * 1e9
    keep = np.ones(n, dtype=bool)
    order = np.argsort(-np.maximum(prio[i], prio[j]), kind="stable")
    for a, b in zip(i[order], j[order], strict=True):
        if keep[a] and keep[b]:
            loser = b if prio[a] >= prio[b] else a
            if loser >= fixed:
                keep[loser] = False
    return hairs.take(keep)


def _subset(units: Units, keep: NDArray[np.bool_]) -> Units:
    return Units(*(getattr(units, f)[keep] for f in units.__dataclass_fields__))


def populate(
    site: Site,
    bbox: tuple[float, float, float, float],
    regrown: tuple[float, int] | None,
) -> tuple[Units, Hairs]:
    """The units (openings) and hairs over the world box, for a baseline visit or a
    follow-up ``regrown=(factor, seed2)``."""
    key = site.key
    mean_n = float(np.dot(site.hairs_per_unit, [1, 2, 3, 4]) / np.sum(site.hairs_per_unit))
    wanted = site.density / max(mean_n * (1.0 - site.empty_share), 0.05)
    # thinning keeps (1 - exp(-l A)) / A of l: ask for more so the kept ones are as wanted
    area = np.pi * (MIN_UNIT_GAP_UM * 1e-4) ** 2
    unit_density = -np.log(1.0 - min(wanted * area, 0.85)) / area
    units = make_units(site, bbox, _S_UNIT, float(unit_density), key, new=False)
    units = _subset(units, _drop_crowded(units.x, units.y, hash_u(key, 7, units.uid), []))
    filled = np.arange(4)[None, :] < units.n[:, None]
    hairs = _drop_touching(slot_hairs(site, key, units, filled, _S_SLOT, regrowing=False), 0)
    if regrown is None:
        return units, hairs
    factor, seed2 = regrown
    if factor <= 1.0:
        stay = hash_u(key, _S_REGROW, hairs.uid, seed2) < factor
        return units, hairs.take(stay)
    extra = round((factor - 1.0) * len(hairs))
    # first the empty openings, then units of fewer than four (one hair at a time, in
    # rounds), then new units
    order = hash_u(key, _S_REGROW + 1, units.uid, seed2)
    add = np.zeros((len(units.uid), 4), dtype=bool)
    taken = 0
    count = np.zeros(len(units.uid), dtype=np.int64)
    np.add.at(count, np.searchsorted(units.uid, hairs.unit), 1)
    for idx in np.nonzero(count == 0)[0][np.argsort(order[count == 0], kind="stable")]:
        if taken >= extra:
            break
        add[idx, 0] = True
        count[idx] = 1
        taken += 1
    for _round in range(3):
        cand = np.nonzero((count < 4) & (count > 0))[0]
        cand = cand[np.argsort(order[cand], kind="stable")]
        for idx in cand:
            if taken >= extra:
                break
            free = np.nonzero(~add[idx] & ~filled[idx])[0]
            if free.size == 0:  # a slot given up to a neighbour's root
                count[idx] = 4
                continue
            add[idx, free[0]] = True
            count[idx] += 1
            taken += 1
    new_hairs = slot_hairs(site, key, units, add, _S_REGROW + 20, regrowing=True)
    if taken < extra:
        box = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) * 1e-8
        want = (extra - taken) / max(box, 1e-9)
        nkey = int(hash_u(key, _S_NEW, seed2)[()] * 2.0**62)
        fresh = make_units(site, bbox, _S_NEW, want / 1.5, nkey, new=True)
        fresh = replace(fresh, n=np.minimum(fresh.n, 2), uid=fresh.uid + (1 << 56))
        ok = _drop_crowded(fresh.x, fresh.y, hash_u(key, 8, fresh.uid), [(units.x, units.y)])
        fresh = _subset(fresh, ok)
        fmask = np.arange(4)[None, :] < fresh.n[:, None]
        fh = slot_hairs(site, nkey, fresh, fmask, _S_REGROW + 40, regrowing=True)
        new_hairs = Hairs.join(new_hairs, fh)
        units = Units(
            *(
                np.concatenate([getattr(units, f), getattr(fresh, f)])
                for f in units.__dataclass_fields__
            )
        )
    return units, _drop_touching(Hairs.join(hairs, new_hairs), len(hairs))
