"""The MQTT v5 link: one thread owns the paho client and drains the outbox through it.

The thread runs paho's external-loop API (``loop_read``/``loop_write``/``loop_misc`` around
its own ``select``), so every paho call happens on it; other threads only put work on a
queue and wake it through a socket pair. It connects with capped exponential backoff,
keeps at most ``inflight_window`` outbox messages unacknowledged, and settles each row on
its PUBACK: success reason code -> acked, >= 0x80 -> dead letter (the rest keeps flowing).
Messages larger than the broker's CONNACK Maximum Packet Size are dead-lettered before
sending: paho does not check, and the broker would drop the connection again and again.
CONNECT asks the broker never to send a packet over ``MAX_INCOMING_PACKET_BYTES``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from dermocap.errors import StorageError, SyncError
from dermocap.resource import Startable
from sync.commands import MAX_INCOMING_PACKET_BYTES, CommandRouter, Handler, refusal
from sync.config import SyncConfig
from sync.connection import Connection, ConnectionFactory, paho_connection
from sync.credentials import Credentials
from sync.images import chunk_payload
from sync.models import Message, ReplyMessage, StatusState
from sync.outbox import Outbox, OutboxEntry
from sync.telemetry import ping_figures, telemetry_message
from sync.trust import (
    RC_SESSION_TAKEN_OVER,
    installation_id,
    reply_topic_ok,
    session_taken_over,
    status_conflict,
    status_message,
)
from sync.wire import (
    RC_PACKET_TOO_LARGE,
    RC_UNSPECIFIED,
    message_properties,
    new_properties,
    publish_packet_size,
)

log = logging.getLogger(__name__)


@dataclass
class LinkStats:
    """Counters of one link's life, for telemetry, tests and the benchmark."""

    connects: int = 0
    refused: int = 0
    disconnects: int = 0
    sent: int = 0
    acked: int = 0
    dead: int = 0
    commands: int = 0
    max_packet_size: int | None = None


