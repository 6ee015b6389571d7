"""Smoke test of the training recipe (scripts/train_model.py): a few steps, exported, loadable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference import HairModel
from inference.manifest import MANIFEST_NAME


@pytest.mark.slow
@pytest.mark.parametrize("body", ["plain", "separable"])
def test_a_few_training_steps_export_a_loadable_model(tmp_path: Path, body: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    from sim.model_recipe import main

    out = tmp_path / "models"
    rc = main(
        [
            "--steps",
            "3",
            "--batch",
            "2",
            "--worlds",
            "1",
            "--calib-worlds",
            "1",
            "--workers",
            "1",
            "--width",
            "8",
            "--body",
            body,
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
        ]
    )
    assert rc == 0
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["training"]["steps"] == 3
    assert f"--body {body}" in man["training"]["command"]
    import onnx  # the body is what was asked for: separable has depthwise convs (group > 1)

    graph = onnx.load(str(out / "hair_density_fp32.onnx")).graph
    groups = [
        a.i for n in graph.node if n.op_type == "Conv" for a in n.attribute if a.name == "group"
    ]
    assert (max(groups, default=1) > 1) == (body == "separable")
    for variant in ("int8", "fp32"):
        with HairModel.load(str(out / f"hair_density_{variant}.onnx"), threads=1) as m:
            assert m.info.sha256 == man["models"][variant]["sha256"]
            r = m.analyze(np.full((120, 160, 3), 128, dtype=np.uint8), um_per_px=8.0)
            assert r.model_name == "dermocap-hair-density"
