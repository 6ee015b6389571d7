"""Tests of sim.blind4, the fourth independent trichoscopy test-image generator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.blind4 import GENERATOR, OVERRIDES, generate
from sim.blind4.look import CONDITIONS, HAIR_COLOURS, SKIN_TONES, sample_look
from tests.generator_checks import check_refuses_bad_arguments, foreign_imports

# a plain look: dark hair on light skin, nothing in the way, lossless
CLEAN: dict[str, Any] = {
    "hair_colour": "black",
    "skin_tone": "light",
    "light": "polarised",
    "flakes": "none",
    "blur": "none",
    "compression": "png",
    "bubbles": False,
    "field_stop": False,
    "ink": False,
    "ruler": False,
    "vessels": False,
    "fibres": False,
    "led_reflections": False,
    "perifollicular_scale": False,
    "halos": False,
    "yellow_dots": False,
    "white_dots": False,
    "erythema": False,
    "condition": "normal",
}
KINDS = {"terminal", "intermediate", "vellus", "black_dot", "exclamation", "broken", "regrowing"}
ENDS = {"cut", "tapered", "broken", "none"}


def lum(img: np.ndarray) -> np.ndarray:
    return np.asarray(img.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722]))


def stands_out(img: np.ndarray, u: int, v: int) -> bool:
    """The 3x3 pixels around (u, v) are clearly darker or differently coloured than the
    frame's median skin (a few hairs of a dark-haired head are white)."""
    skin_rgb = np.median(img.reshape(-1, 3), axis=0)
    skin = float(skin_rgb @ np.array([0.2126, 0.7152, 0.0722]))
    patch = img[max(0, v - 1) : v + 2, max(0, u - 1) : u + 2].astype(np.float64)
    darker = float(lum(patch).min()) < 0.75 * skin
    other = float(np.linalg.norm(patch - skin_rgb, axis=-1).max()) > 30.0
    return darker or other


def inside(x: float, y: float, w: int, h: int) -> bool:
    return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5


# ---------------------------------------------------------------- identity, determinism


def test_name_and_no_shared_code() -> None:
    assert GENERATOR == "blind-4"
    assert foreign_imports(Path("sim/blind4"), "sim.blind4") == []


