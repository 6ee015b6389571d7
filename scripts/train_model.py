#!/usr/bin/env python3
"""Train the hair density model on twin renders (and optionally real images), export ONNX.

The documented command that wrote the shipped model (see docs/model_card.md; the
defaults are its settings, and the manifest records the command)::

    python scripts/train_model.py --out inference/models --checkpoint /tmp/dermocap-train/run5.pt

It is deterministic (fixed seeds and data order, one torch thread, deterministic
kernels): run twice, it writes byte-identical .onnx files.

Steps: (1) render a synthetic data set from sim/ across the twin's whole range
(cached under ``--cache``; each sample depends only on ``--seed`` and its index),
(2) train the small fully convolutional net with a fixed seed, (3) export FP32
ONNX, (4) INT8 static QDQ quantisation (quant_pre_process, per-channel weights,
calibration on twin renders), (5) write ``manifest.json`` with SHA-256s.

Real annotated images (``--real-dir``) are mixed into training: a folder of
``NAME.png`` / ``NAME.jpg`` images, each with ``NAME.json`` next to it::

    {"um_per_px": 5.2,
     "hairs": [{"x_px": 812.5, "y_px": 40.0, "diameter_um": 64.0}, ...]}

``x_px``/``y_px`` is the point where the shaft emerges from the skin, in pixels
of the image (origin at the top-left pixel's centre); every emerging hair in the
image must be listed. ``dermocap sim render --truth`` writes this format.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import multiprocessing
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inference.manifest import MANIFEST_NAME, Golden, Manifest, model_entries, sha256_file  # noqa: E402
from inference.preprocess import native_size, normalise, resample  # noqa: E402
from inference.targets import DIAMETER_SCALE_UM, N_MAPS, VELLUS_SPLIT_UM, density_targets  # noqa: E402
from sim.config import ScalpConfig, SimConfig  # noqa: E402
from sim.optics import defocus_sigma_px, expose, gaussian_blur  # noqa: E402
from sim.render import ScalpScene, View  # noqa: E402
from sim.scalp import ScalpWorld, generate_scalp, hair_colour_names  # noqa: E402
from sim.tools import NEUTRAL_COLOUR_GAINS, RenderRequest, render_capture  # noqa: E402

NAME = "dermocap-hair-density"
VERSION = "1.0.0"
NATIVE_UM_PER_PX = 8.0
STRIDE = 4
MARGIN_PX = 32  # >= the receptive radius (31 px) of the net below
CROP_PX = 192  # native pixels a side of one training sample
# The net learns 100x the density (a near-zero map must not look cheap); folded into the head.
TARGET_GAIN = 100.0
CROPS_PER_WORLD = 6
BLOCK_CELLS = 4  # cells a side of the blocks of the count term of the loss
UM_PER_PX_RANGE = (3.0, 10.0)
LONG_EXTENT_MM = 24.0  # patch of scalp of long or mixed hair
LONG_CENTRE_MM = 2.0  # crops of it are centred within this of its middle
STEPS = 6000  # the shipped model's training steps (the --steps default)
GOLDEN_NAME = "golden.png"  # the check image of the load-time self-check
GOLDEN_SEED = 3  # its scalp (`dermocap sim render --seed 3`)
GOLDEN_PX = 256  # its side, native pixels
WORLDS = 1000  # random scalps of the shipped training set (the --worlds default)

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]


# --------------------------------------------------------------------------- synthesis
def random_scalp(rng: np.random.Generator, seed: int) -> ScalpConfig:
    """A scalp drawn from the twin's whole range (long hair on a larger patch, see below)."""
    cfg = ScalpConfig(
        seed=seed,
        skin_tone=float(rng.uniform(0.0, 1.0)),
        hair_colour=hair_colour_names()[int(rng.integers(len(hair_colour_names())))],
        density_per_cm2=float(rng.uniform(40.0, 320.0)),
        vellus_fraction=float(rng.uniform(0.05, 0.40)),
        hair_length=("trimmed", "long", "mixed")[int(rng.choice(3, p=[0.4, 0.3, 0.3]))],
        empty_follicle_fraction=float(rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.15, 0.5)])),
        extent_mm=14.0,
    )
    if cfg.hair_length == "trimmed":
        return cfg
    # Shafts up to 14 mm long lie across a crop from that far away; on a 14 mm patch a crop
    # got the shafts of a few mm of scalp only, fewer than any real frame (or the twin's
    # 30 mm scalp) shows, and the net learnt too few crossing hairs (issue 4).
    return cfg.model_copy(update={"extent_mm": LONG_EXTENT_MM})


