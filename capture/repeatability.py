"""``qa repeatability``: capture one site N times from a perturbed rig and measure the spread.

Each run starts a session (drift check on the target), relocates onto the baseline,
focuses and captures; the figures are the coefficient of variation of mean brightness,
each run's sharpness relative to the best focus found by a fine reference sweep, and,
when a density function is plugged in, the CV of measured density.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.session import CaptureSession
from capture.technician import Technician
from dermocap.fsutil import atomic_write_json

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]
# (kept frame, um/px) -> hairs per cm2; inference plugs its model in here.
DensityFn = Callable[[U8, float], float]

TARGET_BRIGHTNESS_CV = 0.01
TARGET_RELATIVE_SHARPNESS = 0.95
TARGET_DENSITY_CV = 0.02
# The latest report, kept in the rig's state folder; the service publishes its density CV in
# telemetry, from which the dashboard draws the minimal detectable change.
REPORT_FILE = "repeatability.json"


@dataclass
class RunResult:
    """One perturbed run."""

    run: int
    capture_id: str
    brightness: float
    sharpness: float
    best_sharpness: float
    relative_sharpness: float
    density_per_cm2: float | None
    relocation_rounds: int
    qc_passed: bool
    z_mm: float
    drift: float
    perturbation: dict[str, float] = field(default_factory=dict)


@dataclass
class RepeatabilityReport:
    """The figures over all runs and whether they meet the targets."""

    runs: list[RunResult]
    brightness_cv: float
    min_relative_sharpness: float
    density_cv: float | None

    @property
    def passed(self) -> bool:
        ok = self.brightness_cv <= TARGET_BRIGHTNESS_CV
        ok = ok and self.min_relative_sharpness >= TARGET_RELATIVE_SHARPNESS
        if self.density_cv is not None:
            ok = ok and self.density_cv <= TARGET_DENSITY_CV
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": len(self.runs),
            "brightness_cv": round(self.brightness_cv, 5),
            "relative_sharpness": [round(r.relative_sharpness, 4) for r in self.runs],
            "min_relative_sharpness": round(self.min_relative_sharpness, 4),
            "density_cv": None if self.density_cv is None else round(self.density_cv, 5),
            "targets": {
                "brightness_cv_max": TARGET_BRIGHTNESS_CV,
                "relative_sharpness_min": TARGET_RELATIVE_SHARPNESS,
                "density_cv_max": TARGET_DENSITY_CV,
            },
            "passed": self.passed,
            "details": [asdict(r) for r in self.runs],
        }


def save_report(state_dir: Path, report: RepeatabilityReport) -> Path:
    """Keep ``report`` (without per-run details) as the rig's latest; returns the file."""
    out = report.as_dict()
    out.pop("details")
    out["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path = Path(state_dir) / REPORT_FILE
    atomic_write_json(path, out)
    return path


def published_density_cv(state_dir: Path) -> float | None:
    """The density CV of the rig's latest kept report, or None (none, unreadable, no model)."""
    try:
        value = json.loads((Path(state_dir) / REPORT_FILE).read_text())["density_cv"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        return None
    return float(value)


def cv(values: list[float]) -> float:
    """Coefficient of variation (population standard deviation / mean)."""
    a = np.asarray(values, dtype=np.float64)
    m = float(a.mean())
    return float(a.std() / m) if m else math.inf


def run_repeatability(
    session: CaptureSession,
    *,
    runs: int,
    technician: Technician,
    density_fn: DensityFn | None = None,
    subject: str = "QA-0001",
    site: str = "phantom",
    seed: int = 0,
    reference_half_range_mm: float = 0.15,
    reference_step_mm: float = 0.03,
) -> RepeatabilityReport:
    """Baseline capture, then ``runs`` perturbed runs; see the module docstring.

    ``technician`` puts the reference target or the phantom under the lens, follows the
    relocation guidance and reseats the rig before each run. The session must be calibrated.
    """
    if runs < 2:
        raise ValueError("repeatability needs at least 2 runs")
    rng = np.random.default_rng(seed)
    mode = session.cfg.lighting_modes[0]
    technician.place_subject()
    base = session.capture_site(subject, site, "baseline", modes=(mode,))
    baseline = base.captures[0].record
    results: list[RunResult] = []
    for i in range(runs):
        desc = technician.reseat(i, rng)
        technician.place_target()
        drift = session.check_drift()
        technician.place_subject()
        res = session.capture_site(
            subject,
            site,
            f"qa-{i + 1}",
            baseline=baseline,
            follow=technician.follow,
            modes=(mode,),
        )
        cap = res.captures[0]
        rec = cap.record
        best = session.focus_reference(
            half_range_mm=reference_half_range_mm, step_mm=reference_step_mm, mode=mode
        )
        sharp = rec.sharpness or 0.0
        best = max(best, sharp)
        density = density_fn(cap.frame, rec.um_per_px) if density_fn else None
        results.append(
            RunResult(
                run=i + 1,
                capture_id=cap.capture_id,
                brightness=rec.brightness or 0.0,
                sharpness=sharp,
                best_sharpness=best,
                relative_sharpness=sharp / best if best > 0 else 0.0,
                density_per_cm2=density,
                relocation_rounds=res.relocation_rounds,
                qc_passed=res.passed,
                z_mm=rec.z_mm or 0.0,
                drift=drift.drift,
                perturbation=desc,
            )
        )
        log.info("repeatability run %d: %s", i + 1, results[-1])
    densities = [r.density_per_cm2 for r in results if r.density_per_cm2 is not None]
    return RepeatabilityReport(
        runs=results,
        brightness_cv=cv([r.brightness for r in results]),
        min_relative_sharpness=min(r.relative_sharpness for r in results),
        density_cv=cv(densities) if len(densities) == len(results) else None,
    )
