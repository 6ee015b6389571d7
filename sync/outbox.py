"""Durable outbox: SQLite (WAL, synchronous=FULL) holding every message until its PUBACK.

A capture record and its result message are written in one transaction, so a result can
never exist without its record nor a record without its result. Each message gets a
per-device ``seq`` (AUTOINCREMENT: never reused, even after rows are deleted) and a UUIDv7
``message_id``; both are stamped into the stored payload, so a resend is byte-identical.

Rows are ``pending`` until acknowledged, then ``acked`` (kept ``acked_retention`` for the
dashboard's resend command, then pruned). A message the broker refuses moves to
``dead_letters`` with its reason code. Unsent rows are never deleted to make room.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from dermocap.errors import DiskFullError, StorageError, SyncError
from dermocap.fsutil import sha256_file
from dermocap.ids import uuid7
from sync.models import (
    DURABLE_CHANNELS,
    InvalidMessage,
    content_type,
    validate_message,
)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE captures (
    capture_id TEXT PRIMARY KEY,
    record     TEXT NOT NULL,
    created    REAL NOT NULL
);
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created    REAL NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'acked')),
    acked      REAL,
    ref        TEXT
);
CREATE INDEX outbox_state_seq ON outbox (state, seq);
CREATE TABLE dead_letters (
    seq         INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL,
    topic       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created     REAL NOT NULL,
    attempts    INTEGER NOT NULL,
    reason_code INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    dead_at     REAL NOT NULL
);
"""

_KINDS = {
    "results": "result",
    "events": "event",
    "images/manifest": "image_manifest",
    "images/chunk": "image_chunk",
}
_MIN_FREE_BYTES = 8 << 20  # SQLite needs room for its WAL and a checkpoint


