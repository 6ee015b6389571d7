"""device/pipeline.py on real parts: the twin rig, the int8 hair model, a SQLite outbox.

One site is captured once per module (cross + parallel, 1014 x 760 frames, not analysed);
each recovery test works on its own copy of the stored captures with its own outbox, as a
service restarting after a crash would find them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from capture.record import CaptureRecord, outbox_entries
from dermocap.ids import uuid7
from device.capture_cmds import capture_session
from device.config import DermocapConfig
from device.pipeline import RigPipeline, result_payload
from device.serve import ServeApp
from device.service import CaptureOutcome
from device.worklist import WorkItem
from inference.second_opinion import HIDDEN_CROWDED
from sync import SyncConfig, SyncService
from sync.models import ResultMessage, validate_message

ITEM = WorkItem("P00042", "baseline", "vertex")
SMALL = {
    "rig": {"backend": "twin"},
    "camera": {"width": 1014, "height": 760},
    "sync": {"enabled": False},
}


@dataclass(frozen=True)
class Captured:
    """The module's rig and the one site it stored (cross, then parallel)."""

    app: ServeApp
    state: Path
    outcome: CaptureOutcome

    @property
    def cross_id(self) -> str:
        return self.outcome.capture_id

    @property
    def parallel_id(self) -> str:
        return self.outcome.related[0].capture_id


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    state = tmp_path_factory.mktemp("state")
    cfg = DermocapConfig.model_validate(SMALL)
    with ServeApp(cfg, state_dir=state, environ={}) as app:
        app.prepare()  # calibrates the twin on its target
        outcome = app.pipeline.capture(ITEM, lambda s: None)
        assert outcome.record.lighting_mode == "cross"
        assert [r.lighting_mode for r in outcome.related] == ["parallel"]
        yield Captured(app, state, outcome)


@dataclass(frozen=True)
class Restarted:
    """A fresh pipeline and outbox on a copy of the module's stored captures."""

    pipeline: RigPipeline
    sync: SyncService
    folder: Path  # captures/P00042/vertex/baseline

    def record(self, capture_id: str) -> dict[str, Any]:
        """A stored sidecar's JSON, as on disk."""
        data: dict[str, Any] = json.loads((self.folder / f"{capture_id}.json").read_text())
        return data

    def events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for e in self.sync.outbox.pending(1000):
            if e.topic == "events":
                out.append(json.loads(e.payload))
        return out


@pytest.fixture
def restarted(captured: Captured, tmp_path: Path) -> Iterator[Restarted]:
    for sub in ("captures", "calibration"):
        shutil.copytree(captured.state / sub, tmp_path / sub)
    app = captured.app
    sync = SyncService(SyncConfig(enabled=False), "rig-01", tmp_path, environ={})
    try:
        pipeline = RigPipeline(
            session=capture_session(app.rig, tmp_path),
            model=app.model,
            inference_cfg=app.cfg.inference,
            known_captures=sync.outbox.capture_ids,
            settle=sync.settle,
            follow=lambda g: None,
            overlay_dir=tmp_path / "overlays",
        )
        folder = tmp_path / "captures" / ITEM.subject / ITEM.site / ITEM.visit
        yield Restarted(pipeline, sync, folder)
    finally:
        sync.close()


def clone_site(
    r: Restarted,
    capture_ids: list[str],
    edit: Callable[[dict[str, Any]], None] = lambda rec: None,
) -> list[dict[str, Any]]:
    """Store copies of captures as another site capture (new ids), as capture_site would."""
    site_capture_id = str(uuid7())
    out: list[dict[str, Any]] = []
    for cid in capture_ids:
        rec = copy.deepcopy(r.record(cid))
        new_id = str(uuid7())
        image = r.folder / rec["image"]["file"]
        rec["capture_id"] = new_id
        rec["site_capture_id"] = site_capture_id
        rec["image"]["file"] = f"{new_id}{image.suffix}"
        edit(rec)
        shutil.copyfile(image, r.folder / rec["image"]["file"])
        (r.folder / f"{new_id}.json").write_text(json.dumps(rec))
        out.append(rec)
    return out


def stored_ids(folder: Path) -> set[str]:
    return {p.stem for p in folder.iterdir()}


