"""The dashboard's store: every message a rig sent, once, in SQLite (WAL, versioned schema).

One :class:`Store` per process, shared by the receiver (paho's thread) and the web pages
(request threads) behind one lock. Each durable message is written in one transaction keyed
by its ``message_id``: a message seen before changes nothing, and a message is acknowledged
to the broker only after its transaction committed, so a crash loses nothing. Image chunks
wait in the database until the manifest and every chunk are there; the file is then checked
against the manifest's SHA-256 and written atomically as ``{capture_id}-{name}`` under
``images_dir``, in the same transaction that records it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.db import Database, open_database
from dashboard.review import review_items
from dashboard.schema import MIGRATIONS, SCHEMA_VERSION
from dermocap.errors import StorageError
from dermocap.fsutil import atomic_write_bytes
from dermocap.resource import Closeable
from sync.models import (
    DurableMessage,
    EventMessage,
    ImageChunkMessage,
    ImageManifestMessage,
    ResultMessage,
    StatusMessage,
    TelemetryMessage,
)

MAX_DEAD_PAYLOAD_BYTES = 64 * 1024
# The ``lost_seqs`` reason of a seq this dashboard refused (:meth:`Store.dead_letter`): not
# awaited, like a lost one, but not lost either (its dead letter keeps the message), so the
# rigs page counts it apart. A reason rather than a column of its own: no schema change, and
# an older dashboard opened on the same database still reads the seq as one not to await.
REFUSED_HERE = "refused by this dashboard: kept in dead_letters"


@dataclass(frozen=True)
class Outcome:
    """What storing one durable message did."""

    stored: bool  # False: a duplicate (same message_id), nothing changed
    image: dict[str, Any] | None = None  # an image this message completed
    seq: int | None = None  # the seq stored under this message_id (None: another rig's)


@dataclass(frozen=True)
class DeadLetter:
    """A message the dashboard refused, as kept (``payload`` cut at 64 KiB)."""

    id: int
    device_id: str
    topic: str
    reason: str
    size_bytes: int  # of the message as received
    payload: bytes

    @property
    def truncated(self) -> bool:
        """Cut at the keep-limit: the message as received is gone."""
        return self.size_bytes > len(self.payload)


@dataclass(frozen=True)
class Session:
    """A logged-in staff member."""

    username: str
    csrf: str


class Store(Closeable):
    """The database (SQLite at ``path``, or PostgreSQL at ``url``) and the images folder.

    Raises:
        StorageError: the database cannot be opened, or its schema is newer than this code.
    """

    def __init__(self, path: Path, images_dir: Path, *, url: str = "") -> None:
        self.path = Path(path)
        self.images_dir = Path(images_dir)
        self._lock = threading.RLock()
        self._seen_written: dict[str, float] = {}
        self._write_images = True  # False only inside a dry run's transaction
        self._closed = True
        where = url.split("@")[-1] if url else str(self.path)
        try:
            self.images_dir.mkdir(parents=True, exist_ok=True)
            self._db: Database = open_database(self.path, url)
        except (OSError, ValueError, ImportError) as exc:
            raise StorageError(f"dashboard database {where} unusable: {exc}") from exc
        except Exception as exc:  # the driver's own errors (sqlite3.Error, psycopg.Error)
            raise StorageError(f"dashboard database {where} unusable: {exc}") from exc
        try:
            self._migrate(where)
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, self._db.errors):
                raise StorageError(f"dashboard database {where} unusable: {exc}") from exc
            raise
        self._closed = False

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.kind

    def _migrate(self, where: str) -> None:
        version = self._db.version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{where} has schema {version}, newer than this dashboard's "
                f"{SCHEMA_VERSION}: upgrade dermocap"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._lock:
                self._db.run_script(MIGRATIONS[target], target)

    def close(self) -> None:
        """Close the database; idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    @contextlib.contextmanager
    def _tx(self, *, keep: bool = True) -> Iterator[Database]:
        """One transaction; committed at the end (rolled back on an error, or unless
        ``keep``). Inside another ``_tx`` (this thread's: it holds the lock) it joins the
        outer one, which alone commits: there are no savepoints, so an error anywhere
        rolls back the whole."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.begin()
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            if self._db.in_transaction:
                self._db.execute("COMMIT" if keep else "ROLLBACK")

    def _rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            return self._db.rows(sql, args)

    def _scalar(self, sql: str, *args: Any) -> Any:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # -- what the receiver writes -------------------------------------------------------------

    def add_durable(
        self, device_id: str, channel: str, m: DurableMessage, *, raw: str | None = None
    ) -> Outcome:
        """Store one durable message (result, event, image manifest or chunk) exactly once.

        ``raw`` is the JSON as received (already validated into ``m``): a result keeps it
        as its payload instead of serialising ``m`` again.

        Raises:
            ValueError: the rig's seq is already taken by another message (a forgery or a
                replay under this rig's id): the caller dead-letters it.
        """
        seq = int(m.seq or 0)
        with self._tx() as db:
            # ON CONFLICT rather than a look first: another process storing the same message
            # at the same time (`dermocap dashboard reimport` beside `serve`) is waited for
            # by PostgreSQL, and this insert then does nothing instead of failing.
            if (
                db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING "
                    "RETURNING seq",
                    (m.message_id, device_id, seq, channel, time.time()),
                ).fetchone()
                is None
            ):
                same = db.execute(
                    "SELECT device_id, seq FROM messages WHERE message_id = ?", (m.message_id,)
                ).fetchone()
                if same is not None:
                    return Outcome(stored=False, seq=int(same[1]) if same[0] == device_id else None)
                raise ValueError(
                    f"seq {seq} of rig {device_id} already came with another message_id: "
                    "forged or replayed (check the broker's ACLs)"
                )
            db.execute("DELETE FROM lost_seqs WHERE device_id = ? AND seq = ?", (device_id, seq))
            now = time.time()
            if now - self._seen_written.get(device_id, 0.0) >= 1.0:  # "last seen" to 1 s
                db.execute(
                    "INSERT INTO rigs (device_id, last_seen) VALUES (?, ?) "
                    "ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen",
                    (device_id, now),
                )
                self._seen_written[device_id] = now
            image = None
            if isinstance(m, ResultMessage):
                self._add_result(db, device_id, m, raw)
            elif isinstance(m, EventMessage):
                self._add_event(db, device_id, m)
            elif isinstance(m, ImageManifestMessage):
                db.execute(
                    "INSERT INTO image_manifests VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (m.image_id, device_id, m.model_dump_json()),
                )
                image = self._try_finish(db, m.image_id)
            elif isinstance(m, ImageChunkMessage):
                image = self._add_chunk(db, m)
            return Outcome(stored=True, image=image, seq=seq)

    def _add_result(self, db: Database, device_id: str, m: ResultMessage, raw: str | None) -> None:
        other = db.execute(
            "SELECT device_id FROM results WHERE capture_id = ?", (m.capture_id,)
        ).fetchone()
        if other is not None:
            raise ValueError(
                f"capture {m.capture_id} was already sent by rig {other[0]} with another "
                "message_id: forged or replayed"
            )
        db.execute(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.capture_id,
                m.message_id,
                device_id,
                m.seq,
                m.subject,
                m.site,
                m.visit,
                m.captured_at.isoformat(),
                time.time(),
                m.metrics.density_per_cm2,
                1 if getattr(m, "review", None) else 0,  # the field newer rigs send
                raw if raw is not None else m.model_dump_json(),
            ),
        )

    def _add_event(self, db: Database, device_id: str, m: EventMessage) -> None:
        db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.message_id,
                device_id,
                m.seq,
                m.at.isoformat(),
                m.type,
                m.capture_id,
                m.subject,
                m.site,
                m.detail,
                json.dumps(m.data),
            ),
        )
        if m.type in ("error", "capture_unrecoverable", "capture_incomplete"):
            db.execute(
                "UPDATE rigs SET last_error = ?, last_error_at = ? WHERE device_id = ?",
                (f"{m.type}: {m.detail}"[:500], m.at.isoformat(), device_id),
            )

    def _add_chunk(self, db: Database, c: ImageChunkMessage) -> dict[str, Any] | None:
        if db.execute("SELECT 1 FROM images WHERE image_id = ?", (c.image_id,)).fetchone():
            return None
        data = base64.b64decode(c.data_b64, validate=True)
        if len(data) != c.length or hashlib.sha256(data).hexdigest() != c.sha256:
            raise ValueError(f"chunk at {c.offset} of image {c.image_id} fails its SHA-256")
        db.execute(
            "INSERT INTO image_chunks VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (c.image_id, c.offset, data),
        )
        return self._try_finish(db, c.image_id)

    def _try_finish(self, db: Database, image_id: str) -> dict[str, Any] | None:
        row = db.execute(
            "SELECT device_id, payload FROM image_manifests WHERE image_id = ?", (image_id,)
        ).fetchone()
        if row is None:
            return None
        m = ImageManifestMessage.model_validate_json(row[1])
        offsets = range(0, m.size_bytes, m.chunk_bytes)
        (have,) = db.execute(
            "SELECT COUNT(*) FROM image_chunks WHERE image_id = ?", (image_id,)
        ).fetchone()
        if have < len(offsets):
            return None
        parts = dict(
            db.execute(
                'SELECT "offset", data FROM image_chunks WHERE image_id = ?', (image_id,)
            ).fetchall()
        )
        if any(off not in parts for off in offsets):
            return None
        data = b"".join(parts[off] for off in offsets)
        ok = len(data) == m.size_bytes and hashlib.sha256(data).hexdigest() == m.sha256
        file = None
        if ok and self._write_images:
            # Written before the commit: a crash here leaves the chunks unacknowledged, the
            # broker delivers them again, and the same bytes are written again (atomically).
            target = self.image_path(m.capture_id, m.name)
            atomic_write_bytes(target, data)
            file = target.name
        db.execute(
            "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image_id, row[0], m.capture_id, m.name, m.content_type, m.sha256, m.size_bytes,
             int(ok), file),
        )  # fmt: skip
        db.execute("DELETE FROM image_chunks WHERE image_id = ?", (image_id,))
        db.execute("DELETE FROM image_manifests WHERE image_id = ?", (image_id,))
        return {"image_id": image_id, "capture_id": m.capture_id, "name": m.name, "ok": ok}

    @staticmethod
    def is_overlay(name: str) -> bool:
        """Whether a capture's image is its overlay (the rig names it ``...-overlay.jpg``)."""
        return "overlay" in name.lower()

    def image_path(self, capture_id: str, name: str) -> Path:
        """Where the image ``name`` of capture ``capture_id`` is kept.

        Raises:
            ValueError: the name would leave the images folder.
        """
        path = (self.images_dir / f"{capture_id}-{name}").resolve()
        if path.parent != self.images_dir.resolve() or "/" in name or "\\" in name:
            raise ValueError(f"image name {name!r} is not a plain file name")
        return path

    def set_status(self, device_id: str, m: StatusMessage) -> None:
        """Keep the rig's presence (retained status or will)."""
        since = m.since.isoformat() if m.since else None
        with self._tx() as db:
            db.execute(
                "INSERT INTO rigs (device_id, state, since, software, model, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                "state = excluded.state, since = excluded.since, software = excluded.software, "
                "model = excluded.model, last_seen = excluded.last_seen",
                (device_id, m.state, since, m.software, m.model, time.time()),
            )

    def set_telemetry(self, device_id: str, m: TelemetryMessage) -> None:
        """Keep the rig's latest health figures."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO rigs (device_id, last_seen, telemetry) VALUES (?, ?, ?) "
                "ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen, "
                "telemetry = excluded.telemetry",
                (device_id, time.time(), m.model_dump_json()),
            )

    def dead_letter(
        self, device_id: str, topic: str, payload: bytes, reason: str, *, seq: int | None = None
    ) -> bool:
        """Keep a message the dashboard refused, with why (payload cut at 64 KiB); True
        where it is new, False where the same message (rig, topic and bytes: a rig's resend
        is byte-identical) was kept already: its row counts one more arrival and takes the
        latest reason, and no second copy is kept. Another message under the same seq (a
        second rig with this device_id, a forger) has other bytes and a row of its own.

        ``seq``: the rig's seq the message holds, to be awaited no more (kept in ``lost_seqs``
        as :data:`REFUSED_HERE`, in the same transaction, so that a restarted receiver does
        not ask the rig for it again, only to refuse it again). A seq stored meanwhile is
        left out; storing the seq later (``dermocap dashboard reimport``) removes the mark.
        """
        now = time.time()
        with self._tx() as db:
            (arrivals,) = db.execute(
                "INSERT INTO dead_letters (received_at, device_id, topic, reason, size_bytes, "
                "payload, payload_sha256, arrivals, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (device_id, topic, payload_sha256) DO UPDATE SET "
                "arrivals = dead_letters.arrivals + 1, last_at = excluded.last_at, "
                "reason = excluded.reason RETURNING arrivals",
                (now, device_id[:128], topic[:512], reason[:2000], len(payload),
                 payload[:MAX_DEAD_PAYLOAD_BYTES], hashlib.sha256(payload).digest(), now),
            ).fetchone()  # fmt: skip
            if seq is not None:
                # a seq the rig said it lost, yet refused here, is held by the dead letter
                db.execute(
                    "INSERT INTO lost_seqs SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
                    "messages WHERE device_id = ? AND seq = ?) ON CONFLICT (device_id, seq) "
                    "DO UPDATE SET reason = excluded.reason",
                    (device_id, seq, REFUSED_HERE, device_id, seq),
                )
        return int(arrivals) == 1

    def mark_lost(self, device_id: str, seqs: list[int], reason: str) -> None:
        """Seqs the rig will never send (dead-lettered there, or pruned): stop asking.

        A seq stored meanwhile (by another process: ``dermocap dashboard reimport``) is not
        lost and is left out, as storing a seq removes its mark (:meth:`add_durable`).
        """
        with self._tx() as db:
            db.executemany(
                "INSERT INTO lost_seqs SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM messages "
                "WHERE device_id = ? AND seq = ?) ON CONFLICT DO NOTHING",
                [(device_id, s, reason, device_id, s) for s in seqs],
            )

    # -- dead letters taken again (dashboard/reimport.py) --------------------------------------

    def dead_letter_ids(self) -> list[int]:
        """Every dead letter's id, oldest first."""
        return [int(r["id"]) for r in self._rows("SELECT id FROM dead_letters ORDER BY id")]

    @contextlib.contextmanager
    def redoing(self, dead_letter_id: int, *, dry_run: bool = False) -> Iterator[DeadLetter | None]:
        """One transaction around taking dead letter ``dead_letter_id`` again.

        Yields the dead letter as it is inside the transaction (None: gone, say settled by
        another process). What the caller stores and :meth:`drop_dead_letter` inside commit
        together or not at all; with ``dry_run`` everything is rolled back and no image file
        is written.
        """
        with self._tx(keep=not dry_run) as db:
            self._write_images = not dry_run
            try:
                row = db.execute(
                    "SELECT id, device_id, topic, reason, size_bytes, payload FROM dead_letters "
                    "WHERE id = ?",
                    (dead_letter_id,),
                ).fetchone()
                if row is None:
                    yield None
                else:
                    dead_id, device_id, topic, reason, size_bytes, payload = row
                    yield DeadLetter(
                        int(dead_id), device_id, topic, reason, int(size_bytes), bytes(payload)
                    )
            finally:
                self._write_images = True

    def drop_dead_letter(self, dead_letter_id: int) -> None:
        """Forget a dead letter (taken again, so no longer refused)."""
        with self._tx() as db:
            db.execute("DELETE FROM dead_letters WHERE id = ?", (dead_letter_id,))

    def refuse_again(self, dead_letter_id: int, reason: str) -> None:
        """A dead letter refused again: keep it with the new reason."""
        with self._tx() as db:
            db.execute(
                "UPDATE dead_letters SET reason = ? WHERE id = ?", (reason[:2000], dead_letter_id)
            )

    # -- what the receiver reads at start ------------------------------------------------------

    def seen_seqs(self) -> dict[str, set[int]]:
        """Every seq stored, per rig."""
        out: dict[str, set[int]] = {}
        with self._lock:
            for dev, seq in self._db.execute("SELECT device_id, seq FROM messages"):
                out.setdefault(dev, set()).add(int(seq))
        return out

    def lost(self) -> dict[str, set[int]]:
        """Seqs not to be awaited, per rig: marked lost, or refused here (dead letters)."""
        out: dict[str, set[int]] = {}
        with self._lock:
            for dev, seq in self._db.execute("SELECT device_id, seq FROM lost_seqs"):
                out.setdefault(dev, set()).add(int(seq))
        return out

    # -- what the pages read ----------------------------------------------------------------

    def count(self, table: str) -> int:
        """Rows of one of the store's tables."""
        if table not in ("results", "events", "images", "dead_letters", "messages", "lost_seqs"):
            raise ValueError(f"no table {table!r}")
        return int(self._scalar(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608 - fixed names

    def rigs(self) -> list[dict[str, Any]]:
        """Every rig with its presence, last telemetry and counts: results, seqs ``lost``
        (the rig will never send them) and seqs ``refused`` here (kept in dead letters)."""
        rows = self._rows(
            "SELECT r.*, (SELECT COUNT(*) FROM results x WHERE x.device_id = r.device_id) "
            "AS results, (SELECT COUNT(*) FROM lost_seqs l WHERE l.device_id = r.device_id "
            "AND l.reason <> ?) AS lost, (SELECT COUNT(*) FROM lost_seqs l WHERE "
            "l.device_id = r.device_id AND l.reason = ?) AS refused FROM rigs r "
            "ORDER BY r.device_id",
            REFUSED_HERE,
            REFUSED_HERE,
        )
        out = []
        for r in rows:
            d = dict(r)
            d["telemetry"] = json.loads(r["telemetry"]) if r["telemetry"] else {}
            out.append(d)
        return out

    def review_tally(self, since: float) -> dict[str, dict[str, Any]]:
        """Per rig, results received since ``since`` (epoch seconds): how many, how many
        flagged for review, and how often each review kind was given (``None``: a reason
        whose kind the result does not name, from a rig older than the kinds)."""
        out: dict[str, dict[str, Any]] = {}
        for r in self._rows(
            "SELECT device_id, review, CASE WHEN review = 1 THEN payload END AS payload "
            "FROM results WHERE received_at >= ?",
            since,
        ):
            rig = out.setdefault(r["device_id"], {"results": 0, "flagged": 0})
            rig["results"] += 1
            if not r["review"]:
                continue
            rig["flagged"] += 1
            kinds = {i.kind for i in review_items(json.loads(r["payload"]))} or {None}
            tally = rig.setdefault("kinds", {})
            for k in kinds:
                tally[k] = tally.get(k, 0) + 1
        return out

    def telemetry(self) -> dict[str, dict[str, Any]]:
        """Each rig's latest telemetry (cheap: no counting)."""
        rows = self._rows("SELECT device_id, telemetry FROM rigs")
        return {r["device_id"]: json.loads(r["telemetry"]) if r["telemetry"] else {} for r in rows}

    def subjects(self) -> list[dict[str, Any]]:
        """Subjects with their number of results and last capture."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT subject, COUNT(*) AS results, MAX(captured_at) AS last, "
                "SUM(review) AS review FROM results GROUP BY subject ORDER BY subject"
            )
        ]

    def subject_results(self, subject: str) -> list[dict[str, Any]]:
        """Every result of ``subject`` (payload decoded, plus device_id and seq), by time."""
        rows = self._rows(
            "SELECT device_id, payload, review FROM results WHERE subject = ? ORDER BY captured_at",
            subject,
        )
        return [self._payload(r) for r in rows]

    def result(self, capture_id: str) -> dict[str, Any] | None:
        """One result's payload, or None."""
        rows = self._rows(
            "SELECT device_id, payload, review FROM results WHERE capture_id = ?", capture_id
        )
        return self._payload(rows[0]) if rows else None

    @staticmethod
    def _payload(row: Any) -> dict[str, Any]:
        """A stored result as the pages read it: the payload as received, its review flag
        the one validated into the ``review`` column (a rig may send ``"false"``, which the
        message model reads as False and a bare truth test as True)."""
        return {
            **json.loads(row["payload"]),
            "device_id": row["device_id"],
            "review": bool(row["review"]),
        }

    def images_of(self, capture_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Verified images per capture id."""
        if not capture_ids:
            return {}
        marks = ",".join("?" * len(capture_ids))
        rows = self._rows(
            f"SELECT * FROM images WHERE ok = 1 AND capture_id IN ({marks}) ORDER BY name",  # noqa: S608
            *capture_ids,
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["capture_id"], []).append(dict(r))
        return out

    def image(self, image_id: str) -> dict[str, Any] | None:
        """One verified image's row, or None."""
        rows = self._rows("SELECT * FROM images WHERE image_id = ? AND ok = 1", image_id)
        return dict(rows[0]) if rows else None

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest refused messages (without payloads), each with how often it came and
        when it came last (a resend brings a refused message again)."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT id, received_at, device_id, topic, reason, size_bytes, arrivals, "
                "last_at FROM dead_letters ORDER BY id DESC LIMIT ?",
                limit,
            )
        ]

    def events(self, device_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The rig's latest events."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT seq, at, type, subject, site, detail FROM events WHERE device_id = ? "
                "ORDER BY seq DESC LIMIT ?",
                device_id,
                limit,
            )
        ]

    # -- annotations ----------------------------------------------------------------------

    def add_point(
        self, image_id: str, x_px: float, y_px: float, diameter_um: float, user: str
    ) -> None:
        """Keep one clicked emergence point of a stored image."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO annotations (image_id, x_px, y_px, diameter_um, username, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (image_id, x_px, y_px, diameter_um, user, time.time()),
            )

    def drop_last_point(self, image_id: str) -> None:
        """Undo the image's latest point."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM annotations WHERE id = (SELECT MAX(id) FROM annotations "
                "WHERE image_id = ?)",
                (image_id,),
            )

    def points(self, image_id: str) -> list[dict[str, Any]]:
        """The image's points, in the order they were clicked."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT x_px, y_px, diameter_um, username FROM annotations WHERE image_id = ? "
                "ORDER BY id",
                image_id,
            )
        ]

    def annotated_images(self) -> list[str]:
        """Ids of images with at least one point."""
        rows = self._rows("SELECT DISTINCT image_id FROM annotations ORDER BY image_id")
        return [str(r["image_id"]) for r in rows]

    # -- staff, sessions, commands --------------------------------------------------------------

    def put_user(self, username: str, password_hash: str) -> None:
        """Add a staff account or replace its password."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = excluded.password_hash",
                (username, password_hash, time.time()),
            )
            db.execute("DELETE FROM sessions WHERE username = ?", (username,))

    def password_hash(self, username: str) -> str | None:
        """The stored hash of ``username``, or None."""
        value = self._scalar("SELECT password_hash FROM users WHERE username = ?", username)
        return None if value is None else str(value)

    def add_session(self, token_sha256: str, username: str, csrf: str, expires_at: float) -> None:
        """Keep a login (only the token's SHA-256 is stored)."""
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (token_sha256, username, csrf, expires_at),
            )

    def session(self, token_sha256: str) -> Session | None:
        """The live session of that token, or None."""
        rows = self._rows(
            "SELECT username, csrf FROM sessions WHERE token_sha256 = ? AND expires_at > ?",
            token_sha256,
            time.time(),
        )
        return Session(rows[0]["username"], rows[0]["csrf"]) if rows else None

    def drop_session(self, token_sha256: str) -> None:
        """Log out."""
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (token_sha256,))

    def log_command(self, device_id: str, name: str, payload: dict[str, Any], username: str) -> int:
        """Record a command sent to a rig; returns its id."""
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO commands (device_id, name, payload, username, sent_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (device_id, name, json.dumps(payload), username, time.time()),
            ).fetchone()
            return int(row[0])

    def command_replied(self, command_id: int, ok: bool | None, reply: dict[str, Any]) -> None:
        """Record a command's reply (``ok`` None: no reply in time)."""
        with self._tx() as db:
            db.execute(
                "UPDATE commands SET ok = ?, reply = ? WHERE id = ?",
                (None if ok is None else int(ok), json.dumps(reply), command_id),
            )

    def commands(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest commands and their replies."""
        rows = self._rows("SELECT * FROM commands ORDER BY id DESC LIMIT ?", limit)
        return [
            {**dict(r), "payload": json.loads(r["payload"]),
             "reply": json.loads(r["reply"]) if r["reply"] else None}
            for r in rows
        ]  # fmt: skip
