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
    make_broker,
    sample_record,
    sample_result,
    watching,
)
from paho.mqtt.enums import CallbackAPIVersion

from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig

DEVICE = "rig-01"


def config(b: Broker, **kw: object) -> SyncConfig:
    base: dict[str, object] = {
        "host": b.host,
        "port": b.port,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.3,
        "keepalive_s": 5,
        "will_delay_s": 1,
    }
    return SyncConfig(**(base | kw))


def wait(pred: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


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
            with MqttLink(config(broker), DEVICE, ob) as link:
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
        link = MqttLink(config(broker, inflight_window=16), DEVICE, ob)
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
            with MqttLink(config(b), DEVICE, ob) as link:
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


def test_password_and_acl_refuse_another_devices_topics(tmp_path: Path) -> None:
    import subprocess

    pw = tmp_path / "passwd"
    for user, password in [("rig-01", "s3cret-1"), ("rig-02", "s3cret-2"), ("dash", "d4sh")]:
        subprocess.run(
            [
                "mosquitto_passwd",
                "-b",
                *(["-c"] if not pw.exists() else []),
                str(pw),
                user,
                password,
            ],
            check=True,
        )
    acl = tmp_path / "acl"
    acl.write_text(
        "user dash\ntopic read dermocap/#\ntopic write dermocap/+/+/cmd/#\n"
        "\n"
        "pattern readwrite dermocap/v1/%u/#\n"
    )
    b = make_broker(
        tmp_path / "b",
        listener_conf=f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}",
    )
    creds = {}
    for user, password in [("rig-01", "s3cret-1"), ("rig-02", "s3cret-2"), ("dash", "d4sh")]:
        d = tmp_path / f"creds-{user}"
        d.mkdir()
        (d / "mqtt-username").write_text(user + "\n")
        (d / "mqtt-password").write_text(password + "\n")
        creds[user] = d
    bad = tmp_path / "creds-bad"
    bad.mkdir()
    (bad / "mqtt-username").write_text("rig-01")
    (bad / "mqtt-password").write_text("wrong")

    from sync import load_credentials

    def link_for(dev: str, creds_dir: Path, ob: Outbox, **kw: object) -> MqttLink:
        cfg = config(b, **kw)
        return MqttLink(
            cfg,
            dev,
            ob,
            credentials=load_credentials(cfg, {"CREDENTIALS_DIRECTORY": str(creds_dir)}),
        )

    dash = load_credentials(SyncConfig(), {"CREDENTIALS_DIRECTORY": str(creds["dash"])})
    try:
        with watching(b, credentials=dash) as (w, _):
            with (
                Outbox(tmp_path / "o1.db") as ob1,
                Outbox(tmp_path / "o2.db") as ob2,
                Outbox(tmp_path / "o3.db") as ob3,
            ):
                own = add_results(ob1, 3)
                add_results(ob2, 3)
                add_results(ob3, 1)
                # rig-02's credentials, but writing under rig-01's prefix
                spoof = link_for("rig-02", creds["rig-02"], ob2, topic_prefix="dermocap/v1/rig-01")
                good = link_for("rig-01", creds["rig-01"], ob1)
                wrong = link_for("rig-01b", bad, ob3)
                with good, spoof, wrong:
                    assert w.wait_for(lambda: len(w.device("rig-01").results) == 3, 10)
                    assert wait(lambda: ob2.dead_letter_count() == 3)
                    assert wait(lambda: wrong.stats.refused >= 2)
                    assert not wrong.connected.is_set()
                    reply = w.command("rig-01", "ping", {})
                    assert reply is not None and reply.ok
                assert set(w.device("rig-01").results) == set(own)
                assert {d.reason_code for d in ob2.dead_letters()} == {0x87}
                assert ob3.depth() == 1, "a refused login sends nothing"
    finally:
        b.close()


def test_will_delay_and_session_expiry_are_consistent() -> None:
    with pytest.raises(ValueError, match="will_delay_s"):
        SyncConfig(will_delay_s=100, session_expiry_s=10)
    with pytest.raises(ValueError, match="reconnect_min_s"):
        SyncConfig(reconnect_min_s=10, reconnect_max_s=1)
    with pytest.raises(ValueError, match="extra"):
        SyncConfig.model_validate({"password": "x"})  # secrets never live in the TOML
