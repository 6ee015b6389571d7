"""One frame: draw the scene's parameters from the seed, build skin, hairs, flakes and
bubbles, rasterise and shade them band by band, send the optical image through the camera,
and write the truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from sim.blind9.camera import Camera, develop
from sim.blind9.hair import (
    KINDS,
    OCCUPANCY,
    SLOTS,
    Hair,
    Mesh,
    build_hair,
    make_site,
    merge,
    tube,
)
from sim.blind9.noise import Grid
from sim.blind9.raster import rasterise
from sim.blind9.skin import TONE_RGB, Skin, build_skin

GENERATOR = "blind-9"
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
COLOURS = ("black", "dark_brown", "brown", "red", "blond", "grey", "white", "dyed_black")
COLOUR_P = (0.16, 0.16, 0.12, 0.07, 0.1, 0.17, 0.11, 0.11)
MAX_SAMPLES_BAND = 900_000


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_num(v: object) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and math.isfinite(float(v))  # type: ignore[arg-type,unused-ignore]
    )


def check_args(
    seed: object,
    um_per_px: object,
    width: object,
    height: object,
    hairless: object,
    regrown: object,
) -> None:
    if not _is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not _is_num(um_per_px) or not 2.0 <= float(um_per_px) <= 15.0:  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be a finite number in [2, 15], got {um_per_px!r}")
    for name, v in (("width", width), ("height", height)):
        if not _is_int(v) or not 32 <= int(v) <= 4096:  # type: ignore[call-overload]
            raise ValueError(f"{name} must be an int in [32, 4096], got {v!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    if regrown is not None:
        ok = isinstance(regrown, tuple) and len(regrown) == 2
        if ok:
            factor, seed2 = regrown[0], regrown[1]  # type: ignore[index]
            ok = _is_num(factor) and 0.3 <= float(factor) <= 3.0 and _is_int(seed2)
        if not ok:
            raise ValueError(
                "regrown must be None or a (factor, seed2) tuple with factor a finite number "
                f"in [0.3, 3] and seed2 an int, got {regrown!r}"
            )


def _draw_style(rng: np.random.Generator, um: float, w: int, h: int) -> dict[str, Any]:
    """Every frame-level choice, drawn in a fixed order (whatever the frame's flags)."""
    u = rng.uniform
    st: dict[str, Any] = {}
    st["tone"] = int(rng.integers(1, 7))
    st["hair_colour"] = str(rng.choice(COLOURS, p=COLOUR_P))
    st["base_colour"] = str(rng.choice(["black", "dark_brown", "brown", "blond"]))
    st["white_fraction"] = u(0.3, 0.85)
    st["hair_length"] = str(rng.choice(["trimmed", "long", "mixed"], p=[0.4, 0.3, 0.3]))
    st["clip_um"] = u(100, 1000)
    st["long_um"] = u(2500, 9000)
    st["long_cut"] = bool(rng.random() < 0.4)
    st["density"] = float(np.exp(u(np.log(10), np.log(400))))
    condition = str(rng.choice(["healthy", "androgenetic", "areata", "mixed"]))
    weights = {
        "healthy": [0.72, 0.12, 0.1, 0.02, 0.02, 0.01, 0.0, 0.01],
        "androgenetic": [0.38, 0.2, 0.2, 0.15, 0.03, 0.02, 0.0, 0.02],
        "areata": [0.3, 0.1, 0.12, 0.05, 0.13, 0.1, 0.08, 0.12],
        "mixed": [0.45, 0.15, 0.15, 0.08, 0.06, 0.05, 0.02, 0.04],
    }[condition]
    jit = np.array(weights) * np.exp(rng.normal(0, 0.3, len(KINDS)))
    st["condition"] = condition
    st["kind_weights"] = [float(v) for v in jit / jit.sum()]
    st["flow_rad"] = u(0, 2 * np.pi)
    st["spread_deg"] = u(10, 60)
    curl = str(rng.choice(["straight", "wavy", "curly", "coiled"], p=[0.4, 0.3, 0.2, 0.1]))
    st["curl"] = curl
    st["wave_deg"] = {
        "straight": u(3, 12),
        "wavy": u(15, 35),
        "curly": u(20, 45),
        "coiled": u(8, 20),
    }[curl]
    st["wave_um"] = {
        "straight": u(1500, 4000),
        "wavy": u(500, 1500),
        "curly": u(300, 900),
        "coiled": u(200, 600),
    }[curl]
    st["coil_um"] = {"straight": 0.0, "wavy": 0.0, "curly": u(70, 220), "coiled": u(25, 70)}[curl]
    st["stand_deg"] = u(30, 60)
    st["bend_deg"] = u(5, 40)
    st["diameter_scale"] = u(0.85, 1.12)
    # coverage: long hairs lying over the field cover at most about 70 % of it
    cover = st["density"] * 1e-8 * st["long_um"] * 70.0
    if cover > 0.7:
        st["long_um"] = max(2000.0, st["long_um"] * 0.7 / cover)
    st["yellow_p"] = u(0.1, 0.6) if rng.random() < 0.35 else 0.0
    st["light"] = str(rng.choice(["polarised", "non-polarised", "immersion"], p=[0.4, 0.35, 0.25]))
    st["n_leds"] = int(rng.integers(2, 9))
    st["led_elev_deg"] = u(35, 70)
    st["led_rot"] = u(0, 2 * np.pi)
    st["led_rgb"] = [1.0, u(0.92, 1.0), u(0.8, 0.97)]
    st["ambient"] = u(0.08, 0.3)
    st["skin_spec"] = u(0.05, 0.35)
    st["skin_shin"] = u(15, 80)
    st["hair_spec"] = u(0.15, 0.6)
    st["hair_shin"] = u(40, 200)
    st["gel_um"] = u(120, 300)
    st["bubbles_per_mm2"] = u(0.0, 1.5)
    st["flakes_per_mm2"] = u(0.2, 2.5) if rng.random() < 0.4 else 0.0
    # camera
    st["sensor_scale"] = u(0.5, 0.85)
    st["k1"] = u(-0.04, 0.03)
    st["rolling"] = u(-0.008, 0.008)
    st["ca"] = u(-0.004, 0.004)
    st["vignette"] = u(0.05, 0.45)
    st["stop"] = bool(rng.random() < 0.3)
    half = math.hypot(w, h) / 2
    st["stop_r"] = u(max(w, h) / 2 * 0.95, half * 0.93)
    st["stop_dx"] = u(-0.03, 0.03) * w
    st["stop_dy"] = u(-0.03, 0.03) * h
    st["focus"] = str(rng.choice(["skin", "canopy"]))
    st["focus_um"] = u(0, 10) if st["focus"] == "skin" else u(40, 220)
    st["focus_tilt"] = [u(-1, 1) * u(0, 60) / (w * um / 2), u(-1, 1) * u(0, 60) / (h * um / 2)]
    st["coc_per_um"] = u(0.003, 0.014)
    st["lens_blur"] = u(0.3, 0.8)
    st["cam"] = {
        "prnu": u(0.003, 0.02),
        "col_fpn": u(0.0, 0.006),
        "hot_fraction": u(0.0, 2e-4),
        "shot": u(1 / 3000, 1 / 300),
        "read": u(0.002, 0.01),
        "black": u(0.01, 0.05),
        "wb": [u(0.9, 1.1), 1.0, u(0.88, 1.1)],
        "gamma": u(1.9, 2.4),
        "contrast": u(0.0, 0.3),
        "sharp": u(0.5, 1.6),
        "sharp_sigma": u(0.7, 1.3),
        "jpeg_quality": int(rng.integers(50, 91)),
        "vignette": st["vignette"],
    }
    st["exposure"] = u(0.8, 1.15)
    return st


@dataclass
class Debug:
    """What the tests need to check the truth against the drawing."""

    cam: Camera
    ids: I32  # top object per sample: hair index, -1 skin, -2 flake
    hair_out: F64  # (n, 2) output position of every drawn hair's emergence point
    hair_listed: NDArray[np.bool_]
    kinds: list[str]

    def id_at_output(self, x: F64, y: F64) -> I32:
        cx, cy = self.cam.output_to_cam(np.asarray(x, float), np.asarray(y, float))
        sp = self.cam.q / self.cam.m
        i = np.clip(np.round((cx - self.cam.gx0) / sp - 0.5), 0, self.ids.shape[1] - 1)
        j = np.clip(np.round((cy - self.cam.gy0) / sp - 0.5), 0, self.ids.shape[0] - 1)
        return np.asarray(self.ids[j.astype(int), i.astype(int)], dtype=np.int32)


class SkinMesh:
    """The skin as a displaced grid mesh in camera coordinates; its surface is the
    piecewise-linear interpolant of the vertex heights over the grid's triangles."""

    def __init__(self, x0: float, y0: float, pitch: float, hv: F64) -> None:
        self.x0, self.y0, self.pitch, self.hv = x0, y0, pitch, hv
        gy, gx = np.gradient(hv, pitch)
        n = np.stack([-gx, -gy, np.ones_like(hv)], -1)
        self.nv = n / np.linalg.norm(n, axis=-1, keepdims=True)

    def _tri(self, x: F64, y: F64) -> tuple[Any, ...]:
        fx = np.clip((x - self.x0) / self.pitch, 0, self.hv.shape[1] - 1.000001)
        fy = np.clip((y - self.y0) / self.pitch, 0, self.hv.shape[0] - 1.000001)
        i = np.floor(fx).astype(np.intp)
        j = np.floor(fy).astype(np.intp)
        u = fx - i
        v = fy - j
        up = u + v > 1
        # lower triangle (i,j),(i+1,j),(i,j+1); upper (i+1,j+1),(i,j+1),(i+1,j)
        ja = np.where(up, j + 1, j)
        ia = np.where(up, i + 1, i)
        wa = np.where(up, u + v - 1, 1 - u - v)
        jb = np.where(up, j + 1, j)
        ib = i + 1 - up.astype(np.intp) * 1
        ib = np.where(up, i, i + 1)
        wb = np.where(up, 1 - u, u)
        jc = np.where(up, j, j + 1)
        ic = np.where(up, i + 1, i)
        wc = np.where(up, 1 - v, v)
        return (ja, ia, wa), (jb, ib, wb), (jc, ic, wc)

    def height(self, x: F64, y: F64) -> F64:
        out = np.zeros(np.shape(x))
        for jj, ii, ww in self._tri(x, y):
            out = out + ww * self.hv[jj, ii]
        return out

    def height_normal(self, x: F64, y: F64) -> tuple[F64, F64]:
        h = np.zeros(np.shape(x))
        n = np.zeros((*np.shape(x), 3))
        for jj, ii, ww in self._tri(x, y):
            h += ww * self.hv[jj, ii]
            n += ww[..., None] * self.nv[jj, ii]
        return h, n / np.linalg.norm(n, axis=-1, keepdims=True)


def _emergence(hair: Hair, skin: SkinMesh) -> F64:
    """Where the hair's axis crosses the skin mesh, nearest the construction point."""
    p = hair.pts
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    s0 = s[hair.i0]
    q = s0 + np.arange(-80.0, 80.25, 0.25)
    q = q[(q >= s[0]) & (q <= s[-1])]
    xs = np.interp(q, s, p[:, 0])
    ys = np.interp(q, s, p[:, 1])
    zs = np.interp(q, s, p[:, 2])
    f = zs - skin.height(xs, ys)
    up = np.nonzero((f[:-1] < 0) & (f[1:] >= 0))[0]
    if len(up) == 0:
        return np.array(p[hair.i0, :2])
    k = up[np.argmin(np.abs(q[up] - s0))]
    t = f[k] / (f[k] - f[k + 1])
    return np.array([xs[k] + t * (xs[k + 1] - xs[k]), ys[k] + t * (ys[k + 1] - ys[k])])


def _interp(a: F32, vi: I32, w1: F32, w2: F32) -> F32:
    out = a[vi[:, 0]] * (1 - w1 - w2) + a[vi[:, 1]] * w1 + a[vi[:, 2]] * w2
    return np.asarray(out, dtype=np.float32)


def _raster_band(xy: F64, z: F64, ids: I32, depth: F32, y_offset: int) -> tuple[I32, F32, F32]:
    """Rasterise triangles into one band of samples over ``depth`` (updated in place): each
    sample's nearest triangle id (-1: none) and its barycentric weights b1, b2."""
    tri = np.full(depth.shape, -1, np.int32)
    b1 = np.zeros(depth.shape, np.float32)
    b2 = np.zeros(depth.shape, np.float32)
    rasterise(xy, z, depth, y_offset=y_offset, tri_ids=ids, tri_buf=tri, b1_buf=b1, b2_buf=b2)
    return tri, b1, b2


def _to_cam(p: F64, rot: float, shift: tuple[float, float], c: tuple[float, float]) -> F64:
    """Scene um to camera um (scene = R(rot) (cam - c) + c + shift)."""
    cr, sr = math.cos(rot), math.sin(rot)
    dx = p[..., 0] - c[0] - shift[0]
    dy = p[..., 1] - c[1] - shift[1]
    out = np.array(p, dtype=np.float64, copy=True)
    out[..., 0] = c[0] + cr * dx + sr * dy
    out[..., 1] = c[1] - sr * dx + cr * dy
    return out


def _to_scene(
    x: F64, y: F64, rot: float, shift: tuple[float, float], c: tuple[float, float]
) -> tuple[F64, F64]:
    cr, sr = math.cos(rot), math.sin(rot)
    dx, dy = x - c[0], y - c[1]
    return c[0] + cr * dx - sr * dy + shift[0], c[1] + sr * dx + cr * dy + shift[1]


def _flakes(
    rng: np.random.Generator,
    box: tuple[float, float, float, float],
    per_mm2: float,
    avoid: F64,
    skin: Skin,
) -> list[Mesh]:
    x0, y0, x1, y1 = box
    n = int(rng.poisson(per_mm2 * (x1 - x0) * (y1 - y0) * 1e-6))
    cx = rng.uniform(x0, x1, n)
    cy = rng.uniform(y0, y1, n)
    rad = rng.uniform(15, 100, n)
    out: list[Mesh] = []
    tree = cKDTree(avoid) if len(avoid) else None
    for k in range(n):
        if tree is not None and tree.query_ball_point([cx[k], cy[k]], rad[k] * 1.3 + 70):
            continue
        nv = int(rng.integers(6, 12))
        a = np.sort(rng.uniform(0, 2 * np.pi, nv))
        rr = rad[k] * rng.uniform(0.5, 1.0, nv)
        z = float(skin.grid.sample(skin.height, np.array([cx[k]]), np.array([cy[k]]))[0])
        z += 10.0 + rng.uniform(1, 5)
        tilt = rng.normal(0, 0.06, 2)
        px = cx[k] + rr * np.cos(a)
        py = cy[k] + rr * np.sin(a)
        pz = z + tilt[0] * (px - cx[k]) + tilt[1] * (py - cy[k])
        pos = np.concatenate([np.stack([px, py, pz], 1), [[cx[k], cy[k], z]]])
        nrm = np.tile(
            np.array([-tilt[0], -tilt[1], 1.0]) / np.hypot(np.hypot(*tilt), 1.0), (nv + 1, 1)
        )
        under = np.array(
            [
                float(skin.grid.sample(skin.albedo[c], cx[k : k + 1], cy[k : k + 1])[0])
                for c in range(3)
            ]
        )
        mix = rng.uniform(0.35, 0.8)
        white = np.array([0.8, 0.78, 0.72]) * rng.uniform(0.8, 1.0)
        col = np.tile(mix * white + (1 - mix) * under, (nv + 1, 1))
        j = np.arange(nv)
        tri = np.stack([j, (j + 1) % nv, np.full(nv, nv)], 1)
        out.append(
            Mesh(
                pos=pos,
                nrm=nrm.astype(np.float32),
                tan=np.tile([1.0, 0.0, 0.0], (nv + 1, 1)).astype(np.float32),
                col=col.astype(np.float32),
                tri=tri.astype(np.int32),
                tri_obj=np.zeros(nv, np.int32),
                tri_cap=np.ones(nv, bool),
            )
        )
    return out


def _bubbles(
    rng: np.random.Generator, box: tuple[float, float, float, float], per_mm2: float, z: float
) -> Mesh:
    x0, y0, x1, y1 = box
    n = int(rng.poisson(per_mm2 * (x1 - x0) * (y1 - y0) * 1e-6))
    meshes: list[tuple[int, Mesh]] = []
    nlat, nlon = 7, 16
    th = np.linspace(0, np.pi / 2, nlat)
    ph = np.linspace(0, 2 * np.pi, nlon, endpoint=False)
    tt, pp = np.meshgrid(th, ph, indexing="ij")
    unit = np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)], -1).reshape(
        -1, 3
    )
    tri = []
    for a in range(nlat - 1):
        for b in range(nlon):
            i00 = a * nlon + b
            i01 = a * nlon + (b + 1) % nlon
            i10 = (a + 1) * nlon + b
            i11 = (a + 1) * nlon + (b + 1) % nlon
            tri += [[i00, i10, i11], [i00, i11, i01]]
    tri_a = np.array(tri, np.int32)
    for k in range(n):
        r = float(np.exp(rng.uniform(np.log(25), np.log(400))))
        c = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1), z])
        sc = np.array([r, r * rng.uniform(0.85, 1.0), r * 0.35])
        pos = c + unit * sc
        nrm = unit / sc
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        meshes.append(
            (
                k,
                Mesh(
                    pos=pos,
                    nrm=nrm.astype(np.float32),
                    tan=nrm.astype(np.float32),
                    col=np.ones_like(pos, dtype=np.float32),
                    tri=tri_a,
                    tri_obj=np.zeros(len(tri_a), np.int32),
                    tri_cap=np.ones(len(tri_a), bool),
                ),
            )
        )
    return merge(meshes)


