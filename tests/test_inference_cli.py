"""``dermocap analyze``: one JSON line per image, clear errors, the other images still done."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermocap.errors import ImageError
from dermocap.images import decode_rgb
from inference.cli import add_analyze_parser, cmd_analyze
from inference.model import HairModel, packaged_models_dir
from sim.config import SimConfig
from sim.tools import RenderRequest, render_capture
from tests.image_files import png_header_only


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


def _run(argv: list[str]) -> tuple[int, list[dict[str, object]], str]:
    args = _parse(["analyze", *argv, "--threads", "1"])
    out, err = io.StringIO(), io.StringIO()
    rc = args.func(args, out, err)
    return rc, [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue()


def test_each_bad_image_is_named_with_what_to_do_and_the_batch_goes_on(
    image_file: tuple[Path, float], tmp_path: Path
) -> None:
    good, upp = image_file
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20_000, 20_000))
    with Image.open(good) as im:
        grey = im.convert("L")
    grey8, grey16 = tmp_path / "grey8.png", tmp_path / "grey16.png"
    grey.save(grey8)
    Image.fromarray(np.asarray(grey).astype(np.uint16) * 257).save(grey16)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8), (120, 80, 60)).save(tiny)
    files = [bomb, good, grey8, grey16, tiny, good]
    rc, rows, err = _run([*map(str, files), "--um-per-px", str(upp)])
    assert rc == 1
    assert [r["image"] for r in rows] == [str(good), str(good)]
    lines = err.splitlines()
    assert len(lines) == 5 and "Traceback" not in err
    assert "bomb.png declares more pixels" in lines[0] and "leave it out" in lines[0]
    assert "grey8.png is a grayscale image" in lines[1] and "colour capture" in lines[1]
    assert "grey16.png is a grayscale image" in lines[2]
    assert "tiny.png" in lines[3] and "16x16" in lines[3]
    assert lines[4] == "error: 4 of 6 images not analysed (see above)"


def test_a_model_by_path_is_checked_against_its_manifest(
    image_file: tuple[Path, float], tmp_path: Path
) -> None:
    good, upp = image_file
    folder = tmp_path / "models"
    shutil.copytree(packaged_models_dir(), folder)
    model = folder / "hair_density_fp32.onnx"
    rc, rows, _ = _run([str(good), "--um-per-px", str(upp), "--model", str(model)])
    rc_fp32, rows_fp32, _ = _run([str(good), "--um-per-px", str(upp), "--model", "fp32"])
    assert rc == rc_fp32 == 0
    for key in ("hair_count", "density_per_cm2", "model_sha256"):
        assert rows[0][key] == rows_fp32[0][key]
    pristine = model.read_bytes()
    name_at = pristine.index(b"dermocap-hair-density")  # a flip here broke UTF-8 metadata
    for at in (len(pristine) // 2, name_at + 3):
        data = bytearray(pristine)
        data[at] ^= 0xFF
        model.write_bytes(bytes(data))
        rc, rows, err = _run([str(good), "--um-per-px", str(upp), "--model", str(model)])
        assert (rc, rows) == (1, [])
        assert "hair_density_fp32.onnx has SHA-256" in err and "corrupt" in err
    model.write_bytes(pristine)
    alone = tmp_path / "alone" / "hair_density_fp32.onnx"
    alone.parent.mkdir()
    alone.write_bytes(pristine)
    rc, rows, err = _run([str(good), "--um-per-px", str(upp), "--model", str(alone)])
    assert (rc, rows) == (1, []) and "no manifest.json beside it" in err
    unlisted = folder / "other.onnx"
    unlisted.write_bytes(pristine)
    rc, rows, err = _run([str(good), "--um-per-px", str(upp), "--model", str(unlisted)])
    assert (rc, rows) == (1, []) and "other.onnx is not listed in" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--vellus-threshold-um", "nan"], "--vellus-threshold-um nan is not a diameter"),
        (["--vellus-threshold-um", "0"], "--vellus-threshold-um 0.0 is not a diameter"),
        (["--um-per-px", "nan"], "--um-per-px nan is outside"),
        (["--overlay", "FILE"], "is a file: give a folder"),
    ],
)
def test_bad_options_are_refused_before_any_work(
    extra: list[str], message: str, image_file: tuple[Path, float], tmp_path: Path
) -> None:
    good, upp = image_file
    existing = tmp_path / "overlay.png"
    existing.write_bytes(b"someone's file")
    extra = [str(existing) if x == "FILE" else x for x in extra]
    rc, rows, err = _run([str(good), "--um-per-px", str(upp), *extra])
    assert (rc, rows) == (2, [])
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert existing.read_bytes() == b"someone's file"


def test_the_model_refuses_a_nan_vellus_threshold(image_file: tuple[Path, float]) -> None:
    good, upp = image_file
    with HairModel.load("int8", threads=1) as model:
        rgb = decode_rgb(good, colour=True)
        with pytest.raises(ImageError, match="vellus threshold nan um"):
            model.analyze(rgb, upp, float("nan"))
