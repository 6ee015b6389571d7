"""generate(): argument checks, the scene, the truth, and the chain of image formation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from sim.blind11.camera import Camera
from sim.blind11.design import Design, make_design
from sim.blind11.draw import REFL_MAX, Canvases, draw_hairs, visible_px
from sim.blind11.geometry import Shafts, settle_hairs
from sim.blind11.isp import develop
from sim.blind11.optics import add_bubbles, blur, field_stop_mask, illuminate
from sim.blind11.plan import (
    BLACK_DOT_NAME,
    EXCLAM,
    KIND_NAMES,
    TAPER,
    Hairs,
    Openings,
    bare_openings,
    baseline_hairs,
    black_dots,
    follow_up_hairs,
    make_openings,
)
from sim.blind11.scale import draw_scale
from sim.blind11.skin import DERMIS, MU_HB, MU_MEL, render_skin
from sim.blind11.streams import stream

GENERATOR = "blind-11"
F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
SHIFT_FRAC = 0.05
# A tapered (natural) tip is listed where the drawn stroke fills this much of the pixel
# it crosses (width in px, at most one, times opacity; draw.visible_px). On clean,
# noise-free frames the last axis pixel that still differs from the hairless twin by 8
# grey levels sits at a median of 0.32 (12 levels: 0.40): a fainter stroke reads as
# skin, not as shaft.
TIP_VISIBLE_PX = 0.35


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _validate(
    seed: object,
    um_per_px: object,
    width: object,
    height: object,
    hairless: object,
    regrown: object,
) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int (not bool), got {seed!r}")
    if not _is_number(um_per_px) or not math.isfinite(float(um_per_px)):  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be a finite number in [2, 15], got {um_per_px!r}")
    if not 2.0 <= float(um_per_px) <= 15.0:  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be in [2, 15], got {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or isinstance(v, bool) or not 32 <= v <= 4096:
            raise ValueError(f"{name} must be an int in [32, 4096], got {v!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is not None:
        if not isinstance(regrown, (tuple, list)) or len(regrown) != 2:
            raise ValueError(
                f"regrown must be None or (factor in [0.3, 3], int seed2), got {regrown!r}"
            )
        factor, seed2 = regrown
        if not _is_number(factor) or not math.isfinite(float(factor)):
            raise ValueError(f"regrown factor must be a finite number in [0.3, 3], got {factor!r}")
        if not 0.3 <= float(factor) <= 3.0:
            raise ValueError(f"regrown factor must be in [0.3, 3], got {factor!r}")
        if not isinstance(seed2, int) or isinstance(seed2, bool):
            raise ValueError(f"regrown seed2 must be an int (not bool), got {seed2!r}")


def supersampling(width: int, height: int, um: float) -> int:
    """Subpixels per pixel side: enough for a 10 um vellus hair to span two or three
    subpixels, within a memory budget."""
    ss = 4 if um >= 8.0 else 3 if um >= 4.5 else 2
    while ss > 1 and width * height * ss * ss > 60_000_000:
        ss -= 1
    return ss


def _reduce(img: Image.Image, ss: int) -> F32:
    """Box-reduce a canvas by ``ss``. The RGBA canvases hold premultiplied colour: Pillow
    would weight an "RGBA" image's colour by its alpha once more (a pixel a thin stroke
    barely covers would take the stroke's full colour), so they are reduced as "RGBa"."""
    if ss > 1 and img.mode == "RGBA":
        img = Image.frombuffer("RGBa", img.size, img.tobytes(), "raw", "RGBa", 0, 1)
    out: F32 = np.asarray(img.reduce(ss) if ss > 1 else img, dtype=np.float32) / np.float32(255)
    return out


def _in_frame(px: F64, py: F64, w: int, h: int) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = (px >= -0.5) & (px < w - 0.5) & (py >= -0.5) & (py < h - 0.5)
    return out


