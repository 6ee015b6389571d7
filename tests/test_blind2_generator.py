"""Tests of the blind-2 test-image generator (sim/blind2): interface, truth, visits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from generator_checks import check_refuses_bad_arguments, foreign_imports

from sim.blind2 import GENERATOR, generate

PACKAGE = Path(__file__).resolve().parents[1] / "sim" / "blind2"


def _frame_ok(x: float, y: float, w: int, h: int) -> bool:
    return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5


def _outside_um(x: float, y: float, w: int, h: int, upp: float) -> float:
    dx = max(-0.5 - x, x - (w - 0.5), 0.0)
    dy = max(-0.5 - y, y - (h - 0.5), 0.0)
    return float(np.hypot(dx, dy) * upp)


def test_deterministic_and_shaped() -> None:
    a, ta = generate(3, um_per_px=6.0, width=160, height=120)
    b, tb = generate(3, um_per_px=6.0, width=160, height=120)
    assert a.shape == (120, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert json.dumps(ta, sort_keys=True) == json.dumps(tb, sort_keys=True)
    c, _ = generate(4, um_per_px=6.0, width=160, height=120)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("seed", "upp", "kw"),
    [
        (1, 12.0, {"hair_length": "long", "density_per_cm2": 300.0}),
        (2, 4.0, {"hair_length": "trimmed"}),
        (5, 8.0, {"hair_length": "mixed", "hair_colour": "salt-and-pepper"}),
    ],
)
def test_truth_consistent(seed: int, upp: float, kw: dict[str, Any]) -> None:
    w, h = 200, 150
    _, t = generate(seed, um_per_px=upp, width=w, height=h, **kw)
    json.dumps(t)
    assert t["generator"] == GENERATOR == "blind-2"
    area = w * h * (upp * 1e-4) ** 2
    assert t["area_cm2"] == pytest.approx(area)
    assert t["hair_count"] == len(t["hairs"])
    assert t["density_per_cm2"] == pytest.approx(t["hair_count"] / area)
    total = t["terminal_density_per_cm2"] + t["vellus_density_per_cm2"]
    assert total == pytest.approx(t["density_per_cm2"])
    assert sum(t["unit_shares_1_2_3_4plus"]) == pytest.approx(1.0 if t["hair_count"] else 0.0)
    for hair in t["hairs"]:
        assert _frame_ok(hair["x_px"], hair["y_px"], w, h)
        assert isinstance(hair["trimmed"], bool) and isinstance(hair["unit"], int)
    for tip in t["tips"]:
        assert _frame_ok(tip["x_px"], tip["y_px"], w, h)
        assert tip["end"] in ("square", "oblique", "frayed", "tapered")
        assert tip["cut"] == (tip["end"] != "tapered")
    for pt in t["emergence_outside"]:
        assert not _frame_ok(pt["x_px"], pt["y_px"], w, h)
        assert _outside_um(pt["x_px"], pt["y_px"], w, h, upp) <= 200.0
    assert t["factors"]["hair_length"] == kw["hair_length"]
    assert t["factors"]["scale"] == ("3-5" if upp < 5 else "5-8" if upp < 8 else "8-12")
    assert t["params"]["hair_length"] == kw["hair_length"]


def test_hairless() -> None:
    _, t = generate(7, um_per_px=10.0, width=120, height=90, hairless=True)
    assert t["hair_count"] == 0 and t["hairs"] == [] and t["tips"] == []
    assert t["factors"]["hair_length"] == "hairless"
    assert t["mean_diameter_um"] == 0.0


def test_regrown_visits() -> None:
    kw: dict[str, Any] = {"um_per_px": 15.0, "width": 256, "height": 192}
    kw["hair_length"] = "trimmed"
    kw["density_per_cm2"] = 330.0
    kw["density_gradient"] = 0.0
    _, base = generate(11, **kw)
    _, more = generate(11, regrown=(1.5, 5), **kw)
    _, fewer = generate(11, regrown=(0.5, 5), **kw)
    n0 = base["hair_count"]
    assert n0 > 30
    assert abs(more["hair_count"] - 1.5 * n0) <= 0.3 * 1.5 * n0
    assert fewer["hair_count"] < n0
    kept = {(round(h["x_px"], 6), round(h["y_px"], 6), h["diameter_um"]) for h in base["hairs"]}
    later = {(round(h["x_px"], 6), round(h["y_px"], 6), h["diameter_um"]) for h in more["hairs"]}
    assert kept <= later
    shed = {(round(h["x_px"], 6), round(h["y_px"], 6), h["diameter_um"]) for h in fewer["hairs"]}
    assert shed <= kept
    assert more["params"]["skin_tone"] == base["params"]["skin_tone"]


def test_regrown_same_site_new_noise() -> None:
    kw: dict[str, Any] = {"um_per_px": 10.0, "width": 96, "height": 72, "bayer": False}
    a, _ = generate(2, hairless=True, **kw)
    b, _ = generate(2, hairless=True, regrown=(1.0, 9), **kw)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert 0 < diff.mean() < 12


@pytest.mark.parametrize(
    "kw",
    [
        {"um_per_px": 1.0},
        {"um_per_px": 16.0},
        {"width": 31},
        {"height": 5000},
        {"regrown": (0.1, 1)},
        {"regrown": (3.5, 1)},
        {"hair_length": "curly"},
        {"hair_colour": "blue"},
        {"no_such_choice": 1.0},
        {"density_per_cm2": 1000.0},
    ],
)
def test_bad_arguments(kw: dict[str, Any]) -> None:
    args: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}
    args.update(kw)
    with pytest.raises(ValueError):
        generate(1, **args)


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, {"um_per_px": 8.0, "width": 64, "height": 48})


def test_imports_are_own() -> None:
    assert foreign_imports(PACKAGE, "sim.blind2") == []


def test_dark_hair_darker_than_light_skin() -> None:
    kw: dict[str, Any] = {
        "um_per_px": 8.0,
        "width": 160,
        "height": 120,
        "hair_colour": "black",
        "skin_tone": 0.05,
        "hair_length": "long",
        "density_per_cm2": 200.0,
        "polarised": True,
        "exposure": 1.0,
        "peripilar_sign": False,
        "perifollicular_scale": 0.0,
        "erythema": 0.0,
    }
    img, t = generate(21, **kw)
    bald, _ = generate(21, hairless=True, **kw)
    assert t["hair_count"] > 0
    luma = img.astype(float).mean(axis=2)
    skin = bald.astype(float).mean(axis=2)
    hair = np.abs(luma - skin) > 20
    assert hair.sum() > 100
    assert luma[hair].mean() < skin[hair].mean() - 30
    assert luma[hair].mean() < np.median(skin) - 30


def test_emergence_is_where_the_drawn_shaft_leaves_the_skin() -> None:
    from sim.blind2 import _rng, follicles
    from sim.blind2.frame import Frame
    from sim.blind2.look import draw_look
    from sim.blind2.shafts import build

    seed, upp, w, h = 31, 9.0, 180, 140
    over: dict[str, Any] = {"hair_length": "mixed", "distortion": -0.05}
    _, t = generate(seed, um_per_px=upp, width=w, height=h, **over)
    look = draw_look(_rng(seed, 1), over)
    frame = Frame(w, h, upp, look.num("distortion"))
    _, hairs = follicles.baseline(_rng(seed, 2), look, frame, False)
    sh = build(hairs, frame, 1.4 * look.num("pit_depth_um"))
    at_skin = np.flatnonzero(sh.z0 == 0.0)  # segments that start on the skin plane
    assert t["hair_count"] > 0
    for hair in t["hairs"]:
        d = np.hypot(sh.x0[at_skin] - hair["x_px"], sh.y0[at_skin] - hair["y_px"])
        assert d.min() < 1e-9  # a drawn shaft crosses z = 0 exactly there
        below = at_skin[np.argmin(d)] - 1  # and the segment before it runs under the skin
        assert sh.z0[below] < 0.0 and sh.hair[below] == sh.hair[at_skin[np.argmin(d)]]


# Looks of dark skin (a mend after review): the honeycomb network is thin, soft, faint and
# patchy, and an empty follicle opening is never a dark dot (a "black dot" is a broken hair).
_CLEAN: dict[str, Any] = {
    "polarised": True,  # no glints: the median below would count the skin between them
    "full_well": 20000.0,
    "read_noise": 0.0005,
    "jpeg": False,
    "ink_mark": False,
    "micropigmentation": False,
    "ruler_edge": False,
    "pigment_blotches": False,
    "vessels": False,
    "flakes": False,
    "crusts": False,
    "blur_px": 0.0,
    "field_blur_px": 0.0,
    "focus_um": 0.0,
    "motion_blur": False,
}


def _luma(img: np.ndarray) -> np.ndarray:
    return np.asarray(np.asarray(img, dtype=np.float32).mean(axis=2))


def _dark_share(img: np.ndarray, upp: float) -> float:
    """Share of pixels more than 12 % darker than the median of the 0.3 mm around them."""
    from scipy import ndimage

    luma = _luma(img)
    med = ndimage.median_filter(luma, size=max(3, round(300.0 / upp) | 1))
    return float(np.mean(luma < 0.88 * med))


@pytest.mark.parametrize(("seed", "upp"), [(41, 4.0), (42, 7.0), (43, 11.0)])
def test_honeycomb_is_thin_and_faint(seed: int, upp: float) -> None:
    kw: dict[str, Any] = {"um_per_px": upp, "width": 240, "height": 180, "hairless": True}
    kw.update(_CLEAN, skin_tone=0.95, honeycomb_strength=1.0)
    on, _ = generate(seed, honeycomb=True, **kw)
    off, _ = generate(seed, honeycomb=False, **kw)
    assert not np.array_equal(on, off)  # the network is there
    # it darkens only a few pixels by more than 12 %, about as few as bare skin does
    assert _dark_share(on, upp) < _dark_share(off, upp) + 0.03
    assert _dark_share(on, upp) < 0.04
    # its walls are at most about 15 % darker than the same skin without it
    darker = 1.0 - _luma(on) / np.maximum(_luma(off), 1.0)
    assert np.percentile(darker, 99.5) < 0.18
    assert np.mean(darker > 0.03) < 0.2  # thin walls, in patches: not the whole frame


def _opening_contrast(seed: int, upp: float, w: int, h: int, over: dict[str, Any]) -> np.ndarray:
    """1 - (centre luma of each empty opening) / (median luma of the skin around it)."""
    from sim.blind2 import _rng, follicles
    from sim.blind2.frame import Frame
    from sim.blind2.look import draw_look

    img, t = generate(seed, um_per_px=upp, width=w, height=h, hairless=True, **over)
    look = draw_look(_rng(seed, 1), over)
    frame = Frame(w, h, upp, look.num("distortion"))
    sites, _ = follicles.baseline(_rng(seed, 2), look, frame, True)
    ox, oy = frame.distort(sites["x"], sites["y"])
    luma = _luma(img)
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for k in np.flatnonzero(sites["kind"] == 1):
        r = max(sites["radius_um"][k] / upp, 1.0)
        x, y = ox[k], oy[k]
        if not (3 * r + 2 < x < w - 3 * r - 2 and 3 * r + 2 < y < h - 3 * r - 2):
            continue
        d = np.hypot(xx - x, yy - y)
        centre = luma[d <= max(0.5 * r, 0.75)].mean()
        out.append(1.0 - centre / np.median(luma[(d >= 1.8 * r) & (d <= 3.0 * r)]))
    assert t["hair_count"] == 0 and t["empty_follicles"] >= len(out)
    return np.array(out)


@pytest.mark.parametrize(
    ("tone", "upp", "w", "h"), [(0.9, 5.0, 480, 360), (0.6, 9.0, 320, 240), (0.1, 7.0, 400, 300)]
)
def test_empty_openings_are_not_dark_dots(tone: float, upp: float, w: int, h: int) -> None:
    over = dict(_CLEAN, skin_tone=tone, opening_visibility=1.0, white_dots=False)
    over.update(density_per_cm2=300.0, density_gradient=0.0)
    over.update(yellow_dots=False, pit_depth_um=60.0, furrow_depth_um=20.0, honeycomb=False)
    c = _opening_contrast(50, upp, w, h, over)
    assert c.size >= 5
    assert np.median(c) < 0.1  # shallow pits, about skin-coloured
    assert c.max() < 0.25  # none reads as a black dot


def test_empty_openings_on_dark_skin_can_be_white_dots() -> None:
    over = dict(_CLEAN, skin_tone=0.98, opening_visibility=1.0, white_dots=True)
    over.update(density_per_cm2=300.0, density_gradient=0.0)
    over.update(yellow_dots=False, honeycomb=False)
    c = _opening_contrast(51, 8.0, 400, 300, over)
    assert c.size >= 5
    assert np.mean(c < 0.0) > 0.6  # most are paler than the skin around them
    assert c.max() < 0.25
