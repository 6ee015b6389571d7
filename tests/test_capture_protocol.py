"""The capture protocol on the digital twin: lock, calibrate, focus, capture, QC, relocate,
store. Frames are 1014 x 760 (a quarter of the still's pixels) to keep the module fast."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from capture import CaptureSession, Controls, LockedCamera, StillMode
from capture.autofocus import Autofocus
from capture.record import CaptureRecord
from dermocap.errors import CaptureError, DiskFullError
from device.capture_cmds import capture_session
from device.config import DermocapConfig
from device.rig import Rig, build_rig
from sim.camera import TwinCamera
from sim.hand import TwinTechnician
from sim.tools import NEUTRAL_COLOUR_GAINS
from sim.twin import Twin

SMALL = {"camera": {"width": 1014, "height": 760}}


def _hand(rig: Rig) -> TwinTechnician:
    return TwinTechnician.of(rig.technician)


def _twin(rig: Rig) -> Twin:
    return _hand(rig).twin


def _cfg(**sim: Any) -> DermocapConfig:
    return DermocapConfig.model_validate({**SMALL, "sim": sim})


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, CaptureSession]]:
    rig = build_rig(_cfg())
    session = capture_session(rig, tmp_path_factory.mktemp("state"))
    _hand(rig).place_target()
    session.calibrate()
    _hand(rig).place_subject()
    yield rig, session
    rig.close()


# -- locked camera ----------------------------------------------------------------------------
def test_locked_camera_drops_stale_and_mismatched_frames() -> None:
    rig = build_rig(_cfg())
    with rig:
        controls = Controls(6000, 1.5, NEUTRAL_COLOUR_GAINS)
        rig.camera.configure(StillMode(507, 380, "preview"))
        # No settle wait: the first frames still carry the old controls and must be dropped.
        cam = LockedCamera(
            rig.camera, controls, clock=rig.clock, frame_duration_us=33_333, settle_frames=0
        )
        frame = cam.capture()
        assert max(frame.metadata.mismatch(controls).values()) <= 0.05
        assert frame.started_after_request
        assert cam.stats.mismatched >= 1
        # After a mode switch the controls are applied again and hold.
        cam.use_mode(StillMode(1014, 760))
        assert cam.capture().metadata.mismatch(controls)["exposure_us"] <= 0.05
        # A camera that never delivers the requested controls ends in a clear error.
        cam.lock(Controls(6000, 40.0, NEUTRAL_COLOUR_GAINS))  # beyond the sensor's gain
        with pytest.raises(CaptureError, match="locked controls"):
            cam.capture()


# -- autofocus --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start_z_mm", "z_focus_mm"), [(4.0, 6.3), (1.0, 3.9), (11.5, 9.2), (6.0, 7.4)]
)
def test_autofocus_lands_within_depth_of_field(start_z_mm: float, z_focus_mm: float) -> None:
    cfg = DermocapConfig.model_validate(
        {
            **SMALL,
            "sim": {
                "optics": {"z_focus_mm": z_focus_mm},
                "mechanics": {"start_z_mm": start_z_mm},
            },
        }
    )
    with build_rig(cfg) as rig:
        rig.stage.home()
        rig.lighting.set("cross", 0.7)
        rig.camera.configure(StillMode(507, 380, "preview"))
        cam = LockedCamera(
            rig.camera,
            Controls(8000, 1.0, NEUTRAL_COLOUR_GAINS),
            clock=rig.clock,
            frame_duration_us=33_333,
        )
        af = Autofocus(
            cam, rig.stage, min_mm=0.5, max_mm=12.0, clock=rig.clock, cfg=cfg.capture.autofocus
        )
        res = af.run(cfg.stage.focus_mm)
        carriage_z_mm = _hand(rig).mechanics.carriage_z_mm
        assert abs(carriage_z_mm - z_focus_mm) <= cfg.sim.optics.depth_of_field_mm
        assert res.elapsed_s < cfg.capture.autofocus.max_time_s


# -- calibration ------------------------------------------------------------------------------
def test_calibration_measures_scale_and_white(calibrated: tuple[Rig, CaptureSession]) -> None:
    rig, session = calibrated
    cal = session.calibration
    assert cal is not None
    assert cal.um_per_px == pytest.approx(_twin(rig).true_um_per_px, rel=0.01)
    # The nominal scale is 2 % off the truth: calibration must not just echo it.
    assert abs(cal.um_per_px / rig.config.camera.nominal_um_per_px - 1) > 0.01
    assert cal.colour_gains == pytest.approx(NEUTRAL_COLOUR_GAINS, rel=0.02)
    assert cal.grey_level["cross"] == pytest.approx(0.4, rel=0.011)
    assert cal.grey_level["parallel"] == pytest.approx(0.4, rel=0.011)
    assert cal.flat_field[0] < 0  # vignetting found
    stored = session.store.read_calibration()
    assert stored is not None and stored["calibration_id"] == cal.calibration_id


def test_drift_check_warns_and_trims_the_leds(calibrated: tuple[Rig, CaptureSession]) -> None:
    rig, session = calibrated
    _twin(rig).show_target()
    try:
        ok = session.check_drift()
        assert not ok.warned and ok.trim == pytest.approx(1.0, abs=0.02)
        _twin(rig).led_efficiency = 0.85
        light = rig.status.current
        aged = session.check_drift()
        assert aged.warned and aged.drift < -0.1
        assert rig.status.current == light  # reported in the report, not on the light
        assert aged.corrected_level == pytest.approx(aged.reference_level, rel=0.01)
        _twin(rig).led_efficiency = 0.5
        with pytest.raises(CaptureError, match="recalibrate"):
            session.check_drift()
    finally:
        _twin(rig).led_efficiency = 1.0
        _twin(rig).show_subject()
        session.state.led_intensity = {}


# -- capture, QC, storage, relocation ------------------------------------------------------
def test_capture_site_stores_records_and_images(calibrated: tuple[Rig, CaptureSession]) -> None:
    rig, session = calibrated
    _twin(rig).place(0.0, 0.0, 0.0)
    res = session.capture_site("S-0001", "vertex", "baseline")
    assert res.passed, res.retake_advice
    assert [c.record.lighting_mode for c in res.captures] == ["cross", "parallel"]
    rec = res.captures[0].record
    side = json.loads(res.captures[0].sidecar_path.read_text())
    assert side == rec.as_dict() and CaptureRecord.read(res.captures[0].sidecar_path) == rec
    assert side["schema"] == "dermocap.capture/1" and side["image"]["bytes"] > 0
    assert side["site_modes"] == ["cross", "parallel"]
    assert rec.calibration_id == session.calibration.calibration_id  # type: ignore[union-attr]
    assert rec.um_per_px == pytest.approx(_twin(rig).true_um_per_px, rel=0.01)
    assert rec.qc.passed and set(rec.qc.checks) >= {"focus", "glare", "motion"}
    assert rec.model_version is None and rec.software_version
    for c in res.captures:  # the sharpest frame of each burst is the one kept
        burst = c.record.burst
        assert burst is not None and burst.kept_index == int(np.argmax(burst.sharpness))
    assert rec.controls_actual["exposure_us"] == pytest.approx(
        rec.controls_requested["exposure_us"], rel=0.05
    )
    data = res.captures[0].image_path.read_bytes()
    import hashlib

    assert rec.image is not None and hashlib.sha256(data).hexdigest() == rec.image.sha256
    assert rec.image_path(session.store.captures_dir) == res.captures[0].image_path
    assert session.store.find_captures("S-0001", "vertex") == [c.record for c in res.captures]
    with Image.open(res.captures[0].image_path) as im:
        assert im.format == "JPEG" and im.size == (1014, 760)
        # 4:4:4: no chroma subsampling (Pillow reports it as 0).
        from PIL import JpegImagePlugin

        assert JpegImagePlugin.get_sampling(im) == 0


def test_subject_must_be_a_pseudonym(calibrated: tuple[Rig, CaptureSession]) -> None:
    _, session = calibrated
    with pytest.raises(ValueError, match="pseudonym"):
        session.capture_site("John Smith", "vertex", "baseline")
    with pytest.raises(ValueError, match="site"):
        session.capture_site("S-0001", "../etc", "baseline")


def _perturb_still_frames(
    rig: Rig, session: CaptureSession, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Make the burst's frames (still mode; not autofocus's) show ``fault``, as the scene
    would: the cone lifted after focusing, an over-exposure, a specular patch, a subject
    moving between frames."""
    camera = rig.camera
    twin = _twin(rig)
    assert isinstance(camera, TwinCamera) and twin is not None
    real_capture = camera.capture
    lifted = [False]

    def capture(**kw: Any) -> Any:
        still = camera.mode == session.still
        if still and fault == "focus" and not lifted[0]:
            lifted[0] = True
            rig.stage.move_to(rig.stage.z_mm + 0.6)
        frame = real_capture(**kw)
        if not still:
            return frame
        px = frame.array
        if fault == "motion":
            twin.nudge(0.05, 0.0, 0.0)
        elif fault == "clipped_highlights":
            px = np.clip(px.astype(np.float32) * 2.2, 0, 255).astype(np.uint8)
        elif fault == "glare":
            px = px.copy()
            px[100:200, 100:300] = 250  # a colourless specular patch
        return dataclasses.replace(frame, array=px)

    monkeypatch.setattr(camera, "capture", capture)


