"""Training samples of the hair model rendered by the twin: random scalps in random looks.

Each sample is a crop at the model's native scale and its target maps
(:func:`inference.targets.training_targets`): the three count maps the model predicts,
plus where cut tips and shafts lie, so a tip, a shaft and textured skin are explicit
negatives. Geometry (the scalp) and appearance (:mod:`sim.appearance`) are drawn from
separate seeds. The data set is cached in chunks, so an interrupted render resumes.

The independent test generator (:mod:`sim.heldout`) is never used here.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import math
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from dermocap.images import decode_rgb
from inference.preprocess import resample
from inference.targets import N_TRAIN_MAPS, training_targets
from sim.appearance import Style, random_style
from sim.config import ScalpConfig
from sim.optics import defocus_sigma_px, expose, gaussian_blur
from sim.render import ScalpScene, View, shaft_points
from sim.scalp import (
    BLACK_DOT_MAX_MM,
    CURL_VERSION,
    CURLS,
    VELLUS_THRESHOLD_UM,
    ScalpWorld,
    curl,
    generate_scalp,
    hair_colour_names,
    regrow,
)
from sim.tools import NEUTRAL_COLOUR_GAINS

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

DATASET_VERSION = "synth-v11"  # bump when a sample's pixels or targets change (v11: labyrinths)
# Recipe.looks: the twin's looks of each version (sim.appearance.random_style's ``looks``);
# 12 trained 2.10.0, 15 2.11.0, 13, 14, 16, 17, 18, 19 candidates'; none is the twin's own
# (DEFAULT_LOOKS). 18 is 17's looks with black dots among the hairs (_maybe_black_dots); 19
# is 15's with cast shadows; 20 is 15's with roots drawn in the cut ends' shapes; 21 is 20's
# with cut ends over dimples drawn as openings; 22 is 21's with openings of hairs left undrawn.
LOOKS = {
    9: "synth-v9",
    10: "synth-v10",
    11: DATASET_VERSION,
    12: "synth-v12",
    13: "synth-v13",
    14: "synth-v14",
    15: "synth-v15",
    16: "synth-v16",
    17: "synth-v17",
    18: "synth-v18",
    19: "synth-v19",
    20: "synth-v20",
    21: "synth-v21",
    22: "synth-v22",
}
DEFAULT_LOOKS = 11
CROPS_PER_WORLD = 6
UM_PER_PX_RANGE = (3.0, 12.0)
LONG_EXTENT_MM = 24.0  # patch of scalp of long or mixed hair
LONG_CENTRE_MM = 2.0  # crops of it are centred within this of its middle
LEGACY_SHARE = 0.1  # share of crops in the twin's legacy look (pale shafts, dark openings)
STUBBLE_SHARE = 0.15  # share of scalps whose trimmed hairs are short stubs (_maybe_stubble)
BLACK_DOT_SHARE = 0.3  # synth-v18: share of scalps with black dots among their hairs
HAIRLESS_SHARE = 0.12  # share of scalps with no hair at all: textured skin only
CHUNK_WORLDS = 25  # worlds per cache file
PAIR_CROPS = 3  # before-and-after pairs per world of a pair set (pair_samples)
PAIRS_VERSION = 2  # bump when a pair's pixels or targets change (2: bare-skin pairs)
PAIR_SEED_OFFSET = 600_000  # pair worlds' seeds: world_seed + this, apart from the singles'
STYLE_PAIRS_VERSION = 1  # bump when a style pair's pixels or targets change
STYLE_PAIR_SEED_OFFSET = 700_000  # style pair worlds' seeds, apart from both of the above


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a data set is made of: the model's input contract and the sampling."""

    native_um_per_px: float
    stride: int
    crop_px: int
    seed: int
    worlds: int
    regrow_share: float = 0.0  # share of hair-bearing scalps regrown or thinned (see below)
    pairs: bool = False  # a set of before-and-after pairs (pair_samples), not single crops
    style_pairs: bool = False  # with pairs: two looks of one crop (style_pair_samples)
    style_regrow: bool = False  # with style pairs: the second look's scalp regrown too
    curl_share: float = 0.0  # share of single-crop scalps with curled hair (_maybe_curled)
    looks: int = DEFAULT_LOOKS  # another version's looks (9: synth-v9's, to rebuild 2.8.0)

    def style(self, rng: np.random.Generator) -> Style:
        """A random look of this recipe's version (:data:`LOOKS`)."""
        return random_style(rng, looks=self.looks)


