"""Tests of blind-10, the independent spectral trichoscopy generator (sim/blind10)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim.blind10
from sim.blind10 import GENERATOR, generate
from sim.blind10.frame import _rng, _scene, render
from sim.blind10.hairs import frame_params
from sim.blind10.optics import Camera
from tests.generator_checks import (
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

W, H, UM = 160, 120, 10.0


def _gen(seed: int, **kw: Any) -> tuple[np.ndarray, dict[str, Any]]:
    args: dict[str, Any] = {"um_per_px": UM, "width": W, "height": H, **kw}
    image, truth = generate(seed, **args)
    check_truth_contract(truth, args["width"], args["height"], args["um_per_px"])
    return image, truth


def _luma(image: np.ndarray) -> np.ndarray:
    return np.asarray(image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))


def test_interface() -> None:
    assert GENERATOR == "blind-10"
    image, truth = _gen(3)
    assert image.dtype == np.uint8 and image.shape == (H, W, 3)
    assert truth["generator"] == "blind-10"
    assert truth["width"] == W and truth["height"] == H and truth["um_per_px"] == UM
    assert sim.blind10.__doc__ and "independent" in sim.blind10.__doc__


@pytest.mark.parametrize(
    "kw",
    [
        {"seed": 1.0},
        {"seed": True},
        {"seed": "1"},
        {"um_per_px": 1.9},
        {"um_per_px": 15.5},
        {"um_per_px": "8"},
        {"width": 31},
        {"width": 4097},
        {"width": 100.0},
        {"height": 31},
        {"hairless": 1},
        {"hairless": None},
        {"regrown": (1.0,)},
        {"regrown": [1.0, 2]},
        {"regrown": (0.2, 1)},
        {"regrown": (3.1, 1)},
        {"regrown": (1.0, 1.5)},
        {"regrown": (1.0, True)},
    ],
)
def test_bad_arguments(kw: dict[str, Any]) -> None:
    args: dict[str, Any] = {"seed": 1, "um_per_px": UM, "width": W, "height": H, **kw}
    seed = args.pop("seed")
    with pytest.raises(ValueError):
        generate(seed, **args)


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, {"um_per_px": UM, "width": W, "height": H})


def test_deterministic_and_seeded() -> None:
    a, ta = _gen(7)
    b, tb = _gen(7)
    c, _ = _gen(8)
    assert a.tobytes() == b.tobytes() and ta == tb
    assert a.tobytes() != c.tobytes()
    f1, _ = _gen(7, regrown=(1.0, 2))
    f2, _ = _gen(7, regrown=(1.0, 2))
    assert f1.tobytes() == f2.tobytes()
    _gen(-5)
    _gen(11, regrown=(2.0, -3))
    _gen(12, um_per_px=2.0, width=64, height=48)
    _gen(13, um_per_px=15.0, width=32, height=32)


def test_truth_bookkeeping_over_seeds() -> None:
    for seed in range(12):
        _, t = _gen(seed)
        n = len(t["hairs"])
        assert t["density_per_cm2"] == pytest.approx(n / (W * H * UM * UM * 1e-8))
        f = t["factors"]
        assert f["scale"] == "8-12" and f["visit"] == "baseline"
        assert f["light"] in {"polarised", "non-polarised", "immersion"}
        assert f["hair_length"] in {"trimmed", "long", "mixed"}
        stop = t["field_stop"]
        for p in t["emergence_masked"]:
            assert stop is not None
            assert -0.5 <= p["x_px"] < W - 0.5 and -0.5 <= p["y_px"] < H - 0.5
            assert math.hypot(p["x_px"] - stop["x_px"], p["y_px"] - stop["y_px"]) > (
                stop["radius_px"] - 1.0
            )
        if stop is not None:
            for hh in t["hairs"] + t["tips"]:
                d = math.hypot(hh["x_px"] - stop["x_px"], hh["y_px"] - stop["y_px"])
                assert d <= stop["radius_px"] - 1.0
        for tip in t["tips"]:
            assert 0 < tip["diameter_um"] <= 250
    for um in (3.0, 6.0):
        _, t = _gen(5, um_per_px=um, width=64, height=48)
        assert t["factors"]["scale"] == ("3-5" if um < 5 else "5-8")


def test_hairless_same_skin_no_hairs() -> None:
    for seed in range(4):
        _, t = _gen(seed, hairless=True)
        assert t["hairs"] == [] and t["tips"] == [] and t["emergence_outside"] == []
        assert t["factors"]["hair_length"] == "hairless"
        assert t["mean_diameter_um"] == 0.0 and t["vellus_fraction"] == 0.0


def _seeds(pred: Any, count: int) -> list[int]:
    """Seeds whose cheap scene draws satisfy ``pred(scene, hair_params)``."""
    out = []
    for seed in range(2000):
        sc = _scene(_rng([seed, 11]), W, H)
        fp = frame_params(_rng([seed, 12]))
        if pred(sc, fp):
            out.append(seed)
            if len(out) == count:
                return out
    raise AssertionError("no such seeds")


def test_follow_up_visits() -> None:
    seed = _seeds(lambda sc, fp: fp["density_per_cm2"] > 150, 1)[0]
    kw: dict[str, Any] = {"um_per_px": 15.0, "width": 480, "height": 360}
    _, tb = _gen(seed, **kw)
    _, tm = _gen(seed, regrown=(1.5, 4), **kw)
    _, tf = _gen(seed, regrown=(0.6, 4), **kw)
    _, ts = _gen(seed, regrown=(1.0, 9), **kw)
    n0 = len(tb["hairs"])
    assert 1.15 * n0 < len(tm["hairs"]) < 1.9 * n0
    assert len(tf["hairs"]) < 0.85 * n0
    assert tm["factors"]["visit"] == "follow-up"
    assert abs(len(ts["hairs"]) - n0) <= max(6, 0.15 * n0)
    # the same scalp's skin: bare follow-up correlates with the bare baseline
    hb, _ = _gen(seed, hairless=True, **kw)
    hf, _ = _gen(seed, hairless=True, regrown=(1.0, 4), **kw)
    ho, _ = _gen(seed + 1000, hairless=True, **kw)

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        la, lb = _luma(a)[20:-20, 20:-20], _luma(b)[20:-20, 20:-20]
        return float(np.corrcoef(la.ravel(), lb.ravel())[0, 1])

    assert hb.tobytes() != hf.tobytes()
    assert corr(hb, hf) > 0.3
    assert corr(hb, hf) > corr(hb, ho) + 0.15


def test_listed_hairs_are_drawn() -> None:
    """Round trip: every listed emergence point has shaft coverage at its output pixel
    (after perspective, distortion and every crop); hairless frames draw nothing."""
    for seed in range(8):
        for um in (4.0, 10.0, 15.0):
            _, t, ex = render(seed, um_per_px=um, width=W, height=H)
            check_truth_contract(t, W, H, um)
            cov = ex["cover"]
            for hh in t["hairs"]:
                x, y = round(hh["x_px"]), round(hh["y_px"])
                win = cov[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
                assert win.max() > 0.1, (seed, um, hh)
            _, _, ex0 = render(seed, um_per_px=um, width=W, height=H, hairless=True)
            assert float(ex0["cover"].max()) == 0.0
        _, t, ex = render(seed, um_per_px=8.0, width=W, height=H, regrown=(1.4, seed))
        check_truth_contract(t, W, H, 8.0)
        for hh in t["hairs"]:
            x, y = round(hh["x_px"]), round(hh["y_px"])
            assert ex["cover"][max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].max() > 0.1


def test_field_stop_hides_masked_points() -> None:
    seeds = _seeds(lambda sc, fp: sc["field_stop"] and fp["density_per_cm2"] > 100, 3)
    for seed in seeds:
        img, t = _gen(seed, um_per_px=12.0)
        stop = t["field_stop"]
        assert stop is not None and t["factors"]["field_stop"] == "yes"
        lum = _luma(img)
        assert lum[0, 0] < 20 and lum[-1, -1] < 20  # black corners
        for p in t["emergence_masked"]:
            if (
                math.hypot(p["x_px"] - stop["x_px"], p["y_px"] - stop["y_px"])
                > stop["radius_px"] + 2
            ):
                assert lum[round(p["y_px"]), round(p["x_px"])] < 30


def test_pixels_against_truth() -> None:
    """Dark hairs on light skin darken their emergence points; the hairless frame of the
    same seed differs from the hairy one where the hairs are drawn."""

    def dark_on_light(sc: dict[str, Any], fp: dict[str, Any]) -> bool:
        return (
            sc["skin_tone"] == "light"
            and fp["hair_colour"] in {"black", "dyed-black", "dark-brown"}
            and fp["density_per_cm2"] > 60
        )

    for seed in _seeds(dark_on_light, 4):
        img, t, ex = render(seed, um_per_px=8.0, width=W, height=H)
        bare, _, _ = render(seed, um_per_px=8.0, width=W, height=H, hairless=True)
        lum = _luma(img)
        cov = ex["cover"]
        diff = np.abs(lum - _luma(bare))
        if (cov > 0.6).sum() > 30:
            assert diff[cov > 0.6].mean() > diff[cov == 0].mean() + 3.0, seed
        at = [lum[round(h["y_px"]), round(h["x_px"])] for h in t["hairs"]]
        if len(at) >= 3:
            assert float(np.mean(at)) < float(np.median(lum)) - 5.0, seed


def test_distortion_round_trip() -> None:
    """Truth points go through the exact inverse of the pixels' distortion."""
    for k in (-0.06, 0.0, 0.06):
        cam = Camera(5.0, 160, 120, 5000.0, 0.0, 0.0, 0.0, k, (1.002, 1.0, 0.998), 20)
        xo, yo = np.meshgrid(np.arange(-30.0, 190.0, 7.0), np.arange(-30.0, 150.0, 7.0))
        u, v = cam.output_to_canvas(1, xo.astype(np.float32), yo.astype(np.float32))
        x2, y2 = cam.canvas_to_output(u.astype(np.float64).ravel(), v.astype(np.float64).ravel())
        assert np.abs(x2 - xo.ravel()).max() < 1e-3 and np.abs(y2 - yo.ravel()).max() < 1e-3
        # far-away points (beyond the fold of barrel distortion) stay far outside
        xf, _ = cam.canvas_to_output(np.array([5000.0]), np.array([80.0]))
        assert xf[0] > 400


