"""The config tree: defaults run the twin, bad files are refused with key paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from dermocap.errors import ConfigError
from device.cli import main
from device.config import DermocapConfig, load_config, parse_config, to_toml


def _walk(model: type[BaseModel], path: str = "") -> list[str]:
    missing: list[str] = []
    for name, info in model.model_fields.items():
        if not info.description:
            missing.append(f"{path}{name}")
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            missing += _walk(ann, f"{path}{name}.")
    return missing


def test_defaults_need_no_file() -> None:
    cfg = load_config(None)
    assert cfg.rig.backend == "twin"
    assert cfg.lighting.pwm_frequency_hz >= 1000


def test_every_field_has_a_description() -> None:
    assert _walk(DermocapConfig) == []


def test_every_section_forbids_unknown_keys() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"camera": {"exposure": 100}})
    assert err.value.errors[0][0] == "camera.exposure"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"lighting": {"pwm_frequency_hz": 500}}, "lighting.pwm_frequency_hz"),
        ({"stage": {"min_mm": 5, "max_mm": 4}}, "stage"),
        ({"stage": {"min_mm": 0.1, "backlash_mm": 0.2}}, "stage"),
        ({"button": {"pin": 12}}, "(top level)"),
        ({"camera": {"colour_gains": [0.01, 2.0]}}, "camera"),
        ({"sim": {"phantom_image": "x.png"}}, "sim"),
        ({"rig": {"device_id": "bad id!"}}, "rig.device_id"),
        ({"lighting": {"cross": {"pin": 5, "max_duty": 1.5}}}, "lighting.cross.max_duty"),
    ],
)
def test_bad_values_are_refused_with_their_key_path(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert key in [k for k, _ in err.value.errors], err.value.errors


def test_all_errors_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[stage]\nmin_mm = 20\nspeedd = 3\n[lighting]\npwm_frequency_hz = 500\n[button]\npin = 12\n"
    )
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    for key in ("lighting.pwm_frequency_hz", "stage.speedd", "stage:", "button.pin"):
        assert key in err


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text("[stage\nmin_mm = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_show_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = to_toml(DermocapConfig())
    p = tmp_path / "c.toml"
    p.write_text(text)
    assert load_config(p) == DermocapConfig()
    assert main(["config", "check", str(p)]) == 0
    assert main(["config", "show", "--json"]) == 0
    assert '"backend": "twin"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        ('[capture]\nsubject_pattern = "([a-"\n', "capture.subject_pattern", "regular expr"),
        ('[capture]\nsubject_pattern = ".*"\n', "capture.subject_pattern", "not a pseudonym"),
        ('[sync]\ntopic_prefix = "dermocap/\\u0000/{device_id}"\n', "sync.topic_prefix", "\\x00"),
        ('[sync]\ntopic_prefix = "dermocap/+/{device_id}"\n', "sync.topic_prefix", "'+'"),
        ('[sync]\ntopic_prefix = "dermocap/v1/#"\n', "sync.topic_prefix", "'#'"),
        ('[sync]\ntopic_prefix = "/dermocap/{device_id}"\n', "sync.topic_prefix", "empty"),
        ('[sync]\ntopic_prefix = "dermocap//{device_id}"\n', "sync.topic_prefix", "empty"),
        ('[sync]\ntopic_prefix = "$SYS/{device_id}"\n', "sync.topic_prefix", "reserved"),
        ('[sync]\ntopic_prefix = "d/{device}"\n', "sync.topic_prefix", "{device_id}"),
    ],
)
def test_config_check_refuses_inputs_that_broke_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str, reason: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if key in x)
    assert reason in line, err


def test_config_check_keeps_usable_prefixes_and_patterns(tmp_path: Path) -> None:
    ok = tmp_path / "ok.toml"
    ok.write_text(
        '[capture]\nsubject_pattern = "^P[0-9]{5}$"\n'
        '[sync]\ntopic_prefix = "clinic-3/dermocap/v1/{device_id}/"\n'
    )
    assert main(["config", "check", str(ok)]) == 0
    assert load_config(ok).sync.prefix_for("rig-07") == "clinic-3/dermocap/v1/rig-07"
