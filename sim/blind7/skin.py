"""The scalp surface of blind-7, as camera raw radiance on the scene raster.

A height field (a Voronoi mosaic of skin plates parted by fine furrows, a coarser mosaic of major
lines, follicular openings and pores, flakes standing proud) is lit by the ring of LEDs: a
diffuse shading from the surface normal and, without cross-polarisation, specular glints where a
facet mirrors one LED into the lens. Colour comes from per-pixel chromophore maps (epidermal
melanin with its honeycomb network and white dots, dermal blood with vessels and perifollicular
redness, carotene, dermal scattering) turned into 16-band reflectance and projected to raw.
Flakes, yellow dots and dye stain are spectral overlays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7 import field, spectra
from sim.blind7.draw import STREAM_SKIN, rng_for
from sim.blind7.follicles import Units
from sim.blind7.splat import accumulate, blobs

Arr = NDArray[Any]


def _mosaic(
    rng: np.random.Generator,
    shape: tuple[int, int],
    s: float,
    cell_um: float,
    res_um: float,
    warp: float = 0.0,
) -> tuple[Arr, Arr, Arr]:
    """Voronoi mosaic at ``res_um`` sampled onto the raster: border distance F2 - F1 (um), F1
    (um) and a random value per plate."""
    h, w = shape
    res = max(s, res_um)
    f = res / s
    gh = int(np.ceil(h / f)) + 2
    gw = int(np.ceil(w / f)) + 2
    f1, f2, ids = field.worley(rng, (gh, gw), cell_um / res, warp=warp)
    rand = rng.uniform(-1.0, 1.0, int(ids.max()) + 1).astype(np.float32)
    if f == 1.0:
        return (f2 - f1)[:h, :w] * res, f1[:h, :w] * res, rand[ids[:h, :w]]
    yy = (np.arange(h, dtype=np.float32) / f)[:, None]
    xx = (np.arange(w, dtype=np.float32) / f)[None, :]
    e = field._bilinear((f2 - f1).astype(np.float32), yy, xx) * res
    d1 = field._bilinear(f1.astype(np.float32), yy, xx) * res
    iy = np.clip(np.rint(yy[:, 0]).astype(np.int64), 0, gh - 1)
    ix = np.clip(np.rint(xx[0]).astype(np.int64), 0, gw - 1)
    pr = rand[ids[iy][:, ix]]
    return e, d1, pr


def _line(e_um: Arr, width_um: float, s: float) -> Arr:
    """A soft line profile on mosaic borders, widened to at least a pixel (area kept)."""
    w_eff = max(width_um, 0.7 * s)
    out: Arr = np.exp(-((e_um / w_eff) ** 2)) * (width_um / w_eff)
    return out


def _vessels(
    rng: np.random.Generator, n: int, area: tuple[float, float], s: float, out: Arr
) -> None:
    """Arborising vessels: branching random walks drawn into ``out`` (1, H, W) as blood."""
    xs, ys, uxs, uys, sas, scs, vals = [], [], [], [], [], [], []
    todo = [
        (
            rng.uniform(0, area[0]),
            rng.uniform(0, area[1]),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(10.0, 26.0),
            int(rng.integers(25, 140)),
        )
        for _ in range(n)
    ]
    while todo:
        x, y, a, wid, steps = todo.pop()
        for _ in range(steps):
            a += rng.normal(0.0, 0.09)
            x += 18.0 * np.cos(a)
            y += 18.0 * np.sin(a)
            xs.append(x / s)
            ys.append(y / s)
            uxs.append(np.cos(a))
            uys.append(np.sin(a))
            sc_um = np.hypot(0.45 * wid, 20.0)  # seen through the upper dermis: blurred
            sas.append(max(16.0 / s, 0.6))
            scs.append(max(sc_um / s, 0.4))
            vals.append(0.02 * (0.45 * wid / sc_um) * min(1.0, sc_um / s / max(sc_um / s, 0.4)))
            if wid > 9.0 and rng.uniform() < 0.03:
                todo.append(
                    (
                        x,
                        y,
                        a + rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.1),
                        wid * 0.7,
                        int(steps * 0.5),
                    )
                )
    if xs:
        accumulate(
            out,
            np.array(xs),
            np.array(ys),
            np.array(uxs),
            np.array(uys),
            np.array(sas),
            np.array(scs),
            np.array(vals)[:, None],
        )


def render_skin(
    seed: int,
    p: dict[str, Any],
    cam: dict[str, Any],
    optics: spectra.Optics,
    shape: tuple[int, int],
    s: float,
    units: Units,
    hair_units: Arr,
    bare: Arr | None = None,
) -> Arr:
    """Camera raw radiance (H, W, 3) float32 of the bare skin. ``hair_units``: per unit, whether
    it holds a hair at baseline (for the perifollicular signs, which are the skin's); ``bare``:
    per unit, whether its opening and every sign around it are left undrawn (a root on plain
    skin; every draw is made all the same)."""
    rng = rng_for(seed, STREAM_SKIN)
    h, w = shape
    area = (w * s, h * s)
    light = p["light"]
    # --- relief --------------------------------------------------------------------------
    e_fine, f1_fine, plate = _mosaic(rng, shape, s, p["plate_um"], 5.0, warp=0.15)
    # furrows come and go along the borders: a smooth mask keeps only some of them
    keep = np.clip(0.2 + 0.7 * field.smooth_noise(rng, shape, 450.0 / s), 0.0, 1.0) ** 1.5
    keep = keep * (1.0 - 0.85 * p["furrow_fade"])
    hgt = -p["furrow_depth_um"] * _line(e_fine, p["furrow_um"], s) * keep * (0.8 + 0.2 * plate)
    del keep
    dome = np.clip(1.0 - (f1_fine / (0.55 * p["plate_um"])) ** 2, 0.0, 1.0)
    hgt += float(rng.uniform(1.0, 6.0)) * dome
    del f1_fine, dome
    if p["major_depth_um"] > 0:
        e_major, _, _ = _mosaic(rng, shape, s, p["major_plate_um"], 12.0, warp=0.35)
        hgt -= p["major_depth_um"] * _line(e_major, 4.5 * p["furrow_um"], s)
        del e_major
    hgt += float(rng.uniform(0.3, 1.5)) * field.smooth_noise(rng, shape, 25.0 / s)
    # --- point features: openings, pores, dots ------------------------------------------------
    pts = np.zeros((8, h, w), np.float32)
    ox, oy = units.x / s, units.y / s
    r_px = units.radius / s
    sig = np.maximum(r_px / 1.4, 0.5)
    n_u = len(ox)
    occupied = hair_units.astype(float)
    shown = np.ones(n_u) if bare is None else 1.0 - bare  # x 1.0: the same floats
    # 0: opening depth, 1: redness, 2: brown halo, 3: white halo, 4: yellow dot, 5: white dot,
    # 6: collar of scale, 7: pores
    pit = (0.55 + 0.45 * ~units.reserve) * shown
    blobs(pts[0:1], ox, oy, sig, pit[:, None] * np.ones((n_u, 1)))
    red = p["redness"] * rng.uniform(0.3, 1.0, n_u) * shown
    blobs(pts[1:2], ox, oy, np.maximum(2.4 * r_px, 0.7), red[:, None])
    halo = np.stack([occupied * p["peripilar_sign"] * rng.uniform(0.5, 1.0, n_u) * shown], axis=1)
    blobs(pts[2:3], ox, oy, np.maximum(2.0 * r_px, 0.7), halo)
    blobs(pts[2:3], ox, oy, np.maximum(1.1 * r_px, 0.5), -0.85 * halo)
    wh = np.stack([p["white_halo"] * rng.uniform(0.4, 1.0, n_u) * occupied * shown], axis=1)
    blobs(pts[3:4], ox, oy, np.maximum(1.9 * r_px, 0.7), wh)
    yel_p = np.where(occupied > 0, 0.25, 1.0) * p["yellow_dots"] * ~units.reserve
    yel = (rng.uniform(size=n_u) < yel_p) * rng.uniform(0.5, 1.0, n_u) * shown
    blobs(pts[4:5], ox, oy, np.maximum(r_px * rng.uniform(0.9, 1.6, n_u), 0.5), yel[:, None])
    n_white = rng.poisson(p["white_dots_per_mm2"] * area[0] * area[1] * 1e-6)
    wx = rng.uniform(0, w, n_white)
    wy = rng.uniform(0, h, n_white)
    blobs(
        pts[5:6],
        wx,
        wy,
        np.maximum(rng.uniform(6.0, 14.0, n_white) / s, 0.45),
        np.ones((n_white, 1)) * np.minimum(1.0, (10.0 / s) ** 2 + 0.3),
    )
    if p["fitzpatrick"] >= 4:  # empty and hair-bearing openings look like white dots too
        blobs(pts[5:6], ox, oy, sig, 0.6 * shown[:, None] * np.ones((n_u, 1)))
    collar = p["perifollicular_scale"] * occupied * rng.uniform(0.4, 1.0, n_u) * shown
    blobs(pts[6:7], ox, oy, np.maximum(2.2 * r_px, 0.7), collar[:, None])
    blobs(pts[6:7], ox, oy, np.maximum(1.0 * r_px, 0.5), -collar[:, None])
    n_pore = rng.poisson(p["pores_per_mm2"] * area[0] * area[1] * 1e-6)
    blobs(
        pts[7:8],
        rng.uniform(0, w, n_pore),
        rng.uniform(0, h, n_pore),
        np.maximum(rng.uniform(5.0, 12.0, n_pore) / s, 0.45),
        np.ones((n_pore, 1)),
    )
    n_dot = rng.poisson(p["dotted_vessels_per_mm2"] * area[0] * area[1] * 1e-6)
    vess = np.zeros((1, h, w), np.float32)
    blobs(
        vess,
        rng.uniform(0, w, n_dot),
        rng.uniform(0, h, n_dot),
        np.maximum(rng.uniform(6.0, 14.0, n_dot) / s, 0.5),
        0.12 * np.ones((n_dot, 1)),
    )
    _vessels(rng, p["vessels"], area, s, vess)
    hgt -= 18.0 * pts[0] + 8.0 * pts[7]
    # --- flakes --------------------------------------------------------------------------
    flake_n = field.smooth_noise(rng, shape, float(rng.uniform(60.0, 250.0)) / s)
    flake_n += 0.5 * field.smooth_noise(rng, shape, float(rng.uniform(15.0, 40.0)) / s)
    thr = 2.8 - 2.5 * p["scale_amount"]
    flakes = np.clip((flake_n - thr) / 0.35, 0.0, 1.0)
    flakes = np.clip(
        flakes + 1.2 * pts[6] + 0.25 * p["scale_amount"] * _line(e_fine, 3.0 * p["furrow_um"], s),
        0.0,
        1.0,
    ).astype(np.float32)
    del flake_n
    hgt += 9.0 * flakes
    # --- chromophores --------------------------------------------------------------------
    # honeycomb: round pale holes (over dermal papillae), pigmented rims between them
    e_net, _, cell_r = _mosaic(rng, shape, s, p["network_um"], 8.0, warp=0.25)
    rim_w = float(rng.uniform(0.18, 0.32)) * p["network_um"] * (1.0 + 0.2 * cell_r)
    net = np.exp(-((e_net / rim_w) ** 2)) * 1.3
    net = net * np.clip(0.75 + 0.5 * field.smooth_noise(rng, shape, 600.0 / s), 0.0, 1.0)
    net = field.blur(net.astype(np.float32), 0.1 * p["network_um"] / s)
    del e_net, cell_r
    mel = p["melanin"] * np.exp(0.18 * field.smooth_noise(rng, shape, 700.0 / s))
    mel *= 1.0 + 0.1 * plate
    mel *= np.clip(1.0 + p["network_strength"] * (net - 0.4), 0.25, None)
    mel *= np.clip(1.0 + 1.6 * pts[2] - 0.7 * pts[3] - 0.85 * pts[5], 0.08, None)
    scar = np.zeros_like(mel)
    if p["scar"] > 0:
        scar = (
            np.clip(
                field.smooth_noise(rng, shape, 900.0 / s) + 1.2 - 2.0 * (1 - p["scar"]), 0.0, 1.0
            )
            * p["scar"]
        )
        mel *= 1.0 - 0.7 * scar
    blood = p["blood"] * np.exp(0.3 * field.smooth_noise(rng, shape, 500.0 / s))
    blood = (
        blood
        + 0.012 * pts[1]
        + 0.006 * p["redness"] * np.clip(field.smooth_noise(rng, shape, 1200.0 / s), 0, None)
        + vess[0]
    )
    blood *= 1.0 - 0.6 * scar - 0.4 * pts[3]
    so2 = np.clip(p["so2"] + 0.06 * field.smooth_noise(rng, shape, 400.0 / s), 0.3, 0.97)
    scatter = p["dermal_scatter"] * (1.0 + 0.8 * scar + 0.6 * pts[3] + 0.3 * pts[5])
    raw = np.empty((h, w, 3), np.float32)
    flat_raw = raw.reshape(-1, 3)
    mel_f, blood_f, so2_f, sc_f = (a.reshape(-1) for a in (mel, blood, so2, scatter))
    step = 262144
    for i in range(0, h * w, step):
        j = min(h * w, i + step)
        flat_raw[i:j] = spectra.skin_raw(
            mel_f[i:j],
            blood_f[i:j],
            so2_f[i:j],
            sc_f[i:j],
            p["carotene"],
            p["epidermis_mm"],
            optics.weights,
        )
    del mel, blood, so2, scatter, mel_f, blood_f, so2_f, sc_f
    # --- overlays ------------------------------------------------------------------------
    lam = spectra.LAMBDA_NM
    flake_refl = 0.62 * (1.0 - 0.22 * np.exp(-(lam - 400.0) / 55.0))
    flake_raw = (flake_refl @ optics.weights).astype(np.float32)
    yellow_refl = 0.55 * np.exp(-1.3 * spectra.carotene(lam)) * (0.75 + 0.25 * (lam - 400) / 300)
    yellow_refl = yellow_refl * (1.0 - 0.35 * np.exp(-0.5 * ((lam - 530.0) / 45.0) ** 2))
    yellow_raw = (yellow_refl @ optics.weights).astype(np.float32)
    fl = (0.5 * flakes * (0.8 + 0.2 * field.smooth_noise(rng, shape, 30.0 / s)))[..., None]
    raw = raw * (1.0 - fl) + flake_raw * fl
    ye = np.clip(pts[4], 0.0, 1.0)[..., None] * 0.7
    raw = raw * (1.0 - ye) + yellow_raw * ye
    if p["dye_stain"] > 0:
        stain = np.clip(field.smooth_noise(rng, shape, 300.0 / s) - 0.6, 0.0, 1.0)
        stain = (p["dye_stain"] * stain)[..., None]
        raw = raw * (1.0 - 0.8 * stain * np.array([1.0, 1.05, 0.92], np.float32))
    # --- light ---------------------------------------------------------------------------
    if light == "immersion":
        hgt = field.blur(hgt.astype(np.float32), 6.0 / s) * 0.8 + 0.2 * hgt
    gy, gx = np.gradient(hgt.astype(np.float32), s)
    leds = cam["ring_leds"]
    beta = np.radians(cam["ring_elevation_deg"])
    psi = cam["ring_phase"] + np.arange(leds) * 2 * np.pi / leds
    inten = 1.0 + cam["ring_unevenness"] * np.cos(psi - rng.uniform(0, 2 * np.pi))
    cx_ = float((inten * np.cos(psi)).sum())
    cy_ = float((inten * np.sin(psi)).sum())
    tot = float(inten.sum())
    g2 = gx * gx + gy * gy
    shade = (np.sin(beta) * tot - np.cos(beta) * (gx * cx_ + gy * cy_)) / (
        tot * np.sin(beta) * np.sqrt(1.0 + g2)
    )
    cav = field.blur(hgt.astype(np.float32), 25.0 / s) - hgt
    shade = shade * (1.0 - 0.22 * np.clip(cav / 14.0, 0.0, 1.0))
    raw *= np.clip(shade, 0.15, 1.3)[..., None]
    if light == "non_polarised":
        # glints: facets whose normal bisects an LED and the lens
        half = 0.5 * (np.pi / 2 - beta)
        t = np.tan(half)
        rough = 0.2 - 0.1 * p["sebum"]
        # sum over LEDs of exp(-|g - g_k|^2 / 2 r^2), g_k = -t (cos psi_k, sin psi_k), written
        # as a radial factor times a (slope, azimuth) table
        rho = np.sqrt(g2)
        near = np.abs(rho - t) < 4.5 * rough
        glint = np.zeros((h, w), np.float32)
        if near.any():
            rr = np.linspace(max(t - 4.5 * rough, 0.0), t + 4.5 * rough, 48)
            th = np.linspace(-np.pi, np.pi, 257)
            cos_d = np.cos(th[None, :, None] - psi[None, None, :])
            tab = (inten * np.exp(-t * rr[:, None, None] * (1 + cos_d) / rough**2)).sum(axis=2)
            rn = rho[near]
            ri = np.clip(np.rint((rn - rr[0]) / (rr[1] - rr[0])), 0, 47).astype(np.int64)
            ti = np.rint((np.arctan2(gy[near], gx[near]) + np.pi) / (th[1] - th[0])).astype(
                np.int64
            )
            glint[near] = np.exp(-((rn - t) ** 2) / (2 * rough**2)) * tab[ri, ti]
        glint *= (0.5 + 1.5 * p["sebum"]) / leds * 1.6
        sheen = 0.025 + 0.03 * p["sebum"] * (1 + field.smooth_noise(rng, shape, 400.0 / s)) / 2
        raw += optics.white.astype(np.float32) * (glint + sheen)[..., None] * 0.5
    out: Arr = raw.astype(np.float32)
    return out
