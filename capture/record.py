"""The capture record: one lighting mode of one site capture, and its sidecar on disk.

:class:`CaptureRecord` is the one typed value for a capture. It is built by the capture
protocol (:mod:`capture.session`), stored with its image by :class:`~capture.storage.
CaptureStore`, and read back here only: :meth:`CaptureRecord.read`, :meth:`find`,
:meth:`discard` and the crash-recovery scan :func:`scan_unknown` are the only code that
knows the layout::

    <captures>/<subject>/<site>/<visit>/<capture_id>.<jpg|png>   the kept image
    <captures>/<subject>/<site>/<visit>/<capture_id>.json        its record (sidecar)

The sidecar is the record's JSON (:meth:`CaptureRecord.as_dict`), which is also what the
outbox keeps. Sidecars of earlier versions still read: a field added later has a default
(``site_modes``: a record without it names no modes and counts as a whole site), and keys
this version does not know are kept as they are.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dermocap.errors import StorageError
from dermocap.fsutil import atomic_write_bytes, atomic_write_json, fsync_dir, sha256_file

log = logging.getLogger(__name__)

SCHEMA = "dermocap.capture/1"
SIDECAR_SUFFIX = ".json"
# The file name suffix of each stored image format (CaptureConfig.image_format).
IMAGE_SUFFIXES = {"jpeg": ".jpg", "png": ".png"}


def capture_folder(captures_dir: Path, subject: str, site: str, visit: str) -> Path:
    """The folder of one subject's site at one visit."""
    return captures_dir / subject / site / visit


class _Section(BaseModel):
    # Keys of other versions are kept, so that a record read and written again is unchanged.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class StoredImage(_Section):
    """The kept image's file, as written next to the sidecar."""

    file: str = Field(description="File name in the record's folder")
    format: str = Field(description="'jpeg' or 'png'")
    width: int = Field(ge=1, description="Width in pixels")
    height: int = Field(ge=1, description="Height in pixels")
    size_bytes: int = Field(ge=0, alias="bytes", description="File size")
    sha256: str = Field(description="SHA-256 of the file, lower-case hex")
    jpeg_quality: int | None = Field(None, description="JPEG quality (None for PNG)")
    chroma_subsampling: str | None = Field(None, description="'4:4:4' for JPEG")


class RecordedQC(_Section):
    """The QC report as stored (:meth:`capture.qc.QCReport.as_dict`)."""

    passed: bool = Field(False, description="Every check passed")
    failed: list[str] = Field(default_factory=list, description="Names of the failed checks")
    checks: dict[str, Any] = Field(
        default_factory=dict, description="Per check: value, threshold, op, passed"
    )

    def scores(self) -> dict[str, float]:
        """The measured value of each check that measured a number."""
        out: dict[str, float] = {}
        for name, check in self.checks.items():
            value = check.get("value") if isinstance(check, dict) else None
            if isinstance(value, int | float):
                out[str(name)] = float(value)
        return out


class BurstSummary(_Section):
    """The frames of a lighting mode's burst and which one was kept."""

    frames: int = Field(ge=0, description="Frames taken")
    kept_index: int = Field(ge=0, description="Index of the kept (sharpest) frame")
    sharpness: list[float] = Field(default_factory=list, description="Sharpness per frame")


