"""Hostile and confused clients on a real Mosquitto: duplicates, seq reuse, reply topics,
oversized commands, and a second client with the rig's device_id."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    link_config,
    sample_result,
    wait,
    watching,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dermocap.errors import StorageError
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig
from sync.trust import installation_id

PREFIX = "dermocap/v1/rig-01"


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


class Seen:
    """Every (topic, payload) a raw subscriber to ``dermocap/#`` receives."""

    def __init__(self, b: Broker) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="seen", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.connect(b.host, b.port)
        self.client.subscribe("dermocap/#", 1)
        self.client.loop_start()

    def on(self, topic: str) -> list[dict[str, object]]:
        return [json.loads(p) for t, p in list(self.messages) if t == topic]


@pytest.mark.parametrize(
    "response_topic",
    [
        f"{PREFIX}/results",
        f"{PREFIX}/status",
        "dermocap/v1/rig-02/cmd/worklist",
        f"{PREFIX}/repliesX",
        f"{PREFIX}/replies/a//b",
    ],
)
def test_a_reply_goes_only_under_the_rigs_own_replies(
    broker: Broker, tmp_path: Path, response_topic: str
) -> None:
    acted: list[object] = []
    seen = Seen(broker)
    with Outbox(tmp_path / "o.db") as ob, MqttLink(link_config(broker), "rig-01", ob) as link:
        link.on_command("worklist", lambda cmd: acted.append(cmd) or {})
        assert link.connected.wait(10)
        assert wait(lambda: len(seen.on(f"{PREFIX}/status")) >= 1)
        dash = raw_client(broker, "dash")
        try:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = response_topic
            props.CorrelationData = b"c1"
            body = {"subject": "P00042", "visit": "baseline", "sites": ["vertex"]}
            dash.publish(f"{PREFIX}/cmd/worklist", json.dumps(body), 1, properties=props)
            assert wait(lambda: len(seen.on(f"{PREFIX}/replies")) == 1)
            (reply,) = seen.on(f"{PREFIX}/replies")
            assert reply["ok"] is False and "ResponseTopic" in str(reply["error"])
            # the same command with a proper reply topic is acted on: the rig is not broken
            props.ResponseTopic = f"{PREFIX}/replies/dash"
            dash.publish(f"{PREFIX}/cmd/worklist", json.dumps(body), 1, properties=props)
            assert wait(lambda: len(seen.on(f"{PREFIX}/replies/dash")) == 1)
        finally:
            stop(dash)
    stop(seen.client)
    assert len(acted) == 1
    statuses = seen.on(f"{PREFIX}/status")
    assert all("ok" not in s for s in statuses)  # no reply was published as a status
    assert seen.on(f"{PREFIX}/results") == []
    assert seen.on("dermocap/v1/rig-02/cmd/worklist") == []
    assert seen.on(f"{PREFIX}/repliesX") == []


def test_an_oversized_command_never_reaches_the_rig(broker: Broker, tmp_path: Path) -> None:
    seen = Seen(broker)
    with Outbox(tmp_path / "o.db") as ob, MqttLink(link_config(broker), "rig-01", ob) as link:
        assert link.connected.wait(10)
        assert wait(lambda: len(seen.on(f"{PREFIX}/status")) >= 1)
        dash = raw_client(broker, "dash")
        try:
            big = b'{"note": "' + b"x" * (4 << 20) + b'"}'  # 4 MiB: the broker must drop it
            dash.publish(f"{PREFIX}/cmd/ping", big, 1).wait_for_publish(10)
            dash.publish(f"{PREFIX}/cmd/ping", b"{}", 1).wait_for_publish(10)
            assert wait(lambda: len(seen.on(f"{PREFIX}/replies")) == 1)
        finally:
            stop(dash)
        assert link.stats.commands == 1  # only the small one was delivered and read
        assert link.connected.is_set() and link.stats.disconnects == 0
    stop(seen.client)
    (reply,) = seen.on(f"{PREFIX}/replies")
    assert reply["ok"] is True


