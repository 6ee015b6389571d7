"""Run ``dermocap serve`` on the twin as a real process and drive it like a technician.

Used by the end-to-end tests and ``scripts/bench_service.py``. The process is started the
way systemd starts it (``NOTIFY_SOCKET`` set, so ``READY=1``, ``WATCHDOG=1``, ``STATUS=``
and ``STOPPING=1`` arrive on a real AF_UNIX datagram socket), pressed through the twin's
hand socket, and stopped with SIGTERM or killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dermocap.errors import SimError
from sim.hand import HAND_SOCKET, hand


def twin_config_toml(
    state_dir: Path,
    *,
    broker_port: int | None,
    device_id: str = "rig-e2e",
    extra: str = "",
    daily_light_check: bool = True,
) -> str:
    """A config for a twin rig whose results go to a broker on 127.0.0.1 (or nowhere).

    ``daily_light_check=False`` for a run that must capture at every press whatever the
    hour: the check's first press after local midnight asks for the reference target
    instead (the twin rig was calibrated the day before)."""
    check = "" if daily_light_check else "[capture.calibration]\ndaily_light_check = false\n\n"
    sync = (
        f'[sync]\nenabled = true\nhost = "127.0.0.1"\nport = {broker_port}\n'
        "reconnect_min_s = 0.2\nreconnect_max_s = 1.0\n"
        if broker_port is not None
        else "[sync]\nenabled = false\n"
    )
    return (
        f'[rig]\nbackend = "twin"\ndevice_id = "{device_id}"\nstate_dir = "{state_dir}"\n\n'
        f"{sync}\n{check}{extra}"
    )


class ServeProcess:
    """One ``dermocap serve`` process; ``notices`` collects what it sent to NOTIFY_SOCKET."""

    def __init__(
        self,
        config: Path,
        state_dir: Path,
        *,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = Path(config)
        self.env = dict(env or {})
        self.state_dir = Path(state_dir)
        self.log = log or self.state_dir.parent / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.notices: list[tuple[float, str]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="dermocap-notify-")
        self._notify_path = os.path.join(self._tmp.name, "notify.sock")
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self.started_at = 0.0

    @property
    def hand_path(self) -> Path:
        return self.state_dir / HAND_SOCKET

    def start(self, *, wait_ready_s: float = 120.0) -> float:
        """Start the process and wait for READY=1; returns seconds from spawn to READY."""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._notify_path)
        self._sock.bind(self._notify_path)
        self._sock.settimeout(0.2)
        self.notices = []
        self._reader = threading.Thread(target=self._read_notices, daemon=True)
        self._reader.start()
        env = {
            **os.environ,
            **self.env,
            "NOTIFY_SOCKET": self._notify_path,
            "WATCHDOG_USEC": "15000000",
        }
        self.started_at = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "device.cli", "--config", str(self.config), "serve"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        if not self.wait_notice("READY=1", wait_ready_s):
            code = self.proc.poll()
            tail = self.log.read_text(errors="replace")[-3000:]
            self.kill()
            raise SimError(f"serve did not become ready (exit {code}):\n{tail}")
        return self.notice_time("READY=1") - self.started_at

    def _read_notices(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                for line in data.decode(errors="replace").splitlines():
                    self.notices.append((time.monotonic(), line))
                self._cond.notify_all()

    def notice_time(self, line: str) -> float:
        with self._cond:
            for t, n in self.notices:
                if n == line:
                    return t
        raise KeyError(line)

    def wait_notice(self, line: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not any(n == line for _, n in self.notices):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc is not None and self.proc.poll() is not None):
                    return any(n == line for _, n in self.notices)
                self._cond.wait(min(left, 0.2))
        return True

    def statuses(self) -> list[str]:
        """Every ``STATUS=`` text the process sent since its start (the service's progress:
        ``state; next subject/visit/site; N results; online``), oldest first."""
        with self._cond:
            return [n[len("STATUS=") :] for _, n in self.notices if n.startswith("STATUS=")]

    def hand(self, request: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
        """One request to the service's twin hand. ``timeout_s`` bounds a hang only: a loaded
        machine (a CI runner beside other jobs) answered ``truth`` after more than 10 s."""
        reply = hand(self.hand_path, request, timeout_s=timeout_s)
        if not reply.get("ok"):
            raise SimError(f"twin hand refused {request}: {reply.get('error')}")
        return reply

    def press(self) -> float:
        """Press the capture button; returns the time.monotonic() of the press."""
        t = time.monotonic()
        self.hand({"do": "press"})
        return t

    def terminate(self, timeout_s: float = 90.0) -> int:
        """SIGTERM, as systemd stops the unit; returns the exit code."""
        assert self.proc is not None  # noqa: S101 - a programming error in the caller
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self._close_sock()

    def kill(self) -> None:
        """SIGKILL: a crash or power loss as far as the files are concerned."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_sock()

    def rss_peak_kb(self, pid: int | None = None) -> int | None:
        """VmHWM (peak resident set) of the running process, or of ``pid``, from /proc."""
        if pid is None:
            if self.proc is None:
                return None
            pid = self.proc.pid
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def child_pids(self) -> list[int]:
        """The running process's children (the twin's sensor process, when it has one)."""
        if self.proc is None:
            return []
        out: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                out += [int(p) for p in (task / "children").read_text().split()]
        return out

    def _close_sock(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._reader is not None:
            self._reader.join(1.0)

    def close(self) -> None:
        self.kill()
        self._tmp.cleanup()
