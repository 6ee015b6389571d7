"""Checks shared by the tests of the independent test generators."""

from __future__ import annotations

import ast
import importlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage

TRUTH_KEYS = (
    "generator",
    "width",
    "height",
    "um_per_px",
    "hairs",
    "density_per_cm2",
    "mean_diameter_um",
    "vellus_fraction",
    "tips",
    "emergence_outside",
    "factors",
    "params",
)
FACTOR_KEYS = {"hair_length", "hair_colour", "skin_tone", "scale", "light", "visit"}

# Bad arguments that every generator (sim.heldout and sim.blind ... sim.blind22) refuses with
# ValueError, whatever its own ranges: each entry is ``(seed, overrides)``, the overrides
# replacing keyword arguments of a call that would otherwise succeed. Only values outside any
# generator's range are here; each test file keeps its generator's own limits (the ends of
# its scale, size and regrowth ranges) and the refusals that not all twenty-three make (a negative
# seed is a seed like any other to most; a list for ``regrown`` passes where a tuple does).
BAD_ARGUMENTS: tuple[tuple[Any, dict[str, Any]], ...] = (
    (True, {}),
    (False, {}),
    (1.0, {}),
    ("1", {}),
    (None, {}),
    (1, {"um_per_px": "8"}),
    (1, {"width": 64.0}),
    (1, {"width": "64"}),
    (1, {"height": None}),
    (1, {"hairless": 1}),
    (1, {"hairless": None}),
    (1, {"hairless": "yes"}),
    (1, {"regrown": 1.5}),
    (1, {"regrown": (1.5,)}),
    (1, {"regrown": (1.5, 2, 3)}),
    (1, {"regrown": (1.5, 2.0)}),
    (1, {"regrown": (1.5, True)}),
    (1, {"regrown": (True, 1)}),
    (1, {"regrown": ("1.5", 1)}),
    (1, {"um_per_px": float("nan")}),
    (1, {"um_per_px": float("inf")}),
    (1, {"um_per_px": float("-inf")}),
    (1, {"um_per_px": True}),
    (1, {"um_per_px": False}),
    (1, {"um_per_px": 0.0}),
    (1, {"um_per_px": -5.0}),
    (1, {"width": True}),
    (1, {"width": False}),
    (1, {"width": 0}),
    (1, {"width": -64}),
    (1, {"height": True}),
    (1, {"height": False}),
    (1, {"height": 0}),
    (1, {"height": -48}),
    (1, {"regrown": (float("nan"), 1)}),
    (1, {"regrown": (float("inf"), 1)}),
    (1, {"regrown": (0.0, 1)}),
    (1, {"regrown": (-1.0, 1)}),
)


