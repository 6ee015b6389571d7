"""Rasterise a scene (scalp, phantom or calibration target) into reflectance and sheen maps.

A :class:`View` maps image pixels to millimetres on the scalp: the rig's pose
(centre, rotation) and scale (um/px). Scenes return linear-RGB reflectance
(float32, 0..1) and a specular map (float32, 0..1) that lights up only under
the non-polarised ring. Optics (blur, light, noise) are applied later, in optics.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.appearance import (
    LEGACY,
    EndShape,
    Style,
    point_hash,
    scale_over,
    shaft_gain,
    skin_texture,
    stamp_dots,
    world_points,
)
from sim.scalp import BLACK_DOT_MAX_MM, VELLUS_THRESHOLD_UM, ScalpWorld

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class View:
    """Where the camera looks: centre in mm, rotation in degrees (counter-clockwise), scale."""

    center_x_mm: float
    center_y_mm: float
    rotation_deg: float
    um_per_px: float
    width: int
    height: int

    @property
    def mm_per_px(self) -> float:
        return self.um_per_px / 1000.0

    @property
    def area_cm2(self) -> float:
        return self.width * self.height * (self.um_per_px * 1e-4) ** 2

    def pixel_to_world(self, u: F64, v: F64) -> tuple[F64, F64]:
        """Pixel centres (u right, v down) to world mm (+y towards the forehead)."""
        s = self.mm_per_px
        dx = (u - (self.width - 1) / 2.0) * s
        dy = ((self.height - 1) / 2.0 - v) * s
        c, sn = math.cos(math.radians(self.rotation_deg)), math.sin(math.radians(self.rotation_deg))
        return self.center_x_mm + c * dx - sn * dy, self.center_y_mm + sn * dx + c * dy

    def world_to_pixel(self, x: F64, y: F64) -> tuple[F64, F64]:
        """World mm to pixel coordinates (may fall outside the frame)."""
        s = self.mm_per_px
        c, sn = math.cos(math.radians(self.rotation_deg)), math.sin(math.radians(self.rotation_deg))
        rx, ry = x - self.center_x_mm, y - self.center_y_mm
        dx = c * rx + sn * ry
        dy = -sn * rx + c * ry
        return dx / s + (self.width - 1) / 2.0, (self.height - 1) / 2.0 - dy / s

    def grid(self) -> tuple[F64, F64]:
        """World coordinates of every pixel centre, each (height, width)."""
        v, u = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        return self.pixel_to_world(u, v)


class Scene(Protocol):
    """Anything the twin camera can look at."""

    def reflectance(self, view: View) -> tuple[F32, F32]:
        """Linear RGB reflectance (h, w, 3) and specular sheen (h, w), both float32 0..1."""
        ...

    def truth(self, view: View) -> dict[str, Any]:
        """Ground truth of what the view shows (empty dict when there is none)."""
        ...


def _sample(field: F32, x_mm: F64, y_mm: F64, spacing_mm: float, extent_mm: float) -> F32:
    """Bilinear sample of a world-aligned grid at world coordinates (clamped at the edges)."""
    n = field.shape[0]
    fx = np.clip((x_mm + extent_mm / 2) / spacing_mm, 0, n - 1.001)
    fy = np.clip((y_mm + extent_mm / 2) / spacing_mm, 0, n - 1.001)
    x0 = fx.astype(np.int64)
    y0 = fy.astype(np.int64)
    ax = (fx - x0).astype(np.float32)
    ay = (fy - y0).astype(np.float32)
    top = field[y0, x0] * (1 - ax) + field[y0, x0 + 1] * ax
    bot = field[y0 + 1, x0] * (1 - ax) + field[y0 + 1, x0 + 1] * ax
    out: F32 = (top * (1 - ay) + bot * ay).astype(np.float32)
    return out


def _stamp_polyline(
    img: F32,
    spec: F32,
    pts: F64,
    radius_px: float,
    rgb: F64,
    opacity: float,
    shine: float,
    *,
    cylinder: float = 0.35,
    end: EndShape = "round",
    end_seed: int = 0,
    root: EndShape = "round",
) -> None:
    """Composite one anti-aliased shaft of ``radius_px`` along pixel-space points ``pts``.

    Long shafts are cut into chunks with their own bounding boxes (cheap), but each
    pixel is composited once per shaft, with its distance to the nearest segment of
    the whole shaft, so chunk joints leave no seams. ``cylinder`` is how much darker the
    edges are than the axis (0: flat). ``end`` shapes the last point's end: round (a
    cap), square, oblique, frayed (cut planes) or tapered (the shaft narrows to it);
    ``root`` the first point's (where a hair leaves the skin), alike.
    """
    h, w = spec.shape
    pad = radius_px + 1.5
    chunk = 6
    boxes: list[tuple[int, int, int, int, NDArray[np.float32]]] = []
    for start in range(0, max(1, len(pts) - 1), chunk):
        seg = pts[start : start + chunk + 1]
        x0 = int(max(0, math.floor(seg[:, 0].min() - pad)))
        x1 = int(min(w, math.ceil(seg[:, 0].max() + pad) + 1))
        y0 = int(max(0, math.floor(seg[:, 1].min() - pad)))
        y1 = int(min(h, math.ceil(seg[:, 1].max() + pad) + 1))
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.full(xx.shape, np.inf, dtype=np.float32)
        for a, b in itertools.pairwise(seg):
            ab = b - a
            denom = float(ab @ ab) or 1e-9
            t = np.clip(((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / denom, 0.0, 1.0)
            px = a[0] + t * ab[0] - xx
            py = a[1] + t * ab[1] - yy
            np.minimum(d, np.sqrt(px * px + py * py), out=d)
        boxes.append((x0, x1, y0, y1, d))
    if not boxes:
        return
    bx0 = min(b[0] for b in boxes)
    bx1 = max(b[1] for b in boxes)
    by0 = min(b[2] for b in boxes)
    by1 = max(b[3] for b in boxes)
    dist = np.full((by1 - by0, bx1 - bx0), np.inf, dtype=np.float32)
    for x0, x1, y0, y1, d in boxes:
        view = dist[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
        np.minimum(view, d, out=view)
    done = np.zeros(dist.shape, dtype=bool)
    for x0, x1, y0, y1, _ in boxes:
        sl = (slice(y0 - by0, y1 - by0), slice(x0 - bx0, x1 - bx0))
        d = dist[sl]
        todo = ~done[sl]
        cov = np.clip(radius_px - d + 0.5, 0.0, 1.0) * opacity * todo
        if (end != "round" or root != "round") and len(pts) >= 2:
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            if end != "round":
                cov *= _end_factor(xx, yy, pts, radius_px, d, end, end_seed)
            if root != "round":
                cov *= _end_factor(xx, yy, pts[::-1], radius_px, d, root, end_seed + (1 << 40))
        done[sl] = True
        if not cov.any():
            continue
        # A shaft is a cylinder: lighter along its axis, darker at the edges.
        rel = np.clip(d / max(radius_px, 0.5), 0.0, 1.0)
        shade = (1.0 + cylinder * (0.15 / 0.35) - cylinder * rel * rel)[..., None]
        col = np.clip(rgb[None, None, :] * shade, 0.0, 1.0).astype(np.float32)
        a3 = cov[..., None]
        region = img[y0:y1, x0:x1]
        region *= 1.0 - a3
        region += a3 * col
        if shine > 0:
            ridge = np.clip(1.0 - rel, 0.0, 1.0) ** 3 * cov * shine
            sregion = spec[y0:y1, x0:x1]
            np.maximum(sregion, ridge.astype(np.float32), out=sregion)


def _end_factor(
    xx: F32, yy: F32, pts: F64, radius_px: float, d: F32, end: EndShape, seed: int
) -> F32:
    """Coverage multiplier that shapes a shaft's end at ``pts[-1]`` (1 away from it)."""
    b = pts[-1]
    a = pts[-2]
    ab = b - a
    n = float(np.hypot(*ab)) or 1e-9
    ux, uy = ab[0] / n, ab[1] / n
    rx, ry = xx - b[0], yy - b[1]
    along = rx * ux + ry * uy  # > 0 beyond the end
    lateral = -rx * uy + ry * ux
    rng = np.random.default_rng([seed, 0xE1D])
    if end == "square":
        cut = along
    elif end == "oblique":
        tilt = float(rng.uniform(0.5, 1.1)) * float(rng.choice([-1.0, 1.0]))
        cut = along + tilt * lateral
    elif end == "frayed":
        k1, k2 = rng.uniform(0.6, 1.6, 2) / max(radius_px, 0.5) * np.pi
        ph = rng.uniform(0, 2 * np.pi, 2)
        fray = 0.6 * radius_px * (np.sin(lateral * k1 + ph[0]) + 0.6 * np.sin(lateral * k2 + ph[1]))
        cut = along + np.abs(fray) - 0.3 * radius_px
    else:  # tapered: the radius falls to a point over the last few diameters
        # over the last few diameters, and at most half a short stub (a shaved stub is blunt)
        length = float(np.hypot(*np.diff(pts, axis=0).T).sum())
        taper = min(max(4.0 * radius_px, 3.0), max(0.5 * length, 1.0))
        frac = np.clip(-along / taper, 0.0, 1.0)
        narrowed = np.clip(radius_px * frac - d + 0.5, 0.0, 1.0)
        full = np.clip(radius_px - d + 0.5, 1e-6, 1.0)
        out_t: F32 = np.where(along > -taper, narrowed / full, 1.0).astype(np.float32)
        return out_t
    out: F32 = np.clip(0.5 - cut, 0.0, 1.0).astype(np.float32)
    return out


