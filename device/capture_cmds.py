"""``dermocap calibrate``, ``dermocap capture`` and ``dermocap qa repeatability``: the capture
protocol from the command line, on the twin or the hardware rig."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture import Calibration, CaptureSession
from dermocap.errors import CaptureError
from dermocap.statelock import StateDirLock
from device.config import DermocapConfig, load_config
from device.rig import Rig, build_rig

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)


def _config(args: argparse.Namespace, *, sim: bool = False) -> DermocapConfig:
    path: str | None = getattr(args, "config", None)
    cfg = load_config(Path(path) if path else None)
    updates: dict[str, Any] = {}
    if sim and cfg.rig.backend != "twin":
        updates["rig"] = cfg.rig.model_copy(update={"backend": "twin"})
    phantom = getattr(args, "phantom", None)
    if phantom and (sim or cfg.rig.backend == "twin"):
        if getattr(args, "um_per_px", None) is None:
            raise CaptureError("--phantom needs --um-per-px (the scale of the phantom image)")
        updates["sim"] = cfg.sim.model_copy(
            update={"phantom_image": str(phantom), "phantom_um_per_px": args.um_per_px}
        )
    return cfg.model_copy(update=updates) if updates else cfg


def capture_session(rig: Rig, state_dir: Path) -> CaptureSession:
    """The capture protocol on a rig's camera, lights and stage."""
    cfg = rig.config
    return CaptureSession(
        camera=rig.camera,
        lights=rig.lighting,
        stage=rig.stage,
        limits=cfg.stage,
        camera_cfg=cfg.camera,
        capture_cfg=cfg.capture,
        state_dir=state_dir,
        clock=rig.clock,
        device_id=cfg.rig.device_id,
    )


def _state_dir(args: argparse.Namespace, cfg: DermocapConfig) -> Path:
    if getattr(args, "state_dir", None):
        return Path(args.state_dir)
    return cfg.rig.resolved_state_dir()


def _rig(cfg: DermocapConfig) -> Rig:
    """The rig for a command run by a person: asked on the terminal when there is one."""
    return build_rig(cfg, interactive=sys.stdin.isatty())


def calibrate_on_target(rig: Rig, session: CaptureSession) -> Calibration:
    """Have the reference target placed, calibrate, then have the subject placed again.

    Raises:
        TechnicianTimeout: nobody placed the target (or the subject) in time.
        CaptureError, CameraError, HardwareError: the calibration itself failed.
    """
    rig.technician.place_target()
    cal = session.calibrate()
    rig.technician.place_subject()
    return cal


def cmd_calibrate(args: argparse.Namespace) -> int:
    cfg = _config(args)
    state_dir = _state_dir(args, cfg)
    with StateDirLock(state_dir), _rig(cfg) as rig:
        session = capture_session(rig, state_dir)
        rig.technician.place_target()
        cal = session.calibrate()
        out = {**cal.as_dict(), **rig.technician.known_truth()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"calibration {cal.calibration_id}")
        print(f"  exposure {cal.exposure_us} us, gain {cal.analogue_gain:.2f}")
        print(f"  colour gains {cal.colour_gains[0]:.3f} / {cal.colour_gains[1]:.3f}")
        print(f"  LED intensity {cal.led_intensity}")
        print(f"  scale {cal.um_per_px:.4f} um/px")
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    cfg = _config(args)
    state_dir = _state_dir(args, cfg)
    with StateDirLock(state_dir), _rig(cfg) as rig:
        session = capture_session(rig, state_dir)
        if session.calibration is None:
            calibrate_on_target(rig, session)
        else:
            rig.technician.place_subject()
        baseline = session.baseline_for(args.subject, args.site)
        res = session.capture_site(
            args.subject, args.site, args.visit, baseline=baseline, follow=rig.technician.follow
        )
    out = {
        "passed": res.passed,
        "retake": res.retake_advice,
        "captures": [{**c.record.as_dict(), "image_path": str(c.image_path)} for c in res.captures],
    }
    print(json.dumps(out, indent=2) if args.json else _summary(out))
    return 0 if res.passed else 1


def _summary(out: dict[str, Any]) -> str:
    lines = []
    for c in out["captures"]:
        verdict = "ok" if c["qc"]["passed"] else "FAILED"
        lines.append(f"{c['lighting_mode']:9s} {c['image_path']}  QC {verdict}")
    if not out["passed"]:
        lines.append(f"retake: {out['retake']}")
    return "\n".join(lines)


