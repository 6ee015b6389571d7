"""The twin's randomised appearance and the training targets that mark tips and shafts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage

from inference.targets import N_MAPS, SHAFT_MAP, TIP_MAP, training_targets
from sim.appearance import (
    END_SHAPES,
    LEGACY,
    TRICHOSCOPY,
    Style,
    cell_edges,
    pigment_network,
    random_style,
    style_for,
)
from sim.config import ScalpConfig
from sim.render import ScalpScene, View, cut_tips, scalp_truth, shaft_points
from sim.scalp import generate_scalp, regrow


def _one_hair_world(end_trimmed: bool = True):  # type: ignore[no-untyped-def]
    world = generate_scalp(ScalpConfig(seed=4, hair_length="trimmed", density_per_cm2=40))
    h = world.hairs
    pick = np.zeros(len(h), dtype=bool)
    pick[0] = True
    fields = {f.name: getattr(h, f.name)[pick] for f in dataclasses.fields(h)}
    fields.update(
        x_mm=np.array([0.0]),
        y_mm=np.array([0.0]),
        angle_rad=np.array([0.0]),
        curvature_per_mm=np.array([0.0]),
        length_mm=np.array([0.6]),
        diameter_um=np.array([80.0]),
        rgb=np.array([[0.03, 0.03, 0.03]]),
        trimmed=np.array([end_trimmed]),
    )
    return dataclasses.replace(world, hairs=type(h)(**fields))


def _skin_grid(upp: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """World coordinates (mm) of the pixel centres of an n x n view at ``upp`` um/px."""
    g = (np.arange(n) + 0.5) * upp / 1000.0
    gx, gy = np.meshgrid(g, g)
    return gx, gy


def test_a_style_is_fixed_by_its_seed_and_seeds_differ() -> None:
    assert style_for("random", 5) == style_for("random", 5)
    assert style_for("random", 5) != style_for("random", 6)
    assert style_for("trichoscopy") is TRICHOSCOPY
    assert style_for("legacy") is LEGACY
    with pytest.raises(ValueError, match="unknown look"):
        style_for("glossy")


@pytest.mark.parametrize("k", range(4))
def test_skin_texture_is_anchored_to_the_scalp_not_the_view(k: int) -> None:
    # Two views 10 px apart show the same skin where they overlap: what relocation needs.
    style = random_style(np.random.default_rng(k))
    world = regrow(generate_scalp(ScalpConfig(seed=k, extent_mm=14.0)), 0.0)
    scene = ScalpScene(world, style)
    upp = 6.0
    a, _ = scene.reflectance(View(0.0, 0.0, 0.0, upp, 120, 100))
    b, _ = scene.reflectance(View(10 * upp / 1000.0, 0.0, 0.0, upp, 120, 100))
    np.testing.assert_allclose(a[:, 10:], b[:, :-10], atol=2e-4)
    assert float(a.std()) > 0.0


def test_the_tip_of_a_trimmed_hair_is_where_its_shaft_ends() -> None:
    world = _one_hair_world()
    view = View(0.0, 0.0, 0.0, 5.0, 400, 300)
    tips = cut_tips(world, view)
    assert len(tips) == 1
    u, v = view.world_to_pixel(np.array([0.6]), np.array([0.0]))
    assert tips[0]["x_px"] == pytest.approx(float(u[0]), abs=0.02)
    assert tips[0]["y_px"] == pytest.approx(float(v[0]), abs=0.02)
    assert scalp_truth(world, view)["tips"] == tips
    assert cut_tips(_one_hair_world(end_trimmed=False), view) == []


def test_a_square_cut_end_stops_at_the_tip_a_round_one_does_not() -> None:
    world = _one_hair_world()
    view = View(0.0, 0.0, 0.0, 5.0, 400, 300)
    tip_u = round(float(view.world_to_pixel(np.array([0.6]), np.array([0.0]))[0][0]))
    row = 150

    def beyond(end: str) -> float:
        style = dataclasses.replace(LEGACY, end=end, opening_visibility=0.0)  # type: ignore[arg-type]
        img, _ = ScalpScene(world, style).reflectance(view)
        skin = float(img[row, tip_u + 20].mean())
        return skin - float(img[row, tip_u + 3].mean())  # darkening 3 px past the tip

    assert beyond("round") > 0.1
    assert beyond("square") < 0.02
    assert beyond("tapered") < 0.02


def test_a_root_drawn_square_starts_at_the_emergence_point_a_round_one_does_not() -> None:
    """synth-v20's roots: the shaft leaves its emergence point in a cut end's shape. A round
    root (the twin's cap) darkens the skin just behind the point; a square or tapered one
    does not, and the rest of the shaft and its cut end are drawn as before."""
    world = _one_hair_world()
    view = View(0.0, 0.0, 0.0, 5.0, 400, 300)
    u, _ = view.world_to_pixel(np.array([0.0, 0.6]), np.array([0.0, 0.0]))
    root_u, tip_u = (round(float(x)) for x in u)
    row = 150
    imgs = {}
    for root in ("round", "square", "tapered", "mixed"):
        style = dataclasses.replace(
            LEGACY,
            end="square",
            root_end=root,  # type: ignore[arg-type]
            opening_visibility=0.0,
        )
        imgs[root] = ScalpScene(world, style).reflectance(view)[0].mean(axis=2)
    skin = float(imgs["round"][row, root_u - 20])

    def behind(root: str) -> float:  # darkening 3 px behind the root
        return skin - float(imgs[root][row, root_u - 3])

    assert behind("round") > 0.1
    assert behind("square") < 0.02 and behind("tapered") < 0.02
    mid = slice(root_u + 40, tip_u - 40)
    np.testing.assert_array_equal(imgs["square"][:, mid], imgs["round"][:, mid])
    np.testing.assert_array_equal(imgs["square"][:, tip_u:], imgs["round"][:, tip_u:])
    # mixed: one shape per hair, fixed by the look's seed
    mixed = dataclasses.replace(LEGACY, root_end="mixed", seed=4)
    shapes = {mixed.root_of(i) for i in range(200)}
    assert shapes == set(END_SHAPES) and mixed.root_of(7) == mixed.root_of(7)
    assert LEGACY.root_of(7) == "round" and TRICHOSCOPY.root_of(7) == "round"


def test_training_targets_mark_tips_and_shafts_apart_from_counts() -> None:
    world = _one_hair_world()
    view = View(0.0, 0.0, 0.0, 8.0, 192, 192)
    pts = shaft_points(world, 0, view, step_px=2.0)
    u, v = view.world_to_pixel(world.hairs.x_mm, world.hairs.y_mm)
    tgt = training_targets(
        u, v, world.hairs.diameter_um, pts[-1:], [pts], view.height, view.width, 4
    )
    assert tgt.shape == (5, 48, 48)
    assert float(tgt[:N_MAPS][0].sum()) == pytest.approx(1.0, abs=1e-4)  # one terminal hair
    assert float(tgt[TIP_MAP].sum()) == pytest.approx(1.0, abs=1e-4)  # one tip
    cells = np.argwhere(tgt[SHAFT_MAP] > 0)
    assert len(cells) >= 0.6 * 1000 / 32 - 1  # 0.6 mm of shaft over 32 um cells
    # the tip's mass sits where the shaft ends, not where the hair emerges
    _, ix = np.unravel_index(int(np.argmax(tgt[TIP_MAP])), tgt[TIP_MAP].shape)
    _, jx = np.unravel_index(int(np.argmax(tgt[0])), tgt[0].shape)
    assert abs(int(ix) - int(jx)) >= 15


def test_hairless_skin_has_no_hairs_and_no_tips() -> None:
    world = regrow(generate_scalp(ScalpConfig(seed=9, hair_length="trimmed", extent_mm=14.0)), 0.0)
    truth = scalp_truth(world, View(0.0, 0.0, 0.0, 8.0, 200, 200))
    assert truth["hair_count"] == 0
    assert truth["tips"] == []
    assert int(world.follicles.hair_count.sum()) == 0


@pytest.mark.parametrize("cover", [0.02, 0.1, 0.15])
def test_flakes_cover_the_share_of_skin_the_style_names(cover: float) -> None:
    """flake_cover is the share of skin under flakes, wherever the crop lies (the noise's
    own quantile, not a guess at its shape: the old guess drew 0.11 as 1.5 %)."""
    from sim.appearance import Style, skin_texture

    style = Style(flake_cover=cover, flake_um=200.0, seed=7)
    for x0 in (0.0, 37.0):  # two crops of one scalp, 6 x 6 mm at 10 um/px
        g = np.arange(600) * 0.01 + 0.005
        gx, gy = np.meshgrid(g + x0, g)
        img = np.full((600, 600, 3), 0.3, dtype=np.float32)
        skin_texture(img, gx, gy, style, 0.01)
        flaked = float((img.mean(axis=2) > 0.5).mean())
        assert flaked == pytest.approx(cover, rel=0.5)


def _scaled(cover: float):  # type: ignore[no-untyped-def]
    """8 x 8 mm of skin at 10 um/px with a dark shaft down the middle, under scale."""
    from sim.appearance import Style, scale_over

    style = Style(scale_cover=cover, scale_um=800.0, scale_opacity=0.6, seed=3)
    g = np.arange(800) * 0.01 + 0.005
    gx, gy = np.meshgrid(g, g)
    img = np.full((800, 800, 3), 0.3, dtype=np.float32)
    img[:, 400:403] = 0.02
    spec = np.ones((800, 800), dtype=np.float32)
    scale_over(img, spec, gx, gy, style, 0.01)
    return img, spec


@pytest.mark.parametrize("cover", [0.05, 0.2])
def test_scale_covers_the_share_of_the_frame_its_style_names(cover: float) -> None:
    img, _ = _scaled(cover)
    scaled = img[:, :300].mean(axis=2) > 0.45
    assert float(scaled.mean()) == pytest.approx(cover, rel=0.5)


def test_scale_lies_over_the_shafts_and_leaves_them_fainter_not_gone() -> None:
    img, spec = _scaled(0.2)
    # the shaft's pixels under thick scale, with the skin beside them under it too
    rows = (spec[:, 401] < 0.6) & (spec[:, 405] < 0.6)
    assert rows.sum() > 10
    under = img[rows, 401].mean(axis=1)
    beside = img[rows, 405].mean(axis=1)
    assert float(under.min()) > 0.2  # whitened by the scale over it (bare: 0.02)
    assert bool((under < beside - 0.05).all())  # the hair still shows through


def test_a_translucent_look_lets_the_skin_through_its_shafts() -> None:
    world = _one_hair_world()
    view = View(0.3, 0.0, 0.0, 5.0, 160, 60)
    solid, _ = ScalpScene(world, LEGACY).reflectance(view)
    glass, _ = ScalpScene(world, dataclasses.replace(LEGACY, shaft_alpha=0.4)).reflectance(view)
    axis = solid[30, 40:100].mean(), glass[30, 40:100].mean()
    skin = float(solid[5, 40:100].mean())
    assert axis[0] < axis[1] < skin
    assert (axis[1] - axis[0]) / (skin - axis[0]) == pytest.approx(1 - 0.4 / 0.95, abs=0.1)


def test_random_looks_draw_scale_and_translucent_shafts_and_keep_their_earlier_draws() -> None:
    looks = [random_style(np.random.default_rng(k)) for k in range(200)]
    assert 0.15 < np.mean([s.scale_cover > 0 for s in looks]) < 0.45
    assert 0.15 < np.mean([s.shaft_alpha < 0.95 for s in looks]) < 0.45
    assert max(s.scale_cover for s in looks) > 0.15
    # drawn after every earlier field: a look keeps its skin and ends as before
    assert all(s.speckle_um >= 10.0 and s.end in (*END_SHAPES, "mixed") for s in looks)


def test_a_stubbled_training_scalp_keeps_its_hairs_and_shortens_the_trimmed_ones() -> None:
    import sim.dataset as ds

    world = generate_scalp(ScalpConfig(seed=8, hair_length="mixed", extent_mm=14.0))
    stubbled = [ds._maybe_stubble(world, s) for s in range(60)]
    changed = [w for w in stubbled if w is not world]
    assert 0 < len(changed) < 20  # about STUBBLE_SHARE of scalps
    h, w = world.hairs, changed[0].hairs
    np.testing.assert_array_equal(h.x_mm, w.x_mm)
    np.testing.assert_array_equal(h.length_mm[~h.trimmed], w.length_mm[~h.trimmed])
    assert float(w.length_mm[h.trimmed].max()) <= 0.45
    assert float(w.length_mm[h.trimmed].min()) >= 0.06


def test_creases_ink_and_glints_are_drawn_where_the_style_says_and_stay_on_the_scalp() -> None:
    """synth-v8's skin creases darken thin lines of skin, ink dots are large dark marks, and
    glints are specular only; each holds its place on the scalp from view to view."""
    world = regrow(generate_scalp(ScalpConfig(seed=2, extent_mm=14.0)), 0.0)
    plain = dataclasses.replace(LEGACY, seed=9)
    marked = dataclasses.replace(
        plain, furrow_amp=0.3, furrow_um=300.0, glint_per_mm2=80.0, ink_dots_per_mm2=0.3
    )
    view = View(0.0, 0.0, 0.0, 6.0, 400, 300)
    a, sa = ScalpScene(world, plain).reflectance(view)
    b, sb = ScalpScene(world, marked).reflectance(view)
    ratio = b.mean(axis=2) / a.mean(axis=2)
    assert 0.005 < float((ratio < 0.85).mean()) < 0.4  # creases and ink: some skin, not all
    assert float(ratio.min()) < 0.7  # an ink dot is dark
    assert float((sb > sa + 0.3).mean()) > 0.001  # glints in the specular map
    moved = View(60 * 6.0 / 1000.0, 0.0, 0.0, 6.0, 400, 300)
    c, _ = ScalpScene(world, marked).reflectance(moved)
    np.testing.assert_allclose(b[:, 60:], c[:, :-60], atol=2e-4)


def test_a_crease_is_as_wide_on_the_skin_at_any_magnification() -> None:
    """The creases' darkening covers the same skin area whatever the scale (a width in um,
    not in pixels: at 12 um/px a pixel-wide crease would look like a vellus hair)."""
    from sim.appearance import Style, skin_texture

    def dark_mm2(upp: float, width_um: float) -> float:
        style = Style(furrow_amp=0.3, furrow_um=400.0, furrow_width_um=width_um, seed=5)
        n = round(3000 / upp)  # 3 x 3 mm
        gx, gy = _skin_grid(upp, n)
        img = np.full((n, n, 3), 0.5, dtype=np.float32)
        skin_texture(img, gx, gy, style, upp / 1000.0)
        return float((0.5 - img[..., 1]).sum()) / 0.5 * (upp / 1000.0) ** 2

    assert dark_mm2(12.0, 40.0) == pytest.approx(dark_mm2(3.0, 40.0), rel=0.1)
    assert dark_mm2(3.0, 60.0) > 1.3 * dark_mm2(3.0, 30.0)  # and it is the width asked for


def test_a_tapered_stub_still_shows_most_of_its_shaft() -> None:
    world = _one_hair_world()
    h = world.hairs
    stub = dataclasses.replace(world, hairs=dataclasses.replace(h, length_mm=np.array([0.1])))
    view = View(0.05, 0.0, 0.0, 5.0, 60, 40)
    area = {}
    for end in ("square", "tapered"):
        img, _ = ScalpScene(stub, dataclasses.replace(LEGACY, end=end)).reflectance(view)
        skin = float(np.median(img[..., 1]))
        area[end] = float(np.clip(skin - img[..., 1], 0, None).sum())
    assert area["tapered"] > 0.6 * area["square"]


def _network(style: Style, upp: float, mm: float = 3.0) -> np.ndarray:
    """The network's darkening over ``mm`` x ``mm`` of skin at ``upp`` um/px."""
    gx, gy = _skin_grid(upp, round(mm * 1000 / upp))
    return pigment_network(gx, gy, style, upp / 1000.0)