def _local_world(world: ScalpWorld, cx: float, cy: float, radius_mm: float) -> ScalpWorld:
    """The same world with only the hairs whose shaft reaches a disc (rendering all is slow).

    The shaft is followed as the renderer draws it (angle + curvature x arc length) at 24
    points; the 0.5 mm slack covers the chords between them and the shaft's width.
    """
    h = world.hairs
    t = h.length_mm[:, None] * np.linspace(0.0, 1.0, 24)[None, :]
    ang = h.angle_rad[:, None] + h.curvature_per_mm[:, None] * t
    dt = np.diff(t, axis=1)
    px = h.x_mm[:, None] + np.concatenate([t[:, :1] * 0, np.cumsum(dt * np.cos(ang[:, :-1]), 1)], 1)
    py = h.y_mm[:, None] + np.concatenate([t[:, :1] * 0, np.cumsum(dt * np.sin(ang[:, :-1]), 1)], 1)
    reach = np.hypot(px - cx, py - cy).min(axis=1) <= radius_mm + 0.5
    fields = {f.name: getattr(h, f.name) for f in dataclasses.fields(h)}
    sub = type(h)(**{k: v[reach] for k, v in fields.items()})
    return dataclasses.replace(world, hairs=sub)


def _vignette_window(
    h: int, w: int, frame_h: float, frame_w: float, oy: float, ox: float, strength: float
) -> F32:
    """The twin's vignetting for an (h, w) window at offset (oy, ox) of a larger frame."""
    y = (np.arange(h, dtype=np.float32) + oy - (frame_h - 1) / 2) / ((frame_h - 1) / 2)
    x = (np.arange(w, dtype=np.float32) + ox - (frame_w - 1) / 2) / ((frame_w - 1) / 2)
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2.0
    out: F32 = (1.0 - strength * r2 * (0.6 + 0.4 * r2)).astype(np.float32)
    return out


def jpeg_roundtrip(img: U8, quality: int) -> U8:
    """Encode and decode as JPEG (the artefacts a clinic's exported images carry)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB")).copy()


def render_view(
    world: ScalpWorld, view: View, rng: np.random.Generator, *, frame_px: tuple[int, int]
) -> tuple[U8, dict[str, Any]]:
    """Render one view of a world with random optics: defocus, light, noise, vignetting, JPEG."""
    radius = math.hypot(view.width, view.height) * view.mm_per_px / 2
    local = _local_world(world, view.center_x_mm, view.center_y_mm, radius)
    scene = ScalpScene(local)
    refl, spec = scene.reflectance(view)
    off = abs(float(rng.normal(0.0, 0.08)))
    sigma = defocus_sigma_px(off, 0.0, px_per_mm=9.0, depth_of_field_mm=0.04)
    refl, spec = gaussian_blur(refl, sigma), gaussian_blur(spec, sigma)
    parallel = rng.random() < 0.2
    duty = float(rng.uniform(0.45, 0.9))
    fh, fw = frame_px
    vig = _vignette_window(
        view.height,
        view.width,
        fh,
        fw,
        float(rng.uniform(0, max(0.0, fh - view.height))),
        float(rng.uniform(0, max(0.0, fw - view.width))),
        float(rng.uniform(0.0, 0.45)),
    )
    g = NEUTRAL_COLOUR_GAINS
    img = expose(
        refl,
        spec,
        cross_duty=0.0 if parallel else duty,
        parallel_duty=duty if parallel else 0.0,
        led_efficiency=float(rng.uniform(0.8, 1.2)),
        ambient=float(rng.uniform(0.0, 0.05)),
        specular_strength=float(rng.uniform(0.2, 1.0)),
        vignette=vig,
        exposure_us=float(rng.uniform(6000.0, 11000.0)),
        analogue_gain=1.0,
        colour_gains=(g[0] * float(rng.uniform(0.9, 1.1)), g[1] * float(rng.uniform(0.9, 1.1))),
        full_well_e=float(rng.uniform(3000.0, 20000.0)),
        read_noise=float(rng.uniform(0.002, 0.012)),
        rng=rng,
    )
    if rng.random() < 0.4:
        img = jpeg_roundtrip(img, int(rng.integers(60, 96)))
    return img, scene.truth(view)


def synth_world_samples(seed: int) -> list[tuple[U8, F32]]:
    """``CROPS_PER_WORLD`` training samples (native image, target maps) from one random world."""
    rng = np.random.default_rng([seed, 7919])
    world = generate_scalp(random_scalp(rng, seed % (2**31 - 1)))
    out: list[tuple[U8, F32]] = []
    for _ in range(CROPS_PER_WORLD):
        upp = float(rng.uniform(*UM_PER_PX_RANGE))
        render_px = round(CROP_PX * NATIVE_UM_PER_PX / upp)
        upp_true = CROP_PX * NATIVE_UM_PER_PX / render_px
        # Long hair: crops near the centre of its larger patch, so shafts come from all sides.
        lim = world.extent_mm / 2 - 1.5 if world.extent_mm <= 14.0 else LONG_CENTRE_MM
        view = View(
            float(rng.uniform(-lim, lim)),
            float(rng.uniform(-lim, lim)),
            float(rng.uniform(0, 360)),
            upp_true,
            render_px,
            render_px,
        )
        frame = (1520 * render_px / CROP_PX, 2028 * render_px / CROP_PX)
        img, truth = render_view(world, view, rng, frame_px=(int(frame[0]), int(frame[1])))
        nat = resample(img, CROP_PX, CROP_PX)
        f = CROP_PX / render_px
        hairs = _outside_hairs(local_truth=truth, world=world, view=view)
        x = (hairs[0] + 0.5) * f - 0.5
        y = (hairs[1] + 0.5) * f - 0.5
        tgt = density_targets(x, y, hairs[2], CROP_PX, CROP_PX, STRIDE)
        out.append((np.clip(nat + 0.5, 0, 255).astype(np.uint8), tgt))
    return out


def _outside_hairs(
    *, local_truth: dict[str, Any], world: ScalpWorld, view: View
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Pixel positions and diameters of every hair near the view, also just outside it.

    The truth lists only hairs inside; the ones just outside add the part of
    their Gaussian that falls inside, as the net sees them.
    """
    del local_truth
    h = world.hairs
    u, v = view.world_to_pixel(h.x_mm, h.y_mm)
    pad = 4 * STRIDE * view.width / CROP_PX
    near = (u > -pad) & (u < view.width + pad) & (v > -pad) & (v < view.height + pad)
    return u[near], v[near], h.diameter_um[near]


