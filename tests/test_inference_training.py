"""Smoke test of the training recipe (scripts/train_model.py): a few steps, exported, loadable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference import HairModel
from inference.manifest import MANIFEST_NAME, Golden


@pytest.mark.slow
@pytest.mark.parametrize("body", ["plain", "separable"])
def test_a_few_training_steps_export_a_loadable_model(
    tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    from sim.model_recipe import main

    out = tmp_path / "models"
    rc = main(
        [
            "--steps",
            "3",
            "--batch",
            "2",
            "--worlds",
            "1",
            "--calib-worlds",
            "1",
            "--workers",
            "1",
            "--width",
            "8",
            "--body",
            body,
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
            "--checkpoint",
            str(tmp_path / "run.pt"),
        ]
    )
    assert rc == 0
    if body == "plain":  # a second run of other settings on that checkpoint is refused
        kept = (tmp_path / "run.pt").read_bytes()
        capsys.readouterr()
        again = ["--steps", "4", "--batch", "2", "--worlds", "1", "--workers", "1", "--width", "8"]
        again += ["--out", str(tmp_path / "other"), "--cache", str(tmp_path / "cache")]
        assert main([*again, "--checkpoint", str(tmp_path / "run.pt")]) == 2
        err = capsys.readouterr().err
        assert "run.pt was made with other settings (steps 3 -> 4), at step 3" in err
        assert "another --checkpoint (or delete it) to start afresh" in err
        assert (tmp_path / "run.pt").read_bytes() == kept
        assert not (tmp_path / "other").exists()
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["training"]["steps"] == 3
    for name in (MANIFEST_NAME, man["golden"]["file"]):  # the service's user reads them
        assert (out / name).stat().st_mode & 0o044 == 0o044, name
    assert f"--body {body}" in man["training"]["command"]
    import onnx  # the body is what was asked for: separable has depthwise convs (group > 1)

    graph = onnx.load(str(out / "hair_density_fp32.onnx")).graph
    groups = [
        a.i for n in graph.node if n.op_type == "Conv" for a in n.attribute if a.name == "group"
    ]
    assert (max(groups, default=1) > 1) == (body == "separable")
    for variant in ("int8", "fp32"):
        with HairModel.load(str(out / f"hair_density_{variant}.onnx"), threads=1) as m:
            assert m.info.sha256 == man["models"][variant]["sha256"]
            r = m.analyze(np.full((120, 160, 3), 128, dtype=np.uint8), um_per_px=8.0)
            assert r.model_name == "dermocap-hair-density"
    if body != "plain":
        return
    # --float-head remakes the INT8 file with the 1x1 head conv left in float
    int8 = out / "hair_density_int8.onnx"
    assert _head_is_quantised(int8)
    rc = main(["--quantize-only", "--float-head", "--calib-worlds", "1", "--out", str(out)])
    assert rc == 0
    assert not _head_is_quantised(int8)
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["training"]["float_head"] is True
    with HairModel.load(str(int8), threads=1) as m:
        assert m.info.sha256 == man["models"]["int8"]["sha256"]
    # An INT8 file that would fail its own load-time check is refused at build time, and
    # the folder keeps the files that load: here FP32's recorded answer is made 5 hairs off,
    # on another check image than the folder's (which must not be replaced either).
    import inference.training.export as export
    import sim.model_recipe as recipe

    real_record = export.golden_record

    def off_by_five(fp32: Path, image: np.ndarray) -> tuple[Golden, bytes]:
        g, png = real_record(fp32, image)
        return g.model_copy(update={"map_sums": (g.map_sums[0] + 5.0, *g.map_sums[1:])}), png

    monkeypatch.setattr(export, "golden_record", off_by_five)
    other = np.ascontiguousarray(recipe.golden_image()[:200, :200])
    monkeypatch.setattr(recipe, "golden_image", lambda: other)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc = main(["--quantize-only", "--calib-worlds", "1", "--out", str(out)])
    assert rc == 3
    assert "would refuse to load" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with HairModel.load(str(int8), threads=1) as m:
        assert m.info.sha256 == man["models"]["int8"]["sha256"]
    int8.unlink()  # a first build: nothing is written in its place
    assert main(["--quantize-only", "--calib-worlds", "1", "--out", str(out)]) == 3
    assert "was not written" in capsys.readouterr().err
    assert not int8.exists() and sorted(p.name for p in out.iterdir()) == sorted(
        n for n in before if n != int8.name
    )


def _head_is_quantised(path: Path) -> bool:
    """Whether the last conv of an ONNX file takes its weights through a DequantizeLinear."""
    import onnx

    graph = onnx.load(str(path)).graph
    head = [n for n in graph.node if n.op_type == "Conv"][-1]
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    return made_by.get(head.input[1]) == "DequantizeLinear"


def test_a_run_stopped_at_a_checkpoint_resumes_to_the_same_weights(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from dataclasses import replace

    from inference.targets import N_TRAIN_MAPS
    from inference.training import TrainSettings, train
    from inference.training.loop import CheckpointMismatch

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    targets = rng.random((6, N_TRAIN_MAPS, 16, 16)).astype(np.float32) * 0.05
    s = TrainSettings(steps=6, batch=2, width=8, crop_px=64, checkpoint_every=3)
    whole = train(images, targets, s)
    ckpt = tmp_path / "run.pt"
    # The first run stops after step 3 (its checkpoint); a second one resumes from there.
    seen: list[int] = []

    class Stop(Exception):
        pass

    def stop_at_3(step: int, loss: float) -> None:
        seen.append(step)
        if step == 4:
            raise Stop

    with pytest.raises(Stop):
        train(images, targets, s, checkpoint=ckpt, progress=stop_at_3)
    assert torch.load(ckpt, weights_only=True)["step"] == 3
    resumed_steps: list[int] = []
    resumed = train(
        images, targets, s, checkpoint=ckpt, progress=lambda k, _: resumed_steps.append(k)
    )
    assert resumed_steps == [4, 5, 6]
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # the same settings over other data (or frames, or another start file): never resumed,
    # and never overwritten either - the run is refused and the checkpoint stays as it was
    before = ckpt.read_bytes()
    with pytest.raises(CheckpointMismatch, match=r"started from other data.*at step 6"):
        train(images[::-1].copy(), targets[:3].repeat(2, axis=0), s, checkpoint=ckpt)
    with pytest.raises(CheckpointMismatch, match="other data"):
        train(images, targets, s, real=[(images[1], targets[1])], checkpoint=ckpt)
    # other settings: refused, naming them (a resume with the settings wanted works as before)
    with pytest.raises(CheckpointMismatch, match=r"other settings \(lr 0.001 -> 0.002\)"):
        train(images, targets, replace(s, lr=2e-3), checkpoint=ckpt)
    assert ckpt.read_bytes() == before
    # but not another thread count: it reorders float sums, the run is the same one
    ckpt2 = tmp_path / "threads.pt"
    with pytest.raises(Stop):
        train(images, targets, s, checkpoint=ckpt2, progress=stop_at_3)
    threads_steps: list[int] = []
    two = replace(s, threads=2)
    train(images, targets, two, checkpoint=ckpt2, progress=lambda k, _: threads_steps.append(k))
    assert threads_steps == [4, 5, 6]


def test_the_recipes_tile_margin_covers_the_nets_receptive_field() -> None:
    """A tile's context must reach as far as any input pixel can change an output cell."""
    torch = pytest.importorskip("torch")

    from inference.training.net import make_net
    from sim.model_recipe import MARGIN_PX, STRIDE

    torch.manual_seed(0)
    net = make_net().eval()
    # a random image: every ReLU on some path is open (at zero input all would be shut)
    x = torch.randn(1, 3, 192, 192, requires_grad=True)
    out = net(x)
    c = out.shape[-1] // 2
    out[0, :, c, c].sum().backward()
    assert x.grad is not None
    ys, xs = np.nonzero(x.grad[0].abs().sum(0).numpy())
    # how far beyond the cell's own STRIDE x STRIDE pixels its inputs reach, either side
    first, last = c * STRIDE, c * STRIDE + STRIDE - 1
    reach = max(first - ys.min(), ys.max() - last, first - xs.min(), xs.max() - last)
    assert reach == 43  # the shipped net's receptive radius (model card)
    assert reach <= MARGIN_PX and MARGIN_PX % STRIDE == 0


