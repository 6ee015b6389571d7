"""Putting a blind-7 frame together: skin, follicles, shafts, depth layers, camera, truth."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7 import camera, field, spectra
from sim.blind7.draw import (
    STREAM_BARE,
    STREAM_CAMERA,
    STREAM_NOISE,
    STREAM_OPTICS,
    STREAM_VISIT,
    draw_camera,
    draw_scene,
    rng_for,
)
from sim.blind7.fibres import END_BROKEN, END_CUT, END_DOT, END_EXIT, Fibre, grow
from sim.blind7.follicles import KINDS, Slots, layout, regrow
from sim.blind7.hairsplat import HairLook, SplatSet, fibre_splats, subsurface_splats
from sim.blind7.skin import render_skin
from sim.blind7.splat import accumulate

Arr = NDArray[Any]

GENERATOR = "blind-7"
MAX_LAYERS = 7


def _hair_look(slots: Slots, optics: spectra.Optics) -> tuple[HairLook, Arr]:
    """Camera-channel extinction and albedo of every slot's hair (spectral, then projected)."""
    w = optics.weights
    white = optics.white

    def project(eu: Arr, pheo: Arr, dye: Arr, scat: Arr) -> tuple[Arr, Arr]:
        ext, alb = spectra.hair_optics(eu, pheo, dye, scat)
        d = np.maximum(slots.d0, 10.0)[:, None]
        trans = np.exp(-ext * d) @ w / white
        kappa = -np.log(np.clip(trans, 1e-6, 1.0)) / d
        albedo = alb @ w
        return kappa, albedo

    k0, a0 = project(slots.eu, slots.pheo, slots.dye, slots.scat)
    k1, a1 = project(slots.root_eu, slots.root_pheo, np.zeros_like(slots.dye), slots.root_scat)
    darkness = np.clip(1.0 - a0[:, 1] / 0.5, 0.0, 1.0) * np.clip(k0[:, 1] * slots.d0 / 2.0, 0, 1)
    return HairLook(kappa=k0, albedo=a0, root_kappa=k1, root_albedo=a1), darkness


def _focus_map(
    cam: dict[str, Any],
    shape: tuple[int, int],
    s: float,
    ch: int,
    z: float,
    visit_dz: float,
    win: tuple[slice, slice],
) -> Arr:
    """Defocus sigma (px) over a window of the raster for a layer at height z (um), colour
    channel ch: thin lens, focal plane tilted and curved over the field, axial colour."""
    h, w = shape
    gy = np.linspace(-0.5, 0.5, 17)[:, None] * h * s
    gx = np.linspace(-0.5, 0.5, 17)[None, :] * w * s
    rr = (gx**2 + gy**2) / (0.25 * max(h * s, w * s) ** 2)
    zf = cam["focus_um"] + visit_dz + cam["focus_tilt"][0] * gx + cam["focus_tilt"][1] * gy
    zf = zf + cam["field_curvature_um"] * rr + (1 - ch) * cam["axial_ca_um"]
    coarse = 0.75 * cam["na"] * np.abs(z - zf) / s
    ys = np.arange(win[0].start, win[0].stop, dtype=np.float32)
    xs = np.arange(win[1].start, win[1].stop, dtype=np.float32)
    yy = (ys / max(h - 1, 1) * 16.0)[:, None]
    xx = (xs / max(w - 1, 1) * 16.0)[None, :]
    big = np.pad(coarse.astype(np.float32), ((0, 1), (0, 1)), mode="edge")
    out: Arr = field._bilinear(big, yy, xx)
    return out


def _layers(z: Arr, cam: dict[str, Any], s: float, max_layers: int) -> Arr:
    """Depth-layer edges (um) for the splats' heights."""
    if len(z) == 0:
        return np.array([-1.0, 1.0])
    lo, hi = float(z.min()), float(z.max())
    dz = 0.8 * s / (0.75 * cam["na"])
    n = int(np.clip(np.ceil((hi - lo) / dz), 1, max_layers))
    if hi - lo > 40.0:
        n = max(n, min(max_layers, 3 + int((hi - lo) / 150.0)))
    edges = np.unique(np.quantile(z, np.linspace(0.0, 1.0, n + 1)))
    edges[0] = lo - 1.0
    edges[-1] = hi + 1.0
    return edges


