"""The classical second opinion: thinning, shaft counting, applicability and review flags."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage

from dermocap.errors import ImageError
from inference.second_opinion import (
    HIDDEN_CROWDED,
    MAX_COLOUR_ONLY,
    MAX_PLAUSIBLE_DENSITY,
    MAX_PLAUSIBLE_DIAMETER_UM,
    MIN_CONTRAST_OVER_THRESHOLD,
    MIN_HAIR_READ_PER_CM2,
    MIN_SHAFT_CONTRAST,
    NO_SHAFTS_SHARE,
    REVIEW_CENTRE,
    REVIEW_FACTOR,
    SecondOpinion,
    crowded_share,
    hairs_per_piece,
    log_luminance,
    mats_the_frame,
    prune,
    review_flags,
    second_opinion,
    skeleton_pieces,
    thin,
)
from sim.config import SimConfig
from sim.tools import RenderRequest, render_capture

RIG_UM_PER_PX = 5.1667
# The documented bands of the classical count on twin trimmed renders (docs/model_card.md,
# "Second opinion"): the calibrations' extremes with a margin, per look. On the trichoscopy
# look it reads low: the hairs of a unit that lie along each other make one shaft.
BAND = (0.75, 1.3)  # legacy look
TRICHOSCOPY_BAND = (0.6, 1.1)


def _pieces_of(mask: NDArray[np.bool_]) -> tuple[list[int], list[int]]:
    skel = thin(mask)
    labels, n = ndimage.label(skel, structure=np.ones((3, 3), dtype=bool))
    p = skeleton_pieces(skel, labels.astype(np.int32), n)
    return p.ends.tolist(), p.length_px.tolist()


@pytest.mark.parametrize("bin_px", [1, 2, 3])
def test_log_luminance_in_bands_equals_the_block_mean_formula(
    bin_px: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worked in bands of block rows (a small float copy at a time): the result is that of
    the whole frame at once, ragged edges cropped, however the bands fall."""
    rgb = np.random.default_rng(bin_px).integers(0, 256, (157, 203, 3), dtype=np.uint8)
    h, w = 157 // bin_px, 203 // bin_px
    blocks = rgb[: h * bin_px, : w * bin_px].astype(np.float64)
    means = blocks.reshape(h, bin_px, w, bin_px, 3).mean(axis=(1, 3))
    want = np.log(means @ np.array([0.299, 0.587, 0.114]) + 4.0)
    whole = log_luminance(rgb, bin_px)
    assert whole.shape == (h, w) and whole.dtype == np.float32
    assert np.abs(whole - want).max() < 1e-5
    monkeypatch.setattr("inference.second_opinion.LUMINANCE_BAND_BYTES", 1)  # one row a band
    assert np.array_equal(log_luminance(rgb, bin_px), whole)


def test_thinning_leaves_one_pixel_lines_with_their_ends() -> None:
    bar = np.zeros((40, 80), dtype=bool)
    bar[15:24, 10:70] = True  # a 9 px thick bar
    skel = thin(bar)
    assert skel.sum() >= 45 and skel[:, 20:60].sum(axis=0).max() == 1  # one pixel thick
    assert _pieces_of(bar)[0] == [2]
    # a thick diagonal: staircase tips still count as ends
    yy, xx = np.mgrid[0:80, 0:80]
    diag = (np.abs(yy - xx) <= 4) & (xx > 8) & (xx < 70)
    assert _pieces_of(diag)[0] == [2]
    # a plus has four ends, a ring none
    plus = np.zeros((60, 60), dtype=bool)
    plus[27:33, 5:55] = True
    plus[5:55, 27:33] = True
    assert _pieces_of(plus)[0] == [4]
    r = np.hypot(yy - 40, xx - 40)
    assert _pieces_of((r > 20) & (r < 27))[0] == [0]


