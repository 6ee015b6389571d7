"""sim.scalp.curl and the curled training scalps: wavy, curly and coiled shafts from the same
emergence points, drawn and listed alike."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.targets import N_MAPS
from sim.config import ScalpConfig
from sim.dataset import DATASET_VERSION, Recipe, build_dataset, local_world, world_samples
from sim.render import View, shaft_points
from sim.scalp import CURL_VERSION, CURLS, ScalpWorld, curl, generate_scalp, regrow

WAVES = ("wave_amp_rad", "wave_period_mm", "wave_phase_rad")


@pytest.fixture(scope="module")
def world() -> ScalpWorld:
    return generate_scalp(ScalpConfig(seed=5, hair_length="long", density_per_cm2=90.0))


def chord_share(w: ScalpWorld) -> float:
    """Mean distance from emergence point to free end, as a share of the shaft's length."""
    view = View(0.0, 0.0, 0.0, 5.0, 800, 800)
    out = []
    for i in range(len(w.hairs)):
        pts = shaft_points(w, i, view, step_px=2.0)
        out.append(float(np.hypot(*(pts[-1] - pts[0]))) * view.mm_per_px / w.hairs.length_mm[i])
    return float(np.mean(out))


def test_straight_is_the_world_itself_and_an_unknown_curl_is_refused(world: ScalpWorld) -> None:
    assert curl(world, "straight", seed=1) is world
    assert not world.hairs.wave_amp_rad.any()
    with pytest.raises(ValueError, match="'frizzy' is not one of straight, wavy, curly, coiled"):
        curl(world, "frizzy", seed=1)  # type: ignore[arg-type]


def test_a_straight_shaft_is_traced_exactly_as_before_curl(world: ScalpWorld) -> None:
    # The twin's renders and cached training sets stay bit for bit what they were: the
    # shaft of a straight hair is the old formula, direction plus curvature.
    view = View(0.3, -0.2, 33.0, 4.0, 640, 480)
    hs = world.hairs
    for i in range(0, len(hs), 7):
        s = view.mm_per_px
        u, v = view.world_to_pixel(hs.x_mm[i : i + 1], hs.y_mm[i : i + 1])
        n = max(2, math.ceil(float(hs.length_mm[i]) / s / 12.0) + 1)
        t = np.linspace(0.0, float(hs.length_mm[i]), n)
        ang = (
            float(hs.angle_rad[i])
            + float(hs.curvature_per_mm[i]) * t
            - math.radians(view.rotation_deg)
        )
        dx = np.cumsum(np.concatenate([[0.0], np.diff(t) * np.cos(ang[:-1])])) / s
        dy = np.cumsum(np.concatenate([[0.0], np.diff(t) * np.sin(ang[:-1])])) / s
        want = np.stack([u[0] + dx, v[0] - dy], axis=1)
        np.testing.assert_array_equal(shaft_points(world, i, view), want)


@pytest.mark.parametrize("kind", CURLS[1:])
def test_curl_winds_the_shaft_and_keeps_everything_else(world: ScalpWorld, kind: str) -> None:
    curled = curl(world, kind, seed=2)  # type: ignore[arg-type]
    h0, h1 = world.hairs, curled.hairs
    for f in dataclasses.fields(h0):
        if f.name not in WAVES:
            np.testing.assert_array_equal(getattr(h1, f.name), getattr(h0, f.name))
    assert (h1.wave_amp_rad > 0).all()
    assert curled.follicles is world.follicles
    # The renderer (12 px steps), the training targets (2 px) and the bench's free ends
    # (12 px) trace a curled shaft as one polyline: its drawn end is its listed tip.
    view = View(0.0, 0.0, 0.0, 8.0, 800, 800)
    for i in range(0, len(h1), 11):
        np.testing.assert_array_equal(
            shaft_points(curled, i, view), shaft_points(curled, i, view, step_px=2.0)
        )
    # And the same seed gives the same curl.
    again = curl(world, kind, seed=2)  # type: ignore[arg-type]
    np.testing.assert_array_equal(again.hairs.wave_phase_rad, h1.wave_phase_rad)


