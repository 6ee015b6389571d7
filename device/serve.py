"""``dermocap serve``: the rig as a headless service (systemd ``Type=notify``).

:class:`ServeApp` opens everything the service runs on, in order (rig, model, outbox and
MQTT link, capture protocol), and closes it in reverse; ``dermocap demo``
uses the same class in-process. :func:`serve` is the process's life:

1. build the app: config valid, hardware up, model loaded, SHA-256 verified, warmed up;
2. when no calibration is stored, ask the technician for the reference target without
   waiting (on the twin its hand places it at once) and calibrate;
3. recover captures a crash left without a result, start workers, send ``READY=1``;
4. loop (button events, worklist commands, ``WATCHDOG=1`` from the loop's health check);
5. on SIGTERM or SIGINT: stop taking presses, finish the capture in progress and
   analyse what is queued, publish ``stopped``, close camera, pins and client; exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from capture import Guidance
from capture.repeatability import published_density_cv
from dermocap.clock import Clock, parse_utc_stamp
from dermocap.errors import CommandError, ConfigError, TechnicianTimeout
from dermocap.resource import Closeable
from dermocap.sitekey import SiteRule
from dermocap.statelock import StateDirLock
from device.capture_cmds import calibrate_on_target, capture_session
from device.config import DermocapConfig, load_config
from device.lightcheck import LightCheck
from device.notify import Notifier
from device.pipeline import RigPipeline
from device.rig import build_rig
from device.service import Service
from device.worklist import Worklist
from inference.model import HairModel
from sync import SyncService

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)

# How long the service waits at start for the reference target when it has no calibration:
# not at all, since systemd's TimeoutStartSec runs meanwhile. A real rig then says "not
# calibrated" and serves on; the twin's hand places the target at once.
START_PLACE_WAIT_S = 0.0


class ServeApp(Closeable):
    """The service and every part it runs on.

    Args:
        cfg: validated config.
        state_dir: captures, calibration, outbox, overlays.
        environ: ``NOTIFY_SOCKET``, ``WATCHDOG_USEC``, ``CREDENTIALS_DIRECTORY``.
        clock: the rig's clock (a FastClock on the twin by default).
        hand: on the twin, open the hand socket for a scripted technician.
        follow: what to do with relocation guidance; by default the rig's technician gets
            it (a real rig publishes it first, since it has no screen).
        loop_period_s: the main loop's tick.

    Raises:
        StateDirBusy: another process holds ``state_dir`` (named by its PID).
        ConfigError, HardwareError, CameraError, ModelError, SyncError: with what to fix.
    """

    def __init__(
        self,
        cfg: DermocapConfig,
        *,
        state_dir: Path,
        environ: Mapping[str, str],
        clock: Clock | None = None,
        hand: bool = False,
        follow: Callable[[Guidance], None] | None = None,
        loop_period_s: float = 0.5,
    ) -> None:
        self.cfg = cfg
        self.state_dir = Path(state_dir)
        self._service: Service | None = None
        self._stack = ExitStack()
        self.timings_ms: dict[str, float] = {}
        t0 = time.monotonic()
        try:
            # First: a second process on this folder must not touch the pins or the camera,
            # nor take the first one's fresh captures for crash debris.
            self._stack.enter_context(StateDirLock(self.state_dir))
            self.rig = self._stack.enter_context(
                build_rig(
                    cfg,
                    on_press=self._on_press,
                    on_hold=self._on_hold,
                    clock=clock,
                    tell=self._tell,
                    hand_dir=self.state_dir if hand else None,
                    place_wait_s=START_PLACE_WAIT_S,
                )
            )
            self.hand_path: Path | None = self.rig.hand_socket
            t1 = time.monotonic()
            self.model = self._stack.enter_context(HairModel.from_config(cfg.inference))
            model_ms = (time.monotonic() - t1) * 1e3
            info = self.model.info
            self.sync = SyncService(
                cfg.sync,
                cfg.rig.device_id,
                self.state_dir,
                environ=environ,
                model=f"{info.name} {info.version}",
                telemetry=self._telemetry,
            )
            self._stack.callback(self.sync.close)
            self.session = capture_session(self.rig, self.state_dir)
            self.light_check = LightCheck(
                self.session, self.state_dir, enabled=cfg.capture.calibration.daily_light_check
            )
            self.pipeline = RigPipeline(
                session=self.session,
                model=self.model,
                inference_cfg=cfg.inference,
                known_captures=self.sync.outbox.capture_ids,
                settle=self.sync.settle,
                follow=follow or self.rig.technician.follow,
                overlay_dir=self.state_dir / "overlays",
                send_overlay=self.sync.send_image,
            )
            self._stack.callback(self.pipeline.close)
            self.service = Service(
                pipeline=self.pipeline,
                outlet=self.sync,
                status=self.rig.status,
                notifier=Notifier(environ),
                worklist=Worklist(SiteRule(cfg.capture.subject_pattern)),
                is_online=self._online,
                led_drift=self._led_drifted,
                light_check=self.light_check,
                sync_fault=lambda: self.sync.fault,
                loop_period_s=loop_period_s,
            )
            self._service = self.service
            self.sync.on_command("worklist", self._cmd_worklist)
        except BaseException:
            self._stack.close()
            raise
        self.timings_ms.update(model_ms=model_ms, total_ms=(time.monotonic() - t0) * 1e3)

    # -- callbacks (gpiozero's thread, the MQTT thread) -----------------------------------
    def _on_press(self) -> None:
        if self._service is not None:
            self._service.on_press()

    def _on_hold(self) -> None:
        if self._service is not None:
            self._service.on_hold()

    def _online(self) -> bool:
        link = self.sync.link
        return link is None or link.connected.is_set()

    def _cmd_worklist(self, cmd: Any) -> dict[str, Any]:
        try:
            self.service.set_worklist(cmd.subject, cmd.visit, list(cmd.sites))
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        return {"next_site": self.service.worklist.current().site, "sites": list(cmd.sites)}

    def _led_drifted(self) -> bool:
        drift = self.session.state.drift
        return drift is not None and drift.warned

    def _telemetry(self) -> dict[str, Any]:
        cal = self.session.calibration
        drift = self.session.state.drift
        out: dict[str, Any] = {}
        if cal is not None:
            with contextlib.suppress(ValueError):
                made = parse_utc_stamp(cal.created_at)
                out["calibration_age_s"] = max(0.0, (datetime.now(UTC) - made).total_seconds())
        if drift is not None:
            out["led_drift_pct"] = max(-100.0, min(100.0, drift.drift * 100.0))
        checked = self.light_check.last_check()
        if checked is not None:
            out["light_check_age_s"] = max(0.0, (datetime.now(UTC) - checked.at).total_seconds())
        out["repeatability_density_cv"] = published_density_cv(self.state_dir)
        return out

    def _tell(self, g: Guidance) -> None:
        # A real rig has no screen: the dashboard shows the guidance while the technician
        # moves the cone.
        if self._service is not None:
            self.sync.event("relocation_guidance", detail=g.text[:400], data=g.as_dict())

    # -- life ----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Calibrate if no calibration is stored and the target is placed, then start MQTT."""
        if self.session.calibration is None:
            try:
                cal = self.service.calibrate(lambda: calibrate_on_target(self.rig, self.session))
                log.info("calibrated: %.4f um/px", cal.um_per_px)
            except TechnicianTimeout as exc:
                log.error(
                    "the rig is not calibrated (%s): stop the service, put the reference "
                    "target under the cone and run `dermocap calibrate`",
                    exc,
                )
        self.sync.start()

    def close(self) -> None:
        self._stack.close()