def test_photometric_augmentation_changes_colour_and_tone_but_keeps_the_picture() -> None:
    from inference.training.loop import photometric

    rng = np.random.default_rng(3)
    # a dark vertical bar on warm skin: where the bar is must survive any draw
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    img[:] = (200, 150, 120)
    img[:, 14:18] = (40, 30, 25)
    means, greys = [], 0
    for _ in range(200):
        out = photometric(rng, img)
        assert out.shape == img.shape and out.dtype == np.uint8
        lum = out.astype(float).mean(axis=2)
        assert lum[:, 14:18].mean() < lum[:, :10].mean() - 20  # the shaft stays darker
        means.append(out.reshape(-1, 3).mean(0))
        skin = out[:, :10].reshape(-1, 3).astype(float).mean(0)
        greys += int(np.ptp(skin) < 6)
    spread = np.std(np.array(means), axis=0)
    assert (spread > 8).all()  # every channel varies from draw to draw
    assert 5 <= greys <= 60  # now and then without colour (10 % of draws, plus chance)


def test_sensor_noise_is_grainy_noise_around_the_picture_not_a_new_picture() -> None:
    from inference.training.loop import sensor_noise

    rng = np.random.default_rng(5)
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    img[:] = (190, 150, 120)
    img[:, 30:34] = (40, 30, 25)  # a shaft
    before = img.copy()
    sigmas, grains = [], []
    for _ in range(100):
        out = sensor_noise(rng, img)
        assert out.shape == img.shape and out.dtype == np.uint8
        lum = out.astype(float).mean(axis=2)
        assert lum[:, 30:34].mean() < lum[:, :20].mean() - 60  # the shaft stays where it was
        skin = lum[:, :20] - lum[:, :20].mean()
        assert abs(lum[:, :20].mean() - img[:, :20].mean()) < 6  # noise, not a tone change
        sigmas.append(skin.std())
        # neighbouring pixels' noise is correlated where the grain is coarse
        grains.append(np.corrcoef(skin[:, :-1].ravel(), skin[:, 1:].ravel())[0, 1])
    assert max(sigmas) > 6 > min(sigmas)  # from almost none to a noisy camera's
    assert max(grains) > 0.4  # some draws grainy (1-3 px)
    assert np.array_equal(img, before)  # the crop itself is left alone


def test_tip_pits_darken_the_skin_around_a_frames_cut_tip_and_leave_its_shaft() -> None:
    """A frame crop with one dark shaft whose cut tip its tip map marks: when the tip is drawn
    among the share, the skin just beyond the tip darkens as an opening does (tint 0.55, 0.45,
    0.35 at visibility 0.3-1, opacity 0.8), the shaft's own pixels and the skin far from the
    tip keep their values, and the targets are untouched; a crop without tips is left alone."""
    from inference.targets import N_TRAIN_MAPS, TIP_MAP, density_targets
    from inference.training.loop import tip_pits

    img = np.zeros((96, 96, 3), dtype=np.uint8)
    img[:] = (190, 150, 120)
    img[45:51, 10:50] = (40, 30, 25)  # a shaft along x, its cut tip at (49.5, 48)
    tgt = np.zeros((N_TRAIN_MAPS, 24, 24), dtype=np.float32)
    tgt[TIP_MAP] = density_targets(np.array([49.5]), np.array([48.0]), np.zeros(1), 96, 96, 4)[1]
    before_img, before_tgt = img.copy(), tgt.copy()
    pitted = 0
    for seed in range(40):
        out = tip_pits(np.random.default_rng(seed), img, tgt, 4)
        assert out.shape == img.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[45:51, 10:48], img[45:51, 10:48])  # the shaft
        np.testing.assert_array_equal(out[:, 70:], img[:, 70:])  # skin beyond any pit's reach
        np.testing.assert_array_equal(out[:30], img[:30])
        beyond = out[48, 52].astype(float) / img[48, 52]  # 2.5 px past the tip, inside a pit
        if (beyond < 0.99).any():
            pitted += 1
            # darker most in blue, as the opening's warm tint: 1 - 0.8 * vis * (1 - tint)
            assert beyond[2] < beyond[1] < beyond[0] < 0.9
            assert beyond[2] > 1.0 - 0.8 * (1.0 - 0.35) - 0.01
    assert 10 <= pitted <= 38  # a share of 30-100 % of the tips: most draws, not all
    np.testing.assert_array_equal(img, before_img)
    np.testing.assert_array_equal(tgt, before_tgt)
    bare = np.zeros_like(tgt)
    np.testing.assert_array_equal(tip_pits(np.random.default_rng(0), img, bare, 4), img)


