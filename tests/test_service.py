"""The service's state machine on real parts: status LED on MockFactory pins, a SQLite outbox."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from waiting import wait_for

from capture.record import CaptureRecord
from dermocap.errors import CaptureError, ConfigError, QualityCheckFailed, TargetNotFound
from dermocap.ids import uuid7
from device.config import StatusConfig
from device.notify import Notifier
from device.service import CaptureOutcome, Service, State
from device.status import StatusIndicator
from device.worklist import WorkItem, Worklist
from sync import SyncConfig, SyncService

QC_FAILED_ID = str(uuid7())


class ScriptedPipeline:
    """Captures succeed unless told to fail QC; analysis returns fixed, valid metrics."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.fail_qc_next = False
        self.review_next = False
        self.mat_next = False  # the next site's frame is matted with long hair
        self.captured: list[WorkItem] = []
        self.finished: list[str] = []
        self.discarded: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.analysis_gate = threading.Event()  # holds analyses while clear
        self.analysis_gate.set()

    def capture(self, item: WorkItem, on_phase: Callable[[State], None]) -> CaptureOutcome:
        on_phase(State.FOCUSING)
        self.gate.wait(5)
        on_phase(State.CAPTURING)
        if self.fail_qc_next:
            self.fail_qc_next = False
            raise QualityCheckFailed(
                "focus score 0.2 below 0.5", [(QC_FAILED_ID, {"qc": {"passed": False}})]
            )
        self.captured.append(item)
        cid = str(uuid7())
        img = self.tmp / f"{cid}.png"
        img.write_bytes(b"png")
        record = CaptureRecord(
            capture_id=cid,
            captured_at="2026-01-01T00:00:00Z",
            subject=item.subject,
            site=item.site,
            visit=item.visit,
            lighting_mode="cross",
            um_per_px=5.27,
        )
        mat = 0.8 if self.mat_next else None
        self.mat_next = False
        return CaptureOutcome(cid, item, record, img, 5.27, time.monotonic(), hair_mat=mat)

    def analyze(self, outcome: CaptureOutcome) -> dict[str, Any]:
        self.analysis_gate.wait(10)
        return {
            "subject": outcome.item.subject,
            "site": outcome.item.site,
            "visit": outcome.item.visit,
            "captured_at": "2026-11-24T10:00:00+00:00",
            "metrics": {"density_per_cm2": 180.0, "hair_count": 150},
            "qc": {"passed": True},
            "um_per_px": outcome.um_per_px,
            "model": {"name": "test", "version": "0", "sha256": "0" * 64},
            "review": self.review_next,
            "review_reasons": ["the model reads 2.0x the classical count", "long hair lies over"]
            * self.review_next,
            "review_kinds": ["net_above_classical", "hair_mat"] * self.review_next,
        }

    def finish(self, outcome: CaptureOutcome) -> None:
        self.finished.append(outcome.capture_id)

    def discard(self, outcome: CaptureOutcome) -> None:
        outcome.image_path.unlink()
        self.discarded.append(outcome.capture_id)

    def pending_recoveries(self) -> list[CaptureOutcome]:
        return []


class ScriptedLightCheck:
    """The daily light check: due until run or skipped; told to fail as a drifted ring does
    (then it cannot be skipped); ``gate`` holds a check in progress."""

    def __init__(self) -> None:
        self.is_due = True
        self.fail_next = False
        self.no_target_next = False
        self.failed = False
        self.runs = 0
        self.skips = 0
        self.running = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def due(self) -> bool:
        return self.is_due

    def run(self) -> tuple[str, dict[str, Any]]:
        self.runs += 1
        self.running.set()
        self.gate.wait(5)
        if self.no_target_next:
            self.no_target_next = False
            raise TargetNotFound("the reference target is not under the cone")
        if self.fail_next:
            self.fail_next, self.failed = False, True
            raise CaptureError(
                "LED output is -45% off the calibration c1: recalibrate the rig on the "
                "reference target (`dermocap calibrate`)"
            )
        self.is_due = False
        return "light output -2.0% since calibration c1", {"drift": -0.02, "warned": False}

    def skip(self) -> None:
        if self.failed:
            raise CaptureError("the light check cannot be skipped after it failed: recalibrate")
        self.skips += 1
        self.is_due = False