def random_scalp(rng: np.random.Generator, seed: int) -> ScalpConfig:
    """A scalp drawn from the twin's whole range (long hair on a larger patch, see below)."""
    cfg = ScalpConfig(
        seed=seed,
        skin_tone=float(rng.uniform(0.0, 1.0)),
        hair_colour=hair_colour_names()[int(rng.integers(len(hair_colour_names())))],
        density_per_cm2=float(rng.uniform(40.0, 320.0)),
        vellus_fraction=float(rng.uniform(0.05, 0.40)),
        hair_length=("trimmed", "long", "mixed")[int(rng.choice(3, p=[0.4, 0.3, 0.3]))],
        empty_follicle_fraction=float(rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.15, 0.5)])),
        extent_mm=14.0,
    )
    if cfg.hair_length == "trimmed":
        return cfg
    # Shafts up to 14 mm long lie across a crop from that far away: a larger patch.
    return cfg.model_copy(update={"extent_mm": LONG_EXTENT_MM})


def view_world(world: ScalpWorld, view: View) -> ScalpWorld:
    """The world with only the hairs whose shaft reaches ``view`` (see :func:`local_world`)."""
    radius = math.hypot(view.width, view.height) * view.mm_per_px / 2
    return local_world(world, view.center_x_mm, view.center_y_mm, radius)


def local_world(world: ScalpWorld, cx: float, cy: float, radius_mm: float) -> ScalpWorld:
    """The same world with only the hairs whose shaft reaches a disc (rendering all is slow).

    A straight hair's shaft is followed as the renderer draws it (angle + curvature x arc
    length) at 24 points; the 0.5 mm slack covers the chords between them and the shaft's
    width. A curled hair (:func:`sim.scalp.curl`) is kept if its emergence point lies within
    its length of the disc: its shaft can reach no further.
    """
    h = world.hairs
    t = h.length_mm[:, None] * np.linspace(0.0, 1.0, 24)[None, :]
    ang = h.angle_rad[:, None] + h.curvature_per_mm[:, None] * t
    dt = np.diff(t, axis=1)
    px = h.x_mm[:, None] + np.concatenate([t[:, :1] * 0, np.cumsum(dt * np.cos(ang[:, :-1]), 1)], 1)
    py = h.y_mm[:, None] + np.concatenate([t[:, :1] * 0, np.cumsum(dt * np.sin(ang[:, :-1]), 1)], 1)
    reach = np.hypot(px - cx, py - cy).min(axis=1) <= radius_mm + 0.5
    curled = h.wave_amp_rad != 0.0
    reach[curled] = (
        np.hypot(h.x_mm[curled] - cx, h.y_mm[curled] - cy) <= radius_mm + h.length_mm[curled] + 0.5
    )
    return dataclasses.replace(world, hairs=h.subset(reach))


def vignette_window(
    h: int, w: int, frame_h: float, frame_w: float, oy: float, ox: float, strength: float
) -> F32:
    """The twin's vignetting for an (h, w) window at offset (oy, ox) of a larger frame."""
    y = (np.arange(h, dtype=np.float32) + oy - (frame_h - 1) / 2) / ((frame_h - 1) / 2)
    x = (np.arange(w, dtype=np.float32) + ox - (frame_w - 1) / 2) / ((frame_w - 1) / 2)
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2.0
    out: F32 = (1.0 - strength * r2 * (0.6 + 0.4 * r2)).astype(np.float32)
    return out


def illumination_gradient(h: int, w: int, rng: np.random.Generator) -> F32:
    """A linear fall-off of light across the frame (a tilted cone, an uneven ring)."""
    ang = rng.uniform(0, 2 * np.pi)
    depth = rng.uniform(0.0, 0.35)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = ((x / max(w - 1, 1) - 0.5) * np.cos(ang) + (y / max(h - 1, 1) - 0.5) * np.sin(ang)) * 2
    out: F32 = (1.0 - depth * (ramp + 1.0) / 2.0).astype(np.float32)
    return out


