"""blind-11, the elastic-rod / Turing-skin / phone-camera test generator: its contract
(interface, argument checks, truth bookkeeping, hairless and follow-up twins) and that its
truth describes its pixels."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage

import sim.blind11.core as b11core
from sim.blind11 import GENERATOR, generate
from sim.blind11.camera import Camera
from sim.blind11.design import make_design
from sim.blind11.geometry import settle_hairs
from sim.blind11.plan import (
    BLACK_DOT,
    EXCLAM,
    HAIR_UNIT,
    LONG,
    MIN_GAP_UM,
    TAPER,
    bare_openings,
    baseline_hairs,
    black_dots,
    follow_up_hairs,
    make_openings,
)
from tests.generator_checks import (
    check_refuses,
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

F64 = NDArray[np.float64]

# a clean look: sharp, matte, no scale, vessels, bubbles or follicle shadows
CLEAN: dict[str, Any] = {
    "light": "polarised",
    "shine": 0.0,
    "defocus_px": 0.0,
    "defocus_tilt_px": 0.0,
    "defocus_curv_px": 0.0,
    "motion_px": 0.0,
    "glare": 0.0,
    "scale_flakes": 0,
    "scale_veil": 0.0,
    "bubbles": 0,
    "vessels": "none",
    "follicle_shadow": 0.0,
    "hair_shadow": 0.0,
    "network": "none",
    "network_strength": 0.0,
    "skin_tone": "light",
    "melanin": 0.2,
    "hair_colour": "black",
    "vellus_share": 0.0,
    "field_stop": False,
    "tone": "gamma",
    "sharpen": 0.0,
    "jpeg_quality": 92,
}


def _force(monkeypatch: pytest.MonkeyPatch, **over: Any) -> None:
    """Make every frame's design the seed's own with some choices overridden."""

    def forced(seed: int) -> Any:
        return dataclasses.replace(make_design(seed), **over)

    monkeypatch.setattr(b11core, "make_design", forced)


def _lum(img: NDArray[np.uint8]) -> F64:
    out: F64 = img.astype(np.float64) @ np.array([0.3, 0.59, 0.11])
    return out


def _cameras(truth: dict[str, Any]) -> tuple[Camera, Camera]:
    """The baseline camera and this frame's camera, from the truth's params."""
    p = truth["params"]
    w, h, um = truth["width"], truth["height"], truth["um_per_px"]
    base = Camera(w, h, um, 0.0, 0.0, 0.0, p["k1"], p["k2"], p["lens_height_mm"] * 1000.0)
    v = p["visit"]
    if v["kind"] == "baseline":
        return base, base
    this = dataclasses.replace(
        base, tx_um=v["shift_x_um"], ty_um=v["shift_y_um"], theta=math.radians(v["rotation_deg"])
    )
    return base, this


# ---------------------------------------------------------------- interface


def test_interface_and_determinism() -> None:
    img, truth = generate(11, um_per_px=6.0, width=96, height=72)
    assert GENERATOR == "blind-11" and truth["generator"] == "blind-11"
    assert img.shape == (72, 96, 3) and img.dtype == np.uint8
    img2, truth2 = generate(11, um_per_px=6.0, width=96, height=72)
    assert np.array_equal(img, img2) and truth == truth2
    img3, truth3 = generate(12, um_per_px=6.0, width=96, height=72)
    assert not np.array_equal(img, img3)
    assert truth3["params"] != truth["params"]
    # integer scale and list-shaped regrown are accepted
    generate(11, um_per_px=6, width=32, height=32, regrown=[1.5, 2])  # type: ignore[arg-type]
    check_truth_contract(truth, 96, 72, 6.0)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"seed": True}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"seed": "1"}, "seed"),
    ({"um_per_px": 1.99}, "um_per_px"),
    ({"um_per_px": 15.01}, "um_per_px"),
    ({"um_per_px": "5"}, "um_per_px"),
    ({"width": 31}, "width"),
    ({"width": 4097}, "width"),
    ({"width": 64.0}, "width"),
    ({"height": 31}, "height"),
    ({"height": 4097}, "height"),
    ({"height": "64"}, "height"),
    ({"hairless": 1}, "hairless"),
    ({"hairless": None}, "hairless"),
    ({"regrown": (0.29, 1)}, "regrown"),
    ({"regrown": (3.01, 1)}, "regrown"),
    ({"regrown": (True, 1)}, "regrown"),
    ({"regrown": (1.0, 1.5)}, "regrown"),
    ({"regrown": (1.0, False)}, "regrown"),
    ({"regrown": (1.0,)}, "regrown"),
    ({"regrown": 1.0}, "regrown"),
]


SMALL: dict[str, Any] = {"um_per_px": 5.0, "width": 64, "height": 48}  # a frame it draws


@pytest.mark.parametrize(("change", "name"), BAD)
def test_bad_arguments(change: dict[str, Any], name: str) -> None:
    check_refuses(generate, SMALL, change, name)


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, SMALL)


def test_no_foreign_imports() -> None:
    assert foreign_imports(Path("sim/blind11"), "sim.blind11") == []


# ---------------------------------------------------------------- truth bookkeeping

CASES = [
    (0, 3.0, 160, 120),
    (1, 4.5, 128, 96),
    (2, 5.0, 200, 150),
    (3, 6.5, 96, 96),
    (4, 8.0, 160, 90),
    (5, 12.0, 120, 160),
    (6, 15.0, 64, 48),
    (7, 2.0, 128, 128),
    (8, 9.5, 150, 100),
    (9, 7.0, 33, 47),
    (10, 3.5, 180, 120),
    (-13, 11.0, 100, 75),
]


@pytest.mark.parametrize(("seed", "um", "w", "h"), CASES)
def test_truth_contract(seed: int, um: float, w: int, h: int) -> None:
    img, truth = generate(seed, um_per_px=um, width=w, height=h)
    assert img.shape == (h, w, 3)
    check_truth_contract(truth, w, h, um)
    f = truth["factors"]
    assert f["visit"] == "baseline" and truth["params"]["visit"] == {"kind": "baseline"}
    assert f["curl"] in {"straight", "wavy", "curly", "coiled"}
    if f["hair_length"] == "trimmed":
        assert f["curl"] == "straight"
    stop = truth["field_stop"]
    assert f["field_stop"] == ("no" if stop is None else "yes")
    for pt in truth["emergence_masked"]:
        assert -0.5 <= pt["x_px"] < w - 0.5 and -0.5 <= pt["y_px"] < h - 0.5
        assert stop is not None
        assert (
            math.hypot(pt["x_px"] - stop["cx_px"], pt["y_px"] - stop["cy_px"]) > stop["radius_px"]
        )
    if stop is not None:
        for pt in truth["hairs"] + truth["tips"]:
            d = math.hypot(pt["x_px"] - stop["cx_px"], pt["y_px"] - stop["cy_px"])
            assert d <= stop["radius_px"]
    for tip in truth["tips"]:
        assert tip["diameter_um"] <= 120.0


def test_settled_shape_of_a_hair_does_not_depend_on_the_others() -> None:
    design = make_design(7)
    hairs = baseline_hairs(7, design, make_openings(7, design, 3000.0))
    assert len(hairs) > 20
    keep = np.flatnonzero(np.arange(len(hairs)) % 3 == 1)
    full, sub = settle_hairs(hairs, design), settle_hairs(hairs.take(keep), design)
    rows = {}
    for idx, nodes in zip(full.index, full.nodes, strict=True):
        rows.update({int(k): nodes[i] for i, k in enumerate(idx)})
    for idx, nodes in zip(sub.index, sub.nodes, strict=True):
        for i, k in enumerate(idx):
            assert np.array_equal(rows[int(keep[k])], nodes[i])


# ---------------------------------------------------------------- twins


def test_hairless_is_the_same_scalp_without_hairs(monkeypatch: pytest.MonkeyPatch) -> None:
    _force(monkeypatch, hair_length="trimmed", density_per_cm2=250.0, **CLEAN)
    img, truth = generate(21, um_per_px=8.0, width=320, height=240)
    bald, bt = generate(21, um_per_px=8.0, width=320, height=240, hairless=True)
    assert truth["hairs"] and bt["hairs"] == [] and bt["tips"] == []
    assert bt["emergence_outside"] == [] and bt["emergence_masked"] == []
    assert bt["density_per_cm2"] == 0.0 and bt["mean_diameter_um"] == 0.0
    f = bt["factors"]
    assert (f["hair_length"], f["hair_colour"], f["curl"]) == ("hairless", "none", "none")
    assert f["skin_tone"] == truth["factors"]["skin_tone"]
    diff = np.abs(_lum(img) - _lum(bald))
    # the skin, its openings and the look are the same: most pixels barely change ...
    assert np.median(diff) < 2.0
    # ... and the hairs were the difference
    assert diff.max() > 60.0
    other, _ = generate(22, um_per_px=8.0, width=320, height=240, hairless=True)
    assert np.median(np.abs(_lum(other) - _lum(bald))) > 4.0


def _aligned_corr(a: NDArray[np.uint8], ta: dict[str, Any], b: NDArray[np.uint8]) -> float:
    """Correlation of frame ``a`` (a follow-up) with baseline ``b`` resampled to a's view."""
    base, this = _cameras(ta)
    h, w = a.shape[:2]
    py, px = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = this.to_world(px, py)
    bx, by = base.to_px(x, y)
    ok = (bx > 2) & (bx < w - 3) & (by > 2) & (by < h - 3)
    sampled = ndimage.map_coordinates(_lum(b), [by[ok], bx[ok]], order=1)
    return float(np.corrcoef(sampled, _lum(a)[ok])[0, 1])


