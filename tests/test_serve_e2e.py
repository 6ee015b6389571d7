"""End to end: ``dermocap serve`` as a process on the twin, a real Mosquitto, a dashboard.

The service is started as systemd would (NOTIFY_SOCKET), pressed through the twin's hand
(the mock button pin), stopped with SIGTERM and killed with SIGKILL. The dashboard is
dashboard.watch.Watcher with every message checked against the AsyncAPI contract.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_fixtures import Broker, broker_fixture, watching

from sim.harness import ServeProcess, twin_config_toml

__all__ = ["broker_fixture"]  # the broker fixture, used by name

DEVICE = "rig-e2e"


@pytest.fixture
def rig(tmp_path: Path, broker: Broker) -> Iterator[ServeProcess]:
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    # No daily light check: a run that spans midnight would get its request for the
    # reference target instead of a capture (the check has its own tests, test_lightcheck.py).
    cfg.write_text(
        twin_config_toml(state, broker_port=broker.port, device_id=DEVICE, daily_light_check=False)
    )
    p = ServeProcess(cfg, state, log=tmp_path / "serve.log")
    try:
        yield p
    finally:
        p.close()


class RawResults:
    """Every result payload the dashboard received, by capture id (duplicates kept), and
    every event."""

    def __init__(self) -> None:
        self.by_capture: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.events: list[dict[str, Any]] = []

    def __call__(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/results"):
            msg = json.loads(payload)
            self.by_capture[msg["capture_id"]].append(msg)
        elif topic.endswith("/events"):
            self.events.append(json.loads(payload))


def stored_sidecars(state: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted((state / "captures").glob("*/*/*/*.json")):
        rec = json.loads(p.read_text())
        rec["_path"] = p
        out.append(rec)
    return out


def assert_store_is_whole(state: Path) -> list[dict[str, Any]]:
    """Every image matches its sidecar's SHA-256; no temp file, no image without a record."""
    recs = stored_sidecars(state)
    for rec in recs:
        image = rec["_path"].with_name(rec["image"]["file"])
        assert hashlib.sha256(image.read_bytes()).hexdigest() == rec["image"]["sha256"], image
    leftovers = [
        p
        for p in (state / "captures").rglob("*")
        if p.is_file() and (p.suffix not in (".json", ".jpg") or ".tmp" in p.name)
    ]
    assert leftovers == []
    images = {p.stem for p in (state / "captures").rglob("*.jpg")}
    assert images == {r["capture_id"] for r in recs}
    return recs


def test_press_gives_a_result_close_to_the_twin_truth(rig: ServeProcess, broker: Broker) -> None:
    with watching(broker) as (w, _):
        ready_s = rig.start()
        assert ready_s < 120
        view = w.device(DEVICE)
        # READY=1 does not wait for the broker (a rig works offline); a command sent before
        # the rig has subscribed is not delivered. The rig subscribes before it says online.
        assert w.wait_for(lambda: view.status is not None and view.status.state == "online", 30)
        reply = w.command(
            DEVICE, "worklist", {"subject": "P00123", "visit": "baseline", "sites": ["vertex"]}
        )
        assert reply is not None and reply.ok, reply
        assert reply.data["next_site"] == "vertex"
        bad = w.command(
            DEVICE, "worklist", {"subject": "John Smith", "visit": "baseline", "sites": ["x"]}
        )
        assert bad is not None and not bad.ok  # a name never becomes a subject
        truth = rig.hand({"do": "truth"})["truth"]
        rig.press()
        assert w.wait_for(lambda: len(view.results) == 1, 120), rig.log.read_text()[-2000:]
        (res,) = view.results.values()
        assert (res.subject, res.site, res.visit) == ("P00123", "vertex", "baseline")
        assert res.qc.passed
        m = res.metrics
        assert m.density_per_cm2 == pytest.approx(truth["density_per_cm2"], rel=0.15)
        # A sanity bound, not the 5 um target: model 2.2.0 reads dense trimmed hair's
        # diameters low (13 um on this scalp; twin bench trimmed MAE 6.2 um, model card 2.2.0)
        assert m.mean_diameter_um == pytest.approx(truth["mean_diameter_um"], abs=15)
        assert res.um_per_px == pytest.approx(truth["um_per_px"], rel=0.01)
        assert len(res.images) == 2  # cross and parallel
        assert any(line.startswith("WATCHDOG=1") for _, line in rig.notices)
        assert rig.terminate() == 0
        assert any(line == "STOPPING=1" for _, line in rig.notices)
        assert w.wait_for(lambda: view.status is not None and view.status.state == "stopped", 10)
    (state_dir,) = [rig.state_dir]
    assert list((state_dir / "overlays").glob("*.jpg"))  # an overlay for the technician


def test_sigterm_mid_capture_then_restart_loses_nothing(rig: ServeProcess, broker: Broker) -> None:
    raw = RawResults()
    with watching(broker, on_raw=raw) as (w, _):
        rig.start()
        rig.press()
        time.sleep(1.5)  # focusing or capturing now
        assert rig.terminate() == 0
        rig.start()
        view = w.device(DEVICE)
        recs = assert_store_is_whole(rig.state_dir)
        analysed = {r["capture_id"] for r in recs if r["lighting_mode"] == "cross"}
        assert w.wait_for(lambda: set(view.results) >= analysed, 60)
        assert rig.terminate() == 0
    assert len(analysed) == 1  # the capture in progress was finished, not dropped
    assert {k: len(v) for k, v in raw.by_capture.items()} == dict.fromkeys(analysed, 1)


