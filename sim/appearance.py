"""How a scalp looks, apart from where its hairs are: the twin's randomised appearance.

A :class:`Style` holds everything about a scalp's look that is not its geometry: skin
micro-texture (speckle, pigment network, pinpoint white dots, flakes and scale, vessels,
peripilar halos, hue), shaft contrast and shading, how cut ends look, and how visible the
follicle openings are. It is drawn from a *style seed* of its own (:func:`random_style`),
so a bench can hold a scalp's geometry fixed and vary its look, and the reverse.

The ranges are wider than any real scalp: light skin with white hair to dark skin with
dyed near-black shafts, openings from dark to invisible, skin textures from smooth to
busier than a seborrhoeic scalp. :data:`TRICHOSCOPY` is the twin's default look, that of a
real trichoscopy close-up of clipped hair; :data:`LEGACY` reproduces the twin's look before
styles existed (pale shafts with dark openings), kept for comparison.

Texture features are anchored to the world (hashed lattices and point sets in scalp
millimetres), so every visit and every view of one scalp shows the same skin, as the
rig's relocation needs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sim.config import ScalpConfig

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

EndShape = Literal["round", "square", "oblique", "frayed", "tapered"]
END_SHAPES: tuple[EndShape, ...] = ("round", "square", "oblique", "frayed", "tapered")


@dataclass(frozen=True)
class Style:
    """A scalp's appearance; every amplitude is 0 for "absent". Units in the names."""

    # skin
    skin_gain_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)  # hue palette of the skin
    speckle_amp: float = 0.0  # relative brightness modulation of fine skin texture
    speckle_um: float = 30.0  # its grain
    pigment_net_amp: float = 0.0  # darkening along a honeycomb pigment network
    pigment_cell_um: float = 150.0  # the network's cell size
    pigment_line_um: float | None = None  # a wall's width on the skin; None: 12 % of a cell's
    pigment_warp: float = 0.0  # 0: straight-walled honeycomb .. 0.5: walls that meander
    pigment_labyrinth: bool = False  # walls along a noise's zero line: loops, no junctions
    white_dots_per_mm2: float = 0.0  # pinpoint white dots (follicle and sweat openings)
    white_dot_radius_um: float = 15.0
    white_dot_gain: float = 0.0  # how much lighter a dot is (share of the way to white)
    flake_cover: float = 0.0  # share of skin under whitish scale and flakes
    flake_um: float = 200.0
    scale_cover: float = 0.0  # share of the frame under large ragged scale lying over hairs too
    scale_um: float = 600.0  # the scale patches' size
    scale_opacity: float = 0.7  # how much of what lies beneath a scale patch hides (0..1)
    furrow_amp: float = 0.0  # darkening along meandering skin creases (relief, not pigment)
    furrow_um: float = 400.0  # scale of the creases' windings
    furrow_width_um: float = 35.0  # a crease's width on the skin
    furrow_shine: float = 0.0  # sebum shine along both lips of a crease (parallel light only)
    glint_per_mm2: float = 0.0  # pinpoint specular glints of the skin's surface (parallel light)
    ink_dots_per_mm2: float = 0.0  # tattoo or ink dots marking a site (100-500 um, blue-black)
    vessel_amp: float = 0.0  # red of thin, winding vessels
    vessel_um: float = 500.0  # scale of their windings
    halo: float = 0.0  # peripilar halo around openings with hairs: < 0 darker, > 0 lighter
    # shafts
    shaft_luminance_ratio: float | None = None  # terminal shaft / skin luminance; None: as drawn
    cylinder: float = 0.35  # 0 flat shading .. 0.5 strongly rounded shafts
    shine: float = 0.9  # specular ridge under the non-polarised ring
    shaft_alpha: float = 0.95  # terminal shafts' opacity: < 0.95 translucent (skin shows through)
    end: EndShape | Literal["mixed"] = "round"  # cut ends of trimmed hairs
    root_end: EndShape | Literal["mixed"] = "round"  # where every shaft leaves the skin
    # openings
    opening_visibility: float = 1.0  # 0 invisible .. 1 the dark dimple of a follicle opening
    empty_yellow: float = 1.0  # 0 .. 1: empty openings as yellow dots
    empty_like_open: bool = False  # empty openings drawn as those with hairs (no yellow)
    opening_dark: float = 0.0  # 0 .. 0.4: every opening's dimple darker, a shadowed pit
    opening_free: bool = False  # each opening's size drawn apart from its hairs (40-90 um)
    tip_pits: float = 0.0  # share of cut ends lying over a dimple drawn as an opening with hairs
    bare_roots: float = 0.0  # share of openings with hairs left undrawn: their roots show no pit
    mark_amp: float = 0.0  # darkening of dark skin marks (flecks, blotches, strokes), 0 .. 1
    mark_um: float = 150.0  # their size (a fleck's, a blotch's; strokes wind at 2.5x it)
    mark_cover: float = 0.0  # share of skin under flecks and blotches
    mark_line_um: float = 0.0  # a stroke's mean width (0: none); it swells and thins along it
    mark_rgb: tuple[float, float, float] = (0.28, 0.2, 0.15)  # the marks' pigment
    dot_per_mm2: float = 0.0  # pinpoint pigmented dots on the skin (clusters of 1-3), no hair
    dot_um: float = 50.0  # a dot's mean diameter (each 0.6-1.4 times it)
    dot_amp: float = 0.0  # how far a dot darkens the skin toward its pigment, 0 .. 1
    dot_rgb: tuple[float, float, float] = (0.28, 0.2, 0.15)  # the dots' pigment
    # cast shadows: the shadow each shaft throws on the skin under the ring's light
    shadow_amp: float = 0.0  # darkening of the skin under a shaft's full shadow, 0 .. 1
    shadow_lift_um: float = 40.0  # how far a shadow falls from its shaft, 0 at the opening
    shadow_rise_um: float = 300.0  # length of shaft over which it rises to that lift
    shadow_azimuth_deg: float = 0.0  # the way a shadow falls (image degrees, v down)
    shadow_ring: bool = False  # lit from three sides at once: three fainter shadows
    shadow_blur_um: float = 15.0  # a shadow's penumbra (Gaussian sigma)
    seed: int = 0  # of the world-anchored texture features

    def end_of(self, hair_index: int) -> EndShape:
        """The cut end of one trimmed hair (a style may mix shapes, fixed per hair)."""
        return self._shape(self.end, hair_index, 11)

    def root_of(self, hair_index: int) -> EndShape:
        """How one hair's shaft starts at its emergence point (mixed: fixed per hair)."""
        return self._shape(self.root_end, hair_index, 23)

    def _shape(self, shape: EndShape | Literal["mixed"], hair_index: int, salt: int) -> EndShape:
        if shape != "mixed":
            return shape
        return END_SHAPES[_hash_int(hair_index, self.seed, salt) % len(END_SHAPES)]


