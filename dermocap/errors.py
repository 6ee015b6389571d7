"""The one exception tree of dermocap.

Every error the software raises on purpose derives from :class:`DermocapError`
and also from the builtin it resembles, so callers may catch either::

    DermocapError (Exception)
    ├── ConfigError (ValueError)            a config file or value is invalid
    │   └── SiteKeyError                    a subject, site or visit id breaks the rule
    ├── HardwareError (RuntimeError)        a GPIO device misbehaved
    │   ├── StageError                      Z stage: not homed, limit, timeout
    │   │   └── EmergencyStop               motion aborted by the emergency stop
    │   └── PinConfigError (ValueError)     pins clash or do not exist
    ├── CameraError (RuntimeError)          camera missing or failing
    │   └── CameraTimeout (TimeoutError)    no frame in time
    ├── CaptureError (RuntimeError)         the capture protocol could not finish
    │   ├── QualityCheckFailed              the kept frame failed QC; retake
    │   └── TechnicianTimeout (TimeoutError) nobody placed the target or subject in time
    ├── StorageError (OSError)              a file could not be written safely
    │   └── DiskFullError                   the disk budget or the disk is full
    ├── StateDirBusy (RuntimeError)         another process holds the state folder
    ├── SimError (RuntimeError)             the digital twin was misused
    │   └── PhantomError (ValueError)       a phantom image or truth file is bad
    ├── ModelError (RuntimeError)           a model file is missing, corrupt or wrong
    │   └── ImageError (ValueError)         an input image is missing or unreadable
    └── SyncError (RuntimeError)            MQTT or outbox trouble
        └── CommandError (ValueError)       a dashboard command was malformed

Messages say what went wrong and what to do next.
"""

from __future__ import annotations

from typing import Any


class DermocapError(Exception):
    """Base of every error dermocap raises on purpose."""


class ConfigError(DermocapError, ValueError):
    """A configuration file or value is invalid.

    ``errors`` holds one ``(key_path, message)`` pair per problem, so a CLI can
    print them all at once.
    """

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[tuple[str, str]] = errors or []


class SiteKeyError(ConfigError):
    """A subject, site or visit id breaks the one rule (dermocap/sitekey.py): e.g. a name."""


class HardwareError(DermocapError, RuntimeError):
    """A GPIO device could not do what it was asked."""


class PinConfigError(HardwareError, ValueError):
    """Pins clash with each other or do not exist on this board."""


class StageError(HardwareError):
    """The Z stage cannot move as asked (not homed, outside soft limits, no home found)."""


class EmergencyStop(StageError):
    """Motion was aborted by the emergency stop; home the stage again before moving."""


class CameraError(DermocapError, RuntimeError):
    """The camera is missing, busy or failing."""


class CameraTimeout(CameraError, TimeoutError):
    """No frame arrived in time."""


class CaptureError(DermocapError, RuntimeError):
    """The capture protocol could not finish."""


class QualityCheckFailed(CaptureError):
    """The kept frame failed a quality check; the technician should retake.

    ``records`` are ``(capture_id, record)`` of the stored captures that failed, so the
    caller can keep their QC reports with the rest of the rig's records.
    """

    def __init__(self, message: str, records: list[tuple[str, dict[str, Any]]] | None = None):
        super().__init__(message)
        self.records: list[tuple[str, dict[str, Any]]] = records or []


class TargetNotFound(CaptureError):
    """The reference target is not under the cone (its grey patch is not where it should be,
    uneven, or not grey)."""


class TechnicianTimeout(CaptureError, TimeoutError):
    """Nobody confirmed placing the reference target or the subject within the wait."""


class StorageError(DermocapError, OSError):
    """A file could not be written safely."""


class DiskFullError(StorageError):
    """No room left under the disk budget, or on the disk itself."""


class StateDirBusy(DermocapError, RuntimeError):
    """Another process (``pid``, when known) holds the state folder's lock."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class SimError(DermocapError, RuntimeError):
    """The digital twin was asked for something it cannot do."""


class PhantomError(SimError, ValueError):
    """A phantom image or its ground-truth file is missing or malformed."""


class ModelError(DermocapError, RuntimeError):
    """A model file is missing, corrupt, or does not match its checksum."""


class ImageError(ModelError, ValueError):
    """An input image is missing, unreadable or of an unusable shape."""


class SyncError(DermocapError, RuntimeError):
    """MQTT connection or outbox trouble."""


class CommandError(SyncError, ValueError):
    """A dashboard command was malformed or not allowed."""