# Where a SIGKILL lands, each chosen from the service's own progress (its STATUS= lines,
# the sidecars on disk, the outbox, the dashboard), never from a clock: the same cases are
# reached however loaded the machine is.
KILL_POINTS = (
    "pressed",  # the press was taken (focusing or later)
    "capturing",  # frames are being taken
    "first_mode_stored",  # a lighting mode's sidecar is on disk: usually a half site
    "site_stored",  # every mode stored and the worklist moved on; maybe no result yet
    "result_queued",  # the result is in the outbox with its record; maybe not sent
    "result_delivered",  # the dashboard has the result
)
WHOLE_SITE_POINTS = ("site_stored", "result_queued", "result_delivered")
ROUNDS = 2


def sidecar_ids(state: Path) -> set[str]:
    return {p.stem for p in (state / "captures").glob("*/*/*/*.json")}


def in_outbox(state: Path, capture_id: str) -> bool:
    """The capture's record and result are in the outbox (read-only, beside the writer)."""
    uri = f"file:{state / 'outbox.sqlite3'}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as db:
            row = db.execute("SELECT 1 FROM captures WHERE capture_id = ?", (capture_id,))
            return row.fetchone() is not None
    except sqlite3.Error:
        return False


def reached(point: str, rig: ServeProcess, results: dict[str, Any], before: set[str]) -> bool:
    progress: set[str] = set()
    for status in rig.statuses():
        progress.add(status.split(";", 1)[0])
        if "/adhoc-2;" in status:  # no worklist: the next ad-hoc site, so this one is whole
            progress.add("site_stored")
    new = sidecar_ids(rig.state_dir) - before
    cross = [cid for cid in sorted(new) if _mode(rig.state_dir, cid) == "cross"]
    return {
        "pressed": bool(new or progress & {"focusing", "capturing", "analysing", "site_stored"}),
        "capturing": bool(new or progress & {"capturing", "analysing", "site_stored"}),
        "first_mode_stored": bool(new),
        "site_stored": "site_stored" in progress,
        "result_queued": bool(cross) and in_outbox(rig.state_dir, cross[0]),
        "result_delivered": bool(cross) and cross[0] in results,
    }[point]


def _mode(state: Path, capture_id: str) -> str | None:
    """The lighting mode of a stored capture (None if it went: a failed site is removed)."""
    for path in (state / "captures").glob(f"*/*/*/{capture_id}.json"):
        with contextlib.suppress(OSError, ValueError):
            return str(json.loads(path.read_text())["lighting_mode"])
    return None


def kill_at(point: str, rig: ServeProcess, results: dict[str, Any]) -> None:
    """Press, wait until the service reaches ``point`` of that press, SIGKILL it."""
    assert rig.proc is not None
    before = sidecar_ids(rig.state_dir)
    rig.press()
    deadline = time.monotonic() + 180
    while not reached(point, rig, results, before):
        if time.monotonic() > deadline or rig.proc.poll() is not None:
            raise AssertionError(f"{point} not reached:\n{rig.log.read_text()[-3000:]}")
        time.sleep(0.005)
    rig.kill()


def test_sigkill_at_every_progress_point_loses_nothing_and_duplicates_nothing(
    rig: ServeProcess, broker: Broker
) -> None:
    raw = RawResults()
    with watching(broker, on_raw=raw) as (w, _):
        view = w.device(DEVICE)
        # One undisturbed press first, then a SIGKILL at each progress point, twice over.
        rig.start()
        rig.press()
        assert w.wait_for(lambda: len(view.results) == 1, 120)
        rig.kill()
        for point in KILL_POINTS * ROUNDS:
            rig.start()
            kill_at(point, rig, view.results)
        rig.start()  # recovery: analyse what the kills left without a result
        recs = assert_store_is_whole(rig.state_dir)
        sites: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            sites[r["site_capture_id"]].append(r)
        # A kill between two lighting modes leaves a half site: settled, never analysed.
        half = {
            sid: {r["capture_id"] for r in rs}
            for sid, rs in sites.items()
            if {r["lighting_mode"] for r in rs} != set(rs[0]["site_modes"])
        }
        cross = {r["capture_id"] for r in recs if r["lighting_mode"] == "cross"} - {
            cid for ids in half.values() for cid in ids
        }

        def incomplete() -> set[str]:
            return {e["capture_id"] for e in raw.events if e["type"] == "capture_incomplete"}

        assert w.wait_for(lambda: set(view.results) >= cross, 120)
        assert w.wait_for(lambda: all(ids & incomplete() for ids in half.values()), 60)
        assert w.heal(DEVICE)
        assert rig.terminate() == 0
    whole = set(sites) - set(half)
    # by construction: the first press and every kill at or after "site_stored"
    assert len(whole) >= 1 + len(WHOLE_SITE_POINTS) * ROUNDS, (len(whole), len(half))
    assert set(view.results) == cross
    for ids in half.values():  # one event per half site (a resend keeps its message_id)
        settled = {
            e["message_id"]
            for e in raw.events
            if e["type"] == "capture_incomplete" and e["capture_id"] in ids
        }
        assert len(settled) == 1, ids
    # One result message per capture: a redelivered message keeps its message_id.
    for cid, msgs in raw.by_capture.items():
        assert len({m["message_id"] for m in msgs}) == 1, cid