def test_the_tighter_the_curl_the_nearer_a_shaft_ends_to_its_root(world: ScalpWorld) -> None:
    shares = [chord_share(curl(world, kind, seed=4)) for kind in CURLS]
    assert shares[0] > 0.95  # straight: near straight
    assert shares[0] > shares[1] > shares[2] > shares[3]
    assert shares[3] < 0.5  # coiled: a chain of loops that advances little


def test_new_hairs_of_a_regrown_curled_scalp_are_curled_like_their_donors(
    world: ScalpWorld,
) -> None:
    curled = curl(world, "coiled", seed=3)
    later = regrow(curled, 1.5, seed=9)
    n = len(world.hairs)
    assert len(later.hairs) > n
    assert (later.hairs.wave_amp_rad[n:] > 0).all()
    # A new hair swings as its own kind (vellus half as far), whatever its donor was.
    new = later.hairs.wave_amp_rad[n:] / np.where(later.hairs.diameter_um[n:] < 30.0, 0.5, 1.0)
    assert new.min() >= 1.3 - 1e-9 and new.max() <= 2.2 + 1e-9
    np.testing.assert_array_equal(later.hairs.wave_amp_rad[:n], curled.hairs.wave_amp_rad)


def test_local_world_keeps_every_curled_hair_that_reaches_the_disc(world: ScalpWorld) -> None:
    curled = curl(world, "curly", seed=6)
    view = View(1.0, -0.5, 0.0, 5.0, 300, 300)
    cx, cy, r = 1.0, -0.5, 0.4
    kept = local_world(curled, cx, cy, r).hairs
    reach = [
        i
        for i in range(len(curled.hairs))
        if (
            np.hypot(
                *(
                    np.asarray(view.pixel_to_world(*shaft_points(curled, i, view, 2.0).T))
                    - np.array([[cx], [cy]])
                )
            ).min()
            <= r
        )
    ]
    assert reach  # the disc is crossed by shafts
    got = {(float(x), float(y)) for x, y in zip(kept.x_mm, kept.y_mm, strict=True)}
    for i in reach:
        assert (float(curled.hairs.x_mm[i]), float(curled.hairs.y_mm[i])) in got


def test_a_curled_training_scalp_has_the_same_count_targets_and_other_shafts() -> None:
    straight = Recipe(8.0, 4, 192, 1, 1)
    curled = dataclasses.replace(straight, curl_share=1.0)
    seed = 10  # long hair, 245 per cm2, not bare (hairless and trimmed ones would show less)
    a, b = world_samples(seed, straight), world_samples(seed, curled)
    assert len(a) == len(b)
    for (_, t_a), (_, t_b) in zip(a, b, strict=True):
        np.testing.assert_array_equal(t_a[:N_MAPS], t_b[:N_MAPS])
    assert sum(float(t[:N_MAPS].sum()) > 0 for _, t in a) >= 3  # crops with hairs in them
    assert any(not np.array_equal(ia, ib) for (ia, _), (ib, _) in zip(a, b, strict=True))
    assert any(
        not np.array_equal(ta[N_MAPS:], tb[N_MAPS:]) for (_, ta), (_, tb) in zip(a, b, strict=True)
    )


def test_the_curl_share_names_its_own_cache(tmp_path: Path) -> None:
    root = tmp_path
    recipe = Recipe(8.0, 4, 96, 1, 1, curl_share=0.5)
    build_dataset(root, recipe)
    assert [p.name for p in root.iterdir()] == [
        f"{DATASET_VERSION}-s1-c96-u8-st4-cu0.5v{CURL_VERSION}"
    ]
    # synth-v9's looks (to rebuild 2.8.0) are cached apart under their own name
    build_dataset(root, dataclasses.replace(recipe, looks=9))
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [
            f"{DATASET_VERSION}-s1-c96-u8-st4-cu0.5v{CURL_VERSION}",
            f"synth-v9-s1-c96-u8-st4-cu0.5v{CURL_VERSION}",
        ]
    )


