"""Image science of the capture protocol as plain numpy functions (no camera, no state).

Frames are RGB ``uint8`` arrays (h, w, 3) as the ISP delivers them (display gamma);
measurements of light are made on linear values (:func:`linear`). Every function
is deterministic and unit-tested on synthetic arrays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
U16 = NDArray[np.uint16]

DISPLAY_GAMMA = 2.2  # the ISP's output gamma (sim.optics uses the same value)


def linear(img: U8) -> F32:
    """8-bit display-gamma frame to linear light 0..1, same shape."""
    out: F32 = (img.astype(np.float32) / np.float32(255.0)) ** np.float32(DISPLAY_GAMMA)
    return out


def to_uint8(lin: F32) -> U8:
    """Linear light 0..1 back to an 8-bit display-gamma frame (clipped)."""
    clipped = np.clip(lin, 0.0, 1.0) ** np.float32(1.0 / DISPLAY_GAMMA)
    out: U8 = (clipped * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    return out


def grey(img: U8 | F32) -> F32:
    """Luma-like single channel: the mean of R, G and B, float32 (h, w).

    A single-channel float32 image is returned as it is (no copy): compute the grey of a
    frame once and pass it to every measure that needs it.
    """
    if img.ndim == 2:
        return np.asarray(img, dtype=np.float32)
    if img.dtype == np.uint8 and img.shape[2] == 3:
        # Exact: the channel sum fits uint16 and float32 holds it exactly.
        u = np.asarray(img, dtype=np.uint8)
        s = u[..., 0].astype(np.uint16)
        s += u[..., 1]
        s += u[..., 2]
        out: F32 = s.astype(np.float32)
        out /= np.float32(3.0)
        return out
    out = img.mean(axis=2, dtype=np.float32)
    return out


def channel_sum(img: U8) -> U16:
    """R + G + B of each pixel, uint16 (h, w): 3x :func:`grey`, exactly, in half its memory.

    :func:`sharpness` and :func:`focus_ratio` take it as it is (converting a band of rows
    at a time), with its own scale (see there); the burst's measures are made on it.
    """
    u = np.asarray(img, dtype=np.uint8)
    out: U16 = u[..., 0].astype(np.uint16)
    out += u[..., 1]
    out += u[..., 2]
    return out


def _single(img: NDArray[np.generic]) -> NDArray[np.generic]:
    """A single-channel image as it is (any dtype), or the grey of an RGB frame."""
    return img if img.ndim == 2 else grey(img)  # type: ignore[arg-type]


def bin_image(img: F32 | U8 | U16, factor: int) -> F32:
    """Average ``factor`` x ``factor`` blocks (like sensor binning); crops the remainder."""
    if factor < 1:
        raise ValueError("factor must be >= 1")
    if factor == 1:
        return img.astype(np.float32)
    h = img.shape[0] // factor * factor
    w = img.shape[1] // factor * factor
    a = img[:h, :w]
    # Sum the block's rows, then its columns, as strided slices (fast, float32).
    rows: F32 = a[0::factor].astype(np.float32)
    for i in range(1, factor):
        rows += a[i::factor]
    out: F32 = rows[:, 0::factor].copy()
    for j in range(1, factor):
        out += rows[:, j::factor]
    out /= np.float32(factor * factor)
    return out


def bin_channel_sum(frame: U8, factor: int, *, band_rows: int = 256) -> F32:
    """:func:`bin_image` of an RGB frame's :func:`channel_sum`, made about ``band_rows`` rows
    (whole blocks) at a time: the same floats, with a band's temporaries instead of the
    whole sum (2 bytes a pixel, 6 MB on a rig) and its float rows."""
    if factor < 1:
        raise ValueError("factor must be >= 1")
    h = frame.shape[0] // factor * factor
    w = frame.shape[1] // factor * factor
    step = max(1, band_rows // factor) * factor
    out: F32 = np.empty((h // factor, w // factor), dtype=np.float32)
    for r in range(0, h, step):
        rows = frame[r : min(h, r + step)]
        out[r // factor : (r + rows.shape[0]) // factor] = bin_image(channel_sum(rows), factor)
    return out


# -- sharpness ------------------------------------------------------------------------------
def laplacian(g: F32) -> F32:
    """Five-point Laplacian of a single-channel image (valid part, 2 px smaller each way)."""
    c = g[1:-1, 1:-1]
    out: F32 = g[:-2, 1:-1] + g[2:, 1:-1]
    out += g[1:-1, :-2]
    out += g[1:-1, 2:]
    out -= c
    out -= c
    out -= c
    out -= c
    return out


def _variance(a: F32) -> float:
    """Variance of all values of a fresh float32 array (consumed: squared in place).

    The sums are numpy's pairwise float32 sums: relative error near 1e-6 on a full frame.
    """
    flat = a.reshape(-1)
    flat -= flat.mean(dtype=np.float32)
    flat *= flat
    return float(flat.sum(dtype=np.float32)) / flat.size


def sharpness(img: U8 | U16 | F32, *, band_rows: int = 256) -> float:
    """Variance of the Laplacian of the grey image: larger is sharper (content dependent).

    Used to compare frames of one scene (a focus sweep, a burst); never across scenes.
    ``img`` may be a frame, its :func:`grey` image or any single-channel image (a
    :func:`channel_sum` gives 9x the frame's value). The Laplacian is made in bands of
    ``band_rows`` rows (a full-frame one would be another frame's worth of float32), each
    band's mean and squared deviations merged exactly (Chan et al.'s pairwise update).
    """
    g = _single(img)
    return _laplacian_variance(
        lambda e0, e1: np.asarray(g[e0:e1], dtype=np.float32), g.shape[0], band_rows
    )


def channel_sum_sharpness(frame: U8, *, band_rows: int = 256) -> float:
    """:func:`sharpness` of an RGB frame's :func:`channel_sum` (9x the frame's), each band
    of the sum made as the Laplacian needs it: the same value without the whole sum
    (2 bytes a pixel, 6 MB on a rig)."""
    return _laplacian_variance(lambda e0, e1: _band(frame, e0, e1), frame.shape[0], band_rows)


def _laplacian_variance(band: Callable[[int, int], F32], h: int, band_rows: int) -> float:
    """:func:`sharpness` of an image of ``h`` rows whose rows ``e0:e1`` are ``band(e0, e1)``
    (float32, only read)."""
    if h <= band_rows + 2:
        return _variance(laplacian(band(0, h)))
    n, mean, m2 = 0, 0.0, 0.0
    for r0 in range(0, h - 2, band_rows):
        lap = laplacian(band(r0, min(h, r0 + band_rows + 2)))
        k = lap.size
        mu = float(lap.mean(dtype=np.float32))
        lap -= np.float32(mu)
        lap *= lap
        q = float(lap.sum(dtype=np.float32))
        delta = mu - mean
        total = n + k
        mean += delta * k / total
        m2 += q + delta * delta * n * k / total
        n = total
    return m2 / n


def box_blur(g: F32, radius_px: int) -> F32:
    """Separable box blur of a single-channel image with edge replication (cumulative sums)."""
    if radius_px <= 0:
        return g
    if radius_px == 1:
        return _blur3(_blur3(np.asarray(g, dtype=np.float32), 0), 1)
    out = g.astype(np.float32)
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius_px + 1, radius_px)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float64)
        k = 2 * radius_px + 1
        hi = np.take(c, np.arange(k, k + n), axis=axis)
        lo = np.take(c, np.arange(0, n), axis=axis)
        out = ((hi - lo) / k).astype(np.float32)
    return out


def _blur3(a: F32, axis: int) -> F32:
    """Mean of each pixel and its two neighbours along ``axis`` (edges replicated), float32."""
    out = a.copy()
    if axis == 0:
        out[1:] += a[:-1]
        out[0] += a[0]
        out[:-1] += a[1:]
        out[-1] += a[-1]
    else:
        out[:, 1:] += a[:, :-1]
        out[:, 0] += a[:, 0]
        out[:, :-1] += a[:, 1:]
        out[:, -1] += a[:, -1]
    out /= np.float32(3.0)
    return out


def _band(img: U8 | U16 | F32, e0: int, e1: int) -> F32:
    """Rows ``e0:e1`` of a single-channel image as float32, or of an RGB frame's channel sum."""
    part = img[e0:e1]
    if part.ndim == 3:
        return channel_sum(part).astype(np.float32)  # type: ignore[arg-type]
    return np.asarray(part, dtype=np.float32)