def test_follow_up_keeps_the_skin_and_moves_the_frame() -> None:
    kw: dict[str, Any] = {"um_per_px": 5.0, "width": 160, "height": 120}
    base, tb = generate(31, **kw, hairless=True)
    follow, tf = generate(31, **kw, hairless=True, regrown=(1.0, 4))
    other, _ = generate(32, **kw, hairless=True)
    visit = tf["params"]["visit"]
    assert tb["factors"]["visit"] == "baseline" and tb["params"]["visit"] == {"kind": "baseline"}
    assert tf["factors"]["visit"] == "follow-up" and visit["kind"] == "follow-up"
    assert tf["hairs"] == [] and tf["factors"]["hair_length"] == "hairless"
    assert 1.0 <= abs(visit["rotation_deg"]) <= 5.0
    shift = math.hypot(visit["shift_x_um"], visit["shift_y_um"]) / 5.0
    assert 0.01 * 160 <= shift <= 0.06 * 160
    same = _aligned_corr(follow, tf, base)
    assert same > 0.8
    assert same > _aligned_corr(follow, tf, other) + 0.3
    # unaligned, the same skin still correlates better than another seed's
    assert (
        np.corrcoef(_lum(follow).ravel(), _lum(base).ravel())[0, 1]
        > np.corrcoef(_lum(other).ravel(), _lum(base).ravel())[0, 1]
    )


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_follow_up_count_follows_the_factor(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    _force(monkeypatch, density_per_cm2=380.0, field_stop=False)
    before = after = 0
    for seed in (41, 42, 43):
        kw: dict[str, Any] = {"um_per_px": 12.0, "width": 400, "height": 300}
        _, tb = generate(seed, **kw)
        _, tf = generate(seed, **kw, regrown=(factor, 9))
        before += len(tb["hairs"])
        after += len(tf["hairs"])
        moving = ("visit", "hair_kinds_in_frame")
        pb = {k: v for k, v in tb["params"].items() if k not in moving}
        pf = {k: v for k, v in tf["params"].items() if k not in moving}
        assert pb == pf
        assert {k: v for k, v in tb["factors"].items() if k != "visit"} == {
            k: v for k, v in tf["factors"].items() if k != "visit"
        }
        if factor < 1:
            # every kept hair is a baseline hair: same world point through both cameras
            base_cam, cam = _cameras(tf)
            pts = np.array([[p["x_px"], p["y_px"]] for p in tf["hairs"]])
            x, y = cam.to_world(pts[:, 0], pts[:, 1])
            bx, by = base_cam.to_px(x, y)
            listed = np.array([[p["x_px"], p["y_px"]] for p in tb["hairs"]])
            inside = (bx > 0) & (bx < 399) & (by > 0) & (by < 299)
            for qx, qy in zip(bx[inside], by[inside], strict=True):
                assert np.min(np.hypot(listed[:, 0] - qx, listed[:, 1] - qy)) < 1e-6
    assert before > 150
    assert after / before == pytest.approx(factor, rel=0.2)


# ---------------------------------------------------------------- truth describes pixels


def test_listed_hairs_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = dark = 0
    for seed, length in ((51, "trimmed"), (52, "long"), (53, "mixed")):
        monkeypatch.setattr(
            b11core,
            "make_design",
            lambda s, length=length: dataclasses.replace(
                make_design(s), hair_length=length, density_per_cm2=200.0, **CLEAN
            ),
        )
        img, truth = generate(seed, um_per_px=10.0, width=320, height=240)
        bald, _ = generate(seed, um_per_px=10.0, width=320, height=240, hairless=True)
        darker = ndimage.minimum_filter(_lum(img) - _lum(bald), size=3)
        for hair in truth["hairs"]:
            x, y = round(hair["x_px"]), round(hair["y_px"])
            seen += 1
            dark += bool(darker[min(max(y, 0), 239), min(max(x, 0), 319)] < -25.0)
    assert seen > 30
    assert dark >= 0.95 * seen


def _hair_over_bald(
    seeds: tuple[int, ...], um: float
) -> Iterator[tuple[dict[str, Any], F64, list[tuple[float, float]]]]:
    """Per seed, a 320x240 frame's truth, its luminance less that of the same scalp drawn
    hairless (the drawn shafts, negative), and every listed point: roots, tips and the
    roots just outside the frame."""
    for seed in seeds:
        img, truth = generate(seed, um_per_px=um, width=320, height=240)
        bald, _ = generate(seed, um_per_px=um, width=320, height=240, hairless=True)
        marks = [(p["x_px"], p["y_px"]) for p in truth["hairs"] + truth["tips"]]
        marks += [(p["x_px"], p["y_px"]) for p in truth["emergence_outside"]]
        yield truth, _lum(img) - _lum(bald), marks


def _arcs(flags: NDArray[np.bool_]) -> int:
    """Runs of True on a circle."""
    if flags.all():
        return 1
    return int(np.sum(flags & ~np.roll(flags, 1)))


def test_tips_are_where_shafts_end(monkeypatch: pytest.MonkeyPatch) -> None:
    _force(monkeypatch, hair_length="trimmed", density_per_cm2=100.0, plate_um=None, **CLEAN)
    checked = single = 0
    for truth, diff, marks in _hair_over_bald((61, 62, 63, 64, 65, 66), 8.0):
        for tip in truth["tips"]:
            tx, ty = tip["x_px"], tip["y_px"]
            radius = max(4.0, 1.3 * tip["diameter_um"] / 8.0)
            if not (radius + 2 < tx < 319 - radius and radius + 2 < ty < 239 - radius):
                continue
            others = [m for m in marks if 0 < math.hypot(m[0] - tx, m[1] - ty) < 1.5 * radius + 4]
            if others:
                continue
            checked += 1
            # the shaft reaches the tip ...
            near = diff[round(ty) - 1 : round(ty) + 2, round(tx) - 1 : round(tx) + 2]
            assert near.min() < -25.0
            # ... and does not go on past it: a circle around the tip crosses it once
            ang = np.linspace(0, 2 * math.pi, 96, endpoint=False)
            ring = ndimage.map_coordinates(
                diff, [ty + radius * np.sin(ang), tx + radius * np.cos(ang)], order=1
            )
            single += _arcs(ring < -25.0) == 1
    assert checked >= 12
    # a neighbouring shaft may cross the circle too; a misplaced tip fails everywhere
    assert single >= 0.8 * checked


def test_cut_long_hairs_keep_their_width_to_the_cut() -> None:
    # a long hair cut blunt is a hair cut short: full width at the cut, no natural taper
    design = dataclasses.replace(make_design(139), hair_length="long", long_blunt_share=0.8)
    hairs = baseline_hairs(139, design, make_openings(139, design, 2500.0))
    shafts = settle_hairs(hairs, design)
    blunt_long = 0
    for idx, diam in zip(shafts.index, shafts.diam, strict=True):
        for i, k in enumerate(idx.tolist()):
            if hairs.end[k] == TAPER or hairs.kind[k] == EXCLAM:
                continue
            blunt_long += int(hairs.kind[k] == LONG)
            assert np.allclose(diam[i], hairs.diameter[k]), (k, diam[i, -1], hairs.diameter[k])
    assert blunt_long > 20
    # the review's frame: every cut tip (long, broken or exclamation-mark hairs of a long,
    # terminal-haired scalp) is listed at a terminal hair's full width
    _, truth = generate(139, um_per_px=12, width=480, height=360)
    cut = [t["diameter_um"] for t in truth["tips"] if t["cut"]]
    assert len(cut) >= 5
    assert min(cut) >= 30.0


def test_tapered_tips_are_where_the_stroke_fades(monkeypatch: pytest.MonkeyPatch) -> None:
    # a natural tip is listed where the drawn shaft still shows, not at the end of an axis
    # that has faded to nothing
    over = {**CLEAN, "vellus_share": 0.6, "denoise_luma": 0.0, "aberration_px": 0.3}
    over.update(hair_length="long", density_per_cm2=120.0, plate_um=None)
    _force(monkeypatch, full_well=1e6, read_noise=1.5, **over)
    darkest = []
    for truth, diff, marks in _hair_over_bald((81, 82, 83, 84, 85, 86), 10.0):
        for tip in truth["tips"]:
            tx, ty = tip["x_px"], tip["y_px"]
            if tip["cut"] or not (3 < tx < 316 and 3 < ty < 236):
                continue
            if any(0 < math.hypot(m[0] - tx, m[1] - ty) < 8 for m in marks):
                continue
            near = diff[round(ty) - 1 : round(ty) + 2, round(tx) - 1 : round(tx) + 2]
            darkest.append(float(near.min()))
    assert len(darkest) >= 20
    # (listed at the axis end, about half of these tips showed no shaft at all)
    assert np.mean(np.array(darkest) < -3.0) >= 0.85


def test_follow_up_hairs_do_not_grow_on_top_of_others() -> None:
    for seed, factor, seed2 in ((147, 3.0, 11), (41, 2.0, 9), (139, 1.5, 4)):
        design = dataclasses.replace(make_design(seed), density_per_cm2=380.0)
        op = make_openings(seed, design, 2500.0)
        base = baseline_hairs(seed, design, op)
        hairs, counts = follow_up_hairs(seed, design, op, base, factor, seed2)
        n = len(base)
        assert counts["new"] == len(hairs) - n == round((factor - 1.0) * n)
        # the kept hairs are the baseline's, bit for bit
        for f in dataclasses.fields(base):
            assert np.array_equal(getattr(hairs, f.name)[:n], getattr(base, f.name))
        gap = np.hypot(hairs.x[:, None] - hairs.x[None, n:], hairs.y[:, None] - hairs.y[None, n:])
        need = np.maximum(0.5 * (hairs.diameter[:, None] + hairs.diameter[None, n:]), 15.0)
        gap[n + np.arange(len(hairs) - n), np.arange(len(hairs) - n)] = np.inf
        assert np.all(gap >= need)
    # the review's frame: no listed emergence point on top of another
    _, truth = generate(147, um_per_px=12, width=480, height=360, regrown=(3.0, 11))
    pts = np.array([[p["x_px"], p["y_px"]] for p in truth["hairs"]])
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    np.fill_diagonal(d, np.inf)
    assert len(pts) > 100 and d.min() * 12.0 >= 5.0


def test_field_stop_masks_hairs_and_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    over = {**CLEAN, "field_stop": True, "field_stop_frac": 0.56}
    _force(monkeypatch, density_per_cm2=300.0, **over)
    img, truth = generate(71, um_per_px=8.0, width=240, height=180)
    stop = truth["field_stop"]
    assert stop is not None and truth["factors"]["field_stop"] == "yes"
    cx, cy, r = stop["cx_px"], stop["cy_px"], stop["radius_px"]
    py, px = np.mgrid[0:180, 0:240]
    d = np.hypot(px - cx, py - cy)
    lum = _lum(img)
    assert lum[d > r + 4].mean() < 20.0
    assert lum[d < r - 4].mean() > 60.0
    assert truth["emergence_masked"]
    for p in truth["hairs"] + truth["tips"]:
        assert math.hypot(p["x_px"] - cx, p["y_px"] - cy) <= r
    for p in truth["emergence_masked"]:
        assert math.hypot(p["x_px"] - cx, p["y_px"] - cy) > r


# ---------------------------------------------------------------- black dots

# A black dot (a pigmented hair broken at the skin's surface, a dark round dot in its
# opening) is a hair: the convention every generator follows since cd0376b.


def _dot_site(
    monkeypatch: pytest.MonkeyPatch, seed: int, black_dot_share: float, **kw: Any
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """A clean 320x240 frame at 8 um/px whose empty openings (30 %) are all dark empty
    openings (``black_dot_share`` 0) or all black dots (1). The share picks between the two
    from the same draws: every hair, opening and look is the same either way."""
    _force(
        monkeypatch,
        density_per_cm2=120.0,
        empty_share=0.3,
        yellow_share=0.0,
        black_dot_share=black_dot_share,
        **CLEAN,
    )
    return generate(seed, um_per_px=8.0, width=320, height=240, **kw)


def _area_cm2(truth: dict[str, Any]) -> float:
    return float(truth["width"] * truth["height"] * (truth["um_per_px"] * 1e-4) ** 2)


def test_black_dots_are_listed_as_hairs_with_no_tip(monkeypatch: pytest.MonkeyPatch) -> None:
    dots = 0
    for seed in (91, 92, 93):
        _, plain = _dot_site(monkeypatch, seed, 0.0)
        _, with_dots = _dot_site(monkeypatch, seed, 1.0)
        check_truth_contract(with_dots, 320, 240, 8.0)
        kinds = with_dots["params"]["hair_kinds_in_frame"]
        assert plain["params"]["hair_kinds_in_frame"]["black_dot"] == 0
        assert set(kinds) == {
            "stub",
            "long",
            "vellus",
            "broken",
            "exclamation",
            "regrowing",
            "black_dot",
        }
        assert sum(kinds.values()) == len(with_dots["hairs"])
        n, k = len(plain["hairs"]), kinds["black_dot"]
        # the same hairs, then one more hair per black dot in the frame ...
        assert with_dots["hairs"][:n] == plain["hairs"] and len(with_dots["hairs"]) == n + k
        for hair in with_dots["hairs"][n:]:
            assert 36.0 <= hair["diameter_um"] <= 84.0  # the dot's diameter
        # ... with no tip: the tips are the shafts' alone
        assert with_dots["tips"] == plain["tips"]
        # and counted: density, mean diameter and vellus fraction are over all of them
        assert with_dots["density_per_cm2"] == pytest.approx((n + k) / _area_cm2(with_dots))
        diam = [hh["diameter_um"] for hh in with_dots["hairs"]]
        assert with_dots["mean_diameter_um"] == pytest.approx(float(np.mean(diam)))
        outside = plain["emergence_outside"]
        assert with_dots["emergence_outside"][: len(outside)] == outside
        dots += k
    assert dots >= 6


def test_listed_black_dots_are_dark_dots_and_hairless_frames_have_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = 0
    for seed in (91, 92, 93):
        img, truth = _dot_site(monkeypatch, seed, 1.0)
        bald, bt = _dot_site(monkeypatch, seed, 1.0, hairless=True)
        assert bt["hairs"] == [] and bt["density_per_cm2"] == 0.0
        assert bt["emergence_outside"] == [] and bt["emergence_masked"] == []
        assert set(bt["params"]["hair_kinds_in_frame"].values()) == {0}
        k = truth["params"]["hair_kinds_in_frame"]["black_dot"]
        lum, bare = _lum(img), _lum(bald)
        for hair in truth["hairs"][len(truth["hairs"]) - k :]:
            x, y = round(hair["x_px"]), round(hair["y_px"])
            r = round(hair["diameter_um"] / 8.0)  # around it: three radii
            win = (slice(max(0, y - 3 * r), y + 3 * r + 1), slice(max(0, x - 3 * r), x + 3 * r + 1))
            # a dark dot where it is listed, well below the skin around it ...
            assert lum[y, x] < np.median(lum[win]) - 50.0
            # ... and on the same scalp drawn hairless, only the faint opening it leaves
            assert bare[y, x] > np.median(bare[win]) - 25.0
            assert bare[y, x] > lum[y, x] + 50.0
            checked += 1
    assert checked >= 6


def test_a_hairless_frame_draws_no_black_dots() -> None:
    design = dataclasses.replace(make_design(5), empty_share=0.3, black_dot_share=1.0)
    op = make_openings(5, design, 2500.0)
    assert np.any(op.kind == BLACK_DOT)
    bare = bare_openings(op)
    assert not np.any(bare.kind == BLACK_DOT)
    # a black dot's opening is left as a hair's opening is; nothing else changes
    assert np.all(bare.kind[op.kind == BLACK_DOT] == HAIR_UNIT)
    assert np.array_equal(bare.kind[op.kind != BLACK_DOT], op.kind[op.kind != BLACK_DOT])
    assert np.array_equal(bare.radius_um, op.radius_um) and np.array_equal(bare.x, op.x)


def test_follow_up_black_dots_stay_or_grow_into_one_new_hair() -> None:
    design = dataclasses.replace(
        make_design(41),
        density_per_cm2=200.0,
        empty_share=0.3,
        yellow_share=0.0,
        black_dot_share=1.0,
    )
    op = make_openings(41, design, 4000.0)
    base = baseline_hairs(41, design, op)
    every = black_dots(op, base)
    assert every.size > 10 and np.all(op.kind[every] == BLACK_DOT)
    assert np.array_equal(every, np.flatnonzero(op.kind == BLACK_DOT))
    # thinned: every black dot stays (never shed)
    thinned, _ = follow_up_hairs(41, design, op, base, 0.5, 3)
    assert np.array_equal(black_dots(op, thinned), every)
    # regrown: a black dot a new hair grows in is that hair, listed once
    grown, counts = follow_up_hairs(41, design, op, base, 1.3, 3)
    kept = black_dots(op, grown)
    assert 0 < kept.size < every.size
    new = np.flatnonzero(grown.new)
    for u in np.setdiff1d(every, kept).tolist():
        gap = np.hypot(grown.x[new] - op.x[u], grown.y[new] - op.y[u])
        assert np.any((grown.unit[new] == u) | (gap <= op.radius_um[u]))
    for u in kept.tolist():
        gap = np.hypot(grown.x - op.x[u], grown.y - op.y[u])
        assert gap.min() >= MIN_GAP_UM  # no hair on top of a listed black dot
    assert counts["new"] == new.size


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_follow_up_with_black_dots_counts_by_the_factor(
    monkeypatch: pytest.MonkeyPatch, factor: float
) -> None:
    # the most black dots a design draws: 30 % of openings empty, a quarter of them dots
    over = {"empty_share": 0.3, "yellow_share": 0.0, "black_dot_share": 0.25}
    _force(monkeypatch, density_per_cm2=380.0, field_stop=False, **over)
    before = after = dots = 0
    for seed in (41, 42, 43):
        kw: dict[str, Any] = {"um_per_px": 12.0, "width": 400, "height": 300}
        _, tb = generate(seed, **kw)
        _, tf = generate(seed, **kw, regrown=(factor, 9))
        check_truth_contract(tf, 400, 300, 12.0)
        before += len(tb["hairs"])
        after += len(tf["hairs"])
        dots += tb["params"]["hair_kinds_in_frame"]["black_dot"]
        pts = np.array([[p["x_px"], p["y_px"]] for p in tf["hairs"]])
        d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        np.fill_diagonal(d, np.inf)
        assert d.min() * 12.0 >= 5.0  # a new hair never listed on top of a black dot
    assert dots >= 5
    # black dots are never shed, and a new hair grown in one replaces it: the count
    # follows the factor a little less than the hairs alone do, but still follows it
    assert after / before == pytest.approx(factor, rel=0.2)


# ---------------------------------------------------------------- variety


def test_factor_coverage_over_seeds() -> None:
    lengths, tones, curls, colours = set(), set(), set(), set()
    for seed in range(80):
        _, truth = generate(seed, um_per_px=15.0, width=32, height=32)
        f = truth["factors"]
        lengths.add(f["hair_length"])
        tones.add(f["skin_tone"])
        curls.add(f["curl"])
        colours.add(f["hair_colour"])
        if len(lengths) == 3 and len(tones) == 3 and len(curls) == 4 and len(colours) == 8:
            break
    _, bald = generate(0, um_per_px=15.0, width=32, height=32, hairless=True)
    lengths.add(bald["factors"]["hair_length"])
    assert lengths == {"trimmed", "long", "mixed", "hairless"}
    assert tones == {"light", "medium", "dark"}
    assert curls == {"straight", "wavy", "curly", "coiled"}
    assert colours == {
        "black",
        "dark_brown",
        "light_brown",
        "red",
        "blond",
        "grey",
        "white",
        "dyed",
    }


def test_density_spans_bald_to_dense() -> None:
    densities = [make_design(s).density_per_cm2 for s in range(300)]
    assert min(densities) < 5.0
    assert any(5.0 <= d <= 40.0 for d in densities)
    assert any(250.0 <= d <= 420.0 for d in densities)
    assert max(densities) <= 420.0
