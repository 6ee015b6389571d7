"""blind-15, the independent held-out generator: its contract, its site/visit semantics and
that its truth matches its pixels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim.blind15 import generate
from sim.blind15.site import site_look
from tests.generator_checks import (
    Contract,
    check_densities_span_bare_to_dense,
    check_follow_up_keeps_subset_or_adds,
    check_hairless_is_the_same_site,
    check_refuses_outside_its_ranges,
    check_truth_over_frames,
    check_variety,
    contract_part,
    luma,
    mean_around,
    tip_probes,
)

OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = (
    (2.0, 15.0),
    (64, 2560),
    (48, 2048),
    8.0,
)  # accepted scale, width, height; top regrowth

# the part of blind-21's and blind-22's contract (tests.generator_checks) that blind-15's own
# tests checked the same, over its own ranges (the tallest frame at 12 um/px); the rest of its
# tests stay below, with its own refusal messages, frame sizes, sites and thresholds
CONTRACT = contract_part(
    Contract("blind-15", "sim.blind15", generate, site_look, ranges=RANGES, tall_um=12.0),
    ("imports_nothing_foreign", "range_ends", "deterministic"),
)


@pytest.mark.parametrize("check", CONTRACT)
def test_the_contract(check: str) -> None:
    CONTRACT[check]()


def test_refuses_bad_arguments() -> None:
    check_refuses_outside_its_ranges(generate, OK, RANGES)


def test_truth_contract_over_many_frames() -> None:
    check_truth_over_frames(
        generate, "blind-15", 24, (2.0, 3.5, 4.9, 5.0, 7.9, 8.0, 11.0, 15.0), size=(96, 72)
    )


def _dense_seeds(n: int, low: float = 120.0) -> list[int]:
    return [s for s in range(2000) if site_look(s)["density_target"] > low][:n]


def test_hairless_is_the_same_site_without_hair() -> None:
    check_hairless_is_the_same_site(
        generate,
        _dense_seeds(4),
        um=6.0,
        size=(160, 120),
        skin_tol=3,
        min_share=0.3,
        but_visit=True,
        tips_covered=False,
    )


def test_follow_up_keeps_subset_or_adds() -> None:
    check_follow_up_keeps_subset_or_adds(
        generate,
        _dense_seeds(5),
        ((200, 150), (300, 240)),
        keys=(),
        baseline_visit_none=False,
        grown_taper=False,
    )


def test_about_a_quarter_of_sites_near_bald() -> None:
    check_densities_span_bare_to_dense(
        generate, n_seeds=48, um=15.0, size=(400, 300), bare_share=(0.12, 0.42), dense=150.0
    )


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
            # past the end by half a width (a frayed end's fibres) and the blur
            ix, iy, ox, oy = tip_probes(tip, um, past=5.0)
            if not (2 <= ix < w - 2 and 2 <= iy < h - 2 and 2 <= ox < w - 2 and 2 <= oy < h - 2):
                continue
            tip_in.append(mean_around(lb, ix, iy) - mean_around(li, ix, iy))
            tip_out.append(mean_around(lb, ox, oy) - mean_around(li, ox, oy))
            # blunt or fine: is the shaft still dark a third of its width off its axis,
            # 3 px before the end?
            a = math.radians(tip["direction_deg"])
            px, py = -math.sin(a), math.cos(a)
            off = max(tip["root_diameter_um"], 40.0) / um / 3
            if tip["kind"] == "exclamation" or tip_out[-1] > 10:
                continue  # (or the end lies on another shaft)
            for side in (1, -1):
                sx, sy = round(ix + px * off * side), round(iy + py * off * side)
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
