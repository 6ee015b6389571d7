"""The rig wiring on the twin, and ``dermocap demo`` (the README's first command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.store import Store
from device.cli import main
from device.config import DermocapConfig
from device.rig import build_rig
from sim.hand import TwinTechnician
from sync import Outbox
from sync.broker import mosquitto_binary


def test_twin_rig_moves_light_and_closes_cleanly() -> None:
    rig = build_rig(DermocapConfig())
    hand = TwinTechnician.of(rig.technician)
    rig.stage.home()
    rig.stage.move_to(5.0)
    # What the device code commands is what the twin's carriage does (backlash handled).
    assert hand.mechanics.carriage_z_mm - rig.stage.z_mm == pytest.approx(0.0225, abs=0.004)
    rig.lighting.set("parallel", 0.5)
    assert hand.twin.led_duty() == {"cross": 0.0, "parallel": 0.5}
    rig.close()
    rig.close()


def test_demo_runs_two_visits_and_the_dashboard_sees_every_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed; scripts/test.sh installs it")
    assert main(["demo", "--out", str(tmp_path), "--no-serve"]) == 0
    out = capsys.readouterr().out
    rows = {}
    for visit in ("baseline", "3m"):
        table = out.split(f"visit {visit}, subject P00042")[1].splitlines()[2:5]
        rows[visit] = {line.split()[0]: line.split() for line in table}
        assert set(rows[visit]) == {"frontal", "vertex", "occipital"}
        for cols in rows[visit].values():
            measured, truth = float(cols[1]), float(cols[2])
            assert measured == pytest.approx(truth, rel=0.25)  # the model's error, bounded
            assert cols[6] == "pass"
            assert cols[-1] in ("yes", "-")  # the review flag, last
            # a flagged site's reasons follow the table, one line each
            assert (cols[-1] == "yes") == (
                f"  {cols[0]}: review: " in out.split(f"visit {visit},")[1].split("visit ")[0]
            )
    # The twin grew hair at two sites: the measured change points the same way.
    for site in ("frontal", "vertex"):
        assert float(rows["3m"][site][8].rstrip("%")) > 3.0
    assert out.count("dashboard | demo-rig") >= 6  # every result, as the dashboard got it
    assert "(0 messages waiting)" in out
    state = tmp_path / "state"
    assert len(list(state.glob("captures/P00042/*/*/*.jpg"))) == 12  # 3 sites x 2 visits x 2 lights
    assert len(list((state / "overlays").glob("*.jpg"))) == 6
    # The dashboard kept every result once, and each site's photograph and overlay, whole.
    assert "dashboard: http://127.0.0.1:" in out and "login: demo / " in out
    with Store(
        tmp_path / "dashboard" / "dashboard.sqlite3", tmp_path / "dashboard" / "images"
    ) as db:
        assert db.count("results") == 6 and db.count("dead_letters") == 0
        assert db.count("images") == 12 and db.count("lost_seqs") == 0
        names = sorted(p.name for p in db.images_dir.iterdir())
        assert len(names) == 12 and sum("-overlay" in n for n in names) == 6


def test_demo_without_a_broker_keeps_results_in_the_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("device.demo.mosquitto_binary", lambda: None)
    assert main(["demo", "--out", str(tmp_path), "--baseline-only"]) == 0
    out = capsys.readouterr().out
    assert "mosquitto is not installed" in out
    assert "results are kept in the outbox" in out
    with Outbox(tmp_path / "state" / "outbox.sqlite3") as ob:
        results = [e for e in ob.pending(100) if e.topic == "results"]
    assert len(results) == 3


def test_a_hardware_rig_without_gpio_access_says_what_to_install() -> None:
    import importlib.util

    from dermocap.errors import HardwareError

    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is installed: this machine may really have GPIO")
    cfg = DermocapConfig.model_validate({"rig": {"backend": "hardware"}})
    with pytest.raises(HardwareError, match=r"no GPIO access .*'pi' extra \(lgpio\)"):
        build_rig(cfg)