LEGACY = Style()
"""The twin's look before randomised appearance: pale smooth skin, dark openings, round ends."""

TRICHOSCOPY = Style(
    skin_gain_rgb=(1.02, 0.98, 0.97),
    speckle_amp=0.10,
    speckle_um=25.0,
    pigment_net_amp=0.12,
    pigment_cell_um=140.0,
    white_dots_per_mm2=3.0,
    white_dot_radius_um=14.0,
    white_dot_gain=0.25,
    flake_cover=0.02,
    flake_um=180.0,
    vessel_amp=0.05,
    vessel_um=600.0,
    halo=-0.08,
    shaft_luminance_ratio=0.12,
    cylinder=0.25,
    shine=0.6,
    end="mixed",
    opening_visibility=0.35,
    empty_yellow=0.6,
    seed=20261202,
)
"""The default look: a trichoscopy close-up of clipped hair (textured skin, dark shafts with
blunt cut ends, faint openings), as clinics photograph under the TrichoScan protocol."""


def random_style(rng: np.random.Generator, *, looks: int = 11) -> Style:
    """A look drawn from ranges wider than real scalps (see the module docstring).

    ``looks`` draws the look as that version of the training set did, every earlier field the
    same, to rebuild a model trained on those looks: 9 (synth-v9) without fine or bent
    networks, 10 (synth-v10) without labyrinths, 11 (synth-v11) the twin's looks now; 12
    (synth-v12, 2.10.0's, not the twin's own) adds deeper, thinner creases, 13 (synth-v13,
    c36's, not shipped) sebum shine along creases, 14 (synth-v14, c37's, not shipped) synth-v12's
    looks with empty openings as dark as those with hairs (no shine), 15 (synth-v15, 2.11.0's,
    not the twin's own) synth-v12's looks with dark skin marks: flecks, blotches and strokes
    (no synth-v14 openings), 16 (synth-v16, c39's, not shipped) synth-v15's looks where an
    opening's size says nothing of how many hairs leave it, 17 (synth-v17, a candidate's)
    synth-v15's looks with pinpoint pigmented dots (no synth-v16 openings); 18 (synth-v18)
    draws synth-v17's looks, its training scalps adding black dots (``sim.dataset``); 19
    (synth-v19, c46's) synth-v15's looks with the shadows shafts cast on the skin; 20
    (synth-v20, c57's) synth-v15's looks with roots drawn in the cut ends' shapes; 21
    (synth-v21, c59's) synth-v20's looks with cut ends over dimples drawn as openings; 22
    (synth-v22) synth-v21's looks with openings of hairs left undrawn."""
    u = rng.uniform

    def maybe(p: float, lo: float, hi: float) -> float:
        return float(u(lo, hi)) if rng.random() < p else 0.0

    hue = rng.choice(["neutral", "pink", "yellow", "grey"])
    gains = {
        "neutral": (1.0, 1.0, 1.0),
        "pink": (1.08, 0.94, 0.96),
        "yellow": (1.04, 1.02, 0.88),
        "grey": (0.96, 1.0, 1.04),
    }[str(hue)]
    jitter = u(0.93, 1.07, 3)
    # Shaft contrast: dyed near-black through the drawn colours to white.
    contrast = rng.random()
    ratio: float | None
    if contrast < 0.45:
        ratio = float(u(0.05, 0.35))
    elif contrast < 0.75:
        ratio = None
    else:
        ratio = float(np.exp(u(math.log(0.35), math.log(1.6))))
    style = Style(
        skin_gain_rgb=(
            float(gains[0] * jitter[0]),
            float(gains[1] * jitter[1]),
            float(gains[2] * jitter[2]),
        ),
        speckle_amp=maybe(0.9, 0.02, 0.35),
        # 10-150 um grain plus a second octave at 2.3x: texture from 10 to ~350 um.
        speckle_um=float(np.exp(u(math.log(10.0), math.log(150.0)))),
        pigment_net_amp=maybe(0.6, 0.03, 0.3),
        pigment_cell_um=float(u(70.0, 260.0)),
        white_dots_per_mm2=maybe(0.6, 0.5, 14.0),
        white_dot_radius_um=float(u(6.0, 35.0)),
        white_dot_gain=float(u(0.1, 0.6)),
        flake_cover=maybe(0.4, 0.01, 0.15),
        flake_um=float(u(80.0, 400.0)),
        vessel_amp=maybe(0.4, 0.03, 0.3),
        vessel_um=float(u(200.0, 1200.0)),
        halo=maybe(0.4, -0.3, 0.3),
        shaft_luminance_ratio=ratio,
        cylinder=float(u(0.0, 0.5)),
        shine=float(u(0.0, 1.0)),
        end=str(rng.choice([*END_SHAPES, "mixed", "mixed"])),  # type: ignore[arg-type]
        opening_visibility=float(u(0.0, 1.0) ** 0.7),
        empty_yellow=float(u(0.0, 1.0)),
        seed=int(rng.integers(2**31 - 1)),
    )
    # Drawn after every earlier field, so the random stream of the looks drawn before these
    # existed is as it was: each look keeps its draws and gains large ragged scale over skin
    # and hairs and translucent shafts; in a fifth of looks pale shafts (near the skin's own
    # luminance) and in 15 % a strong pigment network replace the contrast and network
    # amplitude drawn above.
    if rng.random() < 0.3:
        style = dataclasses.replace(
            style,
            scale_cover=float(u(0.03, 0.22)),
            scale_um=float(np.exp(u(math.log(250.0), math.log(1500.0)))),
            scale_opacity=float(u(0.35, 0.85)),
        )
    if rng.random() < 0.3:
        style = dataclasses.replace(style, shaft_alpha=float(u(0.35, 0.9)))
    if rng.random() < 0.2:
        style = dataclasses.replace(style, shaft_luminance_ratio=float(u(0.6, 1.15)))
    if rng.random() < 0.15:
        style = dataclasses.replace(style, pigment_net_amp=float(u(0.3, 0.5)))
    # synth-v9, drawn after all of the above: skin creases, glints and ink marks.
    if rng.random() < 0.4:
        style = dataclasses.replace(
            style,
            furrow_amp=float(u(0.05, 0.3)),
            furrow_um=float(u(150.0, 900.0)),
            furrow_width_um=float(u(20.0, 60.0)),
        )
    if rng.random() < 0.3:
        glints = float(np.exp(u(math.log(5.0), math.log(60.0))))
        style = dataclasses.replace(style, glint_per_mm2=glints)
    if rng.random() < 0.1:  # one or a few marks a site
        style = dataclasses.replace(style, ink_dots_per_mm2=float(u(0.005, 0.02)))
    # synth-v10, drawn after all of the above: in a third of looks a fine, dark network whose
    # walls meander (the honeycomb of dark skin at its most hair-like: 6-30 um lines, down to
    # a pixel, darkening skin by up to ~45 %), in another sixth the drawn network meanders.
    net = rng.random() if looks >= 10 else 1.0
    if net < 0.33:
        style = dataclasses.replace(
            style,
            pigment_net_amp=float(u(0.3, 0.85)),
            pigment_cell_um=float(u(60.0, 260.0)),
            pigment_line_um=float(np.exp(u(math.log(6.0), math.log(30.0)))),
            pigment_warp=float(u(0.1, 0.45)),
        )
    elif net < 0.5 and style.pigment_net_amp > 0:
        style = dataclasses.replace(style, pigment_warp=float(u(0.1, 0.45)))
    # synth-v11, drawn last: in a quarter of looks the network is a labyrinth instead, winding
    # pigment lines 6-50 um wide that close in loops and never meet (a honeycomb's walls meet
    # at junctions; a labyrinth's lines, like a hair's shaft, do not), 60-300 um apart.
    if looks >= 11 and rng.random() < 0.25:
        style = dataclasses.replace(
            style,
            pigment_net_amp=float(u(0.2, 0.8)),
            pigment_cell_um=float(u(60.0, 300.0)),
            pigment_line_um=float(np.exp(u(math.log(6.0), math.log(50.0)))),
            pigment_warp=0.0,
            pigment_labyrinth=True,
        )
    # synth-v12 (2.10.0's looks, drawn after all of the above): in a third of looks creases run
    # deeper and thinner than synth-v9 drew them (darkening 0.15-0.5, 8-60 um wide, windings
    # 100-900 um): relief lines that, like a labyrinth's, wind and meet nothing.
    if looks >= 12 and rng.random() < 0.33:
        style = dataclasses.replace(
            style,
            furrow_amp=float(u(0.15, 0.5)),
            furrow_um=float(u(100.0, 900.0)),
            furrow_width_um=float(np.exp(u(math.log(8.0), math.log(60.0)))),
        )
    # synth-v13 (c36's looks, drawn after all of the above): in half of the looks with
    # creases, sebum shining along their lips under parallel light (two bright lines beside a
    # dark one). c36 did not ship, so synth-v14 draws it (the stream stays) but leaves it out.
    if looks >= 13 and style.furrow_amp > 0 and rng.random() < 0.5:
        shine = float(u(0.2, 0.9))
        if looks == 13:
            style = dataclasses.replace(style, furrow_shine=shine)
    # synth-v14 (c37's looks, drawn after all of the above; no synth-v13 shine): in 40 % of
    # looks an empty opening is drawn as one with hairs is - as visible, as dark, no yellow -
    # so that an opening's darkness says nothing of a hair (only a shaft leaving it does); in
    # half of those every opening is a darker, shadowed pit. Elsewhere the twin draws empty
    # openings paler and yellower than those with hairs, which taught its nets to count a
    # dark dimple as a hair. c37 did not ship, so synth-v15 draws it (the stream stays) but
    # leaves it out.
    if looks >= 14 and rng.random() < 0.4:
        visibility = float(u(0.5, 1.0))
        dark = float(u(0.1, 0.4)) if rng.random() < 0.5 else 0.0
        if looks == 14:
            style = dataclasses.replace(
                style, empty_like_open=True, opening_visibility=visibility, opening_dark=dark
            )
    # synth-v15 (2.11.0's looks, drawn last): in 35 % of looks dark skin marks - pigment
    # flecks and blotches with soft, ragged edges (1-12 % of the skin, 30-400 um) and winding
    # strokes whose width swells and thins along them (8-60 um on average) and that break
    # off - darkening the skin by 30-90 % of the way to brown or grey-black. Each earlier round
    # taught one structure that was read as hair (labyrinths, creases, pits); these are the
    # generic kind: dark, soft-edged, of varying width and darkness, which a shaft never is.
    if looks >= 15 and rng.random() < 0.35:
        cover = maybe(0.75, 0.01, 0.12)
        line = float(np.exp(u(math.log(8.0), math.log(60.0))))
        if cover > 0 and rng.random() < 0.5:
            line = 0.0
        style = dataclasses.replace(
            style,
            mark_amp=float(u(0.3, 0.9)),
            mark_um=float(np.exp(u(math.log(30.0), math.log(400.0)))),
            mark_cover=cover,
            mark_line_um=line,
            mark_rgb=_MARK_COLOURS[int(rng.integers(len(_MARK_COLOURS)))],
        )
    # synth-v16 (c39's looks, drawn last): in half of the looks each opening's size is its own
    # (40-90 um radius, empty or not), not the twin's 35 + 12 um per hair, which taught its
    # nets to read a unit's hairs off its opening's size (2.11.0 reads the twin's frames 7 %
    # lower with every opening drawn as a one-hair unit's, 9 % higher as a four-hair unit's):
    # only the shafts leaving an opening say how many hairs it holds. c39 did not ship (the
    # held-out judges read it worse; model card "After 2.11.0").
    if 16 <= looks <= 18 and rng.random() < 0.5:
        if looks == 16:  # c39 did not ship: synth-v17 draws it (the stream stays), leaves it out
            style = dataclasses.replace(style, opening_free=True)
    # synth-v17 (c40's looks, drawn last; no synth-v16 openings): in 40 % of looks pinpoint
    # pigmented dots - small, round, soft brown to grey-black dots (20-90 um, alone or in
    # clusters of up to three) scattered over the skin, 0.3-8 per mm2. They carry no hair and
    # look most like a black dot (a pigmented stump, which counts); 2.11.0 counts them
    # (blind-14's knock-out, model card "After c39").
    if 17 <= looks <= 18 and rng.random() < 0.4:
        style = dataclasses.replace(
            style,
            dot_per_mm2=float(np.exp(u(math.log(0.3), math.log(8.0)))),
            dot_um=float(u(20.0, 90.0)),
            dot_amp=float(u(0.4, 0.9)),
            dot_rgb=_MARK_COLOURS[int(rng.integers(len(_MARK_COLOURS)))],
        )
    # synth-v19 (c46's looks, drawn last; synth-v15's looks, none of synth-v16 to -v18): in
    # half of the looks each shaft casts a shadow on the skin. A shaft leaves its opening at
    # the skin and rises over its first 0.1-1 mm to float above it, so its shadow starts at the
    # opening and falls 10-150 um away (height times the light's tangent), 15-60 % dark, soft
    # (3-40 um); under one side of the ring one shadow, under the whole ring (40 %) three
    # fainter ones at 120 degrees. The twin drew none, and blind-9's cast shadows carry 2.11.0's
    # over-read there (model card "After 2.11.0"): the shadow is skin, the shaft the hair.
    if looks == 19 and rng.random() < 0.5:
        style = dataclasses.replace(
            style,
            shadow_amp=float(u(0.15, 0.6)),
            shadow_lift_um=float(np.exp(u(math.log(10.0), math.log(150.0)))),
            shadow_rise_um=float(u(100.0, 1000.0)),
            shadow_azimuth_deg=float(u(0.0, 360.0)),
            shadow_ring=bool(rng.random() < 0.4),
            shadow_blur_um=float(u(3.0, 40.0)),
        )
    # synth-v20 (c57's looks, drawn last; synth-v15's looks, none of synth-v16 to -v19): in
    # half of the looks each shaft starts at its emergence point in one of the cut ends' shapes
    # (one for the look, or mixed per hair; round among them) instead of the round cap the twin
    # always drew there, so that an end's shape alone says nothing of which end it is: 2.11.0's
    # recipe reads the roots of renderers that draw them otherwise as tips (blind-21's roots
    # fill its tip map as much as blind-21's cut tips do; model card "After c55"). c57 did
    # not ship: trained on these looks it read blind-21's roots just the same, so the round
    # cap was not the cue.
    if 20 <= looks <= 22 and rng.random() < 0.5:
        root = str(rng.choice([*END_SHAPES[1:], "mixed", "mixed"]))
        style = dataclasses.replace(style, root_end=root)  # type: ignore[arg-type]
    # synth-v21 (c59's looks, drawn last; synth-v20's looks): in half of the looks a share
    # (30-100 %) of the cut ends lies over a dimple drawn exactly as an opening with hairs is
    # (its tint, darkness, halo; 40-90 um), so that a shaft's end in a dark opening is no
    # longer a root by itself. 2.11.0's recipe counts an end in an opening as a root and
    # reads the roots of renderers that draw none under them (blind-21) as cut tips: with a
    # twin-dark dimple drawn under blind-21's roots its count there doubles (0.32 -> 0.63 of
    # a hair), and one drawn under its cut tips makes them count (0.16 -> 0.27; model card
    # "After c57: what makes blind-21's roots read as cut tips"). c59 did not ship: it read
    # every source higher, and blind-21's roots as before (model card "After the
    # counterfactual").
    if 21 <= looks <= 22 and rng.random() < 0.5:
        style = dataclasses.replace(style, tip_pits=float(u(0.3, 1.0)))
    # synth-v22 (drawn last; synth-v21's looks): in half of the looks a share (30-100 %) of the
    # openings with hairs is not drawn - no dimple, no halo - so that a root need not sit in a
    # pit. c59 and c61 laid cut ends over openings (a pit is no proof of a root) and blind-21's
    # roots, drawn without one, still read as cut ends (count 0.33 of a hair at them in r54,
    # c59 and c61 alike): in training nearly every root sat in a visible opening. c63, trained
    # on these looks, did not ship: the count at blind-21's roots stayed 0.32 (model card
    # "After c61").
    if looks == 22 and rng.random() < 0.5:
        style = dataclasses.replace(style, bare_roots=float(u(0.3, 1.0)))
    return style