def _assert_on_the_scalp(style: Style) -> None:
    """The network is anchored to the scalp: the same skin in a view moved by 40 px."""
    upp = 4.0
    gx, gy = _skin_grid(upp, 300)
    one = pigment_network(gx, gy, style, upp / 1000.0)
    two = pigment_network(gx + 40 * upp / 1000.0, gy, style, upp / 1000.0)
    np.testing.assert_allclose(one[:, 40:], two[:, :-40], atol=1e-5)


def test_the_honeycomb_of_earlier_looks_is_drawn_as_before() -> None:
    """A style without a line width or warp (every look before synth-v10, the default look
    included) darkens exactly the walls it darkened before: 12 % of a cell wide."""
    style = dataclasses.replace(TRICHOSCOPY, pigment_net_amp=0.3, pigment_cell_um=120.0)
    upp = 5.0
    gx, gy = _skin_grid(upp, 200)
    width = max(0.12 * 0.12, upp / 1000.0 * 0.7)
    edge = cell_edges(gx, gy, 0.12, style.seed, 3)
    old = 0.3 * np.exp(-((edge / width) ** 2)).astype(np.float32)
    np.testing.assert_array_equal(pigment_network(gx, gy, style, upp / 1000.0), old)


def test_a_fine_network_is_dark_and_as_wide_on_the_skin_at_any_magnification() -> None:
    fine = Style(pigment_net_amp=0.8, pigment_cell_um=150.0, pigment_line_um=8.0, seed=3)
    near = _network(fine, 3.0)
    assert float(near.max()) > 0.7  # resolved: a dark line (~40 % darker than the skin)
    assert 0.02 < float((near > 0.2).mean()) < 0.25  # thin walls, not a dark skin
    # at 12 um/px the 8 um wall is under a pixel: drawn wider and fainter, the same darkening
    far = _network(fine, 12.0)
    assert float(far.max()) < 0.6 * float(near.max())
    assert float(far.mean()) == pytest.approx(float(near.mean()), rel=0.15)


