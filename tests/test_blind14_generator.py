"""blind-14, the fourteenth independent test generator: contract, sites, visits, and truth
that matches its pixels (measured on the visibility buffer and on the image)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from sim.blind14 import GENERATOR, generate
from sim.blind14.frame import draw
from sim.blind14.ribbons import IDBITS
from sim.blind14.site import draw_site
from sim.blind14.view import View
from tests.generator_checks import (
    check_refuses,
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

ROOT = Path(__file__).resolve().parents[1]
OK = {"um_per_px": 8.0, "width": 64, "height": 48}


def _debug(seed: int, um: float, w: int, h: int, **kw: Any) -> tuple[Any, dict[str, Any], Any]:
    dbg: dict[str, Any] = {}
    img, truth = draw(seed, um, w, h, kw.get("hairless", False), kw.get("regrown"), dbg)
    return img, truth, dbg


def _share(dbg: dict[str, Any], hair_index: int) -> NDArray[np.float64]:
    """Per pixel, the share of its samples that show the hair (index in the frame's list)."""
    buf = dbg["buf"].reshape(-1, dbg["samples"])
    ids = (buf >> 29) & ((1 << IDBITS) - 1)
    h, w = dbg["view"].height, dbg["view"].width
    out: NDArray[np.float64] = ((buf >= 0) & (ids == hair_index)).mean(axis=1).reshape(h, w)
    return out


def _index(dbg: dict[str, Any], uid: int) -> int:
    return int(np.nonzero(dbg["hairs"].uid == uid)[0][0])


def _disc(h: int, w: int, x: float, y: float, r: float) -> NDArray[np.bool_]:
    yy, xx = np.mgrid[0:h, 0:w]
    out: NDArray[np.bool_] = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    return out


def test_imports_nothing_foreign_and_names_itself() -> None:
    assert foreign_imports(ROOT / "sim" / "blind14", "sim.blind14") == []
    assert GENERATOR == "blind-14"


def test_refuses_bad_arguments_naming_them() -> None:
    check_refuses_bad_arguments(generate, OK)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"um_per_px": 1.99}, "um_per_px"),
        ({"um_per_px": 15.01}, "um_per_px"),
        ({"width": 63}, "width"),
        ({"width": 2561}, "width"),
        ({"height": 47}, "height"),
        ({"height": 2049}, "height"),
        ({"regrown": (8.01, 1)}, "regrown"),
        ({"regrown": [1.5]}, "regrown"),
        ({"regrown": (1.5, "2")}, "regrown"),
        ({"regrown": "1.5,2"}, "regrown"),
        ({"seed": 2.5}, "seed"),
    ]
    for change, name in cases:
        check_refuses(generate, OK, change, name)


def test_the_ends_of_the_ranges_draw() -> None:
    ends: list[dict[str, Any]] = [
        {"um_per_px": 2.0, "width": 64, "height": 48},
        {"um_per_px": 15.0, "width": 64, "height": 48},
        {"um_per_px": 15, "width": 2560, "height": 48},
        {"um_per_px": 9.0, "width": 64, "height": 2048},
        {"um_per_px": 6.0, "width": 96, "height": 64, "regrown": (8.0, 3)},
        {"um_per_px": 6.0, "width": 96, "height": 64, "regrown": [1e-6, -3]},
        {"um_per_px": 6.0, "width": 96, "height": 64, "hairless": True},
    ]
    for kw in ends:
        img, truth = generate(-7, **kw)
        assert img.shape == (kw["height"], kw["width"], 3) and img.dtype == np.uint8
        check_truth_contract(truth, kw["width"], kw["height"], float(kw["um_per_px"]))


def test_truth_contract_over_many_sites_scales_and_visits() -> None:
    rng = np.random.default_rng(5)
    for seed in range(36):
        um = float(rng.uniform(2.0, 15.0))
        w, h = int(rng.integers(64, 200)), int(rng.integers(48, 160))
        kw: dict[str, Any] = {}
        if seed % 4 == 1:
            kw["hairless"] = True
        elif seed % 4 == 2:
            kw["regrown"] = (float(rng.uniform(0.2, 3.0)), seed * 7)
        img, truth = generate(seed * 31, um_per_px=um, width=w, height=h, **kw)
        assert img.shape == (h, w, 3)
        check_truth_contract(truth, w, h, um)
        assert truth["generator"] == GENERATOR
        assert truth["factors"]["visit"] == ("follow-up" if "regrown" in kw else "baseline")
        if kw.get("hairless"):
            assert truth["factors"]["hair_length"] == "hairless"


