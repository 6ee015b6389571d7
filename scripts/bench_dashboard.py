"""Benchmark of the clinic dashboard (issue 16's measured figures).

1. ingest: N results from a real rig publisher (outbox + MQTT link, in its own process)
   through a loopback Mosquitto into the dashboard's receiver and SQLite store; results/s
   (target >= 1,000) and the dashboard process's memory after it.
2. subject page: with 100,000 results stored (topped up straight into the store when fewer
   were ingested), the median server time of a subject page with 4 visits x 3 sites
   (target <= 100 ms), through Flask's test client (server side, no network).

Usage: python scripts/bench_dashboard.py [--results N] [--pages M]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.auth import add_user, log_in
from dashboard.receiver import Receiver
from dashboard.store import Store
from dashboard.web import COOKIE, create_app
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, ResultMessage, SyncConfig
from sync.broker import Broker

SITES = ("frontal", "vertex", "occipital")
VISITS = ("baseline", "3m", "6m", "12m")
PER_SUBJECT = len(SITES) * len(VISITS)


def payload(i: int) -> dict[str, Any]:
    """Result ``i``: subject i // 12, each subject 4 visits x 3 sites."""
    d = 100.0 + (i * 37) % 120
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=90 * ((i // 3) % 4))
    return {
        "subject": f"S{i // PER_SUBJECT:06d}", "site": SITES[i % 3],
        "visit": VISITS[(i // 3) % 4], "captured_at": at.isoformat(),
        "metrics": {"density_per_cm2": d, "hair_count": int(d), "terminal_density_per_cm2": d * .7,
                    "vellus_density_per_cm2": d * .3, "mean_diameter_um": 60.0,
                    "cumulative_thickness_mm_per_cm2": d * .06},
        "qc": {"passed": True}, "um_per_px": 3.2,
        "model": {"name": "hairnet", "version": "1.0", "sha256": "0" * 64},
    }  # fmt: skip


def rig(port: int, folder: str, n: int, go: Any, done: Any, stop: Any) -> None:
    """The rig's process: queue ``n`` results, on ``go`` send them all, answer until ``stop``."""
    with Outbox(Path(folder) / "outbox.db") as ob:
        for i in range(n):
            ob.add_capture(str(uuid7()), {"index": i}, payload(i))
        done.set()
        go.wait()
        cfg = SyncConfig(port=port, inflight_window=500, telemetry_interval_s=5)
        with MqttLink(cfg, "bench-rig", ob):
            stop.wait()  # stay, as a rig does, to answer the dashboard's resend requests


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--results", type=int, default=100_000, help="results sent through the broker")
    p.add_argument("--stored", type=int, default=100_000, help="results stored for the page test")
    p.add_argument("--pages", type=int, default=50, help="subject pages timed")
    p.add_argument(
        "--broker-queue", type=int, default=200_000, help="Mosquitto's max_queued_messages"
    )
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    ctx = mp.get_context("spawn")
    go, queued, stop = ctx.Event(), ctx.Event(), ctx.Event()
    # Mosquitto drops QoS 1 messages beyond max_queued_messages (default 1000) for a
    # subscriber that falls behind; a clinic broker serving a dashboard should allow more.
    conf = f"max_queued_messages {args.broker_queue}"
    with (
        Broker(tmp / "broker", extra_conf=conf) as broker,
        Store(tmp / "d.sqlite3", tmp / "images") as store,
    ):
        proc = ctx.Process(target=rig, args=(broker.port, str(tmp), args.results, go, queued, stop))
        proc.start()
        queued.wait()
        rss0 = rss_mb()
        with Receiver(broker.host, broker.port, store, gap_grace_s=30.0) as rx:
            t0 = time.perf_counter()
            go.set()
            while rx.stored < args.results and proc.is_alive():
                time.sleep(0.02)
            elapsed = time.perf_counter() - t0
            rss1 = rss_mb()
            dupes, lost = rx.duplicates, sum(len(v) for v in rx.missing().values())
            stored, resends = rx.stored, rx.resends
        stop.set()
        proc.join(60)
        print(f"ingest: {stored} of {args.results} results in {elapsed:.1f} s = "
              f"{stored / elapsed:.0f} results/s through a loopback broker into SQLite "
              f"(duplicates {dupes}, seqs missing {lost}, resend requests {resends}, "
              f"broker max_queued_messages {args.broker_queue})")  # fmt: skip
        print(f"memory: dashboard process RSS {rss1:.0f} MB after ingesting {args.results} "
              f"results ({rss0:.0f} MB before)")  # fmt: skip
        t1 = time.perf_counter()
        for i in range(store.count("results"), args.stored):
            m = ResultMessage.model_validate(
                {**payload(i), "message_id": str(uuid7()), "seq": i + 1, "capture_id": str(uuid7())}
            )
            store.add_durable("bench-rig", "results", m)
        topped = time.perf_counter() - t1
        total = store.count("results")
        add_user(store, "bench", "bench-password")
        token = log_in(store, "bench", "bench-password", 1.0)
        client = create_app(store).test_client()
        client.set_cookie(COOKIE, token or "")
        subjects = total // PER_SUBJECT
        rnd = random.Random(1)
        times = []
        for _ in range(args.pages):
            s = f"S{rnd.randrange(subjects):06d}"
            t = time.perf_counter()
            resp = client.get(f"/subjects/{s}")
            times.append((time.perf_counter() - t) * 1e3)
            if resp.status_code != 200 or resp.data.count(b'data-visit="') != PER_SUBJECT:
                raise SystemExit(f"subject page {s} is wrong: HTTP {resp.status_code}")
        median_ms = statistics.median(times)
        print(
            f"subject page: median {median_ms:.1f} ms, max {max(times):.1f} ms over "
            f"{args.pages} pages (4 visits x 3 sites) with {total} results stored "
            f"({total - args.results} added straight into the store in {topped:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
