"""Hostile and confused clients on a real Mosquitto: duplicates, seq reuse, reply topics,
oversized commands, and a second client with the rig's device_id."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    sample_result,
    watching,
)
from paho.mqtt.enums import CallbackAPIVersion

from dermocap.ids import uuid7

PREFIX = "dermocap/v1/rig-01"


def wait(pred: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def raw_client(b: Broker, client_id: str) -> mqtt.Client:
    """A bare MQTT v5 client on its own network thread (close with ``stop``)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect(b.host, b.port)
    c.loop_start()
    return c


def stop(c: mqtt.Client) -> None:
    c.disconnect()
    c.loop_stop()


def result(seq: int, message_id: str | None = None) -> bytes:
    msg = {
        **sample_result(seq),
        "message_id": message_id or str(uuid7()),
        "seq": seq,
        "capture_id": str(uuid7()),
    }
    return json.dumps(msg).encode()


def test_duplicates_are_dropped_by_message_id_and_seq_reuse_is_reported(
    broker: Broker,
) -> None:
    lines: list[str] = []
    with watching(broker, on_line=lines.append) as (w, _):
        a, b = raw_client(broker, "rig-a"), raw_client(broker, "rig-b")
        try:
            first = result(1)
            a.publish(f"{PREFIX}/results", first, qos=1).wait_for_publish(5)
            a.publish(f"{PREFIX}/results", first, qos=1).wait_for_publish(5)  # a resend
            # a second client publishing as rig-01 with the same seq, another message
            b.publish(f"{PREFIX}/results", result(1), qos=1).wait_for_publish(5)
            assert w.wait_for(lambda: w.received == 3, 10)
        finally:
            stop(a)
            stop(b)
        view = w.device("rig-01")
        assert w.duplicates == 1  # the resend only
        assert len(view.results) == 2  # the other publisher's result is kept, not dropped
        assert view.seq_conflicts == 1
    assert any("CONFLICT seq 1" in line for line in lines), lines
