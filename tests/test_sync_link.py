"""The MQTT link against a real Mosquitto: flow, broker crashes, refusals, dead letters."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    link_config,
    make_broker,
    sample_record,
    sample_result,
    wait,
    watching,
)
from paho.mqtt.enums import CallbackAPIVersion

from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig

DEVICE = "rig-01"


def add_results(ob: Outbox, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        capture = str(uuid7())
        ob.add_capture(capture, sample_record(i), sample_result(i))
        ids.append(capture)
    return ids


def test_results_flow_with_ids_in_payload_and_user_properties(
    broker: Broker, tmp_path: Path
) -> None:
    seen: list[tuple[dict[str, object], dict[str, str]]] = []
    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw", protocol=mqtt.MQTTv5)
    raw.on_message = lambda c, u, m: seen.append(
        (json.loads(m.payload), dict(getattr(m.properties, "UserProperty", [])))
    )
    raw.connect(broker.host, broker.port)
    raw.subscribe(f"dermocap/v1/{DEVICE}/results", 1)
    raw.loop_start()
    try:
        with watching(broker) as (w, check), Outbox(tmp_path / "o.db") as ob:
            time.sleep(0.2)
            ids = add_results(ob, 40)
            with MqttLink(link_config(broker), DEVICE, ob) as link:
                assert w.wait_for(lambda: len(w.device(DEVICE).results) == 40, 10)
                assert wait(link.drained)
                assert w.wait_for(lambda: w.device(DEVICE).telemetry is not None, 5)
            assert set(w.device(DEVICE).results) == set(ids)
            assert ob.depth() == 0 and link.stats.acked == 40
            assert w.wait_for(lambda: getattr(w.device(DEVICE).status, "state", "") == "stopped", 5)
            assert check.checked >= 42
        assert wait(lambda: len(seen) == 40, 5)
        for payload, props in seen:
            assert props["message_id"] == payload["message_id"]
            assert props["seq"] == str(payload["seq"])
    finally:
        raw.loop_stop()
        raw.disconnect()


def test_broker_killed_again_and_again_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    total = 300
    with watching(broker) as (w, _), Outbox(tmp_path / "o.db") as ob:
        link = MqttLink(link_config(broker, inflight_window=16), DEVICE, ob)
        link.start()
        ids: list[str] = []

        def produce() -> None:
            for k in range(0, total, 10):
                ids.extend(add_results(ob, 10, k))
                link.notify()
                time.sleep(0.02)

        producer = threading.Thread(target=produce)
        producer.start()
        for _ in range(5):
            time.sleep(0.25)
            broker.restart(kill=True, down_s=0.1)
        producer.join()
        try:
            assert wait(link.drained, 20), f"outbox not drained: {ob.depth()} left"
            view = w.device(DEVICE)
            w.wait_for(lambda: len(view.results) == total, 5)
            assert w.heal(DEVICE, timeout_s=20), f"gaps left: {sorted(view.missing)[:10]}"
            assert w.wait_for(lambda: len(view.results) == total, 10)
        finally:
            link.close()
        assert set(view.results) == set(ids)
        assert link.stats.disconnects >= 5
        assert ob.dead_letter_count() == 0


def test_oversize_and_acl_denied_are_dead_lettered_while_results_flow(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text(
        "topic read dermocap/#\n"
        f"topic write dermocap/v1/{DEVICE}/results\n"
        f"topic write dermocap/v1/{DEVICE}/status\n"
        f"topic write dermocap/v1/{DEVICE}/telemetry\n"
        f"topic write dermocap/v1/{DEVICE}/cmd/#\n"
    )
    b = make_broker(tmp_path / "b", extra_conf=f"acl_file {acl}\nmax_packet_size 4096")
    try:
        with watching(b) as (w, _), Outbox(tmp_path / "o.db") as ob:
            big = {
                "at": "2025-01-01T00:00:00Z",
                "type": "note",
                "data": {f"k{i}": "x" * 200 for i in range(30)},
            }
            ob.enqueue("events", big)  # seq 1: over 4096 bytes
            ids = add_results(ob, 5)  # seq 2-6
            ob.enqueue("events", {"at": "2025-01-01T00:00:00Z", "type": "retake"})  # 7: denied
            ids += add_results(ob, 5, 5)  # seq 8-12
            with MqttLink(link_config(b), DEVICE, ob) as link:
                assert w.wait_for(lambda: len(w.device(DEVICE).results) == 10, 10)
                assert wait(link.drained)
                assert link.stats.max_packet_size == 4096
            dead = {d.seq: d for d in ob.dead_letters()}
            assert set(dead) == {1, 7}
            assert dead[1].reason_code == 0x95 and "4096" in dead[1].reason
            assert dead[7].reason_code == 0x87, dead[7].reason  # Not authorized
            assert set(w.device(DEVICE).results) == set(ids)
    finally:
        b.close()


def test_will_delay_and_session_expiry_are_consistent() -> None:
    with pytest.raises(ValueError, match="will_delay_s"):
        SyncConfig(will_delay_s=100, session_expiry_s=10)
    with pytest.raises(ValueError, match="reconnect_min_s"):
        SyncConfig(reconnect_min_s=10, reconnect_max_s=1)
    with pytest.raises(ValueError, match="extra"):
        SyncConfig.model_validate({"password": "x"})  # secrets never live in the TOML
