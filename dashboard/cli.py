"""``dermocap dashboard serve``, ``add-user`` and ``reimport``.

Flask is imported only when the command runs, so the rig's CLI does not need it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from dashboard.config import DashboardConfig


def _section(args: argparse.Namespace) -> DashboardConfig:
    from device.config import load_config

    cfg = load_config(Path(args.config) if args.config else None).dashboard
    updates: dict[str, Any] = {}
    if args.data_dir:
        updates["data_dir"] = args.data_dir
    if getattr(args, "port", None) is not None:
        updates["port"] = args.port
    if getattr(args, "broker", None):
        host, _, port = args.broker.rpartition(":")
        updates.update(broker_host=host.strip("[]"), broker_port=int(port))
    return DashboardConfig.model_validate(cfg.model_dump() | updates) if updates else cfg


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.server import DashboardServer

    cfg = _section(args)
    with DashboardServer(cfg, environ=os.environ, receive=not args.no_broker) as server:
        print(f"dashboard: {server.url} (data in {cfg.data_dir})", flush=True)
        stop = threading.Event()

        def on_term(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_term)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_add_user(args: argparse.Namespace) -> int:
    from dashboard.auth import add_user
    from dashboard.store import Store

    cfg = _section(args)
    if args.password_file:
        password = Path(args.password_file).read_text(encoding="utf-8").strip()
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.username}: ")
    else:
        password = sys.stdin.readline().strip()
    with Store(cfg.database_path(), cfg.images_dir(), url=cfg.database_url) as store:
        add_user(store, args.username, password)
    print(f"staff account {args.username!r} saved in {cfg.database_path()}")
    return 0


def cmd_reimport(args: argparse.Namespace) -> int:
    from dashboard.reimport import reimport, summary
    from dashboard.store import Store

    cfg = _section(args)
    with Store(cfg.database_path(), cfg.images_dir(), url=cfg.database_url) as store:
        taken = reimport(
            store,
            prefix=cfg.topic_prefix,
            max_message_bytes=cfg.max_message_kib * 1024,
            dry_run=args.dry_run,
            on_taken=lambda t: print(t.line(), flush=True),
        )
    print(summary(taken, dry_run=args.dry_run))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dermocap dashboard`` to the CLI."""
    d = sub.add_parser("dashboard", help="the clinic dashboard: receive, keep and show results")
    dsub = d.add_subparsers(dest="dashboard_command", required=True, metavar="ACTION")
    s = dsub.add_parser("serve", help="receive from the broker and serve the web pages")
    s.add_argument("--data-dir", help="override dashboard.data_dir")
    s.add_argument("--port", type=int, help="override dashboard.port (0: any free port)")
    s.add_argument("--broker", help="override dashboard.broker_host/port as HOST:PORT")
    s.add_argument("--no-broker", action="store_true", help="pages only: receive nothing")
    s.set_defaults(func=cmd_serve)
    u = dsub.add_parser("add-user", help="add a staff account (or set its password)")
    u.add_argument("username")
    u.add_argument("--data-dir", help="override dashboard.data_dir")
    u.add_argument(
        "--password-file", help="read the password from this file (default: prompt or stdin)"
    )
    u.set_defaults(func=cmd_add_user)
    r = dsub.add_parser(
        "reimport",
        help="take the refused messages (dead letters) again with this version's rules; "
        "safe while serve runs",
    )
    r.add_argument("--data-dir", help="override dashboard.data_dir")
    r.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    r.set_defaults(func=cmd_reimport)
