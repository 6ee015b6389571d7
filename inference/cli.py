"""``dermocap analyze``: hair metrics of image files, one JSON object per line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dermocap.errors import DermocapError, ImageError, ModelError
from dermocap.images import decode_rgb
from inference.config import MAX_VELLUS_THRESHOLD_UM
from inference.model import HairModel
from inference.overlay import save_overlay
from inference.preprocess import MAX_UM_PER_PX, MIN_UM_PER_PX

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_analyze_parser(subparsers: SubParsers) -> None:
    """Register ``analyze IMAGE... --um-per-px X [--model ...] [--overlay DIR] [--threads N]``."""
    p = subparsers.add_parser(
        "analyze",
        help="hair density and thickness of image files (one JSON line per image)",
        description="Measure hair density with the on-device model. Prints one JSON object "
        "per image; exits 1 if any image (or the model) failed, after trying all images.",
    )
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    p.add_argument(
        "--um-per-px", type=float, required=True, help="calibrated scale of the images (um/px)"
    )
    p.add_argument("--model", default="int8", help="int8 (default), fp32 or a path to .onnx")
    p.add_argument("--overlay", type=Path, help="write NAME.overlay.png per image into DIR")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads (default 2)")
    p.add_argument("--vellus-threshold-um", type=float, default=30.0, help="vellus below this (um)")
    p.add_argument("--points", action="store_true", help="also print every emergence point")
    p.set_defaults(func=cmd_analyze)


def _bad_arguments(args: argparse.Namespace) -> str | None:
    """What is wrong with the numeric options, in words, or None."""
    if args.threads < 1:
        return "--threads must be >= 1"
    if not math.isfinite(args.um_per_px) or not MIN_UM_PER_PX <= args.um_per_px <= MAX_UM_PER_PX:
        return (
            f"--um-per-px {args.um_per_px} is outside {MIN_UM_PER_PX}-{MAX_UM_PER_PX}: give "
            "the calibrated scale of the images (`dermocap calibrate` prints it)"
        )
    vellus = args.vellus_threshold_um
    if not math.isfinite(vellus) or not 0 < vellus <= MAX_VELLUS_THRESHOLD_UM:
        return (
            f"--vellus-threshold-um {vellus} is not a diameter above 0 and at most "
            f"{MAX_VELLUS_THRESHOLD_UM:g} um: leave it out for the usual 30 um"
        )
    overlay: Path | None = args.overlay
    if overlay is not None and overlay.exists() and not overlay.is_dir():
        return (
            f"--overlay {overlay} is a file: give a folder for the overlay images "
            "(it is created if missing)"
        )
    return None


def cmd_analyze(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Handler of ``analyze``: 0 when every image was analysed, 1 otherwise, 2 on bad usage.

    A bad image gets one ``error:`` line naming it and what to do; the others are still
    analysed.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    bad = _bad_arguments(args)
    if bad is not None:
        print(f"error: {bad}", file=err)
        return 2
    try:
        model = HairModel.load(args.model, threads=args.threads)
    except ModelError as exc:
        print(f"error: {exc}", file=err)
        return 1
    failed = 0
    with model:
        for path in args.images:
            try:
                rgb = decode_rgb(path, colour=True)
            except ImageError as exc:
                failed += 1
                print(f"error: {exc}", file=err)
                continue
            try:
                metrics = model.analyze(rgb, args.um_per_px, args.vellus_threshold_um)
                if args.overlay is not None:
                    save_overlay(args.overlay / f"{path.stem}.overlay.png", rgb, metrics)
            except (DermocapError, OSError) as exc:
                failed += 1
                print(f"error: image {path}: {exc}", file=err)
                continue
            row: dict[str, Any] = {"image": str(path)}
            row.update(metrics.model_dump() if args.points else metrics.summary())
            print(json.dumps(row), file=out, flush=True)
    if failed:
        print(f"error: {failed} of {len(args.images)} images not analysed (see above)", file=err)
    return 1 if failed else 0
