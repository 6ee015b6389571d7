"""What a training checkpoint's maps read at a hair's two ends (sim/generality/endmaps.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.targets import N_TRAIN_MAPS, TIP_MAP
from sim.generality.endmaps import Ends, end_mass, main, report


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
