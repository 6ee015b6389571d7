"""``dermocap doctor``: a self-test to run before a patient (and after installing).

One line per check, each failure with what to do; ``--json`` for tools; exit 1 when any
check fails. The checks, in order: config, permissions, pins (every part claimed, the Z
stage homed), camera (one frame), model (SHA-256 and self-check), calibration (present,
not older than ``--max-calibration-age-days``), credentials, broker (a login of its own),
disk (free space for captures) and clock (synchronised, not before the release). Pins and
camera need the service stopped: it holds them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from capture import CaptureSession
from dermocap.clock import parse_utc_stamp
from dermocap.errors import CameraError, ConfigError, DermocapError, HardwareError
from device.capture_cmds import capture_session
from device.config import DermocapConfig, load_config
from device.lightcheck import LightCheck
from device.rig import Rig, build_rig
from inference.model import HairModel
from sync.credentials import Credentials, check_credentials
from sync.probe import broker_login

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

# A clock before this is certainly wrong (a Pi without network starts at its last shutdown
# or in 1970): results would carry a false date and trends across visits break.
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)
GPIO_CHIPS = ("/dev/gpiochip0", "/dev/gpiochip4")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was found and, on failure, what to do."""

    check: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """E.g. ``ok    model        dermocap-hair-density 1.0.0 ...``."""
        text = f"{'ok' if self.ok else 'FAIL':<5} {self.check:<12} {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n{'':18}-> {self.fix}"


