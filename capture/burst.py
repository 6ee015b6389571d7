"""One lighting mode of a site capture: its burst, measured frame by frame as it arrives;
the kept frame's QC report; and the capture record of the mode.

:class:`Burst` is the concurrent part (the capture's thread pool measures each frame while
the sensor takes the next); :class:`KeptMode` is a settled burst waiting for its QC and
image jobs; :class:`SiteContext` is what every mode of one site capture shares in its
record. :class:`~capture.session.CaptureSession` runs them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.autofocus import FocusResult
from capture.calibration import Calibration
from capture.camera import Controls, Frame, FrameMetadata
from capture.config import QCConfig
from capture.qc import (
    FrameChecks,
    FrameMeasures,
    QCReport,
    burst_report,
    measure_light,
    measure_sharpness,
    motion_px,
)
from capture.record import BurstSummary, CaptureRecord, RecordedQC
from capture.registration import Spectrum
from capture.relocation import Guidance
from dermocap import __version__
from dermocap.clock import utc_stamp
from dermocap.ids import uuid7

U8 = NDArray[np.uint8]


class Burst:
    """One lighting mode's burst: each frame measured on the pool as it arrives, and the
    sharpest frame so far given its QC checks and final image (flat field, file bytes) on the
    pool as soon as it leads, while the sensor takes the next frames.

    When the burst ends (:meth:`settle`) the kept frame is usually done: only the last
    frame's measures are waited for, unless it is the sharpest. The result is the same as
    choosing after the burst; work started on a frame that is overtaken is cancelled if it
    has not begun, or discarded.
    """

    def __init__(
        self,
        pool: Executor,
        frames: int,
        checks: Callable[[U8, tuple[float, float] | None], FrameChecks],
        image: Callable[[U8], tuple[U8, bytes]],
    ) -> None:
        self._pool = pool
        self._expected = frames
        self._make_checks = checks
        self._make_image = image
        self._lock = threading.Lock()
        self._settled = False
        self.frames: list[Frame | None] = []
        self.measuring: list[Future[tuple[float, tuple[float, float] | None]]] = []
        self._light: list[Future[tuple[float, Spectrum, float | None]]] = []
        self._first: U8 | None = None  # the noise partner of the second frame
        self._image: tuple[int, Future[tuple[U8, bytes]]] | None = None
        self._checks: tuple[int, Future[FrameChecks]] | None = None

    def add(self, frame: Frame) -> None:
        """Take one frame; its measures start on the pool at once, as two jobs (so that the
        last frame's take both threads): sharpness (and the burst's noise, with the second
        frame), then brightness, motion spectrum and the shift from the previous frame."""
        with self._lock:
            i = len(self.frames)
            self.frames.append(frame)
            partner, self._first = (self._first, None) if i == 1 else (None, self._first)
            if i == 0:
                self._first = frame.array
            fut = self._pool.submit(measure_sharpness, frame.array, partner=partner)
            self.measuring.append(fut)
            previous = self._light[-1] if self._light else None
            self._light.append(self._pool.submit(_light_job, frame.array, previous))
        fut.add_done_callback(self._speculate)

    def _lead(self, n: int) -> int:
        return int(np.argmax([self.measuring[i].result()[0] for i in range(n)]))

    def _speculate(self, _done: Future[tuple[float, tuple[float, float] | None]]) -> None:
        """A measure finished (a pool thread): start work on the frame leading so far."""
        with self._lock:
            if self._settled:
                return
            n = 0
            while n < len(self.measuring) and self.measuring[n].done():
                n += 1
            # The focus check needs the burst's noise, measured with its second frame.
            if n < min(2, self._expected):
                return
            try:
                self._start(self._lead(n), n)
            except Exception:  # a failed measure or a closed pool: settle() reports it
                return

    def _start(self, k: int, n: int) -> None:
        frame = self.frames[k]
        assert frame is not None  # noqa: S101 - only frames out of the running are dropped
        # A measured frame that does not lead never will (later frames only raise the best):
        # its pixels go now.
        for i in range(n):
            if i != k:
                self.frames[i] = None
        if self._image is None or self._image[0] != k:
            if self._image is not None:
                self._image[1].cancel()
            self._image = (k, self._pool.submit(self._make_image, frame.array))
        if self._checks is None or self._checks[0] != k:
            if self._checks is not None:
                self._checks[1].cancel()
            noise = self.measuring[1].result()[1] if n > 1 else None
            self._checks = (k, self._pool.submit(self._make_checks, frame.array, noise))

    def settle(
        self,
    ) -> tuple[int, Frame, list[FrameMeasures], Future[FrameChecks], Future[tuple[U8, bytes]]]:
        """Wait for every measure and fix the kept frame: its index, the frame, the burst's
        measures, and the futures of its checks and final image. Drops the other frames.

        Raises:
            RuntimeError: the burst was settled already.
        """
        if self._settled:
            raise RuntimeError("this burst is settled already")
        wait(self.measuring)
        wait(self._light)
        with self._lock:
            self._settled = True
            try:
                n = len(self.measuring)
                k = self._lead(n)  # raises what a measure raised
                self._start(k, n)
                measures = []
                for sharp, light in zip(self.measuring, self._light, strict=True):
                    (sharpness, noise), (brightness, spec, shift) = sharp.result(), light.result()
                    measures.append(FrameMeasures(sharpness, brightness, spec, noise, shift))
                kept = self.frames[k]
                assert kept is not None and self._image is not None and self._checks is not None  # noqa: S101
                return k, kept, measures, self._checks[1], self._image[1]
            finally:
                # Each measure's future holds this burst in its done callback (_speculate):
                # left in place, the burst and its futures form a cycle that keeps the final
                # image and every frame's spectrum (~20 MB a mode on a rig) until Python's
                # cycle collector happens to run, often into the next site's capture.
                # Nothing needs them now, whether the burst settled or failed.
                self.frames = [None] * len(self.frames)
                self.measuring, self._light = [], []
                self._first = self._image = self._checks = None


def _light_job(
    frame: U8, previous: Future[tuple[float, Spectrum, float | None]] | None
) -> tuple[float, Spectrum, float | None]:
    """:func:`measure_light` of a burst frame and its shift from the previous frame (whose
    job was submitted first, so waiting for it cannot starve the pool)."""
    brightness, spec = measure_light(frame)
    shift = motion_px(previous.result()[1], spec) if previous is not None else None
    return brightness, spec, shift


@dataclass(frozen=True)
class SiteContext:
    """What every lighting mode of one site capture shares in its record."""

    subject: str
    site: str
    visit: str
    cal: Calibration
    focus: FocusResult
    reloc: Guidance | None
    rounds: int
    site_capture_id: str
    modes: tuple[str, ...]  # every mode the site is made of (recovery checks all are stored)
    device_id: str
    flat_field_applied: bool
    drift: dict[str, Any] | None  # the session's last drift check


@dataclass
class KeptMode:
    """One lighting mode settled: its kept frame, and its QC and image jobs on the pool."""

    mode: str
    intensity: float
    metadata: FrameMetadata  # of the kept frame (its pixels are the image's job's)
    measures: list[FrameMeasures]
    kept_index: int
    dropped: int
    controls: Controls
    checks: Future[FrameChecks]
    image: Future[tuple[U8, bytes]]
    baseline_brightness: float | None
    site: SiteContext

    def report(self, cfg: QCConfig) -> QCReport:
        """The kept frame's QC report (waits for its checks job)."""
        return burst_report(
            self.checks.result(),
            self.measures,
            self.kept_index,
            lighting_mode=self.mode,
            cfg=cfg,
            baseline_brightness=self.baseline_brightness,
        )

    def record(self, qc: QCReport) -> CaptureRecord:
        """The mode's capture record (not stored yet: no image in it)."""
        s = self.site
        c = self.controls
        scores = [m.sharpness for m in self.measures]
        return CaptureRecord(
            capture_id=str(uuid7()),
            site_capture_id=s.site_capture_id,
            captured_at=utc_stamp(),
            device_id=s.device_id,
            subject=s.subject,
            site=s.site,
            visit=s.visit,
            lighting_mode=self.mode,
            site_modes=s.modes,
            led_intensity=round(self.intensity, 5),
            controls_requested={
                "exposure_us": c.exposure_us,
                "analogue_gain": c.analogue_gain,
                "colour_gains": list(c.colour_gains),
                "lens_position": c.lens_position,
                "ae_enable": False,
                "awb_enable": False,
            },
            controls_actual=self.metadata.as_dict(),
            frames_dropped=self.dropped,
            z_mm=round(s.focus.z_mm, 4),
            autofocus=s.focus.as_dict(),
            calibration_id=s.cal.calibration_id,
            um_per_px=s.cal.um_per_px,
            flat_field={"applied": s.flat_field_applied, "coef": list(s.cal.flat_field)},
            drift=s.drift,
            qc=RecordedQC.model_validate(qc.as_dict()),
            relocation=None if s.reloc is None else {**s.reloc.as_dict(), "rounds": s.rounds},
            burst=BurstSummary(
                frames=len(scores),
                kept_index=self.kept_index,
                sharpness=[round(b, 3) for b in scores],
            ),
            sharpness=round(scores[self.kept_index], 4),
            brightness=round(qc.brightness, 6),
            software_version=__version__,
            model_version=None,
        )
