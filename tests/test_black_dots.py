"""synth-v18: black dots among the training scalps' hairs (sim.dataset._maybe_black_dots).

A black dot is a hair broken at the skin's surface: a dark disc of the hair's width in its
opening that counts as a hair and shows no free end. synth-v17's pigmented dots carry no hair;
these do, so a net trained on both must tell them apart by where they lie."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

import sim.dataset as ds
from inference.targets import N_MAPS, TIP_MAP, training_targets
from sim.appearance import LEGACY, random_style
from sim.config import ScalpConfig
from sim.render import ScalpScene, View
from sim.scalp import BLACK_DOT_MAX_MM, VELLUS_THRESHOLD_UM, generate_scalp, regrow

WORLD = generate_scalp(ScalpConfig(seed=8, hair_length="mixed", extent_mm=14.0))


def _dotted() -> tuple[ds.ScalpWorld, np.ndarray]:
    """The synth-v18 scalp of the first 100 seeds with the most black dots, and which hairs
    they are."""
    worlds = [ds._maybe_black_dots(WORLD, s, 18) for s in range(100)]
    out = max(worlds, key=lambda w: int((w.hairs.length_mm <= BLACK_DOT_MAX_MM).sum()))
    return out, out.hairs.length_mm <= BLACK_DOT_MAX_MM


def test_synth_v18_draws_v17s_looks_and_only_its_scalps_hold_black_dots() -> None:
    assert ds.LOOKS[18] == "synth-v18"
    for k in range(100):
        rng17, rng18 = np.random.default_rng(k), np.random.default_rng(k)
        assert random_style(rng18, looks=18) == random_style(rng17, looks=17)
    assert all(ds._maybe_black_dots(WORLD, s, 17) is WORLD for s in range(40))
    changed = [
        w for w in (ds._maybe_black_dots(WORLD, s, 18) for s in range(100)) if w is not WORLD
    ]
    assert 15 <= len(changed) <= 45  # about BLACK_DOT_SHARE of scalps
    h = WORLD.hairs
    terminal = h.diameter_um >= VELLUS_THRESHOLD_UM
    shares = []
    for w in changed:
        g = w.hairs
        dot = g.length_mm <= BLACK_DOT_MAX_MM
        # the same hairs where they were: a black dot is a hair, only its shaft is gone
        for name in ("x_mm", "y_mm", "diameter_um", "unit_id", "angle_rad"):
            np.testing.assert_array_equal(getattr(g, name), getattr(h, name))
        assert dot.any() and not (dot & ~terminal).any()
        assert float(g.length_mm[dot].min()) >= 0.010
        assert float(g.rgb[dot].max()) <= 0.06 and g.trimmed[dot].all()
        np.testing.assert_array_equal(g.length_mm[~dot], h.length_mm[~dot])
        np.testing.assert_array_equal(g.rgb[~dot], h.rgb[~dot])
        shares.append(dot.sum() / terminal.sum())
    assert 0.03 < min(shares) and max(shares) < 0.45


def test_no_hair_of_other_scalps_is_as_short_as_a_black_dot() -> None:
    """Earlier versions' targets and pixels stay as they were: what marks a black dot (its
    length) is never met by a stub, a vellus hair, a regrown or a trimmed one."""
    for s in range(30):
        w = ds._maybe_regrown(ds._maybe_stubble(WORLD, s), s, 1.0)
        assert float(w.hairs.length_mm.min()) > BLACK_DOT_MAX_MM


def test_a_black_dot_is_a_dark_round_spot_of_its_hairs_width_where_it_emerges() -> None:
    world, dot = _dotted()
    plain = dataclasses.replace(LEGACY, seed=3, opening_visibility=0.0, empty_yellow=0.0)
    view = View(0.0, 0.0, 0.0, 4.0, 1000, 1000)
    u, v = view.world_to_pixel(world.hairs.x_mm, world.hairs.y_mm)
    inside = dot & (u > 20) & (u < 980) & (v > 20) & (v < 980)
    assert inside.sum() >= 5
    bare, _ = ScalpScene(regrow(world, 0.0), plain).reflectance(view)
    skin = bare.mean(axis=2)
    img, _ = ScalpScene(world, plain).reflectance(view)
    # darker than the skin beneath, at its emergence point, among all the other hairs
    assert (
        img.mean(axis=2)[v[inside].astype(int), u[inside].astype(int)]
        < 0.4 * skin[v[inside].astype(int), u[inside].astype(int)]
    ).all()
    # alone (the other hairs left out), each is a round spot about as wide as its hair
    alone = dataclasses.replace(world, hairs=world.hairs.subset(dot))
    img, _ = ScalpScene(alone, plain).reflectance(view)
    labels, _ = ndimage.label(img.mean(axis=2) < 0.6 * skin)
    checked = 0
    for i in np.flatnonzero(inside):
        lab = labels[int(v[i]), int(u[i])]
        assert lab > 0
        ys, xs = np.nonzero(labels == lab)
        d = float(world.hairs.diameter_um[i])
        ux, vy = u[inside].astype(int), v[inside].astype(int)
        sharing = (labels[vy, ux] == lab) & (np.hypot(ux - u[i], vy - v[i]) > 2.0)
        if sharing.any():
            continue  # two black dots side by side in one unit: one spot
        wide, high = (np.ptp(xs) + 1) * 4.0, (np.ptp(ys) + 1) * 4.0  # um
        assert 0.6 * d <= max(wide, high) <= d + 1000 * BLACK_DOT_MAX_MM + 12.0
        assert min(wide, high) >= 0.6 * d
        checked += 1
    assert checked >= 3


def test_a_black_dot_is_counted_and_marks_no_tip() -> None:
    world, dot = _dotted()
    view = View(0.0, 0.0, 0.0, 8.0, 384, 384)
    x, y, d, tips, shafts = ds._geometry(world, view, 16.0)
    plain = dataclasses.replace(
        world,
        hairs=dataclasses.replace(world.hairs, length_mm=np.where(dot, 0.6, world.hairs.length_mm)),
    )
    _, _, _, tips_plain, _ = ds._geometry(plain, view, 16.0)
    u, v = view.world_to_pixel(world.hairs.x_mm, world.hairs.y_mm)
    seen = dot & (u > -16) & (u < 400) & (v > -16) & (v < 400)
    reach = float(world.hairs.length_mm.max()) / view.mm_per_px + 16.0
    assert seen.any()
    # the same hairs counted either way; the black dots' tips are gone and only theirs
    assert len(x) == len(ds._geometry(plain, view, 16.0)[0])
    near = dot & (u > -reach) & (u < 384 + reach) & (v > -reach) & (v < 384 + reach)
    assert len(tips_plain) - len(tips) == int(near.sum())
    tgt = training_targets(x, y, d, np.array(tips).reshape(-1, 2), shafts, 384, 384, 4)
    inside = (u >= 0) & (u < 384) & (v >= 0) & (v < 384)
    for i in np.flatnonzero(dot & inside & (u > 8) & (u < 376) & (v > 8) & (v < 376))[:5]:
        cy, cx = int(v[i] // 4), int(u[i] // 4)
        assert float(tgt[:N_MAPS, cy - 1 : cy + 2, cx - 1 : cx + 2].sum()) > 0.3
        assert float(tgt[TIP_MAP, cy - 1 : cy + 2, cx - 1 : cx + 2].sum()) < 0.3
