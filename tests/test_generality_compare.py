"""Two bench runs compared image by image (sim/generality/compare.py, scripts/compare_bench.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

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
