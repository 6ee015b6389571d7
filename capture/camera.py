"""The Camera interface (shaped after picamera2) and its real implementation on picamera2.

A :class:`Camera` is configured with a :class:`StillMode`, locked with
:class:`Controls` (auto exposure and auto white balance always off), and captures
:class:`Frame` objects: an RGB array and the metadata the sensor reports for that
frame. ``capture(flush=True)`` returns only a frame whose exposure started after
the call (picamera2's ``flush``), so a frame exposed under the old light or old
controls is never mistaken for a new one.

Implementations must provide ``_configure``, ``_set_controls``, ``_capture`` and
``_close``; the base class keeps state, checks arguments and is a context manager.
``TwinCamera`` (sim.camera) renders from the digital twin;
``Picamera2Camera`` (below) drives a real sensor.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import CameraError, CameraTimeout
from dermocap.resource import Closeable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StillMode:
    """An output size of the sensor: the full still, or a binned low-resolution frame."""

    width: int
    height: int
    name: Literal["still", "preview"] = "still"

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"mode {self.width}x{self.height} is too small")


@dataclass(frozen=True)
class Controls:
    """Every image-affecting control, fixed. AeEnable and AwbEnable are always off."""

    exposure_us: int
    analogue_gain: float
    colour_gains: tuple[float, float]  # (red, blue)
    lens_position: float | None = None  # dioptres, Camera Module 3 only

    def __post_init__(self) -> None:
        if not 1 <= self.exposure_us <= 10_000_000:
            raise ValueError(f"exposure_us {self.exposure_us} outside 1..10,000,000")
        if not 1.0 <= self.analogue_gain <= 64.0:
            raise ValueError(f"analogue_gain {self.analogue_gain} outside 1..64")
        if len(self.colour_gains) != 2 or not all(0.0 < g <= 32.0 for g in self.colour_gains):
            raise ValueError(f"colour_gains {self.colour_gains} must be two values in (0, 32]")

    def to_picamera2(self) -> dict[str, Any]:
        """The libcamera control dict picamera2's ``set_controls`` takes."""
        out: dict[str, Any] = {
            "AeEnable": False,
            "AwbEnable": False,
            "ExposureTime": int(self.exposure_us),
            "AnalogueGain": float(self.analogue_gain),
            "ColourGains": (float(self.colour_gains[0]), float(self.colour_gains[1])),
        }
        if self.lens_position is not None:
            out["AfMode"] = 0  # manual: the lens stays where it is put
            out["LensPosition"] = float(self.lens_position)
        return out


