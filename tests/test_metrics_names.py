"""The metric names are defined once (dermocap.metrics.HairMeasures): the model's metrics and
the result message's derive from it; the content-type table is sync.models'; a result
names one kind per review reason."""

from __future__ import annotations

import json

import pytest
from dashboard_fixtures import result

from dermocap.metrics import RESULT_METRICS, HairMeasures
from inference.metrics import HairMetrics
from sync.models import InvalidMessage, Metrics, ResultMessage, content_type, validate_message

MEASURED = {
    "density_per_cm2": 180.0,
    "hair_count": 150,
    "terminal_density_per_cm2": 150.0,
    "vellus_density_per_cm2": 30.0,
    "vellus_fraction": 0.17,
    "vellus_threshold_um": 30.0,
    "mean_diameter_um": 62.0,
    "cumulative_thickness_mm_per_cm2": 11.2,
    "area_cm2": 0.83,
    "follicular_units_per_cm2": 90.0,
    "unit_shares_1_2_3_4plus": [0.4, 0.4, 0.15, 0.05],
}


def test_every_metric_model_has_the_same_names() -> None:
    assert set(MEASURED) == set(HairMeasures.model_fields)
    assert issubclass(HairMetrics, HairMeasures)
    assert tuple(Metrics.model_fields) == RESULT_METRICS
    metrics = HairMetrics(
        **MEASURED,
        um_per_px=5.2,
        model_name="m",
        model_version="1",
        model_sha256="0" * 64,
        inference_ms=40.0,
        total_ms=55.0,
    )
    carried = metrics.result_metrics()
    assert set(carried) == set(RESULT_METRICS) and carried["inference_ms"] == 40.0
    assert validate_message(Metrics, carried).model_dump() == carried


def test_the_message_form_keeps_its_optional_fields_and_sanity_bounds() -> None:
    partial = validate_message(Metrics, {"density_per_cm2": 150.0, "hair_count": 120})
    assert partial.vellus_fraction is None and partial.inference_ms is None
    for bad in (
        {"hair_count": 120},  # density is required
        {"density_per_cm2": 2500.0, "hair_count": 120},  # past the sanity bound
        {"density_per_cm2": 150.0, "hair_count": 120, "vellus_fraction": 1.5},
        {"density_per_cm2": -1.0, "hair_count": 120},  # the measure's own bound
        {"density_per_cm2": 150.0, "hair_count": 120, "unit_shares_1_2_3_4plus": [1.0]},
        {"density_per_cm2": 150.0, "hair_count": 120, "colour": 3},
    ):
        with pytest.raises(InvalidMessage):
            validate_message(Metrics, bad)


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("a.jpg", "image/jpeg"),
        ("A.JPEG", "image/jpeg"),
        ("b.png", "image/png"),
        ("c.tif", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type_by_file_name(name: str, media: str) -> None:
    assert content_type(name) == media


def test_a_result_names_one_kind_per_review_reason_or_none() -> None:
    words = ["long hair lies over 70 % of the frame", "the model reads 600 hairs/cm2"]
    both = result(
        "P00042",
        "vertex",
        "baseline",
        review=True,
        review_reasons=words,
        review_kinds=["hair_mat", "density_implausible"],
    )
    assert both.review_kinds == ["hair_mat", "density_implausible"]
    # a rig older than the field sends none; a newer one may name a kind this one lacks
    assert (
        result("P00042", "vertex", "baseline", review=True, review_reasons=words).review_kinds == []
    )
    newer = result(
        "P00042",
        "vertex",
        "baseline",
        review=True,
        review_reasons=words[:1],
        review_kinds=["glare_on_scale"],
    )
    assert newer.review_kinds == ["glare_on_scale"]
    # an unflagged result leaves the field out: a dashboard that predates it takes the result
    plain = result("P00042", "vertex", "baseline")
    older_fields = set(ResultMessage.model_fields) - {"review_kinds"}
    for dumped in (plain.model_dump(mode="json"), json.loads(plain.model_dump_json())):
        assert set(dumped) <= older_fields
    assert both.model_dump(mode="json")["review_kinds"] == ["hair_mat", "density_implausible"]
    for kinds in (["hair_mat"], ["hair_mat", "no_shafts", "no_shafts"], ["Hair Mat", "x"]):
        with pytest.raises(ValueError, match="review_kinds"):
            result(
                "P00042",
                "vertex",
                "baseline",
                review=True,
                review_reasons=words,
                review_kinds=kinds,
            )


def test_the_live_table_names_a_flagged_results_kinds() -> None:
    from dashboard.watch import HEADER, result_line

    words = ["long hair lies over 70 % of the frame", "finds shafts for only 3/cm2"]
    flagged = result("P00042", "vertex", "baseline", review=True, review_reasons=words,
                     review_kinds=["hair_mat", "no_shafts"])  # fmt: skip
    line = result_line("rig-01", flagged)
    assert line.endswith("pass  hair_mat, no_shafts") and HEADER.endswith("QC    review")
    assert result_line("rig-01", result("P00042", "vertex", "3m")).endswith("pass  -")
    older = result("P00042", "vertex", "6m", review=True, review_reasons=words)
    assert result_line("rig-01", older).endswith("pass  review")
    assert line.index("pass") == HEADER.index("QC")  # the columns line up
