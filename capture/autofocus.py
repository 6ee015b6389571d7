"""Autofocus: a coarse then fine Z sweep on low-resolution frames, always moving upwards."""

from __future__ import annotations

import logging
import math
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capture.config import AutofocusConfig
from capture.hardware import Stage
from capture.locked import LockedCamera
from capture.metrics import sharpness
from dermocap.clock import Clock
from dermocap.errors import CaptureError

log = logging.getLogger(__name__)


@dataclass
class FocusResult:
    """Where autofocus left the stage, and the evidence."""

    z_mm: float
    score: float  # sharpness at z_mm (variance of the Laplacian of the low-res frame)
    peak_score: float  # best score seen in the fine sweep
    elapsed_s: float
    recentres: int
    sweeps: list[list[tuple[float, float]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "z_mm": round(self.z_mm, 4),
            "score": round(self.score, 3),
            "peak_score": round(self.peak_score, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "recentres": self.recentres,
            "frames": sum(len(s) for s in self.sweeps),
        }


def flank_centre(zs: list[float], scores: list[float], level: float) -> float | None:
    """Midpoint between the two flanks of a focus curve, or None if a flank is missing.

    Each flank is where the curve crosses ``floor + level * (peak - floor)`` (linear
    interpolation); a flat-topped or noisy peak still gives a well-defined centre.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size < 3:
        return None
    k = int(np.argmax(s))
    floor, peak = float(s.min()), float(s[k])
    if peak <= floor:
        return None
    thr = floor + level * (peak - floor)
    left = right = None
    for i in range(k, 0, -1):
        if s[i - 1] < thr <= s[i]:
            left = zs[i - 1] + (thr - s[i - 1]) / (s[i] - s[i - 1]) * (zs[i] - zs[i - 1])
            break
    for i in range(k, s.size - 1):
        if s[i + 1] < thr <= s[i]:
            right = zs[i] + (s[i] - thr) / (s[i] - s[i + 1]) * (zs[i + 1] - zs[i])
            break
    if left is None or right is None:
        return None
    return float(left + right) / 2.0


class Autofocus:
    """Finds best focus by moving the stage; the camera must be in its low-res mode.

    Args:
        camera: locked camera, already in the preview mode.
        stage: a homed stage.
        min_mm, max_mm: the stage's soft limits.
        clock: time source for the time bound.
        cfg: sweep ranges and steps.
    """

    def __init__(
        self,
        camera: LockedCamera,
        stage: Stage,
        *,
        min_mm: float,
        max_mm: float,
        clock: Clock,
        cfg: AutofocusConfig,
    ) -> None:
        self._cam = camera
        self._stage = stage
        self._min = min_mm
        self._max = max_mm
        self._clock = clock
        self._cfg = cfg
        self._deadline = math.inf

    def _clamp(self, z: float) -> float:
        return min(self._max, max(self._min, z))

    def _sweep(
        self, lo: float, hi: float, step: float, pool: Executor | None
    ) -> list[tuple[float, float]]:
        n = max(2, math.floor((hi - lo) / step + 1e-9) + 1)
        out: list[tuple[float, Future[float] | float]] = []
        # The stage ends every move upwards (it overshoots by its configured backlash when
        # coming from above), so each frame's z is on the screw's same flank, as long as
        # stage.backlash_mm is at least the screw's real play (docs/capture.md).
        self._stage.move_to(round(lo, 4))
        for i in range(n):
            if self._clock.monotonic() > self._deadline:
                raise CaptureError(
                    f"autofocus took longer than {self._cfg.max_time_s:g} s: check that the "
                    "rig sits flat on the scalp and the stage moves freely, then retake"
                )
            z = round(lo + i * step, 4)
            if i:
                self._stage.move_to(z)
            frame = self._cam.capture().array
            # Scored on the pool while the stage moves and the next frame is exposed.
            out.append(
                (self._stage.z_mm, pool.submit(sharpness, frame) if pool else sharpness(frame))
            )
        return [(z, s if isinstance(s, float) else s.result()) for z, s in out]

    def run(self, start_mm: float, *, pool: Executor | None = None) -> FocusResult:
        """Sweep around ``start_mm`` and leave the stage at best focus (approached upwards).

        With a ``pool``, each frame is scored there while the next one is taken.

        Raises:
            CaptureError: no focus found within the time bound or the recentre budget.
        """
        cfg = self._cfg
        t0 = self._clock.monotonic()
        self._deadline = t0 + cfg.max_time_s
        sweeps: list[list[tuple[float, float]]] = []
        recentres = 0
        centre = self._clamp(start_mm)
        # Coarse: move the window until the peak is inside it (or at a soft limit).
        while True:
            lo = self._clamp(centre - cfg.coarse_half_range_mm)
            hi = self._clamp(centre + cfg.coarse_half_range_mm)
            pts = self._sweep(lo, hi, cfg.coarse_step_mm, pool)
            sweeps.append(pts)
            k = int(np.argmax([s for _, s in pts]))
            at_low = k == 0 and lo > self._min
            at_high = k == len(pts) - 1 and hi < self._max
            if not (at_low or at_high) or recentres >= cfg.max_recentres:
                break
            recentres += 1
            centre = pts[k][0]
            log.debug("autofocus: peak at the sweep's edge (z %.3f); sweeping again", centre)
        # The coarse curve's flank centre is closer to focus than its top sample (a flat-topped
        # peak's top is a near tie), so the fine window can be narrow.
        coarse_z = flank_centre([z for z, _ in pts], [s for _, s in pts], cfg.flank_level)
        # Fine: both flanks of the peak must be inside the window.
        centre = pts[k][0] if coarse_z is None else coarse_z
        while True:
            lo = self._clamp(centre - cfg.fine_half_range_mm)
            hi = self._clamp(centre + cfg.fine_half_range_mm)
            pts = self._sweep(lo, hi, cfg.fine_step_mm, pool)
            sweeps.append(pts)
            zs = [z for z, _ in pts]
            scores = [s for _, s in pts]
            z_best = flank_centre(zs, scores, cfg.flank_level)
            if z_best is not None:
                break
            k = int(np.argmax(scores))
            if recentres >= cfg.max_recentres:
                z_best = zs[k]
                log.warning("autofocus: only one flank of the focus peak found; using its top")
                break
            recentres += 1
            centre = zs[k]
        self._stage.move_to(round(self._clamp(z_best), 4))
        score = sharpness(self._cam.capture().array)
        result = FocusResult(
            z_mm=self._stage.z_mm,
            score=score,
            peak_score=max(scores),
            elapsed_s=self._clock.monotonic() - t0,
            recentres=recentres,
            sweeps=sweeps,
        )
        log.info("autofocus: z = %.3f mm, score %.1f", result.z_mm, result.score)
        return result


@dataclass
class BacklashResult:
    """The Z screw's play measured on the focus curve: an up and a down sweep."""

    backlash_mm: float
    focus_up_mm: float  # flank centre of the focus curve swept upwards (stage z)
    focus_down_mm: float  # the same swept downwards: lower by the play
    frames: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "backlash_mm": round(self.backlash_mm, 4),
            "focus_up_mm": round(self.focus_up_mm, 4),
            "focus_down_mm": round(self.focus_down_mm, 4),
            "frames": self.frames,
        }


def measure_backlash(
    camera: LockedCamera,
    stage: Stage,
    *,
    focus_mm: float,
    max_play_mm: float,
    min_mm: float,
    max_mm: float,
    cfg: AutofocusConfig,
) -> BacklashResult:
    """Measure the screw's play by sweeping the focus curve up, then down, around ``focus_mm``.

    Swept upwards the carriage trails the screw by its play, swept downwards it does not, so
    the same sharpest carriage height reads a stage z lower by the play on the way down. Both
    sweeps cover ``focus_mm`` +- (``fine_half_range_mm`` + ``max_play_mm``) in
    ``fine_step_mm`` steps; the down sweep starts ``max_play_mm`` above its top so the play is
    taken up before its first frame. The camera must be in its low-res mode, the lights on.

    Raises:
        CaptureError: a sweep found no focus curve with both flanks (nothing sharp under the
            lens, or the window does not fit between the soft limits).
    """
    half = cfg.fine_half_range_mm + max_play_mm
    lo, hi = max(min_mm, focus_mm - half), min(max_mm - max_play_mm, focus_mm + half)
    n = max(3, math.floor((hi - lo) / cfg.fine_step_mm + 1e-9) + 1)
    zs = [round(lo + i * cfg.fine_step_mm, 4) for i in range(n)]

    def centre(points: list[tuple[float, float]], way: str) -> float:
        z = flank_centre([p[0] for p in points], [p[1] for p in points], cfg.flank_level)
        if z is None:
            raise CaptureError(
                f"backlash: the focus curve swept {way} has no two flanks between "
                f"{lo:.2f} and {hi:.2f} mm; is the reference target under the cone?"
            )
        return z

    stage.move_to(zs[0])  # ends upwards: the carriage trails the screw by its play
    up: list[tuple[float, float]] = []
    for z in zs:
        stage.move_to(z)
        up.append((stage.z_mm, sharpness(camera.capture().array)))
    stage.move_to(round(zs[-1] + max_play_mm, 4))
    down: list[tuple[float, float]] = []
    for z in reversed(zs):
        stage.move_to(z, upward=False)  # the first move down takes up the play
        down.append((stage.z_mm, sharpness(camera.capture().array)))
    down.reverse()
    z_up, z_down = centre(up, "up"), centre(down, "down")
    result = BacklashResult(max(0.0, z_up - z_down), z_up, z_down, 2 * len(zs))
    log.info(
        "Z screw play %.3f mm (focus %.3f mm swept up, %.3f mm swept down)",
        result.backlash_mm,
        z_up,
        z_down,
    )
    return result