def test_deterministic_and_shaped() -> None:
    a, ta = generate(7, um_per_px=6.0, width=160, height=120)
    b, tb = generate(7, um_per_px=6.0, width=160, height=120)
    assert a.shape == (120, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert json.dumps(ta, sort_keys=True) == json.dumps(tb, sort_keys=True)


def test_different_seeds_are_different_sites() -> None:
    a, ta = generate(1, um_per_px=6.0, width=128, height=96)
    b, tb = generate(2, um_per_px=6.0, width=128, height=96)
    assert not np.array_equal(a, b)
    assert ta["hairs"] != tb["hairs"] or ta["params"] != tb["params"]


def test_truth_is_plain_json() -> None:
    _, t = generate(3, um_per_px=4.0, width=96, height=64, regrown=(1.5, 9))
    again = json.loads(json.dumps(t))
    assert again == t


# ---------------------------------------------------------------- truth consistency


@pytest.mark.parametrize(
    ("seed", "s", "w", "h"),
    [
        (11, 3.0, 200, 150),
        (12, 4.9, 180, 140),
        (13, 5.0, 200, 150),
        (14, 7.5, 240, 180),
        (15, 8.0, 256, 192),
        (16, 12.0, 320, 240),
        (17, 12.0, 33, 47),
        (18, 2.0, 64, 64),
    ],
)
def test_truth_consistent(seed: int, s: float, w: int, h: int) -> None:
    img, t = generate(seed, um_per_px=s, width=w, height=h)
    assert img.shape == (h, w, 3)
    assert t["generator"] == "blind-4"
    assert (t["width"], t["height"], t["um_per_px"]) == (w, h, s)
    hairs = t["hairs"]
    area = w * h * (s * 1e-4) ** 2
    assert t["density_per_cm2"] == pytest.approx(len(hairs) / area)
    d = [hh["diameter_um"] for hh in hairs]
    assert t["mean_diameter_um"] == pytest.approx(float(np.mean(d)) if d else 0.0)
    vf = float(np.mean([x < 30 for x in d])) if d else 0.0
    assert t["vellus_fraction"] == pytest.approx(vf)
    for hh in hairs:
        assert inside(hh["x_px"], hh["y_px"], w, h)
        assert 10.0 <= hh["diameter_um"] <= 125.0
    for tip in t["tips"]:
        assert inside(tip["x_px"], tip["y_px"], w, h)
        assert isinstance(tip["cut"], bool)
    for p in t["emergence_outside"]:
        assert not inside(p["x_px"], p["y_px"], w, h)
        gx = max(0.0, -0.5 - p["x_px"], p["x_px"] - (w - 0.5))
        gy = max(0.0, -0.5 - p["y_px"], p["y_px"] - (h - 0.5))
        assert math.hypot(gx, gy) * s <= 200.0 + 1e-6
    assert len(t["shafts"]) == len(hairs)
    for sh in t["shafts"]:
        assert -math.pi - 1e-9 <= sh["angle_rad"] <= math.pi + 1e-9
        assert sh["length_px"] >= 0.0
        assert sh["kind"] in KINDS and sh["end"] in ENDS
    f = t["factors"]
    assert f["scale"] == ("3-5" if s < 5 else "5-8" if s < 8 else "8-12")
    assert f["hair_length"] in ("trimmed", "long", "mixed")
    assert f["skin_tone"] in SKIN_TONES and f["hair_colour"] in HAIR_COLOURS
    assert f["light"] in ("polarised", "non-polarised")
    assert f["visit"] == "baseline" and f["fibres"] in ("yes", "no")
    assert all(isinstance(v, str) for v in f.values())
    for key in ("technique", "compression", "flakes"):
        assert isinstance(f[key], str) and f[key]
    assert t["params"]["generator"] == "blind-4" and t["params"]["hairless"] is False


def test_black_dots_are_counted_hairs_without_tips() -> None:
    found = 0
    for seed in range(6):
        _, t = generate(
            seed, um_per_px=10.0, width=200, height=160, condition="areata", density_per_cm2=80.0
        )
        for hh, sh in zip(t["hairs"], t["shafts"], strict=True):
            if sh["kind"] == "black_dot":
                found += 1
                assert sh["end"] == "none" and sh["length_px"] == 0.0
                assert hh["diameter_um"] > 30
    assert found > 0


def test_dense_override_gives_dense_site() -> None:
    _, t = generate(5, um_per_px=10.0, width=400, height=300, density_per_cm2=300.0)
    assert t["params"]["density_per_cm2"] == 300.0
    assert 200.0 < t["density_per_cm2"] < 420.0
    _, t0 = generate(5, um_per_px=10.0, width=200, height=150, density_per_cm2=0.0)
    assert t0["hairs"] == [] and t0["factors"]["hair_length"] != "hairless"


def test_covered_emergences_and_tips_are_flagged() -> None:
    _, t = generate(
        5, um_per_px=12.0, width=320, height=240, hair_length="long", density_per_cm2=300.0
    )
    flags = [sh["emergence_covered"] for sh in t["shafts"]]
    assert all(isinstance(f, bool) for f in flags)
    assert 0 < sum(flags) < len(flags)  # long hair lies over some emergences, not all
    for tp in t["tips_covered"]:
        assert inside(tp["x_px"], tp["y_px"], 320, 240)
    _, sparse = generate(
        6, um_per_px=6.0, width=320, height=240, hair_length="trimmed", density_per_cm2=60.0
    )
    assert sum(sh["emergence_covered"] for sh in sparse["shafts"]) <= 0.2 * len(sparse["shafts"])


# ---------------------------------------------------------------- hairless


@pytest.mark.parametrize("tone", SKIN_TONES)
def test_hairless_frames(tone: str) -> None:
    _img, t = generate(21, um_per_px=6.0, width=160, height=120, hairless=True, skin_tone=tone)
    assert t["hairs"] == [] and t["tips"] == [] and t["shafts"] == []
    assert t["emergence_outside"] == []
    assert t["density_per_cm2"] == 0.0 and t["mean_diameter_um"] == 0.0
    assert t["vellus_fraction"] == 0.0
    assert t["factors"]["hair_length"] == "hairless" and t["factors"]["skin_tone"] == tone
    assert t["params"]["hairless"] is True


def test_hairless_skin_tones_order_by_brightness() -> None:
    means = []
    for tone in SKIN_TONES:
        img, _ = generate(
            4, um_per_px=8.0, width=128, height=96, hairless=True, **{**CLEAN, "skin_tone": tone}
        )
        means.append(float(np.median(lum(img))))
    assert means[0] > means[1] > means[2]


def test_hairless_regrown_stays_hairless() -> None:
    _, t = generate(22, um_per_px=6.0, width=128, height=96, hairless=True, regrown=(3.0, 1))
    assert t["hairs"] == [] and t["factors"]["hair_length"] == "hairless"
    assert t["factors"]["visit"] == "regrown"


# ---------------------------------------------------------------- regrown visits


def test_regrown_keeps_the_site_look() -> None:
    _, a = generate(31, um_per_px=8.0, width=160, height=120)
    _, b = generate(31, um_per_px=8.0, width=160, height=120, regrown=(1.8, 4))
    assert a["params"] == b["params"]
    assert b["factors"]["visit"] == "regrown" and a["factors"]["visit"] == "baseline"
    assert b["visit"]["factor"] == 1.8 and b["visit"]["seed"] == 4
    assert abs(b["visit"]["rotation_deg"]) <= 4.0
    assert abs(b["visit"]["shift_um"][0]) <= 0.04 * 160 * 8.0 + 1e-6
    assert {k: v for k, v in a["factors"].items() if k not in ("visit", "black_dots")} == {
        k: v for k, v in b["factors"].items() if k not in ("visit", "black_dots")
    }


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_regrown_changes_count_as_asked(factor: float) -> None:
    base = new = 0
    for seed in range(6):
        kw = {"um_per_px": 12.0, "width": 320, "height": 240, "hair_length": "trimmed"}
        _, a = generate(100 + seed, **kw)
        _, b = generate(100 + seed, regrown=(factor, seed), **kw)
        base += len(a["hairs"])
        new += len(b["hairs"])
    assert base > 60
    assert 0.75 * factor < new / base < 1.3 * factor


def test_regrown_same_hairs_follow_the_frame() -> None:
    kw: dict[str, Any] = {
        "um_per_px": 10.0,
        "width": 320,
        "height": 240,
        "distortion": False,
        "density_per_cm2": 250.0,
    }
    _, a = generate(41, **kw)
    _, b = generate(41, regrown=(1.0, 3), **kw)
    rot = math.radians(b["visit"]["rotation_deg"])
    tx, ty = b["visit"]["shift_um"]
    s = kw["um_per_px"]
    cu, cv = (320 - 1) / 2, (240 - 1) / 2
    pts_b = np.array([[hh["x_px"], hh["y_px"]] for hh in b["hairs"]])
    matched = total = 0
    for hh in a["hairs"]:
        x = (hh["x_px"] - cu) * s - tx
        y = (hh["y_px"] - cv) * s - ty
        u = (math.cos(rot) * x + math.sin(rot) * y) / s + cu
        v = (-math.sin(rot) * x + math.cos(rot) * y) / s + cv
        if not (2 <= u < 317 and 2 <= v < 237):
            continue
        total += 1
        if len(pts_b) and np.min(np.hypot(pts_b[:, 0] - u, pts_b[:, 1] - v)) < 0.05:
            matched += 1
    assert total > 10
    assert matched >= 0.9 * total


def test_regrown_fresh_noise_and_deterministic() -> None:
    kw: dict[str, Any] = {"um_per_px": 6.0, "width": 128, "height": 96}
    a, _ = generate(51, regrown=(1.0, 1), **kw)
    b, _ = generate(51, regrown=(1.0, 1), **kw)
    c, _ = generate(51, regrown=(1.0, 2), **kw)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"seed": True}, "seed"),
        ({"seed": 1.0}, "seed"),
        ({"um_per_px": 1.9}, "um_per_px"),
        ({"um_per_px": 15.5}, "um_per_px"),
        ({"um_per_px": "5"}, "um_per_px"),
        ({"width": 31}, "width"),
        ({"width": 4097}, "width"),
        ({"width": 64.0}, "width"),
        ({"height": 20}, "height"),
        ({"hairless": 1}, "hairless"),
        ({"regrown": (0.1, 1)}, "regrown"),
        ({"regrown": (3.5, 1)}, "regrown"),
        ({"regrown": (1.0, 1.5)}, "regrown"),
        ({"regrown": (1.0, True)}, "regrown"),
        ({"regrown": 2.0}, "regrown"),
        ({"regrown": (1.0,)}, "regrown"),
        ({"sparkle": 1}, "sparkle"),
        ({"skin_tone": "green"}, "skin_tone"),
        ({"hair_colour": "blue"}, "hair_colour"),
        ({"density_per_cm2": -1.0}, "density_per_cm2"),
        ({"density_per_cm2": "300"}, "density_per_cm2"),
        ({"density_per_cm2": float("nan")}, "density_per_cm2"),
        ({"jpeg_quality": 75.5}, "jpeg_quality"),
        ({"flakes": True}, "flakes"),
        ({"bubbles": 1}, "bubbles"),
        ({"fitzpatrick": 6, "skin_tone": "light"}, "fitzpatrick"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], word: str) -> None:
    args: dict[str, Any] = {"seed": 1, "um_per_px": 5.0, "width": 64, "height": 64}
    args.update(kwargs)
    seed = args.pop("seed")
    with pytest.raises(ValueError, match=word):
        generate(seed, **args)


