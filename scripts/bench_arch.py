#!/usr/bin/env python3
"""Latency of candidate hair-net shapes before training one: INT8 against FP32, 2 threads.

    python scripts/bench_arch.py [--reps 3] [--only NAME ...]

Each candidate is the shipped net's layout (two stride-2 3x3 convs, a body of 3x3 convs
with the given dilations, a 1x1 head of 3 maps) with untrained weights, exported to ONNX and
quantised exactly as ``scripts/train_model.py`` does (quant_pre_process, QDQ, per-channel
7-bit weights, uint8 activations). The input is one rig frame at the model's native scale
(1244x932 native pixels), cut into the runtime's tiles (``--tile-px``, default
``inference.tile_px``: 768 since model 2.1.0, four tiles; 1024, two tiles, when the
figures in the model card were taken, each with its 32 px margins), so only the network is
timed: the same figure as bench_inference's "network". The tiling matters: FP32 ran a
depthwise body much faster on the two tiles than on one whole-frame input. Speed does not
depend on what the weights learnt, so this says which shapes can meet issue 4's latency
targets (<= 60 ms, >= 2x FP32) on this machine before hours of training; it says nothing
of their accuracy.

FP32 and INT8 of every candidate, and the shipped files, are timed interleaved (``--reps``
rounds, the median of 15 runs each), so a noisy machine shifts them together.
Needs the ``train`` extra (torch).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from inference.config import DEFAULT_TILE_PX
from inference.targets import N_MAPS
from inference.training import make_net, quantize_qdq

ROOT = Path(__file__).resolve().parent.parent
H, W = 932, 1244  # the rig's 2028x1520 frame at 8 um/px (native pixels)
MARGIN, STRIDE = 32, 4

# name: (first conv channels, body channels, body dilations, depthwise-separable body)
CANDIDATES: dict[str, tuple[int, int, tuple[int, ...], bool]] = {
    "w40x5 (shipped)": (20, 40, (1, 2, 4, 2, 1), False),
    "w48x5": (24, 48, (1, 2, 4, 2, 1), False),
    "w56x5": (28, 56, (1, 2, 4, 2, 1), False),
    "w64x5": (32, 64, (1, 2, 4, 2, 1), False),
    "w32x5": (16, 32, (1, 2, 1, 2, 1), False),
    "w48x4": (24, 48, (1, 2, 2, 1), False),
    "w64x3": (24, 64, (1, 2, 1), False),
    "w64x2": (24, 64, (2, 2), False),
    "sep48x5": (24, 48, (1, 2, 1, 2, 1), True),
    "sep64x5": (24, 64, (1, 2, 1, 2, 1), True),
    "sep64x7": (24, 64, (1, 2, 4, 1, 2, 4, 1), True),
    "sep96x5": (32, 96, (1, 2, 1, 2, 1), True),
}


def build(spec: tuple[int, int, tuple[int, ...], bool]) -> Any:
    """The candidate as ``inference.training.make_net`` builds it (what ``--body/--width``
    train), with the shipped model's outputs."""
    import torch
    from torch import nn

    stem, width, dilations, separable = spec
    torch.manual_seed(0)
    body = "separable" if separable else "plain"
    net = make_net(width, body, stem=stem, dilations=dilations, outputs=N_MAPS).eval()
    for m in net.modules():  # BatchNorm statistics as a trained net has them, roughly
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


def macs(net: Any, h: int, w: int) -> int:
    from torch import nn

    total = 0
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            h, w = -(-h // m.stride[0]), -(-w // m.stride[1])
            k = m.kernel_size[0] * m.kernel_size[1]
            total += h * w * m.out_channels * (m.in_channels // m.groups) * k
    return total


def export(net: Any, folder: Path, calib: list[np.ndarray]) -> tuple[Path, Path]:
    import torch

    fp32, int8 = folder / "fp32.onnx", folder / "int8.onnx"
    axes = {2: "h", 3: "w"}
    torch.onnx.export(
        net,
        (torch.zeros(1, 3, 128, 128),),
        str(fp32),
        input_names=["image"],
        output_names=["maps"],
        dynamic_axes={"image": axes, "maps": axes},
        opset_version=17,
        dynamo=False,
    )
    quantize_qdq(fp32, int8, calib)
    return fp32, int8


def time_ms(path: Path, xs: list[np.ndarray], runs: int = 15) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = False  # as the runtime runs
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for x in xs:
        sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for x in xs:
            sess.run(None, {name: x})
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (median taken)")
    ap.add_argument("--only", nargs="*", default=None, help="candidate names to time")
    ap.add_argument(
        "--tile-px", type=int, default=DEFAULT_TILE_PX, help="largest tile side, as the runtime"
    )
    args = ap.parse_args()
    names = args.only or list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        print(f"unknown candidates {unknown}; choose from {list(CANDIDATES)}", file=sys.stderr)
        return 2
    from inference.preprocess import plan_tiles

    models = ROOT / "inference" / "models"
    shipped = (models / "hair_density_fp32.onnx", models / "hair_density_int8.onnx")
    missing = [str(f) for f in shipped if not f.is_file()]
    if missing:
        print(f"shipped model files {missing} not found: restore inference/models", file=sys.stderr)
        return 2
    if args.tile_px < STRIDE:
        print(f"--tile-px must be at least the net's stride, {STRIDE}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    tiles = plan_tiles(H, W, args.tile_px - args.tile_px % STRIDE, STRIDE)
    xs = [
        (
            rng.standard_normal((1, 3, t.y1 - t.y0 + 2 * MARGIN, t.x1 - t.x0 + 2 * MARGIN)) * 0.5
        ).astype(np.float32)
        for t in tiles
    ]
    calib = [(rng.standard_normal((1, 3, 128, 128)) * 0.5).astype(np.float32) for _ in range(4)]
    files: dict[str, tuple[Path, Path]] = {"shipped files": shipped}
    info: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="dermocap-arch-") as tmp:
        for n in names:
            net = build(CANDIDATES[n])
            folder = Path(tmp) / str(len(files))
            folder.mkdir()
            files[n] = export(net, folder, calib)
            info[n] = (macs(net, H, W) / 1e9, sum(p.numel() for p in net.parameters()))
        res: dict[str, dict[str, list[float]]] = {n: {"fp32": [], "int8": []} for n in files}
        for _ in range(args.reps):
            for n, (fp32, int8) in files.items():
                res[n]["fp32"].append(time_ms(fp32, xs))
                res[n]["int8"].append(time_ms(int8, xs))
    shapes = ", ".join(f"{x.shape[3]}x{x.shape[2]}" for x in xs)
    print(f"network on one {W}x{H} native frame as {len(xs)} tile(s) ({shapes}), 2 threads, ms:")
    print(f"{'candidate':18s} {'GMAC':>6s} {'params':>8s} {'fp32':>8s} {'int8':>8s} {'x':>6s}")
    for n in files:
        f, i = statistics.median(res[n]["fp32"]), statistics.median(res[n]["int8"])
        g, p = info.get(n, (0.0, 0))
        gs, ps = (f"{g:.2f}", f"{p / 1e3:.1f}k") if p else ("-", "-")
        print(f"{n:18s} {gs:>6s} {ps:>8s} {f:8.1f} {i:8.1f} {f / i:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
