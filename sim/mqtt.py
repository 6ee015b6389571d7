"""An MQTT v5 broker in memory: the twin side of the broker connection port (sync/connection.py).

:class:`InMemoryBroker` keeps the semantics the rig relies on, without a network or a
Mosquitto process: QoS 1 acknowledgements carrying the broker's reason code (``refuse``
decides one per message; ``hold_acks`` keeps them back so a test can watch a send window),
retained messages (an empty retained payload deletes), the will (published when a
connection is lost without DISCONNECT, after its Will Delay Interval; not after a clean
DISCONNECT), sessions (subscriptions and QoS 1 messages kept for a client that reconnects
without clean start while its Session Expiry Interval runs; CONNACK's session present),
Maximum Packet Size in CONNACK (a larger PUBLISH ends the connection with 0x95, as Mosquitto
does), user names, and session takeover (a second connection with the same client id sends
the first DISCONNECT 0x8E). :meth:`InMemoryBroker.connection` is a connection factory for
:class:`sync.link.MqttLink`. Time runs on an injected clock; :meth:`InMemoryBroker.tick`
fires what is due (delayed wills, expired sessions).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dermocap.clock import Clock, SystemClock
from sync.wire import RC_PACKET_TOO_LARGE, new_properties, publish_packet_size

RC_SUCCESS = 0x00
RC_BAD_LOGIN = 0x86
RC_NOT_AUTHORIZED = 0x87
RC_TAKEN_OVER = 0x8E


def _rc(packet_type: int, code: int) -> ReasonCode:
    return ReasonCode(packet_type, identifier=code)


@dataclass
class Stored:
    """One application message as the broker holds and delivers it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties | None = None
    mid: int = 0


@dataclass
class _Session:
    client_id: str
    client: InMemoryClient | None = None
    subscriptions: dict[str, tuple[int, bool]] = field(default_factory=dict)  # qos, RAP
    queued: list[Stored] = field(default_factory=list)
    expiry_s: float = 0.0
    will: Stored | None = None
    will_delay_s: float = 0.0
    lost_at: float | None = None


