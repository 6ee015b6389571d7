"""blind-21, the independent held-out generator that grows shafts as chains of circular arcs
and fills every shape by a Lipschitz-bounded quadtree, over Cahn-Hilliard skin, through a
cat's-eye lens onto a CYGM mosaic: its contract, its site/visit semantics and that its truth
matches its pixels."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

import tests.generator_checks as gc
from sim.blind21 import GENERATOR, generate
from sim.blind21.growth import View, disc, grow, ring, spine
from sim.blind21.jp2 import analyse, codec, synthesise
from sim.blind21.lens import overlap_area, recursive_gauss
from sim.blind21.quadtree import LIP, X0, X1, Y0, Y1, bound, piece_table, rasterise
from sim.blind21.sensor import demosaic, expose, unfilmic
from sim.blind21.skin import cahn_hilliard
from sim.blind21.world import rng, site_look

PACKAGE = Path(__file__).resolve().parents[1] / "sim" / "blind21"
SMALL: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}  # a call that draws
# its own ranges: scale (um/px), width and height (px), each (lowest, highest); top regrowth
LIMITS = ((3.0, 12.0), (32, 2028), (32, 1521), 4.0)


def _site(seed: int) -> dict[str, Any]:
    return gc.site_looks(site_look)[seed]


def _dense(n: int, low: float = 120.0, **want: Any) -> list[int]:
    """The first ``n`` sites (of 0-399) denser than ``low`` with each wanted look."""
    return gc.seeds_where(site_look, n, low, **want)


def _dark_trimmed(n: int, low: float = 100.0, brown: bool = False) -> list[int]:
    """Sites of black or dark brown (or, with ``brown``, brown) trimmed hair on skin of type
    I-III."""
    dark = ("black", "dark brown", "brown") if brown else ("black", "dark brown")
    seeds = _dense(400, low, hair_colour=dark, hair_length=("trimmed",))
    return [s for s in seeds if _site(s)["fitzpatrick"] <= 3][:n]


def _cover(view: View, chain: Any) -> np.ndarray:
    """A chain filled alone on the view's frame: coverage per pixel."""
    table = piece_table(view, chain, np.zeros(chain.size, np.int64))
    frags = rasterise(table, view.w, view.h)
    out = np.zeros(view.w * view.h)
    np.add.at(out, frags.pixel, frags.cover)
    return out.reshape(view.h, view.w)


def test_imports_nothing_foreign() -> None:
    assert gc.foreign_imports(PACKAGE, "sim.blind21") == [] and GENERATOR == "blind-21"


def test_refusals_name_the_argument_and_what_it_wanted() -> None:
    gc.check_refuses_outside_its_ranges(generate, SMALL, LIMITS)
    with pytest.raises(ValueError, match=r"^um_per_px: wanted a real number in \[3.0, 12.0\]"):
        generate(1, um_per_px=2.5, width=64, height=48)
    with pytest.raises(ValueError, match=r"^regrown factor: .* at most 4.0, got 5"):
        generate(1, um_per_px=5.0, width=64, height=48, regrown=(5, 1))
    with pytest.raises(ValueError, match=r"^width: wanted an integer in \[32, 2028\] pixels"):
        generate(1, um_per_px=5.0, width=np.float64(64), height=48)


@pytest.mark.parametrize("kwargs", gc.range_ends(*LIMITS))
def test_range_ends_draw(kwargs: dict[str, Any]) -> None:
    gc.check_range_end(generate, kwargs)


def test_a_large_frame_of_long_hair_draws() -> None:
    seed = _dense(1, 200.0, hair_length=("long",))[0]
    img, truth = generate(seed, um_per_px=12.0, width=1024, height=768)
    assert img.shape == (768, 1024, 3) and truth["density_per_cm2"] > 120
    gc.check_truth_contract(truth, 1024, 768, 12.0)
    assert truth["tips"] and truth["tips_covered"]  # long hair crosses hair
    assert img.std() > 10 and len(np.unique(img.reshape(-1, 3), axis=0)) > 5000


