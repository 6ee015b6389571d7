"""sim.scalp.regrow and Twin.regrow: the same scalp at a later visit, with more or fewer hairs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import ScalpConfig, SimConfig
from sim.scalp import Hairs, ScalpWorld, generate_scalp, regrow
from sim.twin import Twin

HAIR_FIELDS = [f.name for f in dataclasses.fields(Hairs)]


@pytest.fixture(scope="module")
def world() -> ScalpWorld:
    return generate_scalp(ScalpConfig())


def per_unit(w: ScalpWorld) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """Hairs per follicle counted from the hairs' unit ids."""
    counts: np.ndarray[tuple[int], np.dtype[np.int64]] = np.bincount(
        w.hairs.unit_id, minlength=w.follicles.x_mm.shape[0]
    )
    return counts


def assert_consistent(before: ScalpWorld, after: ScalpWorld) -> None:
    """Same openings in the same places; counts match the hairs; at most 4 per opening."""
    f0, f1 = before.follicles, after.follicles
    np.testing.assert_array_equal(f1.x_mm, f0.x_mm)
    np.testing.assert_array_equal(f1.y_mm, f0.y_mm)
    assert f1.hair_count.shape == f0.hair_count.shape
    assert per_unit(after).shape == f1.hair_count.shape  # no hair points past the follicles
    np.testing.assert_array_equal(f1.hair_count, per_unit(after))
    assert f1.hair_count.min() >= 0 and f1.hair_count.max() <= 4
    n = len(after.hairs)
    for name in HAIR_FIELDS:
        assert getattr(after.hairs, name).shape[0] == n, name
    # Skin, sheen and extent untouched: the site still looks like itself.
    assert after.texture is before.texture and after.sheen is before.sheen
    assert after.extent_mm == before.extent_mm


def test_generated_world_is_consistent(world: ScalpWorld) -> None:
    # The premise of the checks below: counts and unit ids agree before regrowth.
    np.testing.assert_array_equal(world.follicles.hair_count, per_unit(world))
    assert (world.follicles.hair_count == 0).sum() > 0


def test_regrow_adds_hairs_and_keeps_the_old_ones(world: ScalpWorld) -> None:
    n = len(world.hairs)
    counts0 = world.follicles.hair_count.copy()
    grown = regrow(world, 1.2, seed=3)
    added = round(0.2 * n)
    assert len(grown.hairs) == n + added
    for name in HAIR_FIELDS:  # every existing hair exactly as it was, in the same order
        np.testing.assert_array_equal(getattr(grown.hairs, name)[:n], getattr(world.hairs, name))
    assert_consistent(world, grown)
    # Dormant (empty) follicles wake up first, each with one hair.
    empty = np.flatnonzero(counts0 == 0)
    assert 0 < empty.size < added
    new_units = grown.hairs.unit_id[n:]
    assert set(new_units[: empty.size].tolist()) == set(empty.tolist())
    assert (grown.follicles.hair_count[empty] >= 1).all()
    assert (grown.follicles.hair_count >= counts0).all()
    # New hairs emerge at their follicle's opening.
    f = grown.follicles
    dist = np.hypot(
        grown.hairs.x_mm[n:] - f.x_mm[new_units], grown.hairs.y_mm[n:] - f.y_mm[new_units]
    )
    assert dist.max() < 0.1
    # The input world is not changed.
    np.testing.assert_array_equal(world.follicles.hair_count, counts0)
    assert len(world.hairs) == n


def test_regrow_below_one_sheds_hairs(world: ScalpWorld) -> None:
    n = len(world.hairs)
    thinner = regrow(world, 0.8, seed=3)
    assert len(thinner.hairs) == n - round(0.2 * n)
    assert_consistent(world, thinner)
    assert (thinner.follicles.hair_count <= world.follicles.hair_count).all()
    # The survivors are original hairs, unchanged and in their order.
    idx = np.searchsorted(world.hairs.x_mm, thinner.hairs.x_mm, sorter=np.argsort(world.hairs.x_mm))
    orig = np.argsort(world.hairs.x_mm)[idx]
    assert (np.diff(orig) > 0).all()
    for name in HAIR_FIELDS:
        np.testing.assert_array_equal(
            getattr(thinner.hairs, name), getattr(world.hairs, name)[orig]
        )


@pytest.mark.parametrize("factor", [1.0, 2.0, 3.0])
def test_regrow_never_puts_more_than_four_hairs_in_a_unit(world: ScalpWorld, factor: float) -> None:
    n = len(world.hairs)
    grown = regrow(world, factor, seed=1)
    assert_consistent(world, grown)
    capacity = 4 * world.follicles.x_mm.shape[0]
    assert len(grown.hairs) == min(round(factor * n), capacity)
    if round(factor * n) >= capacity:  # every opening full: the rest cannot grow
        assert (grown.follicles.hair_count == 4).all()


def test_regrow_by_zero_leaves_bare_skin_with_its_openings(world: ScalpWorld) -> None:
    bare = regrow(world, 0.0)
    assert len(bare.hairs) == 0 and (bare.follicles.hair_count == 0).all()
    np.testing.assert_array_equal(bare.follicles.x_mm, world.follicles.x_mm)
    np.testing.assert_array_equal(bare.follicles.radius_mm, world.follicles.radius_mm)


def test_a_bare_render_has_no_hairs_in_its_truth() -> None:
    from sim.tools import RenderRequest, render_capture

    req = RenderRequest(seed=4, width=320, height=240, density_factor=0.0)
    img, truth = render_capture(SimConfig(), req)
    assert truth["hair_count"] == 0 and truth["density_per_cm2"] == 0.0 and not truth["hairs"]
    assert img.shape == (240, 320, 3) and img.std() > 1.0  # skin, not a blank frame


@pytest.mark.parametrize("factor", [0.01, 0.19, 3.01, 10.0, -1.2, float("nan")])
def test_regrow_refuses_factors_outside_the_range(world: ScalpWorld, factor: float) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.2-3\.0"):
        regrow(world, factor)


def test_regrow_is_reproducible_by_seed(world: ScalpWorld) -> None:
    a, b, c = regrow(world, 1.3, seed=7), regrow(world, 1.3, seed=7), regrow(world, 1.3, seed=8)
    for name in HAIR_FIELDS:
        np.testing.assert_array_equal(getattr(a.hairs, name), getattr(b.hairs, name))
    np.testing.assert_array_equal(a.follicles.hair_count, b.follicles.hair_count)
    np.testing.assert_array_equal(a.follicles.radius_mm, b.follicles.radius_mm)
    assert not np.array_equal(a.hairs.x_mm, c.hairs.x_mm)


def test_twin_regrow_raises_the_true_density_in_view() -> None:
    twin = Twin(SimConfig(), nominal_um_per_px=5.1667, seed=1)
    before = twin.truth()
    twin.regrow(1.2, seed=0)
    after = twin.truth()
    assert after["density_per_cm2"] / before["density_per_cm2"] == pytest.approx(1.2, abs=0.04)
    assert after["area_cm2"] == before["area_cm2"]
    # The hairs of the baseline are still there, where they were.
    old = {(h["x_px"], h["y_px"]) for h in before["hairs"]}
    new = {(h["x_px"], h["y_px"]) for h in after["hairs"]}
    assert old < new
    # Another scalp config resets the subject; the regrown scalp is not kept.
    twin.set_scalp(twin.scalp_config)
    assert twin.truth()["hair_count"] == before["hair_count"]