def test_shared_invalid_arguments_raise() -> None:
    check_refuses_bad_arguments(generate, {"um_per_px": 5.0, "width": 64, "height": 64})


def test_every_listed_override_value_is_accepted() -> None:
    for name, allowed in OVERRIDES.items():
        values = [allowed[1], allowed[2]] if allowed[0] == "range" else list(allowed)
        for value in values:
            if name == "fitzpatrick":
                _, t = generate(2, um_per_px=12.0, width=32, height=32, **{name: value})
                assert t["params"]["fitzpatrick"] == value
                continue
            _, t = generate(2, um_per_px=12.0, width=32, height=32, **{name: value})
            assert t["params"][name] == value


# ---------------------------------------------------------------- variety


def test_tones_colours_conditions_reachable() -> None:
    tones, colours, lengths, conds = set(), set(), set(), set()
    for seed in range(400):
        look = sample_look(seed, {})
        tones.add(look.skin_tone)
        colours.add(look.hair_colour)
        lengths.add(look.hair_length)
        conds.add(look.condition)
    assert tones == set(SKIN_TONES)
    assert colours == set(HAIR_COLOURS)
    assert lengths == {"trimmed", "long", "mixed"}
    assert conds == set(CONDITIONS)
    for seed in range(3):
        _, t = generate(seed, um_per_px=12.0, width=32, height=32)
        look = sample_look(seed, {})
        assert t["factors"]["skin_tone"] == look.skin_tone
        assert t["factors"]["hair_colour"] == look.hair_colour


