"""TwinCamera: the Camera interface on the digital twin, with a real sensor's timing.

Frames run back to back at the mode's frame duration. New controls take effect
``control_latency_frames`` frames after they are set, exposure is quantised to
the sensor's line time and gain to its gain codes, exactly the behaviour that
makes "lock the controls, then flush" necessary on picamera2.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from capture.camera import Camera, Controls, Frame, FrameMetadata, StillMode
from dermocap.clock import Clock
from dermocap.errors import CameraError, CameraTimeout
from sim.twin import Twin

LINE_TIME_US = 21.6  # IMX477 2x2 binned mode
GAIN_CODE_MAX = 978  # IMX477: gain = 1024 / (1024 - code), up to ~22x


def quantise_exposure_us(exposure_us: float, frame_duration_us: int) -> int:
    """The exposure the sensor can really do: whole lines, within the frame."""
    lines = max(1, round(exposure_us / LINE_TIME_US))
    return int(min(lines * LINE_TIME_US, frame_duration_us - 100))


def quantise_gain(gain: float) -> float:
    """The analogue gain the sensor can really do (IMX477 gain codes)."""
    code = min(GAIN_CODE_MAX, max(0, round(1024 - 1024 / gain)))
    return 1024 / (1024 - code)


@dataclass
class _Pending:
    controls: Controls
    effective_from_s: float  # first frame starting at or after this uses them


class TwinCamera(Camera):
    """Renders frames from a :class:`sim.twin.Twin` through picamera2-like timing.

    Args:
        twin: the digital twin in front of the lens.
        clock: time source; a FastClock makes frame waits instant.
        frame_duration_us: frame period of the sensor mode.
        control_latency_frames: frames before new controls apply.
    """

    def __init__(
        self,
        twin: Twin,
        *,
        clock: Clock,
        frame_duration_us: int = 33_333,
        control_latency_frames: int = 2,
        default_timeout_s: float = 5.0,
    ) -> None:
        super().__init__()
        self.twin = twin
        self.clock = clock
        self.frame_duration_us = frame_duration_us
        self.control_latency_frames = control_latency_frames
        self.default_timeout_s = default_timeout_s
        self._t0 = clock.monotonic()
        self._history: list[_Pending] = []
        self._lock = threading.Lock()
        self.frames_captured = 0
        # Fault injection for tests: the next N captures stall past any timeout.
        self.stall_next = 0

    @property
    def _fd_s(self) -> float:
        return self.frame_duration_us / 1e6

    def _configure(self, mode: StillMode) -> None:
        with self._lock:
            # A mode switch restarts the sensor: frame timing starts again, and it
            # comes up with default controls until ours are applied again.
            self._t0 = self.clock.monotonic()
            self._history = []

    def _set_controls(self, controls: Controls) -> None:
        with self._lock:
            now = self.clock.monotonic()
            effective = now + self.control_latency_frames * self._fd_s
            self._history.append(_Pending(controls, effective))
            self._history = self._history[-8:]

    def _controls_at(self, t: float) -> Controls:
        active: Controls | None = None
        for p in self._history:
            if p.effective_from_s <= t + 1e-9:
                active = p.controls
        if active is None:
            # The sensor's power-on defaults: what the ISP's AE would have left.
            return Controls(exposure_us=10_000, analogue_gain=2.0, colour_gains=(1.0, 1.0))
        return active

    def _capture(self, *, flush: bool, timeout_s: float | None) -> Frame:
        timeout = timeout_s if timeout_s is not None else self.default_timeout_s
        mode = self.mode
        if mode is None:  # pragma: no cover - the base class checks
            raise CameraError("camera not configured")
        if self.stall_next > 0:
            self.stall_next -= 1
            self.clock.sleep(timeout)
            raise CameraTimeout(
                f"no frame within {timeout:.1f} s: check the camera cable, then restart the service"
            )
        with self._lock:
            now = self.clock.monotonic()
            k = (now - self._t0) / self._fd_s
            # flush: the next frame to start; otherwise the one exposing now.
            index = math.ceil(k) if flush else max(0, math.floor(k))
            start = self._t0 + index * self._fd_s
            controls = self._controls_at(start)
        end = start + self._fd_s
        wait = end - now
        if wait > timeout:
            raise CameraTimeout(f"no frame within {timeout:.1f} s")
        self.clock.sleep(max(0.0, wait))
        exposure = quantise_exposure_us(controls.exposure_us, self.frame_duration_us)
        gain = quantise_gain(controls.analogue_gain)
        array = self.twin.render(
            width=mode.width,
            height=mode.height,
            exposure_us=exposure,
            analogue_gain=gain,
            colour_gains=controls.colour_gains,
        )
        self.frames_captured += 1
        md = FrameMetadata(
            exposure_us=exposure,
            analogue_gain=round(gain, 4),
            colour_gains=controls.colour_gains,
            lens_position=controls.lens_position,
            sensor_timestamp_ns=int(start * 1e9),
            frame_duration_us=self.frame_duration_us,
        )
        return Frame(array=array, metadata=md, request_ns=int(now * 1e9))

    def _close(self) -> None:
        pass
