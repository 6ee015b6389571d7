"""The packaged hair model: SHA-256 checks, clear errors, and accuracy on a twin render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dermocap.errors import ImageError, ModelError
from inference import HairModel, InferenceConfig, packaged_models_dir, render_overlay
from inference.manifest import MANIFEST_NAME, read_manifest, sha256_file
from inference.postprocess import F32
from inference.runtime import FunctionRuntime
from sim.config import SimConfig
from sim.tools import RenderRequest, render_capture

# The rig's scale, a quarter of its field of view (renders 4x faster than a full frame).
HALF = RenderRequest(seed=4242, width=1014, height=760, nominal_um_per_px=5.1667, noise_seed=5)


@pytest.fixture(scope="module")
def model() -> HairModel:
    return HairModel.load("fp32", threads=2)


@pytest.fixture(scope="module")
def capture() -> tuple[np.ndarray, dict[str, Any]]:
    return render_capture(SimConfig(), HALF)


def test_packaged_models_are_small_and_match_the_manifest() -> None:
    folder = packaged_models_dir()
    man = read_manifest(folder / MANIFEST_NAME)
    assert set(man.models) == {"int8", "fp32"}
    for entry in man.models.values():
        path = folder / entry.file
        assert path.stat().st_size < 2_000_000
        assert sha256_file(path) == entry.sha256


def test_load_reports_the_verified_checksum(model: HairModel) -> None:
    man = read_manifest(packaged_models_dir() / MANIFEST_NAME)
    assert model.info.sha256 == man.models["fp32"].sha256
    assert model.info.native_um_per_px == man.native_um_per_px
    cfg = InferenceConfig(model="int8", threads=1, tile_px=512)
    with HairModel.from_config(cfg) as m8:
        assert m8.info.sha256 == man.models["int8"].sha256
        assert m8.tile_px == 512


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(packaged_models_dir(), folder)
    return folder


def test_a_changed_model_file_is_refused_by_name(models_copy: Path) -> None:
    f = models_copy / "hair_density_int8.onnx"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"hair_density_int8\.onnx.*SHA-256"):
        HairModel.load("int8", models_dir=models_copy)


def test_a_model_that_miscounts_its_check_image_is_refused(models_copy: Path) -> None:
    # The manifest holds FP32's answer on golden.png; an INT8 file whose kernels go wrong on
    # this CPU (8-bit weights on AVX2 read 19 % more hairs on it) must not load.
    man = json.loads((models_copy / MANIFEST_NAME).read_text())
    golden = man["golden"]
    assert (models_copy / golden["file"]).is_file()
    want = golden["map_sums"][0] + golden["map_sums"][1]
    assert want > 10  # dense enough that 10 % is a hair or more (2.1.0: 15.3 hairs)
    for variant in ("int8", "fp32"):  # the shipped files pass their own check
        HairModel.load(variant, models_dir=models_copy).close()
    man["golden"]["map_sums"] = [v * 1.2 for v in golden["map_sums"]]
    (models_copy / MANIFEST_NAME).write_text(json.dumps(man))
    with pytest.raises(ModelError, match=r"check image.*fp32"):
        HairModel.load("int8", models_dir=models_copy)


def test_an_altered_check_image_is_refused(models_copy: Path) -> None:
    golden = models_copy / read_manifest(models_copy / MANIFEST_NAME).golden.file  # type: ignore[union-attr]
    golden.write_bytes(golden.read_bytes() + b"x")
    with pytest.raises(ModelError, match="altered"):
        HairModel.load("int8", models_dir=models_copy)


def test_a_missing_model_file_or_manifest_is_refused(models_copy: Path, tmp_path: Path) -> None:
    (models_copy / "hair_density_fp32.onnx").unlink()
    with pytest.raises(ModelError, match=r"hair_density_fp32\.onnx is missing"):
        HairModel.load("fp32", models_dir=models_copy)
    with pytest.raises(ModelError, match="manifest"):
        HairModel.load("int8", models_dir=tmp_path / "nowhere")
    with pytest.raises(ModelError, match=r"nope\.onnx not found"):
        HairModel.load(str(tmp_path / "nope.onnx"))


def test_a_corrupt_onnx_file_is_refused_even_with_a_matching_checksum(models_copy: Path) -> None:
    f = models_copy / "hair_density_int8.onnx"
    f.write_bytes(b"not an onnx model at all")
    man = json.loads((models_copy / MANIFEST_NAME).read_text())
    man["models"]["int8"]["sha256"] = sha256_file(f)
    (models_copy / MANIFEST_NAME).write_text(json.dumps(man))
    with pytest.raises(ModelError, match=r"hair_density_int8\.onnx could not be loaded"):
        HairModel.load("int8", models_dir=models_copy)


def test_density_on_a_twin_render_is_close_to_truth(
    model: HairModel, capture: tuple[np.ndarray, dict[str, Any]]
) -> None:
    img, truth = capture
    m = model.analyze(img, truth["um_per_px"])
    assert m.area_cm2 == pytest.approx(truth["area_cm2"], rel=1e-6)
    # 2.2.0 on the twin's trichoscopy look reads this dense scalp 3.2 % low (2.1.0: 10.9 %,
    # 2.0.0: 20 %; the model card's twin MAPE is 9.7 %): bounded, not solved.
    assert m.density_per_cm2 == pytest.approx(truth["density_per_cm2"], rel=0.15)
    # Its mean diameter reads 10.6 um low here (2.1.0: 5.8): 2.2.0's diameters are unbiased
    # over the bench's twin frames (median error -0.2 um) but worse on trimmed hair (MAE 6.2
    # against 3.4 um; model card, "2.2.0"). A sanity bound, not the target (5 um).
    assert m.mean_diameter_um == pytest.approx(truth["mean_diameter_um"], abs=12)
    assert abs(m.vellus_fraction - truth["vellus_fraction"]) < 0.15  # sanity; see the model card
    assert m.terminal_density_per_cm2 + m.vellus_density_per_cm2 == pytest.approx(m.density_per_cm2)
    assert sum(m.unit_shares_1_2_3_4plus) == pytest.approx(1.0)
    assert len(m.emergence_points) > 0.5 * truth["follicular_units_per_cm2"] * m.area_cm2
    assert m.model_sha256 == model.info.sha256 and m.inference_ms > 0
    over = render_overlay(img, m)
    assert over.shape == img.shape and (over != img).any()


def test_tiling_does_not_change_the_result(
    model: HairModel, capture: tuple[np.ndarray, dict[str, Any]]
) -> None:
    img, truth = capture
    one, _ = model.predict_maps(img, truth["um_per_px"])
    small = HairModel(model.runtime, model.info, tile_px=96)
    many, _ = small.predict_maps(img, truth["um_per_px"])
    assert np.allclose(one, many, atol=1e-4)


def test_maps_given_are_measured_without_running_the_network_again(
    model: HairModel, capture: tuple[np.ndarray, dict[str, Any]]
) -> None:
    img, truth = capture
    upp = truth["um_per_px"]
    maps = model.predict_maps(img, upp)
    runs: list[int] = []

    def counted(batch: F32) -> F32:
        runs.append(1)
        return model.runtime.run(batch)

    counting = HairModel(FunctionRuntime(counted), model.info)
    own = counting.analyze(img, upp, review_factor=None)
    assert runs  # the net ran for its own maps...
    runs.clear()
    given = counting.analyze(img, upp, review_factor=None, maps=maps)
    assert runs == []  # ...and not for the maps it was given
    timing = {"inference_ms", "total_ms", "runtime_version"}
    assert given.model_dump(exclude=timing) == own.model_dump(exclude=timing)
    assert given.inference_ms == round(maps[1], 2)
    with pytest.raises(ValueError, match="predict_maps"):
        model.analyze(img[:, :-64], upp, maps=maps)  # another frame's maps
    with pytest.raises(ValueError, match="not this model's maps"):
        model.analyze(img, upp, maps=(maps[0][:2], maps[1]))


def test_bad_images_and_scales_raise_image_error(model: HairModel) -> None:
    with pytest.raises(ImageError):
        model.analyze(np.zeros((64, 64), dtype=np.uint8), 5.0)
    with pytest.raises(ImageError):
        model.analyze(np.zeros((64, 64, 3), dtype=np.float32), 5.0)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match="calibrate"):
        model.analyze(np.zeros((64, 64, 3), dtype=np.uint8), 0.0)


def test_another_vellus_threshold_uses_the_unit_diameters(
    model: HairModel, capture: tuple[np.ndarray, dict[str, Any]]
) -> None:
    img, truth = capture
    low = model.analyze(img, truth["um_per_px"], vellus_threshold_um=5.0)
    high = model.analyze(img, truth["um_per_px"], vellus_threshold_um=150.0)
    assert low.vellus_fraction == 0.0 and high.vellus_fraction == 1.0


def test_a_files_output_gain_scales_its_counts_and_a_wild_one_is_refused(
    models_copy: Path, capture: tuple[np.ndarray, dict[str, Any]]
) -> None:
    img, truth = capture
    with HairModel.load("int8", threads=1, models_dir=models_copy) as m:
        gain = m.info.output_gain
        before = m.analyze(img, truth["um_per_px"], review_factor=None)
    man = json.loads((models_copy / MANIFEST_NAME).read_text())
    man["models"]["int8"]["output_gain"] = gain * 1.25
    (models_copy / MANIFEST_NAME).write_text(json.dumps(man))
    with HairModel.load("int8", threads=1, models_dir=models_copy) as m:
        after = m.analyze(img, truth["um_per_px"], review_factor=None)
    assert after.density_per_cm2 == pytest.approx(before.density_per_cm2 * 1.25, rel=1e-5)
    assert after.mean_diameter_um == pytest.approx(before.mean_diameter_um, rel=1e-4)
    man["models"]["int8"]["output_gain"] = 3.0
    (models_copy / MANIFEST_NAME).write_text(json.dumps(man))
    with pytest.raises(ModelError, match="output_gain"):
        HairModel.load("int8", threads=1, models_dir=models_copy)