def test_rare_looks_stay_rare() -> None:
    looks = [sample_look(seed, {}) for seed in range(400)]
    assert 0 < sum(lk.fibres for lk in looks) < 0.1 * len(looks)
    assert 0 < sum(lk.ruler for lk in looks) < 0.1 * len(looks)
    assert 0.05 * len(looks) < sum(lk.field_stop for lk in looks) < 0.3 * len(looks)
    assert all(not lk.bubbles for lk in looks if lk.light == "polarised")
    assert {lk.fitzpatrick for lk in looks} == {1, 2, 3, 4, 5, 6}


def test_overrides_reach_the_factors() -> None:
    _, t = generate(
        8,
        um_per_px=6.0,
        width=96,
        height=64,
        skin_tone="dark",
        hair_colour="red",
        hair_length="long",
        light="non-polarised",
        flakes="many",
        compression="jpeg444",
    )
    f = t["factors"]
    assert (f["skin_tone"], f["hair_colour"], f["hair_length"]) == ("dark", "red", "long")
    assert (f["light"], f["flakes"], f["compression"]) == ("non-polarised", "many", "jpeg444")


# ---------------------------------------------------------------- truth against pixels


def _segments(t: dict[str, Any]) -> np.ndarray:
    """Each counted hair as a straight segment emergence -> emergence + length (stubs are
    nearly straight)."""
    out = []
    for hh, sh in zip(t["hairs"], t["shafts"], strict=True):
        a, n = sh["angle_rad"], sh["length_px"]
        out.append(
            [hh["x_px"], hh["y_px"], hh["x_px"] + n * math.cos(a), hh["y_px"] + n * math.sin(a)]
        )
    return np.array(out).reshape(-1, 4)