@dataclass(frozen=True)
class FrameMetadata:
    """What the sensor reports for one frame (picamera2 metadata names in ``to_picamera2``)."""

    exposure_us: int
    analogue_gain: float
    colour_gains: tuple[float, float]
    lens_position: float | None
    sensor_timestamp_ns: int
    frame_duration_us: int

    @classmethod
    def from_picamera2(cls, md: dict[str, Any]) -> FrameMetadata:
        """Read picamera2's metadata dict; a key that is missing raises CameraError."""
        try:
            gains = md.get("ColourGains") or (1.0, 1.0)
            return cls(
                exposure_us=int(md["ExposureTime"]),
                analogue_gain=float(md["AnalogueGain"]),
                colour_gains=(float(gains[0]), float(gains[1])),
                lens_position=(
                    float(md["LensPosition"]) if md.get("LensPosition") is not None else None
                ),
                sensor_timestamp_ns=int(md["SensorTimestamp"]),
                frame_duration_us=int(md.get("FrameDuration", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CameraError(f"frame metadata incomplete ({exc}); update picamera2") from exc

    def to_picamera2(self) -> dict[str, Any]:
        return {
            "ExposureTime": self.exposure_us,
            "AnalogueGain": self.analogue_gain,
            "ColourGains": self.colour_gains,
            "LensPosition": self.lens_position,
            "SensorTimestamp": self.sensor_timestamp_ns,
            "FrameDuration": self.frame_duration_us,
        }

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["colour_gains"] = list(self.colour_gains)
        return d

    def mismatch(self, requested: Controls) -> dict[str, float]:
        """Relative difference from what was requested, per control (0 = exact)."""

        def rel(a: float, b: float) -> float:
            return abs(a - b) / max(abs(b), 1e-9)

        out = {
            "exposure_us": rel(self.exposure_us, requested.exposure_us),
            "analogue_gain": rel(self.analogue_gain, requested.analogue_gain),
            "colour_gain_red": rel(self.colour_gains[0], requested.colour_gains[0]),
            "colour_gain_blue": rel(self.colour_gains[1], requested.colour_gains[1]),
        }
        if requested.lens_position is not None and self.lens_position is not None:
            out["lens_position"] = rel(self.lens_position, requested.lens_position)
        return out


@dataclass(frozen=True)
class Frame:
    """One captured frame: RGB pixels (h, w, 3) uint8, its metadata, and when it was asked for."""

    array: NDArray[np.uint8]
    metadata: FrameMetadata
    request_ns: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started_after_request(self) -> bool:
        """True when the exposure began after the capture was requested (a fresh frame)."""
        return self.metadata.sensor_timestamp_ns >= self.request_ns


class Camera(Closeable, abc.ABC):
    """A camera the capture protocol can lock, light-synchronise and read."""

    def __init__(self) -> None:
        self._mode: StillMode | None = None
        self._controls: Controls | None = None
        self._closed = False

    @property
    def mode(self) -> StillMode | None:
        return self._mode

    @property
    def controls(self) -> Controls | None:
        return self._controls

    @property
    def closed(self) -> bool:
        return self._closed

    def configure(self, mode: StillMode) -> None:
        """Switch the sensor mode; the locked controls are applied again after the switch."""
        self._check_open()
        self._configure(mode)
        self._mode = mode
        if self._controls is not None:
            self._set_controls(self._controls)

    def set_controls(self, controls: Controls) -> None:
        """Lock every image-affecting control (they take effect a few frames later)."""
        self._check_open()
        self._set_controls(controls)
        self._controls = controls

    def capture(self, *, flush: bool = True, timeout_s: float | None = None) -> Frame:
        """Capture one frame; with ``flush`` only one exposed after this call.

        Raises:
            CameraError: the camera is closed or not configured.
            CameraTimeout: no frame arrived within ``timeout_s``.
        """
        self._check_open()
        if self._mode is None:
            raise CameraError("camera not configured: call configure() first")
        return self._capture(flush=flush, timeout_s=timeout_s)

    def close(self) -> None:
        """Release the camera; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._close()

    def _check_open(self) -> None:
        if self._closed:
            raise CameraError("camera is closed")

    @abc.abstractmethod
    def _configure(self, mode: StillMode) -> None: ...

    @abc.abstractmethod
    def _set_controls(self, controls: Controls) -> None: ...

    @abc.abstractmethod
    def _capture(self, *, flush: bool, timeout_s: float | None) -> Frame: ...

    @abc.abstractmethod
    def _close(self) -> None: ...


class Picamera2Camera(Camera):
    """A real camera through picamera2 (Raspberry Pi OS package python3-picamera2).

    picamera2 is imported here, lazily, so the rest of dermocap runs on any machine.
    Frames are requested as "BGR888", which picamera2 delivers as RGB-ordered arrays.
    """

    def __init__(self, camera_num: int = 0, *, default_timeout_s: float = 5.0) -> None:
        super().__init__()
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise CameraError(
                "picamera2 is not importable: on Raspberry Pi OS install python3-picamera2 "
                "and create the venv with --system-site-packages (see README)"
            ) from exc
        try:
            self._cam: Any = Picamera2(camera_num)
        except (RuntimeError, IndexError) as exc:
            raise CameraError(
                f"camera {camera_num} not found: check the ribbon cable and `rpicam-hello "
                "--list-cameras`"
            ) from exc
        self._default_timeout_s = default_timeout_s

    def _configure(self, mode: StillMode) -> None:
        self._cam.stop()
        make = (
            self._cam.create_still_configuration
            if mode.name == "still"
            else self._cam.create_preview_configuration
        )
        config = make(main={"size": (mode.width, mode.height), "format": "BGR888"}, buffer_count=2)
        self._cam.configure(config)
        self._cam.start()

    def _set_controls(self, controls: Controls) -> None:
        self._cam.set_controls(controls.to_picamera2())

    def _capture(self, *, flush: bool, timeout_s: float | None) -> Frame:
        import time

        timeout = timeout_s if timeout_s is not None else self._default_timeout_s
        request_ns = time.monotonic_ns()
        job = self._cam.capture_request(flush=flush, wait=False)
        try:
            request = self._cam.wait(job, timeout=timeout)
        except TimeoutError as exc:
            raise CameraTimeout(
                f"no frame within {timeout:.1f} s: check the camera cable, then restart the service"
            ) from exc
        try:
            array = np.ascontiguousarray(request.make_array("main")[..., :3])
            metadata = FrameMetadata.from_picamera2(request.get_metadata())
        finally:
            request.release()
        return Frame(array=array, metadata=metadata, request_ns=request_ns)

    def _close(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()
