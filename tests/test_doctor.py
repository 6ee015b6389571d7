"""``dermocap doctor`` on the twin with a real Mosquitto: passes when the rig is ready, and
names what to do for each thing that is not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mqtt_fixtures import Broker, make_broker

from device.cli import main as cli_main
from device.config import DermocapConfig, to_toml
from device.doctor import Check, Doctor
from device.lightcheck import LIGHT_CHECK_NAME
from sync import SyncConfig

CHECKS = [
    "config", "permissions", "pins", "camera", "model", "calibration", "credentials", "broker",
    "disk", "clock",
]  # fmt: skip


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = make_broker(tmp_path_factory.mktemp("broker"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A twin rig's state folder with a calibration, made by `dermocap calibrate`."""
    state = tmp_path_factory.mktemp("state")
    assert cli_main(["calibrate", "--state-dir", str(state)]) == 0
    return state


def config(tmp_path: Path, port: int, **sync: object) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(to_toml(DermocapConfig(sync=SyncConfig(port=port, **sync))))  # type: ignore[arg-type]
    return path


def doctor(cfg: DermocapConfig, state: Path, **kw: object) -> dict[str, Check]:
    args: dict[str, object] = {
        "state_dir": state,
        "environ": {},
        "max_calibration_age": timedelta(days=30),
        "min_free_mb": 1.0,
        "now": lambda: datetime.now(UTC),
        "ntp_synchronised": lambda: True,
        **kw,
    }
    return {c.check: c for c in Doctor(cfg, **args).run()}  # type: ignore[arg-type]


def test_doctor_passes_on_a_ready_twin(
    tmp_path: Path, broker: Broker, calibrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, broker.port)
    rc = cli_main(["--config", str(path), "doctor", "--state-dir", str(calibrated)])
    out = capsys.readouterr().out
    assert rc == 0, out
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == CHECKS
    assert all(line.startswith("ok ") for line in lines)
    assert f"logged in to 127.0.0.1:{broker.port}" in out and "self-check passed" in out
    assert "light not checked yet" in out  # the service's daily light check: not run here

    rc = cli_main(["--config", str(path), "doctor", "--json", "--state-dir", str(calibrated)])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["ok"] is True
    assert [c["check"] for c in report["checks"]] == CHECKS


def test_doctor_fails_and_says_what_to_do(
    tmp_path: Path, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    """An uncalibrated rig and a broker nobody listens on: exit 1, two failures, each a fix."""
    path = config(tmp_path, broker.port + 1 if broker.port < 65535 else 1024)
    empty = tmp_path / "empty-state"
    rc = cli_main(["--config", str(path), "doctor", "--json", "--state-dir", str(empty)])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and report["ok"] is False
    failed = {c["check"]: c for c in report["checks"] if not c["ok"]}
    assert set(failed) == {"calibration", "broker"}
    assert "dermocap-rig calibrate" in failed["calibration"]["fix"]
    assert "cannot reach the broker" in failed["broker"]["detail"]
    assert "sync.host" in failed["broker"]["fix"]


def test_doctor_checks_the_login_credentials_and_clock(
    tmp_path: Path, broker: Broker, calibrated: Path
) -> None:
    cfg = DermocapConfig(sync=SyncConfig(port=broker.port))
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt-password").write_text("pw")  # a password without a username: serve exits 2
    got = doctor(cfg, calibrated, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert not got["credentials"].ok and "no username" in got["credentials"].detail
    assert not got["broker"].ok and "not checked" in got["broker"].detail
    # a clock a Pi without network would show, and one systemd says is not synchronised
    got = doctor(cfg, calibrated, now=lambda: datetime(1970, 1, 1, tzinfo=UTC))
    assert not got["clock"].ok and "1970-01-01" in got["clock"].detail
    assert not got["calibration"].ok  # made "in the future" of that clock: not trusted
    got = doctor(cfg, calibrated, ntp_synchronised=lambda: False)
    assert not got["clock"].ok and "not synchronised" in got["clock"].detail
    # an old calibration and a full disk
    got = doctor(cfg, calibrated, now=lambda: datetime.now(UTC) + timedelta(days=45))
    assert not got["calibration"].ok and "45 days old" in got["calibration"].detail
    got = doctor(cfg, calibrated, min_free_mb=1e12)
    assert not got["disk"].ok and "GiB free" in got["disk"].detail


def test_doctor_refuses_a_login_the_broker_refuses(tmp_path: Path, calibrated: Path) -> None:
    b = make_broker(tmp_path / "b", listener_conf="allow_anonymous false")
    try:
        got = doctor(DermocapConfig(sync=SyncConfig(port=b.port)), calibrated)
    finally:
        b.close()
    assert got["credentials"].ok
    assert not got["broker"].ok and "refused the login" in got["broker"].detail


def test_install_and_readme_run_doctor_and_list_every_check() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert "sudo dermocap-rig doctor" in readme
    for name in CHECKS:
        assert f"| `{name}` |" in readme, name
    assert "dermocap-rig doctor; then" in (root / "systemd" / "install.sh").read_text()


def test_doctor_reports_the_light_check_of_this_calibration_only(
    tmp_path: Path, broker: Broker, calibrated: Path
) -> None:
    """The service's daily light check shows on the calibration line, but not one made on an
    earlier calibration: it says nothing of the rings as they are calibrated now."""
    state = tmp_path / "state"
    shutil.copytree(calibrated, state)
    current = json.loads(next(state.rglob("current.json")).read_text())["calibration_id"]
    cfg = DermocapConfig(sync=SyncConfig(port=broker.port))

    def kept(calibration_id: str) -> None:
        drift = {"calibration_id": calibration_id, "drift": -0.031}
        entry = {"date": "2026-11-30", "at": "2026-11-30T07:58:00Z", "drift": drift}
        (state / LIGHT_CHECK_NAME).write_text(json.dumps(entry))

    kept(current)
    line = doctor(cfg, state)["calibration"]
    assert line.ok and "light last checked 2026-11-30 (-3.1%)" in line.detail
    kept("an-earlier-calibration")
    line = doctor(cfg, state)["calibration"]
    assert line.ok and "light not checked yet" in line.detail