def _led_dirs(st: dict[str, Any]) -> F64:
    n = st["n_leds"]
    a = st["led_rot"] + 2 * np.pi * np.arange(n) / n
    e = math.radians(st["led_elev_deg"])
    return np.stack([math.cos(e) * np.cos(a), math.cos(e) * np.sin(a), np.full(n, math.sin(e))], 1)


@dataclass
class ShadowMap:
    e1: F64
    e2: F64
    ld: F64
    o1: float
    o2: float
    pitch: float
    depth: F32

    def visibility(self, p: F64, bias: float) -> F32:
        u = (p @ self.e1 - self.o1) / self.pitch - 0.5
        v = (p @ self.e2 - self.o2) / self.pitch - 0.5
        d = p @ self.ld + bias
        hh, ww = self.depth.shape
        vis = np.zeros(p.shape[:-1], np.float32)
        for du, dv in ((-0.6, -0.6), (0.6, -0.6), (-0.6, 0.6), (0.6, 0.6)):
            iu = np.clip(np.round(u + du).astype(np.intp), 0, ww - 1)
            iv = np.clip(np.round(v + dv).astype(np.intp), 0, hh - 1)
            vis += self.depth[iv, iu] <= d
        return (vis / 4).astype(np.float32)


def _shadow_map(
    mesh: Mesh, ld: F64, box: tuple[float, float, float, float], zmax: float, pitch: float
) -> ShadowMap:
    e1 = np.array([-ld[1], ld[0], 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(ld, e1)
    x0, y0, x1, y1 = box
    corners = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (-12.0, zmax)])
    o1, o2 = float((corners @ e1).min()), float((corners @ e2).min())
    nu = int(min(math.ceil(((corners @ e1).max() - o1) / pitch) + 1, 4096))
    nv = int(min(math.ceil(((corners @ e2).max() - o2) / pitch) + 1, 4096))
    depth = np.full((nv, nu), -1e9, np.float32)
    if len(mesh.tri):
        fn = mesh.nrm[mesh.tri].mean(1) @ ld
        tri = mesh.tri[fn > -0.1]
        p = mesh.pos[tri]
        xy = np.stack([(p @ e1 - o1) / pitch - 0.5, (p @ e2 - o2) / pitch - 0.5], -1)
        rasterise(xy, p @ ld, depth)
    return ShadowMap(e1=e1, e2=e2, ld=ld, o1=o1, o2=o2, pitch=pitch, depth=depth)


