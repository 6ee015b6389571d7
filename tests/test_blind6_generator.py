"""blind-6, the independent trichoscopy frame generator: interface, determinism, truth
bookkeeping, visits, pixels against the truth, factor coverage and independence."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

import sim.blind6
from sim.blind6 import GENERATOR, generate
from sim.blind6.scene import draw_scene
from tests.generator_checks import (
    FACTOR_KEYS,
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

SMALL: dict[str, Any] = {"um_per_px": 10.0, "width": 160, "height": 120}


def _lum(image: np.ndarray) -> np.ndarray:
    return np.asarray(np.asarray(image, dtype=np.float64) @ np.array([0.299, 0.587, 0.114]))


def _seed_where(want: Any, start: int = 0, um: float = 8.0) -> int:
    """The first seed whose frame-level draws satisfy ``want`` (draws are cheap)."""
    for seed in range(start, start + 5000):
        if want(draw_scene(seed, um, 400, 300)):
            return seed
    raise AssertionError("no seed found")


def test_interface() -> None:
    assert GENERATOR == "blind-6"
    image, truth = generate(3, **SMALL)
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.uint8
    assert image.shape == (120, 160, 3)
    assert truth["generator"] == "blind-6"
    assert (truth["width"], truth["height"], truth["um_per_px"]) == (160, 120, 10.0)
    assert isinstance(truth["um_per_px"], float)
    assert sim.blind6.__doc__ and "independent" in sim.blind6.__doc__


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": True},
        {"seed": 1.0},
        {"seed": "1"},
        {"um_per_px": 1.9},
        {"um_per_px": 15.01},
        {"um_per_px": "8"},
        {"width": 31},
        {"width": 4097},
        {"width": 160.0},
        {"height": 31},
        {"height": 4097},
        {"height": None},
        {"hairless": 1},
        {"hairless": None},
        {"regrown": (1.5,)},
        {"regrown": (1.5, 2, 3)},
        {"regrown": 1.5},
        {"regrown": (0.29, 1)},
        {"regrown": (3.01, 1)},
        {"regrown": (True, 1)},
        {"regrown": (1.5, 1.0)},
        {"regrown": (1.5, True)},
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"seed": 1, **SMALL}
    args.update(kwargs)
    seed = args.pop("seed")
    with pytest.raises(ValueError):
        generate(seed, **args)


def test_shared_bad_arguments_raise() -> None:
    check_refuses_bad_arguments(generate, SMALL)


def test_extreme_but_valid_arguments() -> None:
    image, truth = generate(-5, um_per_px=15, width=32, height=33, regrown=(0.3, -2))
    assert image.shape == (33, 32, 3)
    assert truth["um_per_px"] == 15.0
    assert truth["factors"]["visit"] == "follow-up"
    image, _ = generate(2**70, um_per_px=2.0, width=40, height=32, hairless=True)
    assert image.shape == (32, 40, 3)


def test_deterministic() -> None:
    a, ta = generate(11, **SMALL)
    b, tb = generate(11, **SMALL)
    assert a.tobytes() == b.tobytes()
    assert ta == tb
    c, _ = generate(12, **SMALL)
    assert a.tobytes() != c.tobytes()
    f1, _ = generate(11, regrown=(1.2, 4), **SMALL)
    f2, _ = generate(11, regrown=(1.2, 4), **SMALL)
    assert f1.tobytes() == f2.tobytes()


def _check_truth(truth: dict[str, Any], w: int, h: int, um: float) -> None:
    check_truth_contract(truth, w, h, um)
    for hair in truth["hairs"]:
        assert set(hair) == {"x_px", "y_px", "diameter_um"}
    assert len(truth["params"]["hair_draws"]) == len(truth["hairs"])


@pytest.mark.parametrize(
    ("seed", "w", "h", "um", "extra"),
    [
        (0, 160, 120, 10.0, {}),
        (1, 200, 150, 6.0, {}),
        (2, 160, 120, 3.5, {}),
        (5, 160, 120, 12.0, {}),
        (8, 240, 180, 8.0, {"regrown": (1.5, 3)}),
        (9, 160, 120, 7.0, {"hairless": True}),
        (13, 300, 200, 9.0, {}),
    ],
)
def test_truth_bookkeeping(seed: int, w: int, h: int, um: float, extra: dict[str, Any]) -> None:
    _, truth = generate(seed, um_per_px=um, width=w, height=h, **extra)
    _check_truth(truth, w, h, um)
    if extra.get("hairless"):
        assert truth["factors"]["hair_length"] == "hairless"
    if "regrown" in extra:
        assert truth["factors"]["visit"] == "follow-up"


def test_truth_has_hairs_tips_and_outside() -> None:
    seed = _seed_where(lambda sc: sc.density > 250 and sc.hair_length == "trimmed")
    _, truth = generate(seed, um_per_px=8.0, width=400, height=300)
    _check_truth(truth, 400, 300, 8.0)
    assert len(truth["hairs"]) > 12
    assert len(truth["tips"]) > 10
    assert any(t["cut"] for t in truth["tips"])
    assert len(truth["emergence_outside"]) > 0


def test_hairless_has_no_hairs() -> None:
    seed = _seed_where(lambda sc: sc.density > 150)
    image, truth = generate(seed, um_per_px=8.0, width=240, height=180, hairless=True)
    assert truth["hairs"] == []
    assert truth["tips"] == []
    assert truth["emergence_outside"] == []
    assert truth["density_per_cm2"] == 0.0
    assert truth["mean_diameter_um"] == 0.0
    assert truth["vellus_fraction"] == 0.0
    assert image.shape == (180, 240, 3)


def test_follow_up_counts() -> None:
    dense = [
        _seed_where(lambda sc: sc.density > 200 and sc.hair_length == "trimmed", start=k)
        for k in (0, 400)
    ]
    base = up = down = 0
    for seed in dense:
        kw: dict[str, Any] = {"um_per_px": 10.0, "width": 400, "height": 300}
        base += len(generate(seed, **kw)[1]["hairs"])
        up += len(generate(seed, regrown=(1.5, 1), **kw)[1]["hairs"])
        down += len(generate(seed, regrown=(0.6, 2), **kw)[1]["hairs"])
    assert base > 40
    assert 1.25 < up / base < 1.8
    assert 0.4 < down / base < 0.8


def test_follow_up_same_skin_not_identical() -> None:
    kw: dict[str, Any] = {"um_per_px": 8.0, "width": 240, "height": 180}
    a, _ = generate(21, **kw)
    b, tb = generate(21, regrown=(1.0, 5), **kw)
    c, _ = generate(22, **kw)
    assert a.tobytes() != b.tobytes()
    assert tb["factors"]["visit"] == "follow-up"

    def smooth(img: np.ndarray) -> np.ndarray:
        return np.asarray(ndimage.gaussian_filter(_lum(img), 3.0))

    sa, sb, sc = smooth(a), smooth(b), smooth(c)
    same = np.corrcoef(sa.ravel(), sb.ravel())[0, 1]
    other = np.corrcoef(sa.ravel(), sc.ravel())[0, 1]
    assert same > 0.5
    assert same > other + 0.2


def test_dark_hairs_darker_at_emergence() -> None:
    seed = _seed_where(
        lambda sc: (
            sc.skin_tone == "light"
            and sc.hair_colour in ("black", "dark-brown", "dyed-black")
            and sc.grey_share < 0.1
            and sc.density > 120
        )
    )
    image, truth = generate(seed, um_per_px=8.0, width=320, height=240)
    lum = _lum(image)
    inner, outer = [], []
    yy, xx = np.mgrid[0:240, 0:320]
    for hair in truth["hairs"]:
        x, y = hair["x_px"], hair["y_px"]
        r = np.hypot(xx - x, yy - y)
        inner.append(lum[r <= 1.5].mean())
        outer.append(lum[(r >= 12) & (r <= 16)].mean())
    assert len(inner) > 10
    assert np.mean(inner) < np.mean(outer) - 10


def test_hairless_differs_where_the_hairs_are() -> None:
    seed = _seed_where(
        lambda sc: sc.density > 150 and sc.hair_colour != "white" and sc.hair_length == "trimmed",
        start=50,
    )
    kw: dict[str, Any] = {"um_per_px": 8.0, "width": 240, "height": 180}
    hairy, truth = generate(seed, **kw)
    bare, _ = generate(seed, hairless=True, **kw)
    diff = np.abs(_lum(hairy) - _lum(bare))
    yy, xx = np.mgrid[0:180, 0:240]
    near = np.zeros(diff.shape, dtype=bool)
    for hair in truth["hairs"]:
        near |= np.hypot(xx - hair["x_px"], yy - hair["y_px"]) <= 2.0
    assert near.sum() > 20
    assert diff[near].mean() > 3.0 * diff[~near].mean() + 2.0


def test_factor_coverage() -> None:
    seen: dict[str, set[str]] = {k: set() for k in FACTOR_KEYS}
    for seed in range(40):
        um = (3.0, 6.0, 10.0)[seed % 3]
        _, truth = generate(seed, um_per_px=um, width=64, height=48)
        for key in FACTOR_KEYS:
            seen[key].add(truth["factors"][key])
    _, truth = generate(0, um_per_px=10.0, width=64, height=48, hairless=True)
    seen["hair_length"].add(truth["factors"]["hair_length"])
    assert seen["hair_length"] == {"trimmed", "long", "mixed", "hairless"}
    assert seen["skin_tone"] == {"light", "medium", "dark"}
    assert seen["scale"] == {"3-5", "5-8", "8-12"}
    assert len(seen["light"]) >= 3
    assert len(seen["hair_colour"]) >= 5
    assert seen["hair_colour"] & {"grey", "white"}
    assert seen["visit"] == {"baseline"}


def test_grey_and_white_hair_common_on_light_skin() -> None:
    n_light = n_pale = 0
    for seed in range(400):
        sc = draw_scene(seed, 8.0, 400, 300)
        if sc.skin_tone == "light":
            n_light += 1
            n_pale += sc.hair_colour in ("grey", "white")
    assert n_pale / n_light > 0.2


def test_imports_only_its_own_modules() -> None:
    assert foreign_imports(Path(sim.blind6.__file__).parent, "sim.blind6") == []


def test_hairs_under_the_field_stop_are_masked_not_counted() -> None:
    """A hair emerging under the field stop's dark ring cannot be seen: it is listed in
    ``emergence_masked``, not in ``hairs`` (whose density a model is judged and trained on),
    and no tip is listed there."""
    image, truth = generate(2, um_per_px=6.0, width=400, height=300)
    stop = truth["field_stop"]
    assert stop is not None and truth["emergence_masked"] and truth["hairs"]

    def r(p: dict[str, Any]) -> float:
        return math.hypot(p["x_px"] - stop["cx"], p["y_px"] - stop["cy"])

    assert all(r(h) < stop["r_px"] for h in truth["hairs"])
    assert all(r(t) < stop["r_px"] for t in truth["tips"])
    assert all(r(m) >= stop["r_px"] for m in truth["emergence_masked"])
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    ring = np.hypot(xx - stop["cx"], yy - stop["cy"]) > stop["r_px"] + 4  # past the blur
    assert ring.any() and image[ring].mean() < 0.2 * image[~ring].mean()  # dark indeed


def test_a_natural_tip_never_thins_the_root() -> None:
    """A long hair's tapered tip thins its last millimetres, not the whole hair: at the root
    the drawn diameter is the listed one (the review found roots of long hairs drawn at
    0.25-0.8x when the taper was longer than the hair)."""
    from sim.blind6.frame import _extras
    from sim.blind6.hairs import _march, build_pool, hair_specs

    tapered = 0
    for seed in range(60):
        sc = draw_scene(seed, 8.0, 400, 300)
        _extras(seed, sc)
        pool = build_pool(seed, sc)
        for sp in hair_specs(seed, sc, pool, pool.selected(1.0)):
            if sp.end != "taper" or sp.kind not in ("terminal", "intermediate"):
                continue
            tapered += 1
            knots = _march(sp, sc, sc.extras["plate_um"])
            assert knots[0, 4] >= 0.9 * sp.d0, (seed, sp.d0, knots[0, 4])
    assert tapered >= 10
