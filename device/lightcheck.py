"""The daily light check: the LED rings measured on the reference target once a day.

LEDs dim as they age and warm, and a capture under dimmer light reads differently;
:func:`capture.calibration.check_drift` measures the grey patch at the calibrated settings,
warns past ``drift_warn``, trims the rings back, and fails past ``drift_fail``. It needs
the reference target under the cone, which only the technician can put there, and
``dermocap serve`` cannot wait for it at start (systemd's start timeout runs meanwhile).
So the service asks on the status light (``light_check``) before the day's first capture:
a press with the target in place runs the check, a hold skips it (no target at hand) until
the service restarts; not after a check that failed on drift, which only a recalibration
mends (the failure is kept, so a restart does not forget it). A calibration made the same day
counts as the day's check.

The last check is kept in ``state_dir/light_check.json`` (written atomically): a restart the
same day does not ask again, and takes up its trim (and its ``led_drift`` warning) while the
calibration is the one it was made on. Days are the rig's local calendar days. The file
holds ``date``, ``at`` and ``drift`` (the drift report) of the last check that passed, and
``failure`` (``calibration_id``, ``at``, ``message``) of a later one that failed on drift.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from capture.calibration import DriftReport
from capture.session import CaptureSession
from dermocap.clock import parse_utc_stamp, utc_stamp
from dermocap.errors import CaptureError, DermocapError, TargetNotFound
from dermocap.fsutil import atomic_write_json

log = logging.getLogger(__name__)

LIGHT_CHECK_NAME = "light_check.json"


@dataclass(frozen=True)
class LastCheck:
    """The last light check that passed: its local ``day``, when (``at``, UTC), and the
    ``drift`` it measured (measured / reference - 1)."""

    day: date
    at: datetime
    drift: float


class LightCheck:
    """Whether today's light check is due, and running or skipping it.

    Args:
        session: the rig's capture session (its calibration and its drift check).
        state_dir: where ``light_check.json`` is kept.
        enabled: False: never due (``capture.calibration.daily_light_check``).
        today: the local date (injectable for tests).
    """

    def __init__(
        self,
        session: CaptureSession,
        state_dir: Path,
        *,
        enabled: bool = True,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.session = session
        self.path = Path(state_dir) / LIGHT_CHECK_NAME
        self.enabled = enabled
        self.today = today
        self._lock = threading.Lock()
        self.last: dict[str, Any] | None = self._load()
        self._skipped_on: date | None = None
        if self.last is not None and "drift" in self.last:
            try:
                kept = DriftReport.from_dict(self.last["drift"])
            except (TypeError, ValueError) as exc:
                log.warning("%s holds no drift report (%s): its trim is not used", self.path, exc)
            else:
                if session.use_drift(kept):
                    log.info("light trim x%.3f from the check of %s", kept.trim, self.last["date"])

    def _load(self) -> dict[str, Any] | None:
        try:
            d = dict(json.loads(self.path.read_text(encoding="utf-8")))
            if "date" in d:
                date.fromisoformat(d["date"])
            return d
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s unreadable (%s): the light check is asked for again", self.path, exc)
            return None

    def _calibrated_on(self) -> date | None:
        cal = self.session.calibration
        if cal is None:
            return None
        try:
            made = parse_utc_stamp(cal.created_at)
        except ValueError:
            return None  # an odd time stamp: not today's, so the check is asked for
        return made.astimezone().date()

    def due(self) -> bool:
        """Calibrated, but neither calibrated, checked nor skipped today."""
        if not self.enabled or self.session.calibration is None:
            return False
        today = self.today()
        if self._calibrated_on() == today:
            return False
        with self._lock:
            if self._skipped_on == today:
                return False
            last = self.last or {}
            return "drift" not in last or last.get("date") != today.isoformat()

    def failure(self) -> str | None:
        """Why the last check on this calibration failed on drift (kept across restarts),
        until a check passes or the rig is recalibrated; None otherwise."""
        cal = self.session.calibration
        with self._lock:
            failed = (self.last or {}).get("failure")
        if cal is None or not isinstance(failed, dict):
            return None
        if failed.get("calibration_id") != cal.calibration_id:
            return None
        return str(failed.get("message", "the LED output drifted past drift_fail"))

    def last_check(self) -> LastCheck | None:
        """The last check kept, if it was made on this calibration (an earlier calibration's
        check says nothing of the rings as they are calibrated now)."""
        cal = self.session.calibration
        with self._lock:
            last = self.last
        if last is None or cal is None:
            return None
        try:
            if last["drift"]["calibration_id"] != cal.calibration_id:
                return None
            return LastCheck(
                day=date.fromisoformat(last["date"]),
                at=parse_utc_stamp(last["at"]),
                drift=float(last["drift"]["drift"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def run(self) -> tuple[str, dict[str, Any]]:
        """Measure and trim the rings on the reference target (capture worker's thread).

        Returns:
            A one-line summary, and the drift report's figures (scalars, for an event).

        Raises:
            TargetNotFound: the reference target is not under the cone.
            CaptureError: not calibrated, or the output drifted past ``drift_fail`` (then a
                hold cannot skip the check until it passes).
        """
        cal = self.session.calibration
        try:
            report = self.session.check_drift()
        except TargetNotFound:
            raise
        except CaptureError as exc:
            if cal is not None:  # failed on drift: kept, so that no hold skips it, even later
                failure = {
                    "calibration_id": cal.calibration_id,
                    "at": utc_stamp(),
                    "message": str(exc),
                }
                with self._lock:
                    entry = {**(self.last or {}), "failure": failure}
                    self.last = entry
                self._keep(entry)
            raise
        data = report.as_dict()
        entry = {"date": self.today().isoformat(), "at": utc_stamp(), "drift": data}
        with self._lock:
            self.last = entry  # a check that passed ends a failure
        self._keep(entry)
        summary = (
            f"light output {report.drift:+.1%} since calibration {report.calibration_id}"
            + (f", trimmed x{report.trim:.3f}" if report.trim != 1.0 else "")
            + (": recalibrate soon" if report.warned else "")
        )
        # Event data holds scalars only: one figure per ring's trimmed intensity.
        flat = {k: v for k, v in data.items() if k != "led_intensity"}
        flat |= {f"led_intensity_{m}": round(v, 5) for m, v in report.led_intensity.items()}
        return summary, flat

    def skip(self) -> None:
        """No target at hand: not asked again today until a restart (captures go on with
        the light unchecked; restarting the service is how to check it later that day).

        Raises:
            CaptureError: the last check on this calibration failed on drift: the rig must
                be recalibrated.
        """
        failed = self.failure()
        if failed is not None:
            raise CaptureError(f"the light check cannot be skipped after it failed: {failed}")
        with self._lock:
            self._skipped_on = self.today()

    def _keep(self, entry: dict[str, Any]) -> None:
        try:
            atomic_write_json(self.path, entry)
        except DermocapError as exc:  # it holds for this run; a restart asks again
            log.warning("the light check was not kept (%s): a restart asks for it again", exc)