def test_weight_averaging_returns_the_mean_of_the_last_steps_and_resumes(tmp_path: Path) -> None:
    """average_from 0.5 over 6 steps: the run returns the mean of the weights after steps 4, 5
    and 6 of the same trajectory (averaging draws nothing), and a run stopped inside the
    average resumes to the same mean. From scratch it is refused (BatchNorm would need new
    statistics)."""
    torch = pytest.importorskip("torch")
    from inference.model import packaged_models_dir
    from inference.targets import N_TRAIN_MAPS
    from inference.training import TrainSettings, train

    start = packaged_models_dir() / "hair_density_fp32.onnx"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    targets = rng.random((6, N_TRAIN_MAPS, 16, 16)).astype(np.float32) * 0.05
    plain = TrainSettings(steps=6, batch=2, crop_px=64, checkpoint_every=1, lr=1e-2)
    ckpt = tmp_path / "plain.pt"
    after: dict[int, dict[str, Any]] = {}

    def keep(step: int, _loss: float) -> None:  # the checkpoint holds the step before
        if step > 1:
            after[step - 1] = torch.load(ckpt, weights_only=True)["net"]

    last = train(images, targets, plain, init_onnx=start, checkpoint=ckpt, progress=keep)
    after[6] = last.state_dict()
    averaged = TrainSettings(**{**plain.__dict__, "average_from": 0.5})
    got = train(images, targets, averaged, init_onnx=start).state_dict()
    moved = 0
    for k, v in got.items():
        if not v.is_floating_point():
            continue
        want = sum(after[j][k].double() for j in (4, 5, 6)) / 3
        assert torch.allclose(v.double(), want, atol=1e-6), k
        moved += int(not torch.allclose(after[6][k], after[4][k]))
    assert moved > 0  # the steps being averaged did differ

    class Stop(Exception):
        pass

    def stop_at_5(step: int, _loss: float) -> None:
        if step == 6:
            raise Stop

    ckpt2 = tmp_path / "averaged.pt"
    with pytest.raises(Stop):
        train(images, targets, averaged, init_onnx=start, checkpoint=ckpt2, progress=stop_at_5)
    assert torch.load(ckpt2, weights_only=True)["averaged"] == 2
    resumed = train(images, targets, averaged, init_onnx=start, checkpoint=ckpt2).state_dict()
    for k, v in got.items():
        assert torch.allclose(v, resumed[k], atol=1e-7), k
    with pytest.raises(ValueError, match="needs a start file"):
        train(images, targets, averaged)


def test_a_checkpoint_from_before_a_new_setting_still_resumes() -> None:
    from dataclasses import asdict

    from inference.training.loop import TrainSettings, _other_settings

    s = TrainSettings(steps=10)
    old = asdict(s)
    del old["photometric"]  # saved before the setting existed: it ran at the default
    assert not _other_settings(old, s)
    assert _other_settings(old, TrainSettings(steps=10, photometric=0.5))
    assert _other_settings(asdict(TrainSettings(steps=11)), s)
    # how the run goes, not what it learns: the same run
    assert not _other_settings(asdict(TrainSettings(steps=10, threads=2, checkpoint_every=50)), s)


