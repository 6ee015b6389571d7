"""Checks shared by the tests of the independent test generators."""

from __future__ import annotations

import ast
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

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

# Bad arguments that every generator (sim.heldout and sim.blind ... sim.blind19) refuses with
# ValueError, whatever its own ranges: each entry is ``(seed, overrides)``, the overrides
# replacing keyword arguments of a call that would otherwise succeed. Only values outside any
# generator's range are here; each test file keeps its generator's own limits (the ends of
# its scale, size and regrowth ranges) and the refusals that not all twenty make (a negative
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