def retained_status(b: Broker, state: str, installation: str) -> None:
    """Leave a retained status of ``installation`` on rig-01's status topic."""
    c = raw_client(b, "old-self")
    msg = {
        "message_id": str(uuid7()),
        "state": state,
        "since": "2026-01-01T00:00:00+00:00",
        "software": "0",
        "installation": installation,
    }
    c.publish(f"{PREFIX}/status", json.dumps(msg), 1, retain=True).wait_for_publish(5)
    stop(c)


def test_a_restart_of_the_same_rig_is_no_conflict(broker: Broker, tmp_path: Path) -> None:
    # a crash left this installation's "online" retained: the restarted rig is the same rig
    retained_status(broker, "online", installation_id(tmp_path))
    seen = Seen(broker)
    with Outbox(tmp_path / "o.db") as ob, MqttLink(link_config(broker), "rig-01", ob) as link:
        assert link.connected.wait(10)
        # its own "online" has come back through the broker: every status was checked
        assert wait(lambda: len(seen.on(f"{PREFIX}/status")) >= 2)
        assert link.fault is None and link.stats.connects == 1
    stop(seen.client)


def test_a_second_rig_with_the_same_device_id_stops_both_without_a_storm(
    broker: Broker, tmp_path: Path
) -> None:
    lines: list[str] = []
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        watching(broker, on_line=lines.append) as (w, _),  # every status checked by the contract
        Outbox(tmp_path / "a" / "o.db") as oa,
        Outbox(tmp_path / "b" / "o.db") as ob,
        MqttLink(link_config(broker), "rig-01", oa) as a,
    ):
        assert a.connected.wait(10)
        with MqttLink(link_config(broker), "rig-01", ob) as b:
            assert wait(lambda: a.fault is not None and b.fault is not None, 20), (a.fault, b.fault)
            connects = a.stats.connects + b.stats.connects
            assert connects <= 6
            assert "another rig" in str(a.fault) and "rig.device_id" in str(b.fault)
            assert not a.connected.is_set() and not b.connected.is_set()
            # the dashboard is told why: a retained error status with the reason
            assert w.wait_for(lambda: any(" status error: " in line for line in lines), 10), lines
            time.sleep(1.0)  # a storm reconnects every 0.05-0.3 s; none may follow
            assert a.stats.connects + b.stats.connects == connects
    errors = [line for line in lines if " status error: " in line]
    assert all("rig.device_id" in line for line in errors), errors