# the pigment of dark skin marks: brown-black, grey-black, dark brown (linear reflectance)
_MARK_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.28, 0.2, 0.15),
    (0.22, 0.22, 0.24),
    (0.4, 0.27, 0.18),
)


def style_for(look: str, style_seed: int = 0) -> Style:
    """The style a scalp config names: ``trichoscopy``, ``legacy`` or ``random``."""
    if look == "trichoscopy":
        return TRICHOSCOPY
    if look == "legacy":
        return LEGACY
    if look == "random":
        return random_style(np.random.default_rng([style_seed, 0x57]))
    raise ValueError(f"unknown look {look!r}: use trichoscopy, legacy or random")


def scalp_style(scalp: ScalpConfig) -> Style:
    """The look a scalp config asks for (its ``look`` and ``style_seed``)."""
    return style_for(scalp.look, scalp.style_seed)


# --------------------------------------------------------------------------- hashing
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: a well-mixed 64-bit hash of each element (wraps silently)."""
    h = (h ^ (h >> np.uint64(30))) * _M2
    h = (h ^ (h >> np.uint64(27))) * _M3
    out: NDArray[np.uint64] = h ^ (h >> np.uint64(31))
    return out


def _hash01(ix: NDArray[np.int64], iy: NDArray[np.int64], seed: int, salt: int) -> F64:
    """A uniform 0..1 value per integer lattice point, fixed by ``seed`` and ``salt``."""
    key = np.uint64((seed * 1_000_003 + salt * 7919) & 0xFFFFFFFFFFFFFFFF)
    h = ix.astype(np.uint64) * _M1 + iy.astype(np.uint64) * _M2 + key
    out: F64 = (_mix(h) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return out


def _hash_int(i: int, seed: int, salt: int) -> int:
    v = _hash01(np.array([i], dtype=np.int64), np.array([salt], dtype=np.int64), seed, salt)
    return int(v[0] * 2**31)


def value_noise(gx: F64, gy: F64, cell_mm: float, seed: int, salt: int) -> F32:
    """Smooth lattice noise in -1..1 at world coordinates, one feature per ``cell_mm``."""
    fx, fy = gx / cell_mm, gy / cell_mm
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    tx, ty = fx - ix, fy - iy
    tx, ty = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
    a = _hash01(ix, iy, seed, salt)
    b = _hash01(ix + 1, iy, seed, salt)
    c = _hash01(ix, iy + 1, seed, salt)
    d = _hash01(ix + 1, iy + 1, seed, salt)
    top = a + (b - a) * tx
    bot = c + (d - c) * tx
    out: F32 = (2.0 * (top + (bot - top) * ty) - 1.0).astype(np.float32)
    return out


def _flake_noise(gx: F64, gy: F64, cell_mm: float, seed: int) -> F32:
    out: F32 = value_noise(gx, gy, cell_mm, seed, 7) * 0.7 + value_noise(
        gx, gy, cell_mm * 0.35, seed, 8
    ) * np.float32(0.3)
    return out


NoiseField = Callable[[F64, F64, float, int], F32]


@functools.cache
def _quantiles(noise: NoiseField) -> tuple[F64, F64]:
    """A noise field's distribution (it does not depend on the cell size), sampled once."""
    g = np.linspace(0.0, 80.0, 400)
    gx, gy = np.meshgrid(g, g)
    n = np.sort(noise(gx.ravel(), gy.ravel(), 1.0, 12345).astype(np.float64))
    share_above = 1.0 - (np.arange(n.size) + 0.5) / n.size
    return share_above[::-1].copy(), n[::-1].copy()


