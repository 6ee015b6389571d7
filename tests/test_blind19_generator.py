"""blind-19, the independent held-out generator that sphere-traces one signed distance field
of skin and hair through a telecentric lens onto a field-sequential monochrome sensor: its
contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind19 import GENERATOR, generate
from sim.blind19.codec import near_lossless
from sim.blind19.scene import Pieces
from sim.blind19.sdf import trace
from sim.blind19.site import site_look
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
    luma,
    mean_around,
    range_ends,
    seeds_where,
    site_looks,
)

ROOT = Path(__file__).resolve().parents[1]
OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = ((3.0, 12.0), (32, 2028), (32, 1521), 4.0)  # scale, width, height; top regrowth


def _looks() -> list[dict[str, Any]]:
    return site_looks(site_look)


def _seeds(n: int, low: float = 120.0, **want: Any) -> list[int]:
    return seeds_where(site_look, n, low, **want)


def test_imports_nothing_foreign() -> None:
    assert foreign_imports(ROOT / "sim" / "blind19", "sim.blind19") == []
    assert GENERATOR == "blind-19"


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
    check_truth_over_frames(generate, "blind-19", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0))


def test_deterministic_and_seeds_matter() -> None:
    check_deterministic_and_seeds_matter(generate)


def test_same_site_at_any_scale_and_size() -> None:
    check_same_site_at_any_scale(generate, _seeds(6))


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(6))


def test_hairless_is_the_same_site_without_hair() -> None:
    check_hairless_is_the_same_site(generate, _seeds(3, 150.0))


def test_hairless_frames_and_bare_sites_hold_no_hair() -> None:
    """A hairless frame has density 0 and no hair, tip or root outside in its truth (and is
    drawn the same twice); a bare site drawn with its hair has none either."""
    for seed in _seeds(4):
        kw: dict[str, Any] = {"um_per_px": 6.0, "width": 160, "height": 120, "hairless": True}
        img, t = generate(seed, **kw)
        assert t["hairs"] == [] and t["density_per_cm2"] == 0.0
        assert t["tips"] == [] and t["tips_covered"] == []
        assert t["emergence_outside"] == []
        other, _ = generate(seed, **kw)
        assert np.array_equal(img, other)
    bare = [s for s, p in enumerate(_looks()) if p["pattern"] == "bare"][:2]
    for seed in bare:
        _, t = generate(seed, um_per_px=10.0, width=320, height=240)
        assert t["hairs"] == [] and t["density_per_cm2"] == 0.0 and t["tips"] == []


def test_follow_up_keeps_subset_or_adds() -> None:
    check_follow_up_keeps_subset_or_adds(generate, _seeds(4))


def test_densities_span_bare_to_dense() -> None:
    check_densities_span_bare_to_dense(generate)


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    return hair_contrast(generate, seeds, light_hair, 20.0)


def test_dark_hair_on_light_skin_lies_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(60, 100.0, hair_colour=("black", "dark brown"), hair_length=("trimmed",))
        if _looks()[s]["fitzpatrick"] <= 3 and _looks()[s]["defocus_um"] < 9
    ][:20]
    check_dark_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=False))


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    # white fibres (blond ones on type IV skin reflect about as much as the skin does)
    seeds = [
        s
        for s in _seeds(80, 40.0, hair_colour=("white",))
        if _looks()[s]["fitzpatrick"] >= 4 and not _looks()[s]["dyed"]
    ][:10]
    check_light_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=True), n=10)


def test_density_follows_the_drawn_hairs() -> None:
    check_density_follows_the_drawn_hairs(generate, _looks())


def test_variety() -> None:
    c = check_variety(generate, 40)
    assert {"terminal", "vellus", "intermediate", "black_dot", "broken"} <= set(c["kinds"])
    assert c["ends"][True] > 10 and c["ends"][False] > 10
    assert len(c["colours"]) >= 7 and c["lights"]["polarised"] > 10


def test_black_dots_are_dark_where_the_truth_puts_them() -> None:
    seeds = [s for s, p in enumerate(_looks()) if p["pattern"] == "alopecia_areata"]
    seeds = [s for s in seeds if _looks()[s]["fitzpatrick"] <= 4][:16]
    got = []
    for seed in seeds:
        img, t = generate(seed, um_per_px=6.0, width=480, height=360)
        dots = [h for h in t["hairs"] if h["kind"] == "black_dot"]
        if not dots:
            continue
        bare, _ = generate(seed, um_per_px=6.0, width=480, height=360, hairless=True)
        d = luma(bare) - luma(img)
        got += [mean_around(d, h["x_px"], h["y_px"]) for h in dots]
    assert len(got) >= 4
    assert np.mean(np.array(got) > 15) > 0.7, got


def test_the_tracer_covers_a_lying_shaft_by_its_width() -> None:
    """One straight shaft lying across a flat frame: rays over it hit its surface, and the
    hair's share of each column, summed across it, is its diameter (anti-aliasing from the
    rays' nearest approach), from a sub-pixel shaft to a thick one."""
    h, w = 40, 60
    for radius in (0.3, 1.2, 4.5):
        zc = radius + 1.0
        pc = Pieces(
            a=np.array([[-5.0, 19.3, zc]]),
            b=np.array([[65.0, 19.3, zc]]),
            ra=np.array([radius]),
            rb=np.array([radius]),
            sa=np.zeros(1),
            sb=np.ones(1),
            owner=np.zeros(1, np.int64),
            capped=np.zeros(1, bool),
            normal=np.zeros((1, 3)),
            fray=np.zeros(1),
        )
        ground = np.zeros((h, w), np.float32)
        up = np.zeros((h, w, 3), np.float32)
        up[..., 2] = 1.0
        tr = trace(pc, ground, up, 5.0, 0.0)
        share = np.where(tr.piece >= 0, tr.cover, tr.edge_cover).reshape(h, w)
        assert share[:, 30].sum() == pytest.approx(2 * radius, abs=0.35)
        if radius > 1:  # the ray through row 19 meets the cylinder 0.3 px off its axis
            top = tr.z.reshape(h, w)[19, 30]
            assert top == pytest.approx(zc + math.sqrt(radius**2 - 0.09), abs=0.05)
        assert (tr.piece.reshape(h, w)[:10] < 0).all() and (
            tr.edge_piece.reshape(h, w)[:10] < 0
        ).all()


def test_the_codec_keeps_within_its_bound() -> None:
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(120, 40, (37, 53, 3)).cumsum(axis=1) / 8, 0, 255).astype(np.uint8)
    assert np.array_equal(near_lossless(img, 0), img)
    for near in (1, 3, 5):
        out = near_lossless(img, near)
        err = np.abs(out.astype(int) - img.astype(int))
        assert err.max() <= near and err.mean() > 0.2 * near
