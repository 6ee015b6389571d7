"""The capture protocol for one rig: calibrate, check drift, relocate, focus, light, burst, QC,
store. :class:`CaptureSession` is what the service calls, from a worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from capture.autofocus import Autofocus, FocusResult, measure_backlash
from capture.burst import Burst, KeptMode, SiteContext
from capture.calibration import Calibration, DriftReport, calibrate_on_target, check_drift
from capture.camera import Camera, Controls, StillMode
from capture.config import CameraConfig, CaptureConfig
from capture.hardware import LightingMode, Lights, Stage, StageLimits
from capture.locked import LockedCamera
from capture.metrics import apply_flat_field, sharpness
from capture.qc import (
    FrameChecks,
    QCReport,
    frame_checks,
)
from capture.record import CaptureRecord
from capture.relocation import Guidance, guidance, reference_image
from capture.storage import CaptureStore
from dermocap.clock import Clock
from dermocap.errors import CaptureError, DermocapError, ImageError, StorageError
from dermocap.ids import uuid7
from dermocap.images import decode_rgb
from dermocap.sitekey import SiteRule

log = logging.getLogger(__name__)

# Added to the measured screw play for the overshoot of each move down: a little more than
# the play costs only travel, a little less leaves the carriage in the dead band.
BACKLASH_MARGIN_MM = 0.02

U8 = NDArray[np.uint8]

SITES = ("frontal", "vertex", "occipital")
VISITS = ("baseline", "3m", "6m", "12m")


def _no_progress(phase: str) -> None:
    return None


@dataclass
class CaptureResult:
    """One capture (one lighting mode): its record, files and the kept frame."""

    record: CaptureRecord
    image_path: Path
    sidecar_path: Path
    frame: U8
    qc: QCReport

    @property
    def capture_id(self) -> str:
        return self.record.capture_id


@dataclass
class SiteResult:
    """Every lighting mode of one site at one visit."""

    captures: list[CaptureResult]
    focus: FocusResult
    relocation: Guidance | None
    relocation_rounds: int = 0

    @property
    def passed(self) -> bool:
        return all(c.qc.passed for c in self.captures)

    @property
    def retake_advice(self) -> str:
        """What to do when QC failed ('' when it passed)."""
        return "; ".join(
            f"{c.qc.lighting_mode}: {c.qc.advice()}" for c in self.captures if not c.qc.passed
        )

    @property
    def records(self) -> list[CaptureRecord]:
        return [c.record for c in self.captures]


@dataclass
class _Rig:
    camera: Camera
    lights: Lights
    stage: Stage
    limits: StageLimits
    clock: Clock


@dataclass
class SessionState:
    drift: DriftReport | None = None
    last_focus_z_mm: float | None = None
    led_intensity: dict[str, float] = field(default_factory=dict)


class CaptureSession:
    """Runs the capture protocol on one rig; every public method is serialised by a lock.

    It reports what it does through return values, exceptions and ``capture_site``'s
    ``progress`` callback, and never shows anything on the status light: the service is
    the light's one writer.

    Args:
        camera, lights, stage: the rig's parts (device/ passes its own; any objects
            with the methods of :mod:`capture.hardware` do).
        limits: the stage's soft limits and nominal focus (``min_mm``, ``max_mm``,
            ``focus_mm``).
        camera_cfg, capture_cfg: the config sections of capture/.
        state_dir: folder for captures and calibration records.
        clock: time source (a FastClock on the twin).
        device_id: written into each record.
    """

    def __init__(
        self,
        *,
        camera: Camera,
        lights: Lights,
        stage: Stage,
        limits: StageLimits,
        camera_cfg: CameraConfig,
        capture_cfg: CaptureConfig,
        state_dir: Path,
        clock: Clock,
        device_id: str = "",
    ) -> None:
        self._rig = _Rig(camera, lights, stage, limits, clock)
        self.camera_cfg = camera_cfg
        self.cfg = capture_cfg
        self.store = CaptureStore(Path(state_dir), capture_cfg)
        self.device_id = device_id
        self.state = SessionState()
        self._lock = threading.RLock()
        self.still = StillMode(camera_cfg.width, camera_cfg.height, "still")
        self.preview = StillMode(camera_cfg.preview_width, camera_cfg.preview_height, "preview")
        stored = self.store.read_calibration()
        self.calibration: Calibration | None = (
            Calibration.from_dict(stored) if stored is not None else None
        )
        self._locked: LockedCamera | None = None
        if self.calibration is not None and self.calibration.backlash_mm is not None:
            self._use_backlash(self.calibration.backlash_mm)

    # -- parts -------------------------------------------------------------------------------
    def _config_controls(self) -> Controls:
        c = self.camera_cfg
        return Controls(c.exposure_us, c.analogue_gain, c.colour_gains, c.lens_position)

    def _cam(self, controls: Controls) -> LockedCamera:
        if self._locked is None:
            self._locked = LockedCamera(
                self._rig.camera,
                controls,
                clock=self._rig.clock,
                frame_duration_us=self.camera_cfg.frame_duration_us,
                tolerance=self.cfg.metadata_tolerance,
                settle_frames=self.cfg.control_settle_frames,
                max_retries=self.cfg.max_frame_retries,
            )
        elif self._locked.controls != controls:
            self._locked.lock(controls)
        return self._locked

    def _intensity(self, mode: str) -> float:
        if mode in self.state.led_intensity:
            return self.state.led_intensity[mode]
        if self.calibration is not None and mode in self.calibration.led_intensity:
            return self.calibration.led_intensity[mode]
        return self.cfg.cross_intensity if mode == "cross" else self.cfg.parallel_intensity

    def _need_calibration(self) -> Calibration:
        if self.calibration is None:
            raise CaptureError(
                "the rig is not calibrated: put the reference target under the cone and run "
                "`dermocap calibrate`"
            )
        return self.calibration

    def _home(self) -> None:
        if not self._rig.stage.is_homed:
            self._rig.stage.home()

    def _use_backlash(self, play_mm: float) -> None:
        """Overshoot moves down by the measured play plus a margin (at most ``min_mm``)."""
        overshoot = min(play_mm + BACKLASH_MARGIN_MM, self._rig.limits.min_mm)
        try:
            self._rig.stage.set_backlash_mm(max(play_mm, overshoot))
        except DermocapError as exc:
            log.warning("keeping stage.backlash_mm: %s", exc)

    def autofocus(
        self, *, start_mm: float | None = None, pool: Executor | None = None
    ) -> FocusResult:
        """Focus on whatever is under the lens (low-res frames, current controls and light).

        ``pool`` scores each frame while the next is taken (see :class:`Autofocus`).
        """
        with self._lock:
            self._home()
            cam = self._cam(self._current_controls())
            cam.use_mode(self.preview)
            first = self.cfg.lighting_modes[0]
            self._rig.lights.set(first, self._intensity(first))
            self._rig.lights.wait_settled()
            lim = self._rig.limits
            af = Autofocus(
                cam,
                self._rig.stage,
                min_mm=lim.min_mm,
                max_mm=lim.max_mm,
                clock=self._rig.clock,
                cfg=self.cfg.autofocus,
            )
            start = start_mm if start_mm is not None else lim.focus_mm
            res = af.run(start, pool=pool)
            self.state.last_focus_z_mm = res.z_mm
            return res

    def _current_controls(self) -> Controls:
        if self.calibration is not None:
            return self.calibration.controls
        if self._locked is not None:
            return self._locked.controls
        return self._config_controls()

    def focus_reference(
        self, *, half_range_mm: float = 0.15, step_mm: float = 0.03, mode: str = "cross"
    ) -> float:
        """Best full-resolution sharpness in a fine sweep around the current z (QA only).

        The stage is left where it was (approached upwards again).
        """
        with self._lock:
            cal = self._need_calibration()
            rig = self._rig
            cam = self._cam(cal.controls)
            cam.use_mode(self.still)
            rig.lights.set(mode, self._intensity(mode))  # type: ignore[arg-type]
            rig.lights.wait_settled()
            z0 = rig.stage.z_mm
            lim = rig.limits
            best = 0.0
            n = round(2 * half_range_mm / step_mm)
            start = max(lim.min_mm, z0 - half_range_mm)
            rig.stage.move_to(round(max(lim.min_mm, start - 0.2), 4))
            for i in range(n + 1):
                z = round(start + i * step_mm, 4)
                if z > lim.max_mm:
                    break
                rig.stage.move_to(z)
                best = max(best, sharpness(cam.capture().array))
            rig.stage.move_to(round(max(lim.min_mm, z0 - 0.2), 4))
            rig.stage.move_to(z0)
            rig.lights.off()
            return best

    # -- calibration -------------------------------------------------------------------------
    def calibrate(self) -> Calibration:
        """Calibrate on the reference target (which must be under the lens) and store it.

        Raises:
            CaptureError: see :func:`capture.calibration.calibrate_on_target`.
            StorageError: the record could not be written.
        """
        with self._lock:
            rig = self._rig
            try:
                self._home()
                cam = self._cam(self._config_controls())
                self.state.led_intensity = {}
                focus = self.autofocus()
                # Measure the screw's play on the target's focus curve and overshoot by it
                # from now on, then come back to focus (docs/capture.md, Backlash).
                lim = rig.limits
                play = measure_backlash(
                    cam, rig.stage, focus_mm=focus.z_mm, max_play_mm=lim.min_mm,
                    min_mm=lim.min_mm, max_mm=lim.max_mm, cfg=self.cfg.autofocus,
                ).backlash_mm  # fmt: skip
                if play > lim.min_mm:
                    raise CaptureError(
                        f"the Z screw's play is {play:.2f} mm, more than stage.min_mm "
                        f"({lim.min_mm:g} mm): service the stage"
                    )
                self._use_backlash(play)
                rig.stage.move_to(focus.z_mm)
                cal = calibrate_on_target(
                    cam,
                    rig.lights,
                    still=self.still,
                    preview=self.preview,
                    modes=self.cfg.lighting_modes,
                    intensity={m: self._default_intensity(m) for m in self.cfg.lighting_modes},
                    nominal_um_per_px=self.camera_cfg.nominal_um_per_px,
                    cfg=self.cfg.calibration,
                    focus_z_mm=focus.z_mm,
                )
                cal = replace(cal, backlash_mm=round(play, 4))
                self.store.write_calibration(cal.as_dict())
            except BaseException:
                rig.lights.off()
                raise
            self.calibration = cal
            self.state.led_intensity = dict(cal.led_intensity)
            return cal

    def _default_intensity(self, mode: str) -> float:
        return self.cfg.cross_intensity if mode == "cross" else self.cfg.parallel_intensity

    def check_drift(self) -> DriftReport:
        """Session start: measure the LED output on the reference target and trim it.

        Logs and marks the report ``warned`` when it drifted past ``drift_warn``.

        Raises:
            CaptureError: not calibrated, or the drift exceeds ``drift_fail``.
        """
        with self._lock:
            cal = self._need_calibration()
            try:
                report = check_drift(
                    self._cam(cal.controls),
                    self._rig.lights,
                    cal,
                    preview=self.preview,
                    cfg=self.cfg.calibration,
                )
            except BaseException:
                self._rig.lights.off()  # a camera fault midway must not leave a ring lit
                raise
            self.state.drift = report
            self.state.led_intensity = dict(report.led_intensity)
            return report

    def use_drift(self, report: DriftReport) -> bool:
        """Take up a drift check made earlier on this calibration (kept across a restart):
        its trim and its warning. False, and nothing changed, for another calibration's."""
        with self._lock:
            if self.calibration is None or report.calibration_id != self.calibration.calibration_id:
                return False
            self.state.drift = report
            self.state.led_intensity = dict(report.led_intensity)
            return True

    # -- relocation --------------------------------------------------------------------------
    def baseline_for(self, subject: str, site: str) -> CaptureRecord | None:
        """The first stored capture of the site under the first lighting mode, if any."""
        mode = self.cfg.lighting_modes[0]
        for rec in self.store.find_captures(subject, site):
            if rec.lighting_mode == mode:
                return rec
        return None

    def _reference(self, baseline: CaptureRecord) -> NDArray[np.float32]:
        path = baseline.image_path(self.store.captures_dir)
        try:
            img = decode_rgb(path, name=f"baseline {path}")
        except ImageError as exc:
            raise StorageError(str(exc)) from exc
        return reference_image(img, self.preview.width)

    def guidance(self, baseline: CaptureRecord) -> Guidance:
        """One relocation step: compare a live low-res frame with the baseline capture."""
        with self._lock:
            cal = self._need_calibration()
            return self._guidance(self._reference(baseline), cal)

    def _guidance(self, ref: NDArray[np.float32], cal: Calibration) -> Guidance:
        rig = self._rig
        if self.state.last_focus_z_mm is None:
            self.autofocus()
        cam = self._cam(cal.controls)
        cam.use_mode(self.preview)
        first = self.cfg.lighting_modes[0]
        rig.lights.set(first, self._intensity(first))
        rig.lights.wait_settled()
        live = cam.capture().array
        upp = cal.um_per_px * self.still.width / self.preview.width
        g, _ = guidance(ref, live, um_per_px=upp, cfg=self.cfg.relocation)
        return g

    def relocate(
        self, baseline: CaptureRecord, follow: Callable[[Guidance], None]
    ) -> tuple[Guidance, int]:
        """Repeat guidance, calling ``follow`` (the technician, or the twin) until converged.

        Returns the last guidance and the number of rounds. Raises CaptureError when the
        site is not found or the rounds run out.
        """
        with self._lock:
            cal = self._need_calibration()
            return self._relocate(self._reference(baseline), cal, follow)

    def _relocate(
        self, ref: NDArray[np.float32], cal: Calibration, follow: Callable[[Guidance], None]
    ) -> tuple[Guidance, int]:
        g = self._guidance(ref, cal)
        rounds = 0
        while not g.converged:
            if not g.same_site or rounds >= self.cfg.relocation.max_rounds:
                raise CaptureError(
                    f"relocation did not reach the baseline site after {rounds} round(s) "
                    f"(overlap {g.overlap:.0%}): {g.text}"
                )
            follow(g)
            rounds += 1
            g = self._guidance(ref, cal)
        log.info("relocated in %d round(s): overlap %.1f%%", rounds, g.overlap * 100)
        return g, rounds

    # -- capture -----------------------------------------------------------------------------
    def capture_site(
        self,
        subject: str,
        site: str,
        visit: str,
        *,
        baseline: CaptureRecord | None = None,
        follow: Callable[[Guidance], None] | None = None,
        modes: tuple[LightingMode, ...] | None = None,
        progress: Callable[[str], None] | None = None,
        on_image: Callable[[str, U8, float], None] | None = None,
    ) -> SiteResult:
        """Capture one site at one visit under every lighting mode; store each capture.

        ``progress`` is told each phase as it begins: ``focusing``, ``relocating``,
        ``capturing``. ``on_image(mode, image, um_per_px)`` is given each mode's final image
        (flat field applied, exactly what is stored) as soon as it exists, on a worker thread,
        before it is stored or its QC is known: the service starts the hair model on it
        while the other modes are captured, and uses the result only if the site passes.

        With a ``baseline`` record the live view is first compared with it; with ``follow``
        too, guidance is repeated until it converges (see :meth:`relocate`). The QC report is
        in every record; on a failure ``SiteResult.passed`` is False and
        ``SiteResult.retake_advice`` says why (nothing is raised: the caller decides).

        Raises:
            SiteKeyError: subject not a pseudonym, or bad site / visit label.
            CaptureError: not calibrated, camera or focus trouble, relocation failed.
            DiskFullError, StorageError: the capture could not be stored (nothing written).
        """
        SiteRule(self.cfg.subject_pattern).key(subject, site, visit)
        with self._lock:
            rig = self._rig
            cal = self._need_calibration()
            if cal.width != self.still.width or cal.height != self.still.height:
                raise CaptureError(
                    "the calibration was made at another resolution: run `dermocap calibrate`"
                )
            self.store.check_space()
            stored: list[Future[CaptureResult]] = []
            try:
                return self._capture_site(
                    subject,
                    site,
                    visit,
                    cal,
                    baseline,
                    follow,
                    modes or self.cfg.lighting_modes,
                    progress or _no_progress,
                    on_image,
                    stored,
                )
            except BaseException:
                # A site is all its lighting modes or nothing: the modes already stored go,
                # so no half site is ever analysed (a restart's recovery would take it whole).
                self._discard(stored)
                rig.lights.off()
                raise

    def _discard(self, stored: list[Future[CaptureResult]]) -> None:
        """Remove the stored captures of a site that failed before all its modes were in."""
        removed = 0
        for f in stored:
            if f.done() and not f.cancelled() and f.exception() is None:
                res = f.result()
                try:
                    res.record.discard(self.store.captures_dir)
                    removed += 1
                except StorageError as exc:
                    log.error("a capture of a failed site was not removed: %s", exc)
        if removed:
            log.warning("removed the %d stored lighting mode(s) of a site that failed", removed)

    def _capture_site(
        self,
        subject: str,
        site: str,
        visit: str,
        cal: Calibration,
        baseline: CaptureRecord | None,
        follow: Callable[[Guidance], None] | None,
        modes: tuple[LightingMode, ...],
        progress: Callable[[str], None],
        on_image: Callable[[str, U8, float], None] | None,
        stored: list[Future[CaptureResult]],
    ) -> SiteResult:
        """The work of :meth:`capture_site`; each mode's store job goes into ``stored``, so
        that the caller can remove what was written if the site fails."""
        rig = self._rig
        progress("focusing")
        self._home()
        cam = self._cam(cal.controls)
        reloc: Guidance | None = None
        rounds = 0
        # The image science of a frame runs on these threads while the camera exposes the
        # next one (on a rig the sensor works on its own; on the twin it is the other core),
        # so a site costs little more than its frames; the writer stores each lighting mode
        # in order while the next is captured. Leaving the block waits for every job
        # (writer first): nothing is written behind the caller's back after this returns.
        with (
            ThreadPoolExecutor(2, thread_name_prefix="capture") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="capture-writer") as writer,
        ):
            ref = pool.submit(self._reference, baseline) if baseline is not None else None
            # Focus first: relocation compares detail, which a defocused view does not show.
            focus = self.autofocus(start_mm=self.state.last_focus_z_mm, pool=pool)
            if ref is not None:
                progress("relocating")
                if follow is not None:
                    reloc, rounds = self._relocate(ref.result(), cal, follow)
                else:
                    reloc = self._guidance(ref.result(), cal)
                if rounds:
                    focus = self.autofocus(start_mm=focus.z_mm, pool=pool)
            context = SiteContext(
                subject,
                site,
                visit,
                cal,
                focus,
                reloc,
                rounds,
                str(uuid7()),
                tuple(modes),
                self.device_id,
                self.cfg.apply_flat_field,
                self.state.drift.as_dict() if self.state.drift else None,
            )
            baseline_brightness = self._baseline_brightness(subject, site)
            progress("capturing")
            cam.use_mode(self.still)
            qc_cfg = self.cfg.qc

            def checks(kept: U8, noise: tuple[float, float] | None) -> FrameChecks:
                return frame_checks(kept, noise, cfg=qc_cfg)

            def image(frame: U8) -> tuple[U8, bytes]:
                return self._final_image(frame, cal)

            def keep(mode: str, intensity: float, burst: Burst, dropped: int) -> None:
                k, kept, measures, checked, final = burst.settle()
                if on_image is not None:  # the model may start on it as soon as it exists
                    hand_on = on_image

                    def ready(f: Future[tuple[U8, bytes]]) -> None:
                        if not f.cancelled() and f.exception() is None:
                            hand_on(mode, f.result()[0], cal.um_per_px)

                    final.add_done_callback(ready)
                settled = KeptMode(
                    mode=mode,
                    intensity=intensity,
                    metadata=kept.metadata,
                    measures=measures,
                    kept_index=k,
                    dropped=dropped,
                    controls=cam.controls,
                    checks=checked,
                    image=final,
                    baseline_brightness=baseline_brightness.get(mode),
                    site=context,
                )
                stored.append(writer.submit(self._store, settled))

            last: tuple[str, float, Burst, int] | None = None
            for mode in modes:
                intensity = self._intensity(mode)
                rig.lights.set(mode, intensity)
                rig.lights.wait_settled()
                dropped0 = cam.stats.stale + cam.stats.mismatched
                burst = Burst(pool, self.cfg.burst_frames, checks, image)
                for _ in range(self.cfg.burst_frames):
                    burst.add(cam.capture())
                    if last is not None:  # the last mode's measures ran during this frame
                        keep(*last)
                        last = None
                last = (mode, intensity, burst, cam.stats.stale + cam.stats.mismatched - dropped0)
            rig.lights.off()
            if last is not None:
                keep(*last)
            results = [f.result() for f in stored]
        site_result = SiteResult(results, focus, reloc, rounds)
        if not site_result.passed:
            log.warning(
                "QC failed for %s/%s: retake (%s)", subject, site, site_result.retake_advice
            )
        return site_result

    def _final_image(self, frame: U8, cal: Calibration) -> tuple[U8, bytes]:
        """The image to keep (flat field divided out) and its file's bytes (a pool job)."""
        image = apply_flat_field(frame, cal.flat_field) if self.cfg.apply_flat_field else frame
        return image, self.store.encode(image)

    def _store(self, p: KeptMode) -> CaptureResult:
        """Wait for a mode's QC and image jobs, then write its image and sidecar (the writer)."""
        qc = p.report(self.cfg.qc)
        image, data = p.image.result()
        stored = self.store.write_capture(p.record(qc), image, data=data)
        root = self.store.captures_dir
        return CaptureResult(stored, stored.image_path(root), stored.sidecar_path(root), image, qc)

    def _baseline_brightness(self, subject: str, site: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for rec in self.store.find_captures(subject, site):
            mode = rec.lighting_mode
            if mode not in out and rec.qc.passed and rec.brightness is not None:
                out[mode] = rec.brightness
        return out
