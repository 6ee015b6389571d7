"""generate(): argument checks, the site, the visit, the image chain and the truth."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind12 import fibre
from sim.blind12.camera import (
    Pose,
    develop,
    field_stop,
    frame_distance,
    in_frame,
    lens,
    light_falloff,
)
from sim.blind12.design import Design, make_design, stream
from sim.blind12.scene import (
    BLACK_DOT,
    KIND_NAMES,
    TAPER,
    Slots,
    baseline,
    centrelines,
    follow_up,
    make_site,
)
from sim.blind12.skin import DERMIS, MU_CAR, MU_HB, MU_MEL, make_marks, make_texture, render_skin

GENERATOR = "blind-12"
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
SHIFT_FRAC = 0.05  # a follow-up's frame moves by up to this share of the frame's long side
TURN_DEG = (1.0, 5.0)  # and turns by this much
UM_RANGE = (2.0, 15.0)
SIZE_RANGE = (32, 4096)
FACTOR_RANGE = (0.3, 3.0)


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def validate(
    seed: object,
    um_per_px: object,
    width: object,
    height: object,
    hairless: object,
    regrown: object,
) -> None:
    """Raise ValueError naming the first malformed argument."""
    if not _is_int(seed):
        raise ValueError(f"seed must be an int (not a bool), got {seed!r}")
    if not _is_number(um_per_px) or not math.isfinite(float(um_per_px)):  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be a finite number in [2, 15], got {um_per_px!r}")
    if not UM_RANGE[0] <= float(um_per_px) <= UM_RANGE[1]:  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be in [2, 15], got {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if not _is_int(v) or not SIZE_RANGE[0] <= int(v) <= SIZE_RANGE[1]:  # type: ignore[call-overload]
            raise ValueError(f"{name} must be an int in [32, 4096], got {v!r}")
    if not isinstance(hairless, bool):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is None:
        return
    if not isinstance(regrown, tuple | list) or len(regrown) != 2:
        raise ValueError(f"regrown must be None or (factor, seed2), got {regrown!r}")
    factor, seed2 = regrown
    if not _is_number(factor) or not math.isfinite(float(factor)):
        raise ValueError(f"regrown factor must be a finite number in [0.3, 3], got {factor!r}")
    if not FACTOR_RANGE[0] <= float(factor) <= FACTOR_RANGE[1]:
        raise ValueError(f"regrown factor must be in [0.3, 3], got {factor!r}")
    if not _is_int(seed2):
        raise ValueError(f"regrown seed2 must be an int (not a bool), got {seed2!r}")


def _reach_um(d: Design) -> float:
    """The longest a hair of the site can be."""
    longest = 1400.0  # vellus
    if d.hair_length != "trimmed":
        longest = max(longest, d.long_max_mm * 1000.0)
    return max(longest, d.stub_max_um)


def site_half_um(d: Design, w: int, h: int, um: float) -> float:
    """Half the side of the square of scalp a frame's site covers: the view, wherever a
    follow-up moves it, and every hair that could reach into it."""
    view_r = math.hypot(0.5 * w * um, 0.5 * h * um) + SHIFT_FRAC * max(w, h) * um
    return view_r + _reach_um(d) + 300.0


def _drawn(sl: Slots, idx: I64, pose: Pose, d: Design) -> list[tuple[I64, Any]]:
    """The hairs among ``idx`` whose shafts reach the frame, in two groups (stubs and
    lying hair), with their centrelines."""
    w, h, um = pose.w, pose.h, pose.um
    if len(idx) == 0:
        return []
    half = 0.5 * math.hypot(w, h) * um
    gap = np.hypot(sl.x[idx] - pose.tx, sl.y[idx] - pose.ty) - half
    idx = idx[gap <= sl.length[idx] + 60.0]
    groups = []
    for lie in (False, True):
        grp = idx[sl.lie[idx] == lie]
        if len(grp) == 0:
            continue
        sub = sl.take(grp)
        # a coarse pass finds the shafts that reach the frame
        kc = 24 if lie else 6
        coarse = centrelines(sub, kc, d.plate_um, um)
        px, py = pose.to_px(coarse.x, coarse.y)
        spacing = (sub.length / (kc - 1) / um + sub.diam / um + 3.0)[:, None]
        hit = ((px > -spacing) & (px < w + spacing) & (py > -spacing) & (py < h + spacing)).any(
            axis=1
        )
        grp, sub = grp[hit], sub.take(np.flatnonzero(hit))
        if len(grp) == 0:
            continue
        step = float(np.clip(1.5 * um, 3.0, 25.0))
        k = int(np.clip(math.ceil(float(sub.length.max()) / step) + 1, 4, 4000))
        if not lie:
            k = max(k, 8)
        groups.append((grp, centrelines(sub, k, d.plate_um, um)))
    return groups


def _canals(sl: Slots, idx: I64, pose: Pose, d: Design) -> list[tuple[F64, float, float]]:
    """The part of each hair still in its follicle, seen through the skin: a line from the
    emergence point back under the skin, as wide as the shaft, darker the more pigment."""
    out: list[tuple[F64, float, float]] = []
    if len(idx) == 0 or d.follicle_shadow <= 0:
        return out
    half = 0.5 * math.hypot(pose.w, pose.h) * pose.um + 600.0
    near = np.hypot(sl.x[idx] - pose.tx, sl.y[idx] - pose.ty) <= half
    for i in idx[near].tolist():
        run = min(260.0, 90.0 / max(math.tan(float(sl.elev[i])), 0.2))
        a = float(sl.azim[i])
        t = np.linspace(0.0, run, 6)
        pts = np.stack([sl.x[i] - t * math.cos(a), sl.y[i] - t * math.sin(a)], axis=1)
        dark = d.follicle_shadow * (
            1.0 - math.exp(-0.25 * float(sl.eu[i]) - 0.1 * float(sl.pheo[i]))
        )
        out.append((pts, float(sl.diam[i]), dark))
    return out


def _factors(d: Design, um: float, hairless: bool, follow: bool, stop: bool) -> dict[str, str]:
    curl = "none" if hairless else ("straight" if d.hair_length == "trimmed" else d.curl)
    return {
        "hair_length": "hairless" if hairless else d.hair_length,
        "hair_colour": "none" if hairless else d.hair_colour,
        "skin_tone": d.skin_tone,
        "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
        "light": d.light,
        "visit": "follow-up" if follow else "baseline",
        "curl": curl,
        "network": d.network,
        "openings": d.openings,
        "field_stop": "yes" if stop else "no",
        "vessels": d.vessels,
        "scale_flakes": "yes" if d.flakes_per_mm2 > 0 else "no",
        "contact": "yes" if d.plate_um > 0 else "no",
        "blur": "sharp" if d.blur_px < 0.5 else "soft" if d.blur_px < 1.0 else "defocus",
        "tone": d.tone,
    }


def _pt(x: float, y: float) -> dict[str, float]:
    return {"x_px": float(x), "y_px": float(y)}


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One synthetic trichoscopy frame (uint8 RGB, height x width x 3) and its truth (see
    the package docstring)."""
    validate(seed, um_per_px, width, height, hairless, regrown)
    seed = int(seed)
    um = float(um_per_px)
    w, h = int(width), int(height)
    d = make_design(seed)
    hx0, hy0 = 0.5 * w * um, 0.5 * h * um
    shift_max = SHIFT_FRAC * max(w, h) * um
    turn = math.radians(TURN_DEG[1])
    tex_hx = hx0 * math.cos(turn) + hy0 * math.sin(turn) + shift_max + 40.0
    tex_hy = hx0 * math.sin(turn) + hy0 * math.cos(turn) + shift_max + 40.0
    site = make_site(seed, d, site_half_um(d, w, h, um))
    occ = baseline(site)
    visit: dict[str, Any] = {"kind": "baseline"}
    pose = Pose(w, h, um)
    noise_rng = stream(seed, "noise")
    if regrown is not None:
        factor, seed2 = float(regrown[0]), int(regrown[1])
        occ, counts = follow_up(seed, site, factor, seed2)
        vr = stream(seed, "visit", seed2)
        ang = vr.uniform(0, 2 * math.pi)
        mag = vr.uniform(0.015, SHIFT_FRAC) * max(w, h) * um
        theta = math.radians(vr.uniform(*TURN_DEG) * vr.choice([-1.0, 1.0]))
        pose = Pose(w, h, um, mag * math.cos(ang), mag * math.sin(ang), theta)
        visit = {
            "kind": "follow-up",
            "factor": factor,
            "seed2": seed2,
            "shift_x_um": pose.tx,
            "shift_y_um": pose.ty,
            "rotation_deg": math.degrees(theta),
            **counts,
        }
        noise_rng = stream(seed, "noise", seed2)
    if hairless:
        occ = np.zeros_like(occ)
    sl = site.slots
    occ_idx = np.flatnonzero(occ)
    is_dot = sl.kind[occ_idx] == BLACK_DOT
    shaft_idx, dot_idx = occ_idx[~is_dot], occ_idx[is_dot]
    stop = field_stop(d, w, h)
    # --- truth: the emergence points through this visit's camera
    ex, ey = pose.to_px(sl.x[occ_idx], sl.y[occ_idx])
    inside = in_frame(ex, ey, w, h)
    masked = np.zeros_like(inside)
    if stop is not None:
        masked = inside & (np.hypot(ex - stop[0], ey - stop[1]) > stop[2])
    listed = inside & ~masked
    near = ~inside & (frame_distance(ex, ey, w, h) * um <= 200.0)
    # --- hairs
    groups = _drawn(sl, shaft_idx, pose, d)
    hairs = fibre.flatten(sl, groups)
    layers = fibre.render(hairs, pose, d)
    tips = []
    if len(hairs.start):
        last = hairs.start + hairs.count - 1
        tx, ty = pose.to_px(hairs.x[last], hairs.y[last])
        ok = in_frame(tx, ty, w, h)
        if stop is not None:
            ok &= np.hypot(tx - stop[0], ty - stop[1]) <= stop[2]
        for i in np.flatnonzero(ok).tolist():
            tips.append(
                {
                    "x_px": float(tx[i]),
                    "y_px": float(ty[i]),
                    "cut": bool(hairs.slots.end[i] != TAPER),
                    "diameter_um": float(2.0 * hairs.r[last[i]]),
                }
            )
    # --- skin, then the hairs over it, then the camera
    tex = make_texture(seed, d, tex_hx, tex_hy, um)
    marks = make_marks(seed, d, site, tex_hx, tex_hy)
    has_hair = np.zeros(len(site.ux), dtype=np.bool_)
    has_hair[sl.unit[occ_idx]] = True
    skin = render_skin(
        seed,
        d,
        site,
        tex,
        marks,
        pose,
        site.active | has_hair,
        sl.x[dot_idx],
        sl.y[dot_idx],
        sl.diam[dot_idx],
        _canals(sl, shaft_idx, pose, d),
    )
    img = skin.radiance * (1.0 - layers.shadow)[..., None]
    fu = skin.flake_under[..., None]
    img = img * (1.0 - fu) + fu * skin.flake_colour * 0.9
    dots = skin.black_dots[..., None]
    img = img * (1.0 - dots) + dots * np.array([0.018, 0.015, 0.013], dtype=np.float32)
    img = img + skin.shine[..., None] * (1.0 - fu)
    img = img * layers.far_t + layers.far_c
    fo = skin.flake_over[..., None]
    img = img * (1.0 - fo) + fo * skin.flake_colour
    img = lens(img.astype(np.float32), layers.near_c, layers.near_t, d, um)
    img *= light_falloff(d, w, h, stream(seed, "falloff"))[..., None]
    # a partial auto-exposure from the skin's tone (the same for every visit of the site)
    base_g = float(
        DERMIS[1] * math.exp(-d.melanin * MU_MEL[1] - d.blood * MU_HB[1] - d.carotene * MU_CAR[1])
    )
    gain = d.exposure * 0.42 * (max(base_g, 1e-4) / 0.42) ** 0.62 / max(base_g, 1e-4)
    frame = develop(img.astype(np.float32), d, stop, gain, noise_rng)
    # --- the truth record
    diam = sl.diam[occ_idx]
    kinds = sl.kind[occ_idx]
    hair_list = [
        {"x_px": float(ex[i]), "y_px": float(ey[i]), "diameter_um": float(diam[i])}
        for i in np.flatnonzero(listed).tolist()
    ]
    n = len(hair_list)
    dl = [hh["diameter_um"] for hh in hair_list]
    params = d.params()
    params.update(
        {
            "seed": seed,
            "hairless": hairless,
            "visit": visit,
            "texel_um": tex.tau,
            "hairs_drawn": len(hairs.start),
            "hair_kinds_in_frame": {
                name: int(np.sum(kinds[listed] == k)) for k, name in enumerate(KIND_NAMES)
            },
        }
    )
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": hair_list,
        "density_per_cm2": n / (w * h * um * um * 1e-8),
        "mean_diameter_um": float(np.mean(dl)) if n else 0.0,
        "vellus_fraction": sum(x < 30 for x in dl) / n if n else 0.0,
        "tips": tips,
        "emergence_outside": [_pt(ex[i], ey[i]) for i in np.flatnonzero(near).tolist()],
        "emergence_masked": [_pt(ex[i], ey[i]) for i in np.flatnonzero(masked).tolist()],
        "field_stop": None
        if stop is None
        else {"cx_px": float(stop[0]), "cy_px": float(stop[1]), "radius_px": float(stop[2])},
        "factors": _factors(d, um, hairless, regrown is not None, stop is not None),
        "params": params,
    }
    return frame, truth
