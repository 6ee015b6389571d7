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

from capture.relocation import Guidance
from capture.session import CaptureSession
from dermocap.fsutil import atomic_write_json
from sim.twin import Twin

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


class TwinPerturbation:
    """Perturbs the twin like a day at the clinic: the scalp sits up to +-1 mm nearer or
    farther, the rig lands up to +-0.5 mm (and +-3 deg) off the site, room light +-20 %,
    LED output down by up to 10 %."""

    def __init__(
        self,
        twin: Twin,
        *,
        z_mm: float = 1.0,
        offset_mm: float = 0.5,
        rotation_deg: float = 3.0,
        ambient: float = 0.2,
        led_loss: float = 0.1,
    ) -> None:
        self.twin = twin
        self._z0 = twin.z_focus_mm
        self._ambient0 = twin.ambient
        self._eff0 = twin.led_efficiency
        self.z_mm, self.offset_mm, self.rotation_deg = z_mm, offset_mm, rotation_deg
        self.ambient, self.led_loss = ambient, led_loss

    def __call__(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        t = self.twin
        dz = float(rng.uniform(-self.z_mm, self.z_mm))
        x, y = (float(v) for v in rng.uniform(-self.offset_mm, self.offset_mm, 2))
        rot = float(rng.uniform(-self.rotation_deg, self.rotation_deg))
        amb = float(rng.uniform(-self.ambient, self.ambient))
        loss = float(rng.uniform(0.0, self.led_loss))
        t.z_focus_mm = self._z0 + dz
        t.place(x, y, rot)
        t.ambient = self._ambient0 * (1 + amb)
        t.led_efficiency = self._eff0 * (1 - loss)
        return {
            "z_focus_offset_mm": round(dz, 4),
            "site_x_mm": round(x, 4),
            "site_y_mm": round(y, 4),
            "site_rotation_deg": round(rot, 3),
            "ambient_change": round(amb, 4),
            "led_efficiency_loss": round(loss, 4),
        }

    def follow(self, g: Guidance) -> None:
        """The technician on the twin: follows the guidance exactly."""
        self.twin.nudge(g.dx_mm, g.dy_mm, g.drot_deg)

    def reset(self) -> None:
        t = self.twin
        t.z_focus_mm, t.ambient, t.led_efficiency = self._z0, self._ambient0, self._eff0
        t.place(0.0, 0.0, 0.0)


def run_repeatability(
    session: CaptureSession,
    *,
    runs: int,
    perturb: Callable[[int, np.random.Generator], dict[str, float]],
    follow: Callable[[Guidance], None],
    show_target: Callable[[], None],
    show_subject: Callable[[], None],
    density_fn: DensityFn | None = None,
    subject: str = "QA-0001",
    site: str = "phantom",
    seed: int = 0,
    reference_half_range_mm: float = 0.15,
    reference_step_mm: float = 0.03,
) -> RepeatabilityReport:
    """Baseline capture, then ``runs`` perturbed runs; see the module docstring.

    ``show_target`` / ``show_subject`` put the reference target or the phantom under the
    lens (on a real rig: prompt the technician). The session must be calibrated.
    """
    if runs < 2:
        raise ValueError("repeatability needs at least 2 runs")
    rng = np.random.default_rng(seed)
    mode = session.cfg.lighting_modes[0]
    show_subject()
    base = session.capture_site(subject, site, "baseline", modes=(mode,))
    baseline = base.captures[0].record
    results: list[RunResult] = []
    for i in range(runs):
        desc = perturb(i, rng)
        show_target()
        drift = session.check_drift()
        show_subject()
        res = session.capture_site(
            subject, site, f"qa-{i + 1}", baseline=baseline, follow=follow, modes=(mode,)
        )
        cap = res.captures[0]
        rec = cap.record
        best = session.focus_reference(
            half_range_mm=reference_half_range_mm, step_mm=reference_step_mm, mode=mode
        )
        best = max(best, float(rec["sharpness"]))
        density = density_fn(cap.frame, float(rec["um_per_px"])) if density_fn else None
        results.append(
            RunResult(
                run=i + 1,
                capture_id=cap.capture_id,
                brightness=float(rec["brightness"]),
                sharpness=float(rec["sharpness"]),
                best_sharpness=best,
                relative_sharpness=float(rec["sharpness"]) / best if best > 0 else 0.0,
                density_per_cm2=density,
                relocation_rounds=res.relocation_rounds,
                qc_passed=res.passed,
                z_mm=float(rec["z_mm"]),
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
