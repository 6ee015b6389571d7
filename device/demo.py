"""``dermocap demo``: the whole rig on the digital twin, driven by a scripted technician.

What happens, in one process:

1. a private Mosquitto starts on a free loopback port (when the binary is installed) and
   the clinic dashboard (:class:`dashboard.server.DashboardServer`: receiver, store, web
   pages on 127.0.0.1) subscribes to it; its URL and a login are printed;
2. the service (:class:`device.serve.ServeApp`, the same code ``dermocap serve`` runs)
   starts on the twin: pins on gpiozero's MockFactory, the twin camera, the INT8 model,
   the outbox; the twin is calibrated on its target;
3. visit ``baseline``: the dashboard sends a worklist of three sites for subject P00042
   (the rig's ``worklist`` command, as the worklist page does);
   for each site the technician puts the cone on the site and presses the button (the
   mock pin); the technician moves on as soon as the capture is stored, while the last
   site is analysed (the pipeline);
4. visit ``3m``: the twin's scalp has changed (treatment: more hairs at two sites), the
   cone lands a little off each site, the relocation guidance brings it back, and the
   table shows the change per site against baseline, measured and true;
5. interactive, the dashboard keeps serving until Ctrl-C; with ``--no-serve`` (or without
   a terminal) the demo exits after the 3-month visit.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.auth import add_user
from dashboard.config import DashboardConfig
from dashboard.review import review_items
from dashboard.server import DashboardServer
from dashboard.watch import result_line
from dermocap.errors import DermocapError
from device.config import DermocapConfig, load_config
from device.serve import ServeApp
from sim.config import ScalpConfig
from sim.hand import TwinTechnician
from sync.broker import Broker, mosquitto_binary

log = logging.getLogger(__name__)

SUBJECT = "P00042"
DEMO_USER = "demo"


@dataclass(frozen=True)
class DemoSite:
    """A scalp site of the demo subject, and the true effect of treatment at 3 months."""

    name: str
    scalp: ScalpConfig
    change_3m: float  # factor on the number of hairs
    offset_3m: tuple[float, float, float]  # where the cone lands at the follow-up visit


SITES = (
    DemoSite(
        "frontal",
        ScalpConfig(seed=11, density_per_cm2=140, vellus_fraction=0.30, hair_length="trimmed"),
        1.15,
        (0.6, -0.4, 3.0),
    ),
    DemoSite(
        "vertex",
        ScalpConfig(seed=12, density_per_cm2=110, vellus_fraction=0.35, hair_length="trimmed"),
        1.20,
        (-0.5, 0.5, -4.0),
    ),
    DemoSite(
        "occipital",
        ScalpConfig(seed=13, density_per_cm2=210, vellus_fraction=0.10, hair_length="trimmed"),
        1.00,
        (0.3, 0.3, 2.0),
    ),
)


@dataclass
class Row:
    site: str
    capture_id: str
    density: float
    truth_density: float
    diameter_um: float
    truth_diameter_um: float
    qc: str
    latency_s: float
    image: str
    overlay: str
    moves: int  # relocation rounds the technician followed
    review: list[str]  # why a person should look before the number is used (none: [])
    review_kinds: list[str]  # what each reason is about, in order (hair_mat, no_shafts, ...)


class Dashboard:
    """The clinic's dashboard on the demo's broker, and when each result reached it."""

    def __init__(self, broker: Broker, folder: Path) -> None:
        self.received_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self.password = secrets.token_urlsafe(9)
        cfg = DashboardConfig(
            data_dir=str(folder), port=0, broker_host=broker.host, broker_port=broker.port,
            client_id="dermocap-demo-dashboard", gap_grace_s=1.0,
        )  # fmt: skip
        self.server = DashboardServer(cfg, environ={}, on_stored=self._stored)

    def start(self) -> None:
        self.server.start()
        assert self.server.store is not None  # noqa: S101 - start opened it
        add_user(self.server.store, DEMO_USER, self.password)

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        """Send a command to the demo rig; asks again while the rig is still subscribing."""
        assert self.server.receiver is not None  # noqa: S101 - started with a broker
        reply = None
        for _ in range(5):
            reply = self.server.receiver.command("demo-rig", name, payload, timeout_s=5.0)
            if reply is not None:
                break
        return reply

    def _stored(self, device_id: str, channel: str, message: Any) -> None:
        if channel != "results":
            return
        with self._lock:
            self.received_at.setdefault(message.capture_id, time.monotonic())
        print(f"    dashboard | {result_line(device_id, message)}", flush=True)


def _wait(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise DermocapError(f"the demo timed out waiting for {what}")
        time.sleep(0.05)


def run_visit(
    app: ServeApp,
    visit: str,
    dashboard: Dashboard | None,
    *,
    follow_up: bool,
) -> list[Row]:
    """One visit: worklist, then for each site place the cone and press the button."""
    hand, svc = app.rig.technician, app.service
    if not isinstance(hand, TwinTechnician):
        raise DermocapError("the demo needs the twin backend (its scripted hand)")
    sites = [s.name for s in SITES]
    if dashboard is not None:
        reply = dashboard.command("worklist", {"subject": SUBJECT, "visit": visit, "sites": sites})
        if reply is None or not reply.ok:
            raise DermocapError(f"the rig did not take the dashboard's worklist: {reply}")
    else:
        svc.set_worklist(SUBJECT, visit, sites)
    pressed: dict[str, float] = {}
    truths: dict[str, dict[str, Any]] = {}
    for i, site in enumerate(SITES):
        hand.set_scalp(site.scalp)
        if follow_up:
            hand.regrow(site.change_3m, seed=100 + i)
            hand.place(*site.offset_3m)  # the cone lands a little off the site
        else:
            hand.place(0.0, 0.0, 0.0)
        print(f"  technician: cone on {site.name}, press", flush=True)
        done_before = svc.captures_taken
        pressed[site.name] = time.monotonic()
        hand.press_button()
        _wait(lambda n=done_before: svc.captures_taken > n or svc.last_error, 180, "a capture")
        if svc.last_error:
            raise DermocapError(svc.last_error)
        truths[site.name] = hand.truth()
    _wait(
        lambda: len([r for r in svc.results if r["visit"] == visit]) == len(SITES), 120, "analysis"
    )
    rows = []
    for r in (r for r in svc.results if r["visit"] == visit):
        cid, name = r["capture_id"], r["site"]
        if dashboard is not None:
            _wait(lambda c=cid: c in dashboard.received_at, 30, "the dashboard")
            arrived = dashboard.received_at[cid]
        else:
            arrived = pressed[name] + sum(r["timings_ms"].values()) / 1e3
        m, t = r["metrics"], truths[name]
        rows.append(
            Row(
                site=name,
                capture_id=cid,
                density=float(m["density_per_cm2"]),
                truth_density=float(t["density_per_cm2"]),
                diameter_um=float(m["mean_diameter_um"]),
                truth_diameter_um=float(t["mean_diameter_um"]),
                qc="pass" if r["qc"].get("passed") else "FAIL",
                latency_s=arrived - pressed[name],
                image=r["image"],
                overlay=str(app.pipeline.overlay_path(cid)),
                moves=r["record"].relocation_rounds,
                review=list(r.get("review_reasons") or []),
                review_kinds=list(r.get("review_kinds") or []),
            )
        )
    return rows


def print_table(visit: str, rows: list[Row], baseline: list[Row] | None) -> None:
    print()
    print(f"  visit {visit}, subject {SUBJECT}")
    head = f"  {'site':<10} {'density /cm2':>12} {'twin truth':>10} {'error':>7} "
    head += f"{'diameter um':>11} {'truth':>6} {'QC':>4} {'latency':>8}"
    if baseline:
        head += f" {'change':>8} {'true':>7} {'moves':>5}"
    head += f" {'review':>6}"
    print(head)
    base = {r.site: r for r in baseline or []}
    for r in rows:
        err = (r.density - r.truth_density) / r.truth_density
        line = (
            f"  {r.site:<10} {r.density:>12.1f} {r.truth_density:>10.1f} {err:>+7.1%} "
            f"{r.diameter_um:>11.1f} {r.truth_diameter_um:>6.1f} {r.qc:>4} {r.latency_s:>7.1f}s"
        )
        b = base.get(r.site)
        if b is not None:
            change = r.density / b.density - 1
            true_change = r.truth_density / b.truth_density - 1
            line += f" {change:>+8.1%} {true_change:>+7.1%} {r.moves:>5}"
        line += f" {'yes' if r.review else '-':>6}"
        print(line)
    for r in rows:
        for item in review_items({"review_reasons": r.review, "review_kinds": r.review_kinds}):
            todo = f"{item.label}: {item.action} - " if item.label else ""
            print(f"  {r.site}: review: {todo}{item.text}")


def demo_config(cfg: DermocapConfig, state: Path, broker: Broker | None) -> DermocapConfig:
    rig = cfg.rig.model_copy(update={"state_dir": str(state), "device_id": "demo-rig"})
    if broker is not None:
        # images too: the dashboard shows each site's photographs and overlays side by side
        sync = cfg.sync.model_copy(
            update={"enabled": True, "host": broker.host, "port": broker.port, "images": True}
        )
    else:
        sync = cfg.sync.model_copy(update={"enabled": False})
    return cfg.model_copy(update={"rig": rig, "sync": sync})


def cmd_demo(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config) if args.config else None)
    if cfg.rig.backend != "twin":
        print("the demo runs on the digital twin: set rig.backend = 'twin'")
        return 2
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="dermocap-demo-"))
    state = out / "state"
    t0 = time.monotonic()
    print("dermocap demo: the rig on the digital twin, a scripted technician, a dashboard")
    broker: Broker | None = None
    dashboard: Dashboard | None = None
    if mosquitto_binary() is not None:
        broker = Broker(out / "broker")
        broker.start()
        dashboard = Dashboard(broker, out / "dashboard")
        dashboard.start()
        print(f"  private Mosquitto on 127.0.0.1:{broker.port}; the dashboard is subscribed")
        print(f"  dashboard: {dashboard.server.url}  login: {DEMO_USER} / {dashboard.password}")
    else:
        print("  mosquitto is not installed: results stay in the outbox (apt install mosquitto)")
    stop = threading.Event()
    try:
        with ServeApp(
            demo_config(cfg, state, broker), state_dir=state, environ={}, loop_period_s=0.05
        ) as app:
            print("  starting the service: pins, twin camera, model, outbox; calibrating")
            app.prepare()
            loop = threading.Thread(target=app.service.run, args=(stop,), daemon=True)
            loop.start()
            baseline = run_visit(app, "baseline", dashboard, follow_up=False)
            print_table("baseline", baseline, None)
            if not args.baseline_only:
                print()
                print("  three months later: treatment grew hair at the frontal and vertex sites")
                follow = run_visit(app, "3m", dashboard, follow_up=True)
                print_table("3m", follow, baseline)
            stop.set()
            loop.join(10)
            app.service.drain(30)
            if broker is not None and app.sync.link is not None:
                _wait(lambda: app.sync.outbox.depth() == 0, 30, "the broker's acknowledgements")
            depth = app.sync.outbox.depth()
        if dashboard is not None and _serving(args):
            print()
            print(f"  the dashboard keeps serving: {dashboard.server.url}subjects/{SUBJECT}")
            print(f"  login: {DEMO_USER} / {dashboard.password}; press Ctrl-C to stop")
            try:
                dashboard.server.wait()
            except KeyboardInterrupt:
                print()
    finally:
        stop.set()
        if dashboard is not None:
            dashboard.server.close()
        if broker is not None:
            broker.close()
    print()
    print(f"  images:   {state / 'captures' / SUBJECT}/<site>/<visit>/")
    print(f"  overlays: {state / 'overlays'}/ (a ring at every detected hair, its diameter)")
    print(f"  outbox:   {state / 'outbox.sqlite3'} ({depth} messages waiting)")
    if broker is None:
        print("  results are kept in the outbox until a broker is configured ([sync] in config)")
    print(f"  took {time.monotonic() - t0:.0f} s")
    return 0


def _serving(args: argparse.Namespace) -> bool:
    """Serve after the visits: asked for, and someone at a terminal to press Ctrl-C."""
    return not args.no_serve and sys.stdin.isatty() and os.environ.get("CI") is None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "demo", help="the rig on the twin: three sites at baseline and 3 months, with a dashboard"
    )
    d.add_argument("--out", help="folder for state, images and broker (default: a temp folder)")
    d.add_argument(
        "--baseline-only", action="store_true", help="stop after the baseline visit (quicker)"
    )
    d.add_argument(
        "--no-serve",
        action="store_true",
        help="exit after the visits instead of serving the dashboard until Ctrl-C (CI)",
    )
    d.set_defaults(func=cmd_demo)
