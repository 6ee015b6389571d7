"""``dermocap analyze``: one JSON line per image, clear errors, the other images still done."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from inference.cli import add_analyze_parser, cmd_analyze
from sim.config import SimConfig
from sim.tools import RenderRequest, render_capture


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dermocap")
    add_analyze_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    req = RenderRequest(seed=77, width=676, height=507, nominal_um_per_px=15.5)
    img, truth = render_capture(SimConfig(), req)
    path = tmp_path_factory.mktemp("img") / "site.png"
    Image.fromarray(img).save(path)
    return path, float(truth["um_per_px"])


def test_good_and_bad_images(image_file: tuple[Path, float], tmp_path: Path) -> None:
    good, upp = image_file
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 this is not really a jpeg")
    missing = tmp_path / "missing.png"
    args = _parse(
        [
            "analyze",
            str(good),
            str(corrupt),
            str(missing),
            str(good),
            "--um-per-px",
            str(upp),
            "--overlay",
            str(tmp_path / "ov"),
            "--threads",
            "1",
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    assert args.func(args, out, err) == 1
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["image"] for x in lines] == [str(good), str(good)]
    for key in (
        "hair_count",
        "density_per_cm2",
        "vellus_fraction",
        "mean_diameter_um",
        "cumulative_thickness_mm_per_cm2",
        "follicular_units_per_cm2",
        "unit_shares_1_2_3_4plus",
        "model_sha256",
        "inference_ms",
        "area_cm2",
    ):
        assert key in lines[0]
    assert "emergence_points" not in lines[0]
    text = err.getvalue()
    assert "corrupt.jpg" in text and "missing.png" in text
    with Image.open(tmp_path / "ov" / "site.overlay.png") as im:
        assert im.size == (676, 507)


def test_all_good_exits_zero(image_file: tuple[Path, float]) -> None:
    good, upp = image_file
    args = _parse(["analyze", str(good), "--um-per-px", str(upp), "--model", "fp32"])
    out = io.StringIO()
    assert cmd_analyze(args, out, io.StringIO()) == 0
    row = json.loads(out.getvalue())
    assert row["density_per_cm2"] > 0 and row["um_per_px"] == upp


def test_a_missing_model_is_named_and_fails(image_file: tuple[Path, float], tmp_path: Path) -> None:
    good, upp = image_file
    bad = tmp_path / "model.onnx"
    args = _parse(["analyze", str(good), "--um-per-px", str(upp), "--model", str(bad)])
    out, err = io.StringIO(), io.StringIO()
    assert cmd_analyze(args, out, err) == 1
    assert str(bad) in err.getvalue() and out.getvalue() == ""


def test_usage_needs_a_scale() -> None:
    with pytest.raises(SystemExit):
        _parse(["analyze", "a.png"])
    args = _parse(["analyze", "a.png", "--um-per-px", "5", "--threads", "0"])
    assert cmd_analyze(args, io.StringIO(), io.StringIO()) == 2
