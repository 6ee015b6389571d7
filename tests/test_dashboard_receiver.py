"""The dashboard's receiver against a real Mosquitto and the real device publisher.

Every count is checked against what the rig's outbox says it sent: each result stored once,
images whole, malformed messages dead-lettered with a reason, gaps healed with ``resend``,
and nothing lost or doubled across a SIGKILLed dashboard and a SIGKILLed broker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from dashboard_fixtures import PASSWORD
from mqtt_fixtures import (
    Broker,
    SchemaCheck,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    sample_record,
    sample_result,
)
from paho.mqtt.enums import CallbackAPIVersion

from dashboard import Receiver, Store
from dashboard.auth import add_user, log_in
from dashboard.web import COOKIE, create_app
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig

DEVICE = "rig-01"
ROOT = Path(__file__).resolve().parents[1]


def link_config(b: Broker, **kw: object) -> SyncConfig:
    base: dict[str, object] = {
        "host": b.host,
        "port": b.port,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.3,
        "keepalive_s": 5,
        "will_delay_s": 1,
        "telemetry_interval_s": 1.0,
    }
    return SyncConfig(**(base | kw))


def wait(pred: object, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def add_results(ob: Outbox, n: int, start: int = 0, image: Path | None = None) -> list[str]:
    ids = []
    for i in range(start, start + n):
        capture = str(uuid7())
        ob.add_capture(
            capture,
            sample_record(i),
            sample_result(i),
            image=None if image is None else (image, 1000),
        )
        ids.append(capture)
    return ids


def raw_client(b: Broker) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger", protocol=mqtt.MQTTv5)
    c.connect(b.host, b.port)
    c.loop_start()
    return c


def stored_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT capture_id FROM results")]


def test_results_and_images_stored_once_duplicates_dropped(broker: Broker, tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    image.write_bytes(os.urandom(4500))  # 5 chunks of 1000 bytes, the last one short
    check = SchemaCheck()
    with (
        Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
        Receiver(broker.host, broker.port, store, on_raw=check) as rx,
        Outbox(tmp_path / "o.db") as ob,
    ):
        ids = add_results(ob, 12, image=image)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(lambda: store.count("results") == 12 and store.count("images") == 12)
            assert wait(link.drained)
            # the rig resends everything (as after a lost PUBACK): nothing changes
            reply = rx.command(DEVICE, "resend", {"since_seq": 1})
            assert reply is not None and reply.ok and reply.data["requeued"] == 12 * 7
            assert wait(lambda: rx.duplicates >= 12 * 7)
        assert sorted(stored_ids(store.path)) == sorted(ids)
        assert store.count("messages") == ob.last_seq() == 12 * 7  # result, manifest, 5 chunks
        files = sorted((tmp_path / "images").iterdir())
        assert len(files) == 12
        want = hashlib.sha256(image.read_bytes()).hexdigest()
        assert {hashlib.sha256(f.read_bytes()).hexdigest() for f in files} == {want}
        assert {f.name.split("-frame")[0] for f in files} == set(ids)  # named by capture id
        # The rig's last status ('stopped', sent as it closed) arrives when it arrives.
        assert wait(lambda: store.rigs()[0]["state"] == "stopped")
        assert store.count("dead_letters") == 0
        assert rx.missing() == {}
    assert not check.errors and check.checked > 0


def test_malformed_oversize_and_forged_go_to_dead_letters(broker: Broker, tmp_path: Path) -> None:
    with (
        Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
        Receiver(broker.host, broker.port, store, max_message_bytes=20_000) as rx,
        Outbox(tmp_path / "o.db") as ob,
    ):
        ids = add_results(ob, 3)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(lambda: store.count("results") == 3)
            assert wait(link.drained)
        first = json.loads(ob.since(1)[0].payload)
        forger = raw_client(broker)
        base = f"dermocap/v1/{DEVICE}"
        bad = {
            "not json": b"{nope",
            "not utf8": b"\xff\xfe",
            "schema": json.dumps({**first, "subject": "<script>alert(1)</script>"}).encode(),
            # a name where a pseudonym belongs (a broken or forged rig): refused, name not kept
            "name": json.dumps(
                {**first, "message_id": str(uuid7()), "subject": "Jane Doe"}
            ).encode(),
            "oversize": json.dumps({**first, "pad": "x" * 30_000}).encode(),
            # seq 1 again with a new message_id: a forgery or replay under this rig's id
            "forged": json.dumps({**first, "message_id": str(uuid7())}).encode(),
            # a new seq claiming a capture id that is already stored
            "capture": json.dumps({**first, "message_id": str(uuid7()), "seq": 99}).encode(),
            # the rig's next seq with a field this dashboard does not know (a newer rig)
            "newer": json.dumps(
                {
                    **first,
                    "message_id": str(uuid7()),
                    "seq": 4,
                    "capture_id": str(uuid7()),
                    "review_colour": "amber",
                }
            ).encode(),
        }
        for payload in bad.values():
            forger.publish(f"{base}/results", payload, qos=1).wait_for_publish(5)
        forger.publish(f"{base}/no-such-channel", b"{}", qos=1).wait_for_publish(5)
        assert wait(lambda: store.count("dead_letters") == len(bad) + 1)
        forger.loop_stop()
        forger.disconnect()
        reasons = [d["reason"] for d in reversed(store.dead_letters())]
        assert "Invalid JSON" in reasons[0] and "UTF-8" in reasons[1]
        assert "subject" in reasons[2] and "subject" in reasons[3]
        assert reasons[4].startswith("oversize")
        assert "forged or replayed" in reasons[5] and "already sent by rig" in reasons[6]
        assert "review_colour" in reasons[7] and "no channel" in reasons[8]
        # the refused subjects are not stored, neither in the payloads nor in the reasons
        with sqlite3.connect(store.path) as con:
            kept = [r[0] for r in con.execute("SELECT payload FROM dead_letters ORDER BY id")]
        con.close()
        assert not any(b"Jane Doe" in p or b"<script>" in p for p in kept)
        assert not any("Jane" in r or "script" in r for r in reasons)
        assert sum(b'"subject":"[removed: not a pseudonymous id]"' in p for p in kept) == 2
        assert sorted(stored_ids(store.path)) == sorted(ids) and rx.dead == len(bad) + 1
        # the refused seq 4 counts as received (its dead letter keeps it), so it is not asked
        # for again and again; seq 99, claimed by a refused message, opens no gap up to it
        assert rx.missing() == {} and rx.views[DEVICE].high == 4
        # the rig's next message follows it: seq 4 is now a gap to anyone not told of it
        after = {**first, "message_id": str(uuid7()), "seq": 5, "capture_id": str(uuid7())}
        forger = raw_client(broker)
        forger.publish(f"{base}/results", json.dumps(after).encode(), qos=1).wait_for_publish(5)
        assert wait(lambda: store.count("results") == 4)
        forger.loop_stop()
        forger.disconnect()
        # kept with the dead letter: only the expected seq 4, not the claimed 99 or 1
        assert store.lost() == {DEVICE: {4}}
        (rig,) = store.rigs()
        assert rig["lost"] == 0 and rig["refused"] == 1  # kept in dead letters, not lost
        client = create_app(store).test_client()
        add_user(store, "alice", PASSWORD)
        client.set_cookie(COOKIE, log_in(store, "alice", PASSWORD, 1.0) or "")
        row = client.get("/rigs").get_data(as_text=True).split(f'<td class="text">{DEVICE}</td>')
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row[1].split("</tr>")[0], re.S)
        assert cells[8:10] == ["0", "1"]  # seqs lost, seqs refused (dead letters)
        rx.close()
        # `serve` restarted: the refused seq is not a gap, nor once telemetry says it exists
        with Receiver(broker.host, broker.port, store) as again:
            assert again.missing() == {}
            assert again.views[DEVICE].expect_up_to(5) == [] and again.missing() == {}
            assert again.views[DEVICE].expect_up_to(6) == [6]  # a real tail still is a gap


def newer_rig_at(ob: Outbox, seq: int) -> bytes:
    """Make the outbox's ``seq`` carry a field this dashboard does not know (a rig newer than
    the dashboard): the dashboard refuses it, and the rig sends the same bytes at each
    resend. Returns the payload."""
    payload = json.loads(ob.since(seq)[0].payload) | {"review_colour": "amber"}
    raw = json.dumps(payload).encode()
    with sqlite3.connect(ob.path) as con:
        con.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (raw.decode(), seq))
    con.close()
    return raw


def refused(store: Store) -> list[tuple[str, int]]:
    """Each dead letter's reason and arrivals, oldest first."""
    return [(d["reason"], d["arrivals"]) for d in reversed(store.dead_letters())]