def test_a_warped_network_meanders_and_stays_on_the_scalp() -> None:
    straight = Style(pigment_net_amp=0.5, pigment_cell_um=150.0, pigment_line_um=15.0, seed=3)
    bent = dataclasses.replace(straight, pigment_warp=0.35)
    a, b = _network(straight, 4.0) > 0.25, _network(bent, 4.0) > 0.25
    assert float(b.mean()) == pytest.approx(float(a.mean()), rel=0.35)  # as much wall
    assert float((a & b).sum()) < 0.5 * float(a.sum())  # but elsewhere: the walls moved
    _assert_on_the_scalp(bent)


def test_random_looks_draw_fine_meandering_networks() -> None:
    looks = [random_style(np.random.default_rng(k), looks=10) for k in range(300)]
    fine = [s for s in looks if s.pigment_line_um is not None]
    assert 0.25 < len(fine) / len(looks) < 0.42
    assert min(s.pigment_line_um or 0.0 for s in fine) < 8.0
    assert all(s.pigment_net_amp >= 0.3 and s.pigment_warp > 0 for s in fine)
    bent_only = [s for s in looks if s.pigment_warp > 0 and s.pigment_line_um is None]
    assert bent_only and all(s.pigment_net_amp > 0 for s in bent_only)
    assert TRICHOSCOPY.pigment_warp == 0 and TRICHOSCOPY.pigment_line_um is None


