"""One blind-13 frame: the site seen through a view, drawn layer by layer, and its truth."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind13.gauss import F32, Accumulator, add_dots, add_lines, join, polyline
from sim.blind13.palette import DERMIS, GREY, HAEMOGLOBIN, MELANIN, WHITE, YELLOW, tone_name
from sim.blind13.sensor import Camera, expose, make_camera, stop_mask
from sim.blind13.shafts import Optics, Shaft, View, below_skin, cast, shaft
from sim.blind13.site import Hair, Site, build_site, regrow, stream
from sim.blind13.skin import MAX_SHIFT, MAX_TURN, SkinMaps, skin_maps

GENERATOR = "blind-13"
OUTSIDE_UM = 200.0


def _view(seed: int, width: int, height: int, um: float, seed2: int | None) -> View:
    """The baseline view, or a follow-up's: turned 1-5 degrees, shifted 1.5-5 %."""
    if seed2 is None:
        return View(width, height, um)
    r = stream(seed, 31, seed2 % (1 << 64), int(seed2 < 0))
    turn = float(r.uniform(math.radians(1.0), MAX_TURN)) * (1 if r.random() < 0.5 else -1)
    share = float(r.uniform(0.015, MAX_SHIFT))
    a = float(r.uniform(0, 2 * math.pi))
    return View(
        width,
        height,
        um,
        angle=turn,
        shift_x_um=share * width * um * math.cos(a),
        shift_y_um=share * height * um * math.sin(a),
    )


def _optics(seed: int) -> Optics:
    r = stream(seed, 21)
    return Optics(
        base_um=float(r.uniform(1.0, 9.0)),
        slope=float(r.uniform(0.02, 0.08)),
        focus_um=float(r.uniform(0.0, 150.0)),
        lens_px=float(r.uniform(0.3, 0.6)),
    )


def _openings(maps: SkinMaps, site: Site, view: View, hairy: NDArray[np.bool_], sig: float) -> None:
    """Follicle openings (dark, pale or hidden; yellow dots where the site has them),
    peripilar halos round hair-bearing units, pinpoint white dots."""
    look = site.look
    um = view.um_per_px
    fx, fy = view.to_frame(site.unit_xy[:, 0], site.unit_xy[:, 1])
    pad = 400.0 / um
    near = view.near(fx, fy, pad)
    rad = site.unit_r / um
    style = site.unit_style
    r = stream(site.seed, 40)
    wob = r.uniform(0.0, 0.3, len(fx))
    ang = r.uniform(0, math.pi, len(fx))
    amt = r.uniform(0.5, 1.0, len(fx))
    tone = float(look["tone"])
    occ = near & hairy
    # hair-bearing openings: a faint shadow, a pigmented rim on darker skin
    add_dots(maps.grey, fx[occ], fy[occ], 0.55 * rad[occ], sig, 0.08 * amt[occ], wob[occ], ang[occ])
    if look["halos"]:
        ring = 1.5 * rad[occ]
        load = (0.15 + 0.2 * tone) * amt[occ]
        add_dots(maps.mel, fx[occ], fy[occ], ring, sig, load)
        add_dots(maps.mel, fx[occ], fy[occ], 0.9 * rad[occ], sig, -load)
    empty = near & ~hairy
    yellow = empty & (style < 0.6) if look["yellow_dots"] else np.zeros_like(empty)
    dark = empty & ~yellow & (style < 0.4)
    pale = empty & ~yellow & (style >= 0.4) & (style < 0.75)
    add_dots(maps.grey, fx[dark], fy[dark], 0.45 * rad[dark], sig, 0.25 * amt[dark], wob[dark])
    add_dots(maps.lift, fx[pale], fy[pale], 0.5 * rad[pale], sig, 0.2 * amt[pale], wob[pale])
    yr = (0.9 + 0.6 * style[yellow]) * rad[yellow]
    add_dots(maps.yel, fx[yellow], fy[yellow], yr, sig, 0.9 * amt[yellow], wob[yellow], ang[yellow])
    add_dots(maps.lift, fx[yellow], fy[yellow], yr, sig, 0.12 * amt[yellow])
    if len(site.white_xy):
        wx, wy = view.to_frame(site.white_xy[:, 0], site.white_xy[:, 1])
        ok = view.near(wx, wy, pad)
        wr = r.uniform(8.0, 22.0, len(wx)) / um
        add_dots(maps.lift, wx[ok], wy[ok], wr[ok], sig, np.full(int(ok.sum()), 0.18))