def render(
    seed: int,
    um: float,
    w: int,
    h: int,
    hairless: bool,
    regrown: tuple[float, int] | None,
) -> tuple[NDArray[np.uint8], dict[str, Any], Debug]:
    st = _draw_style(np.random.default_rng([seed, 1]), um, w, h)
    fw, fh = w * um, h * um
    # --- camera geometry
    ws = max(16, round(w * st["sensor_scale"]))
    hs = max(16, round(h * st["sensor_scale"]))
    sensor_um = um * w / ws
    m = int(np.clip(math.ceil(sensor_um / 4.5), 2, 4))
    budget = 2_500_000 + 0.9 * w * h
    r0 = math.hypot(fw, fh) / 2
    margin = max(250.0, 0.05 * r0) + 3 * sensor_um
    wi = math.ceil((fw + 2 * margin) / sensor_um)
    hi = math.ceil((fh + 2 * margin) / sensor_um)
    while m > 2 and wi * hi * m * m > budget:
        m -= 1
    stop = None
    if st["stop"]:
        stop = (w / 2 + st["stop_dx"], h / 2 + st["stop_dy"], st["stop_r"])
    cam = Camera(
        w=w,
        h=h,
        um=um,
        ws=ws,
        hs=hs,
        k1=st["k1"],
        rs=st["rolling"],
        ca=st["ca"],
        q=sensor_um,
        m=m,
        gx0=-margin,
        gy0=-margin,
        wi=wi,
        hi=hi,
        stop=stop,
    )
    sp = sensor_um / m  # sample pitch (um)
    centre = (fw / 2, fh / 2)
    # --- visit: pose and the per-visit randomness
    factor = 1.0
    if regrown is None:
        rot, shift = 0.0, (0.0, 0.0)
        rng_visit = np.random.default_rng([seed, 5])
        rng_noise = np.random.default_rng([seed, 6])
    else:
        factor = float(regrown[0])
        rng_visit = np.random.default_rng([seed, int(regrown[1]) & 0xFFFFFFFFFFFF, 7])
        rng_noise = np.random.default_rng([seed, int(regrown[1]) & 0xFFFFFFFFFFFF, 8])
        rot = math.radians(rng_visit.uniform(-2, 2))
        shift = (rng_visit.uniform(-0.02, 0.02) * fw, rng_visit.uniform(-0.02, 0.02) * fh)
    # --- the site (independent of the visit)
    big = margin + 0.02 * max(fw, fh) + 0.036 * r0 + 60
    scene_box = (-big, -big, fw + big, fh + big)
    reach = 1500.0 if st["hair_length"] == "trimmed" else st["long_um"] * 1.5 + 400
    rng_site = np.random.default_rng([seed, 2])
    site = make_site(
        rng_site,
        -big - reach,
        -big - reach,
        fw + 2 * (big + reach),
        fh + 2 * (big + reach),
        st["density"],
    )
    nunits = len(site.units)
    base_hairy = np.asarray((site.key < OCCUPANCY).reshape(nunits, SLOTS).any(1), dtype=bool)
    yellow = (~base_hairy) & (rng_site.random(nunits) < st["yellow_p"])
    if hairless:
        active = np.zeros(len(site.key), bool)
    else:
        active = site.key < OCCUPANCY * factor
    tp = max(sp, 1.5)
    grid = Grid(
        x0=scene_box[0],
        y0=scene_box[1],
        pitch=tp,
        nx=math.ceil((scene_box[2] - scene_box[0]) / tp),
        ny=math.ceil((scene_box[3] - scene_box[1]) / tp),
    )
    near = (
        (site.units[:, 0] > scene_box[0] - 300)
        & (site.units[:, 0] < scene_box[2] + 300)
        & (site.units[:, 1] > scene_box[1] - 300)
        & (site.units[:, 1] < scene_box[3] + 300)
    )
    skin_params: dict[str, Any] = {}
    skin = build_skin(
        np.random.default_rng([seed, 3]),
        grid,
        st["tone"],
        site.units[near],
        base_hairy[near],
        yellow[near],
        skin_params,
    )
    immersion = st["light"] == "immersion"
    if immersion:
        skin.height *= np.float32(0.6)
    # --- skin mesh over the render area, in camera coordinates
    gp = 2 * sp
    vx0, vy0 = -margin - gp, -margin - gp
    nvx = math.ceil((wi * sensor_um + 2 * gp) / gp) + 1
    nvy = math.ceil((hi * sensor_um + 2 * gp) / gp) + 1
    gyv, gxv = np.mgrid[0:nvy, 0:nvx].astype(np.float64)
    sxv, syv = _to_scene(vx0 + gxv * gp, vy0 + gyv * gp, rot, shift, centre)
    mesh_skin = SkinMesh(vx0, vy0, gp, skin.grid.sample(skin.height, sxv, syv).astype(np.float64))
    del gxv, gyv, sxv, syv
    # --- hairs
    box = (-margin, -margin, -margin + wi * sensor_um, -margin + hi * sensor_um)
    mesh_box = (box[0] - 300, box[1] - 300, box[2] + 300, box[3] + 300)
    hairs: list[Hair] = []
    meshes: list[tuple[int, Mesh]] = []
    slots = np.nonzero(active)[0]
    ez_all = (
        skin.grid.sample(
            skin.height,
            site.slot_xy[slots, 0].astype(np.float64),
            site.slot_xy[slots, 1].astype(np.float64),
        )
        if len(slots)
        else np.zeros(0)
    )
    for k, i in enumerate(slots):
        sx_, sy_ = _to_cam(site.slot_xy[i], rot, shift, centre)
        far = reach + 200
        if sx_ < box[0] - far or sx_ > box[2] + far or sy_ < box[1] - far or sy_ > box[3] + far:
            continue
        kind, pts, radius, col, i0, end, dia, shine, fray = build_hair(
            site, int(i), st, float(ez_all[k]), sp
        )
        pts = _to_cam(pts, rot, shift, centre)
        if immersion:
            zc = st["gel_um"]
            pos = pts[:, 2] > 0
            pts[pos, 2] = zc * np.tanh(pts[pos, 2] / zc)
        hair = Hair(
            slot=int(i),
            kind=kind,
            pts=pts,
            radius=radius,
            col=col,
            i0=i0,
            end=end,
            diameter=dia,
            shine=shine,
            fray=fray,
        )
        sides = 6 if dia / sp < 4 else 8 if dia / sp < 12 else 10
        tm = tube(hair, sides, mesh_box)
        if tm is None and not (
            box[0] - 250 < pts[i0, 0] < box[2] + 250 and box[1] - 250 < pts[i0, 1] < box[3] + 250
        ):
            continue
        hairs.append(hair)
        if tm is not None:
            meshes.append((len(hairs) - 1, tm))
    # flakes: scale lying on the skin, never over a follicle opening
    rng_flake = np.random.default_rng([seed, 9])
    flake_meshes = _flakes(rng_flake, scene_box, st["flakes_per_mm2"], site.slot_xy, skin)
    for fm in flake_meshes:
        fm.pos = _to_cam(fm.pos, rot, shift, centre)
        meshes.append((-2, fm))
    geo = merge(meshes)
    zmax = float(geo.pos[:, 2].max()) if len(geo.pos) else 20.0
    # --- lights and shadow maps
    leds = _led_dirs(st)
    led_w = np.full(len(leds), 1.0 / len(leds)) * np.exp(rng_visit.normal(0, 0.08, len(leds)))
    led_w /= led_w.sum()
    smp = max(2.0 * sp, 2.5)
    smaps = [_shadow_map(geo, ld, box, zmax, smp) for ld in leds]
    # --- bubbles (in the gel of this visit)
    bubbles = _bubbles(rng_visit, box, st["bubbles_per_mm2"] if immersion else 0.0, st["gel_um"])

    # --- camera-facing triangles in sample coordinates
    def to_samples(mesh: Mesh, facing: bool) -> tuple[F64, F64, I32, F64, F64]:
        tri = mesh.tri
        ids = np.arange(len(tri), dtype=np.int32)
        if facing and len(tri):
            keep = mesh.nrm[tri].mean(1)[:, 2] > -0.05
            tri, ids = tri[keep], ids[keep]
        p = mesh.pos[tri] if len(tri) else np.zeros((0, 3, 3))
        xy = np.stack([(p[..., 0] - cam.gx0) / sp - 0.5, (p[..., 1] - cam.gy0) / sp - 0.5], -1)
        return xy, p[..., 2], ids, xy[..., 1].min(1), xy[..., 1].max(1)

    hx, hz, hids, hy0, hy1 = to_samples(geo, True)
    bx, bz, bids, by0, by1 = to_samples(bubbles, True)
    nsx, nsy = wi * m, hi * m
    ids_full = np.full((nsy, nsx), -1, np.int32)
    optical = np.zeros((hi, wi, 3), np.float32)
    depth_px = np.zeros((hi, wi), np.float32)
    skin_px = np.zeros((hi, wi), bool)
    rows = max(1, MAX_SAMPLES_BAND // (nsx * m)) * m
    xs = cam.gx0 + (np.arange(nsx) + 0.5) * sp
    light = st["light"]
    led_rgb = np.asarray(st["led_rgb"], np.float32)
    half_vec = leds + np.array([0.0, 0.0, 1.0])
    half_vec /= np.linalg.norm(half_vec, axis=1, keepdims=True)
    hair_shine = np.array([hh.shine for hh in hairs] + [0.0])
    for r0_ in range(0, nsy, rows):
        r1_ = min(nsy, r0_ + rows)
        ys = cam.gy0 + (np.arange(r0_, r1_) + 0.5) * sp
        X, Y = np.meshgrid(xs, ys)
        zs, ns = mesh_skin.height_normal(X, Y)
        SX, SY = _to_scene(X, Y, rot, shift, centre)
        alb = np.stack([skin.grid.sample(skin.albedo[c], SX, SY) for c in range(3)], -1)
        gloss = skin.grid.sample(skin.gloss, SX, SY)
        del SX, SY
        depth = zs.astype(np.float32)
        sel = (hy1 >= r0_ - 1) & (hy0 <= r1_ + 1)
        tbuf, b1, b2 = _raster_band(hx[sel], hz[sel], hids[sel], depth, r0_)
        hit = tbuf >= 0
        obj = np.full(depth.shape, -1, np.int32)
        nrm = ns.astype(np.float32)
        tng = np.zeros_like(nrm)
        is_hair = np.zeros(depth.shape, bool)
        is_cap = np.zeros(depth.shape, bool)
        if hit.any():
            t = tbuf[hit]
            w1 = b1[hit][:, None]
            w2 = b2[hit][:, None]
            vi = geo.tri[t]

            alb[hit] = _interp(geo.col, vi, w1, w2)
            nn = _interp(geo.nrm, vi, w1, w2)
            nrm[hit] = nn / np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-6)
            tt = _interp(geo.tan, vi, w1, w2)
            tng[hit] = tt / np.maximum(np.linalg.norm(tt, axis=1, keepdims=True), 1e-6)
            obj[hit] = geo.tri_obj[t]
            is_hair[hit] = geo.tri_obj[t] >= 0
            is_cap[hit] = geo.tri_cap[t]
        ids_full[r0_:r1_] = obj
        P = np.stack([X, Y, depth.astype(np.float64)], -1)
        if light == "polarised":
            alb = alb ** np.float32(1.15)
        col = np.zeros(alb.shape, np.float32)
        spec = np.zeros(alb.shape[:-1], np.float32)
        kk = is_hair & ~is_cap
        shine_s = hair_shine[np.where(is_hair, obj, -1)].astype(np.float32)
        for li, (ld, sm) in enumerate(zip(leds, smaps, strict=True)):
            vis = sm.visibility(P, 1.2 * smp + 1.5) * np.float32(led_w[li])
            ndl = nrm @ ld.astype(np.float32)
            diff = np.clip((ndl + 0.2) / 1.2, 0, None)
            tl = tng @ ld.astype(np.float32)
            kkd = np.sqrt(np.clip(1 - tl * tl, 0, 1))
            diff = np.where(kk, 0.35 * kkd + 0.65 * np.clip(ndl, 0, None), diff)
            col += (vis * diff)[..., None] * alb
            if light != "polarised":
                hv = half_vec[li].astype(np.float32)
                ndh = np.clip(nrm @ hv, 0, 1)
                th = tng @ hv
                sk = np.where(
                    kk,
                    st["hair_spec"]
                    * shine_s
                    * np.sqrt(np.clip(1 - th * th, 0, 1)) ** st["hair_shin"]
                    * np.clip(ndl * 4, 0, 1),
                    np.where(is_hair | (obj == -2), 0.3 * st["hair_spec"], st["skin_spec"] * gloss)
                    * ndh ** st["skin_shin"],
                )
                if light == "immersion":
                    sk = sk * np.where(is_hair, 0.3, 0.05)
                spec += vis * sk
        col = col + np.float32(st["ambient"]) * alb
        col = col * led_rgb + spec[..., None] * led_rgb
        if len(bx):
            bsel = (by1 >= r0_ - 1) & (by0 <= r1_ + 1)
            bdepth = np.full(depth.shape, -1e9, np.float32)
            btri, c1, c2 = _raster_band(bx[bsel], bz[bsel], bids[bsel], bdepth, r0_)
            bh = btri >= 0
            if bh.any():
                vi = bubbles.tri[btri[bh]]
                w1 = c1[bh][:, None]
                w2 = c2[bh][:, None]
                bn = _interp(bubbles.nrm, vi, w1, w2)
                bn /= np.linalg.norm(bn, axis=1, keepdims=True)
                nz = np.abs(bn[:, 2])
                trans = 0.5 + 0.5 * nz**2
                hl = np.zeros(len(bn), np.float32)
                for li in range(len(leds)):
                    hl += (
                        np.clip(bn @ half_vec[li].astype(np.float32), 0, 1) ** 300 * 3.0 * led_w[li]
                    )
                rim = 0.5 * (1 - nz) ** 6
                col[bh] = col[bh] * trans[:, None] + (hl + rim)[:, None] * led_rgb
        # resolve: box filter over the m x m samples of each ideal pixel
        pr0, pr1 = r0_ // m, r1_ // m
        optical[pr0:pr1] = col.reshape(pr1 - pr0, m, wi, m, 3).mean((1, 3))
        depth_px[pr0:pr1] = depth.reshape(pr1 - pr0, m, wi, m).mean((1, 3))
        skin_px[pr0:pr1] = (obj == -1).reshape(pr1 - pr0, m, wi, m).all((1, 3))
    # --- exposure: the skin's median brightness to a level that follows its tone
    lum = optical @ np.array([0.3, 0.55, 0.15], np.float32)
    ref = lum[skin_px] if skin_px.sum() > 500 else lum.ravel()
    base_lum = float(np.dot(TONE_RGB[st["tone"]], [0.3, 0.55, 0.15]))
    target = 0.42 * st["exposure"] * (base_lum / 0.45) ** 0.55
    optical *= np.float32(target / max(float(np.median(ref)), 1e-4))
    # --- depth of field from the z-buffer
    iy, ix = np.mgrid[0:hi, 0:wi]
    cx_ = cam.gx0 + (ix + 0.5) * sensor_um - fw / 2
    cy_ = cam.gy0 + (iy + 0.5) * sensor_um - fh / 2
    zf = st["focus_um"] + st["focus_tilt"][0] * cx_ + st["focus_tilt"][1] * cy_
    coc = (st["lens_blur"] + st["coc_per_um"] * np.abs(depth_px - zf)).astype(np.float32)
    image = develop(cam, optical, coc, st["cam"], np.random.default_rng([seed, 10]), rng_noise)
    truth, listed, outs = _truth(
        st,
        skin_params,
        cam,
        hairs,
        mesh_skin,
        ids_full,
        hairless,
        regrown,
        factor,
        rot,
        shift,
        len(site.units),
        int(active.sum()),
    )
    return (
        image,
        truth,
        Debug(
            cam=cam, ids=ids_full, hair_out=outs, hair_listed=listed, kinds=[x.kind for x in hairs]
        ),
    )


