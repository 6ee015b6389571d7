"""A real Mosquitto broker on a free loopback port, for the sync tests and the benchmark.

``Broker`` writes a mosquitto.conf for the test, starts ``mosquitto`` (from PATH or
/usr/sbin), waits for the port and kills it after. The ``broker`` fixture skips with a
clear reason only when the binary is absent (scripts/test.sh installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from dermocap.resource import Startable
from sync.asyncapi import DOCUMENT_PATH, message_schema
from sync.watch import Watcher


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
            self.proc = subprocess.Popen(
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


def make_broker(folder: Path, **kwargs: object) -> Broker:
    """A started Broker, or a pytest skip when mosquitto is absent."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed; scripts/test.sh installs it (apt mosquitto)")
    b = Broker(folder, **kwargs)  # type: ignore[arg-type]
    b.start()
    return b


@pytest.fixture(name="broker")
def broker_fixture(tmp_path: Path) -> Iterator[Broker]:
    """An anonymous Mosquitto with persistence, killed after the test."""
    b = make_broker(tmp_path / "broker")
    try:
        yield b
    finally:
        b.close()


# -- sample messages and a schema-checking dashboard -------------------------------------

MODEL_SHA = "0" * 64


def sample_result(i: int = 0, *, subject: str = "P00042") -> dict[str, object]:
    """A valid result payload (without message_id, seq and capture_id)."""
    return {
        "subject": subject,
        "site": ["frontal", "vertex", "occipital"][i % 3],
        "visit": "baseline",
        "captured_at": "2025-01-02T03:04:05+00:00",
        "lighting": "cross",
        "metrics": {"density_per_cm2": 150.0 + i % 50, "hair_count": 120 + i % 40},
        "qc": {"passed": True, "scores": {"focus": 0.9}},
        "um_per_px": 3.2,
        "calibration_id": "cal-1",
        "model": {"name": "hairnet", "version": "1.0", "sha256": MODEL_SHA},
    }


def sample_record(i: int = 0) -> dict[str, object]:
    """A stand-in capture record (the capture package owns the real one)."""
    return {"index": i, "frames": 5, "kept": 2}


class SchemaCheck:
    """Validates every payload a watcher receives against sync/asyncapi.yaml."""

    def __init__(self) -> None:
        doc = yaml.safe_load(DOCUMENT_PATH.read_text())
        self._by_suffix: dict[str, jsonschema.Draft202012Validator] = {}
        for key, channel in doc["channels"].items():
            schema = message_schema(doc, key)
            validator = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            address = channel["address"]
            suffix = "reply" if address is None else address.split("{device_id}/", 1)[1]
            self._by_suffix[suffix] = validator
        self.checked = 0
        self.errors: list[str] = []

    def __call__(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        suffix = "reply" if parts[3:4] == ["replies"] else "/".join(parts[3:])
        if suffix.startswith("cmd/"):
            return  # commands come from the tests themselves, some malformed on purpose
        validator = self._by_suffix.get(suffix)
        if validator is None:
            self.errors.append(f"{topic}: no channel in the contract")
            return
        self.checked += 1
        for err in validator.iter_errors(json.loads(payload)):
            self.errors.append(f"{topic}: {err.message}")


@contextlib.contextmanager
def watching(b: Broker, **kwargs: object) -> Iterator[tuple[Watcher, SchemaCheck]]:
    """A started sync.watch.Watcher whose every message is schema-checked at the end."""
    check = SchemaCheck()
    kwargs.setdefault("from_seq", 1)
    w = Watcher(b.host, b.port, on_raw=check, **kwargs)  # type: ignore[arg-type]
    w.start()
    try:
        yield w, check
    finally:
        w.close()
    assert not check.errors, check.errors[:5]