@pytest.mark.parametrize(
    ("subject", "fault", "advice"),
    [
        ("S-0101", "", ""),
        ("S-0102", "focus", "blurred"),
        ("S-0103", "clipped_highlights", "too bright"),
        ("S-0104", "glare", "wipe the skin"),
        ("S-0105", "motion", "hold still"),
    ],
)
def test_qc_of_the_kept_frame_on_the_capture_path(
    calibrated: tuple[Rig, CaptureSession],
    monkeypatch: pytest.MonkeyPatch,
    subject: str,
    fault: str,
    advice: str,
) -> None:
    rig, session = calibrated
    _twin(rig).place(0.0, 0.0, 0.0)
    _twin(rig).motion_px_per_frame = 0.0
    light = rig.status.current
    _perturb_still_frames(rig, session, monkeypatch, fault)
    try:
        res = session.capture_site(subject, "frontal", "baseline", modes=("cross",))
    finally:
        monkeypatch.undo()
        _twin(rig).place(0.0, 0.0, 0.0)
    (cap,) = res.captures
    # Stored either way, with its report: a failed capture is a record of the visit too.
    side = json.loads(cap.sidecar_path.read_text())
    assert side["qc"] == cap.record.as_dict()["qc"] == cap.qc.as_dict()
    if not fault:
        assert res.passed and cap.qc.failed == [] and res.retake_advice == ""
    else:
        assert not res.passed and fault in cap.qc.failed
        assert side["qc"]["passed"] is False and fault in side["qc"]["failed"]
        assert advice in res.retake_advice
    # The session reports; the service alone shows it on the status light.
    assert rig.status.current == light