# the checks every generator passes, with blind-21's sites
SHARED: dict[str, Callable[[], Any]] = {
    "truth_over_frames": lambda: gc.check_truth_over_frames(
        generate, "blind-21", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0)
    ),
    "deterministic": lambda: gc.check_deterministic_and_seeds_matter(generate),
    "same_site_any_scale": lambda: gc.check_same_site_at_any_scale(generate, _dense(6)),
    "emergence_outside": lambda: gc.check_emergence_outside(generate, _dense(6)),
    "hairless_same_site": lambda: gc.check_hairless_is_the_same_site(
        generate, _dense(3, 150.0, hair_colour=("black", "dark brown", "brown"))
    ),
    "follow_up": lambda: gc.check_follow_up_keeps_subset_or_adds(generate, _dense(4)),
    "densities": lambda: gc.check_densities_span_bare_to_dense(generate),
    "density_follows_hair": lambda: gc.check_density_follows_the_drawn_hairs(
        generate, gc.site_looks(site_look)
    ),
}


@pytest.mark.parametrize("check", SHARED)
def test_the_shared_generator_checks(check: str) -> None:
    SHARED[check]()


def test_hairless_frames_and_bare_sites_list_nothing() -> None:
    """Hairless frames list no hair, tip or outside root, have density 0 and draw the same
    twice; a bare site's frame with its hair lists none either, and is its hairless frame."""
    hairless: dict[str, Any] = {"um_per_px": 6.0, "width": 160, "height": 120, "hairless": True}
    for seed in _dense(4):
        first, truth = generate(seed, **hairless)
        empty = ("hairs", "tips", "tips_covered", "emergence_outside")
        assert all(truth[k] == [] for k in empty) and truth["density_per_cm2"] == 0.0
        assert np.array_equal(first, generate(seed, **hairless)[0])
    bare = [s for s in range(400) if _site(s)["pattern"] == "bare"]
    assert len(bare) >= 2
    for seed in bare[:2]:
        img, truth = generate(seed, um_per_px=10.0, width=320, height=240)
        skin_only, _ = generate(seed, um_per_px=10.0, width=320, height=240, hairless=True)
        assert truth["hairs"] == [] and truth["tips"] == [] and truth["density_per_cm2"] == 0
        assert np.array_equal(img, skin_only)  # the same skin, marks and noise


def test_regrowth_follows_its_factor() -> None:
    """Pooled over dense sites and three visits, a follow-up lists the factor times the
    baseline's hairs (within 15 %), for a heavy loss and for threefold growth."""
    frame: dict[str, Any] = {"um_per_px": 10.0, "width": 480, "height": 360}
    sites = _dense(8, 150.0)

    def listed(**visit: Any) -> int:
        return sum(len(generate(s, **frame, **visit)[1]["hairs"]) for s in sites)

    baseline = listed()
    for factor in (0.25, 3.0):
        pooled = sum(listed(regrown=(factor, v)) for v in (4, 5, 6)) / 3
        assert pooled / baseline == pytest.approx(factor, rel=0.15), (factor, baseline, pooled)


def test_hair_lies_where_the_truth_puts_it() -> None:
    """Dark trimmed hair on light skin is dark just ahead of its roots and inside its cut
    tips, skin behind and past them; white hair on dark skin is lighter ahead of its roots."""
    dark = gc.hair_contrast(generate, _dark_trimmed(16), False, None)
    gc.check_dark_hair_where_the_truth_puts_it(dark)
    white = _dense(80, 40.0, hair_colour=("white",))
    white = [s for s in white if _site(s)["fitzpatrick"] >= 4][:10]
    gc.check_light_hair_where_the_truth_puts_it(gc.hair_contrast(generate, white, True, None), n=10)


