"""Scalp skin: concentration maps in world coordinates and their two-layer
Kubelka-Munk spectral reflectance."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind10.spectra import BANDS, carotene, hb_deoxy, hb_oxy, melanin_eu

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def _upsample(a: F32, shape: tuple[int, int], cell: float) -> F32:
    """Bilinear upsampling of a coarse grid whose nodes are ``cell`` pixels apart."""
    out_rows = []
    for n, size in ((a.shape[0], shape[0]), (a.shape[1], shape[1])):
        pos = np.arange(size, dtype=np.float64) / cell
        i0 = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
        out_rows.append((i0, (pos - i0).astype(np.float32)))
    (r0, fr), (c0, fc) = out_rows
    rows = a[r0] * (1 - fr)[:, None] + a[r0 + 1] * fr[:, None]
    return np.asarray(rows[:, c0] * (1 - fc) + rows[:, c0 + 1] * fc, dtype=np.float32)


def noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> F32:
    """Smooth noise, about unit variance, with features about ``scale_px`` across."""
    cell = max(scale_px / 3.0, 1.0)
    lh, lw = int(shape[0] / cell) + 4, int(shape[1] / cell) + 4
    base = rng.standard_normal((lh, lw)).astype(np.float32)
    base = ndimage.gaussian_filter(base, 1.0, mode="wrap")
    base /= max(float(base.std()), 1e-6)
    if cell <= 1.0:
        return np.asarray(base[: shape[0], : shape[1]], dtype=np.float32)
    return _upsample(base, shape, cell)


def blobs(shape: tuple[int, int], xs: F64, ys: F64, amp: F64, sigma_px: float) -> F32:
    """Gaussian dots of peak ``amp`` at (xs, ys)."""
    out = np.zeros(shape, np.float32)
    xi, yi = np.round(xs).astype(np.int64), np.round(ys).astype(np.int64)
    ok = (xi >= 0) & (xi < shape[1]) & (yi >= 0) & (yi < shape[0])
    np.add.at(out, (yi[ok], xi[ok]), amp[ok].astype(np.float32))
    s = max(sigma_px, 0.6)
    return np.asarray(ndimage.gaussian_filter(out, s) * (2 * np.pi * s * s), dtype=np.float32)


def skin_maps(
    rng: np.random.Generator,
    shape: tuple[int, int],
    um: float,
    units_xy: F64,
    tone: str,
    params: dict[str, Any],
) -> dict[str, F32]:
    """Per-pixel concentrations over the world grid: melanin, blood, carotene/yellow,
    epidermal scattering (scale, flakes, white dots), shading (furrows, openings), sebum."""
    mel0 = {"light": (0.05, 0.3), "medium": (0.35, 0.9), "dark": (1.3, 3.2)}[tone]
    p = {
        "mel": float(rng.uniform(*mel0)),
        "blood": float(rng.uniform(0.08, 0.3)),
        "oxy": float(rng.uniform(0.55, 0.9)),
        "carotene": float(rng.uniform(0.0, 0.4)),
        "network": float(rng.uniform(0.1, 0.5)) * (1.0 if tone != "light" else 0.1),
        "scale_amount": float(rng.uniform(0.0, 1.0) ** 2),
        "redness": float(rng.uniform(0.0, 0.6)),
        "vessels": float(rng.uniform(0.0, 1.0)),
        "white_dots": float(rng.uniform(0.0, 1.0)) * (1.0 if tone != "light" else 0.4),
        "yellow_dots": float(rng.uniform(0.0, 1.0)),
        "halo": float(rng.uniform(0.0, 1.0)),
        "sebum": float(rng.uniform(0.0, 1.0)),
    }
    params.update({"skin_" + k: v for k, v in p.items()})
    px = 1.0 / um
    mel = p["mel"] * (1.0 + 0.18 * noise(rng, shape, 900 * px) + 0.08 * noise(rng, shape, 150 * px))
    net = noise(rng, shape, 160 * px)
    mel *= 1.0 + p["network"] * 1.3 * np.exp(-((net / 0.6) ** 2)) - p["network"] * 0.5
    blood = p["blood"] * (1.0 + 0.3 * noise(rng, shape, 600 * px))
    ves = noise(rng, shape, 500 * px)
    ves_on = np.clip(noise(rng, shape, 300 * px) - 0.8, 0, 0.5) * 2.0
    blood += p["vessels"] * 0.6 * np.exp(-((ves / 0.2) ** 2)) * ves_on
    car = p["carotene"] * (1.0 + 0.3 * noise(rng, shape, 400 * px))
    scat = 1.0 + 0.12 * noise(rng, shape, 60 * px)
    fl = noise(rng, shape, 350 * px) + 0.6 * noise(rng, shape, 90 * px)
    thr = 2.4 - 1.8 * p["scale_amount"]
    scat += 3.5 * np.clip((fl - thr) * 2.0, 0.0, 1.0)
    fur = noise(rng, shape, 700 * px)
    shade = 1.0 - 0.07 * np.exp(-((fur / 0.3) ** 2)) + 0.04 * noise(rng, shape, 40 * px)
    h, w = shape
    n_units = len(units_xy)
    ux, uy = units_xy[:, 0], units_xy[:, 1]
    # openings: slightly darker, less scattering pits; perifollicular redness; halos
    op_r = float(rng.uniform(35.0, 70.0)) * px
    openings = blobs(shape, ux, uy, np.ones(n_units), op_r)
    shade *= 1.0 - 0.22 * np.clip(openings, 0, 1)
    halo = blobs(shape, ux, uy, np.ones(n_units), op_r * 2.2) - 0.6 * openings
    mel *= 1.0 + p["halo"] * 0.9 * np.clip(halo, 0, 1)
    blood += p["redness"] * 0.35 * blobs(shape, ux, uy, rng.uniform(0, 1, n_units), op_r * 3.5)
    # yellow dots: keratin and sebum plugs in some openings
    yel = rng.uniform(0, 1, n_units) < p["yellow_dots"] * 0.35
    ydots = blobs(shape, ux, uy, yel.astype(np.float64), op_r * 1.1)
    car += 2.5 * np.clip(ydots, 0, 1.2)
    scat += 1.5 * np.clip(ydots, 0, 1)
    # pinpoint white dots: eccrine openings, pale spots in the network
    n_wd = int(p["white_dots"] * w * h * um * um * 1e-8 * 900)
    wx, wy = rng.uniform(0, w, n_wd), rng.uniform(0, h, n_wd)
    wd = np.clip(
        blobs(shape, wx, wy, rng.uniform(0.6, 1.0, n_wd), float(rng.uniform(12, 25)) * px), 0, 1
    )
    mel *= 1.0 - 0.85 * wd
    scat += 1.2 * wd
    sebum = np.clip(noise(rng, shape, 70 * px) - 1.9, 0, None) * p["sebum"]
    return {
        "mel": np.clip(mel, 0.0, None).astype(np.float32),
        "blood": np.clip(blood, 0.0, None).astype(np.float32),
        "car": np.clip(car, 0.0, None).astype(np.float32),
        "scat": scat.astype(np.float32),
        "shade": np.clip(shade, 0.3, 1.2).astype(np.float32),
        "sebum": sebum.astype(np.float32),
        "oxy": np.full((1, 1), p["oxy"], np.float32),
    }


def reflectance_band(m: dict[str, F32], k: int) -> F32:
    """Two-layer Kubelka-Munk reflectance in band ``k``: an epidermis (melanin, carotene,
    scattering) of finite optical thickness over a semi-infinite dermis (blood)."""
    lam = BANDS[k : k + 1]
    oxy = float(m["oxy"][0, 0])
    hb = float(oxy * hb_oxy(lam)[0] + (1 - oxy) * hb_deoxy(lam)[0])
    ke = m["mel"] * np.float32(1.0 * melanin_eu(lam)[0]) + m["car"] * np.float32(
        0.5 * carotene(lam)[0]
    )
    ke += np.float32(0.02)
    se = m["scat"] * np.float32(0.4 * (lam[0] / 500.0) ** -1.0)
    a = 1.0 + ke / se
    b = np.sqrt(a * a - 1.0)
    bs = np.minimum(b * se, 30.0)
    sh, ch = np.sinh(bs), np.cosh(bs)
    den = a * sh + b * ch
    re, te = sh / den, b / den
    kd = m["blood"] * np.float32(hb) + np.float32(0.012 + 0.03 * m["car"].mean() * 0)
    ks = kd / np.float32(1.0 * (lam[0] / 500.0) ** -1.3)
    rd = 1.0 + ks - np.sqrt(ks * ks + 2.0 * ks)
    r = re + te * te * rd / (1.0 - re * rd)
    return np.asarray(r * m["shade"], dtype=np.float32)
