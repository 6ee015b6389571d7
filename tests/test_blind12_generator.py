"""blind-12, the distance-transform / quilted-skin / A-buffer test generator: its contract
(interface, argument checks, truth bookkeeping, hairless and follow-up twins), that its
truth describes its pixels, and the two techniques it is built on (exact distances from a
packed feature transform; a texture laid by quilting)."""

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

import sim.blind12.core as b12core
from sim.blind12 import GENERATOR, generate
from sim.blind12.camera import Pose
from sim.blind12.design import CURLS, HAIR_COLOURS, make_design, stream
from sim.blind12.fields import nearest_centres, polyline_band
from sim.blind12.quilt import exemplar, quilt
from sim.blind12.scene import BLACK_DOT, baseline, follow_up, make_site
from tests.generator_checks import (
    check_refuses,
    check_refuses_bad_arguments,
    check_truth_contract,
    foreign_imports,
)

F64 = NDArray[np.float64]

# a clean look: sharp, matte, light skin, black hair, nothing else dark on the skin
CLEAN: dict[str, Any] = {
    "light": "polarised",
    "sebum": 0.0,
    "blur_px": 0.0,
    "dof_px": 0.0,
    "chroma_px": 0.0,
    "flakes_per_mm2": 0.0,
    "vessels": "none",
    "follicle_shadow": 0.0,
    "hair_shadow": 0.0,
    "network": "none",
    "network_strength": 0.0,
    "skin_tone": "light",
    "melanin": 0.2,
    "freckles": 0.0,
    "creases": 0,
    "hair_colour": "black",
    "vellus_share": 0.0,
    "white_dots_per_mm2": 0.0,
    "field_stop": False,
    "vignette": 0.0,
    "hotspot": 0.0,
    "tone": "srgb",
    "sharpen": 0.0,
    "row_noise": 0.0,
    "full_well": 20000.0,
    "jpeg_quality": 92,
}


def _force(monkeypatch: pytest.MonkeyPatch, **over: Any) -> None:
    """Make every frame's design the seed's own with some choices overridden."""
    orig = make_design

    def forced(seed: int) -> Any:
        return dataclasses.replace(orig(seed), **over)

    monkeypatch.setattr(b12core, "make_design", forced)


def _lum(img: NDArray[np.uint8]) -> F64:
    out: F64 = img.astype(np.float64) @ np.array([0.3, 0.59, 0.11])
    return out


def _poses(truth: dict[str, Any]) -> tuple[Pose, Pose]:
    """The baseline pose and this frame's pose, from the truth."""
    w, h, um = truth["width"], truth["height"], truth["um_per_px"]
    base = Pose(w, h, um)
    v = truth["params"]["visit"]
    if v["kind"] == "baseline":
        return base, base
    this = Pose(w, h, um, v["shift_x_um"], v["shift_y_um"], math.radians(v["rotation_deg"]))
    return base, this


# ---------------------------------------------------------------- interface


def test_interface_and_determinism() -> None:
    img, truth = generate(11, um_per_px=6.0, width=96, height=72)
    assert GENERATOR == "blind-12" and truth["generator"] == "blind-12"
    assert img.shape == (72, 96, 3) and img.dtype == np.uint8
    img2, truth2 = generate(11, um_per_px=6.0, width=96, height=72)
    assert np.array_equal(img, img2) and truth == truth2
    img3, truth3 = generate(12, um_per_px=6.0, width=96, height=72)
    assert not np.array_equal(img, img3)
    assert truth3["params"] != truth["params"]
    # integer scale, numpy integers and a list-shaped regrown are accepted
    generate(np.int64(11), um_per_px=6, width=32, height=32, regrown=[1.5, 2])  # type: ignore[arg-type]
    check_truth_contract(truth, 96, 72, 6.0)
    assert generate.__module__ == "sim.blind12.core"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"seed": True}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"um_per_px": 1.99}, "um_per_px"),
    ({"um_per_px": 15.01}, "um_per_px"),
    ({"width": 31}, "width"),
    ({"width": 4097}, "width"),
    ({"height": 31}, "height"),
    ({"height": 4097}, "height"),
    ({"hairless": np.bool_(True)}, "hairless"),
    ({"regrown": (0.29, 1)}, "regrown"),
    ({"regrown": (3.01, 1)}, "regrown"),
    ({"regrown": (1.0, 1.5)}, "regrown"),
    ({"regrown": (1.0, False)}, "regrown"),
    ({"regrown": "12"}, "regrown"),
]


