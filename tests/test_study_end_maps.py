"""What a training checkpoint's maps read at a hair's two ends (sim/generality/endmaps.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.targets import N_TRAIN_MAPS, TIP_MAP
from sim.generality.cases import load
from sim.generality.endmaps import (
    Ends,
    end_mass,
    load_models,
    main,
    model_maps,
    near_mass,
    place_mass,
    report,
    study,
    target_count,
)


def test_each_end_reads_the_mass_in_its_3x3_cells_and_odd_ends_are_left_out() -> None:
    maps = np.zeros((N_TRAIN_MAPS, 20, 30), dtype=np.float32)
    maps[0, 5, 7] = 0.6  # terminal count at the root's cell
    maps[1, 4, 8] = 0.1  # vellus count beside it: the count is both maps
    maps[TIP_MAP, 5, 6] = 0.05
    maps[TIP_MAP, 12, 20] = 0.7  # the cut tip's cell
    maps[0, 12, 21] = 0.2
    maps[0, 15, 15] = 9.0  # far from every end: read by none
    # a frame of 120 x 80 px over 30 x 20 cells: 4 px a cell
    truth = {
        "hairs": [
            {"x_px": 7 * 4 + 2, "y_px": 5 * 4 + 1, "diameter_um": 60.0},
            {"x_px": 10.0, "y_px": 10.0, "diameter_um": 20.0},  # vellus: not a terminal root
            {"x_px": 1.0, "y_px": 40.0, "diameter_um": 60.0},  # in the edge cell: left out
        ],
        "tips": [
            {"x_px": 20 * 4 + 1, "y_px": 12 * 4 + 3, "cut": True},
            {"x_px": 50.0, "y_px": 50.0, "cut": False},  # a natural tip: not a cut one
        ],
    }
    roots, tips = end_mass(maps, truth, (120, 80))
    assert roots == [pytest.approx((0.7, 0.05))]
    assert tips == [pytest.approx((0.2, 0.7))]
    text = report([Ends("blind21", roots, tips), Ends("twin")])
    assert "tip above count   0 %" in text and "tip above count 100 %" in text
    assert "twin\n  roots  -" in text


def test_a_checkpoint_is_read_at_the_native_scale_in_hairs_and_bad_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    from inference.training.loop import TARGET_GAIN
    from inference.training.net import make_net
    from sim.generality.endmaps import load_net, maps_of

    torch.manual_seed(0)
    net = make_net().eval()
    ck = tmp_path / "c.pt"
    torch.save({"net": net.state_dict(), "settings": {"width": 40, "body": "plain"}}, ck)
    back = load_net(ck)
    img = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    maps = maps_of(back, img, 4.0)  # 4 um/px to 8: half the size, then cells of 4 px
    assert maps.shape == (N_TRAIN_MAPS, 12, 16)
    from inference.preprocess import normalise, resample

    native = np.clip(resample(img, 64, 48) + 0.5, 0, 255).astype(np.uint8)
    with torch.no_grad():
        raw = net(torch.from_numpy(normalise(native))[None]).numpy()[0]
    np.testing.assert_allclose(maps, raw / TARGET_GAIN, rtol=1e-5, atol=1e-6)
    with pytest.raises(SystemExit):
        main([str(tmp_path / "none.pt")])
    assert "no such checkpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main([str(bad), "--twin", "0", "--generators", "blind3"]) == 2
    assert "not a checkpoint of this net" in capsys.readouterr().err


def test_the_count_is_split_by_place_and_the_places_add_up_to_the_frame() -> None:
    maps = np.zeros((N_TRAIN_MAPS, 20, 30), dtype=np.float32)
    maps[0, 5, 7] = 0.6  # at the terminal root
    maps[1, 1, 1] = 0.3  # at the vellus root (its cells clipped at the map's corner)
    maps[0, 12, 21] = 0.2  # at the cut tip
    maps[0, 6, 8] = 0.4  # at the root and within a cell of the tip below it: the root's
    maps[0, 7, 9] = 0.04  # the tip's cell beside it: the tip's
    maps[0, 15, 15] = 2.0  # far from every end
    maps[TIP_MAP] = 5.0  # the tip map is not the count
    truth = {
        "hairs": [
            {"x_px": 7 * 4 + 2, "y_px": 5 * 4 + 1, "diameter_um": 60.0},
            {"x_px": 1.0, "y_px": 1.0, "diameter_um": 20.0},
        ],
        "tips": [
            {"x_px": 20 * 4 + 1, "y_px": 12 * 4 + 3, "cut": True},
            {"x_px": 9 * 4 + 1, "y_px": 8 * 4 + 1, "cut": True},
            {"x_px": 15 * 4 + 1, "y_px": 15 * 4 + 1, "cut": False},  # natural: elsewhere
        ],
    }
    got = place_mass(maps[0] + maps[1], truth, (120, 80))
    assert got == pytest.approx({"roots": 1.3, "cut tips": 0.24, "elsewhere": 2.0})
    assert sum(got.values()) == pytest.approx(float(maps[:2].sum()))
    ends = Ends("blind21", places=got, hairs=2)
    assert "read/true 1.77 = roots 0.65 + cut tips 0.12 + elsewhere 1.00  (2 hairs)" in report(
        [ends]
    )


def test_a_models_folder_is_read_by_its_int8_file_without_a_tip_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from functools import partial

    from inference.model import HairModel
    from sim.generality.cases import independent_cases

    models = Path(__file__).parent.parent / "inference" / "models"
    model = load_models(models, 1)
    try:
        [ends] = study(
            partial(model_maps, model),
            {"blind3": independent_cases(1, 0, "blind3")},
            tmp_path / "cache",
            1,
        )
        [built] = sorted((tmp_path / "cache").glob("blind3-*.npz"))
        img, truth = load(str(built))
        analyzed = model.analyze(img, float(truth["um_per_px"]))
    finally:
        model.close()
    assert isinstance(model, HairModel)
    assert ends.hairs == len(truth["hairs"]) > 0
    assert ends.roots and all(np.isnan(t) for _, t in ends.roots)
    # the places partition the count maps, whose mass is the runtime's count (before the clamp)
    area_cm2 = truth["width"] * truth["height"] * (float(truth["um_per_px"]) * 1e-4) ** 2
    read = sum(ends.places.values()) / area_cm2
    assert read == pytest.approx(analyzed.density_per_cm2, rel=0.05)
    text = report([ends])
    assert "tip -" in text and "tip above" not in text and "where  read/true" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "--twin", "0", "--generators", "blind3"]) == 2
    assert str(empty) in capsys.readouterr().err


def test_the_count_near_a_root_is_read_by_distance_and_the_target_sits_at_its_roots() -> None:
    # 30 x 20 cells of 4 px over a 120 x 80 px frame at 8 um/px: a cell is 32 um
    count = np.zeros((20, 30), dtype=np.float32)
    count[5, 7] = 0.5  # the root's own cell: within 48 um
    count[5, 9] = 0.2  # two cells off: 64 um, within 96
    count[5, 12] = 0.1  # five cells off: 160 um, within 192
    count[15, 25] = 1.0  # 659 um from it, 180 um from a root emerging below the frame
    truth = {
        "um_per_px": 8.0,
        "hairs": [{"x_px": 7 * 4 + 1.5, "y_px": 5 * 4 + 1.5, "diameter_um": 60.0}],
        "emergence_outside": [{"x_px": 25 * 4 + 1.5, "y_px": 84.0}],  # below the frame
    }
    assert near_mass(count, truth, (120, 80)) == pytest.approx([0.5, 0.7, 1.8, 1.8])
    truth["emergence_outside"] = []
    assert near_mass(count, truth, (120, 80)) == pytest.approx([0.5, 0.7, 0.8, 0.8])
    count[15, 25] = 0.0
    count[16, 8] = 1.0  # 11 cells (352 um) below the root: within 480 only
    assert near_mass(count, truth, (120, 80))[-2:] == pytest.approx([0.8, 1.8])
    # the training target: one hair's Gaussian (sigma one cell), its mass 1 at its root
    target = target_count(truth, count.shape, (120, 80))
    assert float(target.sum()) == pytest.approx(1.0, abs=1e-3)
    near = near_mass(target, truth, (120, 80))
    assert 0.6 < near[0] < 0.85 and near[1] > 0.97 and near[-1] == pytest.approx(1.0, abs=1e-3)
    assert near_mass(count, {"um_per_px": 8.0, "hairs": []}, (120, 80)) == [0.0] * 4