def _energies(
    band: Callable[[int, int], F32], h: int, w: int, band_rows: int
) -> tuple[float, float]:
    """Gradient energy (mean squared neighbour difference, horizontal plus vertical) of an
    image and of its 3x3 box blur, made ``band_rows`` rows at a time by ``band(e0, e1)``
    (with the rows the blur and the differences need either side)."""
    sums = np.zeros(4, dtype=np.float64)
    for r0 in range(0, h, band_rows):
        r1 = min(h, r0 + band_rows)
        e0, e1 = max(0, r0 - 1), min(h, r1 + 2)  # the blur of row r1 needs row r1 + 1
        lo, hi = r0 - e0, r1 - e0
        a = band(e0, e1)
        for k, x in enumerate((a, box_blur(a, 1))):
            sums[2 * k] += _sum_squares(np.diff(x[lo:hi], axis=1))
            sums[2 * k + 1] += _sum_squares(np.diff(x[lo : min(hi + 1, x.shape[0])], axis=0))
    n_h, n_v = h * (w - 1), (h - 1) * w
    return float(sums[0] / n_h + sums[1] / n_v), float(sums[2] / n_h + sums[3] / n_v)


def gradient_energies(img: U8 | U16 | F32, *, band_rows: int = 128) -> tuple[float, float]:
    """Gradient energy of an image and of its 3x3 blur (see :func:`focus_ratio`).

    ``img`` is single-channel, or an RGB frame taken as its :func:`channel_sum` (9x the
    energies of its grey); computed in bands, so the temporaries are a band's.
    """
    h, w = img.shape[:2]
    return _energies(lambda e0, e1: _band(img, e0, e1), h, w, band_rows)