# --------------------------------------------------------------------------- real images
def load_real_dir(folder: Path) -> list[tuple[U8, F32]]:
    """Native-scale images and target maps from a folder of annotated real images."""
    out: list[tuple[U8, F32]] = []
    for js in sorted(folder.glob("*.json")):
        img_path = next(
            (p for p in (js.with_suffix(s) for s in (".png", ".jpg", ".jpeg")) if p.exists()), None
        )
        if img_path is None:
            raise SystemExit(f"{js}: no image NAME.png / NAME.jpg beside it")
        ann = json.loads(js.read_text())
        with Image.open(img_path) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        nw, nh = native_size(w, h, float(ann["um_per_px"]), NATIVE_UM_PER_PX, STRIDE)
        nat = np.clip(resample(rgb, nw, nh) + 0.5, 0, 255).astype(np.uint8)
        hs = ann["hairs"]
        x = (np.array([p["x_px"] for p in hs], dtype=np.float64) + 0.5) * nw / w - 0.5
        y = (np.array([p["y_px"] for p in hs], dtype=np.float64) + 0.5) * nh / h - 0.5
        d = np.array([p["diameter_um"] for p in hs], dtype=np.float64)
        out.append((nat, density_targets(x, y, d, nh, nw, STRIDE)))
    if not out:
        raise SystemExit(f"{folder}: no annotated images (NAME.json + NAME.png) found")
    return out