def _vessels(maps: SkinMaps, acc: Accumulator, site: Site, view: View, optics: Optics) -> None:
    um = view.um_per_px
    for v in site.vessels:
        fx, fy = view.to_frame(np.array(v.xs), np.array(v.ys))
        half = np.full(len(fx), 0.5 * v.width_um / um)
        sig = np.full(len(fx), float(optics.sigma_px(np.array([-40.0]), um)[0]))
        add_lines(maps.hb, acc, polyline(fx, fy, half, sig), 1.4 * v.load)


def _reflectance(maps: SkinMaps) -> F32:
    """The skin's linear reflectance from its loads."""
    od = (
        maps.mel[..., None] * MELANIN
        + maps.hb[..., None] * HAEMOGLOBIN
        + maps.yel[..., None] * YELLOW
        + maps.grey[..., None] * GREY
    )
    refl = DERMIS * np.exp(np.float32(-math.log(10.0)) * od) * maps.tex[..., None]
    lift = np.clip(maps.lift, 0.0, 0.9)[..., None]
    return np.ascontiguousarray(refl + lift * (WHITE - refl), np.float32)


def _near(h: Hair, view: View) -> bool:
    """Whether any of hair ``h`` could reach the frame."""
    fx, fy = view.to_frame(np.array([h.x_um]), np.array([h.y_um]))
    reach = (h.length_um + 2.0 * h.diameter_um + 200.0) / view.um_per_px
    return bool(view.near(fx, fy, reach)[0])


def _composite(img: F32, spec: F32, idx: NDArray[np.int64], cover: F32, rho: F32, tau: F32) -> None:
    """A layer over what is drawn: light through it (``tau``) and back off it (``rho``)."""
    a = cover[:, None]
    img[idx] = img[idx] * (1.0 - a + a * tau) + a * rho
    spec[idx] *= 1.0 - cover