def luma(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Rec. 601 luma of an RGB frame, for the truth-against-pixels tests."""
    out: NDArray[np.float64] = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return out


def mean_around(lum: NDArray[np.float64], x: float, y: float) -> float:
    """Mean of the 3x3 pixels round (x, y), clipped to the frame."""
    h, w = lum.shape
    i = min(max(round(y), 1), h - 2)
    j = min(max(round(x), 1), w - 2)
    return float(lum[i - 1 : i + 2, j - 1 : j + 2].mean())


def foreign_imports(package_dir: Path, own: str) -> list[str]:
    """Imports in ``package_dir``'s modules of any ``sim`` module but ``own`` (and its
    submodules), of ``dermocap`` or ``inference``, and relative imports: what would let a
    generator share drawing code with the twin or another generator."""
    files = sorted(package_dir.glob("*.py"))
    if not files:
        return [f"no modules in {package_dir}"]
    out = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    out.append(f"{path.name}: relative import")
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                mine = name == own or name.startswith(own + ".")
                if top in ("dermocap", "inference") or (top == "sim" and not mine):
                    out.append(f"{path.name} imports {name}")
    return out


def tip_probes(
    tip: dict[str, Any], um: float, past: float = 4.0
) -> tuple[float, float, float, float]:
    """Where to look round a listed tip (at ``um`` um/px): 3 px back along its shaft, and
    half its diameter and ``past`` px beyond its end: ``(ix, iy, ox, oy)``."""
    a = math.radians(tip["direction_deg"])
    x, y = tip["x_px"], tip["y_px"]
    reach = 0.5 * tip["diameter_um"] / um + past
    return (
        x - math.cos(a) * 3,
        y - math.sin(a) * 3,
        x + math.cos(a) * reach,
        y + math.sin(a) * reach,
    )


def check_truth_contract(truth: dict[str, Any], w: int, h: int, um: float) -> None:
    """The truth a generator owes the benches and the training frames: every key, the
    density, mean diameter and vellus fraction from the listed hairs, hairs and tips inside
    the frame, emergence points outside it within 200 um, and the factor labels."""
    assert json.loads(json.dumps(truth)) == truth
    for key in TRUTH_KEYS:
        assert key in truth
    assert isinstance(truth["width"], int) and isinstance(truth["height"], int)
    assert isinstance(truth["um_per_px"], float)
    hairs = truth["hairs"]
    n = len(hairs)
    assert truth["density_per_cm2"] == pytest.approx(n / (w * h * um * um * 1e-8))
    diam = [hair["diameter_um"] for hair in hairs]
    assert truth["mean_diameter_um"] == pytest.approx(float(np.mean(diam)) if n else 0.0)
    assert truth["vellus_fraction"] == pytest.approx(sum(d < 30 for d in diam) / n if n else 0.0)
    for hair in hairs:
        assert -0.5 <= hair["x_px"] < w - 0.5
        assert -0.5 <= hair["y_px"] < h - 0.5
        assert 10.0 <= hair["diameter_um"] <= 120.0
    for tip in truth["tips"]:
        assert set(tip) >= {"x_px", "y_px", "cut", "diameter_um"}
        assert isinstance(tip["cut"], bool)
        assert -0.5 <= tip["x_px"] < w - 0.5
        assert -0.5 <= tip["y_px"] < h - 0.5
        assert tip["diameter_um"] > 0
    for pt in truth["emergence_outside"]:
        x, y = pt["x_px"], pt["y_px"]
        assert not (-0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5)
        dx = max(-0.5 - x, x - (w - 0.5), 0.0)
        dy = max(-0.5 - y, y - (h - 0.5), 0.0)
        assert math.hypot(dx, dy) * um <= 200.0 + 1e-6
    f = truth["factors"]
    assert FACTOR_KEYS <= set(f)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in f.items())
    assert f["hair_length"] in {"trimmed", "long", "mixed", "hairless"}
    assert f["skin_tone"] in {"light", "medium", "dark"}
    assert f["scale"] == ("3-5" if um < 5 else "5-8" if um < 8 else "8-12")
    assert f["visit"] in {"baseline", "follow-up"}
    assert isinstance(truth["params"], dict) and truth["params"]


def check_refuses(
    generate: Callable[..., Any], ok: dict[str, Any], change: dict[str, Any], name: str
) -> None:
    """``change`` (a ``seed`` among its keys or not), put in place of ``generate(1, **ok)``'s
    arguments (with which it draws a frame), raises ValueError whose message names ``name``."""
    kwargs = {"seed": 1, **ok, **change}
    seed = kwargs.pop("seed")
    with pytest.raises(ValueError, match=name):
        generate(seed, **kwargs)


def check_refuses_bad_arguments(generate: Callable[..., Any], ok: dict[str, Any]) -> None:
    """Each of :data:`BAD_ARGUMENTS`, put in place of ``generate(1, **ok)``'s arguments
    (with which it draws a frame), raises ValueError whose message names the bad argument."""
    for seed, overrides in BAD_ARGUMENTS:
        check_refuses(generate, ok, {"seed": seed, **overrides}, next(iter(overrides), "seed"))


def range_refusals(
    um: tuple[float, float], width: tuple[int, int], height: tuple[int, int], regrow_max: float
) -> list[tuple[dict[str, Any], str]]:
    """Arguments just past a generator's own scale, size and regrowth ranges (each given as
    its (lowest, highest) accepted value), and the regrowth and seed shapes it refuses: for
    :func:`check_refuses`, (change, the argument the error must name)."""
    return [
        ({"um_per_px": round(um[0] - 0.01, 2)}, "um_per_px"),
        ({"um_per_px": round(um[1] + 0.01, 2)}, "um_per_px"),
        ({"width": width[0] - 1}, "width"),
        ({"width": width[1] + 1}, "width"),
        ({"height": height[0] - 1}, "height"),
        ({"height": height[1] + 1}, "height"),
        ({"regrown": (round(regrow_max + 0.01, 2), 1)}, "regrown"),
        ({"regrown": "ab"}, "regrown"),
        ({"regrown": (1.5, 1.0)}, "regrown"),
        ({"seed": 2.5}, "seed"),
    ]


def check_refuses_outside_its_ranges(
    generate: Callable[..., Any],
    ok: dict[str, Any],
    ranges: tuple[tuple[float, float], tuple[int, int], tuple[int, int], float],
) -> None:
    """:func:`check_refuses_bad_arguments`, then every one of :func:`range_refusals` of a
    generator's own ``ranges`` (scale, width, height, top regrowth) refused by name."""
    check_refuses_bad_arguments(generate, ok)
    for change, name in range_refusals(*ranges):
        check_refuses(generate, ok, change, name)


_LOOKS: dict[Callable[[int], dict[str, Any]], list[dict[str, Any]]] = {}