def test_factor_coverage() -> None:
    seen: dict[str, set[str]] = {}
    for seed in range(40):
        _, t = _gen(seed, width=48, height=40)
        for k, v in t["factors"].items():
            seen.setdefault(k, set()).add(v)
    assert seen["hair_length"] >= {"trimmed", "long", "mixed"}
    assert seen["skin_tone"] == {"light", "medium", "dark"}
    assert seen["light"] == {"polarised", "non-polarised", "immersion"}
    assert {"grey", "white"} <= seen["hair_colour"]
    assert len(seen["hair_colour"]) >= 6
    assert len(seen["curl"]) >= 3


def test_no_foreign_imports() -> None:
    assert foreign_imports(Path(sim.blind10.__file__).parent, "sim.blind10") == []


def _hairs_of_kind(kind: str, n: int, *, long_hair: bool = False) -> list[Any]:
    """``n`` hairs of one kind built from random draws, as the frame builds them."""
    from sim.blind10.hairs import KINDS, build_hair

    rng = np.random.default_rng(7)
    fp = frame_params(rng)
    fp["long_share"] = 1.0 if long_hair else 0.0
    out = []
    for i in range(n):
        u = rng.uniform(0, 1, 12)
        if long_hair:
            u[7] = 0.0  # below long_share: a long hair
        out.append(build_hair(0.0, 0.0, 0.3, KINDS.index(kind), u, i, fp, 8.0, False))
    return out