@pytest.fixture
def parts(
    tmp_path: Path,
) -> Iterator[tuple[Service, StatusIndicator, SyncService, ScriptedPipeline, threading.Event]]:
    yield from _running(tmp_path)


@pytest.fixture
def light(tmp_path: Path) -> Iterator[tuple[Service, StatusIndicator, SyncService, Any, Any]]:
    """A running service whose daily light check is due."""
    check = ScriptedLightCheck()
    for svc, status, sync, pipe, _ in _running(tmp_path, light_check=check):
        yield svc, status, sync, pipe, check


def _running(
    tmp_path: Path, **kw: Any
) -> Iterator[tuple[Service, StatusIndicator, SyncService, ScriptedPipeline, threading.Event]]:
    factory = MockFactory(pin_class=MockPWMPin)
    status = StatusIndicator(StatusConfig(), pin_factory=factory)
    sync = SyncService(SyncConfig(enabled=False), "rig-01", tmp_path, environ={})
    sync.start()
    pipe = ScriptedPipeline(tmp_path)
    svc = Service(
        pipeline=pipe, outlet=sync, status=status, notifier=Notifier({}), loop_period_s=0.05, **kw
    )
    stop = threading.Event()
    t = threading.Thread(target=svc.run, args=(stop,), daemon=True)
    t.start()
    yield svc, status, sync, pipe, stop
    stop.set()
    t.join(5)
    svc.drain(5)
    sync.close()
    status.close()
    factory.close()


def test_press_captures_worklist_items_in_order(parts: Any) -> None:
    svc, status, sync, pipe, _ = parts
    svc.set_worklist("P00123", "baseline", ["frontal", "vertex"])
    wait_for(lambda: status.current == "ready")
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2)
    assert [i.site for i in pipe.captured] == ["frontal", "vertex"]
    # Record and result both in the outbox, in one transaction each.
    assert sync.outbox.depth() >= 2
    stored = sync.outbox.capture_record(svc.results[0]["capture_id"])
    assert stored == svc.results[0]["record"].as_dict() and stored["site"] == "frontal"
    svc.on_press()  # the list is done: an ad-hoc site
    wait_for(lambda: len(svc.results) == 3)
    assert pipe.captured[-1].adhoc and pipe.captured[-1].site == "adhoc-1"


def test_a_result_flagged_for_review_raises_a_needs_review_event(parts: Any) -> None:
    svc, status, sync, pipe, _ = parts
    svc.set_worklist("P00123", "baseline", ["frontal", "vertex"])
    wait_for(lambda: status.current == "ready")
    pipe.review_next = True
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)
    pipe.review_next = False
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2)
    events = [json.loads(e.payload) for e in sync.outbox.since(0) if e.topic == "events"]
    review = [e for e in events if e["type"] == "needs_review"]
    assert len(review) == 1
    assert review[0]["capture_id"] == svc.results[0]["capture_id"]
    assert review[0]["site"] == "frontal" and "classical count" in review[0]["detail"]
    # the kinds travel as data, for a dashboard to count without reading the words
    assert review[0]["data"] == {"kinds": "net_above_classical,hair_mat"}


def test_status_light_follows_the_state(parts: Any) -> None:
    svc, status, _, pipe, _ = parts
    wait_for(lambda: status.current == "ready")
    pipe.gate.clear()
    svc.on_press()
    wait_for(lambda: status.current == "busy")
    pipe.gate.set()
    wait_for(lambda: len(svc.results) == 1)
    wait_for(lambda: status.current == "ready")