def test_the_looks_of_synth_v9_are_drawn_again_without_fine_networks() -> None:
    """``looks=9`` gives the look synth-v9 drew (to rebuild 2.8.0): every field as a synth-v10
    look of the same stream, but for the network that synth-v10 drew after."""
    changed = 0
    for k in range(120):
        v10 = random_style(np.random.default_rng(k), looks=10)
        v9 = random_style(np.random.default_rng(k), looks=9)
        assert v9.pigment_line_um is None and v9.pigment_warp == 0.0
        same_net = dataclasses.replace(
            v10,
            pigment_net_amp=v9.pigment_net_amp,
            pigment_cell_um=v9.pigment_cell_um,
            pigment_line_um=None,
            pigment_warp=0.0,
        )
        assert same_net == v9
        changed += v10 != v9
    assert 0.3 < changed / 120 < 0.65  # a third fine, a sixth bent


def test_a_labyrinth_winds_in_lines_that_never_meet() -> None:
    """A honeycomb's walls meet at junctions (one connected net around many closed cells); a
    labyrinth's lines, as wide and as much of the skin, wind apart like hairs' shafts."""
    for seed in (3, 4, 5):
        honey = Style(pigment_net_amp=0.5, pigment_cell_um=150.0, pigment_line_um=12.0, seed=seed)
        maze = dataclasses.replace(honey, pigment_labyrinth=True)
        h, m = _network(honey, 4.0) > 0.25, _network(maze, 4.0) > 0.25
        assert float(m.mean()) == pytest.approx(float(h.mean()), rel=0.4)  # as much wall
        assert ndimage.label(h)[1] <= 3 < 6 <= ndimage.label(m)[1]  # joined vs apart
        assert ndimage.label(~h)[1] > 3 * ndimage.label(~m)[1]  # closed cells vs few regions
    # the same darkening at any magnification (a sub-pixel line is drawn wider and fainter)
    near, far = _network(maze, 3.0), _network(maze, 12.0)
    assert float(far.max()) < 0.8 * float(near.max())
    assert float(far.mean()) == pytest.approx(float(near.mean()), rel=0.3)
    _assert_on_the_scalp(maze)


def test_synth_v11_draws_labyrinths_in_a_quarter_of_looks_and_keeps_v10s_draws() -> None:
    """``looks=11`` (the default) is the synth-v10 look of the same stream but for a network
    redrawn as a labyrinth in about a quarter of looks; ``looks=10`` rebuilds synth-v10."""
    mazes = 0
    for k in range(300):
        v11 = random_style(np.random.default_rng(k))
        v10 = random_style(np.random.default_rng(k), looks=10)
        assert not v10.pigment_labyrinth
        if v11.pigment_labyrinth:
            mazes += 1
            assert 0.2 <= v11.pigment_net_amp <= 0.8 and 60.0 <= v11.pigment_cell_um <= 300.0
            assert v11.pigment_line_um is not None and 6.0 <= v11.pigment_line_um <= 50.0
            v11 = dataclasses.replace(
                v11,
                pigment_net_amp=v10.pigment_net_amp,
                pigment_cell_um=v10.pigment_cell_um,
                pigment_line_um=v10.pigment_line_um,
                pigment_warp=v10.pigment_warp,
                pigment_labyrinth=False,
            )
        assert v11 == v10
    assert 0.18 < mazes / 300 < 0.33
    assert not TRICHOSCOPY.pigment_labyrinth


def test_synth_v12_deepens_the_creases_of_a_third_of_looks_and_is_not_yet_the_default() -> None:
    """``looks=12`` (a candidate's) is the synth-v11 look of the same stream but for deeper,
    thinner creases in about a third of looks; the twin's own looks stay synth-v11."""
    from sim.dataset import DEFAULT_LOOKS, LOOKS

    assert DEFAULT_LOOKS == 11 and LOOKS[12] == "synth-v12"
    deep = 0
    for k in range(300):
        v12 = random_style(np.random.default_rng(k), looks=12)
        v11 = random_style(np.random.default_rng(k))
        assert v11 == random_style(np.random.default_rng(k), looks=11)
        if v12 != v11:
            deep += 1
            assert 0.15 <= v12.furrow_amp <= 0.5 and 100.0 <= v12.furrow_um <= 900.0
            assert 8.0 <= v12.furrow_width_um <= 60.0
            same = dataclasses.replace(
                v12,
                furrow_amp=v11.furrow_amp,
                furrow_um=v11.furrow_um,
                furrow_width_um=v11.furrow_width_um,
            )
            assert same == v11
    assert 0.25 < deep / 300 < 0.42


def test_synth_v13_adds_crease_shine_to_v12s_looks() -> None:
    """``looks=13`` (a candidate's) is the synth-v12 look of the same stream but for sebum
    shine along the creases of about half the creased looks."""
    from sim.dataset import LOOKS

    assert LOOKS[13] == "synth-v13"
    shine = creased = 0
    for k in range(300):
        v13 = random_style(np.random.default_rng(k), looks=13)
        v12 = random_style(np.random.default_rng(k), looks=12)
        creased += v13.furrow_amp > 0
        shine += v13.furrow_shine > 0
        assert v13.furrow_shine == 0 or (v13.furrow_amp > 0 and 0.2 <= v13.furrow_shine <= 0.9)
        assert v12.furrow_shine == 0
        assert dataclasses.replace(v13, furrow_shine=0.0) == v12
    assert creased > 100 and 0.35 < shine / creased < 0.65


def test_sebum_shines_along_the_lips_of_creases_not_in_them() -> None:
    """Shine along creases (synth-v13) lies in the specular map beside each crease, not in
    its middle, and the reflectance is as without it."""
    from sim.appearance import creases, skin_texture

    style = Style(furrow_amp=0.4, furrow_um=400.0, furrow_width_um=30.0, furrow_shine=0.8, seed=5)
    gx, gy = _skin_grid(4.0, 500)
    img = np.full((500, 500, 3), 0.5, dtype=np.float32)
    spec = np.zeros((500, 500), dtype=np.float32)
    skin_texture(img, gx, gy, style, 0.004, spec)
    dull = np.full((500, 500, 3), 0.5, dtype=np.float32)
    skin_texture(dull, gx, gy, dataclasses.replace(style, furrow_shine=0.0), 0.004)
    np.testing.assert_array_equal(img, dull)
    crease, _ = creases(gx, gy, style, 0.004)
    assert float((spec > 0.4).mean()) > 0.01
    assert float(spec[crease > 0.8].mean()) < 0.1  # the crease's floor stays dull
    near = ndimage.maximum_filter(crease, size=9) > 0.3  # within 16 um of a crease
    assert float(near.mean()) < 0.5 and float(near[spec > 0.5].mean()) > 0.85  # beside it


