"""The production broker recipe (broker/) on a real Mosquitto: TLS, passwords, the ACL.

The shipped ``broker/mosquitto.conf`` and ``broker/acl`` are used as they are; only the
folder of the password, ACL and TLS files and the listener's port are moved into the test.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_fixtures import (
    Broker,
    make_broker,
    make_pki,
    sample_record,
    sample_result,
    wait,
    watching,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dermocap.ids import uuid7
from sync import Credentials, MqttLink, Outbox, SyncConfig

RECIPE = Path(__file__).resolve().parent.parent / "broker"
USERS = {"rig-01": "s3cret-1", "rig-02": "s3cret-2", "dashboard": "d4sh"}

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("mosquitto_passwd") is None,
    reason="needs openssl and mosquitto_passwd (scripts/test.sh installs both)",
)


def recipe_listener_conf(files: Path) -> str:
    """The recipe's settings with its files in ``files``; Broker adds the listener line."""
    lines = []
    for line in (RECIPE / "mosquitto.conf").read_text().splitlines():
        if line.startswith(("listener ", "per_listener_settings ")):
            continue  # Broker writes both, on a free loopback port
        lines.append(line.replace("/etc/mosquitto/dermocap/", f"{files}/"))
    return "\n".join(lines)


@pytest.fixture
def recipe_broker(tmp_path: Path) -> Iterator[tuple[Broker, Path]]:
    files = tmp_path / "etc"
    make_pki(files)
    shutil.copy(RECIPE / "acl", files / "acl")
    for user, password in USERS.items():
        new = [] if (files / "passwd").exists() else ["-c"]
        subprocess.run(
            ["mosquitto_passwd", "-b", *new, str(files / "passwd"), user, password],
            check=True,
        )
    b = make_broker(tmp_path / "b", listener_conf=recipe_listener_conf(files))
    try:
        yield b, files
    finally:
        b.close()


def creds(files: Path, user: str | None, password: str | None = None) -> Credentials:
    password = password if password is not None else USERS.get(user or "")
    return Credentials(username=user, password=password, ca_file=files / "ca.crt", tls=True)


def link(
    b: Broker,
    files: Path,
    ob: Outbox,
    device: str,
    user: str | None,
    *,
    password: str | None = None,
    prefix: str = "dermocap/v1/{device_id}",
) -> MqttLink:
    cfg = SyncConfig(
        host="127.0.0.1",
        port=b.port,
        tls=True,
        topic_prefix=prefix,
        reconnect_min_s=0.05,
        reconnect_max_s=0.3,
    )
    return MqttLink(cfg, device, ob, credentials=creds(files, user, password))


