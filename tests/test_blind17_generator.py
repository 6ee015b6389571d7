"""blind-17, the independent held-out generator drawn by DDA spans over diamond-square skin:
its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

from typing import Any

import pytest

from sim.blind17 import generate
from sim.blind17.site import site_look
from tests.generator_checks import (
    LOOK_KEYS,
    Contract,
    check_dark_hair_where_the_truth_puts_it,
    check_densities_span_bare_to_dense,
    check_density_follows_the_drawn_hairs,
    check_emergence_outside,
    check_follow_up_keeps_subset_or_adds,
    check_hairless_is_the_same_site,
    check_light_hair_where_the_truth_puts_it,
    check_refuses_outside_its_ranges,
    check_same_site_at_any_scale,
    check_truth_contract,
    contract_part,
    hair_contrast,
    seeds_where,
    site_looks,
)

OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = (
    (3.0, 12.0),
    (32, 2028),
    (32, 1521),
    4.0,
)  # accepted scale, width, height; top regrowth

# the part of blind-21's and blind-22's contract (tests.generator_checks) that blind-17's own
# tests checked the same (or, for its variety, more weakly); the rest of its tests stay below,
# with its own refusal messages, frame sizes, sites and thresholds
CONTRACT = contract_part(
    Contract("blind-17", "sim.blind17", generate, site_look, ranges=RANGES),
    (
        "imports_nothing_foreign",
        "range_ends",
        "truth_over_frames",
        "deterministic",
        "every_kind_tone_colour_and_light",
    ),
)


def _looks() -> list[dict[str, Any]]:
    return site_looks(site_look)


def _seeds(n: int, low: float = 120.0, **want: Any) -> list[int]:
    return seeds_where(site_look, n, low, **want)


@pytest.mark.parametrize("check", CONTRACT)
def test_the_contract(check: str) -> None:
    CONTRACT[check]()


def test_refuses_bad_arguments() -> None:
    check_refuses_outside_its_ranges(generate, OK, RANGES)


def test_full_frame_draws() -> None:
    seed = _seeds(1, 200.0, hair_length=("long",))[0]
    img, truth = generate(seed, um_per_px=12.0, width=2028, height=1521)
    assert img.shape == (1521, 2028, 3) and truth["density_per_cm2"] > 120
    check_truth_contract(truth, 2028, 1521, 12.0)


def test_same_site_at_any_scale_and_size() -> None:
    check_same_site_at_any_scale(
        generate, _seeds(5), keys=("kind", "diameter_um", "colour", "length_um")
    )


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(3))


def test_hairless_is_the_same_site_without_hair() -> None:
    check_hairless_is_the_same_site(
        generate, _seeds(3, 150.0), size=(300, 240), skin_tol=4, tips_covered=False
    )


def test_follow_up_keeps_subset_or_adds() -> None:
    check_follow_up_keeps_subset_or_adds(
        generate, _seeds(4), ((400, 300), (560, 440)), keys=LOOK_KEYS, grown_taper=False
    )


def test_densities_span_bare_to_dense() -> None:
    check_densities_span_bare_to_dense(generate, n_seeds=40, size=(400, 300))


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    return hair_contrast(generate, seeds, light_hair, None, size=(320, 240), cut_styles=False)


def test_dark_hair_on_light_skin_lies_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(40, 100.0, hair_colour=("black", "dark brown"))
        if _looks()[s]["fitzpatrick"] <= 3 and _looks()[s]["defocus_um"] < 9
    ][:12]
    check_dark_hair_where_the_truth_puts_it(
        _hair_contrast(seeds, light_hair=False),
        behind_at_most=(8.0, 15.0, 0.6),
        root_over_behind=None,
        tip_out_below=10.0,
    )


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(60, 80.0, hair_colour=("white", "blond"))
        if _looks()[s]["fitzpatrick"] >= 4
    ][:10]
    check_light_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=True))


def test_density_follows_the_drawn_hairs() -> None:
    check_density_follows_the_drawn_hairs(generate, _looks(), size=(320, 240))