def shaft_points(world: ScalpWorld, i: int, view: View, step_px: float = 12.0) -> F64:
    """Pixel-space points along hair ``i``'s visible shaft, emergence point first.

    The shaft's direction turns by its curvature along its length, and swings if the hair is
    curled (:meth:`sim.scalp.Hairs.heading`); image v points down.
    The renderer draws these points and the truth's cut tips are their last.
    """
    hs = world.hairs
    s = view.mm_per_px
    u, v = view.world_to_pixel(hs.x_mm[i : i + 1], hs.y_mm[i : i + 1])
    t = np.linspace(0.0, float(hs.length_mm[i]), hs.shaft_steps(i, s, step_px))
    ang = hs.heading(i, t) - math.radians(view.rotation_deg)
    dx = np.cumsum(np.concatenate([[0.0], np.diff(t) * np.cos(ang[:-1])])) / s
    dy = np.cumsum(np.concatenate([[0.0], np.diff(t) * np.sin(ang[:-1])])) / s
    pts: F64 = np.stack([u[0] + dx, v[0] - dy], axis=1)
    return pts


def _shaft_opacity(world: ScalpWorld, i: int, d_px: float, st: Style) -> float:
    """How much of the skin hair ``i``'s shaft hides (vellus and sub-pixel shafts less)."""
    opacity = 0.95 if world.hairs.diameter_um[i] >= VELLUS_THRESHOLD_UM else 0.75
    if st.shaft_alpha != 0.95:  # a translucent look: every shaft in proportion
        opacity *= st.shaft_alpha / 0.95
    if d_px < 1.0:
        opacity *= d_px
    return opacity


