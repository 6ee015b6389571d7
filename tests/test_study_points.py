"""Emergence points by several rules on one model's maps (sim/generality/points.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.targets import N_TRAIN_MAPS, ROOT_OUT, density_targets
from sim.generality.points import Rule, Tally, main, report, rule_points, score_points

# A native frame of 120 x 80 px at 8 um/px: 30 x 20 cells of 4 px.
UM_PER_PX, W, H = 8.0, 120, 80


def _truth(hairs: list[tuple[float, float]], tips: list[tuple[float, float]]) -> dict:
    area = W * H * (UM_PER_PX * 1e-4) ** 2
    return {
        "um_per_px": UM_PER_PX,
        "width": W,
        "height": H,
        "density_per_cm2": len(hairs) / area,
        "mean_diameter_um": 60.0,
        "vellus_fraction": 0.0,
        "hairs": [{"x_px": x, "y_px": y, "diameter_um": 60.0} for x, y in hairs],
        "tips": [{"x_px": x, "y_px": y} for x, y in tips],
        "follicular_units_per_cm2": 2 / area,
        "unit_shares_1_2_3_4plus": [0.5, 0.0, 0.5, 0.0],
    }


def _maps(hairs: list[tuple[float, float]], extra: tuple[float, float, float] | None) -> np.ndarray:
    """The ideal count maps of ``hairs`` (the training target), plus ``extra`` = (x, y, hairs):
    a false blob of that many hairs, e.g. on a cut tip."""
    xy = np.asarray(hairs, dtype=np.float64)
    maps = np.zeros((N_TRAIN_MAPS + 1, H // 4, W // 4), dtype=np.float32)
    maps[:3] = density_targets(xy[:, 0], xy[:, 1], np.full(len(xy), 60.0), H, W, 4)
    if extra is not None:
        x, y, n = extra
        blob = density_targets(np.array([x]), np.array([y]), np.array([60.0]), H, W, 4)
        maps[:3] += np.float32(n) * blob
    maps[ROOT_OUT] = -6.0
    return maps


UNIT = [(30.0, 20.0)] * 3 + [(90.0, 50.0)]  # a unit of three and a lone hair
TIP = (60.0, 70.0)


def _score(rule: str, maps: np.ndarray) -> Tally:
    t = Tally()
    rows, cols, sizes = rule_points(Rule.parse(rule), maps)
    score_points(t, _truth(UNIT, [TIP]), rows, cols, sizes, maps.shape[1:])
    return t


def test_rule_names_parse_and_a_wrong_one_names_the_forms() -> None:
    r = Rule.parse("count-r1-m0.35-window")
    assert (r.source, r.radius, r.min_mass, r.sizes) == ("count", 1, 0.35, "window")
    assert Rule.parse("root-t0.4").threshold == 0.4
    for bad in (
        "count-r2-m0.5",
        "count-r0-m0.5-nearest",
        "root-t1.5",
        "peaks",
        "count-rx-m1-window",
    ):
        with pytest.raises(ValueError, match=r"count-r<cells>-m<hairs>-window\|nearest"):
            Rule.parse(bad)


def test_ideal_maps_find_every_root_and_a_blob_on_a_tip_reads_it_by_the_rules_threshold() -> None:
    ideal = _score("count-r2-m0.5-nearest", _maps(UNIT, None))
    s = ideal.scores
    assert (s.terminal_hit, s.terminal, s.tips_hit, s.tips) == (4, 4, 0, 1)
    assert (ideal.points, ideal.points_at_roots) == (2, 2)
    assert s.units_ape == [pytest.approx(0.0)] and ideal.single_ae == [pytest.approx(0.0)]
    blob = _maps(UNIT, (*TIP, 0.4))  # 0.4 hairs on the tip: under 0.5, over 0.35
    strict, loose = _score("count-r2-m0.5-nearest", blob), _score("count-r2-m0.35-nearest", blob)
    assert (strict.scores.tips_hit, strict.points) == (0, 2)
    assert (loose.scores.tips_hit, loose.points, loose.points_at_roots) == (1, 3, 2)
    assert loose.scores.units_ape == [pytest.approx(0.5)]  # three units read, two true
    assert "rec T" in report({"twin": {"count-r2-m0.35-nearest": loose}})


def test_a_units_count_spread_past_its_window_is_its_size_only_by_the_nearest_rule() -> None:
    """The unit's three hairs as the net reads them: 1.6 hairs at the opening, the rest in four
    blobs of 0.35 four cells out along its shafts, beyond the 5 x 5 window."""
    maps = _maps([(90.0, 50.0)], (30.0, 20.0, 1.6))
    for x, y in ((14.0, 20.0), (46.0, 20.0), (30.0, 4.0), (30.0, 36.0)):
        maps[:3] += 0.35 * _maps([(x, y)], None)[:3]
    truth = _truth(UNIT, [TIP])
    window, nearest = Tally(), Tally()
    for rule, t in (("count-r2-m0.5-window", window), ("count-r2-m0.5-nearest", nearest)):
        rows, cols, sizes = rule_points(Rule.parse(rule), maps)
        score_points(t, truth, rows, cols, sizes, maps.shape[1:])
    assert window.points == nearest.points == window.points_at_roots == 2  # the same points
    assert (window.scores.terminal_hit, nearest.scores.terminal_hit) == (3, 4)


def test_a_root_map_gives_its_peaks_sized_by_the_nearest_count() -> None:
    maps = _maps(UNIT, None)
    maps[ROOT_OUT, 5, 7] = 4.0  # the unit's cell (30 px -> cell 7; 20 px -> cell 5)
    maps[ROOT_OUT, 12, 22] = 0.0  # the lone hair's: a chance of 0.5
    sure = _score("root-t0.6", maps)
    assert (sure.points, sure.scores.terminal_hit) == (1, 3)
    both = _score("root-t0.4", maps)
    assert (both.points, both.scores.terminal_hit, both.points_at_roots) == (2, 4, 2)
    with pytest.raises(ValueError, match="no root map"):
        rule_points(Rule.parse("root-t0.4"), maps[:N_TRAIN_MAPS])


def test_the_script_reads_a_models_folder_and_refuses_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = Path(__file__).parent.parent / "inference" / "models"
    args = ["--n", "1", "--twin", "0", "--generators", "blind3", "--cache", str(tmp_path)]
    assert main([str(models), *args, "--rules", "count-r2-m0.5-nearest"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "count-r2-m0.5-nearest" in line]
    assert float(row.split()[1]) >= 0.0  # a recall was measured
    with pytest.raises(SystemExit):
        main([str(models), *args, "--rules", "root-t0.4"])
    assert "no root map" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(models), *args, "--rules", "count-r2"])
    assert "not a rule" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "none"), *args])
    assert "no such models folder or checkpoint" in capsys.readouterr().err


def test_a_checkpoint_adds_its_root_rules_and_one_without_a_root_map_refuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    from inference.training.net import make_net

    args = ["--n", "1", "--twin", "0", "--generators", "blind3", "--cache", str(tmp_path)]
    for outputs, name in ((N_TRAIN_MAPS, "plain.pt"), (N_TRAIN_MAPS + 1, "roots.pt")):
        torch.manual_seed(0)
        state = {"net": make_net(outputs=outputs).eval().state_dict(), "settings": {}}
        torch.save(state, tmp_path / name)
    with pytest.raises(SystemExit):
        main([str(tmp_path / "plain.pt"), *args, "--rules", "root-t0.4"])
    assert "has no root map" in capsys.readouterr().err
    assert main([str(tmp_path / "roots.pt"), *args]) == 0
    out = capsys.readouterr().out
    assert "root-t0.2" in out and "root-t0.6" in out and "count-r2-m0.5-nearest" in out