def jpeg_roundtrip(img: U8, quality: int) -> U8:
    """Encode and decode as JPEG (the artefacts a clinic's exported images carry)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return decode_rgb(buf.getvalue(), name="JPEG round trip")


def render_view(
    world: ScalpWorld,
    view: View,
    style: Style,
    rng: np.random.Generator,
    *,
    frame_px: tuple[int, int],
) -> U8:
    """Render one view with random optics: defocus, light, gradient, noise, vignetting, JPEG.

    ``world`` may hold only the hairs that reach the view (:func:`view_world`).
    """
    refl, spec = ScalpScene(world, style).reflectance(view)
    off = abs(float(rng.normal(0.0, 0.08)))
    sigma = defocus_sigma_px(off, 0.0, px_per_mm=9.0, depth_of_field_mm=0.04)
    refl, spec = gaussian_blur(refl, sigma), gaussian_blur(spec, sigma)
    parallel = rng.random() < 0.2
    duty = float(rng.uniform(0.45, 0.9))
    fh, fw = frame_px
    vig = vignette_window(
        view.height,
        view.width,
        fh,
        fw,
        float(rng.uniform(0, max(0.0, fh - view.height))),
        float(rng.uniform(0, max(0.0, fw - view.width))),
        float(rng.uniform(0.0, 0.45)),
    ) * illumination_gradient(view.height, view.width, rng)
    g = NEUTRAL_COLOUR_GAINS
    img = expose(
        refl,
        spec,
        cross_duty=0.0 if parallel else duty,
        parallel_duty=duty if parallel else 0.0,
        led_efficiency=float(rng.uniform(0.8, 1.2)),
        ambient=float(rng.uniform(0.0, 0.05)),
        specular_strength=float(rng.uniform(0.2, 1.0)),
        vignette=vig,
        exposure_us=float(rng.uniform(6000.0, 11000.0)),
        analogue_gain=1.0,
        colour_gains=(g[0] * float(rng.uniform(0.85, 1.15)), g[1] * float(rng.uniform(0.85, 1.15))),
        full_well_e=float(rng.uniform(2000.0, 20000.0)),
        read_noise=float(rng.uniform(0.002, 0.015)),
        rng=rng,
    )
    if rng.random() < 0.5:
        img = jpeg_roundtrip(img, int(rng.integers(50, 96)))
    return img


def _geometry(
    world: ScalpWorld, view: View, pad_px: float
) -> tuple[F64, F64, F64, list[F64], list[F64]]:
    """Emergence points and diameters near the view (also just outside), the cut tips and
    the shafts' points, all in the view's pixels."""
    h = world.hairs
    u, v = view.world_to_pixel(h.x_mm, h.y_mm)
    near = (u > -pad_px) & (u < view.width + pad_px) & (v > -pad_px) & (v < view.height + pad_px)
    reach = float(h.length_mm.max()) / view.mm_per_px + pad_px if len(h) else 0.0
    shafts: list[F64] = []
    tips: list[F64] = []
    for i in np.flatnonzero(
        (u > -reach) & (u < view.width + reach) & (v > -reach) & (v < view.height + reach)
    ):
        pts = shaft_points(world, int(i), view, step_px=2.0)
        shafts.append(pts)
        if h.trimmed[i] and h.length_mm[i] > BLACK_DOT_MAX_MM:  # a black dot shows no free end
            tips.append(pts[-1])
    return u[near], v[near], h.diameter_um[near], tips, shafts


def _native(p: F64, f: float) -> F64:
    """Render pixel coordinates to native ones (pixel centres at integers in both)."""
    out: F64 = (p + 0.5) * f - 0.5
    return out


def world_samples(seed: int, recipe: Recipe) -> list[tuple[U8, F32]]:
    """``CROPS_PER_WORLD`` samples (native image, training target maps) from one world."""
    rng = np.random.default_rng([seed, 7919])
    world = generate_scalp(random_scalp(rng, seed % (2**31 - 1)))
    world = _maybe_stubble(world, seed)
    if rng.random() < HAIRLESS_SHARE:
        world = regrow(world, 0.0)  # bare skin: every opening empty, no hair
    elif recipe.regrow_share > 0:
        world = _maybe_regrown(world, seed, recipe.regrow_share)
    if recipe.curl_share > 0:
        world = _maybe_curled(world, seed, recipe.curl_share)
    world = _maybe_black_dots(world, seed, recipe.looks)
    style = recipe.style(np.random.default_rng([seed, 0x57E]))
    legacy = rng.random() < LEGACY_SHARE
    if legacy:
        style = Style()
    return [
        _sample(view_world(world, view), view, style, rng, recipe)
        for view in (_view(world, rng, recipe) for _ in range(CROPS_PER_WORLD))
    ]


def pair_samples(seed: int, recipe: Recipe) -> list[tuple[U8, F32]]:
    """``PAIR_CROPS`` before-and-after pairs of one world: each the same view of the scalp
    and of the same scalp regrown or thinned (:func:`pair_factor`), in the same look, optics
    and sensor noise, so that only the hairs differ. One world in ``HAIRLESS_SHARE`` is bare
    skin at both visits, so that pairs hold bare crops as often as single samples do (without
    them, a batch with pairs held a quarter fewer). Each item is (images
    (2, crop, crop, 3), target maps (2, maps, cells, cells)): the training loop's pair term
    prices the ratio of the two reads against the true ratio."""
    rng = np.random.default_rng([seed, 0x9A1])
    before = generate_scalp(random_scalp(rng, seed % (2**31 - 1)))
    before = _maybe_black_dots(_maybe_stubble(before, seed), seed, recipe.looks)
    after = regrow(before, pair_factor(rng), seed=int(rng.integers(2**31 - 1)))
    if rng.random() < HAIRLESS_SHARE:  # bare skin stays bare: as many bare crops as singles
        before = after = regrow(before, 0.0)
    style = recipe.style(np.random.default_rng([seed, 0x57E]))
    out: list[tuple[U8, F32]] = []
    for _ in range(PAIR_CROPS):
        view = _view(before, rng, recipe)
        state = copy.deepcopy(rng.bit_generator.state)
        a = _sample(view_world(before, view), view, style, rng, recipe)
        rng.bit_generator.state = state  # the same optics and noise draws for the follow-up
        b = _sample(view_world(after, view), view, style, rng, recipe)
        out.append((np.stack([a[0], b[0]]), np.stack([a[1], b[1]])))
    return out


def style_pair_samples(seed: int, recipe: Recipe) -> list[tuple[U8, F32]]:
    """``PAIR_CROPS`` pairs of one world, each the same view of the same hairs in two looks:
    two styles drawn apart (each the legacy look in ``LEGACY_SHARE``), and optics, light and
    sensor noise drawn apart, so that only the appearance differs and the two target maps
    are the same. The pair term (:func:`inference.training.loop.pair_term`) then prices any
    difference between the two reads: a count that follows how dark the shafts or openings
    are, or the skin's texture, rather than how many hairs there are. Bare skin in
    ``HAIRLESS_SHARE`` of worlds, as for single samples.

    With ``recipe.style_regrow`` the second look's scalp is also regrown or thinned
    (:func:`pair_factor`): a true ratio of 1 lets a net that reads every crop nearer the
    middle (a flatter read) pay nothing, a true ratio of 0.6-1.6 prices that flattening
    as the before-and-after pairs do, while the look still changes between the two."""
    rng = np.random.default_rng([seed, 0x5D1])
    world = generate_scalp(random_scalp(rng, seed % (2**31 - 1)))
    world = _maybe_black_dots(_maybe_stubble(world, seed), seed, recipe.looks)
    if rng.random() < HAIRLESS_SHARE:
        world = regrow(world, 0.0)
    looks = [
        Style() if rng.random() < LEGACY_SHARE else recipe.style(np.random.default_rng([seed, k]))
        for k in (0x57E, 0x57F)
    ]
    later = world
    if recipe.style_regrow:  # its own stream: the plain style pairs' draws stay as they were
        grow = np.random.default_rng([seed, 0x5D2])
        later = regrow(world, pair_factor(grow), seed=int(grow.integers(2**31 - 1)))
    out: list[tuple[U8, F32]] = []
    for _ in range(PAIR_CROPS):
        view = _view(world, rng, recipe)
        a = _sample(view_world(world, view), view, looks[0], rng, recipe)
        b = _sample(view_world(later, view), view, looks[1], rng, recipe)
        out.append((np.stack([a[0], b[0]]), np.stack([a[1], b[1]])))
    return out


def pair_factor(rng: np.random.Generator) -> float:
    """A treatment's effect for a training pair: 1.05-1.6x in 7 of 10, else 0.6-0.95x."""
    return float(rng.uniform(1.05, 1.6) if rng.random() < 0.7 else rng.uniform(0.6, 0.95))