def cover_threshold(noise: NoiseField, cover: float) -> float:
    """The level of ``noise`` above which ``cover`` of the skin lies (0..1)."""
    share, level = _quantiles(noise)
    return float(np.interp(cover, share, level))


def flake_threshold(cover: float) -> float:
    """The flake noise level above which ``cover`` of the skin lies (0..1)."""
    return cover_threshold(_flake_noise, cover)


def _warped_octaves(
    gx: F64,
    gy: F64,
    cell_mm: float,
    seed: int,
    warp: tuple[float, float, int],
    octaves: tuple[tuple[float, float, int], ...],
) -> F32:
    """Octaves of value noise, each ``(share of the cell, weight, salt)``, summed on a domain
    warped by a further noise: ``warp`` is its cell share, its displacement (a share of
    the cell) and the salt of x's (y's is the next)."""
    w_cell, w_amp, salt = warp
    x = gx + value_noise(gx, gy, cell_mm * w_cell, seed, salt) * (w_amp * cell_mm)
    y = gy + value_noise(gx, gy, cell_mm * w_cell, seed, salt + 1) * (w_amp * cell_mm)
    f, weight, s = octaves[0]
    out: F32 = value_noise(x, y, cell_mm * f, seed, s) * np.float32(weight)
    for f, weight, s in octaves[1:]:
        out = out + value_noise(x, y, cell_mm * f, seed, s) * np.float32(weight)
    return out