def site_looks(site_look: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """``site_look(seed)`` (a generator's own) of seeds 0-399, drawn once per generator."""
    if site_look not in _LOOKS:
        _LOOKS[site_look] = [site_look(s) for s in range(400)]
    return _LOOKS[site_look]


def seeds_where(
    site_look: Callable[[int], dict[str, Any]], n: int, low: float = 120.0, **want: Any
) -> list[int]:
    """The first ``n`` of seeds 0-399 whose site (:func:`site_looks`) targets more than
    ``low`` hairs/cm2 (``density_target``) and has each ``want``ed key among the values
    given."""
    looks = site_looks(site_look)
    out = [
        s
        for s, p in enumerate(looks)
        if p["density_target"] > low and all(p[k] in v for k, v in want.items())
    ]
    return out[:n]


def range_ends(
    um: tuple[float, float],
    width: tuple[int, int],
    height: tuple[int, int],
    regrow_max: float,
    tall_um: float | None = None,
) -> list[dict[str, Any]]:
    """Calls at the ends of a generator's ranges: the finest and coarsest scale on the
    smallest frame, the widest frame at the coarsest scale (an int), the tallest at
    ``tall_um`` (default the finest), the largest and smallest regrowth (a list passes as a
    pair), and a hairless follow-up."""
    tall = um[0] if tall_um is None else tall_um
    return [
        {"um_per_px": um[0], "width": width[0], "height": height[0]},
        {"um_per_px": um[1], "width": width[0], "height": height[0]},
        {"um_per_px": int(um[1]), "width": width[1], "height": height[0]},
        {"um_per_px": tall, "width": width[0], "height": height[1]},
        {"um_per_px": 5.0, "width": 80, "height": 60, "regrown": (regrow_max, 3)},
        {"um_per_px": 5.0, "width": 80, "height": 60, "regrown": [1e-6, -4]},
        {"um_per_px": 5.0, "width": 80, "height": 60, "hairless": True, "regrown": (2, 1)},
    ]


def check_range_end(generate: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """``generate`` draws a frame of the asked size and a truth meeting the contract for
    ``kwargs`` (one of :func:`range_ends`), at a negative, zero and huge seed."""
    for seed in (-3, 0, 2**70):
        img, truth = generate(seed, **kwargs)
        assert img.shape == (kwargs["height"], kwargs["width"], 3) and img.dtype == np.uint8
        check_truth_contract(truth, kwargs["width"], kwargs["height"], float(kwargs["um_per_px"]))


def check_truth_over_frames(
    generate: Callable[..., Any],
    generator: str,
    n_seeds: int,
    ums: tuple[float, ...],
    size: tuple[int, int] = (64, 48),
) -> None:
    """Seeds ``0..n_seeds-1`` over ``ums`` and a few frame sizes from ``size`` up, each as a
    baseline, bare, and two follow-ups: the asked frame, the truth contract, ``generator``'s
    name and the visit its factors give."""
    for seed in range(n_seeds):
        um = ums[seed % len(ums)]
        w, h = size[0] + 16 * (seed % 5), size[1] + 8 * (seed % 4)
        for extra in ({}, {"hairless": True}, {"regrown": (0.5, seed)}, {"regrown": (2.5, 7)}):
            img, truth = generate(seed, um_per_px=um, width=w, height=h, **extra)
            assert img.shape == (h, w, 3)
            check_truth_contract(truth, w, h, um)
            assert truth["generator"] == generator
            visit = "follow-up" if "regrown" in extra else "baseline"
            assert truth["factors"]["visit"] == visit


def check_deterministic_and_seeds_matter(generate: Callable[..., Any]) -> None:
    """The same seed draws the same frame and truth; another seed, or another regrowth seed of
    a follow-up, draws another."""
    a, ta = generate(5, um_per_px=6.0, width=120, height=90)
    b, tb = generate(5, um_per_px=6.0, width=120, height=90)
    assert np.array_equal(a, b) and ta == tb
    c, _ = generate(6, um_per_px=6.0, width=120, height=90)
    assert not np.array_equal(a, c)
    v1, t1 = generate(5, um_per_px=6.0, width=120, height=90, regrown=(1.0, 1))
    v2, t2 = generate(5, um_per_px=6.0, width=120, height=90, regrown=(1.0, 2))
    assert not np.array_equal(v1, v2)
    assert t1["params"]["visit"] != t2["params"]["visit"]


def check_emergence_outside(generate: Callable[..., Any], seeds: list[int]) -> None:
    """A frame's emergence_outside is exactly the roots that a frame 30 px wider on every
    side holds within 200 um outside the first frame (at 10 um/px), at least 5 over ``seeds``."""
    um = 10.0
    n_out = 0
    for seed in seeds:
        _, small = generate(seed, um_per_px=um, width=200, height=150)
        _, big = generate(seed, um_per_px=um, width=260, height=210)
        want = {}
        for h in big["hairs"]:
            x, y = h["x_px"] - 30, h["y_px"] - 30
            dx = max(-0.5 - x, x - 199.5, 0.0)
            dy = max(-0.5 - y, y - 149.5, 0.0)
            if (dx or dy) and math.hypot(dx, dy) * um <= 200.0:
                want[h["id"]] = (x, y)
        got = {p["id"]: (p["x_px"], p["y_px"]) for p in small["emergence_outside"]}
        assert set(got) == set(want)
        for k, (x, y) in got.items():
            assert x == pytest.approx(want[k][0], abs=2e-3)
            assert y == pytest.approx(want[k][1], abs=2e-3)
        n_out += len(got)
    assert n_out >= 5


def check_variety(generate: Callable[..., Any], n_seeds: int) -> dict[str, Counter[Any]]:
    """Over seeds ``0..n_seeds-1`` (12 um/px, 160x120): every skin tone, at least six hair
    colours, trimmed, long and mixed hair, both lights and units of one to four hairs. Returns
    the counts (``kinds`` of hair and ``ends``, cut or not, too) for a generator's own checks."""
    c: dict[str, Counter[Any]] = {
        k: Counter() for k in ("tones", "colours", "lengths", "lights", "sizes", "kinds", "ends")
    }
    for seed in range(n_seeds):
        _, t = generate(seed, um_per_px=12.0, width=160, height=120)
        f = t["factors"]
        c["tones"][f["skin_tone"]] += 1
        c["colours"][f["hair_colour"]] += 1
        c["lengths"][f["hair_length"]] += 1
        c["lights"][f["light"]] += 1
        c["sizes"].update(Counter(h["unit"] for h in t["hairs"]).values())
        c["kinds"].update(h["kind"] for h in t["hairs"])
        c["ends"].update(tip["cut"] for tip in t["tips"])
    assert set(c["tones"]) == {"light", "medium", "dark"}
    assert len(c["colours"]) >= 6
    assert set(c["lengths"]) == {"trimmed", "long", "mixed"}
    assert set(c["lights"]) == {"polarised", "non-polarised"}
    assert {1, 2, 3, 4} <= set(c["sizes"])
    return c


SITE_KEYS = ("kind", "diameter_um", "colour", "length_um", "direction_deg", "end")


def check_same_site_at_any_scale(
    generate: Callable[..., Any],
    seeds: list[int],
    keys: tuple[str, ...] = SITE_KEYS,
    ratio: float = 2.5,
    per_seed: bool = False,
) -> None:
    """A 6 um/px frame's hairs are the middle of a 12 um/px frame's, at half the distance
    from the centre, with the same ``keys`` of their records (default for generators whose
    hair records carry ``length_um``, ``direction_deg`` and ``end``); over ``seeds`` at least
    five fine hairs and more than ``ratio`` times as many coarse ones (``per_seed``: each
    seed's fine frame holds hair, and more than ``ratio`` times as many coarse)."""
    n_fine = n_coarse = 0
    for seed in seeds:
        _, fine = generate(seed, um_per_px=6.0, width=240, height=180)
        _, coarse = generate(seed, um_per_px=12.0, width=240, height=180)
        n_fine += len(fine["hairs"])
        n_coarse += len(coarse["hairs"])
        if per_seed:
            assert fine["hairs"] and len(coarse["hairs"]) > ratio * len(fine["hairs"])
        wide = {h["id"]: h for h in coarse["hairs"]}
        for h in fine["hairs"]:
            c = wide[h["id"]]
            assert c["x_px"] == pytest.approx((h["x_px"] - 119.5) / 2 + 119.5, abs=2e-3)
            assert c["y_px"] == pytest.approx((h["y_px"] - 89.5) / 2 + 89.5, abs=2e-3)
            assert [c[k] for k in keys] == [h[k] for k in keys]
    assert n_fine >= 5 and n_coarse > ratio * n_fine


def check_hairless_is_the_same_site(
    generate: Callable[..., Any],
    seeds: list[int],
    *,
    um: float = 8.0,
    size: tuple[int, int] = (240, 180),
    skin_tol: int | None = None,
    min_share: float = 0.4,
    but_visit: bool = False,
    tips_covered: bool = True,
) -> None:
    """Each seed's hairless frame (``um`` um/px, ``size``) holds no hair, tip or root outside
    (nor covered tip, for generators that list ``tips_covered``), the same params (``but_visit``:
    all but the visit's), and the same skin between the hairs as the frame with hair over at
    least ``min_share`` of the frame on average. The skin: with ``skin_tol`` None, where the
    luma differs by under 30 %, which hair only darkens (shadow or occlusion) or covers; else
    where no channel differs by more than ``skin_tol``."""
    w, h = size
    shares = []
    for seed in seeds:
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, tb = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        assert truth["hairs"] and tb["hairs"] == [] and tb["tips"] == []
        if tips_covered:
            assert tb["tips_covered"] == []
        assert tb["emergence_outside"] == []
        assert tb["density_per_cm2"] == 0.0 and tb["factors"]["hair_length"] == "hairless"
        if but_visit:
            same = {k: v for k, v in truth["params"].items() if k != "visit"}
            assert {k: v for k, v in tb["params"].items() if k != "visit"} == same
        else:
            assert tb["params"] == truth["params"]
        diff = np.abs(img.astype(int) - bare.astype(int)).max(axis=2)
        assert diff.max() > 40  # the hair is gone
        if skin_tol is None:
            a, b = luma(img), luma(bare)
            skin = np.abs(a - b) < 0.3 * b
            shares.append(float(skin.mean()))
            assert np.mean(a[skin] <= b[skin] * 1.03 + 6) > 0.9
        else:
            shares.append(float(np.mean(diff <= skin_tol)))
    assert np.mean(shares) > min_share, shares


LOOK_KEYS = ("kind", "diameter_um", "colour")
FOLLOW_UP_KEYS = (*LOOK_KEYS, "length_um")


def check_follow_up_keeps_subset_or_adds(
    generate: Callable[..., Any],
    seeds: list[int],
    frames: tuple[tuple[int, int], tuple[int, int]] = ((320, 240), (480, 400)),
    *,
    keys: tuple[str, ...] = FOLLOW_UP_KEYS,
    baseline_visit_none: bool = True,
    grown_taper: bool = True,
    grown_not: tuple[str, ...] = (),
) -> None:
    """A follow-up at 0.5 keeps a subset of the site's hairs (about half), one at 2.0 adds new
    ones, none of the ``grown_not`` kinds (and tapering, with ``grown_taper``) to the kept ones
    (about twice as many), which keep their ``keys``; both turn the frame (10 um/px, the first
    of ``frames``) 1-5 degrees and move it 1-6 % and keep every param but the visit's (None at
    the baseline, with ``baseline_visit_none``). The site's hairs are those of a frame of the
    second size."""
    (w, h), wide_size = frames
    ratios = []
    for seed in seeds:
        kw: dict[str, Any] = {"um_per_px": 10.0, "width": w, "height": h}
        _, base = generate(seed, **kw)
        _, wide = generate(seed, um_per_px=10.0, width=wide_size[0], height=wide_size[1])
        world = {hair["id"]: hair for hair in wide["hairs"]}
        _, fewer = generate(seed, regrown=(0.5, 11), **kw)
        _, more = generate(seed, regrown=(2.0, 11), **kw)
        for t in (fewer, more):
            p, q = dict(t["params"]), dict(base["params"])
            v = p.pop("visit")
            base_visit = q.pop("visit")
            assert p == q
            if baseline_visit_none:
                assert base_visit is None
            assert 1.0 <= abs(v["turn_deg"]) <= 5.0
            frac = math.hypot(v["shift_px"][0] / w, v["shift_px"][1] / h)
            assert 0.01 <= frac <= 0.06 + 1e-9
        assert all(hair["id"] in world for hair in fewer["hairs"])
        assert not any(hair["new"] for hair in fewer["hairs"])
        grown = [hair for hair in more["hairs"] if hair["new"]]
        assert grown and not any(hair["id"] in world for hair in grown)
        assert not any(hair["kind"] in grown_not for hair in grown)
        if grown_taper:
            assert all(hair["end"] == "taper" for hair in grown if hair["kind"] != "black_dot")
        kept = [hair for hair in more["hairs"] if not hair["new"]]
        assert all(hair["id"] in world for hair in kept)
        for hair in kept:
            old = world[hair["id"]]  # a kept hair looks as before
            assert [hair[k] for k in keys] == [old[k] for k in keys]
        ratios.append((len(fewer["hairs"]), len(more["hairs"]), len(base["hairs"])))
    n_few, n_more, n_base = (sum(r[k] for r in ratios) for k in range(3))
    assert 0.3 < n_few / n_base < 0.7, ratios
    assert 1.6 < n_more / n_base < 2.5, ratios


def check_densities_span_bare_to_dense(
    generate: Callable[..., Any],
    *,
    n_seeds: int = 30,
    um: float = 12.0,
    size: tuple[int, int] = (240, 180),
    bare_share: tuple[float, float] = (0.08, 0.45),
    dense: float = 220.0,
) -> list[float]:
    """Seeds ``0..n_seeds-1`` (``um`` um/px, ``size``): a share within ``bare_share`` of
    frames under 30 hairs/cm2, one over ``dense``. Returns the densities, seed by seed."""
    dens = []
    for seed in range(n_seeds):
        _, t = generate(seed, um_per_px=um, width=size[0], height=size[1])
        dens.append(t["density_per_cm2"])
    share = float(np.mean(np.array(dens) < 30.0))
    assert bare_share[0] <= share <= bare_share[1], share
    assert max(dens) > dense
    return dens


def hair_contrast(
    generate: Callable[..., Any],
    seeds: list[int],
    light_hair: bool,
    pit_um: float | None,
    *,
    size: tuple[int, int] = (400, 300),
    cut_styles: bool = True,
) -> dict[str, list[float]]:
    """Luma of the frame minus its hairless twin (5 um/px, ``size``; the twin minus the frame
    for dark hair) a few pixels ahead of listed roots, behind them beyond where the tilted
    shaft can show (its radius over the sine of its elevation, and a pit ``pit_um`` deep; for
    ``pit_um`` None, a shaft that lists no elevation, its radius), and just inside and just
    past listed cut tips (square and oblique ones only, with ``cut_styles``: frayed ends are
    left out)."""
    um = 5.0
    w, h = size
    m: dict[str, list[float]] = {"root": [], "behind": [], "tip_in": [], "tip_out": []}
    for seed in seeds:
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        d = luma(img) - luma(bare) if light_hair else luma(bare) - luma(img)
        for hair in truth["hairs"]:
            if hair["kind"] in ("vellus", "black_dot") or hair["new"]:
                continue
            x, y = hair["x_px"], hair["y_px"]
            a = math.radians(hair["direction_deg"])
            ix, iy = x + math.cos(a) * 4, y + math.sin(a) * 4
            if 1 <= ix < w - 1 and 1 <= iy < h - 1:
                m["root"].append(mean_around(d, ix, iy))
            if pit_um is None:
                reach = hair["diameter_um"] * 0.5
            else:
                el = math.radians(hair["elevation_deg"])
                reach = hair["diameter_um"] / 2 / math.sin(el) + pit_um / math.tan(el)
            step = reach / um + 4
            bx, by = x - math.cos(a) * step, y - math.sin(a) * step
            if 1 <= bx < w - 1 and 1 <= by < h - 1:
                m["behind"].append(mean_around(d, bx, by))
        for tip in truth["tips"]:
            if not tip["cut"] or tip["kind"] == "vellus":
                continue
            if cut_styles and tip["cut_style"] == "frayed":
                continue
            ix, iy, ox, oy = tip_probes(tip, um)
            if 2 <= ix < w - 2 and 2 <= iy < h - 2 and 2 <= ox < w - 2 and 2 <= oy < h - 2:
                m["tip_in"].append(mean_around(d, ix, iy))
                m["tip_out"].append(mean_around(d, ox, oy))
    return m


def check_dark_hair_where_the_truth_puts_it(
    m: dict[str, list[float]],
    *,
    behind_at_most: tuple[float, float, float] = (20.0, 30.0, 0.7),
    root_over_behind: float | None = 40.0,
    tip_out_below: float | None = None,
) -> None:
    """:func:`hair_contrast` of dark hair on light skin: dark just ahead of the roots, skin
    (in the hair's shadow at most) behind them, dark inside cut tips and skin past them.
    ``behind_at_most`` (median, level, share): behind the roots the median darkening stays
    under the first and more than the share stay under the level; ``root_over_behind``: the
    median ahead of the roots exceeds the median behind by more (None: not checked);
    ``tip_out_below``: past a tip more than 70 % stay under it (None: under half the median
    inside tips)."""
    root, behind = np.array(m["root"]), np.array(m["behind"])
    assert len(root) >= 30 and len(behind) >= 20
    assert np.mean(root > 30) > 0.85, np.percentile(root, [10, 50])
    # behind the root only the skin, in the hair's shadow at most (a shadow darkens by a
    # fraction of what the hair does)
    median_max, level, share = behind_at_most
    assert np.median(behind) < median_max and np.mean(behind < level) > share, np.percentile(
        behind, [50, 90]
    )
    if root_over_behind is not None:
        assert np.median(root) - np.median(behind) > root_over_behind
    tin, tout = np.array(m["tip_in"]), np.array(m["tip_out"])
    assert len(tin) >= 10
    # past a stub's cut end: skin, in the stub's shadow at most (under half the hair's)
    assert np.mean(tin > 20) > 0.8, np.percentile(tin, [10, 50])
    below = 0.5 * np.median(tin) if tip_out_below is None else tip_out_below
    assert np.mean(tout < below) > 0.7, np.percentile(tout, [50, 90])
    assert np.median(tin - tout) > 40


def check_light_hair_where_the_truth_puts_it(m: dict[str, list[float]], n: int = 15) -> None:
    """:func:`hair_contrast` of light hair on dark skin: at least ``n`` roots, more than 80 %
    of them lighter by over 15 luma levels just ahead."""
    root = np.array(m["root"])
    assert len(root) >= n
    assert np.mean(root > 15) > 0.8, np.percentile(root, [10, 50])


def check_density_follows_the_drawn_hairs(
    generate: Callable[..., Any],
    looks: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    size: tuple[int, int] = (240, 180),
) -> None:
    """Frames whose truth holds more hairs show more hair pixels (dark trimmed hair on light
    skin, among the first 200 of ``looks``, the generator's :func:`site_looks`; 10 um/px,
    ``size``)."""
    w, h = size
    dens, cover = [], []
    for seed, p in enumerate(looks[:200]):
        if p["hair_colour"] not in ("black", "dark brown") or p["fitzpatrick"] > 3:
            continue
        if p["hair_length"] != "trimmed":
            continue
        img, t = generate(seed, um_per_px=10.0, width=w, height=h)
        bare, _ = generate(seed, um_per_px=10.0, width=w, height=h, hairless=True)
        dens.append(t["density_per_cm2"])
        cover.append(float(np.mean(luma(bare) - luma(img) > 20)))
    assert len(dens) >= 10
    assert np.corrcoef(dens, cover)[0, 1] > 0.6, list(zip(dens, cover, strict=True))


# --- The contract of blind-21 and blind-22 -------------------------------------------------
# Every check of the two generators' tests that reads no part of either but its ``generate``
# and ``site_look``: one copy here, what differs between them a field of :class:`Contract`,
# each generator's test file running ``contract_checks`` of its own Contract. Blind-15 to -20,
# older, run the part of it that their own tests checked the same (``contract_part``).

Ranges = tuple[tuple[float, float], tuple[int, int], tuple[int, int], float]
SMALL: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}  # a call that draws
# scale (um/px), width and height (px), each (lowest, highest); top regrowth
WIDE_RANGES: Ranges = ((3.0, 12.0), (32, 2028), (32, 1521), 4.0)
DARK_OR_BROWN = ("black", "dark brown", "brown")


@dataclass(frozen=True)
class Contract:
    """A generator held to the contract of blind-21 and blind-22 (or to a part of it), and
    where it may differ."""

    name: str  # its GENERATOR and every truth's ``generator``
    package: str  # "sim.blindN": whose modules may import no other sim module
    generate: Callable[..., Any]
    site_look: Callable[[int], dict[str, Any]]
    # the inverse of its tone curve: linear light from a frame, for the drawn widths (None
    # only for a generator held to a part of the contract without them)
    linear: Callable[[NDArray[np.uint8]], NDArray[np.float64]] | None = None
    # the drawn widths: the median of FWHM / listed diameter lies within this of 1 (None as
    # for ``linear``)
    width_tol: float | None = None
    # how many dense white-hair sites (the first of 0-399) to find 10 on skin IV-VI among
    white_pool: int = 80
    # the sites of the hairless-twin check; None: the first 3 denser than 150 hairs/cm2 of
    # black, dark brown or brown hair
    hairless_sites: Callable[[], list[int]] | None = None
    ranges: Ranges = WIDE_RANGES
    # the scale of the tallest frame among the range ends (:func:`range_ends`); None: the
    # finest
    tall_um: float | None = None
    # how many alopecia areata sites on skin I-IV the black-dots check draws
    black_dot_sites: int = 12

    def look(self, seed: int) -> dict[str, Any]:
        """The site's look (:func:`site_looks`)."""
        return site_looks(self.site_look)[seed]

    def dense(self, n: int, low: float = 120.0, **want: Any) -> list[int]:
        """The first ``n`` sites (of 0-399) denser than ``low`` with each wanted look."""
        return seeds_where(self.site_look, n, low, **want)

    def dark_trimmed(self, n: int, low: float = 100.0, brown: bool = False) -> list[int]:
        """Sites of black or dark brown (with ``brown``, brown too) trimmed hair on skin
        I-III."""
        dark = DARK_OR_BROWN if brown else DARK_OR_BROWN[:2]
        seeds = self.dense(400, low, hair_colour=dark, hair_length=("trimmed",))
        return [s for s in seeds if self.look(s)["fitzpatrick"] <= 3][:n]


def contract_checks(c: Contract) -> dict[str, Callable[[], object]]:
    """The contract's checks of ``c``'s generator by name, for a test parametrised over them
    (one test each, as before they were shared)."""
    ends = {
        f"range_end_{i}": partial(check_range_end, c.generate, kwargs)
        for i, kwargs in enumerate(range_ends(*c.ranges, tall_um=c.tall_um))
    }
    dark_sites = partial(c.dense, 3, 150.0, hair_colour=DARK_OR_BROWN)
    return {
        "imports_nothing_foreign": partial(check_imports_nothing_foreign, c),
        "refusals_name_what_they_wanted": partial(check_refusals_name_what_they_wanted, c),
        **ends,
        "a_large_frame_of_long_hair_draws": partial(check_a_large_frame_of_long_hair, c),
        "truth_over_frames": partial(
            check_truth_over_frames, c.generate, c.name, 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0)
        ),
        "deterministic": partial(check_deterministic_and_seeds_matter, c.generate),
        "same_site_any_scale": lambda: check_same_site_at_any_scale(c.generate, c.dense(6)),
        "emergence_outside": lambda: check_emergence_outside(c.generate, c.dense(6)),
        "hairless_same_site": lambda: check_hairless_is_the_same_site(
            c.generate, (c.hairless_sites or dark_sites)()
        ),
        "hairless_frames_and_bare_sites": partial(check_hairless_frames_and_bare_sites, c),
        "follow_up": lambda: check_follow_up_keeps_subset_or_adds(c.generate, c.dense(4)),
        "regrowth_follows_its_factor": partial(check_regrowth_follows_its_factor, c),
        "densities": partial(check_densities_span_bare_to_dense, c.generate),
        "density_follows_hair": lambda: check_density_follows_the_drawn_hairs(
            c.generate, site_looks(c.site_look)
        ),
        "hair_lies_where_the_truth_puts_it": partial(check_hair_lies_where_the_truth_puts_it, c),
        "every_kind_tone_colour_and_light": partial(check_every_kind_tone_colour_and_light, c),
        "cut_tips_listed_apart": partial(check_cut_tips_listed_apart_in_every_style, c),
        "black_dots_darken_the_skin": partial(check_black_dots_darken_the_skin, c),
        "drawn_widths": partial(check_drawn_widths_match_the_listed_diameters, c),
    }


