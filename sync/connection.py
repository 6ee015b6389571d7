"""The broker connection port: the part of paho's MQTT v5 client the link uses.

:class:`Connection` names what :class:`sync.link.MqttLink` needs of a client, so the link's
window, dead letters and telemetry can run against a broker in memory as well as against a
real one. Implementations:

* paho's own ``mqtt.Client`` (:func:`paho_connection`), on the rig and against Mosquitto;
* ``sim.mqtt.InMemoryClient``, connected to ``sim.mqtt.InMemoryBroker``: the same
  semantics without a network (QoS 1 acknowledgements with reason codes, retained
  messages, the will, persistent sessions, Maximum Packet Size, session takeover).

An implementation must provide, with paho's signatures and types (``ReasonCode``,
``Properties``, ``ConnectFlags``, ``DisconnectFlags``, ``MQTTMessage``-like messages with
``topic``, ``payload``, ``qos``, ``retain``, ``properties``):

* ``connect`` / ``reconnect`` start a connection; its outcome arrives later as
  ``on_connect(client, userdata, flags, reason, properties)`` (CONNACK properties carry
  ``MaximumPacketSize``); ``disconnect(reasoncode=...)`` ends it without the will;
* ``publish`` returns an info with ``rc``, ``mid`` and ``is_published()``; a QoS 1 message
  is settled by ``on_publish(client, userdata, mid, reason, properties)`` with the broker's
  reason code (>= 0x80: refused); QoS 0 needs no acknowledgement;
* ``subscribe(topic, options=...)`` answers with ``on_subscribe``; matching messages, the
  retained ones first (``retain`` set), arrive through ``on_message``;
* ``will_set`` before connecting; a connection lost without DISCONNECT publishes it;
* ``socket()`` is a selectable object while a connection exists (None otherwise), readable
  when ``loop_read()`` has callbacks to run; ``want_write()``, ``loop_write()`` and
  ``loop_misc()`` do the rest of paho's external loop. Every call and every callback happens
  on the thread that calls these (the link's thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class PublishInfo(Protocol):
    """What ``publish`` returns."""

    rc: Any
    mid: int

    def is_published(self) -> bool: ...


class Connection(Protocol):
    """The MQTT v5 client the link drives (see the module docstring)."""

    connect_timeout: float
    on_connect: Callable[..., None] | None
    on_disconnect: Callable[..., None] | None
    on_publish: Callable[..., None] | None
    on_message: Callable[..., None] | None
    on_subscribe: Callable[..., None] | None

    def max_inflight_messages_set(self, inflight: int) -> None: ...
    def max_queued_messages_set(self, queue_size: int) -> Any: ...
    def username_pw_set(self, username: str | None, password: str | None = None) -> None: ...
    def tls_set_context(self, context: Any = None) -> None: ...
    def will_set(
        self,
        topic: str,
        payload: Any = None,
        qos: int = 0,
        retain: bool = False,
        properties: Any = None,
    ) -> None: ...
    def connect(
        self,
        host: str,
        port: int = 1883,
        keepalive: int = 60,
        bind_address: str = "",
        bind_port: int = 0,
        clean_start: Any = ...,
        properties: Any = None,
    ) -> Any: ...
    def reconnect(self) -> Any: ...
    def disconnect(self, reasoncode: Any = None, properties: Any = None) -> Any: ...
    def publish(
        self,
        topic: str,
        payload: Any = None,
        qos: int = 0,
        retain: bool = False,
        properties: Any = None,
    ) -> PublishInfo: ...
    def subscribe(
        self, topic: Any, qos: int = 0, options: Any = None, properties: Any = None
    ) -> Any: ...
    def socket(self) -> Any: ...
    def want_write(self) -> bool: ...
    def loop_read(self, max_packets: int = 1) -> Any: ...
    def loop_write(self) -> Any: ...
    def loop_misc(self) -> Any: ...


ConnectionFactory = Callable[[str], Connection]
"""Makes the connection for one client id (``dermocap-{device_id}``)."""


def paho_connection(client_id: str) -> Connection:
    """paho's MQTT v5 client with the callback API the link is written for."""
    client: Connection = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    return client
