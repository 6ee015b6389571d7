"""The independent test generator (sim/heldout) and the generality bench's scoring."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sim.generality.bench import judge, verdict_lines
from sim.heldout import draw_params, generate
from sim.heldout.hairs import place
from sim.heldout.metrics import Tally, match_emergence, score, tip_readers
from tests.generator_checks import check_refuses_bad_arguments

HELDOUT = Path(__file__).resolve().parent.parent / "sim" / "heldout"
FORBIDDEN = ("sim.render", "sim.scalp", "sim.optics", "sim.twin", "sim.tools")


def test_generator_imports_nothing_of_the_twin() -> None:
    files = sorted(HELDOUT.glob("*.py"))
    assert len(files) >= 5
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{f.name}: relative import"
                mod = node.module or ""
                names = [mod, *(f"{mod}.{a.name}" for a in node.names)]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{f.name} imports {name}"
                assert (
                    name in ("sim",) or not name.startswith("sim") or name.startswith("sim.heldout")
                ), f"{f.name} imports {name} outside sim.heldout"


def test_same_seed_same_image_other_seed_other_image() -> None:
    a, ta = generate(11, um_per_px=6.0, width=256, height=192)
    b, tb = generate(11, um_per_px=6.0, width=256, height=192)
    c, _ = generate(12, um_per_px=6.0, width=256, height=192)
    assert a.dtype == np.uint8 and a.shape == (192, 256, 3)
    assert np.array_equal(a, b) and ta == tb
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_truth_lists_every_hair_emerging_in_the_frame(seed: int) -> None:
    w, h, upp = 320, 240, 7.0
    _, t = generate(seed, um_per_px=upp, width=w, height=h, hair_length="long")
    # every shaft the generator placed, counted here independently of the truth code
    p = draw_params(seed, um_per_px=upp, width=w, height=h)
    _, shafts = place(np.random.default_rng([0x5CA1, seed]), p.with_(hair_length="long"))
    x, y = shafts.root[:, 0], shafts.root[:, 1]
    inside = (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    assert t["hair_count"] == int(inside.sum()) == len(t["hairs"]) > 0
    listed = sorted((hh["x_px"], hh["y_px"]) for hh in t["hairs"])
    want = sorted((round(float(a), 2), round(float(b), 2)) for a, b in shafts.root[inside])
    assert listed == want
    area = w * h * (upp * 1e-4) ** 2
    assert t["area_cm2"] == pytest.approx(area)
    assert t["density_per_cm2"] == pytest.approx(t["hair_count"] / area)
    vel = sum(hh["diameter_um"] < 30 for hh in t["hairs"])
    assert t["vellus_density_per_cm2"] == pytest.approx(vel / area)
    assert t["terminal_density_per_cm2"] + t["vellus_density_per_cm2"] == pytest.approx(
        t["density_per_cm2"]
    )
    assert t["mean_diameter_um"] == pytest.approx(
        np.mean([hh["diameter_um"] for hh in t["hairs"]]), abs=0.01
    )
    for tip in t["tips"]:
        assert -0.5 <= tip["x_px"] < w - 0.5 and -0.5 <= tip["y_px"] < h - 0.5
        assert tip["cut"] or tip["end"] == "tapered"  # a natural end is a taper
    for e in t["emergence_outside"]:
        assert not (-0.5 <= e["x_px"] < w - 0.5 and -0.5 <= e["y_px"] < h - 0.5)
    assert set(t["factors"]) >= {"hair_length", "hair_colour", "skin_tone", "scale", "ends"}


def test_dark_shafts_are_drawn_where_the_truth_says() -> None:
    plain = {
        "hair_colour": "dyed_black",
        "grey_share": 0.0,
        "vellus_fraction": 0.0,
        "blur_px": 0.0,
        "noise": 0.0,
        "jpeg_quality": 0,
        "opening_darkness": 0.0,
        "halo": 0.0,
        "white_dots_per_cm2": 0.0,
        "yellow_dots_per_cm2": 0.0,
        "flakes_per_cm2": 0.0,
        "vessels": 0,
        "skin_tone": 0.2,
        "hair_length": "trimmed",
        "density_per_cm2": 300.0,
    }
    img, t = generate(21, um_per_px=5.0, width=400, height=300, **plain)
    p = draw_params(21, um_per_px=5.0, width=400, height=300).with_(**plain)
    _, shafts = place(np.random.default_rng([0x5CA1, 21]), p)
    mid = np.einsum("k,nkd->nd", np.array([1.0, 3.0, 3.0, 1.0]) / 8.0, shafts.ctrl)
    keep = (mid[:, 0] >= 0) & (mid[:, 0] < 399) & (mid[:, 1] >= 0) & (mid[:, 1] < 299)
    lum = img.astype(float) @ [0.2126, 0.7152, 0.0722]
    at = lum[np.rint(mid[keep, 1]).astype(int), np.rint(mid[keep, 0]).astype(int)]
    assert t["hair_count"] > 5 and at.size > 5
    # near-black shafts at the middle of every shaft: ~0.1-0.3 of the skin's luminance
    assert np.median(at) < 0.35 * np.median(lum)
    # and the skin between them is not dark
    assert np.median(lum) > 100


def test_hairless_image_has_textured_skin_and_no_hairs() -> None:
    img, t = generate(5, um_per_px=8.0, width=640, height=480, hairless=True)
    assert t["hair_count"] == 0 and t["hairs"] == [] and t["tips"] == []
    assert t["density_per_cm2"] == 0.0 and t["mean_diameter_um"] == 0.0
    assert t["factors"]["hair_length"] == "hairless"
    assert t["empty_follicles"] > 0
    assert img.astype(float).std(axis=(0, 1)).mean() > 2.0


def test_generate_refuses_bad_scale_and_fields() -> None:
    with pytest.raises(ValueError, match="um_per_px"):
        generate(1, um_per_px=40.0, width=100, height=100)
    with pytest.raises(TypeError):
        generate(1, um_per_px=5.0, width=100, height=100, no_such_field=1)
    check_refuses_bad_arguments(generate, {"um_per_px": 8.0, "width": 64, "height": 48})


# -- scoring --------------------------------------------------------------------------------


def test_matching_is_one_to_one_and_units_claim_their_hair_count() -> None:
    two = [(0.0, 0.0), (2.0, 0.0)]
    assert match_emergence(two, [(1.0, 0.0)], [1], 5.0).tolist() == [True, False]
    assert match_emergence(two, [(1.0, 0.0)], [2], 5.0).tolist() == [True, True]
    assert match_emergence(two, [], [], 5.0).tolist() == [False, False]
    # closest pairs first: D2 takes T2, so D1 is free for T1 (a first-come order fails this)
    t = [(0.0, 0.0), (6.0, 0.0)]
    d = [(3.0, 0.0), (8.0, 0.0)]
    assert match_emergence(t, d, [1, 1], 4.0).tolist() == [True, True]
    # the radius is inclusive, and nothing beyond it matches
    assert match_emergence([(0.0, 0.0)], [(4.0, 0.0)], [1], 4.0).tolist() == [True]
    assert match_emergence([(0.0, 0.0)], [(4.01, 0.0)], [1], 4.0).tolist() == [False]
    with pytest.raises(ValueError, match="one entry per detection"):
        match_emergence(t, d, [1], 4.0)


def test_a_tip_counts_only_when_a_detection_sits_on_it_away_from_hairs() -> None:
    tips = [(100.0, 100.0), (200.0, 100.0), (300.0, 100.0)]
    emergence = [(203.0, 100.0)]
    det = [(102.0, 101.0), (201.0, 100.0)]  # on tip 0; on tip 1 but also on an emergence
    assert tip_readers(tips, det, emergence, 10.0).tolist() == [0, -1, -1]  # read by det 0
    assert tip_readers(tips, [], emergence, 10.0).tolist() == [-1, -1, -1]


def _truth(hairs: list[tuple[float, float, float]], tips: list[tuple[float, float]]) -> dict:
    area = 1.0
    return {
        "um_per_px": 10.0,
        "density_per_cm2": len(hairs) / area,
        "mean_diameter_um": float(np.mean([h[2] for h in hairs])) if hairs else 0.0,
        "vellus_fraction": float(np.mean([h[2] < 30 for h in hairs])) if hairs else 0.0,
        "hairs": [{"x_px": x, "y_px": y, "diameter_um": d} for x, y, d in hairs],
        "tips": [{"x_px": x, "y_px": y} for x, y in tips],
    }


def _read(density: float, points: list[tuple[float, float, int]]) -> dict:
    return {
        "density_per_cm2": density,
        "mean_diameter_um": 60.0,
        "vellus_fraction": 0.25,
        "emergence_points": [{"x_px": x, "y_px": y, "hairs": n} for x, y, n in points],
    }


def test_score_and_tally_give_recall_tip_rate_and_mape() -> None:
    # 60 um at 10 um/px is 6 px
    truth = _truth([(10, 10, 70), (50, 50, 80), (90, 90, 20), (130, 130, 20)], [(10, 40)])
    read = _read(6.0, [(12, 10, 1), (50, 55, 1), (92, 92, 1), (10, 43, 1), (300, 300, 1)])
    s = score(truth, read)
    assert (s.terminal, s.terminal_hit, s.vellus, s.vellus_hit) == (2, 2, 2, 1)
    # a one-hair detection between two hairs of a unit: one recalled, both near a detection
    unit = score(_truth([(10, 10, 70), (12, 10, 20)], []), _read(1.0, [(11, 10, 1)]))
    assert (unit.terminal_hit + unit.vellus_hit, unit.terminal_near + unit.vellus_near) == (1, 2)
    assert (s.tips, s.tips_hit) == (1, 1)
    # a natural (uncut) end is not among the tips scored
    natural = _truth([(10, 10, 70)], [(10, 40)])
    natural["tips"][0]["cut"] = False
    assert score(natural, read).tips == 0
    bare = score(_truth([], [(5, 5)]), _read(12.5, []))
    tally = Tally()
    s.add_to(tally)
    bare.add_to(tally)
    f = tally.figures()
    assert f["n"] == 2 and f["n_with_hairs"] == 1
    assert f["density_mape_pct"] == pytest.approx(50.0)
    # the same error with its sign: this read is over the truth; half the truth is -50 %
    assert f["density_bias_pct"] == pytest.approx(100.0 * (6.0 - s.true_density) / s.true_density)
    under = Tally()
    score(truth, _read(s.true_density / 2, [])).add_to(under)
    assert under.figures()["density_bias_pct"] == pytest.approx(-50.0)
    # and in hairs/cm2, over the images with hairs only (the bare one's read is its own row)
    assert f["density_mae_per_cm2"] == pytest.approx(abs(6.0 - s.true_density))
    assert under.figures()["density_mae_per_cm2"] == pytest.approx(s.true_density / 2)
    assert f["terminal_recall"] == 1.0 and f["vellus_recall"] == 0.5
    assert f["tips_detected_pct"] == pytest.approx(50.0)  # 1 of 2 tips
    assert f["hairless_max_per_cm2"] == 12.5
    assert f["diameter_mae_um"] == pytest.approx(12.5)  # only the image with hairs


def test_the_units_and_their_shares_are_scored_where_the_truth_lists_them() -> None:
    """Follicular units per cm2 as a relative error, the 1/2/3/4+ shares as their mean absolute
    error; a truth without units (most judges list hairs only) or a bare frame adds nothing."""
    truth = _truth([(10, 10, 70), (12, 10, 60), (50, 50, 80)], [])
    truth |= {"follicular_units_per_cm2": 2.0, "unit_shares_1_2_3_4plus": [0.5, 0.5, 0.0, 0.0]}
    read = _read(3.0, [(11, 10, 1), (12, 11, 1), (50, 50, 1)])
    read |= {"follicular_units_per_cm2": 3.0, "unit_shares_1_2_3_4plus": [1.0, 0.0, 0.0, 0.0]}
    s = score(truth, read)
    assert s.units_ape == pytest.approx(0.5)
    assert s.shares_ae == pytest.approx(0.25)  # (0.5 + 0.5 + 0 + 0) / 4
    plain = score(_truth([(10, 10, 70)], []), read)
    assert plain.units_ape is None and plain.shares_ae is None
    t = Tally()
    for x in (s, plain):
        x.add_to(t)
    f = t.figures()
    assert f["units_mape_pct"] == pytest.approx(50.0)
    assert f["unit_shares_ae"] == pytest.approx(0.25)
    assert Tally().figures()["units_mape_pct"] is None


def test_judge_names_the_worst_generator_against_its_own_limit() -> None:
    def figs(mape: float, worst_group: float, recall: float) -> dict:
        base = Tally().figures() | {
            "n_with_hairs": 10,
            "density_mape_pct": mape,
            "terminal_recall": recall,
        }
        group = base | {"density_mape_pct": worst_group}
        other = group | {"density_mape_pct": 99.0}
        return {"all": base, "hair_length=long": group, "scale=3-5": other}

    data = {
        "twin": {"int8": figs(6.0, 6.5, 0.95), "fp32": figs(5.5, 6.0, 0.95)},
        "independent": {"int8": figs(9.0, 12.0, 0.85), "fp32": figs(7.0, 8.0, 0.9)},
    }
    v = {x["target"]: x for x in judge(data)}
    # twin 6 % over its 5 % limit (1.2x) is worse than independent 9 % under its 10 %
    assert v["density MAPE all, %"]["worst_generator"] == "twin"
    # the release's judges are the held-out generators alone: the twin trains the model
    assert v["density MAPE all, %"]["worst_held_out"] == "independent"
    assert v["density MAPE all, %"]["met"] is False
    worst = v["density MAPE worst group, %"]["generators"]["independent"]
    assert worst["value"] == 12.0 and worst["note"] == "hair_length=long"  # scale: not judged
    assert v["terminal recall 60 um"]["worst_generator"] == "independent"
    gap = v["|INT8 - FP32| density MAPE, points"]["generators"]
    assert gap["independent"]["value"] == pytest.approx(2.0) and gap["twin"]["met"] is True
    assert v["hairless skin read, max hairs/cm2"]["met"] is None
    assert v["hairless skin read, max hairs/cm2"]["worst_held_out"] is None
    data["blind4"] = {"int8": figs(30.0, 40.0, 0.5), "fp32": figs(30.0, 40.0, 0.5)}
    data["blind"] = {"int8": figs(90.0, 99.0, 0.1), "fp32": figs(90.0, 99.0, 0.1)}
    v = {x["target"]: x for x in judge(data)}
    assert v["density MAPE all, %"]["worst_generator"] == "blind"  # gives training frames
    assert v["density MAPE all, %"]["worst_held_out"] == "blind4"
    text = verdict_lines(judge(data), None)
    assert "held-out: blind4" in text and "blind* 90.000" in text and "blind4 30.000" in text


def test_twin_tips_follow_its_shafts_and_refuse_a_changed_twin() -> None:
    from sim.config import ScalpConfig
    from sim.generality.cases import twin_ends
    from sim.render import View, scalp_truth
    from sim.scalp import generate_scalp

    world = generate_scalp(ScalpConfig(seed=5, extent_mm=12.0, hair_length="trimmed"))
    view = View(0.0, 0.0, 0.0, 8.0, 640, 480)
    truth = scalp_truth(world, view)
    ends = twin_ends(world, truth)
    assert ends is not None
    tips, outside = ends
    assert len(tips) > 10 and outside
    assert all(tip["cut"] for tip in tips)  # every hair trimmed
    # a trimmed shaft is nearly straight: every tip lies about one shaft length from a root
    hs = world.hairs
    u, v = view.world_to_pixel(hs.x_mm, hs.y_mm)
    reach = hs.length_mm * 1000.0 / 8.0
    for tip in tips:
        gap = np.abs(np.hypot(u - tip["x_px"], v - tip["y_px"]) - reach)
        assert gap.min() < 0.05 * reach[np.argmin(gap)] + 0.5
    truth["hairs"][0]["x_px"] += 1.0
    assert twin_ends(world, truth) is None


@pytest.mark.slow
def test_bench_runs_end_to_end_on_a_few_images(tmp_path: Path) -> None:
    from inference.model import packaged_models_dir
    from sim.generality import run

    out = run(
        models_dir=None,
        baseline_dir=packaged_models_dir(),
        n=1,
        n_hairless=1,
        n_twin=0,
        workers=1,
        threads=1,
        repeats=0,
        cache_dir=tmp_path,
    )
    figs = out["figures"]["independent"]
    assert set(figs) == {"int8", "fp32"}
    assert figs["int8"]["all"]["n"] == 2 and figs["int8"]["all"]["hairless_n"] == 1
    assert figs["int8"]["hair_length=hairless"]["hairless_max_per_cm2"] is not None
    # every image also sits in one band of its true density, bare skin in its own
    bands = {g for g in figs["int8"] if g.startswith("density_band=")}
    assert "density_band=bare" in bands and len(bands) == 2
    assert figs["int8"]["density_band=bare"]["hairless_n"] == 1
    rows = out["text"].split("== independent", 1)[1].split("==", 1)[0].splitlines()
    order = [r.split()[0] for r in rows if r.startswith("density_band=")]
    assert order[0] == "density_band=bare"
    assert len(list(tmp_path.glob("independent-*.npz"))) == 2
    assert len(list(tmp_path.glob("blind-*.npz"))) == 2  # the second independent generator
    assert len(list(tmp_path.glob("blind2-*.npz"))) == 2  # and the third
    assert len(list(tmp_path.glob("blind3-*.npz"))) == 2  # and the fourth
    assert len(list(tmp_path.glob("blind4-*.npz"))) == 2  # and the fifth
    assert len(list(tmp_path.glob("blind5-*.npz"))) == 2  # and the sixth
    assert len(list(tmp_path.glob("blind6-*.npz"))) == 2  # and the seventh
    assert len(list(tmp_path.glob("blind7-*.npz"))) == 2  # and the eighth
    assert len(list(tmp_path.glob("blind8-*.npz"))) == 2  # and the ninth
    assert len(list(tmp_path.glob("blind9-*.npz"))) == 2  # and the tenth
    assert len(list(tmp_path.glob("blind10-*.npz"))) == 2  # and the eleventh
    assert len(list(tmp_path.glob("blind11-*.npz"))) == 2  # and the twelfth
    assert len(list(tmp_path.glob("blind12-*.npz"))) == 2  # and the thirteenth
    assert len(list(tmp_path.glob("blind13-*.npz"))) == 2  # and the fourteenth
    assert len(list(tmp_path.glob("blind14-*.npz"))) == 2  # and the fifteenth
    assert len(list(tmp_path.glob("blind15-*.npz"))) == 2  # and the sixteenth
    assert len(list(tmp_path.glob("blind16-*.npz"))) == 2  # and the seventeenth
    assert len(list(tmp_path.glob("blind17-*.npz"))) == 2  # and the eighteenth
    assert len(list(tmp_path.glob("blind18-*.npz"))) == 2  # and the nineteenth
    assert len(list(tmp_path.glob("blind19-*.npz"))) == 2  # and the twentieth
    assert len(list(tmp_path.glob("blind20-*.npz"))) == 2  # and the twenty-first
    assert len(list(tmp_path.glob("blind21-*.npz"))) == 2  # and the twenty-second
    assert len(list(tmp_path.glob("blind22-*.npz"))) == 2  # and the twenty-third
    assert out["figures"]["blind"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind2"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind3"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind4"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind5"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind6"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind7"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind8"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind9"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind10"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind11"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind12"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind13"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind14"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind15"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind16"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind17"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind18"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind19"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind20"]["int8"]["all"]["hairless_n"] == 1
    assert out["figures"]["blind21"]["int8"]["all"]["hairless_n"] == 1
    # blind-22 draws a twentieth of its sites bare, its first among them: two bare frames
    assert out["figures"]["blind22"]["int8"]["all"]["hairless_n"] == 2
    assert "== independent" in out["text"] and "worst generator per target" in out["text"]
    assert "== blind" in out["text"]
    assert "MAE /cm2" in out["text"] and figs["int8"]["all"]["density_mae_per_cm2"] is not None
    assert len(out["targets"]) == 9 and out["targets"][0]["target"] == "density MAPE all, %"
    generators = {"independent", "twin", "blind", *(f"blind{k}" for k in range(2, 23))}
    assert set(out["targets"][0]["generators"]) == generators
    assert out["latency"] is None and len(out["images"]) == 47
    # every image carries the second opinion's fields and each variant's review reasons,
    # and the review table counts every image once per generator
    for row in out["images"]:
        assert isinstance(row["second_opinion"]["applicable"], bool)
        assert isinstance(row["int8"]["review_reasons"], list)
        assert isinstance(row["fp32"]["review_reasons"], list)
        for v in ("int8", "fp32"):  # one kind per reason
            assert len(row[v]["review_kinds"]) == len(row[v]["review_reasons"])
    assert set(out["review"]) == generators and "== review flags" in out["text"]
    assert sum(
        sum(v for k, v in g.items() if k.endswith(("_bad", "_fair", "_good")))
        for g in out["review"].values()
    ) == len(out["images"])
    # bare skin on the twin too: one render with every hair shed, scored as hairless
    twin = out["figures"]["twin"]["int8"]
    assert twin["all"]["hairless_n"] == 1 and twin["all"]["n_with_hairs"] == 0
    assert twin["hair_length=hairless"]["hairless_max_per_cm2"] is not None


def test_density_bands_cover_every_density_once_and_print_in_order() -> None:
    from sim.generality.bench import _order
    from sim.generality.cases import DENSITY_BANDS, density_band

    assert density_band(0.0, True) == "bare" and density_band(250.0, True) == "bare"
    assert [density_band(d, False) for d in (0.0, 29.9, 30.0, 79.9, 80.0, 149.9, 150.0, 1e4)] == [
        "<30",
        "<30",
        "30-80",
        "30-80",
        "80-150",
        "80-150",
        ">=150",
        ">=150",
    ]
    groups = [f"density_band={n}" for _, n in reversed(DENSITY_BANDS)] + ["density_band=bare"]
    printed = sorted(groups, key=_order)
    assert printed == ["density_band=bare", *(f"density_band={n}" for _, n in DENSITY_BANDS)]
    # printed together, among the other factors in their alphabetical place
    mixed = sorted([*groups, "contact=yes", "light=polarised", "all"], key=_order)
    assert mixed == ["all", "contact=yes", *printed, "light=polarised"]


def test_the_bench_cache_key_follows_drawing_code_not_the_training_recipe(tmp_path: Path) -> None:
    from sim.generality.cases import _source_key

    for name in ("render.py", "model_recipe.py", "dataset.py"):
        (tmp_path / name).write_text("x = 1\n")
    key = _source_key(tmp_path)
    for name in ("model_recipe.py", "dataset.py"):
        (tmp_path / name).write_text("x = 2  # a new training option\n")
    assert _source_key(tmp_path) == key
    (tmp_path / "render.py").write_text("x = 2  # a changed drawing\n")
    assert _source_key(tmp_path) != key
