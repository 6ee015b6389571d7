"""capture/record.py on real files: the sidecar's round trip, old sidecars, find, discard and
the recovery scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capture.config import CaptureConfig
from capture.record import CaptureRecord, scan_unknown
from capture.storage import CaptureStore
from dermocap.errors import StorageError
from dermocap.ids import uuid7

# A sidecar as the first versions wrote it: no site_modes, and a key this version does
# not know (kept on a round trip).
LEGACY: dict[str, Any] = {
    "schema": "dermocap.capture/1",
    "capture_id": "0190f5e2-7c4a-7000-8000-000000000001",
    "site_capture_id": "0190f5e2-7c4a-7000-8000-0000000000aa",
    "captured_at": "2025-03-01T09:00:00Z",
    "device_id": "rig-01",
    "subject": "P00042",
    "site": "vertex",
    "visit": "baseline",
    "lighting_mode": "cross",
    "led_intensity": 0.61,
    "controls_requested": {"exposure_us": 8000, "analogue_gain": 1.0},
    "controls_actual": {"exposure_us": 7998},
    "frames_dropped": 1,
    "z_mm": 6.3,
    "autofocus": {"z_mm": 6.3},
    "calibration_id": "cal-1",
    "um_per_px": 5.21,
    "flat_field": {"applied": True, "coef": [-0.1, 0.0]},
    "drift": None,
    "qc": {
        "lighting_mode": "cross",
        "passed": True,
        "failed": [],
        "checks": {"focus": {"value": 0.8, "threshold": 0.5, "op": ">=", "passed": True}},
    },
    "relocation": {"overlap": 0.9, "rounds": 2},
    "burst": {"frames": 3, "kept_index": 1, "sharpness": [1.0, 2.0, 1.5]},
    "sharpness": 2.0,
    "brightness": 0.4,
    "software_version": "0.1.0",
    "model_version": None,
    "image": {
        "file": "0190f5e2-7c4a-7000-8000-000000000001.jpg",
        "format": "jpeg",
        "width": 4,
        "height": 2,
        "bytes": 3,
        "sha256": "",
        "jpeg_quality": 95,
        "chroma_subsampling": "4:4:4",
    },
    "operator_note": "from an older version",
}


def _store_legacy(captures: Path, data: bytes = b"abc", **changes: Any) -> dict[str, Any]:
    import hashlib

    rec = {**json.loads(json.dumps(LEGACY)), **changes}
    rec["image"] = {**rec["image"], "file": f"{rec['capture_id']}.jpg"}
    rec["image"]["sha256"] = hashlib.sha256(data).hexdigest()
    folder = captures / rec["subject"] / rec["site"] / rec["visit"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / rec["image"]["file"]).write_bytes(data)
    (folder / f"{rec['capture_id']}.json").write_text(json.dumps(rec))
    return rec


def test_an_old_sidecar_reads_and_round_trips_unchanged(tmp_path: Path) -> None:
    raw = _store_legacy(tmp_path)
    path = tmp_path / "P00042" / "vertex" / "baseline" / f"{raw['capture_id']}.json"
    rec = CaptureRecord.read(path)
    assert rec.site_modes == () and rec.site_id == raw["site_capture_id"]
    assert rec.qc.passed and rec.qc.scores() == {"focus": 0.8}
    assert rec.burst is not None and rec.burst.kept_index == 1
    assert rec.relocation_rounds == 2
    assert rec.image is not None and rec.image.size_bytes == 3
    assert rec.image_path(tmp_path) == path.with_suffix(".jpg")
    assert rec.sidecar_path(tmp_path) == path
    assert rec.image_intact(tmp_path)
    # Nothing lost, nothing invented: the unknown key stays, the new one is only a default.
    assert rec.as_dict() == {**raw, "site_modes": []}


def test_a_record_without_a_site_capture_id_is_its_own_site(tmp_path: Path) -> None:
    raw = {k: v for k, v in LEGACY.items() if k != "site_capture_id"}
    rec = CaptureRecord.from_dict(raw)
    assert rec.site_id == rec.capture_id


@pytest.mark.parametrize(
    "text", ['{"capture_id": "x"}', "[1, 2]", '{"capture_id": "x", "um_per_px": -1', ""]
)
def test_an_unreadable_sidecar_is_a_storage_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(StorageError, match=r"bad\.json"):
        CaptureRecord.read(path)


def test_write_find_and_discard(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, CaptureConfig())
    pixels = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    site_id = str(uuid7())
    written = []
    for mode in ("cross", "parallel"):
        rec = CaptureRecord(
            capture_id=str(uuid7()),
            site_capture_id=site_id,
            captured_at="2026-01-01T00:00:00Z",
            subject="P00042",
            site="vertex",
            visit="3m",
            lighting_mode=mode,
            site_modes=("cross", "parallel"),
            um_per_px=5.0,
        )
        assert rec.image is None
        with pytest.raises(StorageError, match="no stored image"):
            rec.image_path(store.captures_dir)
        written.append(store.write_capture(rec, pixels))
    cross = written[0]
    assert cross.image is not None and cross.image.file == f"{cross.capture_id}.jpg"
    assert (cross.image.width, cross.image.height) == (60, 40)
    assert cross.image_intact(store.captures_dir)
    assert CaptureRecord.find(store.captures_dir, "P00042", "vertex") == written
    assert CaptureRecord.find(store.captures_dir, "P00042", "frontal") == []
    # Never overwritten: the same record again is refused and leaves the first intact.
    with pytest.raises(StorageError, match="exists already"):
        store.write_capture(cross, pixels)
    assert cross.image_intact(store.captures_dir)
    cross.discard(store.captures_dir)
    assert not cross.sidecar_path(store.captures_dir).exists()
    assert not cross.image_path(store.captures_dir).exists()
    assert store.find_captures("P00042", "vertex") == written[1:]
    cross.discard(store.captures_dir)  # gone already: nothing to do


def test_the_recovery_scan_groups_sites_and_removes_orphan_images(tmp_path: Path) -> None:
    site = str(uuid7())
    a = _store_legacy(tmp_path, capture_id=str(uuid7()), site_capture_id=site)
    b = _store_legacy(
        tmp_path, capture_id=str(uuid7()), site_capture_id=site, lighting_mode="parallel"
    )
    half = _store_legacy(
        tmp_path,
        capture_id=str(uuid7()),
        site_capture_id=str(uuid7()),
        site_modes=["cross", "parallel"],
    )
    known = _store_legacy(tmp_path, capture_id=str(uuid7()), site_capture_id=str(uuid7()))
    folder = tmp_path / "P00042" / "vertex" / "baseline"
    orphan = folder / f"{uuid7()}.png"
    orphan.write_bytes(b"cut")
    bad = folder / f"{uuid7()}.json"
    bad.write_text("{")
    sites = scan_unknown(tmp_path, {known["capture_id"]})
    assert not orphan.exists() and bad.exists()
    by_id = {s.records[0].site_id: s for s in sites}
    assert set(by_id) == {site, half["site_capture_id"]}
    whole = by_id[site]
    assert sorted(r.capture_id for r in whole.records) == sorted([a["capture_id"], b["capture_id"]])
    assert whole.missing_modes == [] and whole.passed
    record = whole.record_of("parallel")
    assert record is not None and record.capture_id == b["capture_id"]
    assert by_id[half["site_capture_id"]].missing_modes == ["parallel"]
