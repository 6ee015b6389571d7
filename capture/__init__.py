"""capture: the reproducible capture protocol (lock, calibrate, focus, light, burst, QC, store).

The service calls :class:`CaptureSession`; everything it returns is plain data (record
dicts ready for the outbox), and nothing here touches a database. The science lives in
:mod:`capture.metrics`, :mod:`capture.registration` and :mod:`capture.qc` as numpy functions.
"""

from capture.autofocus import FocusResult
from capture.calibration import Calibration, DriftReport
from capture.camera import Camera, Controls, Frame, FrameMetadata, StillMode
from capture.hardware import Lights, Stage
from capture.locked import LockedCamera
from capture.qc import QCReport
from capture.record import CaptureRecord
from capture.relocation import Guidance
from capture.session import CaptureResult, CaptureSession, SiteResult

__all__ = [
    "Calibration",
    "Camera",
    "CaptureRecord",
    "CaptureResult",
    "CaptureSession",
    "Controls",
    "DriftReport",
    "FocusResult",
    "Frame",
    "FrameMetadata",
    "Guidance",
    "Lights",
    "LockedCamera",
    "QCReport",
    "SiteResult",
    "Stage",
    "StillMode",
]
