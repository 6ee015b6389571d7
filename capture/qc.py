"""Quality checks on a kept frame: each a measured value, a threshold and a verdict."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.config import QCConfig
from capture.metrics import (
    LINEAR_LUT,
    bin_channel_sum,
    channel_max,
    channel_sum_sharpness,
    clipped_fractions,
    difference_energies,
    focus_from_energies,
    glare_fraction,
    gradient_energies,
    linear,
)
from capture.registration import Spectrum, shift_from_spectra, spectrum

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

# Linear light of each 8-bit value: a frame's mean linear brightness is a weighted
# histogram instead of a float image.
_LINEAR_LUT = LINEAR_LUT.astype(np.float64)

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
    brightness: float  # mean linear brightness of the kept frame, 0..1

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
    if img.dtype != np.uint8:
        return float(linear(img).mean(dtype=np.float64))
    v = np.ascontiguousarray(img).reshape(-1)
    if v.size % 2:
        counts = np.bincount(v, minlength=256)
    else:
        # Histogram of pixel-value pairs (half the elements to count), then of values. In
        # chunks: bincount casts its input to int64, 4x a frame's bytes at once otherwise
        # (a chunk's copy is 2 MB: this job runs beside the burst's other work).
        v16 = v.view(np.uint16)
        pairs = np.zeros(65536, dtype=np.int64)
        for i in range(0, v16.size, 1 << 18):
            pairs += np.bincount(v16[i : i + (1 << 18)], minlength=65536)
        p2 = pairs.reshape(256, 256)
        counts = p2.sum(axis=0) + p2.sum(axis=1)
    return float(counts @ _LINEAR_LUT) / v.size


@dataclass
class FrameMeasures:
    """What QC and the burst choice need of one burst frame, measured as it arrives
    (:func:`measure_sharpness` and :func:`measure_light`, two jobs on the capture's pool).

    No pixels are kept: the sharpest frame's own checks are :func:`frame_checks`, and the
    sensor noise the focus check subtracts is measured once per burst, on its first two
    frames (``noise`` of the second frame).
    """

    sharpness: float
    mean_brightness: float
    motion_spectrum: Spectrum  # of the grey binned by MOTION_BIN, for burst motion
    noise: tuple[float, float] | None = None  # difference_energies with the burst's first
    motion_px: float | None = None  # shift from the previous burst frame, when measured


MOTION_BIN = 4


def measure_sharpness(
    frame: U8, *, partner: U8 | None = None
) -> tuple[float, tuple[float, float] | None]:
    """A frame's sharpness (as on its :func:`grey`) and, with a ``partner`` (the burst's
    first frame, given with the second), the burst's sensor noise (:func:`difference_energies`)."""
    sharp = channel_sum_sharpness(frame) / 9.0  # the sum's sharpness is 9x the grey's
    return sharp, (difference_energies(frame, partner) if partner is not None else None)


def measure_light(frame: U8) -> tuple[float, Spectrum]:
    """A frame's mean linear brightness and the spectrum of its binned grey (for motion)."""
    binned = bin_channel_sum(frame, MOTION_BIN)
    binned /= np.float32(3.0)  # the sum's binned image is 3x the grey's
    return mean_brightness(frame), spectrum(binned)


def motion_px(previous: Spectrum, current: Spectrum) -> float:
    """Shift between two burst frames, in full-resolution pixels, from their spectra."""
    du, dv, _ = shift_from_spectra(previous, current)
    return float(np.hypot(du, dv)) * MOTION_BIN


def _motion(measures: list[FrameMeasures]) -> float:
    """The largest shift between consecutive burst frames (measured ones are not redone)."""
    worst = 0.0
    for a, b in itertools.pairwise(measures):
        shift = (
            b.motion_px
            if b.motion_px is not None
            else motion_px(a.motion_spectrum, b.motion_spectrum)
        )
        worst = max(worst, shift)
    return worst


@dataclass(frozen=True)
class FrameChecks:
    """The checks that read the kept frame's pixels (the costly part of QC)."""

    focus: float
    clipped_highlights: float
    clipped_shadows: float
    glare: float


def frame_checks(kept: U8, noise: tuple[float, float] | None, *, cfg: QCConfig) -> FrameChecks:
    """Focus, clipping and glare of ``kept``; ``noise`` is the burst's (the second frame's
    :func:`measure_sharpness` with the first as its partner).

    A function of the kept frame alone, so the capture protocol starts it on the sharpest
    frame so far, before the burst ends.
    """
    focus = focus_from_energies(gradient_energies(kept), noise)
    mx = channel_max(kept)
    hi, lo = clipped_fractions(kept, mx=mx)
    glare = glare_fraction(kept, level=cfg.glare_level, mx=mx)
    return FrameChecks(focus, hi, lo, glare)


def burst_report(
    frame: FrameChecks,
    measures: list[FrameMeasures],
    kept_index: int,
    *,
    lighting_mode: str,
    cfg: QCConfig,
    baseline_brightness: float | None = None,
) -> QCReport:
    """The QC report from the kept frame's :func:`frame_checks` and the burst's measures
    (motion and flicker across the burst, brightness against the baseline visit)."""
    motion = _motion(measures)
    means = [m.mean_brightness for m in measures]
    flicker = (max(means) - min(means)) / max(float(np.mean(means)), 1e-9) if means else 0.0
    kept_mean = means[kept_index]
    mismatch = None
    if baseline_brightness is not None and baseline_brightness > 0:
        mismatch = abs(kept_mean / baseline_brightness - 1.0)
    checks = (
        Check("focus", frame.focus, cfg.min_focus_ratio, ">="),
        Check("clipped_highlights", frame.clipped_highlights, cfg.max_clipped_highlights, "<="),
        Check("clipped_shadows", frame.clipped_shadows, cfg.max_clipped_shadows, "<="),
        Check("glare", frame.glare, cfg.max_glare_fraction, "<="),
        Check("motion", motion, cfg.max_motion_px, "<="),
        Check("flicker", flicker, cfg.max_flicker, "<="),
        Check("lighting_mismatch", mismatch, cfg.max_lighting_mismatch, "<="),
    )
    return QCReport(lighting_mode, checks, kept_mean)