def difference_energies(
    a: U8 | U16 | F32, b: U8 | U16 | F32, *, band_rows: int = 128
) -> tuple[float, float]:
    """:func:`gradient_energies` of ``a - b``: the sensor noise of two frames of one still
    scene (each frame's noise is half of it). Same scale rules as there."""
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} and {b.shape}")
    h, w = a.shape[:2]

    def band(e0: int, e1: int) -> F32:
        return _band(a, e0, e1) - _band(b, e0, e1)  # a new array: a band may be a view

    return _energies(band, h, w, band_rows)


def focus_from_energies(
    energies: tuple[float, float], noise: tuple[float, float] | None = None
) -> float:
    """:func:`focus_ratio` from an image's :func:`gradient_energies` and, optionally, the
    :func:`difference_energies` of two frames of the scene (on the same scale)."""
    e, eb = energies
    if noise is not None:
        e -= noise[0] / 2.0
        eb -= noise[1] / 2.0
    if e <= 1e-12:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - eb / e)))


def focus_ratio(
    img: U8 | U16 | F32, other: U8 | U16 | F32 | None = None, *, band_rows: int = 128
) -> float:
    """No-reference focus measure, 0..1: share of gradient energy a 3x3 re-blur removes.

    A sharp image holds fine detail that a small blur removes (0.5 and above on skin); a
    defocused one has little left to lose (near 0.1). Sensor noise is fine detail too, so
    when ``other`` (a second frame of the same still scene, e.g. from the burst) is given,
    the noise energy measured from their difference is subtracted first. Largely
    independent of brightness and contrast, so it can carry a fixed QC threshold.

    Computed in bands of ``band_rows`` rows, so its temporaries are a band's, not four full
    frames'; the sums are the whole frame's, to float rounding. A ratio of energies: an RGB
    frame, its grey or its :func:`channel_sum` give the same value.
    """
    h, w = img.shape[:2]
    if h < 2 or w < 2:
        return 0.0
    noise = difference_energies(img, other, band_rows=band_rows) if other is not None else None
    return focus_from_energies(gradient_energies(img, band_rows=band_rows), noise)