def _scale_noise(gx: F64, gy: F64, cell_mm: float, seed: int) -> F32:
    """Ragged-edged blobs: three octaves of value noise on a domain warped by a fourth."""
    return _warped_octaves(
        gx, gy, cell_mm, seed, (0.5, 0.25, 31), ((1.0, 0.55, 33), (0.4, 0.3, 34), (0.15, 0.15, 35))
    )


def scale_over(img: F32, spec: F32, gx: F64, gy: F64, style: Style, mm_per_px: float) -> None:
    """Lay the style's large ragged scale patches over skin and shafts alike, in place.

    Whitish keratin plates ``scale_um`` across covering ``scale_cover`` of the skin (the
    noise's own quantile, world-anchored like every texture), translucent by
    ``scale_opacity`` with a mottled thickness, a bright core and a thin shadow where a
    lifted edge stands off the skin. A hair beneath one is still a hair: fainter, not gone.
    """
    if style.scale_cover <= 0:
        return
    cell = style.scale_um / 1000.0
    n = _scale_noise(gx, gy, cell, style.seed)
    thr = cover_threshold(_scale_noise, style.scale_cover)
    soft = max(0.02, mm_per_px / cell)
    inside = np.clip((n - thr) / soft, 0.0, 1.0)
    thick = 0.75 + 0.25 * value_noise(gx, gy, max(cell * 0.08, mm_per_px), style.seed, 36)
    alpha = (inside * thick * style.scale_opacity).astype(np.float32)
    rim = np.clip(1.0 - np.abs(n - thr + soft) / soft, 0.0, 1.0) * (inside < 1.0)
    img *= (1.0 - 0.25 * style.scale_opacity * rim).astype(np.float32)[..., None]
    colour = np.asarray([0.88, 0.86, 0.79], dtype=np.float32)
    img *= 1.0 - alpha[..., None]
    img += alpha[..., None] * colour[None, None, :]
    spec *= 1.0 - alpha


