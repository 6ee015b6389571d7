"""Two bench runs compared image by image (sim/generality/compare.py, scripts/compare_bench.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from sim.generality.compare import NotComparable, log_slope, main, paired, report


def _run(reads: dict[str, tuple[str, float, float]]) -> dict[str, object]:
    """A bench --json run: image name -> (generator, true density, INT8 read)."""
    return {
        "images": [
            {
                "image": name,
                "generator": gen,
                "true_density_per_cm2": true,
                "int8": {"density_per_cm2": read},
                "fp32": {"density_per_cm2": read},
            }
            for name, (gen, true, read) in reads.items()
        ]
    }


TRUTH = {f"twin-{i}": ("twin", 100.0 + i) for i in range(6)} | {"twin-bare": ("twin", 0.0)}


def _reads(errors: list[float], bare: float) -> dict[str, tuple[str, float, float]]:
    out = {}
    for (name, (gen, t)), e in zip(list(TRUTH.items())[:6], errors, strict=True):
        out[name] = (gen, t, t * (1 + e))
    out["twin-bare"] = ("twin", 0.0, bare)
    return out


def test_a_consistent_gain_is_seen_and_a_scattered_one_is_not() -> None:
    a = _run(_reads([0.2, -0.2, 0.2, -0.2, 0.2, -0.2], bare=10.0))
    better = _run(_reads([0.1, -0.1, 0.1, -0.1, 0.1, -0.1], bare=4.0))
    (row,) = paired(a, better)
    assert row.n == 6 and row.bare_n == 1
    assert row.mape_a == pytest.approx(20.0) and row.mape_b == pytest.approx(10.0)
    assert row.diff == pytest.approx(-10.0) and row.se == pytest.approx(0.0, abs=1e-9)
    assert row.bare_mean_a == 10.0 and row.bare_mean_b == 4.0
    assert row.verdict == "b better"
    assert paired(better, a)[0].verdict == "b worse"
    # the same mean gain, but image by image it goes either way: not a difference
    mixed = _run(_reads([0.0, -0.4, 0.0, -0.4, 0.0, 0.0], bare=10.0))
    (row,) = paired(a, mixed)
    assert row.diff == pytest.approx(-20 / 3)  # per image -20, +20, -20, +20, -20, -20
    assert row.se == pytest.approx(8.43, abs=0.01)
    assert row.verdict == "within noise"
    assert "within noise" in report([row])


def test_a_generator_only_one_run_holds_is_left_out() -> None:
    """A run from before a generator was added still compares on the generators both hold."""
    a = _run(_reads([0.1] * 6, bare=1.0))
    b = _run(_reads([0.05] * 6, bare=1.0) | {"blind-0000": ("blind", 150.0, 120.0)})
    (row,) = paired(a, b)
    assert row.generator == "twin" and row.n == 6 and row.diff == pytest.approx(-5.0)


def test_a_generator_with_bare_images_only_says_so() -> None:
    """A run with --twin 0 keeps the twin's bare images: no error to compare, only bare skin."""
    bare = _run({"twin-bare": ("twin", 0.0, 6.0)})
    (row,) = paired(bare, bare)
    assert row.n == 0 and row.bare_n == 1 and row.bare_mean_b == 6.0
    assert row.verdict == "bare only"
    line = report([row]).splitlines()[1]
    assert "bare only" in line and "nan" not in line and "inf" not in line and "6.0" in line


def test_runs_on_different_images_are_refused() -> None:
    a = _run(_reads([0.1] * 6, bare=1.0))
    fewer = json.loads(json.dumps(a))
    fewer["images"].pop()
    with pytest.raises(NotComparable, match="different images"):
        paired(a, fewer)
    moved = json.loads(json.dumps(a))
    moved["images"][0]["true_density_per_cm2"] += 1.0
    with pytest.raises(NotComparable, match="another true density"):
        paired(a, moved)