def test_a_coil_is_traced_finely_enough_at_any_scale(world: ScalpWorld) -> None:
    # The renderer's 12-pixel steps would cut across a coil's loops at 12 um/px: a curled
    # shaft gets at least 16 points per swing, so the drawn end lies where the shaft ends.
    coiled = curl(world, "coiled", seed=8)
    view = View(0.0, 0.0, 0.0, 12.0, 400, 400)
    for i in range(0, len(coiled.hairs), 5):
        a = shaft_points(coiled, i, view)[-1]
        b = shaft_points(coiled, i, view, step_px=0.05)[-1]
        gap_mm = float(np.hypot(*(a - b))) * view.mm_per_px
        assert gap_mm < 0.1 * float(coiled.hairs.length_mm[i])


def test_the_twin_curl_bench_reads_each_curl_and_refuses_bad_arguments(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parent.parent / "inference" / "models"
    script = [
        sys.executable,
        str(Path(__file__).resolve().parent.parent / "scripts" / "bench_twin_curl.py"),
    ]
    r = subprocess.run(
        [*script, "--n", "1", "--lengths", "trimmed", "--openings"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    reads, openings = r.stdout.split("\n\n")
    rows = [line.split() for line in reads.splitlines()[1:]]
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == [
        ("trimmed", kind, "shipped", "1") for kind in CURLS
    ]
    assert all(0.3 < float(row[5]) < 3.0 for row in rows)  # a read, not a placeholder
    split = [line.split() for line in openings.splitlines()[2:]]
    assert [(row[0], row[1], row[2]) for row in split] == [
        ("trimmed", kind, "shipped") for kind in CURLS
    ]
    assert 0.5 < float(split[0][3]) < 1.5  # a straight single hair's opening holds ~one
    assert 0.0 <= float(split[0][-1]) < 60.0  # most of the count near openings
    for bad, says in (
        (["--model", "x"], "--model wants NAME=DIR (got 'x')"),
        (["--n", "0"], "1 or more (got 0)"),
        (["--lengths", "short"], "long, trimmed and mixed, each once (got short)"),
        (["--lengths", "long,long"], "each once (got long,long)"),
        (["--threads", "0"], "1 or more (got 0)"),
        (["--model", f"a={tmp_path}"], "holds no manifest.json (a models folder)"),
        (["--model", f"a={models}", "--model", f"a={models}"], "--model a is given twice"),
    ):
        r = subprocess.run([*script, *bad], capture_output=True, text=True)
        assert r.returncode == 2 and says in r.stderr


def test_the_mass_at_openings_is_split_by_unit_and_the_rest_is_far() -> None:
    from sim.generality.openings import mass_at_openings

    # a 400 x 400 px frame at 8 um/px over 100 x 100 cells (4 px each): a unit of two hairs
    # at (100, 100), one hair at (300, 300), and a blob on bare skin at (300, 80)
    truth = {
        "width": 400,
        "height": 400,
        "um_per_px": 8.0,
        "hairs": [
            {"x_px": 100.0, "y_px": 100.0, "unit": 7},
            {"x_px": 101.0, "y_px": 99.0, "unit": 7},
            {"x_px": 300.0, "y_px": 300.0, "unit": 9},
        ],
    }
    count = np.zeros((100, 100), dtype=np.float32)
    count[24:26, 24:26] = 0.45  # 1.8 at the pair's opening
    count[74:76, 74:76] = 0.25  # 1.0 at the single hair
    count[19:21, 74:76] = 0.125  # 0.5 far from both
    got = mass_at_openings(count, truth)
    assert got["2"] == pytest.approx(1.8) and got["n2"] == 1
    assert got["1"] == pytest.approx(1.0) and got["n1"] == 1
    assert got["far"] == pytest.approx(0.5) and got["total"] == pytest.approx(3.3)
    assert got["n3"] == got["n4"] == 0
