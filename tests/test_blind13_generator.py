"""blind-13, the judge drawn as closed-form Gaussian integrals: its contract, refusals,
independence, and truth that matches its pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim import blind13
from sim.blind13.site import site_look
from tests.generator_checks import (
    check_refuses,
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

OK = {"um_per_px": 8.0, "width": 64, "height": 48}
DARK = {"black", "dyed-black", "dark-brown"}


def _luma(img: np.ndarray) -> np.ndarray:
    return np.asarray(np.asarray(img, np.float64) @ np.array([0.299, 0.587, 0.114]))


def _site(want: dict[str, Any], avoid: dict[str, Any] | None = None, start: int = 0) -> int:
    """The first seed from ``start`` whose site look has every value in ``want``."""
    for seed in range(start, start + 4000):
        look = site_look(seed)
        if all(_fits(look[k], v) for k, v in want.items()) and not any(
            _fits(look[k], v) for k, v in (avoid or {}).items()
        ):
            return seed
    raise AssertionError(f"no site with {want}")


def _fits(value: Any, want: Any) -> bool:
    if callable(want):
        return bool(want(value))
    if isinstance(want, set):
        return value in want
    return bool(value == want)


def _frame_params(seed: int, **kw: Any) -> dict[str, Any]:
    return dict(blind13.generate(seed, **kw)[1]["params"])


def test_package_imports_nothing_of_the_twin_or_the_other_generators() -> None:
    root = Path(blind13.__file__).parent
    assert foreign_imports(root, "sim.blind13") == []
    assert blind13.GENERATOR == "blind-13"


def test_refuses_bad_arguments_naming_them() -> None:
    check_refuses_bad_arguments(blind13.generate, OK)
    for change, name in (
        ({"um_per_px": 1.9}, "um_per_px"),
        ({"um_per_px": 15.1}, "um_per_px"),
        ({"width": 63}, "width"),
        ({"width": 2561}, "width"),
        ({"height": 47}, "height"),
        ({"height": 2049}, "height"),
        ({"regrown": (8.5, 1)}, "regrown"),
        ({"regrown": [1.2]}, "regrown"),
        ({"regrown": "12"}, "regrown"),
        ({"hairless": 0}, "hairless"),
    ):
        check_refuses(blind13.generate, OK, change, name)
    # the ends of the ranges draw
    for um, w, h in ((2.0, 64, 48), (15.0, 64, 48)):
        ends: dict[str, Any] = {"regrown": [8.0, -4]}  # a list passes where a tuple does
        img, truth = blind13.generate(3, um_per_px=um, width=w, height=h, **ends)
        assert img.shape == (h, w, 3)
        check_truth_contract(truth, w, h, um)


def test_contract_holds_at_every_scale_size_and_visit() -> None:
    for seed in range(6):
        for um, w, h in ((2.0, 64, 48), (15.0, 96, 72), (5.5, 200, 150)):
            for kw in ({}, {"hairless": True}, {"regrown": (1.3, seed + 9)}):
                img, truth = blind13.generate(seed, um_per_px=um, width=w, height=h, **kw)
                assert img.shape == (h, w, 3) and img.dtype == np.uint8
                check_truth_contract(truth, w, h, um)
                assert truth["generator"] == "blind-13"
                assert truth["factors"]["visit"] == ("follow-up" if "regrown" in kw else "baseline")


def test_same_arguments_same_frame_and_a_new_visit_new_noise() -> None:
    a, ta = blind13.generate(11, um_per_px=6.0, width=160, height=120)
    b, tb = blind13.generate(11, um_per_px=6.0, width=160, height=120)
    assert np.array_equal(a, b) and ta == tb
    c, _ = blind13.generate(11, um_per_px=6.0, width=160, height=120, regrown=(1.0, 1))
    d, _ = blind13.generate(11, um_per_px=6.0, width=160, height=120, regrown=(1.0, 2))
    assert not np.array_equal(c, d)
    e, _ = blind13.generate(12, um_per_px=6.0, width=160, height=120)
    assert not np.array_equal(a, e)


def test_a_quarter_of_sites_are_near_bald() -> None:
    looks = [site_look(s) for s in range(400)]
    sparse = np.mean([float(look["density_per_cm2"]) < 30 for look in looks])
    assert 0.18 <= sparse <= 0.32
    assert max(float(look["density_per_cm2"]) for look in looks) > 350


def _dense_dark_site(start: int = 0, **more: Any) -> int:
    return _site(
        {
            "hair_colour": DARK,
            "density_per_cm2": lambda d: d > 150,
            "tone": lambda t: t < 0.6,
            "flakes_over": False,
            **more,
        },
        start=start,
    )


def _shaft_contrast(img: np.ndarray, truth: dict[str, Any], dx: float, dy: float) -> list[float]:
    """Per dark terminal hair: mean brightness beside its first 100 um minus along it."""
    luma = _luma(img)
    h, w = luma.shape
    um = truth["um_per_px"]
    out = []
    for hair in truth["hairs"]:
        if hair["kind"] != "terminal" or "direction_deg" not in hair or hair["diameter_um"] < 50:
            continue
        th = math.radians(hair["direction_deg"])
        ux, uy = math.cos(th), math.sin(th)
        # the projected shaft of a steep stub is short: the first 100 um of its shadow
        steps = np.linspace(0.3, 1.0, 8) * 100.0 * math.cos(math.radians(hair["elevation_deg"]))
        off = 3.0 * hair["diameter_um"]
        along, beside = [], []
        for s in steps:
            x = hair["x_px"] + dx + ux * s / um
            y = hair["y_px"] + dy + uy * s / um
            for sign in (-1, 1):
                bx, by = x - sign * uy * off / um, y + sign * ux * off / um
                if 0 <= round(bx) < w and 0 <= round(by) < h and 0 <= round(x) < w:
                    if 0 <= round(y) < h:
                        along.append(luma[round(y), round(x)])
                        beside.append(luma[round(by), round(bx)])
        if along:
            out.append(float(np.mean(beside) - np.mean(along)))
    return out


def test_dark_hairs_darken_their_first_100_um_and_a_shifted_truth_does_not() -> None:
    seed = _dense_dark_site()
    img, truth = blind13.generate(seed, um_per_px=5.0, width=640, height=480)
    right = _shaft_contrast(img, truth, 0.0, 0.0)
    assert len(right) >= 8
    assert np.mean(np.array(right) > 10.0) >= 0.75
    # the same points moved 250 um away lose the shafts
    moved = _shaft_contrast(img, truth, 250.0 / 5.0, 170.0 / 5.0)
    assert np.mean(np.array(moved) > 10.0) < 0.5


def test_hairless_frame_is_the_same_skin_with_no_hair() -> None:
    seed = _dense_dark_site(start=50, polarised=True)
    img, truth = blind13.generate(seed, um_per_px=5.0, width=400, height=300)
    bare, bare_truth = blind13.generate(seed, um_per_px=5.0, width=400, height=300, hairless=True)
    check_truth_contract(bare_truth, 400, 300, 5.0)
    assert bare_truth["hairs"] == [] and bare_truth["tips"] == []
    assert (
        bare_truth["density_per_cm2"] == 0.0 and bare_truth["factors"]["hair_length"] == "hairless"
    )
    assert bare_truth["emergence_outside"] == []
    assert len(truth["hairs"]) >= 10
    # hair only darkens: most pixels agree, and the frame with hair is darker where it differs
    diff = _luma(bare) - _luma(img)
    assert np.median(np.abs(diff)) < 3.0
    assert diff.mean() > 1.0
    # (a root's own pixel holds half its shaft's start; unit mates stand beside it, not on it)
    at_roots = [diff[round(hh["y_px"]), round(hh["x_px"])] for hh in truth["hairs"]]
    assert np.median(at_roots) > 10.0


def _to_baseline(
    params: dict[str, Any], x: float, y: float, w: int, h: int, um: float
) -> tuple[float, float]:
    """A follow-up frame point in the baseline frame (its turn and shift undone)."""
    a = math.radians(params["turn_deg"])
    sx, sy = params["shift_um"]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    fx, fy = x - cx, y - cy
    return (
        math.cos(a) * fx - math.sin(a) * fy + sx / um + cx,
        math.sin(a) * fx + math.cos(a) * fy + sy / um + cy,
    )


def test_follow_up_keeps_every_hair_where_it_was_and_turns_and_shifts_the_frame() -> None:
    seed = _dense_dark_site(start=100)
    w, h, um = 480, 360, 8.0
    _, base = blind13.generate(seed, um_per_px=um, width=w, height=h)
    _, after = blind13.generate(seed, um_per_px=um, width=w, height=h, regrown=(1.0, 5))
    p = after["params"]
    assert 1.0 <= abs(p["turn_deg"]) <= 5.0
    share = math.hypot(p["shift_um"][0] / (w * um), p["shift_um"][1] / (h * um))
    assert 0.015 - 1e-9 <= share <= 0.05 + 1e-9
    before = np.array([[q["x_px"], q["y_px"]] for q in base["hairs"] + base["emergence_outside"]])
    found = 0
    for hair in after["hairs"]:
        bx, by = _to_baseline(p, hair["x_px"], hair["y_px"], w, h, um)
        if -0.5 <= bx < w - 0.5 and -0.5 <= by < h - 0.5:
            gap = np.hypot(before[:, 0] - bx, before[:, 1] - by).min()
            assert gap < 1e-6
            found += 1
    assert found >= 10


def test_follow_up_keeps_the_skin() -> None:
    seed = _site({"network": True, "tone": lambda t: t > 0.3}, start=7)
    w, h, um = 240, 180, 4.0
    base, _ = blind13.generate(seed, um_per_px=um, width=w, height=h, hairless=True)
    after, t = blind13.generate(
        seed, um_per_px=um, width=w, height=h, hairless=True, regrown=(1.0, 3)
    )
    other, _ = blind13.generate(seed + 1, um_per_px=um, width=w, height=h, hairless=True)
    p = t["params"]
    la, lb, lo = _luma(after), _luma(base), _luma(other)
    same, diff = [], []
    for y in range(20, h - 20, 3):
        for x in range(20, w - 20, 3):
            bx, by = _to_baseline(p, x, y, w, h, um)
            if 0 <= round(bx) < w and 0 <= round(by) < h:
                same.append((la[y, x], lb[round(by), round(bx)]))
                diff.append((la[y, x], lo[round(by), round(bx)]))
    corr_same = np.corrcoef(np.array(same).T)[0, 1]
    corr_other = np.corrcoef(np.array(diff).T)[0, 1]
    assert corr_same > 0.6 and corr_same > corr_other + 0.3


@pytest.mark.parametrize("factor", [0.6, 1.5])
def test_follow_up_count_follows_the_factor(factor: float) -> None:
    ratios: list[float] = []
    seed = 0
    while len(ratios) < 6:
        seed = _site({"density_per_cm2": lambda d: d > 150}, start=seed + 1)
        _, a = blind13.generate(seed, um_per_px=12.0, width=400, height=300)
        _, b = blind13.generate(seed, um_per_px=12.0, width=400, height=300, regrown=(factor, 4))
        ratios.append(len(b["hairs"]) / max(len(a["hairs"]), 1))
    # measured over 20 sites: median within 3 %, each within 27 %
    assert abs(np.median(ratios) / factor - 1.0) < 0.1
    assert max(abs(r / factor - 1.0) for r in ratios) < 0.35


def test_scales_2_and_15_um_per_px_draw_hairs_of_their_sizes() -> None:
    seed = _dense_dark_site(start=200, density_per_cm2=lambda d: d > 300)
    for um, w, h in ((2.0, 640, 480), (15.0, 320, 240)):
        img, truth = blind13.generate(seed, um_per_px=um, width=w, height=h)
        check_truth_contract(truth, w, h, um)
        assert truth["factors"]["scale"] == ("3-5" if um < 5 else "8-12")
        bare, _ = blind13.generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        assert len(truth["hairs"]) >= (2 if um < 5 else 20)
        darker = [
            _luma(bare)[round(q["y_px"]), round(q["x_px"])]
            - _luma(img)[round(q["y_px"]), round(q["x_px"])]
            for q in truth["hairs"]
        ]
        assert np.median(darker) > 8.0
    _, big = blind13.generate(seed, um_per_px=15.0, width=2100, height=1600, hairless=True)
    assert big["width"] == 2100 and big["height"] == 1600


def test_field_stop_hides_emergence_points_in_its_black() -> None:
    seed = 0
    while True:
        seed = _site({"density_per_cm2": lambda d: d > 120}, start=seed + 1)
        if _frame_params(seed, um_per_px=15.0, width=64, height=48)["field_stop"]:
            break
    img, truth = blind13.generate(seed, um_per_px=10.0, width=400, height=300)
    check_truth_contract(truth, 400, 300, 10.0)
    masked = truth["emergence_masked"]
    assert masked and truth["hairs"]
    luma = _luma(img)
    lit = np.median(luma)
    at_masked = [luma[round(q["y_px"]), round(q["x_px"])] for q in masked]
    assert np.median(at_masked) < 0.35 * lit
    for q in truth["hairs"] + truth["tips"]:
        ys, xs = round(q["y_px"]), round(q["x_px"])
        patch = luma[max(ys - 6, 0) : ys + 7, max(xs - 6, 0) : xs + 7]
        assert patch.max() > 0.35 * lit


def test_tips_are_cut_on_trimmed_sites_and_tapered_on_vellus() -> None:
    seed = _site(
        {
            "hair_length": "trimmed",
            "vellus_fraction": lambda v: v < 0.1,
            "density_per_cm2": lambda d: d > 150,
            "regrowing": lambda r: r < 0.05,
        }
    )
    _, truth = blind13.generate(seed, um_per_px=6.0, width=320, height=240)
    cut = [t["cut"] for t in truth["tips"]]
    assert len(cut) >= 5 and np.mean(cut) > 0.8
    assert all(t["diameter_um"] >= 30 for t in truth["tips"] if t["cut"])
    seed = _site({"vellus_fraction": lambda v: v > 0.4, "density_per_cm2": lambda d: d > 150})
    _, truth = blind13.generate(seed, um_per_px=6.0, width=320, height=240)
    natural = [t for t in truth["tips"] if not t["cut"]]
    assert len(natural) >= 3 and all(t["diameter_um"] < 15 for t in natural)


def test_black_dots_are_hairs_at_the_dots_diameter() -> None:
    seed = _site(
        {"black_dots": True, "density_per_cm2": lambda d: d > 200, "tone": lambda t: t < 0.5},
        avoid={"flakes_over": True},
    )
    img, truth = blind13.generate(seed, um_per_px=8.0, width=640, height=480)
    dots = [q for q in truth["hairs"] if q["kind"] == "black_dot"]
    assert dots
    assert all(50.0 <= q["diameter_um"] <= 100.0 for q in dots)
    luma = _luma(img)
    for q in dots:
        y, x = round(q["y_px"]), round(q["x_px"])
        ring = luma[max(y - 20, 0) : y + 21, max(x - 20, 0) : x + 21]
        assert luma[y, x] < np.median(ring) - 10.0


def _overlapping_roots(hairs: list[dict[str, Any]], um: float) -> int:
    """Pairs of listed hairs whose roots overlap: emergence points closer than the mean of
    the two diameters (one shaft would stand inside the other)."""
    if len(hairs) < 2:
        return 0
    xy = np.array([[q["x_px"], q["y_px"]] for q in hairs]) * um
    d = np.array([q["diameter_um"] for q in hairs])
    gap = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    close = gap < 0.5 * (d[:, None] + d[None, :]) - 1e-3
    return int(np.triu(close, 1).sum())


def test_no_hair_stands_inside_another_at_a_baseline_or_a_threefold_follow_up() -> None:
    seed = 0
    for _ in range(3):
        seed = _site({"density_per_cm2": lambda d: d > 250}, start=seed + 1)
        visits: tuple[dict[str, Any], ...] = ({}, {"regrown": (3.0, 7)})
        for kw in visits:
            _, truth = blind13.generate(seed, um_per_px=8.0, width=320, height=240, **kw)
            assert len(truth["hairs"]) >= 10
            assert _overlapping_roots(truth["hairs"], 8.0) == 0, (seed, kw)