def cell_edges(gx: F64, gy: F64, cell_mm: float, seed: int, salt: int) -> F32:
    """Distance (mm) to the nearest border of a jittered-point Voronoi tiling (a honeycomb)."""
    fx, fy = gx / cell_mm, gy / cell_mm
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    f1 = np.full(gx.shape, np.inf)
    f2 = np.full(gx.shape, np.inf)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            cx, cy = ix + dx, iy + dy
            px = cx + 0.15 + 0.7 * _hash01(cx, cy, seed, salt)
            py = cy + 0.15 + 0.7 * _hash01(cx, cy, seed, salt + 1)
            d = np.hypot(px - fx, py - fy)
            f2 = np.where(d < f1, f1, np.minimum(f2, d))
            f1 = np.minimum(f1, d)
    out: F32 = ((f2 - f1) * 0.5 * cell_mm).astype(np.float32)
    return out


def point_hash(pts: F64, seed: int, salt: int) -> F64:
    """A uniform 0..1 value per world point (mm, to the micrometre), fixed by seed and salt."""
    q = np.round(pts * 1000.0).astype(np.int64)
    return _hash01(q[:, 0], q[:, 1], seed, salt)


def world_points(
    x0: float, y0: float, x1: float, y1: float, per_mm2: float, seed: int, salt: int
) -> F64:
    """World-anchored random points (one jittered point per lattice cell, some cells empty)
    at ``per_mm2`` inside a rectangle: the same points whichever view asks."""
    if per_mm2 <= 0:
        return np.zeros((0, 2))
    cell = 1.0 / math.sqrt(per_mm2 / 0.7)  # 70 % of cells hold a point
    ix = np.arange(math.floor(x0 / cell), math.ceil(x1 / cell) + 1, dtype=np.int64)
    iy = np.arange(math.floor(y0 / cell), math.ceil(y1 / cell) + 1, dtype=np.int64)
    mx, my = np.meshgrid(ix, iy)
    gx, gy = mx.ravel(), my.ravel()
    keep = _hash01(gx, gy, seed, salt + 2) < 0.7
    px = (gx + _hash01(gx, gy, seed, salt)) * cell
    py = (gy + _hash01(gx, gy, seed, salt + 1)) * cell
    pts: F64 = np.stack([px[keep], py[keep]], axis=1)
    return pts