def _compose(
    skin: Arr,
    splats: SplatSet,
    cam: dict[str, Any],
    optics: spectra.Optics,
    s: float,
    visit_dz: float,
) -> Arr:
    """Hairs over skin, front to back, layer by layer: each layer's transmittance and radiance
    are blurred by the thin-lens defocus of its height, and its shadow (the ring light's, wider
    the higher it floats) falls on everything below."""
    h, w, _ = skin.shape
    e_acc = np.zeros((h, w, 3), np.float32)
    t_acc = np.ones((h, w, 3), np.float32)
    s_acc = np.ones((h, w), np.float32)
    white = optics.white.astype(np.float32)
    cot_b = 1.0 / np.tan(np.radians(cam["ring_elevation_deg"]))
    edges = _layers(splats.z, cam, s, MAX_LAYERS if h * w < 4_000_000 else MAX_LAYERS - 2)
    for li in range(len(edges) - 2, -1, -1):
        m = (splats.z >= edges[li]) & (splats.z < edges[li + 1])
        if not m.any():
            continue
        z_layer = float(np.median(splats.z[m]))
        ext = 4.6 * np.maximum(splats.sa[m], splats.sc[m])
        pad_blur = 3.0 * (0.75 * cam["na"] * (abs(z_layer - cam["focus_um"]) + 400.0) / s)
        sh_sigma = 0.7 * z_layer * cot_b / s
        pad = int(pad_blur + 3.0 * sh_sigma + 4)
        x0 = max(int(np.floor((splats.x[m] - ext).min())) - pad, 0)
        x1 = min(int(np.ceil((splats.x[m] + ext).max())) + pad, w)
        y0 = max(int(np.floor((splats.y[m] - ext).min())) - pad, 0)
        y1 = min(int(np.ceil((splats.y[m] + ext).max())) + pad, h)
        if x1 <= x0 or y1 <= y0:
            continue
        buf = np.zeros((6, y1 - y0, x1 - x0), np.float32)
        accumulate(
            buf,
            splats.x[m] - x0,
            splats.y[m] - y0,
            splats.ux[m],
            splats.uy[m],
            splats.sa[m],
            splats.sc[m],
            splats.vals[m],
        )
        tau = buf[:3]
        trans = np.exp(-tau)
        radiance = buf[3:] / np.maximum(tau, 1e-6) * (1.0 - trans)
        del buf, tau
        spec_on = splats.spec[m] > 0
        if spec_on.any():
            sb = np.zeros((1, y1 - y0, x1 - x0), np.float32)
            sel = np.nonzero(m)[0][spec_on]
            sx = splats.x[sel] - splats.uy[sel] * splats.spec_shift[sel] - x0
            sy = splats.y[sel] + splats.ux[sel] * splats.spec_shift[sel] - y0
            accumulate(
                sb,
                sx,
                sy,
                splats.ux[sel],
                splats.uy[sel],
                splats.sa[sel],
                splats.spec_sc[sel],
                splats.spec[sel][:, None],
            )
            radiance += sb * white[:, None, None]
        occl = 1.0 - trans.mean(axis=0)
        shadow = field.blur(occl, sh_sigma)
        win = (slice(y0, y1), slice(x0, x1))
        plans = _plans(cam, (h, w), s, z_layer, visit_dz, win)
        for ch in range(3):
            a = field.apply_blur(1.0 - trans[ch], plans[ch])
            e = field.apply_blur(radiance[ch], plans[ch])
            e_acc[(*win, ch)] += t_acc[(*win, ch)] * e * s_acc[win]
            t_acc[(*win, ch)] *= np.clip(1.0 - a, 0.0, 1.0)
        s_acc[y0:y1, x0:x1] *= 1.0 - 0.8 * np.clip(shadow, 0.0, 1.0)
    out = np.empty_like(skin)
    plans = _plans(cam, (h, w), s, 0.0, visit_dz, (slice(0, h), slice(0, w)))
    for ch in range(3):
        lit = skin[..., ch] * s_acc
        out[..., ch] = e_acc[..., ch] + t_acc[..., ch] * field.apply_blur(lit, plans[ch])
    return out


