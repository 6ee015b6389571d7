"""The daily light check: the LED rings measured on the reference target once a day.

LEDs dim as they age and warm, and a capture under dimmer light reads differently;
:func:`capture.calibration.check_drift` measures the grey patch at the calibrated settings,
warns past ``drift_warn``, trims the rings back, and fails past ``drift_fail``. It needs
the reference target under the cone, which only the technician can put there, and
``dermocap serve`` cannot wait for it at start (systemd's start timeout runs meanwhile).
So the service asks on the status light (``light_check``) before the day's first capture:
a press with the target in place runs the check, a hold skips it (no target at hand) until
the service restarts. A calibration made the same day counts as the day's check.

The last check is kept in ``state_dir/light_check.json`` (written atomically), so that a
restart the same day does not ask again. Days are the rig's local calendar days.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from capture.session import CaptureSession
from dermocap.fsutil import atomic_write_json

log = logging.getLogger(__name__)

LIGHT_CHECK_NAME = "light_check.json"


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

    def _load(self) -> dict[str, Any] | None:
        try:
            d = json.loads(self.path.read_text(encoding="utf-8"))
            date.fromisoformat(d["date"])
            return dict(d)
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
            made = datetime.strptime(cal.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
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
            return self.last is None or self.last.get("date") != today.isoformat()

    def last_checked(self) -> tuple[date, float] | None:
        """The day and drift (measured / reference - 1) of the last check kept, if any."""
        with self._lock:
            last = self.last
        if last is None:
            return None
        try:
            return date.fromisoformat(last["date"]), float(last["drift"]["drift"])
        except (KeyError, TypeError, ValueError):
            return None

    def run(self) -> tuple[str, dict[str, Any]]:
        """Measure and trim the rings on the reference target (capture worker's thread).

        Returns:
            A one-line summary, and the drift report's figures.

        Raises:
            CaptureError: not calibrated, or the output drifted past ``drift_fail``.
            DiskFullError, StorageError: the check ran but could not be recorded.
        """
        report = self.session.check_drift()
        data = report.as_dict()
        entry = {
            "date": self.today().isoformat(),
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "drift": data,
        }
        with self._lock:
            self.last = entry  # first: a failed write still stops the asking until a restart
        atomic_write_json(self.path, entry)
        summary = (
            f"light output {report.drift:+.1%} since calibration {report.calibration_id}"
            + (f", trimmed x{report.trim:.3f}" if report.trim != 1.0 else "")
            + (": recalibrate soon" if report.warned else "")
        )
        return summary, data

    def skip(self) -> None:
        """No target at hand: not asked again today until a restart (captures go on with
        the light unchecked; restarting the service is how to check it later that day)."""
        with self._lock:
            self._skipped_on = self.today()
