"""Registration of a live frame against a baseline: phase correlation, log-polar rotation.

Pure numpy. Images are single-channel float arrays of the same shape (use
:func:`capture.metrics.grey` and :func:`capture.metrics.bin_image` first). Pixel
coordinates: u to the right, v down; angles in degrees, counter-clockwise as seen
on the screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def _hann2d(h: int, w: int) -> F64:
    out: F64 = np.outer(np.hanning(h), np.hanning(w))
    return out


def _prep(img: F32 | F64) -> F64:
    a = np.asarray(img, dtype=np.float64)
    a = a - a.mean()
    s = float(a.std())
    out: F64 = (a / s if s > 0 else a) * _hann2d(*a.shape)
    return out


def phase_correlation(ref: F32 | F64, live: F32 | F64) -> tuple[float, float, float]:
    """Translation of ``live`` relative to ``ref``: (du_px, dv_px, peak).

    ``live(u, v) ~= ref(u - du, v - dv)``: content moved by (du, dv) pixels. ``peak`` is the
    height of the normalised correlation peak (about 0.02 for unrelated images, up to 1).
    Sub-pixel by a parabola through the peak's neighbours.
    """
    if ref.shape != live.shape:
        raise ValueError(f"shapes differ: {ref.shape} vs {live.shape}")
    return shift_from_spectra(spectrum(ref), spectrum(live))


@dataclass(frozen=True)
class Spectrum:
    """The windowed, normalised Fourier transform of one image (see :func:`spectrum`)."""

    f: NDArray[np.complex128]
    shape: tuple[int, int]


def spectrum(img: F32 | F64) -> Spectrum:
    """Transform of an image for :func:`shift_from_spectra`: compute it once per image when
    one image is compared with several."""
    return Spectrum(np.fft.rfft2(_prep(img)), (int(img.shape[0]), int(img.shape[1])))


def shift_from_spectra(ref: Spectrum, live: Spectrum) -> tuple[float, float, float]:
    """:func:`phase_correlation` of two images from their :func:`spectrum`."""
    if ref.shape != live.shape:
        raise ValueError(f"shapes differ: {ref.shape} vs {live.shape}")
    cross = live.f * np.conj(ref.f)
    cross /= np.maximum(np.abs(cross), 1e-12)
    corr = np.fft.irfft2(cross, s=ref.shape)
    h, w = corr.shape
    iv, iu = np.unravel_index(int(np.argmax(corr)), corr.shape)
    peak = float(corr[iv, iu])

    def sub(c_m: float, c_0: float, c_p: float) -> float:
        d = c_m - 2 * c_0 + c_p
        return 0.5 * (c_m - c_p) / d if d < 0 else 0.0

    du = iu + sub(corr[iv, (iu - 1) % w], peak, corr[iv, (iu + 1) % w])
    dv = iv + sub(corr[(iv - 1) % h, iu], peak, corr[(iv + 1) % h, iu])
    if du > w / 2:
        du -= w
    if dv > h / 2:
        dv -= h
    return float(du), float(dv), peak


def bilinear(img: F64, u: F64, v: F64) -> F64:
    """Sample ``img`` at fractional pixel positions (edge values outside the frame)."""
    h, w = img.shape
    uu = np.clip(u, 0, w - 1.001)
    vv = np.clip(v, 0, h - 1.001)
    u0 = uu.astype(np.int64)
    v0 = vv.astype(np.int64)
    au = uu - u0
    av = vv - v0
    top = img[v0, u0] * (1 - au) + img[v0, u0 + 1] * au
    bot = img[v0 + 1, u0] * (1 - au) + img[v0 + 1, u0 + 1] * au
    out: F64 = top * (1 - av) + bot * av
    return out


def rotate(img: F32 | F64, angle_deg: float) -> F64:
    """Rotate content by ``angle_deg`` counter-clockwise (on screen) about the centre."""
    a = np.asarray(img, dtype=np.float64)
    h, w = a.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    cu, cv = (w - 1) / 2, (h - 1) / 2
    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    # Output pixel p shows input pixel R(-angle) p; v points down, so ccw on screen is
    # a clockwise rotation in (u, v) coordinates.
    x, y = u - cu, v - cv
    su = c * x - s * y
    sv = s * x + c * y
    return bilinear(a, su + cu, sv + cv)


def _polar_magnitude(img: F32 | F64, n_angles: int, n_radii: int) -> F64:
    a = _prep(img)
    mag = np.abs(np.fft.fftshift(np.fft.fft2(a)))
    h, w = mag.shape
    cu, cv = w / 2, h / 2
    rmax = min(h, w) / 2 * 0.9
    rmin = 4.0
    radii = np.exp(np.linspace(math.log(rmin), math.log(rmax), n_radii))
    ang = np.linspace(0, math.pi, n_angles, endpoint=False)
    uu = cu + radii[:, None] * np.cos(ang)[None, :]
    vv = cv - radii[:, None] * np.sin(ang)[None, :]
    polar = np.log1p(bilinear(mag, uu, vv))
    polar -= polar.mean(axis=1, keepdims=True)
    return polar


def rotation_log_polar(ref: F32 | F64, live: F32 | F64, *, n_angles: int = 720) -> float:
    """Rotation of ``live`` relative to ``ref`` in degrees (ccw on screen), in (-90, 90].

    The magnitude spectrum ignores translation and turns with the image; resampled on a
    log-polar grid the rotation is a shift along the angle axis, found by circular
    cross-correlation.
    """
    pa = _polar_magnitude(ref, n_angles, 64)
    pb = _polar_magnitude(live, n_angles, 64)
    xc = np.fft.irfft(np.fft.rfft(pb, axis=1) * np.conj(np.fft.rfft(pa, axis=1)), axis=1)
    score = xc.sum(axis=0)
    k = int(np.argmax(score))
    n = n_angles
    c_m, c_0, c_p = score[(k - 1) % n], score[k], score[(k + 1) % n]
    d = c_m - 2 * c_0 + c_p
    frac = 0.5 * (c_m - c_p) / d if d < 0 else 0.0
    deg = (k + frac) * 180.0 / n
    if deg > 90:
        deg -= 180
    return float(deg)


@dataclass(frozen=True)
class Alignment:
    """How the live frame sits relative to the baseline, in the baseline frame's pixels."""

    du_px: float  # content moved right by this much
    dv_px: float  # content moved down by this much
    rotation_deg: float  # content turned ccw on screen by this much
    peak: float  # phase-correlation peak height, 0..1: confidence
    overlap: float  # share of the baseline field of view the live frame covers, 0..1


