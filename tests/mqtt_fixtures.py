"""A real Mosquitto broker on a free loopback port, for the sync tests and the benchmark.

``Broker`` writes a mosquitto.conf for the test, starts ``mosquitto`` (from PATH or
/usr/sbin), waits for the port and kills it after. The ``broker`` fixture skips with a
clear reason only when the binary is absent (scripts/test.sh installs it).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from dashboard.watch import Watcher
from sim.messages import SAMPLE_MODEL_SHA256 as MODEL_SHA
from sim.messages import sample_record, sample_result
from sync.asyncapi import DOCUMENT_PATH, message_schema
from sync.broker import Broker, free_port, mosquitto_binary

__all__ = [
    "MODEL_SHA",
    "Broker",
    "free_port",
    "make_broker",
    "mosquitto_binary",
    "sample_record",
    "sample_result",
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