def _reference_zhang_suen(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Zhang & Suen (1984) as written: every pixel, every sub-iteration, whole image."""
    img = np.pad(mask, 1).astype(np.int64)
    h, w = mask.shape
    while True:
        changed = False
        for sub in (0, 1):
            c = img[1:-1, 1:-1]
            n = [
                img[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
                for dy, dx in ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
            ]  # P2..P9
            b = sum(n)
            a = sum((n[k] == 0) & (n[(k + 1) % 8] == 1) for k in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if sub == 0:
                rule = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                rule = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            drop = (c == 1) & (b >= 2) & (b <= 6) & (a == 1) & rule
            if drop.any():
                changed = True
                img[1:-1, 1:-1] = np.where(drop, 0, c)
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_thinning_equals_the_textbook_algorithm(seed: int) -> None:
    # blobs, bars and holes: smoothed noise thresholded
    field = ndimage.gaussian_filter(np.random.default_rng(seed).normal(size=(90, 120)), 3.0)
    mask = field > 0.02
    assert mask.any() and not mask.all()
    assert np.array_equal(thin(mask), _reference_zhang_suen(mask))


def test_prune_removes_spurs_but_keeps_the_ends_of_branches() -> None:
    skel = np.zeros((40, 80), dtype=bool)
    skel[20, 5:75] = True  # a long line
    skel[15:20, 40] = True  # a 5 px spur off its middle
    pruned = prune(skel, 8)
    labels, n = ndimage.label(pruned, structure=np.ones((3, 3), dtype=bool))
    p = skeleton_pieces(pruned, labels.astype(np.int32), n)
    assert p.ends.tolist() == [2] and not pruned[15:19, 40].any()
    assert p.length_px.tolist() == [70 - 16]


def _shaft(y0: float, x0: float, angle_deg: float, length: float, half: float) -> NDArray[np.bool_]:
    """A straight shaft mask (200 x 200 blocks) from (y0, x0) at ``angle_deg``."""
    yy, xx = np.mgrid[0:200, 0:200].astype(np.float64)
    dy, dx = math.sin(math.radians(angle_deg)), math.cos(math.radians(angle_deg))
    t = np.clip((yy - y0) * dy + (xx - x0) * dx, 0, length)
    out: NDArray[np.bool_] = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx)) <= half
    return out


def _hairs(mask: NDArray[np.bool_]) -> tuple[list[int], list[int], list[int]]:
    """Hairs, ends and corners per piece, as the counter reads them (pruned, 11 px corners)."""
    skel = prune(thin(mask), 13)
    labels, n = ndimage.label(skel, structure=np.ones((3, 3), dtype=bool))
    p = skeleton_pieces(skel, labels.astype(np.int32), n, corner_px=11)
    return hairs_per_piece(p, 20).tolist(), p.ends.tolist(), p.corners.tolist()


@pytest.mark.parametrize("spread_deg", [30, 45, 60, 90])
def test_a_v_without_its_opening_counts_two_hairs(spread_deg: float) -> None:
    # Two shafts leaving one faint opening: one skeleton line, two ends, one corner.
    v = _shaft(170, 100, -90 - spread_deg / 2, 110, 4) | _shaft(
        170, 100, -90 + spread_deg / 2, 110, 4
    )
    assert _hairs(v) == ([2], [2], [1])


def test_straight_curved_hollow_and_branched_pieces_have_no_corner() -> None:
    assert _hairs(_shaft(100, 30, 10, 140, 5)) == ([1], [2], [0])
    yy, xx = np.mgrid[0:200, 0:200]
    r = np.hypot(yy - 300, xx - 100)
    assert _hairs((np.abs(r - 220) <= 4) & (yy > 20)) == ([1], [2], [0])  # bends 30 deg in all
    # a shaft with a light core open at its cut end: no U-turn read as a corner
    hollow = _shaft(100, 30, 0, 140, 6) & ~_shaft(100, 60, 0, 200, 1.5)
    assert _hairs(hollow)[2] == [0]
    # a V whose opening shows as a stem: three ends already count two hairs
    y = (
        _shaft(170, 100, -90, 25, 6)
        | _shaft(150, 100, -110, 110, 4)
        | _shaft(150, 100, -70, 110, 4)
    )
    assert _hairs(y) == ([2], [3], [0])


def _segments_frame(
    n: int,
    seed: int,
    *,
    dark: bool = True,
    size: tuple[int, int] = (760, 1014),
    colour_every: int = 0,
    texture_60um: float = 0.03,
    shade: float | None = None,
) -> tuple[NDArray[np.uint8], int]:
    """Noisy textured skin with ``n`` straight shafts 0.5-1.2 mm long, 40-100 um thick, apart.

    Every ``colour_every``-th shaft (none when 0) has the skin's brightness but another colour
    (greener and bluer, its luma as the skin's); the others are ``shade`` times the skin
    (0.15 dark, 3.0 light unless told). ``texture_60um``: the skin texture's amount at ~60 um.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    um = RIG_UM_PER_PX
    skin = np.array([0.78, 0.60, 0.50]) if dark else np.array([0.30, 0.20, 0.15])
    # skin texture as the twin's: 5 % at ~0.3 mm and 3 % at ~60 um, plus sensor noise below
    texture = 1.0
    for sigma_um, amount in ((300.0, 0.05), (60.0, texture_60um)):
        field = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), sigma_um / um)
        texture = texture + amount * field / field.std()
    img = skin[None, None, :] * np.asarray(texture)[..., None]
    # a shaft of the skin's luma (gamma-encoded, as the counter reads it) but another hue
    enc = skin ** (1 / 2.2) + 0.12 * np.array([-1.0, 0.299 / 0.587, 0.0])
    iso = np.clip(enc, 0, 1) ** 2.2
    shaft = skin * (shade if shade is not None else 0.15 if dark else 3.0)
    placed: list[tuple[NDArray[np.float64], float]] = []
    tries = 0
    while len(placed) < n and tries < 10_000:
        tries += 1
        length = rng.uniform(500, 1200) / um
        ang = rng.uniform(0, math.pi)
        x0, y0 = rng.uniform(40, w - 40), rng.uniform(40, h - 40)
        x1, y1 = x0 + length * math.cos(ang), y0 + length * math.sin(ang)
        if not (40 < x1 < w - 40 and 40 < y1 < h - 40):
            continue
        radius = rng.uniform(20, 50) / um
        # shafts apart: >= 30 px of skin between any two (points every few px along each)
        pts = np.linspace([x0, y0], [x1, y1], 60)
        if any(
            np.min(np.hypot(*(pts[:, None, :] - other[None, :, :]).transpose(2, 0, 1)))
            < 30 + radius + r
            for other, r in placed
        ):
            continue
        placed.append((pts, radius))
        bx0, bx1 = int(min(x0, x1) - radius - 2), int(max(x0, x1) + radius + 3)
        by0, by1 = int(min(y0, y1) - radius - 2), int(max(y0, y1) + radius + 3)
        yy, xx = np.mgrid[by0:by1, bx0:bx1].astype(np.float64)
        ax, ay = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * ax + (yy - y0) * ay) / (ax * ax + ay * ay), 0, 1)
        d = np.hypot(x0 + t * ax - xx, y0 + t * ay - yy)
        cover = np.clip(radius - d + 0.5, 0, 1)[..., None]
        box = img[by0:by1, bx0:bx1]
        colour = iso if colour_every and len(placed) % colour_every == 0 else shaft
        img[by0:by1, bx0:bx1] = box * (1 - cover) + cover * colour
    img = img + rng.normal(0, 0.01, img.shape)
    rgb = (np.clip(img, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)
    return rgb, len(placed)


@pytest.mark.parametrize(("n", "seed", "dark"), [(25, 1, True), (40, 2, True), (30, 3, False)])
def test_counts_straight_segments_on_noisy_skin(n: int, seed: int, dark: bool) -> None:
    rgb, placed = _segments_frame(n, seed, dark=dark)
    assert placed == n
    got = second_opinion(rgb, RIG_UM_PER_PX)
    assert got.applicable, got.reason
    assert abs(got.count - n) <= max(1, round(0.08 * n))
    area_cm2 = rgb.shape[0] * rgb.shape[1] * (RIG_UM_PER_PX * 1e-4) ** 2
    assert got.density_per_cm2 == pytest.approx(got.count / area_cm2, rel=0.02)


def test_shafts_seen_in_colour_only_are_not_applicable() -> None:
    # Half the shafts have the skin's brightness but another colour: the luminance count
    # reads only the others, about half the truth, from sharp shafts (contrast well above
    # the faint limit), so the frame passed before the colour check.
    rgb, placed = _segments_frame(30, 7, colour_every=2)
    assert placed == 30
    got = second_opinion(rgb, RIG_UM_PER_PX)
    assert got.count <= 0.6 * placed and got.contrast > 0.3
    assert not got.applicable
    assert "colour" in got.reason and got.colour_only > MAX_COLOUR_ONLY
    assert review_flags(placed / 0.6, got) == []
    # the same frame with every shaft dark: nothing in colour only, applicable
    plain = second_opinion(_segments_frame(30, 7)[0], RIG_UM_PER_PX)
    assert plain.applicable and plain.colour_only < 0.05


def test_bare_noisy_skin_counts_nothing() -> None:
    rgb, _ = _segments_frame(0, 5)
    got = second_opinion(rgb, RIG_UM_PER_PX)
    assert got.count <= 1


def _render(
    length: str, seed: int, look: str = "legacy", **scalp: Any
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    base = SimConfig()
    # The legacy look unless told: the first calibration's, with a band of its own.
    update = {"hair_length": length, "look": look, **scalp}
    cfg = base.model_copy(update={"scalp": base.scalp.model_copy(update=update)})
    req = RenderRequest(seed=seed, width=1014, height=760, noise_seed=seed)
    return render_capture(cfg, req)


TWIN_CASES = [
    (8_100_001, {"hair_colour": "black", "skin_tone": 0.2, "density_per_cm2": 220.0}),
    (8_100_002, {"hair_colour": "dark_brown", "skin_tone": 0.5, "density_per_cm2": 120.0}),
    (8_100_003, {"hair_colour": "white", "skin_tone": 0.9, "density_per_cm2": 160.0}),
]


@pytest.mark.parametrize(("seed", "scalp"), TWIN_CASES)
def test_twin_trimmed_count_is_within_the_documented_band(seed: int, scalp: dict[str, Any]) -> None:
    rgb, truth = _render("trimmed", seed, **scalp)
    got = second_opinion(rgb, truth["um_per_px"])
    assert got.applicable, got.reason
    ratio = got.density_per_cm2 / truth["density_per_cm2"]
    assert BAND[0] <= ratio <= BAND[1], (ratio, got)


@pytest.mark.parametrize(("seed", "scalp"), TWIN_CASES)
def test_twin_trichoscopy_count_is_within_its_documented_band(
    seed: int, scalp: dict[str, Any]
) -> None:
    rgb, truth = _render("trimmed", seed, "trichoscopy", **scalp)
    got = second_opinion(rgb, truth["um_per_px"])
    assert got.applicable, got.reason
    ratio = got.density_per_cm2 / truth["density_per_cm2"]
    assert TRICHOSCOPY_BAND[0] <= ratio <= TRICHOSCOPY_BAND[1], (ratio, got)


def test_faint_hair_is_not_applicable() -> None:
    rgb, truth = _render("trimmed", 8_100_004, hair_colour="blond", skin_tone=0.5)
    got = second_opinion(rgb, truth["um_per_px"])
    assert not got.applicable
    assert "too faint" in got.reason and got.contrast < 0.15


def test_shafts_faint_against_the_skin_texture_are_not_applicable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Calibration render 16 of the twin's random look (scripts/calibrate_second_opinion.py,
    # make_case(16, "trimmed", "random")): a skin of strong cell texture raises the threshold
    # to ~0.21 and a third of the hairs are vellus; the counter read 0.51 of the truth from
    # shafts of median contrast 0.28, which passed the absolute faint limit (0.15).
    # The look as it was drawn then: synth-v8 gave this style skin creases, drawn after.
    import dataclasses

    import sim.twin
    from sim.appearance import scalp_style

    monkeypatch.setattr(
        sim.twin, "scalp_style", lambda c: dataclasses.replace(scalp_style(c), furrow_amp=0.0)
    )
    cfg = SimConfig.model_validate(
        {
            "scalp": {
                "skin_tone": 0.6757699406085658,
                "hair_colour": "brown",
                "density_per_cm2": 310.85095712192947,
                "vellus_fraction": 0.3358005294182452,
                "hair_length": "trimmed",
                "empty_follicle_fraction": 0.04735233286054079,
                "look": "random",
            },
            "optics": {"um_per_px_error": -0.009203231122348464},
        }
    )
    req = RenderRequest(
        seed=8_000_016,
        light="cross",
        duty=0.822662125631086,
        exposure_us=7204,
        z_offset_mm=-0.047795359119518356,
        noise_seed=16,
        style_seed=8_500_016,
    )
    rgb, truth = render_capture(cfg, req)
    got = second_opinion(rgb, truth["um_per_px"])
    assert got.density_per_cm2 < 0.7 * truth["density_per_cm2"]
    assert got.contrast > MIN_SHAFT_CONTRAST and got.colour_only < MAX_COLOUR_ONLY
    assert not got.applicable
    assert "texture" in got.reason
    assert got.contrast < MIN_CONTRAST_OVER_THRESHOLD * got.threshold


def test_long_hair_is_not_applicable() -> None:
    rgb, truth = _render("long", 8_100_010, density_per_cm2=160.0)
    got = second_opinion(rgb, truth["um_per_px"])
    assert not got.applicable
    assert "long hair" in got.reason
    # no disagreement is flagged on a count that does not apply; a mat is, whatever the counts
    flags = review_flags(min(3 * got.density_per_cm2 + 100, MAX_PLAUSIBLE_DENSITY), got)
    assert flags == review_flags(got.density_per_cm2, got)
    assert bool(flags) == (got.crowded > HIDDEN_CROWDED)


def test_a_density_no_scalp_holds_is_sent_to_review_applicable_or_not() -> None:
    """Bare skin with flakes read as 600 hairs/cm2: the classical count does not apply
    there (it sees the flakes too), yet no scalp holds that many hairs."""
    rgb, truth = _render("long", 8_100_010, density_per_cm2=160.0)
    got = second_opinion(rgb, truth["um_per_px"])
    assert not got.applicable
    (reason,) = [r for r in review_flags(600.0, got) if "more than a scalp holds" in r]
    assert "600 hairs/cm2" in reason and "capture it again" in reason
    assert not [r for r in review_flags(MAX_PLAUSIBLE_DENSITY, got) if "scalp holds" in r]
    # both counts agree: still sent
    fine = dataclasses.replace(got, applicable=True, density_per_cm2=550.0)
    assert any("more than a scalp holds" in r for r in review_flags(600.0, fine))


def test_a_mean_diameter_no_scalp_hair_has_is_sent_to_review() -> None:
    """blind-1's faint, blurred blond hair read at 1185 um across. Only where the network
    reads hair: below MIN_HAIR_READ_PER_CM2 it reads bare skin, and a diameter of a few
    stray cells means nothing (2.11.0 on the bench's bare frames: 0.01-1.3 hairs/cm2 at
    218-3300 um, ten frames, every one a false alarm)."""
    second = _opinion(0.0, applicable=False)
    second = dataclasses.replace(second, density_per_cm2=10.0)  # not "no shafts"
    (reason,) = review_flags(6.0, second, net_mean_diameter_um=1185.0)
    assert "1185 um across" in reason and "capture it again" in reason
    limit = MAX_PLAUSIBLE_DIAMETER_UM
    assert review_flags(6.0, second, net_mean_diameter_um=limit) == []
    assert review_flags(6.0, second) == []  # no diameter given: not judged
    assert review_flags(0.0, second, net_mean_diameter_um=0.0) == []  # no hair read
    bare = MIN_HAIR_READ_PER_CM2 * 0.99
    assert review_flags(bare, second, net_mean_diameter_um=1185.0) == []
    both = review_flags(600.0, second, net_mean_diameter_um=limit + 1)
    assert len(both) == 3  # and the classical count sees under a quarter of 600


def test_dense_long_hair_is_flagged_as_a_mat_hiding_its_openings() -> None:
    rgb, truth = _render("long", 8_100_011, "trichoscopy", density_per_cm2=280.0)
    got = second_opinion(rgb, truth["um_per_px"])
    assert got.crowded > HIDDEN_CROWDED
    # what capture measures alone, to tell the technician at once, is the same figure
    assert crowded_share(rgb, truth["um_per_px"]) == got.crowded
    assert mats_the_frame(got.crowded) and not mats_the_frame(HIDDEN_CROWDED)
    flags = review_flags(truth["density_per_cm2"], got)
    assert len(flags) == 1 and "hides the openings" in flags[0] and "Clip the site" in flags[0]
    trimmed, t = _render("trimmed", 8_100_012, "trichoscopy", density_per_cm2=280.0)
    assert second_opinion(trimmed, t["um_per_px"]).crowded < HIDDEN_CROWDED


def test_a_mat_is_flagged_beside_a_disagreement_and_on_its_own() -> None:
    mat = dataclasses.replace(_opinion(100.0), crowded=HIDDEN_CROWDED + 0.05)
    assert len(review_flags(100.0 * REVIEW_CENTRE, mat)) == 1
    both = review_flags(300.0, mat)
    assert len(both) == 2 and "hides the openings" in both[0] and "model reads" in both[1]
    edge = dataclasses.replace(_opinion(100.0), crowded=HIDDEN_CROWDED)
    assert review_flags(100.0 * REVIEW_CENTRE, edge) == []


def test_bare_skin_read_as_bare_is_no_mat() -> None:
    """The crowded share reads textured bare skin as shafts (the twin's bare renders crowd
    0.76-0.99): where the network reads bare skin, no mat is said to hide anything."""
    mat = dataclasses.replace(
        _opinion(0.0, applicable=False), crowded=0.95, density_per_cm2=0.0, count=0
    )
    assert review_flags(MIN_HAIR_READ_PER_CM2 * 0.99, mat) == []
    (reason,) = review_flags(MIN_HAIR_READ_PER_CM2, mat)
    assert "hides the openings" in reason  # a mat is never also "no shafts"


def test_hair_read_where_no_shafts_show_is_sent_to_review() -> None:
    """A frame the classical count cannot judge, where it still sees under NO_SHAFTS_SHARE
    of what the network reads: skin marks counted as hairs, or hair too faint to see."""
    faint = _opinion(0.0, applicable=False)
    (reason,) = review_flags(40.0, faint)
    assert "finds shafts for only 0/cm2 (under 25% of it)" in reason and "40 hairs/cm2" in reason
    assert "capture it again" in reason
    edge = 40.0 * NO_SHAFTS_SHARE
    assert review_flags(40.0, dataclasses.replace(faint, density_per_cm2=edge * 0.99))
    assert review_flags(40.0, dataclasses.replace(faint, density_per_cm2=edge)) == []
    assert review_flags(MIN_HAIR_READ_PER_CM2 * 0.99, faint) == []  # read as bare skin
    # an applicable frame is judged by the band instead, a matted one by the mat alone
    (band,) = review_flags(40.0, _opinion(0.0))
    assert "where the classical count finds none" in band
    (mat,) = review_flags(40.0, dataclasses.replace(faint, crowded=HIDDEN_CROWDED + 0.01))
    assert "hides the openings" in mat


def test_bad_input_is_refused() -> None:
    with pytest.raises(ImageError):
        second_opinion(np.zeros((100, 100), dtype=np.uint8), RIG_UM_PER_PX)  # type: ignore[arg-type]
    with pytest.raises(ImageError):
        second_opinion(np.zeros((100, 100, 3), dtype=np.uint8), 0.0)
    with pytest.raises(ImageError):
        crowded_share(np.zeros((100, 100, 3), dtype=np.uint8), 0.0)


def _opinion(density: float, applicable: bool = True) -> SecondOpinion:
    return SecondOpinion(
        applicable=applicable,
        reason="" if applicable else "long hair",
        count=round(density),
        density_per_cm2=density,
        pieces=1,
        cover=0.1,
        crowded=0.0,
        contrast=1.0,
        threshold=0.06,
        colour_only=0.0,
        mm_per_hair=1.0,
        elapsed_ms=1.0,
    )


def test_review_flags_a_ratio_outside_the_band_and_not_within() -> None:
    second = _opinion(100.0)
    high, low = REVIEW_CENTRE * REVIEW_FACTOR, REVIEW_CENTRE / REVIEW_FACTOR
    assert review_flags(100.0 * high * 0.98, second) == []
    assert review_flags(100.0 * low * 1.02, second) == []
    assert review_flags(100.0 * REVIEW_CENTRE, second) == []
    hi = review_flags(100.0 * high * 1.02, second)
    assert len(hi) == 1 and "model reads" in hi[0] and "classical" in hi[0]
    lo = review_flags(100.0 * low / 1.02, second)
    assert len(lo) == 1 and "missed" in lo[0]
    # a 1.5x miscount either way of the expected ratio is flagged at the documented band
    assert review_flags(100.0 * REVIEW_CENTRE * 1.5, second)
    assert review_flags(100.0 * REVIEW_CENTRE / 1.5, second)
    assert review_flags(40.0, _opinion(0.0)) and review_flags(0.0, _opinion(40.0))
    assert review_flags(0.0, _opinion(0.0)) == []
    # bare skin both ways is agreement: no ratio of two near-zero reads is judged
    floor = MIN_HAIR_READ_PER_CM2
    assert review_flags(floor * 0.99, _opinion(0.0)) == []
    assert review_flags(0.0, _opinion(floor * 0.99)) == []
    assert review_flags(floor, _opinion(0.0)) and review_flags(0.0, _opinion(floor))
    assert review_flags(300.0, _opinion(100.0, applicable=False)) == []
    # the band is centred where told: at 1, 1.2 passes a factor 1.25 and 1.3 does not
    assert review_flags(120.0, second, factor=1.25, centre=1.0) == []
    assert review_flags(130.0, second, factor=1.25, centre=1.0)
    assert review_flags(120.0, second, factor=1.05, centre=1.0)
    with pytest.raises(ValueError):
        review_flags(100.0, second, factor=1.0)
    with pytest.raises(ValueError):
        review_flags(100.0, second, centre=0.0)


def _model_reading(factor: float) -> Any:
    """A HairModel whose network reads ``factor`` hairs for every hair of the frame."""
    from pathlib import Path

    from inference.model import HairModel, ModelSpec
    from inference.runtime import FunctionRuntime

    img, n = _segments_frame(25, seed=7)
    h, w = img.shape[:2]
    area_cm2 = w * h * (RIG_UM_PER_PX * 1e-4) ** 2

    def net(batch: Any) -> Any:
        # The maps spread factor * n hairs evenly over the frame's cells.
        out = np.zeros((batch.shape[0], 3, batch.shape[2] // 4, batch.shape[3] // 4), np.float32)
        out[:, 0] = 1.0
        return out

    info = ModelSpec("fake", "0", "0" * 64, Path("fake.onnx"), 8.0, 4, 8, 100.0, 30.0)
    model = HairModel(FunctionRuntime(net), info, tile_px=4096)
    raw = model.analyze(img, RIG_UM_PER_PX, review_factor=None)
    # Scale the fake net so that it reads factor x the true count.
    gain = factor * n / max(raw.hair_count, 1)
    model = HairModel(FunctionRuntime(lambda b: net(b) * gain), info, tile_px=4096)
    return model, img, n / area_cm2


def test_a_result_the_second_opinion_contradicts_is_flagged_never_changed() -> None:
    model, img, true_density = _model_reading(2.0)
    m = model.analyze(img, RIG_UM_PER_PX)
    assert m.second_opinion is not None and m.second_opinion.applicable
    assert m.density_per_cm2 == pytest.approx(2.0 * true_density, rel=0.05)  # never corrected
    assert m.review and "classical count" in m.review_reasons[0]
    assert m.review_kinds == ["net_above_classical"]  # one kind per reason, in order
    assert m.runtime_version == "function" and m.numpy_version == np.__version__
    agree, img, _ = _model_reading(1.0)
    ok = agree.analyze(img, RIG_UM_PER_PX)
    assert not ok.review and ok.review_reasons == [] and ok.review_kinds == []
    off = agree.analyze(img, RIG_UM_PER_PX, review_factor=None)
    assert off.second_opinion is None and not off.review


def test_a_result_of_hairs_thicker_than_any_scalps_is_flagged() -> None:
    from pathlib import Path

    from inference.model import HairModel, ModelSpec
    from inference.runtime import FunctionRuntime

    img, _ = _segments_frame(25, seed=7)

    def net(batch: Any) -> Any:  # a few hairs a frame, each read 600 um across
        out = np.zeros((batch.shape[0], 3, batch.shape[2] // 4, batch.shape[3] // 4), np.float32)
        out[:, 0] = 0.01
        out[:, 2] = 0.01 * 600.0 / 100.0  # map 2: summed diameter / 100 um
        return out

    info = ModelSpec("fake", "0", "0" * 64, Path("fake.onnx"), 8.0, 4, 8, 100.0, 30.0)
    m = HairModel(FunctionRuntime(net), info, tile_px=4096).analyze(img, RIG_UM_PER_PX)
    assert m.mean_diameter_um == pytest.approx(600.0, rel=0.01)  # reported as read
    assert m.review and any("600 um across" in r for r in m.review_reasons)
    assert "600 um across" in m.review_reasons[m.review_kinds.index("diameter_implausible")]


@pytest.mark.parametrize("bin_px", [1, 2, 3, 17])
def test_log_chromaticity_block_means_are_exact_at_any_block_size(bin_px: int) -> None:
    from inference.second_opinion import log_chromaticity

    shape = (5 * bin_px + bin_px - 1, 7 * bin_px + bin_px // 2, 3)  # ragged edges dropped
    rgb = np.random.default_rng(bin_px).integers(0, 256, shape)
    rgb = rgb.astype(np.uint8)
    rg, gb = log_chromaticity(rgb, bin_px)
    h, w = 5 * bin_px, 7 * bin_px
    mean = rgb[:h, :w].reshape(5, bin_px, 7, bin_px, 3).astype(np.float64).mean(axis=(1, 3))
    log = np.log(mean + 4.0)
    assert rg.shape == (5, 7)
    np.testing.assert_allclose(rg, log[..., 0] - log[..., 1], atol=1e-5)
    np.testing.assert_allclose(gb, log[..., 1] - log[..., 2], atol=1e-5)


def test_with_threads_the_second_opinion_runs_beside_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reached by construction: the second opinion waits for the network to start and the
    network for the second opinion, so only a run side by side finishes."""
    import threading
    from pathlib import Path

    import inference.model as model_module
    from inference.model import HairModel, ModelSpec
    from inference.runtime import FunctionRuntime

    img, _ = _segments_frame(25, seed=7)
    both = threading.Barrier(2, timeout=60)
    seen: list[str] = []
    real = model_module.second_opinion

    def opinion(rgb: Any, um_per_px: float) -> Any:
        seen.append(threading.current_thread().name)
        both.wait()
        return real(rgb, um_per_px)

    def net(batch: Any) -> Any:
        both.wait()
        return np.zeros((batch.shape[0], 3, batch.shape[2] // 4, batch.shape[3] // 4), np.float32)

    monkeypatch.setattr(model_module, "second_opinion", opinion)
    info = ModelSpec("fake", "0", "0" * 64, Path("fake.onnx"), 8.0, 4, 8, 100.0, 30.0)
    with HairModel(FunctionRuntime(net), info, tile_px=4096, threads=2) as model:
        side_by_side = model.analyze(img, RIG_UM_PER_PX)
    assert seen and seen[0].startswith("second-opinion")
    assert side_by_side.second_opinion is not None
    # The same numbers as one after the other (one thread), where nothing waits.
    monkeypatch.setattr(model_module, "second_opinion", real)

    def plain(batch: Any) -> Any:
        return np.zeros((batch.shape[0], 3, batch.shape[2] // 4, batch.shape[3] // 4), np.float32)

    with HairModel(FunctionRuntime(plain), info, tile_px=4096, threads=1) as model:
        alone = model.analyze(img, RIG_UM_PER_PX)
    assert alone.second_opinion == side_by_side.second_opinion
    # A network that fails leaves no second opinion running into the next frame: one that
    # has started is waited for.
    started, finished = threading.Event(), threading.Event()

    def tracked(rgb: Any, um_per_px: float) -> Any:
        started.set()
        out = real(rgb, um_per_px)
        finished.set()
        return out

    def broken(batch: Any) -> Any:
        assert started.wait(60)
        raise RuntimeError("kernel fault")

    monkeypatch.setattr(model_module, "second_opinion", tracked)
    with HairModel(FunctionRuntime(broken), info, tile_px=4096, threads=2) as model:
        with pytest.raises(Exception, match="kernel fault"):
            model.analyze(img, RIG_UM_PER_PX)
        assert finished.is_set()
