"""The link's own logic against the in-memory broker: send window, dead letters, telemetry, will.

No Mosquitto: sim.mqtt.InMemoryBroker keeps MQTT v5's semantics (tests/test_connection.py
checks them against Mosquitto). The link runs on its own thread; the tests reach each case
by construction (held acknowledgements, ``link.call`` round trips on the link thread, a
stopped broker, the broker's clock), and wait only for the outcome.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dermocap.ids import uuid7
from sim.messages import sample_record, sample_result
from sim.mqtt import InMemoryBroker, Stored
from sync import MqttLink, Outbox, SyncConfig
from sync.wire import RC_PACKET_TOO_LARGE

DEVICE = "rig-01"
PREFIX = f"dermocap/v1/{DEVICE}"


class ManualClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds


def until(pred: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def settled(link: MqttLink) -> None:
    """Return once the link thread has run two whole turns since the call."""
    for _ in range(2):
        done = threading.Event()
        link.call(done.set)
        assert done.wait(10.0)


def config(**kw: object) -> SyncConfig:
    base: dict[str, object] = {
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.1,
        "will_delay_s": 1,
    }
    return SyncConfig(**(base | kw))


def add_results(ob: Outbox, n: int, **result: object) -> list[str]:
    ids = []
    for i in range(n):
        capture = str(uuid7())
        ob.add_capture(capture, sample_record(i), sample_result(i) | result)
        ids.append(capture)
    return ids


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "o.db") as ob:
        yield ob


def results(broker: InMemoryBroker) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in broker.messages(f"{PREFIX}/results")]


def test_the_window_bounds_unacknowledged_messages(outbox: Outbox) -> None:
    broker = InMemoryBroker()
    broker.hold_acks = True
    ids = add_results(outbox, 25)
    with MqttLink(config(inflight_window=10), DEVICE, outbox, connection=broker.connection) as link:
        until(lambda: len(results(broker)) == 10)
        settled(link)
        assert len(results(broker)) == 10 and link.stats.sent == 10  # the window is full
        broker.hold_acks = False
        qos1 = [m.topic.rsplit("/", 1)[1] for m in broker.accepted if m.qos == 1]
        assert qos1 == ["status"] + ["results"] * 10  # the window holds outbox rows only
        assert broker.release_acks() == 11
        until(link.drained)
    assert sorted(str(r["capture_id"]) for r in results(broker)) == sorted(ids)
    assert link.stats.acked == 25 and outbox.depth() == 0 and outbox.dead_letter_count() == 0


def test_a_refused_message_is_dead_lettered_and_the_rest_flows(outbox: Outbox) -> None:
    def refuse(m: Stored) -> int | None:
        user = dict(getattr(m.properties, "UserProperty", []))
        return 0x87 if m.topic.endswith("/results") and user.get("seq") == "3" else None

    broker = InMemoryBroker(refuse=refuse)
    add_results(outbox, 6)
    with MqttLink(config(), DEVICE, outbox, connection=broker.connection) as link:
        until(link.drained)
    dead = outbox.dead_letters()
    assert [(d.seq, d.reason_code) for d in dead] == [(3, 0x87)]
    assert sorted(int(str(r["seq"])) for r in results(broker)) == [1, 2, 4, 5, 6]
    assert link.stats.dead == 1 and link.stats.acked == 5 and link.stats.disconnects == 0


def test_a_message_over_the_broker_maximum_is_dead_lettered_before_sending(
    outbox: Outbox,
) -> None:
    broker = InMemoryBroker(max_packet_size=2000)
    add_results(outbox, 2)
    big = {"qc": {"passed": True, "scores": {f"score_{i}": 0.5 for i in range(200)}}}
    add_results(outbox, 1, **big)
    add_results(outbox, 2)
    with MqttLink(config(), DEVICE, outbox, connection=broker.connection) as link:
        until(link.drained)
    assert [(d.seq, d.reason_code) for d in outbox.dead_letters()] == [(3, RC_PACKET_TOO_LARGE)]
    assert sorted(int(str(r["seq"])) for r in results(broker)) == [1, 2, 4, 5]
    assert link.stats.max_packet_size == 2000 and link.stats.disconnects == 0


def test_telemetry_carries_the_outbox_and_the_service_fields(outbox: Outbox) -> None:
    broker = InMemoryBroker()
    broker.hold_acks = True  # one result stays unacknowledged: depth 1 in telemetry
    add_results(outbox, 1)
    cfg = config(telemetry_expiry_s=120)
    fields = {"led_drift_pct": -3.5, "calibration_age_s": 60.0}
    with MqttLink(cfg, DEVICE, outbox, connection=broker.connection, telemetry=lambda: fields):
        until(lambda: bool(broker.messages(f"{PREFIX}/telemetry")))
        broker.hold_acks = False
        broker.release_acks()
    sent = broker.messages(f"{PREFIX}/telemetry")[0]
    body = json.loads(sent.payload)
    assert sent.qos == 0 and not sent.retain
    assert sent.properties is not None and sent.properties.MessageExpiryInterval == 120
    assert body["led_drift_pct"] == -3.5 and body["calibration_age_s"] == 60.0
    assert body["last_seq"] == 1 and body["dead_letters"] == 0


def test_a_failing_telemetry_callback_sends_the_links_figures_and_the_link_lives(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker = InMemoryBroker()

    def broken() -> dict[str, object]:
        raise KeyError("calibration")

    add_results(outbox, 2)
    with MqttLink(config(), DEVICE, outbox, connection=broker.connection, telemetry=broken) as link:
        until(lambda: bool(broker.messages(f"{PREFIX}/telemetry")))
        until(link.drained)  # the link thread goes on: both results delivered
    body = json.loads(broker.messages(f"{PREFIX}/telemetry")[0].payload)
    assert body["last_seq"] == 2 and body.get("led_drift_pct") is None
    assert "telemetry figures failed" in caplog.text


def test_a_lost_link_leaves_its_will_and_comes_back_online(outbox: Outbox) -> None:
    clock = ManualClock()
    broker = InMemoryBroker(clock=clock)
    add_results(outbox, 3)

    def status() -> str:
        return str(json.loads(broker.retained[f"{PREFIX}/status"].payload)["state"])

    with MqttLink(config(), DEVICE, outbox, connection=broker.connection) as link:
        until(link.drained)
        assert status() == "online"
        broker.stop()  # the broker goes away: the link's connection is lost
        until(lambda: not link.connected.is_set())
        assert status() == "online"  # the will waits for its delay
        clock.sleep(1.0)
        broker.tick()
        assert status() == "offline"
        add_results(outbox, 2)
        link.notify()
        broker.start()
        until(lambda: status() == "online" and link.drained())
    assert status() == "stopped"
    assert link.stats.disconnects == 1 and link.stats.acked == 5
    assert sorted(int(str(r["seq"])) for r in results(broker)) == [1, 2, 3, 4, 5]