def contract_part(
    c: Contract, only: Iterable[str] | None = None, leave_out: Iterable[str] = ()
) -> dict[str, Callable[[], object]]:
    """The checks of :func:`contract_checks` named in ``only`` (None: all of them) but those
    named in ``leave_out``, for a generator whose own tests keep the rest ("range_ends" names
    every ``range_end_<i>``); a name the contract lacks is a KeyError, so no check drops out
    or stays in unnoticed."""
    checks = contract_checks(c)
    groups = {name: [name] for name in checks if not name.startswith("range_end_")}
    groups["range_ends"] = [name for name in checks if name.startswith("range_end_")]
    left_out = {name for group in leave_out for name in groups[group]}
    wanted = checks if only is None else [name for group in only for name in groups[group]]
    return {name: checks[name] for name in wanted if name not in left_out}


def check_imports_nothing_foreign(c: Contract) -> None:
    """The package imports no other sim module (nor dermocap or inference) and is named."""
    module = importlib.import_module(c.package)
    assert module.__file__ is not None
    package_dir = Path(module.__file__).parent
    assert foreign_imports(package_dir, c.package) == [] and module.GENERATOR == c.name


def check_refusals_name_what_they_wanted(c: Contract) -> None:
    """:func:`check_refuses_outside_its_ranges`, and messages that name the argument and say
    what it wanted: a scale within the range, a factor at most the top, an integer width."""
    check_refuses_outside_its_ranges(c.generate, SMALL, c.ranges)
    (um_lo, um_hi), (w_lo, w_hi), _, top = c.ranges
    wanted = rf"^um_per_px: wanted a real number in \[{um_lo}, {um_hi}\]"
    with pytest.raises(ValueError, match=wanted):
        c.generate(1, um_per_px=um_lo - 0.5, width=64, height=48)
    over = int(top) + 1
    with pytest.raises(ValueError, match=rf"^regrown factor: .* at most {top}, got {over}"):
        c.generate(1, um_per_px=5.0, width=64, height=48, regrown=(over, 1))
    wanted = rf"^width: wanted an integer in \[{w_lo}, {w_hi}\] pixels"
    with pytest.raises(ValueError, match=wanted):
        c.generate(1, um_per_px=5.0, width=np.float64(64), height=48)


