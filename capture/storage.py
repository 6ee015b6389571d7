"""Safe storage of captures: image + JSON sidecar, atomic, durable, never overwritten.

Layout under the state folder::

    captures/...                                 the capture records and their images
                                                 (layout: :mod:`capture.record`)
    calibration/<calibration_id>.json, calibration/current.json

A capture is refused (:class:`DiskFullError`, nothing written) when the disk has less than
``min_free_mb`` free or the captures already take ``disk_budget_mb``; a disk that fills up
during the write leaves no partial file either (see :mod:`dermocap.fsutil`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from capture.config import CaptureConfig
from capture.record import IMAGE_SUFFIXES, CaptureRecord, StoredImage, capture_folder
from dermocap.errors import DiskFullError, StorageError
from dermocap.fsutil import atomic_write_json, remove_stale_temp_files

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]


def encode_image(
    img: U8, fmt: str, *, jpeg_quality: int = 95, jpeg_optimize: bool = False
) -> bytes:
    """Encode an RGB frame: JPEG without chroma subsampling (4:4:4), or lossless PNG.

    Huffman optimisation (``jpeg_optimize``) makes a rig frame's file ~5 % smaller and its
    encoding ~1.8x slower (48 against 27 ms for 2028x1520 at quality 95 on an x86 core).
    """
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(img), "RGB")
    if fmt == "jpeg" and not jpeg_optimize:
        im.save(buf, format="JPEG", quality=jpeg_quality, subsampling=0)
    elif fmt == "jpeg":
        try:
            im.save(buf, format="JPEG", quality=jpeg_quality, subsampling=0, optimize=True)
        except OSError:
            # Huffman optimisation needs the whole file in one buffer, which Pillow sizes at
            # 2 bytes a pixel; a very noisy frame (high gain) at quality >= 95 is larger and
            # fails ("broken data stream"). The plain encoder streams: same pixels, a bigger file.
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=jpeg_quality, subsampling=0)
    elif fmt == "png":
        im.save(buf, format="PNG", compress_level=6)
    else:
        raise ValueError(f"unknown image format {fmt!r}: use 'jpeg' or 'png'")
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tree_size_bytes(folder: Path) -> int:
    total = 0
    if not folder.is_dir():
        return 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(dirpath, name)).st_size
    return total


class CaptureStore:
    """Writes captures and calibration records under ``root`` (the state folder).

    Thread-safe in the sense that every write is atomic and never overwrites: two writers
    of one capture id cannot both succeed.
    """

    def __init__(self, root: Path, cfg: CaptureConfig) -> None:
        self.root = Path(root)
        self.cfg = cfg
        self.captures_dir = self.root / "captures"
        self.calibration_dir = self.root / "calibration"
        self._used: int | None = None  # bytes under captures/, see _used_bytes
        self._used_lock = threading.Lock()
        for folder in (self.captures_dir, self.calibration_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create {folder}: {exc.strerror or exc}; check rig.state_dir"
                ) from exc
            removed = remove_stale_temp_files(folder)
            if removed:
                log.warning("removed %d partial file(s) left by an interrupted write", len(removed))

    # -- captures -----------------------------------------------------------------------------
    def check_space(self, needed_bytes: int = 0) -> None:
        """Raise DiskFullError when a capture of ``needed_bytes`` would not fit."""
        try:
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            raise StorageError(f"cannot read free space of {self.root}: {exc}") from exc
        if free - needed_bytes < self.cfg.min_free_mb * 1_000_000:
            raise DiskFullError(
                f"only {free / 1e6:.0f} MB free on {self.root} (need {self.cfg.min_free_mb} MB "
                "spare): sync and move old captures off the device, then retake"
            )
        budget = self.cfg.disk_budget_mb * 1_000_000
        used = self._used_bytes()
        if used + needed_bytes > budget:
            # The running total only grows between walks (files removed behind its back are
            # still counted): walk the tree again before refusing.
            used = self._used_bytes(rescan=True)
        if used + needed_bytes > budget:
            raise DiskFullError(
                f"captures use {used / 1e6:.0f} MB of the {self.cfg.disk_budget_mb} MB budget: "
                "sync and move old captures off the device, then retake"
            )

    def _used_bytes(self, *, rescan: bool = False) -> int:
        # A walk of every stored capture costs a stat per file, so it is made once and then
        # kept up to date by write_capture (a rig holds thousands of files after a year).
        with self._used_lock:
            if rescan or self._used is None:
                self._used = _tree_size_bytes(self.captures_dir)
            return self._used

    def _count_written(self, nbytes: int) -> None:
        with self._used_lock:
            if self._used is not None:
                self._used += nbytes

    def folder_for(self, subject: str, site: str, visit: str) -> Path:
        return capture_folder(self.captures_dir, subject, site, visit)

    def encode(self, image: U8) -> bytes:
        """The image file's bytes in the configured format (CPU only: safe on any thread)."""
        return encode_image(
            image,
            self.cfg.image_format,
            jpeg_quality=self.cfg.jpeg_quality,
            jpeg_optimize=self.cfg.jpeg_optimize,
        )

    def write_capture(
        self, record: CaptureRecord, image: U8, *, data: bytes | None = None
    ) -> CaptureRecord:
        """Write the image, then its sidecar; return the stored record (its ``image`` set:
        file, size, SHA-256).

        ``data`` is :meth:`encode` of ``image`` when the caller encoded it already (on another
        thread, while the camera took the next frames).
        On any failure nothing of this capture is left.

        Raises:
            DiskFullError: not enough room (checked before, or the disk filled up during).
            StorageError: any other write failure; FileExistsError never happens for a
                fresh UUIDv7 id and is reported as StorageError if it does.
        """
        fmt = self.cfg.image_format
        if data is None:
            data = self.encode(image)
        self.check_space(len(data) + 64_000)
        jpeg = fmt == "jpeg"
        stored = record.write(
            self.captures_dir,
            data,
            StoredImage(
                file=f"{record.capture_id}{IMAGE_SUFFIXES[fmt]}",
                format=fmt,
                width=int(image.shape[1]),
                height=int(image.shape[0]),
                size_bytes=len(data),
                sha256=sha256_hex(data),
                jpeg_quality=self.cfg.jpeg_quality if jpeg else None,
                chroma_subsampling="4:4:4" if jpeg else None,
            ),
        )
        self._count_written(len(data) + _size(stored.sidecar_path(self.captures_dir)))
        log.info("stored capture %s (%s)", stored.capture_id, stored.folder(self.captures_dir))
        return stored

    def find_captures(self, subject: str, site: str) -> list[CaptureRecord]:
        """Every stored record of one subject's site, oldest first (by capture id)."""
        return CaptureRecord.find(self.captures_dir, subject, site)

    # -- calibration ------------------------------------------------------------------------
    def write_calibration(self, record: dict[str, Any]) -> Path:
        """Store a calibration record and make it the current one."""
        path = self.calibration_dir / f"{record['calibration_id']}.json"
        atomic_write_json(path, record, never_overwrite=True)
        atomic_write_json(
            self.calibration_dir / "current.json", {"calibration_id": record["calibration_id"]}
        )
        return path

    def read_calibration(self, calibration_id: str | None = None) -> dict[str, Any] | None:
        """A stored calibration record (the current one by default), or None if there is none."""
        try:
            if calibration_id is None:
                ptr = json.loads((self.calibration_dir / "current.json").read_text())
                calibration_id = str(ptr["calibration_id"])
            data = json.loads((self.calibration_dir / f"{calibration_id}.json").read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            raise StorageError(
                f"calibration record unreadable ({exc}): run `dermocap calibrate` again"
            ) from exc
        if not isinstance(data, dict):
            raise StorageError("calibration record is not a JSON object: recalibrate")
        return data