# --------------------------------------------------------------------------- skin
def luminance(rgb: F64) -> F64:
    """Relative luminance of linear RGB (last axis)."""
    out: F64 = rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722
    return out


_BROWN = np.asarray([0.55, 0.42, 0.33], dtype=np.float32)[None, None, :]  # the network's pigment


def pigment_network(gx: F64, gy: F64, style: Style, mm_per_px: float) -> F32:
    """How strongly the pigment network darkens each pixel toward brown (0 .. its amplitude).

    The walls of a Voronoi honeycomb of ``pigment_cell_um`` cells, ``pigment_line_um`` wide
    on the skin (by default 12 % of a cell, the look of every style before synth-v10), bent
    by ``pigment_warp``: the tiling is read through a smooth displacement of up to that
    share of a cell, so straight walls meander and cells lose their polygon shape, as the
    network of dark skin does. A wall narrower than 0.7 px is drawn 0.7 px wide and as much
    fainter, so its darkening over the skin is the same at any scale (no aliased dashes).
    With ``pigment_labyrinth`` the walls follow the zero line of a smooth noise of that
    cell size instead: winding lines that close in loops and never meet, a labyrinth rather
    than a honeycomb.
    """
    cell = style.pigment_cell_um / 1000.0
    s = style.seed
    if style.pigment_warp > 0:
        shift = style.pigment_warp * cell
        gx, gy = (
            gx + shift * value_noise(gx, gy, cell * 0.9, s, 60),
            gy + shift * value_noise(gx, gy, cell * 0.9, s, 61),
        )
    half = 0.12 * cell if style.pigment_line_um is None else style.pigment_line_um / 2000.0
    width = max(half, mm_per_px * 0.7)
    edge: F32 | F64
    if style.pigment_labyrinth:
        # two octaves; the noise climbs about 2 per cell from its zero line, so |n| * cell / 2
        # is about the distance to it
        n = value_noise(gx, gy, cell, s, 62) * 0.75 + value_noise(gx, gy, cell * 0.5, s, 63) * 0.25
        edge = np.abs(n).astype(np.float64) * (cell / 2.0)
    else:
        edge = cell_edges(gx, gy, cell, s, 3)
    amp = style.pigment_net_amp * (1.0 if style.pigment_line_um is None else half / width)
    net = np.exp(-((edge / width) ** 2)).astype(np.float32)
    out: F32 = amp * net
    return out


def creases(gx: F64, gy: F64, style: Style, mm_per_px: float) -> tuple[F32, F32]:
    """The skin's creases (0..1, the darkening's shape) and the band along both lips of each
    (0..1, where sebum shines under parallel light), at world coordinates in mm.

    Creases meander where a smooth noise crosses zero, at two scales, fading in and out along
    their length, ``furrow_width_um`` wide on the skin at any magnification (the noise climbs
    about 2 per cell from its zero line; a pixel is the floor). The lips lie about one width
    from a crease's middle, a third of its width each.
    """
    s = style.seed
    scale = style.furrow_um / 1000.0
    crease = np.zeros(gx.shape, dtype=np.float32)
    lips = np.zeros(gx.shape, dtype=np.float32)
    half_mm = max(style.furrow_width_um / 2000.0, 0.6 * mm_per_px)
    for k, f in enumerate((1.0, 0.45)):
        n = value_noise(gx, gy, scale * f, s, 40 + 2 * k)
        width = half_mm * 2.0 / (scale * f)
        fade = np.clip(value_noise(gx, gy, scale * f * 2.0, s, 41 + 2 * k) + 0.4, 0.0, 1.0)
        crease = np.maximum(crease, (np.exp(-((n / width) ** 2)) * fade).astype(np.float32))
        if style.furrow_shine > 0:
            lip = np.exp(-(((np.abs(n) - 1.2 * width) / (0.35 * width)) ** 2)) * fade
            lips = np.maximum(lips, lip.astype(np.float32))
    return crease, lips


def _mark_noise(gx: F64, gy: F64, cell_mm: float, seed: int) -> F32:
    """Ragged soft blobs: two octaves of value noise on a domain warped by a third."""
    return _warped_octaves(
        gx, gy, cell_mm, seed, (0.6, 0.35, 70), ((1.0, 0.7, 72), (0.35, 0.3, 73))
    )


def dark_marks(gx: F64, gy: F64, style: Style, mm_per_px: float) -> F32:
    """Where dark skin marks lie (0..1, the darkening's shape), at world coordinates in mm.

    Flecks and blotches: the warped noise above its quantile for ``mark_cover``, with edges
    that fade over a tenth of the noise's range (never sharper than a pixel), mottled
    inside. Strokes: the zero line of a smooth noise winding at 2.5 ``mark_um``, whose half
    width swells and thins from a quarter to 1.75 times ``mark_line_um`` along it (fainter
    where thinner) and that a third noise breaks into pieces. A hair's shaft keeps its width
    and darkness along its length and has sharp edges; these do not.
    """
    s = style.seed
    cell = style.mark_um / 1000.0
    out = np.zeros(gx.shape, dtype=np.float32)
    if style.mark_cover > 0:
        n = _mark_noise(gx, gy, cell, s)
        thr = cover_threshold(_mark_noise, style.mark_cover)
        soft = max(0.12, mm_per_px / cell)
        blot = np.clip((n - thr) / soft, 0.0, 1.0)
        mottle = 0.7 + 0.3 * value_noise(gx, gy, max(cell * 0.2, mm_per_px), s, 74)
        out = np.maximum(out, (blot * mottle).astype(np.float32))
    if style.mark_line_um > 0:
        scale = 2.5 * cell
        m = value_noise(gx, gy, scale, s, 75).astype(np.float64)
        along = np.clip(0.5 + value_noise(gx, gy, scale * 0.5, s, 76), 0.0, 1.0)
        half = np.maximum(style.mark_line_um / 2000.0 * (0.25 + 1.5 * along), 0.6 * mm_per_px)
        gate = np.clip(value_noise(gx, gy, scale * 1.5, s, 77) * 2.0 + 0.3, 0.0, 1.0)
        line = np.exp(-((np.abs(m) * (scale / 2.0) / half) ** 2)) * gate * (0.55 + 0.45 * along)
        out = np.maximum(out, line.astype(np.float32))
    return out