def check_a_large_frame_of_long_hair(c: Contract) -> None:
    """A dense site of long hair draws a 1024 x 768 frame whose hair crosses hair, in many
    colours."""
    seed = c.dense(1, 200.0, hair_length=("long",))[0]
    img, truth = c.generate(seed, um_per_px=12.0, width=1024, height=768)
    assert img.shape == (768, 1024, 3) and truth["density_per_cm2"] > 120
    check_truth_contract(truth, 1024, 768, 12.0)
    assert truth["tips"] and truth["tips_covered"]  # long hair crosses hair
    assert img.std() > 10 and len(np.unique(img.reshape(-1, 3), axis=0)) > 5000


def check_hairless_frames_and_bare_sites(c: Contract) -> None:
    """Hairless frames list no hair, tip or outside root, have density 0 and draw the same
    twice; a bare site's frame with its hair lists none either, and is its hairless frame."""
    hairless: dict[str, Any] = {"um_per_px": 6.0, "width": 160, "height": 120, "hairless": True}
    for seed in c.dense(4):
        first, truth = c.generate(seed, **hairless)
        empty = ("hairs", "tips", "tips_covered", "emergence_outside")
        assert all(truth[k] == [] for k in empty) and truth["density_per_cm2"] == 0.0
        assert np.array_equal(first, c.generate(seed, **hairless)[0])
    bare = [s for s in range(400) if c.look(s)["pattern"] == "bare"]
    assert len(bare) >= 2
    for seed in bare[:2]:
        img, truth = c.generate(seed, um_per_px=10.0, width=320, height=240)
        skin_only, _ = c.generate(seed, um_per_px=10.0, width=320, height=240, hairless=True)
        assert truth["hairs"] == [] and truth["tips"] == [] and truth["density_per_cm2"] == 0
        assert np.array_equal(img, skin_only)  # the same skin, marks and noise


