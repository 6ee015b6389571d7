"""Frames of the training generators (sim/generality/train_frames.py), in the fine-tuning format."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.targets import TIP_MAP
from inference.training.realdata import load_real_dir, native_positions
from sim.generality import train_frames
from sim.generality.cases import INDEPENDENT_GENERATORS, independent_cases
from sim.generality.change import LATER_SEED_OFFSET
from sim.generality.train_frames import (
    FRAME_FORMAT,
    HELD_OUT_GENERATORS,
    INDEX_NAME,
    TRAINING_GENERATORS,
    export,
    training_specs,
)
from sim.model_recipe import NATIVE_UM_PER_PX, STRIDE


def test_every_generator_is_either_a_training_source_or_a_held_out_judge() -> None:
    assert set(TRAINING_GENERATORS) | set(HELD_OUT_GENERATORS) == set(INDEPENDENT_GENERATORS)
    assert not set(TRAINING_GENERATORS) & set(HELD_OUT_GENERATORS)
    assert HELD_OUT_GENERATORS  # a release is judged by the worst of them


@pytest.mark.parametrize("generator", HELD_OUT_GENERATORS)
def test_a_held_out_judge_is_refused(generator: str) -> None:
    with pytest.raises(ValueError, match="held-out judge"):
        training_specs(generator, 3, 1)


def test_an_unknown_generator_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'nope' is not a training generator"):
        training_specs("nope", 3, 1)


@pytest.mark.parametrize("generator", TRAINING_GENERATORS)
def test_training_seeds_are_none_of_the_benches(generator: str) -> None:
    train = {s["seed"] for s in training_specs(generator, 2000, 200)}
    bench = {c.spec["seed"] for c in independent_cases(2000, 200, generator)}
    later = {s + LATER_SEED_OFFSET for s in bench}  # the change bench's follow-up visits
    assert len(train) == 2200
    assert not train & (bench | later)


def test_the_scales_span_the_bench_range_with_bare_frames_last() -> None:
    specs = training_specs(TRAINING_GENERATORS[0], 200, 20)
    upp = np.array([s["um_per_px"] for s in specs])
    assert upp.min() < 3.5 and upp.max() > 11.5 and ((upp >= 3) & (upp <= 12)).all()
    assert [s["hairless"] for s in specs] == [False] * 200 + [True] * 20
    # not the bench's draws: another stream
    bench = [c.spec["um_per_px"] for c in independent_cases(200, 20, TRAINING_GENERATORS[0])]
    assert not np.allclose(upp, bench)


def test_exported_frames_load_as_fine_tuning_samples_with_their_hairs(tmp_path: Path) -> None:
    index = export((TRAINING_GENERATORS[0],), 1, 1, tmp_path)
    assert index["count"] == 2 and json.loads((tmp_path / INDEX_NAME).read_text()) == index
    samples = load_real_dir(tmp_path, NATIVE_UM_PER_PX, STRIDE)
    assert len(samples) == 2  # the index is not taken for a frame
    anns = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    (img, tgt), (bare_img, bare_tgt) = samples
    hairs = len(anns[0]["hairs"])
    assert hairs > 5 and not anns[1]["hairs"]
    # every hair's Gaussian, less the share of those near the edge that falls outside
    assert 0.85 * hairs <= float(tgt[0].sum() + tgt[1].sum()) <= hairs + 1e-3
    assert float(np.abs(bare_tgt).sum()) == 0.0
    assert img.dtype == np.uint8 and img.shape[2] == 3 and bare_img.std() > 1.0
    # drawn at the frame's own scale, loaded at the net's native scale
    spec = training_specs(TRAINING_GENERATORS[0], 1, 1)[0]
    native_w = spec["width"] * spec["um_per_px"] / NATIVE_UM_PER_PX
    assert img.shape[1] == pytest.approx(native_w, abs=STRIDE)


def test_exported_frames_list_their_cut_tips_which_fill_the_tip_map_when_asked(
    tmp_path: Path,
) -> None:
    gen = TRAINING_GENERATORS[0]
    export((gen,), 1, 0, tmp_path)
    ann = json.loads((tmp_path / f"{gen}-0000.json").read_text())
    spec = training_specs(gen, 1, 0)[0]
    _, truth = train_frames._SOURCES[gen].generate(
        spec["seed"],
        um_per_px=spec["um_per_px"],
        width=spec["width"],
        height=spec["height"],
        hairless=False,
    )
    cut = [(t["x_px"], t["y_px"]) for t in truth["tips"] if t["cut"]]
    assert ann["format"] == FRAME_FORMAT and cut
    assert [(t["x_px"], t["y_px"]) for t in ann["tips"]] == cut  # cut ends only, all of them
    ((_, plain),) = load_real_dir(tmp_path, NATIVE_UM_PER_PX, STRIDE)
    ((_, tipped),) = load_real_dir(tmp_path, NATIVE_UM_PER_PX, STRIDE, tips=True)
    assert float(plain[TIP_MAP].sum()) == 0.0
    assert 0.85 * len(cut) <= float(tipped[TIP_MAP].sum()) <= len(cut) + 1e-3
    np.testing.assert_array_equal(np.delete(tipped, TIP_MAP, 0), np.delete(plain, TIP_MAP, 0))
    # each tip's mass sits where the tip is, at the native scale
    x, y = cut[0]
    f = NATIVE_UM_PER_PX / spec["um_per_px"]
    i, j = int((y + 0.5) / f // STRIDE), int((x + 0.5) / f // STRIDE)
    assert tipped[TIP_MAP, max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].sum() > 0.3


def test_frame_positions_scale_bitwise_as_2_6_0_trained_on() -> None:
    """Positions scale as ``(x + 0.5) * nw / w - 0.5`` in that order: ``* (nw / w)`` rounds
    differently in the last bit for up to about half of them (none where nw / w is exact),
    which changes the targets' sums, so a checkpoint's start digest (a run would not resume)
    and the rebuild of the shipped files (not byte-identical)."""
    rng = np.random.default_rng(7)
    w, h, nw, nh = 997, 743, 544, 404
    xs, ys = rng.uniform(-0.5, w - 0.5, 3000), rng.uniform(-0.5, h - 0.5, 3000)
    points = [{"x_px": x, "y_px": y} for x, y in zip(xs, ys, strict=True)]
    x, y = native_positions(points, nw, w, nh, h)
    np.testing.assert_array_equal(x, (xs + 0.5) * nw / w - 0.5)
    np.testing.assert_array_equal(y, (ys + 0.5) * nh / h - 0.5)
    assert ((xs + 0.5) * (nw / w) - 0.5 != x).any()  # the order is what this test holds


def test_frames_without_tips_are_refused_by_name_when_tips_are_asked_for(
    tmp_path: Path,
) -> None:
    gen = TRAINING_GENERATORS[0]
    export((gen,), 1, 0, tmp_path)
    path = tmp_path / f"{gen}-0000.json"
    ann = json.loads(path.read_text())
    del ann["tips"]
    path.write_text(json.dumps(ann))
    assert len(load_real_dir(tmp_path, NATIVE_UM_PER_PX, STRIDE)) == 1  # the plain load is fine
    with pytest.raises(ValueError, match=f'{gen}-0000.json: no "tips" list'):
        load_real_dir(tmp_path, NATIVE_UM_PER_PX, STRIDE, tips=True)


def test_a_frame_of_an_older_format_is_drawn_again(tmp_path: Path) -> None:
    gen = TRAINING_GENERATORS[0]
    export((gen,), 1, 0, tmp_path)
    path = tmp_path / f"{gen}-0000.json"
    old = json.loads(path.read_text())
    del old["tips"], old["format"]  # as frames were written before tips were listed
    path.write_text(json.dumps(old))
    export((gen,), 1, 0, tmp_path)
    again = json.loads(path.read_text())
    assert again["format"] == FRAME_FORMAT and again["tips"]
    assert again["hairs"] == old["hairs"]  # the same frame, drawn again


def test_a_rerun_keeps_written_frames_and_drops_those_no_longer_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = TRAINING_GENERATORS[0]
    export((gen,), 2, 0, tmp_path)
    (tmp_path / "clinic-0001.json").write_text('{"um_per_px": 5, "hairs": []}')

    def no_drawing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a frame already written was drawn again")

    source = dataclasses.replace(train_frames._SOURCES[gen], generate=no_drawing)
    monkeypatch.setitem(train_frames._SOURCES, gen, source)
    export((gen,), 1, 0, tmp_path)  # frame 0 is kept as it is
    assert (tmp_path / f"{gen}-0000.png").exists()
    assert not (tmp_path / f"{gen}-0001.png").exists()
    assert not (tmp_path / f"{gen}-0001.json").exists()
    assert (tmp_path / "clinic-0001.json").exists()  # not ours: never touched


def test_a_frame_asked_for_with_other_choices_is_drawn_again(tmp_path: Path) -> None:
    gen = TRAINING_GENERATORS[0]
    export((gen,), 1, 1, tmp_path)  # frame 1 bare
    assert not json.loads((tmp_path / f"{gen}-0001.json").read_text())["hairs"]
    index = export((gen,), 2, 0, tmp_path)  # frame 1 now with hair: the same name, redrawn
    ann = json.loads((tmp_path / f"{gen}-0001.json").read_text())
    assert ann["hairs"] and ann["spec"]["hairless"] is False
    assert index["generators"][gen] == {**index["generators"][gen], "frames": 2, "hairless": 0}


def test_no_generator_is_refused_and_a_repeated_one_is_drawn_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name at least one generator"):
        export((), 1, 0, tmp_path)
    index = export((TRAINING_GENERATORS[0], TRAINING_GENERATORS[0]), 1, 0, tmp_path)
    assert index["count"] == 1 and list(index["generators"]) == [TRAINING_GENERATORS[0]]


def _export_script(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/export_generator_frames.py run with ``--out out`` and ``args``."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "export_generator_frames.py"
    return subprocess.run(
        [sys.executable, str(script), "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_script_refuses_a_judge_with_a_clear_message(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    r = _export_script(out, "--generators", "blind4", "--n", "1")
    assert r.returncode == 2
    assert "'blind4' is not a training generator (a held-out judge" in r.stderr
    assert not out.exists()


@pytest.mark.slow
def test_a_fine_tune_on_exported_frames_records_which_generators_trained_it(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    from inference.manifest import MANIFEST_NAME
    from sim.model_recipe import main

    frames = tmp_path / "frames"
    export((TRAINING_GENERATORS[1],), 1, 0, frames)
    out = tmp_path / "models"
    args = ["--steps", "2", "--batch", "2", "--worlds", "1", "--calib-worlds", "1"]
    args += ["--workers", "1", "--width", "8", "--out", str(out), "--cache", str(tmp_path / "c")]
    real = ["--real-dir", str(frames), "--real-share", "0.5", "--frame-tips"]
    assert main([*args, *real]) == 0
    training = json.loads((out / MANIFEST_NAME).read_text())["training"]
    assert training["real_dir"] is True and training["frame_tips"] is True
    assert list(training["generator_frames"]["generators"]) == [TRAINING_GENERATORS[1]]
    assert training["generator_frames"]["held_out"] == list(HELD_OUT_GENERATORS)


def _rebuild_steps(
    tmp: Path, frames_opts: str | None = None
) -> tuple[list[str], list[str], dict[str, str]]:
    """scripts/rebuild_model.sh run with a stand-in Python that records its arguments and does
    nothing (its start file made ready, so neither git nor a training runs), with its work
    folder's paths written as they are with TMPDIR unset: the arguments of its frames export
    and of its last training step; and the script's upper-case assignments."""
    script = Path(__file__).parent.parent / "scripts" / "rebuild_model.sh"
    work = tmp / "dermocap-train"
    (work / "2.3.0").mkdir(parents=True)
    (work / "2.3.0" / "hair_density_fp32.onnx").write_bytes(b"start file")
    calls = tmp / "calls"
    fake = tmp / "python"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}.$$"\necho "$$" >> "{calls}"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "FRAMES_OPTS"}
    env |= {"PYTHON": str(fake), "TMPDIR": str(tmp)}
    if frames_opts is not None:
        env["FRAMES_OPTS"] = frames_opts
    run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "not the shipped 2.3.0 file" in run.stdout  # the stand-in start file is told apart
    argv = []
    for pid in calls.read_text().split():
        args = (tmp / f"calls.{pid}").read_text().splitlines()
        argv.append([a.replace(str(tmp), "/tmp") for a in args])
    assert [a[0] for a in argv] == [
        "scripts/export_generator_frames.py",
        "scripts/train_model.py",
    ]
    lines = script.read_text().splitlines()
    assigned = dict(
        line.split("#")[0].strip().split("=", 1)
        for line in lines
        if line[:1].isupper() and "=" in line.split()[0]
    )
    return argv[0][1:], argv[1][1:], assigned


