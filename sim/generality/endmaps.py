"""What a training checkpoint's maps read at the two ends of a hair (``scripts/study_end_maps.py``).

The exported model keeps only its count maps; a training checkpoint (``--checkpoint``) also
holds the training-only tip map (:data:`inference.targets.TIP_MAP`: a cut tip's Gaussian of
mass 1, a negative for the count). Read at every true terminal root and every true cut tip of
the bench's images, the two say which end the net takes a drawn end for: a root read as a
tip puts mass in the tip map and little in the count. 2.11.0's recipe (r54's checkpoint)
reads blind-21's roots so (model card, "After c55: the recipe reads blind-21's roots as cut
tips"). Each end's mass is the sum over the 3 x 3 cells around it, in hairs (the net's
training gain divided out), at the runtime's native scale. Needs the ``train`` extra (torch).

Each source also gets where the whole count sits, per true hair (emerging in the frame): in the
3 x 3 cells of any root (terminal or vellus), in those of a cut tip (not a root's), and
elsewhere (shafts and skin); the three add up to the frame's read over its truth. A models
folder (a shipped or candidate ``inference/models``) is read so too, by its INT8 file, without
the tip map it does not keep: a candidate that reads a source nearer its truth shows here
whether the count it adds sits at the roots, at the tips or along the shafts.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from inference.preprocess import native_size, normalise, resample
from inference.targets import ROOT_OUT, TIP_MAP, density_targets
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
from sim.generality.openings import cell_centres
from sim.heldout.metrics import VELLUS_SPLIT_UM
from sim.model_recipe import NATIVE_UM_PER_PX, STRIDE

DEFAULT_GENERATORS = ("blind21", "blind13", "blind19", "blind20", "blind3")


PLACES = ("roots", "cut tips", "elsewhere")
NEAR_UM = (48.0, 96.0, 192.0, 480.0)  # distances from the nearest root the count is read within


@dataclass
class Ends:
    """One source's ends: (count, tip) mass in hairs at each terminal root and cut tip (the
    tip mass NaN for a model without a tip map); the count's mass by place (:data:`PLACES`)
    summed over its frames, and their true hairs."""

    generator: str
    roots: list[tuple[float, float]] = field(default_factory=list)
    tips: list[tuple[float, float]] = field(default_factory=list)
    places: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PLACES, 0.0))
    hairs: int = 0
    near: list[float] = field(default_factory=lambda: [0.0] * len(NEAR_UM))
    near_target: list[float] = field(default_factory=lambda: [0.0] * len(NEAR_UM))


def load_net(checkpoint: Path) -> Any:
    """The net of a training checkpoint, in eval mode (its width and body from its settings)."""
    import torch

    from inference.training.net import make_net

    state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    settings = state.get("settings", {})
    outputs = int(state["net"]["head.weight"].shape[0])  # a run with a root map has one more
    net = make_net(
        int(settings.get("width", 40)), str(settings.get("body", "plain")), outputs=outputs
    )
    net.load_state_dict(state["net"])
    return net.eval()


def maps_of(net: Any, img: NDArray[np.uint8], um_per_px: float) -> NDArray[np.float32]:
    """The net's training maps of a frame at the native scale, in hairs per cell (a root map,
    if the net has one, as its logit)."""
    import torch

    from inference.training.loop import TARGET_GAIN

    h, w = img.shape[:2]
    nw, nh = native_size(w, h, um_per_px, NATIVE_UM_PER_PX, STRIDE)
    native = np.clip(resample(img, nw, nh) + 0.5, 0, 255).astype(np.uint8)
    with torch.no_grad():
        out = net(torch.from_numpy(normalise(native))[None]).numpy()[0]
    maps: NDArray[np.float32] = (out / TARGET_GAIN).astype(np.float32)
    if maps.shape[0] > ROOT_OUT:
        maps[ROOT_OUT] = out[ROOT_OUT]
    return maps


def load_models(folder: Path, threads: int) -> Any:
    """The INT8 model of a models folder (its count maps only: no tip map is exported)."""
    from inference.model import HairModel

    return HairModel.load("int8", threads=threads, models_dir=folder)


def model_maps(model: Any, img: NDArray[np.uint8], um_per_px: float) -> NDArray[np.float32]:
    """An exported model's maps of a frame, laid out as :func:`maps_of`'s: its count and
    diameter maps (with the runtime's output gain) and a tip map of NaN."""
    maps, _ = model.predict_maps(img, um_per_px)
    out = np.full((TIP_MAP + 1, *maps.shape[1:]), np.nan, dtype=np.float32)
    out[:3] = maps[:3]
    return out


@dataclass
class MapReader:
    """Maps of a frame (:func:`maps_of`'s layout) from a models folder or a checkpoint."""

    read: Callable[[NDArray[np.uint8], float], NDArray[np.float32]]
    close: Callable[[], None]
    root_map: bool  # the net predicts a root map (trained with --root-weight)


def open_maps(path: Path, threads: int) -> MapReader:
    """A models folder's INT8 file (:func:`model_maps`) or a training checkpoint's net
    (:func:`maps_of`, torch on ``threads``).

    Raises:
        ValueError: a file that is no checkpoint of this net, or a folder the runtime refuses
            (the message says why).
    """
    if path.is_dir():
        from dermocap.errors import ModelError

        try:
            model = load_models(path, threads)
        except ModelError as exc:
            raise ValueError(str(exc)) from exc
        return MapReader(partial(model_maps, model), model.close, root_map=False)
    import torch

    torch.set_num_threads(threads)
    try:
        net = load_net(path)
    except (RuntimeError, KeyError, ValueError, pickle.UnpicklingError) as exc:
        raise ValueError(f"not a checkpoint of this net ({exc})") from exc
    return MapReader(partial(maps_of, net), lambda: None, net.head.out_channels > ROOT_OUT)


def study_sources(n: int, twin: int | None, generators: tuple[str, ...]) -> dict[str, list[Case]]:
    """The twin's bench frames (``twin``; None: ``n``) and ``n`` frames with hairs of each of
    ``generators``: the bench's own cases."""
    n_twin = n if twin is None else twin
    sources = {TWIN: twin_cases(n_twin)} if n_twin else {}
    return sources | {g: independent_cases(n, 0, g) for g in generators}


def _cells(
    points: list[tuple[float, float]], shape: tuple[int, int], size: tuple[int, int]
) -> NDArray[np.bool_]:
    """The 3 x 3 cells of a map of ``shape`` around each of ``points`` (frame pixels of a
    frame of ``size`` = (width, height)), clipped at the map's edges."""
    hc, wc = shape
    sx, sy = wc / size[0], hc / size[1]
    mask = np.zeros(shape, dtype=bool)
    for x, y in points:
        cx, cy = int(x * sx), int(y * sy)
        if 0 <= cx < wc and 0 <= cy < hc:
            mask[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2] = True
    return mask


def place_mass(
    count: NDArray[np.float32], truth: dict[str, Any], size: tuple[int, int]
) -> dict[str, float]:
    """A count map's mass over a frame of ``size`` by place (:data:`PLACES`): in the 3 x 3
    cells of any root of ``truth`` (terminal or vellus), in those of a cut tip that are not a
    root's, and the rest of the frame."""
    roots = [(float(h["x_px"]), float(h["y_px"])) for h in truth["hairs"]]
    cut = [
        (float(t["x_px"]), float(t["y_px"])) for t in truth.get("tips", []) if t.get("cut", True)
    ]
    at_root = _cells(roots, count.shape, size)
    at_tip = _cells(cut, count.shape, size) & ~at_root
    return {
        "roots": float(count[at_root].sum()),
        "cut tips": float(count[at_tip].sum()),
        "elsewhere": float(count[~(at_root | at_tip)].sum()),
    }


def near_mass(
    count: NDArray[np.float32], truth: dict[str, Any], size: tuple[int, int]
) -> list[float]:
    """The mass of a count map over a frame of ``size`` = (width, height) within each of
    :data:`NEAR_UM` of the nearest true root (the frame's hairs and those emerging outside
    it), each cell at its centre by the runtime's rule for its peaks."""
    roots = [(float(h["x_px"]), float(h["y_px"])) for h in truth["hairs"]]
    roots += [(float(h["x_px"]), float(h["y_px"])) for h in truth.get("emergence_outside", [])]
    if not roots:
        return [0.0] * len(NEAR_UM)
    cells = cell_centres(count.shape, *size)
    dist = cKDTree(np.array(roots)).query(cells)[0] * float(truth["um_per_px"])
    mass = count.ravel().astype(np.float64)
    return [float(mass[dist <= d].sum()) for d in NEAR_UM]


def target_count(truth: dict[str, Any], shape: tuple[int, int], size: tuple[int, int]) -> Any:
    """The training target's count map (terminal and vellus) of a frame's hairs on a map of
    ``shape`` = the model's cells over a frame of ``size``: what a net that learnt its
    target exactly would read there."""
    hc, wc = shape
    hairs = truth["hairs"]
    x = np.array([float(h["x_px"]) for h in hairs]) * (wc * STRIDE) / size[0]
    y = np.array([float(h["y_px"]) for h in hairs]) * (hc * STRIDE) / size[1]
    d = np.array([float(h["diameter_um"]) for h in hairs])
    t = density_targets(x, y, d, hc * STRIDE, wc * STRIDE, STRIDE)
    return t[0] + t[1]


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


def study(
    read: Callable[[NDArray[np.uint8], float], NDArray[np.float32]],
    sources: dict[str, list[Case]],
    cache: Path,
    workers: int,
) -> list[Ends]:
    """Every source's cases read by ``read`` (:func:`maps_of` or :func:`model_maps` of a
    net): the mass at each of their ends, and by place."""
    out = []
    for gen, cases in sources.items():
        ends = Ends(gen)
        for f in build_all(cases, cache, workers):
            img, truth = load(f)
            maps = read(img, float(truth["um_per_px"]))
            size = (img.shape[1], img.shape[0])
            roots, tips = end_mass(maps, truth, size)
            ends.roots += roots
            ends.tips += tips
            count = (maps[0] + maps[1]).astype(np.float64)  # terminal and vellus
            for place, mass in place_mass(count, truth, size).items():
                ends.places[place] += mass
            ends.hairs += len(truth["hairs"])
            target = target_count(truth, count.shape, size)
            for i, (got, ideal) in enumerate(
                zip(near_mass(count, truth, size), near_mass(target, truth, size), strict=True)
            ):
                ends.near[i] += got
                ends.near_target[i] += ideal
        out.append(ends)
    return out


def _row(what: str, ends: list[tuple[float, float]]) -> str:
    if not ends:
        return f"  {what:6s} -"
    count, tip = zip(*ends, strict=True)
    head = (
        f"  {what:6s} n {len(ends):5d}  count {statistics.fmean(count):5.2f} (median "
        f"{statistics.median(count):5.2f})"
    )
    if any(np.isnan(tip)):
        return head + "  tip -"
    as_tip = 100.0 * statistics.fmean(t > c for c, t in ends)
    return head + (
        f"  tip {statistics.fmean(tip):5.2f} (median "
        f"{statistics.median(tip):5.2f})  tip above count {as_tip:3.0f} %"
    )


def _where(e: Ends) -> str:
    if not e.hairs:
        return "  where  -"
    share = {p: e.places[p] / e.hairs for p in PLACES}
    parts = " + ".join(f"{p} {share[p]:4.2f}" for p in PLACES)
    near = " ".join(f"{m / e.hairs:4.2f}" for m in e.near)
    ideal = " ".join(f"{m / e.hairs:4.2f}" for m in e.near_target)
    within = "/".join(f"{d:.0f}" for d in NEAR_UM)
    return (
        f"  where  read/true {sum(share.values()):4.2f} = {parts}  ({e.hairs} hairs)\n"
        f"  near   within {within} um of a root: {near} (the target's: {ideal})"
    )


def report(studies: list[Ends]) -> str:
    lines = [
        "mass in hairs over the 3 x 3 cells (96 um a side) around each end: the count maps "
        "and the training-only tip map; where: the count's mass per true hair in the cells of "
        "the roots, of the cut tips, and elsewhere; near: per true hair, the count within each "
        "distance of the nearest root, and what the training target puts there"
    ]
    for e in studies:
        lines += [e.generator, _row("roots", e.roots), _row("tips", e.tips), _where(e)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``scripts/study_end_maps.py``; returns the exit status."""
    p = argparse.ArgumentParser(
        description="What a training checkpoint's count and tip maps read at true roots and "
        "cut tips, per generator"
    )
    p.add_argument(
        "checkpoint",
        type=Path,
        help="a train_model.py --checkpoint file, or a models folder (its INT8 file, no tip map)",
    )
    p.add_argument("--n", type=int, default=20, help="images with hairs per generator")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--twin", type=int, default=None, help="twin bench frames (default n; 0: none)")
    add_generators_option(p, DEFAULT_GENERATORS)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    if not args.checkpoint.exists():
        p.error(
            f"{args.checkpoint}: no such checkpoint or models folder (train_model.py "
            "--checkpoint writes one, --out the other)"
        )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sources = study_sources(args.n, args.twin, generators)
    try:
        reader = open_maps(args.checkpoint, args.threads)
    except ValueError as exc:
        print(f"{args.checkpoint}: {exc}", file=sys.stderr)
        return 2
    try:
        print(report(study(reader.read, sources, args.cache, args.workers)))
    finally:
        reader.close()
    return 0