def check_regrowth_follows_its_factor(c: Contract) -> None:
    """Pooled over dense sites and three visits, a follow-up lists the factor times the
    baseline's hairs (within 15 %), for a heavy loss and for threefold growth."""
    frame: dict[str, Any] = {"um_per_px": 10.0, "width": 480, "height": 360}
    sites = c.dense(8, 150.0)

    def listed(**visit: Any) -> int:
        return sum(len(c.generate(s, **frame, **visit)[1]["hairs"]) for s in sites)

    baseline = listed()
    for factor in (0.25, 3.0):
        pooled = sum(listed(regrown=(factor, v)) for v in (4, 5, 6)) / 3
        assert pooled / baseline == pytest.approx(factor, rel=0.15), (factor, baseline, pooled)


def check_hair_lies_where_the_truth_puts_it(c: Contract) -> None:
    """Dark trimmed hair on light skin is dark just ahead of its roots and inside its cut
    tips, skin behind and past them; white hair on dark skin is lighter ahead of its roots."""
    dark = hair_contrast(c.generate, c.dark_trimmed(16), False, None)
    check_dark_hair_where_the_truth_puts_it(dark)
    white = c.dense(c.white_pool, 40.0, hair_colour=("white",))
    white = [s for s in white if c.look(s)["fitzpatrick"] >= 4][:10]
    check_light_hair_where_the_truth_puts_it(hair_contrast(c.generate, white, True, None), n=10)