def test_the_script_prints_the_table_and_refuses_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fa, fb, junk = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "junk.json"
    fa.write_text(json.dumps(_run(_reads([0.2] * 6, bare=10.0))))
    fb.write_text(json.dumps(_run(_reads([0.1] * 6, bare=4.0))))
    junk.write_text('{"images": [{"image": "x", "generator": "twin"}]}')
    assert main([str(fa), str(fb)]) == 0
    out = capsys.readouterr().out
    assert "twin" in out and "b better" in out and "10.0 / 4.0" in out
    assert main([str(fa), str(junk)]) == 2
    assert "different images" in capsys.readouterr().err
    assert main([str(fa), str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_log_slope_sees_a_compressed_reader() -> None:
    true = [50.0, 100.0, 200.0, 300.0]
    assert log_slope(true, [2 * t for t in true]) == pytest.approx(1.0)  # biased, not compressed
    squeezed = [100.0 * (t / 100.0) ** 0.8 for t in true]
    assert log_slope(true, squeezed) == pytest.approx(0.8)
    assert math.isnan(log_slope(true[:2], true[:2]))  # too few points
    a = _run(_reads([0.0] * 6, bare=0.0))
    (row,) = paired(a, a)
    assert row.slope_a == pytest.approx(1.0) and row.slope_b == pytest.approx(1.0)


def _judged(gen: str, errors: list[float], tips: tuple[int, float] | None = None) -> dict[str, Any]:
    """A run of one generator's images (true 100 + i), with its figures' cut tips."""
    run = _run(
        {f"{gen}-{i:04d}": (gen, 100.0 + i, (100.0 + i) * (1 + e)) for i, e in enumerate(errors)}
    )
    if tips is not None:
        run["figures"] = {gen: {"int8": {"all": {"tips": tips[0], "tips_detected_pct": tips[1]}}}}
    return run


def test_a_side_of_several_runs_is_pooled_and_summarised_as_a_rule_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bench split over --generators groups: each side's runs pooled; the training rows'
    mean MAPE and cut tips (row mean and all tips), the held-out judges' per-image differences
    pooled, and a judge kept apart printed alone."""
    from sim.generality.compare import merge, pool, summary

    a = [
        _judged("blind", [0.2] * 4, (100, 10.0)),
        _judged("blind2", [0.2] * 4, (300, 30.0)),
        _judged("blind4", [0.2, -0.2, 0.2, -0.2]),
        _judged("blind9", [0.1] * 4),
    ]
    b = [
        _judged("blind", [0.1] * 4, (100, 20.0)),
        _judged("blind2", [0.2] * 4, (300, 30.0)),
        _judged("blind4", [0.1, -0.1, 0.1, -0.1]),
        _judged("blind9", [0.3] * 4),
    ]
    ma, mb = merge(a), merge(b)
    rows = {r.generator: r for r in paired(ma, mb)}
    assert set(rows) == {"blind", "blind2", "blind4", "blind9"}
    assert rows["blind9"].bias_a == pytest.approx(10.0) and rows["blind9"].bias_b == pytest.approx(
        30.0
    )
    both = pool([rows["blind4"], rows["blind9"]])
    assert both.n == 8 and both.diff == pytest.approx(5.0)  # -10 x 4 and +20 x 4
    alone = pool([rows["blind4"]])
    assert alone.diff == pytest.approx(-10.0) and alone.verdict == "b better"
    text = summary(list(rows.values()), ma, mb, apart=("blind9",))
    # training rows: MAPE (20 + 20) / 2 -> (10 + 20) / 2; tips row mean 20 -> 25, pooled 25 -> 27.5
    assert "mean MAPE 20.00 -> 15.00" in text
    assert "20.00 -> 25.00 % (all tips pooled 25.00 -> 27.50)" in text
    assert "held-out judges pooled (1, n = 4): -10.00" in text and "b better" in text
    assert "apart: blind9 +20.00" in text and "bias +10.0 -> +30.0 %" in text
    # the script: --a and --b take the runs of each side
    paths = {}
    for side, runs in (("a", a), ("b", b)):
        for i, run in enumerate(runs):
            paths.setdefault(side, []).append(tmp_path / f"{side}{i}.json")
            paths[side][-1].write_text(json.dumps(run))
    args = ["--a", *map(str, paths["a"]), "--b", *map(str, paths["b"]), "--apart", "blind9"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held-out judges pooled (1, n = 4)" in out and "apart: blind9" in out
    with pytest.raises(SystemExit):  # positional runs and --a/--b together
        main([str(paths["a"][0]), str(paths["b"][0]), "--a", str(paths["a"][1])])
    with pytest.raises(SystemExit):  # a judge's name mistyped is refused, not ignored
        main([*args[:-1], "blnd9"])
    assert "not one of" in capsys.readouterr().err


def test_merging_keeps_two_images_of_one_name_apart_and_refuses_two_reads_of_one() -> None:
    """Runs with other --twin counts name different twin images alike (a --twin 0 run keeps
    the bare ones): both are kept, named by what they are, alike on both sides; one image
    read two ways on one side is refused."""
    from sim.generality.compare import merge

    with_hair = _run({"twin-0000": ("twin", 120.0, 130.0)})
    bare = _run({"twin-0000": ("twin", 0.0, 2.0)})
    bare["images"][0]["um_per_px"] = 9.0
    one = merge([with_hair, bare])
    names = sorted(im["image"] for im in one["images"])
    assert len(names) == 2 and all(n.startswith("twin-0000~") for n in names)
    other = merge([bare, with_hair])  # the other order names them alike
    assert names == sorted(im["image"] for im in other["images"])
    (row,) = paired(one, other)
    assert row.n == 1 and row.bare_n == 1 and row.diff == pytest.approx(0.0)
    misread = json.loads(json.dumps(with_hair))
    misread["images"][0]["int8"]["density_per_cm2"] = 90.0
    with pytest.raises(NotComparable, match="different reads"):
        merge([with_hair, misread])
    assert len(merge([with_hair, with_hair])["images"]) == 1  # the same read twice is one


def test_near_bald_frames_are_judged_in_hairs_apart_from_the_frames_with_hair(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A candidate that reads every near-bald frame 3 hairs/cm² higher and the dense frames
    alike: its MAPE over all frames is carried by the sparse ones (3 hairs on 5 is +60 points),
    the split says where the change is and how big it is in hairs."""
    from sim.generality.compare import NEAR_BALD_PER_CM2, pool, report_apart, summary

    def run(extra: float) -> dict[str, Any]:
        reads: dict[str, tuple[str, float, float]] = {}
        for i in range(4):  # dense: each read 10 % high, in both runs
            reads[f"blind8-d{i}"] = ("blind8", 150.0 + i, (150.0 + i) * 1.1)
        for i in range(4):  # near-bald: 5-8 hairs/cm², read 2 high, and ``extra`` more
            reads[f"blind8-s{i}"] = ("blind8", 5.0 + i, 7.0 + i + extra + 0.5 * (i % 2))
        reads["blind8-bare"] = ("blind8", 0.0, 4.0 + extra)
        return _run(reads)

    a, b = run(0.0), run(3.0)
    (row,) = paired(a, b)
    assert NEAR_BALD_PER_CM2 == 30.0
    assert row.n == 8 and row.verdict == "b worse"  # all frames with hair: carried by 4 sparse
    assert row.hair.n == 4 and row.hair.diff == pytest.approx(0.0)
    assert row.hair.verdict == "within noise"
    assert row.hair_mape_a == pytest.approx(10.0)
    sparse = row.sparse
    assert sparse.n == 5 and sparse.diff == pytest.approx(3.0)  # bare frame included
    assert row.sparse_mae_a == pytest.approx((2.0 + 2.5 + 2.0 + 2.5 + 4.0) / 5)
    assert pool([row], "sparse").diff == pytest.approx(3.0)
    assert pool([row], "hair").n == 4
    table = report_apart([row])
    assert "hairs/cm²" in table and "+3.0" in table and "b worse" in table
    text = summary([row], a, b)
    assert "frames >= 30 hairs/cm² (n = 4): +0.00 points" in text
    assert "frames < 30 hairs/cm², bare included (n = 5): +3.00 hairs/cm² off" in text
    assert "worse beyond noise: blind8" in text.splitlines()[-1]
    # the script prints both
    fa, fb = tmp_path / "a.json", tmp_path / "b.json"
    fa.write_text(json.dumps(a))
    fb.write_text(json.dumps(b))
    assert main([str(fa), str(fb)]) == 0
    assert "frames < 30 (bare included)" in capsys.readouterr().out


def test_a_generators_figures_come_from_the_run_that_benched_it_in_any_order() -> None:
    """Every run of a split bench keeps the twin's bare frames: a --twin 0 run's twin figures
    (no tips) must not stand for the run that benched the twin, whichever is given first."""
    from sim.generality.compare import merge, tips_read

    benched = _judged("twin", [0.1] * 4, (200, 12.0))
    bare_only = _run({"twin-bare": ("twin", 0.0, 3.0)})
    bare_only["figures"] = {"twin": {"int8": {"all": {"tips": 0, "tips_detected_pct": None}}}}
    for runs in ([bare_only, benched], [benched, bare_only]):
        assert tips_read(merge(runs), ["twin"]) == (12.0, 12.0)


def test_a_candidate_is_judged_against_both_seeds_of_the_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond noise against the shipped run but not against a second run of its recipe: not a
    difference the recipe's own seeds leave room to call; beyond both: it is."""
    from sim.generality.compare import merge, seed_summary

    def side(judge: list[float], tips: float) -> list[dict[str, Any]]:
        return [_judged("blind", [0.1] * 4, (100, tips)), _judged("blind4", judge)]

    shipped = side([0.10, 0.12, 0.10, 0.12], 10.0)
    reseed = side([0.20, 0.22, 0.20, 0.22], 14.0)  # the recipe again: its judge 10 points worse
    between = side([0.15, 0.16, 0.15, 0.16], 12.0)  # worse than shipped, better than the reseed
    beyond = side([0.30, 0.33, 0.30, 0.33], 16.0)  # worse than both
    a, r = merge(shipped), merge(reseed)
    text = seed_summary(a, r, merge(between))
    assert "seeds 10.00 / 14.00 %, b 12.00 (between)" in text
    assert "r - a +10.00" in text and "not beyond the recipe's seeds" in text
    assert "judges worse than both seeds beyond noise: none" in text
    text = seed_summary(a, r, merge(beyond))
    assert "(above both)" in text and "b worse than both seeds" in text
    assert "judges worse than both seeds beyond noise: blind4" in text
    # the script: --reseed gives the second seed's runs; a file that is not a run is refused
    paths: dict[str, list[str]] = {}
    for name, runs in (("a", shipped), ("r", reseed), ("b", beyond)):
        for i, run in enumerate(runs):
            f = tmp_path / f"{name}{i}.json"
            f.write_text(json.dumps(run))
            paths.setdefault(name, []).append(str(f))
    assert main(["--a", *paths["a"], "--b", *paths["b"], "--reseed", *paths["r"]]) == 0
    assert "against the recipe's two seeds" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["--a", *paths["a"], "--b", *paths["b"], "--reseed", str(bad)]) == 2
    assert "--reseed" in capsys.readouterr().err


def test_the_recipes_mean_over_seeds_adds_their_spread_to_the_images_noise() -> None:
    from sim.generality.compare import against_recipe, noise_limit

    # two seeds, each |err| minus the candidate's, on three images: seed 0 reads every image
    # 2 points worse than the candidate, seed 1 4 points; their mean 3, their offsets -1 / +1
    x = against_recipe([[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]])
    assert (x.n, x.k, x.diff, x.se_images) == (3, 2, -3.0, 0.0)
    assert x.seed_sd == pytest.approx(math.sqrt(2.0))
    assert x.se == pytest.approx(math.sqrt(2.0 * 1.5))  # its own seed and the mean's
    assert x.dof == pytest.approx(1.0)  # the seeds' part alone: one degree of freedom
    assert x.limit == pytest.approx(noise_limit(1) * x.se)
    assert x.verdict == "within the recipe's spread"  # 3 points, one seed's SD 1.4: no call
    assert noise_limit(math.inf) == 2.0 and noise_limit(1000) == pytest.approx(2.0, abs=0.01)
    assert 4.4 < noise_limit(2) < 4.7  # three seeds' SD is itself rough
    with pytest.raises(ValueError, match="each image"):
        against_recipe([[1.0, 2.0], [1.0]])


def test_a_candidate_is_judged_against_the_mean_of_several_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three runs of a recipe 1 point apart on a judge: a candidate 1 point off their mean is
    one more seed; 12 points off, with images that agree, is beyond the seeds and the images."""
    from sim.generality.compare import merge, recipe_summary

    wobble = [0.02, -0.02, 0.02, -0.02, 0.02, -0.02]  # per image: the images' noise

    def side(level: float, tips: float) -> list[dict[str, Any]]:
        judge = [level + w for w in wobble]
        return [_judged("blind", [0.1] * 6, (100, tips)), _judged("blind4", judge)]

    seeds = [side(0.10, 10.0), side(0.11, 11.0), side(0.12, 12.0)]
    one_more = side(0.12, 12.5)
    beyond = side(0.23, 20.0)
    merged = [merge(s) for s in seeds]
    text = recipe_summary(merged, merge(one_more))
    assert "mean over 3 seeds" in text
    assert "seeds 10.00 / 11.00 / 12.00 % (mean 11.00, SD 1.00), b 12.50: within" in text
    assert "b - mean +1.00 points" in text and ": worse than the recipe" not in text
    assert "judges worse than the recipe beyond image and seed noise: none" in text
    text = recipe_summary(merged, merge(beyond))
    assert "b 20.00: above the recipe's seeds" in text
    assert "b - mean +12.00 points" in text
    assert "judges worse than the recipe beyond image and seed noise: blind4" in text
    with pytest.raises(ValueError, match="two or more"):
        recipe_summary(merged[:1], merge(beyond))
    # the script: one --reseed per seed; a seed's runs that cover other images are refused
    paths: dict[str, list[str]] = {}
    for name, runs in (("a", seeds[0]), ("r1", seeds[1]), ("r2", seeds[2]), ("b", beyond)):
        for i, run in enumerate(runs):
            f = tmp_path / f"{name}{i}.json"
            f.write_text(json.dumps(run))
            paths.setdefault(name, []).append(str(f))
    args = ["--a", *paths["a"], "--b", *paths["b"], "--reseed", *paths["r1"]]
    assert main([*args, "--reseed", *paths["r2"]]) == 0
    out = capsys.readouterr().out
    assert "mean over 3 seeds" in out and "against the recipe's two seeds" not in out
    assert main(args) == 0  # one --reseed: each of the two seeds, and their mean
    out = capsys.readouterr().out
    assert "against the recipe's two seeds" in out and "mean over 2 seeds" in out
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_judged("blind4", [0.1] * 5)))
    assert main([*args, "--reseed", str(other)]) == 2
    assert "different images" in capsys.readouterr().err


def test_levelled_a_change_of_level_is_no_change_and_a_change_in_finding_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--level training``: each model's reads scaled so that its median read/true over the
    training sources' frames with hair is 1. A candidate that only reads everything 10 %
    higher makes a judge that reads 30 % low read better unlevelled, and no better levelled;
    one that reads that judge higher alone keeps its gain."""
    from sim.generality.compare import level

    judge = {f"blind21-{i}": ("blind21", 100.0 + 10 * i) for i in range(5)}
    judge["blind21-sparse"] = ("blind21", 10.0)  # near-bald: not in the level's median

    def side(gain: float, judge_gain: float) -> dict[str, object]:
        reads = {
            k: (g, t, t * (1.0 + 0.05 * (i % 3 - 1)) * gain)
            for i, (k, (g, t)) in enumerate(TRUTH.items())
            if t > 0
        }
        reads |= {k: (g, t, 0.7 * t * judge_gain * gain) for k, (g, t) in judge.items()}
        return _run(reads)

    shipped, higher, finds = side(1.0, 1.0), side(1.1, 1.0), side(1.0, 1.2)
    got, scale = level(higher)
    assert scale == pytest.approx(1 / 1.1)
    assert level(shipped)[1] == pytest.approx(1.0)
    assert level(shipped, "fp32")[1] == pytest.approx(1.0)
    # near-bald frames are scaled too but do not set the level
    sparse = next(im for im in got["images"] if im["image"] == "blind21-sparse")
    assert sparse["int8"]["density_per_cm2"] == pytest.approx(7.0)

    def blind21(a: dict[str, object], b: dict[str, object]) -> float:
        return next(r.diff for r in paired(a, b) if r.generator == "blind21")

    assert blind21(shipped, higher) == pytest.approx(-7.0)  # 30 % low -> 23 % low
    assert blind21(level(shipped)[0], level(higher)[0]) == pytest.approx(0.0, abs=1e-9)
    assert blind21(level(shipped)[0], level(finds)[0]) == pytest.approx(-14.0)  # 30 -> 16 % low

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(shipped))
    b.write_text(json.dumps(higher))
    assert main([str(a), str(b), "--level", "training"]) == 0
    out = capsys.readouterr().out
    assert (
        "levelled on the training sources' frames >= 30 hairs/cm2: a reads x 1.0000, b x 0.9091"
        in out
    )
    # a run without the training sources cannot be levelled: said, not guessed
    only_judge = _run({k: (g, t, t) for k, (g, t) in judge.items()})
    with pytest.raises(NotComparable, match="needs the training sources' frames"):
        level(only_judge)
    b.write_text(json.dumps(only_judge))
    assert main(["--a", str(b), "--b", str(b), "--level", "training"]) == 2
    assert "needs the training sources' frames" in capsys.readouterr().err


