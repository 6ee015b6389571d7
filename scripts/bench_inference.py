#!/usr/bin/env python3
"""Benchmark the hair model on held-out twin renders: accuracy by group, INT8 vs FP32 latency.

    python scripts/bench_inference.py --renders 200 --sweep 40

Renders full 2028x1520 twin captures the model never saw (scalp seeds far from
the training seeds), cached under ``--cache``:

* ``device``: the rig's scale (5.17 um/px nominal, true scale off by up to 5 %),
  every skin tone, hair colour, density, vellus share and hair length; a quarter
  of them *rich*: 30-50 % empty follicles, long or mixed hair at >= 200 hairs/cm2
  (long shafts lying across other openings = crossing hairs);
* ``sweep``: the same scalps at 3-10 um/px (other lenses and binned modes).

Every model gets the true um/px, as a calibrated rig would. Prints a table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from inference import HairModel
from sim.config import OpticsConfig, SimConfig
from sim.generality.cases import capture_settings, held_out_scalp
from sim.tools import RenderRequest, render_capture

SEED_BASE = 7_000_000  # training uses seed * 1_000_003 + i for i < worlds (1e6..)
Case = dict[str, Any]


def make_case(i: int, sweep: bool) -> Case:
    """Scalp, optics and request of held-out render ``i``."""
    rng = np.random.default_rng([SEED_BASE, i, int(sweep)])
    rich = (not sweep) and i % 4 == 3
    scalp = held_out_scalp(rng, rich)
    capture = capture_settings(rng, sweep, sweep_max_um=10.0)
    return {"i": i, "sweep": sweep, "rich": rich, "scalp": scalp, **capture}


def render_case(args: tuple[Case, str]) -> str:
    """Render one case to an .npz in the cache folder (skipped when present)."""
    case, folder = args
    path = Path(folder) / f"{'sweep' if case['sweep'] else 'device'}-{case['i']:04d}.npz"
    if path.exists():
        return str(path)
    base = SimConfig()
    cfg = base.model_copy(
        update={
            "scalp": base.scalp.model_copy(update=case["scalp"]),
            "optics": OpticsConfig(um_per_px_error=case["um_per_px_error"]),
        }
    )
    req = RenderRequest(
        seed=SEED_BASE + case["i"] + (100_000 if case["sweep"] else 0),
        nominal_um_per_px=case["nominal"],
        light=case["light"],
        duty=case["duty"],
        exposure_us=case["exposure_us"],
        z_offset_mm=case["z"],
        noise_seed=case["i"],
    )
    img, truth = render_capture(cfg, req)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        image=img,
        um_per_px=truth["um_per_px"],
        density=truth["density_per_cm2"],
        diameter=truth["mean_diameter_um"],
        vellus=truth["vellus_fraction"],
    )
    tmp.replace(path)
    return str(path)


def pct(values: list[float]) -> str:
    return f"{100 * statistics.fmean(values):.2f} %" if values else "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--renders", type=int, default=200, help="held-out renders at the rig's scale")
    p.add_argument("--sweep", type=int, default=40, help="extra renders at 3-10 um/px")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--workers", type=int, default=2, help="render processes")
    p.add_argument("--repeats", type=int, default=20, help="latency runs per model")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-bench")
    p.add_argument("--models-dir", type=Path, default=None, help="default: packaged models")
    args = p.parse_args(argv)
    from tqdm import tqdm

    args.cache.mkdir(parents=True, exist_ok=True)
    cases = [make_case(i, False) for i in range(args.renders)]
    cases += [make_case(i, True) for i in range(args.sweep)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        files = list(
            tqdm(
                pool.imap(render_case, [(c, str(args.cache)) for c in cases]),
                total=len(cases),
                desc="render",
            )
        )

    models = {
        v: HairModel.load(v, threads=args.threads, models_dir=args.models_dir)
        for v in ("int8", "fp32")
    }
    rows: dict[str, dict[str, list[float]]] = {}
    for case, f in tqdm(list(zip(cases, files, strict=True)), desc="analyze"):
        with np.load(f) as z:
            img, upp = z["image"], float(z["um_per_px"])
            t_den, t_dia, t_vel = float(z["density"]), float(z["diameter"]), float(z["vellus"])
        groups = ["sweep 3-10 um/px"] if case["sweep"] else ["all (device scale)"]
        if not case["sweep"]:
            groups.append(f"hair {case['scalp']['hair_length']}")
            if case["rich"]:
                groups.append("rich: empty+crossing")
        for v, model in models.items():
            m = model.analyze(img, upp)
            for g in groups:
                r = rows.setdefault(f"{v} {g}", {"ape": [], "dia": [], "vel": []})
                r["ape"].append(abs(m.density_per_cm2 - t_den) / t_den)
                r["dia"].append(abs(m.mean_diameter_um - t_dia))
                r["vel"].append(abs(m.vellus_fraction - t_vel))

    print()
    print(
        f"{'model / group':36s} {'n':>4s} {'density MAPE':>13s} {'diam MAE um':>12s} "
        f"{'vellus AE':>10s}"
    )
    for name in sorted(rows, key=lambda k: (k.split()[0] != "int8", k)):
        r = rows[name]
        print(
            f"{name:36s} {len(r['ape']):4d} {pct(r['ape']):>13s} "
            f"{statistics.fmean(r['dia']):12.2f} {statistics.fmean(r['vel']):10.3f}"
        )

    # Latency on one full 2028x1520 frame, both models in this one run.
    with np.load(files[0]) as z:
        img, upp = z["image"], float(z["um_per_px"])
    lat: dict[str, tuple[float, float]] = {}
    for v, model in models.items():
        net, total = [], []
        for _ in range(args.repeats):
            m = model.analyze(img, upp)
            net.append(m.inference_ms)
            total.append(m.total_ms)
        lat[v] = (statistics.median(net), statistics.median(total))
        time.sleep(0.1)
    print()
    print(
        f"latency on {img.shape[1]}x{img.shape[0]}, {args.threads} threads, "
        f"median of {args.repeats}:"
    )
    for v, (net, total) in lat.items():
        print(f"  {v}: network {net:.1f} ms, whole analyze {total:.1f} ms")
    print(f"  INT8 speed-up over FP32 (network): {lat['fp32'][0] / lat['int8'][0]:.2f}x")
    print(f"  INT8 speed-up over FP32 (whole analyze): {lat['fp32'][1] / lat['int8'][1]:.2f}x")
    gap = 100 * (
        statistics.fmean(rows["int8 all (device scale)"]["ape"])
        - statistics.fmean(rows["fp32 all (device scale)"]["ape"])
    )
    print(f"  INT8 density MAPE minus FP32: {gap:+.2f} points")
    for model in models.values():
        model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