def _view(world: ScalpWorld, rng: np.random.Generator, recipe: Recipe) -> View:
    """A random crop's view of ``world``: scale 3-12 um/px, place and turn."""
    crop = recipe.crop_px
    upp = float(rng.uniform(*UM_PER_PX_RANGE))
    render_px = round(crop * recipe.native_um_per_px / upp)
    upp_true = crop * recipe.native_um_per_px / render_px
    # Long hair: crops near the centre of its larger patch, so shafts come from all sides.
    lim = world.extent_mm / 2 - 1.5 if world.extent_mm <= 14.0 else LONG_CENTRE_MM
    return View(
        float(rng.uniform(-lim, lim)),
        float(rng.uniform(-lim, lim)),
        float(rng.uniform(0, 360)),
        upp_true,
        render_px,
        render_px,
    )


def _sample(
    local: ScalpWorld, view: View, style: Style, rng: np.random.Generator, recipe: Recipe
) -> tuple[U8, F32]:
    """One sample (native image, training target maps) of ``view`` (``local``: the world's
    hairs that reach it, :func:`view_world`)."""
    crop = recipe.crop_px
    render_px = view.width
    frame = (1520 * render_px / crop, 2028 * render_px / crop)
    img = render_view(local, view, style, rng, frame_px=(int(frame[0]), int(frame[1])))
    nat = resample(img, crop, crop)
    f = crop / render_px
    x, y, d, tips, shafts = _geometry(local, view, 4 * recipe.stride / f)
    tip_xy = _native(np.array(tips, dtype=np.float64).reshape(-1, 2), f)
    tgt = training_targets(
        _native(x, f),
        _native(y, f),
        d,
        tip_xy,
        [_native(s, f) for s in shafts],
        crop,
        crop,
        recipe.stride,
    )
    return np.clip(nat + 0.5, 0, 255).astype(np.uint8), tgt