def test_the_rebuild_script_trains_what_the_shipped_manifest_records(tmp_path: Path) -> None:
    """The shipped files' manifest records the command and frames that made them; the script a
    newcomer runs must be that command, on those generators' frames, from that start file."""
    from inference.manifest import MANIFEST_NAME

    export_args, train_args, assigned = _rebuild_steps(tmp_path)
    models = Path(__file__).parent.parent / "inference" / "models"
    training = json.loads((models / MANIFEST_NAME).read_text())["training"]
    recorded = training["command"].split()
    assert recorded[:2] == ["python", "scripts/train_model.py"]
    # a model trained before --looks existed (2.8.0) was trained on synth-v9's looks
    looks = [] if "looks" in training else ["--looks", "9"]
    assert train_args == [*recorded[2:], *looks]
    opts = dict(zip(export_args[::2], export_args[1::2], strict=True))
    frames = training["generator_frames"]
    assert opts["--out"] == train_args[train_args.index("--real-dir") + 1]
    assert opts["--generators"].split(",") == list(frames["generators"])
    assert "--bare-roots" not in opts and "bare_roots" not in frames
    for g in frames["generators"].values():
        assert (g["frames"], g["hairless"]) == (int(opts["--n"]), int(opts["--hairless"]))
    assert assigned["BASE_SHA"] == training["init_onnx_sha256"]