def cast_shadows(world: ScalpWorld, view: View, shafts: list[tuple[int, F64]], st: Style) -> F32:
    """How much of the light ``shafts`` (hair index, :func:`shaft_points`) keep off each
    pixel's skin (0 .. 1).

    A shaft leaves its opening at the skin and rises over its first ``st.shadow_rise_um`` to
    float above it, so its shadow starts under the opening and falls ``st.shadow_lift_um``
    away from the shaft, toward ``st.shadow_azimuth_deg``; under the whole ring
    (``st.shadow_ring``) three shadows a third as dark fall at 120 degrees from each other.
    Each is the shaft's own width and opacity, softened by ``st.shadow_blur_um``.
    """
    mask = np.zeros((view.height, view.width, 1), dtype=np.float32)
    scratch = np.zeros((view.height, view.width), dtype=np.float32)
    lift_px = st.shadow_lift_um / view.um_per_px
    rise_px = max(st.shadow_rise_um / view.um_per_px, 1e-3)
    turns = (0.0, 120.0, 240.0) if st.shadow_ring else (0.0,)
    share = 1.0 / len(turns)
    for i, pts in shafts:
        d_px = float(world.hairs.diameter_um[i]) / view.um_per_px
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        reach = lift_px * np.clip(arc / rise_px, 0.0, 1.0)
        opacity = _shaft_opacity(world, i, d_px, st) * share
        for turn in turns:
            a = math.radians(st.shadow_azimuth_deg + turn)
            moved = pts + reach[:, None] * np.array([math.cos(a), math.sin(a)])
            _stamp_polyline(
                mask, scratch, moved, max(d_px / 2.0, 0.5), np.ones(1), opacity, 0.0, cylinder=0.0
            )
    out: F32 = mask[..., 0]
    blur_px = st.shadow_blur_um / view.um_per_px
    if blur_px >= 0.3:
        out = ndimage.gaussian_filter(out, blur_px, mode="nearest").astype(np.float32)
    return out


