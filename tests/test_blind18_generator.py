"""blind-18, the independent held-out generator that shades one height field of skin and hair
cylinders: its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind18 import GENERATOR, generate
from sim.blind18.site import site_look
from tests.generator_checks import (
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
    assert foreign_imports(ROOT / "sim" / "blind18", "sim.blind18") == []
    assert GENERATOR == "blind-18"


def test_refuses_bad_arguments() -> None:
    check_refuses_outside_its_ranges(generate, OK, RANGES)


@pytest.mark.parametrize("kwargs", range_ends(*RANGES))
def test_range_ends_draw(kwargs: dict[str, Any]) -> None:
    check_range_end(generate, kwargs)


def test_a_large_frame_of_long_hair_draws() -> None:
    seed = _seeds(1, 200.0, hair_length=("long",))[0]
    img, truth = generate(seed, um_per_px=12.0, width=1024, height=768)
    assert img.shape == (768, 1024, 3) and truth["density_per_cm2"] > 120
    check_truth_contract(truth, 1024, 768, 12.0)
    assert truth["tips"] and truth["tips_covered"]  # long hair crosses hair


def test_truth_contract_over_many_frames() -> None:
    check_truth_over_frames(generate, "blind-18", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0))


def test_deterministic_and_seeds_matter() -> None:
    check_deterministic_and_seeds_matter(generate)


def test_same_site_at_any_scale_and_size() -> None:
    check_same_site_at_any_scale(generate, _seeds(6))


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(3))


def test_hairless_is_the_same_site_without_hair() -> None:
    check_hairless_is_the_same_site(generate, _seeds(3, 150.0))


def test_follow_up_keeps_subset_or_adds() -> None:
    check_follow_up_keeps_subset_or_adds(generate, _seeds(4))


def test_densities_span_bare_to_dense() -> None:
    check_densities_span_bare_to_dense(generate)


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    return hair_contrast(generate, seeds, light_hair, 25.0)


def test_dark_hair_on_light_skin_lies_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(60, 100.0, hair_colour=("black", "dark brown"), hair_length=("trimmed",))
        if _looks()[s]["fitzpatrick"] <= 3 and _looks()[s]["defocus_um"] < 9
    ][:22]
    check_dark_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=False))


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(80, 80.0, hair_colour=("white", "blond"))
        if _looks()[s]["fitzpatrick"] >= 4 and not _looks()[s]["dyed"]
    ][:10]
    check_light_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=True))


def test_density_follows_the_drawn_hairs() -> None:
    check_density_follows_the_drawn_hairs(generate, _looks())


def test_variety() -> None:
    c = check_variety(generate, 40)
    assert {"terminal", "vellus", "intermediate", "black_dot", "broken"} <= set(c["kinds"])
    assert c["ends"][True] > 10 and c["ends"][False] > 10
    assert len(c["colours"]) >= 7 and c["lights"]["polarised"] > 10


def test_a_cut_plane_trims_the_end_only_not_a_curled_hair_turning_back() -> None:
    # Site 5 at 6 um/px: a long oblique-cut hair curls back across the infinite plane of its
    # own cut. Before CUT_REACH the plane erased its first 1.1 mm, root included, while the
    # truth listed it; a detector could not see the root the truth counts.
    from sim.blind18 import scene, site
    from sim.blind18.heightfield import draw, new_buffer

    seed, um, w, h = 5, 6.0, 1200, 900
    look = site.site_look(seed)
    fr = scene.Frame(w, h, um, 0.0, (0.0, 0.0))
    _, hairs, _ = scene.world(seed, look, fr, None)
    drawn = scene.reaching(look, fr, hairs)
    buf = new_buffer(np.zeros((h * 2, w * 2), np.float32) - 1e3, 2)  # skin far below
    draw(buf, scene.segments(fr, drawn), w, h)
    ids = buf.hair.reshape(h * 2, w * 2)
    k = next(i for i, d in enumerate(drawn) if d.hair["id"] == "c2_0u1h1")
    assert drawn[k].hair["end"] == "cut"
    x, y = fr.to_px(np.array([drawn[k].hair["x"]]), np.array([drawn[k].hair["y"]]))
    cx, cy = round(float(x[0]) * 2), round(float(y[0]) * 2)
    assert (ids[cy - 4 : cy + 5, cx - 4 : cx + 5] == k).any()  # its root is drawn
    ys, xs = np.nonzero(ids == k)
    assert np.hypot(xs - cx, ys - cy).min() < 2.0