def test_every_kind_tone_colour_and_light_turns_up() -> None:
    counts = gc.check_variety(generate, 40)
    kinds = {"terminal", "vellus", "intermediate", "black_dot", "broken"}
    assert kinds <= set(counts["kinds"]) and len(counts["colours"]) >= 7
    assert min(counts["ends"][True], counts["ends"][False]) > 10
    assert counts["lights"]["polarised"] > 10


def test_cut_tips_are_listed_apart_in_every_style() -> None:
    """Over trimmed sites, tips come as cut (square, oblique and frayed) and as natural tapers
    (listed with ``cut`` False), and every listed tip names a hair drawn in the frame or
    reaching it."""
    styles: set[str] = set()
    tapers = 0
    for seed in _dense(12, 150.0, hair_length=("trimmed", "mixed")):
        _, t = generate(seed, um_per_px=8.0, width=320, height=240)
        for tip in t["tips"] + t["tips_covered"]:
            if tip["cut"]:
                assert tip["end"] == "cut" and tip["cut_style"] in ("square", "oblique", "frayed")
                styles.add(tip["cut_style"])
            else:
                assert tip["end"] == "taper" and tip["cut_style"] == "none"
                tapers += 1
    assert styles == {"square", "oblique", "frayed"} and tapers > 5


def test_black_dots_darken_the_skin_where_listed() -> None:
    """On alopecia areata sites of skin types I-IV, the listed black dots' 3x3 pixels are
    darker than the hairless frame's by over 15 luma levels for more than 70 % of dots."""
    sites = [s for s in range(400) if _site(s)["pattern"] == "alopecia_areata"]
    sites = [s for s in sites if _site(s)["fitzpatrick"] <= 4][:12]
    frame: dict[str, Any] = {"um_per_px": 6.0, "width": 480, "height": 360}
    darkening = []
    for seed in sites:
        img, truth = generate(seed, **frame)
        dots = [(h["x_px"], h["y_px"]) for h in truth["hairs"] if h["kind"] == "black_dot"]
        if dots:
            lighter = gc.luma(generate(seed, hairless=True, **frame)[0]) - gc.luma(img)
            darkening += [gc.mean_around(lighter, x, y) for x, y in dots]
    assert len(darkening) >= 4
    assert float(np.mean(np.array(darkening) > 15)) > 0.7, darkening


def test_the_quadtree_fills_bands_discs_and_rings_by_their_areas() -> None:
    """A straight band's coverage summed across is its width (a sub-pixel fibre included),
    whole pixels inside it are fully covered and its edges share a pixel; a disc, a ring and a
    bent band cover their areas."""
    view = View(80, 60, 5.0)
    for d_um in (4.0, 10.0, 31.0, 60.0, 110.0):
        band = grow(-250.0, 1.3, 0.0, np.zeros(8), np.full(8, 100.0), np.full(9, d_um / 2))
        column = _cover(view, band)[:, 40]
        assert column.sum() == pytest.approx(d_um / 5.0, abs=0.02), d_um
        assert column.max() <= 1.0 + 1e-9
        if d_um >= 30:
            assert (column > 0.999).sum() >= math.floor(d_um / 5.0) - 1
    assert _cover(view, disc(0.0, 0.0, 40.0)).sum() == pytest.approx(math.pi * 64, rel=0.01)
    annulus = math.pi * ((100 / 5) ** 2 - (60 / 5) ** 2)
    assert _cover(view, ring(0.0, 0.0, 80.0, 20.0)).sum() == pytest.approx(annulus, rel=0.01)
    bent = grow(-150.0, 50.0, -0.5, np.full(3, 3e-3), np.full(3, 100.0), np.full(4, 15.0))
    assert _cover(view, bent).sum() == pytest.approx(300 / 5 * 30 / 5, rel=0.01)