class ScalpScene:
    """The procedural scalp as seen through the lens, in a :class:`Style` of appearance."""

    def __init__(self, world: ScalpWorld, style: Style = LEGACY) -> None:
        self.world = world
        self.style = style

    def _visible(self, view: View, margin_mm: float) -> tuple[F64, F64, NDArray[np.bool_]]:
        h = self.world.hairs
        u, v = view.world_to_pixel(h.x_mm, h.y_mm)
        m = margin_mm / view.mm_per_px
        keep = (u > -m) & (u < view.width + m) & (v > -m) & (v < view.height + m)
        return u, v, keep

    def reflectance(self, view: View) -> tuple[F32, F32]:
        w, st = self.world, self.style
        gx, gy = view.grid()
        tex = _sample(w.texture, gx, gy, w.texture_mm, w.extent_mm)
        img = (tex[..., None] * w.skin[None, None, :].astype(np.float32)).astype(np.float32)
        spec = 0.5 * _sample(w.sheen, gx, gy, w.texture_mm, w.extent_mm)
        s = view.mm_per_px
        skin_texture(img, gx, gy, st, s, spec)
        skin = w.skin * np.asarray(st.skin_gain_rgb)
        x0, x1, y0, y1 = gx.min(), gx.max(), gy.min(), gy.max()

        def points(per_mm2: float, reach_mm: float, salt: int) -> F64:
            """World-anchored points whose discs (``reach_mm``) touch the view."""
            m = reach_mm + 2 * view.mm_per_px
            return world_points(x0 - m, y0 - m, x1 + m, y1 + m, per_mm2, st.seed, salt)

        if st.white_dots_per_mm2 > 0:
            pts = points(st.white_dots_per_mm2, st.white_dot_radius_um / 1000.0, 21)
            du, dv = view.world_to_pixel(pts[:, 0], pts[:, 1])
            white = np.minimum(skin * 1.6 + 0.25, 0.95)
            dots = np.stack([du, dv], axis=1)
            stamp_dots(img, dots, st.white_dot_radius_um / view.um_per_px, st.white_dot_gain, white)
        if st.ink_dots_per_mm2 > 0:  # a site's tattoo or ink marks: dermal, blue-grey, blurred
            pts = points(st.ink_dots_per_mm2, 0.4, 51)
            du, dv = view.world_to_pixel(pts[:, 0], pts[:, 1])
            size = point_hash(pts, st.seed, 52)  # each dot's own size, whichever view sees it
            ink = np.array([0.22, 0.25, 0.33])
            r_px = (150.0 + 150.0 * size) / view.um_per_px
            stamp_dots(img, np.stack([du, dv], axis=1), r_px, 0.7, ink, 25.0 / view.um_per_px)
        if st.dot_per_mm2 > 0:  # pinpoint pigmented dots: clusters of 1-3 soft discs, no hair
            pts = points(st.dot_per_mm2, 0.1, 111)
            many = 1 + (point_hash(pts, st.seed, 131) * 3).astype(int)
            feather = max(0.7, 6.0 / view.um_per_px)
            # melanin darkens whatever skin it lies in: on dark skin darker than its pigment
            pigment = np.minimum(st.dot_rgb, skin * 0.45 * np.divide(st.dot_rgb, max(st.dot_rgb)))
            for j in range(3):
                part = pts[many > j]
                if j:  # a cluster's others lie within 30 um of its first
                    dx = point_hash(part, st.seed, 132 + 2 * j) - 0.5
                    dy = point_hash(part, st.seed, 133 + 2 * j) - 0.5
                    part = part + 0.06 * np.stack([dx, dy], axis=1)
                du, dv = view.world_to_pixel(part[:, 0], part[:, 1])
                size = st.dot_um * (0.6 + 0.8 * point_hash(part, st.seed, 140 + j))
                dark = st.dot_amp * (0.7 + 0.3 * point_hash(part, st.seed, 144 + j))
                radii = size / 2.0 / view.um_per_px
                stamp_dots(img, np.stack([du, dv], axis=1), radii, dark, pigment, feather)
        del gx, gy

        # Follicle openings: a darker, slightly warm dimple (as visible as the style says);
        # empty ones a little yellow; a peripilar halo around those with hairs.
        f = w.follicles
        fu, fv = view.world_to_pixel(f.x_mm, f.y_mm)
        vis = st.opening_visibility
        radius = f.radius_mm
        if st.opening_free:  # a size of its own, whichever view sees it
            radius = 0.04 + 0.05 * point_hash(np.stack([f.x_mm, f.y_mm], axis=1), st.seed, 81)
        reach = 2.4 * float(radius.max(initial=0.0)) / s + 2.0  # a halo's radius
        reach = max(reach, 20.0)
        open_tint = 1.0 - vis * (1.0 - np.array([0.55, 0.45, 0.35]) * (1.0 - st.opening_dark))

        def opening(u: float, v: float, r: float, halo: bool) -> None:
            """An opening with hairs at pixel (u, v), radius ``r`` px, its halo if ``halo``."""
            pt = np.array([[u, v], [u + 1e-3, v]])
            if halo and st.halo != 0:
                ring = skin * (1.0 + st.halo) if st.halo > 0 else skin * (1.0 + st.halo * 2)
                _stamp_polyline(img, spec, pt, 2.4 * r, np.minimum(ring, 1.0), 0.5, 0.0)
            _stamp_polyline(img, spec, pt, r, skin * open_tint, 0.8, 0.0)

        undrawn = np.zeros(len(fu), dtype=bool)
        if st.bare_roots > 0:  # synth-v22: openings of hairs left undrawn, whichever view
            at = np.stack([f.x_mm, f.y_mm], axis=1)
            undrawn = (f.hair_count > 0) & (point_hash(at, st.seed, 93) < st.bare_roots)
        for i in np.flatnonzero(
            (fu > -reach) & (fu < view.width + reach) & (fv > -reach) & (fv < view.height + reach)
        ):
            r = float(radius[i]) / s
            if undrawn[i]:
                continue
            if f.hair_count[i] > 0 or st.empty_like_open:
                opening(float(fu[i]), float(fv[i]), r, halo=f.hair_count[i] > 0)
            else:
                yellow = st.empty_yellow
                tint = 1.0 - max(vis, yellow) * (1.0 - np.array([0.75, 0.62, 0.35]))
                tint = tint + yellow * (np.array([1.05, 0.98, 0.55]) - tint) * (1 - vis)
                pt = np.array([[fu[i], fv[i]], [fu[i] + 1e-3, fv[i]]])
                _stamp_polyline(img, spec, pt, r, skin * tint, 0.8, 0.0)

        hs = w.hairs
        _, _, keep = self._visible(view, margin_mm=16.0)
        # the style sets the contrast of the shafts that show: black dots, near-black stumps
        # (synth-v18), would pull the median down and lift every other shaft
        showing = (hs.diameter_um >= VELLUS_THRESHOLD_UM) & (hs.length_mm > BLACK_DOT_MAX_MM)
        gain = shaft_gain(hs.rgb, showing, w.skin, st)
        shafts = [(int(i), shaft_points(w, int(i), view)) for i in np.flatnonzero(keep)]
        if st.tip_pits > 0:  # synth-v21: cut ends over dimples drawn as openings with hairs
            at = np.stack([hs.x_mm, hs.y_mm], axis=1)
            pick, size = point_hash(at, st.seed, 91), point_hash(at, st.seed, 92)
            for hair, pts in shafts:
                if hs.trimmed[hair] and pick[hair] < st.tip_pits:
                    u_end, v_end = (float(c) for c in pts[-1])
                    opening(u_end, v_end, (0.04 + 0.05 * float(size[hair])) / s, halo=True)
        if st.shadow_amp > 0:  # shadows fall on the skin, under every shaft
            lit = 1.0 - st.shadow_amp * cast_shadows(w, view, shafts, st)
            img *= lit[..., None]
            spec *= lit
        for hair, pts in shafts:
            d_px = float(hs.diameter_um[hair]) / view.um_per_px
            opacity = _shaft_opacity(w, hair, d_px, st)
            rgb = np.minimum(hs.rgb[hair] * gain, 0.95)
            _stamp_polyline(
                img,
                spec,
                pts,
                max(d_px / 2.0, 0.5),
                rgb,
                opacity,
                st.shine,
                cylinder=st.cylinder,
                end=st.end_of(hair) if hs.trimmed[hair] else "round",
                end_seed=st.seed * 7 + hair,
                root=st.root_of(hair),
            )
        if st.glint_per_mm2 > 0:  # pinpoint glints of the skin's surface: specular only
            pts = points(st.glint_per_mm2, 0.006, 61)
            du, dv = view.world_to_pixel(pts[:, 0], pts[:, 1])
            dots = np.stack([du, dv], axis=1)
            stamp_dots(spec[..., None], dots, 6.0 / view.um_per_px, 0.9, np.array([1.0]))
        if st.scale_cover > 0:
            gx, gy = view.grid()
            scale_over(img, spec, gx, gy, st, s)
        return np.clip(img, 0.0, 1.0), np.clip(spec, 0.0, 1.0)

    def truth(self, view: View) -> dict[str, Any]:
        return scalp_truth(self.world, view)