def check_every_kind_tone_colour_and_light(c: Contract) -> None:
    """:func:`check_variety` over 40 sites, and every kind of hair, seven colours, more than
    ten cut and ten natural ends and more than ten polarised frames."""
    counts = check_variety(c.generate, 40)
    kinds = {"terminal", "vellus", "intermediate", "black_dot", "broken"}
    assert kinds <= set(counts["kinds"]) and len(counts["colours"]) >= 7
    assert min(counts["ends"][True], counts["ends"][False]) > 10
    assert counts["lights"]["polarised"] > 10


def check_cut_tips_listed_apart_in_every_style(c: Contract) -> None:
    """Over trimmed sites, tips come as cut (square, oblique and frayed) and as natural tapers
    (listed with ``cut`` False)."""
    styles: set[str] = set()
    tapers = 0
    for seed in c.dense(12, 150.0, hair_length=("trimmed", "mixed")):
        _, t = c.generate(seed, um_per_px=8.0, width=320, height=240)
        for tip in t["tips"] + t["tips_covered"]:
            if tip["cut"]:
                assert tip["end"] == "cut" and tip["cut_style"] in ("square", "oblique", "frayed")
                styles.add(tip["cut_style"])
            else:
                assert tip["end"] == "taper" and tip["cut_style"] == "none"
                tapers += 1
    assert styles == {"square", "oblique", "frayed"} and tapers > 5


