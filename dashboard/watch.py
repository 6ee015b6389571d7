"""The terminal view of the dashboard side, behind ``dermocap watch --broker HOST:PORT``.

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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import paho.mqtt.client as mqtt
from pydantic import BaseModel

from dashboard.client import DEFAULT_PREFIX, Subscriber
from dermocap.errors import SyncError
from dermocap.ids import uuid7
from sync.credentials import Credentials
from sync.images import AssembledImage, ImageAssembler
from sync.models import (
    DURABLE_CHANNELS,
    EPHEMERAL_CHANNELS,
    ImageChunkMessage,
    ImageManifestMessage,
    ResultMessage,
    StatusMessage,
    TelemetryMessage,
    validate_message,
)

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


class Watcher(Subscriber):
    """Keeps, in memory, what every rig under ``prefix`` sent; prints a live table.

    ``on_line`` receives the live-table lines; ``on_raw(topic, payload)`` sees every
    message before it is parsed (the tests check each against the AsyncAPI schemas).
    ``from_seq`` (1 for a dashboard that saw every rig from its first message) makes
    seqs from there on count as expected; by default the first seq seen is the start.
    It keeps nothing on disk: :class:`dashboard.receiver.Receiver` is the one that stores.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        prefix: str = DEFAULT_PREFIX,
        credentials: Credentials | None = None,
        images_dir: Path | None = None,
        client_id: str | None = None,
        session_expiry_s: int = 3600,
        on_line: Callable[[str], None] | None = None,
        on_raw: Callable[[str, bytes], None] | None = None,
        from_seq: int | None = None,
    ) -> None:
        super().__init__(
            host,
            port,
            client_id=client_id or f"dermocap-watch-{uuid7().hex[:12]}",
            prefix=prefix,
            credentials=credentials,
            session_expiry_s=session_expiry_s,
            on_raw=on_raw,
        )
        self.devices: dict[str, DeviceView] = {}
        self.images = ImageAssembler(images_dir)
        self.image_results: list[AssembledImage] = []
        self.duplicates = 0
        self.invalid = 0
        self.received = 0
        self._on_line = on_line or (lambda line: None)
        self._from_seq = from_seq

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

    # -- Subscriber ---------------------------------------------------------------------------

    def _invalid(self, device_id: str, topic: str, payload: bytes, reason: str) -> None:
        self.invalid += 1
        super()._invalid(device_id, topic, payload, reason)

    def _handle(self, device_id: str, channel: str, payload: bytes, msg: mqtt.MQTTMessage) -> None:
        view = self._view(device_id)
        model: type[BaseModel] | None = DURABLE_CHANNELS.get(channel) or EPHEMERAL_CHANNELS.get(
            channel
        )
        if model is None:
            return  # a channel of a newer contract: not ours to show
        self.received += 1
        m = validate_message(model, json.loads(payload))
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
            self._on_line(f"{device_id:<12} GAP   missing seq {ranges(new_gaps)}")
        if isinstance(m, ResultMessage):
            view.results[m.capture_id] = m
            self._on_line(result_line(device_id, m))
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


def ranges(seqs: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
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


HEADER = (
    f"{'device':<12} {'seq':>6}  {'subject':<10} {'site':<10} {'visit':<9} density  QC    review"
)


def result_line(device_id: str, m: ResultMessage) -> str:
    """One row of the live table; a result flagged for review names its reasons' kinds
    (``review`` alone from a rig older than the kinds)."""
    qc = "pass" if m.qc.passed else "FAIL"
    review = (", ".join(m.review_kinds) or "review") if m.review else "-"
    return (
        f"{device_id:<12} {m.seq or 0:>6}  {m.subject:<10} {m.site:<10} {m.visit:<9} "
        f"{m.metrics.density_per_cm2:7.1f}  {qc:<4}  {review}"
    )


def parse_broker(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:1883`` too) for argparse."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--broker must be HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    """The ``dermocap watch`` options."""
    p = argparse.ArgumentParser(prog="dermocap watch", description=__doc__)
    p.add_argument("--broker", required=True, type=parse_broker, help="HOST:PORT")
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