def test_the_rebuild_script_gives_frames_of_other_options_a_folder_of_their_own(
    tmp_path: Path,
) -> None:
    """FRAMES_OPTS reach the frames export, and the frames it makes go to a folder named by
    them, which the training step reads: the shipped recipe's frames are not drawn over."""
    export_args, train_args, _ = _rebuild_steps(tmp_path, "--bare-roots 0.5")
    assert export_args[-2:] == ["--bare-roots", "0.5"]
    out = export_args[export_args.index("--out") + 1]
    assert out == "/tmp/dermocap-train/generators5--bare-roots-0.5"
    assert train_args[train_args.index("--real-dir") + 1] == out
    plain, _, _ = _rebuild_steps(tmp_path / "plain", "")  # set but empty: the shipped frames
    assert plain[plain.index("--out") + 1] == "/tmp/dermocap-train/generators5"
    assert "--bare-roots" not in plain


def test_a_plan_gives_each_generator_its_own_counts(tmp_path: Path) -> None:
    plan = train_frames.parse_plan("blind:2:0, blind2 ,blind:5:5", 1, 1)
    assert plan == {"blind": (2, 0), "blind2": (1, 1)}  # each once, the first counts kept
    for bad in ("blind:2", "blind:a:1", "blind:1:2:3"):
        with pytest.raises(ValueError, match="NAME:N:BARE"):
            train_frames.parse_plan(bad, 1, 1)
    with pytest.raises(ValueError, match="held-out judge"):  # own counts refuse judges too
        export({"blind4": (0, 1)}, 0, 0, tmp_path / "no")
    with pytest.raises(ValueError, match="at least 1"):
        export({TRAINING_GENERATORS[0]: (0, 0)}, 1, 1, tmp_path / "no")
    assert not (tmp_path / "no").exists()
    out = tmp_path / "frames"
    first, second = TRAINING_GENERATORS[:2]
    index = export({first: (1, 0), second: (0, 1)}, 5, 5, out)
    assert index["count"] == 2
    got = {g: (v["frames"], v["hairless"]) for g, v in index["generators"].items()}
    assert got == {first: (1, 0), second: (0, 1)}
    assert json.loads((out / f"{second}-0000.json").read_text())["spec"]["hairless"] is True
    assert json.loads((out / f"{first}-0000.json").read_text())["spec"]["hairless"] is False


