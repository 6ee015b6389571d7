"""A classical second opinion on the hair count: top-hat, threshold, skeleton, shaft ends.

The network counts emergence points. This counter shares nothing with it: it finds shafts as
thin structures darker (or, for grey and white hair, lighter) than the skin around them, thins
them to a one-pixel skeleton and counts the ends of every connected piece. On trimmed hair
(the clinic protocol, shafts ~1 mm) most shafts lie alone or in the small V of a follicular
unit, so ends count hairs well. Where they do not, the frame is reported *not applicable*:
long hair lying on the scalp (shafts crowd with no skin between them), shafts too faint
against the skin or its texture to be found whole, and shafts that differ from the skin in
colour but hardly in brightness (the count reads luminance only: :func:`colour_only_share`).
Steps, all numpy/scipy on the whole frame:

1. luminance of ~``WORK_UM`` blocks in log units (a contrast reads the same on any skin);
2. black and white top-hat at a scale just above the thickest shaft (``SHAFT_MAX_UM``),
   against a skin estimate of its own for each polarity;
3. hysteresis threshold at multiples of the response's robust noise (median absolute
   deviation), with a floor contrast so clean skin stays empty; holes narrower than a shaft
   are filled;
4. Zhang-Suen thinning, vectorised with a 256-entry lookup table over the border pixels only;
5. spurs shorter than ``PRUNE_UM`` are pruned; per connected piece the ends are counted:
   hairs = ends - 1 for a piece with ends (1 for a lone shaft, 2 for the V of a two-hair unit
   whose opening shows as a stem, k for a star of k hairs sharing an opening), 1 for a closed
   loop long enough, nothing for a piece shorter than ``MIN_PIECE_UM`` (texture, follicle
   openings, dust);
6. in a piece without junctions each sharp, diverging corner adds a hair (:func:`corners`):
   the V of a unit whose opening does not show is one line with two ends.

:func:`review_reasons` compares the network's density with this one; the band outside which a
result is flagged (``REVIEW_CENTRE`` and ``REVIEW_FACTOR``) and how it was chosen are in
docs/model_card.md, "Second opinion".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from inference.preprocess import check_input

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
Bool = NDArray[np.bool_]
I64 = NDArray[np.int64]

SHAFT_MAX_UM = 130.0  # thicker than any terminal shaft (40-120 um): the top-hat's scale
WORK_UM = 9.0  # the counter works on blocks of about this size (2x2 at the rig's 5.2 um/px)
POOL_UM = 30.0  # the skin background is estimated on blocks of about this size
DARK_GREYS = 4.0  # grey levels added before a log: dark noise is not contrast
LUMINANCE_BAND_BYTES = 1 << 20  # float work per band of log_luminance
SMOOTH_UM = 8.0  # Gaussian sigma before the top-hat: sensor noise, not shafts
PRUNE_UM = 130.0  # spurs shorter than this (a thick shaft's width) are not ends
MIN_PIECE_UM = 200.0  # shorter skeleton pieces are texture, openings or dust
CORNER_UM = 100.0  # a skeleton's direction is read this far to either side of each pixel
CORNER_COS = 0.4  # ... and it turns at a corner where its two arms meet at under ~134 deg
MAX_CROWDED = 0.2  # more of the frame crowded than this: long hair, not applicable
# More of the frame crowded than this: long hair lies over the skin as a mat and hides the
# emergence points under it, so the network's count cannot be trusted and a change between
# visits reads smaller than it is. Every result is flagged, whatever the two counts say.
# Chosen on the change bench's twin pairs (scripts/bench_change.py, model 2.2.0): at sites
# crowded over 0.6 a regrowth or loss read 0.42 of its true size (worst site 17.6 points
# off), at the others 0.90 (worst 7.0). The independent generator's same-site pairs split
# far less (0.58 against 0.64). Skin texture crowds too: of the bench's 17 generators, 27 of
# 189 bare and 29 of 255 trimmed frames crowd over 0.6 (the first two generators' none over
# 0.41), hence MIN_HAIR_READ_PER_CM2 in review_reasons. docs/model_card.md, "Second opinion".
HIDDEN_CROWDED = 0.6
MIN_SHAFT_CONTRAST = 0.15  # median shaft contrast (log units) below this: too faint to count
# The median shaft found below this multiple of its polarity's high threshold (set by the
# skin's texture and noise): a vellus shaft, about half a terminal one's diameter and so about
# half its contrast, falls under the threshold, and the count misses the vellus hairs.
MIN_CONTRAST_OVER_THRESHOLD = 2.0
COLOUR_BIN = 2  # the colour check works on blocks of this many of the counter's blocks
HIGH_SIGMAS = 6.0  # hysteresis: a shaft has a pixel this many noise sigmas above the median
LOW_SIGMAS = 3.0  # ... and extends over pixels this many sigmas above it
MIN_CONTRAST = 0.06  # floor of the high threshold, in log units (~6 % darker or lighter)
LOW_SHARE = 0.7  # the low threshold is at least this share of the high one

# The review band: net / classical density beyond REVIEW_CENTRE * REVIEW_FACTOR, or below
# REVIEW_CENTRE / REVIEW_FACTOR, asks a person to look. The centre is the ratio expected when
# both read right: the classical count misses hairs of a unit that lie along each other and
# reads ~0.78 of the truth on the twin's trichoscopy look, ~1.07 on its legacy look (geometric
# mean of the two looks' median net / classical, 1.23 and 0.97). Calibrated on twin
# trimmed-hair renders (docs/model_card.md, "Second opinion").
REVIEW_FACTOR = 1.25
REVIEW_CENTRE = 1.1
# More hairs per cm2 than a human scalp holds (healthy scalps read about 150-350 in
# trichoscopy; the twin and every independent generator draw scalps of at most 330): a read above
# this is something else counted as hair (flakes, scale, dots, texture), whatever the
# classical count can say. A review reason of its own, applicable frame or not.
MAX_PLAUSIBLE_DENSITY = 500.0
# A mean shaft diameter thicker than scalp hair (terminal shafts are about 40-120 um, the
# coarsest near 150-180): a read above this counted something else, or too little hair to
# measure (blind-1's faint blurred blond hair read 0.6 hairs/cm2 of 60 at 1185 um; a read that
# low is now bare skin to the network, under MIN_HAIR_READ_PER_CM2, and not judged: on the
# bench every such read was bare skin). A review reason of its own, like the density limit.
MAX_PLAUSIBLE_DIAMETER_UM = 200.0
# Below this the network reads bare skin (the release target for hairless skin is at most 5
# hairs/cm2 read): a hair mat or a mean diameter says nothing of a frame it reads as bare. On
# the generality bench's training sources (2.11.0) the mat reason fell on bare skin whose
# texture the crowded share reads as shafts (twin bare renders crowded 0.76-0.99), and the
# diameter reason on bare frames read at 0.5-1.3 hairs/cm2 (docs/model_card.md, "Review flags
# on bare skin and where no shafts show").
MIN_HAIR_READ_PER_CM2 = 5.0
# A frame the classical count cannot judge (not applicable) and not matted, where the network
# reads hair but the classical count finds under this share of it: either the network counted
# skin marks (dots, flakes, texture) as hairs, or the hairs are too faint for either to see.
# A review reason of its own. Chosen on the training sources only (0.1 / 0.25 / 0.5 tried);
# docs/model_card.md, same section.
NO_SHAFTS_SHARE = 0.25
# Shafts the luminance count cannot see (found in colour only) over all shafts found: above
# this share the count misses at least as many hairs, reads under 1 / REVIEW_FACTOR of itself,
# and a network that reads right would be sent to review; the frame is not applicable.
MAX_COLOUR_ONLY = 1.0 - 1.0 / REVIEW_FACTOR


@dataclass(frozen=True)
class SecondOpinion:
    """What the classical counter found in one frame.

    ``count`` and ``density_per_cm2`` are given even when the frame is not applicable (for a
    report), but only an applicable frame is compared with the network's count; on one that
    is not, :func:`review_reasons` asks only whether it finds shafts at all where the network
    reads hair (the no-shafts reason).
    """

    applicable: bool
    reason: str  # why the frame is not applicable; "" when it is
    count: int  # hairs, from the ends of the skeleton pieces
    density_per_cm2: float  # count over the frame's area
    pieces: int  # skeleton pieces long enough to hold a hair
    cover: float  # share of the frame the shaft mask covers
    crowded: float  # share of the frame where shafts leave no skin between them
    contrast: float  # median contrast of the shaft pixels against the skin, log units
    threshold: float  # the contrast a shaft must reach to be found (main polarity), log units
    colour_only: float  # share of the shafts found in colour but not in luminance (not counted)
    mm_per_hair: float  # skeleton length over the count (0.5-0.8 mm on twin trimmed hair)
    elapsed_ms: float


def _row_sums(rgb: U8, bin_px: int) -> NDArray[np.uint16]:
    """Sums over each block's ``bin_px`` rows, (h / bin_px, w, 3), ragged edges cropped.

    Strided integer adds: exact, and far faster than a float mean over a reshaped view.
    """
    h, w = rgb.shape[0] // bin_px * bin_px, rgb.shape[1] // bin_px * bin_px
    rows = rgb[:h:bin_px, :w].astype(np.uint16)
    for i in range(1, bin_px):
        rows += rgb[i:h:bin_px, :w]
    return rows


def log_luminance(rgb: U8, bin_px: int) -> F32:
    """Mean luminance of ``bin_px`` x ``bin_px`` blocks in log units (ragged edges cropped).

    Log units make a contrast read the same on light and dark skin and under the
    vignetting's fall-off.
    """
    # Columns of a block and the colour weights in one product: (h', w', 3b) @ (3b,).
    weights = np.tile(np.array([0.299, 0.587, 0.114], dtype=np.float32), bin_px)
    h, w = rgb.shape[0] // bin_px, rgb.shape[1] // bin_px
    out: F32 = np.empty((h, w), dtype=np.float32)
    # In bands of block rows: a float copy of the whole frame's row sums would be ~2x the
    # frame (18 MB for a rig frame), held while the network runs beside it.
    band = max(1, LUMINANCE_BAND_BYTES // max(1, 4 * 3 * bin_px * w))
    for r in range(0, h, band):
        rows = _row_sums(rgb[r * bin_px : (r + band) * bin_px], bin_px)
        y = rows.reshape(rows.shape[0], w, 3 * bin_px).astype(np.float32) @ weights
        y *= np.float32(1.0 / bin_px**2)
        y += np.float32(DARK_GREYS)
        np.log(y, out=out[r : r + rows.shape[0]])
    return out


def _coarse(gray: F32, pool: int) -> F32:
    h, w = gray.shape
    ph, pw = -(-h // pool), -(-w // pool)
    padded = np.pad(gray, ((0, ph * pool - h), (0, pw * pool - w)), mode="edge")
    out: F32 = padded.reshape(ph, pool, pw, pool).mean(axis=(1, 3), dtype=np.float32)
    return out


def skin_backgrounds(gray: F32, um_per_px: float) -> tuple[F32, F32]:
    """The skin without its shafts, seen by dark and by light shafts: (for dark, for light).

    For dark shafts a closing at shaft scale (``SHAFT_MAX_UM``) fills them, then an opening
    removes light ones; for light shafts the reverse. The order matters where shafts crowd:
    the skin between the dark shafts of a follicular unit is itself a narrow light structure,
    which an opening first would take for a shaft. Run on block means of about ``POOL_UM``
    (a shaft is still 1-4 blocks wide there) and expanded back: the skin varies slowly, so
    blocks lose nothing and cost a tenth of the pixels.
    """
    h, w = gray.shape
    pool = max(1, round(POOL_UM / um_per_px))
    coarse = _coarse(gray, pool)
    k = 2 * round(SHAFT_MAX_UM / (um_per_px * pool) / 2) + 1
    closed = ndimage.grey_closing(coarse, size=k)
    opened = ndimage.grey_opening(coarse, size=k)
    for_dark = ndimage.grey_opening(closed, size=k)
    for_light = ndimage.grey_closing(opened, size=k)
    return _expand(for_dark, pool, h, w), _expand(for_light, pool, h, w)


def _linear_weights(n: int, pool: int, coarse_n: int) -> tuple[I64, I64, F32]:
    pos = (np.arange(n) + 0.5) / pool - 0.5
    lo = np.clip(np.floor(pos), 0, coarse_n - 1).astype(np.int64)
    hi = np.minimum(lo + 1, coarse_n - 1)
    frac = np.clip(pos - lo, 0.0, 1.0).astype(np.float32)
    return lo, hi, frac


def _expand(coarse: F32, pool: int, h: int, w: int) -> F32:
    """Bilinear expansion of block values back to (h, w) pixels (no block edges to threshold)."""
    lo, hi, f = _linear_weights(h, pool, coarse.shape[0])
    rows = coarse[lo] * (1 - f)[:, None] + coarse[hi] * f[:, None]
    lo, hi, f = _linear_weights(w, pool, coarse.shape[1])
    out: F32 = (rows[:, lo] * (1 - f) + rows[:, hi] * f).astype(np.float32, copy=False)
    return out


@dataclass(frozen=True)
class Response:
    """Local contrast of shafts in log units (>= 0), and where no skin is seen between them."""

    dark: F32  # how much darker than the skin (black top-hat)
    light: F32  # how much lighter (white top-hat)
    crowded: Bool  # the two skin estimates disagree: shafts leave no skin between them


def shaft_response(gray: F32, um_per_px: float) -> Response:
    """Black and white top-hat of a log-luminance image at shaft scale (``um_per_px`` of gray).

    Contrasts are against :func:`skin_backgrounds`. Where shafts lie closer than their own
    width over a wide area (long hair lying on the scalp), the skin between them is itself a
    narrow structure, the two skin estimates part, and ``crowded`` marks it.
    """
    sigma = SMOOTH_UM / um_per_px
    g = ndimage.gaussian_filter(gray, sigma, truncate=2.5) if sigma >= 0.5 else gray
    for_dark, for_light = skin_backgrounds(g, um_per_px)
    return Response(
        dark=np.maximum(for_dark - g, 0.0),
        light=np.maximum(g - for_light, 0.0),
        crowded=np.abs(for_dark - for_light) > MIN_CONTRAST,
    )


def robust_threshold(response: F32, sigmas: float, floor: float) -> float:
    """``median + sigmas * 1.4826 * MAD`` of a response (most pixels are skin), at least ``floor``.

    Read on every third pixel of every third row: the statistics of a frame do not need all.
    """
    sample = response[::3, ::3].ravel()
    med = float(np.median(sample))
    mad = float(np.median(np.abs(sample - med)))
    return max(floor, med + sigmas * 1.4826 * mad)


def fill_narrow_holes(mask: Bool, max_width_px: float) -> Bool:
    """``mask`` with its holes no wider than ``max_width_px`` filled.

    A pale shaft whose contrast lies only at its shaded edges (blond on light skin) is found
    as an outline; its inside is a hole as narrow as the shaft. Skin enclosed by crossing
    shafts is a hole too, but a wide one, and stays. Width = area / bounding-box diagonal.
    """
    labels, n = ndimage.label(~mask)  # 4-connected skin regions
    if n <= 1:
        return mask
    edge = np.zeros(n + 1, dtype=bool)
    for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        edge[side] = True
    area = np.bincount(labels.ravel(), minlength=n + 1)
    boxes = ndimage.find_objects(labels)
    diag = np.ones(n + 1)
    for i, box in enumerate(boxes, start=1):
        if box is not None and not edge[i]:
            diag[i] = np.hypot(box[0].stop - box[0].start, box[1].stop - box[1].start)
    fill = ~edge & (area / diag <= max_width_px)
    fill[0] = False
    out: Bool = mask | fill[labels]
    return out


_EIGHT = np.ones((3, 3), dtype=bool)


def _thresholds(response: F32) -> tuple[Bool, Bool, float]:
    """Pixels above the low and the high hysteresis threshold of a response, and the high one."""
    high = robust_threshold(response, HIGH_SIGMAS, MIN_CONTRAST)
    low = max(robust_threshold(response, LOW_SIGMAS, 0.0), LOW_SHARE * high)
    return response > low, response > high, high


def _hysteresis(weak: Bool, strong: Bool) -> Bool:
    """The 8-connected regions of ``weak`` that hold a pixel of ``strong``."""
    labels, n = ndimage.label(weak, structure=_EIGHT)
    keep = np.zeros(n + 1, dtype=bool)
    keep[labels[strong]] = True
    keep[0] = False
    out: Bool = keep[labels]
    return out


def shaft_mask(response: Response, um_per_px: float) -> tuple[NDArray[np.int32], int, float]:
    """Shafts, dark or light against the skin, as labelled pieces.

    Hysteresis: a shaft is an 8-connected region above a low threshold holding a pixel above
    a high one (both per polarity, from the response's robust noise); narrow holes are filled
    (:func:`fill_narrow_holes`). Returns the 8-connected pieces' labels (0 = skin), their
    number and the high threshold of the frame's main polarity (log units).
    """
    masks = [_thresholds(r) for r in (response.dark, response.light)]
    # Where shafts crowd, the skin between dark shafts is a narrow light structure (and the
    # reverse): there only the frame's main polarity - the one with more shaft pixels - counts.
    minor = 1 if np.count_nonzero(masks[0][1]) >= np.count_nonzero(masks[1][1]) else 0
    weak_m, strong_m, high_m = masks[minor]
    masks[minor] = (weak_m & ~response.crowded, strong_m & ~response.crowded, high_m)
    kept = _hysteresis(masks[0][0] | masks[1][0], masks[0][1] | masks[1][1])
    mask = fill_narrow_holes(kept, SHAFT_MAX_UM / um_per_px)
    pieces, n = ndimage.label(mask, structure=_EIGHT)
    out: NDArray[np.int32] = pieces.astype(np.int32, copy=False)
    return out, int(n), masks[1 - minor][2]


def log_chromaticity(rgb: U8, bin_px: int) -> tuple[F32, F32]:
    """Two colour-opponent images of ``bin_px`` blocks: log(R / G) and log(G / B).

    They do not change with brightness (a uniform gain cancels), so a shaft seen in them
    differs from the skin in colour: what the luminance count may not see.
    """
    # Block sums as strided integer adds (:func:`_row_sums`, then the columns): exact, and
    # ~8x faster than a float mean over a reshaped view (2028x1520 in blocks of 2: 14 ms
    # against 110).
    wide = np.uint16 if bin_px * bin_px * 255 <= 0xFFFF else np.uint32
    rows: NDArray[np.unsignedinteger[Any]] = _row_sums(rgb, bin_px).astype(wide, copy=False)
    sums = rows[:, 0::bin_px].copy()
    for j in range(1, bin_px):
        sums += rows[:, j::bin_px]
    mean = sums.astype(np.float32) / np.float32(bin_px * bin_px)
    log = np.log(mean + np.float32(DARK_GREYS))
    return log[..., 0] - log[..., 1], log[..., 1] - log[..., 2]


def colour_only_share(rgb: U8, seen: Bool, bin_px: int, um_per_px: float) -> float:
    """Share of the shafts in a frame found in colour but not in luminance.

    The count works on luminance. A shaft of the skin's brightness but another colour (brown
    hair on tanned skin, grey hair on brown skin) is not in its mask at all, so its hairs go
    uncounted however sharp the shafts it does see. Here shafts are found the same way
    (top-hat at shaft scale, hysteresis at robust-noise multiples) in the two
    :func:`log_chromaticity` images, on blocks of ``COLOUR_BIN`` counter blocks; what lies
    more than a block from the luminance mask ``seen`` (the counter's blocks of ``bin_px``
    pixels) was missed. Returns its area over that and ``seen`` together (0 when neither).
    """
    big = bin_px * COLOUR_BIN
    found = np.zeros((rgb.shape[0] // big, rgb.shape[1] // big), dtype=bool)
    for chan in log_chromaticity(rgb, big):
        r = shaft_response(chan, um_per_px * big)
        dark, light = _thresholds(r.dark), _thresholds(r.light)
        found |= _hysteresis(dark[0] | light[0], dark[1] | light[1])
    h, w = found.shape
    near = seen[: h * COLOUR_BIN, : w * COLOUR_BIN].reshape(h, COLOUR_BIN, w, COLOUR_BIN)
    near = ndimage.binary_dilation(near.any(axis=(1, 3)), structure=_EIGHT)
    missed = float(np.count_nonzero(found & ~near)) / found.size
    total = missed + float(seen.mean())
    return missed / total if total > 0 else 0.0


# -- thinning -----------------------------------------------------------------------------
# Neighbours P2..P9 of Zhang & Suen (1984), clockwise from north; bit k of a code is P(k+2).
_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1])
_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1])


def _neighbourhoods() -> tuple[I64, I64, I64]:
    """For every 8-bit code: its neighbours (256, 8), their number, their 0 -> 1 transitions."""
    p = (np.arange(256)[:, None] >> np.arange(8)) & 1  # p[:, k] = P(k+2)
    a = ((p == 0) & (np.roll(p, -1, axis=1) == 1)).sum(axis=1)  # cyclic, P9 -> P2 included
    return p, p.sum(axis=1), a


def _zhang_suen_tables() -> tuple[Bool, Bool]:
    p, b, a = _neighbourhoods()
    p2, p4, p6, p8 = p[:, 0], p[:, 2], p[:, 4], p[:, 6]
    base = (b >= 2) & (b <= 6) & (a == 1)
    first = base & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = base & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first, second


_DELETE = _zhang_suen_tables()


def _end_table() -> Bool:
    _, b, a = _neighbourhoods()
    out: Bool = (a == 1) & (b <= 3)
    return out


_END = _end_table()
_FORK = _neighbourhoods()[2] >= 3  # three or more runs of neighbours: branches meet


def _codes(flat: U8, idx: I64, offsets: I64) -> I64:
    code = np.zeros(idx.shape, dtype=np.int64)
    for k, off in enumerate(offsets):
        code |= flat[idx + off].astype(np.int64) << k
    return code


def _padded(mask: Bool) -> tuple[U8, U8, I64, I64]:
    """``mask`` with a zero border as uint8, its flat view, the flat offsets of the 8
    neighbours (P2..P9) and the flat indices of its pixels."""
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), dtype=np.uint8)
    img[1:-1, 1:-1] = mask
    offsets = (_DY * (w + 2) + _DX).astype(np.int64)
    ys, xs = np.nonzero(mask)
    idx = ((ys + 1) * (w + 2) + xs + 1).astype(np.int64)
    return img, img.ravel(), offsets, idx


def _unique(idx: I64, owner: I64) -> I64:
    """``idx`` without repeats, in O(n): one writer of each index wins ``owner``."""
    pos = np.arange(idx.shape[0], dtype=np.int64)
    owner[idx] = pos
    out: I64 = idx[owner[idx] == pos]
    return out


def thin(mask: Bool) -> Bool:
    """Zhang-Suen thinning of a binary image to an 8-connected one-pixel skeleton.

    Vectorised over the pixels that can still change: only border pixels are looked at in
    each sub-iteration, and after it only the foreground neighbours of what it deleted join
    them, so the work follows the shafts' outline, not the frame's area.
    """
    img, flat, offsets, idx = _padded(mask)
    # Only pixels with a 4-neighbour outside can go (rules c and d of either sub-iteration).
    inside = flat[idx - 1] & flat[idx + 1] & flat[idx + offsets[0]] & flat[idx + offsets[4]]
    cand = idx[inside == 0]
    owner = np.zeros(flat.shape[0], dtype=np.int64)
    idle = 0
    step = 0
    while idle < 2 and cand.size:
        table = _DELETE[step % 2]
        step += 1
        drop = table[_codes(flat, cand, offsets)]
        gone = cand[drop]
        if gone.size == 0:
            idle += 1
            continue
        idle = 0
        flat[gone] = 0
        near = (gone[:, None] + offsets[None, :]).ravel()
        near = near[flat[near] != 0]
        cand = _unique(np.concatenate([cand[~drop], near]), owner)
    out: Bool = img[1:-1, 1:-1].astype(bool)
    return out


def _ends(flat: U8, idx: I64, offsets: I64) -> Bool:
    """Which skeleton pixels are free ends: their neighbours form one run of at most 3.

    One run (one 0 -> 1 transition around the pixel), not one neighbour: thinning leaves
    staircases on diagonals, where a tip can touch two adjacent pixels of its own shaft.
    """
    return _is_end(_codes(flat, idx, offsets))


def _is_end(code: I64) -> Bool:
    """Free ends by neighbour code (see :func:`_ends`); a lone pixel is one too."""
    out: Bool = _END[code] | (code == 0)
    return out


def prune(skeleton: Bool, length_px: int) -> Bool:
    """Remove ``length_px`` pixels from every free end (spurs shorter than that vanish).

    Real branches lose ``length_px`` too but keep their end, which is all a count needs.
    """
    img, flat, offsets, live = _padded(skeleton)
    for _ in range(length_px):
        ends = live[_ends(flat, live, offsets)]
        if ends.size == 0:
            break
        flat[ends] = 0
        live = live[flat[live] != 0]
    out: Bool = img[1:-1, 1:-1].astype(bool)
    return out


def _ring(radius_px: int) -> tuple[I64, I64, F32, F32]:
    """A closed 8-connected digital circle: offsets (dy, dx) in angular order, unit vectors."""
    ang = np.linspace(0.0, 2 * np.pi, 16 * radius_px, endpoint=False)
    dy = np.round(radius_px * np.sin(ang)).astype(np.int64)
    dx = np.round(radius_px * np.cos(ang)).astype(np.int64)
    keep = (dy != np.roll(dy, 1)) | (dx != np.roll(dx, 1))
    dy, dx = dy[keep], dx[keep]
    norm = np.hypot(dy, dx)
    return dy, dx, (dy / norm).astype(np.float32), (dx / norm).astype(np.float32)


def _arms(
    own: NDArray[np.int32], ys: I64, xs: I64, lab: NDArray[np.int32], radius_px: int, pad: int
) -> tuple[I64, F32]:
    """Per skeleton pixel: how many arms cross a circle of ``radius_px`` around it, and the
    length of the mean of the crossing directions (0 for two opposite arms, cos(a/2) for two
    arms at an angle a)."""
    dy, dx, uy, ux = _ring(radius_px)
    hit = own[ys[:, None] + pad + dy[None, :], xs[:, None] + pad + dx[None, :]] == lab[:, None]
    arms = np.count_nonzero(hit & ~np.roll(hit, 1, axis=1), axis=1).astype(np.int64)
    count = np.maximum(np.count_nonzero(hit, axis=1), 1)
    mean: F32 = (np.hypot(hit @ uy, hit @ ux) / count).astype(np.float32)
    return arms, mean


def corners(skeleton: Bool, labels: NDArray[np.int32], n: int, radius_px: int, code: I64) -> I64:
    """Sharp corners of the skeleton in each labelled piece: where two shafts leave one point.

    ``code`` is the 8-neighbour code of every skeleton pixel in ``np.nonzero`` order, as
    :func:`skeleton_pieces` has it (see :func:`_codes`).

    Where a follicle opening barely shows, the hairs of a unit leave it as a V whose skeleton
    is one line with two ends (and a wedge's short stem is pruned as a spur): ends alone read
    one hair. Around each skeleton pixel a circle of ``radius_px`` is crossed by the skeleton
    once per arm. A corner has two arms meeting at under ~134 degrees (``CORNER_COS``) that
    *diverge*: on a circle twice as wide they lie at least 1.5 times as far apart. A straight
    or gently curved shaft (trimmed hair bends a few degrees over the radius) has two
    opposite arms; an end has one, a junction three or more; and the U-turn at the end of a
    hollow shaft (a light core open at a cut end, thinned to a loop) has two parallel arms.
    Corners count only in pieces without junctions; corner pixels in touching cells of the
    radius's size make one corner.
    """
    big = 2 * radius_px
    pad = big + 1
    # The skeleton thickened by a pixel, so an 8-connected line cannot slip through a ring.
    own = np.pad(ndimage.grey_dilation(np.where(skeleton, labels, 0), size=3), pad)
    ys, xs = np.nonzero(skeleton)
    ys, xs = ys.astype(np.int64), xs.astype(np.int64)
    lab = labels[ys, xs]
    # Only in a piece without junctions, a single path: where branches meet, the V's opening
    # shows as a stem (a third end that already counts the second hair) or other shafts and
    # skin texture join the piece, and ends - 1 is the better guess.
    fork = _FORK[code]
    branched = np.zeros(n + 1, dtype=bool)
    branched[lab[fork]] = True
    keep = ~branched[lab]
    ys, xs, lab = ys[keep], xs[keep], lab[keep]
    arms, mean = _arms(own, ys, xs, lab, radius_px, pad)
    keep = (arms == 2) & (mean > CORNER_COS)
    ys, xs, lab, mean = ys[keep], xs[keep], lab[keep], mean[keep]
    arms_far, mean_far = _arms(own, ys, xs, lab, big, pad)
    apart = radius_px * np.sqrt(np.maximum(1.0 - mean**2, 0.0))
    apart_far = big * np.sqrt(np.maximum(1.0 - mean_far**2, 0.0))
    sel = (arms_far == 2) & (apart_far >= 1.5 * apart)
    if not sel.any():
        return np.zeros(n, dtype=np.int64)
    # Corner pixels in touching cells of the radius's size (within ~2 radii) are one corner.
    cy, cx = ys[sel] // radius_px, xs[sel] // radius_px
    cells = np.zeros((skeleton.shape[0] // radius_px + 1, skeleton.shape[1] // radius_px + 1), bool)
    cells[cy, cx] = True
    groups, k = ndimage.label(cells, structure=_EIGHT)
    # One piece per group: the label of any of its corner pixels.
    piece = np.zeros(k + 1, dtype=np.int64)
    piece[groups[cy, cx]] = lab[sel]
    out: I64 = np.bincount(piece[1:], minlength=n + 1)[1:].astype(np.int64)
    return out


@dataclass(frozen=True)
class Pieces:
    """Skeleton pieces: per piece its free ends, sharp corners and length in skeleton pixels."""

    ends: I64
    length_px: I64
    corners: I64


def skeleton_pieces(
    skeleton: Bool, labels: NDArray[np.int32], n: int, corner_px: int = 0
) -> Pieces:
    """Ends (see :func:`_ends`), corners (:func:`corners`, read over ``corner_px``; none when
    0) and pixel counts of the skeleton within each labelled piece.

    ``labels`` are the shaft mask's 8-connected pieces (1..n) the skeleton was thinned from:
    thinning keeps connectivity, so they are the skeleton's pieces too.
    """
    _, flat, offsets, idx = _padded(skeleton)
    lab = np.pad(labels, 1).ravel()[idx]
    # one neighbour code per pixel for both ends and corners (_padded lists the pixels in
    # np.nonzero's order, as corners reads them)
    code = _codes(flat, idx, offsets)
    ends = np.bincount(lab[_is_end(code)], minlength=n + 1)[1:]
    length = np.bincount(lab, minlength=n + 1)[1:]
    turns = corners(skeleton, labels, n, corner_px, code) if corner_px else np.zeros(n, np.int64)
    return Pieces(ends=ends.astype(np.int64), length_px=length.astype(np.int64), corners=turns)


def hairs_per_piece(pieces: Pieces, min_length_px: float) -> I64:
    """Hairs in each piece: ends - 1 plus its corners (a lone shaft 1; a V 2, whether its
    opening shows as a stem - 3 ends - or not - 2 ends and a corner), a long enough loop 1,
    a speck 0."""
    n = np.maximum(pieces.ends - 1, 1) + pieces.corners
    out: I64 = np.where(pieces.length_px >= min_length_px, n, 0).astype(np.int64)
    return out


def _response(rgb: U8, um_per_px: float) -> tuple[Response, int]:
    """:func:`shaft_response` of a checked frame at the working scale, and the bin (pixels a
    side) that makes it."""
    check_input(rgb, um_per_px)
    # Shafts are >= 8 px wide at the rig's 5 um/px: blocks of about WORK_UM lose none.
    bin_px = max(1, round(WORK_UM / um_per_px))
    return shaft_response(log_luminance(rgb, bin_px), um_per_px * bin_px), bin_px


def crowded_share(rgb: U8, um_per_px: float) -> float:
    """The share of a frame where shafts leave no skin between them (``SecondOpinion.crowded``)
    alone: about a tenth of the whole :func:`second_opinion`, so that capture can tell the
    technician of a hair mat (:func:`mats_the_frame`) while the cone is still on the site.

    Raises:
        ImageError: as :func:`second_opinion`.
    """
    return float(_response(rgb, um_per_px)[0].crowded.mean())


def second_opinion(rgb: U8, um_per_px: float) -> SecondOpinion:
    """Count hairs in a trimmed-hair frame the classical way.

    Args:
        rgb: (h, w, 3) uint8 frame as the camera delivers it.
        um_per_px: calibrated scale of the frame, 0.5-50 um per pixel.

    Returns:
        The count and density; ``applicable`` is False (with the reason) where the count
        cannot be trusted: shafts crowd the frame with no skin between them (long hair
        lying on the scalp), are too faint against the skin (the median shaft under
        ``MIN_SHAFT_CONTRAST``, or under ``MIN_CONTRAST_OVER_THRESHOLD`` times the
        threshold the skin's texture sets), where whole hairs go unseen, or more than
        ``MAX_COLOUR_ONLY`` of them differ from the skin in colour only
        (:func:`colour_only_share`), where the luminance count does not see them.

    Raises:
        ImageError: not an (h, w, 3) uint8 image, or a scale outside 0.5-50 um/px.
    """
    t0 = time.perf_counter()
    response, bin_px = _response(rgb, um_per_px)
    um = um_per_px * bin_px
    crowded = float(response.crowded.mean())
    labels, n, threshold = shaft_mask(response, um)
    mask = labels > 0
    contrast = float(np.median(np.maximum(response.dark[mask], response.light[mask]))) if n else 0.0
    skeleton = prune(thin(mask), max(1, round(PRUNE_UM / um)))
    pieces = skeleton_pieces(skeleton, labels, n, max(2, round(CORNER_UM / um)))
    min_px = MIN_PIECE_UM / um
    count = int(hairs_per_piece(pieces, min_px).sum())
    skeleton_mm = float(pieces.length_px[pieces.length_px >= min_px].sum()) * um / 1000.0
    mm_per_hair = skeleton_mm / count if count else 0.0
    colour_only = colour_only_share(rgb, mask, bin_px, um_per_px)
    h, w = rgb.shape[:2]
    area_cm2 = w * h * (um_per_px * 1e-4) ** 2
    reason = ""
    if crowded > MAX_CROWDED:
        reason = (
            f"shafts crowd {crowded:.0%} of the frame (over {MAX_CROWDED:.0%}) with no skin "
            "seen between them: long hair lying on the scalp, where shaft ends do not count "
            "hairs"
        )
    elif n and contrast < MIN_SHAFT_CONTRAST:
        reason = (
            f"shafts differ from the skin by {math.expm1(contrast):.0%} (median; under "
            f"{math.expm1(MIN_SHAFT_CONTRAST):.0%}): too faint for the classical count, "
            "which would miss many"
        )
    elif colour_only > MAX_COLOUR_ONLY:
        reason = (
            f"{colour_only:.0%} of the shafts differ from the skin in colour but hardly in "
            f"brightness (over {MAX_COLOUR_ONLY:.0%}): the classical count, which reads "
            "brightness, misses their hairs"
        )
    elif n and contrast < MIN_CONTRAST_OVER_THRESHOLD * threshold:
        reason = (
            f"shafts differ from the skin by {math.expm1(contrast):.0%} (median), under "
            f"{MIN_CONTRAST_OVER_THRESHOLD:g}x the {math.expm1(threshold):.0%} the skin's own "
            "texture and noise let the classical count find: thin (vellus) shafts, about "
            "half as contrasted, go unseen"
        )
    return SecondOpinion(
        applicable=not reason,
        reason=reason,
        count=count,
        density_per_cm2=count / area_cm2,
        pieces=int(np.count_nonzero(pieces.length_px >= min_px)),
        cover=float(mask.mean()),
        crowded=crowded,
        contrast=contrast,
        threshold=threshold,
        colour_only=colour_only,
        mm_per_hair=mm_per_hair,
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
    )


# What a review reason is about: a code beside its words, for the dashboard, the
# needs_review event and the bench to count and act on without reading the words.
HAIR_MAT = "hair_mat"  # long hair mats the frame and hides the openings: clip and recapture
DENSITY_IMPLAUSIBLE = "density_implausible"  # more hairs than a scalp holds
DIAMETER_IMPLAUSIBLE = "diameter_implausible"  # thicker than any scalp hair
NET_ABOVE_CLASSICAL = "net_above_classical"  # the network reads above the review band
NET_BELOW_CLASSICAL = "net_below_classical"  # ... below it
NO_SHAFTS = "no_shafts"  # hair read where the classical count finds few shafts
REVIEW_KINDS = (
    HAIR_MAT,
    DENSITY_IMPLAUSIBLE,
    DIAMETER_IMPLAUSIBLE,
    NET_ABOVE_CLASSICAL,
    NET_BELOW_CLASSICAL,
    NO_SHAFTS,
)


@dataclass(frozen=True)
class ReviewReason:
    """One reason to look at a result: its kind (one of :data:`REVIEW_KINDS`) and the words
    a person reads."""

    kind: str
    text: str


def reason_fields(reasons: list[ReviewReason]) -> dict[str, list[str]]:
    """``review_reasons`` (the words) and ``review_kinds`` of ``reasons``, as a result and a
    bench read carry them."""
    return {"review_reasons": [r.text for r in reasons], "review_kinds": [r.kind for r in reasons]}


def review_flags(
    net_density_per_cm2: float,
    second: SecondOpinion,
    factor: float = REVIEW_FACTOR,
    centre: float = REVIEW_CENTRE,
    *,
    net_mean_diameter_um: float | None = None,
) -> list[str]:
    """The words of :func:`review_reasons` (same arguments); empty when there are none."""
    return [
        r.text
        for r in review_reasons(
            net_density_per_cm2,
            second,
            factor,
            centre,
            net_mean_diameter_um=net_mean_diameter_um,
        )
    ]


def review_reasons(
    net_density_per_cm2: float,
    second: SecondOpinion,
    factor: float = REVIEW_FACTOR,
    centre: float = REVIEW_CENTRE,
    *,
    net_mean_diameter_um: float | None = None,
) -> list[ReviewReason]:
    """Reasons to ask a person to look at a result, each with its kind; empty when there are
    none.

    Five rules (six kinds, :data:`REVIEW_KINDS`: a disagreement is above or below): long
    hair matted over more than ``HIDDEN_CROWDED`` of the frame (the
    emergence points are hidden, whatever either count says); a network density above
    ``MAX_PLAUSIBLE_DENSITY`` (more than a scalp holds: something else was counted); a
    network mean diameter (when given) above ``MAX_PLAUSIBLE_DIAMETER_UM`` (no scalp hair is
    that thick); on an applicable frame, the network's and the classical density
    disagreeing: their ratio outside ``[centre / factor, centre * factor]``; and on a frame
    the classical count cannot judge, no shafts where the network reads hair: the classical
    density under ``NO_SHAFTS_SHARE`` of the network's. The mat, the diameter and the
    no-shafts reasons need the network to read hair, at least ``MIN_HAIR_READ_PER_CM2``: below
    it the network reads bare skin, and skin texture is what the crowded share then sees; the
    band is not judged where both counts read under it (bare skin both ways).

    Raises:
        ValueError: ``factor`` is not above 1, ``centre`` not positive, or a density is
            negative.
    """
    if factor <= 1.0:
        raise ValueError(f"review factor {factor} must be above 1")
    if centre <= 0.0:
        raise ValueError(f"review centre {centre} must be positive")
    if net_density_per_cm2 < 0 or second.density_per_cm2 < 0:
        raise ValueError("densities must not be negative")
    reasons: list[ReviewReason] = []
    reads_hair = net_density_per_cm2 >= MIN_HAIR_READ_PER_CM2
    matted = hides_openings(second)
    if reads_hair and matted:
        reasons.append(
            ReviewReason(
                HAIR_MAT,
                f"long hair lies over {second.crowded:.0%} of the frame (over "
                f"{HIDDEN_CROWDED:.0%}) and hides the openings under it: the count cannot be "
                "trusted, and a change between visits reads smaller than it is. Clip the site "
                "to about 1 mm (the trichogram protocol) and capture it again",
            )
        )
    if net_density_per_cm2 > MAX_PLAUSIBLE_DENSITY:
        reasons.append(
            ReviewReason(
                DENSITY_IMPLAUSIBLE,
                f"the model reads {net_density_per_cm2:.0f} hairs/cm2, more than a scalp holds "
                f"(over {MAX_PLAUSIBLE_DENSITY:.0f}): check the frame for flakes, scale, dots "
                "or skin texture read as hairs, and capture it again",
            )
        )
    if (
        net_mean_diameter_um is not None
        and reads_hair
        and net_mean_diameter_um > MAX_PLAUSIBLE_DIAMETER_UM
    ):
        reasons.append(
            ReviewReason(
                DIAMETER_IMPLAUSIBLE,
                f"the model's hairs average {net_mean_diameter_um:.0f} um across, thicker than "
                f"any scalp hair (over {MAX_PLAUSIBLE_DIAMETER_UM:.0f} um): it counted something "
                "else, or too little hair to measure. Check focus and contrast (faint, blond or "
                "blurred hair is missed) and capture it again",
            )
        )
    if second.applicable:
        # Both reading bare skin (under the floor) is agreement, whatever their ratio.
        if reads_hair or second.density_per_cm2 >= MIN_HAIR_READ_PER_CM2:
            reasons += _disagreement(net_density_per_cm2, second.density_per_cm2, factor, centre)
    elif (
        reads_hair and not matted and second.density_per_cm2 < NO_SHAFTS_SHARE * net_density_per_cm2
    ):
        reasons.append(
            ReviewReason(
                NO_SHAFTS,
                f"the model reads {net_density_per_cm2:.0f} hairs/cm2 where the classical "
                "count, which cannot judge this frame, finds shafts for only "
                f"{second.density_per_cm2:.0f}/cm2 (under {NO_SHAFTS_SHARE:.0%} of it): either "
                "skin marks (dots, flakes, texture) were counted as hairs, or the hairs are too "
                "faint or lie too close to see apart. Look at the frame for marks on bare skin "
                "and for blond, grey or white hair, check focus and capture it again",
            )
        )
    return reasons


def hides_openings(second: SecondOpinion) -> bool:
    """Long hair mats the frame (crowded over ``HIDDEN_CROWDED``): a review reason of its own."""
    return mats_the_frame(second.crowded)


def mats_the_frame(crowded: float) -> bool:
    """A crowded share (:func:`crowded_share`) over ``HIDDEN_CROWDED``: long hair lies over
    the skin as a mat and hides the openings. The one place the rule lives."""
    return crowded > HIDDEN_CROWDED


def _disagreement(net: float, classical: float, factor: float, centre: float) -> list[ReviewReason]:
    """The reason the two densities disagree beyond the band, or none."""
    high, low = centre * factor, centre / factor
    limit = f"(review outside {low:.2f}-{high:.2f}x)"
    if net > high * classical:
        seen = (
            f"{net / classical:.2f}x the classical count of {classical:.0f}/cm2"
            if classical > 0
            else "where the classical count finds none"
        )
        return [
            ReviewReason(
                NET_ABOVE_CLASSICAL,
                f"the model reads {net:.0f} hairs/cm2, {seen} {limit}: check the frame for skin "
                "texture, flakes or cut tips read as hairs",
            )
        ]
    if net < low * classical:
        seen = f"{net:.0f} hairs/cm2, {net / classical:.2f}x" if net > 0 else "no hairs, against"
        return [
            ReviewReason(
                NET_BELOW_CLASSICAL,
                f"the model reads {seen} the classical count of {classical:.0f}/cm2 {limit}: "
                "check the frame for faint or missed hairs",
            )
        ]
    return []