def test_deterministic_and_seeds_change_the_frame() -> None:
    a, ta = generate(11, um_per_px=5.0, width=128, height=96)
    b, tb = generate(11, um_per_px=5.0, width=128, height=96)
    assert np.array_equal(a, b) and ta == tb
    c, _ = generate(12, um_per_px=5.0, width=128, height=96)
    assert not np.array_equal(a, c)
    r1, t1 = generate(11, um_per_px=5.0, width=128, height=96, regrown=(1.0, 1))
    r2, t2 = generate(11, um_per_px=5.0, width=128, height=96, regrown=(1.0, 2))
    r1b, _ = generate(11, um_per_px=5.0, width=128, height=96, regrown=(1.0, 1))
    assert np.array_equal(r1, r1b)
    assert not np.array_equal(r1, r2) and not np.array_equal(r1, a)
    assert t1["params"]["view"] != t2["params"]["view"]


def test_hairless_is_the_same_skin_without_hairs() -> None:
    for seed in (3, 16, 77):
        img, truth, dbg = _debug(seed, 6.0, 160, 120)
        bald, tb = generate(seed, um_per_px=6.0, width=160, height=120, hairless=True)
        assert tb["hairs"] == [] and tb["tips"] == [] and tb["emergence_outside"] == []
        assert tb["density_per_cm2"] == 0.0
        assert tb["params"] == truth["params"]
        # away from every shaft and black dot (and their shadows, blur and JPEG blocks)
        from scipy.ndimage import binary_dilation

        near = dbg["cover"] > 0
        for hair in truth["hairs"]:
            near |= _disc(120, 160, hair["x_px"], hair["y_px"], hair["diameter_um"] / 6.0)
        far = ~binary_dilation(near, iterations=12)
        if far.sum() < 500:
            continue
        diff = np.abs(img.astype(int) - bald.astype(int)).max(axis=2)[far]
        assert np.mean(diff <= 2) > 0.97, seed


def _view(truth: dict[str, Any]) -> View:
    v = truth["params"]["view"]
    return View(
        truth["width"],
        truth["height"],
        truth["um_per_px"],
        v["cx_um"],
        v["cy_um"],
        math.radians(v["theta_deg"]),
        v["shear"],
        v["k1"],
    )


def test_follow_up_visits_keep_and_add_hairs_where_they_were() -> None:
    kept_share = []
    grown = []
    for seed in (20, 21, 23, 66):
        _, base = generate(seed, um_per_px=10.0, width=320, height=240)
        view0 = _view(base)
        for factor, seed2 in ((0.5, 1), (0.8, 2), (2.0, 3), (1.5, 4)):
            _, after = generate(
                seed, um_per_px=10.0, width=320, height=240, regrown=(factor, seed2)
            )
            view1 = _view(after)
            turn = abs(math.degrees(view1.theta))
            assert 1.0 <= turn <= 5.0
            shift = math.hypot(view1.cx / (320 * 10.0), view1.cy / (240 * 10.0))
            assert 0.015 * 0.99 <= shift <= 0.05 * 1.01
            # each listed point sits where its world point falls in that frame
            for truth, view in ((base, view0), (after, view1)):
                for hh in truth["hairs"]:
                    x, y = view.to_px(np.array(hh["x_um"]), np.array(hh["y_um"]))
                    assert abs(float(x) - hh["x_px"]) < 1e-6
                    assert abs(float(y) - hh["y_px"]) < 1e-6
            before = {hh["id"]: hh for hh in base["hairs"]}
            now = {hh["id"]: hh for hh in after["hairs"]}
            # hairs of the baseline that the new frame still covers
            inside = set()
            for uid, hh in before.items():
                x, y = view1.to_px(np.array(hh["x_um"]), np.array(hh["y_um"]))
                if -0.5 <= float(x) < 319.5 and -0.5 <= float(y) < 239.5:
                    inside.add(uid)
            if factor < 1:
                # of the hairs in both frames, the follow-up's are some of the baseline's
                both = set()
                for uid, hh in now.items():
                    x, y = view0.to_px(np.array(hh["x_um"]), np.array(hh["y_um"]))
                    if -0.5 <= float(x) < 319.5 and -0.5 <= float(y) < 239.5:
                        both.add(uid)
                assert both <= inside <= set(before)
                for uid in both:
                    assert now[uid]["x_um"] == before[uid]["x_um"]
                    assert now[uid]["diameter_um"] == before[uid]["diameter_um"]
                kept_share.append((len(both), len(inside), factor))
            else:
                assert inside <= set(now)
                grown.append((len(now), len(inside), factor))
    kept = sum(n for n, _, _ in kept_share) / sum(f * m for _, m, f in kept_share)
    assert 0.8 < kept < 1.2
    gained = sum(n for n, _, _ in grown) / sum(f * m for _, m, f in grown)
    assert 0.8 < gained < 1.2