def _frame_distance(px: F64, py: F64, w: int, h: int) -> F64:
    dx = np.maximum(np.maximum(-0.5 - px, px - (w - 0.5)), 0.0)
    dy = np.maximum(np.maximum(-0.5 - py, py - (h - 0.5)), 0.0)
    out: F64 = np.hypot(dx, dy)
    return out


def _factors(design: Design, um: float, hairless: bool, follow: bool, stop: bool) -> dict[str, str]:
    curl = "none" if hairless else ("straight" if design.hair_length == "trimmed" else design.curl)
    return {
        "hair_length": "hairless" if hairless else design.hair_length,
        "hair_colour": "none" if hairless else design.hair_colour,
        "skin_tone": design.skin_tone,
        "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
        "light": design.light,
        "visit": "follow-up" if follow else "baseline",
        "curl": curl,
        "field_stop": "yes" if stop else "no",
        "network": design.network,
        "medium": design.medium,
        "contact": "yes" if design.plate_um is not None else "no",
        "blur": "sharp"
        if design.defocus_px < 0.5 and design.motion_px == 0
        else "motion"
        if design.motion_px > 0
        else "soft"
        if design.defocus_px < 1.3
        else "defocus",
        "tone": design.tone,
        "vessels": design.vessels,
        "scale_flakes": "yes" if design.scale_flakes > 0 else "no",
    }


def _visible_ends(
    cam: Camera, hairs: Hairs, idx: NDArray[np.intp], nodes: F64, diam: F64
) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """Where each shaft visibly ends (pixels), its diameter there (um), and whether it has a
    visible end at all. A cut end is the end of the axis, drawn at full width. A natural
    (tapered) end fades out: its tip is the last point along the drawn axis where the
    stroke still covers TIP_VISIBLE_PX of a pixel (drawn width times opacity), where an
    annotator sees the shaft end; a shaft that never covers that much lists no tip."""
    px, py = cam.to_px(nodes[..., 0], nodes[..., 1], nodes[..., 2])
    last = nodes.shape[1] - 1
    rows = np.arange(nodes.shape[0])
    vis = visible_px(cam, hairs, idx, nodes, diam)
    seen = vis >= TIP_VISIBLE_PX
    k = np.where(seen.any(axis=1), last - np.argmax(seen[:, ::-1], axis=1), 0)
    nxt = np.minimum(k + 1, last)
    v0, v1 = vis[rows, k], vis[rows, nxt]
    # the stroke is drawn straight and linearly narrowing between nodes: interpolate there
    f = np.where(nxt > k, np.clip((v0 - TIP_VISIBLE_PX) / np.maximum(v0 - v1, 1e-12), 0, 1), 0)
    taper = hairs.end[idx] == TAPER
    f = np.where(taper, f, 0.0)
    k = np.where(taper, k, last)
    nxt = np.where(taper, nxt, last)
    ex = px[rows, k] + f * (px[rows, nxt] - px[rows, k])
    ey = py[rows, k] + f * (py[rows, nxt] - py[rows, k])
    ed = diam[rows, k] + f * (diam[rows, nxt] - diam[rows, k])
    ok = ~taper | seen.any(axis=1)
    return ex, ey, ed, ok


def _pt(x: float, y: float) -> dict[str, float]:
    return {"x_px": float(x), "y_px": float(y)}


def _compose(
    skin: F32,
    shine: F32,
    canvases: Canvases,
    scale_layer: Image.Image | None,
    design: Design,
) -> F32:
    """Skin, shadows, hairs, shine, highlights and scale, in linear reflectance (the skin
    array is modified in place)."""
    ss = canvases.ss
    img = skin
    if canvases.follicle is not None:
        fol = ndimage.gaussian_filter(_reduce(canvases.follicle, ss), 1.2)
        img *= (1.0 - fol)[..., None]
    if canvases.shadow is not None:
        sh = ndimage.gaussian_filter(_reduce(canvases.shadow, ss), 1.5)
        img *= (1.0 - design.hair_shadow * sh)[..., None]
    rgba = _reduce(canvases.colour, ss)
    alpha = rgba[..., 3:4]
    img *= 1.0 - alpha
    img += rgba[..., :3] * np.float32(REFL_MAX)
    img += (shine * (1.0 - alpha[..., 0]))[..., None]
    del rgba, alpha
    if canvases.spec is not None:
        img += np.float32(0.1) * _reduce(canvases.spec, ss)[..., None]
    if scale_layer is not None:
        sc = _reduce(scale_layer, ss)
        img *= 1.0 - sc[..., 3:4]
        img += sc[..., :3] * np.float32(REFL_MAX)
    return img


