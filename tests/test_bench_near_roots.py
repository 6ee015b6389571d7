"""The generality bench's --near-roots figure: the count within 96 um of the true roots per
true hair (sim/generality/bench.py, sim/heldout/metrics.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.generality.bench import Results, analyze_all, group_names, table
from sim.generality.cases import Case
from sim.heldout.metrics import Tally, score

# a frame of 400 x 300 px at 4 um/px over maps of 30 x 40 cells: a cell is 10 px (40 um), its
# centre at 10 j + 4.5 px (the runtime's rule); 96 um is 24 px
UPP = 4.0
SIZE = (400, 300)


def _centre(j: int) -> float:
    return 10.0 * j + 4.5


def _truth(
    hairs: list[tuple[int, int]], outside: tuple[tuple[float, float], ...] = ()
) -> dict[str, Any]:
    """A truth with hairs at the centres of cells (col, row) and roots outside the frame at
    pixels (x, y)."""
    density = len(hairs) / (SIZE[0] * SIZE[1] * (UPP * 1e-4) ** 2)
    return {
        "um_per_px": UPP,
        "width": SIZE[0],
        "height": SIZE[1],
        "density_per_cm2": density,
        "mean_diameter_um": 60.0 if hairs else 0.0,
        "vellus_fraction": 0.0,
        "factors": {"hair_length": "short" if hairs else "hairless"},
        "hairs": [{"x_px": _centre(c), "y_px": _centre(r), "diameter_um": 60.0} for c, r in hairs],
        "emergence_outside": [{"x_px": x, "y_px": y} for x, y in outside],
    }


def _read(density: float) -> dict[str, Any]:
    return {
        "density_per_cm2": density,
        "mean_diameter_um": 55.0,
        "vellus_fraction": 0.0,
        "emergence_points": [],
    }


class _Read:
    def __init__(self, read: dict[str, Any]) -> None:
        self.read = read

    def model_dump(self) -> dict[str, Any]:
        return self.read


class FakeModel:
    """A model whose maps are given; ``analyze`` reads each truth's density back. Frames are
    told apart by their width (the keys of both)."""

    def __init__(
        self, maps: dict[int, np.ndarray[Any, Any]], truths: dict[int, dict[str, Any]]
    ) -> None:
        self.maps, self.truths = maps, truths
        self.map_calls = 0
        self.given: list[Any] = []  # the maps each analyze was given

    def predict_maps(self, rgb: np.ndarray[Any, Any], um_per_px: float) -> tuple[Any, float]:
        assert um_per_px == UPP
        self.map_calls += 1
        return self.maps[rgb.shape[1]].copy(), 1.0

    def analyze(
        self, rgb: np.ndarray[Any, Any], um_per_px: float, review_factor: Any, maps: Any = None
    ) -> _Read:
        self.given.append(maps)
        return _Read(_read(float(self.truths[rgb.shape[1]]["density_per_cm2"])))


def _maps() -> np.ndarray[Any, Any]:
    return np.zeros((3, 30, 40), dtype=np.float32)


def _frames(tmp_path: Path) -> tuple[list[Case], list[str], FakeModel]:
    """Three frames: two hairs with 0.8 at one root, 0.3 beside a root outside the frame and
    0.5 far from every root; one hair with 0.2 at its root; bare skin with 12 hairs' count
    spread over it. Each is told apart by its width (400, 401, 402 px: the same cells)."""
    a = _maps()
    a[0, 10, 10] = 0.6  # terminal count at the first root's cell
    a[1, 10, 10] = 0.2  # vellus count there too: the count is both maps
    a[2, 10, 10] = 50.0  # the diameter map: no count
    a[0, 0, 21] = 0.3  # 58 um from a root emerging just outside the frame: counted
    a[0, 25, 35] = 0.5  # far from every root: not counted
    ta = _truth([(10, 10), (30, 20)], outside=((_centre(21), -10.0),))
    b = _maps()
    b[0, 5, 5] = 0.2
    b[0, 5, 8] = 0.4  # 30 px (120 um) from the root: beyond 96 um
    tb = _truth([(5, 5)]) | {"factors": {"hair_length": "long"}}
    bare = _maps() + np.float32(0.01)  # 12 hairs over a bare frame: no root, nothing near one
    tbare = _truth([])
    cases, files = [], []
    truths = {w: t | {"width": w} for w, t in ((400, ta), (401, tb), (402, tbare))}
    for k, (w, truth) in enumerate(truths.items()):
        img = np.full((SIZE[1], w, 3), 128, dtype=np.uint8)
        f = tmp_path / f"f{k}.npz"
        np.savez(f, image=img, truth=json.dumps(truth))
        cases.append(Case("blind3", k, {"hairless": not truth["hairs"]}))
        files.append(str(f))
    return cases, files, FakeModel({400: a, 401: b, 402: bare}, truths)


def test_near_roots_tally_the_count_at_the_roots_per_true_hair_by_group(
    tmp_path: Path,
) -> None:
    cases, files, model = _frames(tmp_path)
    res = analyze_all(cases, files, {"int8": model}, near_roots=True)  # type: ignore[dict-item]
    # the network runs once a frame: analyze measures the maps the figure was read from
    assert model.map_calls == 3
    assert [g[0].shape for g in model.given] == [(3, 30, 40)] * 3
    figs = res.figures()["blind3"]["int8"]
    # frame a: 0.8 at a root + 0.3 by a root outside the frame, over its 2 hairs; b: 0.2 of 1
    assert figs["hair_length=short"]["near_roots_96um"] == pytest.approx(1.1 / 2)
    assert figs["hair_length=long"]["near_roots_96um"] == pytest.approx(0.2)
    # "all": the sums over the frames, not the mean of their shares; bare skin adds nothing
    assert figs["all"]["near_roots_96um"] == pytest.approx((1.1 + 0.2) / 3)
    assert figs["hair_length=hairless"]["near_roots_96um"] is None
    rows = {r["image"]: r["int8"]["near_roots_96um"] for r in res.images}
    assert rows["blind3-0000"] == [pytest.approx(1.1), 2]
    assert rows["blind3-0001"] == [pytest.approx(0.2), 1]
    assert rows["blind3-0002"] == [0.0, 0]
    text = table("blind3", res.figures())
    assert "roots 96" in text.splitlines()[1]
    all_row = next(r for r in text.splitlines() if r.startswith("all "))
    assert "0.433" in all_row.split()


def test_without_the_option_no_maps_are_read_and_the_figure_and_column_are_absent(
    tmp_path: Path,
) -> None:
    cases, files, model = _frames(tmp_path)
    res = analyze_all(cases, files, {"int8": model})  # type: ignore[dict-item]
    assert model.map_calls == 0
    assert model.given == [None] * 3
    figs = res.figures()
    assert all(f["near_roots_96um"] is None for f in figs["blind3"]["int8"].values())
    assert all("near_roots_96um" not in r["int8"] for r in res.images)
    text = table("blind3", figs)
    assert "roots 96" not in text
    head = text.splitlines()[1].split()
    assert head[-4:] == ["bare", "mean", "bare", "max"] and head[-5] == "shares"
    # every row has as many columns as before: shares then the two bare-skin ones
    all_row = next(r for r in text.splitlines() if r.startswith("all ")).split()
    assert len(all_row) == 15


def test_a_tally_of_scores_without_a_near_read_leaves_the_figure_none() -> None:
    truth = _truth([(10, 10)])
    t = Tally()
    score(truth, _read(5.0)).add_to(t)
    assert t.figures()["near_roots_96um"] is None
    # a read near roots on a frame with hairs makes it known; mixed with unread frames, only
    # the frames read count their hairs
    score(truth, _read(5.0), near_roots=0.7).add_to(t)
    assert t.figures()["near_roots_96um"] == pytest.approx(0.7)
    res = Results()
    res.add("g", "int8", group_names({"k": "v"}), score(truth, _read(5.0), near_roots=0.25))
    assert res.figures()["g"]["int8"]["k=v"]["near_roots_96um"] == pytest.approx(0.25)


@pytest.mark.slow
def test_a_real_bench_run_reads_the_near_root_share_and_saves_it(tmp_path: Path) -> None:
    """scripts/bench_generality.py --near-roots on one blind-3 frame (rendered in seconds)."""
    from inference.model import packaged_models_dir

    out_json = tmp_path / "bench.json"
    script = Path(__file__).resolve().parent.parent / "scripts" / "bench_generality.py"
    args = ["--n", "1", "--hairless", "0", "--twin", "0", "--repeats", "0", "--threads", "1"]
    args += ["--generators", "blind3", "--baseline-dir", str(packaged_models_dir())]
    args += ["--cache", str(tmp_path / "cache"), "--json", str(out_json), "--near-roots"]
    r = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    saved = json.loads(out_json.read_text())
    for v in ("int8", "fp32"):
        value = saved["figures"]["blind3"][v]["all"]["near_roots_96um"]
        assert 0.0 < value < 2.0
        near, hairs = saved["images"][0][v]["near_roots_96um"]
        assert hairs > 0 and near / hairs == pytest.approx(value)
    head = r.stdout.split("== blind3", 1)[1].splitlines()[1]
    assert "roots 96" in head and "roots 96" in saved["text"]