def test_a_refused_message_resent_again_and_again_is_one_dead_letter(
    broker: Broker, tmp_path: Path
) -> None:
    """``resend since_seq`` brings back every durable message from that seq on, the one
    refused here too: it is refused again but kept once, its arrivals counted (it used to
    leave one more copy in dead_letters at each resend covering it)."""
    with (
        Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
        Receiver(broker.host, broker.port, store, gap_grace_s=60) as rx,
        Outbox(tmp_path / "o.db") as ob,
    ):
        add_results(ob, 3)
        newer_rig_at(ob, 2)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            # seq 3 follows seq 2 on the one session: stored means seq 2 was refused before
            assert wait(lambda: store.count("results") == 2 and rx.dead == 1)
            assert wait(link.drained)
            for n in (1, 2):
                reply = rx.command(DEVICE, "resend", {"since_seq": 1})
                assert reply is not None and reply.ok and reply.data["requeued"] == 3
                # seqs 1 and 3 are duplicates; seq 3 comes after the refused seq 2
                assert wait(lambda n=n: rx.duplicates == 2 * n), rx.duplicates
        assert rx.dead == 3  # refused at each arrival
        assert store.count("dead_letters") == 1
        (reason, arrivals), *more = refused(store)
        assert "review_colour" in reason and arrivals == 3 and not more
        assert store.count("results") == 2 and store.count("messages") == 2
        assert store.lost() == {DEVICE: {2}} and rx.missing() == {}
        (rig,) = store.rigs()
        assert rig["lost"] == 0 and rig["refused"] == 1


