"""blind-17, the independent held-out generator drawn by DDA spans over diamond-square skin:
its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.blind17 import GENERATOR, generate
from sim.blind17.site import site_look
from tests.generator_checks import (
    LOOK_KEYS,
    check_dark_hair_where_the_truth_puts_it,
    check_densities_span_bare_to_dense,
    check_density_follows_the_drawn_hairs,
    check_deterministic_and_seeds_matter,
    check_emergence_outside,
    check_follow_up_keeps_subset_or_adds,
    check_hairless_is_the_same_site,
    check_light_hair_where_the_truth_puts_it,
    check_range_end,
    check_refuses_outside_its_ranges,
    check_same_site_at_any_scale,
    check_truth_contract,
    check_truth_over_frames,
    check_variety,
    foreign_imports,
    hair_contrast,
    range_ends,
    seeds_where,
    site_looks,
)

ROOT = Path(__file__).resolve().parents[1]
OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = (
    (3.0, 12.0),
    (32, 2028),
    (32, 1521),
    4.0,
)  # accepted scale, width, height; top regrowth


def _looks() -> list[dict[str, Any]]:
    return site_looks(site_look)


def _seeds(n: int, low: float = 120.0, **want: Any) -> list[int]:
    return seeds_where(site_look, n, low, **want)


def test_imports_nothing_foreign() -> None:
    assert foreign_imports(ROOT / "sim" / "blind17", "sim.blind17") == []
    assert GENERATOR == "blind-17"


def test_refuses_bad_arguments() -> None:
    check_refuses_outside_its_ranges(generate, OK, RANGES)


@pytest.mark.parametrize("kwargs", range_ends(*RANGES))
def test_range_ends_draw(kwargs: dict[str, Any]) -> None:
    check_range_end(generate, kwargs)


def test_full_frame_draws() -> None:
    seed = _seeds(1, 200.0, hair_length=("long",))[0]
    img, truth = generate(seed, um_per_px=12.0, width=2028, height=1521)
    assert img.shape == (1521, 2028, 3) and truth["density_per_cm2"] > 120
    check_truth_contract(truth, 2028, 1521, 12.0)


def test_truth_contract_over_many_frames() -> None:
    check_truth_over_frames(generate, "blind-17", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0))


def test_deterministic_and_seeds_matter() -> None:
    check_deterministic_and_seeds_matter(generate)


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


def test_variety() -> None:
    c = check_variety(generate, 40)
    assert {"terminal", "vellus", "intermediate", "black_dot", "broken"} <= set(c["kinds"])
    assert c["ends"][True] > 10 and c["ends"][False] > 10
