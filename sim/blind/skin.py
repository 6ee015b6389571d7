"""Scalp skin as absorbers over a white dermis, plus the marks seen on it.

Reflectance per channel is ``dermis * exp(-2 (mel*E_mel + hb*E_hb + car*E_car) - shade)``
with per-pixel melanin, haemoglobin and a little carotene; ``shade`` is a grey
absorber for the depth of follicle openings. Melanin carries multi-scale
mottling, a fine grain and, on some images, a honeycomb pigment network;
haemoglobin carries redness and thin vessels. White dots (sweat ducts), yellow
dots (keratin-plugged openings) and, on top of the hairs, scale flakes and a
sebum sheen are separate layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, special

from sim.blind.geometry import DARK, FAINT, YELLOW, Frame, Units, take
from sim.blind.noise import cell_edges, smooth_noise
from sim.blind.population import Polylines
from sim.blind.raster import rasterise
from sim.blind.tubes import Tubes, accumulate

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

DERMIS = np.array([0.86, 0.80, 0.74], dtype=np.float32)
E_MEL = np.array([1.0, 1.3, 1.65], dtype=np.float32)
E_HB = np.array([0.03, 1.0, 0.85], dtype=np.float32)
E_CAR = np.array([0.0, 0.12, 1.0], dtype=np.float32)
WHITE_DOT = np.array([0.84, 0.82, 0.78], dtype=np.float32)
YELLOW_DOT = np.array([0.74, 0.60, 0.30], dtype=np.float32)
FLAKE = np.array([0.86, 0.85, 0.80], dtype=np.float32)
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

_SIZES = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


@dataclass(frozen=True)
class Skin:
    """The skin under the hairs and the layers that go over them."""

    base: F32  # (h, w, 3) linear reflectance
    flakes: F32 | None  # (h, w) opacity of white scale on top of everything
    sheen: F32 | None  # (h, w) additive surface reflection (no polariser only)
    exposure_ref: float  # mean luminance of the skin before the follicle marks
    luma: float  # luminance of the plain skin colour


def _profile(kind: str, q: F32) -> F32:
    if kind == "gauss":
        out: F32 = np.exp(-0.5 * q * q)
    elif kind == "disc":
        out = np.clip((1.0 - q) / 0.25 + 0.5, 0.0, 1.0)
    else:  # ring
        z = (q - 1.0) / 0.3
        out = np.exp(-0.5 * z * z)
    return out


_EXTENT = {"gauss": 3.0, "disc": 1.25, "ring": 2.0}


def stamp(field: F32, x: F64, y: F64, radius: F64, amp: F64, kind: str) -> None:
    """Add radial blobs (gauss, soft disc or ring) centred at pixel points, in place."""
    h, w = field.shape
    if len(x) == 0:
        return
    half = np.ceil(_EXTENT[kind] * radius + 1.0)
    size_idx = np.searchsorted(np.asarray(_SIZES), half)
    flat = field.reshape(-1)
    for si in np.unique(size_idx):
        hs = _SIZES[min(int(si), len(_SIZES) - 1)]
        pick = np.flatnonzero(size_idx == si)
        off = np.arange(-hs, hs + 1)
        per = (2 * hs + 1) ** 2
        step = max(1, 4_000_000 // per)
        for a in range(0, len(pick), step):
            p = pick[a : a + step]
            ix = np.round(x[p]).astype(np.int64)
            iy = np.round(y[p]).astype(np.int64)
            gx = ix[:, None, None] + off[None, None, :]
            gy = iy[:, None, None] + off[None, :, None]
            dx = (gx - x[p][:, None, None]).astype(np.float32)
            dy = (gy - y[p][:, None, None]).astype(np.float32)
            q: F32 = (np.sqrt(dx * dx + dy * dy) / radius[p][:, None, None]).astype(np.float32)
            val = _profile(kind, q) * amp[p][:, None, None].astype(np.float32)
            ok = (gx >= 0) & (gx < w) & (gy >= 0) & (gy < h)
            idx = (gy * w + gx)[ok]
            flat += np.bincount(idx, weights=val[ok], minlength=h * w).astype(np.float32)


def _vessel_lines(rng: np.random.Generator, params: dict[str, Any], frame: Frame) -> Tubes | None:
    """Thin superficial vessels: branching trees or small hairpin loops (px)."""
    n = rng.poisson(float(params["vessels_per_cm2"]) * frame.area_cm2)
    if params["vessel_kind"] == "looped":
        n *= 3
    if n == 0:
        return None
    upp = frame.upp
    paths: list[tuple[F64, F64, float]] = []
    for _ in range(int(n)):
        x0, y0 = rng.uniform(0, frame.w_um), rng.uniform(0, frame.h_um)
        a0 = rng.uniform(0, 2 * math.pi)
        if params["vessel_kind"] == "looped":
            length, gap = rng.uniform(80, 300), rng.uniform(20, 50)
            t = np.linspace(0.0, 1.0, 24)
            arc = np.linspace(-math.pi / 2, math.pi / 2, 12)
            px = np.concatenate([t * length, length + 0.5 * gap * np.cos(arc), t[::-1] * length])
            py = np.concatenate(
                [np.full(24, -gap / 2), 0.5 * gap * np.sin(arc), np.full(24, gap / 2)]
            )
            px = px + rng.normal(0, 3.0, len(px)).cumsum() * 0.2
            ca, sa = math.cos(a0), math.sin(a0)
            paths.append((x0 + ca * px - sa * py, y0 + sa * px + ca * py, rng.uniform(3.5, 7.0)))
            continue
        trunk = _wander(rng, x0, y0, a0, rng.uniform(300, 1500))
        paths.append((trunk[0], trunk[1], rng.uniform(5.0, 11.0)))
        for _b in range(int(rng.integers(2, 6))):
            j = int(rng.integers(1, len(trunk[0]) - 1))
            side = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.2)
            br = _wander(rng, trunk[0][j], trunk[1][j], a0 + side, rng.uniform(100, 500))
            paths.append((br[0], br[1], rng.uniform(2.5, 6.0)))
    xs, ys, ss, starts, radii = [], [], [], [0], []
    for px, py, r in paths:
        seg = np.hypot(np.diff(px), np.diff(py))
        xs.append(px / upp)
        ys.append(py / upp)
        ss.append(np.concatenate([[0.0], np.cumsum(seg)]) / upp)
        starts.append(starts[-1] + len(px))
        radii.append(r / upp)
    m = len(paths)
    lines = Polylines(
        x=np.concatenate(xs), y=np.concatenate(ys), s=np.concatenate(ss), start=np.asarray(starts)
    )
    zero = np.zeros(m)
    return Tubes(lines, np.asarray(radii), zero + 1e9, zero, zero, zero + 1.0, zero, zero, zero)


def _wander(
    rng: np.random.Generator, x0: float, y0: float, a0: float, length: float
) -> tuple[F64, F64]:
    n = max(3, int(length / 20.0))
    ang = a0 + np.cumsum(rng.normal(0.0, 0.12, n))
    return (
        x0 + np.concatenate([[0.0], np.cumsum(20.0 * np.cos(ang))]),
        y0 + np.concatenate([[0.0], np.cumsum(20.0 * np.sin(ang))]),
    )


def draw_skin(rng: np.random.Generator, params: dict[str, Any], frame: Frame, units: Units) -> Skin:
    """Render the skin. ``units`` only adds marks; it never changes the random draws."""
    h, w, upp = frame.height, frame.width, frame.upp
    tone = float(params["skin_tone"])
    m0 = 0.05 + 0.9 * tone**1.5
    b0 = (0.04 + 0.16 * float(params["redness"])) * (1.0 - 0.4 * tone)
    y0 = 0.02 + 0.06 * float(params["yellowness"])
    mot = float(params["mottle"])
    mcell = float(params["mottle_cell_um"]) / upp
    log_mel = mot * smooth_noise(rng, h, w, mcell)
    log_mel += 0.6 * mot * smooth_noise(rng, h, w, 1500.0 / upp)
    grain = float(params["grain"]) * smooth_noise(rng, h, w, float(params["grain_cell_um"]) / upp)
    mel = np.float32(m0) * np.exp(log_mel + grain)
    if params["network"]:
        cell = float(params["network_cell_um"]) / upp
        edge = cell_edges(rng, h, w, cell)
        lw = max(0.09 * cell, 0.7)
        line = np.exp(-0.5 * (edge / np.float32(lw)) ** 2)
        line *= 0.55 + 0.45 * np.tanh(smooth_noise(rng, h, w, 0.6 * cell))
        patch = np.clip(smooth_noise(rng, h, w, 1500.0 / upp) * 0.6 + 0.6, 0.0, 1.0)
        mel *= 1.0 + float(params["network_strength"]) * patch * (1.2 * line - 0.25)
    blood = np.float32(b0) * np.exp(0.15 * smooth_noise(rng, h, w, rng.uniform(400, 1200) / upp))
    vessels = _vessel_lines(rng, params, frame)
    if vessels is not None:
        (vpath,) = accumulate(rasterise(vessels, h, w), h, w, [lambda b: b.path])
        sigma = 9.0 / upp
        if sigma > 0.3:
            vpath = ndimage.gaussian_filter(vpath, sigma)
        blood += np.float32(0.022 * upp) * vpath
    white = np.zeros((h, w), dtype=np.float32)
    n_white = rng.poisson(float(params["white_dots_per_cm2"]) * frame.area_cm2)
    wx = rng.uniform(-0.5, w - 0.5, n_white)
    wy = rng.uniform(-0.5, h - 0.5, n_white)
    wr = rng.uniform(10.0, 30.0, n_white) / 1.3 / upp
    stamp(white, wx, wy, np.maximum(wr, 0.5), rng.uniform(0.08, 0.3, n_white), "gauss")
    np.minimum(white, np.float32(0.8), out=white)
    mel *= 1.0 - 0.8 * white

    flakes = None
    cover = float(params["scale_cover"])
    if cover > 0:
        big = smooth_noise(rng, h, w, rng.uniform(200, 600) / upp)
        big += 0.4 * smooth_noise(rng, h, w, rng.uniform(50, 100) / upp)
        big += 0.1 * smooth_noise(rng, h, w, rng.uniform(15, 30) / upp)
        thr = float(special.ndtri(1.0 - cover)) * 1.1
        soft = max(0.1, 3.0 * upp / 300.0)
        mask = np.clip((big - np.float32(thr)) * np.float32(1.0 / soft) + np.float32(0.5), 0.0, 1.0)
        mask = mask * mask * (3.0 - 2.0 * mask)
        layers = 0.6 + 0.4 * np.clip(big - thr, 0.0, 1.0)
        tex = 0.8 + 0.2 * np.tanh(smooth_noise(rng, h, w, rng.uniform(40, 90) / upp))
        opacity = np.float32(rng.uniform(0.2, 0.45))
        flakes = (mask * layers * tex * opacity).astype(np.float32)
    sheen = None
    if not params["polarised"]:
        sb = float(params["sebum"])
        broad = np.clip(smooth_noise(rng, h, w, rng.uniform(100, 250) / upp) + 0.3, 0.0, None)
        glint = np.clip(smooth_noise(rng, h, w, 25.0 / upp) - 2.2, 0.0, None) * broad
        sheen = (0.02 + sb * (0.05 * broad + 0.25 * glint)).astype(np.float32)

    def reflect(mel_f: F32, blood_f: F32, extra: F32 | None) -> F32:
        """Dermis reflectance under the absorbers; ``extra`` is a further grey log factor."""
        out = np.empty((*mel_f.shape, 3), dtype=np.float32)
        for c in range(3):
            od = mel_f * np.float32(-2.0 * E_MEL[c]) + blood_f * np.float32(-2.0 * E_HB[c])
            od += np.float32(-2.0 * y0 * E_CAR[c] + math.log(float(DERMIS[c])))
            if extra is not None:
                od += extra
            out[..., c] = np.exp(od)
        return out

    plain = float(np.dot(LUMA, DERMIS * np.exp(-2.0 * (m0 * E_MEL + b0 * E_HB + y0 * E_CAR))))
    sub = max(1, int(math.sqrt(h * w / 20000)))
    exposure_ref = float(np.mean(reflect(mel[::sub, ::sub], blood[::sub, ::sub], None) @ LUMA))

    # follicle openings, peripilar rings, yellow dots: only where units are
    reach = 2.5 * units.size
    close = (
        (units.x > -reach)
        & (units.x < frame.w_um + reach)
        & (units.y > -reach)
        & (units.y < frame.h_um + reach)
    )
    units = take(units, np.flatnonzero(close))
    xs, ys = units.x / upp, units.y / upp
    shade = np.zeros((h, w), dtype=np.float32)
    yellow = np.zeros((h, w), dtype=np.float32)
    r_open = units.size / 2.0 / upp
    dark = units.style == DARK
    faint = units.style == FAINT
    amp = np.where(dark, 0.55 * units.depth, np.where(faint, 0.13 * units.depth, 0.0))
    vis = dark | faint
    stamp(shade, xs[vis], ys[vis], np.maximum(0.65 * r_open[vis], 0.45), amp[vis], "gauss")
    mel += np.float32(0.8 * m0) * shade
    ring = units.halo > 0
    stamp(mel, xs[ring], ys[ring], 1.9 * r_open[ring], 0.9 * m0 * units.halo[ring], "ring")
    yel = units.style == YELLOW
    stamp(yellow, xs[yel], ys[yel], r_open[yel], 0.3 + 0.35 * units.depth[yel], "disc")
    np.minimum(yellow, np.float32(0.9), out=yellow)

    base = reflect(mel, blood, 0.7 * grain - shade)
    for c in range(3):
        plane = base[..., c]
        plane += white * (WHITE_DOT[c] - plane)
        plane += yellow * (YELLOW_DOT[c] - plane)
    return Skin(base=base, flakes=flakes, sheen=sheen, exposure_ref=exposure_ref, luma=plain)


def finish_skin(img: F32, skin: Skin) -> F32:
    """Lay scale flakes and the sebum sheen over the hairs, in place."""
    for c in range(3):
        plane = img[..., c]
        if skin.flakes is not None:
            plane += skin.flakes * (FLAKE[c] - plane)
        if skin.sheen is not None:
            plane += skin.sheen
    return img
