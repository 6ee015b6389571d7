#!/usr/bin/env python3
"""Calibrate the classical second opinion on twin renders: its count band and the review factor.

    python scripts/calibrate_second_opinion.py --renders 40 --long 10
    python scripts/calibrate_second_opinion.py --look random --renders 16 --long 4
    python scripts/calibrate_second_opinion.py --look random --start 16 --renders 32 --long 0
    python scripts/calibrate_second_opinion.py --time 15     # speed on one 2028x1520 frame,
                                        # and a whole analyze with it after / beside the net

Renders held-out twin captures at the rig's scale (seeds apart from training and the
inference bench), cached under ``--cache``: ``--renders`` trimmed-hair scalps over every skin
tone, hair colour (cycled), density and vellus share (renders ``--start`` on: a second set of
seeds), and ``--long`` long or mixed ones, in the twin's ``--look`` (legacy, trichoscopy, or
random: a style seed of its own per render). On each it runs the shipped INT8 model and
:func:`inference.second_opinion.second_opinion`, and prints per render and in summary:

* the classical count over the truth, on all frames and on those it calls applicable;
* the ratio net / classical: median, 5th and 95th percentile;
* for candidate bands (centre 1 and ``REVIEW_CENTRE``, each factor), the share of normal
  trimmed frames flagged, and of the same frames with the net miscounting by 1.5x either way
  (net x 1.5 and net / 1.5);
* whether long and mixed frames are reported not applicable.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from inference import HairModel
from inference.second_opinion import REVIEW_CENTRE, review_flags, second_opinion
from sim.config import SimConfig
from sim.scalp import hair_colour_names
from sim.tools import RenderRequest, render_capture

SEED_BASE = 8_000_000  # training: 1e6.., bench_inference: 7e6..
FACTORS = (1.2, 1.25, 1.3, 1.35, 1.4, 1.5)
CENTRES = (1.0, REVIEW_CENTRE)  # the band [centre / factor, centre * factor]


LOOKS = ("legacy", "trichoscopy", "random")
STYLE_SEED_BASE = 8_500_000  # random looks: style seed of render i


def make_case(i: int, length: str, look: str = "legacy") -> dict[str, Any]:
    """Scalp, optics and capture settings of render ``i`` in ``look``.

    The geometry and capture settings do not depend on the look (the same scalps in each).
    """
    rng = np.random.default_rng([SEED_BASE, i, len(length)])
    return {
        "scalp": {
            "skin_tone": float(rng.uniform(0, 1)),
            "hair_colour": hair_colour_names()[i % 7],
            "density_per_cm2": float(rng.uniform(40, 320)),
            "vellus_fraction": float(rng.uniform(0.05, 0.40)),
            "hair_length": length,
            "empty_follicle_fraction": float(rng.uniform(0, 0.3)),
            "look": look,
        },
        "um_per_px_error": float(rng.uniform(-0.05, 0.05)),
        "z": float(rng.uniform(-0.1, 0.1)),
        "light": "parallel" if rng.random() < 0.2 else "cross",
        "duty": float(rng.uniform(0.5, 0.85)),
        "exposure_us": int(rng.integers(6500, 10000)),
        "style_seed": STYLE_SEED_BASE + i + (0 if length == "trimmed" else 50_000)
        if look == "random"
        else None,
    }


def render(
    i: int, length: str, cache: Path, look: str = "legacy"
) -> tuple[np.ndarray, dict[str, Any]]:
    """The frame and truth of case ``i`` (from the cache when there)."""
    prefix = "" if look == "legacy" else f"{look}-"  # legacy keeps the first run's names
    path = cache / f"{prefix}{length}-{i:03d}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["image"], json.loads(str(z["truth"]))
    case = make_case(i, length, look)
    cfg = SimConfig.model_validate(
        {"scalp": case["scalp"], "optics": {"um_per_px_error": case["um_per_px_error"]}}
    )
    req = RenderRequest(
        seed=SEED_BASE + i + (0 if length == "trimmed" else 50_000),
        light=case["light"],
        duty=case["duty"],
        exposure_us=case["exposure_us"],
        z_offset_mm=case["z"],
        noise_seed=i,
        style_seed=case["style_seed"],
    )
    img, truth = render_capture(cfg, req)
    truth.pop("hairs")
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, image=img, truth=json.dumps(truth))
    tmp.replace(path)
    return img, truth


def pcts(x: np.ndarray) -> str:
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    return f"median {p50:.3f}, 5th {p5:.3f}, 95th {p95:.3f} (min {x.min():.3f}, max {x.max():.3f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--renders", type=int, default=40, help="trimmed-hair renders")
    p.add_argument("--start", type=int, default=0, help="first trimmed render (seed offset)")
    p.add_argument("--long", type=int, default=10, help="long and mixed renders (half each)")
    p.add_argument("--look", choices=LOOKS, default="legacy", help="the twin's look")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-second")
    p.add_argument(
        "--time", type=int, default=0, metavar="N", help="only time N runs on trimmed render 16"
    )
    args = p.parse_args(argv)
    if min(args.start, args.renders, args.long, args.time) < 0:
        p.error("--start, --renders, --long and --time take a count: 0 or more")
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.time:
        img, truth = render(16, "trimmed", args.cache, args.look)
        cpu, wall = [], []
        for _ in range(args.time):
            c0, w0 = time.process_time(), time.perf_counter()
            second_opinion(img, float(truth["um_per_px"]))
            cpu.append(1000 * (time.process_time() - c0))
            wall.append(1000 * (time.perf_counter() - w0))
        print(
            f"{img.shape[1]}x{img.shape[0]} frame, {args.time} runs: CPU median "
            f"{statistics.median(cpu):.0f} ms (min {min(cpu):.0f}), wall median "
            f"{statistics.median(wall):.0f} ms (min {min(wall):.0f})"
        )
        # Whole analyze (INT8, 2 threads), interleaved: the network alone, the second opinion
        # after it, and as analyze runs it, beside it on a thread of its own.
        um = float(truth["um_per_px"])
        net, after, beside = [], [], []
        with HairModel.load("int8", threads=2) as model:
            model.analyze(img, um)
            for _ in range(args.time):
                w0 = time.perf_counter()
                model.analyze(img, um, review_factor=None)
                net.append(1000 * (time.perf_counter() - w0))
                second_opinion(img, um)
                after.append(1000 * (time.perf_counter() - w0))
                w0 = time.perf_counter()
                model.analyze(img, um)
                beside.append(1000 * (time.perf_counter() - w0))
        med = statistics.median
        print(
            f"whole analyze, wall medians: network alone {med(net):.0f} ms, with the second "
            f"opinion after it {med(after):.0f} ms, beside it (as analyze runs) "
            f"{med(beside):.0f} ms: {med(beside) / med(after):.2f}x"
        )
        return 0

    rows = []
    with HairModel.load("int8", threads=2) as model:
        for i in range(args.start, args.start + args.renders):
            img, truth = render(i, "trimmed", args.cache, args.look)
            um = float(truth["um_per_px"])
            second = second_opinion(img, um)
            net = model.analyze(img, um).density_per_cm2
            true = float(truth["density_per_cm2"])
            rows.append((true, net, second.density_per_cm2, second))
            s = truth["scalp"]
            print(
                f"trimmed {i:3d} {s['hair_colour']:10s} tone {s['skin_tone']:.2f} "
                f"vellus {truth['vellus_fraction']:.2f} true {true:5.1f}/cm2 net {net:5.1f} "
                f"classical {second.density_per_cm2:5.1f} cover {second.cover:.2f} "
                f"crowded {second.crowded:.2f} contrast {second.contrast:.2f} "
                f"threshold {second.threshold:.2f} colour-only {second.colour_only:.2f} "
                f"{second.mm_per_hair:.2f} mm/hair "
                f"applicable {second.applicable} {second.elapsed_ms:.0f} ms",
                flush=True,
            )
        long_rows = []
        for i in range(args.long):
            length = ("long", "mixed")[i % 2]
            img, truth = render(i, length, args.cache, args.look)
            second = second_opinion(img, float(truth["um_per_px"]))
            long_rows.append(second)
            verdict = second.reason or "applicable"
            print(
                f"{length:7s} {i:3d} crowded {second.crowded:.2f} contrast {second.contrast:.2f} "
                f"{second.mm_per_hair:.2f} mm/hair: {verdict}"
            )

    true = np.array([r[0] for r in rows])
    net = np.array([r[1] for r in rows])
    classical = np.array([r[2] for r in rows])
    ok = np.array([r[3].applicable for r in rows])
    print(f"\n{args.look} look: {len(rows)} trimmed renders, {int(ok.sum())} applicable")
    print(f"classical / truth, all:      {pcts(classical / true)}")
    if ok.any():
        print(f"classical / truth, applicable: {pcts(classical[ok] / true[ok])}")
    print(f"net / truth:                 {pcts(net / true)}")
    if ok.any():
        print(f"net / classical (applicable): {pcts(net[ok] / classical[ok])}")
    pairs = [(n, r[3]) for n, r in zip(net, rows, strict=True) if r[3].applicable]
    for c in CENTRES:
        for f in FACTORS:
            shares = [
                np.mean([bool(review_flags(n * m, s, f, c)) for n, s in pairs])
                for m in (1, 1.5, 1 / 1.5)
            ]
            print(
                f"centre {c:.2f} factor {f:.2f} [{c / f:.2f}, {c * f:.2f}] (applicable frames): "
                f"normal flagged {shares[0]:.0%}, net x1.5 flagged {shares[1]:.0%}, "
                f"net /1.5 flagged {shares[2]:.0%}"
            )
    na = sum(not s.applicable for s in long_rows)
    print(f"long / mixed renders reported not applicable: {na} of {len(long_rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