class CaptureRecord(_Section):
    """One capture: one site of one subject at one visit under one lighting mode.

    Frozen; :meth:`write` returns the stored record (with :attr:`image` filled in).
    """

    schema_: str = Field(SCHEMA, alias="schema", description="Record format")
    capture_id: str = Field(description="UUIDv7 of this capture")
    site_capture_id: str | None = Field(
        None, description="UUIDv7 shared by every lighting mode of one site capture"
    )
    captured_at: str = Field(description="UTC time, ISO 8601 (Z)")
    device_id: str = Field("", description="The rig")
    subject: str = Field(description="Pseudonymous subject id")
    site: str = Field(description="Scalp site label")
    visit: str = Field(description="Visit label")
    lighting_mode: str = Field(description="'cross' or 'parallel'")
    site_modes: tuple[str, ...] = Field(
        (), description="Every lighting mode of the site capture (empty in old records)"
    )
    led_intensity: float | None = Field(None, description="LED ring intensity 0..1")
    controls_requested: dict[str, Any] = Field(default_factory=dict)
    controls_actual: dict[str, Any] = Field(default_factory=dict)
    frames_dropped: int = Field(0, ge=0, description="Stale or mismatched frames dropped")
    z_mm: float | None = Field(None, description="Stage position of the capture")
    autofocus: dict[str, Any] | None = None
    calibration_id: str | None = Field(None, description="Calibration the capture used")
    um_per_px: float = Field(gt=0, description="Calibrated scale of the image")
    flat_field: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    qc: RecordedQC = Field(default_factory=RecordedQC)
    relocation: dict[str, Any] | None = Field(
        None, description="Guidance against the baseline, with its rounds"
    )
    burst: BurstSummary | None = None
    sharpness: float | None = Field(None, description="Sharpness of the kept frame")
    brightness: float | None = Field(None, description="Mean linear brightness 0..1")
    software_version: str | None = None
    model_version: str | None = None
    image: StoredImage | None = Field(None, description="The kept image (once stored)")

    # -- values -------------------------------------------------------------------------
    @property
    def site_id(self) -> str:
        """The site capture this record belongs to (its own id in records that name none)."""
        return self.site_capture_id or self.capture_id

    @property
    def relocation_rounds(self) -> int:
        rounds = (self.relocation or {}).get("rounds", 0)
        return int(rounds) if isinstance(rounds, int | float) else 0

    def as_dict(self) -> dict[str, Any]:
        """The record's JSON: the sidecar's content and what the outbox keeps."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_dict(cls, data: Any) -> CaptureRecord:
        """A record from its JSON (a sidecar's, or an outbox row's).

        Raises:
            StorageError: not a capture record.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise StorageError(f"not a capture record ({problems})") from None

    # -- files --------------------------------------------------------------------------
    def folder(self, captures_dir: Path) -> Path:
        return capture_folder(captures_dir, self.subject, self.site, self.visit)

    def sidecar_path(self, captures_dir: Path) -> Path:
        return self.folder(captures_dir) / f"{self.capture_id}{SIDECAR_SUFFIX}"

    def image_path(self, captures_dir: Path) -> Path:
        """Where the stored image is.

        Raises:
            StorageError: the record was never stored (it names no image).
        """
        if self.image is None:
            raise StorageError(f"capture {self.capture_id} has no stored image")
        return self.folder(captures_dir) / self.image.file

    def write(
        self,
        captures_dir: Path,
        data: bytes,
        image: StoredImage,
    ) -> CaptureRecord:
        """Write the image file (``data``), then the sidecar; return the stored record.

        Both atomic and never overwriting; on any failure nothing of this capture is left.

        Raises:
            DiskFullError: the disk filled up during the write.
            StorageError: any other write failure (a file of this id exists already).
        """
        stored = self.model_copy(update={"image": image})
        image_path = stored.image_path(captures_dir)
        sidecar = stored.sidecar_path(captures_dir)
        try:
            atomic_write_bytes(image_path, data, never_overwrite=True)
        except FileExistsError as exc:
            raise StorageError(f"{image_path} exists already; refusing to overwrite") from exc
        try:
            atomic_write_json(sidecar, stored.as_dict(), never_overwrite=True)
        except BaseException as exc:
            # An image without its record is not a capture: take it back.
            with contextlib.suppress(OSError):
                image_path.unlink()
            if isinstance(exc, FileExistsError):
                raise StorageError(f"{sidecar} exists already; refusing to overwrite") from exc
            raise
        return stored

    @classmethod
    def read(cls, path: Path) -> CaptureRecord:
        """The record in sidecar ``path``.

        Raises:
            StorageError: unreadable, or not a capture record (named, with the reason).
        """
        try:
            data = json.loads(path.read_text())
            return cls.from_dict(data)
        except (OSError, ValueError, StorageError) as exc:
            raise StorageError(f"capture record {path} unreadable ({exc}); left in place") from exc

    @classmethod
    def find(cls, captures_dir: Path, subject: str, site: str) -> list[CaptureRecord]:
        """Every readable stored record of one subject's site, oldest first (by capture id)."""
        out: list[CaptureRecord] = []
        base = captures_dir / subject / site
        if not base.is_dir():
            return out
        for p in sorted(base.glob(f"*/*{SIDECAR_SUFFIX}")):
            with contextlib.suppress(StorageError):
                out.append(cls.read(p))
        out.sort(key=lambda r: r.capture_id)
        return out

    def discard(self, captures_dir: Path) -> None:
        """Remove the stored capture: the sidecar first, so no record is left dangling.

        Raises:
            StorageError: a file could not be removed.
        """
        folder = self.folder(captures_dir)
        try:
            self.sidecar_path(captures_dir).unlink(missing_ok=True)
            if self.image is not None:
                self.image_path(captures_dir).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"capture {self.capture_id} in {folder} not removed: {exc}") from exc
        with contextlib.suppress(OSError):
            fsync_dir(folder)

    def image_intact(self, captures_dir: Path) -> bool:
        """The stored image file exists and has the SHA-256 in the record."""
        if self.image is None:
            return False
        try:
            return sha256_file(self.image_path(captures_dir)) == self.image.sha256
        except OSError:
            return False


