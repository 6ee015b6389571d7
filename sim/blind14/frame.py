"""One frame of a site: the view, the hairs' ribbons, the skin, shading, camera, truth."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind14.camera import aberration, bayer, defocus, illumination, jpeg, tone
from sim.blind14.follicles import Hairs, populate
from sim.blind14.hashing import hash_u, seed_key
from sim.blind14.ribbons import IDBITS, Shafts, build_quads, decode, rasterise
from sim.blind14.site import DYES, HAIR_SIGMA, KINDS, Site, draw_site
from sim.blind14.skin import skin
from sim.blind14.view import View

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
GENERATOR = "blind-14"
CUT_STYLES = ("square", "oblique", "frayed")
_IDMASK = (1 << IDBITS) - 1


def make_view(
    site: Site, width: int, height: int, um: float, regrown: tuple[float, int] | None
) -> View:
    theta = 0.0
    cx = cy = 0.0
    if regrown is not None:
        rng = np.random.default_rng([site.key, 4, seed_key(regrown[1])])
        theta = math.radians(rng.uniform(1.0, 5.0)) * (1 if rng.random() < 0.5 else -1)
        frac = rng.uniform(0.015, 0.05)
        a = rng.uniform(0, 2 * np.pi)
        cx = frac * width * um * math.cos(a)
        cy = frac * height * um * math.sin(a)
    return View(width, height, um, cx, cy, theta, site.shear, site.distortion)


def hair_colours(site: Site, hairs: Hairs) -> tuple[F64, F64, list[str]]:
    """Natural and dyed absorption (n, 3) per micron of each hair, and its colour name."""
    natural = site.hair_colour
    if natural in ("dyed", "grey"):
        natural = ("black", "dark brown", "brown", "blond")[site.key % 4]
    base = np.array(HAIR_SIGMA[natural])[None, :] * hairs.pigment[:, None]
    grey = np.array(HAIR_SIGMA["grey"])[None, :] * (0.5 + hairs.pigment[:, None])
    sig = np.where(hairs.grey[:, None], grey, base)
    dyed = np.array(DYES[site.dye]) if site.dye else np.zeros(3)
    dye = np.broadcast_to(dyed * (0.8 + 0.3 * hairs.pigment[:, None]), sig.shape).copy()
    names = [
        "grey" if g else ("vellus-pale" if k == 2 else natural)
        for g, k in zip(hairs.grey.tolist(), hairs.kind.tolist(), strict=True)
    ]
    if site.dye:
        names = [f"{site.dye} (roots {n})" for n in names]
    return sig, dye, names


def shade(buf: I64, samples: int, hairs: Hairs, site: Site, h: int, w: int) -> tuple[F32, F32, F32]:
    """Each pixel's shaft colour (premultiplied by opacity, summed over its samples and
    divided by their number), the share of samples on a shaft, and the mean opacity."""
    sig64, dye64, _ = hair_colours(site, hairs)
    sig, dye = sig64.astype(np.float32), dye64.astype(np.float32)
    length32 = hairs.length.astype(np.float32)
    cut_face = hairs.cut & ~hairs.long & (hairs.elev > 0.6)
    phase = (hash_u(site.key, 600, hairs.uid) * 2 * np.pi).astype(np.float32)
    vspec = ((hash_u(site.key, 601, hairs.uid) - 0.5) * 0.9).astype(np.float32)
    spec_k = 0.04 if site.polarised else 0.2
    acc = np.zeros((h * w, 3), dtype=np.float32)
    cover = np.zeros(h * w, dtype=np.float32)
    alpha_sum = np.zeros(h * w, dtype=np.float32)
    rows = max(1, 1_000_000 // (w * samples))
    for top in range(0, h, rows):
        lo_px, hi_px = top * w, min(h, top + rows) * w
        block = buf[lo_px * samples : hi_px * samples]
        sel = np.nonzero(block >= 0)[0]
        if sel.size == 0:
            continue
        hid, t64, v64, d64 = decode(block[sel])
        t, v, d = t64.astype(np.float32), v64.astype(np.float32), d64.astype(np.float32)
        along = t * length32[hid]
        s = sig[hid]
        if site.dye:
            s = np.where((along > site.dye_root_um)[:, None], dye[hid], s)
        s = s * (1.0 + 0.12 * np.sin(along * np.float32(2 * np.pi / 350.0) + phase[hid]))[:, None]
        cosv = np.sqrt(np.clip(1.0 - v * v, 0.03, 1.0))
        trans = np.exp(-s * (d * cosv)[:, None])
        col = 0.85 * trans * (0.78 + 0.22 * cosv)[:, None] + 0.022
        glint = (
            spec_k
            * np.exp(-(((v - vspec[hid]) / 0.16) ** 2))
            * (0.8 + 0.2 * np.cos(along * np.float32(2 * np.pi / 900.0) + 3.0 * phase[hid]))
        )
        col += glint[:, None]
        # the cut face of a clipped stub that stands up: paler where the cortex shows
        face = cut_face[hid] & (along > length32[hid] - 0.5 * d)
        col = np.where(face[:, None], col * 0.75 + 0.16, col)
        # a medulla: a paler core in thick shafts, plain in unpigmented ones
        core = np.where(d > 55.0, 0.1, 0.0) * np.exp(-((v / 0.22) ** 2)) * trans.mean(axis=1)
        col += core[:, None].astype(np.float32)
        # thin shafts let the skin through: opacity from the local thickness
        alpha = 1.0 - np.exp(-(d * cosv) / 22.0)
        pix = sel // samples
        n = hi_px - lo_px
        for ch in range(3):
            acc[lo_px:hi_px, ch] = np.bincount(pix, weights=col[:, ch] * alpha, minlength=n)
        cover[lo_px:hi_px] = np.bincount(pix, minlength=n)
        alpha_sum[lo_px:hi_px] = np.bincount(pix, weights=alpha, minlength=n)
    inv = np.float32(1.0 / samples)
    return (
        (acc * inv).reshape(h, w, 3),
        (cover * inv).reshape(h, w),
        (alpha_sum * inv).reshape(h, w),
    )


def _shadow(cover: F32, site: Site, um: float) -> F32:
    """Where the shafts shade the skin: the cover shifted away from the light, softened."""
    from scipy.ndimage import gaussian_filter, shift

    off = max(0.6, 18.0 / um)
    a = site.light_angle
    sh = shift(cover, (off * math.sin(a), off * math.cos(a)), order=1, mode="constant")
    out: F32 = gaussian_filter(sh, max(0.5, 6.0 / um)).astype(np.float32)
    return out


def stop_radius(site: Site, view: View) -> float:
    """Radius in pixels of the round field stop (inf where the site has none)."""
    return site.field_stop * view.radius_px if site.field_stop else math.inf


def field_stop_mask(site: Site, view: View) -> F32:
    """The scope's round field stop: light inside a disc about the frame centre, black
    outside, over a soft edge of about 1 % of the radius."""
    r = stop_radius(site, view)
    xx = np.arange(view.width, dtype=np.float32)[None, :] - (view.width - 1) / 2
    yy = np.arange(view.height, dtype=np.float32)[:, None] - (view.height - 1) / 2
    edge = max(1.0, 0.01 * r)
    out: F32 = np.clip(0.5 - (np.sqrt(xx * xx + yy * yy) - r) / edge, 0.0, 1.0).astype(np.float32)
    return out


def draw(
    seed: int,
    um: float,
    width: int,
    height: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
    debug: dict[str, Any] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    site = draw_site(seed)
    view = make_view(site, width, height, um, regrown)
    reach = site.long_um[1] if site.length_mode != "trimmed" else 2600.0
    bbox = view.world_bbox(reach + 300.0)
    units, hairs = populate(site, bbox, regrown)
    if len(hairs) >= (1 << IDBITS):
        raise RuntimeError("too many hairs for the visibility buffer")
    drawn = hairs.take(np.zeros(len(hairs), dtype=bool)) if hairless else hairs
    samples = 8 if width * height <= 400_000 else 4
    quads, shafts = build_quads(drawn, view)
    buf = rasterise(quads, width, height, samples)
    hair_rgb, cover, alpha = shade(buf, samples, drawn, site, height, width)
    refl, flake_a, flake_col, glint = skin(site, view, units, drawn, hairless)
    shadow = _shadow(cover, site, um) * (0.22 if site.polarised else 0.38)
    img = hair_rgb + (1.0 - alpha)[..., None] * refl * (1.0 - shadow)[..., None]
    img = img * (1 - flake_a[..., None]) + flake_a[..., None] * flake_col
    del hair_rgb, refl
    if not site.polarised:
        img = img * 0.93 + 0.035 + (0.5 * glint * (1.0 - cover))[..., None]
    img = img * (illumination(site, view) * site.gain)[..., None]
    img = img * np.array(site.white_balance, np.float32)
    img = defocus(img.astype(np.float32), site, view)
    img = aberration(img, site, view)
    noise_key = [site.key, 3] if regrown is None else [site.key, 3, 1, seed_key(regrown[1])]
    if site.field_stop:
        img = img * field_stop_mask(site, view)[..., None]
    img = bayer(img, site, np.random.default_rng(noise_key))
    out = tone(img)
    if site.jpeg_quality:
        out = jpeg(out, site.jpeg_quality)
    truth = _truth(site, view, drawn, shafts, buf, samples, hairless, regrown)
    if debug is not None:
        debug.update(
            {
                "buf": buf,
                "samples": samples,
                "hairs": drawn,
                "shafts": shafts,
                "view": view,
                "units": units,
                "cover": cover,
                "site": site,
            }
        )
    return out, truth


def _truth(
    site: Site,
    view: View,
    hairs: Hairs,
    shafts: Shafts,
    buf: I64,
    samples: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
) -> dict[str, Any]:
    w, h, um = view.width, view.height, view.um
    px, py = view.to_px(hairs.x, hairs.y)
    inside = (px >= -0.5) & (px < w - 0.5) & (py >= -0.5) & (py < h - 0.5)
    dx = np.maximum(np.maximum(-0.5 - px, px - (w - 0.5)), 0.0)
    dy = np.maximum(np.maximum(-0.5 - py, py - (h - 0.5)), 0.0)
    near = ~inside & (np.hypot(dx, dy) * um <= 200.0)
    # under the field stop's black ring: inside the frame but not seen
    stop = stop_radius(site, view)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    masked = inside & (np.hypot(px - cx, py - cy) > stop)
    inside &= ~masked
    _, _, names = hair_colours(site, hairs)
    out_hairs: list[dict[str, Any]] = []
    per_px = buf.reshape(h, w, samples)
    for i in np.nonzero(inside)[0].tolist():
        k = int(hairs.kind[i])
        # is the root seen: a sample of its own shaft (or, for a black dot, of no shaft)
        # within a pixel of it
        rx, ry = round(float(px[i])), round(float(py[i]))
        near_keys = per_px[max(ry - 1, 0) : ry + 2, max(rx - 1, 0) : rx + 2]
        if k == 4:
            seen = bool(np.any(near_keys < 0))
        else:
            seen = bool(np.any((near_keys >= 0) & (((near_keys >> 29) & _IDMASK) == i)))
        out_hairs.append(
            {
                "x_px": float(px[i]),
                "y_px": float(py[i]),
                "diameter_um": float(hairs.d0[i]),
                "kind": KINDS[k],
                "id": int(hairs.uid[i]),
                "unit": int(hairs.unit[i]),
                "slot": int(hairs.slot[i]),
                "colour": names[i],
                "length_um": float(hairs.length[i]),
                "end": "none"
                if k == 4
                else (CUT_STYLES[int(hairs.cut_style[i])] if hairs.cut[i] else "natural"),
                "lying": bool(hairs.long[i]),
                "root_seen": seen,
                "x_um": float(hairs.x[i]),
                "y_um": float(hairs.y[i]),
            }
        )
    outside = [{"x_px": float(px[i]), "y_px": float(py[i])} for i in np.nonzero(near)[0].tolist()]
    tips: list[dict[str, Any]] = []
    for j in range(len(shafts.hair)):
        tx, ty = float(shafts.tip_px[j, 0]), float(shafts.tip_px[j, 1])
        if not (-0.5 <= tx < w - 0.5 and -0.5 <= ty < h - 0.5):
            continue
        if math.hypot(tx - cx, ty - cy) > stop:
            continue
        i = int(shafts.hair[j])
        cut = bool(hairs.cut[i])
        pix = round(ty) * w + round(tx)
        keys = buf[pix * samples : (pix + 1) * samples]
        top = (keys >> 29) & _IDMASK
        occluded = bool(np.sum((keys >= 0) & (top != i)) > samples // 2)
        tips.append(
            {
                "x_px": tx,
                "y_px": ty,
                "cut": cut,
                "diameter_um": float(max(shafts.tip_d[j], 0.5)),
                "style": CUT_STYLES[int(hairs.cut_style[i])] if cut else "natural",
                "id": int(hairs.uid[i]),
                "occluded": occluded,
                "dx": float(shafts.tip_dir[j, 0]),
                "dy": float(shafts.tip_dir[j, 1]),
            }
        )
    n = len(out_hairs)
    area_cm2 = w * h * um * um * 1e-8
    diam: list[float] = [float(hh["diameter_um"]) for hh in out_hairs]
    factors = {
        "hair_length": "hairless" if hairless else site.length_mode,
        "hair_colour": site.hair_colour,
        "skin_tone": site.tone,
        "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
        "light": "polarised" if site.polarised else "non-polarised",
        "visit": "baseline" if regrown is None else "follow-up",
        "condition": site.condition,
        "fitzpatrick": str(site.fitzpatrick),
        "jpeg": "yes" if site.jpeg_quality else "no",
        "field_stop": "yes" if site.field_stop else "no",
    }
    params = site.params()
    params["view"] = {
        "cx_um": view.cx,
        "cy_um": view.cy,
        "theta_deg": math.degrees(view.theta),
        "shear": view.shear,
        "k1": view.k1,
    }
    params["samples_per_px"] = samples
    params["regrown"] = None if regrown is None else [float(regrown[0]), int(regrown[1])]
    return {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": float(um),
        "hairs": out_hairs,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": float(sum(d < 30 for d in diam) / n) if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": [
            {"x_px": float(px[i]), "y_px": float(py[i]), "diameter_um": float(hairs.d0[i])}
            for i in np.nonzero(masked)[0].tolist()
        ],
        "factors": factors,
        "params": params,
    }
