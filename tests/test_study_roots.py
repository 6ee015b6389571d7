"""scripts/study_roots.py, sim.generality.roots and roots_report: the bench's recall split by
how each root looks, on hand-drawn frames, a small twin world and one generator frame; and
sim.heldout.metrics.root_finders, the matching it counts by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference import HairModel
from sim.generality.bench import build_all
from sim.generality.cases import Case
from sim.generality.roots import (
    hair_mask,
    root_measures,
    study,
    study_image,
    truth_shafts,
    twin_shafts,
)
from sim.generality.roots_report import overlap, report, with_quartiles
from sim.generality.tips import factor_rows
from sim.heldout.metrics import hair_finders, match_emergence, root_finders, score


def test_root_finders_name_the_claiming_detection_as_the_bench_matches() -> None:
    two = [(0.0, 0.0), (3.0, 0.0)]
    # one detection of one hair claims the nearer root only; of two hairs, both
    assert root_finders(two, [(1.0, 0.0)], [1], 5.0).tolist() == [0, -1]
    assert root_finders(two, [(1.0, 0.0)], [2], 5.0).tolist() == [0, 0]
    # the closest pair first: (2.9, 0) takes (3, 0), though (0, 0) is within reach too
    assert root_finders(two, [(9.0, 0.0), (2.9, 0.0)], [1, 1], 5.0).tolist() == [-1, 1]
    assert root_finders(two, [], [], 5.0).tolist() == [-1, -1]
    with pytest.raises(ValueError, match="one entry per detection"):
        root_finders(two, [(1.0, 0.0)], [1, 1], 5.0)
    rng = np.random.default_rng(3)
    for _ in range(20):
        t, d = rng.uniform(0, 30, (12, 2)), rng.uniform(0, 30, (8, 2))
        n = rng.integers(1, 3, 8)
        found = root_finders(t, d, n, 4.0)
        assert (match_emergence(t, d, n, 4.0) == (found >= 0)).all()
        claimed = np.bincount(found[found >= 0], minlength=8)
        assert (claimed <= n).all()  # a detection claims no more roots than it reports
        for i, j in enumerate(found):  # each within the radius of its finder
            assert j < 0 or np.hypot(*(t[i] - d[j])) <= 4.0


UPP = 10.0  # um/px: the bench's 60 um is 6 px
SKIN, DARK = 0.8, 0.3


def _frame() -> tuple[np.ndarray[Any, Any], dict[str, Any]]:
    """A 300x200 frame of flat skin: A at (60, 100) on a dark opening 130 um across with a
    dark shaft to the right; B at (200, 100), the same shaft and no opening; C at (150, 40),
    a vellus root drawn as nothing, which D's shaft (rooted at (100, 43), to the right)
    passes 3 px away; E's shaft (rooted at (180, 195), up) crosses B's skin annulus."""
    luma = np.full((200, 300), SKIN)
    yy, xx = np.mgrid[0:200, 0:300]
    luma[np.hypot(xx - 60, yy - 100) <= 13] = DARK
    luma[96:105, 60:121] = DARK  # A's shaft, 80 um across
    luma[96:105, 200:261] = DARK  # B's
    luma[42:45, 100:201] = DARK  # D's, 30 um
    luma[125:196, 178:183] = DARK  # E's, 50 um
    img = np.repeat((luma * 255).round().astype(np.uint8)[..., None], 3, axis=2)

    def hair(x: float, y: float, d: float, deg: float, length: float) -> dict[str, Any]:
        return {"x_px": x, "y_px": y, "diameter_um": d, "direction_deg": deg, "length_um": length}

    truth = {
        "um_per_px": UPP,
        "width": 300,
        "height": 200,
        "density_per_cm2": 83.3,
        "mean_diameter_um": 60.0,
        "vellus_fraction": 0.2,
        "factors": {"skin_tone": "light"},
        "hairs": [
            hair(60.0, 100.0, 80.0, 0.0, 600.0),
            hair(200.0, 100.0, 80.0, 0.0, 600.0),
            hair(150.0, 40.0, 20.0, 270.0, 0.0),
            hair(100.0, 43.0, 30.0, 0.0, 1000.0),
            hair(180.0, 195.0, 50.0, 270.0, 700.0),
        ],
    }
    return img, truth


def _read(points: list[tuple[float, float, int]]) -> dict[str, Any]:
    pts = [{"x_px": x, "y_px": y, "hairs": n, "diameter_um": 80.0} for x, y, n in points]
    return {"density_per_cm2": 1.0, "mean_diameter_um": 80.0, "vellus_fraction": 0.0,
            "emergence_points": pts}  # fmt: skip


def test_an_opening_is_measured_against_the_skin_beside_it() -> None:
    img, truth = _frame()
    luma = img[..., 0].astype(np.float64) / 255.0
    shafts, outside = truth_shafts(truth)
    assert outside == [] and all(s is not None and s.whole for s in shafts)
    mask = hair_mask(luma.shape, shafts)
    assert mask[100, 90] and mask[43, 150] and mask[160, 180] and not mask[70, 90]
    a, b, c = (root_measures(luma, mask, truth["hairs"][i], shafts[i], UPP) for i in range(3))
    for m in (a, b, c):  # A's own shaft and E's cross the annuli: left out
        assert m["skin"] == pytest.approx(SKIN, abs=0.01)
    assert a["opening"] == pytest.approx(SKIN - DARK, abs=0.02)  # the disc all opening
    assert a["behind"] == pytest.approx(SKIN - DARK, abs=0.01)  # 40-120 um behind it
    assert b["behind"] == pytest.approx(0.0, abs=0.01)  # no opening behind B
    assert 0.15 < b["opening"] < 0.35  # its disc half shaft
    assert a["shaft"] == b["shaft"] == pytest.approx(SKIN - DARK, abs=0.01)
    assert c["opening"] == pytest.approx(0.0, abs=0.01)  # a root drawn as nothing
    assert c["shaft"] == pytest.approx(0.0, abs=0.01)


def test_each_root_is_found_by_the_bench_s_matching_and_its_neighbours_told() -> None:
    img, truth = _frame()
    case = Case("blind21", 0, {})
    # one detection of one hair on A, one between B and nothing else; a stray far away
    read = _read([(61.0, 101.0, 1), (203.0, 100.0, 1), (10.0, 10.0, 1)])
    roots, bench = study_image(case, img, truth, read)
    assert [r.read for r in roots] == [True, True, False, False, False]
    assert [r.terminal for r in roots] == [True, True, False, True, True]
    s = score(truth, read)
    assert bench == {"terminal": s.terminal, "terminal_hit": s.terminal_hit,
                     "vellus": s.vellus, "vellus_hit": s.vellus_hit}  # fmt: skip
    assert (s.terminal_hit, s.terminal) == (2, 4)
    # where the nearest detection sits: B's 30 um up its shaft, A's 10, C's far off
    assert roots[1].measures["nearest_um"] == pytest.approx(30.0)
    assert roots[1].measures["nearest_along_um"] == pytest.approx(30.0)
    assert roots[0].measures["nearest_along_um"] == pytest.approx(10.0)
    assert "nearest_along_um" not in roots[2].measures  # 800 um and more away
    assert roots[2].factors["nearest detection, um"] == ">=250"
    by = {i: r.factors for i, r in enumerate(roots)}
    assert by[2]["another shaft within 60 um"] == "crossed"  # D's, 30 um from C
    assert by[0]["another shaft within 60 um"] == "clear"
    assert by[0]["opening contrast (skin - root luma)"] == ">=0.35"
    assert by[1]["behind-root contrast (skin - root luma)"] in ("<0", "0-0.05")
    assert by[2]["diameter, um"] == "<30"
    assert by[4]["frame edge, um"] == "<60"
    assert by[0]["skin_tone"] == "light"
    # one detection of one hair between two mates: one found, both near
    truth["hairs"][1]["x_px"] = 64.0
    found, near = hair_finders(truth, _read([(62.0, 100.0, 1)]), 6.0)
    assert (found >= 0).sum() == 1 and near[:2].all()
    roots, _ = study_image(case, img, truth, _read([(62.0, 100.0, 1)]))
    assert roots[0].factors["other roots within 60 um"] == "1"
    assert sum(r.read for r in roots) == 1 and sum(r.near for r in roots) == 2


def test_quartiles_split_a_measure_four_ways_and_overlap_compares_samples() -> None:
    img, truth = _frame()
    roots, _ = study_image(Case("blind21", 0, {}), img, truth, _read([]))
    roots = roots * 4  # 20 roots, five values
    q = factor_rows(with_quartiles(roots, "opening", "q"))["q"]
    assert sum(r.n for r in q.values()) == 20 and len(q) >= 2
    assert all(v.startswith(("Q1", "Q2", "Q3", "Q4")) for v in q)
    a = np.linspace(0.0, 0.2, 50)
    assert overlap(a, a) == pytest.approx(1.0)
    assert overlap(a, a + 1.0) == 0.0
    assert 0.3 < overlap(a, a + 0.1) < 0.7


def test_twin_shafts_start_at_their_roots_and_follow_the_drawn_ones() -> None:
    from sim.config import ScalpConfig
    from sim.generality.cases import twin_ends
    from sim.render import View, scalp_truth
    from sim.scalp import generate_scalp

    cfg = ScalpConfig(seed=5, extent_mm=12.0, hair_length="trimmed")
    world = generate_scalp(cfg)
    view = View(0.0, 0.0, 0.0, 8.0, 640, 480)
    truth = scalp_truth(world, view)
    truth["scalp"] = cfg.model_dump()
    own, outside = twin_shafts(truth)
    assert len(own) == len(truth["hairs"]) > 10 and outside
    for h, s in zip(truth["hairs"], own, strict=True):
        assert s is not None
        assert np.hypot(s.points[0, 0] - h["x_px"], s.points[0, 1] - h["y_px"]) < 0.02
    ends = twin_ends(world, truth)
    assert ends is not None
    last = np.array([s.points[-1] for s in [*own, *outside] if s is not None])
    # every cut end the bench lists is the end of one of these shafts (drawn in finer
    # steps here: the curved ones end a little apart)
    for tip in ends[0]:
        assert np.hypot(last[:, 0] - tip["x_px"], last[:, 1] - tip["y_px"]).min() < 0.5


def test_roots_found_add_up_to_the_bench_s_recall_on_a_generator_frame(tmp_path: Path) -> None:
    # a 256x192 frame of blind-21's site 680,002 at 8 um/px: 8 roots
    case = Case("blind21", 2, {"seed": 680_002, "um_per_px": 8.0, "width": 256, "height": 192,
                               "hairless": False})  # fmt: skip
    files = build_all([case], tmp_path, 1)
    with HairModel.load("int8", threads=1) as m:
        st = study([case], files, m)["blind21"]
    assert st.roots and sum(r.terminal for r in st.roots) == st.bench["terminal"]
    assert sum(r.read for r in st.roots if r.terminal) == st.bench["terminal_hit"]
    assert sum(r.read for r in st.roots if not r.terminal) == st.bench["vellus_hit"]
    assert all(r.near for r in st.roots if r.read)  # found is near
    for m_ in (r.measures for r in st.roots):  # blind-21 gives directions and lengths
        assert {"opening", "behind", "shaft", "crossed", "mates"} <= set(m_)
    text = report({"blind21": st})
    assert " =\n" in text.split("\n", 1)[0] + "\n"


def test_the_script_runs_the_bench_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.generality.roots_report import main

    out = tmp_path / "roots.json"
    args = ["--generators", "blind3", "--twin", "0", "--n", "1", "--cache", str(tmp_path),
            "--json", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("== blind3: roots found, terminal") and "opening contrast" in text
    assert " =\n" in text.split("\n", 1)[0] + "\n"  # the tally is the bench's
    assert out.exists()
    with pytest.raises(SystemExit):
        main(["--generators", "blind99"])
