"""``dermocap demo``: the rig on the digital twin, from homing to an image on disk."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from capture.camera import Controls, StillMode
from dermocap.fsutil import atomic_write_bytes, atomic_write_json
from device.capture_cmds import capture_session
from device.config import DermocapConfig
from device.rig import Rig, build_rig
from sim.tools import encode_png

log = logging.getLogger(__name__)


def twin_capture(rig: Rig, out_dir: Path) -> dict[str, Any]:
    """Home, autofocus, light the cross-polarised ring and write one frame + sidecar."""
    cfg = rig.config
    cam = cfg.camera
    controls = Controls(cam.exposure_us, cam.analogue_gain, cam.colour_gains, cam.lens_position)
    rig.status.show("busy")
    # The capture protocol's autofocus: coarse-to-fine Z sweep, final approach upwards.
    capture_session(rig, out_dir).autofocus()
    rig.lighting.set("cross", cfg.capture.cross_intensity)
    rig.lighting.wait_settled()
    rig.camera.set_controls(controls)
    rig.camera.configure(StillMode(cam.width, cam.height, "still"))
    for _ in range(4):  # wait out the control latency after the mode switch
        frame = rig.camera.capture(flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = time.strftime("twin-%Y%m%dT%H%M%S")
    image = out_dir / f"{name}.png"
    atomic_write_bytes(image, encode_png(frame.array), never_overwrite=True)
    truth = rig.twin.truth(cam.width, cam.height) if rig.twin else {}
    truth.pop("hairs", None)
    sidecar = {
        "image": image.name,
        "z_mm": rig.stage.z_mm,
        "lighting": "cross",
        "metadata": frame.metadata.as_dict(),
        "twin_truth": truth,
    }
    atomic_write_json(out_dir / f"{name}.json", sidecar, never_overwrite=True)
    rig.lighting.off()
    rig.status.show("ready")
    return {"image": str(image), "z_mm": round(rig.stage.z_mm, 3), "truth": truth}


def cmd_demo(args: argparse.Namespace) -> int:
    from device.config import load_config

    cfg: DermocapConfig = load_config(Path(args.config) if args.config else None)
    if cfg.rig.backend != "twin":
        print("the demo runs on the digital twin: set rig.backend = 'twin'")
        return 2
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="dermocap-demo-"))
    t0 = time.monotonic()
    with build_rig(cfg) as rig:
        res = twin_capture(rig, out)
    t = res["truth"]
    print("dermocap demo on the digital twin")
    print(f"  focused at z = {res['z_mm']} mm (twin's true focus {cfg.sim.optics.z_focus_mm} mm)")
    print(f"  image:   {res['image']}")
    print(
        f"  truth:   {t.get('hair_count')} hairs, {t.get('density_per_cm2', 0):.1f} /cm2, "
        f"mean diameter {t.get('mean_diameter_um', 0):.1f} um"
    )
    print(f"  took {time.monotonic() - t0:.1f} s")
    log.debug("demo result %s", json.dumps(res, default=str))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("demo", help="run the rig on the digital twin and write a capture")
    d.add_argument("--out", help="folder for the images (default: a new temp folder)")
    d.set_defaults(func=cmd_demo)
