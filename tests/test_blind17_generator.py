"""blind-17, the independent held-out generator drawn by DDA spans over diamond-square skin:
its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind17 import GENERATOR, generate
from sim.blind17.site import site_look
from tests.generator_checks import (
    check_deterministic_and_seeds_matter,
    check_emergence_outside,
    check_range_end,
    check_refuses_outside_its_ranges,
    check_truth_contract,
    check_truth_over_frames,
    check_variety,
    foreign_imports,
    luma,
    mean_around,
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
    """A 6 um/px frame's hairs are the middle of a 12 um/px frame's, at half the distance
    from the centre, with the same records otherwise."""
    n_fine = n_coarse = 0
    for seed in _seeds(5):
        _, fine = generate(seed, um_per_px=6.0, width=240, height=180)
        _, coarse = generate(seed, um_per_px=12.0, width=240, height=180)
        n_fine += len(fine["hairs"])
        n_coarse += len(coarse["hairs"])
        wide = {h["id"]: h for h in coarse["hairs"]}
        for h in fine["hairs"]:
            c = wide[h["id"]]
            assert c["x_px"] == pytest.approx((h["x_px"] - 119.5) / 2 + 119.5, abs=2e-3)
            assert c["y_px"] == pytest.approx((h["y_px"] - 89.5) / 2 + 89.5, abs=2e-3)
            keys = ("kind", "diameter_um", "colour", "length_um")
            assert [c[k] for k in keys] == [h[k] for k in keys]
    assert n_fine >= 5 and n_coarse > 2.5 * n_fine


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(3))


def test_hairless_is_the_same_site_without_hair() -> None:
    shares = []
    for seed in _seeds(3, 150.0):
        img, truth = generate(seed, um_per_px=8.0, width=300, height=240)
        bare, tb = generate(seed, um_per_px=8.0, width=300, height=240, hairless=True)
        assert truth["hairs"] and tb["hairs"] == [] and tb["tips"] == []
        assert tb["emergence_outside"] == [] and tb["density_per_cm2"] == 0.0
        assert tb["factors"]["hair_length"] == "hairless"
        assert tb["params"] == truth["params"]
        diff = np.abs(img.astype(int) - bare.astype(int)).max(axis=2)
        assert diff.max() > 40
        shares.append(float(np.mean(diff <= 4)))
    assert np.mean(shares) > 0.4, shares


def test_follow_up_keeps_subset_or_adds() -> None:
    ratios = []
    for seed in _seeds(4):
        kw: dict[str, Any] = {"um_per_px": 10.0, "width": 400, "height": 300}
        _, base = generate(seed, **kw)
        _, wide = generate(seed, um_per_px=10.0, width=560, height=440)
        world = {h["id"]: h for h in wide["hairs"]}
        _, fewer = generate(seed, regrown=(0.5, 11), **kw)
        _, more = generate(seed, regrown=(2.0, 11), **kw)
        for t in (fewer, more):
            p, q = dict(t["params"]), dict(base["params"])
            v = p.pop("visit")
            assert q.pop("visit") is None and p == q
            assert 1.0 <= abs(v["turn_deg"]) <= 5.0
            frac = math.hypot(v["shift_px"][0] / 400, v["shift_px"][1] / 300)
            assert 0.01 <= frac <= 0.06 + 1e-9
        assert all(h["id"] in world for h in fewer["hairs"])
        assert not any(h["new"] for h in fewer["hairs"])
        grown = [h for h in more["hairs"] if h["new"]]
        assert grown and not any(h["id"] in world for h in grown)
        for h in more["hairs"]:
            if not h["new"]:
                old = world[h["id"]]
                keys = ("kind", "diameter_um", "colour")
                assert [h[k] for k in keys] == [old[k] for k in keys]
        ratios.append((len(fewer["hairs"]), len(more["hairs"]), len(base["hairs"])))
    n_few, n_more, n_base = (sum(r[k] for r in ratios) for k in range(3))
    assert 0.3 < n_few / n_base < 0.7, ratios
    assert 1.6 < n_more / n_base < 2.5, ratios


def test_densities_span_bare_to_dense() -> None:
    dens = []
    for seed in range(40):
        _, t = generate(seed, um_per_px=12.0, width=400, height=300)
        dens.append(t["density_per_cm2"])
    share = float(np.mean(np.array(dens) < 30.0))
    assert 0.08 <= share <= 0.45, share
    assert max(dens) > 220


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    """Luma of the frame minus its hairless twin (5 um/px) at listed roots, a few pixels
    behind them, and just inside and just past listed cut tips."""
    um, w, h = 5.0, 320, 240
    m: dict[str, list[float]] = {"root": [], "behind": [], "tip_in": [], "tip_out": []}
    for seed in seeds:
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        d = luma(img) - luma(bare) if light_hair else luma(bare) - luma(img)
        for hair in truth["hairs"]:
            if hair["kind"] in ("vellus", "black_dot") or hair["new"]:
                continue
            x, y = hair["x_px"], hair["y_px"]
            a = math.radians(hair["direction_deg"])
            ix, iy = x + math.cos(a) * 4, y + math.sin(a) * 4
            if 1 <= ix < w - 1 and 1 <= iy < h - 1:
                m["root"].append(mean_around(d, ix, iy))
            step = hair["diameter_um"] / um * 0.5 + 4
            bx, by = x - math.cos(a) * step, y - math.sin(a) * step
            if 1 <= bx < w - 1 and 1 <= by < h - 1:
                m["behind"].append(mean_around(d, bx, by))
        for tip in truth["tips"]:
            if not tip["cut"] or tip["kind"] == "vellus":
                continue
            a = math.radians(tip["direction_deg"])
            x, y = tip["x_px"], tip["y_px"]
            ix, iy = x - math.cos(a) * 3, y - math.sin(a) * 3
            ox = x + math.cos(a) * (0.5 * tip["diameter_um"] / um + 4)
            oy = y + math.sin(a) * (0.5 * tip["diameter_um"] / um + 4)
            if 2 <= ix < w - 2 and 2 <= iy < h - 2 and 2 <= ox < w - 2 and 2 <= oy < h - 2:
                m["tip_in"].append(mean_around(d, ix, iy))
                m["tip_out"].append(mean_around(d, ox, oy))
    return m


def test_dark_hair_on_light_skin_lies_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(40, 100.0, hair_colour=("black", "dark brown"))
        if _looks()[s]["fitzpatrick"] <= 3 and _looks()[s]["defocus_um"] < 9
    ][:12]
    m = _hair_contrast(seeds, light_hair=False)
    root, behind = np.array(m["root"]), np.array(m["behind"])
    assert len(root) >= 30 and len(behind) >= 20
    assert np.mean(root > 30) > 0.85, np.percentile(root, [10, 50])
    assert np.median(behind) < 8 and np.mean(behind < 15) > 0.6
    tin, tout = np.array(m["tip_in"]), np.array(m["tip_out"])
    assert len(tin) >= 10
    assert np.mean(tin > 20) > 0.8 and np.mean(tout < 10) > 0.7
    assert np.median(tin - tout) > 40


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(60, 80.0, hair_colour=("white", "blond"))
        if _looks()[s]["fitzpatrick"] >= 4
    ][:10]
    m = _hair_contrast(seeds, light_hair=True)
    root = np.array(m["root"])
    assert len(root) >= 15
    assert np.mean(root > 15) > 0.8, np.percentile(root, [10, 50])


def test_density_follows_the_drawn_hairs() -> None:
    """Frames whose truth holds more hairs show more hair pixels (dark hair, light skin)."""
    dens, cover = [], []
    for seed, p in enumerate(_looks()[:200]):
        if p["hair_colour"] not in ("black", "dark brown") or p["fitzpatrick"] > 3:
            continue
        if p["hair_length"] != "trimmed":
            continue
        img, t = generate(seed, um_per_px=10.0, width=320, height=240)
        bare, _ = generate(seed, um_per_px=10.0, width=320, height=240, hairless=True)
        dens.append(t["density_per_cm2"])
        cover.append(float(np.mean(luma(bare) - luma(img) > 20)))
    assert len(dens) >= 10
    assert np.corrcoef(dens, cover)[0, 1] > 0.6, list(zip(dens, cover, strict=True))


def test_variety() -> None:
    c = check_variety(generate, 40)
    assert {"terminal", "vellus", "intermediate", "black_dot", "broken"} <= set(c["kinds"])
    assert c["ends"][True] > 10 and c["ends"][False] > 10
