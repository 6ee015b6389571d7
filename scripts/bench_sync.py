"""Benchmark of sync/ on loopback against a real Mosquitto (issue 5's measured targets).

1. throughput: 10,000 results through outbox, broker and a subscriber; acked msg/s (>= 1,000).
2. crashes: 10,000 results while the broker is SIGKILLed and restarted 20 times; lost (0).
3. fleet: 50 simulated rigs on one broker for a minute; every result delivered, no
   unplanned disconnects; CPU and memory per rig.

Usage: python scripts/bench_sync.py [--quick]   (--quick: 2,000 results, 5 restarts, 15 s)
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import tempfile
import threading
import time
from pathlib import Path

from dashboard.watch import Watcher
from dermocap.ids import uuid7
from sim.messages import sample_record, sample_result
from sync import MqttLink, Outbox, SyncConfig
from sync.broker import Broker


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cfg(b: Broker, **kw: object) -> SyncConfig:
    base: dict[str, object] = {
        "host": b.host, "port": b.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.5,
        "inflight_window": 100, "telemetry_interval_s": 5,
    }  # fmt: skip
    return SyncConfig(**(base | kw))


def fill(ob: Outbox, n: int, start: int = 0) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + n):
        ob.add_capture(str(uuid7()), sample_record(i), sample_result(i))
    return n / (time.perf_counter() - t0)


def throughput(tmp: Path, n: int) -> None:
    with Broker(tmp / "b1") as b, Watcher(b.host, b.port, from_seq=1) as w:
        with Outbox(tmp / "t.db") as ob:
            insert_rate = fill(ob, n)
            link = MqttLink(cfg(b), "bench-01", ob)
            t0 = time.perf_counter()
            link.start()
            while not link.drained():
                time.sleep(0.01)
            acked_s = time.perf_counter() - t0
            view = w.device("bench-01")
            w.wait_for(lambda: len(view.results) == n, 30)
            recv_s = time.perf_counter() - t0
            link.close()
        print(
            f"[throughput] {n} results: outbox insert {insert_rate:,.0f}/s (one fsync'd "
            f"transaction each)"
        )
        print(
            f"[throughput] acked {n / acked_s:,.0f} msg/s ({acked_s:.2f} s); subscriber got "
            f"{len(view.results)} in {recv_s:.2f} s; duplicates {w.duplicates}"
        )
        ok = n / acked_s >= 1000 and len(view.results) == n
        print(f"[throughput] target >= 1,000 acked msg/s: {'PASS' if ok else 'FAIL'}")


def crashes(tmp: Path, n: int, restarts: int) -> None:
    with Broker(tmp / "b2") as b, Watcher(b.host, b.port, from_seq=1) as w:
        with Outbox(tmp / "c.db") as ob:
            link = MqttLink(cfg(b), "bench-02", ob)
            link.start()
            done = threading.Event()

            def produce() -> None:
                for k in range(0, n, 100):
                    fill(ob, 100, k)
                    link.notify()
                done.set()

            producer = threading.Thread(target=produce)
            t0 = time.perf_counter()
            producer.start()
            for _ in range(restarts):
                time.sleep(random.uniform(0.1, 0.4))
                b.restart(kill=True, down_s=random.uniform(0.0, 0.2))
            producer.join()
            while not link.drained():
                time.sleep(0.02)
            drained_s = time.perf_counter() - t0
            view = w.device("bench-02")
            w.wait_for(lambda: len(view.results) == n, 10)
            before_heal = len(view.results)
            healed = w.heal("bench-02", timeout_s=60)
            w.wait_for(lambda: len(view.results) == n, 10)
            total_s = time.perf_counter() - t0
            link.close()
            lost = n - len(view.results)
            print(
                f"[crashes] {n} results, {restarts} broker SIGKILL+restarts "
                f"({link.stats.disconnects} disconnects seen by the rig)"
            )
            print(
                f"[crashes] outbox drained in {drained_s:.1f} s; dashboard had {before_heal} "
                f"before asking for gaps, {len(view.results)} after (resend healed: {healed})"
            )
            print(
                f"[crashes] duplicates dropped {w.duplicates}; dead letters "
                f"{ob.dead_letter_count()}; lost {lost}; total {total_s:.1f} s"
            )
            print(f"[crashes] target zero lost: {'PASS' if lost == 0 else 'FAIL'}")


def fleet(tmp: Path, rigs: int, seconds: float, period_s: float) -> None:
    logging.getLogger("sync").setLevel(logging.ERROR)
    with Broker(tmp / "b3") as b, Watcher(b.host, b.port, from_seq=1) as w:
        rss0, cpu0 = rss_mb(), cpu_s()
        outboxes = [Outbox(tmp / f"fleet-{i:02d}.db") for i in range(rigs)]
        links = [
            MqttLink(cfg(b, inflight_window=16), f"rig-{i:02d}", ob)
            for i, ob in enumerate(outboxes)
        ]
        for link in links:
            link.start()
        stop = threading.Event()
        sent = [0] * rigs

        def rig(i: int) -> None:
            rnd = random.Random(i)
            time.sleep(rnd.uniform(0, period_s))
            while not stop.is_set():
                outboxes[i].add_capture(str(uuid7()), sample_record(), sample_result(sent[i]))
                links[i].notify()
                sent[i] += 1
                stop.wait(rnd.uniform(0.5, 1.5) * period_s)

        threads = [threading.Thread(target=rig, args=(i,)) for i in range(rigs)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 30
        while not all(link.drained() for link in links) and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu, rss = cpu_s() - cpu0, rss_mb() - rss0
        total = sum(sent)
        w.wait_for(lambda: sum(len(v.results) for v in w.devices.values()) >= total, 10)
        got = sum(len(w.device(f"rig-{i:02d}").results) for i in range(rigs))
        disconnects = sum(link.stats.disconnects for link in links)
        dead = sum(ob.dead_letter_count() for ob in outboxes)
        for link in links:
            link.close()
        for ob in outboxes:
            ob.close()
        print(
            f"[fleet] {rigs} rigs for {seconds:.0f} s, one result per ~{period_s:.1f} s each: "
            f"{total} sent, {got} delivered, {disconnects} disconnects, {dead} dead letters"
        )
        print(
            f"[fleet] per rig: CPU {100 * cpu / elapsed / rigs:.2f} % of a core, memory "
            f"{rss / rigs:.2f} MB (in-process rigs: process RSS growth / {rigs})"
        )
        ok = got == total and disconnects == 0 and dead == 0
        print(f"[fleet] target every result delivered, stable: {'PASS' if ok else 'FAIL'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller and shorter runs")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    n = 2000 if args.quick else 10_000
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as d:
        tmp = Path(d)
        print(f"mosquitto {Broker(tmp / 'probe').binary}; {os.cpu_count()} CPUs")
        throughput(tmp, n)
        crashes(tmp, n, 5 if args.quick else 20)
        fleet(tmp, 50, 15 if args.quick else 60, 1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
