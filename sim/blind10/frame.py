"""The frame: scene draws, hair population, spectral compositing, camera and truth."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind10.hairs import Hair, build_hair, frame_params, slot_draws
from sim.blind10.optics import Camera, Strokes, raster
from sim.blind10.skin import reflectance_band, skin_maps
from sim.blind10.spectra import (
    BANDS,
    camera_sensitivity,
    led_spectrum,
    melanin_eu,
    melanin_pheo,
)

GENERATOR = "blind-10"
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
LAYER_Z = (0.0, 60.0, 250.0)  # lower bounds of the three height layers (um)
LAYER_REP = (20.0, 140.0, 420.0)  # representative heights for their defocus
TIP_MIN_PX = 0.2  # a free end is listed where the shaft is still drawn at least this wide


def _drawn_end(hr: Hair, cam: Camera, um: float) -> int | None:
    """Index of a shaft's last centreline point drawn at least ``TIP_MIN_PX`` wide.

    A tapered end (vellus, miniaturised, a long hair's natural tip) thins toward nothing, so
    the listed free end is where the drawn stroke fades out, not where the centreline stops;
    a blunt cut end is drawn full width to its last point. None when no point is that wide.
    """
    _, _, mag = cam.project(hr.pts)
    wide = np.flatnonzero(hr.diam / um * mag >= TIP_MIN_PX)
    return int(wide[-1]) if wide.size else None


def _rng(keys: list[int]) -> np.random.Generator:
    """A Generator from integer keys of any sign."""
    return np.random.default_rng([2 * abs(int(k)) + (k < 0) for k in keys])


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(
    seed: object, um: object, width: object, height: object, hairless: object, regrown: object
) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _is_num(um) or not 2.0 <= float(um) <= 15.0:  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be a finite number in [2, 15], got {um!r}")
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or isinstance(v, bool) or not 32 <= v <= 4096:
            raise ValueError(f"{name} must be an int in [32, 4096], got {v!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is not None:
        ok = isinstance(regrown, tuple) and len(regrown) == 2
        if ok:
            f: Any = regrown[0]  # type: ignore[index]
            s2: Any = regrown[1]  # type: ignore[index]
            ok = _is_num(f) and 0.3 <= float(f) <= 3.0
            ok = ok and isinstance(s2, int) and not isinstance(s2, bool)
        if not ok:
            raise ValueError(
                f"regrown must be None or (factor in [0.3, 3], int seed2), got {regrown!r}"
            )


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One trichoscopy frame (uint8 RGB, height x width x 3) and its truth."""
    image, truth, _ = render(
        seed, um_per_px=um_per_px, width=width, height=height, hairless=hairless, regrown=regrown
    )
    return image, truth


def _scene(rng: np.random.Generator, w: int, h: int) -> dict[str, Any]:
    light = str(rng.choice(["polarised", "non-polarised", "immersion"], p=[0.4, 0.35, 0.25]))
    tone = str(rng.choice(["light", "medium", "dark"], p=[0.42, 0.33, 0.25]))
    stop = bool(rng.uniform() < 0.3)
    return {
        "light": light,
        "skin_tone": tone,
        "lens_height_um": float(rng.uniform(3000, 8000)),
        "aperture_um": float(rng.uniform(150, 750)),
        "focus_z_um": float(rng.uniform(-20, 120)),
        "focus_tilt_x": float(rng.uniform(-0.03, 0.03)),
        "focus_tilt_y": float(rng.uniform(-0.03, 0.03)),
        "distortion_k": float(rng.uniform(-0.06, 0.06)),
        "ca": float(rng.uniform(-0.0012, 0.0012)),
        "vignetting": float(rng.uniform(0.05, 0.45)),
        "light_grad": [float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))],
        "field_stop": stop,
        "stop_radius": float(rng.uniform(0.38, 0.45)),
        "stop_dx": float(rng.uniform(-0.02, 0.02)),
        "stop_dy": float(rng.uniform(-0.02, 0.02)),
        "full_well": float(rng.uniform(1500, 12000)),
        "read_noise": float(rng.uniform(0.001, 0.006)),
        "wb_error": [float(rng.uniform(-0.06, 0.06)), float(rng.uniform(-0.06, 0.06))],
        "ccm_saturation": float(rng.uniform(0.05, 0.5)),
        "ccm_jitter": [float(v) for v in rng.uniform(-0.04, 0.04, 6)],
        "gamma": float(rng.uniform(1.9, 2.5)),
        "contrast": float(rng.uniform(0.95, 1.2)),
        "exposure_target": float(rng.uniform(0.28, 0.45)),
        "jpeg_quality": int(rng.integers(72, 96)),
        "hair_spec": float(rng.uniform(0.04, 0.25)),
        "skin_shine": float(rng.uniform(0.3, 1.5)),
        "shadow": float(rng.uniform(0.1, 0.35)),
    }


