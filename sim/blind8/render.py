"""blind-8's frame: scene, volume, skin, camera and the truth, put together."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind8.camera import optics, sensor_and_isp
from sim.blind8.fibres import CURL, centreline, subsurface
from sim.blind8.geometry import Pose
from sim.blind8.scene import EUMELANIN, PHEOMELANIN, draw_look, draw_pool, draw_visit, rng_for
from sim.blind8.skin import BASE, BLOOD, MEL, Grid, Marks, skin_fields
from sim.blind8.volume import light_fields, march, sample_coarse, voxelise

Arr = NDArray[Any]
GENERATOR = "blind-8"
TILE = 128
# a listed tip is where the drawn shaft ends: its peak opacity (green) falls below
# 1 - exp(-TIP_TAU) ~ 0.1, about the noise of a frame (see _visible_end)
TIP_TAU = 0.1


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x)
    return x


def _segments(pts_img: list[Arr], rads: list[Arr], r0: list[float]) -> dict[str, Arr]:
    x0: list[Arr] = []
    x1: list[Arr] = []
    rr: list[Arr] = []
    ww: list[Arr] = []
    hid: list[Arr] = []
    for i, (p, r) in enumerate(zip(pts_img, rads, strict=True)):
        x0.append(p[:-1])
        x1.append(p[1:])
        rm = 0.5 * (r[:-1] + r[1:])
        rr.append(rm)
        ww.append(rm / r0[i])
        hid.append(np.full(len(rm), i, dtype=np.int64))
    if not x0:
        z = np.zeros(0)
        return {k: z for k in ("x0", "y0", "z0", "x1", "y1", "z1", "r", "w")} | {
            "hid": np.zeros(0, dtype=np.int64)
        }
    a = np.concatenate(x0)
    b = np.concatenate(x1)
    return {
        "x0": a[:, 0],
        "y0": a[:, 1],
        "z0": a[:, 2],
        "x1": b[:, 0],
        "y1": b[:, 1],
        "z1": b[:, 2],
        "r": np.concatenate(rr),
        "w": np.concatenate(ww),
        "hid": np.concatenate(hid),
    }


def _lookup(fld: Arr, coords: Arr) -> Arr:
    return np.asarray(ndimage.map_coordinates(fld, coords, order=1, mode="nearest"), np.float32)


def _take(seg: dict[str, Arr], idx: Arr) -> dict[str, Arr]:
    return {k: v[idx] for k, v in seg.items()}


def render(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[Arr, dict[str, Any], dict[str, Any]]:
    """The frame, its truth and internals for tests (the hair opacity before the camera,
    every built hair's emergence point in pixels, every present hair's in pixels and in
    world um, and the visit's Pose)."""
    um = float(um_per_px)
    w, h = int(width), int(height)
    look = draw_look(seed, um)
    lp = look.p
    visit = draw_visit(seed, regrown, w, h)
    ox, oy = lp["oblique"]
    pose = Pose(
        w,
        h,
        um,
        theta=math.radians(visit["theta_deg"]),
        tx=visit["shift_px"][0],
        ty=visit["shift_px"][1],
        k1=lp["k1"],
        ox=ox,
        oy=oy,
    )
    half_w, half_h = 0.5 * w * um, 0.5 * h * um
    mode = lp["hair_length"]
    reach = 3000.0 if mode == "trimmed" else max(3000.0, 1.45 * lp["long_um"] + 1100.0)
    reach = max(reach, 1.3 * lp["clip_um"])
    margin = reach + 0.08 * max(half_w, half_h) + 300.0
    factor = 0.0 if hairless else (1.0 if regrown is None else float(regrown[0]))
    pool = draw_pool(seed, look, half_w, half_h, margin, factor)
    a = pool.a
    # ---- hairs that can reach the frame -------------------------------------------
    exi, eyi = pose.world_to_image(a["ex"], a["ey"])
    dxp = np.maximum(np.maximum(-0.5 - exi, exi - (w - 0.5)), 0.0)
    dyp = np.maximum(np.maximum(-0.5 - eyi, eyi - (h - 0.5)), 0.0)
    dist_um = np.hypot(dxp, dyp) * um
    near = pool.present & (dist_um <= a["length"] * 1.05 + 1400.0)
    built = np.nonzero(near)[0]
    immersion = lp["light"] == "immersion"
    spec_level = {"polarised": 0.0, "non_polarised": 0.45, "immersion": 0.06}[lp["light"]]
    g = lp["hg_g"]
    elev = math.radians(lp["light_elev_deg"])
    hg = (1 - g * g) / (1 + g * g - 2 * g * -math.sin(elev)) ** 1.5
    skin_g = float(BASE[1] * math.exp(-(lp["melanin"] * MEL[1] + lp["blood"] * BLOOD[1])))
    pts_img: list[Arr] = []
    rads: list[Arr] = []
    r0s: list[float] = []
    absorb = np.zeros((len(built), 3))
    scat = np.zeros(len(built))
    tips: list[dict[str, Any]] = []
    tip_raw: list[tuple[float, float, bool, float]] = []
    for j, i in enumerate(built):
        pts, rad = centreline(a, int(i), lp["curl"])
        xi, yi = pose.world_to_image(pts[:, 0], pts[:, 1], pts[:, 2])
        pts_img.append(np.stack([xi, yi, pts[:, 2]], axis=1))
        rads.append(rad)
        r0 = float(a["d0"][i]) / 2.0
        r0s.append(r0)
        thick = r0 / 40.0
        ab = (a["eu"][i] * EUMELANIN + a["pheo"][i] * PHEOMELANIN) * thick
        sc = float(a["scat"][i]) * thick
        ab, sc = _contrast(ab, sc, skin_g, hg)
        ext_g = ab[1] + sc
        if ext_g < 1.1:  # faint hairs stay drawn (thin pale hair scatters, dark absorbs)
            boost = 1.1 / max(ext_g, 1e-6)
            ab, sc = ab * boost, sc * boost
        absorb[j] = ab
        scat[j] = sc
        if int(a["kind"][i]) != 6:
            med = float(a["medulla"][i]) if int(a["kind"][i]) <= 1 else 0.0
            end = _visible_end(xi, yi, pts[:, 2], rad, r0, ab[1] * (1 - med) + sc + 0.8 * med, um)
            if end is not None:
                tip_raw.append((end[0], end[1], bool(a["cut"][i]), end[2]))
    hair_attr = {
        "absorb": absorb,
        "scat": scat,
        "medulla": np.where(a["kind"][built] <= 1, a["medulla"][built], 0.0),
        "cuticle": a["cuticle"][built] * (1.0 + np.asarray(a["white"][built], float)),
        "spec": np.full(len(built), spec_level) * (1.0 + 0.5 * np.asarray(a["white"][built])),
    }
    seg = _segments(pts_img, rads, r0s)
    zmax_hair = float(np.max(seg["z1"] + 1.3 * seg["r"])) if len(seg["r"]) else 0.0
    zmax_hair = max(zmax_hair, float(np.max(seg["z0"] + 1.3 * seg["r"])) if len(seg["r"]) else 0.0)
    hmax = max(60.0, zmax_hair)
    nz = int(lp["nz"]) if mode != "trimmed" else min(int(lp["nz"]), 20)
    dz = hmax / nz
    # ---- light: coarse shadow volume -------------------------------------------------
    nl = int(lp["n_lights"])
    lrng = rng_for(seed, 7)
    psi = lrng.uniform(0, 2 * math.pi) + 2 * math.pi * np.arange(nl) / nl
    power = 1.0 + lp["light_unevenness"] * lrng.uniform(-1.0, 1.0, nl)
    power = power / (power.sum() * math.sin(elev))
    amb_hair = 0.22
    f = max(1, round(20.0 / um))
    pad = math.ceil(hmax / math.tan(elev) / um + 3 * f)
    wc = math.ceil((w + 2 * pad) / f) + 2
    hc = math.ceil((h + 2 * pad) / f) + 2
    if len(seg["r"]):
        cseg = dict(seg)
        cseg["x0"] = (seg["x0"] + pad) / f
        cseg["x1"] = (seg["x1"] + pad) / f
        cseg["y0"] = (seg["y0"] + pad) / f
        cseg["y1"] = (seg["y1"] + pad) / f
        ext = voxelise(cseg, hair_attr, (0, 0, wc, hc), um * f, nz, dz, 0.45 * f * um, False)[0]
    else:
        ext = np.zeros((nz, hc, wc), dtype=np.float32)
    lin, tskin = light_fields(ext, dz, um * f, elev, psi, power, amb_hair)
    del ext
    # ---- skin on the world grid, looked up through the pose ------------------------
    mg = math.ceil(0.1 * max(w, h)) + 8
    grid = Grid(w + 2 * mg, h + 2 * mg, -(w + 2 * mg - 1) / 2 * um, -(h + 2 * mg - 1) / 2 * um, um)
    marks = _marks(pool, built, grid, um)
    albedo_w, height_w, sebum_w = skin_fields(rng_for(seed, 5), lp, grid, marks)
    yy, xx = np.mgrid[0:h, 0:w]
    wx, wy = pose.image_to_world(xx.astype(np.float64), yy.astype(np.float64))
    del xx, yy
    cx, cy = grid.to_cell(wx, wy)
    del wx, wy
    coords = np.stack([cy, cx]).astype(np.float32)
    del cx, cy

    albedo = np.stack([_lookup(albedo_w[c], coords) for c in range(3)])
    hgt = _lookup(height_w, coords) * (0.35 if immersion else 1.0)
    sebum = _lookup(sebum_w, coords)
    del coords, albedo_w, height_w, sebum_w
    gy_, gx_ = np.gradient(hgt)
    nx_, ny_ = -gx_ / um, -gy_ / um
    nn = np.sqrt(nx_ * nx_ + ny_ * ny_ + 1.0)
    nvec = (nx_ / nn, ny_ / nn, 1.0 / nn)
    del gx_, gy_, hgt
    # ---- tiles: voxelise, march, shade ---------------------------------------------
    rad_img = np.zeros((3, h, w), dtype=np.float32)
    alpha = np.zeros((h, w), dtype=np.float32)
    lvec = [
        (math.cos(elev) * math.cos(p), math.cos(elev) * math.sin(p), math.sin(elev)) for p in psi
    ]
    ks = {"polarised": 0.0, "non_polarised": 0.5, "immersion": 0.0}[lp["light"]]
    ntx = (w + TILE - 1) // TILE
    nty = (h + TILE - 1) // TILE
    if len(seg["r"]):
        rch = 3.0 * np.sqrt((0.42 * seg["r"]) ** 2 + (0.4 * um) ** 2) / um + 1
        bx0 = np.clip(np.floor((np.minimum(seg["x0"], seg["x1"]) - rch) / TILE), 0, ntx - 1)
        bx1 = np.clip(np.floor((np.maximum(seg["x0"], seg["x1"]) + rch) / TILE), -1, ntx - 1)
        by0 = np.clip(np.floor((np.minimum(seg["y0"], seg["y1"]) - rch) / TILE), 0, nty - 1)
        by1 = np.clip(np.floor((np.maximum(seg["y0"], seg["y1"]) + rch) / TILE), -1, nty - 1)
        vis = (
            (np.maximum(seg["x0"], seg["x1"]) + rch >= 0)
            & (np.minimum(seg["x0"], seg["x1"]) - rch <= w)
            & (np.maximum(seg["y0"], seg["y1"]) + rch >= 0)
            & (np.minimum(seg["y0"], seg["y1"]) - rch <= h)
        )
        cntx = np.where(vis, np.maximum(bx1 - bx0 + 1, 0), 0).astype(np.int64)
        cnty = np.where(vis, np.maximum(by1 - by0 + 1, 0), 0).astype(np.int64)
        cnt = cntx * cnty
        rep = np.repeat(np.arange(len(cnt)), cnt)
        loc = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        tile_id = (by0[rep] + loc // cntx[rep]) * ntx + (bx0[rep] + loc % cntx[rep])
        order = np.argsort(tile_id, kind="stable")
        rep, tile_id = rep[order], tile_id[order].astype(np.int64)
        bounds = np.searchsorted(tile_id, np.arange(ntx * nty + 1))
    else:
        rep = np.zeros(0, dtype=np.int64)
        bounds = np.zeros(ntx * nty + 1, dtype=np.int64)
    for ty in range(nty):
        for tx in range(ntx):
            gx0, gy0 = tx * TILE, ty * TILE
            tw, th = min(TILE, w - gx0), min(TILE, h - gy0)
            ys = slice(gy0, gy0 + th)
            xs = slice(gx0, gx0 + tw)
            tyy = (np.arange(gy0, gy0 + th, dtype=np.float32) + pad) / f
            txx = (np.arange(gx0, gx0 + tw, dtype=np.float32) + pad) / f
            cyy = np.broadcast_to(tyy[:, None], (th, tw)).ravel()
            cxx = np.broadcast_to(txx[None, :], (th, tw)).ravel()
            tsk = sample_coarse(tskin, cyy, cxx).reshape(nl, th, tw)
            n0, n1, n2 = nvec[0][ys, xs], nvec[1][ys, xs], nvec[2][ys, xs]
            irr = np.full((th, tw), 0.18, dtype=np.float32)
            spec = np.zeros((th, tw), dtype=np.float32)
            for li, (lx, ly, lz) in enumerate(lvec):
                ndl = np.maximum(n0 * lx + n1 * ly + n2 * lz, 0.0)
                irr += power[li] * ndl * tsk[li]
                if ks > 0:
                    hv = np.array([lx, ly, lz + 1.0])
                    hv = hv / np.linalg.norm(hv)
                    ndh = np.maximum(n0 * hv[0] + n1 * hv[1] + n2 * hv[2], 0.0)
                    spec += power[li] * tsk[li] * ndh**60
            skin = albedo[:, ys, xs] * irr[None] + (ks * (0.3 + sebum[ys, xs]) * spec)[None]
            sel = rep[bounds[ty * ntx + tx] : bounds[ty * ntx + tx + 1]]
            if len(sel) == 0:
                rad_img[:, ys, xs] = skin
                continue
            vol = voxelise(
                _take(seg, sel), hair_attr, (gx0, gy0, tw, th), um, nz, dz, 0.4 * um, True
            )
            vol = vol.reshape(5, nz, th * tw)
            colmask = vol[:4].max(axis=(0, 1)) > 1e-6
            idx = np.nonzero(colmask)[0]
            out = skin.reshape(3, -1).copy()
            al = np.zeros(th * tw, dtype=np.float32)
            if len(idx):
                lcol = sample_coarse(lin, cyy[idx], cxx[idx])
                col, a_ = march(vol[:, :, idx], lcol, out[:, idx], hg)
                out[:, idx] = col
                al[idx] = a_
            rad_img[:, ys, xs] = out.reshape(3, th, tw)
            alpha[ys, xs] = al.reshape(th, tw)
    del nvec, albedo, sebum
    # ---- camera --------------------------------------------------------------------
    stop = None
    if lp["field_stop"]:
        stop = (
            (w - 1) / 2 + lp["stop_offset"][0] * w,
            (h - 1) / 2 + lp["stop_offset"][1] * h,
            lp["stop_radius"] * math.hypot(w, h),
        )
    bubbles: list[tuple[float, float, float]] = []
    if immersion:
        brng = rng_for(seed, 6, visit["noise_seed"])
        for _ in range(visit["bubbles"]):
            bubbles.append(
                (
                    float(brng.uniform(-0.5, 0.5) * w),
                    float(brng.uniform(-0.5, 0.5) * h),
                    float(brng.uniform(40.0, 400.0) / um),
                )
            )
    lin_img = optics(rad_img, lp, um, stop, bubbles)
    del rad_img
    image = sensor_and_isp(lin_img, alpha, visit, lp)

    # ---- truth -----------------------------------------------------------------------
    def in_frame(x: float, y: float) -> bool:
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    def in_stop(x: float, y: float) -> bool:
        return stop is None or math.hypot(x - stop[0], y - stop[1]) <= stop[2]

    hairs: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    masked: list[dict[str, Any]] = []
    for i in np.nonzero(pool.present)[0]:
        x, y = float(exi[i]), float(eyi[i])
        if in_frame(x, y):
            if in_stop(x, y):
                hairs.append({"x_px": x, "y_px": y, "diameter_um": float(a["d0"][i])})
            else:
                masked.append({"x_px": x, "y_px": y})
        elif dist_um[i] <= 200.0:
            outside.append({"x_px": x, "y_px": y})
    for x, y, cut_, d in tip_raw:
        if in_frame(x, y) and in_stop(x, y):
            tips.append({"x_px": x, "y_px": y, "cut": cut_, "diameter_um": max(d, 0.5)})
    n = len(hairs)
    diam = [hh["diameter_um"] for hh in hairs]
    area_cm2 = w * h * um * um * 1e-8
    scale = "3-5" if um < 5 else "5-8" if um < 8 else "8-12"
    factors = {
        "hair_length": "hairless" if hairless else mode,
        "hair_colour": lp["hair_colour"],
        "skin_tone": lp["skin_tone"],
        "scale": scale,
        "light": lp["light"],
        "visit": "baseline" if regrown is None else "follow-up",
        "curl": lp["curl"] if mode != "trimmed" else "trimmed",
        "codec": visit["codec"],
        "field_stop": "yes" if stop is not None else "no",
        "density_band": "<50"
        if lp["density"] < 50
        else "50-150"
        if lp["density"] < 150
        else ">150",
    }
    kinds = a["kind"][pool.present]
    params = {
        "look": lp,
        "visit": visit,
        "regrown_factor": factor if regrown is not None else None,
        "hairless": bool(hairless),
        "nz": nz,
        "volume_top_um": hmax,
        "coarse_factor": f,
        "hairs_built": len(built),
        "segments": len(seg["r"]),
        "kind_counts": {
            k: int(np.sum(kinds == j))
            for j, k in enumerate(
                (
                    "terminal",
                    "intermediate",
                    "vellus",
                    "regrowing",
                    "broken",
                    "exclamation",
                    "black_dot",
                )
            )
        },
        "curl_shape": list(CURL[lp["curl"]][1]) + list(CURL[lp["curl"]][2]),
    }
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": um,
        "hairs": hairs,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": float(sum(d < 30.0 for d in diam) / n) if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": masked,
        "field_stop": None
        if stop is None
        else {"x_px": float(stop[0]), "y_px": float(stop[1]), "radius_px": float(stop[2])},
        "factors": factors,
        "params": _jsonable(params),
    }
    aux = {
        "alpha": alpha,
        "built_xy": np.stack([exi[built], eyi[built]], axis=1) if len(built) else np.zeros((0, 2)),
        "present_xy": np.stack([exi[pool.present], eyi[pool.present]], axis=1),
        "present_world": np.stack([a["ex"][pool.present], a["ey"][pool.present]], axis=1),
        "pose": pose,
        "stop": stop,
    }
    return image, truth, aux


def _visible_end(
    xi: Arr, yi: Arr, z: Arr, rad: Arr, r0: float, ext_core: float, um: float
) -> tuple[float, float, float] | None:
    """Where a shaft's drawn free end is: the far end of its last segment whose peak
    optical depth (green, on the axis, as voxelise draws it: extinction x r / r0 x
    sigma / sigma_px / horizontal share) is at least TIP_TAU. A blunt end is its last
    point; a tapering tip thins to 12 % of the shaft and fades out before its last point
    (by up to hundreds of um for pale or thin hair at coarse scales). Returns
    (x_px, y_px, diameter_um) or None when no segment shows."""
    dx, dy, dz = np.diff(xi) * um, np.diff(yi) * um, np.diff(z)
    ln = np.maximum(np.sqrt(dx * dx + dy * dy + dz * dz), 1e-6)
    hh = np.maximum(np.hypot(dx, dy) / ln, 0.05)
    rm = 0.5 * (rad[:-1] + rad[1:])
    sig = 0.42 * rm
    tau = ext_core * (rm / r0) * sig / np.sqrt(sig * sig + (0.4 * um) ** 2) / hh
    shown = np.nonzero(tau >= TIP_TAU)[0]
    if len(shown) == 0:
        return None
    j = int(shown[-1])
    return float(xi[j + 1]), float(yi[j + 1]), float(2 * rm[j])


def _hair_lum(alb: Arr, hg: float) -> Arr:
    return np.asarray((alb * hg + 0.5 * alb * alb / (1.0 - 0.5 * alb)) * 1.1)


def _contrast(ab: Arr, sc: float, skin_g: float, hg: float) -> tuple[Arr, float]:
    """Keeps an opaque shaft's green radiance at least ~45 % off the bare skin's, so a
    pale hair on similar skin is still drawn: lighter hair scatters more, others absorb
    more."""
    alb = sc / max(sc + ab[1], 1e-9)
    ratio = float(_hair_lum(np.array(alb), hg)) / max(skin_g * 1.18, 1e-6)
    if ratio <= 0.6 or ratio >= 1.5:
        return ab, sc
    table = np.linspace(0.0, 0.99, 400)
    lum = _hair_lum(table, hg) / max(skin_g * 1.18, 1e-6)
    if ratio >= 1.0 and lum[-1] >= 1.5:
        target = float(np.interp(1.5, lum, table))
        return ab, ab[1] * target / (1.0 - target)
    target = float(np.interp(0.6, lum, table))
    need_a = sc * (1.0 - target) / max(target, 1e-6)
    return ab * need_a / max(ab[1], 1e-9) if ab[1] > 1e-6 else EUMELANIN * need_a, sc


def _marks(pool: Any, built: Arr, grid: Grid, um: float) -> Marks:
    a = pool.a
    fu = a["fu"]
    nfu = len(pool.fu_x)
    used = np.zeros(nfu, dtype=bool)
    used[fu[pool.present]] = True
    base = np.zeros(nfu, dtype=bool)
    base[fu[pool.present0]] = True
    shown = used | base | pool.fu_open
    maxd = np.zeros(nfu)
    np.maximum.at(maxd, fu, a["d0"])
    ring = np.zeros(nfu)
    np.maximum.at(ring, fu, a["ring"])
    x_lo, y_lo = grid.x0 - 200.0, grid.y0 - 200.0
    x_hi = grid.x0 + grid.width * grid.step + 200.0
    y_hi = grid.y0 + grid.height * grid.step + 200.0
    inside = (pool.fu_x > x_lo) & (pool.fu_x < x_hi) & (pool.fu_y > y_lo) & (pool.fu_y < y_hi)
    sel = np.nonzero(shown & inside)[0]
    open_r = ring[sel] + 0.5 * maxd[sel] + 14.0
    ysel = np.nonzero(pool.fu_yellow & inside & (~used | (ring > 1e9)))[0]
    sub_x: list[Arr] = []
    sub_y: list[Arr] = []
    sub_w: list[Arr] = []
    sig_px = max(16.0 / um, 0.6)
    for i in built:
        x, y, d = subsurface(a, int(i))
        step_px = float(np.hypot(x[1] - x[0], y[1] - y[0])) / um
        dens = float(a["eu"][i] * 0.8 + a["pheo"][i] * 0.4) * float(a["d0"][i]) / 80.0
        pig = 1.0 - math.exp(-0.5 * dens)
        sub_x.append(x)
        sub_y.append(y)
        sub_w.append(pig * np.exp(-d / 60.0) * step_px * math.sqrt(2 * math.pi) * sig_px)
    cat = np.concatenate
    return Marks(
        open_x=pool.fu_x[sel],
        open_y=pool.fu_y[sel],
        open_r=open_r,
        open_used=used[sel],
        yellow_x=pool.fu_x[ysel],
        yellow_y=pool.fu_y[ysel],
        yellow_r=ring[ysel] + 0.5 * maxd[ysel] + 35.0,
        sub_x=cat(sub_x) if sub_x else np.zeros(0),
        sub_y=cat(sub_y) if sub_y else np.zeros(0),
        sub_w=cat(sub_w) if sub_w else np.zeros(0),
    )
