"""From hair records to settled 3-D shafts: rest shapes integrated from each hair's
curvature and torsion, then relaxed onto the skin (sim.blind11.rods), in buckets of equal
node count so that the work is vectorised."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind11.design import Design
from sim.blind11.plan import COILED, CURLY, EXCLAM, TAPER, WAVY, Hairs
from sim.blind11.rods import rest_shape, settle

F64 = NDArray[np.float64]
BUCKETS = (6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


@dataclass
class Shafts:
    """Settled shafts of a set of hairs, grouped by node count."""

    index: list[NDArray[np.intp]]  # which hairs (rows of the Hairs record)
    nodes: list[F64]  # (Hb, Nb, 3) micrometres, z up
    diam: list[F64]  # (Hb, Nb) shaft diameter at each node


def node_count(hairs: Hairs) -> NDArray[np.intp]:
    seg = np.clip(hairs.length / 10.0, 12.0, 110.0)
    helix = (hairs.curl == CURLY) | (hairs.curl == COILED)
    radius = 1.0 / np.maximum(np.abs(hairs.curv_a), 1e-9)
    seg = np.where(helix, np.minimum(seg, 2 * math.pi * radius / 13.0), seg)
    seg = np.where(hairs.curl == WAVY, np.minimum(seg, hairs.curv_b / 14.0), seg)
    seg = np.where(hairs.taper_um > 0, np.minimum(seg, np.maximum(hairs.taper_um, 60.0) / 6.0), seg)
    need = np.ceil(hairs.length / np.maximum(seg, 4.0)).astype(np.intp) + 1
    out: NDArray[np.intp] = np.asarray(BUCKETS, dtype=np.intp)[
        np.minimum(np.searchsorted(BUCKETS, need), len(BUCKETS) - 1)
    ]
    return out


def _diameters(hairs: Hairs, idx: NDArray[np.intp], n: int) -> F64:
    d = hairs.diameter[idx][:, None]
    s = np.linspace(0.0, 1.0, n)[None, :] * hairs.length[idx][:, None]
    rem = hairs.length[idx][:, None] - s
    # a cut end (blunt, oblique, frayed) keeps the full width: only natural ends taper
    taper = np.where(hairs.end[idx] == TAPER, hairs.taper_um[idx], 0.0)[:, None]
    tip = 0.3 * d
    frac = np.clip(rem / np.maximum(taper, 1e-6), 0.0, 1.0) ** 0.8
    out = np.where(taper > 0, tip + (d - tip) * frac, d)
    excl = (hairs.kind[idx] == EXCLAM)[:, None]
    grow = 0.4 + 0.6 * (s / hairs.length[idx][:, None]) ** 1.3
    out = np.where(excl, np.maximum(d * grow, 10.0), out)
    result: F64 = out
    return result


def _curvature(hairs: Hairs, idx: NDArray[np.intp], n: int) -> tuple[F64, F64]:
    seg = (hairs.length[idx] / (n - 1))[:, None]
    s = seg * np.arange(n - 1)[None, :]
    curl = hairs.curl[idx][:, None]
    a = hairs.curv_a[idx][:, None]
    b = hairs.curv_b[idx][:, None]
    phase = ((hairs.x[idx] * 0.0137 + hairs.y[idx] * 0.0191) % (2 * math.pi))[:, None]
    wave = a * np.sin(2 * math.pi * s / np.maximum(b, 1.0) + phase)
    radius = 1.0 / np.maximum(np.abs(a), 1e-9)
    pitch = b * radius
    wobble = 1.0 + 0.3 * np.sin(s / (1.7 * radius) + 2.0 * phase) * np.sin(s / (5.3 * radius))
    helix_k = radius / (radius**2 + pitch**2) * wobble
    helix_t = pitch / (radius**2 + pitch**2)
    helix = (curl == CURLY) | (curl == COILED)
    kappa = np.where(curl == WAVY, wave, np.where(helix, helix_k, a + 0.0 * s))
    tau = np.where(helix, helix_t + 0.0 * s, 0.0 * s)
    return kappa, tau


def settle_hairs(hairs: Hairs, design: Design, iterations: int = 240) -> Shafts:
    counts = node_count(hairs)
    out = Shafts(index=[], nodes=[], diam=[])
    for n in BUCKETS:
        idx = np.flatnonzero(counts == n)
        if idx.size == 0:
            continue
        az, el = hairs.azimuth[idx], hairs.elevation[idx]
        t0 = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
        side = np.stack([-np.sin(az), np.cos(az), np.zeros_like(az)], axis=1)
        up = np.stack(
            [
                t0[:, 1] * side[:, 2] - t0[:, 2] * side[:, 1],
                t0[:, 2] * side[:, 0] - t0[:, 0] * side[:, 2],
                t0[:, 0] * side[:, 1] - t0[:, 1] * side[:, 0],
            ],
            axis=1,
        )
        roll = hairs.roll[idx][:, None]
        n0 = side * np.cos(roll) + up * np.sin(roll)
        root = np.stack([hairs.x[idx], hairs.y[idx], np.zeros(idx.size)], axis=1)
        seg = hairs.length[idx] / (n - 1)
        kappa, tau = _curvature(hairs, idx, n)
        rest = rest_shape(root, t0, n0, seg, kappa, tau)
        diam = _diameters(hairs, idx, n)
        ell = design.ell_mm * 1000.0 * (hairs.diameter[idx] / 70.0) ** (2.0 / 3.0)
        nodes = settle(rest, seg, ell, 0.5 * diam, hairs.stack[idx], design.plate_um, iterations)
        out.index.append(idx)
        out.nodes.append(nodes)
        out.diam.append(diam)
    return out
