"""blind-20, the independent held-out generator that draws shafts as line measures convolved
with discs in the frequency domain over Markov-random-field skin, through a Moffat lens onto a
stacked sensor: its contract, its site/visit semantics and that its truth matches its pixels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from sim.blind20 import generate
from sim.blind20.camera import codec
from sim.blind20.fourier import Grid, convolve_discs
from sim.blind20.shafts import View, axis_depth, samples, shaft
from sim.blind20.site import site_look
from tests.generator_checks import (
    Contract,
    check_refuses_outside_its_ranges,
    contract_part,
    luma,
    seeds_where,
    site_looks,
)

OK: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
RANGES = ((3.0, 12.0), (32, 2028), (32, 1521), 4.0)  # scale, width, height; top regrowth

# blind-21's and blind-22's contract (tests.generator_checks) but what blind-20's own tests
# check otherwise (below: refusals with messages of its own, drawn widths in luma over sites
# of its own) and its cut tips' styles, never among them
CONTRACT = contract_part(
    Contract("blind-20", "sim.blind20", generate, site_look, ranges=RANGES),
    leave_out=("refusals_name_what_they_wanted", "drawn_widths", "cut_tips_listed_apart"),
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
