"""systemd's sd_notify protocol (READY=1, WATCHDOG=1, STATUS=, STOPPING=1) without libsystemd.

The socket comes from ``$NOTIFY_SOCKET`` as given to the constructor (read by the
service's wiring, never at import). Without one every call is a no-op, so the same
service runs from a terminal, in tests and under systemd.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify datagrams; thread-safe and quiet when not under systemd."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        addr = environ.get("NOTIFY_SOCKET", "")
        self._addr: str | None = None
        if addr:
            # A leading '@' names a socket in the abstract namespace.
            self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        self.watchdog_usec = int(environ.get("WATCHDOG_USEC", "0") or 0)
        self.sent: list[str] = []  # what was sent, for the service's own status and tests

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Half the watchdog timeout systemd set, or None when there is no watchdog."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec > 0 else None

    def notify(self, message: str) -> bool:
        """Send one message; returns False (and logs) when it could not be sent."""
        self.sent.append(message)
        if self._addr is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self._addr)
                s.sendall(message.encode("utf-8"))
        except OSError as exc:
            log.warning("sd_notify %r failed: %s", message.split("\n")[0], exc)
            return False
        return True

    def ready(self, status: str) -> None:
        self.notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