def test_another_message_under_a_refused_seq_is_kept_apart(broker: Broker, tmp_path: Path) -> None:
    """A second client publishing as this rig (two rigs given one device_id, or a forger):
    its message under the refused seq 2, and one under the stored seq 3, differ from the
    rig's own, so each is a dead letter of its own, and each arrival again is counted on
    its own row, not folded into the rig's."""
    with (
        Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
        Receiver(broker.host, broker.port, store, gap_grace_s=60) as rx,
        Outbox(tmp_path / "o.db") as ob,
    ):
        add_results(ob, 3)
        mine = newer_rig_at(ob, 2)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(lambda: store.count("results") == 2 and rx.dead == 1)
            assert wait(link.drained)
        first = json.loads(ob.since(1)[0].payload)
        twin_2 = {**json.loads(mine), "message_id": str(uuid7()), "capture_id": str(uuid7())}
        twin_3 = {**first, "message_id": str(uuid7()), "seq": 3, "capture_id": str(uuid7())}
        two, three = json.dumps(twin_2).encode(), json.dumps(twin_3).encode()
        twin = raw_client(broker)
        topic = f"dermocap/v1/{DEVICE}/results"
        for payload in (two, three, two, three, mine):
            twin.publish(topic, payload, qos=1).wait_for_publish(5)
        # a last message, refused as well: once its row is in, the ones before it are too
        twin.publish(topic, b"{end", qos=1).wait_for_publish(5)
        twin.loop_stop()
        twin.disconnect()
        assert wait(lambda: store.count("dead_letters") == 4)
        assert rx.dead == 7
        kept = refused(store)
        assert [a for _, a in kept] == [2, 2, 2, 1]  # the rig's seq 2 came again as the twin's
        assert "review_colour" in kept[0][0] and "review_colour" in kept[1][0]  # seq 2 twice
        assert "forged or replayed" in kept[2][0] and "Invalid JSON" in kept[3][0]
        assert store.count("results") == 2 and store.lost() == {DEVICE: {2}}
        client = create_app(store).test_client()
        add_user(store, "alice", PASSWORD)
        client.set_cookie(COOKIE, log_in(store, "alice", PASSWORD, 1.0) or "")
        page = client.get("/rigs").get_data(as_text=True).split('<table id="dead-letters">')[1]
        rows = re.findall(r"<tr><td>\d+</td>(.*?)</tr>", page.split("</table>")[0], re.S)
        arrivals = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[3] for r in rows]
        assert arrivals == ["1", "2", "2", "2"]  # newest first