def test_synth_v14_draws_empty_openings_like_those_with_hairs_in_some_looks() -> None:
    """``looks=14`` (a candidate's) is the synth-v12 look of the same stream (synth-v13's shine,
    not shipped, left out) but, in about 40 % of looks, empty openings drawn as those with
    hairs (half of them as darker pits)."""
    from sim.dataset import LOOKS

    assert LOOKS[14] == "synth-v14"
    like = dark = 0
    for k in range(300):
        v14 = random_style(np.random.default_rng(k), looks=14)
        v13 = random_style(np.random.default_rng(k), looks=13)
        v12 = random_style(np.random.default_rng(k), looks=12)
        assert not v13.empty_like_open and v13.opening_dark == 0 and v14.furrow_shine == 0
        if v14.empty_like_open:
            like += 1
            dark += v14.opening_dark > 0
            assert v14.opening_visibility >= 0.5 and v14.opening_dark <= 0.4
            v14 = dataclasses.replace(
                v14,
                empty_like_open=False,
                opening_visibility=v12.opening_visibility,
                opening_dark=0.0,
            )
        assert v14 == v12
    assert 0.3 < like / 300 < 0.5 and 0.3 < dark / like < 0.7


def test_an_empty_opening_can_look_as_dark_as_one_with_hairs() -> None:
    """As the twin draws them by default an empty opening is paler than one with hairs (a
    giveaway a net can learn); ``empty_like_open`` draws both alike, ``opening_dark`` both
    darker."""
    world = regrow(generate_scalp(ScalpConfig(seed=3, hair_length="trimmed", extent_mm=14.0)), 0.5)
    # shafts drawn fully transparent, so an opening with hairs shows its dimple alone
    base = dataclasses.replace(
        LEGACY, seed=4, opening_visibility=0.8, empty_yellow=0.0, halo=0.0, shaft_alpha=0.0
    )
    view = View(0.0, 0.0, 0.0, 10.0, 800, 600)
    f = world.follicles
    u, v = view.world_to_pixel(f.x_mm, f.y_mm)
    inside = (u > 10) & (u < 790) & (v > 10) & (v < 590)
    rows, cols = np.round(v[inside]).astype(int), np.round(u[inside]).astype(int)
    empty = f.hair_count[inside] == 0
    assert empty.sum() > 5 and (~empty).sum() > 5
    bare_world = regrow(world, 0.0)  # the same openings, every one empty: skin to compare with
    skin, _ = ScalpScene(bare_world, dataclasses.replace(base, opening_visibility=0.0)).reflectance(
        view
    )

    def darkness(style: Style) -> tuple[float, float]:
        img, _ = ScalpScene(world, style).reflectance(view)
        ratio = (img.mean(axis=2) / skin.mean(axis=2))[rows, cols]
        return float(np.median(ratio[empty])), float(np.median(ratio[~empty]))

    e, o = darkness(base)
    assert e > o + 0.05  # by default the empty ones are paler
    e, o = darkness(dataclasses.replace(base, empty_like_open=True))
    assert abs(e - o) < 0.05  # alike
    e2, _ = darkness(dataclasses.replace(base, empty_like_open=True, opening_dark=0.4))
    assert e2 < e - 0.1  # a darker pit


def test_synth_v15_adds_dark_skin_marks_to_v12s_looks() -> None:
    """``looks=15`` (2.11.0's) is the synth-v12 look of the same stream (synth-v14's dark
    openings, not shipped, left out) but for dark skin marks (flecks, blotches, strokes) in
    about 35 % of looks."""
    from sim.dataset import LOOKS

    assert LOOKS[15] == "synth-v15"
    marked = strokes = blots = 0
    for k in range(300):
        v15 = random_style(np.random.default_rng(k), looks=15)
        v14 = random_style(np.random.default_rng(k), looks=14)
        v12 = random_style(np.random.default_rng(k), looks=12)
        assert v14.mark_amp == 0 and not v15.empty_like_open and v15.opening_dark == 0
        if v15.mark_amp > 0:
            marked += 1
            strokes += v15.mark_line_um > 0
            blots += v15.mark_cover > 0
            assert 0.3 <= v15.mark_amp <= 0.9 and 30.0 <= v15.mark_um <= 400.0
            assert v15.mark_cover > 0 or v15.mark_line_um > 0
            v15 = dataclasses.replace(
                v15,
                mark_amp=0.0,
                mark_um=150.0,
                mark_cover=0.0,
                mark_line_um=0.0,
                mark_rgb=v12.mark_rgb,
            )
        assert v15 == v12
    assert 0.25 < marked / 300 < 0.45 and strokes > 20 and blots > 20


def test_synth_v16_frees_the_openings_size_in_half_of_v15s_looks() -> None:
    """``looks=16`` (c39's, not shipped) is the synth-v15 look of the same stream but, in about
    half of the looks, an opening's size drawn apart from how many hairs leave it."""
    from sim.dataset import LOOKS

    assert LOOKS[16] == "synth-v16"
    free = 0
    for k in range(300):
        v16 = random_style(np.random.default_rng(k), looks=16)
        v15 = random_style(np.random.default_rng(k), looks=15)
        assert not v15.opening_free
        free += v16.opening_free
        assert dataclasses.replace(v16, opening_free=False) == v15
    assert 0.4 < free / 300 < 0.6