def test_qc_failure_shows_and_a_press_retakes_the_same_site(parts: Any) -> None:
    svc, status, sync, pipe, _ = parts
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    pipe.fail_qc_next = True
    svc.on_press()
    wait_for(lambda: status.current == "qc_failed")
    assert svc.worklist.current().site == "frontal"
    # The failed capture's record is kept (settled) with its qc_failed event.
    wait_for(lambda: QC_FAILED_ID in sync.outbox.capture_ids())
    assert any(b"qc_failed" in e.payload for e in sync.outbox.pending(100))
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)
    assert svc.results[0]["site"] == "frontal"


def test_a_matted_site_asks_for_a_clip_and_a_hold_captures_it_again(parts: Any) -> None:
    svc, status, sync, pipe, _ = parts
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    wait_for(lambda: status.current == "ready")
    pipe.mat_next = True
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)  # kept and analysed as any other site
    assert status.current == "clip_site"  # still shown once the result is in
    assert svc.worklist.current().site == "vertex"
    events = [json.loads(e.payload) for e in sync.outbox.since(0) if e.topic == "events"]
    clip = [e for e in events if e["type"] == "clip_site"]
    assert len(clip) == 1 and clip[0]["capture_id"] == svc.results[0]["capture_id"]
    assert clip[0]["site"] == "frontal" and "80%" in clip[0]["detail"]
    assert "clip the site" in clip[0]["detail"]
    svc.on_hold()  # clipped: the same site again
    wait_for(lambda: svc.worklist.current().site == "frontal")
    wait_for(lambda: status.current == "ready")
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2)
    assert svc.results[1]["site"] == "frontal"
    wait_for(lambda: status.current == "ready")  # a clipped site: no mat, no clip light


def test_a_press_after_a_clip_request_goes_on_to_the_next_site(parts: Any) -> None:
    svc, status, _, pipe, _ = parts
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    pipe.mat_next = True
    svc.on_press()
    wait_for(lambda: status.current == "clip_site")
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2)
    assert [r["site"] for r in svc.results] == ["frontal", "vertex"]
    wait_for(lambda: status.current == "ready")


def test_a_matted_ad_hoc_site_is_the_one_a_hold_captures_again(parts: Any) -> None:
    svc, status, _, pipe, _ = parts
    wait_for(lambda: status.current == "ready")
    svc.on_press()  # no worklist: ad-hoc sites
    wait_for(lambda: len(svc.results) == 1)
    pipe.mat_next = True
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2 and status.current == "clip_site")
    assert svc.results[1]["site"] == "adhoc-2"
    svc.on_hold()
    wait_for(lambda: svc.worklist.current().site == "adhoc-2")
    svc.on_press()
    wait_for(lambda: len(svc.results) == 3)
    assert svc.results[2]["site"] == "adhoc-2"


def test_a_new_worklist_puts_out_the_clip_light(parts: Any) -> None:
    svc, status, _, pipe, _ = parts
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    pipe.mat_next = True
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1 and status.current == "clip_site")
    svc.set_worklist("P00124", "baseline", ["occipital"])
    wait_for(lambda: status.current == "ready")
    assert svc.worklist.current().site == "occipital"


def events_of(sync: SyncService, type_: str) -> list[dict[str, Any]]:
    events = [json.loads(e.payload) for e in sync.outbox.since(0) if e.topic == "events"]
    return [e for e in events if e["type"] == type_]


def test_the_days_first_press_checks_the_light_instead_of_capturing(light: Any) -> None:
    svc, status, sync, pipe, check = light
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    wait_for(lambda: status.current == "light_check")
    svc.on_press()  # the target is under the cone
    wait_for(lambda: status.current == "ready")
    assert check.runs == 1 and pipe.captured == []
    (ev,) = events_of(sync, "light_check")
    assert ev["detail"] == "light output -2.0% since calibration c1"
    assert ev["data"] == {"drift": -0.02, "warned": False}
    svc.on_press()  # the cone on the first site
    wait_for(lambda: len(svc.results) == 1)
    assert svc.results[0]["site"] == "frontal" and check.runs == 1


def test_a_hold_skips_the_light_check_and_steps_back_nowhere(light: Any) -> None:
    svc, status, sync, _, check = light
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    wait_for(lambda: status.current == "light_check")
    svc.on_hold()
    wait_for(lambda: status.current == "ready")
    assert check.skips == 1 and check.runs == 0
    assert len(events_of(sync, "light_check_skipped")) == 1
    assert events_of(sync, "retake") == []
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)
    assert svc.results[0]["site"] == "frontal"


