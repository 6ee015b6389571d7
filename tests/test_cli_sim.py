"""`dermocap sim render` writes a viewable image and its ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from device.cli import main


def test_sim_render_writes_image_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, truth = tmp_path / "img.png", tmp_path / "truth.json"
    rc = main(
        [
            "sim",
            "render",
            "--seed",
            "5",
            "--out",
            str(out),
            "--truth",
            str(truth),
            "--hair-colour",
            "blond",
            "--skin-tone",
            "0.8",
        ]
    )
    assert rc == 0
    with Image.open(out) as im:
        assert im.size == (2028, 1520)
        assert im.mode == "RGB"
    data = json.loads(truth.read_text())
    assert data["hair_count"] == len(data["hairs"]) > 0
    assert data["density_per_cm2"] == pytest.approx(data["hair_count"] / data["area_cm2"])
    assert data["scalp"]["hair_colour"] == "blond"
    assert json.loads(capsys.readouterr().out)["hair_count"] == data["hair_count"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_sim_render_refuses_out_of_range_density(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["sim", "render", "--out", str(tmp_path / "x.png"), "--density", "1000"])
    assert rc == 2
    assert "density_per_cm2" in capsys.readouterr().err


def test_sim_render_draws_coiled_hair_from_the_same_roots(tmp_path: Path) -> None:
    # --curl winds the shafts; the truth (the emergence points) stays the straight scalp's.
    shots = {}
    for kind in ("straight", "coiled"):
        out, truth = tmp_path / f"{kind}.png", tmp_path / f"{kind}.json"
        argv = ["sim", "render", "--seed", "5", "--hair-length", "long", "--out", str(out)]
        assert main([*argv, "--truth", str(truth), "--curl", kind]) == 0
        shots[kind] = (np.asarray(Image.open(out)), json.loads(truth.read_text()))
    (a, ta), (b, tb) = shots["straight"], shots["coiled"]
    assert ta["hairs"] == tb["hairs"]
    assert (ta["scalp"]["curl"], tb["scalp"]["curl"]) == ("straight", "coiled")
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 2.0