SMALL: dict[str, Any] = {"um_per_px": 5.0, "width": 64, "height": 48}  # a frame it draws


@pytest.mark.parametrize(("change", "name"), BAD)
def test_bad_arguments(change: dict[str, Any], name: str) -> None:
    check_refuses(generate, SMALL, change, name)


def test_shared_bad_arguments() -> None:
    check_refuses_bad_arguments(generate, SMALL)


def test_no_foreign_imports() -> None:
    assert foreign_imports(Path("sim/blind12"), "sim.blind12") == []


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
    (9, 7.0, 33, 47),
    (-13, 11.0, 100, 75),
    (2**70, 9.5, 150, 100),
]


@pytest.mark.parametrize(("seed", "um", "w", "h"), CASES)
def test_truth_contract(seed: int, um: float, w: int, h: int) -> None:
    img, truth = generate(seed, um_per_px=um, width=w, height=h)
    assert img.shape == (h, w, 3)
    check_truth_contract(truth, w, h, um)
    f = truth["factors"]
    assert f["visit"] == "baseline" and truth["params"]["visit"] == {"kind": "baseline"}
    assert f["curl"] in {*CURLS, "none"}
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
            assert (
                math.hypot(pt["x_px"] - stop["cx_px"], pt["y_px"] - stop["cy_px"])
                <= stop["radius_px"]
            )
    kinds = truth["params"]["hair_kinds_in_frame"]
    assert sum(kinds.values()) == len(truth["hairs"])


def test_listed_emergence_points_are_the_sites_hairs() -> None:
    # the truth is the scene seen through the pose: every hair of the site whose
    # emergence point falls in the frame, and no other
    d = make_design(5)
    _, truth = generate(5, um_per_px=8.0, width=200, height=150)
    site = make_site(5, d, b12core.site_half_um(d, 200, 150, 8.0))
    occ = baseline(site)
    px, py = Pose(200, 150, 8.0).to_px(site.slots.x[occ], site.slots.y[occ])
    inside = (px >= -0.5) & (px < 199.5) & (py >= -0.5) & (py < 149.5)
    want = sorted(zip(px[inside].round(6).tolist(), py[inside].round(6).tolist(), strict=True))
    got = sorted((round(p["x_px"], 6), round(p["y_px"], 6)) for p in truth["hairs"])
    assert got == want


# ---------------------------------------------------------------- twins


def test_hairless_is_the_same_scalp_without_hairs(monkeypatch: pytest.MonkeyPatch) -> None:
    _force(monkeypatch, hair_length="trimmed", density_per_cm2=250.0, **CLEAN)
    img, truth = generate(21, um_per_px=8.0, width=240, height=180)
    bald, bt = generate(21, um_per_px=8.0, width=240, height=180, hairless=True)
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
    other, _ = generate(22, um_per_px=8.0, width=240, height=180, hairless=True)
    assert np.median(np.abs(_lum(other) - _lum(bald))) > 4.0


def test_bare_skin_is_textured() -> None:
    # a hairless frame is not a flat colour: the quilted network, relief and marks show
    for seed in (31, 32, 33):
        img, truth = generate(seed, um_per_px=6.0, width=160, height=120, hairless=True)
        assert truth["hairs"] == []
        lum = _lum(img)
        fine = lum - ndimage.gaussian_filter(lum, 3.0)
        assert lum.std() > 1.5 and np.abs(fine).mean() > 0.4


