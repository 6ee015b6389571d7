"""The change bench (sim/generality/change.py): pairs of visits and how their error is scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.generality.cases import (
    BLIND,
    BLIND2,
    BLIND3,
    BLIND4,
    BLIND5,
    BLIND6,
    BLIND7,
    BLIND8,
    BLIND9,
    BLIND10,
    BLIND11,
    BLIND12,
    BLIND13,
    BLIND14,
    BLIND15,
    BLIND16,
    BLIND17,
    BLIND18,
    BLIND19,
    BLIND20,
    BLIND21,
    BLIND22,
    INDEPENDENT,
    INDEPENDENT_GENERATORS,
    TWIN,
    Case,
    build,
    load,
)
from sim.generality.change import (
    FACTORS,
    LIMIT_POINTS,
    change_figures,
    change_pairs,
    pair_error,
    pair_row,
    skipped_text,
    summarise,
    verdict,
)


def test_pair_error_is_the_read_change_minus_the_true_change_in_points() -> None:
    e = pair_error(true_before=200.0, true_after=240.0, read_before=180.0, read_after=207.0)
    assert e["true_change_pct"] == pytest.approx(20.0)
    assert e["read_change_pct"] == pytest.approx(15.0)
    assert e["error_points"] == pytest.approx(-5.0)
    # a model that is 10 % off at both visits reads the change right
    same = pair_error(200.0, 220.0, 180.0, 198.0)
    assert same["error_points"] == pytest.approx(0.0)
    # nothing read at the first visit: no finite change, never "within the limit"
    assert pair_error(200.0, 220.0, 0.0, 10.0)["error_points"] == float("inf")
    with pytest.raises(ValueError, match="no hair at the first visit"):
        pair_error(0.0, 10.0, 5.0, 10.0)


def _visit(density: float, reads: dict[str, float]) -> dict[str, object]:
    factors = {"hair_length": "trimmed", "skin_tone": "dark", "hair_colour": "black"}
    truth = {"density_per_cm2": density, "factors": factors, "um_per_px": 6.0}
    return {"truth": truth, "read": reads, "matted": False}


def test_a_site_bare_at_the_first_visit_is_left_out_and_named() -> None:
    # blind-7 draws bald sites even among its frames asked for hair: blind7-0005 at n=40
    p = next(q for q in change_pairs(6, (BLIND7,)) if q.before.generator == BLIND7)
    bare = pair_row(p, _visit(0.0, {"int8": 12.0}), _visit(0.0, {"int8": 14.0}))
    assert bare is None
    row = pair_row(p, _visit(200.0, {"int8": 180.0}), _visit(220.0, {"int8": 207.0}))
    assert row is not None and row["pair"] == p.name and row["generator"] == BLIND7
    assert row["int8"]["error_points"] == pytest.approx(5.0)
    assert row["labels"]["mat"] == "clear"
    assert skipped_text([]) == ""
    assert "1 pair(s)" in skipped_text([p.name]) and p.name in skipped_text([p.name])


def test_summary_gives_spread_bias_limit_count_and_response() -> None:
    true = [0.0, 10.0, 20.0, -10.0] * 3
    read = [0.8 * t + 1.0 for t in true]  # reads 80 % of every change, 1 point high
    err = [r - t for r, t in zip(read, true, strict=True)]
    s = summarise(err, true, read)
    assert s["n"] == 12
    assert s["response"] == pytest.approx(0.8)
    assert s["bias_points"] == pytest.approx(np.mean(err))
    assert s["worst_abs_points"] == pytest.approx(3.0)  # -10 % read as -7 %, +20 % as +17 %
    assert s["within_limit"] == sum(abs(e) <= LIMIT_POINTS for e in err)
    # one factor alone has no spread of true changes to fit a response on
    assert summarise([1.0, -1.0], [10.0, 10.5], [11.0, 9.5])["response"] is None
    assert summarise([], [], []) == {"n": 0}


def _row(gen: str, factor: float, err: float, length: str) -> dict:
    true = 100.0 * (factor - 1.0)
    cell = {"error_points": err, "true_change_pct": true, "read_change_pct": true + err}
    return {
        "generator": gen,
        "factor": factor,
        "labels": {"hair_length": length, "skin_tone": "light"},
        "int8": cell,
        "fp32": cell,
    }


def test_figures_group_by_factor_and_label_and_the_verdict_names_the_worst_generator() -> None:
    rows = [
        _row(TWIN, 1.0, 0.5, "long"),
        _row(TWIN, 1.2, -1.5, "trimmed"),
        _row(INDEPENDENT, 1.1, 6.0, "long"),
        _row(INDEPENDENT, 0.9, -1.0, "long"),
    ]
    figs = change_figures(rows)
    assert figs[TWIN]["int8"]["all"]["n"] == 2
    assert figs[TWIN]["int8"]["factor=1.2"]["bias_points"] == pytest.approx(-1.5)
    assert figs[INDEPENDENT]["int8"]["hair_length=long"]["worst_abs_points"] == pytest.approx(6.0)
    assert "hair_colour=black" not in figs[TWIN]["int8"]  # only labels the rows carry
    v = verdict(figs)
    assert v["worst_generator"] == INDEPENDENT and v["value"] == pytest.approx(6.0)
    assert not v["met"]
    assert verdict(change_figures(rows[:2]))["met"]


def test_pairs_hold_the_site_and_change_only_the_density_and_the_draw() -> None:
    pairs = change_pairs(5)
    gens = [INDEPENDENT] * 5 + [BLIND] * 5 + [BLIND2] * 5 + [BLIND3] * 5 + [BLIND4] * 5
    gens += [BLIND5] * 5 + [BLIND6] * 5 + [BLIND7] * 5 + [BLIND8] * 5 + [BLIND9] * 5
    gens += [BLIND10] * 5 + [BLIND11] * 5 + [BLIND12] * 5 + [BLIND13] * 5 + [BLIND14] * 5
    gens += [BLIND15] * 5 + [BLIND16] * 5 + [BLIND17] * 5 + [BLIND18] * 5 + [BLIND19] * 5
    gens += [BLIND20] * 5 + [BLIND21] * 5 + [BLIND22] * 5 + [TWIN] * 5
    assert [p.before.generator for p in pairs] == gens
    for k in range(5):
        got = [p.factor for p in pairs[5 * k : 5 * k + 5]]
        assert got == [FACTORS[i % len(FACTORS)] for i in range(5)]
    for p in pairs:
        changed = {k for k in p.after.spec if p.after.spec.get(k) != p.before.spec.get(k)}
        if p.before.generator == TWIN:
            assert changed == {"density_factor", "noise_seed"}
            assert p.after.spec["density_factor"] == p.factor
        else:
            assert changed == {"regrow", "regrow_seed"}
            assert p.after.spec["regrow"] == p.factor
    assert len({p.name for p in pairs}) == len(pairs)


@pytest.mark.parametrize("generator", INDEPENDENT_GENERATORS)
def test_an_independent_follow_up_is_the_same_site_regrown_or_thinned(
    tmp_path: Path, generator: str
) -> None:
    # (seed 123 is a near-bald site of 4 hairs with blind-7, 6 with blind-8, 2 with blind-11
    # and 3 with blind-13, 11 with blind-17: too few for a ratio; 122 holds 60 with blind-8 and
    # 84 with blind-17, 124 23 with blind-11 and 67 with blind-13; 123 is bare with blind-20,
    # 124 holds 80)
    seeds = {BLIND7: 124, BLIND8: 122, BLIND11: 124, BLIND13: 124, BLIND17: 122, BLIND20: 124}
    seed = seeds.get(generator, 123)
    spec = {"seed": seed, "um_per_px": 8.0, "width": 640, "height": 480, "hairless": False}
    img_b, tb = load(build((Case(generator, 0, spec), str(tmp_path))))
    before = {(h["x_px"], h["y_px"]) for h in tb["hairs"]}
    for factor in (1.3, 0.7):
        later = {**spec, "regrow": factor, "regrow_seed": 500_123}
        img_a, ta = load(build((Case(generator, 0, later), str(tmp_path))))
        after = {(h["x_px"], h["y_px"]) for h in ta["hairs"]}
        assert not np.array_equal(img_b, img_a)
        # what blind-5 to blind-11 record of the visit itself (blind-11: all under "visit")
        visit = {"pose", "regrown", "hairs_in_site", "capsules", "visit", "hair_draws", "pool"}
        visit |= {"hair_kinds_in_frame", "regrown_factor"}
        visit |= {"hairs_built", "kind_counts", "segments", "volume_top_um"}  # blind-8
        visit |= {"hairs_active_in_site", "hairs_drawn", "listed_kinds"}  # blind-9
        visit |= {"shift_x_um", "shift_y_um", "yaw_deg", "regrow_factor", "regrow_seed"}  # -10
        visit |= {"visit_hairs", "turn_deg", "shift_um"}  # blind-13
        visit |= {"view"}  # blind-14
        assert {k: v for k, v in ta["params"].items() if k not in visit} == {
            k: v for k, v in tb["params"].items() if k not in visit
        }  # the same look
        moved = (BLIND4, BLIND5, BLIND6, BLIND7, BLIND8, BLIND9, BLIND10, BLIND11, BLIND12)
        moved += (BLIND13, BLIND14, BLIND15, BLIND16, BLIND17, BLIND18, BLIND19, BLIND20)
        moved += (BLIND21, BLIND22)
        if generator in moved:
            assert len(after) / len(before) == pytest.approx(factor, abs=0.25)
            continue
        if factor > 1:
            assert before < after  # every hair still there, and new ones
        else:
            assert after < before  # some shed, none new
        assert len(after) / len(before) == pytest.approx(factor, abs=0.2)


def test_an_independent_regrowth_leaves_everything_else_of_the_site_as_it_was() -> None:
    from sim.heldout.generate import render
    from sim.heldout.params import draw_params

    p = draw_params(321, um_per_px=6.0, width=256, height=192).with_(noise=0.0)
    first, t1 = render(321, p)
    again, t2 = render(321, p, (1.0, 9))  # a visit with nothing changed and no sensor noise
    assert np.array_equal(first, again) and t1 == t2
    grown, t3 = render(321, p, (1.5, 9))
    changed = np.abs(grown.astype(int) - first.astype(int)).max(axis=2) > 0
    assert 0 < changed.mean() < 0.6  # new shafts over the old picture, not a new picture
    assert t3["hair_count"] > t1["hair_count"]


@pytest.mark.slow
def test_a_twin_follow_up_is_the_same_scalp_regrown(tmp_path: Path) -> None:
    pairs = [p for p in change_pairs(3) if p.before.generator == TWIN and p.factor == 1.2]
    p = pairs[0]
    img_b, tb = load(build((p.before, str(tmp_path))))
    img_a, ta = load(build((p.after, str(tmp_path))))
    before = {(h["x_px"], h["y_px"]) for h in tb["hairs"]}
    after = {(h["x_px"], h["y_px"]) for h in ta["hairs"]}
    assert before <= after  # every hair of the first visit is still there
    # 1.2x the hairs over the whole scalp; a frame's share of the new ones varies
    assert 1.0 < len(after) / len(before) < 1.5
    assert ta["density_per_cm2"] / tb["density_per_cm2"] == pytest.approx(len(after) / len(before))
    assert tb["um_per_px"] == ta["um_per_px"] and img_b.shape == img_a.shape


@pytest.mark.slow
def test_the_change_bench_runs_end_to_end(tmp_path: Path) -> None:
    from sim.generality.change import run_change

    out = run_change(models_dir=None, n=1, workers=1, threads=1, cache_dir=tmp_path)
    independent = {INDEPENDENT, BLIND, BLIND2, BLIND3, BLIND4, BLIND5, BLIND6, BLIND7}
    independent |= {BLIND8, BLIND9, BLIND10, BLIND11, BLIND12, BLIND13, BLIND14, BLIND15, BLIND16}
    independent |= {BLIND17, BLIND18, BLIND19, BLIND20, BLIND21}
    # blind-22 draws a twentieth of its sites bare, its first among them: no relative change
    # to read, so the pair is left out and said so
    assert out["skipped"] == ["blind22-0000x1"] and "left out: 1 pair(s)" in out["text"]
    assert set(out["figures"]) == {TWIN, *independent}
    assert len(out["pairs"]) == 23 and len(list(tmp_path.glob("*.npz"))) == 48
    twin = out["pairs"][22]
    assert twin["generator"] == TWIN and twin["factor"] == 1.0
    # a stable site photographed twice: only sensor noise between the visits
    assert abs(twin["int8"]["error_points"]) < 3.0
    assert "== twin: change between two visits" in out["text"]
    assert out["verdict"]["target"].startswith("change at every site within 2 points")
