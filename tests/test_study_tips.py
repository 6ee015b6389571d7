"""scripts/study_tips.py and sim.generality.tips: the bench's cut-tip figure split by the tips'
own truth, on one small blind-20 frame and on hand-made truths (no bench run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference import HairModel
from sim.generality.bench import build_all
from sim.generality.cases import Case
from sim.generality.tips import factor_rows, place_rows, report, study, study_image


def test_per_style_counts_add_up_to_the_bench_total_on_a_small_frame(tmp_path: Path) -> None:
    # a 192x144 frame of blind-20's site 650,007 at 10 um/px: 9 cut tips of two styles
    case = Case("blind20", 7, {"seed": 650_007, "um_per_px": 10.0, "width": 192, "height": 144,
                               "hairless": False})  # fmt: skip
    files = build_all([case], tmp_path, 1)
    with HairModel.load("int8", threads=1) as m:
        st = study([case], files, m)["blind20"]
    assert st.bench_tips == len(st.tips) > 0
    rows = factor_rows(st.tips)
    # every tip of blind-20 has a cut style; the styles' counts are the bench's
    by_style = rows["cut style"]
    assert sum(r.n for r in by_style.values()) == st.bench_tips
    assert sum(r.read for r in by_style.values()) == st.bench_hits
    assert set(by_style) <= {"square", "oblique", "frayed"}
    for factor, by in rows.items():  # every factor blind-20 gives covers every tip
        assert sum(r.n for r in by.values()) == st.bench_tips, factor
    for counts in place_rows(st.tips).values():  # places are told of the reads only
        assert sum(counts.values()) == st.bench_hits
    text = report({"blind20": st})
    assert f"the bench's score(): {st.bench_hits} of {st.bench_tips} =" in text


def _truth() -> dict[str, Any]:
    # 10 um/px: the rule's 60 um is 6 px; a hair rooted at (40, 100), its cut end (40 um wide)
    # at (100, 100); a stub rooted at (203, 100), its end at (200, 100)
    return {
        "um_per_px": 10.0,
        "width": 300,
        "height": 200,
        "density_per_cm2": 16.7,
        "mean_diameter_um": 80.0,
        "vellus_fraction": 0.0,
        "factors": {"hair_length": "trimmed", "skin_tone": "light"},
        "hairs": [
            {"x_px": 40.0, "y_px": 100.0, "diameter_um": 80.0, "id": 1, "length_um": 600.0},
            {"x_px": 203.0, "y_px": 100.0, "diameter_um": 80.0, "id": 2, "length_um": 50.0},
        ],
        "tips": [
            {"x_px": 100.0, "y_px": 100.0, "cut": True, "cut_style": "square", "id": 1,
             "diameter_um": 40.0, "direction_deg": 0.0},
            {"x_px": 200.0, "y_px": 100.0, "cut": True, "cut_style": "frayed", "id": 2,
             "diameter_um": 80.0, "direction_deg": 0.0},
            {"x_px": 250.0, "y_px": 150.0, "cut": False, "cut_style": "none", "id": 3,
             "diameter_um": 20.0, "direction_deg": 0.0},
        ],
    }  # fmt: skip


def _read(points: list[tuple[float, float]]) -> dict[str, Any]:
    pts = [{"x_px": x, "y_px": y, "hairs": 1, "diameter_um": 80.0} for x, y in points]
    return {"density_per_cm2": 1.0, "mean_diameter_um": 80.0, "vellus_fraction": 0.0,
            "emergence_points": pts}  # fmt: skip


@pytest.mark.parametrize(
    ("points", "place", "root"),
    [
        ([(97.0, 100.0), (40.0, 100.0)], "within a diameter of the end", "read too (both ends)"),
        ([(101.0, 100.0)], "past the listed end", "not read (end for root)"),
        ([(94.5, 100.0)], "over a diameter back", "not read (end for root)"),
    ],
)
def test_a_read_tip_is_placed_along_its_shaft_and_its_root_looked_at(
    points: list[tuple[float, float]], place: str, root: str
) -> None:
    # the frayed end's detection (201, 100) lies within 60 um of a root: never a read tip
    case = Case("blind20", 0, {})
    img = np.full((200, 300, 3), 200, np.uint8)
    tips, n, hit = study_image(case, img, _truth(), _read([*points, (201.0, 100.0)]))
    assert (n, hit) == (2, 1)  # the natural end is not a cut tip
    assert [t.read for t in tips] == [True, False]
    assert tips[0].place == {"where the read sits": place, "own root": root}
    assert tips[0].factors["cut style"] == "square"
    assert tips[0].factors["shaft length, um"] == "300-800"
    assert tips[1].place == {}


def test_the_script_runs_the_bench_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.generality.tips import main

    out = tmp_path / "tips.json"
    args = ["--generators", "blind20", "--n", "1", "--cache", str(tmp_path), "--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "== blind20: cut tips read as hairs" in text and "cut style" in text
    assert " =\n" in text.split("\n", 1)[0] + "\n"  # the tally is the bench's
    assert out.exists()
