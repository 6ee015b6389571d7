"""The outbox on a real SQLite file: one transaction per capture, seqs, acks, dead letters."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from mqtt_fixtures import sample_record, sample_result

from dermocap.errors import DiskFullError, SyncError
from dermocap.ids import uuid7
from sync import InvalidMessage, Outbox
from sync.outbox import SCHEMA_VERSION


def cid() -> str:
    return str(uuid7())


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    ob = Outbox(tmp_path / "outbox.sqlite3")
    yield ob
    ob.close()


def test_database_is_wal_full_sync_and_versioned(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_capture_and_result_are_one_transaction(outbox: Outbox) -> None:
    capture = cid()
    entry = outbox.add_capture(capture, sample_record(), sample_result())
    assert entry.seq == 1 and entry.topic == "results"
    assert uuid.UUID(entry.message_id).version == 7
    assert outbox.capture_record(capture) == sample_record()
    bad = sample_result()
    bad["subject"] = "John Smith"  # a name, not a pseudonym
    other = cid()
    with pytest.raises(InvalidMessage, match="subject"):
        outbox.add_capture(other, sample_record(1), bad)
    assert outbox.capture_record(other) is None, "the record must roll back with its result"
    assert outbox.depth() == 1
    with pytest.raises(SyncError, match="already"):
        outbox.add_capture(capture, sample_record(), sample_result())


def test_seq_is_stamped_and_never_reused(outbox: Outbox) -> None:
    entries = [outbox.add_capture(cid(), sample_record(i), sample_result(i)) for i in range(3)]
    assert [e.seq for e in entries] == [1, 2, 3]
    for e in entries:
        outbox.mark_acked(e.seq)
    assert outbox.prune_acked(0.0) == 3
    nxt = outbox.enqueue("events", {"at": "2025-01-01T00:00:00Z", "type": "retake"})
    assert nxt.seq == 4
    assert b'"seq":4' in nxt.payload and nxt.message_id.encode() in nxt.payload


def test_pending_ack_dead_letter_and_figures(tmp_path: Path) -> None:
    now = [1000.0]
    with Outbox(tmp_path / "o.db", now=lambda: now[0]) as ob:
        for i in range(5):
            ob.add_capture(cid(), sample_record(i), sample_result(i))
        now[0] += 30
        assert ob.depth() == 5 and ob.oldest_unsent_age_s() == 30.0
        assert [e.seq for e in ob.pending(2)] == [1, 2]
        assert [e.seq for e in ob.pending(10, after_seq=3)] == [4, 5]
        ob.record_outcomes(sent=[1, 2, 3], acked=[1, 3], dead=[(2, 0x87, "Not authorized")])
        assert [e.seq for e in ob.pending(10)] == [4, 5]
        assert ob.dead_letter_count() == 1
        (dl,) = ob.dead_letters()
        assert (dl.seq, dl.reason_code, dl.reason) == (2, 0x87, "Not authorized")
        assert ob.dead_seqs_since(1) == [2]
        assert ob.last_seq() == 5
        count, oldest = ob.requeue_since(3)
        assert (count, oldest) == (1, 1)
        assert [e.seq for e in ob.pending(10)] == [3, 4, 5]
        assert [e.seq for e in ob.since(3)] == [3, 4, 5]


def test_unknown_channel_and_bad_event_are_refused(outbox: Outbox) -> None:
    with pytest.raises(InvalidMessage, match="no durable channel"):
        outbox.enqueue("status", {})
    with pytest.raises(InvalidMessage, match="type"):
        outbox.enqueue("events", {"at": "2025-01-01T00:00:00Z", "type": "Bad Type"})
    assert outbox.depth() == 0


def test_budget_refuses_new_captures_but_keeps_unsent(outbox: Outbox) -> None:
    for i in range(20):
        outbox.add_capture(cid(), sample_record(i), sample_result(i))
    used = outbox.used_bytes()
    with pytest.raises(DiskFullError, match="waiting to be sent"):
        outbox.add_capture(cid(), sample_record(), sample_result(), budget_bytes=used // 2)
    assert outbox.depth() == 20, "unsent results are never deleted to make room"
    # once they are acknowledged, the acked rows can be pruned to make room
    outbox.record_outcomes(acked=range(1, 21))
    outbox.add_capture(cid(), sample_record(), sample_result(), budget_bytes=used)


def test_survives_reopen_and_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as ob:
        ob.add_capture(cid(), sample_record(), sample_result())
    with Outbox(path) as ob:
        assert ob.depth() == 1 and ob.last_seq() == 1
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(SyncError, match="newer"):
        Outbox(path)


def test_image_rows_are_queued_with_the_capture(outbox: Outbox, tmp_path: Path) -> None:
    img = tmp_path / "kept.png"
    img.write_bytes(bytes(range(256)) * 10)  # 2560 bytes -> 3 chunks of 1000
    outbox.add_capture(cid(), sample_record(), sample_result(), image=(img, 1000))
    kinds = [e.kind for e in outbox.pending(10)]
    assert kinds == ["result", "image_manifest", "image_chunk", "image_chunk", "image_chunk"]
    assert outbox.pending(10)[-1].ref == str(img.resolve())