def test_a_failed_light_check_is_an_error_and_a_press_checks_again(light: Any) -> None:
    svc, status, sync, pipe, check = light
    check.no_target_next = True
    wait_for(lambda: status.current == "light_check")
    svc.on_press()  # the cone on the scalp, out of habit
    wait_for(lambda: status.current == "error")
    (err,) = events_of(sync, "error")
    assert err["detail"] == (
        "light check failed: the reference target is not under the cone; then press to check again"
    )
    check.fail_next = True
    svc.on_press()  # acknowledged: the check again, now on the target, and 45 % off
    wait_for(lambda: len(events_of(sync, "error")) == 2)
    err = events_of(sync, "error")[1]
    assert err["detail"].startswith("light check failed: LED output is -45%")
    assert err["detail"].endswith("(`dermocap calibrate`)")  # no "press again": recalibrate
    svc.on_hold()  # a ring 45 % off cannot be skipped: the error again, no skip
    wait_for(lambda: len(events_of(sync, "error")) == 3)
    assert status.current == "error" and check.skips == 0
    assert "cannot be skipped" in events_of(sync, "error")[2]["detail"]
    svc.on_press()  # acknowledged (recalibrated, say): the check again, not a capture
    wait_for(lambda: check.runs == 3 and status.current == "ready")
    assert pipe.captured == [] and len(events_of(sync, "light_check")) == 1


def test_an_analysis_ending_after_a_failed_check_leaves_the_error_shown(light: Any) -> None:
    svc, status, _, pipe, check = light
    check.is_due = False
    pipe.analysis_gate.clear()
    svc.on_press()  # a site, its analysis held
    wait_for(lambda: svc.state is State.ANALYSING and pipe.captured != [])
    check.is_due = check.fail_next = True
    svc.on_press()
    wait_for(lambda: status.current == "error")
    pipe.analysis_gate.set()
    wait_for(lambda: len(svc.results) == 1)
    wait_for(lambda: svc._analyses.empty())
    assert svc.state is State.ERROR and status.current == "error"


def test_a_hold_during_the_light_check_cancels_nothing(light: Any) -> None:
    svc, status, sync, _, check = light
    check.gate.clear()
    wait_for(lambda: status.current == "light_check")
    svc.on_press()
    assert check.running.wait(5)
    svc.on_hold()
    svc.on_press()  # both while the check runs
    # One thread handles events in order: once the worklist's event is out, so are both.
    svc.set_worklist("P00123", "3m", ["frontal"])
    wait_for(lambda: len(events_of(sync, "worklist_loaded")) == 1)
    assert status.current == "calibrating" and check.runs == 1
    check.gate.set()
    wait_for(lambda: status.current == "ready")
    assert events_of(sync, "cancel_requested") == [] and check.skips == 0
    assert len(events_of(sync, "light_check")) == 1


def test_hold_steps_back_for_a_retake(parts: Any) -> None:
    svc, _, _, _, _ = parts
    svc.set_worklist("P00123", "3m", ["frontal", "vertex"])
    svc.on_press()
    wait_for(lambda: len(svc.results) == 1)
    assert svc.worklist.current().site == "vertex"
    svc.on_hold()
    wait_for(lambda: svc.worklist.current().site == "frontal")


def test_hold_during_capture_cancels_it(parts: Any) -> None:
    svc, _, sync, pipe, _ = parts
    pipe.gate.clear()
    svc.on_press()
    wait_for(lambda: svc.state is State.FOCUSING)
    svc.on_hold()
    wait_for(lambda: len(events_of(sync, "cancel_requested")) == 1)  # the hold was taken
    pipe.gate.set()
    wait_for(lambda: len(pipe.discarded) == 1)  # the stored files of a cancelled capture go
    wait_for(lambda: svc.state is State.IDLE)
    assert svc.results == [] and pipe.captured[0].site == "adhoc-1"
    assert len(events_of(sync, "capture_cancelled")) == 1  # and no analysis was queued