@dataclass
class Doctor:
    """Runs the checks on one config. ``now`` and ``ntp_synchronised`` are passed in for tests.

    Args:
        cfg: the validated config.
        state_dir: the service's state folder.
        environ: ``$CREDENTIALS_DIRECTORY`` (pass ``os.environ``).
        max_calibration_age: older calibrations fail.
        min_free_mb: less free space in the state folder fails.
        now: the wall clock (UTC).
        ntp_synchronised: True/False as systemd reports it, None where unknown.
    """

    cfg: DermocapConfig
    state_dir: Path
    environ: Mapping[str, str]
    max_calibration_age: timedelta
    min_free_mb: float
    now: Callable[[], datetime]
    ntp_synchronised: Callable[[], bool | None]

    def run(self) -> list[Check]:
        """Every check, in order; a check that cannot run says what it waits for."""
        out = [self.permissions()]
        with ExitStack() as stack:
            rig: Rig | None = None
            try:
                rig = stack.enter_context(build_rig(self.cfg))
            except HardwareError as exc:
                out.append(Check("pins", False, str(exc), _PINS_FIX))
                out.append(Check("camera", False, "not checked: the pins failed", _PINS_FIX))
            except CameraError as exc:
                out.append(Check("pins", False, "not checked: the camera failed", _CAMERA_FIX))
                out.append(Check("camera", False, str(exc), _CAMERA_FIX))
            session = capture_session(rig, self.state_dir) if rig is not None else None
            if rig is not None:
                out.append(self.pins(rig))
                out.append(self.camera(rig, session))
            out.append(self.model())
            out.append(self.calibration(session))
        creds, check = self.credentials()
        out.append(check)
        out.append(self.broker(creds))
        out.append(self.disk())
        out.append(self.clock())
        return out

    # -- the checks ---------------------------------------------------------------------------
    def permissions(self) -> Check:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            probe = self.state_dir / f".doctor-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            return Check(
                "permissions",
                False,
                f"cannot write the state folder {self.state_dir}: {exc.strerror}",
                "run as the service user (sudo dermocap-rig doctor); check rig.state_dir",
            )
        found = [f"state folder {self.state_dir} writable"]
        if self.cfg.rig.backend == "hardware":
            chips = [c for c in GPIO_CHIPS if os.path.exists(c)]
            denied = [c for c in chips if not os.access(c, os.R_OK | os.W_OK)]
            if not chips or denied:
                return Check(
                    "permissions",
                    False,
                    f"no access to {', '.join(denied) or 'any /dev/gpiochip'}",
                    "add the user to the gpio group (install.sh does it for dermocap)",
                )
            found.append(f"{', '.join(chips)} read/write")
        return Check("permissions", True, "; ".join(found))

    def pins(self, rig: Rig) -> Check:
        try:
            rig.stage.home()
        except HardwareError as exc:
            return Check("pins", False, f"Z stage: {exc}", _STAGE_FIX)
        n = len(self.cfg.pins())
        return Check("pins", True, f"{n} pins claimed; Z stage homed (switch closes at z = 0)")

    def camera(self, rig: Rig, session: CaptureSession | None) -> Check:
        if session is None:  # pragma: no cover - built together with the rig
            return Check("camera", False, "not checked", _CAMERA_FIX)
        try:
            rig.camera.configure(session.preview)
            frame = rig.camera.capture(timeout_s=self.cfg.camera.timeout_s)
        except CameraError as exc:
            return Check("camera", False, str(exc), _CAMERA_FIX)
        h, w = frame.array.shape[:2]
        return Check("camera", True, f"one {w}x{h} preview frame in time")

    def model(self) -> Check:
        t0 = time.monotonic()
        try:
            with HairModel.from_config(self.cfg.inference) as model:
                info = model.info
        except DermocapError as exc:
            return Check(
                "model", False, str(exc), "reinstall dermocap (sudo bash systemd/install.sh)"
            )
        ms = (time.monotonic() - t0) * 1e3
        return Check(
            "model",
            True,
            f"{info.name} {info.version} ({self.cfg.inference.model}): SHA-256 and self-check "
            f"passed in {ms:.0f} ms",
        )

    def calibration(self, session: CaptureSession | None) -> Check:
        fix = "put the reference target under the cone and run: sudo dermocap-rig calibrate"
        if session is None:
            return Check("calibration", False, "not checked: the rig did not start", fix)
        cal = session.calibration
        if cal is None:
            return Check("calibration", False, f"no calibration in {self.state_dir}", fix)
        try:
            made = parse_utc_stamp(cal.created_at)
        except ValueError:
            return Check("calibration", False, f"unreadable date {cal.created_at!r}", fix)
        age = self.now() - made
        days = age.total_seconds() / 86400
        if age < -timedelta(minutes=5):
            return Check(
                "calibration",
                False,
                f"made {made:%Y-%m-%d}, after this clock's now: the clock or the record is wrong",
                "set the clock (see clock), then calibrate again",
            )
        if age > self.max_calibration_age:
            limit = self.max_calibration_age.total_seconds() / 86400
            return Check("calibration", False, f"{days:.0f} days old (limit {limit:g})", fix)
        last = LightCheck(session, self.state_dir).last_check()  # the service's daily one
        light = (
            f"; light last checked {last.day:%Y-%m-%d} ({last.drift:+.1%})"
            if last is not None
            else "; light not checked yet"
        )
        return Check(
            "calibration",
            True,
            f"{cal.calibration_id}, {days:.1f} days old, {cal.um_per_px:.3f} um/px{light}",
        )

    def credentials(self) -> tuple[Credentials | None, Check]:
        if not self.cfg.sync.enabled:
            return None, Check("credentials", True, "sync disabled: none needed")
        try:
            creds = check_credentials(self.cfg.sync, self.environ)
        except ConfigError as exc:
            return None, Check(
                "credentials",
                False,
                str(exc),
                "fill in /etc/dermocap/credentials/ (README, Install the service)",
            )
        login = f"user {creds.username}" if creds.username else "anonymous"
        tls = "TLS" if creds.tls else "no TLS"
        if creds.cert_file is not None:
            tls += " with a client certificate"
        return creds, Check("credentials", True, f"{login}, {tls}")

    def broker(self, creds: Credentials | None) -> Check:
        sync = self.cfg.sync
        if not sync.enabled:
            return Check("broker", True, "sync disabled: results stay in the outbox")
        if creds is None:
            return Check("broker", False, "not checked: the credentials failed", "see above")
        try:
            ms = broker_login(sync, creds, self.cfg.rig.device_id, timeout_s=sync.connect_timeout_s)
        except DermocapError as exc:
            return Check(
                "broker",
                False,
                str(exc),
                "check sync.host and sync.port, the network, and the login at the broker",
            )
        return Check("broker", True, f"logged in to {sync.host}:{sync.port} in {ms:.0f} ms")

    def disk(self) -> Check:
        try:
            free_mb = shutil.disk_usage(self.state_dir).free / 2**20
        except OSError as exc:
            return Check("disk", False, f"{self.state_dir}: {exc.strerror}", "see permissions")
        text = f"{free_mb / 1024:.1f} GiB free in {self.state_dir}"
        if free_mb < self.min_free_mb:
            return Check(
                "disk",
                False,
                f"{text} (need {self.min_free_mb / 1024:g} GiB)",
                "free space: sent captures can be archived off the rig; never delete the "
                "outbox database",
            )
        return Check("disk", True, text)

    def clock(self) -> Check:
        now = self.now()
        fix = "connect the rig to the network and wait for NTP (timedatectl status)"
        if now < CLOCK_FLOOR:
            return Check("clock", False, f"reads {now:%Y-%m-%d %H:%M} UTC: wrong", fix)
        synced = self.ntp_synchronised()
        if synced is False:
            return Check("clock", False, f"{now:%Y-%m-%d %H:%M} UTC, not synchronised", fix)
        how = "synchronised (NTP)" if synced else "plausible (synchronisation not reported)"
        return Check("clock", True, f"{now:%Y-%m-%d %H:%M} UTC, {how}")