def test_a_session_taken_over_stops_the_link(tmp_path: Path) -> None:
    """A broker that says 0x8E (Session taken over) on DISCONNECT; Mosquitto 2.0 does not."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(10)
    port = server.getsockname()[1]
    cfg = SyncConfig(host="127.0.0.1", port=port, reconnect_min_s=0.05, reconnect_max_s=0.1)
    try:
        with Outbox(tmp_path / "o.db") as ob, MqttLink(cfg, "rig-01", ob) as link:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)  # CONNECT
                conn.sendall(bytes([0x20, 3, 0, 0, 0]))  # CONNACK, success, no properties
                assert link.connected.wait(10)
                conn.sendall(bytes([0xE0, 2, 0x8E, 0]))  # DISCONNECT, Session taken over
                assert wait(lambda: link.fault is not None)
            assert "took this rig's session over" in str(link.fault)
            server.settimeout(1.0)  # no reconnect follows (one would come within 0.1 s)
            with pytest.raises(TimeoutError):
                server.accept()[0].close()
    finally:
        server.close()


def test_an_installation_id_stays_on_its_computer_and_a_copy_elsewhere_gets_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.trust import INSTALLATION_FILE

    pi_a = {"serial": "a" * 16, "machine-id": "1" * 16}
    pi_b = {"serial": "b" * 16, "machine-id": "1" * 16}  # cloned card: same machine-id
    first = installation_id(tmp_path, machine=pi_a)
    assert installation_id(tmp_path, machine=pi_a) == first  # a restart keeps it
    # the OS made a new machine-id, or a container hides the serial: still this computer
    assert installation_id(tmp_path, machine={**pi_a, "machine-id": "2" * 16}) == first
    assert installation_id(tmp_path, machine={"machine-id": "2" * 16}) == first
    # the same folder on another board: an SD card cloned for a second rig
    path = tmp_path / INSTALLATION_FILE
    card = path.read_bytes()
    with caplog.at_level("WARNING", logger="sync.trust"):
        cloned = installation_id(tmp_path, machine=pi_b)
    assert cloned != first and "another computer" in caplog.text
    assert installation_id(tmp_path, machine=pi_b) == cloned
    # derived, not drawn: every process on that board agrees, even where the file could not
    # be rewritten
    import sync.trust as trust

    def full(*args: object, **kwargs: object) -> None:
        raise StorageError("disk full")

    path.write_bytes(card)
    monkeypatch.setattr(trust, "atomic_write_bytes", full)
    assert installation_id(tmp_path, machine=pi_b) == cloned
    assert path.read_bytes() == card
    monkeypatch.undo()
    # a file of an older version (the id alone) is kept and given this computer's digests
    path.write_text("0123456789abcdef\n")
    assert installation_id(tmp_path, machine=pi_a) == "0123456789abcdef"
    assert path.read_text() == f"0123456789abcdef serial={'a' * 16} machine-id={'1' * 16}\n"
    for bad in ("0123456789abcdef serial=zz\n", "not-an-id\n", "\n"):
        path.write_text(bad)
        with pytest.raises(StorageError, match="remove it"):
            installation_id(tmp_path, machine=pi_a)


def test_machine_identities_read_the_board_serial_as_the_installer_does(tmp_path: Path) -> None:
    from sync.trust import machine_identities

    (tmp_path / "proc").mkdir()
    (tmp_path / "etc").mkdir()
    assert machine_identities(tmp_path) == {}
    (tmp_path / "etc/machine-id").write_text("f" * 32 + "\n")
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nSerial\t\t: 10000000ABCDEF01\n")
    from_cpuinfo = machine_identities(tmp_path)
    assert sorted(from_cpuinfo) == ["machine-id", "serial"]
    tree = tmp_path / "sys/firmware/devicetree/base"
    tree.mkdir(parents=True)
    (tree / "serial-number").write_bytes(b"10000000abcdef01\0")
    assert machine_identities(tmp_path) == from_cpuinfo  # the same serial, either source
    (tree / "serial-number").write_bytes(b"0000000000000000\0")  # a VM: no serial there
    (tmp_path / "proc/cpuinfo").write_text("Serial\t\t: 0000000000000000\n")
    assert sorted(machine_identities(tmp_path)) == ["machine-id"]


def test_a_cloned_sd_card_on_a_second_rig_is_seen_as_a_second_rig(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Pis from one card image: same device_id, a copy of the same state folder."""
    import shutil

    import sync.trust as trust

    (tmp_path / "a").mkdir()
    monkeypatch.setattr(trust, "machine_identities", lambda: {"serial": "a" * 16})
    first = installation_id(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the card, cloned
    with Outbox(tmp_path / "a" / "o.db") as oa, MqttLink(link_config(broker), "rig-01", oa) as a:
        assert a.connected.wait(10) and a.installation == first
        monkeypatch.setattr(trust, "machine_identities", lambda: {"serial": "b" * 16})  # Pi 2
        with (
            Outbox(tmp_path / "b" / "o.db") as ob,
            MqttLink(link_config(broker), "rig-01", ob) as b,
        ):
            assert b.installation != first
            assert wait(lambda: a.fault is not None and b.fault is not None, 20), (a.fault, b.fault)
            assert "rig.device_id" in str(b.fault)