def test_worklist_refuses_names() -> None:
    wl = Worklist()
    with pytest.raises(ConfigError, match="pseudonymous"):
        wl.load("John Smith", "baseline", ["frontal"])
    with pytest.raises(ConfigError, match="site"):
        wl.load("P001", "baseline", ["Front Left"])


def test_notifier_speaks_sd_notify(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "15000000"})
        assert n.watchdog_interval_s == 7.5
        n.ready("idle")
        assert srv.recv(1024) == b"READY=1\nSTATUS=idle"
        n.watchdog()
        assert srv.recv(1024) == b"WATCHDOG=1"
    assert Notifier({}).notify("READY=1") is False


def test_a_worklist_loaded_during_a_capture_skips_no_site(parts: Any) -> None:
    svc, status, _sync, pipe, _ = parts
    svc.set_worklist("P00123", "baseline", ["frontal", "vertex"])
    wait_for(lambda: status.current == "ready")
    pipe.gate.clear()  # hold the capture of P00123/frontal ...
    svc.on_press()
    wait_for(lambda: svc.state is State.FOCUSING and svc._capture_busy.is_set())
    # ... while the next subject's list, which starts at the same site, arrives
    svc.set_worklist("P00124", "baseline", ["frontal", "occipital"])
    pipe.gate.set()
    wait_for(lambda: len(svc.results) == 1)
    assert (svc.results[0]["subject"], svc.results[0]["site"]) == ("P00123", "frontal")
    assert svc.worklist.remaining == ["frontal", "occipital"]
    svc.on_press()
    wait_for(lambda: len(svc.results) == 2)
    assert (pipe.captured[-1].subject, pipe.captured[-1].site) == ("P00124", "frontal")


def test_a_sync_fault_shows_error_once_and_is_queued_as_an_event(tmp_path: Path) -> None:
    factory = MockFactory(pin_class=MockPWMPin)
    fault: list[str] = []
    with (
        StatusIndicator(StatusConfig(), pin_factory=factory) as status,
        SyncService(SyncConfig(enabled=False), "rig-01", tmp_path, environ={}) as sync,
    ):
        svc = Service(
            pipeline=ScriptedPipeline(tmp_path),
            outlet=sync,
            status=status,
            notifier=Notifier({}),
            sync_fault=lambda: fault[0] if fault else None,
            loop_period_s=0.05,
        )
        stop = threading.Event()
        t = threading.Thread(target=svc.run, args=(stop,), daemon=True)
        t.start()
        try:
            wait_for(lambda: status.current == "ready")
            fault.append("another rig (installation 0123456789abcdef) uses this rig's device_id")
            wait_for(lambda: svc.state is State.ERROR and status.current == "error")
            assert "another rig" in str(svc.last_error)
            svc.on_press()  # acknowledged: captures go on (results queue), no second report
            wait_for(lambda: len(svc.results) == 1)
        finally:
            stop.set()
            t.join(5)
            svc.drain(5)
        events = [json.loads(e.payload) for e in sync.outbox.pending(100) if e.topic == "events"]
        assert [e["type"] for e in events].count("error") == 1
    factory.close()


def test_ready_shows_led_drift_while_the_rings_have_drifted(tmp_path: Path) -> None:
    factory = MockFactory(pin_class=MockPWMPin)
    status = StatusIndicator(StatusConfig(), pin_factory=factory)
    sync = SyncService(SyncConfig(enabled=False), "rig-01", tmp_path, environ={})
    drifted = [True]
    svc = Service(
        pipeline=ScriptedPipeline(tmp_path),
        outlet=sync,
        status=status,
        notifier=Notifier({}),
        led_drift=lambda: drifted[0],
    )
    try:
        svc.set_state(State.IDLE)
        assert status.current == "led_drift"
        drifted[0] = False
        svc.set_state(State.IDLE)
        assert status.current == "ready"
    finally:
        sync.close()
        status.close()
        factory.close()
