"""The store's contract on both backends: SQLite and a real PostgreSQL the test starts."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_fixtures import PASSWORD, add_image, fill, result
from mqtt_fixtures import Broker, broker_fixture, sample_record, sample_result  # noqa: F401
from postgres_fixtures import postgres_server_fixture, postgres_url_fixture  # noqa: F401

from dashboard.auth import add_user, log_in, session_of
from dashboard.db import open_database
from dashboard.receiver import Receiver
from dashboard.schema import MIGRATIONS, SCHEMA_VERSION
from dashboard.store import MAX_DEAD_PAYLOAD_BYTES, REFUSED_HERE, Store
from dashboard.web import COOKIE, create_app
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig


@pytest.fixture(name="store", params=["sqlite", "postgresql"])
def store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    with Store(tmp_path / "d.sqlite3", tmp_path / "images", url=url) as store:
        assert store.kind == request.param
        yield store


def test_store_contract(store: Store, tmp_path: Path) -> None:
    msgs = fill(store)
    assert store.count("results") == 12 and len(store.subject_results("P00042")) == 12
    assert not store.add_durable("rig-01", "results", msgs[0]).stored  # same message_id
    with pytest.raises(ValueError, match="forged or replayed"):
        store.add_durable("rig-01", "results", result("P00042", "vertex", "6m", seq=msgs[0].seq))
    assert store.count("results") == 12  # the refused one left nothing behind
    add_image(store, "rig-01", msgs[0].capture_id, "frame.png", b"\x89PNG bytes")
    (img,) = store.images_of([msgs[0].capture_id])[msgs[0].capture_id]
    assert (store.images_dir / img["file"]).read_bytes() == b"\x89PNG bytes" and img["ok"] == 1
    store.mark_lost("rig-01", [500, 501], "pruned")
    assert store.lost() == {"rig-01": {500, 501}}
    assert store.seen_seqs()["rig-01"] >= {m.seq for m in msgs if m.seq}
    store.dead_letter("rig-01", "dermocap/v1/rig-01/results", b"\xff\x00", "not UTF-8")
    assert store.dead_letters()[0]["reason"] == "not UTF-8" and store.count("dead_letters") == 1
    (rig,) = store.rigs()
    assert rig["state"] == "online" and rig["results"] == 12 and rig["lost"] == 2
    assert store.telemetry()["rig-01"]["repeatability_density_cv"] == 0.03
    (subject,) = store.subjects()
    assert subject["results"] == 12 and int(subject["review"]) == 0
    flagged = result("P00043", "vertex", "baseline", review=True, review_reasons=["a", "b"],
                     review_kinds=["hair_mat", "no_shafts"])  # fmt: skip
    assert store.add_durable("rig-01", "results", flagged).stored
    assert store.review_tally(0.0) == {
        "rig-01": {"results": 13, "flagged": 1, "kinds": {"hair_mat": 1, "no_shafts": 1}}
    }
    assert store.review_tally(time.time() + 60) == {}  # nothing received in the future
    add_user(store, "alice", PASSWORD)
    token = log_in(store, "alice", PASSWORD, 1.0)
    assert token and session_of(store, token) is not None
    assert log_in(store, "alice", "wrong password", 1.0) is None
    cid = store.log_command("rig-01", "worklist", {"subject": "P1"}, "alice")
    store.command_replied(cid, True, {"ok": True})
    assert store.log_command("rig-01", "ping", {}, "alice") == cid + 1
    assert store.commands()[1]["reply"] == {"ok": True}
    store.add_point(img["image_id"], 1.0, 2.0, 50.0, "alice")
    store.add_point(img["image_id"], 3.0, 4.0, 60.0, "alice")
    store.drop_last_point(img["image_id"])
    assert [p["x_px"] for p in store.points(img["image_id"])] == [1.0]
    assert store.annotated_images() == [img["image_id"]]
    # the pages run on it as well
    client = create_app(store).test_client()
    client.set_cookie(COOKIE, token)
    html = client.get("/subjects/P00042").get_data(as_text=True)
    assert len(re.findall(r'data-visit="', html)) == 12 and "within measurement noise" in html
    assert client.get("/rigs").status_code == 200


TOPIC = "dermocap/v1/rig-01/results"


def refused_result(seq: int, **extra: object) -> bytes:
    """A rig's result with a field this dashboard does not know (a newer rig's)."""
    return json.dumps(json.loads(result("P00042", "vertex", "3m", seq=seq).model_dump_json())
                      | {"review_colour": "amber"} | extra).encode()  # fmt: skip


def kept(store: Store) -> list[tuple[str, str, int, int]]:
    """Each dead letter's rig, topic, size and arrivals, oldest first."""
    return [(d["device_id"], d["topic"], d["size_bytes"], d["arrivals"])
            for d in reversed(store.dead_letters())]  # fmt: skip