def skin_texture(
    img: F32, gx: F64, gy: F64, style: Style, mm_per_px: float, spec: F32 | None = None
) -> None:
    """Apply the style's world-anchored skin micro-texture to a reflectance image in place
    (and the sebum shining along creases to a specular map ``spec``, where one is given).

    ``gx``/``gy`` are the world coordinates (mm) of every pixel centre. Features finer than
    a pixel are averaged away by working at no less than the pixel scale.
    """
    s = style.seed
    if style.skin_gain_rgb != (1.0, 1.0, 1.0):
        img *= np.asarray(style.skin_gain_rgb, dtype=np.float32)[None, None, :]
    if style.speckle_amp > 0:
        grain = max(style.speckle_um / 1000.0, mm_per_px)
        n = value_noise(gx, gy, grain, s, 1) * 0.65 + value_noise(gx, gy, grain * 2.3, s, 2) * 0.35
        img *= (1.0 + style.speckle_amp * n)[..., None]
    if style.pigment_net_amp > 0:
        img *= 1.0 - pigment_network(gx, gy, style, mm_per_px)[..., None] * (1.0 - _BROWN)
    if style.furrow_amp > 0:
        crease, lips = creases(gx, gy, style, mm_per_px)
        img *= (1.0 - style.furrow_amp * crease)[..., None]
        if spec is not None and style.furrow_shine > 0:
            np.maximum(spec, style.furrow_shine * lips, out=spec)
    if style.vessel_amp > 0:
        scale = style.vessel_um / 1000.0
        n = value_noise(gx, gy, scale, s, 5)
        gate = value_noise(gx, gy, scale * 2.5, s, 6) > -0.1
        width = max(0.02, mm_per_px / scale * 0.8)
        line = (np.exp(-((n / width) ** 2)) * gate).astype(np.float32)
        absorb = np.asarray([0.05, 0.45, 0.40], dtype=np.float32)
        img *= 1.0 - (style.vessel_amp * line)[..., None] * absorb[None, None, :]
    if style.mark_amp > 0:
        pigment = 1.0 - np.asarray(style.mark_rgb, dtype=np.float32)
        img *= 1.0 - (style.mark_amp * dark_marks(gx, gy, style, mm_per_px))[..., None] * pigment
    if style.flake_cover > 0:
        cell = style.flake_um / 1000.0
        n = _flake_noise(gx, gy, cell, s)
        # The noise's own quantile for the cover, the same everywhere (world-anchored): a
        # flake stays where it is from crop to crop and visit to visit.
        thr = flake_threshold(style.flake_cover)
        soft = max(0.05, mm_per_px / cell)
        cover = np.clip((n - thr) / soft, 0.0, 1.0).astype(np.float32) * 0.8
        flake = np.asarray([0.86, 0.84, 0.80], dtype=np.float32)
        img *= 1.0 - cover[..., None]
        img += cover[..., None] * flake[None, None, :]


def stamp_dots(
    img: F32,
    pts_px: F64,
    radius_px: float | F64,
    gain: float | F64,
    colour: F64,
    feather_px: float = 0.7,
) -> None:
    """Blend soft discs of ``colour`` (share ``gain``) at pixel positions, in place;
    ``radius_px`` and ``gain`` are one for every dot or one per dot."""
    h, w = img.shape[:2]
    radii = np.broadcast_to(np.asarray(radius_px, dtype=np.float64), (len(pts_px),))
    gains = np.broadcast_to(np.asarray(gain, dtype=np.float64), (len(pts_px),))
    col = np.asarray(colour, dtype=np.float32)
    for (u, v), r_px, g in zip(pts_px, radii, gains, strict=True):
        r, dot_gain = max(float(r_px), 0.5), float(g)
        pad = math.ceil(r + 2 * feather_px + 1)
        x0, x1 = max(0, int(u) - pad), min(w, int(u) + pad + 1)
        y0, y1 = max(0, int(v) - pad), min(h, int(v) + pad + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.hypot(xx - u, yy - v)
        a = (np.clip((r - d) / (2 * feather_px) + 0.5, 0.0, 1.0) * dot_gain)[..., None]
        region = img[y0:y1, x0:x1]
        region *= 1.0 - a
        region += a * col[None, None, :]


def shaft_gain(hair_rgb: F64, terminal: NDArray[np.bool_], skin: F64, style: Style) -> float:
    """Factor on every shaft's reflectance that gives terminal shafts the style's contrast."""
    if style.shaft_luminance_ratio is None or not terminal.any():
        return 1.0
    ratio = float(np.median(luminance(hair_rgb[terminal]))) / max(float(luminance(skin)), 1e-6)
    return style.shaft_luminance_ratio / max(ratio, 1e-6)