def test_gap_healed_with_resend(broker: Broker, tmp_path: Path) -> None:
    """Results sent before the dashboard's session existed arrive through ``resend``."""
    with Outbox(tmp_path / "o.db") as ob:
        early = add_results(ob, 10)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(link.drained)  # acknowledged by the broker, seen by nobody
            with (
                Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
                Receiver(broker.host, broker.port, store, gap_grace_s=0.2) as rx,
            ):
                late = add_results(ob, 5, start=10)
                link.notify()
                assert wait(lambda: store.count("results") == 15)
                assert sorted(stored_ids(store.path)) == sorted(early + late)
                assert rx.resends >= 1 and rx.missing() == {}
                assert store.count("messages") == ob.last_seq()


def test_a_lost_tail_is_found_from_telemetry_and_healed(broker: Broker, tmp_path: Path) -> None:
    """Nothing follows the lost results: the rig's telemetry (last_seq, empty outbox) tells."""
    with Outbox(tmp_path / "o.db") as ob:
        sent = add_results(ob, 5)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(link.drained)
            with (
                Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
                Receiver(broker.host, broker.port, store, gap_grace_s=0.2) as rx,
            ):
                assert wait(lambda: store.count("results") == 5)
                assert sorted(stored_ids(store.path)) == sorted(sent) and rx.resends >= 1


def test_lost_seqs_marked_when_the_rig_pruned_them(broker: Broker, tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as ob:
        add_results(ob, 4)
        with MqttLink(link_config(broker), DEVICE, ob) as link:
            assert wait(link.drained)
            assert ob.prune_acked(0.0) == 4
            with (
                Store(tmp_path / "d.sqlite3", tmp_path / "images") as store,
                Receiver(broker.host, broker.port, store, gap_grace_s=0.2) as rx,
            ):
                add_results(ob, 2, start=4)
                link.notify()
                assert wait(lambda: store.count("lost_seqs") == 4 and rx.missing() == {})
                assert store.count("results") == 2


RECEIVER = r"""
import sys, time
from pathlib import Path
from dashboard import Receiver, Store
folder, port = Path(sys.argv[1]), int(sys.argv[2])
store = Store(folder / "d.sqlite3", folder / "images")
rx = Receiver("127.0.0.1", port, store, gap_grace_s=0.3)
rx.start(30)
print("started", flush=True)
while True:
    time.sleep(0.2)
"""


def spawn_dashboard(folder: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(folder), str(port)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and "started" in proc.stdout.readline()
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def test_sigkilled_dashboard_and_broker_lose_nothing(broker: Broker, tmp_path: Path) -> None:
    db = tmp_path / "dash" / "d.sqlite3"
    dash = spawn_dashboard(tmp_path / "dash", broker.port)
    try:
        with Outbox(tmp_path / "o.db") as ob, MqttLink(link_config(broker), DEVICE, ob) as link:
            sent = add_results(ob, 150)
            link.notify()
            assert wait(lambda: len(stored_ids(db)) >= 20)
            kill(dash)  # mid-stream: the broker keeps the session's messages
            sent += add_results(ob, 150, start=150)
            link.notify()
            assert wait(link.drained)
            # the broker dies with the session's queue in memory (persistence is written at
            # exit only): those results were acknowledged to the rig and are gone from the
            # broker; the dashboard must heal them with resend.
            broker.restart(kill=True)
            sent += add_results(ob, 50, start=300)
            link.notify()
            dash = spawn_dashboard(tmp_path / "dash", broker.port)
            assert wait(lambda: len(stored_ids(db)) == len(sent), 60), len(stored_ids(db))
            got = stored_ids(db)
            assert sorted(got) == sorted(sent)  # 0 lost, 0 duplicated
            with sqlite3.connect(db) as con:
                (msgs,) = con.execute("SELECT COUNT(*) FROM messages").fetchone()
                (dead,) = con.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
            assert msgs == ob.last_seq() == 350 and dead == 0
    finally:
        kill(dash)