def test_the_bound_never_misjudges_a_box() -> None:
    """Wherever the bound at a box's centre calls the box wholly outside (or inside) a piece,
    no point of the box is inside (outside) it: checked on tapering, bent, clipped and round
    pieces against a dense grid of points."""
    view = View(200, 150, 4.0)
    chain = grow(
        -300.0,
        -80.0,
        0.4,
        np.array([4e-3, -6e-3, 2e-3]),
        np.full(3, 90.0),
        np.array([30.0, 25.0, 12.0, 3.0]),
    )
    chain.clip[2] = (math.cos(1.0), math.sin(1.0), math.cos(1.0) * -90 + math.sin(1.0) * 40)
    chain = chain.joined(disc(120.0, 90.0, 35.0)).joined(ring(-150.0, 120.0, 60.0, 14.0))
    table = piece_table(view, chain, np.zeros(chain.size, np.int64))
    g = np.random.default_rng(5)
    judged = 0
    for row in table:
        for size in (0.5, 2.0, 8.0):
            cx = g.uniform(row[X0] - 4, row[X1] + 4, 400)
            cy = g.uniform(row[Y0] - 4, row[Y1] + 4, 400)
            f = bound(np.tile(row[:, None], (1, 400)), cx, cy)[0]
            slack = row[LIP] * size * math.sqrt(0.5)
            offs = np.linspace(-size / 2, size / 2, 9)
            ox, oy = (a.ravel() for a in np.meshgrid(offs, offs))
            for k in np.flatnonzero(np.abs(f) > slack):
                pts = bound(np.tile(row[:, None], (1, ox.size)), cx[k] + ox, cy[k] + oy)[1]
                assert ((pts > 0) if f[k] > 0 else (pts < 0)).all()
                judged += 1
    assert judged > 1000


def test_a_square_cut_ends_flat_and_a_taper_narrows() -> None:
    """A square-cut stub covers its width up to its listed tip and nothing a pixel past it;
    a tapering hair's coverage across falls toward its tip."""
    view = View(120, 60, 5.0)
    hr: dict[str, Any] = {
        "x": -200.0, "y": 0.0, "d": 60.0, "kind": "terminal", "new": False, "lies": False,
        "end": "cut", "cut_style": "square", "length_3d": 400.0, "elevation": 0.0,
        "bend": 0.0, "wander": 0.0, "cut_deg": 40.0, "white": False, "spine_key": 7,
        "azimuth": 0.0, "id": 1,
    }  # fmt: skip
    sp = spine(hr)
    assert sp.tip is not None and sp.tip == pytest.approx((200.0, 0.0), abs=1.0)
    cov = _cover(view, sp.chain)
    tip_u = 59.5 + 200.0 / 5.0
    assert cov[25:35, int(tip_u) - 2].min() > 0.99 and cov[:, int(tip_u) + 2].max() == 0
    tapered = spine({**hr, "end": "taper", "cut_style": "none"})
    cov = _cover(view, tapered.chain)
    widths = cov.sum(0)
    assert widths[30] == pytest.approx(12.0, abs=0.05)
    assert widths[int(tip_u) - 3] < 0.4 * widths[30]


def _straight_axes(hairs: list[dict[str, Any]], um: float) -> tuple[np.ndarray, np.ndarray]:
    """Each listed hair's axis as if straight from its root along its direction: points one
    px apart (complex, frame px), and the hair id of each."""
    points: list[np.ndarray] = [np.zeros(0, complex)]
    ids: list[np.ndarray] = [np.zeros(0, np.int64)]
    for hr in hairs:
        steps = np.arange(0.0, hr["length_um"] / um + 1.0)
        heading = np.exp(1j * math.radians(hr["direction_deg"]))
        points.append(complex(hr["x_px"], hr["y_px"]) + heading * steps)
        ids.append(np.full(steps.size, hr["id"], np.int64))
    return np.concatenate(points), np.concatenate(ids)


def _fwhm(dip: np.ndarray, step: float) -> float | None:
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


