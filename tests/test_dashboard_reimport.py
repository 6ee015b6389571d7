"""``dermocap dashboard reimport``: dead letters taken again with the receiver's own rules.

Dead letters are made as an older dashboard made them: a payload this contract accepts,
kept with the reason the older one gave (a field it did not know, a smaller size limit).
The store runs on SQLite and, where the test says, on a real PostgreSQL too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from dashboard_fixtures import result
from mqtt_fixtures import Broker, broker_fixture, wait  # noqa: F401 - registers "broker"
from paho.mqtt.enums import CallbackAPIVersion
from postgres_fixtures import postgres_server_fixture, postgres_url_fixture  # noqa: F401

from dashboard import Receiver, Store
from dashboard.reimport import Taken, reimport, summary
from dermocap.ids import uuid7
from device.cli import main
from sync.models import ImageChunkMessage, ImageManifestMessage, ResultMessage

RIG = "rig-07"
TOPIC = f"dermocap/v1/{RIG}/results"
PREFIX = "dermocap/v1/{device_id}"
LIMIT = 2048 * 1024  # the default dashboard.max_message_kib
OLD_REASON = (
    "invalid ResultMessage: review_kinds: Extra inputs are not permitted"  # a 2.10 dashboard
)


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def url_fixture(request: pytest.FixtureRequest) -> str:
    """The database: "" (SQLite in tmp_path) or a new PostgreSQL database."""
    return str(request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ""


@pytest.fixture(name="store")
def store_fixture(url: str, tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "d.sqlite3", tmp_path / "images", url=url) as store:
        yield store


@pytest.fixture(name="sqlite_store")
def sqlite_store_fixture(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "d.sqlite3", tmp_path / "images") as store:
        yield store


def flagged(**extra: object) -> ResultMessage:
    """A result with ``review_kinds``, the field dashboards before 2.11 refused."""
    return result(
        "P00042", "vertex", "3m", review=True, review_reasons=["long hair lies over 40 %"],
        review_kinds=["hair_mat"], **extra,
    )  # fmt: skip


def raw(m: ResultMessage, **extra: object) -> bytes:
    return json.dumps(json.loads(m.model_dump_json()) | extra).encode()


def run(store: Store, *, dry_run: bool = False, limit: int = LIMIT) -> dict[int, Taken]:
    taken = reimport(store, prefix=PREFIX, max_message_bytes=limit, dry_run=dry_run)
    return {t.letter.id: t for t in taken}


def reasons(store: Store) -> dict[int, str]:
    return {d["id"]: d["reason"] for d in store.dead_letters()}


def snapshot(store: Store) -> dict[str, object]:
    tables = ("messages", "results", "events", "rigs", "lost_seqs", "images", "dead_letters",
              "image_manifests", "image_chunks")  # fmt: skip
    return {t: sorted(map(repr, store._rows(f"SELECT * FROM {t}"))) for t in tables}  # noqa: S608


def test_refused_results_are_imported_and_leave_dead_letters(store: Store) -> None:
    newer = flagged()
    store.dead_letter(RIG, TOPIC, raw(newer), OLD_REASON)
    big = result("P00042", "frontal", "6m")
    big_raw = raw(big)
    # refused by a dashboard run with max_message_kib = 1 for a (hypothetical) tiny server
    store.dead_letter(RIG, TOPIC, big_raw, f"oversize: {len(big_raw)} bytes > 1024")
    ids = sorted(reasons(store))

    taken = run(store)

    assert [taken[i].outcome for i in ids] == ["imported", "imported"]
    assert store.count("dead_letters") == 0 and store.count("results") == 2
    got = store.result(newer.capture_id)
    assert got is not None and got["review_kinds"] == ["hair_mat"] and got["review"] is True
    assert store.result(big.capture_id) is not None
    assert store.seen_seqs() == {RIG: {newer.seq, big.seq}}


def test_still_refused_stay_with_todays_reason_and_nothing_half_stored(store: Store) -> None:
    kept = flagged()
    store.add_durable(RIG, "results", kept)
    bad_subject = raw(flagged(), subject="<script>")
    store.dead_letter(RIG, TOPIC, bad_subject, OLD_REASON)
    # a new seq and message_id, but a capture id already stored: add_durable has written
    # its messages row when the result is refused, and that row must be rolled back
    replay = raw(kept, message_id=str(uuid7()), seq=kept.seq + 1000)
    store.dead_letter(RIG, TOPIC, replay, OLD_REASON)
    store.dead_letter(RIG, f"dermocap/v1/{RIG}/no-such-channel", b"{}", "no channel")
    before = snapshot(store)

    taken = run(store)

    assert {t.outcome for t in taken.values()} == {"still refused"}
    now = list(reasons(store).values())[::-1]
    assert "subject" in now[0] and OLD_REASON not in now
    assert "already sent by rig" in now[1] and "no channel 'no-such-channel'" in now[2]
    after = snapshot(store)
    assert after.pop("dead_letters") != before.pop("dead_letters")  # reasons rewritten
    assert after == before  # nothing stored, no seq taken by the replay
    assert [t.reason for t in taken.values()] == now


def test_truncated_dead_letter_is_kept_and_reported(store: Store) -> None:
    pad = raw(flagged(), calibration_id="c" * 10, pad="x" * (70 * 1024))
    store.dead_letter(RIG, TOPIC, pad, f"oversize: {len(pad)} bytes > 65536")
    (dead_id,) = reasons(store)

    taken = run(store, limit=1 << 20)

    assert taken[dead_id].outcome == "truncated"
    assert f"{64 * 1024} of its {len(pad)} bytes" in taken[dead_id].reason
    assert reasons(store) == {dead_id: f"oversize: {len(pad)} bytes > 65536"}  # reason kept
    assert store.count("results") == 0
    said = summary(list(taken.values()), dry_run=False)
    assert said == "1 dead letters: 1 truncated; 0 left dead_letters, 1 stay"


def test_dry_run_changes_nothing_and_says_what_a_real_run_does(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    store.dead_letter(RIG, TOPIC, raw(flagged()), OLD_REASON)
    store.dead_letter(RIG, TOPIC, raw(flagged(), subject="<b>"), OLD_REASON)
    # an image whose manifest was refused: its chunk waits in the store; taking the manifest
    # again completes the image (a file on disk), which a dry run must not write
    data = b"\x89PNG dermoscope"
    sha = hashlib.sha256(data).hexdigest()
    image_id, capture_id = str(uuid7()), str(uuid7())
    manifest = ImageManifestMessage(
        message_id=str(uuid7()), seq=900, image_id=image_id, capture_id=capture_id,
        name="frame.png", content_type="image/png", size_bytes=len(data), sha256=sha,
        chunk_bytes=len(data), chunks=1,
    )  # fmt: skip
    store.add_durable(
        RIG,
        "images/chunk",
        ImageChunkMessage(
            message_id=str(uuid7()), seq=901, image_id=image_id, offset=0, length=len(data),
            sha256=sha, data_b64=base64.b64encode(data).decode(),
        ),
    )  # fmt: skip
    store.dead_letter(
        RIG,
        f"dermocap/v1/{RIG}/images/manifest",
        manifest.model_dump_json().encode(),
        "invalid ImageManifestMessage: (a field of a newer rig)",
    )
    before = snapshot(store)

    dry = run(store, dry_run=True)

    assert snapshot(store) == before
    assert not any((tmp_path / "images").iterdir())
    assert sorted(t.outcome for t in dry.values()) == ["imported", "imported", "still refused"]
    real = run(store)
    assert {i: (t.outcome, t.reason) for i, t in real.items()} == {
        i: (t.outcome, t.reason) for i, t in dry.items()
    }
    assert (tmp_path / "images" / f"{capture_id}-frame.png").read_bytes() == data
    assert summary(list(dry.values()), dry_run=True).startswith("dry run, nothing changed: 3")


def test_running_twice_is_idempotent_and_a_resent_copy_is_a_duplicate(store: Store) -> None:
    m, resent = flagged(), flagged()
    store.dead_letter(RIG, TOPIC, raw(m), OLD_REASON)
    store.dead_letter(RIG, TOPIC, raw(m), OLD_REASON)  # the rig resent it: refused twice, kept once
    store.dead_letter(RIG, TOPIC, raw(resent), OLD_REASON)
    store.add_durable(RIG, "results", resent)  # an upgraded receiver took the rig's next copy
    store.dead_letter(RIG, TOPIC, raw(flagged(), visit="nope!"), OLD_REASON)
    assert store.count("dead_letters") == 3
    first = run(store)
    assert sorted(t.outcome for t in first.values()) == ["duplicate", "imported", "still refused"]
    after_first = snapshot(store)

    second = run(store)

    assert [t.outcome for t in second.values()] == ["still refused"]
    assert snapshot(store) == after_first and store.count("results") == 2


def test_status_that_validates_now_is_not_applied_but_removed(sqlite_store: Store) -> None:
    store = sqlite_store
    status = {"message_id": str(uuid7()), "state": "online", "software": "2.12.0"}
    store.dead_letter(RIG, f"dermocap/v1/{RIG}/status", json.dumps(status).encode(), "old")

    (taken,) = run(store).values()

    assert taken.outcome == "not applied" and "status" in taken.reason
    assert store.count("dead_letters") == 0 and store.rigs() == []


def test_lost_seqs_stay_consistent_with_what_is_stored(store: Store) -> None:
    m = flagged()
    # the healer marked the seq lost (the rig said it dead-lettered it), then reimport
    # stores the dashboard's own copy: storing clears the mark
    store.mark_lost(RIG, [m.seq, m.seq + 1], "refused by the broker (dead letter on the rig)")
    store.dead_letter(RIG, TOPIC, raw(m), OLD_REASON)
    run(store)
    assert store.lost() == {RIG: {m.seq + 1}}
    # and a healer that still waited for it cannot mark a stored seq lost afterwards
    store.mark_lost(RIG, [m.seq], "pruned from the rig's outbox")
    assert store.lost() == {RIG: {m.seq + 1}}


def test_a_refused_seq_is_awaited_no_more_until_reimport_stores_it(store: Store) -> None:
    """The receiver refused the rig's next seq (a field it did not know yet) and kept the
    seq with its dead letter, not to be awaited; after the upgrade reimport stores it, and
    storing clears the mark."""
    before, m = result("P00042", "frontal", "baseline"), flagged()
    store.add_durable(RIG, "results", before)
    store.dead_letter(RIG, TOPIC, raw(m), OLD_REASON, seq=m.seq)
    # a replay of a stored seq marks nothing (the receiver would not pass it: not expected)
    store.dead_letter(RIG, TOPIC, raw(before, message_id=str(uuid7())), "forged", seq=before.seq)
    assert store.lost() == {RIG: {m.seq}}
    assert [(r["lost"], r["refused"]) for r in store.rigs()] == [(0, 1)]  # refused, not lost

    taken = run(store)

    assert sorted(t.outcome for t in taken.values()) == ["imported", "still refused"]
    assert store.lost() == {} and store.seen_seqs() == {RIG: {before.seq, m.seq}}
    assert [(r["results"], r["lost"], r["refused"]) for r in store.rigs()] == [(2, 0, 0)]


def test_a_message_stored_by_two_processes_at_once_is_stored_once(
    store: Store, url: str, tmp_path: Path
) -> None:
    m = flagged()
    store.dead_letter(RIG, TOPIC, raw(m), OLD_REASON)
    taken: list[Taken] = []
    with Store(tmp_path / "d.sqlite3", tmp_path / "images", url=url) as serve_side:
        # what `serve`'s receiver does with the rig's resent copy, its transaction held open
        with serve_side._tx():
            assert serve_side.add_durable(RIG, "results", m, raw=raw(m).decode()).stored
            t = threading.Thread(target=lambda: taken.extend(run(store).values()))
            t.start()
            time.sleep(0.5)  # reimport is now waiting for the receiver's transaction
            assert not taken
        t.join(30)
    assert [x.outcome for x in taken] == ["duplicate"]
    assert store.count("results") == 1 and store.count("dead_letters") == 0


def test_cli_reimport_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "dash"
    conf = tmp_path / "dashboard.toml"
    conf.write_text('[dashboard]\nmax_message_kib = 16\ntopic_prefix = "clinic/{device_id}"\n')
    m, small, big = flagged(), result("P00042", "frontal", "12m"), flagged()
    with Store(data / "dashboard.sqlite3", data / "images") as store:
        store.dead_letter(RIG, f"clinic/{RIG}/results", raw(m), OLD_REASON)
        store.dead_letter(RIG, f"clinic/{RIG}/results", raw(small), "oversize: 1900 bytes > 1024")
        store.dead_letter(RIG, f"clinic/{RIG}/results", raw(big, pad="x" * 20_000), "oversize")
        ids = sorted(reasons(store))
    argv = ["--config", str(conf), "dashboard", "reimport", "--data-dir", str(data)]

    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()

    assert out[:3] == dry[:3]
    assert out[0] == f"{ids[0]}\t{RIG}\tclinic/{RIG}/results\timported"
    assert out[1] == f"{ids[1]}\t{RIG}\tclinic/{RIG}/results\timported"
    assert out[2].startswith(f"{ids[2]}\t{RIG}\tclinic/{RIG}/results\tstill refused: oversize: ")
    assert out[2].endswith("> 16384")  # judged by this config's limit, kept whole
    assert dry[3].startswith("dry run, nothing changed: 3 dead letters: 2 imported")
    assert out[3] == "3 dead letters: 2 imported, 1 still refused; 2 left dead_letters, 1 stay"
    with Store(data / "dashboard.sqlite3", data / "images") as store:
        assert store.count("results") == 2 and list(reasons(store)) == [ids[2]]


def test_reimport_beside_a_running_receiver_ends_its_wait_for_the_seq(
    broker: Broker, tmp_path: Path
) -> None:
    """The receiver waits for seq 2 (it saw 1 and 3); reimport, in another process's store,
    stores seq 2 from a dead letter; the rig's resent copy is then a duplicate to the
    receiver, which must stop asking for it (it used to ask for ever)."""
    one, two, three = (result("P00042", "occipital", v) for v in ("baseline", "3m", "6m"))
    one, two, three = (
        ResultMessage.model_validate(x.model_dump() | {"seq": s})
        for x, s in ((one, 1), (two, 2), (three, 3))
    )
    db, images = tmp_path / "d.sqlite3", tmp_path / "images"
    forger = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rig", protocol=mqtt.MQTTv5)
    forger.connect(broker.host, broker.port)
    forger.loop_start()
    with (
        Store(db, images) as serving,
        Receiver(broker.host, broker.port, serving, gap_grace_s=600) as rx,
    ):
        for m in (one, three):
            forger.publish(TOPIC, raw(m), qos=1).wait_for_publish(5)
        assert wait(lambda: rx.missing() == {RIG: [2]})
        with Store(db, images) as other:
            other.dead_letter(RIG, TOPIC, raw(two), OLD_REASON)
            assert [t.outcome for t in run(other).values()] == ["imported"]
        forger.publish(TOPIC, raw(two), qos=1).wait_for_publish(5)
        assert wait(lambda: rx.duplicates == 1)
        assert rx.missing() == {}
        assert serving.count("results") == 3 and serving.count("dead_letters") == 0
    forger.loop_stop()
    forger.disconnect()