def test_relocation_converges_from_random_offsets(calibrated: tuple[Rig, CaptureSession]) -> None:
    rig, session = calibrated
    twin = _twin(rig)
    twin.place(0.0, 0.0, 0.0)
    base = session.capture_site("S-0003", "occipital", "baseline", modes=("cross",))
    baseline = session.baseline_for("S-0003", "occipital")
    assert baseline is not None and baseline.capture_id == base.captures[0].capture_id
    rng = np.random.default_rng(7)
    for _ in range(3):
        x, y = rng.uniform(-2.0, 2.0, 2)
        rot = rng.uniform(-10.0, 10.0)
        twin.place(float(x), float(y), float(rot))
        first = session.guidance(baseline)
        assert "mm" in first.text or "deg" in first.text

        def follow(g: Any) -> None:
            # A technician follows roughly: 80 % of the move, a little hand jitter.
            twin.nudge(
                0.8 * g.dx_mm + rng.normal(0, 0.03),
                0.8 * g.dy_mm + rng.normal(0, 0.03),
                0.8 * g.drot_deg,
            )

        g, rounds = session.relocate(baseline, follow)
        assert g.converged and rounds <= session.cfg.relocation.max_rounds
        px, py, pr = twin.pose
        assert abs(px) < 0.1 and abs(py) < 0.1 and abs(pr) < 1.0
    twin.place(0.0, 0.0, 0.0)


