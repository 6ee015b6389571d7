"""The twin's sensor in a process of its own (sim.sensor): same frames, clean failure, no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dermocap.errors import CameraError
from sim.config import SimConfig
from sim.twin import Twin

PREVIEW = {"width": 507, "height": 380, "exposure_us": 8000.0, "analogue_gain": 1.5}


def _frames(twin: Twin) -> list[np.ndarray]:
    out = []
    twin.set_duty(cross=0.6)
    out.append(twin.render(**PREVIEW, colour_gains=(1.1, 0.9)))
    twin.z_mm = twin.z_focus_mm + 0.4  # defocused
    twin.nudge(0.3, -0.2, 2.0)
    out.append(twin.render(**PREVIEW, colour_gains=(1.1, 0.9)))
    twin.regrow(1.3, seed=5)  # a later visit: the child must replay it
    twin.set_duty(parallel=0.4)
    out.append(twin.render(**PREVIEW, colour_gains=(1.0, 1.0)))
    twin.show_target()
    out.append(twin.render(**PREVIEW, colour_gains=(1.0, 1.0)))
    return out


def test_frames_from_the_sensor_process_equal_the_in_process_twin() -> None:
    here = Twin(SimConfig(), nominal_um_per_px=5.0, seed=3)
    there = Twin(SimConfig(), nominal_um_per_px=5.0, seed=3)
    there.use_sensor_process()
    try:
        assert there.sensor_pid is not None and there.sensor_pid != os.getpid()
        a, b = _frames(here), _frames(there)
    finally:
        there.close()
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape == (380, 507, 3)
        assert np.array_equal(x, y)
    assert not np.array_equal(a[0], a[1])  # the snapshot really moved the stage and the rig


def test_a_failed_render_is_a_camera_error_and_the_sensor_goes_on() -> None:
    twin = Twin(SimConfig(), nominal_um_per_px=5.0)
    twin.use_sensor_process()
    try:
        twin.set_duty(cross=0.5)
        with pytest.raises(CameraError, match="sensor failed"):
            twin.render(**{**PREVIEW, "width": 0}, colour_gains=(1.0, 1.0))
        assert twin.render(**PREVIEW, colour_gains=(1.0, 1.0)).shape == (380, 507, 3)
    finally:
        twin.close()
    twin.close()  # idempotent
    # closed: frames are made in-process again
    assert twin.render(**PREVIEW, colour_gains=(1.0, 1.0)).shape == (380, 507, 3)


def test_the_sensor_process_ends_when_the_service_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from sim.config import SimConfig\n"
        "from sim.twin import Twin\n"
        "t = Twin(SimConfig(), nominal_um_per_px=5.0)\n"
        "t.use_sensor_process()\n"
        "print(t.sensor_pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            # a zombie counts as gone: its parent (the killed one) is init's now
            with open(f"/proc/{child}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the sensor process outlived the killed service")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
