"""Hairs: the site's follicular units and hair slots, each hair's 3-D centreline (below the
skin, through its emergence point, then standing or lying, waving or coiling) and its tube
mesh (rings of 6-12 sides swept along the centreline, tapered or capped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind9.skin import HEIGHT_LIMIT

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

KINDS = (
    "terminal",
    "intermediate",
    "vellus",
    "miniaturised",
    "regrowing",
    "broken",
    "exclamation",
    "black_dot",
)
SLOTS = 4  # hair slots per follicular unit
OCCUPANCY = 1 / 3.2  # share of slots holding a hair at a baseline visit
SIG_EU = np.array([0.42, 0.58, 0.85])  # eumelanin absorption per channel
SIG_PHEO = np.array([0.19, 0.40, 1.05])  # pheomelanin
MELANIN = {
    "black": (9.0, 0.4),
    "dark_brown": (5.5, 0.7),
    "brown": (3.4, 0.9),
    "red": (0.7, 4.0),
    "blond": (0.8, 1.2),
    "white": (0.02, 0.08),
    "dyed_black": (11.0, 0.1),
}


@dataclass
class Site:
    """Follicular units and their hair slots over the scene region, with every per-slot
    random number drawn up front (so visits and hairless frames share them)."""

    units: F64  # (n, 2) um
    slot_xy: F64  # (n * SLOTS, 2)
    key: F64  # (n * SLOTS,) a slot holds a hair when key < occupancy
    u: dict[str, F64] = field(default_factory=dict)  # per-slot uniforms


def make_site(rng: np.random.Generator, x0: float, y0: float, w: float, h: float, d: float) -> Site:
    """Units on a jittered lattice over [x0, x0 + w] x [y0, y0 + h] (um) for a baseline
    density of ``d`` hairs per cm2."""
    unit_density = d / (SLOTS * OCCUPANCY) * 1e-8  # per um2
    a = 1 / np.sqrt(unit_density)
    nx = int(np.ceil(w / a)) + 1
    ny = int(np.ceil(h / a)) + 1
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
    ang = rng.uniform(0, np.pi)
    jitter = rng.uniform(-0.42, 0.42, (ny * nx, 2)) * a
    ux = x0 + (gx.ravel() + 0.5 + 0.15 * np.cos(ang) * gy.ravel()) * a + jitter[:, 0]
    uy = y0 + (gy.ravel() + 0.5) * a + jitter[:, 1]
    units = np.stack([ux, uy], 1)
    n = len(units)
    spread = rng.uniform(6, 22, n)
    off_ang = rng.uniform(0, 2 * np.pi, (n, SLOTS))
    off_r = spread[:, None] * np.sqrt(rng.uniform(0.05, 1, (n, SLOTS)))
    slot_xy = np.stack(
        [
            (ux[:, None] + off_r * np.cos(off_ang)).ravel(),
            (uy[:, None] + off_r * np.sin(off_ang)).ravel(),
        ],
        1,
    )
    key = rng.uniform(0, 1, n * SLOTS)
    names = (
        "kind azim theta len diam col white ext wave_a wave_p wave_ph coil_ph rest lam cap "
        "stand bend fray taper root shine tint depth"
    ).split()
    u = {k: rng.uniform(0, 1, n * SLOTS) for k in names}
    return Site(units=units, slot_xy=slot_xy, key=key, u=u)


@dataclass
class Hair:
    slot: int
    kind: str
    pts: F64  # (n, 3) centreline in camera coordinates (um)
    radius: F64  # (n,)
    col: F64  # (n, 3) linear albedo
    i0: int  # index of the vertex at the emergence point
    end: str  # "taper", "cut", "oblique", "fray"
    diameter: float  # near the skin
    shine: float
    fray: F64 = field(default_factory=lambda: np.zeros(0))


def hair_colour(style: dict[str, Any], u_col: float, u_white: float, kind: str) -> F64:
    name = style["hair_colour"]
    if name == "grey":
        name = "white" if u_white < style["white_fraction"] else style["base_colour"]
    elif name == "white":
        name = "white" if u_white < 0.93 else style["base_colour"]
    ce, cp = MELANIN[name]
    scale = np.exp((u_col - 0.5) * 0.5)
    if kind in ("vellus", "miniaturised") and name != "white":
        scale *= 0.3 + 0.4 * u_col
    rgb = np.exp(-(ce * scale * SIG_EU + cp * scale * SIG_PHEO))
    if name == "white":
        rgb = rgb * (0.72 + 0.14 * u_col)
    if name == "dyed_black":
        rgb = rgb + np.array([0.006, 0.0, 0.012])
    return np.asarray(np.minimum(rgb + 0.012, 0.85), dtype=np.float64)


def _smoothstep(x: F64) -> F64:
    c = np.clip(x, 0.0, 1.0)
    return c * c * (3 - 2 * c)


def build_hair(
    site: Site,
    i: int,
    style: dict[str, Any],
    ez: float,
    step_um: float,
) -> tuple[str, F64, F64, F64, int, str, float, float, F64]:
    """One hair of slot ``i`` in scene coordinates: kind, points, radii, colours, index of
    the emergence vertex, end type, diameter near the skin, shine, fray offsets."""
    u = {k: float(v[i]) for k, v in site.u.items()}
    kind = KINDS[int(np.searchsorted(np.cumsum(style["kind_weights"]), u["kind"] * 0.999999))]
    ex, ey = site.slot_xy[i]
    # --- diameter (near the skin) and length
    dia = {
        "terminal": 55 + 55 * u["diam"] ** 0.8,
        "intermediate": 30 + 25 * u["diam"],
        "vellus": 10 + 19 * u["diam"],
        "miniaturised": 18 + 22 * u["diam"],
        "regrowing": 25 + 45 * u["diam"],
        "broken": 40 + 55 * u["diam"],
        "exclamation": 14 + 24 * u["diam"],
        "black_dot": 35 + 60 * u["diam"],
    }[kind]
    dia = float(np.clip(dia * style["diameter_scale"], 10.0, 120.0))
    mode = style["hair_length"]
    if mode == "mixed":
        mode = "trimmed" if u["ext"] < 0.5 else "long"
    clip = style["clip_um"] * (0.75 + 0.5 * u["len"])
    long_len = style["long_um"] * (0.5 + u["len"])
    end = "taper"
    if kind in ("terminal", "intermediate"):
        length = clip if mode == "trimmed" else long_len
        if mode == "trimmed" or style["long_cut"]:
            end = "cut"
    elif kind == "miniaturised":
        length = 400 + 2600 * u["len"]
        if mode == "trimmed" and clip < length:
            length, end = clip, "cut"
    elif kind == "vellus":
        length = 300 + 1700 * u["len"]
        if mode == "trimmed" and clip < length:
            length, end = clip, "cut"
    elif kind == "regrowing":
        length = 150 + 1050 * u["len"]
    elif kind == "broken":
        length, end = 100 + 1400 * u["len"], "fray"
    elif kind == "exclamation":
        length, end = 400 + 1600 * u["len"], "fray"
    else:  # black dot: broken just above the skin
        length, end = 0.0, "cut"
    if end == "cut" and u["cap"] < 0.35:
        end = "oblique"
    r0 = dia / 2
    # --- angles
    th0 = np.radians(10 + 30 * np.sqrt(u["theta"]))
    if kind == "black_dot":
        th0 = np.radians(28 + 12 * u["theta"])
    phi0 = style["flow_rad"] + np.radians(style["spread_deg"]) * (2 * u["azim"] - 1)
    d0 = np.array([np.cos(th0) * np.cos(phi0), np.cos(th0) * np.sin(phi0), np.sin(th0)])
    e = np.array([ex, ey, ez])
    ds = float(np.clip(dia * 0.9, 1.5 * step_um, 45.0))
    # --- below the skin: straight, deep enough that the tube's top is under the surface
    below = 1.2 * r0 / (np.sin(th0) * np.cos(th0)) + 2 * ds
    nb = int(np.ceil(below / ds))
    sb = -ds * np.arange(nb, 0, -1)
    pts_b = e[None, :] + sb[:, None] * d0[None, :]
    # --- above the skin
    if kind == "black_dot":
        top = 3 + 12 * u["len"]
        sa = np.array([0.0, top / np.sin(th0)])
        pts_a = e[None, :] + sa[:, None] * d0[None, :]
        length = float(sa[-1])
    elif length < 1500 or (mode == "trimmed" and kind != "vellus"):
        pts_a, length = _standing(e, th0, phi0, length, ds, u, style)
    else:
        pts_a, length = _lying(e, th0, phi0, length, ds, r0, u, style)
    pts = np.concatenate([pts_b, pts_a])
    i0 = nb
    s = np.concatenate([sb, _arclength(pts_a)])
    # --- radius profile
    radius = np.full(len(pts), r0)
    sa_ = np.maximum(s, 0)
    if kind == "exclamation":
        r1 = (50 + 40 * u["taper"]) / 2 * style["diameter_scale"]
        radius = r0 + (r1 - r0) * (sa_ / max(length, 1.0)) ** 0.8
    if end == "taper":
        lt = min(0.45 * length, 250 + 1200 * u["taper"])
        radius = radius * (1 - 0.85 * _smoothstep((sa_ - (length - lt)) / max(lt, 1.0)))
    # --- colour
    base = hair_colour(style, u["col"], u["white"], kind)
    col = np.repeat(base[None, :], len(pts), 0)
    if style["hair_colour"] == "dyed_black":
        root_len = 80 + 500 * u["root"]
        nat = hair_colour({**style, "hair_colour": style["base_colour"]}, u["col"], 1.0, kind)
        grow = _smoothstep((root_len - sa_) / 60.0)
        col = col + (nat[None, :] - col) * grow[:, None]
    if kind != "black_dot" and style["hair_colour"] in ("blond", "red", "brown"):
        col = col * (1 + 0.15 * (sa_ / max(length, 1.0)))[:, None]
    band = 1 + 0.06 * np.sin(sa_ / (40 + 120 * u["tint"]) + 6.28 * u["wave_ph"])
    col = np.clip(col * band[:, None], 0.0, 0.9)
    if kind == "black_dot":
        col = col * 0.6
    shine = 0.4 + 0.6 * u["shine"]
    nf = 12
    fray = (np.random.default_rng(int(u["fray"] * 2**31)).uniform(-1, 1, nf)) * r0
    return kind, pts, radius, col, i0, end, dia, shine, fray


def _arclength(p: F64) -> F64:
    d = np.linalg.norm(np.diff(p, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(d)])


def _cut(p: F64, length: float) -> tuple[F64, float]:
    s = _arclength(p)
    if s[-1] <= length:
        return p, float(s[-1])
    k = int(np.searchsorted(s, length))
    f = (length - s[k - 1]) / max(s[k] - s[k - 1], 1e-9)
    q = p[k - 1] + f * (p[k] - p[k - 1])
    return np.concatenate([p[:k], q[None]]), length


def _standing(
    e: F64, th0: float, phi0: float, length: float, ds: float, u: dict[str, float], st: Any
) -> tuple[F64, float]:
    n = max(int(np.ceil(length / ds)), 4)
    h = length / n
    s = (np.arange(n) + 0.5) * h
    ths = np.radians(st["stand_deg"] * (0.7 + 0.6 * u["stand"]))
    ths = min(max(ths, th0), np.radians(72))
    th = th0 + (ths - th0) * (1 - np.exp(-s / 120.0))
    bend = (u["bend"] - 0.5) * 2 * np.radians(st["bend_deg"]) / 1000.0
    ph = phi0 + bend * s
    d = np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), np.sin(th)], 1)
    pts = e[None, :] + np.concatenate([np.zeros((1, 3)), np.cumsum(h * d, 0)])
    return pts, float(length)


def _lying(
    e: F64,
    th0: float,
    phi0: float,
    length: float,
    ds: float,
    r0: float,
    u: dict[str, float],
    st: Any,
) -> tuple[F64, float]:
    coil_r = st["coil_um"] * (0.7 + 0.6 * u["wave_a"])
    if coil_r > 0:
        ds = min(ds, coil_r * 0.55)
    n = int(np.ceil(length * 1.1 / ds)) + 2
    t = np.arange(n) * ds
    zrest = HEIGHT_LIMIT + r0 + 2 + 40 * u["rest"]
    rise = max(zrest - e[2], 1.0)
    tan0 = np.tan(th0)
    lam1 = (1.1 + 1.2 * u["lam"]) * rise / tan0
    lam2 = lam1 * (1.5 + 5 * u["lam"])
    a = (tan0 - rise / lam1) / (1 / lam1 - 1 / lam2)
    z = zrest - rise * np.exp(-t / lam1) + a * (np.exp(-t / lam2) - np.exp(-t / lam1))
    wave_a = np.radians(st["wave_deg"]) * (0.5 + u["wave_a"])
    wave_p = st["wave_um"] * (0.6 + 0.8 * u["wave_p"])
    bend = (u["bend"] - 0.5) * 2 * np.radians(st["bend_deg"]) / 1000.0
    ramp = 1 - np.exp(-t / 150.0)
    ph = phi0 + bend * t + wave_a * ramp * np.sin(2 * np.pi * t / wave_p + 6.28 * u["wave_ph"])
    x = e[0] + np.concatenate([[0.0], np.cumsum(ds * np.cos(ph[:-1]))])
    y = e[1] + np.concatenate([[0.0], np.cumsum(ds * np.sin(ph[:-1]))])
    if coil_r > 0:  # a helix around the lying path: a zig-zag seen from above
        per = coil_r * (2.0 + 3.0 * u["wave_p"])
        ang = 2 * np.pi * t / per + 6.28 * u["coil_ph"]
        side = coil_r * np.sin(ang) * ramp
        x = x - side * np.sin(ph)
        y = y + side * np.cos(ph)
        z = z + coil_r * (1 - np.cos(ang)) * ramp * 0.8
    pts = np.stack([x, y, z], 1)
    return _cut(pts, length)


@dataclass
class Mesh:
    pos: F64  # (V, 3) camera um
    nrm: F32  # (V, 3)
    tan: F32  # (V, 3)
    col: F32  # (V, 3)
    tri: NDArray[np.int32]  # (T, 3)
    tri_obj: NDArray[np.int32]  # (T,) hair index, or -2 for a flake
    tri_cap: NDArray[np.bool_]  # (T,) a cut face (no hair highlight)


def tube(hair: Hair, sides: int, box: tuple[float, float, float, float]) -> Mesh | None:
    """Tube mesh of one hair; segments whose box misses ``box`` (x0, y0, x1, y1) are left out."""
    p = hair.pts
    tng = np.gradient(p, axis=0)
    tng /= np.maximum(np.linalg.norm(tng, axis=1, keepdims=True), 1e-12)
    nv = np.cross(tng, np.array([0.0, 0.0, 1.0]))
    bad = np.linalg.norm(nv, axis=1) < 1e-6
    nv[bad] = np.cross(tng[bad], np.array([1.0, 0.0, 0.0]))
    nv /= np.linalg.norm(nv, axis=1, keepdims=True)
    bv = np.cross(tng, nv)
    # a vertex on each side across the shaft (sides is even): seen from above the tube is
    # exactly 2 r wide, as wide as the listed diameter (turned by half a side, a ring is
    # only 2 r cos(pi / sides) wide: 5-13 % thinner)
    a = 2 * np.pi * np.arange(sides) / sides
    ca, sa = np.cos(a), np.sin(a)
    dirs = ca[None, :, None] * nv[:, None, :] + sa[None, :, None] * bv[:, None, :]
    ring = p[:, None, :] + hair.radius[:, None, None] * dirs
    r = hair.radius.max()
    lo = p.min(0)
    seg_lo = np.minimum(p[:-1], p[1:]) - r
    seg_hi = np.maximum(p[:-1], p[1:]) + r
    keep = (seg_hi[:, 0] >= box[0]) & (seg_lo[:, 0] <= box[2])
    keep &= (seg_hi[:, 1] >= box[1]) & (seg_lo[:, 1] <= box[3])
    del lo
    end_in = bool(keep[-1]) if len(keep) else False
    if not keep.any():
        return None
    ks = np.nonzero(keep)[0]
    j = np.arange(sides)
    jn = (j + 1) % sides
    a0 = ks[:, None] * sides + j[None, :]
    b0 = (ks[:, None] + 1) * sides + j[None, :]
    c0 = (ks[:, None] + 1) * sides + jn[None, :]
    d0 = ks[:, None] * sides + jn[None, :]
    tris = np.concatenate(
        [np.stack([a0, b0, c0], -1).reshape(-1, 3), np.stack([a0, c0, d0], -1).reshape(-1, 3)]
    )
    pos = ring.reshape(-1, 3)
    nrm = dirs.reshape(-1, 3)
    tan = np.repeat(tng, sides, 0)
    col = np.repeat(hair.col, sides, 0)
    cap = np.zeros(len(tris), bool)
    if end_in:  # close the free end with a fan: flat, oblique or frayed
        last = ring[-1].copy()
        t_end = tng[-1]
        if hair.end == "oblique":
            tilt = np.tan(np.radians(35)) * hair.radius[-1]
            last += (tilt * ca)[:, None] * t_end[None, :]
        elif hair.end == "fray":
            f = np.resize(hair.fray, sides) * 0.6
            last += f[:, None] * t_end[None, :]
        centre = p[-1] + (last - ring[-1]).mean(0)
        base = len(pos)
        pos = np.concatenate([pos, last, centre[None]])
        cap_n = np.repeat(t_end[None, :], sides + 1, 0)
        nrm = np.concatenate([nrm, cap_n])
        tan = np.concatenate([tan, np.repeat(t_end[None, :], sides + 1, 0)])
        ccol = hair.col[-1] * (1.25 if hair.end != "taper" else 1.0)
        col = np.concatenate([col, np.repeat(np.minimum(ccol, 0.9)[None, :], sides + 1, 0)])
        fan = np.stack([base + j, base + jn, np.full(sides, base + sides)], -1)
        tris = np.concatenate([tris, fan])
        cap = np.concatenate([cap, np.ones(sides, bool)])
    return Mesh(
        pos=pos,
        nrm=nrm.astype(np.float32),
        tan=tan.astype(np.float32),
        col=col.astype(np.float32),
        tri=tris.astype(np.int32),
        tri_obj=np.zeros(len(tris), np.int32),
        tri_cap=cap,
    )


def merge(meshes: list[tuple[int, Mesh]]) -> Mesh:
    """One mesh from many, with each triangle's object index."""
    if not meshes:
        z3 = np.zeros((0, 3))
        return Mesh(
            pos=z3,
            nrm=z3.astype(np.float32),
            tan=z3.astype(np.float32),
            col=z3.astype(np.float32),
            tri=np.zeros((0, 3), np.int32),
            tri_obj=np.zeros(0, np.int32),
            tri_cap=np.zeros(0, bool),
        )
    offs = np.cumsum([0] + [len(m.pos) for _, m in meshes])
    return Mesh(
        pos=np.concatenate([m.pos for _, m in meshes]),
        nrm=np.concatenate([m.nrm for _, m in meshes]),
        tan=np.concatenate([m.tan for _, m in meshes]),
        col=np.concatenate([m.col for _, m in meshes]),
        tri=np.concatenate([m.tri + o for (_, m), o in zip(meshes, offs[:-1], strict=True)]).astype(
            np.int32
        ),
        tri_obj=np.concatenate([np.full(len(m.tri), k, np.int32) for k, m in meshes]),
        tri_cap=np.concatenate([m.tri_cap for _, m in meshes]),
    )
