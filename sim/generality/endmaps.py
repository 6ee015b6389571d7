"""What a training checkpoint's maps read at the two ends of a hair (``scripts/study_end_maps.py``).

The exported model keeps only its count maps; a training checkpoint (``--checkpoint``) also
holds the training-only tip map (:data:`inference.targets.TIP_MAP`: a cut tip's Gaussian of
mass 1, a negative for the count). Read at every true terminal root and every true cut tip of
the bench's images, the two say which end the net takes a drawn end for: a root read as a
tip puts mass in the tip map and little in the count. 2.11.0's recipe (r54's checkpoint)
reads blind-21's roots so (model card, "After c55: the recipe reads blind-21's roots as cut
tips"). Each end's mass is the sum over the 3 x 3 cells around it, in hairs (the net's
training gain divided out), at the runtime's native scale. Needs the ``train`` extra (torch).
"""

from __future__ import annotations

import argparse
import logging
import pickle
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from inference.preprocess import native_size, normalise, resample
from inference.targets import TIP_MAP
from sim.generality.bench import build_all
from sim.generality.cases import (
    TWIN,
    Case,
    add_generators_option,
    chosen_generators,
    independent_cases,
    load,
    twin_cases,
)
from sim.heldout.metrics import VELLUS_SPLIT_UM
from sim.model_recipe import NATIVE_UM_PER_PX, STRIDE

DEFAULT_GENERATORS = ("blind21", "blind13", "blind19", "blind20", "blind3")


@dataclass
class Ends:
    """One source's ends: (count, tip) mass in hairs at each terminal root and cut tip."""

    generator: str
    roots: list[tuple[float, float]] = field(default_factory=list)
    tips: list[tuple[float, float]] = field(default_factory=list)


def load_net(checkpoint: Path) -> Any:
    """The net of a training checkpoint, in eval mode (its width and body from its settings)."""
    import torch

    from inference.training.net import make_net

    state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    settings = state.get("settings", {})
    net = make_net(int(settings.get("width", 40)), str(settings.get("body", "plain")))
    net.load_state_dict(state["net"])
    return net.eval()


def maps_of(net: Any, img: NDArray[np.uint8], um_per_px: float) -> NDArray[np.float32]:
    """The net's training maps of a frame at the native scale, in hairs per cell."""
    import torch

    from inference.training.loop import TARGET_GAIN

    h, w = img.shape[:2]
    nw, nh = native_size(w, h, um_per_px, NATIVE_UM_PER_PX, STRIDE)
    native = np.clip(resample(img, nw, nh) + 0.5, 0, 255).astype(np.uint8)
    with torch.no_grad():
        out = net(torch.from_numpy(normalise(native))[None]).numpy()[0]
    maps: NDArray[np.float32] = (out / TARGET_GAIN).astype(np.float32)
    return maps


def end_mass(
    maps: NDArray[np.float32], truth: dict[str, Any], size: tuple[int, int]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(count, tip) mass over the 3 x 3 cells around each terminal root and each cut tip of
    ``truth`` (pixel positions of a frame of ``size`` = (width, height)); ends within a cell
    of the map's edge are left out."""
    count = maps[0] + maps[1]  # terminal and vellus counts
    tip = maps[TIP_MAP]
    hc, wc = count.shape
    sx, sy = wc / size[0], hc / size[1]

    def at(x: float, y: float) -> tuple[float, float] | None:
        cx, cy = int(x * sx), int(y * sy)
        if not (1 <= cx < wc - 1 and 1 <= cy < hc - 1):
            return None
        win = (slice(cy - 1, cy + 2), slice(cx - 1, cx + 2))
        return float(count[win].sum()), float(tip[win].sum())

    roots = [
        at(float(h["x_px"]), float(h["y_px"]))
        for h in truth["hairs"]
        if float(h["diameter_um"]) >= VELLUS_SPLIT_UM
    ]
    tips = [
        at(float(t["x_px"]), float(t["y_px"])) for t in truth.get("tips", []) if t.get("cut", True)
    ]
    return [r for r in roots if r is not None], [t for t in tips if t is not None]


def study(net: Any, sources: dict[str, list[Case]], cache: Path, workers: int) -> list[Ends]:
    """Every source's cases read by ``net``: the mass at each of their ends."""
    out = []
    for gen, cases in sources.items():
        ends = Ends(gen)
        for f in build_all(cases, cache, workers):
            img, truth = load(f)
            maps = maps_of(net, img, float(truth["um_per_px"]))
            roots, tips = end_mass(maps, truth, (img.shape[1], img.shape[0]))
            ends.roots += roots
            ends.tips += tips
        out.append(ends)
    return out


def _row(what: str, ends: list[tuple[float, float]]) -> str:
    if not ends:
        return f"  {what:6s} -"
    count, tip = zip(*ends, strict=True)
    as_tip = 100.0 * statistics.fmean(t > c for c, t in ends)
    return (
        f"  {what:6s} n {len(ends):5d}  count {statistics.fmean(count):5.2f} (median "
        f"{statistics.median(count):5.2f})  tip {statistics.fmean(tip):5.2f} (median "
        f"{statistics.median(tip):5.2f})  tip above count {as_tip:3.0f} %"
    )


def report(studies: list[Ends]) -> str:
    lines = [
        "mass in hairs over the 3 x 3 cells (96 um a side) around each end: the count maps "
        "and the training-only tip map"
    ]
    for e in studies:
        lines += [e.generator, _row("roots", e.roots), _row("tips", e.tips)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/study_end_maps.py``; returns the exit status."""
    p = argparse.ArgumentParser(
        description="What a training checkpoint's count and tip maps read at true roots and "
        "cut tips, per generator"
    )
    p.add_argument("checkpoint", type=Path, help="a train_model.py --checkpoint file")
    p.add_argument("--n", type=int, default=20, help="images with hairs per generator")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--twin", type=int, default=None, help="twin bench frames (default n; 0: none)")
    add_generators_option(p, DEFAULT_GENERATORS)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    if not args.checkpoint.is_file():
        p.error(f"{args.checkpoint}: no such checkpoint (train_model.py --checkpoint writes one)")
    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        net = load_net(args.checkpoint)
    except (RuntimeError, KeyError, ValueError, pickle.UnpicklingError) as exc:
        print(f"{args.checkpoint}: not a checkpoint of this net ({exc})", file=sys.stderr)
        return 2
    n_twin = args.n if args.twin is None else args.twin
    sources = {TWIN: twin_cases(n_twin)} if n_twin else {}
    sources |= {g: independent_cases(args.n, 0, g) for g in generators}
    print(report(study(net, sources, args.cache, args.workers)))
    return 0