def check_black_dots_darken_the_skin(c: Contract) -> None:
    """On alopecia areata sites of skin types I-IV (the first ``c.black_dot_sites``), the
    listed black dots' 3x3 pixels are darker than the hairless frame's by over 15 luma levels
    for more than 70 % of dots."""
    sites = [s for s in range(400) if c.look(s)["pattern"] == "alopecia_areata"]
    sites = [s for s in sites if c.look(s)["fitzpatrick"] <= 4][: c.black_dot_sites]
    frame: dict[str, Any] = {"um_per_px": 6.0, "width": 480, "height": 360}
    darkening = []
    for seed in sites:
        img, truth = c.generate(seed, **frame)
        dots = [(h["x_px"], h["y_px"]) for h in truth["hairs"] if h["kind"] == "black_dot"]
        if dots:
            lighter = luma(c.generate(seed, hairless=True, **frame)[0]) - luma(img)
            darkening += [mean_around(lighter, x, y) for x, y in dots]
    assert len(darkening) >= 4
    assert float(np.mean(np.array(darkening) > 15)) > 0.7, darkening


def straight_axes(
    hairs: list[dict[str, Any]], um: float
) -> tuple[NDArray[np.complex128], NDArray[np.int64]]:
    """Each listed hair's axis as if straight from its root along its direction: points one
    px apart (complex, frame px), and the hair id of each."""
    points: list[NDArray[np.complex128]] = [np.zeros(0, complex)]
    ids: list[NDArray[np.int64]] = [np.zeros(0, np.int64)]
    for hr in hairs:
        steps = np.arange(0.0, hr["length_um"] / um + 1.0)
        heading = np.exp(1j * math.radians(hr["direction_deg"]))
        points.append(complex(hr["x_px"], hr["y_px"]) + heading * steps)
        ids.append(np.full(steps.size, hr["id"], np.int64))
    return np.concatenate(points), np.concatenate(ids)


def fwhm(dip: NDArray[np.float64], step: float) -> float | None:
    """Full width at half depth of a profile holding one clean dip (positive, ends near
    zero); None for any other profile."""
    depth = float(dip.max())
    if depth <= 0 or max(dip[0], dip[-1]) > 0.15 * depth:
        return None
    crossings = np.flatnonzero(np.diff((dip >= depth / 2).astype(int)))
    if crossings.size != 2:
        return None
    i, j = crossings
    rise = i + (depth / 2 - dip[i]) / (dip[i + 1] - dip[i])
    fall = j + (dip[j] - depth / 2) / (dip[j] - dip[j + 1])
    return float(fall - rise) * step


def check_drawn_widths_match_the_listed_diameters(c: Contract) -> None:
    """Across the middle of trimmed dark stubs on light skin (5 um/px): the full width at half
    depth of the dip in linear light (the frame through ``c.linear``, the tone curve's
    inverse) against the hairless frame is the listed diameter, the median within
    ``c.width_tol`` over at least 30 isolated profiles."""
    assert c.linear is not None and c.width_tol is not None, "no tone curve or tolerance given"
    um, w, h = 5.0, 640, 480
    to_luma = np.array([0.299, 0.587, 0.114])
    ratios = []
    for seed in c.dark_trimmed(24, 60.0, brown=True):
        img, truth = c.generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = c.generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        dip = (c.linear(bare) - c.linear(img)) @ to_luma
        axes, owner = straight_axes(truth["hairs"], um)
        stubs = [hr for hr in truth["hairs"] if hr["kind"] in ("terminal", "intermediate")]
        for hr in (hr for hr in stubs if hr["length_um"] >= 20 * um):
            heading = np.exp(1j * math.radians(hr["direction_deg"]))
            middle = complex(hr["x_px"], hr["y_px"]) + heading * 0.5 * hr["length_um"] / um
            reach = hr["diameter_um"] / um + 6
            if (np.abs(axes[owner != hr["id"]] - middle) < reach + 12).any():
                continue  # another shaft passes near
            line = middle + 1j * heading * np.arange(-reach, reach + 1e-9, 0.25)
            if not (1 < line.real.min() and line.real.max() < w - 2):
                continue
            if not (1 < line.imag.min() and line.imag.max() < h - 2):
                continue
            width = fwhm(ndimage.map_coordinates(dip, [line.imag, line.real], order=1), 0.25)
            ratios += [] if width is None else [width * um / hr["diameter_um"]]
    quartiles = np.percentile(ratios, [25, 50, 75]) if ratios else None
    tol = c.width_tol
    assert len(ratios) >= 30 and abs(float(np.median(ratios)) - 1) < tol, (len(ratios), quartiles)
