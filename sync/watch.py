"""Reference dashboard-side subscriber behind ``dermocap watch --broker HOST:PORT``.

It shows a live table of results, drops duplicates by ``message_id``, reports ``seq`` gaps
(and can ask the rig to resend them), reassembles images and checks their SHA-256. Tests
and the benchmark use :class:`Watcher` as the dashboard.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel

from dermocap.errors import SyncError
from dermocap.ids import uuid7
from dermocap.resource import Startable
from sync.credentials import Credentials
from sync.images import AssembledImage, ImageAssembler
from sync.models import (
    DURABLE_CHANNELS,
    EPHEMERAL_CHANNELS,
    ImageChunkMessage,
    ImageManifestMessage,
    InvalidMessage,
    ReplyMessage,
    ResultMessage,
    StatusMessage,
    TelemetryMessage,
    validate_message,
)
from sync.wire import new_properties

log = logging.getLogger(__name__)


@dataclass
class DeviceView:
    """What the dashboard knows of one rig."""

    device_id: str
    seqs: set[int] = field(default_factory=set)
    message_ids: set[str] = field(default_factory=set)
    seq_conflicts: int = 0
    """Durable messages with a seq already seen under another message_id: a second client
    publishing as this rig (two rigs with one device_id, or a forger)."""
    missing: set[int] = field(default_factory=set)
    known_dead: set[int] = field(default_factory=set)
    low: int | None = None
    high: int = 0
    results: dict[str, ResultMessage] = field(default_factory=dict)
    events: int = 0
    status: StatusMessage | None = None
    telemetry: TelemetryMessage | None = None

    def see(self, seq: int) -> list[int]:
        """Record ``seq``; returns seqs newly found missing."""
        self.seqs.add(seq)
        self.missing.discard(seq)
        new: list[int] = []
        if self.low is None:
            self.low, self.high = seq, seq - 1
        if seq < self.low:
            new += range(seq + 1, self.low)
            self.low = seq
        if seq > self.high:
            new += range(self.high + 1, seq)
            self.high = seq
        return self._add_missing(new)

    def expect_up_to(self, last_seq: int) -> list[int]:
        """The rig says it has assigned seqs up to ``last_seq``: any not seen are missing."""
        if self.low is None:
            return []
        return self._add_missing(range(self.high + 1, last_seq + 1))

    def _add_missing(self, seqs: Iterable[int]) -> list[int]:
        new = [s for s in seqs if s not in self.seqs and s not in self.known_dead]
        self.missing.update(new)
        return new


class Watcher(Startable):
    """Subscribes to every rig under ``prefix`` (a template with ``{device_id}``).

    ``on_line`` receives the live-table lines; ``on_raw(topic, payload)`` sees every
    message before it is parsed (the tests check each against the AsyncAPI schemas).
    ``from_seq`` (1 for a dashboard that saw every rig from its first message) makes
    seqs from there on count as expected; by default the first seq seen is the start.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        prefix: str = "dermocap/v1/{device_id}",
        credentials: Credentials | None = None,
        images_dir: Path | None = None,
        client_id: str | None = None,
        session_expiry_s: int = 3600,
        on_line: Callable[[str], None] | None = None,
        on_raw: Callable[[str, bytes], None] | None = None,
        from_seq: int | None = None,
    ) -> None:
        self.host, self.port = host, port
        parts = prefix.rstrip("/").split("/")
        if "{device_id}" not in parts:
            raise SyncError(f"prefix {prefix!r} must have a {{device_id}} level")
        self._dev_index = parts.index("{device_id}")
        self._depth = len(parts)
        self._filter = "/".join("+" if p == "{device_id}" else p for p in parts) + "/#"
        self.client_id = client_id or f"dermocap-watch-{uuid7().hex[:12]}"
        self.devices: dict[str, DeviceView] = {}
        self.images = ImageAssembler(images_dir)
        self.image_results: list[AssembledImage] = []
        self.duplicates = 0
        self.invalid = 0
        self.received = 0
        self._on_line = on_line or (lambda line: None)
        self._on_raw = on_raw
        self._from_seq = from_seq
        self._lock = threading.Condition()
        self._replies: dict[bytes, ReplyMessage] = {}
        self._subscribed = threading.Event()
        self._prefix = prefix
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        creds = credentials or Credentials()
        if creds.username:
            self._client.username_pw_set(creds.username, creds.password)
        ctx = creds.ssl_context()
        if ctx is not None:
            self._client.tls_set_context(ctx)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._session_expiry_s = session_expiry_s
        self._started = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect (persistent session) and wait for the subscription.

        Raises:
            SyncError: not subscribed within ``timeout_s``.
        """
        props = new_properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        self._client.reconnect_delay_set(1, 2)
        self._client.connect_async(
            self.host, self.port, keepalive=15, clean_start=False, properties=props
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

    # -- queries ----------------------------------------------------------------------------

    def device(self, device_id: str) -> DeviceView:
        """The view of ``device_id`` (created empty if unseen)."""
        with self._lock:
            return self._view(device_id)

    def _view(self, device_id: str) -> DeviceView:
        view = self.devices.get(device_id)
        if view is None:
            view = self.devices[device_id] = DeviceView(device_id)
            if self._from_seq is not None:
                view.low, view.high = self._from_seq, self._from_seq - 1
        return view

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
        """Send a command with ResponseTopic + CorrelationData; returns the reply or None."""
        corr = uuid7().bytes
        props = new_properties(PacketTypes.PUBLISH)
        # Replies come back under the rig's own prefix, which a broker ACL lets it write.
        base = self._prefix.replace("{device_id}", device_id).rstrip("/")
        props.ResponseTopic = f"{base}/replies/{self.client_id}"
        props.CorrelationData = corr
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        topic = f"{base}/cmd/{name}"
        self._client.publish(topic, data, qos=1, retain=retain, properties=props)
        with self._lock:
            self._lock.wait_for(lambda: corr in self._replies, timeout_s)
            return self._replies.pop(corr, None)

    def heal(self, device_id: str, timeout_s: float = 10.0) -> bool:
        """Ask the rig to resend from the first missing seq until no gap is left.

        A ping first learns the rig's last seq, so a lost tail counts as a gap too.
        """
        deadline = time.monotonic() + timeout_s
        view = self.device(device_id)
        ping = self.command(device_id, "ping", {})
        if ping is not None and ping.ok:
            with self._lock:
                view.expect_up_to(int(ping.data.get("last_seq", 0)))
        while True:
            with self._lock:
                missing = sorted(view.missing)
            if not missing:
                return True
            if time.monotonic() > deadline:
                return False
            reply = self.command(device_id, "resend", {"since_seq": missing[0]})
            if reply is not None and reply.ok:
                with self._lock:
                    dead = set(reply.data.get("dead_seqs", []))
                    view.known_dead |= dead
                    view.missing -= dead
            wanted = set(missing)
            self.wait_for(lambda w=wanted: not (view.missing & w), 2.0)  # type: ignore[misc]

    # -- paho callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, u: Any, f: Any, reason: ReasonCode, p: Properties | None
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the watcher: %s", reason)
            return
        client.subscribe(self._filter, 1)

    def _on_subscribe(
        self, client: mqtt.Client, u: Any, mid: int, reasons: list[ReasonCode], p: Any
    ) -> None:
        if not any(r.is_failure for r in reasons):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._on_raw is not None:
            self._on_raw(msg.topic, bytes(msg.payload))
        with self._lock:
            try:
                self._handle(msg)
            except (InvalidMessage, ValueError) as exc:
                self.invalid += 1
                log.warning("invalid message on %s: %s", msg.topic, exc)
            finally:
                self._lock.notify_all()

    def _handle(self, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) <= self._depth:
            return
        device_id = parts[self._dev_index]
        channel = "/".join(parts[self._depth :])
        if channel == f"replies/{self.client_id}":
            reply = validate_message(ReplyMessage, json.loads(msg.payload))
            corr = getattr(msg.properties, "CorrelationData", None)
            if corr is not None:
                self._replies[bytes(corr)] = reply
            return
        view = self._view(device_id)
        model: type[BaseModel] | None = DURABLE_CHANNELS.get(channel) or EPHEMERAL_CHANNELS.get(
            channel
        )
        if model is None:
            return  # commands, replies of others
        self.received += 1
        m = validate_message(model, json.loads(msg.payload))
        if isinstance(m, StatusMessage):
            view.status = m
            detail = f": {m.detail}" if m.detail else ""
            self._on_line(f"{device_id:<12} status {m.state}{detail}")
            return
        if isinstance(m, TelemetryMessage):
            view.telemetry = m
            return
        # A duplicate is the same message_id (a resend keeps its id); the same seq under a
        # new id is another publisher, kept and reported, never silently dropped.
        message_id = str(getattr(m, "message_id", ""))
        if message_id in view.message_ids:
            self.duplicates += 1
            return
        view.message_ids.add(message_id)
        seq = int(getattr(m, "seq", 0) or 0)
        if seq in view.seqs:
            view.seq_conflicts += 1
            self._on_line(
                f"{device_id:<12} CONFLICT seq {seq} again under another message_id: "
                "another client publishes as this rig (two rigs with one device_id?)"
            )
        new_gaps = view.see(seq)
        if new_gaps:
            self._on_line(f"{device_id:<12} GAP   missing seq {_ranges(new_gaps)}")
        if isinstance(m, ResultMessage):
            view.results[m.capture_id] = m
            self._on_line(_result_line(device_id, m))
        elif isinstance(m, ImageManifestMessage):
            self._image_done(device_id, self.images.add_manifest(m))
        elif isinstance(m, ImageChunkMessage):
            self._image_done(device_id, self.images.add_chunk(m))
        else:
            view.events += 1

    def _image_done(self, device_id: str, img: AssembledImage | None) -> None:
        if img is None:
            return
        self.image_results.append(img)
        verdict = "ok" if img.ok else "SHA-256 MISMATCH"
        self._on_line(f"{device_id:<12} image {img.name} {len(img.data)} bytes {verdict}")


def _ranges(seqs: list[int]) -> str:
    seqs = sorted(seqs)
    out: list[str] = []
    start = prev = seqs[0]
    for s in [*seqs[1:], None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if s is not None:
            start = prev = s
    return ", ".join(out)


HEADER = f"{'device':<12} {'seq':>6}  {'subject':<10} {'site':<10} {'visit':<9} density  QC"


def _result_line(device_id: str, m: ResultMessage) -> str:
    qc = "pass" if m.qc.passed else "FAIL"
    return (
        f"{device_id:<12} {m.seq or 0:>6}  {m.subject:<10} {m.site:<10} {m.visit:<9} "
        f"{m.metrics.density_per_cm2:7.1f}  {qc}"
    )


def _parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--broker must be HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    """The ``dermocap watch`` options."""
    p = argparse.ArgumentParser(prog="dermocap watch", description=__doc__)
    p.add_argument("--broker", required=True, type=_parse_broker, help="HOST:PORT")
    p.add_argument("--prefix", default="dermocap/v1/{device_id}", help="topic prefix template")
    p.add_argument("--username-file", type=Path, help="file holding the MQTT username")
    p.add_argument("--password-file", type=Path, help="file holding the MQTT password")
    p.add_argument("--ca-file", type=Path, help="CA certificate: enables TLS")
    p.add_argument("--cert-file", type=Path, help="client certificate (TLS)")
    p.add_argument("--key-file", type=Path, help="client key (TLS)")
    p.add_argument("--images-dir", type=Path, help="write verified images here")
    p.add_argument("--count", type=int, default=0, help="exit after this many results")
    p.add_argument("--duration", type=float, default=0.0, help="exit after this many seconds")
    p.add_argument("--resend-gaps", action="store_true", help="ask rigs to resend gaps")
    return p


def _read(path: Path | None) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path else None


def watch_main(argv: list[str], out: TextIO | None = None) -> int:
    """Run the watcher; returns 0, 1 when it cannot connect, 2 on bad arguments."""
    stream = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    host, port = args.broker
    creds = Credentials(
        username=_read(args.username_file),
        password=_read(args.password_file),
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        tls=args.ca_file is not None,
    )

    def emit(line: str) -> None:
        print(line, file=stream, flush=True)

    watcher = Watcher(
        host, port, prefix=args.prefix, credentials=creds, images_dir=args.images_dir,
        client_id=f"dermocap-watch-{os.getpid()}", on_line=emit,
    )  # fmt: skip
    try:
        watcher.start()
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit(HEADER)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            total = sum(len(v.results) for v in watcher.devices.values())
            if args.count and total >= args.count:
                break
            time.sleep(0.2)
            if args.resend_gaps:
                for dev in list(watcher.devices):
                    if watcher.devices[dev].missing:
                        watcher.heal(dev, timeout_s=5.0)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.close()
    total = sum(len(v.results) for v in watcher.devices.values())
    gaps = sum(len(v.missing) for v in watcher.devices.values())
    conflicts = sum(v.seq_conflicts for v in watcher.devices.values())
    emit(
        f"-- {total} results, {watcher.duplicates} duplicates dropped, {gaps} seqs missing"
        + (f", {conflicts} seq conflicts" if conflicts else "")
    )
    return 0
