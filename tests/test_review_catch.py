"""The bench's review-flag figures: which results count as bad, and what share is flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inference.second_opinion import REVIEW_KINDS, SecondOpinion, review_reasons
from sim.generality.review import (
    KIND_LABELS,
    outcome,
    pooled,
    reason_kind,
    recompute,
    review_figures,
    review_text,
    stored_opinion,
)


def _opinion(**kw: Any) -> SecondOpinion:
    base: dict[str, Any] = {
        "applicable": True,
        "reason": "",
        "count": 40,
        "density_per_cm2": 100.0,
        "pieces": 30,
        "cover": 0.05,
        "crowded": 0.02,
        "contrast": 0.4,
        "threshold": 0.08,
        "colour_only": 0.0,
        "mm_per_hair": 0.6,
        "elapsed_ms": 1.0,
    }
    return SecondOpinion(**(base | kw))


def _row(gen: str, true: float, read: float, reasons: list[str]) -> dict[str, Any]:
    return {
        "generator": gen,
        "true_density_per_cm2": true,
        "int8": {"density_per_cm2": read, "review_reasons": reasons},
    }


@pytest.mark.parametrize(
    ("true", "read", "kind"),
    [
        (100.0, 126.0, "bad"),
        (100.0, 74.0, "bad"),
        (100.0, 125.0, "fair"),
        (100.0, 110.0, "good"),
        (100.0, 89.0, "fair"),
        (0.0, 5.0, "good"),
        (0.0, 5.1, "bad"),
    ],
)
def test_outcome_bands(true: float, read: float, kind: str) -> None:
    assert outcome(true, read) == kind


def test_every_reason_carries_its_kind_and_old_benches_read_the_same_kind_from_words() -> None:
    mat = review_reasons(100.0, _opinion(crowded=0.9, applicable=False, reason="crowded"))
    dense = review_reasons(600.0, _opinion(applicable=False, reason="too faint"))  # 100 seen
    thick = review_reasons(100.0, _opinion(), net_mean_diameter_um=250.0)
    high = review_reasons(300.0, _opinion())
    low = review_reasons(30.0, _opinion())
    none = review_reasons(20.0, _opinion(density_per_cm2=0.0, count=0))
    unseen = review_reasons(
        20.0, _opinion(applicable=False, reason="too faint", density_per_cm2=0.0)
    )
    cases = (mat, dense, thick, high, low, none, unseen)
    assert [[r.kind for r in rs] for rs in cases] == [
        ["hair_mat"],
        ["density_implausible", "no_shafts"],
        ["diameter_implausible"],
        ["net_above_classical"],
        ["net_below_classical"],
        ["net_above_classical"],
        ["no_shafts"],
    ]
    assert set(KIND_LABELS) == set(REVIEW_KINDS)
    # a bench stored before kinds were: its words give the same kind the result names now
    for rs in cases:
        assert [reason_kind(r.text) for r in rs] == [KIND_LABELS[r.kind] for r in rs]


def test_a_stored_kind_counts_before_the_words() -> None:
    words = "the model reads 300 hairs/cm2, 3.00x the classical count of 100/cm2"
    row = _row("a", 100.0, 200.0, [words])
    row["int8"]["review_kinds"] = ["no_shafts"]
    assert review_figures([row])["a"]["reasons"] == {"no shafts": 1}
    row["int8"]["review_kinds"] = ["glare_on_scale"]  # a kind newer than these tables
    assert review_figures([row])["a"]["reasons"] == {"glare_on_scale": 1}


def test_figures_count_flagged_bad_and_good_frames_per_generator() -> None:
    flag = ["the model reads 300 hairs/cm2, 3.00x the classical count of 100/cm2"]
    rows = [
        _row("a", 100.0, 200.0, flag),  # bad, flagged
        _row("a", 100.0, 60.0, []),  # bad, missed
        _row("a", 100.0, 105.0, flag),  # good, false alarm
        _row("a", 100.0, 102.0, []),  # good, spared
        _row("a", 100.0, 118.0, []),  # fair
        _row("a", 0.0, 40.0, flag),  # bare read high, flagged
        _row("b", 0.0, 1.0, []),  # bare read right
        {"generator": "c", "true_density_per_cm2": 1.0, "int8": {"density_per_cm2": 1.0}},
    ]
    figs = review_figures(rows)
    a = figs["a"]
    assert (a["hairs_bad"], a["hairs_bad_flagged"], a["bare_bad"], a["bare_bad_flagged"]) == (
        2,
        1,
        1,
        1,
    )
    assert a["bad_flagged_share"] == pytest.approx(2 / 3)
    assert a["good_flagged_share"] == pytest.approx(1 / 2)
    assert a["hairs_fair"] == 1 and a["reasons"] == {"net high": 3}
    assert a["reason_outcomes"] == {"net high": {"bad": 2, "fair": 0, "good": 1}}
    assert figs["b"]["bad_flagged_share"] is None and figs["b"]["good_flagged_share"] == 0.0
    assert "c" not in figs  # a bench from before the reasons were stored
    text = review_text(figs, training=("a",))
    assert "a*" in text and " 67% of 3" in text and "net high 3" in text


def test_recompute_gives_todays_reasons_from_the_stored_fields() -> None:
    """A bench stored before a rule changed is judged again without running a model."""
    fields = stored_opinion(_opinion(applicable=False, reason="too faint", density_per_cm2=0.0))
    row = _row("a", 0.0, 30.0, []) | {"second_opinion": fields}
    row["int8"]["mean_diameter_um"] = 60.0
    old = {"generator": "a", "true_density_per_cm2": 0.0, "int8": {"density_per_cm2": 1.0}}
    (now,) = recompute([row, old])
    assert now["int8"]["review_kinds"] == ["no_shafts"]
    assert "finds shafts for only" in now["int8"]["review_reasons"][0]
    assert row["int8"]["review_reasons"] == []  # the stored row is left as it was
    both = pooled(review_figures([now, _row("b", 0.0, 1.0, [])]), ("a", "b", "absent"))
    assert (both["bare_bad"], both["bare_bad_flagged"], both["bare_good"]) == (1, 1, 1)
    assert both["bad_flagged_share"] == 1.0 and both["good_flagged_share"] == 0.0
    assert both["reason_outcomes"] == {"no shafts": {"bad": 1, "fair": 0, "good": 0}}


def test_the_script_prints_both_tables_and_refuses_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.generality.review import main

    fields = stored_opinion(_opinion(applicable=False, density_per_cm2=0.0))
    row = _row("blind8", 0.0, 30.0, []) | {"second_opinion": fields}
    row["int8"]["mean_diameter_um"] = 60.0
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"images": [row]}))
    assert main([str(bench)]) == 0
    out = capsys.readouterr().out
    assert "# as benched" in out and "# with today's rules" in out
    assert out.count("held out") == 4 and "no shafts 1" in out  # a line and its reasons, twice
    assert "  held out: no shafts 1/0/0" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main([str(bad)]) == 2
    assert "not a bench JSON" in capsys.readouterr().err
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"images": [_row("a", 1.0, 1.0, [])]}))
    assert main([str(old)]) == 2
    assert "rerun the bench" in capsys.readouterr().err
    odd = dict(row, second_opinion=fields | {"unknown_field": 1})
    old.write_text(json.dumps({"images": [odd]}))
    assert main([str(old)]) == 2
    assert "does not fit" in capsys.readouterr().err
    old.write_text(json.dumps({"images": [row]}))  # no FP32 read in it
    assert main([str(old), "--variant", "fp32"]) == 2
    assert "fp32 read" in capsys.readouterr().err
