"""One frame: site, visit, scene, optics, truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from sim.blind4 import marks
from sim.blind4.geometry import Canvas, Geometry
from sim.blind4.look import Look, sample_look, validate_overrides
from sim.blind4.optics import aperture, capture
from sim.blind4.rng import stream
from sim.blind4.site import (
    BLACK_DOT,
    END_NAMES,
    EXCLAMATION,
    KIND_NAMES,
    REGROWING,
    SLOTS,
    TERMINAL,
    Site,
    Visit,
    build_site,
    build_visit,
    hair_chain,
    srgb_to_linear,
)
from sim.blind4.skin import render_skin
from sim.blind4.spectral import site_fields
from sim.blind4.splat import (
    END_BROKEN,
    END_NONE,
    END_OBLIQUE,
    END_TAPERED,
    LANE_PX,
    Light,
    Strand,
    draw_strand,
)

GENERATOR = "blind-4"
TECHNIQUE = "surfel-splat+spectral-skin"


@dataclass
class Drawn:
    """What the renderer drew of one hair (site um)."""

    length_px: float
    tip: tuple[float, float] | None
    sid: int = -1  # drawing-order id of its strand (-1: not drawn as a strand)


def _medulla_profile(rng: np.random.Generator, s: np.ndarray, kind: int) -> np.ndarray:
    if kind == 0:
        return np.ones(s.size, np.float32)
    total = float(s[-1]) if s.size else 0.0
    edges = [0.0]
    on = [bool(rng.random() < 0.6)]
    while edges[-1] < total:
        if kind == 1:
            seg = rng.uniform(80, 400) if on[-1] else rng.uniform(30, 150)
        else:
            seg = rng.uniform(20, 90) if on[-1] else rng.uniform(60, 300)
        edges.append(edges[-1] + seg)
        on.append(not on[-1])
    idx = np.searchsorted(np.array(edges), s, side="right") - 1
    return np.array(on, np.float32)[np.clip(idx, 0, len(on) - 1)]


def _strand_for(
    seed: int,
    site: Site,
    visit: Visit,
    i: int,
    canvas: Canvas,
    light_hair_thr: float = 0.2,
) -> tuple[Strand | None, Drawn]:
    """Build the strand of the i-th present hair; None if it cannot reach the canvas."""
    look = site.look
    slot = int(visit.slots[i])
    kind = int(visit.kind[i])
    end = int(visit.end[i])
    length = float(visit.length[i])
    diam = float(visit.diam[i])
    r0 = diam / 2.0
    x0, y0 = float(site.sx[slot]), float(site.sy[slot])
    theta = float(site.stheta[slot] + visit.heading_jitter[i])
    rng = stream(seed, "path", slot)
    comb: float | None = None
    lying = bool(visit.long_mode[i]) and length > 1500.0
    if lying:
        if site.part is not None:
            px, py, dx, dy = site.part
            side = math.copysign(1.0, dx * (y0 - py) - dy * (x0 - px))
            away = math.atan2(dx * side, -dy * side) + rng.normal(0, 0.2)
            turn = math.atan2(math.sin(away - theta), math.cos(away - theta))
            comb = theta + float(np.clip(turn, -1.2, 1.2))
        else:
            comb = theta + rng.normal(0, 0.15)
    extra = 0.0
    if end == END_OBLIQUE:
        extra = r0 * abs(math.tan(float(visit.cut_angle[i])))
    elif end == END_BROKEN:
        extra = 0.9 * r0
    chain = hair_chain(
        rng,
        x0,
        y0,
        theta,
        float(site.se0[slot]),
        length,
        extra,
        lying,
        comb,
        look.curl,
        LANE_PX * canvas.s,
    )
    inl = chain.s <= length
    seg = np.hypot(np.diff(chain.x), np.diff(chain.y))
    proj = float(seg[inl[1:]].sum()) if seg.size else 0.0
    tip = (
        (float(np.interp(length, chain.s, chain.x)), float(np.interp(length, chain.s, chain.y)))
        if end != END_NONE
        else None
    )
    drawn = Drawn(length_px=proj / canvas.s, tip=tip)
    cx, cy = canvas.to_px(chain.x, chain.y)
    pad = r0 / canvas.s + 3
    if (
        cx.max() < -pad
        or cy.max() < -pad
        or cx.min() > canvas.w - 1 + pad
        or cy.min() > canvas.h - 1 + pad
    ):
        return None, drawn
    s = chain.s
    if end == END_TAPERED:
        l_tap = min(0.45 * length, float(rng.uniform(150, 500)))
        prof = np.clip((length - s) / max(l_tap, 1.0), 0.0, 1.0) ** 0.65
    elif kind == EXCLAMATION:
        prof = 0.42 + 0.58 * np.clip(s / max(length, 1.0), 0, 1) ** 0.8
    else:
        prof = np.ones(s.size)
    # calibre drifts slowly along the shaft
    knots = max(4, int(s[-1] / 250.0) + 2)
    wob = np.interp(s, np.linspace(0, s[-1] + 1, knots), rng.normal(0, 0.015, knots))
    wob = ndimage.gaussian_filter1d(wob, max(2.0, 80.0 / max(float(s[1] - s[0]), 0.1)))
    r_px = (r0 * prof * (1 + wob) / canvas.s).astype(np.float32)
    nat = site.scol[slot].astype(np.float64)
    dye = site.sdye[slot].astype(np.float64)
    mix = np.clip((s - site.sroot[slot]) / 250.0 + 0.5, 0, 1)
    if visit.new[i]:
        mix = np.zeros_like(mix)
    colour = nat[:, None] * (1 - mix)[None] + dye[:, None] * mix[None]
    if kind == EXCLAMATION:
        colour = colour * (1.35 - 0.75 * np.clip(s / max(length, 1.0), 0, 1))[None]
    lum = float(nat @ np.array([0.2126, 0.7152, 0.0722]))
    light_hair = lum > light_hair_thr
    opa = np.full(s.size, float(site.sopa[slot]))
    if end == END_TAPERED:
        opa *= 0.55 + 0.45 * prof
    end_off = None
    if end == END_OBLIQUE:
        end_off = (np.linspace(-1, 1, 9) * r0 * math.tan(float(visit.cut_angle[i]))).astype(
            np.float32
        )
    elif end == END_BROKEN:
        jag = rng.uniform(-1, 1, 11)
        jag -= jag.mean()
        end_off = (jag * 0.8 * r0).astype(np.float32)
    med = float(site.smed[slot])
    med_on = _medulla_profile(rng, s, int(site.smedtype[slot])) if med > 0 else None
    trt = np.clip(nat * 1.3, 0, 1).astype(np.float32)
    strand = Strand(
        x=cx.astype(np.float32),
        y=cy.astype(np.float32),
        tx=np.cos(chain.heading).astype(np.float32),
        ty=np.sin(chain.heading).astype(np.float32),
        elev=chain.elev.astype(np.float32),
        r=r_px,
        s_um=s.astype(np.float32),
        colour=colour.astype(np.float32),
        opacity=opa.astype(np.float32),
        length_um=length,
        end=end,
        end_offset_um=end_off,
        medulla=med,
        medulla_on=med_on,
        light_hair=light_hair,
        shine=float(rng.uniform(0.6, 1.3)),
        trt_colour=trt,
        seed=int(rng.integers(1 << 31)),
        um_per_px=canvas.s,
    )
    return strand, drawn


def _subsurface(
    scene: np.ndarray, canvas: Canvas, site: Site, visit: Visit, tone_dark: float
) -> None:
    """The hair inside its follicle, seen through the epidermis: a faint blue-grey blur
    running back from the emergence."""
    sel = (visit.kind != BLACK_DOT) & ~site.swhite[visit.slots]
    if not np.any(sel):
        return
    slots = visit.slots[sel]
    lum = site.scol[slots] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    keep = lum < 0.25
    slots = slots[keep]
    diam = visit.diam[sel][keep]
    if slots.size == 0:
        return
    rng = np.random.default_rng(slots.size)
    th = site.stheta[slots]
    e0 = site.se0[slots]
    l_sub = np.clip(rng.uniform(50, 110, slots.size) / np.tan(e0), 40, 380)
    step = max(canvas.s * 0.7, 3.0)
    n_t = int(np.ceil(l_sub.max() / step)) + 1
    t = np.arange(n_t)[None, :] * step  # (1, n_t)
    lanes = np.array([-0.6, 0.0, 0.6])
    fade = np.clip(1 - t / l_sub[:, None], 0, 1) ** 1.2
    xs = []
    ys = []
    ws = []
    for la in lanes:
        off = la * diam[:, None] / 2
        xs.append(site.sx[slots][:, None] - t * np.cos(th)[:, None] - off * np.sin(th)[:, None])
        ys.append(site.sy[slots][:, None] - t * np.sin(th)[:, None] + off * np.cos(th)[:, None])
        ws.append(fade * (step * diam[:, None] / 3.0))
    dens = marks.chain_deposit(
        canvas, np.concatenate(xs).ravel(), np.concatenate(ys).ravel(), np.concatenate(ws).ravel()
    )

    sig = max(0.7, 14.0 / canvas.s)
    dens = ndimage.gaussian_filter(dens, sig) / (canvas.s * canvas.s)
    amount = np.clip(dens, 0, 1) * np.float32(0.42 * (1 - 0.75 * tone_dark))
    marks.darken(scene, amount, np.array([0.5, 0.56, 0.7]))


def _black_dots(scene: np.ndarray, canvas: Canvas, site: Site, visit: Visit) -> None:
    sel = visit.kind == BLACK_DOT
    if not np.any(sel):
        return
    slots = visit.slots[sel]
    rng = np.random.default_rng(int(slots.sum()) + 11)
    rad = visit.diam[sel] / 2 * rng.uniform(1.0, 1.25, slots.size)
    wob = np.stack(
        [
            rng.uniform(0.03, 0.1, slots.size),
            rng.integers(2, 4, slots.size),
            rng.uniform(0, 6.3, slots.size),
        ],
        -1,
    ).astype(float)
    a = marks.stamp(canvas, site.sx[slots], site.sy[slots], rad, marks.prof_disc, 0.93, 1.4, wob)
    halo = marks.stamp(canvas, site.sx[slots], site.sy[slots], rad * 1.6, marks.prof_gauss, 0.3)
    marks.darken(scene, halo, np.array([0.6, 0.5, 0.45]))
    dark = srgb_to_linear(np.array([34.0, 28.0, 26.0]))
    marks.tint(scene, a, dark)


def _strays(
    seed: int, site: Site, visit: Visit, canvas: Canvas, rng: np.random.Generator
) -> list[tuple[Strand, tuple[float, float, float]]]:
    """Long hairs from far outside the frame combed across it (not counted: they emerge
    far outside)."""
    look = site.look
    if look.hair_length == "trimmed" or visit.slots.size == 0:
        return []
    geo = visit.geo
    per_mm = (geo.width + geo.height) * 2 * geo.s / 1000.0
    lam = look.stray_rate * per_mm / 3.0 * (0.3 if site.part is not None else 1.0)
    lam *= 0.5 if look.hair_length == "mixed" else 1.0
    n = int(rng.poisson(lam))
    out: list[tuple[Strand, tuple[float, float, float]]] = []
    pool = np.flatnonzero((site.skind == TERMINAL) & (np.repeat(site.okind, SLOTS) == 0))
    if pool.size == 0:
        return out
    for _ in range(n):
        side = int(rng.integers(0, 4))
        f = rng.uniform(0, 1)
        u = [f * (geo.width - 1), geo.width - 0.5, f * (geo.width - 1), -0.5][side]
        v = [-0.5, f * (geo.height - 1), geo.height - 0.5, f * (geo.height - 1)][side]
        inward = [math.pi / 2, math.pi, -math.pi / 2, 0.0][side] + rng.uniform(-1.0, 1.0)
        ex, ey = geo.ideal_to_site(np.array([u]), np.array([v]))
        ang = inward + geo.rot
        back = rng.uniform(600, 2500)
        x0 = float(ex[0]) - back * math.cos(ang)
        y0 = float(ey[0]) - back * math.sin(ang)
        slot = int(rng.choice(pool))
        diam = float(site.sdiam[slot])
        length = back + rng.uniform(0.5, 2.5) * math.hypot(geo.width, geo.height) * geo.s
        prng = np.random.default_rng(int(rng.integers(1 << 31)))
        chain = hair_chain(
            prng, x0, y0, ang, 0.15, length, 0.0, True, ang, look.curl, LANE_PX * canvas.s
        )
        cx, cy = canvas.to_px(chain.x, chain.y)
        nat = site.scol[slot].astype(np.float64)
        dye = site.sdye[slot].astype(np.float64)
        mix = np.clip((chain.s - site.sroot[slot] + back * 0.0) / 250.0 + 0.5, 0, 1)
        colour = nat[:, None] * (1 - mix)[None] + dye[:, None] * mix[None]
        lum = float(nat @ np.array([0.2126, 0.7152, 0.0722]))
        tip = (float(chain.x[-1]), float(chain.y[-1]), diam)
        st = Strand(
            x=cx.astype(np.float32),
            y=cy.astype(np.float32),
            tx=np.cos(chain.heading).astype(np.float32),
            ty=np.sin(chain.heading).astype(np.float32),
            elev=chain.elev.astype(np.float32),
            r=np.full(chain.s.size, diam / 2 / canvas.s, np.float32),
            s_um=chain.s.astype(np.float32),
            colour=colour.astype(np.float32),
            opacity=np.full(chain.s.size, float(site.sopa[slot]), np.float32),
            length_um=length,
            end=0,
            light_hair=lum > 0.2,
            shine=float(prng.uniform(0.6, 1.3)),
            trt_colour=(
                np.clip(nat, 1e-4, 1) ** 0.5
                / max(float(np.clip(nat, 1e-4, 1).max()) ** 0.5, 1e-3)
                * 0.9
            ).astype(np.float32),
            seed=int(prng.integers(1 << 31)),
            um_per_px=canvas.s,
        )
        out.append((st, tip))
    return out


def _fibres(canvas: Canvas, rng: np.random.Generator) -> list[Strand]:
    x0, y0, x1, y1 = canvas.bounds_um()
    out = []
    for _ in range(int(rng.integers(1, 3))):
        length = rng.uniform(1500, 6000)
        step = LANE_PX * canvas.s
        n = int(length / step)
        turn = np.cumsum(rng.normal(0, 0.02 * math.sqrt(step), n)) + rng.uniform(0, 6.3)
        turn += np.cumsum(np.full(n, rng.choice([-1, 1]) / rng.uniform(300, 1200) * step))
        xs = rng.uniform(x0, x1) + np.cumsum(np.cos(turn)) * step
        ys = rng.uniform(y0, y1) + np.cumsum(np.sin(turn)) * step
        cx, cy = canvas.to_px(xs, ys)
        col = {
            0: np.array([0.05, 0.09, 0.45]),
            1: np.array([0.5, 0.04, 0.05]),
            2: np.array([0.75, 0.75, 0.78]),
        }[int(rng.integers(0, 3))]
        diam = rng.uniform(10, 22)
        out.append(
            Strand(
                x=cx.astype(np.float32),
                y=cy.astype(np.float32),
                tx=np.cos(turn).astype(np.float32),
                ty=np.sin(turn).astype(np.float32),
                elev=np.zeros(n, np.float32),
                r=np.full(n, diam / 2 / canvas.s, np.float32),
                s_um=(np.arange(n) * step).astype(np.float32),
                colour=np.repeat(col[:, None], n, 1).astype(np.float32),
                opacity=np.full(n, 0.8, np.float32),
                length_um=float(n * step),
                end=0,
                light_hair=True,
                shine=0.3,
                seed=int(rng.integers(1 << 31)),
                um_per_px=canvas.s,
            )
        )
    return out


def _scale_label(s: float) -> str:
    return "3-5" if s < 5 else ("5-8" if s < 8 else "8-12")


def _yn(v: bool) -> str:
    return "yes" if v else "no"


def render(
    seed: int,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
    overrides: dict[str, Any],
) -> tuple[np.ndarray, dict[str, Any]]:
    ov = validate_overrides(overrides)
    look: Look = sample_look(seed, ov)
    s = float(um_per_px)
    base_geo = Geometry(width, height, s, k=look.distortion_k, ca=look.chromatic)
    fields = site_fields(stream(seed, "fields"), base_geo)
    site = build_site(seed, look, base_geo, fields)
    visit = build_visit(seed, site, base_geo, regrown, hairless)
    geo = visit.geo
    canvas = Canvas.of(geo)
    vtag: list[int | str] = (
        ["baseline"] if regrown is None else ["regrown", regrown[1] & ((1 << 64) - 1)]
    )
    vrng = stream(seed, "visit-scene", *vtag)
    tone_dark = {1: 0.0, 2: 0.1, 3: 0.3, 4: 0.5, 5: 0.8, 6: 1.0}[look.fitzpatrick]

    scene, furrow = render_skin(look, fields, canvas, stream(seed, "skin"))
    if look.vessels:
        strength = (1.0 if look.light == "polarised" else 0.6) * (1 - 0.6 * tone_dark)
        marks.vessels(
            scene, canvas, stream(seed, "vessels"), look.condition in ("aga", "normal"), strength
        )
    if look.ink:
        marks.ink(scene, canvas, stream(seed, "ink"), furrow)
    del furrow
    _subsurface(scene, canvas, site, visit, tone_dark)
    marks.openings(scene, canvas, site, tone_dark, stream(seed, "openings"))
    flake_rate = {"none": 0.0, "few": 10.0, "many": 40.0}[look.flakes]
    flake_big = {"none": 1.0, "few": 1.0, "many": 1.35}[look.flakes]
    if flake_rate > 0:
        marks.flakes(scene, canvas, vrng, flake_rate * 0.6, flake_big)
    _black_dots(scene, canvas, site, visit)

    pol = look.light == "polarised"
    lrng = stream(seed, "light")
    light = Light(
        ring_elev=math.radians(look.ring_elev_deg),
        n_leds=look.n_leds,
        r_gain=(0.04 if pol else 0.22) * float(lrng.uniform(0.7, 1.2)),
        trt_gain=(0.08 if pol else 0.16) * float(lrng.uniform(0.7, 1.2)),
        phase=float(lrng.uniform(0, 2 * math.pi)) + geo.rot,
        sheen=(0.003 if pol else 0.008) * float(lrng.uniform(0.5, 1.5)),
    )
    acc = np.zeros((4, canvas.h, canvas.w), np.float32)
    owner = np.full((canvas.h, canvas.w), -1, np.int32)  # last shaft drawn opaque here
    m = visit.slots.size
    drawn: list[Drawn | None] = [None] * m
    # order: short hairs first, then the long ones (random order among each)
    order = np.argsort(visit.long_mode.astype(float) * 2 + vrng.random(m))
    x0, y0, x1, y1 = canvas.bounds_um()
    ex = site.sx[visit.slots]
    ey = site.sy[visit.slots]
    dist = np.hypot(
        np.maximum(0, np.maximum(x0 - ex, ex - x1)), np.maximum(0, np.maximum(y0 - ey, ey - y1))
    )
    reach = visit.length + visit.diam + 3 * s + 50.0
    for i in order:
        if visit.kind[i] == BLACK_DOT:
            drawn[i] = Drawn(0.0, None)
            continue
        if dist[i] > reach[i]:
            continue
        strand, d = _strand_for(seed, site, visit, int(i), canvas)
        drawn[i] = d
        if strand is not None:
            d.sid = int(i)
            draw_strand(scene, acc, strand, light, owner, int(i))
    stray_tips: list[tuple[float, float, float, float]] = []
    for k, (st, tip) in enumerate(_strays(seed, site, visit, canvas, vrng)):
        draw_strand(scene, acc, st, light, owner, m + k)
        stray_tips.append((*tip, float(m + k)))
    if flake_rate > 0:
        marks.flakes(scene, canvas, vrng, flake_rate * 0.4, flake_big)
    if look.fibres:
        for k, st in enumerate(_fibres(canvas, vrng)):
            draw_strand(scene, acc, st, light, owner, m + 100000 + k)
    del acc
    if look.bubbles:
        marks.bubbles(scene, canvas, vrng)
    if look.ruler:
        marks.ruler(scene, canvas, stream(seed, "ruler"), width * s, height * s)

    image, info = capture(scene, canvas, geo, look, stream(seed, "sensor", *vtag))
    cover = _Cover(owner, canvas)
    truth = _truth(look, site, visit, geo, drawn, stray_tips, cover, hairless, regrown, info)
    return image, truth


def _add_tip(
    look: Look,
    geo: Geometry,
    cover: _Cover,
    tip: tuple[float, float],
    sid: int,
    cut: bool,
    diam: float,
    tips: list[dict[str, Any]],
    covered_tips: list[dict[str, Any]],
) -> None:
    """A free end inside the frame (and the field stop) goes to ``tips``, or to
    ``covered_tips`` when a later shaft lies over it."""
    tu, tv = geo.site_to_output(np.array([tip[0]]), np.array([tip[1]]))
    tu0, tv0 = float(tu[0]), float(tv[0])
    if not (-0.5 <= tu0 < geo.width - 0.5 and -0.5 <= tv0 < geo.height - 0.5):
        return
    if aperture(look, geo, tu, tv)[0] < 0.5:
        return
    entry = {
        "x_px": round(tu0, 3),
        "y_px": round(tv0, 3),
        "cut": cut,
        "diameter_um": round(diam, 3),
    }
    (covered_tips if cover.covered(tip[0], tip[1], sid) else tips).append(entry)


@dataclass
class _Cover:
    """Which shaft was drawn last (opaque) at each canvas pixel."""

    owner: np.ndarray
    canvas: Canvas

    def covered(self, x: float, y: float, own: int) -> bool:
        """True if a shaft other than ``own`` lies opaque over site point (x, y)."""
        cx, cy = self.canvas.to_px(np.array([x]), np.array([y]))
        j = int(np.clip(np.round(cx[0]), 0, self.canvas.w - 1))
        i = int(np.clip(np.round(cy[0]), 0, self.canvas.h - 1))
        who = int(self.owner[i, j])
        return who not in (-1, own)


def _truth(
    look: Look,
    site: Site,
    visit: Visit,
    geo: Geometry,
    drawn: list[Drawn | None],
    stray_tips: list[tuple[float, float, float, float]],
    cover: _Cover,
    hairless: bool,
    regrown: tuple[float, int] | None,
    info: dict[str, object],
) -> dict[str, Any]:
    w, h, s = geo.width, geo.height, geo.s
    slots = visit.slots
    hairs: list[dict[str, Any]] = []
    shafts: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    masked: list[dict[str, Any]] = []
    tips: list[dict[str, Any]] = []
    covered_tips: list[dict[str, Any]] = []
    if slots.size:
        u, v = geo.site_to_output(site.sx[slots], site.sy[slots])
        inside = (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)
        ap = aperture(look, geo, u, v)
        gap = np.hypot(
            np.maximum(0, np.maximum(-0.5 - u, u - (w - 0.5))),
            np.maximum(0, np.maximum(-0.5 - v, v - (h - 0.5))),
        )
        angles = geo.output_angle(site.stheta[slots] + visit.heading_jitter)
        for i in range(slots.size):
            kind = int(visit.kind[i])
            diam = float(visit.diam[i]) * (0.76 if kind == EXCLAMATION else 1.0)
            pt = {"x_px": round(float(u[i]), 3), "y_px": round(float(v[i]), 3)}
            if inside[i]:
                if ap[i] < 0.5:
                    masked.append(pt)
                    continue
                d = drawn[i]
                own = d.sid if d is not None else -1
                hairs.append({**pt, "diameter_um": round(diam, 3)})
                shafts.append(
                    {
                        "angle_rad": round(float(angles[i]), 5),
                        "length_px": round(d.length_px if d is not None else 0.0, 3),
                        "kind": KIND_NAMES[kind],
                        "end": END_NAMES[int(visit.end[i])],
                        "emergence_covered": cover.covered(
                            float(site.sx[slots[i]]), float(site.sy[slots[i]]), own
                        ),
                    }
                )
            elif gap[i] * s <= 200.0:
                outside.append(pt)
        for i in range(slots.size):
            d = drawn[i]
            if d is None or d.tip is None:
                continue
            kind = int(visit.kind[i])
            diam = float(visit.diam[i]) * (0.76 if kind == EXCLAMATION else 1.0)
            cut = int(visit.end[i]) != END_TAPERED
            _add_tip(look, geo, cover, d.tip, d.sid, cut, diam, tips, covered_tips)
    for tx_, ty_, d_um, sid in stray_tips:
        _add_tip(look, geo, cover, (tx_, ty_), int(sid), True, d_um, tips, covered_tips)
    n = len(hairs)
    area_cm2 = w * h * (s * 1e-4) ** 2
    diams = [hh["diameter_um"] for hh in hairs]
    factors = {
        "hair_length": "hairless" if hairless else look.hair_length,
        "hair_colour": look.hair_colour,
        "skin_tone": look.skin_tone,
        "fitzpatrick": ["I", "II", "III", "IV", "V", "VI"][look.fitzpatrick - 1],
        "scale": _scale_label(s),
        "light": look.light,
        "visit": visit.tag,
        "technique": TECHNIQUE,
        "compression": look.compression,
        "flakes": look.flakes,
        "fibres": _yn(look.fibres),
        "condition": look.condition,
        "curl": look.curl,
        "blur": look.blur,
        "field_stop": "round" if look.field_stop else "none",
        "bubbles": _yn(look.bubbles),
        "vessels": _yn(look.vessels),
        "ink": _yn(look.ink),
        "ruler": _yn(look.ruler),
        "part_line": _yn(look.part_line),
        "yellow_dots": _yn(look.yellow_dots),
        "halos": _yn(look.halos),
        "white_dots": _yn(look.white_dots),
        "led_reflections": _yn(look.led_reflections),
        "black_dots": _yn(any(sh["kind"] == "black_dot" for sh in shafts)),
    }
    params = look.as_json()
    params["hairless"] = bool(hairless)
    params["generator"] = GENERATOR
    kinds = [sh["kind"] for sh in shafts]
    visit_info: dict[str, Any] = {
        "kind": visit.tag,
        "factor": None if regrown is None else float(regrown[0]),
        "seed": None if regrown is None else int(regrown[1]),
        "rotation_deg": round(math.degrees(geo.rot), 4),
        "shift_um": [round(geo.tx, 3), round(geo.ty, 3)],
        "hairs_at_site": int(slots.size),
        "new_hairs_at_site": int(visit.new.sum()),
        "shed_at_site": visit.shed,
        "grown_at_site": visit.grown,
        "hairs_in_frame": n,
        "hidden_by_field_stop": len(masked),
        "kinds_in_frame": {k: kinds.count(k) for k in sorted(set(kinds))},
        "regrowing_in_frame": kinds.count(KIND_NAMES[REGROWING]),
        **info,
    }
    return {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": s,
        "hairs": hairs,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diams)) if diams else 0.0,
        "vellus_fraction": float(np.mean([dd < 30.0 for dd in diams])) if diams else 0.0,
        "tips": tips,
        "tips_covered": covered_tips,
        "emergence_outside": outside,
        "emergence_masked": masked,
        "factors": factors,
        "params": params,
        "visit": visit_info,
        "shafts": shafts,
    }