def field_overlap(
    shape: tuple[int, int], du_px: float, dv_px: float, rotation_deg: float, *, n: int = 40
) -> float:
    """Share of a (h, w) baseline frame still inside the live frame after the motion."""
    h, w = shape
    # Cell centres of an n x n partition of the frame, so the share is an area share.
    cells = (np.arange(n) + 0.5) / n
    v, u = np.meshgrid(cells * h - 0.5, cells * w - 0.5, indexing="ij")
    cu, cv = (w - 1) / 2, (h - 1) / 2
    t = math.radians(rotation_deg)
    c, s = math.cos(t), math.sin(t)
    x, y = u - cu, v - cv
    lu = c * x + s * y + cu + du_px
    lv = -s * x + c * y + cv + dv_px
    inside = (lu >= -0.5) & (lu <= w - 0.5) & (lv >= -0.5) & (lv <= h - 0.5)
    return float(inside.mean())


def align(ref: F32 | F64, live: F32 | F64) -> Alignment:
    """Rotation (log-polar, refined by phase-correlation peak height), then translation."""
    rot0 = rotation_log_polar(ref, live)
    best: tuple[float, float, float, float] | None = None
    scores: dict[float, float] = {}
    for step in (-1.0, -0.5, 0.0, 0.5, 1.0):
        rot = rot0 + step
        du, dv, peak = phase_correlation(ref, rotate(live, -rot))
        scores[step] = peak
        if best is None or peak > best[3]:
            best = (rot, du, dv, peak)
    assert best is not None  # noqa: S101 - the loop ran
    rot, du, dv, peak = best
    # Refine the angle with a parabola through the peak heights around the best step.
    st = rot - rot0
    if -1.0 < st < 1.0:
        c_m, c_0, c_p = scores[st - 0.5], scores[st], scores[st + 0.5]
        d = c_m - 2 * c_0 + c_p
        if d < 0:
            rot = rot + 0.25 * (c_m - c_p) / d
            du, dv, peak = phase_correlation(ref, rotate(live, -rot))
    return Alignment(du, dv, rot, peak, field_overlap(ref.shape[:2], du, dv, rot))