def outbox_entries(records: Iterable[CaptureRecord]) -> list[tuple[str, dict[str, Any]]]:
    """``(capture_id, record JSON)`` pairs, as the outbox stores them."""
    return [(r.capture_id, r.as_dict()) for r in records]


@dataclass(frozen=True)
class StoredSite:
    """The stored records of one site capture (every lighting mode found on disk)."""

    records: tuple[CaptureRecord, ...]

    @property
    def missing_modes(self) -> list[str]:
        """Lighting modes the site names but has no readable record of (a half site)."""
        stored = {r.lighting_mode for r in self.records}
        return sorted({m for r in self.records for m in r.site_modes} - stored)

    @property
    def passed(self) -> bool:
        """Every lighting mode passed QC."""
        return all(r.qc.passed for r in self.records)

    def record_of(self, mode: str) -> CaptureRecord | None:
        return next((r for r in self.records if r.lighting_mode == mode), None)


def scan_unknown(captures_dir: Path, known: set[str]) -> list[StoredSite]:
    """The recovery scan: stored captures whose ids are not in ``known``, by site capture.

    An image without its sidecar (a write cut between the two renames) was never a capture:
    it is removed. A sidecar that cannot be read is logged and left in place.
    """
    unknown: list[Path] = []
    suffixes = set(IMAGE_SUFFIXES.values())
    for folder, _dirs, files in os.walk(captures_dir):
        names = set(files)
        for name in files:
            stem, ext = os.path.splitext(name)
            path = Path(folder) / name
            if ext == SIDECAR_SUFFIX:
                if stem not in known:
                    unknown.append(path)
            elif ext in suffixes and f"{stem}{SIDECAR_SUFFIX}" not in names:
                log.warning("removing %s: an image without its record (a cut write)", path)
                with contextlib.suppress(OSError):
                    path.unlink()
    groups: dict[str, list[CaptureRecord]] = {}
    for path in sorted(unknown):
        try:
            rec = CaptureRecord.read(path)
        except StorageError as exc:
            log.error("%s", exc)
            continue
        groups.setdefault(rec.site_id, []).append(rec)
    return [StoredSite(tuple(recs)) for recs in groups.values()]