def test_a_free_openings_size_says_nothing_of_its_hairs() -> None:
    """The twin draws a unit's opening wider the more hairs leave it (35 + 12 um a hair), a
    giveaway a net learns to count by; with ``opening_free`` each opening's size is its own
    (40-90 um), the same whichever view draws it."""
    world = generate_scalp(
        ScalpConfig(seed=5, hair_length="trimmed", extent_mm=14.0, density_per_cm2=250)
    )
    # shafts fully transparent and no halo, so each opening's dimple shows alone
    base = dataclasses.replace(
        LEGACY, seed=6, opening_visibility=1.0, empty_yellow=0.0, halo=0.0, shaft_alpha=0.0
    )
    bare = dataclasses.replace(base, opening_visibility=0.0)
    f = world.follicles
    hairs = f.hair_count > 0

    def sizes(style: Style, view: View) -> dict[int, float]:
        """The dark area (um2) of each opening with hairs well inside ``view`` and apart."""
        img, _ = ScalpScene(world, style).reflectance(view)
        skin, _ = ScalpScene(world, bare).reflectance(view)
        labels, _ = ndimage.label(img.mean(axis=2) < 0.85 * skin.mean(axis=2))
        u, v = view.world_to_pixel(f.x_mm, f.y_mm)
        inside = hairs & (u > 20) & (u < view.width - 20) & (v > 20) & (v < view.height - 20)
        idx = np.flatnonzero(inside)
        lab = labels[np.round(v[idx]).astype(int), np.round(u[idx]).astype(int)]
        pixels = np.bincount(labels.ravel())
        alone = (lab > 0) & (np.bincount(lab, minlength=pixels.size)[lab] == 1)  # not merged
        return {
            int(i): float(pixels[k]) * view.um_per_px**2
            for i, k in zip(idx[alone], lab[alone], strict=True)
        }

    def spread(found: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        keys = sorted(found)
        return np.array([found[i] for i in keys]), f.hair_count[keys]

    view = View(0.0, 0.0, 0.0, 8.0, 1000, 800)
    area, n = spread(sizes(base, view))
    assert n.size > 40 and len(set(n.tolist())) >= 3
    assert np.corrcoef(area, n)[0, 1] > 0.8  # the twin's own: wider with more hairs
    free = dataclasses.replace(base, opening_free=True)
    found = sizes(free, view)
    area_f, n_f = spread(found)
    assert n_f.size > 40
    assert abs(np.corrcoef(area_f, n_f)[0, 1]) < 0.4  # its own size (the twin draws 0.95)
    radius = np.sqrt(area_f / np.pi)
    assert radius.min() > 30 and radius.max() < 100 and radius.std() > 8
    # the same openings, seen from a shifted, turned view at another scale, keep their sizes
    again = sizes(free, View(0.5, -0.4, 30.0, 10.0, 700, 600))
    both = sorted(set(found) & set(again))
    assert len(both) > 20
    ratio = np.array([again[i] / found[i] for i in both])
    assert np.all(np.abs(ratio - 1) < 0.35) and abs(np.median(ratio) - 1) < 0.1


def test_synth_v17_adds_pinpoint_pigmented_dots_to_v15s_looks() -> None:
    """``looks=17`` (a candidate's) is the synth-v15 look of the same stream (synth-v16's free
    openings, not shipped, left out) but for pinpoint pigmented dots in about 40 % of looks."""
    from sim.dataset import LOOKS

    assert LOOKS[17] == "synth-v17"
    dotted = 0
    for k in range(300):
        v17 = random_style(np.random.default_rng(k), looks=17)
        v15 = random_style(np.random.default_rng(k), looks=15)
        assert not v17.opening_free
        if v17.dot_per_mm2 > 0:
            dotted += 1
            assert 0.3 <= v17.dot_per_mm2 <= 8.0 and 20.0 <= v17.dot_um <= 90.0
            assert 0.4 <= v17.dot_amp <= 0.9
        v17 = dataclasses.replace(
            v17, dot_per_mm2=0.0, dot_um=50.0, dot_amp=0.0, dot_rgb=Style().dot_rgb
        )
        assert v17 == v15
    assert 0.3 < dotted / 300 < 0.5


def test_pigmented_dots_are_small_dark_and_round_and_stay_where_they_are() -> None:
    """Dots darken bare skin in round spots of about the asked size and number (a cluster's
    discs may merge), in world coordinates (a turned view at another scale sees the same ones).
    They are a look, not a hair: the truth is the scalp's, whatever the style."""
    world = regrow(generate_scalp(ScalpConfig(seed=8, hair_length="trimmed", extent_mm=14.0)), 0.0)
    plain = dataclasses.replace(LEGACY, seed=9, opening_visibility=0.0, empty_yellow=0.0)
    dotted = dataclasses.replace(plain, dot_per_mm2=3.0, dot_um=60.0, dot_amp=0.8)
    view = View(0.0, 0.0, 0.0, 6.0, 900, 700)

    def spots(style: Style, v: View) -> tuple[NDArray[np.int32], int]:
        img, _ = ScalpScene(world, style).reflectance(v)
        skin, _ = ScalpScene(world, plain).reflectance(v)
        return ndimage.label(img.mean(axis=2) < 0.8 * skin.mean(axis=2))

    labels, n = spots(dotted, view)
    area_mm2 = 900 * 700 * (6.0 / 1000) ** 2
    assert 0.5 * 3.0 * area_mm2 < n < 1.3 * 3.0 * area_mm2  # a cluster may merge into one
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, n + 1)) * 36.0
    diameter = np.sqrt(sizes / np.pi) * 2
    assert 30.0 < float(np.median(diameter)) < 100.0
    # round: a single disc's bounding box is about as wide as it is tall
    boxes = ndimage.find_objects(labels)
    aspect = [(b[0].stop - b[0].start) / (b[1].stop - b[1].start) for b in boxes if b]
    assert 0.8 < float(np.median(aspect)) < 1.25
    assert spots(plain, view)[1] == 0  # the look without dots draws none
    # world-anchored: from a turned view at 8 um/px the same dots, centre for centre
    other = View(0.3, 0.2, 40.0, 8.0, 700, 560)
    lab2, n2 = spots(dotted, other)
    c1 = np.array(ndimage.center_of_mass(labels > 0, labels, np.arange(1, n + 1)))
    c2 = np.array(ndimage.center_of_mass(lab2 > 0, lab2, np.arange(1, n2 + 1)))
    w1 = np.stack(view.pixel_to_world(c1[:, 1], c1[:, 0]), axis=1)
    w2 = np.stack(other.pixel_to_world(c2[:, 1], c2[:, 0]), axis=1)
    inner = (np.abs(w2[:, 0] - 0.3) < 2.0) & (np.abs(w2[:, 1] - 0.2) < 1.5)
    near = np.min(np.hypot(*(w2[inner, None, :] - w1[None, :, :]).transpose(2, 0, 1)), axis=1)
    assert inner.sum() > 10 and float(np.median(near)) < 0.01  # within 10 um


