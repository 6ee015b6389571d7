"""A real Mosquitto broker on a free loopback port, for the sync tests and the benchmark.

``Broker`` writes a mosquitto.conf for the test, starts ``mosquitto`` (from PATH or
/usr/sbin), waits for the port and kills it after. The ``broker`` fixture skips with a
clear reason only when the binary is absent (scripts/test.sh installs it).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from dashboard.watch import Watcher
from sim.messages import SAMPLE_MODEL_SHA256 as MODEL_SHA
from sim.messages import sample_record, sample_result
from sync.asyncapi import DOCUMENT_PATH, message_schema
from sync.broker import Broker, free_port, mosquitto_binary
from sync.config import SyncConfig

__all__ = [
    "MODEL_SHA",
    "Broker",
    "free_port",
    "link_config",
    "make_broker",
    "make_pki",
    "mosquitto_binary",
    "sample_record",
    "sample_result",
    "wait",
    "watching",
]


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


def link_config(b: Broker, **kw: object) -> SyncConfig:
    """A SyncConfig for ``b`` that reconnects fast (tests wait on reconnects)."""
    base: dict[str, object] = {
        "host": b.host,
        "port": b.port,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.3,
        "keepalive_s": 5,
        "will_delay_s": 1,
    }
    return SyncConfig(**(base | kw))  # type: ignore[arg-type]


def wait(pred: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``pred`` until it holds (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """A test CA, a server certificate for 127.0.0.1 and a client one (CN rig-01), in ``d``."""
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in [("server", "127.0.0.1"), ("client", "rig-01")]:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)  # fmt: skip
        ext = ["-extfile", "san.ext"] if name == "server" else []
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *ext, cwd=d)  # fmt: skip


# -- sample messages and a schema-checking dashboard -------------------------------------


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
    """A started dashboard.watch.Watcher whose every message is schema-checked at the end."""
    check = SchemaCheck()
    kwargs.setdefault("from_seq", 1)
    also = kwargs.pop("on_raw", None)

    def on_raw(topic: str, payload: bytes) -> None:
        check(topic, payload)
        if callable(also):
            also(topic, payload)

    w = Watcher(b.host, b.port, on_raw=on_raw, **kwargs)  # type: ignore[arg-type]
    w.start()
    try:
        yield w, check
    finally:
        w.close()
    assert not check.errors, check.errors[:5]
