"""`dermocap calibrate` measures the Z screw's play on the focus curve and compensates it:
a twin whose screw wears from 0.05 to 0.3 mm of play is defocused by autofocus until the
rig is calibrated again, then focused, and the measured play survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.calibration import Calibration
from device.capture_cmds import capture_session
from device.config import DermocapConfig
from device.rig import build_rig
from sim.hand import TwinTechnician
from sim.tools import NEUTRAL_COLOUR_GAINS
from sim.twin import Twin

# small frames, as the capture protocol tests use
CFG = DermocapConfig.model_validate({"camera": {"width": 1014, "height": 760}})


def _focus_error_mm(twin: Twin) -> float:
    """How far the carriage is from the twin's plane of best focus."""
    return twin.z_mm - twin.z_focus_mm


def test_calibrate_measures_a_worn_screw_and_compensates(tmp_path: Path) -> None:
    cfg = CFG
    worn_mm = 0.3
    with build_rig(cfg) as rig:
        hand = TwinTechnician.of(rig.technician)
        twin, mech = hand.twin, hand.mechanics
        session = capture_session(rig, tmp_path)
        twin.show_target()
        mech.backlash_mm = worn_mm  # the screw wore since the config was written
        dof = cfg.sim.optics.depth_of_field_mm

        session.autofocus()
        assert abs(_focus_error_mm(twin)) > 2 * dof  # trusting stage.backlash_mm: defocused

        cal = session.calibrate()
        assert cal.backlash_mm == pytest.approx(worn_mm, abs=0.03)
        assert rig.stage.backlash_mm >= cal.backlash_mm
        session.autofocus()
        assert abs(_focus_error_mm(twin)) <= dof  # compensated: in focus

    # a restart: the stored calibration sets the stage's overshoot again
    with build_rig(cfg) as rig:
        assert rig.stage.backlash_mm == cfg.stage.backlash_mm
        session = capture_session(rig, tmp_path)
        assert session.calibration is not None
        assert session.calibration.backlash_mm == cal.backlash_mm
        assert rig.stage.backlash_mm == pytest.approx(cal.backlash_mm + 0.02)


def test_a_calibration_record_without_backlash_still_loads() -> None:
    """Records made before the play was measured keep stage.backlash_mm."""
    d = {
        "calibration_id": "c", "created_at": "2026-01-01T00:00:00Z", "exposure_us": 6000,
        "analogue_gain": 1.0, "colour_gains": list(NEUTRAL_COLOUR_GAINS), "lens_position": None,
        "led_intensity": {"cross": 0.5}, "grey_target": 0.4, "grey_level": {"cross": 0.4},
        "preview_grey_level": 0.4, "flat_field": [0.0, 0.0], "um_per_px": 2.0,
        "um_per_px_xy": [2.0, 2.0], "width": 100, "height": 80, "focus_z_mm": 6.0,
    }  # fmt: skip
    assert Calibration.from_dict(d).backlash_mm is None
    assert Calibration.from_dict({**d, "backlash_mm": 0.12}).backlash_mm == 0.12