def _radiance(
    cam: Camera,
    ss: int,
    design: Design,
    openings: Openings,
    seed: int,
    view_um: float,
    canvases: Canvases,
    stop: tuple[float, float, float] | None,
) -> F32:
    """The optical image on the sensor, linear RGB."""
    skin, shine = render_skin(cam, ss, design, openings, seed, view_um)
    scale_layer = draw_scale(cam, ss, design, seed, view_um)
    img = _compose(skin, shine, canvases, scale_layer, design)
    del skin, shine, scale_layer
    img = illuminate(img, cam, design)
    img = add_bubbles(img, cam, design, seed, view_um)
    img = blur(img, cam, design)
    img *= field_stop_mask(cam, stop)[..., None]
    img += np.float32(0.004)
    return img


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Render one synthetic trichoscopy frame and its exact truth (see the package
    docstring)."""
    _validate(seed, um_per_px, width, height, hairless, regrown)
    um = float(um_per_px)
    w, h = width, height
    design = make_design(seed)
    half_diag_um = 0.5 * math.hypot(w, h) * um
    shift_max = SHIFT_FRAC * max(w, h) * um
    view_um = 1.08 * half_diag_um + shift_max + 300.0
    longest = max(design.long_mm[1], design.stub_mm[1], 2.5) * 1000.0
    domain_um = view_um + longest + 200.0
    openings: Openings = make_openings(seed, design, domain_um)
    hairs: Hairs = baseline_hairs(seed, design, openings)
    visit: dict[str, Any] = {"kind": "baseline"}
    tx = ty = theta = 0.0
    noise_tag: tuple[str | int, ...] = ("noise",)
    if regrown is not None:
        factor, seed2 = float(regrown[0]), int(regrown[1])
        hairs, counts = follow_up_hairs(seed, design, openings, hairs, factor, seed2)
        vr = stream(seed, "visit", seed2)
        ang = vr.uniform(0, 2 * math.pi)
        mag = vr.uniform(0.015, SHIFT_FRAC) * max(w, h) * um
        tx, ty = mag * math.cos(ang), mag * math.sin(ang)
        theta = math.radians(vr.uniform(1.0, 5.0) * vr.choice([-1.0, 1.0]))
        visit = {
            "kind": "follow-up",
            "factor": factor,
            "seed2": seed2,
            "shift_x_um": tx,
            "shift_y_um": ty,
            "rotation_deg": math.degrees(theta),
            **counts,
        }
        noise_tag = ("noise", seed2)
    cam = Camera(w, h, um, tx, ty, theta, design.k1, design.k2, design.lens_height_mm * 1000.0)
    # a black dot (a hair broken at the skin's surface) is a hair: listed at its dot's centre
    # and diameter, with no tip; a hairless frame has none (their openings drawn bare)
    if hairless:
        hairs = hairs.take(np.zeros(len(hairs), dtype=np.bool_))
        dots = np.zeros(0, dtype=np.int64)
        openings = bare_openings(openings)
    else:
        dots = black_dots(openings, hairs)
    stop = None
    if design.field_stop:
        cx, cy = cam.centre
        stop = (
            cx + design.field_stop_dx * w,
            cy + design.field_stop_dy * h,
            design.field_stop_frac * cam.half_diag_px,
        )
    # --- truth: emergence points through the camera (the hairs', then the black dots')
    hx, hy = cam.to_px(hairs.x, hairs.y)
    dx, dy = cam.to_px(openings.x[dots], openings.y[dots])
    rx, ry = np.concatenate([hx, dx]), np.concatenate([hy, dy])
    inside = _in_frame(rx, ry, w, h)
    masked = np.zeros_like(inside)
    if stop is not None:
        masked = inside & (np.hypot(rx - stop[0], ry - stop[1]) > stop[2])
    listed = inside & ~masked
    near = ~inside & (_frame_distance(rx, ry, w, h) * um <= 200.0)
    # --- shafts: only hairs that can reach the view are simulated
    reach = np.hypot(hairs.x, hairs.y) - hairs.length <= view_um
    sim_idx = np.flatnonzero(reach)
    sub = hairs.take(sim_idx)
    shafts: Shafts = settle_hairs(sub, design)
    ss = supersampling(w, h, um)
    canvases = draw_hairs(cam, ss, sub, shafts, design)
    tips = []
    for idx, nodes, diam in zip(shafts.index, shafts.nodes, shafts.diam, strict=True):
        ex, ey, ed, ok = _visible_ends(cam, sub, idx, nodes, diam)
        ok &= _in_frame(ex, ey, w, h)
        if stop is not None:
            ok &= np.hypot(ex - stop[0], ey - stop[1]) <= stop[2]
        for i in np.flatnonzero(ok).tolist():
            tips.append(
                {
                    "x_px": float(ex[i]),
                    "y_px": float(ey[i]),
                    "cut": bool(sub.end[idx[i]] != TAPER),
                    "diameter_um": float(ed[i]),
                }
            )
    del shafts, sub
    # --- pixels
    base_g = float(
        DERMIS[1] * math.exp(-design.melanin * MU_MEL[1] - design.haemoglobin * MU_HB[1])
    )
    # a partial auto-exposure: dark skin stays darker than light skin
    gain = design.exposure * (max(base_g, 1e-4) / 0.35) ** 0.45 / max(base_g, 1e-4)
    # (the radiance is handed straight to develop, which frees it as it goes)
    frame = develop(
        _radiance(cam, ss, design, openings, seed, view_um, canvases, stop),
        design,
        stream(seed, *noise_tag),
        gain,
    )
    # --- truth record
    # the diameter where the shaft leaves the skin (an exclamation-mark hair is thin there)
    base_d = np.where(hairs.kind == EXCLAM, np.maximum(0.4 * hairs.diameter, 10.0), hairs.diameter)
    base_d = np.concatenate([base_d, 2.0 * openings.radius_um[dots]])
    names = (*KIND_NAMES, BLACK_DOT_NAME)
    kinds = np.concatenate([hairs.kind, np.full(dots.shape[0], len(KIND_NAMES), dtype=np.int64)])
    hair_list = [
        {"x_px": float(rx[i]), "y_px": float(ry[i]), "diameter_um": float(base_d[i])}
        for i in np.flatnonzero(listed).tolist()
    ]
    diam_l = [hh["diameter_um"] for hh in hair_list]
    n = len(hair_list)
    params = design.params()
    params["supersampling"] = ss
    params["hairless"] = hairless
    params["visit"] = visit
    params["hair_kinds_in_frame"] = {
        name: int(np.sum(kinds[listed] == k)) for k, name in enumerate(names)
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": hair_list,
        "density_per_cm2": n / (w * h * um * um * 1e-8),
        "mean_diameter_um": float(np.mean(diam_l)) if n else 0.0,
        "vellus_fraction": sum(d < 30 for d in diam_l) / n if n else 0.0,
        "tips": tips,
        "emergence_outside": [_pt(rx[i], ry[i]) for i in np.flatnonzero(near).tolist()],
        "emergence_masked": [_pt(rx[i], ry[i]) for i in np.flatnonzero(masked).tolist()],
        "field_stop": None
        if stop is None
        else {"cx_px": float(stop[0]), "cy_px": float(stop[1]), "radius_px": float(stop[2])},
        "factors": _factors(design, um, hairless, regrown is not None, stop is not None),
        "params": params,
    }
    return frame, truth
