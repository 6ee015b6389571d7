"""The daily light check (device/lightcheck.py) on the twin rig: a real calibration, the
twin's LED rings dimmed as ageing dims them, the reference target put under the cone by
the twin's hand, the record kept in the state folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from dermocap.errors import CaptureError
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
    last = LightCheck(app.session, tmp_path).last_checked()
    assert last is not None and last[0] == TOMORROW and last[1] == pytest.approx(data["drift"])


def test_rings_dimmed_past_the_limit_fail_the_check_and_it_stays_due(
    app: ServeApp, hand: TwinTechnician, tmp_path: Path
) -> None:
    check = LightCheck(app.session, tmp_path, today=lambda: TOMORROW)
    hand.twin.led_efficiency *= 0.5
    with pytest.raises(CaptureError, match="recalibrate"):
        check.run()
    assert check.due() and not (tmp_path / LIGHT_CHECK_NAME).exists()


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
    assert LightCheck(app.session, tmp_path).last_checked() is None
