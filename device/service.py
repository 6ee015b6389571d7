"""``dermocap serve``: the headless rig as a state machine driven by one button and MQTT.

Threads and who owns what:

* gpiozero's callback thread only turns a press or hold into an event on a queue;
* the main loop (``run``) takes events, owns the state, and sends WATCHDOG=1 only
  when it is itself turning and the workers are healthy;
* the capture worker runs focus and capture for one site at a time;
* the analysis worker runs the model and writes record + result to the outbox in one
  transaction, so the technician can move on while the last site is analysed;
* the sync link (sync/) owns the MQTT client on its own thread.

States: starting, idle, focusing, capturing, analysing, queued, calibrating, error,
stopping. The status light always shows one pattern (ready, busy, qc_failed, clip_site,
light_check, error, offline); ``STATUS=`` carries a one-line summary for ``systemctl status``.

The day's first press runs the light check (device/lightcheck.py) on the capture worker,
with the reference target under the cone, instead of a capture; a hold skips it for the day.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from capture.record import CaptureRecord, outbox_entries
from dermocap.errors import DermocapError, DiskFullError, QualityCheckFailed, TargetNotFound
from device.notify import Notifier
from device.worklist import WorkItem, Worklist

log = logging.getLogger(__name__)

T = TypeVar("T")


class State(enum.StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    FOCUSING = "focusing"
    CAPTURING = "capturing"
    ANALYSING = "analysing"
    QUEUED = "queued"
    CALIBRATING = "calibrating"
    ERROR = "error"
    STOPPING = "stopping"


@dataclass
class CaptureOutcome:
    """What a capture hands to analysis: the stored files and the record for the outbox."""

    capture_id: str
    item: WorkItem
    record: CaptureRecord
    image_path: Path
    um_per_px: float
    started_s: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    related: list[CaptureRecord] = field(default_factory=list)
    """The records of the site's other captures (other lighting modes)."""
    frame: Any = None
    """The stored image's pixels, when still in memory (saves decoding the file)."""
    analysis: Any = None
    """A ``concurrent.futures.Future`` of the model's metrics, when the pipeline started the
    model already (during the capture of the site's other lighting modes)."""
    hair_mat: float | None = None
    """The share of the frame long hair covers with no skin between shafts, when it is over
    what hides the openings (:func:`inference.second_opinion.mats_the_frame`): the site
    should be clipped and captured again. ``None``: no mat (or not checked)."""


class Pipeline(Protocol):
    """The science the service runs; device/pipeline.py wires capture/ and inference/."""

    def capture(self, item: WorkItem, on_phase: Callable[[State], None]) -> CaptureOutcome:
        """Focus and capture one site, store it atomically. Raises QualityCheckFailed."""
        ...

    def analyze(self, outcome: CaptureOutcome) -> dict[str, Any]:
        """The result message payload for a stored capture (metrics, QC, model info)."""
        ...

    def finish(self, outcome: CaptureOutcome) -> None:
        """After the result is queued: work nobody waits for (the overlay image)."""
        ...

    def discard(self, outcome: CaptureOutcome) -> None:
        """Remove a stored capture the technician cancelled (record first, then image)."""
        ...

    def pending_recoveries(self) -> list[CaptureOutcome]:
        """Captures on disk whose result never reached the outbox (after a crash)."""
        ...


class Outlet(Protocol):
    """Where results go (sync.SyncService)."""

    def submit_capture(
        self,
        capture_id: str,
        record: dict[str, Any],
        result: dict[str, Any],
        image_path: Path | None = None,
        related: Iterable[tuple[str, dict[str, Any]]] = (),
    ) -> Any: ...

    def settle(
        self, records: Iterable[tuple[str, dict[str, Any]]], type_: str, **fields: Any
    ) -> Any: ...

    def event(self, type_: str, **fields: Any) -> Any: ...


class DailyCheck(Protocol):
    """The daily light check (device.lightcheck.LightCheck)."""

    def due(self) -> bool:
        """Today's check is still to be done (cheap: asked on every turn of the loop)."""
        ...

    def run(self) -> tuple[str, dict[str, Any]]:
        """Run it (target under the cone): a summary and figures. Raises DermocapError."""
        ...

    def skip(self) -> None:
        """Not now (no target at hand): not asked again until the service restarts.
        Raises DermocapError where it may not be skipped (it failed on drift)."""
        ...