def scalp_truth(world: ScalpWorld, view: View) -> dict[str, Any]:
    """Ground truth for the hairs emerging inside ``view`` (what a model should count)."""
    h = world.hairs
    u, v = view.world_to_pixel(h.x_mm, h.y_mm)
    inside = (u >= -0.5) & (u < view.width - 0.5) & (v >= -0.5) & (v < view.height - 0.5)
    diam = h.diameter_um[inside]
    area = view.area_cm2
    vellus = diam < VELLUS_THRESHOLD_UM
    n = int(inside.sum())
    units, per_unit = np.unique(h.unit_id[inside], return_counts=True)
    shares = [
        float(np.mean(np.minimum(per_unit, 4) == k)) if len(units) else 0.0 for k in (1, 2, 3, 4)
    ]
    f = world.follicles
    fu, fv = view.world_to_pixel(f.x_mm, f.y_mm)
    f_in = (fu >= 0) & (fu < view.width) & (fv >= 0) & (fv < view.height)
    return {
        "hair_count": n,
        "area_cm2": area,
        "density_per_cm2": n / area,
        "terminal_density_per_cm2": int((~vellus).sum()) / area,
        "vellus_density_per_cm2": int(vellus.sum()) / area,
        "vellus_fraction": float(vellus.mean()) if n else 0.0,
        "mean_diameter_um": float(diam.mean()) if n else 0.0,
        "cumulative_thickness_mm_per_cm2": float(diam.sum()) / 1000.0 / area,
        "follicular_units_per_cm2": len(units) / area,
        "unit_shares_1_2_3_4plus": shares,
        "empty_follicles": int((f_in & (f.hair_count == 0)).sum()),
        "tips": cut_tips(world, view),
        "um_per_px": view.um_per_px,
        "width": view.width,
        "height": view.height,
        "hairs": [
            {
                "x_px": round(float(a), 2),
                "y_px": round(float(b), 2),
                "diameter_um": round(float(c), 2),
                "trimmed": bool(t),
                "unit": int(un),
            }
            for a, b, c, t, un in zip(
                u[inside], v[inside], diam, h.trimmed[inside], h.unit_id[inside], strict=True
            )
        ],
    }


