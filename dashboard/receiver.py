"""The dashboard's receiver: every rig's messages into the store, none lost, none twice.

A fixed client id and a persistent session (``clean_start=False``, a session expiry) make the
broker keep QoS 1 messages while the dashboard is down. Each message is validated with the
contract's models (sync/models.py) and stored in one transaction before paho acknowledges
it; a message whose ``message_id`` is stored already is dropped; one that does not parse,
does not match its model or is too large goes to the dead-letter table with the reason.
A healer thread watches each rig's ``seq``: a gap (or a tail the rig's telemetry says
exists) still open after ``gap_grace_s`` is asked for again with the rig's ``resend``
command; seqs the rig answers are dead-lettered or pruned are marked lost, not awaited,
and so is the seq of a message refused here (its dead letter keeps it). A refused message
a resend brings again is kept once (its dead letter counts the arrivals).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from dashboard.client import DEFAULT_PREFIX, Subscriber
from dashboard.store import Store
from dashboard.watch import DeviceView
from dermocap.errors import SiteKeyError, StorageError
from dermocap.sitekey import check_subject
from sync.credentials import Credentials
from sync.models import (
    DURABLE_CHANNELS,
    EPHEMERAL_CHANNELS,
    Message,
    StatusMessage,
    TelemetryMessage,
    validate_message_json,
)

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "dermocap-dashboard"


class Receiver(Subscriber):
    """Subscribes to every rig and keeps what they send in ``store``.

    ``on_stored(device_id, channel, message)`` is called (paho's thread, after the commit)
    for each newly stored durable message; the demo uses it to time results.
    """

    def __init__(
        self,
        host: str,
        port: int,
        store: Store,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        prefix: str = DEFAULT_PREFIX,
        credentials: Credentials | None = None,
        session_expiry_s: int = 7 * 86400,
        max_message_bytes: int = 2 << 20,
        gap_grace_s: float = 2.0,
        on_raw: Callable[[str, bytes], None] | None = None,
        on_stored: Callable[[str, str, object], None] | None = None,
    ) -> None:
        super().__init__(
            host,
            port,
            client_id=client_id,
            prefix=prefix,
            credentials=credentials,
            session_expiry_s=session_expiry_s,
            clean_start=False,
            on_raw=on_raw,
        )
        self.store = store
        self.max_message_bytes = max_message_bytes
        self.gap_grace_s = gap_grace_s
        self._on_stored = on_stored
        self.views: dict[str, DeviceView] = {}
        self.stored = 0
        self.duplicates = 0
        self.dead = 0  # messages refused, each arrival (a resend brings one again)
        self.resends = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._healer: threading.Thread | None = None
        seen, lost = store.seen_seqs(), store.lost()
        for dev in set(seen) | set(lost):
            view = self._view(dev)
            view.known_dead |= lost.get(dev, set())
            for s in sorted(seen.get(dev, ())):
                view.see(s)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe, and start healing gaps.

        Raises:
            SyncError: not subscribed within ``timeout_s``.
        """
        super().start(timeout_s)
        self._stop.clear()
        self._healer = threading.Thread(target=self._heal_loop, name="dashboard-heal", daemon=True)
        self._healer.start()
        self._wake.set()  # gaps left from the last run

    def close(self) -> None:
        """Stop healing and disconnect; idempotent. The store stays open (its owner closes it)."""
        self._stop.set()
        self._wake.set()
        if self._healer is not None:
            self._healer.join(10)
            self._healer = None
        super().close()

    # -- queries ----------------------------------------------------------------------------

    def missing(self) -> dict[str, list[int]]:
        """Seqs still missing, per rig."""
        with self._lock:
            return {d: sorted(v.missing) for d, v in self.views.items() if v.missing}

    def _view(self, device_id: str) -> DeviceView:
        view = self.views.get(device_id)
        if view is None:
            # The dashboard is the clinic's record: every rig's history counts from seq 1.
            view = self.views[device_id] = DeviceView(device_id, low=1, high=0)
        return view

    # -- Subscriber (paho's thread, lock held) ------------------------------------------------

    def _invalid(self, device_id: str, topic: str, payload: bytes, reason: str) -> None:
        self.dead += 1
        # A durable message refused here (say, a field newer than this dashboard) would stay
        # a gap, asked for again and refused again for ever: its seq counts as received (the
        # dead letter keeps it), but only where it was expected, the next seq or one asked
        # for, so that a refused message cannot open gaps up to a seq it merely claims. The
        # store keeps the seq with the dead letter, so a restarted receiver does not ask
        # for it again either.
        doc = _json_object(payload)
        seq = _claimed_seq(doc) if len(payload) <= self.max_message_bytes else None
        split = self.topics.split(topic)
        expected = None
        if seq is not None and split is not None and split[1] in DURABLE_CHANNELS:
            view = self._view(device_id)
            if seq in view.missing or seq == view.high + 1:
                expected = seq
        # A resend from an earlier seq brings a refused message again (the rig's resend has
        # no end, and every durable message from since_seq on comes back): the store keeps
        # one dead letter per message and counts the arrival.
        payload = pseudonymous(payload, doc)
        if self.store.dead_letter(device_id, topic, payload, reason, seq=expected):
            log.warning("dead-lettered a message on %s: %s", topic, reason[:300])
        else:
            log.info("refused again, already a dead letter: a message on %s", topic)
        if expected is not None:
            self._view(device_id).see(expected)

    def _handle(self, device_id: str, channel: str, payload: bytes, msg: mqtt.MQTTMessage) -> None:
        m, text = parse_message(channel, payload, self.max_message_bytes)
        try:
            if isinstance(m, StatusMessage):
                self.store.set_status(device_id, m)
                return
            if isinstance(m, TelemetryMessage):
                self.store.set_telemetry(device_id, m)
                # A tail counts as missing only once the rig's outbox is empty: messages
                # still queued there are on their way, and asking again would only resend
                # what the broker already holds for us.
                if m.outbox_depth == 0 and self._view(device_id).expect_up_to(m.last_seq):
                    self._wake.set()
                return
            outcome = self.store.add_durable(device_id, channel, m, raw=text)  # type: ignore[arg-type]
        except StorageError:
            # Not stored and not acknowledged would stall the session: stop here loudly; the
            # broker keeps the message for the next start.
            log.exception("the store failed: the dashboard stops receiving")
            raise
        # A duplicate's seq is stored too (say, by `dermocap dashboard reimport` while this
        # receiver still waited for it): not seeing it would ask the rig for it for ever.
        if outcome.seq is not None and self._view(device_id).see(outcome.seq):
            self._wake.set()
        if not outcome.stored:
            self.duplicates += 1
            return
        self.stored += 1
        if outcome.image is not None and not outcome.image["ok"]:
            log.warning("image %s of capture %s failed its SHA-256", outcome.image["name"],
                        outcome.image["capture_id"])  # fmt: skip
        if self._on_stored is not None:
            self._on_stored(device_id, channel, m)

    # -- healing (its own thread: a command's reply arrives on paho's thread) -----------------

    def _heal_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(max(self.gap_grace_s, 1.0) * 5)
            self._wake.clear()
            if self._stop.wait(self.gap_grace_s):
                return
            for device_id, missing in self.missing().items():
                if self._stop.is_set():
                    return
                try:
                    self._ask(device_id, missing)
                except Exception:  # a bad reply must not end healing for every rig
                    log.exception("resend request to %s failed", device_id)

    def _ask(self, device_id: str, missing: list[int]) -> None:
        since = missing[0]
        self.resends += 1
        log.info("asking %s to resend from seq %d (%d missing)", device_id, since, len(missing))
        reply = self.command(device_id, "resend", {"since_seq": since}, timeout_s=5.0)
        if reply is None or not reply.ok:
            self._wake.set()  # offline or refused: try again later
            return
        dead = [int(s) for s in reply.data.get("dead_seqs", [])]
        oldest = reply.data.get("oldest_available_seq")
        pruned = [s for s in missing if oldest is None or s < int(oldest)]
        with self._lock:
            view = self._view(device_id)
            for seqs, reason in ((dead, "refused by the broker (dead letter on the rig)"),
                                 (pruned, "pruned from the rig's outbox")):  # fmt: skip
                seqs = [s for s in seqs if s in view.missing or s not in view.seqs]
                if seqs:
                    view.known_dead.update(seqs)
                    view.missing.difference_update(seqs)
                    self.store.mark_lost(device_id, seqs, reason)
        self._wake.set()  # check again after the grace time


def parse_message(channel: str, payload: bytes, max_message_bytes: int) -> tuple[Message, str]:
    """One rig message validated as the receiver takes it: its model and its JSON text.

    The receiver and ``dermocap dashboard reimport`` (dashboard/reimport.py) both take a
    message through here, so a dead letter is judged again by exactly the receiver's rules.

    Raises:
        ValueError: ``channel`` is not in the contract, the payload is over
            ``max_message_bytes`` or not UTF-8.
        InvalidMessage: not JSON, or not matching the channel's model (a ValueError too).
    """
    model = DURABLE_CHANNELS.get(channel) or EPHEMERAL_CHANNELS.get(channel)
    if model is None:
        raise ValueError(f"no channel {channel!r} in the contract")
    if len(payload) > max_message_bytes:
        raise ValueError(f"oversize: {len(payload)} bytes > {max_message_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc}") from None
    return validate_message_json(model, text), text


REMOVED_SUBJECT = "[removed: not a pseudonymous id]"


def _json_object(payload: bytes) -> dict[str, Any] | None:
    """A refused payload read as a JSON object, or None (not JSON, not UTF-8, not an object)."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def pseudonymous(payload: bytes, doc: dict[str, Any] | None) -> bytes:
    """``payload`` (``doc``: it as a JSON object, :func:`_json_object`) as a dead letter may
    keep it: an object whose ``subject`` is not a pseudonymous id (a name, say, from a broken
    or forged rig: the rig refuses one where it is entered) has it replaced by
    :data:`REMOVED_SUBJECT`, so that no name is stored; anything else as it came. The same
    payload gives the same bytes, so a resent copy still meets its dead letter, and the
    replaced id still fails the rule if the message is taken again."""
    if doc is None or doc.get("subject") is None:
        return payload
    subject = doc["subject"]
    if isinstance(subject, str):
        try:
            check_subject(subject)
            return payload
        except SiteKeyError:
            pass
    return json.dumps({**doc, "subject": REMOVED_SUBJECT}, separators=(",", ":")).encode()


def _claimed_seq(doc: dict[str, Any] | None) -> int | None:
    """The ``seq`` a refused payload says it has, if it is a JSON object with a positive
    integer one."""
    seq = None if doc is None else doc.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1 else None
