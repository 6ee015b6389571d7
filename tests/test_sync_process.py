"""A device process killed with results unsent sends them after a restart; its will fires."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    watching,
)

ROOT = Path(__file__).resolve().parents[1]

DEVICE = r"""
import sys, time
from pathlib import Path
from sim.messages import sample_record, sample_result
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig
db, port, n, start = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ob = Outbox(db)
for i in range(start, start + n):
    ob.add_capture(str(uuid7()), sample_record(i), sample_result(i))
cfg = SyncConfig(port=port, reconnect_min_s=0.05, reconnect_max_s=0.2, will_delay_s=1)
link = MqttLink(cfg, "rig-01", ob)
link.start()
print("queued", flush=True)
while True:
    time.sleep(0.1)
    print("connected" if link.connected.is_set() else "waiting",
          "drained" if link.drained() else "busy", flush=True)
"""


def spawn(db: Path, port: int, n: int, start: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DEVICE, str(db), str(port), str(n), str(start)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


def wait_line(proc: subprocess.Popen[str], want: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if want in line:
            return
        assert line, "device process exited"
    raise AssertionError(f"device never printed {want!r}")


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def test_killed_device_sends_unsent_results_after_restart(broker: Broker, tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"
    with watching(broker) as (w, _):
        view = w.device("rig-01")
        # 1. a running rig is killed: its will announces offline after the will delay
        first = spawn(db, broker.port, 5, 0)
        try:
            wait_line(first, "drained")
            assert w.wait_for(lambda: len(view.results) == 5, 10)
            assert view.status is not None and view.status.state == "online"
        finally:
            kill(first)
        killed_at = time.monotonic()
        assert w.wait_for(lambda: view.status is not None and view.status.state == "offline", 10)
        assert time.monotonic() - killed_at >= 0.5, "the will must wait for its delay"
        # 2. the broker is down: results are queued, then the process dies with them unsent
        broker.stop()
        second = spawn(db, broker.port, 20, 5)
        try:
            wait_line(second, "queued")
            time.sleep(0.3)
        finally:
            kill(second)
        broker.start()
        # 3. after a restart they all arrive (the dashboard asks for any gap it saw)
        third = spawn(db, broker.port, 0, 25)
        try:
            wait_line(third, "drained")
            w.wait_for(lambda: len(view.results) == 25, 10)
            assert w.heal("rig-01", timeout_s=15)
            assert w.wait_for(lambda: len(view.results) == 25, 10)
        finally:
            kill(third)
        assert view.seqs >= set(range(1, 26))
