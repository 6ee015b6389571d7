"""blind-22, the independent held-out generator that paints hair as texture-mapped cards on
clothoid axes (inverse bilinear lookup, summed-area-table filtering), over turning-bands skin
with a Hessian-ridge network, through a hexagonal iris onto an RGBW mosaic: its contract,
its site/visit semantics, that its truth matches its pixels, and each part alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

import tests.generator_checks as gc
from sim.blind22 import GENERATOR, generate
from sim.blind22.camera import btc, demosaic, expose, illumination, iris_transfer, untone
from sim.blind22.cards import Frags, Looks, Quads, front_to_back, paint, sprites, strip, unbilinear
from sim.blind22.clothoid import Axis, euler_step, shaft
from sim.blind22.frame import Frame
from sim.blind22.site import site_look, stream
from sim.blind22.skin import kubelka_munk, network, turning_bands
from sim.blind22.texture import PER_Q, Q_MAX, Strands

PACKAGE = Path(__file__).resolve().parents[1] / "sim" / "blind22"
SMALL: dict[str, Any] = {"um_per_px": 8.0, "width": 64, "height": 48}  # a call that draws
# its own ranges: scale (um/px), width and height (px), each (lowest, highest); top regrowth
LIMITS = ((3.0, 12.0), (32, 2028), (32, 1521), 4.0)


def _site(seed: int) -> dict[str, Any]:
    return gc.site_looks(site_look)[seed]


def _dense(n: int, low: float = 120.0, **want: Any) -> list[int]:
    """The first ``n`` sites (of 0-399) denser than ``low`` with each wanted look."""
    return gc.seeds_where(site_look, n, low, **want)


def _holding_hair(n: int, low: float, **want: Any) -> list[int]:
    """:func:`_dense` sites of skin types I-IV whose 240 x 180 frame at 8 um/px holds hair (a
    unit-clustered site of 200 hairs/cm2 leaves such a frame bare now and then; on types V
    and VI brown hair is lighter than the skin, and the shared check wants hair that darkens)."""
    seeds = [s for s in _dense(4 * n, low, **want) if _site(s)["fitzpatrick"] <= 4]
    return [s for s in seeds if generate(s, um_per_px=8.0, width=240, height=180)[1]["hairs"]][:n]


def _dark_trimmed(n: int, low: float = 100.0, brown: bool = False) -> list[int]:
    """Sites of black or dark brown (with ``brown``, brown too) trimmed hair on skin I-III."""
    dark = ("black", "dark brown", "brown") if brown else ("black", "dark brown")
    seeds = _dense(400, low, hair_colour=dark, hair_length=("trimmed",))
    return [s for s in seeds if _site(s)["fitzpatrick"] <= 3][:n]


def _hair(**change: Any) -> dict[str, Any]:
    """A straight square-cut stub along +x from the world origin, 60 um thick."""
    hr: dict[str, Any] = {
        "x": -200.0,
        "y": 0.0,
        "d": 60.0,
        "kind": "terminal",
        "new": False,
        "lies": False,
        "end": "cut",
        "cut_style": "square",
        "length_3d": 400.0,
        "elevation": 0.0,
        "bend": 0.0,
        "sway": 0.0,
        "cut_deg": 40.0,
        "white": False,
        "shape_key": 7,
        "strand": 0,
        "azimuth": 0.0,
        "id": 1,
    }
    return {**hr, **change}


def _cover(frame: Frame, hr: dict[str, Any]) -> np.ndarray:
    """One shaft's card painted alone, opaque: cover per pixel."""
    sh = shaft(hr)
    quads = strip(frame, sh, 0)
    one = np.ones(1)
    looks = Looks(
        np.array([sh.radius]),
        np.array([sh.length]),
        np.array([sh.taper_from]),
        np.array([sh.fray_from]),
        np.array([sh.slant]),
        np.zeros(1, np.int64),
        np.zeros(1, np.int64),
        np.full((1, 3), 0.1),
        np.full((1, 3), 0.1),
        one,
        np.zeros(1),
    )
    f = paint(frame, quads, looks, Strands(stream(1, "t")), 0.0)
    out = np.zeros(frame.w * frame.h)
    np.add.at(out, f.pixel, f.cover)
    return out.reshape(frame.h, frame.w)


def test_imports_nothing_foreign() -> None:
    assert gc.foreign_imports(PACKAGE, "sim.blind22") == [] and GENERATOR == "blind-22"


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


