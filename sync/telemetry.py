"""The rig's health figures (telemetry, ping replies), read from the outbox and the state disk."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from dermocap.ids import uuid7
from sync.models import TelemetryMessage
from sync.outbox import Outbox


def telemetry_message(outbox: Outbox, uptime_s: float, extra: dict[str, Any]) -> TelemetryMessage:
    """Outbox figures, free space of the disk it is on, and what the service adds in
    ``extra`` (``cpu_temp_c``, ``calibration_age_s``, ``led_drift_pct``)."""
    try:
        free_mb: float | None = shutil.disk_usage(outbox.path.parent).free / 1e6
    except OSError:
        free_mb = None
    return TelemetryMessage(
        message_id=str(uuid7()),
        at=datetime.now(UTC),
        uptime_s=uptime_s,
        outbox_depth=outbox.depth(),
        oldest_unsent_age_s=outbox.oldest_unsent_age_s(),
        dead_letters=outbox.dead_letter_count(),
        last_seq=outbox.last_seq(),
        disk_free_mb=free_mb,
        **extra,
    )


def ping_figures(outbox: Outbox, uptime_s: float) -> dict[str, Any]:
    """The reply data of ``cmd/ping``."""
    return {
        "uptime_s": round(uptime_s, 3),
        "outbox_depth": outbox.depth(),
        "last_seq": outbox.last_seq(),
        "dead_letters": outbox.dead_letter_count(),
    }
