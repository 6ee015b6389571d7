"""Everything on the scalp that is not a hair shaft: follicular openings and their signs,
pinpoint white dots, yellow dots, peripilar halos, perifollicular scale, vessels, marker ink,
dandruff flakes, air bubbles in the immersion gel, a ruler edge, stray fibres.

Round marks are radial profiles stamped in windows and summed with ``np.bincount``; flakes are
star-shaped polygons given by a few harmonics of their radius; vessels and ink strokes are
chains of point masses, deposited and then blurred (they lie under the epidermis or soak it).
All positions are site micrometres; the scene is planar linear RGB (3, h, w).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from sim.blind4.geometry import Canvas
from sim.blind4.site import Site, srgb_to_linear
from sim.blind4.spectral import ring_waves, smoothstep

Profile = Callable[[np.ndarray, np.ndarray], np.ndarray]


def prof_gauss(rho: np.ndarray, rad_px: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(-2.2 * rho * rho))


def prof_disc(rho: np.ndarray, rad_px: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip((1.0 - rho) * rad_px + 0.5, 0.0, 1.0))


def prof_soft_disc(rho: np.ndarray, rad_px: np.ndarray) -> np.ndarray:
    return np.asarray(smoothstep(1.15, 0.7, rho))


def prof_ring(rho: np.ndarray, rad_px: np.ndarray) -> np.ndarray:
    return np.exp(-(((rho - 0.85) / 0.28) ** 2))


def stamp(
    canvas: Canvas,
    x_um: np.ndarray,
    y_um: np.ndarray,
    rad_um: np.ndarray,
    profile: Profile,
    amp: np.ndarray | float,
    ext: float = 1.6,
    wobble: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of radial stamps at site points; ``wobble`` (n, 3): amplitude, harmonic, phase of
    an angular modulation of the radius."""
    h, w = canvas.h, canvas.w
    out = np.zeros(h * w, np.float64)
    if len(x_um) == 0:
        return out.reshape(h, w).astype(np.float32)
    cx, cy = canvas.to_px(x_um, y_um)
    rad = np.maximum(np.asarray(rad_um, float) / canvas.s, 0.35)
    reach = rad * ext + 1.5
    vis = (cx > -reach) & (cx < w - 1 + reach) & (cy > -reach) & (cy < h - 1 + reach)
    if not np.any(vis):
        return out.reshape(h, w).astype(np.float32)
    cx, cy, rad = cx[vis], cy[vis], rad[vis]
    amp = np.broadcast_to(np.asarray(amp, float), vis.shape)[vis]
    wob = None if wobble is None else wobble[vis]
    big = np.ceil(rad * ext).astype(np.int64) + 1
    keys = np.ceil(np.log2(big) * 2).astype(np.int64)
    for key in np.unique(keys):
        sel = np.flatnonzero(keys == key)
        rb = int(big[sel].max())
        off = np.arange(-rb, rb + 1)
        oxg, oyg = np.meshgrid(off, off)
        oxf = oxg.ravel()
        oyf = oyg.ravel()
        # chunk so that no batch holds more than about four million taps
        per = max(1, 4_000_000 // oxf.size)
        for a in range(0, sel.size, per):
            ss = sel[a : a + per]
            bx = np.round(cx[ss]).astype(np.int64)
            by = np.round(cy[ss]).astype(np.int64)
            gx = bx[:, None] + oxf[None, :]
            gy = by[:, None] + oyf[None, :]
            dx = gx - cx[ss][:, None]
            dy = gy - cy[ss][:, None]
            r_loc = rad[ss][:, None]
            if wob is not None:
                th = np.arctan2(dy, dx)
                wb = wob[ss]
                r_loc = r_loc * (1.0 + wb[:, 0:1] * np.cos(wb[:, 1:2] * th + wb[:, 2:3]))
            rho = np.hypot(dx, dy) / r_loc
            val = profile(rho, r_loc) * amp[ss][:, None]
            ok = (gx >= 0) & (gx < w) & (gy >= 0) & (gy < h) & (val > 1e-4)
            out += np.bincount((gy * w + gx)[ok], val[ok], minlength=h * w)
    return out.reshape(h, w).astype(np.float32)


def tint(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """img <- img*(1-a) + a*colour, colour (3,) linear."""
    a = np.clip(alpha, 0, 1)
    for c in range(3):
        img[c] += a * (np.float32(colour[c]) - img[c])


def darken(img: np.ndarray, amount: np.ndarray, colour: np.ndarray) -> None:
    """Multiply by a transmission tinted ``colour`` (3,) in proportion to ``amount``."""
    a = np.clip(amount, 0, 1)
    for c in range(3):
        img[c] *= 1.0 - a * (1.0 - np.float32(colour[c]))


def chain_deposit(canvas: Canvas, xs: np.ndarray, ys: np.ndarray, wts: np.ndarray) -> np.ndarray:
    """Bilinear deposit of point masses at site points (a density per pixel)."""
    h, w = canvas.h, canvas.w
    cx, cy = canvas.to_px(xs, ys)
    ix = np.floor(cx).astype(np.int64)
    iy = np.floor(cy).astype(np.int64)
    fx = cx - ix
    fy = cy - iy
    out = np.zeros(h * w, np.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            gx = ix + dx
            gy = iy + dy
            ok = (gx >= 0) & (gx < w) & (gy >= 0) & (gy < h)
            out += np.bincount((gy * w + gx)[ok], (wts * wx * wy)[ok], minlength=h * w)
    return out.reshape(h, w).astype(np.float32)


def random_walk(
    rng: np.random.Generator,
    x0: float,
    y0: float,
    ang: float,
    length: float,
    step: float,
    wig: float,
) -> tuple[np.ndarray, np.ndarray]:
    n = max(2, int(length / step))
    turn = np.cumsum(rng.normal(0, wig, n)) + ang
    x = x0 + np.cumsum(np.cos(turn)) * step
    y = y0 + np.cumsum(np.sin(turn)) * step
    return x, y


def vessels(
    img: np.ndarray, canvas: Canvas, rng: np.random.Generator, dotted: bool, strength: float
) -> None:
    """Arborising telangiectasia (and dotted / comma vessels) under the epidermis."""
    x0, y0, x1, y1 = canvas.bounds_um()
    area = (x1 - x0) * (y1 - y0) / 1e8
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    step = max(canvas.s * 0.5, 2.0)
    n_trunks = int(rng.integers(1, 4) + area * rng.uniform(2, 10))
    for _ in range(n_trunks):
        sx, sy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        width = rng.uniform(12, 30)
        ln = rng.uniform(600, 3000)
        vx, vy = random_walk(rng, sx, sy, rng.uniform(0, 2 * math.pi), ln, step, 0.07 * step / 5)
        xs.append(vx)
        ys.append(vy)
        ws.append(np.full(vx.size, width * step))
        for _ in range(int(rng.integers(0, 4))):
            k = int(rng.integers(0, vx.size))
            bx, by = random_walk(
                rng,
                vx[k],
                vy[k],
                rng.uniform(0, 2 * math.pi),
                ln * rng.uniform(0.2, 0.5),
                step,
                0.1 * step / 5,
            )
            xs.append(bx)
            ys.append(by)
            ws.append(np.full(bx.size, 0.6 * width * step))
    if dotted:
        n_dots = int(area * rng.uniform(20, 90))
        for _ in range(n_dots):
            sx, sy = rng.uniform(x0, x1), rng.uniform(y0, y1)
            ln = rng.uniform(30, 200)
            vx, vy = random_walk(rng, sx, sy, rng.uniform(0, 6.3), ln, step, 0.4 * step / 5)
            xs.append(vx)
            ys.append(vy)
            ws.append(np.full(vx.size, rng.uniform(20, 35) * step))
    if not xs:
        return
    dens = chain_deposit(canvas, np.concatenate(xs), np.concatenate(ys), np.concatenate(ws))
    sig = max(0.7, 12.0 / canvas.s)
    dens = ndimage.gaussian_filter(dens, sig) / (canvas.s * canvas.s)
    amount = 1.0 - np.exp(-dens * 0.55 * strength)
    darken(img, amount, np.array([0.92, 0.38, 0.42]))


def openings(
    img: np.ndarray, canvas: Canvas, site: Site, tone_dark: float, rng: np.random.Generator
) -> None:
    """Follicular openings, peripilar halos, yellow dots, perifollicular scale, white dots."""
    vis = site.okind < 2
    ox, oy = site.ox[vis], site.oy[vis]
    n = ox.size
    has = site.on0[vis] > 0
    rad = site.orad[vis]
    # peripilar brown halo
    halo = site.o_halo[vis]
    if np.any(halo):
        hr = rng.uniform(110, 240, n)[halo]
        a = stamp(canvas, ox[halo], oy[halo], hr, prof_gauss, rng.uniform(0.18, 0.38, halo.sum()))
        darken(img, a, np.array([0.55, 0.42, 0.33]))
    # the ostium: a slight depression, darker and pinker
    a = stamp(canvas, ox, oy, rad * 1.2, prof_gauss, np.where(has, 0.16, 0.12))
    darken(img, a, np.array([0.78, 0.62, 0.62]))
    # yellow dots: empty openings plugged with sebum and keratin
    yel = site.o_yellow[vis]
    if np.any(yel):
        yr = rng.uniform(45, 140, n)[yel]
        wob = np.stack(
            [
                rng.uniform(0.02, 0.08, yel.sum()),
                rng.integers(2, 4, yel.sum()),
                rng.uniform(0, 6.3, yel.sum()),
            ],
            -1,
        ).astype(float)
        core = stamp(
            canvas,
            ox[yel],
            oy[yel],
            yr,
            prof_soft_disc,
            rng.uniform(0.55, 0.9, yel.sum()),
            1.3,
            wob,
        )
        rim = stamp(canvas, ox[yel], oy[yel], yr * 1.05, prof_ring, 0.35, 1.5, wob)
        darken(img, rim, np.array([0.8, 0.55, 0.3]))
        tint(img, core, srgb_to_linear(np.array([228.0, 192.0, 112.0])) * (1.0 - 0.25 * tone_dark))
    # perifollicular scale: a whitish, ragged collar where hairs emerge
    sc = site.o_scale[vis]
    if np.any(sc):
        m = int(sc.sum())
        wob = np.stack(
            [rng.uniform(0.04, 0.12, m), rng.integers(2, 4, m), rng.uniform(0, 6.3, m)], -1
        ).astype(float)
        col = stamp(
            canvas,
            ox[sc],
            oy[sc],
            rng.uniform(70, 160, m),
            prof_gauss,
            rng.uniform(0.15, 0.4, m),
            1.6,
            wob,
        )
        col *= 0.8 + 0.2 * np.clip(ring_waves(rng, canvas, 30.0, n=4), -1, 1)
        tint(img, col, srgb_to_linear(np.array([234.0, 228.0, 212.0])))
    # pinpoint white dots (eccrine ducts, empty openings)
    if site.wx.size:
        wa = (0.45 + 0.45 * tone_dark) * rng.uniform(0.6, 1.0, site.wx.size)
        a = stamp(canvas, site.wx, site.wy, site.wr, prof_soft_disc, wa, 1.3)
        tint(
            img,
            a,
            srgb_to_linear(np.array([222.0, 214.0, 206.0])) * (0.85 + 0.15 * (1 - tone_dark)),
        )


def ink(img: np.ndarray, canvas: Canvas, rng: np.random.Generator, furrows: np.ndarray) -> None:
    """A skin-marker stroke or dot: uneven uptake, pooling in the furrows."""
    x0, y0, x1, y1 = canvas.bounds_um()
    colours = {
        "violet": np.array([0.42, 0.2, 0.6]),
        "blue": np.array([0.2, 0.3, 0.7]),
        "black": np.array([0.12, 0.12, 0.14]),
        "green": np.array([0.25, 0.55, 0.35]),
    }
    name = str(rng.choice(list(colours)))
    width = rng.uniform(350, 1200)
    step = max(canvas.s, 4.0)
    cx = rng.uniform(x0, x1)
    cy = rng.uniform(y0, y1)
    if rng.random() < 0.6:
        xs, ys = random_walk(rng, cx, cy, rng.uniform(0, 6.3), rng.uniform(2000, 9000), step, 0.01)
    else:
        xs, ys = np.array([cx]), np.array([cy])
        width *= 1.6
    dens = chain_deposit(canvas, xs, ys, np.full(xs.size, step))
    sig = width / 2.6 / canvas.s
    dens = (
        ndimage.gaussian_filter(dens, sig, truncate=3.0) * (sig * math.sqrt(2 * math.pi)) / canvas.s
    )
    if xs.size == 1:
        dens = dens * (sig * math.sqrt(2 * math.pi))
    mask = smoothstep(0.25, 0.55, dens)
    tex = ring_waves(rng, canvas, rng.uniform(40, 120), n=6)
    cov = mask * np.clip(0.6 + 0.2 * tex + 0.35 * furrows, 0, 1) * rng.uniform(0.6, 0.95)
    darken(img, cov, colours[name])


def flakes(
    img: np.ndarray, canvas: Canvas, rng: np.random.Generator, count_per_cm2: float, big: float
) -> None:
    """Dandruff: translucent white-yellow flakes with brighter, thicker rims."""
    x0, y0, x1, y1 = canvas.bounds_um()
    area = (x1 - x0) * (y1 - y0) / 1e8
    n = int(rng.poisson(count_per_cm2 * area))
    if n == 0:
        return
    h, w = canvas.h, canvas.w
    fx = rng.uniform(x0, x1, n)
    fy = rng.uniform(y0, y1, n)
    r0 = np.clip(np.exp(rng.normal(math.log(130 * big), 0.6, n)), 40, 1400)
    acc_a = np.zeros(h * w)
    acc_c = np.zeros(h * w)
    cx, cy = canvas.to_px(fx, fy)
    ks = np.arange(2, 10)
    for i in range(n):
        rp = r0[i] / canvas.s * 1.6 + 2
        xa, xb = int(max(0, cx[i] - rp)), int(min(w, cx[i] + rp + 1))
        ya, yb = int(max(0, cy[i] - rp)), int(min(h, cy[i] + rp + 1))
        if xb <= xa or yb <= ya:
            continue
        gx, gy = np.meshgrid(np.arange(xa, xb), np.arange(ya, yb))
        dx = (gx - cx[i]) * canvas.s
        dy = (gy - cy[i]) * canvas.s
        th = np.arctan2(dy, dx)
        amps = rng.uniform(0, 0.22, ks.size) / ks**0.7
        phs = rng.uniform(0, 2 * math.pi, ks.size)
        rr = np.full(th.shape, r0[i])
        for k, a, p in zip(ks, amps, phs, strict=True):
            rr += r0[i] * a * np.cos(k * th + p)
        rr *= np.float64(rng.uniform(0.55, 1.0)) ** np.abs(np.sin(th - rng.uniform(0, 6.3)))
        d = np.hypot(dx, dy)
        inside = np.clip((rr - d) / canvas.s + 0.5, 0, 1)
        rim_w = max(6.0, 0.08 * r0[i])
        rim = np.exp(-((((rr - d) - rim_w * 0.5) / rim_w) ** 2)) * inside
        # layered keratin: blotchy translucency at a few tens of um
        hh_, ww_ = gx.shape
        cs = max(1, round(rng.uniform(15, 45) / canvas.s))
        small = rng.random(((hh_ + cs - 1) // cs + 2, (ww_ + cs - 1) // cs + 2))
        layer = ndimage.zoom(small, cs, order=1)[:hh_, :ww_]
        base = rng.uniform(0.16, 0.5)
        edge_soft = np.clip((rr - d) / (0.35 * r0[i]), 0, 1) ** 0.6
        alpha = inside * base * (0.35 + 0.45 * layer + 0.2 * edge_soft) + 0.12 * rim
        bright = 0.9 + 0.1 * rim
        flat = (gy * w + gx).ravel()
        acc_a[flat] = 1 - (1 - acc_a[flat]) * (1 - np.clip(alpha.ravel(), 0, 0.95))
        acc_c[flat] = np.maximum(acc_c[flat], (bright * inside).ravel())
    a = acc_a.reshape(h, w).astype(np.float32)
    col = srgb_to_linear(np.array([240.0, 236.0, 222.0])) * rng.uniform(0.9, 1.02)
    if rng.random() < 0.4:  # greasy, yellowish scale
        col = col * np.array([1.0, 0.95, 0.8])
    tint(img, a, col)


def bubbles(img: np.ndarray, canvas: Canvas, rng: np.random.Generator) -> None:
    """Air bubbles trapped in the immersion gel under the glass."""
    x0, y0, x1, y1 = canvas.bounds_um()
    area = (x1 - x0) * (y1 - y0) / 1e8
    n = int(rng.integers(1, 4) + rng.poisson(area * 6))
    bx = rng.uniform(x0, x1, n)
    by = rng.uniform(y0, y1, n)
    br = np.clip(np.exp(rng.normal(math.log(180), 0.7, n)), 35, 900)
    rim = stamp(
        canvas,
        bx,
        by,
        br,
        lambda r, p: np.exp(-(((r - 0.97) * p / np.maximum(1.2, 0.05 * p)) ** 2)),
        0.55,
        1.15,
    )
    inner = stamp(
        canvas,
        bx,
        by,
        br,
        lambda r, p: np.exp(-(((r - 0.86) * p / np.maximum(1.0, 0.04 * p)) ** 2)),
        0.25,
        1.15,
    )
    body = stamp(canvas, bx, by, br, prof_disc, 0.06, 1.1)
    off = 0.42 * br
    ang = rng.uniform(0, 2 * math.pi)
    spot = stamp(
        canvas, bx + off * math.cos(ang), by + off * math.sin(ang), 0.13 * br, prof_gauss, 0.9, 1.8
    )
    darken(img, rim, np.array([0.25, 0.27, 0.3]))
    tint(img, inner + body, np.array([0.95, 0.96, 0.98]))
    for c in range(3):
        img[c] += spot


def ruler(
    img: np.ndarray, canvas: Canvas, rng: np.random.Generator, w_um: float, h_um: float
) -> None:
    """A transparent ruler lying along one side: a hazy edge, ticks every millimetre."""
    ang = rng.uniform(-0.25, 0.25) + rng.integers(0, 4) * math.pi / 2
    nx, ny = math.cos(ang), math.sin(ang)  # normal pointing into the ruler
    reach = abs(nx) * w_um / 2 + abs(ny) * h_um / 2
    d0 = reach * rng.uniform(0.55, 0.85)
    xs = canvas.xs()[None, :]
    ys = canvas.ys()[:, None]
    d = (xs * nx + ys * ny - d0).astype(np.float32)  # um beyond the edge
    t = (-xs * ny + ys * nx).astype(np.float32)  # um along the edge
    on = np.clip(d / canvas.s + 0.5, 0, 1)
    # the skin under the plastic is a little out of focus and hazy
    sig = max(1.0, 14.0 / canvas.s)
    for c, g in enumerate((1.02, 1.05, 1.12)):
        soft = ndimage.gaussian_filter(img[c], sig)
        img[c] = img[c] * (1 - on) + on * (0.7 * soft + 0.3 * np.float32(g) * img[c].mean())
    edge = np.exp(-((d / max(canvas.s, 6.0)) ** 2))
    darken(img, edge * 0.5, np.array([0.35, 0.38, 0.45]))
    pitch = 1000.0
    tw = rng.uniform(20, 35)
    ph = np.mod(t + rng.uniform(0, pitch), pitch)
    idx = np.floor((t + 1e6) / pitch)
    tick_len = np.where(np.mod(idx, 5) == 0, 1100.0, 700.0)
    tick = (
        np.clip((tw / 2 - np.abs(ph - pitch / 2)) / canvas.s + 0.5, 0, 1)
        * np.clip((tick_len - d) / canvas.s + 0.5, 0, 1)
        * on
    )
    darken(img, tick * 0.6, np.array([0.25, 0.3, 0.45]))