def _maybe_stubble(world: ScalpWorld, seed: int) -> ScalpWorld:
    """With probability ``STUBBLE_SHARE``, the trimmed hairs shaved days ago: stubs of
    60-450 um, barely longer than they are thick (a cut end a few diameters from its
    opening, often with no opening to see). Its own random stream, so the other choices of
    the world stay as they were."""
    rng = np.random.default_rng([seed, 0x57B])
    if rng.random() >= STUBBLE_SHARE or not world.hairs.trimmed.any():
        return world
    h = world.hairs
    short = rng.uniform(0.06, 0.45, len(h))
    length = np.where(h.trimmed, np.minimum(h.length_mm, short), h.length_mm)
    return dataclasses.replace(world, hairs=dataclasses.replace(h, length_mm=length))


def _maybe_black_dots(world: ScalpWorld, seed: int, looks: int) -> ScalpWorld:
    """synth-v18 (``looks`` 18 only: 19 builds on 15): with probability :data:`BLACK_DOT_SHARE`,
    5-40 % of the scalp's terminal hairs broken at the skin's surface - black dots: 10-35 um of
    near-black shaft above the skin, drawn as a dark disc of the hair's width in its opening.
    Each is still a hair to count (its emergence point stays in the targets) and shows no free
    end (no cut tip is marked for it, :func:`_geometry`). synth-v17's pigmented dots carry no
    hair and lie anywhere on the skin; these sit in openings and count, so that a net learns a
    dark dot by where it is, not only by that it is dark. Its own random stream, so the other
    choices of the world stay as they were; earlier looks leave the world alone."""
    if looks != 18:
        return world
    rng = np.random.default_rng([seed, 0xB1D])
    h = world.hairs
    terminal = h.diameter_um >= VELLUS_THRESHOLD_UM
    if rng.random() >= BLACK_DOT_SHARE or not terminal.any():
        return world
    n = len(h)
    dot = terminal & (rng.random(n) < rng.uniform(0.05, 0.4))
    black = rng.uniform(0.02, 0.06, n)[:, None] * np.array([1.0, 0.92, 0.85])
    return dataclasses.replace(
        world,
        hairs=dataclasses.replace(
            h,
            length_mm=np.where(dot, rng.uniform(0.010, BLACK_DOT_MAX_MM, n), h.length_mm),
            rgb=np.where(dot[:, None], black, h.rgb),
            trimmed=h.trimmed | dot,
            wave_amp_rad=np.where(dot, 0.0, h.wave_amp_rad),
        ),
    )


def _maybe_regrown(world: ScalpWorld, seed: int, share: float) -> ScalpWorld:
    """With probability ``share``, the scalp months later: 1.1-1.6x the hairs (new ones in
    empty openings, then 3- and 4-hair units) in 7 of 10, 0.6-0.9x in the rest.

    A drawn scalp has the unit make-up of its density; a treated one has more hairs per
    opening and more than the drawn range (a regrown 320 is 500). A model trained without
    them reads a follow-up's new hairs short (``scripts/bench_change.py``). Its own random
    stream, so the other choices of the world stay as they were.
    """
    rng = np.random.default_rng([seed, 0x6E6])
    if rng.random() >= share:
        return world
    factor = float(rng.uniform(1.1, 1.6) if rng.random() < 0.7 else rng.uniform(0.6, 0.9))
    return regrow(world, factor, seed=int(rng.integers(2**31 - 1)))