def test_a_share_of_bare_roots_is_in_the_specs_and_the_index_and_redraws_other_shares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = TRAINING_GENERATORS[0]
    plain = training_specs(gen, 2, 1)
    assert training_specs(gen, 2, 1, 0.0) == plain and all("bare_roots" not in s for s in plain)
    assert training_specs(gen, 2, 1, 0.25) == [{**s, "bare_roots": 0.25} for s in plain]
    calls: list[dict[str, object]] = []

    def tiny(seed: int, **kwargs: object) -> tuple[np.ndarray, dict[str, object]]:
        calls.append(kwargs)
        return np.zeros((32, 32, 3), np.uint8), {"um_per_px": 5.0, "hairs": [], "tips": []}

    source = dataclasses.replace(train_frames._SOURCES[gen], generate=tiny)
    monkeypatch.setitem(train_frames._SOURCES, gen, source)
    index = export((gen,), 1, 0, tmp_path, bare_roots=0.25)
    assert index["bare_roots"] == 0.25 and json.loads((tmp_path / INDEX_NAME).read_text()) == index
    assert calls[-1]["bare_roots"] == 0.25
    path = tmp_path / f"{gen}-0000.json"
    assert json.loads(path.read_text())["spec"]["bare_roots"] == 0.25
    export((gen,), 1, 0, tmp_path, bare_roots=0.25)  # the same share: kept
    assert len(calls) == 1
    index = export((gen,), 1, 0, tmp_path)  # another share, the same name: drawn again
    assert len(calls) == 2 and "bare_roots" not in calls[-1] and index["bare_roots"] == 0.0
    assert "bare_roots" not in json.loads(path.read_text())["spec"]
    for bad in (-0.5, 1.01, float("nan")):
        with pytest.raises(ValueError, match=r"bare roots must lie in \[0, 1\]"):
            export((gen,), 1, 0, tmp_path / "no", bare_roots=bad)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("share", ["1.5", "-0.1", "nan"])
def test_the_script_refuses_a_share_of_bare_roots_outside_0_to_1(
    tmp_path: Path, share: str
) -> None:
    out = tmp_path / "frames"
    r = _export_script(out, "--n", "1", "--bare-roots", share)
    assert r.returncode == 2
    assert "--bare-roots must lie in [0, 1]" in r.stderr
    assert not out.exists()