def _sum_squares(d: F32) -> float:
    d *= d
    return float(d.sum(dtype=np.float32))


# -- light and colour -----------------------------------------------------------------------
@dataclass(frozen=True)
class GreyStats:
    """Linear mean per channel and spread of a region."""

    mean_rgb: tuple[float, float, float]
    mean: float
    std: float

    @property
    def uniformity(self) -> float:
        """Coefficient of variation of the region (0 for a perfectly even patch)."""
        return self.std / self.mean if self.mean > 0 else math.inf


def grey_stats(lin: F32) -> GreyStats:
    """Linear statistics of a region (h, w, 3) of linear light."""
    m = lin.reshape(-1, lin.shape[-1]).mean(axis=0, dtype=np.float64)
    g = lin.mean(axis=-1, dtype=np.float32)
    return GreyStats(
        mean_rgb=(float(m[0]), float(m[1]), float(m[2])),
        mean=float(g.mean(dtype=np.float64)),
        std=float(g.std(dtype=np.float64)),
    )


def white_balance_gains(
    patch_rgb: tuple[float, float, float], current: tuple[float, float]
) -> tuple[float, float]:
    """New (red, blue) colour gains that make a grey patch neutral.

    ``patch_rgb`` is the linear mean of the grey patch taken with gains ``current``.
    Raises ValueError on a dark or missing channel.
    """
    r, g, b = patch_rgb
    if min(r, g, b) <= 1e-4:
        raise ValueError(f"grey patch too dark to balance: {patch_rgb}")
    return (current[0] * g / r, current[1] * g / b)


def channel_max(img: U8) -> U8:
    """Largest of the three channels of each pixel (h, w)."""
    out: U8 = np.maximum(img[..., 0], img[..., 1])
    np.maximum(out, img[..., 2], out=out)
    return out


def channel_min(img: U8) -> U8:
    """Smallest of the three channels of each pixel (h, w)."""
    out: U8 = np.minimum(img[..., 0], img[..., 1])
    np.minimum(out, img[..., 2], out=out)
    return out


def clipped_fractions(
    img: U8, *, low: int = 2, high: int = 253, mx: U8 | None = None
) -> tuple[float, float]:
    """Share of pixels with a channel at or above ``high`` and with all channels at or below
    ``low``: (highlights, shadows). ``mx`` is :func:`channel_max` of ``img`` if known."""
    if mx is None:
        mx = channel_max(img)
    n = mx.size
    return float(np.count_nonzero(mx >= high)) / n, float(np.count_nonzero(mx <= low)) / n


def glare_fraction(
    img: U8, *, level: int = 235, max_saturation: float = 0.2, mx: U8 | None = None
) -> float:
    """Share of pixels that are specular glare: near white and nearly colourless.

    ``mx`` is :func:`channel_max` of ``img`` if known.
    """
    mn = channel_min(img)
    bright = np.flatnonzero(mn >= level)  # few pixels: the saturation is computed on those
    if mx is None:
        mx = channel_max(img)
    hi = mx.reshape(-1)[bright].astype(np.float32)
    lo = mn.reshape(-1)[bright].astype(np.float32)
    sat = (hi - lo) / np.maximum(hi, 1.0)
    return float(np.count_nonzero(sat <= max_saturation)) / mn.size


# -- flat field -----------------------------------------------------------------------------
def radial_coordinates(height: int, width: int) -> F64:
    """Squared normalised radius of every pixel: 0 at the centre, 1 at the corners."""
    y = (np.arange(height) - (height - 1) / 2) / ((height - 1) / 2 or 1)
    x = (np.arange(width) - (width - 1) / 2) / ((width - 1) / 2 or 1)
    out: F64 = (x[None, :] ** 2 + y[:, None] ** 2) / 2.0
    return out