def cut_tips(world: ScalpWorld, view: View) -> list[dict[str, float]]:
    """Pixel positions of the cut ends of trimmed hairs that lie inside ``view``.

    A tip is no hair: a counter must not count it (nor a long hair's shaft).
    """
    h = world.hairs
    u, v = view.world_to_pixel(h.x_mm, h.y_mm)
    reach = max(float(h.length_mm.max()) if len(h) else 0.0, 0.0) / view.mm_per_px + 2
    near = (
        h.trimmed
        & (u > -reach)
        & (u < view.width + reach)
        & (v > -reach)
        & (v < view.height + reach)
    )
    out: list[dict[str, float]] = []
    for i in np.flatnonzero(near):
        x, y = shaft_points(world, int(i), view)[-1]
        if -0.5 <= x < view.width - 0.5 and -0.5 <= y < view.height - 0.5:
            out.append({"x_px": round(float(x), 2), "y_px": round(float(y), 2)})
    return out


class CalibrationTarget:
    """The rig's reference target: a neutral grey patch (left) and a printed 1 mm grid (right)."""

    GREY = 0.5
    PAPER = 0.85
    INK = 0.04
    LINE_MM = 0.08
    PITCH_MM = 1.0

    def reflectance(self, view: View) -> tuple[F32, F32]:
        gx, gy = view.grid()
        px = view.mm_per_px
        out = np.empty((view.height, view.width, 3), dtype=np.float32)
        ink = np.zeros(gx.shape, dtype=np.float64)
        for g in (gx, gy):
            d = np.abs((g / self.PITCH_MM + 0.5) % 1.0 - 0.5) * self.PITCH_MM
            ink = np.maximum(ink, np.clip((self.LINE_MM / 2 - d) / px + 0.5, 0.0, 1.0))
        grid = self.PAPER * (1 - ink) + self.INK * ink
        val = np.where(gx < 0, self.GREY, grid)
        out[...] = val[..., None]
        return out, np.zeros(gx.shape, dtype=np.float32)

    def truth(self, view: View) -> dict[str, Any]:
        return {"um_per_px": view.um_per_px, "grid_pitch_mm": self.PITCH_MM, "grey": self.GREY}