def render(
    seed: int,
    um: float,
    width: int,
    height: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """A frame and its truth (arguments already checked)."""
    site = build_site(seed, width, height, um)
    base_count = len(site.hairs)
    seed2 = None if regrown is None else regrown[1]
    if regrown is not None:
        site = regrow(site, regrown[0], regrown[1])
    view = _view(seed, width, height, um, seed2)
    look = site.look
    optics = _optics(seed)
    cam: Camera = make_camera(stream(seed, 20), width, height, bool(look["polarised"]))
    hairs = [] if hairless else site.hairs
    hairy = np.zeros(len(site.unit_xy), bool)
    if hairs:
        hairy[np.array([h.unit for h in hairs])] = True
    sig_skin = float(optics.sigma_px(np.array([0.0]), um)[0])
    maps = skin_maps(site, view, sig_skin * um)
    _openings(maps, site, view, hairy, sig_skin)
    acc = Accumulator(width, height)
    _vessels(maps, acc, site, view, optics)
    near = [h for h in hairs if _near(h, view)]
    under = 0.22 if look["polarised"] else 0.1
    # the follicles' shafts below the surface, all in one call (they only add)
    runs = [below_skin(h, view, optics) for h in near if h.kind != "black_dot"]
    if runs:
        add_lines(maps.grey, acc, join(runs), under)
    img = _reflectance(maps).reshape(-1, 3)
    spec = (0.06 * maps.sebum).reshape(-1).copy()
    # black dots: hairs broken at the surface, opaque discs on the skin
    dots = [h for h in near if h.kind == "black_dot"]
    if dots:
        cov = np.zeros((height, width), np.float32)
        dx, dy = view.to_frame(np.array([h.x_um for h in dots]), np.array([h.y_um for h in dots]))
        rad = np.array([h.diameter_um for h in dots]) / 2.0 / um
        add_dots(cov, dx, dy, rad, sig_skin, np.full(len(dots), 0.97))
        flat = np.flatnonzero(cov.reshape(-1) > 1e-3)
        c = np.minimum(cov.reshape(-1)[flat], 1.0)
        rho = np.array(dots[0].rho, np.float32)
        _composite(img, spec, flat, c, rho, np.full(3, 0.03, np.float32))
    shafts: list[tuple[Hair, Shaft]] = []
    # crossed polarisers take the shafts' specular highlight away
    gloss = 0.0 if look["polarised"] else 0.22
    for h in sorted((h for h in near if h.kind != "black_dot"), key=lambda h: h.depth):
        s = shaft(h, view, optics)
        shafts.append((h, s))
        fp = acc.footprint(s.pieces, gloss=gloss > 0)
        if len(fp.index) == 0:
            continue
        shade = fp.shade[:, None]
        rho = np.minimum(np.array(h.rho, np.float32) * shade, 0.9)
        tau = np.minimum(np.array(h.tau, np.float32) * shade, 0.95)
        _composite(img, spec, fp.index, fp.cover * h.opacity, rho, tau)
        if gloss:
            spec[fp.index] += gloss * fp.gloss * fp.cover
        if h.cast:
            cp = acc.footprint(cast(h, view, optics))
            _composite(
                img, spec, cp.index, 0.2 * cp.cover, 0.6 * WHITE, np.full(3, 0.85, np.float32)
            )
    # flakes lying over hairs
    over = np.clip(maps.over.reshape(-1), 0.0, 0.85)[:, None]
    img = img + over * (WHITE - img)
    frame = expose(
        cam,
        img.reshape(height, width, 3),
        spec.reshape(height, width),
        stream(seed, 50, *(() if seed2 is None else (seed2 % (1 << 64), int(seed2 < 0)))),
    )
    truth = _truth(site, view, cam, shafts, hairs, hairless, regrown, base_count)
    return frame, truth


def _truth(
    site: Site,
    view: View,
    cam: Camera,
    shafts: list[tuple[Hair, Shaft]],
    hairs: list[Hair],
    hairless: bool,
    regrown: tuple[float, int] | None,
    base_count: int,
) -> dict[str, Any]:
    w, h_px, um = view.width, view.height, view.um_per_px
    mask = stop_mask(cam, w, h_px)

    def visible(x: float, y: float) -> bool:
        if mask is None:
            return True
        return bool(mask[min(max(round(y), 0), h_px - 1), min(max(round(x), 0), w - 1)] >= 0.5)

    by_hair = {id(hair): s for hair, s in shafts}
    listed: list[dict[str, Any]] = []
    masked: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    if hairs:
        xs, ys = view.to_frame(np.array([h.x_um for h in hairs]), np.array([h.y_um for h in hairs]))
    for i, hair in enumerate(hairs):
        x, y = float(xs[i]), float(ys[i])
        entry = {
            "x_px": x,
            "y_px": y,
            "diameter_um": round(hair.diameter_um, 3),
            "kind": hair.kind,
            "length_um": round(hair.length_um, 1),
            "colour": hair.colour,
            "lying": hair.lying,
        }
        drawn = by_hair.get(id(hair))
        if drawn is not None:
            # the shaft's heading where it leaves the skin, in frame degrees (x right, y down)
            p = drawn.pieces
            heading = math.atan2(float(p.y1[0] - p.y0[0]), float(p.x1[0] - p.x0[0]))
            entry["direction_deg"] = round(math.degrees(heading) % 360.0, 3)
            entry["elevation_deg"] = round(math.degrees(hair.elevation), 3)
        if view.inside(x, y):
            (listed if visible(x, y) else masked).append(entry)
        else:
            dx = max(-0.5 - x, x - (w - 0.5), 0.0)
            dy = max(-0.5 - y, y - (h_px - 0.5), 0.0)
            if math.hypot(dx, dy) * um <= OUTSIDE_UM:
                outside.append({"x_px": x, "y_px": y, "diameter_um": entry["diameter_um"]})
    tips = []
    for hair, s in shafts:
        tx, ty = s.tip
        if view.inside(tx, ty) and visible(tx, ty):
            tips.append(
                {"x_px": tx, "y_px": ty, "cut": hair.end != "taper", "diameter_um": s.tip_um}
            )
    n = len(listed)
    diam = [e["diameter_um"] for e in listed]
    look = site.look
    params: dict[str, Any] = {
        k: (round(v, 4) if isinstance(v, float) else v) for k, v in look.items()
    }
    params.update(cam.params())
    params["site_hairs"] = base_count
    params["visit_hairs"] = len(hairs)
    if regrown is not None:
        params["regrown_factor"] = float(regrown[0])
        params["turn_deg"] = math.degrees(view.angle)
        params["shift_um"] = [view.shift_x_um, view.shift_y_um]
    return {
        "generator": GENERATOR,
        "width": w,
        "height": h_px,
        "um_per_px": float(um),
        "hairs": listed,
        "density_per_cm2": n / (w * h_px * um * um * 1e-8),
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": sum(d < 30 for d in diam) / n if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": masked,
        "factors": {
            "hair_length": "hairless" if hairless else str(look["hair_length"]),
            "hair_colour": str(look["hair_colour"]),
            "skin_tone": tone_name(float(look["tone"])),
            "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
            "light": "polarised" if look["polarised"] else "non-polarised",
            "visit": "baseline" if regrown is None else "follow-up",
            "field_stop": "yes" if cam.stop is not None else "no",
            "jpeg": "yes" if cam.jpeg else "no",
        },
        "params": params,
    }
