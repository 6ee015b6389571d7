"""The dashboard's systemd unit verifies and is hardened; its config section is checked."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from test_systemd import _verify

from device.cli import main

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "dermocap-dashboard.service"


def test_dashboard_unit_verifies_without_warnings(tmp_path: Path) -> None:
    res = _verify(UNIT.read_text(), tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "" and res.stdout.strip() == ""
    broken = _verify(UNIT.read_text().replace("PrivateDevices=", "PrivateDevice="), tmp_path)
    assert "Unknown key" in broken.stderr


def test_dashboard_unit_settings() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    text = UNIT.read_text()
    cp.read_string(text)
    svc = cp["Service"]
    assert svc["ExecStart"].endswith("dashboard serve --data-dir /var/lib/dermocap-dashboard")
    assert "config check" in svc["ExecStartPre"] and svc["Restart"] == "on-failure"
    for key, value in {
        "User": "dermocap-dashboard",
        "StateDirectory": "dermocap-dashboard",
        "ReadWritePaths": "/var/lib/dermocap-dashboard",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert svc[key] == value, key
    assert "LoadCredential=mqtt-password:" in text and "LoadCredential=mqtt-username:" in text


def test_config_check_reports_dashboard_errors_with_their_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[dashboard]\nbind = "127.0.0.1"\nport = 8443\ndata_dir = "/srv/dash"\n'
        'database_url = "postgresql://dash@db.clinic:5432/dermocap"\n'
    )
    assert main(["config", "check", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[dashboard]\nport = 70000\nclient_id = "two words"\ntopic_prefix = "dermocap/v1"\n'
        'colour = 1\ndatabase_url = "postgresql://dash:secret@db/dermocap"\n'
    )
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    for key in ("dashboard.port", "dashboard.client_id", "dashboard.topic_prefix",
                "dashboard.colour", "dashboard.database_url"):  # fmt: skip
        assert key in err, err
