"""``dermocap calibrate`` and ``dermocap qa repeatability`` on the twin (small frames)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from capture.repeatability import (
    RepeatabilityReport,
    cv,
    published_density_cv,
    run_repeatability,
    save_report,
)
from device.capture_cmds import capture_session
from device.cli import main
from device.config import DermocapConfig
from device.rig import build_rig

SMALL_TOML = "[camera]\nwidth = 1014\nheight = 760\n"


def test_calibrate_command_stores_a_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text(SMALL_TOML)
    state = tmp_path / "state"
    assert main(["--config", str(conf), "calibrate", "--state-dir", str(state), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["um_per_px"] == pytest.approx(out["twin_true_um_per_px"], rel=0.01)
    assert (state / "calibration" / f"{out['calibration_id']}.json").is_file()


def test_repeatability_meets_targets_with_a_pluggable_density(tmp_path: Path) -> None:
    cfg = DermocapConfig.model_validate({"camera": {"width": 1014, "height": 760}})
    with build_rig(cfg) as rig:
        session = capture_session(rig, tmp_path)
        rig.technician.place_target()
        session.calibrate()
        seen: list[float] = []

        def density(frame: NDArray[np.uint8], um_per_px: float) -> float:
            # A stand-in for the model: dark pixels per cm2 of the kept frame.
            area_cm2 = frame.shape[0] * frame.shape[1] * (um_per_px * 1e-4) ** 2
            value = float((frame.mean(axis=2) < 90).sum()) / area_cm2 / 1000
            seen.append(value)
            return value

        report = run_repeatability(
            session,
            runs=2,
            technician=rig.technician,
            density_fn=density,
            seed=3,
            reference_half_range_mm=0.1,
            reference_step_mm=0.05,
        )
    assert report.brightness_cv <= 0.01
    assert report.min_relative_sharpness >= 0.95
    assert report.density_cv is not None and report.density_cv == pytest.approx(cv(seen))
    assert report.passed
    d = report.as_dict()
    assert len(d["relative_sharpness"]) == 2 and d["details"][0]["perturbation"]


def test_cv() -> None:
    assert cv([1.0, 1.0, 1.0]) == 0.0
    assert cv([0.9, 1.1]) == pytest.approx(0.1)


def test_repeatability_command_measures_density_with_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text(SMALL_TOML)
    state = tmp_path / "state"
    code = main(
        ["--config", str(conf), "qa", "repeatability", "--runs", "3", "--sim", "--json",
         "--state-dir", str(state)]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["density_cv"] is not None  # the hair model measured every run
    assert 0.0 <= out["density_cv"] < 0.1
    assert code == (0 if out["passed"] else 1)
    # kept in the rig's state folder, where the service reads it for its telemetry
    assert published_density_cv(state) == pytest.approx(out["density_cv"])


def test_published_density_cv_tolerates_absent_and_bad_files(tmp_path: Path) -> None:
    assert published_density_cv(tmp_path) is None
    report = RepeatabilityReport(runs=[], brightness_cv=0.005, min_relative_sharpness=0.99,
                                 density_cv=0.031)  # fmt: skip
    path = save_report(tmp_path, report)
    assert published_density_cv(tmp_path) == 0.031 and "measured_at" in json.loads(path.read_text())
    path.write_text('{"density_cv": "x"}')
    assert published_density_cv(tmp_path) is None
    path.write_text("{")
    assert published_density_cv(tmp_path) is None