class MqttLink(Startable):
    """Publishes the outbox to the broker and serves dashboard commands.

    ``device_id`` names the client (``dermocap-{device_id}``) and the topics.
    ``telemetry`` returns extra telemetry fields the service knows (``cpu_temp_c``,
    ``calibration_age_s``, ``led_drift_pct``). ``connection`` makes the client (paho's by
    default; see sync/connection.py). The link does not own the outbox.
    """

    def __init__(
        self,
        config: SyncConfig,
        device_id: str,
        outbox: Outbox,
        *,
        credentials: Credentials | None = None,
        model: str | None = None,
        telemetry: Callable[[], dict[str, Any]] | None = None,
        connection: ConnectionFactory = paho_connection,
    ) -> None:
        self.config = config
        self._connection = connection
        self.device_id = device_id
        self.prefix = config.prefix_for(device_id)
        self.outbox = outbox
        self.credentials = credentials or Credentials()
        self._model = model
        self._telemetry = telemetry
        self.stats = LinkStats()
        self.connected = threading.Event()
        self.installation = installation_id(outbox.path.parent)
        self.fault: str | None = None
        """Why the link stopped for good (another rig with this device_id); None if it runs."""
        self._router = CommandRouter()
        self._router.register("ping", self._cmd_ping)
        self._router.register("resend", self._cmd_resend)
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._started_at = time.monotonic()
        self._closed = False
        # State below is touched by the link thread only.
        self._inflight: dict[int, OutboxEntry] = {}
        self._inflight_seqs: set[int] = set()
        self._cursor = 0
        self._failures = 0
        self._next_attempt = 0.0
        self._ever_connected = False
        self._max_packet: int | None = None
        self._leaving: tuple[int, float] | None = None  # (mid of the error status, deadline)
        self._dirty = True
        self._refused = False
        self._last_poll = 0.0
        self._last_telemetry = 0.0
        self._sent: list[int] = []
        self._acked: list[int] = []
        self._dead: list[tuple[int, int, str]] = []
        try:
            self._client = self._make_client()
        except BaseException:  # unusable TLS files: free the wake-up sockets made above
            self._wake_r.close()
            self._wake_w.close()
            raise

    # -- set-up -----------------------------------------------------------------------------

    def _make_client(self) -> Connection:
        # TLS files first: a client made before they fail would leak its wake-up sockets
        ctx = self.credentials.ssl_context()
        c = self._connection(f"dermocap-{self.device_id}")
        c.connect_timeout = self.config.connect_timeout_s
        c.max_inflight_messages_set(self.config.inflight_window + 16)
        c.max_queued_messages_set(0)
        creds = self.credentials
        if creds.username:
            c.username_pw_set(creds.username, creds.password)
        if ctx is not None:
            c.tls_set_context(ctx)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        return c

    def _status_payload(
        self, state: StatusState, since: datetime | None, detail: str | None = None
    ) -> tuple[bytes, Properties]:
        msg = status_message(state, since, self._model, self.installation, detail)
        return msg.model_dump_json().encode(), message_properties(msg.message_id, None)

    def _set_will(self) -> None:
        payload, _ = self._status_payload("offline", None)
        props = new_properties(PacketTypes.WILLMESSAGE)
        props.WillDelayInterval = self.config.will_delay_s
        props.ContentType = "application/json"
        self._client.will_set(f"{self.prefix}/status", payload, 1, True, props)

    # -- public API -------------------------------------------------------------------------

    def on_command(self, name: str, handler: Handler) -> None:
        """Route dashboard command ``name`` (worklist, config) to ``handler``.

        The handler runs on the link thread: it must return quickly (hand work to the
        service's own queue), returning reply data or raising CommandError to refuse.
        """
        self._router.register(name, handler)

    def start(self) -> None:
        """Start the link thread (connects in the background)."""
        if self._closed:
            raise SyncError("the MQTT link was closed; make a new one")
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)
            self._thread.start()

    def notify(self) -> None:
        """Tell the link that the outbox has new messages (callable from any thread)."""
        self._requests.put(self._mark_dirty)
        self._wake()

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the link thread (where paho may be used)."""
        self._requests.put(fn)
        self._wake()

    def drained(self) -> bool:
        """True when nothing is waiting in the outbox or in flight."""
        return not self._inflight and self.outbox.depth() == 0

    def close(self, timeout_s: float = 5.0) -> None:
        """Publish ``stopped``, disconnect cleanly (no will) and stop the thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("the MQTT link thread did not stop within %.1f s", timeout_s)
        else:
            self._close_socket()
        self._wake_r.close()
        self._wake_w.close()

    # -- the link thread --------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._maybe_connect()
                self._io_once(self._timeout())
                self._drain_requests()
                if self.connected.is_set():
                    self._fill_window()
                    self._maybe_telemetry()
                self._flush_outcomes()
                self._maybe_leave()
                if self._client.want_write():
                    self._client.loop_write()
            self._shutdown()
        except Exception:
            log.exception("the MQTT link thread failed; results stay in the outbox")
            self._close_socket()

    def _timeout(self) -> float:
        now = time.monotonic()
        if self.connected.is_set() and self._dirty and len(self._inflight) < self._window():
            return 0.0
        if self._client.socket() is None:
            return max(0.0, min(0.5, self._next_attempt - now))
        return 0.5

    def _window(self) -> int:
        return self.config.inflight_window

    def _io_once(self, timeout: float) -> None:
        sock = self._client.socket()
        rlist: list[Any] = [self._wake_r]
        wlist: list[Any] = []
        if sock is not None:
            rlist.append(sock)
            if self._client.want_write():
                wlist.append(sock)
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                timeout = 0.0
        try:
            readable, writable, _ = select.select(rlist, wlist, [], timeout)
        except (OSError, ValueError):
            readable, writable = [], []
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        if sock is not None:
            if sock in readable or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                self._client.loop_read()
            if sock in writable and self._client.socket() is not None:
                self._client.loop_write()
            if self._client.socket() is not None:
                self._client.loop_misc()
        if time.monotonic() - self._last_poll > 1.0:
            self._dirty = True  # another process may have written the outbox

    def _maybe_connect(self) -> None:
        if self.fault is not None:
            return  # never fight another rig for the session
        if self._client.socket() is not None or time.monotonic() < self._next_attempt:
            return
        props = new_properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        # The broker must not send a packet larger than this (MQTT v5 3.1.2.11.4): a huge
        # command is dropped at the broker, never read into the rig's memory. paho itself
        # reads whatever arrives, so this is the only bound.
        props.MaximumPacketSize = MAX_INCOMING_PACKET_BYTES
        self._set_will()
        try:
            if self._ever_connected:
                self._client.reconnect()
            else:
                self._client.connect(
                    self.config.host,
                    self.config.port,
                    keepalive=self.config.keepalive_s,
                    clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                    properties=props,
                )
                self._ever_connected = True
        except (OSError, ssl.SSLError) as exc:
            self._schedule_retry(
                f"cannot reach the broker {self.config.host}:{self.config.port} ({exc})"
            )

    def _schedule_retry(self, why: str) -> None:
        self._failures += 1
        delay = min(
            self.config.reconnect_max_s,
            self.config.reconnect_min_s * 2 ** min(self._failures - 1, 20),
        )
        delay *= 0.8 + 0.4 * secrets.randbelow(1000) / 1000  # jitter: rigs do not stampede
        self._next_attempt = time.monotonic() + delay
        log.warning("%s; retrying in %.1f s", why, delay)

    def _drain_requests(self) -> None:
        while True:
            try:
                fn = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:
                log.exception("link request failed")

    def _fill_window(self) -> None:
        if not self._dirty:
            return
        room = self._window() - len(self._inflight)
        if room <= 0:
            return
        self._last_poll = time.monotonic()
        entries = self.outbox.pending(room + len(self._inflight), after_seq=self._cursor)
        entries = [e for e in entries if e.seq not in self._inflight_seqs][:room]
        self._dirty = len(entries) == room
        for entry in entries:
            if not self._publish_entry(entry):
                self._dirty = True
                return

    def _publish_entry(self, entry: OutboxEntry) -> bool:
        """Hand one row to paho; False if paho cannot take it now."""
        topic = f"{self.prefix}/{entry.topic}"
        try:
            payload = chunk_payload(entry) if entry.kind == "image_chunk" else entry.payload
        except StorageError as exc:
            self._dead.append((entry.seq, RC_UNSPECIFIED, f"not sent: {exc}"))
            self._cursor = max(self._cursor, entry.seq)
            return True
        props = message_properties(entry.message_id, entry.seq)
        size = publish_packet_size(topic, payload, props, 1)
        if self._max_packet is not None and size > self._max_packet:
            self._dead.append(
                (
                    entry.seq,
                    RC_PACKET_TOO_LARGE,
                    f"packet of {size} bytes over the broker's maximum of {self._max_packet}",
                )
            )
            self._cursor = max(self._cursor, entry.seq)
            return True
        info = self._client.publish(topic, payload, qos=1, properties=props)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return False
        self._inflight[info.mid] = entry
        self._inflight_seqs.add(entry.seq)
        self._cursor = max(self._cursor, entry.seq)
        self._sent.append(entry.seq)
        self.stats.sent += 1
        return True

    def _flush_outcomes(self) -> None:
        if not (self._sent or self._acked or self._dead):
            return
        sent, acked, dead = self._sent, self._acked, self._dead
        self._sent, self._acked, self._dead = [], [], []
        try:
            self.outbox.record_outcomes(sent=sent, acked=acked, dead=dead)
        except SyncError:
            # The rows stay pending and are sent again after a restart (duplicates are
            # dropped by message_id); nothing is lost.
            log.exception("could not record %d acknowledgements in the outbox", len(acked))
            return
        self.stats.acked += len(acked)
        self.stats.dead += len(dead)
        for seq, code, reason in dead:
            log.warning("message seq %d dead-lettered (0x%02x): %s", seq, code, reason)

    def _publish_ephemeral(
        self, topic: str, msg: Message, *, qos: int = 1, retain: bool = False, **props: Any
    ) -> None:
        payload = msg.model_dump_json().encode()
        p = message_properties(msg.message_id, msg.seq, **props)
        size = publish_packet_size(topic, payload, p, qos)
        if self._max_packet is not None and size > self._max_packet:
            log.error("%s of %d bytes is over the broker's maximum; not sent", topic, size)
            return
        try:
            self._client.publish(topic, payload, qos=qos, retain=retain, properties=p)
        except ValueError as exc:
            log.warning("cannot publish to %r: %s", topic, exc)

    def _maybe_telemetry(self) -> None:
        now = time.monotonic()
        if now - self._last_telemetry < self.config.telemetry_interval_s:
            return
        self._last_telemetry = now
        extra: dict[str, Any] = {}
        if self._telemetry is not None:
            try:
                extra = self._telemetry()
            except Exception:  # the service's figures must never stop the link
                log.exception("the service's telemetry figures failed: sending the link's")
        msg = telemetry_message(self.outbox, now - self._started_at, extra)
        self._publish_ephemeral(
            f"{self.prefix}/telemetry",
            msg,
            qos=0,
            MessageExpiryInterval=self.config.telemetry_expiry_s,
        )

    def _shutdown(self) -> None:
        if self.connected.is_set():
            payload, props = self._status_payload("stopped", datetime.now(UTC))
            info = self._client.publish(
                f"{self.prefix}/status", payload, qos=1, retain=True, properties=props
            )
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                if self._client.socket() is None:
                    break
                self._io_once(0.05)
            self._flush_outcomes()
            self._client.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Normal disconnection")
            )
            deadline = time.monotonic() + 1.0
            while self._client.socket() is not None and time.monotonic() < deadline:
                self._io_once(0.05)
        self._flush_outcomes()
        self._close_socket()

    def _close_socket(self) -> None:
        sock = self._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # -- paho callbacks (all run on the link thread) ----------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.stats.refused += 1
            self._refused = True
            self._schedule_retry(f"the broker refused the connection: {reason}")
            return
        self._failures = 0
        self.stats.connects += 1
        self._max_packet = getattr(properties, "MaximumPacketSize", None)
        self.stats.max_packet_size = self._max_packet
        opts = SubscribeOptions(qos=1, retainAsPublished=True)
        # The own status topic too: a status of another installation there is a second rig.
        client.subscribe([(f"{self.prefix}/cmd/#", opts), (f"{self.prefix}/status", opts)])
        payload, props = self._status_payload("online", datetime.now(UTC))
        client.publish(f"{self.prefix}/status", payload, qos=1, retain=True, properties=props)
        self._dirty = True
        self._last_telemetry = 0.0
        self.connected.set()
        host = f"{self.config.host}:{self.config.port}"
        log.info("connected to %s as dermocap-%s", host, self.device_id)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        refused, self._refused = self._refused, False
        if reason.value == RC_SESSION_TAKEN_OVER and self.fault is None:
            self._stop_fighting(session_taken_over(self.device_id))
        if self._stop.is_set() or refused or self.fault is not None:
            return
        self.stats.disconnects += int(was)
        if was:
            self._failures = 0
        self._schedule_retry(f"lost the broker ({reason})")

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._maybe_leave(mid)
        entry = self._inflight.pop(mid, None)
        if entry is None:
            return
        self._inflight_seqs.discard(entry.seq)
        self._dirty = True
        if reason.is_failure:
            self._dead.append((entry.seq, int(reason.value), f"broker refused: {reason}"))
        else:
            self._acked.append(entry.seq)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        for r in reasons:
            if r.is_failure:
                log.error("the broker refused a subscription (commands, status): %s; check ACL", r)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == f"{self.prefix}/status":
            why = status_conflict(bytes(msg.payload), self.installation)
            if why is not None and self.fault is None:
                self._stop_fighting(why)
            return
        head = f"{self.prefix}/cmd/"
        if not msg.topic.startswith(head):
            return
        name = msg.topic[len(head) :]
        self.stats.commands += 1
        asked = getattr(msg.properties, "ResponseTopic", None)
        if asked is not None and not reply_topic_ok(self.prefix, asked):
            # Never act on it, and never publish where asked: the rig's own results or
            # status, or another rig's commands. The refusal goes to the rig's replies.
            log.warning("refused command %r: its ResponseTopic %r is not ours", name, asked)
            if not msg.retain:
                why = f"ResponseTopic {asked[:100]!r} is outside {self.prefix}/replies/"
                self._reply(msg, refusal(name, why), topic=f"{self.prefix}/replies")
            return
        result = self._router.dispatch(name, bytes(msg.payload), retained=bool(msg.retain))
        if result.reply is None:
            return
        self._reply(msg, result.reply)

    def _stop_fighting(self, why: str) -> None:
        """Another rig uses this device_id: say so where the dashboard looks, then leave
        (after the PUBACK: Mosquitto drops a QoS 1 message whose sender left before it)."""
        self.fault = why
        log.error("MQTT sync stopped: %s", why)
        if self.connected.is_set():
            self.connected.clear()  # no more outbox messages on this connection
            payload, props = self._status_payload("error", datetime.now(UTC), why[:300])
            topic = f"{self.prefix}/status"
            info = self._client.publish(topic, payload, qos=1, retain=True, properties=props)
            self._leaving = (info.mid, time.monotonic() + 2.0)

    def _maybe_leave(self, acked_mid: int | None = None) -> None:
        if self._leaving is None:
            return
        mid, deadline = self._leaving
        if acked_mid == mid or time.monotonic() > deadline or self._client.socket() is None:
            self._leaving = None
            self._client.disconnect()

    def _reply(self, msg: mqtt.MQTTMessage, reply: ReplyMessage, topic: str | None = None) -> None:
        props = msg.properties
        topic = topic or getattr(props, "ResponseTopic", None) or f"{self.prefix}/replies"
        extra: dict[str, Any] = {}
        corr = getattr(props, "CorrelationData", None)
        if corr is not None:
            extra["CorrelationData"] = corr
        self._publish_ephemeral(topic, reply, **extra)

    # -- built-in commands --------------------------------------------------------------------

    def _cmd_ping(self, cmd: Any) -> dict[str, Any]:
        return ping_figures(self.outbox, time.monotonic() - self._started_at)

    def _cmd_resend(self, cmd: Any) -> dict[str, Any]:
        since = int(cmd.since_seq)
        count, oldest = self.outbox.requeue_since(since)
        self._cursor = min(self._cursor, since - 1)
        self._dirty = True
        dead = self.outbox.dead_seqs_since(since)
        return {"requeued": count, "oldest_available_seq": oldest, "dead_seqs": dead}
