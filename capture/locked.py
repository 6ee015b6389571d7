"""A camera held to one set of controls: every kept frame is fresh and matches the request."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from capture.camera import Camera, Controls, Frame, StillMode
from dermocap.clock import Clock
from dermocap.errors import CaptureError

log = logging.getLogger(__name__)


@dataclass
class FrameStats:
    """Counts of frames taken and dropped since the camera was locked."""

    taken: int = 0
    stale: int = 0
    mismatched: int = 0


class LockedCamera:
    """Wraps a :class:`Camera` so that no frame under the wrong controls is ever used.

    The controls are applied once, applied again after every mode switch, and waited out
    for ``settle_frames`` frame periods. :meth:`capture` then drops every frame whose
    exposure started before the request or whose metadata differs from the request by more
    than ``tolerance`` (relative), and takes another, up to ``max_retries`` times.

    Args:
        camera: an open camera.
        controls: the locked controls.
        clock: time source used to wait for the controls to take effect.
        frame_duration_us: the sensor's frame period.
        tolerance: largest relative metadata mismatch accepted (0.05 = 5 %).
        settle_frames: frame periods waited after a mode switch or new controls.
        max_retries: frames dropped in a row before :class:`CaptureError`.
    """

    def __init__(
        self,
        camera: Camera,
        controls: Controls,
        *,
        clock: Clock,
        frame_duration_us: int,
        tolerance: float = 0.05,
        settle_frames: int = 3,
        max_retries: int = 8,
    ) -> None:
        self.camera = camera
        self._clock = clock
        self._frame_s = frame_duration_us / 1e6
        self.tolerance = tolerance
        self.settle_frames = settle_frames
        self.max_retries = max_retries
        self.stats = FrameStats()
        self._controls = controls
        self.camera.set_controls(controls)
        self._settle()

    @property
    def controls(self) -> Controls:
        return self._controls

    def _settle(self) -> None:
        if self.settle_frames:
            self._clock.sleep(self.settle_frames * self._frame_s)

    def lock(self, controls: Controls) -> None:
        """Change the locked controls (calibration loops) and wait for them to apply."""
        self._controls = controls
        self.camera.set_controls(controls)
        self._settle()

    def use_mode(self, mode: StillMode) -> None:
        """Switch the sensor mode if needed; the controls are applied again afterwards."""
        if self.camera.mode == mode:
            return
        self.camera.configure(mode)
        # Camera.configure re-applies the controls already; doing it here too keeps the
        # guarantee even for a backend whose configure() resets them after the fact.
        self.camera.set_controls(self._controls)
        self._settle()

    def capture(self) -> Frame:
        """A fresh frame whose metadata matches the locked controls.

        Raises:
            CaptureError: ``max_retries`` frames in a row were stale or mismatched.
            CameraError, CameraTimeout: from the camera.
        """
        worst: dict[str, float] = {}
        for _ in range(self.max_retries + 1):
            frame = self.camera.capture(flush=True)
            self.stats.taken += 1
            if not frame.started_after_request:
                self.stats.stale += 1
                log.debug("dropped a stale frame (exposure began before the request)")
                continue
            mismatch = frame.metadata.mismatch(self._controls)
            bad = {k: v for k, v in mismatch.items() if v > self.tolerance}
            if bad:
                self.stats.mismatched += 1
                worst = bad
                log.debug("dropped a frame whose metadata differs from the request: %s", bad)
                continue
            return frame
        detail = ", ".join(f"{k} off by {v:.0%}" for k, v in worst.items()) or "stale frames"
        raise CaptureError(
            f"camera did not deliver frames with the locked controls after "
            f"{self.max_retries + 1} tries ({detail}): restart the service; if it persists, "
            "check the camera"
        )