class PhantomScene:
    """An image file standing in for the scalp, the way a printed phantom checks a real rig."""

    def __init__(self, rgb: F32, um_per_px: float, truth: dict[str, Any] | None = None) -> None:
        self.rgb = rgb
        self.um_per_px = um_per_px
        self._truth = truth or {}

    def reflectance(self, view: View) -> tuple[F32, F32]:
        gx, gy = view.grid()
        h, w = self.rgb.shape[:2]
        s = self.um_per_px / 1000.0
        fx = np.clip(gx / s + (w - 1) / 2.0, 0, w - 1.001)
        fy = np.clip((h - 1) / 2.0 - gy / s, 0, h - 1.001)
        x0 = fx.astype(np.int64)
        y0 = fy.astype(np.int64)
        ax = (fx - x0)[..., None].astype(np.float32)
        ay = (fy - y0)[..., None].astype(np.float32)
        im = self.rgb
        top = im[y0, x0] * (1 - ax) + im[y0, x0 + 1] * ax
        bot = im[y0 + 1, x0] * (1 - ax) + im[y0 + 1, x0 + 1] * ax
        out = (top * (1 - ay) + bot * ay).astype(np.float32)
        return out, np.zeros(gx.shape, dtype=np.float32)

    def truth(self, view: View) -> dict[str, Any]:
        out = dict(self._truth)
        out.setdefault("um_per_px_phantom", self.um_per_px)
        out["um_per_px"] = view.um_per_px
        return out