def _aligned_corr(a: NDArray[np.uint8], ta: dict[str, Any], b: NDArray[np.uint8]) -> float:
    """Correlation of frame ``a`` (a follow-up) with baseline ``b`` resampled to a's view."""
    base, this = _poses(ta)
    h, w = a.shape[:2]
    py, px = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = this.to_scene(px, py)
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


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_follow_up_count_follows_the_factor(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    _force(monkeypatch, density_per_cm2=380.0, field_stop=False, hair_length="trimmed")
    before = after = 0
    for seed in (41, 42, 43):
        kw: dict[str, Any] = {"um_per_px": 12.0, "width": 400, "height": 300}
        _, tb = generate(seed, **kw)
        _, tf = generate(seed, **kw, regrown=(factor, 9))
        before += len(tb["hairs"])
        after += len(tf["hairs"])
        moving = ("visit", "hair_kinds_in_frame", "hairs_drawn")
        pb = {k: v for k, v in tb["params"].items() if k not in moving}
        pf = {k: v for k, v in tf["params"].items() if k not in moving}
        assert pb == pf
        if factor < 1:
            # every kept hair is a baseline hair: the same scalp point through both poses
            base_pose, pose = _poses(tf)
            pts = np.array([[p["x_px"], p["y_px"]] for p in tf["hairs"]])
            x, y = pose.to_scene(pts[:, 0], pts[:, 1])
            bx, by = base_pose.to_px(x, y)
            listed = np.array([[p["x_px"], p["y_px"]] for p in tb["hairs"]])
            inside = (bx > 0) & (bx < 399) & (by > 0) & (by < 299)
            for qx, qy in zip(bx[inside], by[inside], strict=True):
                assert np.min(np.hypot(listed[:, 0] - qx, listed[:, 1] - qy)) < 1e-6
        else:
            # no new hair grows on top of another: listed points stay apart
            pts = np.array([[p["x_px"], p["y_px"]] for p in tf["hairs"]])
            dd = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
            np.fill_diagonal(dd, np.inf)
            assert dd.min() * 12.0 >= 5.0
    assert before > 150
    assert after / before == pytest.approx(factor, rel=0.2)


def test_follow_up_slots_keep_or_add_hairs() -> None:
    d = dataclasses.replace(make_design(47), density_per_cm2=300.0)
    site = make_site(47, d, 2500.0)
    base = baseline(site)
    n = int(base.sum())
    more, counts = follow_up(47, site, 2.5, 3)
    assert np.all(more[base]) and counts["new"] == int(more.sum()) - n == round(2.5 * n) - n
    less, counts = follow_up(47, site, 0.4, 3)
    assert not np.any(less & ~base) and int(less.sum()) == round(0.4 * n) == counts["kept"]


def test_follow_up_never_grows_a_hair_on_another() -> None:
    # slots of a unit (a thin first hair, two thick ones beside it) and slots of
    # neighbouring units can overlap; a new hair never takes such a slot while the other
    # holds a hair, so no two listed hairs share their emergence point
    for seed in (300, 302):
        d = dataclasses.replace(make_design(seed), density_per_cm2=400.0)
        site = make_site(seed, d, 3000.0)
        sl = site.slots
        base = baseline(site)
        occ, counts = follow_up(seed, site, 3.0, 7)
        assert counts["new"] == round(3.0 * int(base.sum())) - int(base.sum())
        idx = np.flatnonzero(occ)
        i, j = np.triu_indices(len(idx), 1)
        i, j = idx[i], idx[j]
        apart = np.hypot(sl.x[i] - sl.x[j], sl.y[i] - sl.y[j]) - 0.5 * (sl.diam[i] + sl.diam[j])
        new = ~base[i] | ~base[j]
        assert apart[new].min() >= 0.0


# ---------------------------------------------------------------- truth describes pixels


def _hair_over_bald(
    seeds: tuple[int, ...], um: float, w: int = 240, h: int = 180
) -> Iterator[tuple[dict[str, Any], F64]]:
    """Per seed, the frame's truth and its luminance less that of the same scalp drawn
    hairless (the drawn shafts, negative)."""
    for seed in seeds:
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bald, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        yield truth, _lum(img) - _lum(bald)


def test_listed_hairs_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = dark = 0
    for length in ("trimmed", "long", "mixed"):
        _force(monkeypatch, hair_length=length, density_per_cm2=300.0, **CLEAN)
        seed = {"trimmed": 51, "long": 52, "mixed": 53}[length]
        for truth, diff in _hair_over_bald((seed,), 10.0, 320, 240):
            darker = ndimage.minimum_filter(diff, size=3)
            for hair in truth["hairs"]:
                x, y = round(hair["x_px"]), round(hair["y_px"])
                seen += 1
                dark += bool(darker[min(max(y, 0), 239), min(max(x, 0), 319)] < -25.0)
    assert seen > 30
    assert dark >= 0.95 * seen


def _arcs(flags: NDArray[np.bool_]) -> int:
    """Runs of True on a circle."""
    if flags.all():
        return 1
    return int(np.sum(flags & ~np.roll(flags, 1)))


def test_tips_are_where_shafts_end(monkeypatch: pytest.MonkeyPatch) -> None:
    over = {**CLEAN, "broken_share": 0.0, "regrowing_share": 0.0, "plate_um": 0.0}
    _force(
        monkeypatch,
        hair_length="trimmed",
        density_per_cm2=220.0,
        unit_mean=1.2,
        stub_min_um=350.0,
        **over,
    )
    checked = single = 0
    for truth, diff in _hair_over_bald((61, 62, 63, 64), 8.0, 320, 240):
        marks = [(p["x_px"], p["y_px"]) for p in truth["hairs"] + truth["tips"]]
        marks += [(p["x_px"], p["y_px"]) for p in truth["emergence_outside"]]
        for tip in truth["tips"]:
            assert tip["cut"]  # trimmed stubs end in a cut
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
    assert single >= 0.8 * checked


def test_black_dots_are_hairs_without_tips(monkeypatch: pytest.MonkeyPatch) -> None:
    over: dict[str, Any] = {"black_dot_share": 0.6, "density_per_cm2": 300.0}
    _force(monkeypatch, **over, **CLEAN)
    img, truth = generate(71, um_per_px=8.0, width=320, height=240)
    assert truth["params"]["hair_kinds_in_frame"]["black_dot"] >= 5
    d = dataclasses.replace(make_design(71), **over, **CLEAN)
    site = make_site(71, d, b12core.site_half_um(d, 320, 240, 8.0))
    occ = baseline(site) & (site.slots.kind == BLACK_DOT)
    px, py = Pose(320, 240, 8.0).to_px(site.slots.x[occ], site.slots.y[occ])
    ok = (px > 3) & (px < 316) & (py > 3) & (py < 236)
    lum = _lum(img)
    dark = [lum[round(y), round(x)] < 70 for x, y in zip(px[ok], py[ok], strict=True)]
    assert len(dark) >= 5 and np.mean(dark) >= 0.9


def test_field_stop_masks_hairs_and_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    _force(monkeypatch, density_per_cm2=300.0, **{**CLEAN, "field_stop": True, "stop_frac": 0.5})
    img, truth = generate(81, um_per_px=8.0, width=200, height=150)
    stop = truth["field_stop"]
    assert stop is not None and truth["factors"]["field_stop"] == "yes"
    cx, cy, r = stop["cx_px"], stop["cy_px"], stop["radius_px"]
    py, px = np.mgrid[0:150, 0:200]
    d = np.hypot(px - cx, py - cy)
    lum = _lum(img)
    assert lum[d > r + 4].mean() < 20.0
    assert lum[d < r - 4].mean() > 60.0
    assert truth["emergence_masked"]
    for p in truth["hairs"] + truth["tips"]:
        assert math.hypot(p["x_px"] - cx, p["y_px"] - cy) <= r


# ---------------------------------------------------------------- the techniques


def _brute_distance(path: F64, px: F64, py: F64) -> F64:
    a = path[:-1]
    d = path[1:] - a
    v = np.stack([px, py], axis=1)[:, None, :] - a[None]
    t = np.clip((v * d[None]).sum(-1) / (d * d).sum(-1)[None], 0.0, 1.0)
    out: F64 = np.linalg.norm(v - t[..., None] * d[None], axis=-1).min(axis=1)
    return out


def test_distance_band_is_exact_and_complete() -> None:
    rng = np.random.default_rng(5)
    paths = []
    for _ in range(6):
        s = np.linspace(0.0, 1.0, 60)[:, None]
        turn = rng.uniform(-2.0, 2.0) * s[:, 0]
        ang = rng.uniform(0, 2 * math.pi) + turn
        step = np.stack([np.cos(ang), np.sin(ang)], axis=1) * rng.uniform(1.0, 3.0)
        paths.append(np.cumsum(step, axis=0) + rng.uniform([20, 20], [100, 80]))
    reach = [np.full(60, rng.uniform(1.0, 7.0)) for _ in paths]
    band = polyline_band(paths, reach, 120, 100)
    gy, gx = np.mgrid[0:100, 0:120].astype(np.float64)
    for i, (path, rr) in enumerate(zip(paths, reach, strict=True)):
        mine = band.path == i
        px = (band.pix[mine] % 120).astype(np.float64)
        py = (band.pix[mine] // 120).astype(np.float64)
        # the distances are exact ...
        assert np.allclose(band.dist[mine], _brute_distance(path, px, py), atol=1e-6)
        # ... and every pixel within reach is there
        want = np.flatnonzero(_brute_distance(path, gx.ravel(), gy.ravel()) <= rr[0] - 1e-6)
        got = np.unique(band.pix[mine])
        assert len(np.setdiff1d(want, got)) <= 0.002 * len(want) + 1
        # the signed offset across the path is the distance where the nearest point lies
        # inside the path, and never more
        lat, dist = np.abs(band.lat[mine]), band.dist[mine]
        assert np.all(lat <= dist + 1e-9)
        inner = (band.node[mine] > 0.5) & (band.node[mine] < len(path) - 1.5)
        assert np.mean(np.abs(lat - dist)[inner] < 1e-9) > 0.9


def test_nearest_centres_gives_each_pixel_its_nearest_centre() -> None:
    rng = np.random.default_rng(8)
    cx, cy = rng.uniform(-5, 85, 25), rng.uniform(-5, 65, 25)
    near = nearest_centres(cx, cy, 80, 60, 6)
    gy, gx = np.mgrid[0:60, 0:80].astype(np.float64)
    d = np.hypot(near.dx, near.dy)
    brute = np.hypot(gx[..., None] - cx, gy[..., None] - cy).min(axis=-1)
    assert np.all(near.index >= 0)
    assert np.mean(d <= brute + 1.0) == 1.0 and np.mean(np.abs(d - brute) < 1e-9) > 0.9


def test_quilting_copies_the_exemplar_in_patches() -> None:
    d = dataclasses.replace(make_design(3), network="honeycomb")
    ex = exemplar(stream(3, "ex"), d, 6.0, 120)
    out = quilt(stream(3, "q"), ex, 90, 110, 20, 6)
    again = quilt(stream(3, "q"), ex, 90, 110, 20, 6)
    assert out.shape == (90, 110, 3) and np.array_equal(out, again)
    # every texel is one of the exemplar's, and whole exemplar patches carry over
    known = {tuple(v) for v in ex.reshape(-1, 3).tolist()}
    assert all(tuple(v) in known for v in out.reshape(-1, 3).tolist())
    assert out[..., 0].std() > 0.5 * ex[..., 0].std()


# ---------------------------------------------------------------- variety


def test_looks_span_the_factors() -> None:
    lengths, tones, curls, colours, lights, networks = set(), set(), set(), set(), set(), set()
    for seed in range(200):
        d = make_design(seed)
        lengths.add(d.hair_length)
        tones.add(d.skin_tone)
        curls.add(d.curl)
        colours.add(d.hair_colour)
        lights.add(d.light)
        networks.add(d.network)
    assert lengths == {"trimmed", "long", "mixed"}
    assert tones == {"light", "medium", "dark"}
    assert curls == set(CURLS)
    assert colours == set(HAIR_COLOURS)
    assert lights == {"polarised", "non-polarised"}
    assert networks == {"honeycomb", "labyrinth", "faint", "none"}
    _, bald = generate(0, um_per_px=15.0, width=32, height=32, hairless=True)
    assert bald["factors"]["hair_length"] == "hairless"


def test_density_spans_bald_to_dense() -> None:
    densities = [make_design(s).density_per_cm2 for s in range(300)]
    assert min(densities) < 5.0
    assert any(5.0 <= d <= 40.0 for d in densities)
    assert any(250.0 <= d <= 400.0 for d in densities)
    assert max(densities) <= 400.0