def test_dark_marks_cover_what_they_ask_and_vary_in_width_as_no_shaft_does() -> None:
    """Blotches cover about ``mark_cover`` of the skin with soft edges; a stroke's width
    varies along it far more than a labyrinth line's or a crease's (each of those keeps one
    width, as a shaft does), measured as the spread of the distance to the edge along ridges."""
    from sim.appearance import creases, dark_marks

    gx, gy = _skin_grid(4.0, 600)

    def width_spread(field: np.ndarray) -> float:
        inside = field > 0.3
        dt = ndimage.distance_transform_edt(inside)
        ridge = (dt >= 1) & (dt == ndimage.maximum_filter(dt, size=3))
        return float(dt[ridge].std() / dt[ridge].mean())

    marks, lines, folds = [], [], []
    for seed in range(4):
        blot = Style(mark_amp=0.6, mark_um=120.0, mark_cover=0.08, seed=seed)
        shape = dark_marks(gx, gy, blot, 0.004)
        assert 0.04 < float((shape > 0).mean()) < 0.14
        assert float(((shape > 0.05) & (shape < 0.6)).mean()) > 0.01  # soft edges
        stroke = Style(mark_amp=0.6, mark_um=100.0, mark_line_um=30.0, seed=seed)
        marks.append(width_spread(dark_marks(gx, gy, stroke, 0.004)))
        lab = Style(
            pigment_net_amp=0.6,
            pigment_cell_um=250.0,
            pigment_line_um=30.0,
            pigment_labyrinth=True,
            seed=seed,
        )
        lines.append(width_spread(pigment_network(gx, gy, lab, 0.004) / 0.6))
        crease = Style(furrow_amp=0.4, furrow_um=400.0, furrow_width_um=30.0, seed=seed)
        folds.append(width_spread(creases(gx, gy, crease, 0.004)[0]))
    assert np.mean(marks) > max(np.mean(lines), np.mean(folds)) + 0.15


def test_dark_marks_darken_the_skin_toward_their_pigment_and_leave_other_looks_alone() -> None:
    from sim.appearance import dark_marks, skin_texture

    gx, gy = _skin_grid(5.0, 300)
    style = Style(mark_amp=0.8, mark_um=150.0, mark_cover=0.1, mark_line_um=20.0, seed=3)
    img = np.full((300, 300, 3), 0.6, dtype=np.float32)
    skin_texture(img, gx, gy, style, 0.005)
    shape = dark_marks(gx, gy, style, 0.005)
    core = shape > 0.9
    assert core.mean() > 0.01
    expect = 0.6 * (1.0 - 0.8 * shape[core, None] * (1.0 - np.asarray(style.mark_rgb)))
    np.testing.assert_allclose(img[core], expect, rtol=1e-5)
    assert np.all(img[shape == 0] == np.float32(0.6))
    plain = np.full((300, 300, 3), 0.6, dtype=np.float32)
    skin_texture(plain, gx, gy, dataclasses.replace(style, mark_amp=0.0), 0.005)
    assert np.all(plain == np.float32(0.6))


def test_synth_v19_adds_cast_shadows_to_v15s_looks() -> None:
    """``looks=19`` (c46's) is the synth-v15 look of the same stream (none of synth-v16 to
    -v18's openings, dots or black dots) but for cast shadows in about half of the looks."""
    from sim.dataset import LOOKS

    assert LOOKS[19] == "synth-v19"
    shadowed, ring = 0, 0
    plain = Style()
    for k in range(300):
        v19 = random_style(np.random.default_rng(k), looks=19)
        v15 = random_style(np.random.default_rng(k), looks=15)
        assert not v19.opening_free and v19.dot_per_mm2 == 0
        if v19.shadow_amp > 0:
            shadowed += 1
            ring += v19.shadow_ring
            assert 0.15 <= v19.shadow_amp <= 0.6 and 10.0 <= v19.shadow_lift_um <= 150.0
            assert 100.0 <= v19.shadow_rise_um <= 1000.0 and 3.0 <= v19.shadow_blur_um <= 40.0
        shadow_fields = {f.name: getattr(plain, f.name) for f in dataclasses.fields(Style)}
        v19 = dataclasses.replace(
            v19, **{k: v for k, v in shadow_fields.items() if k.startswith("shadow_")}
        )
        assert v19 == v15
    assert 0.4 < shadowed / 300 < 0.6 and 0.25 < ring / max(shadowed, 1) < 0.55
    # the twin's own looks cast none
    for k in range(50):
        assert random_style(np.random.default_rng(k), looks=15).shadow_amp == 0
    assert LEGACY.shadow_amp == 0 and TRICHOSCOPY.shadow_amp == 0


@pytest.mark.parametrize(
    ("looks", "base", "field", "plain", "draws"),
    [
        (20, 15, "root_end", "round", set(END_SHAPES[1:]) | {"mixed"}),  # c57's
        (21, 20, "tip_pits", 0.0, (0.3, 1.0)),  # c59's, c61's
        (22, 21, "bare_roots", 0.0, (0.3, 1.0)),
    ],
)
def test_each_later_look_is_its_base_look_with_one_field_drawn_in_half(
    looks: int, base: int, field: str, plain: object, draws: object
) -> None:
    """synth-v20 to -v22 each draw the look of their base version from the same stream but
    for one field, drawn (from ``draws``: a set, or a range) in about half of the looks; no
    other version draws it, nor the twin's own looks (synth-v20: roots in the cut ends'
    shapes; -v21: a share of cut ends over pits; -v22: a share of openings of hairs undrawn)."""
    from sim.dataset import LOOKS

    assert LOOKS[looks] == f"synth-v{looks}"
    drawn = 0
    for k in range(300):
        look = random_style(np.random.default_rng(k), looks=looks)
        value = getattr(look, field)
        if value != plain:
            drawn += 1
            if isinstance(draws, set):
                assert value in draws
            else:
                lo, hi = draws  # type: ignore[misc]
                assert lo <= value <= hi
        assert dataclasses.replace(look, **{field: plain}) == random_style(
            np.random.default_rng(k), looks=base
        )
    assert 0.4 < drawn / 300 < 0.6
    for other in (11, 15, 19, looks - 1):  # the twin's own, 2.11.0's, and every earlier one
        for k in range(50):
            assert getattr(random_style(np.random.default_rng(k), looks=other), field) == plain
    assert getattr(LEGACY, field) == plain and getattr(TRICHOSCOPY, field) == plain