# A capture worker's job that is not a site: the daily light check.
_LIGHT_CHECK = "light_check"


class StatusLight(Protocol):
    """The technician-facing status light (device.status.StatusIndicator): named patterns
    ('ready', 'busy', 'qc_failed', 'clip_site', 'light_check', 'error', 'offline',
    'calibrating'). Only the service shows anything on it; showing the pattern already shown
    changes nothing."""

    def show(self, name: str) -> None: ...


_PATTERN = {
    State.STARTING: "busy",
    State.IDLE: "ready",
    State.FOCUSING: "busy",
    State.CAPTURING: "busy",
    State.ANALYSING: "ready",  # pipelined: the technician may move to the next site
    State.QUEUED: "ready",
    State.CALIBRATING: "calibrating",
    State.ERROR: "error",
    State.STOPPING: "busy",
}


class Service:
    """The rig's main loop. Construct, then ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        outlet: Outlet,
        status: StatusLight,
        notifier: Notifier,
        worklist: Worklist | None = None,
        is_online: Callable[[], bool] = lambda: True,
        sync_fault: Callable[[], str | None] = lambda: None,
        led_drift: Callable[[], bool] = lambda: False,
        light_check: DailyCheck | None = None,
        loop_period_s: float = 0.5,
    ) -> None:
        self.pipeline = pipeline
        self.outlet = outlet
        self.status = status
        self.notifier = notifier
        self.worklist = worklist or Worklist()
        self.is_online = is_online
        self.sync_fault = sync_fault
        self.led_drift = led_drift
        self.light_check = light_check
        self._fault_shown: str | None = None
        self.loop_period_s = loop_period_s
        self.state = State.STARTING
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._captures: queue.Queue[WorkItem | str | None] = queue.Queue()
        self._analyses: queue.Queue[CaptureOutcome | None] = queue.Queue()
        self._lock = threading.Lock()
        # Choosing a pattern and showing it, as one step: the capture, analysis and main
        # threads all show one, and a choice made from older flags must not land last.
        self._show_lock = threading.Lock()
        self._capture_busy = threading.Event()
        self._checking_light = threading.Event()  # a light check is queued or running
        self._cancel = threading.Event()
        self._qc_failed = False
        self._clip_site = False  # the last site's hair mats the frame: clip and retake
        self._worker_beat: dict[str, float] = {}
        self._threads: list[threading.Thread] = []
        self.results: list[dict[str, Any]] = []  # summaries, newest last (for the demo)
        self.captures_taken = 0  # sites stored and handed to analysis
        self.last_error: str | None = None
        self.started_s = time.monotonic()

    # -- inputs (any thread) ---------------------------------------------------------------
    def on_press(self) -> None:
        self._events.put(("press", None))

    def on_hold(self) -> None:
        self._events.put(("hold", None))

    def set_worklist(self, subject: str, visit: str, sites: list[str]) -> None:
        """Replace the worklist (validated; raises ConfigError on names or bad labels)."""
        self.worklist.load(subject, visit, sites)
        self._events.put(("worklist", None))

    def calibrate(self, calibrate: Callable[[], T]) -> T:
        """Run ``calibrate`` before :meth:`run`, the state and light at calibrating meanwhile."""
        self._set_state(State.CALIBRATING)
        try:
            return calibrate()
        finally:
            self._set_state(State.STARTING)

    # -- state -------------------------------------------------------------------------------
    def set_state(self, state: State) -> None:
        """Enter ``state`` and show its pattern: for the wiring code before :meth:`run`
        (calibrating the twin); the service is the status light's one writer."""
        self._set_state(state)

    def _set_state(self, state: State) -> None:
        with self._lock:
            self.state = state
        self._show()

    def _show(self) -> None:
        with self._show_lock:
            self.status.show(self._pattern())

    def _pattern(self) -> str:
        if self.state is State.ERROR:
            pattern = "error"
        elif self._qc_failed and self.state in (State.IDLE, State.ANALYSING, State.QUEUED):
            pattern = "qc_failed"
        elif self._clip_site and self.state in (State.IDLE, State.ANALYSING, State.QUEUED):
            pattern = "clip_site"
        elif self.state in (State.IDLE, State.ANALYSING, State.QUEUED) and self._check_due():
            pattern = "light_check"
        else:
            pattern = _PATTERN[self.state]
            if pattern == "ready" and not self.is_online():
                pattern = "offline"
            elif pattern == "ready" and self.led_drift():
                pattern = "led_drift"  # ready, but the rings drifted past the warning
        return pattern

    def _check_due(self) -> bool:
        """A press runs the light check: it is due and no retake is being asked for."""
        if self.light_check is None or self._qc_failed or self._clip_site:
            return False
        return self.light_check.due()

    def summary(self) -> str:
        item = self.worklist.current()
        return (
            f"{self.state.value}; next {item.subject}/{item.visit}/{item.site}; "
            f"{len(self.results)} results; {'online' if self.is_online() else 'offline'}"
        )

    # -- workers ---------------------------------------------------------------------------
    def _beat(self, name: str) -> None:
        self._worker_beat[name] = time.monotonic()

    def _capture_worker(self) -> None:
        while True:
            self._beat("capture")
            try:
                item = self._captures.get(timeout=1.0)
            except queue.Empty:
                continue
            if item is None:
                return
            self._capture_busy.set()
            self._cancel.clear()
            try:
                if isinstance(item, str):
                    self._run_light_check()
                else:
                    self._run_capture(item)
            finally:
                self._capture_busy.clear()

    def _run_light_check(self) -> None:
        if self.light_check is None:  # only queued with one
            self._checking_light.clear()
            self._capture_done(State.IDLE)
            return
        # Again, now that the worker is busy: an analysis that ended since the press may
        # have shown QUEUED (and with it the light_check pattern) over the press's state.
        self._set_state(State.CALIBRATING)
        try:
            summary, data = self.light_check.run()
        except DermocapError as exc:
            self._capture_busy.clear()
            # No target: put it down and press. A drifted or dead ring needs recalibrating
            # first (the message says how), and a camera fault the usual acknowledging press.
            again = "; then press to check again" if isinstance(exc, TargetNotFound) else ""
            self._fail(f"light check failed: {exc}{again}")
            return
        finally:
            self._checking_light.clear()
        log.info("light check: %s", summary)
        self._safe_event("light_check", detail=summary[:400], data=data)
        self._capture_done(State.IDLE)

    def _run_capture(self, item: WorkItem) -> None:
        self._safe_event("capture_started", subject=item.subject, site=item.site)
        try:
            outcome = self.pipeline.capture(item, self._phase)
        except QualityCheckFailed as exc:
            self._qc_failed = True
            log.warning("QC failed at %s: %s; retake the site", item.site, exc)
            fields: dict[str, Any] = {
                "subject": item.subject,
                "site": item.site,
                "detail": str(exc)[:400],
            }
            if exc.records:
                fields["capture_id"] = exc.records[0][0]
            try:
                # The failed captures' records (with their QC reports) and the event together.
                self.outlet.settle(exc.records, "qc_failed", **fields)
            except DermocapError as err:
                log.warning("QC failure of %s not recorded: %s", item.site, err)
            self._capture_done(State.IDLE)
            return
        except DermocapError as exc:
            self._capture_busy.clear()
            self._fail(
                f"{'disk full' if isinstance(exc, DiskFullError) else 'capture failed'}: {exc}"
            )
            return
        if self._cancel.is_set():
            log.info("capture %s cancelled by a hold; discarded", outcome.capture_id)
            try:
                self.pipeline.discard(outcome)
            except DermocapError as exc:
                log.warning("cancelled capture %s not removed: %s", outcome.capture_id, exc)
            self._safe_event("capture_cancelled", capture_id=outcome.capture_id, site=item.site)
            self._capture_done(State.IDLE)
            return
        self._qc_failed = False
        # A hold retakes the site only while the list it came from is still the one loaded.
        self._clip_site = (
            outcome.hair_mat is not None and item.generation == self.worklist.generation
        )
        if outcome.hair_mat is not None:
            detail = (
                f"long hair lies over {outcome.hair_mat:.0%} of the frame and hides the "
                "openings: clip the site to about 1 mm and capture it again (a hold steps back "
                "to it)"
            )
            log.warning("site %s: %s", item.site, detail)
            self._safe_event(
                "clip_site",
                capture_id=outcome.capture_id,
                subject=item.subject,
                site=item.site,
                detail=detail,
            )
        self.worklist.advance(item)
        self.captures_taken += 1
        # State first: an analysis that finishes at once then leaves QUEUED, not ANALYSING.
        self._capture_done(State.ANALYSING)
        self._analyses.put(outcome)

    def _capture_done(self, state: State) -> None:
        """End of a capture: free the button first, so a press seeing the new light counts."""
        self._capture_busy.clear()
        self._set_state(state)

    def _phase(self, state: State) -> None:
        self._beat("capture")
        self._set_state(state)

    def _analysis_worker(self) -> None:
        while True:
            self._beat("analysis")
            try:
                outcome = self._analyses.get(timeout=1.0)
            except queue.Empty:
                continue
            if outcome is None:
                return
            try:
                self._analyse(outcome)
            except DermocapError as exc:
                self._fail(f"analysis of {outcome.capture_id} failed: {exc}")

    def _analyse(self, outcome: CaptureOutcome) -> None:
        t0 = time.monotonic()
        result = self.pipeline.analyze(outcome)
        t1 = time.monotonic()
        # Record and result in one outbox transaction: both or neither survive a crash.
        self.outlet.submit_capture(
            outcome.capture_id,
            outcome.record.as_dict(),
            result,
            outcome.image_path,
            outbox_entries(outcome.related),
        )
        t2 = time.monotonic()
        if result.get("review"):
            reasons = "; ".join(result.get("review_reasons", []))
            log.warning("result %s needs review: %s", outcome.capture_id, reasons)
            self._safe_event(
                "needs_review",
                capture_id=outcome.capture_id,
                subject=outcome.item.subject,
                site=outcome.item.site,
                detail=reasons[:400],
                data={"kinds": ",".join(result.get("review_kinds", []))},
            )
        try:
            self.pipeline.finish(outcome)
        except DermocapError as exc:
            log.warning("after-result work for %s failed: %s", outcome.capture_id, exc)
        finally:
            outcome.frame = None  # a full frame is ~9 MB: do not keep it in the results list
        timings = dict(outcome.timings_ms)
        timings.update(analysis_ms=(t1 - t0) * 1e3, outbox_ms=(t2 - t1) * 1e3)
        m = result.get("metrics", {})
        log.info(
            "result %s/%s/%s: %s hairs, %.1f /cm2; analysis %.0f ms",
            outcome.item.subject,
            outcome.item.site,
            outcome.item.visit,
            m.get("hair_count"),
            float(m.get("density_per_cm2", 0.0)),
            timings["analysis_ms"],
        )
        self.results.append(
            {
                "capture_id": outcome.capture_id,
                "site": outcome.item.site,
                "visit": outcome.item.visit,
                "subject": outcome.item.subject,
                "metrics": result.get("metrics", {}),
                "qc": result.get("qc", {}),
                "image": str(outcome.image_path),
                "timings_ms": timings,
                "record": outcome.record,
            }
        )
        if self._captures.empty() and not self._capture_busy.is_set():
            # Only from ANALYSING: an error, or a light check the capture worker has begun,
            # since the analysis started must not be shown over.
            with self._lock:
                queued = self.state is State.ANALYSING
                if queued:
                    self.state = State.QUEUED
            if queued:
                self._show()

    def _fail(self, message: str) -> None:
        log.error("%s", message)
        self.last_error = message
        self._safe_event("error", detail=message[:400])
        self._set_state(State.ERROR)

    def _safe_event(self, type_: str, **fields: Any) -> None:
        try:
            self.outlet.event(type_, **fields)
        except DermocapError as exc:  # an event must never stop a capture
            log.warning("event %s not queued: %s", type_, exc)

    # -- main loop ---------------------------------------------------------------------------
    def start_workers(self) -> None:
        for name, target in (
            ("capture", self._capture_worker),
            ("analysis", self._analysis_worker),
        ):
            t = threading.Thread(target=target, name=f"dermocap-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        for outcome in self.pipeline.pending_recoveries():
            log.warning("recovering capture %s: its result was never queued", outcome.capture_id)
            self._analyses.put(outcome)

    def healthy(self) -> bool:
        """The loop is turning and no worker has been silent for longer than it may be."""
        now = time.monotonic()
        if any(not t.is_alive() for t in self._threads):
            return False
        # A capture (focus sweep, burst) or an analysis may take a while, but not minutes.
        return all(now - beat < 120.0 for beat in self._worker_beat.values())

    def _handle(self, kind: str) -> None:
        if kind == "press":
            if self.state is State.ERROR:
                # A press acknowledges an error and tries again.
                self.last_error = None
            if self._capture_busy.is_set() or not self._captures.empty():
                log.info("button pressed while busy: ignored")
                return
            if self._check_due():  # the target is under the cone: check the light first
                self._checking_light.set()  # from now: a hold while it waits changes nothing
                self._set_state(State.CALIBRATING)
                self._captures.put(_LIGHT_CHECK)
                return
            item = self.worklist.current()
            self._qc_failed = self._clip_site = False
            self._set_state(State.FOCUSING)
            self._captures.put(item)
        elif kind == "hold":
            if self._checking_light.is_set():
                log.info("hold during the light check: ignored (it takes a few seconds)")
            elif self._capture_busy.is_set():
                self._cancel.set()
                self._safe_event("cancel_requested")
            elif self._qc_failed:
                self._qc_failed = False  # a hold after a QC failure: retake the same site
                self._safe_event("retake")
                self._set_state(State.IDLE)
            elif self.light_check is not None and self._check_due():
                self._skip_light_check(self.light_check)
            else:
                self._clip_site = False  # clipped (or not): the site is captured again
                back = self.worklist.step_back()
                self._safe_event("retake", site=back.site if back else None)
                self._set_state(State.IDLE)
        elif kind == "worklist":
            self._qc_failed = self._clip_site = False  # a new list: its first site is next
            item = self.worklist.current()
            self._safe_event("worklist_loaded", subject=item.subject, site=item.site)
            if self.state in (State.QUEUED, State.IDLE, State.ERROR):
                self._set_state(State.IDLE)

    def _skip_light_check(self, check: DailyCheck) -> None:
        try:
            check.skip()
        except DermocapError as exc:
            self._fail(str(exc))
            return
        log.warning(
            "light check skipped: captures go on with the light unchecked (restart the service "
            "to be asked again, with the reference target at hand)"
        )
        self._safe_event("light_check_skipped", detail="no reference target at hand")
        self._set_state(State.IDLE)

    def run(self, stop: threading.Event, *, ready_status: str = "ready") -> None:
        """Serve until ``stop`` is set; READY=1 is sent once the loop is about to turn."""
        self.start_workers()
        self._set_state(State.IDLE)
        self.notifier.ready(self.summary() or ready_status)
        last_status = ""
        while not stop.is_set():
            try:
                kind, _ = self._events.get(timeout=self.loop_period_s)
                self._handle(kind)
            except queue.Empty:
                pass
            fault = self.sync_fault()
            if fault is not None and fault != self._fault_shown:
                self._fault_shown = fault  # once: a press acknowledges it, captures go on
                self._fail(f"sync stopped: {fault}")
            if self.state in (State.IDLE, State.QUEUED):
                self._show()  # online/offline may have changed
            if self.healthy():
                self.notifier.watchdog()
            s = self.summary()
            if s != last_status:
                self.notifier.status(s)
                last_status = s

    def drain(self, timeout_s: float = 15.0) -> bool:
        """Stop taking captures, finish the one in progress and analyse what is queued."""
        self._set_state(State.STOPPING)
        self.notifier.stopping()
        self._captures.put(None)
        deadline = time.monotonic() + timeout_s
        for t in self._threads[:1]:
            t.join(max(0.0, deadline - time.monotonic()))
        self._analyses.put(None)
        for t in self._threads[1:]:
            t.join(max(0.0, deadline - time.monotonic()))
        return all(not t.is_alive() for t in self._threads)
