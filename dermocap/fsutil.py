"""Atomic, durable file writes: temp file, fsync, rename, fsync of the folder.

A reader (or a device that loses power) sees either the old state or the whole
new file, never a part of it. ``never_overwrite`` uses a hard link instead of a
rename so that an existing file is refused instead of replaced.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dermocap.errors import DiskFullError, StorageError

_TMP_PREFIX = ".tmp-"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks). Raises OSError."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk, so a rename inside it survives power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(
    path: Path, data: bytes, *, never_overwrite: bool = False, mode: int = 0o600
) -> None:
    """Write ``data`` to ``path`` atomically and durably, readable by its owner only unless
    ``mode`` says otherwise (model files, which the service user reads, are 0o644).

    Raises:
        DiskFullError: the disk (or quota) is full; no partial file is left.
        FileExistsError: ``never_overwrite`` is set and ``path`` exists.
        StorageError: any other OS error, with the path in the message.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX + path.name + ".", dir=folder)
    tmp = Path(tmp_name)
    try:
        try:
            if mode != 0o600:  # mkstemp's own
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if never_overwrite:
            # link() fails with EEXIST instead of silently replacing the target.
            os.link(tmp, path)
            tmp.unlink()
        else:
            os.replace(tmp, path)
        fsync_dir(folder)
    except FileExistsError:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"disk full while writing {path}: free space on {folder} "
                "or move old captures off the device"
            ) from exc
        raise StorageError(f"could not write {path}: {exc.strerror or exc}") from exc


def atomic_write_text(
    path: Path, text: str, *, never_overwrite: bool = False, mode: int = 0o600
) -> None:
    """Write UTF-8 text atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"), never_overwrite=never_overwrite, mode=mode)


def atomic_write_json(
    path: Path, obj: Any, *, never_overwrite: bool = False, mode: int = 0o600
) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically; see :func:`atomic_write_bytes`."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, never_overwrite=never_overwrite, mode=mode)


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete temp files left by an interrupted atomic write (after a crash).

    Returns the removed paths; only files named with this module's temp prefix
    are touched.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.rglob(_TMP_PREFIX + "*"):
        if p.is_file():
            p.unlink()
            removed.append(p)
    return removed
