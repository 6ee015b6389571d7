"""The ``dermocap`` command line: config, twin rendering, demo and the service.

Exit codes: 0 success, 1 the job failed (the message says why and what to do),
2 bad usage or an invalid config file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dermocap import __version__
from dermocap.errors import ConfigError, DermocapError
from device.config import DermocapConfig, load_config, to_toml
from device.logs import setup_logging

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _setup_logging(verbosity: int) -> None:
    # under systemd: INFO, a <N> priority on every line, no timestamp (device/logs.py)
    setup_logging(verbosity, os.environ, sys.stderr)


def _load(args: argparse.Namespace) -> DermocapConfig:
    path: str | None = getattr(args, "config", None)
    return load_config(Path(path) if path else None)


def _print_config_errors(exc: ConfigError) -> None:
    for key, msg in exc.errors or [("(config)", str(exc))]:
        print(f"{key}: {msg}", file=sys.stderr)


# -- config -----------------------------------------------------------------------------
def cmd_config_check(args: argparse.Namespace) -> int:
    from sync import check_credentials

    try:
        cfg = load_config(Path(args.path))
        if cfg.sync.enabled:
            # what `serve` reads from $CREDENTIALS_DIRECTORY (the unit's ExecStartPre runs
            # this check, so it must fail wherever serve would)
            check_credentials(cfg.sync, os.environ)
    except ConfigError as exc:
        print(f"{args.path}: {len(exc.errors) or 1} error(s)", file=sys.stderr)
        _print_config_errors(exc)
        return 2
    print(f"{args.path}: ok")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    cfg = _load(args)
    if args.json:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
    else:
        sys.stdout.write(to_toml(cfg, comments=not args.no_comments))
    return 0


# -- sim --------------------------------------------------------------------------------
def cmd_sim_render(args: argparse.Namespace) -> int:
    from sim.tools import RenderRequest, render_capture, scalp_from_overrides, summary, write_render

    cfg = _load(args)
    scalp = scalp_from_overrides(
        cfg.sim.scalp,
        skin_tone=args.skin_tone,
        hair_colour=args.hair_colour,
        density_per_cm2=args.density,
        vellus_fraction=args.vellus_fraction,
        hair_length=args.hair_length,
        empty_follicle_fraction=args.empty_follicle_fraction,
        curl=args.curl,
    )
    sim_cfg = cfg.sim.model_copy(update={"scalp": scalp})
    req = RenderRequest(
        seed=args.seed,
        width=cfg.camera.width,
        height=cfg.camera.height,
        nominal_um_per_px=cfg.camera.nominal_um_per_px,
        light=args.light,
        duty=args.duty,
        exposure_us=cfg.camera.exposure_us,
        z_offset_mm=args.z_offset_mm,
        noise_seed=args.seed,
    )
    img, truth = render_capture(sim_cfg, req)
    write_render(img, truth, Path(args.out), Path(args.truth) if args.truth else None)
    print(summary(truth))
    return 0


def cmd_sim_hand(args: argparse.Namespace) -> int:
    """Play the technician on a running twin: send one request to its hand socket."""
    from sim.hand import HAND_SOCKET, hand

    request: dict[str, object] = {"do": args.action}
    for item in args.fields:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"not KEY=VALUE: {item!r} (e.g. s=1.5, density_per_cm2=150)", file=sys.stderr)
            return 2
        try:
            request[key] = json.loads(value)
        except json.JSONDecodeError:
            request[key] = value  # a word, e.g. hair_length=long
    state_dir = Path(args.state_dir) if args.state_dir else _load(args).rig.resolved_state_dir()
    reply = hand(state_dir / HAND_SOCKET, request)
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


# -- parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dermocap",
        description="Raspberry Pi dermoscope rig: repeatable scalp capture, hair density, sync.",
    )
    p.add_argument("--version", action="version", version=f"dermocap {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv)")
    p.add_argument("--config", metavar="PATH", help="config TOML (default: built-in, twin rig)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("config", help="check or show the configuration")
    csub = c.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    chk = csub.add_parser(
        "check",
        help="validate a config file and the MQTT credentials it uses; exit 2 listing every error",
    )
    chk.add_argument("path")
    chk.set_defaults(func=cmd_config_check)
    show = csub.add_parser("show", help="print the effective config (defaults filled in)")
    show.add_argument("--json", action="store_true", help="JSON instead of commented TOML")
    show.add_argument("--no-comments", action="store_true", help="TOML without descriptions")
    show.set_defaults(func=cmd_config_show)

    s = sub.add_parser("sim", help="the digital twin")
    ssub = s.add_subparsers(dest="sim_command", required=True, metavar="ACTION")
    r = ssub.add_parser("render", help="render one twin capture and its ground truth")
    r.add_argument("--seed", type=int, default=1, help="scalp and noise seed")
    r.add_argument("--out", required=True, help="image file (.png or .jpg)")
    r.add_argument("--truth", help="ground-truth JSON file")
    r.add_argument("--light", choices=["cross", "parallel"], default="cross")
    r.add_argument("--duty", type=float, default=0.7, help="LED duty 0..1")
    r.add_argument("--z-offset-mm", type=float, default=0.0, help="defocus: stage off best focus")
    r.add_argument("--skin-tone", type=float, help="0 very light .. 1 very dark")
    r.add_argument(
        "--hair-colour",
        choices=["black", "dark_brown", "brown", "auburn", "blond", "grey", "white"],
    )
    r.add_argument("--density", type=float, help="hairs per cm2 (40..320)")
    r.add_argument("--vellus-fraction", type=float, help="0.05..0.40")
    r.add_argument("--hair-length", choices=["trimmed", "long", "mixed"])
    r.add_argument("--empty-follicle-fraction", type=float, help="0..0.5")
    r.add_argument("--curl", choices=["straight", "wavy", "curly", "coiled"], help="shaft shape")
    r.set_defaults(func=cmd_sim_render)
    h = ssub.add_parser(
        "hand",
        help="play the technician on `dermocap serve --sim`: press, hold, target, light, ...",
        description="Send one request to the hand of a twin service running on the same "
        "state folder, and print its reply (exit 1 when it refuses). Actions: press; "
        "hold s=1.5; target (the reference target under the cone); subject (the scalp "
        "again); light (what the status light shows and means); nudge dx_mm=0.4 dy_mm=0 "
        "drot_deg=2; place x_mm=0 y_mm=0 rotation_deg=0; scalp density_per_cm2=150 (another "
        "subject); regrow factor=1.2 (months later); truth (ground truth of the view).",
    )
    h.add_argument("action", help="press, hold, target, subject, light, nudge, place, ...")
    h.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="the action's fields")
    h.add_argument("--state-dir", help="the service's state folder (default: config)")
    h.set_defaults(func=cmd_sim_hand)

    for register in _extra_commands():
        register(sub)
    return p


# Subcommands that live in their own modules (imported when the parser is built).
def cmd_watch(args: argparse.Namespace) -> int:
    from dashboard.watch import watch_main

    return watch_main(list(args.watch_args))


def _register_watch(sub: SubParsers) -> None:
    w = sub.add_parser(
        "watch",
        help="dashboard-side subscriber: live results, duplicates dropped, gaps reported",
        add_help=False,
    )
    w.add_argument("watch_args", nargs=argparse.REMAINDER, help="see `dermocap watch --help`")
    w.set_defaults(func=cmd_watch)


def _extra_commands() -> list[Callable[[SubParsers], None]]:
    from dashboard.cli import register as add_dashboard_parser
    from device import capture_cmds, demo, doctor, serve, status_cmd
    from inference.cli import add_analyze_parser

    return [
        add_dashboard_parser,
        demo.register,
        serve.register,
        _register_watch,
        capture_cmds.register,
        add_analyze_parser,
        status_cmd.register,
        doctor.register,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dermocap`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["watch"]:
        # The watcher has its own parser (broker, TLS, images); hand it every argument.
        from dashboard.watch import watch_main

        _setup_logging(0)
        return watch_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    func: Handler = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    except DermocapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
