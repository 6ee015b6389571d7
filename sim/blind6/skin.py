"""Scalp skin of blind-6, drawn once per scalp on a canvas a little larger than the frame
(so that a follow-up visit, moved and turned, sees the same skin).

Fields: a Gray-Scott reaction-diffusion tile (the honeycomb pigment network and the pores
in its holes), mapped onto the scalp with a warp; value-noise octaves (mottling, fine
texture, redness); furrows from the zero lines of a noise. They are mixed in Oklab around
the frame's skin colour and turned to linear RGB. Then, in linear RGB: vessels (ribbons,
blurred under the epidermis), follicular openings (plain, yellow dots, white dots),
perifollicular redness, pinpoint white dots, diffuse scale, flakes (polygons) and, without
polarisation, sebum shine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sim.blind6.colour import oklab_to_linear
from sim.blind6.hairs import Pool
from sim.blind6.noise import gray_scott, noise_grid
from sim.blind6.raster import Raster, fan_quads, ribbon_quads
from sim.blind6.rng import OVERLAY, SKIN, stream
from sim.blind6.scene import Scene

Arr = npt.NDArray[Any]


@dataclass
class SkinLayers:
    rgb: Arr  # (hc, wc, 3) linear RGB
    margin: int
    over_alpha: Arr | None = None  # flakes lying over the hairs
    over_rgb: Arr | None = None
    params: dict[str, Any] = field(default_factory=dict)


def canvas_margin(width: int, height: int) -> int:
    return math.ceil(0.02 * max(width, height) + 0.0175 * math.hypot(width, height)) + 6


def minc_of(sc: Scene) -> float:
    return 1.6 * sc.um_per_px


def _smooth(x: Arr, lo: float, hi: float) -> Arr:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t))


def stamp(
    rgb: Arr, cx: float, cy: float, radius: float, mul: Arr, add: Arr, kind: str, ext: float
) -> None:
    """A soft round mark centred at (cx, cy) px: rgb -> rgb * (1 - w (1 - mul)) + w add."""
    hc, wc = rgb.shape[:2]
    reach = radius * ext + 1.5
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, wc)
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, hc)
    if x0 >= x1 or y0 >= y1:
        return
    xx = np.arange(x0, x1) - cx
    yy = np.arange(y0, y1)[:, None] - cy
    rr = np.sqrt(xx * xx + yy * yy) / max(radius, 0.3)
    if kind == "gauss":
        w = np.exp(-2.0 * rr * rr)
    elif kind == "disc":
        # a disc with a soft edge about a pixel wide
        w = np.clip((1.0 - rr) * radius + 0.5, 0.0, 1.0)
    else:  # ring
        w = np.exp(-(((rr - 1.0) / 0.35) ** 2))
    w = w.astype(np.float32)[..., None]
    patch = rgb[y0:y1, x0:x1]
    patch *= 1.0 - w * (1.0 - mul.astype(np.float32))
    patch += w * add.astype(np.float32)


def _network(
    g: np.random.Generator, sc: Scene, xs: Arr, ys: Arr, period: float
) -> tuple[Arr, dict[str, float]]:
    """Holes of a reaction-diffusion net, in [0, 1]: 1 at the hole centres, 0 on the net's
    ridges. A periodic Gray-Scott tile in its spot regime (the spots are the holes, widened
    by a blur) is laid on the scalp turned, and warped at two scales so that neither its
    lattice nor its repeats show."""
    feed = float(g.uniform(0.0245, 0.027))
    kill = float(g.uniform(0.059, 0.0605))
    n = 80
    spots = gray_scott(g, n, feed, kill, 1500)
    spots = ndimage.gaussian_filter(spots, float(g.uniform(0.8, 1.6)), mode="wrap")
    lo, hi = float(np.percentile(spots, 2)), float(np.percentile(spots, 99.5))
    tile = np.clip((spots - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)
    cell = period / 12.0
    s = sc.um_per_px
    warp_x = noise_grid(g, xs, ys, period * 2.0, 2, min_cell=s) * 1.6
    warp_y = noise_grid(g, xs, ys, period * 2.0, 2, min_cell=s) * 1.6
    warp_x += noise_grid(g, xs, ys, period * 14.0, 2) * 9.0
    warp_y += noise_grid(g, xs, ys, period * 14.0, 2) * 9.0
    out = np.empty((ys.size, xs.size), dtype=np.float32)
    th = float(g.uniform(0, 2 * math.pi))
    offs = g.uniform(0, n, 2)
    rows = max(1, 2_000_000 // max(xs.size, 1))
    c, sn = math.cos(th), math.sin(th)
    for r0 in range(0, ys.size, rows):
        r1 = min(ys.size, r0 + rows)
        yy = ys[r0:r1, None]
        xx = xs[None, :]
        tx = (c * xx + sn * yy) / cell + offs[0] + warp_x[r0:r1]
        ty = (-sn * xx + c * yy) / cell + offs[1] + warp_y[r0:r1]
        out[r0:r1] = ndimage.map_coordinates(
            tile, [ty.ravel(), tx.ravel()], order=1, mode="grid-wrap"
        ).reshape(r1 - r0, xs.size)
    return out, {"rd_feed": feed, "rd_kill": kill, "rd_period_um": period}


def render_skin(seed: int, sc: Scene, pool: Pool, bare: Arr | None = None) -> SkinLayers:
    """The skin canvas; ``bare``: per pool unit, whether its opening is left undrawn."""
    g = stream(seed, SKIN)
    s = sc.um_per_px
    m = canvas_margin(sc.width, sc.height)
    wc, hc = sc.width + 2 * m, sc.height + 2 * m
    xs = (np.arange(wc) - m - (sc.width - 1) / 2.0) * s
    ys = (np.arange(hc) - m - (sc.height - 1) / 2.0) * s
    minc = 1.6 * s
    tone = sc.skin_tone
    light = sc.light
    p: dict[str, Any] = {}
    L0, a0, b0 = sc.skin_lab
    mott = noise_grid(g, xs, ys, float(g.uniform(600, 1600)), 3, min_cell=minc)
    mid = noise_grid(g, xs, ys, float(g.uniform(90, 220)), 2, min_cell=minc)
    micro = noise_grid(g, xs, ys, max(12.0, 2.5 * s), 2, min_cell=minc)
    ery = noise_grid(g, xs, ys, float(g.uniform(800, 2600)), 2, min_cell=minc)
    f_cell = float(g.uniform(250, 800))
    fur = noise_grid(g, xs, ys, f_cell, 2, min_cell=minc)
    f_width = max(float(g.uniform(15, 45)), 0.8 * s)
    lines = np.exp(-((fur / (1.3 * f_width / f_cell)) ** 2))
    period = float(g.uniform(90, 210))
    holes, rd = _network(g, sc, xs, ys, period)
    hole_edge = float(g.uniform(0.2, 0.45))
    net = 1.0 - _smooth(holes, 0.02, hole_edge)
    p.update(rd)
    net_amt = {
        "light": float(g.uniform(0.0, 0.016)),
        "medium": float(g.uniform(0.01, 0.04)),
        "dark": float(g.uniform(0.025, 0.09)),
    }[tone]
    micro_c = float(g.uniform(0.008, 0.03))
    furrow_d = float(g.uniform(0.0, 0.04))
    ery_amp = float(g.uniform(0.0, 0.035))
    if light == "immersion":
        micro_c *= 0.45
        furrow_d *= 0.45
    chroma = {"polarised": 1.18, "non-polarised": 0.88, "immersion": 1.0}[light]
    p.update(
        net_amount=net_amt,
        micro_contrast=micro_c,
        furrow_depth=furrow_d,
        furrow_cell_um=f_cell,
        furrow_width_um=f_width,
        redness=ery_amp,
        chroma=chroma,
    )
    # the network is patchy: strong in places, faint in others
    pig = net * (0.35 + 0.65 * _smooth(noise_grid(g, xs, ys, period * 6.0, 2), -0.5, 0.5))
    lab_l = L0 + 0.03 * mott + 0.012 * mid + micro_c * micro - net_amt * pig - furrow_d * lines
    lab_a = (a0 + ery_amp * _smooth(ery, -0.1, 0.7) + 0.006 * mid + 0.1 * net_amt * pig) * chroma
    lab_b = (b0 + 0.45 * net_amt * pig + 0.008 * mott) * chroma
    del mott, mid, fur
    rgb = oklab_to_linear(lab_l.astype(np.float32), lab_a.astype(np.float32), lab_b)
    del lab_l, lab_a, lab_b
    base = rgb.reshape(-1, 3).mean(0)
    # pores in the net's holes: pinpoint white dots on darker skin, faint dark dots on light
    pores = _smooth(holes, float(g.uniform(0.8, 0.92)), 1.0)
    t0 = float(g.uniform(0.2, 0.6))
    pores *= _smooth(noise_grid(g, xs, ys, period * 1.4, 2, min_cell=minc), t0, t0 + 0.2)
    if tone == "light":
        pore_k = float(g.uniform(0.0, 0.15))
        rgb *= (1.0 - pore_k * pores)[..., None]
    else:
        pore_k = float(g.uniform(0.15, 0.55))
        white = np.array([0.78, 0.74, 0.7], dtype=np.float32) * (0.6 + 0.4 * base.max() / 0.5)
        rgb += (pore_k * pores)[..., None] * (white - rgb)
    p["pores"] = pore_k
    del pores, net, holes
    cr = Raster(wc, hc)
    _vessels(g, sc, rgb, cr, xs, ys, m, p)
    _openings(g, sc, rgb, pool, m, p, bare)
    # diffuse scale
    scale_amt = float(g.choice([0.0, g.uniform(0.03, 0.25)], p=[0.5, 0.5]))
    if light == "immersion":
        scale_amt *= 0.35
    if scale_amt > 0:
        sfield = _smooth(noise_grid(g, xs, ys, float(g.uniform(300, 900)), 3), 0.1, 0.6)
        sfield *= 0.8 + 0.2 * micro
        flake_col = np.array([0.82, 0.8, 0.74], dtype=np.float32)
        rgb += (scale_amt * sfield)[..., None] * (flake_col - rgb)
    p["diffuse_scale"] = scale_amt
    layers = SkinLayers(rgb, m, params=p)
    _flakes(g, sc, layers, cr, micro, xs, ys)
    if light == "non-polarised":
        spec = sc.specular
        shine = _smooth(noise_grid(g, xs, ys, float(g.uniform(400, 1500)), 2), 0.0, 0.7)
        glint = np.clip(micro - 0.35, 0.0, None) * 2.5
        amount = float(g.uniform(0.05, 0.25)) * spec
        rgb += (amount * shine * (0.4 + glint))[..., None]
        p["shine"] = amount
    return layers


def _vessels(
    g: np.random.Generator,
    sc: Scene,
    rgb: Arr,
    cr: Raster,
    xs: Arr,
    ys: Arr,
    m: int,
    p: dict[str, Any],
) -> None:
    s = sc.um_per_px
    hc, wc = rgb.shape[:2]
    kind = str(g.choice(["none", "dotted", "loops", "arborising"], p=[0.3, 0.25, 0.2, 0.25]))
    area_mm2 = wc * hc * s * s * 1e-6
    strength = float(g.uniform(0.25, 0.7)) * (1.3 if sc.light == "polarised" else 0.8)
    p["vessels"] = kind
    p["vessel_strength"] = strength
    if kind == "none":
        return
    buf = np.zeros(wc * hc, dtype=np.float32)
    quads: list[Arr] = []
    if kind == "dotted":
        n = int(g.poisson(area_mm2 * g.uniform(2, 25)))
        for _ in range(n):
            c = np.array([g.uniform(0, wc), g.uniform(0, hc)])
            r = g.uniform(6, 18) / s
            ang = np.linspace(0, 2 * math.pi, 10, endpoint=False)
            quads.append(fan_quads(c, c + r * np.stack([np.cos(ang), np.sin(ang)], 1)))
    else:
        loops = kind == "loops"
        n = int(g.poisson(area_mm2 * (g.uniform(3, 12) if loops else g.uniform(0.3, 1.5))))
        for _ in range(n):
            start = np.array([g.uniform(0, wc), g.uniform(0, hc)])
            length = (g.uniform(60, 220) if loops else g.uniform(400, 2500)) / s
            k = 24 if loops else 40
            turn = g.normal(0, 0.9 if loops else 0.25, k).cumsum() + g.uniform(0, 2 * math.pi)
            steps = np.stack([np.cos(turn), np.sin(turn)], 1) * (length / k)
            pts = start + np.vstack([[0, 0], steps.cumsum(0)])
            width = g.uniform(7, 14) if loops else g.uniform(8, 26)
            half = np.full(pts.shape[0], max(width / 2 / s, 0.5))
            if not loops:
                half *= np.linspace(1.0, 0.5, pts.shape[0])
            qd, _ = ribbon_quads(pts, half)
            quads.append(qd)
    if not quads:
        return
    hits = cr.quads(np.concatenate(quads), want_st=False)
    buf[hits.idx] = hits.cover
    img = buf.reshape(hc, wc)
    img = ndimage.gaussian_filter(img, max(0.6, float(g.uniform(6, 18)) / s))
    hb = np.array([0.88, 0.3, 0.34], dtype=np.float32)
    rgb *= 1.0 - (strength * np.clip(img, 0, 1))[..., None] * (1.0 - hb)


def _openings(
    g: np.random.Generator,
    sc: Scene,
    rgb: Arr,
    pool: Pool,
    m: int,
    p: dict[str, Any],
    bare: Arr | None,
) -> None:
    s = sc.um_per_px
    units = pool.openings()
    cx0 = m + (sc.width - 1) / 2.0
    cy0 = m + (sc.height - 1) / 2.0
    depth = float(g.uniform(0.15, 0.5))
    red_share = float(g.choice([0.0, g.uniform(0.1, 0.6)], p=[0.6, 0.4]))
    lum = float(rgb.reshape(-1, 3).mean())
    p.update(opening_depth=depth, perifollicular_red=red_share, openings=int(units.size))
    open_tint = np.array([1.0 - depth, 1.0 - depth * 1.15, 1.0 - depth * 1.05])
    yellow_mul = np.array([0.98, 0.88, 0.6])
    yellow_add = np.array([0.1, 0.07, 0.0]) * (0.5 + lum)
    white_add = np.array([0.5, 0.49, 0.47])
    red_mul = np.array([1.0, 0.8, 0.84])
    hc, wc = rgb.shape[:2]
    for u in units:
        px = pool.x[u] / s + cx0
        py = pool.y[u] / s + cy0
        r = pool.open_r[u] / s
        if px < -8 * r - 4 or py < -8 * r - 4 or px > wc + 8 * r + 4 or py > hc + 8 * r + 4:
            continue
        ur = g.random(3)
        if bare is not None and bare[u]:  # its draw made all the same: the others keep theirs
            continue
        if ur[0] < red_share:
            stamp(rgb, px, py, r * (3.0 + 2.5 * ur[1]), red_mul, np.zeros(3), "gauss", 2.2)
        kind = int(pool.open_kind[u])
        if kind == 1:
            rad = r * (1.6 + 1.8 * ur[2])
            stamp(rgb, px, py, rad, yellow_mul, yellow_add, "disc", 1.2)
            stamp(rgb, px, py, rad * 0.95, np.array([0.9, 0.85, 0.8]), np.zeros(3), "ring", 1.6)
        elif kind == 2:
            rad = r * (1.3 + 1.5 * ur[2])
            stamp(rgb, px, py, rad, np.full(3, 0.45), white_add, "disc", 1.2)
        stamp(rgb, px, py, r, open_tint, np.zeros(3), "gauss", 2.0)


def _flake_quads(g: np.random.Generator, n: int, wc: int, hc: int, s: float) -> Arr:
    """Star-shaped polygons with ragged edges (two harmonics of radius noise)."""
    quads: list[Arr] = []
    for _ in range(n):
        c = np.array([g.uniform(-20, wc + 20), g.uniform(-20, hc + 20)])
        r = float(np.exp(g.uniform(math.log(25), math.log(260)))) / s
        k = int(g.integers(18, 34))
        ang = np.sort(g.uniform(0, 2 * math.pi, k))
        ph = g.uniform(0, 2 * math.pi, 4)
        rad = r * (
            0.72
            + 0.18 * np.sin(2 * ang + ph[0])
            + 0.1 * np.sin(3 * ang + ph[1])
            + 0.07 * np.sin(5 * ang + ph[2])
            + 0.05 * np.sin(8 * ang + ph[3])
            + g.uniform(-0.15, 0.15, k)
        )
        stretch = g.uniform(1.0, 2.0)
        rot = g.uniform(0, math.pi)
        xx = rad * np.cos(ang) * stretch
        yy = rad * np.sin(ang)
        cr, sr = math.cos(rot), math.sin(rot)
        ring = np.stack([c[0] + xx * cr - yy * sr, c[1] + xx * sr + yy * cr], 1)
        quads.append(fan_quads(c, ring))
    return np.concatenate(quads) if quads else np.zeros((0, 4, 2))


def _flakes(
    g: np.random.Generator,
    sc: Scene,
    layers: SkinLayers,
    cr: Raster,
    micro: Arr,
    xs: Arr,
    ys: Arr,
) -> None:
    rgb = layers.rgb
    s = sc.um_per_px
    hc, wc = rgb.shape[:2]
    area_mm2 = wc * hc * s * s * 1e-6
    rate = float(g.choice([0.0, g.uniform(0.1, 1.0), g.uniform(1.0, 3.5)], p=[0.5, 0.35, 0.15]))
    n = int(g.poisson(area_mm2 * rate))
    layers.params["flakes_per_mm2"] = rate
    opac = float(g.uniform(0.2, 0.6))
    if sc.light == "immersion":
        opac *= 0.35
    elif sc.light == "non-polarised":
        opac = min(1.0, opac * 1.25)
    col = np.array([0.86, 0.84, 0.78], dtype=np.float32) * float(g.uniform(0.85, 1.05))
    if sc.light == "polarised":
        col = col * np.array([1.0, 0.96, 0.86], dtype=np.float32)
    layers.params["flake_opacity"] = opac
    if n == 0:
        return
    soft = max(0.5, 4.0 / s)
    hits = cr.quads(_flake_quads(g, n, wc, hc, s), want_st=False)
    cov = np.zeros(wc * hc, dtype=np.float32)
    cov[hits.idx] = hits.cover
    cov2 = ndimage.gaussian_filter(cov.reshape(hc, wc), soft)
    # a raised, brighter rim where the flake's edge lifts off
    rim = np.clip(cov2 * (1.0 - cov2) * 4.0, 0.0, 1.0)
    lumpy = noise_grid(g, xs, ys, float(g.uniform(60.0, 160.0)), 2, min_cell=minc_of(sc))
    tex = 0.35 + 0.65 * np.clip(lumpy * 1.2 + 0.45, 0.0, 1.0) * (0.9 + 0.1 * micro)
    a = (cov2 * opac * tex + 0.25 * opac * rim)[..., None]
    rgb *= 1.0 - a
    rgb += a * col
    del cov, cov2, rim
    # a few flakes lie over the hairs (drawn after them): a separate layer
    go = stream(int(g.integers(0, 2**62)), OVERLAY)
    n_over = int(go.poisson(n * 0.12))
    if n_over == 0:
        return
    hits = cr.quads(_flake_quads(go, n_over, wc, hc, s * 1.6), want_st=False)
    alpha = np.zeros(wc * hc, dtype=np.float32)
    alpha[hits.idx] = hits.cover
    over = ndimage.gaussian_filter(alpha.reshape(hc, wc), soft) * opac * 0.7 * tex
    layers.over_alpha = over.astype(np.float32)
    layers.over_rgb = col
