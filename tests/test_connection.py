"""The broker connection port: one contract suite over paho + Mosquitto and the in-memory twin.

The test thread runs each client's external loop itself (select, loop_read, loop_write,
loop_misc), as the link's thread does, until the event it waits for has arrived: nothing
depends on timing (the deadline only bounds a failure).
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

from sim.mqtt import InMemoryBroker
from sync.connection import Connection, paho_connection
from sync.wire import message_properties, new_properties
from tests.mqtt_fixtures import make_broker

Event = tuple[Any, ...]


@dataclass
class Client:
    conn: Connection
    events: list[Event] = field(default_factory=list)
    lost: bool = False

    def __post_init__(self) -> None:
        c, ev = self.conn, self.events
        c.on_connect = lambda _c, _u, f, r, p: ev.append(("connect", f.session_present, r.value))
        c.on_publish = lambda _c, _u, mid, r, p: ev.append(("puback", mid, r.value))
        c.on_message = lambda _c, _u, m: ev.append(
            ("message", m.topic, bytes(m.payload), bool(m.retain))
        )
        c.on_disconnect = lambda _c, _u, f, r, p: ev.append(("disconnect", r.value))
        c.on_subscribe = lambda _c, _u, mid, rs, p: ev.append(("suback", [r.value for r in rs]))

    def pump(self, timeout_s: float) -> None:
        sock = self.conn.socket()
        if sock is None or self.lost:
            return
        w = [sock] if self.conn.want_write() else []
        readable, writable, _ = select.select([sock], w, [], timeout_s)
        if readable:
            self.conn.loop_read()
        if writable and self.conn.socket() is not None:
            self.conn.loop_write()
        if self.conn.socket() is not None:
            self.conn.loop_misc()


@dataclass
class Net:
    """One backend: make clients, connect them, lose a connection without DISCONNECT."""

    host: str
    port: int
    make: Callable[[str], Connection]
    lose: Callable[[Client], None]
    clients: list[Client] = field(default_factory=list)

    def client(self, client_id: str, *, will: tuple[str, bytes] | None = None) -> Client:
        c = Client(self.make(client_id))
        if will is not None:
            c.conn.will_set(will[0], will[1], 1, False, None)
        self.clients.append(c)
        return c

    def connect(self, c: Client, *, session_expiry_s: int = 0) -> None:
        props = new_properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s
        c.conn.connect(
            self.host, self.port, clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=props
        )
        self.wait(c, lambda e: e[0] == "connect")

    def wait(self, c: Client, match: Callable[[Event], bool], timeout_s: float = 10.0) -> Event:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            for e in c.events[seen:]:
                if match(e):
                    return e
            seen = len(c.events)
            for other in self.clients:
                other.pump(0.01)
        raise AssertionError(f"no matching event; got {c.events}")


def _close_all(net: Net) -> None:
    for c in net.clients:
        if c.conn.socket() is not None and not c.lost:
            c.conn.disconnect()
            net.wait(c, lambda e: e[0] == "disconnect")


def _lose_paho(c: Client) -> None:
    c.lost = True
    sock = c.conn.socket()
    assert sock is not None
    sock.close()  # the TCP connection ends without DISCONNECT


@pytest.fixture(params=["paho", "memory"])
def net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Net]:
    if request.param == "memory":
        broker = InMemoryBroker()
        net = Net("memory", 0, broker.connection, lambda c: broker.drop(_client_id(c)))
        yield net
        _close_all(net)
        return
    b = make_broker(tmp_path / "broker")
    try:
        net = Net(b.host, b.port, paho_connection, _lose_paho)
        yield net
        _close_all(net)
    finally:
        b.close()


def _client_id(c: Client) -> str:
    return str(c.conn.client_id)  # type: ignore[attr-defined]


def test_a_qos1_publish_is_acknowledged_with_a_reason_code_and_delivered(net: Net) -> None:
    sub, pub = net.client("sub"), net.client("pub")
    net.connect(sub)
    sub.conn.subscribe("t/#", options=SubscribeOptions(qos=1))
    assert net.wait(sub, lambda e: e[0] == "suback")[1] == [1]
    net.connect(pub)
    info = pub.conn.publish("t/a", b"x", qos=1, properties=message_properties("m-1", 7))
    assert net.wait(pub, lambda e: e[0] == "puback")[1:] == (info.mid, 0)
    assert info.is_published()
    assert net.wait(sub, lambda e: e[0] == "message") == ("message", "t/a", b"x", False)


def test_a_retained_message_reaches_a_late_subscriber_marked_retained(net: Net) -> None:
    pub, sub = net.client("pub"), net.client("sub")
    net.connect(pub)
    pub.conn.publish("r/status", b"online", qos=1, retain=True)
    net.wait(pub, lambda e: e[0] == "puback")
    net.connect(sub)
    sub.conn.subscribe("r/#", options=SubscribeOptions(qos=1, retainAsPublished=True))
    assert net.wait(sub, lambda e: e[0] == "message") == ("message", "r/status", b"online", True)


def test_the_will_follows_a_lost_connection_not_a_disconnect(net: Net) -> None:
    watcher = net.client("watcher")
    net.connect(watcher)
    watcher.conn.subscribe("w/#", options=SubscribeOptions(qos=1))
    net.wait(watcher, lambda e: e[0] == "suback")
    polite = net.client("polite", will=("w/polite", b"gone"))
    net.connect(polite)
    polite.conn.disconnect()
    net.wait(polite, lambda e: e[0] == "disconnect")
    victim = net.client("victim", will=("w/victim", b"gone"))
    net.connect(victim)
    net.lose(victim)
    got = net.wait(watcher, lambda e: e[0] == "message")
    assert got == ("message", "w/victim", b"gone", False)
    assert [e for e in watcher.events if e[0] == "message"] == [got]


def test_a_session_keeps_qos1_messages_for_a_client_that_returns(net: Net) -> None:
    away, pub = net.client("away"), net.client("pub")
    net.connect(away, session_expiry_s=60)
    away.conn.subscribe("s/#", options=SubscribeOptions(qos=1))
    net.wait(away, lambda e: e[0] == "suback")
    away.conn.disconnect()
    net.wait(away, lambda e: e[0] == "disconnect")
    net.connect(pub)
    pub.conn.publish("s/x", b"while away", qos=1)
    net.wait(pub, lambda e: e[0] == "puback")
    away.events.clear()
    away.conn.reconnect()  # clean start only the first time: the session is resumed
    assert net.wait(away, lambda e: e[0] == "connect")[1] is True
    assert net.wait(away, lambda e: e[0] == "message")[1:3] == ("s/x", b"while away")


def test_a_second_connection_with_the_client_id_takes_the_session_over(net: Net) -> None:
    first, second = net.client("rig-01"), net.client("rig-01")
    net.connect(first)
    net.connect(second)
    # MQTT v5 says DISCONNECT 0x8E; Mosquitto 2.0 closes the socket and paho reports 0x80.
    assert net.wait(first, lambda e: e[0] == "disconnect")[1] in (0x80, 0x8E)
    assert second.conn.socket() is not None
