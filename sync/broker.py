"""A private Mosquitto broker on a free loopback port: for the demo, the tests, the benchmarks.

``Broker`` writes a mosquitto.conf into its folder, starts ``mosquitto`` (from PATH or
/usr/sbin), waits for the port, and kills it on close. It is not how a clinic runs its
broker (see docs/sync.md); it is how the rig's software is shown and tested against a real
one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from dermocap.resource import Startable


def mosquitto_binary() -> str | None:
    """Path of the mosquitto binary, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").is_file() else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker(Startable):
    """One Mosquitto process; ``restart`` keeps the port, the config and the persistence."""

    def __init__(
        self,
        folder: Path,
        *,
        extra_conf: str = "",
        listener_conf: str = "allow_anonymous true",
        persistence: bool = True,
    ) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.conf = folder / "mosquitto.conf"
        lines = [
            # as root mosquitto drops to user "mosquitto", who cannot read pytest's tmp dirs
            "user root" if os.geteuid() == 0 else "",
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            listener_conf,
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {folder}/",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"log_dest file {folder}/mosquitto.log",
            extra_conf,
        ]
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        if self.proc is not None:
            return
        with (self.folder / "stderr.log").open("ab") as err:
            self.proc = subprocess.Popen(  # noqa: S603 - mosquitto, found by us
                [self.binary, "-c", str(self.conf)], stdout=err, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.folder / "stderr.log").read_text(errors="replace")
                self.proc = None
                raise RuntimeError(f"mosquitto exited at start:\n{log[-2000:]}")
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.port} within {timeout_s}s")

    def stop(self, *, kill: bool = True) -> None:
        """Stop mosquitto: SIGKILL (a crash) by default, SIGTERM (clean, saves state) if not."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, *, kill: bool = True, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s``, start again on the same port."""
        self.stop(kill=kill)
        if down_s:
            time.sleep(down_s)
        self.start()

    def close(self) -> None:
        """Stop the broker (idempotent)."""
        self.stop()