def test_cut_long_hair_is_blunt() -> None:
    """A long hair marked cut keeps its full diameter to its end (a blunt cut), and an uncut
    one tapers: the truth's ``cut`` flag and the drawn end agree."""
    hairs = _hairs_of_kind("terminal", 200, long_hair=True)
    cut = [h for h in hairs if h.cut]
    natural = [h for h in hairs if not h.cut]
    assert len(cut) > 20 and len(natural) > 20
    for h in cut:
        assert h.diam[-1] >= 0.99 * h.d0, (h.d0, h.diam[-1])
    for h in natural:
        assert h.diam[-1] < 0.5 * h.d0


def test_tip_listed_where_the_drawn_shaft_ends() -> None:
    """A tapered end thins below what a pixel shows: the listed free end is the last point
    drawn at least ``TIP_MIN_PX`` wide, so a tip lies on the drawn shaft, not past it."""
    from sim.blind10.frame import TIP_MIN_PX, _drawn_end

    um = 15.0
    cam = Camera(um, W, H, 5000.0, 0.0, 0.0, 0.0, 0.0, (1.0, 1.0, 1.0), 8)
    moved = 0
    for h in _hairs_of_kind("vellus", 60):
        end = _drawn_end(h, cam, um)
        assert end is not None
        _, _, mag = cam.project(h.pts)
        width = h.diam / um * mag
        assert width[end] >= TIP_MIN_PX
        assert (width[end + 1 :] < TIP_MIN_PX).all()
        moved += end < len(h.pts) - 1
    assert moved >= 20  # many vellus ends fade out before the centreline stops (28 of 60)
    for h in _hairs_of_kind("terminal", 40):  # trimmed, cut: drawn to its last point
        assert _drawn_end(h, cam, um) == len(h.pts) - 1


def test_curl_factor_says_what_is_drawn() -> None:
    """Only long hair winds: a trimmed frame's hair is straight whatever the frame's curl
    draw, and a hairless frame has no curl."""
    trimmed = hairless = 0
    for seed in range(60):
        _, t = _gen(seed, width=48, height=40)
        if t["factors"]["hair_length"] == "trimmed":
            trimmed += 1
            assert t["factors"]["curl"] == "straight"
        _, t0 = _gen(seed, width=48, height=40, hairless=True)
        if seed < 5:
            hairless += 1
            assert t0["factors"]["curl"] == "none"
    assert trimmed >= 5 and hairless == 5