# -- result_payload --------------------------------------------------------------------------
def test_result_payload_is_a_valid_result_message(captured: Captured) -> None:
    rec = captured.outcome.record.as_dict()
    related = [r.as_dict() for r in captured.outcome.related]
    metrics = captured.app.model.analyze(captured.outcome.frame, rec["um_per_px"])
    payload = result_payload(captured.outcome.record, metrics, captured.outcome.related)
    msg = validate_message(
        ResultMessage,
        {**payload, "capture_id": captured.cross_id, "message_id": str(uuid7()), "seq": 7},
    )
    assert (msg.subject, msg.site, msg.visit) == ("P00042", "vertex", "baseline")
    assert msg.lighting == "cross"
    assert msg.um_per_px == pytest.approx(rec["um_per_px"])
    assert msg.calibration_id == rec["calibration_id"]
    assert msg.metrics.hair_count == metrics.hair_count
    assert msg.metrics.density_per_cm2 == pytest.approx(metrics.density_per_cm2, abs=1e-4)
    assert msg.model.sha256 == captured.app.model.info.sha256
    # the manifest's gain on the file's outputs travels with the result (2.2.0's INT8: ~1.05)
    assert msg.model.output_gain == captured.app.model.info.output_gain != 1.0
    # Both images, named, hashed and sized as stored (and as the files on disk are).
    folder = captured.state / "captures" / "P00042" / "vertex" / "baseline"
    assert [i.name for i in msg.images] == [rec["image"]["file"], related[0]["image"]["file"]]
    for ref, r in zip(msg.images, [rec, *related], strict=True):
        data = (folder / ref.name).read_bytes()
        assert ref.sha256 == r["image"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert ref.size_bytes == r["image"]["bytes"] == len(data)
        assert ref.content_type == "image/jpeg"
    # QC: passed, and a score for every check that measured something (not the null ones).
    checks = rec["qc"]["checks"]
    assert any(c["value"] is None for c in checks.values())  # lighting_mismatch, no baseline
    assert msg.qc.passed and msg.qc.reasons == []
    assert msg.qc.scores == {k: c["value"] for k, c in checks.items() if c["value"] is not None}


def test_result_payload_takes_lighting_and_qc_from_the_record(captured: Captured) -> None:
    rec = captured.outcome.related[0].as_dict()  # the parallel capture as the main one
    rec["qc"] = {
        "passed": False,
        "failed": ["glare"],
        "checks": {
            "glare": {"value": 0.02, "threshold": 0.005, "passed": False},
            "hairs": {"value": 3, "passed": True},
            "note": {"value": "high", "passed": True},
            "flicker": {"value": None, "passed": True},
            "legacy": 0.5,
        },
    }
    metrics = captured.app.model.analyze(captured.outcome.frame, float(rec["um_per_px"]))
    payload = result_payload(CaptureRecord.from_dict(rec), metrics)
    msg = validate_message(
        ResultMessage,
        {**payload, "capture_id": rec["capture_id"], "message_id": str(uuid7()), "seq": 1},
    )
    assert msg.lighting == "parallel"
    assert not msg.qc.passed and msg.qc.reasons == ["glare"]
    assert msg.qc.scores == {"glare": 0.02, "hairs": 3.0}
    assert [i.name for i in msg.images] == [rec["image"]["file"]]


# -- crash recovery ----------------------------------------------------------------------------
def test_unknown_passing_site_is_recovered_once(captured: Captured, restarted: Restarted) -> None:
    r = restarted
    outcomes = r.pipeline.pending_recoveries()
    assert len(outcomes) == 1
    o = outcomes[0]
    assert o.capture_id == captured.cross_id
    assert o.item == ITEM
    assert o.record.as_dict() == r.record(captured.cross_id)
    assert o.image_path == r.folder / f"{captured.cross_id}.jpg" and o.image_path.is_file()
    assert o.um_per_px == pytest.approx(captured.outcome.um_per_px)
    assert [rec.capture_id for rec in o.related] == [captured.parallel_id]
    assert o.related[0].as_dict() == r.record(captured.parallel_id)
    assert o.frame is None and "recovered" in o.timings_ms
    # Nothing was settled by finding it.
    assert r.sync.outbox.capture_ids() == set()
    # The service analyses it and stores record + result: the next restart finds nothing.
    result = r.pipeline.analyze(o)
    entry = r.sync.submit_capture(
        o.capture_id, o.record.as_dict(), result, o.image_path, outbox_entries(o.related)
    )
    assert r.sync.outbox.capture_ids() == {captured.cross_id, captured.parallel_id}
    msg = validate_message(ResultMessage, json.loads(entry.payload))
    assert msg.capture_id == captured.cross_id and len(msg.images) == 2
    assert r.pipeline.pending_recoveries() == []
    assert stored_ids(r.folder) == {captured.cross_id, captured.parallel_id}  # files kept


def test_image_without_its_sidecar_is_removed(captured: Captured, restarted: Restarted) -> None:
    r = restarted
    orphan = r.folder / f"{uuid7()}.jpg"  # killed between the image and the sidecar rename
    shutil.copyfile(r.folder / f"{captured.cross_id}.jpg", orphan)
    outcomes = r.pipeline.pending_recoveries()
    assert not orphan.exists()
    assert [o.capture_id for o in outcomes] == [captured.cross_id]
    assert sorted(p.name for p in r.folder.iterdir()) == sorted(
        f"{cid}.{ext}"
        for cid in (captured.cross_id, captured.parallel_id)
        for ext in ("jpg", "json")
    )


def test_site_that_failed_qc_is_settled_not_recovered(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted

    def fail(rec: dict[str, Any]) -> None:
        rec["qc"]["passed"] = False
        rec["qc"]["failed"] = ["focus"]

    failed = clone_site(r, [captured.cross_id, captured.parallel_id], fail)
    failed_ids = {rec["capture_id"] for rec in failed}
    outcomes = r.pipeline.pending_recoveries()
    assert [o.capture_id for o in outcomes] == [captured.cross_id]  # the passing site only
    assert r.sync.outbox.capture_ids() == failed_ids
    events = r.events()
    assert [e["type"] for e in events] == ["qc_failed"]
    assert events[0]["capture_id"] in failed_ids
    assert (events[0]["subject"], events[0]["site"]) == ("P00042", "vertex")
    assert failed_ids <= stored_ids(r.folder)  # the files stay: they are records of the visit
    # Settled: a second restart neither recovers nor settles it again.
    r.sync.submit_capture(
        outcomes[0].capture_id,
        outcomes[0].record.as_dict(),
        r.pipeline.analyze(outcomes[0]),
        outcomes[0].image_path,
        outbox_entries(outcomes[0].related),
    )
    assert r.pipeline.pending_recoveries() == []
    assert len(r.events()) == 1


def test_site_where_only_the_other_mode_failed_qc_is_settled(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted

    def fail_parallel(rec: dict[str, Any]) -> None:
        if rec["lighting_mode"] == "parallel":
            rec["qc"]["passed"] = False
            rec["qc"]["failed"] = ["glare"]

    failed = clone_site(r, [captured.cross_id, captured.parallel_id], fail_parallel)
    outcomes = r.pipeline.pending_recoveries()
    # The live path raised QualityCheckFailed for this site: the technician was told to retake.
    assert [o.capture_id for o in outcomes] == [captured.cross_id]
    assert r.sync.outbox.capture_ids() == {rec["capture_id"] for rec in failed}
    assert [e["type"] for e in r.events()] == ["qc_failed"]


def test_site_killed_between_its_modes_is_settled_incomplete(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted
    assert r.record(captured.cross_id)["site_modes"] == ["cross", "parallel"]
    # A SIGKILL after the cross mode was stored, before the parallel one: a half site.
    half = clone_site(r, [captured.cross_id])
    outcomes = r.pipeline.pending_recoveries()
    assert [o.capture_id for o in outcomes] == [captured.cross_id]  # the whole site only
    assert r.sync.outbox.capture_ids() == {half[0]["capture_id"]}
    events = r.events()
    assert [e["type"] for e in events] == ["capture_incomplete"]
    assert events[0]["capture_id"] == half[0]["capture_id"]
    assert "parallel" in events[0]["detail"] and "retake" in events[0]["detail"]
    assert half[0]["capture_id"] in stored_ids(r.folder)  # kept: a record of the visit


def test_record_without_site_modes_counts_as_a_whole_site(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted  # a record written before site_modes existed

    def legacy(rec: dict[str, Any]) -> None:
        del rec["site_modes"]

    (old,) = clone_site(r, [captured.cross_id], legacy)
    outcomes = r.pipeline.pending_recoveries()
    assert sorted(o.capture_id for o in outcomes) == sorted([captured.cross_id, old["capture_id"]])
    assert r.events() == []


def test_capture_with_changed_image_bytes_is_settled_unrecoverable(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted
    image = r.folder / f"{captured.cross_id}.jpg"
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    image.write_bytes(bytes(data))
    assert r.pipeline.pending_recoveries() == []
    assert r.sync.outbox.capture_ids() == {captured.cross_id, captured.parallel_id}
    events = r.events()
    assert [e["type"] for e in events] == ["capture_unrecoverable"]
    assert events[0]["capture_id"] == captured.cross_id
    assert "SHA-256" in events[0]["detail"]
    assert r.pipeline.pending_recoveries() == []
    assert len(r.events()) == 1


def test_unreadable_sidecar_is_left_and_the_rest_recovered(
    captured: Captured, restarted: Restarted
) -> None:
    r = restarted
    (bad,) = clone_site(r, [captured.cross_id])
    sidecar = r.folder / f"{bad['capture_id']}.json"
    text = sidecar.read_text()
    sidecar.write_text(text[: len(text) // 2])  # cut mid-write by a power loss
    outcomes = r.pipeline.pending_recoveries()
    assert [o.capture_id for o in outcomes] == [captured.cross_id]
    assert sidecar.read_text() == text[: len(text) // 2]
    assert (r.folder / bad["image"]["file"]).is_file()  # it has its sidecar: not a cut write
    assert bad["capture_id"] not in r.sync.outbox.capture_ids()
    assert r.events() == []


# -- cancel ------------------------------------------------------------------------------------
def test_discard_removes_every_file_of_the_site(captured: Captured, restarted: Restarted) -> None:
    r = restarted
    (outcome,) = r.pipeline.pending_recoveries()
    other = clone_site(r, [captured.cross_id, captured.parallel_id])  # another site capture
    r.pipeline.discard(outcome)
    gone = {captured.cross_id, captured.parallel_id}
    assert not gone & stored_ids(r.folder)
    assert sorted(p.name for p in r.folder.iterdir()) == sorted(
        n for rec in other for n in (rec["image"]["file"], f"{rec['capture_id']}.json")
    )
    assert r.pipeline.pending_recoveries()[0].capture_id == other[0]["capture_id"]


def test_a_matted_site_is_told_at_capture_and_a_clipped_one_is_not(
    captured: Captured, tmp_path: Path
) -> None:
    """The hair mat is measured on the stored frame before the capture returns (the
    technician still has the cone on the site); the module's site is the twin's default
    trimmed one."""
    assert captured.outcome.hair_mat is None
    cfg = DermocapConfig.model_validate(
        {
            **SMALL,
            # cross-polarised only: long hair's sheen fails the parallel mode's glare check
            "capture": {"lighting_modes": ["cross"]},
            "sim": {
                "scalp": {"hair_length": "long", "density_per_cm2": 280.0, "look": "trichoscopy"}
            },
        }
    )
    with ServeApp(cfg, state_dir=tmp_path, environ={}) as app:
        app.prepare()
        outcome = app.pipeline.capture(ITEM, lambda s: None)
        metrics = app.pipeline.analyze(outcome)
    assert outcome.hair_mat is not None and outcome.hair_mat > HIDDEN_CROWDED
    # the result says the same to the clinic, from the whole second opinion
    assert metrics["review"] and any("hides the openings" in r for r in metrics["review_reasons"])
    # one kind per reason, in order: the mat's is the one with its words
    kinds = metrics["review_kinds"]
    assert len(kinds) == len(metrics["review_reasons"])
    assert "hides the openings" in metrics["review_reasons"][kinds.index("hair_mat")]


def test_the_model_starts_on_the_stored_pixels_while_the_other_modes_are_captured(
    captured: Captured,
) -> None:
    # The pipeline hands the cross image to the model as soon as it exists (before the
    # parallel mode's burst); the metrics must be exactly those of the stored image.
    from device.pipeline import read_image

    out = captured.outcome
    assert out.analysis is not None
    early = out.analysis.result(timeout=60)
    stored = read_image(out.image_path)
    assert out.frame is not None and out.frame.shape == stored.shape
    direct = captured.app.model.analyze(stored, out.um_per_px)
    # JPEG round trip of the stored file: the counts agree to a fraction of a hair per cm2
    assert early.density_per_cm2 == pytest.approx(direct.density_per_cm2, rel=0.03)
    assert early.um_per_px == out.um_per_px
    again = captured.app.model.analyze(out.frame, out.um_per_px)
    assert early.density_per_cm2 == again.density_per_cm2  # the very pixels kept in memory