def serve(
    cfg: DermocapConfig,
    *,
    state_dir: Path,
    environ: Mapping[str, str],
    worklist_file: Path | None = None,
    stop: threading.Event | None = None,
    drain_timeout_s: float = 60.0,
) -> int:
    """Run the service until SIGTERM/SIGINT (or ``stop``); returns the exit code."""
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: finishing the capture in progress, then stopping", signal.strsignal(signum))
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
    with ServeApp(cfg, state_dir=state_dir, environ=environ, hand=True) as app:
        if worklist_file is not None:
            app.service.worklist.load_file(worklist_file)
        app.prepare()
        log.info(
            "ready in %.0f ms (model %.0f ms)",
            app.timings_ms["total_ms"],
            app.timings_ms["model_ms"],
        )
        app.service.run(stop)
        drained = app.service.drain(drain_timeout_s)
        if not drained:
            log.error("the capture in progress did not finish in %.0f s", drain_timeout_s)
    log.info("stopped")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config) if args.config else None)
    if args.sim and cfg.rig.backend != "twin":
        cfg = cfg.model_copy(update={"rig": cfg.rig.model_copy(update={"backend": "twin"})})
    state_dir = Path(args.state_dir) if args.state_dir else cfg.rig.resolved_state_dir()
    worklist = Path(args.worklist) if args.worklist else None
    return serve(cfg, state_dir=state_dir, environ=os.environ, worklist_file=worklist)


def register(sub: SubParsers) -> None:
    s = sub.add_parser("serve", help="run the rig as a service (systemd Type=notify)")
    s.add_argument("--state-dir", help="captures, outbox and overlays (default: config)")
    s.add_argument("--worklist", help='JSON file {"subject":..,"visit":..,"sites":[..]}')
    s.add_argument("--sim", action="store_true", help="run on the digital twin")
    s.set_defaults(func=cmd_serve)