def render(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any], dict[str, Any]]:
    """``generate`` plus internals for tests: the drawn hair coverage in output pixels."""
    _check(seed, um_per_px, width, height, hairless, regrown)
    um, w, h = float(um_per_px), width, height
    sc = _scene(_rng([seed, 11]), w, h)
    fp = frame_params(_rng([seed, 12]))
    led, led_p = led_spectrum(_rng([seed, 13]))
    sens, sens_p = camera_sensitivity(_rng([seed, 14]))
    params: dict[str, Any] = {**sc, **fp, **led_p, **sens_p}
    visit = "baseline"
    tx = ty = yaw = 0.0
    if regrown is not None:
        visit = "follow-up"
        rv = _rng([seed, 15, regrown[1]])
        tx = float(rv.uniform(-0.02, 0.02) * w * um)
        ty = float(rv.uniform(-0.02, 0.02) * h * um)
        yaw = math.radians(float(rv.uniform(-2.0, 2.0)))
        params.update({"regrow_factor": float(regrown[0]), "regrow_seed": int(regrown[1])})
    params.update({"shift_x_um": tx, "shift_y_um": ty, "yaw_deg": math.degrees(yaw)})
    rnorm = 0.5 * math.hypot(w, h)
    margin = math.ceil(rnorm * (abs(sc["distortion_k"]) + 0.004) * 1.1 + 4)
    ca = (1.0 + sc["ca"], 1.0, 1.0 - sc["ca"])
    cam = Camera(um, w, h, sc["lens_height_um"], tx, ty, yaw, sc["distortion_k"], ca, margin)
    hc, wc = h + 2 * margin, w + 2 * margin
    ext = math.ceil(0.03 * max(w, h) + 0.04 * rnorm + 6)
    grid = (hc + 2 * ext, wc + 2 * ext)
    gx0 = (w - 1) / 2 + margin + ext  # grid pixel of world x = 0
    gy0 = (h - 1) / 2 + margin + ext

    # --- follicular units over a world region that covers every visit plus hair reach
    reach = max(2300.0, fp["long_mm"][1] * 1000 + 600) if fp["long_share"] > 0 else 2300.0
    half_w = (grid[1] / 2) * um + reach
    half_h = (grid[0] / 2) * um + reach
    area_cm2 = 4 * half_w * half_h * 1e-8
    rf = _rng([seed, 16])
    hpu = fp["hairs_per_unit"]
    n_units = int(rf.poisson(fp["density_per_cm2"] / hpu * area_cm2))
    ux = rf.uniform(-half_w, half_w, n_units)
    uy = rf.uniform(-half_h, half_h, n_units)
    nbase = np.clip(1 + rf.poisson(hpu - 1, n_units), 1, 4)
    flow = math.radians(fp["flow_deg"])
    spread = math.radians(fp["flow_spread_deg"])
    uaz = (
        flow
        + 0.6 * spread * np.sin(ux / 2500 + rf.uniform(0, 6))
        + 0.4 * spread * rf.standard_normal(n_units)
    )
    slots = slot_draws(rf, n_units * 4, fp)
    off_r = rf.uniform(8, 35, n_units * 4)
    off_a = rf.uniform(0, 2 * np.pi, n_units * 4)
    daz = rf.normal(0, 0.25, n_units * 4)
    sel = np.zeros(n_units * 4, bool)
    for k in range(4):
        sel[k::4] = nbase > k
    new_units: list[tuple[float, float, float, int]] = []
    if regrown is not None and not hairless:
        fac = float(regrown[0])
        rv2 = _rng([seed, 17, regrown[1]])
        n0 = int(sel.sum())
        if fac < 1:
            sel &= rv2.uniform(0, 1, sel.size) < fac
        else:
            extra = round((fac - 1) * n0)
            empty = np.nonzero(~sel)[0]
            take = rv2.permutation(empty)[: min(extra, int(0.5 * len(empty)))]
            sel[take] = True
            extra -= len(take)
            while extra > 0:
                k = min(extra, int(rv2.integers(1, 4)))
                new_units.append(
                    (
                        float(rv2.uniform(-half_w, half_w)),
                        float(rv2.uniform(-half_h, half_h)),
                        float(flow + spread * rv2.standard_normal()),
                        k,
                    )
                )
                extra -= k
    immersion = sc["light"] == "immersion"
    hairs: list[Hair] = []
    if not hairless:
        for i in np.nonzero(sel)[0]:
            unit = i // 4
            ex = ux[unit] + off_r[i] * math.cos(off_a[i])
            ey = uy[unit] + off_r[i] * math.sin(off_a[i])
            hairs.append(
                build_hair(
                    float(ex),
                    float(ey),
                    float(uaz[unit] + daz[i]),
                    int(slots["kind"][i]),
                    slots["u"][i],
                    int(slots["seed"][i]),
                    fp,
                    um,
                    immersion,
                )
            )
        if new_units:
            rv3 = _rng([seed, 18, regrown[1] if regrown else 0])
            nd = slot_draws(rv3, 4 * len(new_units), fp)
            j = 0
            for cx_, cy_, az_, k in new_units:
                for _ in range(k):
                    a = rv3.uniform(0, 2 * np.pi)
                    r = rv3.uniform(8, 35)
                    hairs.append(
                        build_hair(
                            cx_ + r * math.cos(a),
                            cy_ + r * math.sin(a),
                            az_ + rv3.normal(0, 0.25),
                            int(nd["kind"][j]),
                            nd["u"][j],
                            int(nd["seed"][j]),
                            fp,
                            um,
                            immersion,
                        )
                    )
                    j += 1

    # --- skin on the world grid (same for every visit), then onto this visit's canvas
    wts = sens * led[None, :]  # (3, bands)
    white = wts.sum(axis=1)
    units_g = np.stack([ux / um + gx0, uy / um + gy0], axis=1)
    maps = skin_maps(_rng([seed, 19]), grid, um, units_g, sc["skin_tone"], params)
    skin_g = np.zeros((3, *grid), np.float32)
    for k in range(len(BANDS)):
        refl = reflectance_band(maps, k)
        for c in range(3):
            skin_g[c] += np.float32(wts[c, k]) * refl
    polar = sc["light"] == "polarised"
    if not polar:
        shine = maps["sebum"] * np.float32(sc["skin_shine"] * (0.15 if immersion else 1.0))
        shine += np.float32(0.01 if immersion else 0.03)
        for c in range(3):
            skin_g[c] += shine * np.float32(white[c])
    del maps
    if regrown is None:
        skin = skin_g[:, ext : ext + hc, ext : ext + wc].copy()
    else:
        vv, uu = np.mgrid[0:hc, 0:wc].astype(np.float64)
        xr = (uu - (w - 1) / 2 - margin) * um
        yr = (vv - (h - 1) / 2 - margin) * um
        cy_, sy_ = math.cos(yaw), math.sin(yaw)
        gx = (cy_ * xr - sy_ * yr + tx) / um + gx0
        gy = (sy_ * xr + cy_ * yr + ty) / um + gy0
        skin = np.stack(
            [
                ndimage.map_coordinates(skin_g[c], [gy, gx], order=1, mode="nearest")
                for c in range(3)
            ]
        ).astype(np.float32)
        del vv, uu, xr, yr, gx, gy
    del skin_g
    med = float(np.median(skin[1, margin:-margin:4, margin:-margin:4]))

    # --- strokes
    shape = (hc, wc)
    npx = hc * wc
    seg_parts: list[list[F64]] = [[] for _ in range(3)]
    sub_parts: list[F64] = []
    for hr in hairs:
        u, v, mag = cam.project(hr.pts)
        if u.max() < -200 or u.min() > wc + 200 or v.max() < -200 or v.min() > hc + 200:
            continue
        hw = hr.diam / 2 / um * mag
        if len(u) == 1:
            i0 = i1 = np.array([0])
        else:
            i0, i1 = np.arange(len(u) - 1), np.arange(1, len(u))
        dseg = 0.5 * (hr.diam[i0] + hr.diam[i1])
        pig = min(hr.eu + hr.dye, 4.0) / 4.0
        opac = 1 - np.exp(-(0.8 + 1.4 * pig) * dseg / 22.0)
        flat = np.zeros(len(i0))
        if hr.cut:
            flat[-1] = 1.0
        zm = 0.5 * (hr.pts[i0, 2] + hr.pts[i1, 2])
        rows = np.stack(
            [
                u[i0],
                v[i0],
                u[i1],
                v[i1],
                hw[i0],
                hw[i1],
                hr.pts[i0, 2],
                hr.pts[i1, 2],
                flat,
                hr.eu * dseg / 35,
                hr.ph * dseg / 35,
                hr.dye * dseg / 35,
                opac,
                zm,
                dseg / 2,
            ],
            axis=1,
        )
        for lay in range(3):
            m = (zm >= LAYER_Z[lay]) & ((zm < LAYER_Z[lay + 1]) if lay < 2 else True)
            if lay == 0:
                m |= zm < 0
            if m.any():
                seg_parts[lay].append(rows[m])
        su, sv, smag = cam.project(hr.sub)
        fade = np.exp(hr.sub[:, 2] / 90.0) * (0.15 + 0.85 * pig)
        shw = hr.d0 / 2 / um * smag
        sub_parts.append(
            np.stack(
                [
                    su[:-1],
                    sv[:-1],
                    su[1:],
                    sv[1:],
                    shw[:-1],
                    shw[1:],
                    hr.sub[:-1, 2],
                    hr.sub[1:, 2],
                    fade[1:],
                ],
                axis=1,
            )
        )
    # subsurface follicles: seen through the epidermis, darkening the skin
    if sub_parts:
        sp = np.concatenate(sub_parts)
        sub_a = np.zeros(npx, np.float32)
        st = Strokes(
            sp[:, 0],
            sp[:, 1],
            sp[:, 2],
            sp[:, 3],
            sp[:, 4],
            sp[:, 5],
            sp[:, 6],
            sp[:, 7],
            np.zeros(len(sp), bool),
            np.zeros((len(sp), 0)),
            sp[:, 8],
            np.zeros(len(sp)),
        )
        raster(st, shape, np.full(npx, -np.inf, np.float32), sub_a, [], None)
        sub_img = ndimage.gaussian_filter(sub_a.reshape(shape), 15.0 / um + 0.6)
        skin *= 1 - 0.6 * np.clip(sub_img, 0, 1)[None]
    # skin defocus: focal plane tilted over the field
    aper, hl = sc["aperture_um"], sc["lens_height_um"]

    def sigma_px(dz: F64 | float, zl: float) -> F64:
        return np.asarray(aper * np.abs(dz) / (hl - zl) / um / 2.4 + 0.45)

    corners = np.array([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    fz = (
        sc["focus_z_um"]
        + (corners[:, 0] * sc["focus_tilt_x"] * w + corners[:, 1] * sc["focus_tilt_y"] * h) * um / 2
    )
    s_lo, s_hi = float(sigma_px(fz, 0.0).min()), float(sigma_px(fz, 0.0).max())
    yy = np.linspace(-1, 1, hc, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, wc, dtype=np.float32)[None, :]
    fzm = sc["focus_z_um"] + (xx * sc["focus_tilt_x"] * w + yy * sc["focus_tilt_y"] * h) * um / 2
    sig = sigma_px(fzm, 0.0).astype(np.float32)
    wgt = np.clip((sig - s_lo) / max(s_hi - s_lo, 1e-6), 0, 1)
    for c in range(3):
        lo = ndimage.gaussian_filter(skin[c], s_lo)
        hi = ndimage.gaussian_filter(skin[c], s_hi) if s_hi - s_lo > 0.05 else lo
        skin[c] = lo * (1 - wgt) + hi * wgt
    del fzm, sig, wgt
    img = skin
    cover = np.zeros(npx, np.float32)
    mu_eu, mu_ph = melanin_eu(), melanin_pheo()
    spec_gain = 0.0 if polar else sc["hair_spec"] * (0.3 if immersion else 1.0)
    fres = 0.0 if polar else (0.015 if immersion else 0.04)
    for lay in range(3):
        if not seg_parts[lay]:
            continue
        sg = np.concatenate(seg_parts[lay])
        st = Strokes(
            sg[:, 0],
            sg[:, 1],
            sg[:, 2],
            sg[:, 3],
            sg[:, 4],
            sg[:, 5],
            sg[:, 6],
            sg[:, 7],
            sg[:, 8] > 0.5,
            sg[:, 9:12],
            sg[:, 12],
            sg[:, 14],
        )
        prio = np.full(npx, -np.inf, np.float32)
        al = np.zeros(npx, np.float32)
        at = [np.zeros(npx, np.float32) for _ in range(3)]
        shd, spc = np.zeros(npx, np.float32), np.zeros(npx, np.float32)
        raster(st, shape, prio, al, at, (shd, spc))
        del prio
        np.maximum(cover, al, out=cover)
        # soft shadow of this layer's shafts on what lies under them (ring light: a halo)
        sh = ndimage.gaussian_filter(al.reshape(shape), (0.25 * LAYER_REP[lay] + 12.0) / um)
        img *= (1 - np.float32(sc["shadow"]) * np.clip(sh, 0, 1))[None]
        s_l = float(sigma_px(sc["focus_z_um"] - LAYER_REP[lay], LAYER_REP[lay]))
        fields = [al] + [f * al for f in (*at, shd, spc)]
        del at, shd, spc
        bl = [ndimage.gaussian_filter(f.reshape(shape), s_l) for f in fields]
        del fields
        a_b = bl[0]
        idx = np.nonzero(a_b.ravel() > 2e-3)[0]
        a_v = a_b.ravel()[idx]
        e_v, p_v, d_v, sh_v, sp_v = (b.ravel()[idx] / a_v for b in bl[1:])
        col = np.zeros((3, len(idx)), np.float32)
        for k in range(len(BANDS)):
            rh = sh_v * 0.55 * np.exp(-(e_v * mu_eu[k] + p_v * mu_ph[k] + d_v * 1.0))
            for c in range(3):
                col[c] += np.float32(wts[c, k]) * rh
        col += (fres + spec_gain * sp_v)[None] * white[:, None].astype(np.float32)
        for c in range(3):
            flat_c = img[c].ravel()
            flat_c[idx] = flat_c[idx] * (1 - a_v) + col[c] * a_v
        del bl, a_b
    if immersion:
        rb = _rng([seed, 20, regrown[1] if regrown else 0, 0 if regrown else 1])
        nb = max(int(rb.integers(-3, 5)), 0)
        yy2, xx2 = np.mgrid[0:hc, 0:wc]
        for _ in range(nb):
            bx, by = rb.uniform(0, wc), rb.uniform(0, hc)
            br = rb.uniform(60, 400) / um
            rw = max(0.8, 0.03 * br)
            x0b, x1b = max(int(bx - br - 8 * rw), 0), min(int(bx + br + 8 * rw) + 1, wc)
            y0b, y1b = max(int(by - br - 8 * rw), 0), min(int(by + br + 8 * rw) + 1, hc)
            if x1b <= x0b or y1b <= y0b:
                continue
            d = np.hypot(xx2[y0b:y1b, x0b:x1b] - bx, yy2[y0b:y1b, x0b:x1b] - by) - br
            rim = np.exp(-((d / rw) ** 2)).astype(np.float32)
            dark = np.exp(-(((d + 3 * rw) / (2 * rw)) ** 2)).astype(np.float32)
            for c in range(3):
                patch = img[c, y0b:y1b, x0b:x1b]
                img[c, y0b:y1b, x0b:x1b] = patch * (1 - 0.2 * dark) + 0.3 * rim * white[c]
        params["bubbles"] = nb

    # --- optics to the output grid: chromatic aberration and distortion per channel
    yo, xo = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((3, h, w), np.float32)
    for c in range(3):
        cxs, cys = cam.output_to_canvas(c, xo, yo)
        out[c] = ndimage.map_coordinates(img[c], [cys, cxs], order=1, mode="nearest")
    cxs, cys = cam.output_to_canvas(1, xo, yo)
    cover_out = ndimage.map_coordinates(cover.reshape(shape), [cys, cxs], order=1, mode="constant")
    del img, skin, cover, cxs, cys
    r2 = ((xo - (w - 1) / 2) ** 2 + (yo - (h - 1) / 2) ** 2) / np.float32(rnorm**2)
    gx_, gy_ = sc["light_grad"]
    vig = (1 - sc["vignetting"] * r2) * (1 + gx_ * (xo / w - 0.5) + gy_ * (yo / h - 0.5))
    out *= vig[None]
    expo = float(np.clip(sc["exposure_target"] / max(med, 1e-6), 0.8 / white[1], 1.4 / white[1]))
    out *= np.float32(expo)
    rn = _rng([seed, 21] if regrown is None else [seed, 21, regrown[1]])
    fw = sc["full_well"]
    out += np.sqrt(np.maximum(out, 0) / fw) * rn.standard_normal(out.shape, np.float32)
    out += np.float32(sc["read_noise"]) * rn.standard_normal(out.shape, np.float32)
    gains = white[1] / white * np.array([1 + sc["wb_error"][0], 1.0, 1 + sc["wb_error"][1]])
    s_ = sc["ccm_saturation"]
    ccm = (1 + s_) * np.eye(3) - s_ / 3
    j = sc["ccm_jitter"]
    ccm += np.array([[0, j[0], -j[0]], [j[1], 0, -j[1]], [j[2], -j[2], 0]]) * 1.0
    ccm_g = (ccm * gains[None, :]).astype(np.float32)
    rgb = np.einsum("ij,jhw->hwi", ccm_g, out)
    del out
    rgb = np.clip(rgb, 0, 1) ** np.float32(1 / sc["gamma"])
    rgb = np.clip(0.5 + (rgb - 0.5) * np.float32(sc["contrast"]), 0, 1)
    stop_d: dict[str, float] | None = None
    if sc["field_stop"]:
        scx = (w - 1) / 2 + sc["stop_dx"] * w
        scy = (h - 1) / 2 + sc["stop_dy"] * h
        srad = sc["stop_radius"] * math.hypot(w, h)
        trans = np.clip(srad - np.hypot(xo - scx, yo - scy), 0, 1)
        rgb *= trans[..., None]
        stop_d = {"x_px": float(scx), "y_px": float(scy), "radius_px": float(srad)}
    im8 = (rgb * 255 + 0.5).astype(np.uint8)
    del rgb
    buf = io.BytesIO()
    Image.fromarray(im8).save(buf, format="JPEG", quality=sc["jpeg_quality"])
    image = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.uint8)

    # --- truth
    def to_out(p: F64) -> tuple[float, float]:
        u, v, _ = cam.project(p[None, :])
        xo_, yo_ = cam.canvas_to_output(u, v)
        return float(xo_[0]), float(yo_[0])

    def inside(x: float, y: float) -> bool:
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    def masked(x: float, y: float) -> bool:
        return stop_d is not None and math.hypot(x - stop_d["x_px"], y - stop_d["y_px"]) > (
            stop_d["radius_px"] - 1.0
        )

    t_hairs: list[dict[str, float]] = []
    t_masked: list[dict[str, float]] = []
    t_out: list[dict[str, float]] = []
    t_tips: list[dict[str, Any]] = []
    kinds: dict[str, int] = {}
    for hr in hairs:
        x, y = to_out(np.array([hr.ex, hr.ey, 0.0]))
        if inside(x, y):
            if masked(x, y):
                t_masked.append({"x_px": x, "y_px": y})
            else:
                t_hairs.append({"x_px": x, "y_px": y, "diameter_um": round(hr.d0, 3)})
                kinds[hr.kind] = kinds.get(hr.kind, 0) + 1
        else:
            dx = max(-0.5 - x, x - (w - 0.5), 0.0)
            dy = max(-0.5 - y, y - (h - 0.5), 0.0)
            if math.hypot(dx, dy) * um <= 200.0:
                t_out.append({"x_px": x, "y_px": y})
        end = _drawn_end(hr, cam, um) if hr.tip else None
        if end is not None:
            tx_, ty_ = to_out(hr.pts[end])
            if inside(tx_, ty_) and not masked(tx_, ty_):
                t_tips.append(
                    {
                        "x_px": tx_,
                        "y_px": ty_,
                        "cut": bool(hr.cut),
                        "diameter_um": round(float(hr.diam[end]), 3),
                    }
                )
    n = len(t_hairs)
    diam = [t["diameter_um"] for t in t_hairs]
    params["hair_kinds_in_frame"] = kinds
    length = "hairless" if hairless else fp["hair_length"]
    factors = {
        "hair_length": length,
        "hair_colour": "none" if hairless else fp["hair_colour"],
        "skin_tone": sc["skin_tone"],
        "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
        "light": sc["light"],
        "visit": visit,
        # only long hair winds (trimmed hair stands straight), and a hairless frame has none
        "curl": "none" if hairless else "straight" if length == "trimmed" else fp["curl"],
        "field_stop": "yes" if stop_d else "no",
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": t_hairs,
        "density_per_cm2": n / (w * h * um * um * 1e-8),
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": sum(d < 30 for d in diam) / n if n else 0.0,
        "tips": t_tips,
        "emergence_outside": t_out,
        "emergence_masked": t_masked,
        "field_stop": stop_d,
        "factors": factors,
        "params": params,
    }
    return image, truth, {"cover": cover_out}
