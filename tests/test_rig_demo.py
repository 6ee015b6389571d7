"""The rig wiring on the twin, and the foundation demo writing a capture to disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from device.cli import main
from device.config import DermocapConfig
from device.rig import build_rig


def test_twin_rig_moves_light_and_closes_cleanly() -> None:
    rig = build_rig(DermocapConfig())
    assert rig.mechanics is not None and rig.twin is not None
    rig.stage.home()
    rig.stage.move_to(5.0)
    # What the device code commands is what the twin's carriage does (backlash handled).
    assert rig.mechanics.carriage_z_mm - rig.stage.z_mm == pytest.approx(0.0225, abs=0.004)
    rig.lighting.set("parallel", 0.5)
    assert rig.twin.led_duty() == {"cross": 0.0, "parallel": 0.5}
    rig.close()
    rig.close()


def test_demo_writes_image_and_sidecar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    images = list(tmp_path.glob("*.png"))
    assert len(images) == 1
    with Image.open(images[0]) as im:
        assert im.size == (2028, 1520)
    sidecar = json.loads(images[0].with_suffix(".json").read_text())
    assert sidecar["metadata"]["exposure_us"] == pytest.approx(8000, rel=0.01)
    assert abs(sidecar["z_mm"] - 6.3) < 0.2
    assert "focused at" in capsys.readouterr().out