def test_the_recipe_refuses_a_photometric_share_outside_0_to_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("torch")  # the recipe's options come with the train extra
    from sim.model_recipe import main

    with pytest.raises(SystemExit) as exc:
        main(["--photometric", "1.5"])
    assert exc.value.code == 2
    assert "share of crops, 0 to 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--count-weight", "-1"], "a weight, 0 or more"),
        (["--fit-count-gain", "--quantize-only"], "leave out --quantize-only"),
        (["--fit-count-gain", "frames", "--quantize-only"], "leave out --quantize-only"),
        (["--fit-count-gain", "frames", "--gain-frames", "0"], "1 or more (got 0)"),
        (["--regrow-share", "1.5"], "a share of scalps, 0 to 1 (got 1.5)"),
        (["--curl-share", "-0.1"], "--curl-share is a share of scalps, 0 to 1 (got -0.1)"),
        (["--pair-weight", "-2"], "--pair-weight is a weight, 0 or more (got -2)"),
        (["--pair-share", "0"], "over 0 and up to 1 (got 0)"),
        (["--pair-weight", "1", "--pair-worlds", "0"], "1 or more (got 0 and 0)"),
        (["--pair-visible"], "give --pair-weight too"),
        (["--style-pair-worlds", "3"], "give --pair-weight too"),
        (["--pair-weight", "1", "--pair-worlds", "-1"], "numbers of scalps, 0 or more"),
        (["--frame-tip-pits", "1.5"], "--frame-tip-pits is a share of crops, 0 to 1 (got 1.5)"),
        (["--frame-tip-pits", "0.5"], "give --frame-tips"),
        (["--fit-diameter-gain"], "give --fit-count-gain frames"),
        (["--fit-diameter-gain", "--fit-count-gain", "crops"], "give --fit-count-gain frames"),
        (["--blend", "0"], "over 0 and up to 1 (got 0)"),
        (["--blend", "1.5"], "over 0 and up to 1 (got 1.5)"),
        (["--blend", "0.5"], "give --init-onnx and train"),
        (["--blend-with", "x.onnx"], "give --blend under 1"),
        (
            [
                "--blend",
                "0.5",
                "--init-onnx",
                "inference/models/hair_density_fp32.onnx",
                "--blend-with",
                "no/such.onnx",
            ],
            "--blend-with no/such.onnx: no such file",
        ),
        (["--calib-real", "-1"], "a number of crops, 0 or more (got -1)"),
        (["--calib-real", "80"], "give --real-dir too"),
    ],
)
def test_the_recipe_refuses_count_options_that_would_do_nothing_or_harm(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from sim.model_recipe import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert says in capsys.readouterr().err


def test_calibration_takes_crops_of_the_training_frames_when_asked() -> None:
    """``--calib-real N`` adds N crops of the given frames to the twin's calibration crops,
    the same ones on every run (the INT8 file must be rebuildable)."""
    from sim.dataset import Recipe
    from sim.model_recipe import CROP_PX, NATIVE_UM_PER_PX, STRIDE, calibration_inputs

    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)
    real = [(frame, np.zeros((5, 300 // STRIDE, 260 // STRIDE), dtype=np.float32))]
    recipe = Recipe(NATIVE_UM_PER_PX, STRIDE, CROP_PX, 1, 0)
    crops = calibration_inputs(recipe, 0, real, 6)
    assert len(crops) == 6
    assert all(c.shape == (1, 3, CROP_PX, CROP_PX) and c.dtype == np.float32 for c in crops)
    again = calibration_inputs(recipe, 0, real, 6)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    assert len({c.tobytes() for c in crops}) > 1  # crops from several places of the frame
    assert calibration_inputs(recipe, 0, real, 0) == []
    with pytest.raises(ValueError, match="no frames given"):
        calibration_inputs(recipe, 0, None, 3)


def test_the_recipe_refuses_a_gpu_it_does_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device cuda is taken")
    from sim.model_recipe import main

    with pytest.raises(SystemExit) as exc:
        main(["--device", "cuda", "--steps", "1"])
    assert exc.value.code == 2
    assert "torch sees no GPU here; train with --device cpu" in capsys.readouterr().err


def test_the_aux_maps_are_priced_per_sample_and_map_as_the_mask_says() -> None:
    """A generator frame lists its cut tips but not its shafts (--frame-tips): its tip map is
    trained and its shaft map is not; one weight per sample still means both maps."""
    torch = pytest.importorskip("torch")
    from inference.targets import N_TRAIN_MAPS, SHAFT_MAP, TIP_MAP
    from inference.training.loop import TrainSettings, loss_terms

    y = torch.zeros(2, N_TRAIN_MAPS, 12, 12)
    tip_err, shaft_err = torch.zeros_like(y), torch.zeros_like(y)
    tip_err[:, TIP_MAP] = 1.0
    shaft_err[:, SHAFT_MAP] = 1.0
    s = TrainSettings()

    def cost(pred: object, mask: list[object]) -> float:
        return float(loss_terms(pred, y, torch.tensor(mask), s).item())

    assert cost(tip_err, [1.0, 1.0]) == pytest.approx(cost(tip_err, [(1.0, 1.0), (1.0, 1.0)]))
    assert cost(tip_err, [0.0, 0.0]) == cost(tip_err, [(0.0, 0.0), (0.0, 0.0)]) == 0.0
    assert cost(tip_err, [(1.0, 0.0), (1.0, 0.0)]) == pytest.approx(cost(tip_err, [1.0, 1.0]))
    assert cost(shaft_err, [(1.0, 0.0), (1.0, 0.0)]) == 0.0
    assert cost(shaft_err, [(0.0, 1.0), (1.0, 0.0)]) == pytest.approx(
        cost(shaft_err, [1.0, 1.0]) / 2
    )


def test_frame_tips_need_frames(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.model_recipe import main

    with pytest.raises(SystemExit) as exc:
        main(["--frame-tips", "--steps", "1"])
    assert exc.value.code == 2
    assert "--frame-tips trains on the cut tips --real-dir's frames list" in capsys.readouterr().err


def test_the_count_term_prices_an_even_excess_that_the_cell_terms_barely_see() -> None:
    """0.0002 hairs in every cell of bare skin is ~20 hairs/cm2 read: the per-cell and block
    MSE terms cost almost nothing for it, the count term costs the crop's whole excess."""
    torch = pytest.importorskip("torch")
    from inference.targets import N_TRAIN_MAPS
    from inference.training.loop import TARGET_GAIN, TrainSettings, loss_terms

    cells = 44
    y = torch.zeros(2, N_TRAIN_MAPS, cells, cells)  # two bare crops
    excess = torch.zeros_like(y)
    excess[:, 0] = 0.0002 * TARGET_GAIN  # gained units, as the net predicts them
    excess.requires_grad_(True)
    mask = torch.ones(2)
    plain = loss_terms(excess, y, mask, TrainSettings())
    counted = loss_terms(excess, y, mask, TrainSettings(count_weight=1.0))
    read = 0.0002 * cells * cells  # hairs read on each crop
    assert plain.item() < 1e-3
    assert (counted - plain).item() == pytest.approx(read**2, rel=1e-4)
    # Its pull is shared by every cell of the count maps alike, the vellus map's as much
    # as the terminal one's, and is far stronger than the cell terms' own.
    (extra,) = torch.autograd.grad(counted - plain, excess, retain_graph=True)
    (cell,) = torch.autograd.grad(plain, excess)
    assert torch.allclose(extra[:, 0], extra[0, 0, 0, 0]) and extra[0, 0, 0, 0].item() > 0
    assert torch.equal(extra[:, 0], extra[:, 1])
    assert extra[:, 2:].abs().max().item() == 0.0  # diameters and the aux maps are not counts
    assert extra[0, 0, 0, 0].item() > 10 * cell[0, 0, 0, 0].item()
    # A crop that reads its true count costs nothing more, however its cells disagree.
    y2 = torch.zeros(1, N_TRAIN_MAPS, cells, cells)
    y2[0, 0, 10, 10] = 3 * TARGET_GAIN
    p2 = torch.zeros_like(y2)
    p2[0, 1, 30, 30] = 3 * TARGET_GAIN
    s = TrainSettings(count_weight=1.0)
    assert loss_terms(p2, y2, torch.ones(1), s).item() == pytest.approx(
        loss_terms(p2, y2, torch.ones(1), TrainSettings()).item()
    )


@pytest.mark.parametrize(
    ("norm", "bare", "dense"),
    [("square", 0.25, 4.0), ("abs", 0.5, 2.0), ("relative", 0.5, 2.0 / 11.0)],
)
def test_each_count_norm_prices_a_crops_miss_as_documented(
    norm: str, bare: float, dense: float
) -> None:
    """A bare crop read as 0.5 hairs, and a crop of 10 hairs read as 12."""
    torch = pytest.importorskip("torch")
    from inference.targets import N_TRAIN_MAPS
    from inference.training.loop import TARGET_GAIN, TrainSettings, loss_terms

    def extra(true: float, read: float) -> float:
        y = torch.zeros(1, N_TRAIN_MAPS, 8, 8)
        y[0, 0, 2, 2] = true * TARGET_GAIN
        p = torch.zeros_like(y)
        p[0, 0, 2, 2] = read * TARGET_GAIN
        mask = torch.ones(1)
        s = TrainSettings(count_weight=1.0, count_norm=norm)
        return (loss_terms(p, y, mask, s) - loss_terms(p, y, mask, TrainSettings())).item()

    assert extra(0.0, 0.5) == pytest.approx(bare, rel=1e-4)  # float32 sums
    assert extra(10.0, 12.0) == pytest.approx(dense, rel=1e-4)


def test_a_fitted_count_gain_makes_the_crops_read_their_truth_and_leaves_diameters() -> None:
    torch = pytest.importorskip("torch")
    from inference.preprocess import normalise
    from inference.targets import N_TRAIN_MAPS
    from inference.training.loop import count_ratio, scale_counts
    from inference.training.net import make_net

    torch.manual_seed(0)
    net = make_net(8).eval()
    with torch.no_grad():
        net.head.bias[:3] = 50.0  # an even excess, as an untrained net might read
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    targets = np.zeros((6, N_TRAIN_MAPS, 16, 16), dtype=np.float32)
    targets[:, 0, 5:11, 5:11] = 0.01  # 0.36 hairs in each crop's interior
    x = torch.from_numpy(np.stack([normalise(im) for im in images]))
    before = net(x).detach()
    ratio = count_ratio(net, images, targets, margin_cells=4, batch=4)
    assert ratio > 1.5
    scale_counts(net, 1 / ratio)
    assert count_ratio(net, images, targets, margin_cells=4) == pytest.approx(1.0, rel=1e-4)
    after = net(x).detach()
    assert torch.allclose(after[:, :2], before[:, :2] / ratio, rtol=1e-4, atol=1e-3)
    assert torch.equal(after[:, 2:], before[:, 2:])  # diameters and the aux maps
    with pytest.raises(ValueError, match="nothing of the crops"):
        count_ratio(net, images, targets, margin_cells=8)
    with pytest.raises(ValueError, match="no hairs"):
        count_ratio(net, images, np.zeros_like(targets), margin_cells=4)


def test_a_blend_lies_between_the_fine_tune_and_the_file_it_started_from() -> None:
    torch = pytest.importorskip("torch")
    from inference.model import packaged_models_dir
    from inference.targets import N_MAPS
    from inference.training.loop import TARGET_GAIN
    from inference.training.net import blend_with_onnx, load_onnx_weights, make_net

    start = packaged_models_dir() / "hair_density_fp32.onnx"
    torch.manual_seed(0)
    net = make_net().eval()
    load_onnx_weights(net, start, head_gain=TARGET_GAIN)
    loaded = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():  # a fine-tune's drift, on every trained tensor and the aux maps
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    tuned = {k: v.clone() for k, v in net.state_dict().items()}
    blend_with_onnx(net, start, 0.25, head_gain=TARGET_GAIN)
    mixed = net.state_dict()
    n_file = N_MAPS  # the file's head maps; the training-only maps beyond stay the fine-tune's
    for k, v in mixed.items():
        if not v.is_floating_point():  # BatchNorm's batch counters
            assert torch.equal(v, tuned[k]), k
            continue
        want = 0.25 * tuned[k] + 0.75 * loaded[k]
        if k.startswith("head."):
            assert torch.allclose(v[:n_file], want[:n_file], atol=1e-5), k
            assert torch.equal(v[n_file:], tuned[k][n_file:]), k
        else:
            assert torch.allclose(v, want, atol=1e-5), k
    assert not torch.equal(mixed["head.weight"], tuned["head.weight"])
    with pytest.raises(ValueError, match="must be in"):
        blend_with_onnx(net, start, 1.5)


def test_a_soup_of_several_files_mixes_in_their_mean(tmp_path: Path) -> None:
    """--blend-with F1 F2: the partner is the mean of the files, so --blend 1/3 with two files
    is the uniform soup of three nets; a file's weights land where the net's name them."""
    torch = pytest.importorskip("torch")
    from inference.model import packaged_models_dir
    from inference.targets import N_MAPS
    from inference.training import ExportSettings, export_fp32
    from inference.training.loop import TARGET_GAIN
    from inference.training.net import blend_with_onnx, load_onnx_weights, make_net

    start = packaged_models_dir() / "hair_density_fp32.onnx"

    def drifted(seed: int) -> Any:
        torch.manual_seed(seed)
        net = make_net().eval()
        load_onnx_weights(net, start, head_gain=TARGET_GAIN)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.1 * torch.randn_like(p))
        return net

    settings = ExportSettings("soup-test", "0.0.0", 8.0, 4, 44)
    files, states = [], []
    for seed in (1, 2):
        files.append(export_fp32(drifted(seed), tmp_path / f"f{seed}", settings))
        back = make_net().eval()
        load_onnx_weights(back, files[-1], head_gain=TARGET_GAIN)  # as the file reads back
        states.append({k: v.clone() for k, v in back.state_dict().items()})
    net = drifted(3)
    tuned = {k: v.clone() for k, v in net.state_dict().items()}
    blend_with_onnx(net, files, 1 / 3, head_gain=TARGET_GAIN)
    for k, v in net.state_dict().items():
        if not v.is_floating_point():
            continue
        want = (tuned[k] + states[0][k] + states[1][k]) / 3
        if k.startswith("head."):  # the training-only maps beyond the file's stay the net's
            assert torch.allclose(v[:N_MAPS], want[:N_MAPS], atol=1e-5), k
            assert torch.allclose(v[N_MAPS:], tuned[k][N_MAPS:], atol=1e-6), k
        else:
            assert torch.allclose(v, want, atol=1e-5), k
    with pytest.raises(ValueError, match="no file"):
        blend_with_onnx(net, [], 0.5)


def test_a_wider_net_started_from_the_file_computes_the_files_maps() -> None:
    """Net2Net widening: the file's channels first, the new ones fed but feeding nothing, so a
    width-48 net reads exactly what the width-40 file reads, and can still learn (the new
    channels' outgoing weights get gradient). A file wider than the net is refused."""
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    from inference.model import packaged_models_dir
    from inference.targets import N_MAPS
    from inference.training.net import freeze_batchnorm, load_onnx_weights, make_net

    start = packaged_models_dir() / "hair_density_fp32.onnx"
    torch.manual_seed(0)
    wide = make_net(48)
    load_onnx_weights(wide, start)
    freeze_batchnorm(wide)
    x = np.random.default_rng(3).uniform(-1.0, 1.0, (1, 3, 96, 128)).astype(np.float32)
    sess = ort.InferenceSession(str(start), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got = wide.eval()(torch.from_numpy(x))[:, :N_MAPS].numpy()
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    assert scale > 1e-3  # the maps say something
    np.testing.assert_allclose(got, want, atol=1e-4 * scale)
    wide.train()
    freeze_batchnorm(wide)
    wide(torch.from_numpy(x))[:, :N_MAPS].sum().backward()
    out_new = wide.body[3].weight.grad[:, 20:]  # the second conv, from the stem's new channels
    assert out_new.abs().sum() > 0
    narrow = make_net(32)
    with pytest.raises(ValueError, match="same or fewer channels"):
        load_onnx_weights(narrow, start)


def test_mixstyle_mixes_two_crops_statistics_in_training_and_is_gone_in_eval() -> None:
    """A MixStyle net started from the file reads exactly what the file reads in eval mode
    (nothing of it is exported), and in training each crop's stem features take channel
    means between its own and another crop's (two crops: between the two)."""
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    from inference.model import packaged_models_dir
    from inference.targets import N_MAPS
    from inference.training.net import freeze_batchnorm, load_onnx_weights, make_net

    start = packaged_models_dir() / "hair_density_fp32.onnx"
    torch.manual_seed(0)
    net = make_net(mixstyle=1.0)
    load_onnx_weights(net, start)
    freeze_batchnorm(net)
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.0, 1.0, (2, 3, 64, 64)).astype(np.float32)
    x[1] = x[1] * 0.3 + 0.8  # another tone: other feature statistics
    sess = ort.InferenceSession(str(start), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got = net.eval()(torch.from_numpy(x))[:, :N_MAPS].numpy()
    np.testing.assert_allclose(got, want, atol=1e-4 * float(np.abs(want).max()))
    net.train()
    freeze_batchnorm(net)
    stem, mix = net.body[:3], net.body[3]
    assert type(mix).__name__ == "MixStyle"
    with torch.no_grad():
        plain = stem(torch.from_numpy(x))
        mixed = mix(plain)
    mu, mu_mixed = plain.mean(dim=(2, 3)), mixed.mean(dim=(2, 3))
    lo, hi = torch.minimum(mu[0], mu[1]), torch.maximum(mu[0], mu[1])
    assert bool(((mu_mixed >= lo - 1e-4) & (mu_mixed <= hi + 1e-4)).all())
    assert not torch.allclose(mixed, plain)  # Beta(0.1, 0.1) at this seed: a real mix


@pytest.mark.slow
def test_a_frames_gain_makes_the_median_twin_frame_read_its_truth() -> None:
    torch = pytest.importorskip("torch")
    from inference.training.loop import scale_counts, scale_diameters
    from inference.training.net import make_net
    from sim.model_recipe import frame_ratios, gain_frames

    torch.manual_seed(0)
    net = make_net(8).eval()
    with torch.no_grad():
        net.head.bias[:2] = 30.0  # an even excess, as an untrained net might read
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    frames = gain_frames(1)
    ((ratio, diam),) = frame_ratios(net, frames, threads=1)
    assert ratio > 1.5  # the excess reads as hairs over the whole frame
    # the net itself is not touched: the frames were read through an exported copy
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in weights.items())
    scale_counts(net, 1 / ratio)
    ((after, diam_after),) = frame_ratios(net, frames, threads=1)
    assert after == pytest.approx(1.0, rel=1e-3)
    # fewer hairs read, the same summed diameters: each mean diameter moves by the gain
    assert diam_after == pytest.approx(diam * ratio, rel=1e-3)
    assert abs(diam_after - 1.0) > 0.05  # so the diameter gain below has work to do
    scale_diameters(net, 1 / diam_after)
    ((again, diam_fitted),) = frame_ratios(net, frames, threads=1)
    assert again == pytest.approx(1.0, rel=1e-3)  # the counts stay as fitted
    assert diam_fitted == pytest.approx(1.0, rel=1e-3)


@pytest.mark.slow
def test_the_int8_gain_makes_the_int8_file_read_the_gain_frame_as_fp32_was_fitted(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    import shutil

    from inference.model import packaged_models_dir
    from sim.model_recipe import fit_int8_gain, gain_frame

    out = tmp_path / "models"
    shutil.copytree(packaged_models_dir(), out)
    img, upp, density, diameter = gain_frame(0)
    with HairModel.load("int8", threads=1, models_dir=out) as m:
        before = m.analyze(img, upp, review_factor=None)
    gain = fit_int8_gain(out, [(img, upp, density, diameter)], threads=1)
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["models"]["int8"]["output_gain"] == pytest.approx(gain, abs=1e-6)
    # packaged 2.2.0 already has a gain: the fit is over it, not instead of it
    old = json.loads((packaged_models_dir() / MANIFEST_NAME).read_text())["models"]["int8"]
    assert gain == pytest.approx(old["output_gain"] * density / before.density_per_cm2, rel=1e-5)
    assert man["models"]["fp32"]["output_gain"] == 1.0  # the FP32 file's gain is in its weights
    with HairModel.load("int8", threads=1, models_dir=out) as m:  # its self-check still passes
        after = m.analyze(img, upp, review_factor=None)
    assert after.density_per_cm2 == pytest.approx(density, rel=1e-5)
    # the summed diameters are scaled alike: mean diameters stay as the file reads them
    assert after.mean_diameter_um == pytest.approx(before.mean_diameter_um, rel=1e-4)


def test_a_regrown_training_scalp_keeps_its_openings_and_changes_its_hairs_in_range() -> None:
    from sim.dataset import _maybe_regrown, random_scalp
    from sim.scalp import generate_scalp

    rng = np.random.default_rng(5)
    world = generate_scalp(random_scalp(rng, 5).model_copy(update={"extent_mm": 6.0}))
    n = len(world.hairs)
    assert _maybe_regrown(world, 11, 0.0) is world  # share 0: the data set of before
    factors = []
    for seed in range(12):
        w = _maybe_regrown(world, seed, 1.0)
        assert len(w.follicles.hair_count) == len(world.follicles.hair_count)
        assert int(w.follicles.hair_count.sum()) == len(w.hairs)
        factors.append(len(w.hairs) / n)
    f = np.array(factors)
    assert ((f > 1.08) & (f < 1.62) | (f > 0.58) & (f < 0.92)).all()
    assert (f > 1).any() and (f < 1).any()  # both treated and thinning scalps


def test_a_regrown_data_set_is_cached_apart_from_the_plain_one(tmp_path: Path) -> None:
    from sim.dataset import Recipe, build_dataset

    plain = Recipe(8.0, 4, 32, 1, 1)
    build_dataset(tmp_path, plain)
    build_dataset(tmp_path, Recipe(8.0, 4, 32, 1, 1, 0.5))
    tags = sorted(d.name for d in tmp_path.iterdir())
    assert len(tags) == 2 and tags[1] == tags[0] + "-rg0.5"


def test_a_training_pair_differs_in_its_hairs_only() -> None:
    """Before and after share the view, look, optics and noise: with no change the two
    images are the same bytes; with a change the targets' counts move with the factor."""
    import sim.dataset as ds

    recipe = ds.Recipe(8.0, 4, 192, 1, 1)  # the shipped crop: a few hairs each
    factors = []
    for world in (0, 3):  # a regrowth and a thinning
        seed = ds.world_seed(recipe, world) + ds.PAIR_SEED_OFFSET
        pairs = ds.pair_samples(seed, recipe)
        assert len(pairs) == ds.PAIR_CROPS
        for img, tgt in pairs:
            assert img.shape == (2, 192, 192, 3) and img.dtype == np.uint8
            assert tgt.shape[0] == 2 and tgt.shape[-1] == 192 // 4
        rng = np.random.default_rng([seed, 0x9A1])
        ds.random_scalp(rng, seed)  # the draws pair_samples makes before the factor
        factors.append(ds.pair_factor(rng))
        before = sum(float(t[0, :2].sum()) for _, t in pairs)
        after = sum(float(t[1, :2].sum()) for _, t in pairs)
        assert (after > before) == (factors[-1] > 1.0), (world, before, after)
    assert min(factors) < 1.0 < max(factors)


def test_some_training_pairs_are_bare_skin_at_both_visits() -> None:
    """As many bare crops among pairs as among single samples (sim.dataset.HAIRLESS_SHARE):
    world 12 of the pair set is one (found by replaying its draws)."""
    import sim.dataset as ds

    recipe = ds.Recipe(8.0, 4, 64, 1, 1)
    for img, tgt in ds.pair_samples(ds.world_seed(recipe, 12) + ds.PAIR_SEED_OFFSET, recipe):
        assert tgt[:, :2].sum() == 0 and np.array_equal(img[0], img[1])


def test_a_pair_with_no_change_renders_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.dataset as ds

    recipe = ds.Recipe(8.0, 4, 64, 1, 1)
    monkeypatch.setattr(ds, "pair_factor", lambda rng: 1.0)
    for img, tgt in ds.pair_samples(ds.world_seed(recipe, 1) + ds.PAIR_SEED_OFFSET, recipe):
        assert np.array_equal(img[0], img[1]) and np.array_equal(tgt[0], tgt[1])


def test_the_pair_term_prices_a_change_read_short_and_not_a_shared_error() -> None:
    torch = pytest.importorskip("torch")
    from inference.targets import N_TRAIN_MAPS
    from inference.training.loop import TARGET_GAIN, pair_term

    def crops(*counts: float) -> object:
        t = torch.zeros(len(counts), N_TRAIN_MAPS, 8, 8)
        for i, c in enumerate(counts):
            t[i, 0, 3, 3] = c * TARGET_GAIN
        return t

    truth = crops(4.0, 6.0)  # a regrowth of 4 to 6 hairs
    assert pair_term(crops(4.0, 6.0), truth).item() == pytest.approx(0.0, abs=1e-9)
    # a shared 1.25x error changes the ratio of (n + 1) only a little; a change read short,
    # the same 4 -> 5 as what the cell terms would call one missed hair, costs far more
    shared = pair_term(crops(5.0, 7.5), truth).item()
    short = crops(4.0, 5.0).requires_grad_(True)
    cost = pair_term(short, truth)
    assert cost.item() == pytest.approx(float(np.log(7 / 5) - np.log(6 / 5)) ** 2, rel=1e-5)
    assert cost.item() > 10 * shared
    (grad,) = torch.autograd.grad(cost, short)
    assert grad[1, 0, 3, 3].item() < 0 < grad[0, 0, 3, 3].item()  # more after, less before
    assert grad[:, 2:].abs().max().item() == 0.0


def test_pairs_fill_their_share_of_a_batch_and_a_share_over_it_is_refused(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    from inference.training.loop import TrainSettings, train
    from sim.dataset import Recipe, build_dataset

    images, targets = build_dataset(tmp_path, Recipe(8.0, 4, 64, 1, 1))
    pairs = build_dataset(tmp_path, Recipe(8.0, 4, 64, 1, 1, pairs=True))
    assert sorted(d.name for d in tmp_path.iterdir())[1].endswith("-pairs2")
    assert pairs[0].shape[1] == 2 and pairs[1].shape[1] == 2
    base = TrainSettings(steps=2, batch=4, width=8, crop_px=64, pair_weight=1.0, pair_share=0.5)
    seen: list[float] = []
    train(images, targets, base, pairs=pairs, progress=lambda step, loss: seen.append(loss))
    assert len(seen) == 2 and all(np.isfinite(seen))
    with pytest.raises(ValueError, match="over a whole batch"):
        train(images, targets, TrainSettings(**{**base.__dict__, "pair_share": 1.5}), pairs=pairs)
    with pytest.raises(ValueError, match="makes no pair"):  # 4 x 0.25 / 2 rounds to 0
        train(images, targets, TrainSettings(**{**base.__dict__, "pair_share": 0.25}), pairs=pairs)
    with pytest.raises(ValueError, match="no pairs were given"):
        train(images, targets, base)


def test_visible_pairs_drop_a_pair_with_a_hair_mat_at_either_visit() -> None:
    """Bare skin at both visits stays; a mat before or after (dark shafts crossing the whole
    crop, as long hair lies) drops the pair, its targets with it."""
    from sim.model_recipe import visible_pairs

    skin = np.full((192, 192, 3), (200, 160, 140), np.uint8)
    mat = skin.copy()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:192, :192]
    for _ in range(40):
        a, c = rng.uniform(0, np.pi), rng.uniform(-150, 150)
        mat[np.abs(np.cos(a) * (xx - 96) + np.sin(a) * (yy - 96) - c) < 4] = (40, 30, 25)
    images = np.stack([np.stack(p) for p in [(skin, skin), (skin, mat), (mat, skin), (skin, skin)]])
    targets = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1, 1) * np.ones((4, 2, 1, 1, 1))
    kept_images, kept_targets = visible_pairs(images, targets.astype(np.float32))
    assert kept_images.shape == (2, 2, 192, 192, 3)
    assert kept_targets[:, 0, 0, 0, 0].tolist() == [0.0, 3.0]


def test_the_pair_set_tells_checkpoints_of_other_pairs_apart() -> None:
    pytest.importorskip("torch")
    from sim.model_recipe import _pair_set, parse

    assert _pair_set(parse([])) == ""
    assert _pair_set(parse(["--pair-weight", "5"])) == "pairs2x400"
    got = parse(["--pair-weight", "5", "--pair-visible", "--style-pair-worlds", "3"])
    assert _pair_set(got) == "pairs2x400-visible+stylepairs1x3"
    assert (
        _pair_set(parse(["--pair-weight", "5", "--pair-worlds", "0", "--style-pair-worlds", "9"]))
        == "stylepairs1x9"
    )
    got = parse(["--pair-weight", "1", "--style-pair-worlds", "9", "--style-pair-regrow"])
    assert _pair_set(got) == "pairs2x400+stylepairs1x9-regrown"


def test_style_pairs_are_one_crop_in_two_looks() -> None:
    """The same hairs (the same target maps) in two appearances: the pair term's true ratio
    is 1, so any difference between the two reads is priced."""
    from sim.dataset import PAIR_CROPS, Recipe, style_pair_samples

    pairs = style_pair_samples(1_000_000 + 700_000, Recipe(8.0, 4, 64, 1, 1, pairs=True))
    assert len(pairs) == PAIR_CROPS
    for img, tgt in pairs:
        assert img.shape == (2, 64, 64, 3) and tgt.shape[0] == 2
        np.testing.assert_array_equal(tgt[0], tgt[1])
        assert np.abs(img[0].astype(int) - img[1].astype(int)).mean() > 2.0


def test_regrown_style_pairs_change_the_look_and_the_hairs() -> None:
    """With style_regrow the second look is of the scalp regrown or thinned: the true
    ratio is no longer 1, so a flatter read is priced; the first look is the plain pair's."""
    from sim.dataset import Recipe, style_pair_samples

    seed = 1_000_000 + 700_000
    plain = style_pair_samples(seed, Recipe(8.0, 4, 64, 1, 1, pairs=True, style_pairs=True))
    grown = style_pair_samples(
        seed, Recipe(8.0, 4, 64, 1, 1, pairs=True, style_pairs=True, style_regrow=True)
    )
    assert any(not np.array_equal(g[1][0], g[1][1]) for g in grown)  # the hairs changed
    for (pi, pt), (gi, gt) in zip(plain, grown, strict=True):
        np.testing.assert_array_equal(pi[0], gi[0])  # the first visit as before
        np.testing.assert_array_equal(pt[0], gt[0])


def test_pairs_without_a_pair_weight_change_nothing(tmp_path: Path) -> None:
    """A run with pairs at hand but weight 0 is the run without them, to the bit."""
    torch = pytest.importorskip("torch")
    from inference.training.loop import TrainSettings, train
    from sim.dataset import Recipe, build_dataset

    images, targets = build_dataset(tmp_path, Recipe(8.0, 4, 64, 1, 1))
    pairs = build_dataset(tmp_path, Recipe(8.0, 4, 64, 1, 1, pairs=True))
    s = TrainSettings(steps=2, batch=4, width=8, crop_px=64)
    a, b = train(images, targets, s), train(images, targets, s, pairs=pairs)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


def test_the_root_targets_mark_one_peak_per_opening_and_heat_around_it() -> None:
    """Two lone hairs and a unit of three sharing one opening: three root cells, each where
    the count target peaks, heat 1 there and falling off around, bare skin cold."""
    torch = pytest.importorskip("torch")
    from inference.targets import density_targets
    from inference.training.loop import root_targets

    x = np.array([20.0, 60.0, 40.0, 40.0, 40.0])
    y = np.array([20.0, 20.0, 60.0, 60.0, 60.0])
    t = density_targets(x, y, np.full(5, 60.0), 96, 96, 4)
    counts = torch.from_numpy(t[0] + t[1])[None]
    peaks, heat = root_targets(counts)
    got = sorted((int(i), int(j)) for _, i, j in torch.nonzero(peaks))
    assert got == [(5, 5), (5, 15), (15, 10)]  # cell = floor((px + 0.5) / 4)
    assert float(heat[0, 5, 5]) == float(heat[0, 15, 10]) == 1.0
    assert 0.3 < float(heat[0, 5, 6]) < 0.9  # a cell off: warm, not a root
    assert float(heat[0, 5, 7]) < 0.1  # two off: nearly cold
    assert float(heat[0, 20, 20]) == 0.0


def test_the_root_term_pays_for_a_confident_peak_at_the_root_more_than_a_smear() -> None:
    """The focal loss of the root map: a map that is sure at the root and off elsewhere costs
    little; the same belief spread over the root's neighbours (the smear the count maps learn)
    costs more, as does a map sure of a cell two away; a run with a root weight predicts one
    map more, and none without."""
    torch = pytest.importorskip("torch")
    from inference.targets import N_TRAIN_MAPS, density_targets
    from inference.training.loop import TARGET_GAIN, TrainSettings, root_term, train_outputs

    t = density_targets(np.array([40.0]), np.array([40.0]), np.array([60.0]), 80, 80, 4)
    counts = torch.from_numpy(t[0] + t[1])[None] * TARGET_GAIN

    def cost(cells: list[tuple[int, int]], p: float) -> float:
        logit = torch.full((1, 20, 20), -9.0)
        for i, j in cells:
            logit[0, i, j] = float(np.log(p / (1 - p)))
        return float(root_term(logit, counts))

    sure = cost([(10, 10)], 0.95)
    smear = cost([(9, 10), (10, 9), (10, 10), (10, 11), (11, 10)], 0.3)
    assert sure < 0.01 < smear
    assert cost([(10, 12)], 0.95) > 10 * sure
    assert train_outputs(TrainSettings()) == N_TRAIN_MAPS
    assert train_outputs(TrainSettings(root_weight=1.0)) == N_TRAIN_MAPS + 1
