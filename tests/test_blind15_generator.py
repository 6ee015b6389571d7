"""blind-15, the independent held-out generator: its contract, its site/visit semantics and
that its truth matches its pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind15 import GENERATOR, generate
from sim.blind15.site import site_look
from tests.generator_checks import (
    check_deterministic_and_seeds_matter,
    check_range_end,
    check_refuses_outside_its_ranges,
    check_truth_over_frames,
    check_variety,
    foreign_imports,
    luma,
    mean_around,
    range_ends,
)

ROOT = Path(__file__).resolve().parents[1]
OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = (
    (2.0, 15.0),
    (64, 2560),
    (48, 2048),
    8.0,
)  # accepted scale, width, height; top regrowth


def test_imports_nothing_foreign() -> None:
    assert foreign_imports(ROOT / "sim" / "blind15", "sim.blind15") == []
    assert GENERATOR == "blind-15"


def test_refuses_bad_arguments() -> None:
    check_refuses_outside_its_ranges(generate, OK, RANGES)


@pytest.mark.parametrize("kwargs", range_ends(*RANGES, tall_um=12.0))
def test_range_ends_draw(kwargs: dict[str, Any]) -> None:
    check_range_end(generate, kwargs)


def test_truth_contract_over_many_frames() -> None:
    check_truth_over_frames(
        generate, "blind-15", 24, (2.0, 3.5, 4.9, 5.0, 7.9, 8.0, 11.0, 15.0), size=(96, 72)
    )


def test_deterministic_and_seeds_matter() -> None:
    check_deterministic_and_seeds_matter(generate)


def _dense_seeds(n: int, low: float = 120.0) -> list[int]:
    return [s for s in range(2000) if site_look(s)["density_target"] > low][:n]


def test_hairless_is_the_same_site_without_hair() -> None:
    shares = []
    for seed in _dense_seeds(4):
        img, truth = generate(seed, um_per_px=6.0, width=160, height=120)
        bare, tb = generate(seed, um_per_px=6.0, width=160, height=120, hairless=True)
        assert tb["hairs"] == [] and tb["tips"] == [] and tb["emergence_outside"] == []
        assert tb["density_per_cm2"] == 0.0 and tb["factors"]["hair_length"] == "hairless"
        same = {k: v for k, v in truth["params"].items() if k != "visit"}
        assert {k: v for k, v in tb["params"].items() if k != "visit"} == same
        diff = np.abs(img.astype(int) - bare.astype(int)).max(axis=2)
        # the skin is the same where no hair lies
        shares.append(float(np.mean(diff <= 3)))
    assert np.mean(shares) > 0.3


def test_follow_up_keeps_subset_or_adds() -> None:
    ratios = []
    for seed in _dense_seeds(5):
        kw: dict[str, Any] = {"um_per_px": 10.0, "width": 200, "height": 150}
        _, base = generate(seed, **kw)
        _, wide = generate(seed, um_per_px=10.0, width=300, height=240)
        world = {h["id"] for h in wide["hairs"]}
        _, fewer = generate(seed, regrown=(0.5, 11), **kw)
        _, more = generate(seed, regrown=(2.0, 11), **kw)
        for t in (fewer, more):
            p = dict(t["params"])
            v = p.pop("visit")
            q = dict(base["params"])
            q.pop("visit")
            assert p == q
            assert 1.0 <= abs(v["turn_deg"]) <= 5.0
            frac = math.hypot(v["shift_px"][0] / 200, v["shift_px"][1] / 150)
            assert 0.01 <= frac <= 0.06
        assert all(h["id"] in world for h in fewer["hairs"])
        assert not any(h["new"] for h in fewer["hairs"])
        assert all(h["id"] in world for h in more["hairs"] if not h["new"])
        ratios.append((len(fewer["hairs"]), len(more["hairs"]), len(base["hairs"])))
    n_few = sum(r[0] for r in ratios)
    n_more = sum(r[1] for r in ratios)
    n_base = sum(r[2] for r in ratios)
    assert 0.3 < n_few / n_base < 0.7
    assert 1.6 < n_more / n_base < 2.5


def test_about_a_quarter_of_sites_near_bald() -> None:
    dens = []
    for seed in range(48):
        _, t = generate(seed, um_per_px=15.0, width=400, height=300)
        dens.append(t["density_per_cm2"])
    share = float(np.mean(np.array(dens) < 30.0))
    assert 0.12 <= share <= 0.42, share
    assert max(dens) > 150


def _dark_on_light(n: int) -> list[int]:
    out = []
    for seed in range(2000):
        p = site_look(seed)
        if (
            p["hair_colour"] in ("black", "dark brown")
            and p["fitzpatrick"] <= 3
            and p["density_target"] > 100
            and not p["jpeg_quality"]
            and p["defocus"] < 0.7
            and not p["coiled"]
        ):
            out.append(seed)
        if len(out) == n:
            break
    return out


def pixel_measures() -> dict[str, list[float]]:
    """Darkening (hairless frame minus frame, luma levels) at listed roots, just behind them,
    just inside and just past listed tips, and whether the shaft is dark off its axis 3 px
    before cut and natural ends, over dark hair on light skin (5 um/px, 400x300)."""
    um, w, h = 5.0, 400, 300
    root_dark: list[float] = []
    behind: list[float] = []
    tip_in: list[float] = []
    tip_out: list[float] = []
    cut_w: list[float] = []
    nat_w: list[float] = []
    for seed in _dark_on_light(10):
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        li, lb = luma(img), luma(bare)
        hairs = truth["hairs"]
        for hair in hairs:
            if hair["kind"] not in ("terminal", "intermediate", "black_dot", "broken", "tapered"):
                continue
            if max(hair["colour"]) > 0.2:
                continue
            x, y = hair["x_px"], hair["y_px"]
            root_dark.append(mean_around(lb, x, y) - mean_around(li, x, y))
            if hair["kind"] != "black_dot":
                a = math.radians(hair["direction_deg"])
                step = hair["diameter_um"] / um * 0.5 + 3
                bx, by = x - math.cos(a) * step, y - math.sin(a) * step
                if 1 <= bx < w - 1 and 1 <= by < h - 1:
                    behind.append(mean_around(lb, bx, by) - mean_around(li, bx, by))
        for tip in truth["tips"]:
            if tip["kind"] == "vellus" or not tip["dark"]:
                continue
            a = math.radians(tip["direction_deg"])
            x, y = tip["x_px"], tip["y_px"]
            ix, iy = x - math.cos(a) * 3, y - math.sin(a) * 3
            # past the end by half a width (a frayed end's fibres) and the blur
            ox = x + math.cos(a) * (0.5 * tip["diameter_um"] / um + 5)
            oy = y + math.sin(a) * (0.5 * tip["diameter_um"] / um + 5)
            if not (2 <= ix < w - 2 and 2 <= iy < h - 2 and 2 <= ox < w - 2 and 2 <= oy < h - 2):
                continue
            tip_in.append(mean_around(lb, ix, iy) - mean_around(li, ix, iy))
            tip_out.append(mean_around(lb, ox, oy) - mean_around(li, ox, oy))
            # blunt or fine: is the shaft still dark a third of its width off its axis,
            # 3 px before the end?
            px, py = -math.sin(a), math.cos(a)
            cx, cy = x - math.cos(a) * 3, y - math.sin(a) * 3
            off = max(tip["root_diameter_um"], 40.0) / um / 3
            if tip["kind"] == "exclamation" or tip_out[-1] > 10:
                continue  # (or the end lies on another shaft)
            for side in (1, -1):
                sx, sy = round(cx + px * off * side), round(cy + py * off * side)
                if 0 <= sx < w and 0 <= sy < h:
                    (cut_w if tip["cut"] else nat_w).append(float(lb[sy, sx] - li[sy, sx] > 25))
    return {
        "root_dark": root_dark,
        "behind": behind,
        "tip_in": tip_in,
        "tip_out": tip_out,
        "cut_w": cut_w,
        "nat_w": nat_w,
    }


def test_truth_matches_pixels() -> None:
    m = pixel_measures()
    root_dark, behind, tip_in, tip_out = m["root_dark"], m["behind"], m["tip_in"], m["tip_out"]
    cut_w, nat_w = m["cut_w"], m["nat_w"]
    root_dark_a = np.array(root_dark)
    assert len(root_dark_a) >= 30
    # a listed root lies on a drawn (dark) shaft
    assert np.mean(root_dark_a > 25) > 0.9, np.percentile(root_dark_a, [5, 50])
    # and at its root end: the skin behind it is mostly bare
    assert np.mean(np.array(behind) < 15) > 0.6
    assert len(tip_in) >= 10
    assert np.mean(np.array(tip_in) > 10) > 0.75
    # beyond the end the skin is bare but where another shaft lies there
    assert np.mean(np.array(tip_out) < 10) > 0.6
    assert np.median(np.array(tip_in) - np.array(tip_out)) > 40
    # cut ends are blunt, natural tips are fine
    assert len(cut_w) >= 10 and len(nat_w) >= 4
    assert np.mean(cut_w) > 0.75 and np.mean(nat_w) < 0.4, (np.mean(cut_w), np.mean(nat_w))


def test_no_root_inside_another() -> None:
    for seed in _dense_seeds(6, 200.0):
        extras: list[dict[str, Any]] = [{}, {"regrown": (3.0, 2)}]
        for extra in extras:
            _, t = generate(seed, um_per_px=5.0, width=200, height=150, **extra)
            hs = t["hairs"]
            for i, a in enumerate(hs):
                for b in hs[i + 1 :]:
                    dist = math.hypot(a["x_px"] - b["x_px"], a["y_px"] - b["y_px"]) * 5.0
                    assert dist >= max(a["diameter_um"], b["diameter_um"]) / 2


def test_variety() -> None:
    kinds = check_variety(generate, 60)["kinds"]
    assert {"terminal", "vellus", "intermediate"} <= set(kinds)
    assert len(kinds) >= 5
