"""blind-21, the independent held-out generator that grows shafts as chains of circular arcs
and fills every shape by a Lipschitz-bounded quadtree, over Cahn-Hilliard skin, through a
cat's-eye lens onto a CYGM mosaic: its contract, its site/visit semantics and that its truth
matches its pixels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tests.generator_checks as gc
from sim.blind21 import generate
from sim.blind21.growth import View, disc, grow, ring, spine
from sim.blind21.jp2 import analyse, codec, synthesise
from sim.blind21.lens import overlap_area, recursive_gauss
from sim.blind21.quadtree import LIP, X0, X1, Y0, Y1, bound, piece_table, rasterise
from sim.blind21.sensor import demosaic, expose, unfilmic
from sim.blind21.skin import cahn_hilliard
from sim.blind21.world import rng, site_look

# the contract blind-21 shares with blind-22 (tests.generator_checks), with blind-21's own
# tolerance: the drawn widths' median within 4 % of the listed diameters, in linear light
# (in the 8-bit frame the dip reads about 10 % narrower: the curve lifts the blurred edges)
CONTRACT = gc.contract_checks(
    gc.Contract("blind-21", "sim.blind21", generate, site_look, unfilmic, width_tol=0.04)
)


@pytest.mark.parametrize("check", CONTRACT)
def test_the_contract(check: str) -> None:
    CONTRACT[check]()


def _cover(view: View, chain: Any) -> np.ndarray:
    """A chain filled alone on the view's frame: coverage per pixel."""
    table = piece_table(view, chain, np.zeros(chain.size, np.int64))
    frags = rasterise(table, view.w, view.h)
    out = np.zeros(view.w * view.h)
    np.add.at(out, frags.pixel, frags.cover)
    return out.reshape(view.h, view.w)


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