def fit_flat_field(lin_grey: F32, mask: NDArray[np.bool_]) -> tuple[float, float]:
    """Fit relative illumination ``1 + a r^2 + b r^4`` to an evenly lit region.

    ``lin_grey`` is a linear single-channel frame of a uniform target, ``mask`` the pixels
    that show it (any region works; the model is radial). Returns (a, b).
    Raises ValueError when the mask is too small to fit.
    """
    r2 = radial_coordinates(*lin_grey.shape)[mask]
    v = lin_grey[mask].astype(np.float64)
    if v.size < 100:
        raise ValueError("too few pixels to fit a flat field")
    design = np.stack([np.ones_like(r2), r2, r2 * r2], axis=1)
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    c0 = float(coef[0])
    if c0 <= 0:
        raise ValueError("flat-field fit failed: the target is not lit")
    return float(coef[1] / c0), float(coef[2] / c0)


def flat_field_map(height: int, width: int, coef: tuple[float, float]) -> F32:
    """Relative illumination of each pixel from :func:`fit_flat_field` coefficients."""
    r2 = radial_coordinates(int(height), int(width))
    out: F32 = np.clip(1.0 + coef[0] * r2 + coef[1] * r2 * r2, 0.05, 2.0).astype(np.float32)
    return out


# Linear light of each 8-bit value, as :func:`linear` computes it.
LINEAR_LUT: F32 = linear(np.arange(256, dtype=np.uint8))


@functools.lru_cache(maxsize=2)
def _display_gain_quadrant(height: int, width: int, coef: tuple[float, float]) -> F32:
    """``flat_field_map ** (-1 / gamma)``, float32, of the top-left quarter of the frame:
    rows ``(height + 1) // 2``, columns ``(width + 1) // 2`` (the centre lines included);
    cached per rig (read-only).

    The map is symmetric about both centre lines to the bit: a pixel and its mirror image
    have coordinates of opposite sign (exact halves of integers), hence the same squares and
    the same gain. A quarter is the whole map, in 3 MB on a rig instead of 12 MB held for
    the service's life (and 25 MB of temporaries to make it, instead of 6).
    """
    a, b = np.float32(coef[0]), np.float32(coef[1])
    cols, rows = (width + 1) // 2, (height + 1) // 2
    x = ((np.arange(cols) - (width - 1) / 2) / ((width - 1) / 2 or 1)).astype(np.float32) ** 2
    y = ((np.arange(rows) - (height - 1) / 2) / ((height - 1) / 2 or 1)).astype(np.float32) ** 2
    out: F32 = x[None, :] + y[:, None]
    out *= np.float32(0.5)  # r^2, 0 at the centre, 1 at the corners
    r4 = out * out
    r4 *= b
    out *= a
    out += r4
    out += np.float32(1.0)
    del r4
    np.clip(out, 0.05, 2.0, out=out)
    np.power(out, np.float32(-1.0 / DISPLAY_GAMMA), out=out)
    out.flags.writeable = False
    return out