@dataclass(frozen=True)
class OutboxEntry:
    """One stored message. ``topic`` is the suffix after the device's topic prefix.

    ``ref`` is set on image chunks only: the file their bytes are read from at send time
    (the payload then holds ``image_id``, ``offset`` and ``length`` but no data).
    """

    seq: int
    message_id: str
    topic: str
    payload: bytes
    kind: str
    created: float
    attempts: int
    ref: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A message the broker (or the size check) refused, with the MQTT reason code."""

    seq: int
    message_id: str
    topic: str
    kind: str
    reason_code: int
    reason: str
    dead_at: float


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class Outbox:
    """The outbox database at ``path``; thread-safe (one connection behind a lock).

    ``now`` returns Unix time in seconds (``created`` and ages use it).

    Raises:
        SyncError: the file was written by a newer schema, or is not a database.
        StorageError: the folder or file cannot be opened.
    """

    def __init__(self, path: Path, *, now: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = now
        self._lock = threading.RLock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the outbox {self.path}: {exc}") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SyncError(
                f"{self.path} is not a usable outbox database ({exc}); move it aside and "
                "restart the service"
            ) from exc
        except BaseException:
            self._db.close()
            raise

    # -- lifecycle --------------------------------------------------------------------------

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise SyncError(
                f"{self.path} has outbox schema {version}, newer than this software "
                f"({SCHEMA_VERSION}); update dermocap"
            )
        if version == 0:
            with self._tx():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database; safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise SyncError("the outbox is closed")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    raise DiskFullError(
                        f"the disk holding {self.path} is full: free space or move old "
                        "captures off the device"
                    ) from exc
                raise StorageError(f"outbox {self.path}: {exc}") from exc

    # -- writing ----------------------------------------------------------------------------

    def _insert(self, db: sqlite3.Connection, topic: str, payload: dict[str, Any]) -> int:
        model = DURABLE_CHANNELS.get(topic)
        if model is None:
            raise InvalidMessage(f"no durable channel {topic!r}; use one of {list(_KINDS)}")
        message_id = str(uuid7())
        cur = db.execute(
            "INSERT INTO outbox (message_id, topic, payload, kind, created, state) "
            "VALUES (?, ?, '', ?, ?, 'pending')",
            (message_id, topic, _KINDS[topic], self._now()),
        )
        seq = int(cur.lastrowid or 0)
        msg = validate_message(model, {**payload, "message_id": message_id, "seq": seq})
        db.execute(
            "UPDATE outbox SET payload = ? WHERE seq = ?",
            (_dumps(msg.model_dump(mode="json")), seq),
        )
        return seq

    def _entry(self, db: sqlite3.Connection, seq: int) -> OutboxEntry:
        row = db.execute(
            "SELECT seq, message_id, topic, payload, kind, created, attempts, ref "
            "FROM outbox WHERE seq = ?",
            (seq,),
        ).fetchone()
        return _row_entry(row)

    def add_capture(
        self,
        capture_id: str,
        record: dict[str, Any],
        result_payload: dict[str, Any],
        *,
        budget_bytes: int | None = None,
        image: tuple[Path, int] | None = None,
        related: Iterable[tuple[str, dict[str, Any]]] = (),
    ) -> OutboxEntry:
        """Store a capture record and its result message in one transaction.

        ``result_payload`` holds the :class:`~sync.models.ResultMessage` fields except
        ``message_id``, ``seq`` and ``capture_id``. ``image`` (path, chunk size in bytes)
        also queues that file's transfer in the same transaction. ``related`` are
        ``(capture_id, record)`` pairs of captures settled by this result (the other
        lighting modes of the same site), stored in the same transaction.

        Raises:
            DiskFullError: the outbox is over ``budget_bytes`` (nothing is stored).
            InvalidMessage: the result does not match its model (nothing is stored).
            SyncError: ``capture_id`` was stored before.
        """
        if budget_bytes is not None:
            self.ensure_room(budget_bytes)
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO captures (capture_id, record, created) VALUES (?, ?, ?)",
                    (capture_id, _dumps(record), self._now()),
                )
                self._keep_records(db, related)
                seq = self._insert(db, "results", {**result_payload, "capture_id": capture_id})
                if image is not None:
                    self._add_image(db, capture_id, image[0], image[1])
                return self._entry(db, seq)
        except sqlite3.IntegrityError as exc:
            raise SyncError(f"capture {capture_id} is already in the outbox") from exc

    def settle(
        self, records: Iterable[tuple[str, dict[str, Any]]], event: dict[str, Any] | None = None
    ) -> OutboxEntry | None:
        """Store capture records that get no result (QC failed, cancelled) in one transaction.

        A settled capture is known to the outbox, so crash recovery leaves it alone.
        ``event`` (an ``events`` payload) is queued in the same transaction. Storing a
        capture id a second time changes nothing.
        """
        with self._tx() as db:
            self._keep_records(db, records)
            return None if event is None else self._entry(db, self._insert(db, "events", event))

    def _keep_records(
        self, db: sqlite3.Connection, records: Iterable[tuple[str, dict[str, Any]]]
    ) -> None:
        """Store capture records without a result of their own; a known id is left as it is."""
        now = self._now()
        db.executemany(
            "INSERT OR IGNORE INTO captures (capture_id, record, created) VALUES (?, ?, ?)",
            [(cid, _dumps(rec), now) for cid, rec in records],
        )

    def capture_ids(self) -> set[str]:
        """Every capture id the outbox holds a record of (analysed or settled)."""
        with self._lock:
            rows = self._db.execute("SELECT capture_id FROM captures").fetchall()
        return {str(r[0]) for r in rows}

    def enqueue(self, topic_suffix: str, payload: dict[str, Any]) -> OutboxEntry:
        """Queue a durable message (``events`` and the like) without a capture record.

        Raises:
            InvalidMessage: unknown channel, or the payload does not match its model.
        """
        with self._tx() as db:
            return self._entry(db, self._insert(db, topic_suffix, payload))

    def add_image(self, capture_id: str, path: Path, chunk_bytes: int) -> OutboxEntry:
        """Queue the transfer of another image of a stored capture (its overlay), alone.

        The result's own images go with it in :meth:`add_capture`. Returns the manifest
        entry.

        Raises:
            StorageError: the file cannot be read.
        """
        with self._tx() as db:
            return self._entry(db, self._add_image(db, capture_id, path, chunk_bytes))

    def _add_image(self, db: sqlite3.Connection, capture_id: str, path: Path, chunk: int) -> int:
        """Queue the transfer of an image file: a manifest, then one row per chunk.

        The chunk rows hold no bytes: the file is read when each chunk is sent, so keep it
        until the transfer is acknowledged.

        Raises:
            StorageError: the file cannot be read.
        """
        path = Path(path).resolve()
        try:
            digest = sha256_file(path)
            size = path.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot read image {path}: {exc.strerror or exc}") from exc
        image_id = str(uuid7())
        manifest = {
            "image_id": image_id,
            "capture_id": capture_id,
            "name": path.name,
            "content_type": content_type(path.name),
            "size_bytes": size,
            "sha256": digest,
            "chunk_bytes": chunk,
            "chunks": -(-size // chunk),
        }
        seq = self._insert(db, "images/manifest", manifest)
        for offset in range(0, size, chunk):
            body = {"image_id": image_id, "offset": offset, "length": min(chunk, size - offset)}
            db.execute(
                "INSERT INTO outbox (message_id, topic, payload, kind, created, state, ref) "
                "VALUES (?, 'images/chunk', ?, 'image_chunk', ?, 'pending', ?)",
                (str(uuid7()), _dumps(body), self._now(), str(path)),
            )
        return seq

    # -- the publisher's side ---------------------------------------------------------------

    def pending(self, limit: int, after_seq: int = 0) -> list[OutboxEntry]:
        """Up to ``limit`` unacknowledged messages with seq above ``after_seq``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, message_id, topic, payload, kind, created, attempts, ref "
                "FROM outbox WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [_row_entry(r) for r in rows]

    def mark_acked(self, seq: int) -> None:
        """The broker acknowledged ``seq`` with a success reason code."""
        self.record_outcomes(acked=[seq])

    def record_outcomes(
        self,
        *,
        sent: Iterable[int] = (),
        acked: Iterable[int] = (),
        dead: Iterable[tuple[int, int, str]] = (),
    ) -> None:
        """Apply a batch of send attempts, acknowledgements and refusals in one commit."""
        now = self._now()
        sent, acked, dead = list(sent), list(acked), list(dead)
        if not (sent or acked or dead):
            return
        with self._tx() as db:
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [(s,) for s in sent]
            )
            db.executemany(
                "UPDATE outbox SET state = 'acked', acked = ? WHERE seq = ? AND state = 'pending'",
                [(now, s) for s in acked],
            )
            for seq, code, reason in dead:
                db.execute(
                    "INSERT OR REPLACE INTO dead_letters (seq, message_id, topic, payload, kind, "
                    "created, attempts, reason_code, reason, dead_at) SELECT seq, message_id, "
                    "topic, payload, kind, created, attempts, ?, ?, ? FROM outbox WHERE seq = ?",
                    (code, reason[:500], now, seq),
                )
                db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def since(self, seq: int) -> list[OutboxEntry]:
        """Every stored message (acknowledged or not) from ``seq`` on, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, message_id, topic, payload, kind, created, attempts, ref "
                "FROM outbox WHERE seq >= ? ORDER BY seq",
                (seq,),
            ).fetchall()
        return [_row_entry(r) for r in rows]

    def requeue_since(self, seq: int) -> tuple[int, int | None]:
        """Mark every acknowledged message from ``seq`` on as pending again (a resend).

        Returns (how many were requeued, the oldest seq still stored or None).
        """
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET state = 'pending' WHERE seq >= ? AND state = 'acked'", (seq,)
            )
            (oldest,) = db.execute("SELECT MIN(seq) FROM outbox").fetchone()
            return cur.rowcount, oldest

    def prune_acked(self, older_than_s: float = 0.0) -> int:
        """Delete acknowledged messages acknowledged more than ``older_than_s`` ago."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM outbox WHERE state = 'acked' AND acked <= ?",
                (self._now() - older_than_s,),
            )
            return cur.rowcount

    # -- figures ----------------------------------------------------------------------------

    def _scalar(self, sql: str, *args: Any) -> Any:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def depth(self) -> int:
        """Messages not yet acknowledged."""
        return int(self._scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'"))

    def oldest_unsent_age_s(self) -> float | None:
        """Seconds since the oldest unacknowledged message was queued; None if none."""
        created = self._scalar("SELECT MIN(created) FROM outbox WHERE state = 'pending'")
        return None if created is None else max(0.0, self._now() - float(created))

    def dead_letter_count(self) -> int:
        """Messages refused by the broker, kept for inspection."""
        return int(self._scalar("SELECT COUNT(*) FROM dead_letters"))

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, message_id, topic, kind, reason_code, reason, dead_at "
                "FROM dead_letters ORDER BY seq"
            ).fetchall()
        return [DeadLetter(*r) for r in rows]

    def dead_seqs_since(self, seq: int, limit: int = 1000) -> list[int]:
        """Seqs from ``seq`` on that were dead-lettered: a dashboard must not wait for them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq FROM dead_letters WHERE seq >= ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def last_seq(self) -> int:
        """Highest seq ever assigned (0 before the first message)."""
        value = self._scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        return int(value or 0)

    def capture_record(self, capture_id: str) -> dict[str, Any] | None:
        """The stored record of a capture, or None."""
        raw = self._scalar("SELECT record FROM captures WHERE capture_id = ?", capture_id)
        return None if raw is None else dict(json.loads(raw))

    def used_bytes(self) -> int:
        """Bytes of the database in use (free pages excluded)."""
        with self._lock:
            (pages,) = self._db.execute("PRAGMA page_count").fetchone()
            (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
            (size,) = self._db.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * size)

    def ensure_room(self, budget_bytes: int) -> None:
        """Refuse new captures when the outbox is over budget or the disk nearly full.

        Acknowledged messages are pruned first; unsent ones are never deleted.

        Raises:
            DiskFullError: with a message the technician can act on.
        """
        free = shutil.disk_usage(self.path.parent).free
        if free < _MIN_FREE_BYTES:
            raise DiskFullError(
                f"only {free >> 20} MB free on the disk of {self.path.parent}: "
                "move old captures off the device before capturing again"
            ) from OSError(errno.ENOSPC, "disk nearly full")
        if self.used_bytes() < budget_bytes:
            return
        self.prune_acked(0.0)
        used = self.used_bytes()
        if used >= budget_bytes:
            raise DiskFullError(
                f"{self.depth()} results are waiting to be sent ({used >> 20} MB, budget "
                f"{budget_bytes >> 20} MB): connect the rig to the clinic network so they can "
                "sync, then capture again"
            )


def _row_entry(row: tuple[Any, ...]) -> OutboxEntry:
    seq, message_id, topic, payload, kind, created, attempts, ref = row
    return OutboxEntry(
        seq=int(seq),
        message_id=str(message_id),
        topic=str(topic),
        payload=str(payload).encode("utf-8"),
        kind=str(kind),
        created=float(created),
        attempts=int(attempts),
        ref=None if ref is None else str(ref),
    )