def test_drawn_widths_match_the_listed_diameters() -> None:
    """Across the middle of trimmed dark stubs on light skin (5 um/px): the full width at half
    depth of the dip in linear luma (the frame through the inverse of the tone curve) against
    the hairless frame is the listed diameter, the median within 4 % over at least 30 isolated
    profiles. (In the 8-bit frame the dip reads about 10 % narrower: the curve lifts the
    blurred edges.)"""
    um, w, h = 5.0, 640, 480
    to_luma = np.array([0.299, 0.587, 0.114])
    ratios = []
    for seed in _dark_trimmed(24, 60.0, brown=True):
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        dip = (unfilmic(bare) - unfilmic(img)) @ to_luma
        axes, owner = _straight_axes(truth["hairs"], um)
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
            width = _fwhm(ndimage.map_coordinates(dip, [line.imag, line.real], order=1), 0.25)
            ratios += [] if width is None else [width * um / hr["diameter_um"]]
    quartiles = np.percentile(ratios, [25, 50, 75]) if ratios else None
    assert len(ratios) >= 30 and abs(float(np.median(ratios)) - 1) < 0.04, (len(ratios), quartiles)


def test_the_wavelet_codec_reconstructs_and_loses_with_its_step() -> None:
    g = np.random.default_rng(3)
    x = g.normal(0, 1, (5, 24))
    assert np.allclose(synthesise(*analyse(x)), x, atol=1e-12)
    ramps = np.linspace(0, 255, 53)[None, :, None] * np.array([1.0, 0.7, 0.4])
    img = np.clip(ramps + g.normal(0, 12, (37, 53, 3)), 0, 255).astype(np.uint8)
    assert np.array_equal(codec(img, 0.0), img)
    assert np.array_equal(codec(img, 1e-6), img)  # the transform alone loses nothing
    errs = [float(np.abs(codec(img, s).astype(int) - img.astype(int)).mean()) for s in (2, 4, 8)]
    assert 0 < errs[0] < errs[1] < errs[2] < 8  # under the coarsest step, noise and all


def test_the_mosaic_and_its_demosaic_give_back_colour() -> None:
    """A flat colour through the CYGM mosaic, noise and the demosaic comes back as itself
    (within a few per cent), and each photosite saw only its own filter."""
    light = np.ones((40, 60, 3)) * np.array([0.5, 0.3, 0.2])
    look = {"exposure": 1.0}
    raw = expose(light, look, rng(1, "a"), rng(1, "b"))
    assert abs(raw[0::2, 0::2].mean() - raw[0::2, 1::2].mean()) > 30  # cyan vs yellow sites
    rgb = demosaic(raw, rng(1, "c")).reshape(-1, 3).mean(0)
    assert rgb == pytest.approx([0.5, 0.3, 0.2], rel=0.1)


def test_the_optics_pieces_behave() -> None:
    """Cat's-eye vignetting is the discs' overlap (full on axis, none once apart); the
    recursive Gaussian keeps the mean and spreads an impulse by its sigma; Cahn-Hilliard keeps
    its mix and separates into two phases."""
    r = np.array([0.0, 0.05, 0.5, 1.0, 2.2, 2.5])
    area = overlap_area(r, 1.0, 1.2)
    assert area[0] == pytest.approx(math.pi) and area[1] == pytest.approx(math.pi)
    assert area[2] > area[3] > area[4] == 0 and area[5] == 0
    impulse = np.zeros((81, 81))
    impulse[40, 40] = 1.0
    blurred = recursive_gauss(impulse, 3.0)
    assert blurred.sum() == pytest.approx(1.0, abs=0.01)
    spread = (blurred.sum(0) * (np.arange(81) - 40) ** 2).sum()
    assert math.sqrt(spread) == pytest.approx(3.0, rel=0.05)
    field = cahn_hilliard(np.random.default_rng(2), 64, -0.3, 110)
    assert field.mean() == pytest.approx(-0.3, abs=0.01)
    assert np.mean(np.abs(field) > 0.6) > 0.6  # from a start within 0.05 of the mix
    assert (field > 0.5).mean() > 0.1 and (field < -0.5).mean() > 0.4  # drops in a matrix