def _truth(
    st: dict[str, Any],
    skin_params: dict[str, Any],
    cam: Camera,
    hairs: list[Hair],
    skin: SkinMesh,
    ids: I32,
    hairless: bool,
    regrown: tuple[float, int] | None,
    factor: float,
    rot: float,
    shift: tuple[float, float],
    n_units: int,
    n_active: int,
) -> tuple[dict[str, Any], NDArray[np.bool_], F64]:
    w, h, um = cam.w, cam.h, cam.um
    em = np.array([_emergence(hh, skin) for hh in hairs]).reshape(-1, 2)
    # hairs emerging far outside the frame are neither listed nor near (and the inverse
    # distortion is only iterated where it converges)
    lim = 400.0 + 0.05 * cam.r0
    fw, fh = w * um, h * um
    close = (em[:, 0] > -lim) & (em[:, 0] < fw + lim) & (em[:, 1] > -lim) & (em[:, 1] < fh + lim)
    ox = np.full(len(em), np.nan)
    oy = np.full(len(em), np.nan)
    ox[close], oy[close] = cam.cam_to_output(em[close, 0], em[close, 1])
    inside = (ox >= -0.5) & (ox < w - 0.5) & (oy >= -0.5) & (oy < h - 0.5)
    masked = np.zeros(len(hairs), bool)
    if cam.stop is not None:
        masked = np.hypot(ox - cam.stop[0], oy - cam.stop[1]) > cam.stop[2]
    listed = inside & ~masked
    hair_list = [
        {"x_px": float(ox[k]), "y_px": float(oy[k]), "diameter_um": float(hairs[k].diameter)}
        for k in np.nonzero(listed)[0]
    ]
    masked_list = [
        {"x_px": float(ox[k]), "y_px": float(oy[k])} for k in np.nonzero(inside & masked)[0]
    ]
    dx = np.maximum(np.maximum(-0.5 - ox, ox - (w - 0.5)), 0)
    dy = np.maximum(np.maximum(-0.5 - oy, oy - (h - 0.5)), 0)
    near = ~inside & (np.hypot(dx, dy) * um <= 200.0)
    outside = [{"x_px": float(ox[k]), "y_px": float(oy[k])} for k in np.nonzero(near)[0]]
    # tips: free ends inside the frame, inside the stop, and not covered by another object
    tips = []
    sp = cam.q / cam.m
    for k, hh in enumerate(hairs):
        if hh.kind == "black_dot":
            continue
        e = hh.pts[-1]
        if not (-lim < e[0] < fw + lim and -lim < e[1] < fh + lim):
            continue
        tx, ty = cam.cam_to_output(np.array([e[0]]), np.array([e[1]]))
        tx_, ty_ = float(tx[0]), float(ty[0])
        if not (-0.5 <= tx_ < w - 0.5 and -0.5 <= ty_ < h - 0.5):
            continue
        if cam.stop is not None and math.hypot(tx_ - cam.stop[0], ty_ - cam.stop[1]) > cam.stop[2]:
            continue
        si = round((e[0] - cam.gx0) / sp - 0.5)
        sj = round((e[1] - cam.gy0) / sp - 0.5)
        win = ids[max(sj - 1, 0) : sj + 2, max(si - 1, 0) : si + 2]
        if not (win == k).any():
            continue
        tips.append(
            {
                "x_px": tx_,
                "y_px": ty_,
                "cut": hh.end != "taper",
                "diameter_um": float(2 * hh.radius[-1]),
            }
        )
    n = len(hair_list)
    diam = [hh["diameter_um"] for hh in hair_list]
    area_cm2 = w * h * um * um * 1e-8
    tone = st["tone"]
    colour = st["hair_colour"]
    factors = {
        "hair_length": "hairless" if hairless else st["hair_length"],
        "hair_colour": colour,
        "skin_tone": "light" if tone <= 2 else "medium" if tone <= 4 else "dark",
        "scale": "3-5" if um < 5 else "5-8" if um < 8 else "8-12",
        "light": st["light"],
        "visit": "baseline" if regrown is None else "follow-up",
        "fitzpatrick": ["I", "II", "III", "IV", "V", "VI"][tone - 1],
        "condition": st["condition"],
        "curl": st["curl"],
        "field_stop": "yes" if cam.stop is not None else "no",
        "focus": st["focus"],
    }
    kinds: dict[str, int] = {}
    for j in np.nonzero(listed)[0]:
        kinds[hairs[j].kind] = kinds.get(hairs[j].kind, 0) + 1
    params: dict[str, Any] = {
        "style": {k: v for k, v in st.items() if k != "cam"},
        "camera": {
            **st["cam"],
            "sensor_w": cam.ws,
            "sensor_h": cam.hs,
            "samples_per_px": cam.m * cam.m,
        },
        "skin": skin_params,
        "pose": {"rotation_deg": math.degrees(rot), "shift_um": [shift[0], shift[1]]},
        "regrown_factor": factor,
        "units_in_site": n_units,
        "hairs_active_in_site": n_active,
        "hairs_drawn": len(hairs),
        "listed_kinds": kinds,
    }
    params = _jsonable(params)
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": int(w),
        "height": int(h),
        "um_per_px": float(um),
        "hairs": hair_list,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if n else 0.0,
        "vellus_fraction": float(sum(d < 30 for d in diam) / n) if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": masked_list,
        "field_stop": None
        if cam.stop is None
        else {
            "x_px": float(cam.stop[0]),
            "y_px": float(cam.stop[1]),
            "radius_px": float(cam.stop[2]),
        },
        "factors": factors,
        "params": params,
    }
    return truth, listed, np.stack([ox, oy], 1)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v)
    return v