def raw_client(files: Path, user: str, client_id: str) -> mqtt.Client:
    """A paho MQTT v5 client logging in as ``user`` over the recipe's TLS."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, USERS[user])
    c.tls_set(ca_certs=str(files / "ca.crt"))
    return c


def raw_publish(b: Broker, files: Path, user: str, topic: str) -> int:
    """Publish one QoS 1 message as ``user``; the PUBACK reason code."""
    got: list[ReasonCode] = []
    done = threading.Event()
    c = raw_client(files, user, f"raw-{user}")
    c.on_publish = lambda cl, u, mid, rc, p: (got.append(rc), done.set())
    c.connect("127.0.0.1", b.port)
    c.loop_start()
    try:
        c.publish(topic, b"{}", qos=1)
        assert done.wait(10)
    finally:
        c.disconnect()
        c.loop_stop()
    return int(got[0].value)


def test_a_spoofing_rig_is_refused_and_the_real_one_flows(
    recipe_broker: tuple[Broker, Path], tmp_path: Path
) -> None:
    b, files = recipe_broker
    with (
        watching(b, credentials=creds(files, "dashboard")) as (w, _),
        Outbox(tmp_path / "o1.db") as ob1,
        Outbox(tmp_path / "o2.db") as ob2,
    ):
        own = [str(uuid7()) for _ in range(3)]
        for i, capture in enumerate(own):
            ob1.add_capture(capture, sample_record(i), sample_result(i))
        for i in range(3):
            ob2.add_capture(str(uuid7()), sample_record(i), sample_result(i, subject="P00666"))
        # rig-02's credentials, writing under rig-01's prefix
        spoof = link(b, files, ob2, "rig-02", "rig-02", prefix="dermocap/v1/rig-01")
        with link(b, files, ob1, "rig-01", "rig-01") as good, spoof:
            assert w.wait_for(lambda: len(w.device("rig-01").results) == 3, 15)
            assert good.connected.is_set()
            assert w.wait_for(lambda: ob2.dead_letter_count() == 3, 15)
            # the dashboard commands the rig; the rig replies under its own prefix
            reply = w.command("rig-01", "ping", {})
            assert reply is not None and reply.ok
        assert set(w.device("rig-01").results) == set(own)  # not one of the spoofer's
        assert {d.reason_code for d in ob2.dead_letters()} == {0x87}


@pytest.mark.parametrize(("user", "password"), [(None, None), ("rig-01", "wrong"), ("nobody", "x")])
def test_no_anonymous_or_unknown_login(
    recipe_broker: tuple[Broker, Path], tmp_path: Path, user: str | None, password: str | None
) -> None:
    b, files = recipe_broker
    with Outbox(tmp_path / "o.db") as ob:
        ob.add_capture(str(uuid7()), sample_record(), sample_result())
        with link(b, files, ob, "rig-01", user, password=password) as refused:
            assert wait(lambda: refused.stats.refused >= 1)  # CONNACK "not authorized"
            assert not refused.connected.is_set()
        assert ob.depth() == 1  # nothing was sent


def test_plain_mqtt_is_not_served(recipe_broker: tuple[Broker, Path]) -> None:
    b, _ = recipe_broker
    accepted: list[object] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plain", protocol=mqtt.MQTTv5)
    c.username_pw_set("rig-01", USERS["rig-01"])
    c.on_connect = lambda cl, u, f, rc, p: accepted.append(rc)
    c.connect("127.0.0.1", b.port, keepalive=5)
    rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    for _ in range(100):  # the TLS listener drops a plain CONNECT: the loop reports it
        rc = c.loop(0.1)
        if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
            break
    assert rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and accepted == []


@pytest.mark.parametrize(
    ("user", "topic", "allowed"),
    [
        ("dashboard", "dermocap/v1/rig-01/cmd/ping", True),
        ("dashboard", "dermocap/v1/rig-01/results", False),
        ("dashboard", "dermocap/v1/rig-01/status", False),
        ("rig-01", "dermocap/v1/rig-01/results", True),
        ("rig-01", "dermocap/v1/rig-01/cmd/ping", False),
        ("rig-02", "dermocap/v1/rig-01/cmd/ping", False),
        ("rig-02", "dermocap/v1/rig-01/status", False),
        ("rig-02", "dermocap/v1/rig-01/replies/x", False),
    ],
)
def test_the_acl_grants_each_user_only_its_topics(
    recipe_broker: tuple[Broker, Path], user: str, topic: str, allowed: bool
) -> None:
    b, files = recipe_broker
    code = raw_publish(b, files, user, topic)
    assert (code < 0x80) == allowed, hex(code)


def test_the_dashboard_away_gets_more_than_mosquittos_default_queue(
    recipe_broker: tuple[Broker, Path],
) -> None:
    """1,500 results while the dashboard's session is offline: Mosquitto's default queue
    (1,000) would silently drop 500 of them; the recipe's keeps them all."""
    b, files = recipe_broker
    n = 1500
    topic = "dermocap/v1/rig-01/results"

    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = 3600
    subscribed = threading.Event()
    dash = raw_client(files, "dashboard", "dash-queue")
    dash.on_subscribe = lambda *a: subscribed.set()
    dash.connect("127.0.0.1", b.port, clean_start=True, properties=session)
    dash.loop_start()
    dash.subscribe("dermocap/v1/#", qos=1)
    assert subscribed.wait(10)
    dash.disconnect()  # the session, with its subscription, stays on the broker
    dash.loop_stop()

    acked = threading.Semaphore(0)
    rig = raw_client(files, "rig-01", "rig-01-queue")
    rig.on_publish = lambda *a: acked.release()
    rig.connect("127.0.0.1", b.port)
    rig.loop_start()
    try:
        for i in range(n):
            rig.publish(topic, f'{{"i": {i}}}'.encode(), qos=1)
        for _ in range(n):  # every one acknowledged: queued for the dashboard by now
            assert acked.acquire(timeout=30)
    finally:
        rig.disconnect()
        rig.loop_stop()

    got: set[bytes] = set()
    all_in = threading.Event()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        got.add(msg.payload)
        if len(got) == n:
            all_in.set()

    back = raw_client(files, "dashboard", "dash-queue")
    back.on_message = on_message
    back.connect("127.0.0.1", b.port, clean_start=False, properties=session)
    back.loop_start()
    try:
        all_in.wait(60)
    finally:
        back.disconnect()
        back.loop_stop()
    assert len(got) == n