def test_a_cut_end_over_a_pit_lies_in_a_dimple_drawn_as_its_roots_opening_is() -> None:
    """synth-v21: with every cut end over a pit, the skin just beyond a trimmed hair's cut end
    darkens as much as the skin just behind its root does in the root's own opening (a square
    root shows it); without pits, or for a long hair (no cut end), the skin there stays. The
    rest of the frame and the truth are as before."""
    view = View(0.0, 0.0, 0.0, 5.0, 400, 300)
    u, _ = view.world_to_pixel(np.array([0.0, 0.6]), np.array([0.0, 0.0]))
    root_u, tip_u = (round(float(x)) for x in u)
    row = 150
    look = dataclasses.replace(LEGACY, end="square", root_end="square", opening_visibility=1.0)
    from sim.scalp import Follicles

    its_own = Follicles(np.zeros(1), np.zeros(1), np.array([0.06]), np.ones(1, dtype=np.int64))
    world = dataclasses.replace(_one_hair_world(), follicles=its_own)
    plain = ScalpScene(world, look).reflectance(view)[0].mean(axis=2)
    pits = ScalpScene(world, dataclasses.replace(look, tip_pits=1.0)).reflectance(view)[0]
    pits = pits.mean(axis=2)
    skin = float(plain[row, tip_u + 5])
    opening = skin - float(plain[row, root_u - 5])  # the root's own opening, behind it
    assert opening > 0.05
    assert abs((skin - float(pits[row, tip_u + 5])) - opening) < 0.02
    np.testing.assert_array_equal(pits[:, : root_u + 40], plain[:, : root_u + 40])
    none = ScalpScene(world, dataclasses.replace(look, tip_pits=1e-9)).reflectance(view)[0]
    np.testing.assert_array_equal(none.mean(axis=2), plain)
    long_world = dataclasses.replace(_one_hair_world(end_trimmed=False), follicles=its_own)
    long_plain = ScalpScene(long_world, look).reflectance(view)[0]
    long_pits = ScalpScene(long_world, dataclasses.replace(look, tip_pits=1.0)).reflectance(view)[0]
    np.testing.assert_array_equal(long_pits, long_plain)
    assert scalp_truth(world, view)["tips"] and not scalp_truth(long_world, view)["tips"]


def test_a_root_whose_opening_is_left_undrawn_starts_on_plain_skin() -> None:
    """synth-v22: with every opening of hairs left undrawn, the skin behind a square root is
    as it is where openings are invisible; the shaft, its cut end and any pit under the cut end
    are drawn as before, and an empty opening still shows."""
    from sim.scalp import Follicles

    view = View(0.0, 0.0, 0.0, 5.0, 400, 300)
    u, _ = view.world_to_pixel(np.array([0.0, 0.6]), np.array([0.0, 0.0]))
    root_u, tip_u = (round(float(x)) for x in u)
    row = 150
    own = Follicles(
        np.array([0.0, -0.5]), np.zeros(2), np.array([0.06, 0.06]), np.array([1, 0], dtype=np.int64)
    )
    world = dataclasses.replace(_one_hair_world(), follicles=own)
    look = dataclasses.replace(
        LEGACY, end="square", root_end="square", opening_visibility=1.0, tip_pits=1.0
    )

    def lum(style: Style) -> np.ndarray:
        return ScalpScene(world, style).reflectance(view)[0].mean(axis=2)

    drawn = lum(look)
    bare = lum(dataclasses.replace(look, bare_roots=1.0))
    skin = float(drawn[row, root_u - 20])  # beyond the opening (12 px)
    assert skin - float(drawn[row, root_u - 5]) > 0.1  # the root's opening, drawn
    assert abs(float(bare[row, root_u - 5]) - skin) < 0.01  # left undrawn: plain skin
    np.testing.assert_array_equal(bare[:, root_u + 20 :], drawn[:, root_u + 20 :])
    empty_u = round(float(view.world_to_pixel(np.array([-0.5]), np.array([0.0]))[0][0]))
    assert abs(float(bare[row, empty_u]) - float(drawn[row, empty_u])) < 1e-6
    assert abs(float(bare[row, empty_u]) - skin) > 0.02  # the empty opening still shows
    assert tip_u - root_u > 100


def test_a_cast_shadow_falls_beside_its_shaft_from_its_opening_on_and_leaves_the_truth() -> None:
    """One dark shaft lying along +x: its shadow (lift 120 um toward v down) darkens the skin
    a lift below the shaft's far part, not above it nor under the opening, and the shaft
    itself is drawn over it. Under the whole ring both sides darken. The truth is the
    scalp's, whatever the shadow."""
    world = _one_hair_world()
    base = dataclasses.replace(
        LEGACY, seed=3, opening_visibility=0.0, empty_yellow=0.0, speckle_amp=0.0
    )
    sun = dataclasses.replace(
        base,
        shadow_amp=0.5,
        shadow_lift_um=120.0,
        shadow_rise_um=200.0,
        shadow_azimuth_deg=90.0,
        shadow_blur_um=4.0,
    )
    view = View(0.3, 0.0, 0.0, 4.0, 240, 160)
    u0, v0 = (float(c[0]) for c in view.world_to_pixel(np.array([0.0]), np.array([0.0])))
    u0, v0 = round(u0), round(v0)
    lum = {}
    for name, style in (("plain", base), ("sun", sun), ("ring", replace_ring(sun))):
        img, _ = ScalpScene(world, style).reflectance(view)
        lum[name] = img.mean(axis=2)
    far = slice(u0 + 80, u0 + 140)  # beyond the rise (50 px), before the end (150 px)
    below, above = v0 + 30, v0 - 30  # the lift is 30 px
    dark = 1.0 - lum["sun"] / lum["plain"]
    assert float(dark[below, far].mean()) > 0.35  # most of the asked 0.5
    assert float(np.abs(dark[above, far]).max()) < 0.01
    assert float(np.abs(dark[v0, far]).max()) < 0.05  # the shaft is drawn over its shadow
    assert float(np.abs(dark[below, u0 - 20 : u0 - 5]).max()) < 0.01  # none behind its root
    ring = 1.0 - lum["ring"] / lum["plain"]
    assert float(ring[below, far].mean()) > 0.1 and float(ring[v0 - 20, far].mean()) > 0.05
    assert scalp_truth(world, view) == scalp_truth(world, view)  # nothing of the style in it


def replace_ring(style: Style) -> Style:
    return dataclasses.replace(style, shadow_ring=True)


def test_shadows_change_a_training_crops_pixels_not_its_targets() -> None:
    from sim.dataset import Recipe, world_samples, world_seed

    kw = {"native_um_per_px": 8.0, "stride": 4, "crop_px": 192, "seed": 1, "worlds": 10}
    r15, r19 = Recipe(looks=15, **kw), Recipe(looks=19, **kw)  # type: ignore[arg-type]
    seed = world_seed(r19, 1)  # a world whose look casts shadows
    assert r19.style(np.random.default_rng([seed, 0x57E])).shadow_amp > 0
    a, b = world_samples(seed, r15), world_samples(seed, r19)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    moved = [np.abs(x[0].astype(int) - y[0].astype(int)).mean() for x, y in zip(a, b, strict=True)]
    assert float(np.mean(moved)) > 1.0