def random_crop(rng: np.random.Generator, img: U8, tgt: F32) -> tuple[U8, F32]:
    """A CROP_PX square of a larger native image, aligned to the output cells."""
    h, w = img.shape[:2]
    if h < CROP_PX or w < CROP_PX:
        img = np.pad(img, ((0, max(0, CROP_PX - h)), (0, max(0, CROP_PX - w)), (0, 0)), "edge")
        tgt = np.pad(
            tgt, ((0, 0), (0, max(0, CROP_PX - h) // STRIDE), (0, max(0, CROP_PX - w) // STRIDE))
        )
        h, w = img.shape[:2]
    cy = int(rng.integers(0, (h - CROP_PX) // STRIDE + 1))
    cx = int(rng.integers(0, (w - CROP_PX) // STRIDE + 1))
    n = CROP_PX // STRIDE
    return (
        img[cy * STRIDE : cy * STRIDE + CROP_PX, cx * STRIDE : cx * STRIDE + CROP_PX],
        tgt[:, cy : cy + n, cx : cx + n],
    )


# --------------------------------------------------------------------------- data set
def build_dataset(cache: Path, n_worlds: int, seed: int, workers: int) -> tuple[U8, F32]:
    """Render (or load from cache) ``n_worlds * CROPS_PER_WORLD`` samples."""
    from tqdm import tqdm

    path = cache / f"synth-v2-s{seed}-w{n_worlds}-c{CROP_PX}-u{NATIVE_UM_PER_PX:g}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["images"], z["targets"]
    seeds = [seed * 1_000_003 + i for i in range(n_worlds)]
    n = n_worlds * CROPS_PER_WORLD
    images = np.zeros((n, CROP_PX, CROP_PX, 3), dtype=np.uint8)
    targets = np.zeros((n, N_MAPS, CROP_PX // STRIDE, CROP_PX // STRIDE), dtype=np.float32)

    def fill(results: Iterable[list[tuple[U8, F32]]], bar: Any) -> None:
        for i, samples in enumerate(results):
            for k, (img, tgt) in enumerate(samples):
                images[i * CROPS_PER_WORLD + k] = img
                targets[i * CROPS_PER_WORLD + k] = tgt
            bar.update(len(samples))

    with tqdm(total=n, desc="render", unit="crop") as bar:
        if workers > 1:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(workers) as pool:
                fill(pool.imap(synth_world_samples, seeds, chunksize=2), bar)
        else:
            fill(map(synth_world_samples, seeds), bar)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, targets=targets)
    tmp.replace(path)
    return images, targets


# --------------------------------------------------------------------------- the net
def make_net(
    width: int = 40,
    body: str = "plain",
    *,
    stem: int | None = None,
    dilations: tuple[int, ...] = (1, 2, 1, 2, 1),
) -> Any:
    """Stride-4 fully convolutional net: two strided convs, five dilated 3x3 convs, 1x1 head.

    ``body="separable"`` makes each of the five a depthwise 3x3 then a pointwise 1x1 conv
    (and the first conv 3/8 of ``width``, not half): about half the multiply-adds of the
    plain body at width 64 against 40, for INT8 kernels that run faster on wider channels
    (``scripts/bench_arch.py``). The receptive field is the same. ``stem`` (the first conv's
    channels) and ``dilations`` (one body conv each) let bench_arch time other shapes.
    """
    import torch
    from torch import nn

    def block(
        cin: int, cout: int, stride: int = 1, dilation: int = 1, k: int = 3, groups: int = 1
    ) -> list[nn.Module]:
        pad = dilation * (k // 2)
        return [
            nn.Conv2d(
                cin, cout, k, stride, padding=pad, dilation=dilation, groups=groups, bias=False
            ),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    class HairNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c1 = stem or (width // 2 if body == "plain" else width * 3 // 8)
            layers = block(3, c1, 2) + block(c1, width, 2)
            for d in dilations:
                if body == "plain":
                    layers += block(width, width, 1, d)
                else:
                    layers += block(width, width, 1, d, groups=width) + block(width, width, k=1)
            self.body = nn.Sequential(*layers)
            self.head = nn.Conv2d(width, N_MAPS, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.head(self.body(x))
            return out

    return HairNet()


def augment(rng: np.random.Generator, img: U8, tgt: F32) -> tuple[U8, F32]:
    """Flips and quarter turns (the physics has no preferred direction)."""
    k = int(rng.integers(4))
    img, tgt = np.rot90(img, k, axes=(0, 1)), np.rot90(tgt, k, axes=(1, 2))
    if rng.random() < 0.5:
        img, tgt = img[:, ::-1], tgt[:, :, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(tgt)


def train(args: argparse.Namespace) -> Any:
    import torch
    from tqdm import tqdm

    # Reproducible to the byte: fixed seeds, one data order, deterministic kernels. (With
    # more than one thread the float sums of a conv may be reordered; use --threads 1.)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    images, targets = build_dataset(args.cache, args.worlds, args.seed, args.workers)
    real = load_real_dir(args.real_dir) if args.real_dir else []
    net = make_net(args.width, args.body)
    if args.init:
        net.load_state_dict(torch.load(args.init, weights_only=True))
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, args.steps))
    border = 2  # cells at the crop edge: the net lacks context there
    net.train()
    bar = tqdm(range(args.steps), desc="train", unit="step")
    avg = 0.0
    for step in bar:
        xs, ys = [], []
        for _ in range(args.batch):
            if real and rng.random() < args.real_share:
                r_img, r_tgt = real[int(rng.integers(len(real)))]
                img, tgt = random_crop(rng, r_img, r_tgt)
            else:
                i = int(rng.integers(len(images)))
                img, tgt = images[i], targets[i]
            img, tgt = augment(rng, img, tgt)
            xs.append(normalise(img))
            ys.append(tgt)
        x = torch.from_numpy(np.stack(xs))
        y = torch.from_numpy(np.stack(ys)) * TARGET_GAIN
        pred = net(x)
        b = slice(border, -border)
        p, t = pred[:, :, b, b], y[:, :, b, b]
        # MSE per cell plus MSE of 4x4-cell block means (128 um): both have the mean as
        # optimum, so integrals stay unbiased, and the block term weighs a missed or extra
        # hair more than a misplaced one. (An L1 term on block counts pulled the net to the
        # median of sparse blocks, an empty map.)
        pool = torch.nn.functional.avg_pool2d
        loss = torch.mean((p - t) ** 2) + args.block_weight * torch.mean(
            (pool(p, BLOCK_CELLS) - pool(t, BLOCK_CELLS)) ** 2
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        avg = 0.98 * avg + 0.02 * value if step else value
        if step % 20 == 0:
            bar.set_postfix(loss=f"{avg:.4f}")
    net.eval()
    return net


# --------------------------------------------------------------------------- export
def export(net: Any, out: Path, args: argparse.Namespace) -> None:
    """FP32 ONNX, then INT8 QDQ ONNX and the manifest (:func:`quantize`) into ``out``."""
    import onnx
    import torch

    out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():  # fold the training gain back into the head
        net.head.weight /= TARGET_GAIN
        net.head.bias /= TARGET_GAIN
    fp32 = out / "hair_density_fp32.onnx"
    dummy = torch.zeros(1, 3, 256, 256)
    # The TorchScript exporter on purpose: the dynamo one needs onnxscript, not a dependency.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (dummy,),
            str(fp32),
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "maps": {0: "n", 2: "hc", 3: "wc"}},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(fp32))
    meta = {
        "name": NAME,
        "version": VERSION,
        "native_um_per_px": str(NATIVE_UM_PER_PX),
        "stride": str(STRIDE),
        "margin_px": str(MARGIN_PX),
    }
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(fp32))
    quantize(out, args)


def write_golden(out: Path, fp32: Path, args: argparse.Namespace) -> Golden:
    """The check image of the load-time self-check and FP32's answer on it.

    A crop of a full twin capture at the rig's scale, resampled to the model's scale as the
    runtime does: the kind of input on which 8-bit weights saturated (training crops at
    random scales did not show it), and dense enough that a miscount is many hairs.
    """
    import onnxruntime as ort

    frame, truth = render_capture(SimConfig(), RenderRequest(seed=GOLDEN_SEED))
    h, w = frame.shape[:2]
    nw, nh = native_size(w, h, float(truth["um_per_px"]), NATIVE_UM_PER_PX, STRIDE)
    native = np.clip(resample(frame, nw, nh) + 0.5, 0, 255).astype(np.uint8)
    y0, x0 = (nh - GOLDEN_PX) // 2, (nw - GOLDEN_PX) // 2
    img = np.ascontiguousarray(native[y0 : y0 + GOLDEN_PX, x0 : x0 + GOLDEN_PX])
    path = out / GOLDEN_NAME
    Image.fromarray(img, "RGB").save(path, format="PNG")
    sess = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    maps = sess.run(None, {"image": normalise(img)[None]})[0][0]
    sums = (float(maps[0].sum()), float(maps[1].sum()), float(maps[2].sum()))
    return Golden(file=path.name, sha256=sha256_file(path), map_sums=sums)


def quantize_qdq(fp32: Path, int8: Path, calib: list[F32]) -> None:
    """``int8``: ``fp32`` through quant_pre_process and QDQ static quantisation, calibrated on
    ``calib`` (normalised NCHW inputs): per-channel int8 weights reduced to 7 bits, uint8
    activations. ``scripts/bench_arch.py`` times candidate nets quantised by this too.

    Weights are quantised to 7 bits (``reduce_range``): onnxruntime's U8S8 kernels on x86
    CPUs without VNNI (AVX2, AVX-512 without VNNI) sum pairs of u8 x s8 products in 16 bits
    (VPMADDUBSW), which saturates with full-range weights. A model quantised with 8-bit
    weights read 28-37 % too many hairs on such a machine and was right on others; with 7-bit
    weights every kernel gives the same answer (ARM's dot-product kernels never saturate).
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = int8.with_name(f".{int8.stem}_pre.onnx")
    quant_pre_process(str(fp32), str(pre))

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it = iter(calib)

        def get_next(self) -> dict[str, F32] | None:
            x = next(self._it, None)
            return None if x is None else {"image": x}

    try:
        quantize_static(
            str(pre),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            reduce_range=True,
        )
    finally:
        pre.unlink(missing_ok=True)


def quantize(out: Path, args: argparse.Namespace) -> None:
    """INT8 QDQ ONNX from ``out``'s FP32 file (its metadata carried over), and the manifest."""
    import onnx

    fp32 = out / "hair_density_fp32.onnx"
    int8 = out / "hair_density_int8.onnx"
    if not fp32.is_file():
        raise SystemExit(f"{fp32} not found: train first (without --quantize-only)")
    meta = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    rng = np.random.default_rng(args.seed + 1)
    calib: list[F32] = []
    for i in range(args.calib_worlds):
        for img, _ in synth_world_samples(10**9 + args.seed * 1000 + i)[:2]:
            calib.append(normalise(img)[None])
    rng.shuffle(calib)
    golden = write_golden(out, fp32, args)
    quantize_qdq(fp32, int8, calib)
    m8 = onnx.load(str(int8))
    del m8.metadata_props[:]
    for k, v in meta.items():
        entry = m8.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m8, str(int8))
    training: dict[str, Any] = {
        "command": " ".join(["python scripts/train_model.py", *args.argv]),
        "seed": args.seed,
        "steps": args.steps,
        "synthetic_samples": args.worlds * CROPS_PER_WORLD,
        "real_dir": bool(args.real_dir),
    }
    old_manifest = out / MANIFEST_NAME
    if args.quantize_only and old_manifest.is_file():
        # The FP32 file is the training run's: keep its record, say how INT8 was remade.
        training = {
            **json.loads(old_manifest.read_text()).get("training", {}),
            "quantized_by": training["command"],
        }
    manifest = Manifest(
        name=meta.get("name", NAME),
        version=meta.get("version", VERSION),
        native_um_per_px=NATIVE_UM_PER_PX,
        stride=STRIDE,
        margin_px=MARGIN_PX,
        diameter_scale_um=DIAMETER_SCALE_UM,
        vellus_split_um=VELLUS_SPLIT_UM,
        models=model_entries({"int8": int8, "fp32": fp32}),
        training=training,
        golden=golden,
    )
    (out / MANIFEST_NAME).write_text(
        json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "inference" / "models", help="output folder")
    p.add_argument("--steps", type=int, default=STEPS, help="training steps")
    p.add_argument("--batch", type=int, default=16, help="crops per step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--width", type=int, default=40, help="channels of the net")
    p.add_argument(
        "--body",
        choices=("plain", "separable"),
        default="plain",
        help="the five body convs: 3x3 (plain) or depthwise 3x3 + 1x1 (separable)",
    )
    p.add_argument("--worlds", type=int, default=WORLDS, help="random scalps to render crops of")
    p.add_argument("--calib-worlds", type=int, default=40, help="scalps for INT8 calibration")
    p.add_argument(
        "--block-weight", type=float, default=1.0, help="weight of the block-mean loss term"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of everything")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: reproducible)")
    p.add_argument("--workers", type=int, default=1, help="render processes")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "dermocap-train",
        help="data set cache",
    )
    p.add_argument("--real-dir", type=Path, default=None, help="annotated real images (see top)")
    p.add_argument("--real-share", type=float, default=0.5, help="share of real crops per batch")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint (.pt)")
    p.add_argument("--checkpoint", type=Path, default=None, help="also save torch weights here")
    p.add_argument(
        "--quantize-only",
        action="store_true",
        help="no training: remake the INT8 file and manifest from --out's FP32 file",
    )
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    t0 = time.monotonic()
    if args.quantize_only:
        quantize(args.out, args)
        print(f"wrote {args.out} (INT8 from its FP32) in {time.monotonic() - t0:.0f} s")
        return 0
    net = train(args)
    if args.checkpoint:
        import torch

        args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), args.checkpoint)
    export(net, args.out, args)
    print(f"wrote {args.out} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
