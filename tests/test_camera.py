"""One Camera contract, run on every backend: the twin here, picamera2 on a real Pi."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from capture.camera import Camera, Controls, Picamera2Camera, StillMode
from dermocap.clock import FastClock
from dermocap.errors import CameraError, CameraTimeout
from sim.camera import TwinCamera, quantise_exposure_us, quantise_gain
from sim.config import SimConfig
from sim.tools import NEUTRAL_COLOUR_GAINS
from sim.twin import Twin

PREVIEW = StillMode(507, 380, "preview")
LOCKED = Controls(exposure_us=6000, analogue_gain=1.5, colour_gains=NEUTRAL_COLOUR_GAINS)


def _twin_camera() -> Camera:
    twin = Twin(SimConfig(), nominal_um_per_px=5.1667, seed=1)
    twin.z_mm = twin.z_focus_mm
    twin.set_duty(cross=0.6)
    return TwinCamera(twin, clock=FastClock())


def _picamera2() -> Camera:
    pytest.importorskip("picamera2", reason="picamera2 only exists on a Raspberry Pi")
    return Picamera2Camera()


@pytest.fixture(
    params=[
        pytest.param(_twin_camera, id="twin"),
        pytest.param(_picamera2, id="picamera2", marks=pytest.mark.hardware),
    ]
)
def camera(request: pytest.FixtureRequest) -> Iterator[Camera]:
    cam: Camera = request.param()
    with cam:
        yield cam


def test_capture_needs_configure(camera: Camera) -> None:
    with pytest.raises(CameraError, match="configure"):
        camera.capture()


def test_frame_shape_and_metadata(camera: Camera) -> None:
    camera.configure(PREVIEW)
    camera.set_controls(LOCKED)
    frame = camera.capture(flush=True)
    assert frame.array.shape == (380, 507, 3)
    assert frame.array.dtype == np.uint8
    assert frame.started_after_request


def test_controls_apply_after_latency_and_flush_skips_stale_frames(camera: Camera) -> None:
    camera.configure(PREVIEW)
    camera.set_controls(LOCKED)
    # Frames go on; after a few, the metadata matches what was asked for.
    matched = False
    for _ in range(6):
        frame = camera.capture(flush=True)
        if max(frame.metadata.mismatch(LOCKED).values()) < 0.05:
            matched = True
            break
    assert matched


def test_mode_switch_reapplies_locked_controls(camera: Camera) -> None:
    camera.configure(PREVIEW)
    camera.set_controls(LOCKED)
    camera.configure(StillMode(1014, 760))
    assert camera.controls == LOCKED
    for _ in range(5):
        frame = camera.capture()
    assert frame.metadata.mismatch(LOCKED)["exposure_us"] < 0.05
    assert frame.array.shape == (760, 1014, 3)


def test_close_is_idempotent(camera: Camera) -> None:
    camera.close()
    camera.close()
    with pytest.raises(CameraError, match="closed"):
        camera.configure(PREVIEW)


# -- twin-only behaviour ---------------------------------------------------------------
def test_twin_first_frames_after_new_controls_are_stale() -> None:
    cam = _twin_camera()
    cam.configure(PREVIEW)
    cam.set_controls(LOCKED)
    first = cam.capture(flush=True)
    # Latency of two frames: the very next frame still carries the defaults.
    assert first.metadata.mismatch(LOCKED)["exposure_us"] > 0.05
    without_flush = cam.capture(flush=False)
    assert not without_flush.started_after_request


def test_twin_quantises_like_a_sensor() -> None:
    assert quantise_exposure_us(6000, 33_333) % 1 == 0
    assert abs(quantise_exposure_us(6000, 33_333) - 6000) < 25
    assert quantise_exposure_us(50_000, 33_333) < 33_333
    assert quantise_gain(1.5) == pytest.approx(1.5, rel=0.01)


def test_twin_timeout_is_reported() -> None:
    cam = _twin_camera()
    assert isinstance(cam, TwinCamera)
    cam.configure(PREVIEW)
    cam.stall_next = 1
    with pytest.raises(CameraTimeout, match="cable"):
        cam.capture(timeout_s=1.0)
    cam.capture(timeout_s=1.0)  # the next one works


def test_controls_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="exposure"):
        Controls(exposure_us=0, analogue_gain=1.0, colour_gains=(1.0, 1.0))
    with pytest.raises(ValueError, match="colour_gains"):
        Controls(exposure_us=100, analogue_gain=1.0, colour_gains=(0.0, 1.0))
    d = LOCKED.to_picamera2()
    assert d["AeEnable"] is False and d["AwbEnable"] is False