def test_full_disk_refuses_the_capture_and_leaves_nothing(
    calibrated: tuple[Rig, CaptureSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = calibrated
    folder = session.store.folder_for("S-0004", "vertex", "baseline")
    real_write = os.write

    def enospc(fd: int, data: Any) -> int:
        if len(data) > 1000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr("dermocap.fsutil.os.write", enospc)
    with pytest.raises(DiskFullError, match="disk full"):
        session.capture_site("S-0004", "vertex", "baseline", modes=("cross",))
    assert not folder.exists() or list(folder.iterdir()) == []


def test_kill_during_write_leaves_no_partial_file(
    calibrated: tuple[Rig, CaptureSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = calibrated

    class Killed(BaseException):
        pass

    def killed(fd: int, data: Any) -> int:
        raise Killed

    monkeypatch.setattr("dermocap.fsutil.os.write", killed)
    with pytest.raises(Killed):
        session.capture_site("S-0005", "vertex", "baseline", modes=("cross",))
    monkeypatch.undo()
    folder = session.store.folder_for("S-0005", "vertex", "baseline")
    # Only the temp file remains, never a file under a capture's name...
    assert [p for p in folder.iterdir() if not p.name.startswith(".tmp-")] == []
    # ...and the next start sweeps it away.
    from capture.storage import CaptureStore

    CaptureStore(session.store.root, session.cfg)
    assert list(folder.iterdir()) == []


def test_budget_refuses_before_writing(calibrated: tuple[Rig, CaptureSession]) -> None:
    _, session = calibrated
    old = session.store.cfg
    session.store.cfg = old.model_copy(update={"min_free_mb": 100_000})
    try:
        with pytest.raises(DiskFullError, match="free"):
            session.capture_site("S-0006", "vertex", "baseline", modes=("cross",))
    finally:
        session.store.cfg = old


def test_the_disk_budget_counts_writes_and_looks_again_before_refusing(tmp_path: Any) -> None:
    from capture.config import CaptureConfig
    from capture.storage import CaptureStore

    store = CaptureStore(tmp_path, CaptureConfig(disk_budget_mb=10))
    noise = np.random.default_rng(0).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)

    def write(i: int) -> Any:
        rec = CaptureRecord(
            capture_id=f"c{i}",
            captured_at="2026-01-01T00:00:00Z",
            subject="S-0001",
            site="vertex",
            visit="baseline",
            lighting_mode="cross",
            um_per_px=5.0,
        )
        return store.write_capture(rec, noise).image_path(store.captures_dir)

    first = write(0)  # incompressible: MBs of JPEG
    fits = int(10_000_000 // (first.stat().st_size + 64_000))
    assert 2 <= fits < 10
    for i in range(1, fits):
        write(i)
    with pytest.raises(DiskFullError, match="budget"):
        write(99)  # the running total (no walk of the tree) says it would not fit
    first.unlink()  # removed behind the store's back (a cancelled capture)
    write(100)  # the tree is walked again before refusing: it fits now


# -- the burst: the kept frame's work starts before the burst ends -----------------------------
def _burst_frames(blurs: list[float]) -> list[Any]:
    from capture.camera import Frame, FrameMetadata
    from sim.optics import gaussian_blur

    rng = np.random.default_rng(7)
    base = rng.uniform(0.1, 0.9, (120, 160, 3)).astype(np.float32)
    out = []
    for i, sigma in enumerate(blurs):
        img = gaussian_blur(base, sigma) if sigma else base
        px = np.clip(img * 255 + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        md = FrameMetadata(6000, 1.5, (1.0, 1.0), None, i, 33_333)
        out.append(Frame(px, md, i))
    return out


@pytest.mark.parametrize(
    "blurs",
    [
        [3.0, 0.0, 1.5],  # the lead changes at the second frame
        [0.0, 3.0, 2.0],  # the first frame leads throughout
        [3.0, 2.0, 0.0],  # the last frame overtakes: its work starts after the burst
    ],
)
def test_burst_keeps_the_sharpest_frame_whatever_was_started_early(blurs: list[float]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from capture.burst import Burst
    from capture.config import QCConfig
    from capture.qc import FrameMeasures, frame_checks, measure_light, measure_sharpness, motion_px

    cfg = QCConfig()
    frames = _burst_frames(blurs)
    started: list[int] = []

    def image(px: Any) -> tuple[Any, bytes]:
        started.append(next(i for i, f in enumerate(frames) if f.array is px))
        return px, bytes([started[-1]])

    def checks(px: Any, noise: Any) -> Any:
        return frame_checks(px, noise, cfg=cfg)

    with ThreadPoolExecutor(2) as pool:
        burst = Burst(pool, len(frames), checks, image)
        for f in frames:
            burst.add(f)
            burst.measuring[-1].result()  # each frame measured before the next (a slow sensor)
        k, kept, measures, checked, final = burst.settle()
        expect = []
        for i, f in enumerate(frames):
            sharp, noise = measure_sharpness(f.array, partner=frames[0].array if i == 1 else None)
            expect.append(FrameMeasures(sharp, *measure_light(f.array), noise))
        k_expect = int(np.argmax([m.sharpness for m in expect]))
        assert k == k_expect == int(np.argmin(blurs))
        assert kept is frames[k]
        assert final.result() == (frames[k].array, bytes([k]))
        # The focus check subtracts the noise of the burst's first two frames.
        assert checked.result() == frame_checks(frames[k].array, expect[1].noise, cfg=cfg)
        assert [m.mean_brightness for m in measures] == pytest.approx(
            [m.mean_brightness for m in expect]
        )
        assert burst.frames == [None] * len(frames)  # no pixels held past the burst
        # Each frame's shift from the one before was measured as it arrived.
        assert measures[0].motion_px is None
        for i in range(1, len(frames)):
            want = motion_px(expect[i - 1].motion_spectrum, expect[i].motion_spectrum)
            assert measures[i].motion_px == pytest.approx(want)
    # The leader after two frames was started on before the third arrived.
    lead2 = int(np.argmin(blurs[:2]))
    assert started[0] == lead2
    assert started[-1] == k


def test_a_settled_burst_frees_its_images_without_the_cycle_collector() -> None:
    """Once the caller lets go of what settle() returned, the final image and the frames'
    spectra are freed by reference counting: a burst whose futures hold it in their done
    callbacks used to keep them until Python's cycle collector ran (into the next site)."""
    import gc
    import weakref
    from concurrent.futures import ThreadPoolExecutor

    from capture.burst import Burst
    from capture.config import QCConfig
    from capture.qc import frame_checks

    cfg = QCConfig()
    frames = _burst_frames([3.0, 0.0, 1.5])
    made: list[weakref.ref[Any]] = []

    def image(px: Any) -> tuple[Any, bytes]:
        out = px.copy()  # a new array, as the flat-field division makes
        made.append(weakref.ref(out))
        return out, b"jpeg"

    def checks(px: Any, noise: Any) -> Any:
        return frame_checks(px, noise, cfg=cfg)

    gc.collect()
    gc.disable()
    try:
        with ThreadPoolExecutor(2) as pool:
            burst = Burst(pool, len(frames), checks, image)
            for f in frames:
                burst.add(f)
            settled = burst.settle()
            spectra = [weakref.ref(m.motion_spectrum) for m in settled[2]]
            settled[4].result()
            with pytest.raises(RuntimeError, match="settled already"):
                burst.settle()
        assert made and all(r() is not None for r in made[-1:])
        del burst, settled, f, frames
        assert all(r() is None for r in made), "a final image outlived its burst"
        assert all(r() is None for r in spectra), "a frame's spectrum outlived its burst"
    finally:
        gc.enable()


def test_a_site_that_fails_after_its_first_mode_leaves_nothing_stored(
    calibrated: tuple[Rig, CaptureSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dermocap.errors import CameraTimeout

    rig, session = calibrated
    camera = rig.camera
    assert isinstance(camera, TwinCamera)
    real_set, real_capture = rig.lighting.set, camera.capture
    parallel_frames = [-1]

    def set_mode(mode: Any, intensity: float) -> None:
        real_set(mode, intensity)
        if mode == "parallel":
            parallel_frames[0] = 0

    def capture(**kw: Any) -> Any:
        if parallel_frames[0] >= 0:
            parallel_frames[0] += 1
            if parallel_frames[0] == 2:  # after the parallel mode's first frame, when the
                camera.stall_next = 100  # cross-polarised mode is settled and stored
        return real_capture(**kw)

    monkeypatch.setattr(rig.lighting, "set", set_mode)
    monkeypatch.setattr(camera, "capture", capture)
    written: list[Any] = []
    real_write = session.store.write_capture

    def write(*a: Any, **kw: Any) -> Any:
        written.append(real_write(*a, **kw))
        return written[-1]

    monkeypatch.setattr(session.store, "write_capture", write)
    folder = session.store.folder_for("S-0005", "vertex", "baseline")
    try:
        with pytest.raises(CameraTimeout):
            session.capture_site("S-0005", "vertex", "baseline")
    finally:
        camera.stall_next = 0
    assert len(written) == 1  # the cross-polarised mode was stored, then removed:
    # a half site would be analysed as a whole one by a restart's recovery.
    assert not folder.exists() or list(folder.iterdir()) == []
    assert session.store.find_captures("S-0005", "vertex") == []
