"""Shared helpers of the dashboard tests: a store filled with what a rig publishes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.auth import add_user
from dashboard.store import Store
from dermocap.ids import uuid7
from sync.models import (
    ImageChunkMessage,
    ImageManifestMessage,
    ResultMessage,
    StatusMessage,
    TelemetryMessage,
)

PASSWORD = "correct horse battery"  # noqa: S105 - a test account
VISITS = ("baseline", "3m", "6m", "12m")
SITES = ("frontal", "vertex", "occipital")
# density per visit: 3m inside the noise of a 3 % CV (MDC 8.3 %), 6m up, 12m down
DENSITY = {"baseline": 100.0, "3m": 105.0, "6m": 120.0, "12m": 80.0}
_seq = itertools.count(1)


def density(site: str, visit: str) -> float:
    return DENSITY[visit] + 10 * SITES.index(site)


def result(subject: str, site: str, visit: str, **extra: Any) -> ResultMessage:
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=90 * VISITS.index(visit))
    d = density(site, visit)
    payload: dict[str, Any] = {
        "message_id": str(uuid7()),
        "seq": next(_seq),
        "capture_id": str(uuid7()),
        "subject": subject,
        "site": site,
        "visit": visit,
        "captured_at": at.isoformat(),
        "metrics": {
            "density_per_cm2": d,
            "hair_count": int(d),
            "terminal_density_per_cm2": d * 0.7,
            "vellus_density_per_cm2": d * 0.3,
            "mean_diameter_um": 60.0 + VISITS.index(visit),
            "cumulative_thickness_mm_per_cm2": d * 0.06,
        },
        "qc": {"passed": True},
        "um_per_px": 3.2,
        "model": {"name": "hairnet", "version": "1.0", "sha256": "ab" * 32},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(payload.get(key), dict):
            payload[key] = payload[key] | value
        else:
            payload[key] = value
    return ResultMessage.model_validate(payload)


def fill(store: Store, device_id: str = "rig-01", subject: str = "P00042") -> list[ResultMessage]:
    """A rig online with telemetry (3 % density CV) and 4 visits x 3 sites of ``subject``."""
    store.set_status(
        device_id,
        StatusMessage(
            message_id=str(uuid7()), state="online", since=datetime.now(UTC), software="0.1.0"
        ),
    )
    store.set_telemetry(
        device_id,
        TelemetryMessage(
            message_id=str(uuid7()),
            at=datetime.now(UTC),
            uptime_s=5,
            outbox_depth=2,
            dead_letters=0,
            last_seq=0,
            calibration_age_s=7200,
            led_drift_pct=-1.5,
            light_check_age_s=5400,
            repeatability_density_cv=0.03,
        ),
    )
    out = []
    for site in SITES:
        for visit in VISITS:
            m = result(subject, site, visit)
            store.add_durable(device_id, "results", m)
            out.append(m)
    return out


def add_image(store: Store, device_id: str, capture_id: str, name: str, data: bytes) -> None:
    """Send an image as a rig does: a manifest and one chunk."""
    import base64
    import hashlib

    image_id = str(uuid7())
    sha = hashlib.sha256(data).hexdigest()
    store.add_durable(
        device_id,
        "images/manifest",
        ImageManifestMessage(
            message_id=str(uuid7()), seq=next(_seq), image_id=image_id, capture_id=capture_id,
            name=name, content_type="image/png", size_bytes=len(data), sha256=sha,
            chunk_bytes=max(len(data), 1), chunks=1,
        ),
    )  # fmt: skip
    store.add_durable(
        device_id,
        "images/chunk",
        ImageChunkMessage(
            message_id=str(uuid7()), seq=next(_seq), image_id=image_id, offset=0,
            length=len(data), sha256=sha, data_b64=base64.b64encode(data).decode(),
        ),
    )  # fmt: skip


def new_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "dash.sqlite3", tmp_path / "images")
    add_user(store, "alice", PASSWORD)
    return store
