"""blind-8, the volumetric independent trichoscopy generator: interface, argument checks,
determinism, truth bookkeeping, visits, pixels against truth and factor coverage."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

import sim.blind8
from sim.blind8 import GENERATOR, generate
from sim.blind8.camera import optics
from sim.blind8.geometry import Pose
from sim.blind8.render import render
from sim.blind8.scene import draw_look
from tests.generator_checks import (
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

W, H, UM = 160, 120, 10.0
DARK = {"black", "dark_brown", "dyed_black", "salt_pepper"}


def _seed_where(pred: Any, um: float = UM, start: int = 0) -> int:
    for s in range(start, start + 2000):
        if pred(draw_look(s, um).p):
            return s
    raise AssertionError("no seed found")


def _lum(img: np.ndarray) -> np.ndarray:
    return np.asarray(np.asarray(img, dtype=np.float64).mean(axis=2))


def test_interface() -> None:
    assert GENERATOR == "blind-8"
    img, truth = generate(3, um_per_px=UM, width=W, height=H)
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert truth["generator"] == "blind-8"
    assert truth["width"] == W and truth["height"] == H and truth["um_per_px"] == UM
    check_truth_contract(truth, W, H, UM)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": True},
        {"seed": 1.0},
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
        {"regrown": (0.29, 1)},
        {"regrown": (3.1, 1)},
        {"regrown": (1.0, 1.5)},
        {"regrown": (1.0, True)},
        {"regrown": ("1", 1)},
    ],
)
def test_bad_arguments(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"seed": 1, "um_per_px": UM, "width": W, "height": H}
    args.update(kwargs)
    seed = args.pop("seed")
    with pytest.raises(ValueError):
        generate(seed, **args)


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, {"um_per_px": UM, "width": W, "height": H})


def test_deterministic() -> None:
    a, ta = generate(11, um_per_px=UM, width=W, height=H)
    b, tb = generate(11, um_per_px=UM, width=W, height=H)
    c, _ = generate(12, um_per_px=UM, width=W, height=H)
    assert a.tobytes() == b.tobytes() and ta == tb
    assert a.tobytes() != c.tobytes()
    f1, _ = generate(11, um_per_px=UM, width=W, height=H, regrown=(1.2, 5))
    f2, _ = generate(11, um_per_px=UM, width=W, height=H, regrown=(1.2, 5))
    assert f1.tobytes() == f2.tobytes()
    assert generate(-7, um_per_px=3, width=48, height=40)[0].shape == (40, 48, 3)


def _bookkeeping(truth: dict[str, Any], w: int, h: int, um: float) -> None:
    check_truth_contract(truth, w, h, um)
    hairs = truth["hairs"]
    n = len(hairs)
    assert truth["density_per_cm2"] == pytest.approx(n / (w * h * um * um * 1e-8))
    stop = truth["field_stop"]
    for pt in truth["emergence_masked"]:
        assert stop is not None
        assert -0.5 <= pt["x_px"] < w - 0.5 and -0.5 <= pt["y_px"] < h - 0.5
        assert math.hypot(pt["x_px"] - stop["x_px"], pt["y_px"] - stop["y_px"]) > stop["radius_px"]
    if stop is not None:
        for pt in hairs + truth["tips"]:
            d = math.hypot(pt["x_px"] - stop["x_px"], pt["y_px"] - stop["y_px"])
            assert d <= stop["radius_px"]
    f = truth["factors"]
    assert f["hair_colour"] in {
        "black",
        "dark_brown",
        "brown",
        "red",
        "blond",
        "grey",
        "white",
        "salt_pepper",
        "dyed_black",
    }
    assert f["light"] in {"polarised", "non_polarised", "immersion"}
    assert truth["params"]["look"]["skin_tone"] == f["skin_tone"]


def test_truth_bookkeeping_several_seeds() -> None:
    seen: set[str] = set()
    for seed, um in ((1, 10.0), (2, 6.0), (3, 4.0), (4, 12.0), (5, 8.0)):
        _, truth = generate(seed, um_per_px=um, width=W, height=H)
        _bookkeeping(truth, W, H, um)
        seen.add(truth["factors"]["scale"])
    assert seen == {"3-5", "5-8", "8-12"}
    # a frame with a field stop, and one with hairs emerging just outside
    s = _seed_where(lambda p: p["field_stop"] and p["density"] > 150)
    img, truth = generate(s, um_per_px=UM, width=W, height=H)
    _bookkeeping(truth, W, H, UM)
    assert truth["field_stop"] is not None
    corner = _lum(img)[:4, :4].mean() + _lum(img)[-4:, -4:].mean()
    assert corner < 30.0  # black outside the stop


def test_hairless_and_follow_up_visits() -> None:
    s = _seed_where(lambda p: p["density"] > 200 and p["hair_length"] == "trimmed")
    w, h, um = 360, 270, 12.0
    base, tb = generate(s, um_per_px=um, width=w, height=h)
    _bare, tn = generate(s, um_per_px=um, width=w, height=h, hairless=True)
    more, tm = generate(s, um_per_px=um, width=w, height=h, regrown=(1.5, 9))
    _less, tl = generate(s, um_per_px=um, width=w, height=h, regrown=(0.6, 9))
    for t in (tb, tn, tm, tl):
        _bookkeeping(t, w, h, um)
    assert tn["hairs"] == [] and tn["tips"] == [] and tn["density_per_cm2"] == 0.0
    assert tn["factors"]["hair_length"] == "hairless"
    assert (tb["emergence_outside"] and tb["emergence_masked"] == []) or tb["field_stop"]
    assert tm["factors"]["visit"] == "follow-up" and tb["factors"]["visit"] == "baseline"
    nb, nm, nl = len(tb["hairs"]), len(tm["hairs"]), len(tl["hairs"])
    assert nb >= 40
    assert 1.2 < nm / nb < 1.85
    assert 0.4 < nl / nb < 0.8
    # the same skin, re-positioned a little: strongly correlated, not identical

    def low(img: np.ndarray) -> np.ndarray:
        return np.asarray(ndimage.gaussian_filter(_lum(img), 4.0)[20:-20, 20:-20]).ravel()

    other, _ = generate(s + 1, um_per_px=um, width=w, height=h)
    same = np.corrcoef(low(base), low(more))[0, 1]
    diff = np.corrcoef(low(base), low(other))[0, 1]
    assert same > 0.4 and same > diff + 0.2
    assert base.tobytes() != more.tobytes()


def test_pixels_against_truth() -> None:
    s = _seed_where(
        lambda p: (
            p["skin_tone"] == "light"
            and p["hair_colour"] in DARK
            and p["density"] > 200
            and not p["field_stop"]
        )
    )
    w, h, um = 320, 240, 8.0
    img, truth = generate(s, um_per_px=um, width=w, height=h)
    bare, _ = generate(s, um_per_px=um, width=w, height=h, hairless=True)
    lum = ndimage.uniform_filter(_lum(img), 3)
    d_in, d_ring = [], []
    yy, xx = np.mgrid[0:h, 0:w]
    for hair in truth["hairs"]:
        x, y = hair["x_px"], hair["y_px"]
        d_in.append(lum[round(y), round(x)])
        r = np.hypot(xx - x, yy - y)
        d_ring.append(float(np.median(_lum(img)[(r > 12) & (r < 18)])))
    assert len(d_in) >= 5
    assert np.mean(d_in) < np.mean(d_ring) - 8.0
    # hairless frame of the same seed differs where the hairs are, not elsewhere
    _, _, aux = render(s, um_per_px=um, width=w, height=h)
    diff = np.abs(_lum(img) - _lum(bare))
    alpha = aux["alpha"]
    assert diff[alpha > 0.5].mean() > 3.0 * max(diff[alpha < 0.01].mean(), 1.0)


def test_round_trip_labels_lie_on_drawn_hair() -> None:
    """Every listed emergence point has drawn shaft (hair opacity before the camera) at its
    pixel, and every drawn hair emerging in the visible field is listed."""
    seeds = [
        _seed_where(lambda p: p["hair_length"] == "trimmed" and p["density"] > 100),
        _seed_where(lambda p: p["hair_length"] == "long" and p["density"] > 100),
        _seed_where(lambda p: p["hair_length"] == "mixed" and p["k1"] < -0.04),
        _seed_where(lambda p: p["hair_colour"] == "white" and p["density"] > 60),
        _seed_where(lambda p: p["share"]["black_dot"] > 0.04),
    ]
    for i, s in enumerate(seeds):
        um = (3.0, 6.0, 9.0, 12.0, 15.0)[i]
        reg = (1.4, 3) if i == 2 else None
        _img, truth, aux = render(s, um_per_px=um, width=W, height=H, regrown=reg)
        _bookkeeping(truth, W, H, um)
        alpha = aux["alpha"]
        for hair in truth["hairs"]:
            xi, yi = round(hair["x_px"]), round(hair["y_px"])
            win = alpha[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2]
            assert win.max() > 0.15, (s, hair)
        pts = aux["present_xy"]
        inside = (
            (pts[:, 0] >= -0.5)
            & (pts[:, 0] < W - 0.5)
            & (pts[:, 1] >= -0.5)
            & (pts[:, 1] < H - 0.5)
        )
        assert int(inside.sum()) == len(truth["hairs"]) + len(truth["emergence_masked"])
    # bare skin has no hair drawn at all
    _, tn, auxn = render(seeds[0], um_per_px=UM, width=W, height=H, hairless=True)
    assert tn["hairs"] == [] and float(auxn["alpha"].max()) == 0.0


@pytest.mark.parametrize("k1", [-0.06, -0.03, 0.0, 0.04])
def test_distortion_never_folds(k1: float) -> None:
    """The radial distortion maps radius monotonically (barrel distortion's polynomial
    folds back beyond hd / sqrt(3 |k1|) and would image far skin into the frame), and the
    inverse map undoes the forward map over the whole frame."""
    pose = Pose(160, 120, 5.0, k1=k1)
    hd = pose.half_diag
    for ang in (0.1, 0.9, 2.3):
        r = np.linspace(0.0, 60.0 * hd, 20001) * pose.um_per_px
        xi, yi = pose.world_to_image(r * math.cos(ang), r * math.sin(ang))
        cx, cy = pose.centre
        ri = np.hypot(xi - cx, yi - cy)
        assert np.all(np.diff(ri) > 0.0)
        # what lies more than 1.2 half-diagonals out never reaches the frame
        far = r / pose.um_per_px > 1.2 * hd
        assert np.all(ri[far] > hd)
    pose = Pose(160, 120, 5.0, theta=0.02, tx=2.0, ty=-1.5, k1=k1)
    yy, xx = np.mgrid[-0.5:120:4.0, -0.5:160:4.0]
    wx, wy = pose.image_to_world(xx, yy)
    bx, by = pose.world_to_image(wx, wy)
    assert np.max(np.hypot(bx - xx, by - yy)) < 1e-3
    with pytest.raises(ValueError):
        Pose(160, 120, 5.0, k1=-0.1)


def test_listed_hairs_come_from_the_field_of_view() -> None:
    """Small, fine-scale frames with strong barrel distortion: the follicle pool reaches
    4+ half-diagonals out, where the unclamped polynomial folded skin back into the frame
    (a starburst of phantom hairs around the centre, every one listed). Each listed hair's
    world emergence point must be the skin point its pixel images."""
    s = _seed_where(
        lambda p: p["k1"] < -0.045 and p["hair_length"] != "trimmed" and p["density"] > 150
    )
    for um, w, h, reg in ((3.0, 160, 120, None), (2.5, 96, 80, (1.5, 4)), (6.0, 320, 240, None)):
        _img, truth, aux = render(s, um_per_px=um, width=w, height=h, regrown=reg)
        _bookkeeping(truth, w, h, um)
        pose = aux["pose"]
        xy, world = aux["present_xy"], aux["present_world"]
        inside = (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] >= -0.5)
        inside &= xy[:, 1] < h - 0.5
        assert int(inside.sum()) == len(truth["hairs"]) + len(truth["emergence_masked"])
        bx, by = pose.image_to_world(xy[inside, 0], xy[inside, 1])
        err = np.hypot(bx - world[inside, 0], by - world[inside, 1])
        assert err.size == 0 or float(err.max()) < 0.01, (um, w, h, sorted(err)[-5:])
        # and the count is what the density gives the frame (a Poisson-sized slack)
        expect = truth["params"]["look"]["density"] * (reg[0] if reg else 1.0)
        expect *= w * h * um * um * 1e-8
        assert len(truth["hairs"]) <= expect + 4.0 * math.sqrt(expect) + 6.0


@pytest.mark.parametrize("radius", [40.0, 150.0, 390.0])
def test_field_stop_edge_is_centred_on_the_truth_radius(radius: float) -> None:
    """A hair emerging within ``radius_px`` of the stop's centre is listed, one beyond it
    is masked: the drawn stop must pass at least half the light inside that radius and at
    most half beyond it (its soft edge used to start at the radius and run outward, so
    hairs up to an edge width outside were lit yet unlisted)."""
    h, w = 96, 128
    look = {"defocus_um": [0.0, 0.0], "oblique": [0.0, 0.0], "ca_px": 0.0, "vignette": 0.0}
    sx, sy = 70.3, 40.6
    # put the circle through the frame: the centre moved so the edge crosses it
    sx -= radius - 50.0
    m = optics(np.ones((3, h, w), np.float32), look, 5.0, (sx, sy, radius), [])[1]
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx - sx, yy - sy)
    edge = max(2.0, 0.01 * radius)
    assert (d <= radius).any() and (d > radius).any()
    assert float(m[d <= radius].min()) >= 0.5 - 1e-6
    assert float(m[d > radius].max()) <= 0.5 + 1e-6
    assert float(m[d <= radius - 0.5 * edge].min()) == pytest.approx(1.0)
    assert float(m[d >= radius + 0.5 * edge].max()) == 0.0


def test_tapered_tips_are_where_the_drawn_shaft_ends() -> None:
    """A tapering tip thins to 12 % of the shaft and, for pale or thin hair at coarse
    scales, fades out well before its geometric end; the listed tip must be the end of
    the drawn shaft, not a point on bare skin up to hundreds of um beyond it."""
    w, h, um = 160, 120, 12.0
    seeds = [
        s
        for s in range(100)
        if (p := draw_look(s, um).p)["hair_length"] != "trimmed"
        and p["hair_colour"] in ("white", "grey", "blond")
        and p["density"] > 60
    ][:6]
    n = 0
    for s in seeds:
        _img, truth, aux = render(s, um_per_px=um, width=w, height=h)
        alpha = aux["alpha"]
        for tip in truth["tips"]:
            xi, yi = round(tip["x_px"]), round(tip["y_px"])
            if tip["cut"] or not (1 <= xi <= w - 2 and 1 <= yi <= h - 2):
                continue
            n += 1
            assert alpha[yi - 1 : yi + 2, xi - 1 : xi + 2].max() >= 0.03, (s, tip)
    assert n >= 5


def test_factor_coverage() -> None:
    looks = [draw_look(s, UM).p for s in range(40)]
    lengths = {p["hair_length"] for p in looks}
    tones = {p["skin_tone"] for p in looks}
    colours = [p["hair_colour"] for p in looks]
    lights = {p["light"] for p in looks}
    assert lengths == {"trimmed", "long", "mixed"}
    assert tones == {"light", "medium", "dark"}
    assert len(set(colours)) >= 6
    assert sum(c in ("grey", "white", "salt_pepper") for c in colours) >= 5
    assert lights == {"polarised", "non_polarised", "immersion"}
    assert {p["curl"] for p in looks} >= {"straight", "wavy", "curly", "coiled"}
    assert any(p["field_stop"] for p in looks) and not all(p["field_stop"] for p in looks)
    dens = [p["density"] for p in looks]
    assert min(dens) < 25 and max(dens) > 250
    # the rendered truth carries the drawn factors (and 'hairless' when asked)
    for s in (0, 1, 2):
        _, t = generate(s, um_per_px=UM, width=64, height=48)
        check_truth_contract(t, 64, 48, UM)
        assert t["factors"]["hair_length"] == looks[s]["hair_length"]
        assert t["factors"]["skin_tone"] == looks[s]["skin_tone"]
        assert t["factors"]["hair_colour"] == looks[s]["hair_colour"]
    _, t = generate(0, um_per_px=UM, width=64, height=48, hairless=True)
    check_truth_contract(t, 64, 48, UM)
    assert t["factors"]["hair_length"] == "hairless"


def test_no_foreign_imports() -> None:
    assert foreign_imports(Path(sim.blind8.__file__).parent, "sim.blind8") == []
