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
    """A 6 um/px frame's hairs are the middle of a 12 um/px frame's, at half the distance
    from the centre, with the same records otherwise."""
    n_fine = n_coarse = 0
    for seed in _seeds(6):
        _, fine = generate(seed, um_per_px=6.0, width=240, height=180)
        _, coarse = generate(seed, um_per_px=12.0, width=240, height=180)
        n_fine += len(fine["hairs"])
        n_coarse += len(coarse["hairs"])
        wide = {h["id"]: h for h in coarse["hairs"]}
        for h in fine["hairs"]:
            c = wide[h["id"]]
            assert c["x_px"] == pytest.approx((h["x_px"] - 119.5) / 2 + 119.5, abs=2e-3)
            assert c["y_px"] == pytest.approx((h["y_px"] - 89.5) / 2 + 89.5, abs=2e-3)
            keys = ("kind", "diameter_um", "colour", "length_um", "direction_deg", "end")
            assert [c[k] for k in keys] == [h[k] for k in keys]
    assert n_fine >= 5 and n_coarse > 2.5 * n_fine


def test_emergence_outside_lists_the_roots_just_outside() -> None:
    check_emergence_outside(generate, _seeds(6))


def test_hairless_is_the_same_site_without_hair() -> None:
    shares = []
    for seed in _seeds(3, 150.0):
        img, truth = generate(seed, um_per_px=8.0, width=240, height=180)
        bare, tb = generate(seed, um_per_px=8.0, width=240, height=180, hairless=True)
        assert truth["hairs"] and tb["hairs"] == [] and tb["tips"] == []
        assert tb["tips_covered"] == [] and tb["emergence_outside"] == []
        assert tb["density_per_cm2"] == 0.0 and tb["factors"]["hair_length"] == "hairless"
        assert tb["params"] == truth["params"]
        diff = np.abs(img.astype(int) - bare.astype(int)).max(axis=2)
        assert diff.max() > 40
        # the same skin between the hairs: hair only darkens it (occlusion) or covers it
        a, b = luma(img), luma(bare)
        skin = np.abs(a - b) < 0.3 * b
        shares.append(float(skin.mean()))
        assert np.mean(a[skin] <= b[skin] * 1.03 + 6) > 0.9
    assert np.mean(shares) > 0.4, shares


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
    ratios = []
    for seed in _seeds(4):
        kw: dict[str, Any] = {"um_per_px": 10.0, "width": 320, "height": 240}
        _, base = generate(seed, **kw)
        _, wide = generate(seed, um_per_px=10.0, width=480, height=400)
        world = {h["id"]: h for h in wide["hairs"]}
        _, fewer = generate(seed, regrown=(0.5, 11), **kw)
        _, more = generate(seed, regrown=(2.0, 11), **kw)
        for t in (fewer, more):
            p, q = dict(t["params"]), dict(base["params"])
            v = p.pop("visit")
            assert q.pop("visit") is None and p == q
            assert 1.0 <= abs(v["turn_deg"]) <= 5.0
            frac = math.hypot(v["shift_px"][0] / 320, v["shift_px"][1] / 240)
            assert 0.01 <= frac <= 0.06 + 1e-9
        assert all(h["id"] in world for h in fewer["hairs"])
        assert not any(h["new"] for h in fewer["hairs"])
        grown = [h for h in more["hairs"] if h["new"]]
        assert grown and not any(h["id"] in world for h in grown)
        assert all(h["end"] == "taper" for h in grown if h["kind"] != "black_dot")
        for h in more["hairs"]:
            if not h["new"]:
                old = world[h["id"]]
                keys = ("kind", "diameter_um", "colour", "length_um")
                assert [h[k] for k in keys] == [old[k] for k in keys]
        ratios.append((len(fewer["hairs"]), len(more["hairs"]), len(base["hairs"])))
    n_few, n_more, n_base = (sum(r[k] for r in ratios) for k in range(3))
    assert 0.3 < n_few / n_base < 0.7, ratios
    assert 1.6 < n_more / n_base < 2.5, ratios


def test_densities_span_bare_to_dense() -> None:
    dens = []
    for seed in range(30):
        _, t = generate(seed, um_per_px=12.0, width=240, height=180)
        dens.append(t["density_per_cm2"])
    share = float(np.mean(np.array(dens) < 30.0))
    assert 0.08 <= share <= 0.45, share
    assert max(dens) > 220


def _hair_contrast(seeds: list[int], light_hair: bool) -> dict[str, list[float]]:
    """Luma of the frame minus its hairless twin (5 um/px) a few pixels ahead of listed
    roots, behind them (beyond the pit the tilted shaft sinks into), and just inside and
    just past listed square and oblique cut tips."""
    um, w, h = 5.0, 400, 300
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
            el = math.radians(hair["elevation_deg"])
            reach = hair["diameter_um"] / 2 / math.sin(el) + 20.0 / math.tan(el)
            step = reach / um + 4
            bx, by = x - math.cos(a) * step, y - math.sin(a) * step
            if 1 <= bx < w - 1 and 1 <= by < h - 1:
                m["behind"].append(mean_around(d, bx, by))
        for tip in truth["tips"]:
            if not tip["cut"] or tip["kind"] == "vellus" or tip["cut_style"] == "frayed":
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
        for s in _seeds(60, 100.0, hair_colour=("black", "dark brown"), hair_length=("trimmed",))
        if _looks()[s]["fitzpatrick"] <= 3 and _looks()[s]["defocus_um"] < 9
    ][:20]
    m = _hair_contrast(seeds, light_hair=False)
    root, behind = np.array(m["root"]), np.array(m["behind"])
    assert len(root) >= 30 and len(behind) >= 20
    assert np.mean(root > 30) > 0.85, np.percentile(root, [10, 50])
    # behind the root only skin, in the hair's occlusion at most
    assert np.median(behind) < 20 and np.mean(behind < 30) > 0.7, np.percentile(behind, [50, 90])
    assert np.median(root) - np.median(behind) > 40
    tin, tout = np.array(m["tip_in"]), np.array(m["tip_out"])
    assert len(tin) >= 10
    assert np.mean(tin > 20) > 0.8, np.percentile(tin, [10, 50])
    assert np.mean(tout < 0.5 * np.median(tin)) > 0.7, np.percentile(tout, [50, 90])
    assert np.median(tin - tout) > 40


def test_white_hair_on_dark_skin_is_lighter_where_the_truth_puts_it() -> None:
    seeds = [
        s
        for s in _seeds(80, 80.0, hair_colour=("white", "blond"))
        if _looks()[s]["fitzpatrick"] >= 4 and not _looks()[s]["dyed"]
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
        img, t = generate(seed, um_per_px=10.0, width=240, height=180)
        bare, _ = generate(seed, um_per_px=10.0, width=240, height=180, hairless=True)
        dens.append(t["density_per_cm2"])
        cover.append(float(np.mean(luma(bare) - luma(img) > 20)))
    assert len(dens) >= 10
    assert np.corrcoef(dens, cover)[0, 1] > 0.6, list(zip(dens, cover, strict=True))


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
