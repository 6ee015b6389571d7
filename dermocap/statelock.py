"""One process per state folder: an exclusive ``fcntl`` lock held for the process's life.

``serve``, ``calibrate`` and ``capture`` write captures, sidecars, the calibration and the
outbox under the state folder, and ``serve``'s recovery takes any capture without a result
for crash debris. A second process on the same folder would take the first one's fresh
capture for debris, so it is refused before it touches anything. The kernel drops the lock
when the holder dies (even by SIGKILL), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from dermocap.errors import StateDirBusy, StorageError
from dermocap.resource import Closeable

LOCK_NAME = "dermocap.lock"


class StateDirLock(Closeable):
    """Hold the state folder's lock from construction until :meth:`close` (idempotent).

    The lock file keeps the holder's PID, so the refused process can name it.

    Raises:
        StateDirBusy: another process holds the folder; the message names its PID.
        StorageError: the folder or its lock file cannot be created.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the state lock {self.path}: {exc}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self._fd)
            self._fd = None
            raise StateDirBusy(
                f"the state folder {self.path.parent} is in use by process {holder} (a running "
                "`dermocap serve`, calibrate or capture): stop it first (on a rig: "
                "`sudo systemctl stop dermocap`)",
                pid=int(holder) if holder.isdigit() else None,
            ) from None
        # Not unlinked at close: a process waiting on this inode would lock a deleted file.
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor releases the flock
