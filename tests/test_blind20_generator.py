"""blind-20, the independent held-out generator that draws shafts as line measures convolved
with discs in the frequency domain over Markov-random-field skin, through a Moffat lens onto a
stacked sensor: its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from sim.blind20 import GENERATOR, generate
from sim.blind20.camera import codec
from sim.blind20.fourier import Grid, convolve_discs
from sim.blind20.shafts import View, axis_depth, samples, shaft
from sim.blind20.site import site_look
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
    assert foreign_imports(ROOT / "sim" / "blind20", "sim.blind20") == []
    assert GENERATOR == "blind-20"


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
    check_truth_over_frames(generate, "blind-20", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0))


def test_deterministic_and_seeds_matter() -> None:
    check_deterministic_and_seeds_matter(generate)


def test_same_site_at_any_scale_and_size() -> None:
    check_same_site_at_any_scale(generate, _seeds(6))


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(6))


def test_hairless_is_the_same_site_without_hair() -> None:
    # dark hair: the lens's glare spreads white hair's light a little onto the skin near it
    dark = ("black", "dark brown", "brown")
    check_hairless_is_the_same_site(generate, _seeds(3, 150.0, hair_colour=dark))


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
    assert bare
    for seed in bare:
        _, t = generate(seed, um_per_px=10.0, width=320, height=240)
        assert t["hairs"] == [] and t["density_per_cm2"] == 0.0 and t["tips"] == []


def test_follow_up_keeps_subset_or_adds() -> None:
    check_follow_up_keeps_subset_or_adds(generate, _seeds(4))


def test_regrowth_follows_its_factor() -> None:
    """Pooled over sites, a follow-up's count is the factor times the baseline's (within the
    draw's noise), from a heavy loss to three times the hair."""
    kw: dict[str, Any] = {"um_per_px": 10.0, "width": 480, "height": 360}
    seeds = _seeds(8, 150.0)
    base = sum(len(generate(seed, **kw)[1]["hairs"]) for seed in seeds)
    for factor in (0.25, 3.0):
        after = sum(
            len(generate(seed, regrown=(factor, visit), **kw)[1]["hairs"])
            for seed in seeds
            for visit in (4, 5, 6)
        )
        assert after / (3 * base) == pytest.approx(factor, rel=0.15), (factor, base, after)


def test_densities_span_bare_to_dense() -> None:
    check_densities_span_bare_to_dense(generate)


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    return hair_contrast(generate, seeds, light_hair, None)


def test_dark_hair_on_light_skin_lies_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(60, 100.0, hair_colour=("black", "dark brown"), hair_length=("trimmed",))
        if _looks()[s]["fitzpatrick"] <= 3
    ][:16]
    check_dark_hair_where_the_truth_puts_it(_hair_contrast(seeds, light_hair=False))


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    seeds = [
        s for s in _seeds(80, 40.0, hair_colour=("white",)) if _looks()[s]["fitzpatrick"] >= 4
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
    seeds = [s for s in seeds if _looks()[s]["fitzpatrick"] <= 4][:12]
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


def _half_width(profile: np.ndarray, step: float) -> float | None:
    """Full width at half the peak of a single dip (None when it is not one clean dip)."""
    peak = int(np.argmax(profile))
    top = profile[peak]
    if top <= 0 or profile[0] > 0.15 * top or profile[-1] > 0.15 * top:
        return None
    above = profile >= top / 2
    lo, hi = peak, peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < len(profile) - 1 and above[hi + 1]:
        hi += 1
    if above[:lo].any() or above[hi + 1 :].any():
        return None
    a = lo - 1 + (top / 2 - profile[lo - 1]) / (profile[lo] - profile[lo - 1])
    b = hi + (profile[hi] - top / 2) / (profile[hi] - profile[hi + 1])
    return float(b - a) * step


def test_the_fourier_chord_covers_a_lying_shaft_by_its_width() -> None:
    """One straight shaft drawn by the frequency-domain chord: its opacity summed across is
    its width, from a sub-pixel fibre to a thick one, and a thick one's opacity is half at its
    edges; a dot is a flat disc of its diameter."""
    view = View(80, 60, 5.0)
    grid = Grid.of(60, 80, 30)
    for d_um in (4.0, 10.0, 30.0, 60.0, 110.0):
        hr = {
            "x": -250.0,
            "y": 1.3,
            "d": d_um,
            "end": "cut",
            "cut_style": "square",
            "kind": "terminal",
            "lie": "long",
            "length_3d": 800.0,
            "elevation": 10.0,
            "curl": 0.0,
            "wave": 0.0,
            "azimuth": 0.0,
            "new": False,
            "id": 1,
        }
        sh = shaft(hr)
        pts = samples(view, [sh], [([0.0] * 3, [0.0] * 3)], 0.0)
        depth = grid.crop(convolve_discs(grid, pts.x, pts.y, pts.r, pts.wts, 0.35)[0])
        alpha = 1 - np.exp(-depth[:, 40].astype(float))
        assert alpha.sum() == pytest.approx(d_um / 5.0, rel=0.08, abs=0.12), d_um
        if d_um >= 30:
            assert _half_width(alpha, 1.0) == pytest.approx(d_um / 5.0, rel=0.06), d_um
    dot = convolve_discs(
        grid, np.array([40.0]), np.array([30.0]), np.array([8.0]), np.array([[1.0]]), 0.35
    )
    disc = grid.crop(dot[0])
    yy, xx = np.mgrid[0:60, 0:80]
    dist = np.hypot(xx - 40, yy - 30)
    assert float(disc[dist < 6.5].mean()) == pytest.approx(1.0, abs=0.02)
    assert np.abs(disc[dist > 9.5]).max() < 0.05
    assert float(disc.sum()) == pytest.approx(math.pi * 64, rel=0.01)
    assert axis_depth(np.array([40.0]), hr)[0] > 7


def _axis_points(hairs: list[dict[str, Any]], um: float) -> np.ndarray:
    """Points every px along each listed hair's straight axis (x, y, id)."""
    out = [np.zeros((0, 3))]
    for hr in hairs:
        a = math.radians(hr["direction_deg"])
        s = np.arange(0.0, hr["length_um"] / um + 1.0)
        out.append(
            np.column_stack(
                [hr["x_px"] + np.cos(a) * s, hr["y_px"] + np.sin(a) * s, np.full(s.size, hr["id"])]
            )
        )
    return np.concatenate(out)


def test_drawn_widths_match_the_listed_diameters() -> None:
    """Across the middle of trimmed dark stubs on light skin (5 um/px, polarised, no codec
    noise needed): the full width at half depth of the luma dip against the hairless frame is
    the listed diameter, the median within 6 % over at least 30 isolated profiles."""
    seeds = [
        s
        for s in _seeds(120, 100.0, hair_colour=("black", "dark brown"), hair_length=("trimmed",))
        if _looks()[s]["fitzpatrick"] <= 3
    ][:14]
    um, ratios = 5.0, []
    for seed in seeds:
        img, t = generate(seed, um_per_px=um, width=640, height=480)
        bare, _ = generate(seed, um_per_px=um, width=640, height=480, hairless=True)
        d = luma(bare) - luma(img)
        axes = _axis_points(t["hairs"], um)
        for hr in t["hairs"]:
            if hr["kind"] not in ("terminal", "intermediate") or hr["length_um"] < 20 * um:
                continue
            a = math.radians(hr["direction_deg"])
            mid = 0.5 * hr["length_um"] / um
            cx, cy = hr["x_px"] + math.cos(a) * mid, hr["y_px"] + math.sin(a) * mid
            half = hr["diameter_um"] / um + 6
            others = axes[axes[:, 2] != hr["id"]]
            if (np.hypot(others[:, 0] - cx, others[:, 1] - cy) < half + 12).any():
                continue  # another listed shaft passes near: not an isolated profile
            s = np.arange(-half, half + 1e-9, 0.25)
            xs, ys = cx - math.sin(a) * s, cy + math.cos(a) * s
            if xs.min() < 1 or ys.min() < 1 or xs.max() > 638 or ys.max() > 478:
                continue
            prof = ndimage.map_coordinates(d, [ys, xs], order=1)
            width = _half_width(prof, 0.25)
            if width is not None:
                ratios.append(width * um / hr["diameter_um"])
    assert len(ratios) >= 30, len(ratios)
    assert float(np.median(ratios)) == pytest.approx(1.0, abs=0.06), np.percentile(
        ratios, [25, 50, 75]
    )


def test_the_codec_keeps_close_and_step_zero_is_lossless() -> None:
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(120, 40, (37, 53, 3)).cumsum(axis=1) / 8, 0, 255).astype(np.uint8)
    assert np.array_equal(codec(img, 0), img)
    errs = []
    for step in (3, 8, 12):
        out = codec(img, step)
        assert out.shape == img.shape
        errs.append(float(np.abs(out.astype(int) - img.astype(int)).mean()))
    assert 0 < errs[0] < errs[2] and all(e < s for e, s in zip(errs, (3, 8, 12), strict=True))