# the checks every generator passes, with blind-22's sites
SHARED: dict[str, Callable[[], Any]] = {
    "truth_over_frames": lambda: gc.check_truth_over_frames(
        generate, "blind-22", 12, (3.0, 4.9, 5.0, 7.9, 8.0, 12.0)
    ),
    "deterministic": lambda: gc.check_deterministic_and_seeds_matter(generate),
    "same_site_any_scale": lambda: gc.check_same_site_at_any_scale(generate, _dense(6)),
    "emergence_outside": lambda: gc.check_emergence_outside(generate, _dense(6)),
    "hairless_same_site": lambda: gc.check_hairless_is_the_same_site(
        generate, _holding_hair(3, 150.0, hair_colour=("black", "dark brown", "brown"))
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
    white = _dense(120, 40.0, hair_colour=("white",))
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
    (listed with ``cut`` False)."""
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


def test_a_clothoid_piece_in_closed_form_is_the_integral_of_its_heading() -> None:
    """Spirals of either sign, nearly circular ones, arcs and lines: the Fresnel form is the
    numerical integral of exp(i heading) within 1e-6 um; a chain's heading and curvature are
    continuous across its knots."""
    for th, k, c, t in [
        (0.3, 2e-3, 1e-5, 150.0),
        (1.0, -3e-3, -2e-6, 160.0),
        (0.2, 3e-3, 1e-11, 160.0),
        (0.2, 0.0, 5e-6, 160.0),
        (0.5, 1e-3, 0.0, 100.0),
        (2.0, 0.0, 0.0, 90.0),
    ]:
        s = np.linspace(0.0, t, 200_001)
        want = np.trapezoid(np.exp(1j * (th + k * s + 0.5 * c * s * s)), s)
        assert abs(complex(euler_step(th, k, c, t)) - want) < 1e-6
    axis = Axis(
        1 + 2j, 0.4, np.array([0.0, 100.0, 250.0, 330.0]), np.array([1e-3, -2e-3, 4e-3, 0.0])
    )
    for knot in axis.s[1:-1]:
        (p0, p1), (h0, h1) = axis.at(np.array([knot - 1e-6, knot + 1e-6]))
        assert abs(p1 - p0) == pytest.approx(2e-6, rel=1e-3) and h1 - h0 == pytest.approx(
            0, abs=1e-7
        )
    (end,), _ = axis.at(np.array([330.0]))
    fine = np.linspace(0.0, 330.0, 330_001)
    _, heads = axis.at(fine)
    assert abs(end - (1 + 2j) - np.trapezoid(np.exp(1j * heads), fine)) < 1e-4


def test_the_bilinear_inverse_finds_where_a_point_lies_on_its_quad() -> None:
    """Random convex quads (trapezoids and kites turned every way, as strips make them):
    points made from known (u, v) come back to them."""
    g = np.random.default_rng(4)
    n = 500
    centre = g.uniform(0, 100, (n, 2))
    box = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])  # a, b, c, d
    corners = [centre + box[j] * g.uniform(3, 12, (n, 2)) for j in range(4)]
    turn = g.uniform(0, 2 * math.pi, n)
    rot = np.stack(
        [np.stack([np.cos(turn), -np.sin(turn)], 1), np.stack([np.sin(turn), np.cos(turn)], 1)], 1
    )
    corners = [centre + np.einsum("nij,nj->ni", rot, c - centre) for c in corners]
    quads = Quads(*corners, np.zeros(n), np.ones(n), np.zeros(n, np.int64))
    u, v = g.uniform(0, 1, n), g.uniform(0, 1, n)
    a, b, c, d = corners
    p = (
        a * ((1 - u) * (1 - v))[:, None]
        + b * (u * (1 - v))[:, None]
        + c * (u * v)[:, None]
        + d * ((1 - u) * v)[:, None]
    )
    got_u, got_v = unbilinear(quads, np.arange(n), p[:, 0], p[:, 1])
    assert np.allclose(got_u, u, atol=1e-7) and np.allclose(got_v, v, atol=1e-7)


def test_a_card_covers_its_fibre_width_and_ends_where_cut() -> None:
    """Across a straight card the summed cover is the fibre's width in px (sub-pixel fibres
    included), whole pixels inside are covered; a square cut covers its width up to the
    axis end and nothing 2 px past it; a taper's summed cover falls toward its tip."""
    frame = Frame(120, 60, 5.0)
    for d_um in (4.0, 12.0, 31.0, 60.0, 110.0):
        column = _cover(frame, _hair(d=d_um))[:, 50]
        assert column.sum() == pytest.approx(d_um / 5.0, abs=0.03), d_um
        assert column.max() <= 1.0 + 1e-9
        if d_um >= 30:
            assert (column > 0.999).sum() >= math.floor(d_um / 5.0) - 1
    cov = _cover(frame, _hair())
    tip_u = 59.5 + 200.0 / 5.0
    assert cov[25:35, int(tip_u) - 2].min() > 0.99 and cov[:, int(tip_u) + 2].max() == 0
    root_u = 59.5 - 200.0 / 5.0
    assert cov[:, int(root_u) - 2].max() == 0 and cov[25:35, int(root_u) + 2].min() > 0.99
    tapered = _cover(frame, _hair(end="taper", cut_style="none")).sum(0)
    assert (
        tapered[30] == pytest.approx(12.0, abs=0.05) and tapered[int(tip_u) - 3] < 0.4 * tapered[30]
    )
    oblique = _cover(frame, _hair(cut_style="oblique", cut_deg=45.0))
    top, bottom = oblique[:30].sum(), oblique[30:].sum()  # the face slants: one side is longer
    assert abs(top - bottom) == pytest.approx(
        30.0 * 30.0 * math.tan(math.radians(45)) / 25.0, rel=0.05
    )


def test_the_summed_area_tables_average_the_texture_exactly() -> None:
    """A lookup is the mean of the texels over its box (from a fine brute-force sum), for
    boxes from a fraction of a texel to many radii wide; along, it wraps."""
    st = Strands(stream(3, "t"))
    g = np.random.default_rng(1)
    for _ in range(40):
        var, q, f = int(g.integers(0, 8)), float(g.uniform(-3, 3)), float(g.uniform(0.05, 4.0))
        got = st.across(np.array([var]), np.array([q]), np.array([f]))[0]
        xs = np.linspace(q - f / 2, q + f / 2, 20_001)
        j = np.clip(((xs + Q_MAX) * PER_Q).astype(int), 0, st.across_texels.shape[1] - 1)
        want = st.across_texels[var][j].mean(axis=0)
        assert np.allclose(got, want, atol=2e-3)
    a = st.along(np.array([10.0, 10.0 + 4096.0]), np.array([30.0, 30.0]))
    assert np.allclose(a[0], a[1])


def test_sprites_cover_discs_rings_and_lobed_flakes_by_their_areas() -> None:
    frame = Frame(100, 100, 5.0)
    st = Strands(stream(3, "t"))

    def area(r: float, hole: float, lobes: np.ndarray) -> float:
        _, _, cover, _ = sprites(
            frame,
            np.array([49.3]),
            np.array([50.6]),
            np.array([r]),
            np.array([hole]),
            lobes[None, :],
            st,
        )
        return float(cover.sum())

    zero = np.zeros(6)
    assert area(12.0, 0.0, zero) == pytest.approx(math.pi * 144, rel=0.01)
    # a sprite under a pixel wide gains the radial filter's second moment (its footprint
    # averages 1.27 px across): pi (r^2 + 1.27^2 / 12)
    assert area(0.7, 0.0, zero) == pytest.approx(math.pi * (0.49 + 1.27**2 / 12), rel=0.05)
    assert area(15.0, 0.6, zero) == pytest.approx(math.pi * 225 * (1 - 0.36), rel=0.01)
    lobed = np.array([0.2, 0.5, 0.0, 0.0, 0.0, 0.0])  # r (1 + 0.2 cos 2a): area pi r^2 (1 + 0.02)
    assert area(20.0, 0.0, lobed) == pytest.approx(math.pi * 400 * 1.02, rel=0.01)


def test_front_to_back_is_the_over_operator_laid_from_the_bottom_up() -> None:
    g = np.random.default_rng(2)
    n, npix = 300, 7
    f = Frags(g.permutation(n), g.integers(0, npix, n), g.uniform(0, 1, n), g.uniform(0, 1, (n, 3)))
    colour, through = front_to_back(f, npix)
    for p in range(npix):
        want, show = np.zeros(3), 1.0
        for i in sorted(np.flatnonzero(f.pixel == p), key=lambda i: f.rank[i]):
            a = min(f.cover[i], 0.9999)
            want, show = want * (1 - a) + a * f.rgb[i], show * (1 - a)
        assert np.allclose(colour[p], want) and through[p] == pytest.approx(show)


def test_turning_bands_are_unit_fields_tied_to_the_world() -> None:
    """A field has mean about 0 and variance about 1 over a wide area, and a world point gets
    the same value whatever grid it is sampled on."""
    kernel = np.exp(-0.5 * (np.arange(-12, 13) / 4.0) ** 2)
    x, y = np.meshgrid(np.arange(0, 20000.0, 50.0), np.arange(0, 20000.0, 50.0))
    f = turning_bands(9, "t", x, y, kernel, 10.0)
    assert abs(f.mean()) < 0.1 and f.var() == pytest.approx(1.0, abs=0.15)
    some = turning_bands(9, "t", x[100:103, 50:53], y[100:103, 50:53], kernel, 10.0)
    assert np.allclose(some, f[100:103, 50:53], atol=1e-4)


def test_the_network_draws_thin_lines_round_cells() -> None:
    """The Hessian-ridge network marks a minority of the skin, as lines: most marked pixels
    have unmarked pixels within half a cell on both sides."""
    frame = Frame(400, 300, 4.0)
    lines = network(5, frame, 160.0) > 0.5
    assert 0.08 < lines.mean() < 0.4
    thin = ndimage.binary_erosion(lines, iterations=4)  # a line is under 8 px (32 um) wide
    assert thin.sum() < 0.1 * lines.sum()


def test_the_iris_and_light_pieces_behave() -> None:
    """The iris passes the mean, its spot has the hexagon's sixfold symmetry (not a disc's);
    Kang-Weiss vignetting is 1 at the centre and loses about its share at the corners;
    Kubelka-Munk reflectance falls from 1 as K/S grows."""
    t = iris_transfer((256, 256), 9.0, 0.0, 0.0)
    assert t[0, 0] == pytest.approx(1.0)
    fy, fx = np.fft.fftfreq(256)[:, None], np.fft.rfftfreq(256)[None, :]
    r, a = np.hypot(fx, fy), np.arctan2(fy, fx)
    ring = np.abs(r - 0.15) < 0.004
    by_angle = [
        t[
            ring & (np.abs(((a - k * math.pi / 6) + math.pi) % (2 * math.pi) - math.pi) < 0.06)
        ].mean()
        for k in (0, 1, 2)
    ]
    assert by_angle[0] == pytest.approx(by_angle[2], abs=0.01)  # 0 and 60 degrees alike
    assert by_angle[0] < 0 < by_angle[1]  # 30 degrees differs: across a side, not a corner
    light = illumination(301, 401, np.random.default_rng(0), 0.4)
    assert light[150, 200] == pytest.approx(1.0, abs=0.08)
    assert 0.35 < light[0, 0] / light[150, 200] < 0.75
    ks = np.array([0.0, 0.1, 1.0, 10.0])
    assert np.all(np.diff(kubelka_munk(ks)) < 0) and kubelka_munk(ks)[0] == 1.0


def test_the_rgbw_mosaic_and_its_demosaic_give_back_colour() -> None:
    """A flat colour through the mosaic, noise and the demosaic comes back as itself (within a
    few per cent), and W photosites read more than the colour ones."""
    light = np.ones((48, 64, 3)) * np.array([0.5, 0.3, 0.2])
    raw = expose(light, 1.0, np.random.default_rng(1))
    assert raw[0::2, 0::2].mean() > raw[0, 1] + 200  # W (even rows, even columns) vs G
    rgb = demosaic(raw, 1.0).reshape(-1, 3).mean(0)
    assert rgb == pytest.approx([0.5, 0.3, 0.2], rel=0.06)


def test_block_truncation_keeps_block_means_and_loses_with_fewer_levels() -> None:
    g = np.random.default_rng(3)
    ramps = np.linspace(0, 255, 53)[None, :, None] * np.array([1.0, 0.7, 0.4])
    img = np.clip(ramps + g.normal(0, 12, (37, 53, 3)), 0, 255).astype(np.uint8)
    assert np.array_equal(btc(img, 0), img)
    errs = [float(np.abs(btc(img, k).astype(int) - img.astype(int)).mean()) for k in (4, 2)]
    assert 0 < errs[0] < errs[1] < 12
    grey = np.repeat(img[..., :1], 3, axis=2)[:36, :52]  # grey: luma only, blocks whole
    back = btc(grey, 2).astype(float)[..., 0].reshape(9, 4, 13, 4).mean(axis=(1, 3))
    assert (
        np.abs(back - grey[..., 0].astype(float).reshape(9, 4, 13, 4).mean(axis=(1, 3))).max() < 1.5
    )


def test_the_tone_curve_inverts() -> None:
    x = np.linspace(0.0, 1.2, 50)
    from sim.blind22.camera import tone

    img = tone(np.repeat(x[:, None, None], 3, axis=2), np.random.default_rng(0))
    back = untone(img)[:, 0, :].mean(axis=1)
    assert np.allclose(back[5:40], x[5:40], rtol=0.08)


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
    """Full width at half depth of a profile holding one clean dip; None for any other."""
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
    depth of the dip in linear light (the frame through the tone curve's inverse) against the
    hairless frame is the listed diameter, the median within 6 % over at least 30 isolated
    profiles."""
    um, w, h = 5.0, 640, 480
    to_luma = np.array([0.299, 0.587, 0.114])
    ratios = []
    for seed in _dark_trimmed(24, 60.0, brown=True):
        img, truth = generate(seed, um_per_px=um, width=w, height=h)
        bare, _ = generate(seed, um_per_px=um, width=w, height=h, hairless=True)
        dip = (untone(bare) - untone(img)) @ to_luma
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
    print("FWHM / diameter quartiles", quartiles, len(ratios))
    assert len(ratios) >= 30 and abs(float(np.median(ratios)) - 1) < 0.06, (len(ratios), quartiles)