def cmd_qa_repeatability(args: argparse.Namespace) -> int:
    from capture.repeatability import run_repeatability, save_report

    cfg = _config(args, sim=args.sim)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    model: Any = None
    if args.state_dir:
        state = Path(args.state_dir)
    elif cfg.rig.backend == "twin":
        tmp = tempfile.TemporaryDirectory(prefix="dermocap-qa-")
        state = Path(tmp.name)
    else:
        state = cfg.rig.resolved_state_dir()
    try:
        with _rig(cfg) as rig:
            session = capture_session(rig, state)
            if session.calibration is None:
                calibrate_on_target(rig, session)
            density_fn = None
            if not args.no_density:
                from inference.model import HairModel

                model = HairModel.from_config(cfg.inference)
                loaded = model

                def density_fn(frame: Any, um_per_px: float) -> float:
                    m = loaded.analyze(
                        frame, um_per_px, vellus_threshold_um=cfg.inference.vellus_threshold_um
                    )
                    return float(m.density_per_cm2)

            report = run_repeatability(
                session,
                density_fn=density_fn,
                runs=args.runs,
                technician=rig.technician,
                seed=args.seed,
                site="phantom",
            )
    finally:
        if model is not None:
            model.close()
        if tmp is not None:
            tmp.cleanup()
    kept = None
    if tmp is None and report.density_cv is not None:
        # The rig's state folder (not a twin's temp one): serve publishes it in telemetry.
        kept = save_report(state, report)
    out = report.as_dict()
    if not args.details:
        out.pop("details")
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"repeatability over {len(report.runs)} runs")
        print(f"  brightness CV        {report.brightness_cv:.3%} (target <= 1 %)")
        rel = ", ".join(f"{r.relative_sharpness:.3f}" for r in report.runs)
        print(f"  sharpness vs best    {rel} (target >= 0.95 each)")
        dens = "n/a (no density model)" if report.density_cv is None else f"{report.density_cv:.3%}"
        print(f"  density CV           {dens}")
        print(f"  {'PASS' if report.passed else 'FAIL'}")
        if kept is not None:
            print(f"  kept in {kept}; the service publishes the density CV to the dashboard")
    return 0 if report.passed else 1


def register(sub: SubParsers) -> None:
    """Add the capture subcommands to the ``dermocap`` parser."""
    c = sub.add_parser("calibrate", help="calibrate on the reference target; store the record")
    c.add_argument("--state-dir", help="folder for the calibration record (default: config)")
    c.add_argument("--json", action="store_true", help="print the record as JSON")
    c.set_defaults(func=cmd_calibrate)

    cap = sub.add_parser("capture", help="capture one site (all lighting modes), with QC")
    cap.add_argument("--subject", required=True, help="pseudonym, e.g. S-00042")
    cap.add_argument("--site", required=True, help="frontal, vertex, occipital or a label")
    cap.add_argument("--visit", required=True, help="baseline, 3m, 6m, 12m or a label")
    cap.add_argument("--state-dir", help="folder for captures (default: config)")
    cap.add_argument("--json", action="store_true", help="print the records as JSON")
    cap.set_defaults(func=cmd_capture)

    qa = sub.add_parser("qa", help="quality assurance of the rig")
    qsub = qa.add_subparsers(dest="qa_command", required=True, metavar="ACTION")
    r = qsub.add_parser("repeatability", help="capture one site N times from a perturbed rig")
    r.add_argument("--runs", type=int, default=10, help="number of perturbed runs (>= 2)")
    r.add_argument("--phantom", help="phantom image (on the twin: shown as the subject)")
    r.add_argument("--um-per-px", type=float, help="scale of the phantom image")
    r.add_argument("--sim", action="store_true", help="run on the digital twin")
    r.add_argument("--seed", type=int, default=0, help="seed of the perturbations")
    r.add_argument(
        "--state-dir", help="folder for the captures (default: a temp folder on the twin)"
    )
    r.add_argument("--details", action="store_true", help="include every run in the JSON")
    r.add_argument("--no-density", action="store_true", help="skip the hair model (no density CV)")
    r.add_argument("--json", action="store_true", help="print the figures as JSON")
    r.set_defaults(func=cmd_qa_repeatability)
