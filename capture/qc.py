"""Quality checks on a kept frame: each a measured value, a threshold and a verdict."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.config import QCConfig
from capture.metrics import (
    bin_image,
    clipped_fractions,
    focus_ratio,
    glare_fraction,
    grey,
    linear,
)
from capture.registration import phase_correlation

U8 = NDArray[np.uint8]

# Retake advice per check, for the technician.
ADVICE = {
    "focus": "the image is blurred: keep the cone flat on the scalp and retake",
    "clipped_highlights": "the image is too bright: recalibrate the rig on the target",
    "clipped_shadows": "the image is too dark: check the light ring and recalibrate",
    "glare": "glare on the scalp: wipe the skin dry (no gel or oil) and retake",
    "motion": "the subject or the rig moved: ask the subject to hold still and retake",
    "flicker": "the light flickered during the burst: check the LED ring cable",
    "lighting_mismatch": "the light differs from the baseline visit: recalibrate the rig",
}


@dataclass(frozen=True)
class Check:
    """One quality check: ``value`` compared with ``threshold`` by ``op``."""

    name: str
    value: float | None  # None when there was nothing to compare with
    threshold: float
    op: str  # ">=" or "<="

    @property
    def passed(self) -> bool:
        if self.value is None:
            return True
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": None if self.value is None else round(self.value, 5),
            "threshold": self.threshold,
            "op": self.op,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class QCReport:
    """Every check on one kept frame; ``passed`` only when all of them pass."""

    lighting_mode: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def advice(self) -> str:
        """What the technician should do, one sentence per failed check."""
        return "; ".join(ADVICE.get(n, n) for n in self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lighting_mode": self.lighting_mode,
            "passed": self.passed,
            "failed": self.failed,
            "checks": {c.name: c.as_dict() for c in self.checks},
        }


def mean_brightness(img: U8) -> float:
    """Mean linear brightness of a frame, 0..1."""
    return float(linear(img).mean(dtype=np.float64))


def burst_motion_px(frames: list[U8], *, bin_factor: int = 4) -> float:
    """Largest shift between consecutive burst frames, in pixels of the frames given."""
    if len(frames) < 2:
        return 0.0
    small = [bin_image(grey(f), bin_factor) for f in frames]
    worst = 0.0
    for a, b in itertools.pairwise(small):
        du, dv, _ = phase_correlation(a, b)
        worst = max(worst, float(np.hypot(du, dv)) * bin_factor)
    return worst


def run_qc(
    kept: U8,
    burst: list[U8],
    *,
    lighting_mode: str,
    cfg: QCConfig,
    baseline_brightness: float | None = None,
) -> QCReport:
    """Measure every check on ``kept`` (one of ``burst``) against the thresholds in ``cfg``.

    ``baseline_brightness`` is the mean linear brightness of the same site and lighting mode
    at the baseline visit (None at the baseline itself: the check is then not applicable).
    """
    others = [f for f in burst if f is not kept]
    focus = focus_ratio(kept, others[0] if others else None)
    hi, lo = clipped_fractions(kept)
    glare = glare_fraction(kept, level=cfg.glare_level)
    motion = burst_motion_px(burst)
    means = [mean_brightness(f) for f in burst]
    flicker = (max(means) - min(means)) / max(float(np.mean(means)), 1e-9) if means else 0.0
    mismatch = None
    if baseline_brightness is not None and baseline_brightness > 0:
        mismatch = abs(mean_brightness(kept) / baseline_brightness - 1.0)
    checks = (
        Check("focus", focus, cfg.min_focus_ratio, ">="),
        Check("clipped_highlights", hi, cfg.max_clipped_highlights, "<="),
        Check("clipped_shadows", lo, cfg.max_clipped_shadows, "<="),
        Check("glare", glare, cfg.max_glare_fraction, "<="),
        Check("motion", motion, cfg.max_motion_px, "<="),
        Check("flicker", flicker, cfg.max_flicker, "<="),
        Check("lighting_mismatch", mismatch, cfg.max_lighting_mismatch, "<="),
    )
    return QCReport(lighting_mode, checks)
