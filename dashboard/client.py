"""The dashboard's MQTT v5 client: one subscription to every rig, commands with replies.

:class:`Subscriber` owns one paho client (CallbackAPIVersion.VERSION2, MQTT v5) on paho's
network thread. It subscribes to ``{prefix with + for device_id}/#`` at QoS 1, splits each
topic into ``(device_id, channel)``, keeps replies to its own commands, and hands everything
else to :meth:`Subscriber._handle` under its lock. Subclasses (the terminal watcher, the
storing receiver) decide what to keep. With a fixed client id and ``clean_start=False`` the
broker keeps the session ``session_expiry_s`` seconds: what arrived while it was down is
delivered on reconnect. paho acknowledges a QoS 1 message only after ``on_message`` returns,
so whatever ``_handle`` has committed before returning is never lost to a crash.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dermocap.errors import SyncError
from dermocap.ids import uuid7
from dermocap.resource import Startable
from sync.credentials import Credentials
from sync.models import InvalidMessage, ReplyMessage, validate_message
from sync.wire import new_properties

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "dermocap/v1/{device_id}"


@dataclass(frozen=True)
class TopicLayout:
    """Where a rig's id and the channel sit in a topic under one prefix template.

    Raises:
        SyncError: ``prefix`` has no ``{device_id}`` level.
    """

    prefix: str

    def __post_init__(self) -> None:
        if "{device_id}" not in self.levels:
            raise SyncError(f"prefix {self.prefix!r} must have a {{device_id}} level")

    @property
    def levels(self) -> list[str]:
        """The prefix's levels, ``{device_id}`` among them."""
        return self.prefix.rstrip("/").split("/")

    @property
    def filter(self) -> str:
        """The subscription to every rig: ``+`` for the rig's level, ``#`` after."""
        return "/".join("+" if p == "{device_id}" else p for p in self.levels) + "/#"

    def split(self, topic: str) -> tuple[str, str] | None:
        """``(device_id, channel)`` of a topic, or None where it has no channel level."""
        levels = self.levels
        parts = topic.split("/")
        if len(parts) <= len(levels):
            return None
        return parts[levels.index("{device_id}")], "/".join(parts[len(levels) :])


class Subscriber(Startable):
    """A persistent-session MQTT v5 subscriber to every rig under ``prefix``.

    ``prefix`` is a template with one ``{device_id}`` level. ``on_raw(topic, payload)`` sees
    every message before it is parsed (the tests check each against the AsyncAPI schemas).

    Raises:
        SyncError: ``prefix`` has no ``{device_id}`` level.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        prefix: str = DEFAULT_PREFIX,
        credentials: Credentials | None = None,
        session_expiry_s: int = 3600,
        clean_start: bool = False,
        on_raw: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.topics = TopicLayout(prefix)
        self._prefix = prefix
        self.client_id = client_id
        self._on_raw = on_raw
        self._lock = threading.Condition()
        self._replies: dict[bytes, ReplyMessage] = {}
        self._subscribed = threading.Event()
        self.connected = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        creds = credentials or Credentials()
        if creds.username:
            self._client.username_pw_set(creds.username, creds.password)
        ctx = creds.ssl_context()
        if ctx is not None:
            self._client.tls_set_context(ctx)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._session_expiry_s = session_expiry_s
        self._clean_start = clean_start
        self._started = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and wait for the subscription.

        Raises:
            SyncError: not subscribed within ``timeout_s``.
        """
        props = new_properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        self._client.reconnect_delay_set(1, 2)
        self._client.connect_async(
            self.host, self.port, keepalive=15, clean_start=self._clean_start, properties=props
        )
        self._client.loop_start()
        self._started = True
        if not self._subscribed.wait(timeout_s):
            self.close()
            raise SyncError(f"could not subscribe at {self.host}:{self.port} within {timeout_s}s")

    def close(self) -> None:
        """Disconnect and stop the network thread; idempotent."""
        if self._started:
            self._started = False
            self._client.disconnect()
            self._client.loop_stop()

    # -- commands ---------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``predicate()`` holds (checked on every message and every 0.2 s)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
            return True

    def command(
        self,
        device_id: str,
        name: str,
        payload: dict[str, Any] | bytes,
        *,
        retain: bool = False,
        timeout_s: float = 5.0,
    ) -> ReplyMessage | None:
        """Send a command with ResponseTopic + CorrelationData; returns the reply or None.

        Never call it from paho's thread (inside ``_handle``): the reply arrives there.
        """
        corr = uuid7().bytes
        props = new_properties(PacketTypes.PUBLISH)
        # Replies come back under the rig's own prefix, which a broker ACL lets it write.
        base = self._prefix.replace("{device_id}", device_id).rstrip("/")
        props.ResponseTopic = f"{base}/replies/{self.client_id}"
        props.CorrelationData = corr
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._client.publish(f"{base}/cmd/{name}", data, qos=1, retain=retain, properties=props)
        with self._lock:
            self._lock.wait_for(lambda: corr in self._replies, timeout_s)
            return self._replies.pop(corr, None)

    # -- paho callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, u: Any, f: Any, reason: ReasonCode, p: Properties | None
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the dashboard's connection: %s", reason)
            return
        self.connected.set()
        client.subscribe(self.topics.filter, 1)

    def _on_disconnect(self, client: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        self.connected.clear()

    def _on_subscribe(
        self, client: mqtt.Client, u: Any, mid: int, reasons: list[ReasonCode], p: Any
    ) -> None:
        if not any(r.is_failure for r in reasons):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        if self._on_raw is not None:
            self._on_raw(msg.topic, payload)
        split = self.topics.split(msg.topic)
        if split is None:
            return
        device_id, channel = split
        with self._lock:
            try:
                if channel == f"replies/{self.client_id}":
                    self._keep_reply(msg, payload)
                elif not channel.startswith(("cmd/", "replies/")) and channel != "replies":
                    self._handle(device_id, channel, payload, msg)
            except (InvalidMessage, ValueError) as exc:
                self._invalid(device_id, msg.topic, payload, str(exc))
            finally:
                self._lock.notify_all()

    def _keep_reply(self, msg: mqtt.MQTTMessage, payload: bytes) -> None:
        reply = validate_message(ReplyMessage, json.loads(payload))
        corr = getattr(msg.properties, "CorrelationData", None)
        if corr is not None:
            self._replies[bytes(corr)] = reply

    # -- for subclasses (called with the lock held, on paho's thread) -----------------------

    def _handle(self, device_id: str, channel: str, payload: bytes, msg: mqtt.MQTTMessage) -> None:
        """Act on one message of a rig; raise InvalidMessage or ValueError to refuse it."""
        raise NotImplementedError

    def _invalid(self, device_id: str, topic: str, payload: bytes, reason: str) -> None:
        """A message failed validation (default: log it)."""
        log.warning("invalid message on %s: %s", topic, reason)
