"""blind-3, the third independent test-image generator: interface, truth and what it draws."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind3 import GENERATOR, generate
from tests.generator_checks import check_refuses_bad_arguments, foreign_imports


def _area_cm2(truth: dict[str, Any]) -> float:
    return float(truth["width"] * truth["height"] * (truth["um_per_px"] * 1e-4) ** 2)


def _luma(img: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return out


def test_name_and_no_foreign_imports() -> None:
    assert GENERATOR == "blind-3"
    assert foreign_imports(Path("sim/blind3"), "sim.blind3") == []


def test_deterministic_shapes_and_json() -> None:
    a, ta = generate(11, um_per_px=6.0, width=160, height=120)
    b, tb = generate(11, um_per_px=6.0, width=160, height=120)
    c, _ = generate(12, um_per_px=6.0, width=160, height=120)
    assert a.shape == (120, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert json.dumps(ta, sort_keys=True) == json.dumps(tb, sort_keys=True)
    assert not np.array_equal(a, c)
    json.dumps(ta)  # plain JSON values only


@pytest.mark.parametrize(
    ("seed", "upp", "w", "h"), [(1, 3.0, 600, 450), (2, 6.5, 300, 220), (3, 11.0, 180, 240)]
)
def test_truth_consistent(seed: int, upp: float, w: int, h: int) -> None:
    img, t = generate(seed, um_per_px=upp, width=w, height=h, density_per_cm2=300.0)
    assert img.shape == (h, w, 3)
    assert (t["width"], t["height"], t["um_per_px"]) == (w, h, upp)
    hairs = t["hairs"]
    assert hairs, "a dense site shows hairs"
    assert t["density_per_cm2"] == pytest.approx(len(hairs) / _area_cm2(t))
    for x in hairs:
        assert -0.5 <= x["x_px"] < w - 0.5 and -0.5 <= x["y_px"] < h - 0.5
        assert x["diameter_um"] > 0
    diam = [x["diameter_um"] for x in hairs]
    assert t["mean_diameter_um"] == pytest.approx(float(np.mean(diam)))
    assert t["vellus_fraction"] == pytest.approx(float(np.mean([d < 30 for d in diam])))
    for tip in t["tips"]:
        assert -0.5 <= tip["x_px"] < w - 0.5 and -0.5 <= tip["y_px"] < h - 0.5
        assert isinstance(tip["cut"], bool)
    pad = 200.0 / upp
    for e in t["emergence_outside"]:
        inside = -0.5 <= e["x_px"] < w - 0.5 and -0.5 <= e["y_px"] < h - 0.5
        assert not inside
        assert -0.5 - pad <= e["x_px"] < w - 0.5 + pad and -0.5 - pad <= e["y_px"] < h - 0.5 + pad
    f = t["factors"]
    for key in ("hair_length", "hair_colour", "skin_tone", "scale", "light", "visit", "technique"):
        assert isinstance(f[key], str)
    assert f["scale"] == ("3-5" if upp < 5 else "5-8" if upp < 8 else "8-12")
    assert f["visit"] == "baseline"
    assert len(t["shafts"]) == len(hairs)


def test_many_seeds_mix_of_choices() -> None:
    lengths, tones = set(), set()
    for s in range(30):
        _, t = generate(s, um_per_px=12.0, width=48, height=36)
        lengths.add(t["factors"]["hair_length"])
        tones.add(t["factors"]["skin_tone"])
        assert 0 <= t["params"]["density_per_cm2"] <= 350
    assert lengths == {"trimmed", "long", "mixed"}
    assert tones == {"light", "medium", "dark"}


def test_hairless() -> None:
    img, t = generate(5, um_per_px=5.0, width=200, height=150, hairless=True)
    assert img.shape == (150, 200, 3)
    assert t["hairs"] == [] and t["tips"] == [] and t["emergence_outside"] == []
    assert t["density_per_cm2"] == 0 and t["mean_diameter_um"] == 0
    assert t["vellus_fraction"] == 0
    assert t["factors"]["hair_length"] == "hairless"


def test_black_dots_are_counted_as_hairs_where_drawn_and_never_on_bare_skin() -> None:
    """One rule for every generator: a black dot (a hair broken at the skin's surface) is a
    hair in its follicle, so the truth counts it, at a dark dot of the image."""
    kw: dict[str, Any] = {"um_per_px": 8.0, "width": 1500, "height": 1125, "black_dots": True}
    img, t = generate(33, density_per_cm2=5.0, **kw)
    dots = [
        (h, s) for h, s in zip(t["hairs"], t["shafts"], strict=True) if s["kind"] == "black_dot"
    ]
    assert dots, "a site with black dots shows some"
    assert t["visit"]["hair_kinds_in_frame"]["black_dot"] == len(dots)
    assert t["density_per_cm2"] == pytest.approx(len(t["hairs"]) / _area_cm2(t))
    luma = _luma(img)
    for h, _ in dots:
        assert 40 <= h["diameter_um"] <= 90
        x, y = round(h["x_px"]), round(h["y_px"])
        r = round(h["diameter_um"] / kw["um_per_px"])  # around it: three radii
        around = luma[max(0, y - 3 * r) : y + 3 * r + 1, max(0, x - 3 * r) : x + 3 * r + 1]
        assert luma[y, x] < np.median(around) - 12, "the dot is drawn dark where counted"
    _, bare = generate(33, hairless=True, **kw)
    assert bare["hairs"] == []


def _site(**kw: Any) -> tuple[np.ndarray[Any, Any], dict[str, Any]]:
    return generate(
        21,
        um_per_px=10.0,
        width=500,
        height=400,
        density_per_cm2=250.0,
        hair_length="trimmed",
        **kw,
    )


def _points(t: dict[str, Any]) -> set[tuple[float, float]]:
    return {(round(x["x_px"], 6), round(x["y_px"], 6)) for x in t["hairs"]}


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_regrown_same_site(factor: float) -> None:
    base, tb = _site()
    later, tl = _site(regrown=(factor, 99))
    n0, n1 = len(tb["hairs"]), len(tl["hairs"])
    assert n0 >= 30
    assert n1 == pytest.approx(factor * n0, rel=0.25)
    assert tl["factors"]["visit"] == "regrown"
    kept = _points(tb) & _points(tl)
    assert len(kept) >= 0.8 * min(n0, n1)  # most hairs stay where they were
    # same skin and camera, fresh noise: the images differ yet correlate strongly
    assert not np.array_equal(base, later)
    ya, yb = _luma(base).ravel(), _luma(later).ravel()
    assert np.corrcoef(ya, yb)[0, 1] > (0.95 if factor == 1.0 else 0.6)
    if factor == 1.0:
        assert _points(tb) == _points(tl)


def test_regrown_seed_changes_new_hairs() -> None:
    _, a = _site(regrown=(2.0, 1))
    _, b = _site(regrown=(2.0, 2))
    assert _points(a) != _points(b)


def _shaft_samples(img: np.ndarray[Any, Any], t: dict[str, Any]) -> list[tuple[float, float]]:
    """(luma a few pixels along each in-frame hair's shaft, median luma around it)."""
    y = _luma(img)
    h, w = y.shape
    out = []
    for hair, sh in zip(t["hairs"], t["shafts"], strict=True):
        d = min(4.0, 0.5 * sh["length_px"])
        x = round(hair["x_px"] + d * math.cos(sh["angle_rad"]))
        yy = round(hair["y_px"] + d * math.sin(sh["angle_rad"]))
        if not (12 <= x < w - 12 and 12 <= yy < h - 12):
            continue
        out.append((float(y[yy, x]), float(np.median(y[yy - 12 : yy + 13, x - 12 : x + 13]))))
    return out


def test_dark_hair_darker_than_light_skin() -> None:
    img, t = generate(
        8,
        um_per_px=6.0,
        width=600,
        height=450,
        hair_colour="black",
        skin_tone="light",
        hair_length="trimmed",
        density_per_cm2=150.0,
        vellus_fraction=0.0,
        focus="sharp",
        light="polarised",
        flakes="none",
    )
    s = _shaft_samples(img, t)
    assert len(s) >= 5
    darker = [shaft < 0.6 * skin for shaft, skin in s]
    assert np.mean(darker) >= 0.8


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_shaft_at_emergence_differs_from_skin(seed: int) -> None:
    img, t = generate(
        seed,
        um_per_px=5.0,
        width=600,
        height=450,
        hair_length="trimmed",
        density_per_cm2=200.0,
        vellus_fraction=0.0,
        focus="sharp",
    )
    s = _shaft_samples(img, t)
    assert len(s) >= 6
    differs = [abs(shaft - skin) > 12 for shaft, skin in s]
    assert np.mean(differs) >= 0.75


def test_overrides_are_used() -> None:
    _, t = generate(
        4,
        um_per_px=8.0,
        width=64,
        height=48,
        hair_length="long",
        hair_colour="red",
        skin_tone="dark",
        light="unpolarised",
    )
    f = t["factors"]
    assert (f["hair_length"], f["hair_colour"], f["skin_tone"], f["light"]) == (
        "long",
        "red",
        "dark",
        "unpolarised",
    )


_GOOD: dict[str, Any] = {"um_per_px": 6.0, "width": 64, "height": 48}


@pytest.mark.parametrize(
    ("seed", "kw"),
    [
        (1, {"um_per_px": 1.9}),
        (1, {"um_per_px": 15.1}),
        (1, {"um_per_px": "6"}),
        (1, {"width": 31}),
        (1, {"width": 4097}),
        (1, {"width": 64.0}),
        (1, {"height": 5000}),
        (1.5, {}),
        ("7", {}),
        (1, {"hairless": 1}),
        (1, {"regrown": (0.1, 3)}),
        (1, {"regrown": (3.5, 3)}),
        (1, {"regrown": (1.0,)}),
        (1, {"regrown": (1.0, 2.5)}),
        (1, {"regrown": "twice"}),
        (1, {"hair_length": "short"}),
        (1, {"hair_colour": "green"}),
        (1, {"density_per_cm2": 400.0}),
        (1, {"jpeg_quality": 50.5}),
        (1, {"vessels": "yes"}),
        (1, {"no_such_choice": 1}),
    ],
)
def test_bad_arguments(seed: Any, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        generate(seed, **{**_GOOD, **kw})


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, _GOOD)


def test_any_int_seed() -> None:
    for s in (-5, 0, 2**70):
        img, _ = generate(s, um_per_px=6.0, width=40, height=32)
        assert img.shape == (32, 40, 3)
