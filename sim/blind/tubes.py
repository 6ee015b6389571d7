"""Tubes (hairs, vessels): round cross-sections along centrelines, and what they leave on pixels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.blind.population import Polylines

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Tubes:
    """Centrelines in pixel units and per-tube shape."""

    lines: Polylines  # x, y, s in pixels
    radius: F64
    length: F64  # arc length of the free end (px)
    taper_len: F64  # px, 0 for none
    sub_len: F64  # px of faint under-skin shaft before s = 0, 0 for none
    sub_opacity: F64
    end_angle: F64  # rad
    fray_amp: F64  # px
    fray_phase: F64


@dataclass(frozen=True)
class Batch:
    """Pixels touched by some tubes, with what each tube puts there."""

    idx: I64  # (runs, n) flat pixel index row * width + col
    tube: I64  # (runs,) the tube of each run
    cover: F32  # (runs, n) covered fraction of the pixel
    path: F32  # integral of the chord over the pixel (px^2, so mean chord * cover)
    across: F32  # signed distance from the centreline / radius
    along: F32  # arc length from the emergence point (px)


def accumulate(
    batches: Iterator[Batch],
    height: int,
    width: int,
    channels: list[Callable[[Batch], F32]],
) -> list[F32]:
    """Sum per-pixel weights (one callable per output image) over all batches."""
    out = [np.zeros(height * width, dtype=np.float32) for _ in channels]
    for b in batches:
        flat_idx = b.idx.ravel()
        for acc, fn in zip(out, channels, strict=True):
            np.add.at(acc, flat_idx, fn(b).astype(np.float32, copy=False).ravel())
    return [a.reshape(height, width) for a in out]