def _plans(
    cam: dict[str, Any],
    shape: tuple[int, int],
    s: float,
    z: float,
    visit_dz: float,
    win: tuple[slice, slice],
) -> list[field.BlurPlan]:
    """Per colour channel, how to blur a layer at height z (shared when the channels agree)."""
    maps = [_focus_map(cam, shape, s, ch, z, visit_dz, win) for ch in range(3)]
    plans: list[field.BlurPlan] = []
    for ch in range(3):
        if ch > 0 and float(np.abs(maps[ch] - maps[ch - 1]).max()) < 0.6:
            plans.append(plans[-1])
        else:
            plans.append(field.plan_blur(maps[ch]))
    return plans


def _bubbles(img: Arr, cam: dict[str, Any], s: float, rng: np.random.Generator, white: Arr) -> None:
    """Air bubbles in the immersion gel: a dark refracting rim, a bright inner edge and a
    highlight, over a slightly veiled interior."""
    h, w, _ = img.shape
    n = rng.poisson(cam["bubbles_per_mm2"] * h * w * s * s * 1e-6)
    for _ in range(int(n)):
        r = float(np.exp(rng.uniform(np.log(15.0), np.log(300.0)))) / s
        cx = rng.uniform(0, w)
        cy = rng.uniform(0, h)
        x0, x1 = int(max(cx - r - 3, 0)), int(min(cx + r + 4, w))
        y0, y1 = int(max(cy - r - 3, 0)), int(min(cy + r + 4, h))
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.hypot(xx - cx, yy - cy) / r
        rim_w = max(0.06, 1.2 / r)
        rim = np.exp(-(((d - 1.0) / rim_w) ** 2))
        inner = np.exp(-(((d - 0.9) / rim_w) ** 2)) * (d < 1)
        hx, hy = cx - 0.35 * r, cy - 0.35 * r
        spot = np.exp(-((np.hypot(xx - hx, yy - hy) / max(0.12 * r, 0.8)) ** 2))
        patch = img[y0:y1, x0:x1]
        patch *= (1.0 - 0.75 * rim)[..., None]
        patch += (0.25 * inner + 0.8 * spot + 0.04 * (d < 1))[..., None] * white