_PINS_FIX = (
    "stop the service first (sudo systemctl stop dermocap); check the pins in the config and "
    "the wiring (README, Hardware)"
)
_STAGE_FIX = "check the stepper driver's power and wiring and the home switch (stage.limit_pin)"
_CAMERA_FIX = (
    "stop the service first (it holds the camera); check the ribbon cable and that "
    "`rpicam-hello --list-cameras` lists the camera"
)


def ntp_synchronised() -> bool | None:
    """systemd's view of the clock: True/False, or None where systemd cannot tell."""
    tool = shutil.which("timedatectl")
    if tool is None:
        return None
    try:
        res = subprocess.run(  # noqa: S603 - timedatectl, found by us, fixed arguments
            [tool, "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = res.stdout.strip()
    return {"yes": True, "no": False}.get(value) if res.returncode == 0 else None


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        results = [Check("config", False, str(exc), "fix the keys named above")]
    else:
        state_dir = Path(args.state_dir) if args.state_dir else cfg.rig.resolved_state_dir()
        doctor = Doctor(
            cfg,
            state_dir=state_dir,
            environ=os.environ,
            max_calibration_age=timedelta(days=args.max_calibration_age_days),
            min_free_mb=args.min_free_mb,
            now=lambda: datetime.now(UTC),
            ntp_synchronised=ntp_synchronised,
        )
        where = args.config or "built-in defaults (the twin)"
        results = [Check("config", True, f"{where} valid"), *doctor.run()]
    ok = all(c.ok for c in results)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in results]}, indent=2))
    else:
        for c in results:
            print(c.line())
        failed = sum(not c.ok for c in results)
        print("all checks passed" if ok else f"{failed} check(s) failed", file=sys.stderr)
    return 0 if ok else 1


def register(sub: SubParsers) -> None:
    d = sub.add_parser(
        "doctor",
        help="self-test before a patient: camera, pins, model, calibration, broker, disk, clock",
    )
    d.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    d.add_argument("--state-dir", help="state folder (default: the config's, as the service)")
    d.add_argument(
        "--max-calibration-age-days",
        type=float,
        default=30.0,
        help="an older calibration fails (default 30)",
    )
    d.add_argument(
        "--min-free-mb", type=float, default=1024.0, help="less free space fails (default 1024)"
    )
    d.set_defaults(func=cmd_doctor)