def _seg_dist(p: np.ndarray, segs: np.ndarray) -> np.ndarray:
    a = segs[:, :2]
    d = segs[:, 2:] - a
    ll = np.maximum((d * d).sum(1), 1e-9)
    f = np.clip(((p - a) * d).sum(1) / ll, 0, 1)
    return np.asarray(np.hypot(*(a + f[:, None] * d - p).T))


def _profile(y: np.ndarray, x0: float, y0: float, ang: float, ts: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    xs = x0 + ts * math.cos(ang)
    ys = y0 + ts * math.sin(ang)
    return np.asarray(ndimage.map_coordinates(y, [ys, xs], order=1, mode="nearest"))


@pytest.mark.parametrize(("s", "w", "h"), [(3.0, 480, 360), (12.0, 320, 240)])
def test_emergence_points_are_dark_hair_on_light_skin(s: float, w: int, h: int) -> None:
    dark = total = 0
    for seed in (61, 62, 63, 64):
        img, t = generate(
            seed,
            um_per_px=s,
            width=w,
            height=h,
            hair_length="trimmed",
            density_per_cm2=300.0,
            **CLEAN,
        )
        for hh in t["hairs"]:
            total += 1
            dark += stands_out(img, round(hh["x_px"]), round(hh["y_px"]))
    assert total >= 12
    assert dark >= 0.9 * total


def test_emergences_follow_a_distorted_repositioned_visit() -> None:
    dark = total = 0
    for seed in (65, 66):
        img, t = generate(
            seed,
            um_per_px=8.0,
            width=320,
            height=240,
            hair_length="trimmed",
            density_per_cm2=250.0,
            regrown=(1.5, seed),
            distortion=True,
            **CLEAN,
        )
        assert t["params"]["distortion_k"] > 0 and t["visit"]["rotation_deg"] != 0
        for hh in t["hairs"]:
            u, v = round(hh["x_px"]), round(hh["y_px"])
            if not (3 <= u < 317 and 3 <= v < 237):
                continue
            total += 1
            dark += stands_out(img, u, v)
    assert total >= 15
    assert dark >= 0.9 * total


def test_trimmed_cut_tips_are_where_the_shafts_end() -> None:
    s = 4.0
    w, h = 640, 480
    ok = total = 0
    for seed in (71, 72, 73, 74, 75):
        img, t = generate(
            seed,
            um_per_px=s,
            width=w,
            height=h,
            hair_length="trimmed",
            density_per_cm2=150.0,
            distortion=False,
            **{**CLEAN, "condition": "aga"},
        )
        y = lum(img)
        skin = float(np.median(y))
        segs = _segments(t)
        tips = np.array([[tp["x_px"], tp["y_px"]] for tp in t["tips"] if tp["cut"]]).reshape(-1, 2)
        for i, (hh, sh) in enumerate(zip(t["hairs"], t["shafts"], strict=True)):
            if sh["end"] != "cut" or sh["kind"] != "terminal" or sh["length_px"] < 25:
                continue
            guess = segs[i, 2:]
            if len(tips) == 0:
                continue
            dist = np.hypot(*(tips - guess).T)
            k = int(np.argmin(dist))
            if dist[k] > 0.1 * sh["length_px"] + 3:
                continue
            tx, ty = tips[k]
            if not (25 < tx < w - 25 and 25 < ty < h - 25):
                continue
            if len(segs) > 1 and np.delete(_seg_dist(tips[k], segs), i).min() < 25:
                continue
            ang = math.atan2(ty - hh["y_px"], tx - hh["x_px"])
            reach = 1.5 + 10.0 / s
            inner = _profile(y, tx, ty, ang, np.array([-4.0, -3.0, -2.5]))
            outer = _profile(y, tx, ty, ang, np.array([reach + 0.5, reach + 1.5]))
            total += 1
            ok += bool(inner.mean() < 0.55 * skin and outer.min() > 0.8 * skin)
    assert total >= 5
    assert ok >= 0.85 * total


def _width_px(y: np.ndarray, x0: float, y0: float, ang: float, skin: float) -> float:
    ts = np.arange(-30.0, 30.0, 0.1)
    prof = _profile(y, x0, y0, ang + math.pi / 2, ts)
    centre = int(np.argmin(np.abs(ts)))
    core = float(prof[centre - 5 : centre + 6].min())
    below = prof < 0.5 * (core + skin)
    if not below[centre]:
        return float("nan")
    lo = hi = centre
    while lo > 0 and below[lo - 1]:
        lo -= 1
    while hi < ts.size - 1 and below[hi + 1]:
        hi += 1
    return float((hi - lo + 1) * 0.1)


@pytest.mark.parametrize(
    ("s", "w", "h", "dens"),
    [(3.0, 600, 450, 200.0), (6.0, 400, 300, 120.0), (12.0, 360, 270, 60.0)],
)
def test_shaft_width_scales_with_um_per_px(s: float, w: int, h: int, dens: float) -> None:
    ratios = []
    for seed in range(81, 89):
        img, t = generate(
            seed,
            um_per_px=s,
            width=w,
            height=h,
            hair_length="trimmed",
            density_per_cm2=dens,
            distortion=False,
            **{**CLEAN, "condition": "aga"},
        )
        y = lum(img)
        skin = float(np.median(y))
        segs = _segments(t)
        for i, (hh, sh) in enumerate(zip(t["hairs"], t["shafts"], strict=True)):
            if sh["kind"] != "terminal" or sh["length_px"] < 12:
                continue
            mid = segs[i, :2] + 0.5 * (segs[i, 2:] - segs[i, :2])
            if not (30 < mid[0] < w - 30 and 30 < mid[1] < h - 30):
                continue
            gap = np.delete(_seg_dist(mid, segs), i).min() if len(segs) > 1 else 99.0
            if gap < 2.0 * hh["diameter_um"] / s + 5:
                continue
            wpx = _width_px(y, float(mid[0]), float(mid[1]), sh["angle_rad"], skin)
            if math.isfinite(wpx):
                ratios.append(wpx * s / hh["diameter_um"])
    assert len(ratios) >= 3
    assert 0.75 < float(np.median(ratios)) < 1.3


def test_field_stop_hides_corner_hairs_from_the_count() -> None:
    img, t = generate(
        91, um_per_px=10.0, width=320, height=240, field_stop=True, density_per_cm2=250.0
    )
    y = lum(img)
    for p in t["emergence_masked"]:
        u = min(max(round(p["x_px"]), 0), 319)
        v = min(max(round(p["y_px"]), 0), 239)
        assert y[v, u] < 40
    assert t["factors"]["field_stop"] == "round"
    assert t["visit"]["hidden_by_field_stop"] == len(t["emergence_masked"])
