"""The daily light check (device/lightcheck.py) on the twin rig: a real calibration, the
twin's LED rings dimmed as ageing dims them, the reference target put under the cone by
the twin's hand, the record kept in the state folder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_for

from dermocap.errors import CameraTimeout, CaptureError, TargetNotFound
from device.capture_cmds import capture_session
from device.config import DermocapConfig
from device.lightcheck import LIGHT_CHECK_NAME, LightCheck
from device.serve import ServeApp
from sim.hand import TwinTechnician

SMALL = {
    "rig": {"backend": "twin"},
    "camera": {"width": 1014, "height": 760},
    "sync": {"enabled": False},
}
TODAY = date.today()
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeApp]:
    state = tmp_path_factory.mktemp("state")
    with ServeApp(DermocapConfig.model_validate(SMALL), state_dir=state, environ={}) as a:
        a.prepare()  # calibrates the twin on its target: today's check
        yield a


@pytest.fixture
def hand(app: ServeApp) -> Iterator[TwinTechnician]:
    """The twin's hand with the reference target under the cone; the rings as they were
    and the subject back under the cone afterwards."""
    h = TwinTechnician.of(app.rig.technician)
    efficiency = h.twin.led_efficiency
    h.place_target()
    yield h
    h.twin.led_efficiency = efficiency
    h.place_subject()


def test_a_calibration_made_today_is_the_days_check(app: ServeApp, tmp_path: Path) -> None:
    assert app.service.light_check is not None and not app.service.light_check.due()
    assert not LightCheck(app.session, tmp_path, today=lambda: TODAY).due()
    assert LightCheck(app.session, tmp_path, today=lambda: TOMORROW).due()
    assert not LightCheck(app.session, tmp_path, enabled=False, today=lambda: TOMORROW).due()


def test_the_check_measures_dimmed_rings_trims_them_and_is_kept_for_the_day(
    app: ServeApp, hand: TwinTechnician, tmp_path: Path
) -> None:
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    hand.twin.led_efficiency *= 0.9  # the rings aged: 10 % dimmer than at calibration
    summary, data = check.run()
    assert data["drift"] == pytest.approx(-0.10, abs=0.02)
    assert data["warned"] and data["trim"] > 1.05  # past drift_warn (5 %): trimmed back
    assert "recalibrate soon" in summary and "trimmed x1.1" in summary
    assert app.session.state.drift is not None and app.session.state.drift.warned
    assert not check.due()
    kept = json.loads((tmp_path / LIGHT_CHECK_NAME).read_text())
    assert kept["date"] == TOMORROW.isoformat() and kept["drift"]["warned"]
    # a restart the same day is not asked again; the next day is
    assert not LightCheck(app.session, tmp_path, today=lambda: TOMORROW).due()
    assert LightCheck(app.session, tmp_path, today=lambda: TOMORROW + timedelta(1)).due()
    last = LightCheck(app.session, tmp_path).last_check()
    assert last is not None and last.day == TOMORROW and last.drift == pytest.approx(data["drift"])
    # a restarted service takes up the kept trim and its warning on the same calibration
    fresh = capture_session(app.rig, app.state_dir)
    assert fresh.state.drift is None
    LightCheck(fresh, tmp_path, today=lambda: TOMORROW)
    assert fresh.state.drift is not None and fresh.state.drift.warned
    assert fresh.state.led_intensity == pytest.approx(kept["drift"]["led_intensity"])
    assert data["led_intensity_cross"] == pytest.approx(
        kept["drift"]["led_intensity"]["cross"], abs=1e-5
    )


def test_rings_dimmed_past_the_limit_fail_the_check_and_it_stays_due(
    app: ServeApp, hand: TwinTechnician, tmp_path: Path
) -> None:
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    hand.twin.led_efficiency *= 0.5
    with pytest.raises(CaptureError, match="recalibrate"):
        check.run()
    assert check.due()
    kept = json.loads((tmp_path / LIGHT_CHECK_NAME).read_text())
    assert "drift" not in kept and "recalibrate" in kept["failure"]["message"]  # kept too
    with pytest.raises(CaptureError, match="cannot be skipped after it failed"):
        check.skip()  # only a recalibration mends it
    assert check.due()
    assert app.rig.lighting.levels.cross == 0 and app.rig.lighting.levels.parallel == 0


def test_a_dead_ring_fails_on_drift_and_a_restart_does_not_forget_it(
    app: ServeApp, hand: TwinTechnician, tmp_path: Path
) -> None:
    """A ring that gives no light leaves only room light on the patch: that is not "no
    target" (which a hold may skip) but a failure only a recalibration mends, kept across
    a restart until a check passes."""
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    hand.twin.led_efficiency = 0.0
    with pytest.raises(CaptureError, match="gives almost no light") as exc:
        check.run()
    assert not isinstance(exc.value, TargetNotFound)
    restarted = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    assert restarted.due() and "gives almost no light" in (restarted.failure() or "")
    with pytest.raises(CaptureError, match="cannot be skipped"):
        restarted.skip()
    hand.twin.led_efficiency = 1.0  # mended; a check that passes ends the failure
    restarted.run()
    assert restarted.failure() is None and not restarted.due()
    assert LightCheck(app.session, tmp_path, today=lambda: TOMORROW).failure() is None


def test_a_kept_check_of_another_calibration_is_not_taken_up(app: ServeApp, tmp_path: Path) -> None:
    assert app.session.calibration is not None
    report = {
        "calibration_id": "another-calibration",
        "reference_level": 0.4,
        "measured_level": 0.3,
        "ambient_level": 0.0,
        "drift": -0.25,
        "trim": 1.33,
        "led_intensity": {"cross": 0.9, "parallel": 0.9},
        "warned": True,
        "corrected_level": 0.4,
    }
    kept = {"date": TODAY.isoformat(), "at": "2026-01-01T08:00:00Z", "drift": report}
    (tmp_path / LIGHT_CHECK_NAME).write_text(json.dumps(kept))
    fresh = capture_session(app.rig, app.state_dir)
    check = LightCheck(fresh, tmp_path, today=lambda: TOMORROW)
    assert fresh.state.drift is None and check.last_check() is None
    assert fresh.state.led_intensity != report["led_intensity"]
    report["calibration_id"] = app.session.calibration.calibration_id  # its own: taken up
    (tmp_path / LIGHT_CHECK_NAME).write_text(json.dumps(kept))
    LightCheck(fresh, tmp_path, today=lambda: TOMORROW)
    assert fresh.state.drift is not None and fresh.state.drift.trim == pytest.approx(1.33)


def test_a_camera_fault_midway_leaves_no_ring_lit(
    app: ServeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def faulty(cam: object, lights: Any, *args: object, **kw: object) -> None:
        lights.set("cross", 0.7)  # lit for the patch, then the camera stops answering
        raise CameraTimeout("no frame within 2 s")

    monkeypatch.setattr("capture.session.check_drift", faulty)
    fresh = capture_session(app.rig, app.state_dir)
    with pytest.raises(CameraTimeout):
        LightCheck(fresh, tmp_path, today=lambda: TOMORROW).run()
    assert app.rig.lighting.levels.cross == 0 and app.rig.lighting.levels.parallel == 0


def test_a_press_with_the_scalp_under_the_cone_is_no_check(app: ServeApp, tmp_path: Path) -> None:
    """The technician's habit is to press with the cone on the site: the skin under it is
    not the grey patch, and must neither pass nor trim the rings."""
    before = dict(app.session.state.led_intensity)
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    with pytest.raises(TargetNotFound, match="not under the cone"):
        check.run()
    assert check.due() and app.session.state.led_intensity == before
    check.skip()  # no target at hand: allowed
    assert not check.due()


def test_a_skip_holds_until_a_restart_and_a_bad_record_asks_again(
    app: ServeApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    check.skip()
    assert not check.due()
    assert LightCheck(app.session, tmp_path, today=lambda: TOMORROW).due()  # restarted
    (tmp_path / LIGHT_CHECK_NAME).write_text('{"date": "yesterday"')
    assert LightCheck(app.session, tmp_path, today=lambda: TOMORROW).due()
    assert "unreadable" in caplog.text and "asked for again" in caplog.text
    assert LightCheck(app.session, tmp_path).last_check() is None


def test_the_service_asks_checks_and_then_captures_on_the_twin(tmp_path: Path) -> None:
    """The whole flow through a running service, its real light check and the twin: the
    light asks, the hand puts the target down and presses, the dimmed rings are measured
    and trimmed, the light says so; then the cone goes back on the site and a press
    captures it, its record carrying the check."""
    with ServeApp(DermocapConfig.model_validate(SMALL), state_dir=tmp_path, environ={}) as app:
        app.prepare()
        assert app.service.light_check is not None
        app.service.light_check.today = lambda: TOMORROW  # type: ignore[attr-defined]
        hand = TwinTechnician.of(app.rig.technician)
        stop = threading.Event()
        runner = threading.Thread(target=app.service.run, args=(stop,), daemon=True)
        runner.start()
        try:
            wait_for(lambda: app.rig.status.current == "light_check", timeout_s=30)
            assert "light_check_age_s" not in app._telemetry()  # none since calibration
            hand.place_target()
            hand.twin.led_efficiency *= 0.9
            app.service.on_press()
            wait_for(lambda: app.rig.status.current == "led_drift", timeout_s=60)  # trimmed
            (ev,) = events(app, "light_check")
            assert ev["data"]["warned"] and "recalibrate soon" in ev["detail"]
            assert app.service.results == []  # the press checked the light: no capture
            assert 0 <= app._telemetry()["light_check_age_s"] < 600  # for the dashboard
            hand.place_subject()
            app.service.on_press()
            wait_for(lambda: len(app.service.results) == 1, timeout_s=120)
            record = app.service.results[0]["record"]
            assert record.drift is not None and record.drift["trim"] > 1.05
        finally:
            stop.set()
            runner.join(30)
            app.service.drain(60)


def events(app: ServeApp, type_: str) -> list[dict[str, object]]:
    out = [json.loads(e.payload) for e in app.sync.outbox.since(0) if e.topic == "events"]
    return [e for e in out if e["type"] == type_]