def test_a_quarter_of_sites_are_nearly_bald() -> None:
    low = 0
    n = 80
    for seed in range(n):
        _, truth = generate(seed + 1000, um_per_px=15.0, width=160, height=120)
        low += truth["density_per_cm2"] < 30
    assert 0.15 <= low / n <= 0.45
    dens = [draw_site(s).density for s in range(400)]
    assert max(dens) > 270 and np.mean(np.array(dens) < 30) == pytest.approx(0.25, abs=0.07)


def test_roots_sit_on_drawn_shafts_and_units_side_by_side() -> None:
    found = total = hidden = 0
    for seed in (3, 16, 20, 21, 23, 66, 77, 140):
        _, truth, dbg = _debug(seed, 12.0, 320, 240)
        um = truth["um_per_px"]
        hs = truth["hairs"]
        for a in range(len(hs)):
            for b in range(a + 1, len(hs)):
                dist = math.hypot(hs[a]["x_px"] - hs[b]["x_px"], hs[a]["y_px"] - hs[b]["y_px"])
                assert dist * um >= 0.5 * (hs[a]["diameter_um"] + hs[b]["diameter_um"])
        for hh in hs:
            if hh["kind"] == "black dot":
                continue
            i = _index(dbg, hh["id"])
            share = _share(dbg, i)
            r = max(1.5, 0.6 * hh["diameter_um"] / um)
            disc = _disc(240, 320, hh["x_px"], hh["y_px"], r)
            total += 1
            if share[disc].sum() > 0:
                found += 1
            else:
                # not seen only where other shafts lie over the root
                assert not hh["root_seen"]
                buf = dbg["buf"].reshape(240, 320, -1)
                assert np.mean(buf[disc] >= 0) > 0.8
                hidden += 1
    assert total > 100
    assert found / total > 0.75 and (found + hidden) == total


def test_roots_and_black_dots_darken_the_image_of_dark_hair_on_light_skin() -> None:
    seeds = [
        s
        for s in range(300)
        if (site := draw_site(s)).fitzpatrick <= 2
        and site.hair_colour in ("black", "dark brown")
        and site.density > 60
        and site.grey_share == 0
    ][:6]
    darker = total = 0
    for seed in seeds:
        img, truth = generate(seed, um_per_px=8.0, width=320, height=240)
        bald, _ = generate(seed, um_per_px=8.0, width=320, height=240, hairless=True)
        lum = img.astype(float).mean(axis=2)
        lum0 = bald.astype(float).mean(axis=2)
        for hh in truth["hairs"]:
            if hh["kind"] not in ("terminal", "black dot", "broken", "exclamation"):
                continue
            disc = _disc(240, 320, hh["x_px"], hh["y_px"], max(2.0, hh["diameter_um"] / 8.0))
            total += 1
            darker += bool(lum[disc].mean() < lum0[disc].mean() - 12)
    assert total >= 15
    assert darker / total > 0.9