def _maybe_curled(world: ScalpWorld, seed: int, share: float) -> ScalpWorld:
    """With probability ``share``, the scalp's hairs wavy, curly or coiled (one in three
    each, :func:`sim.scalp.curl`): the same emergence points, so the same count targets,
    but shafts that wind and loop across the crop. The twin's scalps are otherwise near
    straight, and a model that never saw a coil's turns with a "not an emergence point" on
    them reads long coiled hair two to eight times too high. Its own random stream, so the
    other choices of the world stay as they were."""
    rng = np.random.default_rng([seed, 0xC01])
    if rng.random() >= share:
        return world
    kind = CURLS[1 + int(rng.integers(len(CURLS) - 1))]
    return curl(world, kind, seed=int(rng.integers(2**31 - 1)))


def _chunk(args: tuple[int, int, Recipe]) -> tuple[U8, F32]:
    start, stop, recipe = args
    make, offset = (
        (style_pair_samples, STYLE_PAIR_SEED_OFFSET)
        if recipe.pairs and recipe.style_pairs
        else (pair_samples, PAIR_SEED_OFFSET)
        if recipe.pairs
        else (world_samples, 0)
    )
    samples = [s for i in range(start, stop) for s in make(world_seed(recipe, i) + offset, recipe)]
    return np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])


def world_seed(recipe: Recipe, i: int) -> int:
    """Seed of the data set's ``i``-th world (training seeds: 1e6.. for seed 1)."""
    return recipe.seed * 1_000_003 + i


def build_dataset(
    cache: Path,
    recipe: Recipe,
    workers: int = 1,
    progress: Callable[[int], Any] | None = None,
) -> tuple[U8, F32]:
    """Render (or load from cache) ``recipe.worlds * CROPS_PER_WORLD`` samples (with
    ``recipe.pairs``: ``recipe.worlds * PAIR_CROPS`` pairs, each stacked before and after).

    Chunks of :data:`CHUNK_WORLDS` worlds are cached as they finish (written atomically),
    so a render that stopped resumes where it was. ``progress`` gets the crops done.
    """
    tag = (
        f"{LOOKS[recipe.looks]}-s{recipe.seed}-c{recipe.crop_px}-u{recipe.native_um_per_px:g}"
        f"-st{recipe.stride}"
        + (f"-rg{recipe.regrow_share:g}" if recipe.regrow_share > 0 else "")
        + (f"-cu{recipe.curl_share:g}v{CURL_VERSION}" if recipe.curl_share > 0 else "")
        + (
            f"-stylepairs{STYLE_PAIRS_VERSION}" + "-rg" * recipe.style_regrow
            if recipe.pairs and recipe.style_pairs
            else f"-pairs{PAIRS_VERSION}"
            if recipe.pairs
            else ""
        )
    )
    folder = cache / tag
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [
        (a, min(a + CHUNK_WORLDS, recipe.worlds), recipe)
        for a in range(0, recipe.worlds, CHUNK_WORLDS)
    ]

    def path(c: tuple[int, int, Recipe]) -> Path:
        return folder / f"worlds-{c[0]:06d}-{c[1]:06d}.npz"

    todo = [c for c in chunks if not path(c).exists()]
    if progress is not None:
        per_world = PAIR_CROPS if recipe.pairs else CROPS_PER_WORLD
        progress((len(chunks) - len(todo)) * CHUNK_WORLDS * per_world)

    def save(c: tuple[int, int, Recipe], data: tuple[U8, F32]) -> None:
        tmp = path(c).with_suffix(".tmp.npz")
        np.savez(tmp, images=data[0], targets=data[1])
        tmp.replace(path(c))
        if progress is not None:
            progress(len(data[0]))

    if workers > 1 and len(todo) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for c, data in zip(todo, pool.imap(_chunk, todo), strict=True):
                save(c, data)
    else:
        for c in todo:
            save(c, _chunk(c))
    images: list[U8] = []
    targets: list[F32] = []
    for c in chunks:
        with np.load(path(c)) as z:
            images.append(z["images"])
            targets.append(z["targets"])
    img_all = np.concatenate(images)
    tgt_all = np.concatenate(targets)
    if tgt_all.shape[-3] != N_TRAIN_MAPS:
        raise ValueError(f"{folder}: targets of another version; delete the folder")
    return img_all, tgt_all
