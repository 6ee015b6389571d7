"""``dermocap status-light PATTERN``: hold one status pattern until stopped.

systemd/dermocap-failed.service runs ``status-light error`` when systemd gives up restarting
the service (``OnFailure=``), so a rig whose service is down blinks red instead of going
dark. The pins stay claimed while the pattern shows; starting dermocap.service stops this
unit first (``Conflicts=``) and so frees them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from device.config import StatusConfig, load_config
from device.rig import hardware_pin_factory
from device.status import PATTERNS, StatusIndicator

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)


def hold_pattern(
    cfg: StatusConfig,
    name: str,
    stop: threading.Event,
    *,
    pin_factory: Any,
    for_s: float | None = None,
) -> None:
    """Show pattern ``name`` until ``stop`` is set (or ``for_s`` seconds pass), then close.

    Raises:
        ValueError: an unknown pattern name.
    """
    if name not in PATTERNS:
        raise ValueError(f"unknown status pattern {name!r}; known: {', '.join(sorted(PATTERNS))}")
    with StatusIndicator(cfg, pin_factory=pin_factory) as status:
        status.show(name)
        log.info("status light shows %r until stopped", name)
        stop.wait(for_s)


def cmd_status_light(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config) if args.config else None)
    if cfg.rig.backend == "twin":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        factory: Any = MockFactory(pin_class=MockPWMPin)
    else:
        factory = hardware_pin_factory()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
    try:
        hold_pattern(cfg.status, args.pattern, stop, pin_factory=factory, for_s=args.for_s)
    finally:
        factory.close()
    return 0


def register(sub: SubParsers) -> None:
    s = sub.add_parser(
        "status-light",
        help="show one status pattern until stopped (dermocap-failed.service shows 'error')",
    )
    s.add_argument("pattern", choices=sorted(PATTERNS), help="pattern name (README table)")
    s.add_argument("--for-s", type=float, help="stop after this many seconds (default: never)")
    s.set_defaults(func=cmd_status_light)