def render(
    seed: int,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
    bare_roots: float = 0.0,
) -> tuple[Arr, dict[str, Any]]:
    s = float(um_per_px)
    p = draw_scene(seed, s, hairless)
    cam = draw_camera(seed, s)
    params: dict[str, Any] = {"scene": p, "camera": cam}
    optics_params: dict[str, Any] = {}
    optics = spectra.make_optics(rng_for(seed, STREAM_OPTICS), optics_params)
    params["optics"] = optics_params
    margin = camera.margin_for(width, height, cam)
    hs, ws = height + 2 * margin, width + 2 * margin
    # the follicles of the whole neighbourhood the hair can reach into the frame from
    reach = 4500.0 if p["hair_length"] != "trimmed" else 1400.0
    reach = min(reach, 0.5 * max(hs, ws) * s + 1000.0)
    region = (-reach, -reach, ws * s + reach, hs * s + reach)
    units, slots = layout(seed, p, region)
    base_units = np.zeros(len(units.x), bool)
    base_units[slots.unit[slots.active]] = True
    visit = 0
    pose = (0.0, 0.0, 0.0)
    visit_dz = 0.0
    vparams: dict[str, Any] = {"visit": "baseline"}
    if regrown is not None:
        factor, seed2 = regrown
        vr = rng_for(seed, STREAM_VISIT, seed2, 0)
        pose = (
            float(np.radians(vr.uniform(-2.0, 2.0))),
            float(vr.uniform(-0.02, 0.02) * width),
            float(vr.uniform(-0.02, 0.02) * height),
        )
        visit_dz = float(vr.normal(0.0, 15.0))
        near = 200.0 + 0.5 * s * max(width, height) * 0.1
        inside = (
            (slots.x > margin * s - near)
            & (slots.x < (margin + width) * s + near)
            & (slots.y > margin * s - near)
            & (slots.y < (margin + height) * s + near)
        )
        slots, info = regrow(seed, slots, float(factor), int(seed2), inside)
        visit = 1 + (int(seed2) & 0x7FFFFFFF)
        vparams = {
            "visit": "follow-up",
            "seed2": int(seed2),
            **info,
            "rotation_deg": float(np.degrees(pose[0])),
            "shift_px": [pose[1], pose[2]],
            "focus_shift_um": visit_dz,
        }
    params["visit"] = vparams
    slots_drawn = np.zeros(len(slots.x), bool) if hairless else slots.active
    slots = replace(slots, active=slots_drawn)
    area = (region[2] - region[0]) * (region[3] - region[1])
    fibres = grow(seed, visit, p, slots, area) if slots_drawn.any() else []
    look, darkness = _hair_look(slots, optics)
    # skin, with the follicles' buried shafts showing through
    bare = None
    if bare_roots > 0:  # units holding a drawn hair, left without their opening
        bare = np.zeros(len(units.x), bool)
        bare[slots.unit[slots_drawn]] = True
        bare &= rng_for(seed, STREAM_BARE).random(len(units.x)) < bare_roots
    skin = render_skin(seed, p, cam, optics, (hs, ws), s, units, base_units, bare)
    if fibres:
        sub = np.zeros((1, hs, ws), np.float32)
        x, y, ux, uy, sa, sc, amp = subsurface_splats(
            fibres, slots.phi, slots.theta, darkness, s, (0.0, 0.0)
        )
        accumulate(sub, x, y, ux, uy, sa, sc, amp[:, None])
        dw = spectra.depth_weights(p["blood"], p["dermal_scatter"])
        wch = (dw @ optics.weights) / optics.white
        wch = (wch / wch.max()).astype(np.float32)
        skin *= np.exp(-sub[0][..., None] * wch)
        del sub
    # exposure from the bare skin of the frame (the same with or without hair, at any visit)
    core = skin[margin : margin + height, margin : margin + width, 1]
    med = float(np.median(core[:: max(1, height // 200), :: max(1, width // 200)]))
    gain = 2.0 ** cam["exposure_ev"] * (0.5 / max(med, 1e-4)) ** 0.25
    spec = {"polarised": 0.0, "non_polarised": 0.12, "immersion": 0.04}[p["light"]]
    rng_sp = rng_for(seed, STREAM_CAMERA, visit, 3)
    splats = fibre_splats(fibres, look, s, (0.0, 0.0), spec, rng_sp)
    scene_raw = _compose(skin, splats, cam, optics, s, visit_dz)
    del skin
    if p["light"] == "immersion":
        _bubbles(
            scene_raw,
            cam,
            s,
            rng_for(seed, STREAM_CAMERA, visit, 4),
            optics.white.astype(np.float32),
        )
    geo = camera.Geometry(
        width=width,
        height=height,
        margin=margin,
        k1=cam["k1"],
        k2=cam["k2"],
        p1=cam["p1"],
        p2=cam["p2"],
        ca=tuple(cam["lateral_ca"]),
        rot=pose[0],
        tx=pose[1],
        ty=pose[2],
    )
    out_raw = camera.warp(scene_raw, geo)
    del scene_raw
    noise_rng = rng_for(seed, STREAM_NOISE, 0 if regrown is None else 1 + visit)
    image = camera.develop(out_raw, geo, cam, optics, gain, noise_rng)
    truth = _truth(p, cam, geo, slots, fibres, s, params)
    return image, truth


def _truth(
    p: dict[str, Any],
    cam: dict[str, Any],
    geo: camera.Geometry,
    slots: Slots,
    fibres: list[Fibre],
    s: float,
    params: dict[str, Any],
) -> dict[str, Any]:
    w, h = geo.width, geo.height
    stop = camera.field_stop_circle(geo, cam)
    hairs: list[dict[str, Any]] = []
    outside: list[dict[str, float]] = []
    masked: list[dict[str, float]] = []  # under the field stop's dark ring: not seen
    tips: list[dict[str, Any]] = []
    if fibres:
        ex = np.array([f.pts[0, 0] for f in fibres]) / s
        ey = np.array([f.pts[0, 1] for f in fibres]) / s
        u, v = geo.output_from_scene(ex, ey)
        tx = np.array([f.pts[-1, 0] for f in fibres]) / s
        ty = np.array([f.pts[-1, 1] for f in fibres]) / s
        tu, tv = geo.output_from_scene(tx, ty)
        lim = 200.0 / s
        for i, f in enumerate(fibres):
            ui, vi = float(u[i]), float(v[i])
            inside = -0.5 <= ui < w - 0.5 and -0.5 <= vi < h - 0.5
            if inside and stop is not None and np.hypot(ui - stop[0], vi - stop[1]) >= stop[2]:
                masked.append({"x_px": ui, "y_px": vi})
            elif inside:
                hairs.append(
                    {
                        "x_px": ui,
                        "y_px": vi,
                        "diameter_um": float(np.clip(slots.d0[f.slot], 10.0, 120.0)),
                        "kind": KINDS[int(slots.kind[f.slot])],
                    }
                )
            else:
                dx = max(-0.5 - ui, 0.0, ui - (w - 0.5))
                dy = max(-0.5 - vi, 0.0, vi - (h - 0.5))
                if np.hypot(dx, dy) <= lim:
                    outside.append({"x_px": ui, "y_px": vi})
            if f.end in (END_EXIT, END_DOT):
                continue
            tui, tvi = float(tu[i]), float(tv[i])
            if not (-0.5 <= tui < w - 0.5 and -0.5 <= tvi < h - 0.5):
                continue
            if stop is not None and np.hypot(tui - stop[0], tvi - stop[1]) >= stop[2]:
                continue  # under the dark ring
            d_end = float(f.diam[-1]) if f.end in (END_CUT, END_BROKEN) else float(f.diam.max())
            tips.append(
                {
                    "x_px": tui,
                    "y_px": tvi,
                    "cut": bool(f.end in (END_CUT, END_BROKEN)),
                    "diameter_um": float(np.clip(d_end, 10.0, 120.0)),
                }
            )
    n = len(hairs)
    area_cm2 = w * h * s * s * 1e-8
    diam = [hh["diameter_um"] for hh in hairs]
    scale = "3-5" if s < 5 else "5-8" if s < 8 else "8-12"
    hairless = p["hair_length_label"] == "hairless"
    factors = {
        "hair_length": p["hair_length_label"],
        "hair_colour": "none" if hairless else p["hair_colour"],
        "skin_tone": p["skin_tone"],
        "scale": scale,
        "light": p["light"],
        "visit": params["visit"]["visit"],
        "fitzpatrick": str(p["fitzpatrick"]),
        "condition": p["condition"],
        "curl": "none" if hairless else p["curl"],
        "contact": "yes" if p["contact"] else "no",
        "field_stop": "yes" if cam["field_stop"] else "no",
        "jpeg": "yes" if cam["jpeg"] else "no",
        "focus": "sharp" if cam["na"] < 0.03 else "shallow",
    }
    return {
        "generator": GENERATOR,
        "width": int(w),
        "height": int(h),
        "um_per_px": float(s),
        "hairs": hairs,
        "density_per_cm2": float(n / area_cm2),
        "mean_diameter_um": float(np.mean(diam)) if diam else 0.0,
        "vellus_fraction": float(np.mean(np.array(diam) < 30.0)) if diam else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": masked,
        "field_stop": None if stop is None else [float(c) for c in stop],
        "factors": factors,
        "params": _jsonable(params),
    }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    return x