def apply_flat_field(img: U8, coef: tuple[float, float], *, band_rows: int | None = None) -> U8:
    """Divide out the vignetting in linear light; returns a new 8-bit frame.

    The display gamma is a power law, so dividing linear light by the illumination ``f``
    is multiplying the display value by ``f ** (-1 / gamma)``: one multiply per value,
    with a gain map cached per rig, instead of a round trip through linear light. The
    result differs from the round trip by at most one grey level (float32 rounding).
    Worked in bands of rows (``band_rows``; by default ~1 MB of the frame): a float copy of
    the whole frame would be 4x its memory. Each band's gains are unfolded from the cached
    quarter of the map (:func:`_display_gain_quadrant`): the same floats as a whole map's.
    """
    height, width = int(img.shape[0]), int(img.shape[1])
    quarter = _display_gain_quadrant(height, width, (float(coef[0]), float(coef[1])))
    left = quarter.shape[1]  # columns up to the centre; the rest mirror the first width // 2
    row = np.arange(height)
    mirrored = np.minimum(row, height - 1 - row)  # the quarter's row of each frame row
    out: U8 = np.empty_like(img)
    band = band_rows or max(1, (1 << 20) // max(1, width * img.shape[2]))
    gain: F32 = np.empty((min(band, height), width), dtype=np.float32)
    for r in range(0, height, band):
        g = gain[: min(band, height - r)]
        g[:, :left] = quarter[mirrored[r : r + band]]
        g[:, left:] = g[:, : width // 2][:, ::-1]
        v: F32 = img[r : r + band].astype(np.float32)
        v *= g[:, :, None]
        v += np.float32(0.5)
        np.clip(v, 0.0, 255.0, out=v)
        out[r : r + band] = v  # float to uint8 truncates, as astype does
    return out


# -- scale ----------------------------------------------------------------------------------
def _autocorr_period(profile: F64, min_lag: int) -> float:
    """Lag of the strongest autocorrelation peak at or beyond ``min_lag`` (sub-sample)."""
    p = profile - profile.mean()
    n = p.size
    spec = np.fft.rfft(p, 2 * n)
    # Unbiased: each lag averages over the n - lag samples that overlap.
    ac = np.fft.irfft(spec * np.conj(spec))[:n] / (n - np.arange(n))
    ac /= ac[0] if ac[0] > 0 else 1.0
    hi = int(n * 0.6)
    # Skip the central peak: search only after the autocorrelation first turns negative.
    below = np.flatnonzero(ac[:hi] < 0)
    lo = max(min_lag, int(below[0]) if below.size else hi)
    if hi <= lo + 2:
        raise ValueError("profile too short to find a period")
    seg = ac[lo:hi]
    top = float(seg.max())
    # The first local maximum nearly as high as the best: multiples of the period are
    # (almost) as high as the period itself.
    peaks = [i for i in range(1, seg.size - 1) if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]]
    good = [i for i in peaks if seg[i] >= 0.8 * top]
    k = (good[0] if good else int(np.argmax(seg))) + lo
    if ac[k] < 0.2:
        raise ValueError("no periodic pattern found")
    if 0 < k < n - 1:
        y0, y1, y2 = ac[k - 1], ac[k], ac[k + 1]
        d = y0 - 2 * y1 + y2
        if d < 0:
            return float(k + 0.5 * (y0 - y2) / d)
    return float(k)


def grid_period_px(profile: F64, *, min_period_px: int = 8) -> float:
    """Period in pixels of a dark-line grid along a 1-D brightness profile.

    The autocorrelation gives the period roughly; each line is then located to a fraction of a
    pixel (centroid of darkness around the expected position) and a straight-line fit of
    position against line index gives the period. Raises ValueError without a grid.
    """
    prof = np.asarray(profile, dtype=np.float64)
    p0 = _autocorr_period(prof, min_period_px)
    dark = prof.max() - prof
    half = max(2, int(p0 / 4))
    start = int(np.argmax(dark[: math.ceil(p0) + 1]))
    centres: list[tuple[int, float]] = []
    guess = float(start)
    idx = 0
    while guess < prof.size:
        lo, hi = max(0, round(guess) - half), min(prof.size, round(guess) + half + 1)
        w = dark[lo:hi]
        w = np.clip(w - np.percentile(dark, 50), 0.0, None)
        if hi - lo >= half and w.sum() > 0 and lo > 0 and hi < prof.size:
            c = float((np.arange(lo, hi) * w).sum() / w.sum())
            centres.append((idx, c))
            guess = c + p0
        else:
            guess += p0
        idx += 1
    if len(centres) < 3:
        return p0
    i = np.array([c[0] for c in centres], dtype=np.float64)
    x = np.array([c[1] for c in centres], dtype=np.float64)
    slope, _ = np.polyfit(i, x, 1)
    return float(slope)


def um_per_px_from_grid(lin_grey: F32, *, pitch_mm: float = 1.0) -> tuple[float, float]:
    """Scale of a frame of a square mm grid: (um/px along x, um/px along y).

    ``lin_grey`` is a single-channel region showing only the grid, lines roughly parallel to
    the frame's edges. Raises ValueError when no grid is found.
    """
    col_profile = lin_grey.mean(axis=0, dtype=np.float64)
    row_profile = lin_grey.mean(axis=1, dtype=np.float64)
    px_x = grid_period_px(col_profile)
    px_y = grid_period_px(row_profile)
    return pitch_mm * 1000.0 / px_x, pitch_mm * 1000.0 / px_y