def test_tips_sit_at_shaft_ends_and_cut_flags_match_the_width() -> None:
    at_end = tested = 0
    right = judged = 0
    cut_cover: list[float] = []
    natural_cover: list[float] = []
    seeds = [s for s in range(200) if draw_site(s).density > 120][:16]
    for seed in seeds:
        _, truth, dbg = _debug(seed, 5.0, 384, 288)
        um = truth["um_per_px"]
        for tip in truth["tips"]:
            if tip["occluded"]:
                continue
            i = _index(dbg, tip["id"])
            share = _share(dbg, i)
            d0 = float(dbg["hairs"].d0[i]) / um
            x, y, dx, dy = tip["x_px"], tip["y_px"], tip["dx"], tip["dy"]
            tested += 1
            back = _disc(288, 384, x - dx * 1.0, y - dy * 1.0, 1.5)
            reach = 2.0 + (1.4 * d0 if tip["style"] == "frayed" else 0.3 * d0)
            bx, by = round(x + dx * (reach + 2.0)), round(y + dy * (reach + 2.0))
            beyond = 0.0
            if 0 <= bx < 384 and 0 <= by < 288:
                beyond = float(share[by, bx])
            at_end += bool(share[back].sum() > 0 and beyond == 0.0)
            # the shaft's width just behind its end, against its root's width
            if d0 >= 6 and tip["style"] != "frayed":
                r = 0.5 * d0
                disc = _disc(288, 384, x - dx * (r + 1), y - dy * (r + 1), r)
                cov = float(share[disc].mean())
                (cut_cover if tip["cut"] else natural_cover).append(cov)
                judged += 1
                right += (cov > 0.45) == tip["cut"]
    assert tested > 40 and at_end / tested > 0.95
    assert len(cut_cover) > 10 and len(natural_cover) > 5
    assert np.mean(cut_cover) > np.mean(natural_cover) + 0.25
    assert right / judged > 0.9


def test_variety_over_sites() -> None:
    tones: set[str] = set()
    colours: set[str] = set()
    lengths: set[str] = set()
    lights: set[str] = set()
    kinds: set[str] = set()
    conditions: set[str] = set()
    ends: set[str] = set()
    unit_sizes: set[int] = set()
    for seed in range(60):
        _, truth = generate(seed, um_per_px=12.0, width=200, height=150)
        f = truth["factors"]
        tones.add(f["skin_tone"])
        colours.add(f["hair_colour"])
        lengths.add(f["hair_length"])
        lights.add(f["light"])
        conditions.add(f["condition"])
        kinds.update(hh["kind"] for hh in truth["hairs"])
        ends.update(hh["end"] for hh in truth["hairs"])
        per_unit: dict[int, int] = {}
        for hh in truth["hairs"]:
            per_unit[hh["unit"]] = per_unit.get(hh["unit"], 0) + 1
        unit_sizes.update(per_unit.values())
    assert tones == {"light", "medium", "dark"}
    assert colours >= {"black", "dark brown", "brown", "blond", "red", "grey", "dyed"}
    assert lengths == {"trimmed", "long", "mixed"}
    assert lights == {"polarised", "non-polarised"}
    assert {1, 2, 3, 4} <= unit_sizes
    assert kinds >= {"terminal", "intermediate", "vellus", "black dot", "regrowing", "broken"}
    assert ends == {"square", "oblique", "frayed", "natural", "none"}
    assert len(conditions) >= 4


def test_a_round_field_stop_masks_hairs_in_its_black_ring() -> None:
    stopped = [s for s in range(120) if draw_site(s).field_stop][:5]
    assert (
        len(stopped) == 5
        and 0.05 < len([s for s in range(400) if draw_site(s).field_stop]) / 400 < 0.3
    )
    masked = 0
    for seed in stopped:
        img, truth = generate(seed, um_per_px=12.0, width=240, height=180)
        check_truth_contract(truth, 240, 180, 12.0)
        r = truth["params"]["field_stop"] * 0.5 * math.hypot(240, 180)
        for hh in truth["hairs"]:
            assert math.hypot(hh["x_px"] - 119.5, hh["y_px"] - 89.5) <= r
        for tip in truth["tips"]:
            assert math.hypot(tip["x_px"] - 119.5, tip["y_px"] - 89.5) <= r
        for pt in truth["emergence_masked"]:
            assert math.hypot(pt["x_px"] - 119.5, pt["y_px"] - 89.5) > r
        masked += len(truth["emergence_masked"])
        assert img[:3, :3].mean() < 25 and img[-3:, -3:].mean() < 25
        assert truth["factors"]["field_stop"] == "yes"
    assert masked > 0