def test_a_refused_message_is_kept_once_however_often_it_comes(store: Store) -> None:
    mine = refused_result(7)
    assert store.dead_letter("rig-01", TOPIC, mine, "newer field", seq=7)
    # the rig resends it (the same bytes): refused again, kept once, the arrival counted
    assert not store.dead_letter("rig-01", TOPIC, mine, "newer field, again", seq=7)
    assert not store.dead_letter("rig-01", TOPIC, mine, "newer field, again")
    assert kept(store) == [("rig-01", TOPIC, len(mine), 3)]
    (row,) = store.dead_letters()
    assert row["reason"] == "newer field, again" and row["last_at"] >= row["received_at"]
    assert store.lost() == {"rig-01": {7}}
    # another message under seq 7 (a second rig with this device_id): a dead letter of its
    # own, and so is the same bytes from another rig or on another channel
    twin = json.dumps(json.loads(mine) | {"message_id": str(uuid7())}).encode()
    assert store.dead_letter("rig-01", TOPIC, twin, "newer field", seq=7)
    assert not store.dead_letter("rig-01", TOPIC, twin, "newer field")
    assert store.dead_letter("rig-02", TOPIC.replace("01", "02"), mine, "newer field")
    assert store.dead_letter("rig-01", f"{TOPIC}-x", mine, "no channel")
    # two oversize messages alike in the 64 KiB kept are still two
    big = b"x" * (MAX_DEAD_PAYLOAD_BYTES + 10)
    assert store.dead_letter("rig-01", TOPIC, big + b"1", "oversize")
    assert store.dead_letter("rig-01", TOPIC, big + b"2", "oversize")
    assert not store.dead_letter("rig-01", TOPIC, big + b"2", "oversize")
    assert kept(store) == [
        ("rig-01", TOPIC, len(mine), 3), ("rig-01", TOPIC, len(twin), 2),
        ("rig-02", TOPIC.replace("01", "02"), len(mine), 1), ("rig-01", f"{TOPIC}-x", len(mine), 1),
        ("rig-01", TOPIC, len(big) + 1, 1), ("rig-01", TOPIC, len(big) + 1, 2),
    ]  # fmt: skip
    assert store.lost() == {"rig-01": {7}} and store.count("dead_letters") == 6
    client = create_app(store).test_client()
    add_user(store, "alice", PASSWORD)
    client.set_cookie(COOKIE, log_in(store, "alice", PASSWORD, 1.0) or "")
    assert "<th>arrivals</th>" in client.get("/rigs").get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_2_database_folds_its_dead_letter_copies(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A dashboard before v3 kept one more copy of a refused message at each resend that
    covered it: the upgrade keeps the oldest, counting them, and later copies fold into it."""
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    db = open_database(tmp_path / "d.sqlite3", url)
    for version in (1, 2):
        db.run_script(MIGRATIONS[version], version)
    mine, twin = refused_result(7), refused_result(7, message_id=str(uuid7()))
    rows = [(1.0, mine), (2.0, twin), (3.0, mine), (4.0, mine), (5.0, b"\xff")]
    db.executemany(
        "INSERT INTO dead_letters (received_at, device_id, topic, reason, size_bytes, payload) "
        "VALUES (?, 'rig-01', ?, 'newer field', ?, ?)",
        [(at, TOPIC, len(p), p) for at, p in rows],
    )
    db.executemany("INSERT INTO lost_seqs VALUES ('rig-01', 7, ?)", [(REFUSED_HERE,)])
    db.close()
    with Store(tmp_path / "d.sqlite3", tmp_path / "images", url=url) as store:
        assert store._db.version() == SCHEMA_VERSION == 3
        dead = list(reversed(store.dead_letters()))
        assert [(d["id"], d["arrivals"], d["received_at"], d["last_at"]) for d in dead] == [
            (1, 3, 1.0, 4.0), (2, 1, 2.0, 2.0), (5, 1, 5.0, 5.0)
        ]  # fmt: skip
        assert not store.dead_letter("rig-01", TOPIC, mine, "newer field", seq=7)
        assert not store.dead_letter("rig-01", TOPIC, b"\xff", "not UTF-8")
        assert [d["arrivals"] for d in reversed(store.dead_letters())] == [4, 1, 2]
        assert store.lost() == {"rig-01": {7}} and store.rigs() == []


def test_postgres_schema_version_persists(postgres_url: str, tmp_path: Path) -> None:
    with Store(tmp_path / "x", tmp_path / "images", url=postgres_url) as store:
        fill(store)
    with Store(tmp_path / "x", tmp_path / "images", url=postgres_url) as store:
        assert store._db.version() == SCHEMA_VERSION and store.count("results") == 12


def test_receiver_on_postgres_stores_each_result_once(
    broker: Broker, postgres_url: str, tmp_path: Path
) -> None:
    cfg = SyncConfig(host=broker.host, port=broker.port, reconnect_min_s=0.05, will_delay_s=1)
    with (
        Store(tmp_path / "x", tmp_path / "images", url=postgres_url) as store,
        Receiver(broker.host, broker.port, store, gap_grace_s=0.3) as rx,
        Outbox(tmp_path / "o.db") as ob,
    ):
        sent = []
        for i in range(30):
            sent.append(str(uuid7()))
            ob.add_capture(sent[-1], sample_record(i), sample_result(i))
        with MqttLink(cfg, "rig-pg", ob):
            deadline = time.monotonic() + 30
            while store.count("results") < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            reply = rx.command("rig-pg", "resend", {"since_seq": 1})
            assert reply is not None and reply.ok
            while rx.duplicates < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert rx.duplicates >= 30 and store.count("results") == 30
        assert {r["capture_id"] for r in store.subject_results("P00042")} == set(sent)