class InMemoryBroker:
    """The broker; thread-safe. See the module docstring.

    Args:
        max_packet_size: sent in CONNACK; a larger PUBLISH ends the connection (0x95).
        users: user name -> password; None accepts anyone.
        refuse: reason code (>= 0x80) for a PUBLISH the broker refuses, or None to accept.
        clock: time of wills and session expiry.
    """

    def __init__(
        self,
        *,
        max_packet_size: int | None = None,
        users: dict[str, str] | None = None,
        refuse: Callable[[Stored], int | None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.max_packet_size = max_packet_size
        self.users = users
        self.refuse = refuse
        self.clock: Clock = clock or SystemClock()
        self.retained: dict[str, Stored] = {}
        self.accepted: list[Stored] = []  # every PUBLISH accepted, in order
        self.hold_acks = False
        self.online = True
        self._held: list[tuple[InMemoryClient, int, int]] = []
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.RLock()

    # -- for tests and the twin ----------------------------------------------------------
    def connection(self, client_id: str) -> InMemoryClient:
        """A client of this broker (a ``sync.connection.ConnectionFactory``)."""
        return InMemoryClient(self, client_id)

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        """Publish as another client would (the dashboard)."""
        with self._lock:
            self._accept(Stored(topic, payload, qos, retain, properties))

    def messages(self, topic_filter: str = "#") -> list[Stored]:
        """Accepted messages whose topic matches ``topic_filter``, in order."""
        with self._lock:
            return [m for m in self.accepted if mqtt.topic_matches_sub(topic_filter, m.topic)]

    def release_acks(self) -> int:
        """Send the PUBACKs held back while ``hold_acks`` was set; returns how many."""
        with self._lock:
            held, self._held = self._held, []
        for client, mid, code in held:
            client._puback(mid, code)
        return len(held)

    def drop(self, client_id: str) -> None:
        """The client's connection is lost without DISCONNECT (its will follows)."""
        with self._lock:
            s = self._sessions.get(client_id)
            if s is not None and s.client is not None:
                self._detach(s, normal=False, code=RC_SUCCESS, notify=True)

    def stop(self) -> None:
        """The broker goes away: every connection is lost; connects fail until :meth:`start`."""
        with self._lock:
            self.online = False
            for s in list(self._sessions.values()):
                if s.client is not None:
                    self._detach(s, normal=False, code=RC_SUCCESS, notify=True)

    def start(self) -> None:
        with self._lock:
            self.online = True

    def tick(self) -> None:
        """Publish delayed wills and end sessions whose time has come."""
        with self._lock:
            now = self.clock.monotonic()
            for cid, s in list(self._sessions.items()):
                if s.client is not None or s.lost_at is None:
                    continue
                if s.will is not None and now >= s.lost_at + min(s.will_delay_s, s.expiry_s):
                    will, s.will = s.will, None
                    self._accept(will)
                if now >= s.lost_at + s.expiry_s:
                    del self._sessions[cid]

    # -- called by clients ---------------------------------------------------------------
    def _connect(
        self,
        client: InMemoryClient,
        clean_start: bool,
        props: Properties | None,
        auth: tuple[str | None, str | None],
    ) -> None:
        with self._lock:
            if not self.online:
                raise ConnectionRefusedError(111, "Connection refused")
            if self.users is not None and self.users.get(auth[0] or "") != auth[1]:
                client._post(lambda: client._connack(False, RC_BAD_LOGIN, None))
                client._post(lambda: client._closed(RC_BAD_LOGIN, from_server=True))
                return
            s = self._sessions.get(client.client_id)
            if s is not None and s.client is not None and s.client is not client:
                old = s.client
                if s.will is not None and s.will_delay_s <= 0:
                    self._accept(s.will)
                s.client = None
                old._post(lambda: old._closed(RC_TAKEN_OVER, from_server=True))
            present = s is not None and not clean_start
            if s is None or clean_start:
                s = _Session(client.client_id)
                self._sessions[client.client_id] = s
            s.client, s.lost_at = client, None
            s.expiry_s = float(getattr(props, "SessionExpiryInterval", 0) or 0)
            s.will = client._will
            s.will_delay_s = client._will_delay_s
            ack = new_properties(PacketTypes.CONNACK)
            if self.max_packet_size is not None:
                ack.MaximumPacketSize = self.max_packet_size
            client._post(lambda: client._connack(present, RC_SUCCESS, ack))
            queued, s.queued = s.queued, []
            for m in queued:
                client._deliver(m)

    def _publish(self, client: InMemoryClient, msg: Stored) -> None:
        with self._lock:
            size = publish_packet_size(
                msg.topic, msg.payload, msg.properties or new_properties(PacketTypes.PUBLISH), 1
            )
            if self.max_packet_size is not None and size > self.max_packet_size:
                s = self._sessions.get(client.client_id)
                if s is not None and s.client is client:
                    self._detach(s, normal=False, code=RC_PACKET_TOO_LARGE, notify=True)
                return
            code = (self.refuse(msg) if self.refuse is not None else None) or RC_SUCCESS
            if code < 0x80:
                self._accept(msg)
            if msg.qos == 0:
                return
            if self.hold_acks:
                self._held.append((client, msg.mid, code))
                return
        client._puback(msg.mid, code)

    def _subscribe(self, client: InMemoryClient, topic: str, qos: int, rap: bool) -> None:
        with self._lock:
            s = self._sessions.get(client.client_id)
            if s is None or s.client is not client:
                return
            s.subscriptions[topic] = (qos, rap)
            retained = [m for t, m in self.retained.items() if mqtt.topic_matches_sub(topic, t)]
        client._post(lambda: client._suback(qos))
        for m in retained:
            client._deliver(replace(m, retain=True, qos=min(m.qos, qos)))

    def _disconnect(self, client: InMemoryClient) -> None:
        with self._lock:
            s = self._sessions.get(client.client_id)
            if s is not None and s.client is client:
                self._detach(s, normal=True, code=RC_SUCCESS, notify=False)

    # -- inside the lock -----------------------------------------------------------------
    def _detach(self, s: _Session, *, normal: bool, code: int, notify: bool) -> None:
        client, s.client = s.client, None
        s.lost_at = self.clock.monotonic()
        if normal:
            s.will = None
        if client is not None and notify:
            client._post(lambda: client._closed(code, from_server=code != RC_SUCCESS))
        self.tick()

    def _accept(self, msg: Stored) -> None:
        self.accepted.append(msg)
        if msg.retain:
            if msg.payload:
                self.retained[msg.topic] = msg
            else:
                self.retained.pop(msg.topic, None)
        for s in self._sessions.values():
            granted = [
                sub for f, sub in s.subscriptions.items() if mqtt.topic_matches_sub(f, msg.topic)
            ]
            if not granted:
                continue
            qos = min(msg.qos, max(q for q, _ in granted))
            keep_retain = msg.retain and any(rap for _, rap in granted)
            out = replace(msg, qos=qos, retain=keep_retain)
            if s.client is not None:
                s.client._deliver(out)
            elif qos > 0 and s.expiry_s > 0:
                s.queued.append(out)


class _Info:
    """What publish returns (paho's MQTTMessageInfo, in short)."""

    def __init__(self, mid: int, rc: MQTTErrorCode) -> None:
        self.mid, self.rc = mid, rc
        self.published = threading.Event()

    def is_published(self) -> bool:
        return self.published.is_set()


class InMemoryClient:
    """A client of :class:`InMemoryBroker` with paho's API and callbacks (see sync/connection.py).

    Callbacks run in :meth:`loop_read` on the caller's thread; :meth:`socket` is readable
    when there are some to run.
    """

    def __init__(self, broker: InMemoryBroker, client_id: str) -> None:
        self.broker = broker
        self.client_id = client_id
        self.connect_timeout = 5.0
        self.on_connect: Callable[..., None] | None = None
        self.on_disconnect: Callable[..., None] | None = None
        self.on_publish: Callable[..., None] | None = None
        self.on_message: Callable[..., None] | None = None
        self.on_subscribe: Callable[..., None] | None = None
        self._r: socket.socket | None = None  # readable when events wait; one per connection
        self._w: socket.socket | None = None
        self._events: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._open = False
        self._connected = False
        self._first = True
        self._mid = 0
        self._auth: tuple[str | None, str | None] = (None, None)
        self._args: tuple[Any, Properties | None] = (True, None)
        self._will: Stored | None = None
        self._will_delay_s = 0.0
        self._unacked: dict[int, tuple[Stored, _Info]] = {}

    # -- options ---------------------------------------------------------------------------
    def max_inflight_messages_set(self, inflight: int) -> None:
        return None

    def max_queued_messages_set(self, queue_size: int) -> InMemoryClient:
        return self

    def username_pw_set(self, username: str | None, password: str | None = None) -> None:
        self._auth = (username, password)

    def tls_set_context(self, context: Any = None) -> None:
        return None  # nothing travels: there is nothing to encrypt

    def will_set(
        self,
        topic: str,
        payload: Any = None,
        qos: int = 0,
        retain: bool = False,
        properties: Any = None,
    ) -> None:
        self._will = Stored(topic, _bytes(payload), qos, retain, properties)
        self._will_delay_s = float(getattr(properties, "WillDelayInterval", 0) or 0)

    # -- connection ------------------------------------------------------------------------
    def connect(
        self,
        host: str,
        port: int = 1883,
        keepalive: int = 60,
        bind_address: str = "",
        bind_port: int = 0,
        clean_start: Any = mqtt.MQTT_CLEAN_START_FIRST_ONLY,
        properties: Any = None,
    ) -> MQTTErrorCode:
        self._args = (clean_start, properties)
        self._first = True
        return self.reconnect()

    def reconnect(self) -> MQTTErrorCode:
        clean_start, props = self._args
        first_only = clean_start == mqtt.MQTT_CLEAN_START_FIRST_ONLY
        clean = self._first if first_only else bool(clean_start)
        with self._lock:
            if self._r is None:
                self._r, self._w = socket.socketpair()
                self._r.setblocking(False)
                self._w.setblocking(False)
        self.broker._connect(self, clean, props, self._auth)  # raises OSError when down
        self._first = False
        self._open = True
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def disconnect(self, reasoncode: Any = None, properties: Any = None) -> MQTTErrorCode:
        self.broker._disconnect(self)
        self._post(lambda: self._closed(RC_SUCCESS, from_server=False))
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def publish(
        self,
        topic: str,
        payload: Any = None,
        qos: int = 0,
        retain: bool = False,
        properties: Any = None,
    ) -> _Info:
        if not topic or "+" in topic or "#" in topic:
            raise ValueError("Publish topic cannot contain wildcards.")
        self._mid += 1
        msg = Stored(topic, _bytes(payload), qos, retain, properties, self._mid)
        if not self._connected:
            info = _Info(msg.mid, MQTTErrorCode.MQTT_ERR_NO_CONN)
            if qos > 0:
                self._unacked[msg.mid] = (msg, info)  # sent again once connected, as paho does
            return info
        info = _Info(msg.mid, MQTTErrorCode.MQTT_ERR_SUCCESS)
        if qos > 0:
            self._unacked[msg.mid] = (msg, info)
        else:
            info.published.set()
        self.broker._publish(self, msg)
        return info

    def subscribe(
        self, topic: Any, qos: int = 0, options: Any = None, properties: Any = None
    ) -> tuple[MQTTErrorCode, int]:
        self._mid += 1
        if options is not None:
            qos = int(options.QoS)
        rap = bool(getattr(options, "retainAsPublished", False))
        self.broker._subscribe(self, str(topic), qos, rap)
        return MQTTErrorCode.MQTT_ERR_SUCCESS, self._mid

    # -- the external loop -----------------------------------------------------------------
    def socket(self) -> socket.socket | None:
        return self._r if self._open else None

    def want_write(self) -> bool:
        return False

    def loop_write(self) -> MQTTErrorCode:
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def loop_misc(self) -> MQTTErrorCode:
        self.broker.tick()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._r is not None:
            with contextlib.suppress(OSError):
                self._r.recv(65536)
        while True:
            with self._lock:
                if not self._events:
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
                event = self._events.popleft()
            event()

    # -- from the broker (any thread) ------------------------------------------------------
    def _post(self, event: Callable[[], None]) -> None:
        with self._lock:
            self._events.append(event)
            if self._w is not None:
                with contextlib.suppress(OSError):
                    self._w.send(b"\0")

    def _deliver(self, msg: Stored) -> None:
        def run() -> None:
            if self.on_message is not None:
                m = mqtt.MQTTMessage(msg.mid, msg.topic.encode())
                m.payload, m.qos, m.retain = msg.payload, msg.qos, msg.retain
                m.properties = msg.properties
                self.on_message(self, None, m)

        self._post(run)

    def _puback(self, mid: int, code: int) -> None:
        def run() -> None:
            entry = self._unacked.pop(mid, None)
            if entry is None:
                return
            entry[1].published.set()
            if self.on_publish is not None:
                props = new_properties(PacketTypes.PUBACK)
                self.on_publish(self, None, mid, _rc(PacketTypes.PUBACK, code), props)

        self._post(run)

    # -- callbacks (on the loop's thread) --------------------------------------------------
    def _connack(self, present: bool, code: int, props: Properties | None) -> None:
        self._connected = code < 0x80
        # Sent before but not acknowledged: sent again, as paho does (not what on_connect sends).
        again = [msg for msg, _ in self._unacked.values()] if self._connected else []
        if self.on_connect is not None:
            flags = mqtt.ConnectFlags(session_present=present)
            self.on_connect(self, None, flags, _rc(PacketTypes.CONNACK, code), props)
        for msg in again:
            self.broker._publish(self, msg)

    def _closed(self, code: int, *, from_server: bool) -> None:
        if not self._open:
            return
        self._open = self._connected = False
        with self._lock:
            for end in (self._r, self._w):
                if end is not None:
                    end.close()
            self._r = self._w = None
        if self.on_disconnect is not None:
            flags = mqtt.DisconnectFlags(is_disconnect_packet_from_server=from_server)
            reason = _rc(PacketTypes.DISCONNECT, code)
            self.on_disconnect(self, None, flags, reason, None)

    def _suback(self, qos: int) -> None:
        if self.on_subscribe is not None:
            reasons = [_rc(PacketTypes.SUBACK, qos)]
            self.on_subscribe(self, None, self._mid, reasons, None)


def _bytes(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)