def test_the_summary_pairs_the_terminal_recall_image_by_image(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Runs that keep each image's [roots found, roots] get a recall line for the training rows
    and one for the pooled judges; a candidate finding one more root on every judge image is
    better beyond noise, one that finds one more on one image of four is within it; older runs
    without the field print none."""
    from sim.generality.compare import merge, recall_read, summary

    def with_recall(run: dict[str, Any], found: list[int], roots: int = 10) -> dict[str, Any]:
        for im, k in zip(run["images"], found, strict=True):  # type: ignore[union-attr]
            for v in ("int8", "fp32"):
                im[v]["terminal_recall"] = [k, roots]
        return run

    a = merge([with_recall(_judged("blind", [0.1] * 4), [3] * 4)])
    a = merge([a, with_recall(_judged("blind4", [0.1] * 4), [2, 3, 4, 5])])
    b = merge([with_recall(_judged("blind", [0.1] * 4), [3, 3, 3, 4])])
    b = merge([b, with_recall(_judged("blind4", [0.1] * 4), [3, 4, 5, 6])])
    rows = paired(a, b)
    text = summary(rows, a, b)
    assert "training rows' terminal recall 0.300 -> 0.325 (40 roots in 4 images; per image " in text
    assert "+0.25 roots" in text and "within noise" in text.split("\n")[1]
    judges = [line for line in text.split("\n") if "judges' terminal recall" in line]
    assert judges == [
        "  judges' terminal recall 0.350 -> 0.450 (40 roots in 4 images; per image +1.00 "
        "roots, SE 0.00, b better)"
    ]
    assert recall_read(_judged("blind", [0.1]), _judged("blind", [0.1]), ["blind"]) is None


def test_the_summary_pairs_the_count_near_the_roots_when_the_runs_have_it() -> None:
    """Runs benched with --near-roots keep each image's [count near the roots, hairs]: the
    summary pools it per true hair and pairs it image by image, saying higher or lower (not
    better: a model that reads more puts more near the roots too)."""
    from sim.generality.compare import merge, near_roots_read, summary

    def with_near(run: dict[str, Any], near: list[float]) -> dict[str, Any]:
        for im, k in zip(run["images"], near, strict=True):  # type: ignore[union-attr]
            im["int8"]["near_roots_96um"] = [k, 10]
        return run

    a = merge([with_near(_judged("blind4", [0.1] * 4), [4.0, 4.1, 3.9, 4.0])])
    b = merge([with_near(_judged("blind4", [0.1] * 4), [5.0, 5.2, 4.9, 5.1])])
    text = summary(paired(a, b), a, b)
    [line] = [x for x in text.split("\n") if "within 96 um" in x]
    assert "per true hair 0.400 -> 0.505 (40 hairs in 4 images; per image +1.05 hairs" in line
    assert line.endswith("b higher)")
    assert "b lower)" in (near_roots_read(b, a, ["blind4"]) or "")
    assert near_roots_read(_judged("blind4", [0.1]), _judged("blind4", [0.1]), ["blind4"]) is None
