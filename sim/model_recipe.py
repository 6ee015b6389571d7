"""The shipped hair model's recipe: the twin's training data into :mod:`inference.training`.

``python scripts/train_model.py`` runs :func:`main`; its defaults are the settings of 2.1.0's
from-scratch run, which 2.2.0 fine-tuned, 2.3.0 fine-tuned again and blended back halfway
(``--blend``), and 2.4.0 to 2.10.0 and the shipped 2.11.0 fine-tune on the twin and on frames
of independent generators (three, then five since 2.6.0: ``--real-dir``,
``scripts/export_generator_frames.py``), with the options ``scripts/rebuild_model.sh`` gives;
the manifest records the command. Steps: (1) render random scalps in random looks
(:mod:`sim.dataset`, cached in chunks that resume), (2) train with a fixed seed and checkpoints
that resume (``--checkpoint``), then, if asked, blend back toward the start (``--blend``) and
fit one count gain (``--fit-count-gain``) and a diameter gain (``--fit-diameter-gain``), (3)
export FP32 ONNX, (4) INT8 static QDQ quantisation calibrated on further twin crops, (5) the
golden self-check image and ``manifest.json`` with SHA-256s. Deterministic with one torch
thread: run twice on one kind of machine, it writes byte-identical files.

No independent generator is imported here: the training generators' frames come in through
``--real-dir``, and the held-out judges (:mod:`sim.heldout`, :mod:`sim.blind4`,
:mod:`sim.blind5`, :mod:`sim.blind8`, :mod:`sim.blind9`) only judge the result.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dermocap.fsutil import sha256_file
from inference.manifest import MANIFEST_NAME
from inference.model import HairModel, ModelSpec
from inference.preprocess import native_size, normalise, resample
from inference.runtime import OnnxMapRuntime
from inference.second_opinion import crowded_share, mats_the_frame
from inference.targets import DIAMETER_SCALE_UM, VELLUS_SPLIT_UM
from inference.training import (
    ExportSettings,
    QuantizationError,
    TrainSettings,
    blend_with_onnx,
    export_fp32,
    load_real_dir,
    set_output_gain,
    train,
    write_int8_and_manifest,
)
from inference.training.export import FP32_NAME
from inference.training.loop import (
    COUNT_NORMS,
    TARGET_GAIN,
    CheckpointMismatch,
    count_ratio,
    scale_counts,
    scale_diameters,
)
from inference.training.realdata import random_crop
from sim.config import ScalpConfig, SimConfig
from sim.dataset import (
    CROPS_PER_WORLD,
    DEFAULT_LOOKS,
    LOOKS,
    PAIR_CROPS,
    PAIRS_VERSION,
    STYLE_PAIRS_VERSION,
    Recipe,
    build_dataset,
    random_scalp,
    world_samples,
)
from sim.generality.train_frames import INDEX_NAME
from sim.tools import RenderRequest, render_capture

log = logging.getLogger(__name__)

NAME = "dermocap-hair-density"
VERSION = "2.11.0"
NATIVE_UM_PER_PX = 8.0
STRIDE = 4
MARGIN_PX = 44  # >= the receptive radius (43 px) of the net, a multiple of the stride
CROP_PX = 192  # native pixels a side of one training sample
GOLDEN_SEED = 3  # the self-check image's scalp (`dermocap sim render --seed 3`)
GOLDEN_PX = 768  # its side, native pixels: ~100 hairs, so INT8 noise of a few hairs is <10 %
WORLDS = 1000  # random scalps of the shipped training set (the --worlds default)
CALIB_SEED_BASE = 10**9  # INT8 calibration scalps, apart from training's
# Frames the count gain is fitted on (--fit-count-gain frames): apart from training's scalps
# (seed * 1_000_003 + i), INT8 calibration's, bench_inference's (7e6..) and the generality
# bench's twin rows (9e6..).
GAIN_SEED_BASE = 8_000_000
GAIN_FRAMES = 40  # the --gain-frames default
PAIR_WORLDS = 400  # scalps of before-and-after pairs (the --pair-worlds default)
ROOT = Path(__file__).resolve().parent.parent

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]


def export_settings() -> ExportSettings:
    return ExportSettings(NAME, VERSION, NATIVE_UM_PER_PX, STRIDE, MARGIN_PX)


def golden_image() -> U8:
    """A crop of a full twin capture at the rig's scale, resampled to the model's scale as
    the runtime does: dense enough that a miscount by misbehaving kernels is many hairs."""
    # The legacy look (dark openings, dense), fixed: the check image must not change with the
    # twin's default look, or a rebuild would write another golden file.
    cfg = SimConfig()
    cfg = cfg.model_copy(update={"scalp": cfg.scalp.model_copy(update={"look": "legacy"})})
    frame, truth = render_capture(cfg, RenderRequest(seed=GOLDEN_SEED))
    h, w = frame.shape[:2]
    nw, nh = native_size(w, h, float(truth["um_per_px"]), NATIVE_UM_PER_PX, STRIDE)
    native = np.clip(resample(frame, nw, nh) + 0.5, 0, 255).astype(np.uint8)
    y0, x0 = (nh - GOLDEN_PX) // 2, (nw - GOLDEN_PX) // 2
    return np.ascontiguousarray(native[y0 : y0 + GOLDEN_PX, x0 : x0 + GOLDEN_PX])


def calibration_inputs(
    recipe: Recipe, worlds: int, real: list[tuple[U8, F32]] | None = None, real_crops: int = 0
) -> list[F32]:
    """Normalised twin crops of scalps apart from training's, for INT8 calibration, and
    ``real_crops`` random crops of the ``real`` frames (``--calib-real``: the training
    generators' frames, so that the activation ranges are those of other renderers too)."""
    rng = np.random.default_rng(recipe.seed + 1)
    calib: list[F32] = []
    for i in range(worlds):
        for img, _ in world_samples(CALIB_SEED_BASE + recipe.seed * 1000 + i, recipe)[:2]:
            calib.append(normalise(img)[None])
    if real_crops:
        if not real:
            raise ValueError("calibration crops of real frames asked for, but no frames given")
        crops = np.random.default_rng([recipe.seed, 0xCA1B])
        for _ in range(real_crops):
            r_img, r_tgt = real[int(crops.integers(len(real)))]
            img, _ = random_crop(crops, r_img, r_tgt, recipe.crop_px, recipe.stride)
            calib.append(normalise(img)[None])
    rng.shuffle(calib)
    return calib


def gain_frame(i: int) -> tuple[U8, float, float, float]:
    """The ``i``-th frame a count gain is fitted on: a whole rig frame (2028x1520) of a
    scalp drawn from training's range (:func:`sim.dataset.random_scalp`), every other one in
    a random look (the rest in the twin's default look), one in four at 3-12 um/px (the rest
    at the rig's scale). Returns (frame, true um/px, true density per cm2, true mean
    diameter in um)."""
    seed = GAIN_SEED_BASE + i
    rng = np.random.default_rng([seed, 0x6A17])
    scalp = random_scalp(rng, seed).model_copy(update={"extent_mm": ScalpConfig().extent_mm})
    cfg = SimConfig()
    req = RenderRequest(
        seed=seed,
        nominal_um_per_px=float(rng.uniform(3.0, 12.0))
        if i % 4 == 1
        else RenderRequest.nominal_um_per_px,
        noise_seed=seed,
        style_seed=int(rng.integers(1, 2**31 - 1)) if i % 2 else None,
    )
    frame, truth = render_capture(cfg.model_copy(update={"scalp": scalp}), req)
    return (
        frame,
        float(truth["um_per_px"]),
        float(truth["density_per_cm2"]),
        float(truth["mean_diameter_um"]),
    )


# (frame, true um/px, true density per cm2, true mean diameter um)
GainFrame = tuple[U8, float, float, float]
# what a model reads over the truth on one gain frame: (density, mean diameter; nan where
# the frame has no hair or the model reads none)
FrameRead = tuple[float, float]


def gain_frames(frames: int, workers: int = 1) -> list[GainFrame]:
    """The first ``frames`` gain frames (:func:`gain_frame`), rendered on ``workers``
    processes; rendered once per run and read by both the FP32 and the INT8 fit."""
    from tqdm import tqdm

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(max(1, workers)) as pool:
        return list(
            tqdm(
                pool.imap(gain_frame, range(frames)), total=frames, desc="gain frames", unit="frame"
            )
        )


def read_gain_frames(
    model: HairModel, frames: list[GainFrame], progress: Callable[[int], Any] | None = None
) -> list[FrameRead]:
    """What ``model`` reads over the true density and mean diameter on each of ``frames``
    (:func:`gain_frames`), through its whole analyze: tiling, resampling and all, as a
    clinic's frame is read. ``progress`` gets 1 per frame read."""
    reads: list[FrameRead] = []
    for img, upp, density, diameter in frames:
        read = model.analyze(img, upp, review_factor=None)
        seen = read.density_per_cm2 > 0 and diameter > 0
        reads.append(
            (
                read.density_per_cm2 / density,
                read.mean_diameter_um / diameter if seen else math.nan,
            )
        )
        if progress is not None:
            progress(1)
    return reads


def frame_ratios(
    net: Any,
    frames: list[GainFrame],
    threads: int,
    progress: Callable[[int], Any] | None = None,
) -> list[FrameRead]:
    """:func:`read_gain_frames` of ``net`` (a trained net, not changed) through the FP32 file
    of a copy of it."""
    with tempfile.TemporaryDirectory(prefix="dermocap-gain-") as tmp:
        fp32 = export_fp32(copy.deepcopy(net), Path(tmp), export_settings())
        spec = ModelSpec(
            NAME,
            VERSION,
            "",
            fp32,
            NATIVE_UM_PER_PX,
            STRIDE,
            MARGIN_PX,
            DIAMETER_SCALE_UM,
            VELLUS_SPLIT_UM,
        )
        with HairModel(OnnxMapRuntime(fp32, threads=threads), spec, threads=threads) as model:
            return read_gain_frames(model, frames, progress)


def fit_int8_gain(out: Path, frames: list[GainFrame], threads: int) -> float:
    """Fit and record the output gain of ``out``'s INT8 file on the gain frames, so that it
    reads them as its FP32 file was fitted to (its quantisation shrinks all three output
    maps a few %; model card, 2.2.0). Returns the gain."""
    from tqdm import tqdm

    with (
        HairModel.load("int8", threads=threads, models_dir=out) as model,
        tqdm(total=len(frames), desc="INT8 gain frames", unit="frame") as bar,
    ):
        ratios = [r for r, _ in read_gain_frames(model, frames, bar.update)]
        gain = model.info.output_gain  # 1 for a file just written; else refitted over it
    ratio = float(np.median(ratios))
    if not 0.5 <= ratio <= 2.0:
        raise QuantizationError(
            f"the INT8 file reads {ratio:.3f} of the truth on the gain frames where its FP32 "
            "file was fitted to 1: its quantisation is broken, so no gain is recorded. Remake "
            "it with --quantize-only and --float-head or more --calib-worlds, or ship FP32"
        )
    set_output_gain(out, "int8", gain / ratio)
    print(f"INT8 read/true on {len(ratios)} twin frames: median {ratio:.4f}: x {1 / ratio:.4f}")
    return gain / ratio


def parse(argv: list[str] | None) -> argparse.Namespace:
    d = TrainSettings()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "inference" / "models", help="output folder")
    p.add_argument("--steps", type=int, default=d.steps, help="training steps")
    p.add_argument("--batch", type=int, default=d.batch, help="crops per step")
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    p.add_argument("--width", type=int, default=d.width, help="channels of the net")
    p.add_argument(
        "--body",
        choices=("plain", "separable"),
        default=d.body,
        help="the five body convs: 3x3 (plain) or depthwise 3x3 + 1x1 (separable)",
    )
    p.add_argument("--worlds", type=int, default=WORLDS, help="random scalps to render crops of")
    p.add_argument("--calib-worlds", type=int, default=40, help="scalps for INT8 calibration")
    p.add_argument(
        "--calib-real",
        type=int,
        default=0,
        help="random crops of --real-dir's frames added to INT8 calibration (0: twin crops only)",
    )
    p.add_argument(
        "--block-weight", type=float, default=d.block_weight, help="weight of the block-mean term"
    )
    p.add_argument(
        "--aux-weight", type=float, default=d.aux_weight, help="weight of the tip and shaft maps"
    )
    p.add_argument(
        "--negative-weight",
        type=float,
        default=d.negative_weight,
        help="extra weight on count mass over cut tips and shafts",
    )
    p.add_argument(
        "--root-weight",
        type=float,
        default=d.root_weight,
        help="weight of a root map's focal loss (0: no root map; a study, not exported)",
    )
    p.add_argument(
        "--count-weight",
        type=float,
        default=d.count_weight,
        help="weight of the error of a crop's whole count (pushes out an even excess)",
    )
    p.add_argument(
        "--count-norm",
        choices=COUNT_NORMS,
        default=d.count_norm,
        help="how the count error is priced (see inference.training.loop.loss_terms)",
    )
    p.add_argument(
        "--fit-count-gain",
        nargs="?",
        const="crops",
        default=None,
        choices=("crops", "frames"),
        help="after training, scale the count maps so that they sum to the truth over the "
        "interiors of a quarter of the training crops (crops, the default; see "
        "inference.training.loop.count_ratio), or so that the median frame of --gain-frames "
        "whole twin frames reads its true density (frames; see gain_frame)",
    )
    p.add_argument(
        "--gain-frames",
        type=int,
        default=GAIN_FRAMES,
        help="twin frames a frames gain is fitted on",
    )
    p.add_argument(
        "--photometric",
        type=float,
        default=d.photometric,
        help="share of crops given a random colour and tone (domain randomisation)",
    )
    p.add_argument(
        "--average-from",
        type=float,
        default=d.average_from,
        help="share of the run after which the weights of every step are averaged, and the "
        "average exported (stochastic weight averaging; 0: off; needs --init-onnx)",
    )
    p.add_argument(
        "--mixstyle",
        type=float,
        default=d.mixstyle,
        help="chance per batch that each of the two stem layers mixes the crops' feature means "
        "and spreads (MixStyle; training only, the exported graph is unchanged)",
    )
    p.add_argument(
        "--sensor-noise",
        type=float,
        default=d.sensor_noise,
        help="share of crops given a camera's noise of 1-3 px grain, half of them sharpened",
    )
    p.add_argument(
        "--regrow-share",
        type=float,
        default=0.0,
        help="share of training scalps regrown 1.1-1.6x or thinned 0.6-0.9x (treated scalps: "
        "more hairs per opening; see sim.dataset)",
    )
    p.add_argument(
        "--curl-share",
        type=float,
        default=0.0,
        help="share of training scalps whose hairs are wavy, curly or coiled (sim.scalp.curl; "
        "the twin's scalps are otherwise near straight)",
    )
    p.add_argument(
        "--looks",
        type=int,
        choices=sorted(LOOKS),
        default=DEFAULT_LOOKS,
        help="the twin's random looks of this version (11, the default: synth-v11, labyrinth "
        "networks, as 2.9.0 was trained; 12: synth-v12, deeper and thinner creases, as "
        "2.10.0 was trained; 13: synth-v13, v12 with sebum shine along creases, a "
        "candidate's; 14: synth-v14, v12 with empty openings as dark as those with hairs, a "
        "candidate's; 15: synth-v15, v12 with dark skin marks (flecks, blotches, strokes), as "
        "2.11.0 was trained; 16: synth-v16, v15 with each opening's size apart from its hairs, "
        "c39's, not shipped; 17: synth-v17, v15 with pinpoint pigmented dots, a candidate's; "
        "18: synth-v18, v17's looks with black dots among the scalps' hairs (broken at the "
        "skin, counted), a candidate's; 19: synth-v19, v15 with the shadows shafts cast on the "
        "skin, c46's; 20: synth-v20, v15 with roots drawn in the cut ends' shapes, c57's; "
        "10: synth-v10, fine pigment networks; 9: as 2.8.0 "
        "was trained)",
    )
    p.add_argument(
        "--pair-weight",
        type=float,
        default=d.pair_weight,
        help="weight of the change between visits: before-and-after pairs of one crop, the "
        "ratio of the two reads priced against the true ratio (see loop.pair_term); 0: none",
    )
    p.add_argument(
        "--pair-share",
        type=float,
        default=d.pair_share,
        help="share of each batch's crops that come as pairs (with --pair-weight)",
    )
    p.add_argument(
        "--pair-visible",
        action="store_true",
        help="price the change only on before-and-after pairs where neither visit's crop is a "
        "hair mat (inference.second_opinion.mats_the_frame), as the rig asks for such a site "
        "clipped; style pairs are all kept",
    )
    p.add_argument(
        "--pair-worlds", type=int, default=PAIR_WORLDS, help="scalps the pairs are rendered of"
    )
    p.add_argument(
        "--style-pair-worlds",
        type=int,
        default=0,
        help="scalps of style pairs added to the pair term: one crop in two looks, whose "
        "reads should agree (sim.dataset.style_pair_samples); 0: none",
    )
    p.add_argument(
        "--style-pair-regrow",
        action="store_true",
        help="style pairs whose second look is also of the scalp regrown or thinned "
        "(0.6-1.6x), so that reading every crop flatter is priced as the change it misses",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed of everything")
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads (1: reproducible)")
    p.add_argument("--workers", type=int, default=1, help="render processes")
    p.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where the training steps run: cpu (the shipped files' way; reproducible to the "
        "byte on one kind of machine) or cuda (a GPU: the same data and order, faster, floats "
        "summed in another order); rendering, gains and export stay on the CPU",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "dermocap-train",
        help="data set cache (chunks; an interrupted render resumes)",
    )
    p.add_argument("--real-dir", type=Path, default=None, help="annotated real images")
    p.add_argument("--real-share", type=float, default=d.real_share, help="share of real crops")
    p.add_argument(
        "--frame-tips",
        action="store_true",
        help="--real-dir's frames list their cut tips: train the tip map on them too",
    )
    p.add_argument(
        "--frame-tip-pits",
        type=float,
        default=d.frame_tip_pits,
        help="share of --real-dir's crops given a dimple, as an opening is drawn, under 30-100 %% "
        "of their cut tips (needs --frame-tips; see inference.training.loop.tip_pits)",
    )
    p.add_argument(
        "--init-onnx",
        type=Path,
        default=None,
        help="start from this FP32 model of the same shape (fine-tuning; BatchNorm frozen)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="save the run's state here as it goes; a run with the same settings (--threads "
        "aside) and data resumes it, one with others is refused",
    )
    p.add_argument(
        "--fit-diameter-gain",
        action="store_true",
        help="after the count gain, scale the summed-diameter map so that the median gain "
        "frame reads its true mean diameter (needs --fit-count-gain frames)",
    )
    p.add_argument(
        "--blend",
        type=float,
        default=1.0,
        help="with --init-onnx: export BLEND x the trained weights + (1 - BLEND) x the start's, "
        "before the count gain is fitted (weight-space ensembling, WiSE-FT; 1: the trained net)",
    )
    p.add_argument(
        "--blend-with",
        type=Path,
        nargs="+",
        default=None,
        help="with --blend: mix with this FP32 file instead of the start, another fine-tune of "
        "the same start (a model soup, Wortsman et al. 2022); several files are mixed in as "
        "their mean (--blend 0.3333 with two: the uniform soup of three runs)",
    )
    p.add_argument(
        "--float-head",
        action="store_true",
        help="keep the 1x1 head conv in float in the INT8 file (see quantize_qdq)",
    )
    p.add_argument(
        "--quantize-only",
        action="store_true",
        help="no training: remake the INT8 file and manifest from --out's FP32 file",
    )
    args = p.parse_args(argv)
    if not 0.0 <= args.photometric <= 1.0:
        p.error(f"--photometric is a share of crops, 0 to 1 (got {args.photometric:g})")
    if not 0.0 <= args.average_from < 1.0:
        p.error(f"--average-from is a share of the run, 0 to under 1 (got {args.average_from:g})")
    if args.average_from and args.init_onnx is None:
        p.error(
            "--average-from needs --init-onnx: a net started from a file keeps its BatchNorm "
            "frozen, so averaged weights need no new statistics"
        )
    if not 0.0 <= args.mixstyle <= 1.0:
        p.error(f"--mixstyle is a chance per batch, 0 to 1 (got {args.mixstyle:g})")
    if not 0.0 <= args.sensor_noise <= 1.0:
        p.error(f"--sensor-noise is a share of crops, 0 to 1 (got {args.sensor_noise:g})")
    if not 0.0 <= args.regrow_share <= 1.0:
        p.error(f"--regrow-share is a share of scalps, 0 to 1 (got {args.regrow_share:g})")
    if not 0.0 <= args.curl_share <= 1.0:
        p.error(f"--curl-share is a share of scalps, 0 to 1 (got {args.curl_share:g})")
    if args.pair_weight < 0:
        p.error(f"--pair-weight is a weight, 0 or more (got {args.pair_weight:g})")
    if not 0.0 < args.pair_share <= 1.0:
        p.error(f"--pair-share is a share of a batch, over 0 and up to 1 (got {args.pair_share:g})")
    if args.pair_worlds < 0 or args.style_pair_worlds < 0:
        p.error("--pair-worlds and --style-pair-worlds are numbers of scalps, 0 or more")
    if args.pair_weight > 0 and args.pair_worlds + args.style_pair_worlds < 1:
        p.error(
            "--pair-weight prices pairs: give --pair-worlds or --style-pair-worlds 1 or more "
            f"(got {args.pair_worlds} and {args.style_pair_worlds})"
        )
    if args.style_pair_worlds > 0 and args.pair_weight <= 0:
        p.error("--style-pair-worlds adds pairs to the pair term: give --pair-weight too")
    if args.style_pair_regrow and args.style_pair_worlds < 1:
        p.error("--style-pair-regrow changes the style pairs: give --style-pair-worlds too")
    if args.pair_visible and args.pair_weight <= 0:
        p.error("--pair-visible chooses the pairs of the pair term: give --pair-weight too")
    if args.count_weight < 0:
        p.error(f"--count-weight is a weight, 0 or more (got {args.count_weight:g})")
    if args.fit_diameter_gain and args.fit_count_gain != "frames":
        p.error("--fit-diameter-gain is fitted on the gain frames: give --fit-count-gain frames")
    if args.fit_count_gain and args.quantize_only:
        p.error("--fit-count-gain scales a net just trained: leave out --quantize-only")
    if not 0.0 < args.blend <= 1.0:
        p.error(f"--blend is the trained net's share, over 0 and up to 1 (got {args.blend:g})")
    if args.blend < 1.0 and (args.init_onnx is None or args.quantize_only):
        p.error("--blend mixes a fine-tune with its start: give --init-onnx and train")
    if args.blend_with is not None and args.blend == 1.0:
        p.error("--blend-with names what --blend mixes in: give --blend under 1")
    for path in args.blend_with or []:
        if not path.is_file():
            p.error(f"--blend-with {path}: no such file")
    if args.init_onnx is not None and not args.init_onnx.is_file():
        p.error(f"--init-onnx {args.init_onnx}: no such file (an FP32 .onnx the recipe wrote)")
    if args.calib_real < 0:
        p.error(f"--calib-real is a number of crops, 0 or more (got {args.calib_real})")
    if args.calib_real and args.real_dir is None:
        p.error("--calib-real takes crops of --real-dir's frames: give --real-dir too")
    if not 0.0 <= args.frame_tip_pits <= 1.0:
        p.error(f"--frame-tip-pits is a share of crops, 0 to 1 (got {args.frame_tip_pits:g})")
    if args.frame_tip_pits > 0 and not args.frame_tips:
        p.error("--frame-tip-pits lays pits under the cut tips the frames list: give --frame-tips")
    if args.frame_tips and args.real_dir is None:
        p.error("--frame-tips trains on the cut tips --real-dir's frames list: give --real-dir")
    if args.gain_frames < 1:
        p.error(f"--gain-frames is a number of frames, 1 or more (got {args.gain_frames})")
    if args.device == "cuda" and not args.quantize_only:
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: torch sees no GPU here; train with --device cpu (the default)")
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def _pair_set(args: argparse.Namespace) -> str:
    """Which pairs a run prices (``TrainSettings.pair_set``), e.g. 'pairs2x400-visible'."""
    if args.pair_weight <= 0:
        return ""
    sets = []
    if args.pair_worlds > 0:
        sets.append(f"pairs{PAIRS_VERSION}x{args.pair_worlds}" + "-visible" * args.pair_visible)
    if args.style_pair_worlds > 0:
        sets.append(
            f"stylepairs{STYLE_PAIRS_VERSION}x{args.style_pair_worlds}"
            + "-regrown" * args.style_pair_regrow
        )
    return "+".join(sets)


def _pairs(args: argparse.Namespace, recipe: Recipe, training: dict[str, Any]) -> tuple[U8, F32]:
    """The pair term's pairs: before-and-after pairs (only those with no hair mat with
    ``--pair-visible``), then style pairs; rendered or loaded from the cache."""
    from tqdm import tqdm

    sets: list[tuple[U8, F32]] = []
    for worlds, style, what in (
        (args.pair_worlds, False, "pairs"),
        (args.style_pair_worlds, True, "style pairs"),
    ):
        if worlds < 1:
            continue
        r = dataclasses.replace(
            recipe,
            worlds=worlds,
            regrow_share=0.0,
            curl_share=0.0,
            pairs=True,
            style_pairs=style,
            style_regrow=style and args.style_pair_regrow,
        )
        with tqdm(total=worlds * PAIR_CROPS, desc=f"render {what}", unit="pair") as bar:
            got = build_dataset(args.cache, r, args.workers, bar.update)
        if args.pair_visible and not style:
            got = visible_pairs(*got)
            training["pair_visible"] = len(got[0])
            print(f"{len(got[0])} of {worlds * PAIR_CROPS} pairs hold no hair mat")
        sets.append(got)
    return np.concatenate([s[0] for s in sets]), np.concatenate([s[1] for s in sets])


def visible_pairs(images: U8, targets: F32) -> tuple[U8, F32]:
    """The before-and-after pairs (:func:`sim.dataset.pair_samples`) where neither visit's
    crop is a hair mat (:func:`inference.second_opinion.mats_the_frame`). The rig asks for
    a matted site to be clipped before it is measured, so the change the clinic reads comes
    from frames like these; a pair term priced under a mat teaches the net to count the
    shafts that cover the skin, which costs the level (model card, "A pair term")."""
    keep = [
        i
        for i in range(len(images))
        if not any(mats_the_frame(crowded_share(c, NATIVE_UM_PER_PX)) for c in images[i])
    ]
    return images[keep], targets[keep]


def main(argv: list[str] | None = None) -> int:
    """Run the recipe; returns the exit status."""
    from tqdm import tqdm

    args = parse(argv)
    t0 = time.monotonic()
    recipe = Recipe(
        NATIVE_UM_PER_PX,
        STRIDE,
        CROP_PX,
        args.seed,
        args.worlds,
        args.regrow_share,
        curl_share=args.curl_share,
        looks=args.looks,
    )
    settings = TrainSettings(
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        width=args.width,
        body=args.body,
        block_weight=args.block_weight,
        aux_weight=args.aux_weight,
        negative_weight=args.negative_weight,
        root_weight=args.root_weight,
        count_weight=args.count_weight,
        count_norm=args.count_norm,
        photometric=args.photometric,
        sensor_noise=args.sensor_noise,
        average_from=args.average_from,
        mixstyle=args.mixstyle,
        pair_weight=args.pair_weight,
        pair_share=args.pair_share,
        pair_set=_pair_set(args),
        seed=args.seed,
        threads=args.threads,
        real_share=args.real_share,
        frame_tips=args.frame_tips,
        frame_tip_pits=args.frame_tip_pits,
        crop_px=CROP_PX,
        stride=STRIDE,
    )
    command = " ".join(["python scripts/train_model.py", *args.argv])
    training: dict[str, Any] = {
        "command": command,
        "seed": args.seed,
        "steps": args.steps,
        "synthetic_samples": args.worlds * CROPS_PER_WORLD,
        **({"regrow_share": args.regrow_share} if args.regrow_share > 0 else {}),
        **({"curl_share": args.curl_share} if args.curl_share > 0 else {}),
        "looks": LOOKS[args.looks],
        **(
            {"pair_weight": args.pair_weight, "pair_share": args.pair_share}
            | {"pair_samples": args.pair_worlds * PAIR_CROPS}
            | (
                {"style_pair_samples": args.style_pair_worlds * PAIR_CROPS}
                if args.style_pair_worlds > 0
                else {}
            )
            if args.pair_weight > 0
            else {}
        ),
        "real_dir": bool(args.real_dir),
        **({"frame_tips": True} if args.frame_tips else {}),
        **({"frame_tip_pits": args.frame_tip_pits} if args.frame_tip_pits > 0 else {}),
        **({"sensor_noise": args.sensor_noise} if args.sensor_noise > 0 else {}),
    }
    if args.real_dir is not None and (args.real_dir / INDEX_NAME).is_file():
        # frames of the training generators (scripts/export_generator_frames.py): which ones
        training["generator_frames"] = json.loads((args.real_dir / INDEX_NAME).read_text())
    if args.init_onnx is not None and not args.quantize_only:
        # which file a fine-tune started from, so that a rebuild can check it has the same one
        training["init_onnx_sha256"] = sha256_file(args.init_onnx)
    frames: list[GainFrame] | None = None  # the gain frames, once rendered
    real: list[tuple[U8, F32]] | None = None  # --real-dir's frames, once loaded
    reads: list[FrameRead] = []  # what the trained net reads on them
    if args.quantize_only:
        old = args.out / MANIFEST_NAME
        if old.is_file():  # the FP32 file is the training run's: keep its record
            training = {**json.loads(old.read_text()).get("training", {}), "quantized_by": command}
        if not (args.out / FP32_NAME).is_file():
            print(f"{args.out / FP32_NAME} not found: train first", file=sys.stderr)
            return 2
    else:
        with tqdm(total=args.worlds * CROPS_PER_WORLD, desc="render", unit="crop") as bar:
            images, targets = build_dataset(args.cache, recipe, args.workers, bar.update)
        if args.real_dir:
            try:
                real = load_real_dir(args.real_dir, NATIVE_UM_PER_PX, STRIDE, tips=args.frame_tips)
            except ValueError as exc:
                print(f"train_model: {exc}", file=sys.stderr)
                return 2
        pairs = None
        if args.pair_weight > 0:
            pairs = _pairs(args, recipe, training)
        with tqdm(total=args.steps, desc="train", unit="step") as bar:

            def progress(step: int, loss: float) -> None:
                bar.n = step
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{loss:.4f}")
                bar.refresh()

            try:
                net = train(
                    images,
                    targets,
                    settings,
                    real=real,
                    pairs=pairs,
                    init_onnx=args.init_onnx,
                    checkpoint=args.checkpoint,
                    progress=progress,
                    device=args.device,
                )
            except CheckpointMismatch as exc:
                print(f"train_model: {exc}", file=sys.stderr)
                return 2
        if args.blend < 1.0:  # parse() made sure of --init-onnx
            other = args.blend_with or args.init_onnx
            blend_with_onnx(net, other, args.blend, head_gain=TARGET_GAIN)
            training["blend"] = args.blend
            what = "the start"
            if args.blend_with is not None:
                shas = [sha256_file(path) for path in args.blend_with]
                training["blend_with_sha256"] = shas[0] if len(shas) == 1 else shas
                what = " + ".join(map(str, args.blend_with))
                if len(shas) > 1:
                    what = f"the mean of {what}"
            print(f"blended: {args.blend:g} x the trained net + {1 - args.blend:g} x {what}")
        if args.fit_count_gain == "frames":
            frames = gain_frames(args.gain_frames, args.workers)
            with tqdm(total=len(frames), desc="FP32 gain frames", unit="frame") as bar:
                reads = frame_ratios(net, frames, args.threads, bar.update)
            ratios = [r for r, _ in reads]
            ratio = float(np.median(ratios))
            if ratio <= 0:
                print("the net reads no hairs on the gain frames: train it longer", file=sys.stderr)
                return 3
            training["count_gain_fit"] = {"on": "frames", "frames": args.gain_frames}
            print(
                f"read/true on {len(ratios)} twin frames: median {ratio:.4f}, mean "
                f"{np.mean(ratios):.4f}, quartiles {np.percentile(ratios, 25):.4f}-"
                f"{np.percentile(ratios, 75):.4f}: counts x {1 / ratio:.4f}"
            )
        elif args.fit_count_gain == "crops":
            ratio = count_ratio(net, images[::4], targets[::4], MARGIN_PX // STRIDE)
            training["count_gain_fit"] = {"on": "crops"}
            print(
                f"read/true in the training crops' interiors {ratio:.4f}: counts x {1 / ratio:.4f}"
            )
        if args.fit_count_gain:
            scale_counts(net, 1.0 / ratio)
            training["count_gain"] = round(1.0 / ratio, 6)
        if args.fit_diameter_gain:  # parse() made sure the frames were read above
            # the count gain moved every mean diameter read by ``ratio``; a median ratio over 0
            # (checked above) means hairs were read on half the frames at least, so ``diam``
            # is never empty
            diam = [d * ratio for _, d in reads if math.isfinite(d)]
            d_ratio = float(np.median(diam))
            scale_diameters(net, 1.0 / d_ratio)
            training["diameter_gain"] = round(1.0 / d_ratio, 6)
            print(f"mean diameter read/true on {len(diam)} twin frames: median {d_ratio:.4f}")
        export_fp32(net, args.out, export_settings())
    if args.calib_real:
        if real is None:  # --quantize-only: the frames are loaded here
            real = load_real_dir(args.real_dir, NATIVE_UM_PER_PX, STRIDE)
        training = {**training, "calibration_real_crops": args.calib_real}
    calib = calibration_inputs(recipe, args.calib_worlds, real, args.calib_real)
    if args.float_head:
        training = {**training, "float_head": True}
    try:
        write_int8_and_manifest(
            args.out, calib, golden_image(), training, export_settings(), float_head=args.float_head
        )
    except QuantizationError as exc:
        print(f"{args.out}: {exc}", file=sys.stderr)
        return 3
    fit = training.get("count_gain_fit", {})
    if fit.get("on") == "frames":  # a remade INT8 file (--quantize-only) is fitted again too
        if frames is None:  # --quantize-only: the frames are rendered here
            frames = gain_frames(int(fit["frames"]), args.workers)
        try:
            fit_int8_gain(args.out, frames, args.threads)
        except QuantizationError as exc:
            print(f"{args.out}: {exc} (its INT8 file stays, without a gain)", file=sys.stderr)
            return 3
    print(f"wrote {args.out} in {time.monotonic() - t0:.0f} s")
    return 0
