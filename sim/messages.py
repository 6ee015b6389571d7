"""Synthetic sync payloads: valid results and stand-in capture records, for tests and benchmarks.

A twin of what a rig sends, without a rig: the sync benchmark (scripts/bench_sync.py) and the
sync tests fill outboxes with these instead of running captures.
"""

from __future__ import annotations

SAMPLE_MODEL_SHA256 = "0" * 64


def sample_result(i: int = 0, *, subject: str = "P00042") -> dict[str, object]:
    """A valid result payload (without message_id, seq and capture_id); ``i`` varies it."""
    return {
        "subject": subject,
        "site": ["frontal", "vertex", "occipital"][i % 3],
        "visit": "baseline",
        "captured_at": "2025-01-02T03:04:05+00:00",
        "lighting": "cross",
        "metrics": {"density_per_cm2": 150.0 + i % 50, "hair_count": 120 + i % 40},
        "qc": {"passed": True, "scores": {"focus": 0.9}},
        "um_per_px": 3.2,
        "calibration_id": "cal-1",
        "model": {"name": "hairnet", "version": "1.0", "sha256": SAMPLE_MODEL_SHA256},
    }


def sample_record(i: int = 0) -> dict[str, object]:
    """A stand-in capture record (the capture package owns the real one)."""
    return {"index": i, "frames": 5, "kept": 2}
