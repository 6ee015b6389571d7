"""Rasterising settled shafts with Pillow's ImageDraw at high supersampling.

Every shaft segment becomes a quadrilateral between mitred node normals, drawn in order
of height (painter's algorithm over all segments of all hairs, so a lying hair can cross
over one hair and under the next, and an upright stub covers what lies beneath it). A
segment is two nested quads: a translucent rim and an opaque core, which reads as a
round, absorbing shaft. Colours go into a premultiplied RGBA canvas; separate 8-bit
canvases take the specular streak of non-polarised light, the cast shadow, and the faint
shadow of the shaft still inside the follicle. Ends are tapered, blunt, oblique or frayed.
Canvases are box-reduced to the output grid by the caller."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from sim.blind11.camera import Camera
from sim.blind11.design import Design
from sim.blind11.geometry import Shafts
from sim.blind11.plan import EXCLAM, FRAYED, OBLIQUE, Hairs

F64 = NDArray[np.float64]
REFL_MAX = 0.8  # reflectance that a premultiplied 255 stands for
PIL_GROW = 0.45  # Pillow fills about this much wider than the exact polygon
LIGHT_HAIR_LUM = 0.25  # a hair whose colour's luminance is above this is drawn as light
RIM_LIGHT, RIM_DARK = 0.95, 0.84  # the rim's opacity over the core's, light and dark hairs


@dataclass
class Canvases:
    colour: Image.Image  # RGBA, premultiplied colour / REFL_MAX, alpha
    spec: Image.Image | None  # L, specular streaks
    shadow: Image.Image | None  # L, cast shadows
    follicle: Image.Image | None  # L, in-follicle shaft shadows
    ss: int


def _project(cam: Camera, ss: int, nodes: F64) -> tuple[F64, F64, F64]:
    px, py = cam.to_px(nodes[..., 0], nodes[..., 1], nodes[..., 2])
    scale = cam.scale_at(nodes[..., 0], nodes[..., 1], nodes[..., 2])
    return (px + 0.5) * ss - 0.5, (py + 0.5) * ss - 0.5, scale * ss


def _normals(x: F64, y: F64) -> tuple[F64, F64]:
    tx = np.empty_like(x)
    ty = np.empty_like(y)
    tx[:, 1:-1] = x[:, 2:] - x[:, :-2]
    ty[:, 1:-1] = y[:, 2:] - y[:, :-2]
    tx[:, 0], ty[:, 0] = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0]
    tx[:, -1], ty[:, -1] = x[:, -1] - x[:, -2], y[:, -1] - y[:, -2]
    ln = np.sqrt(tx * tx + ty * ty)
    bad = ln < 1e-9
    ln = np.where(bad, 1.0, ln)
    tx, ty = np.where(bad, 1.0, tx / ln), np.where(bad, 0.0, ty / ln)
    return -ty, tx


def _quads(x: F64, y: F64, nx: F64, ny: F64, hw: F64) -> F64:
    """(H, N - 1, 8) flat quad coordinates of every segment."""
    lx, ly = x + nx * hw, y + ny * hw
    rx, ry = x - nx * hw, y - ny * hw
    return np.stack(
        [
            lx[:, :-1],
            ly[:, :-1],
            lx[:, 1:],
            ly[:, 1:],
            rx[:, 1:],
            ry[:, 1:],
            rx[:, :-1],
            ry[:, :-1],
        ],
        axis=-1,
    )


def _draw_width(width: F64) -> tuple[F64, F64]:
    """Half-width to hand Pillow and the alpha factor that keeps the covered area right."""
    wide = width >= 1.4
    half = np.where(wide, 0.5 * (width - PIL_GROW), 0.25)
    gain = np.where(wide, 1.0, np.clip(width / 0.93, 0.0, 1.0))
    return half, gain


def _thin(diam: F64) -> F64:
    """Opacity factor of a thin shaft (thin hairs carry less pigment across)."""
    out: F64 = np.clip((diam / 25.0) ** 0.5, 0.35, 1.0)
    return out


def _light(hairs: Hairs, idx: NDArray[np.intp]) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = hairs.colour[idx] @ np.array([0.3, 0.59, 0.11]) > LIGHT_HAIR_LUM
    return out


def visible_px(cam: Camera, hairs: Hairs, idx: NDArray[np.intp], nodes: F64, diam: F64) -> F64:
    """How much of the pixel it crosses the drawn stroke fills at each node (H, N): its
    drawn width in output pixels (at most one) times the opacity of its rim, as draw_hairs
    draws it (below about a subpixel Pillow fills a fixed width and the opacity is scaled
    down to keep the covered area, so the product holds there too). A tapered end fades
    out as this falls; a stroke wider than a pixel is as faint as its opacity."""
    width = np.minimum(diam * cam.scale_at(nodes[..., 0], nodes[..., 1], nodes[..., 2]), 1.0)
    rim = np.where(_light(hairs, idx), RIM_LIGHT, RIM_DARK)[:, None]
    opacity = np.clip(hairs.alpha[idx][:, None] * _thin(diam), 0.0, 1.0) * rim
    out: F64 = width * opacity
    return out


def draw_hairs(
    cam: Camera,
    ss: int,
    hairs: Hairs,
    shafts: Shafts,
    design: Design,
) -> Canvases:
    w, h = cam.width * ss, cam.height * ss
    colour = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    pol = design.light == "polarised"
    spec = None if pol else Image.new("L", (w, h), 0)
    shadow = Image.new("L", (w, h), 0) if design.hair_shadow > 0 else None
    follicle = Image.new("L", (w, h), 0) if design.follicle_shadow > 0 else None
    quads_all: list[F64] = []
    cores_all: list[F64] = []
    streak_all: list[F64] = []
    shadow_all: list[F64] = []
    rgba_edge: list[NDArray[np.int64]] = []
    rgba_core: list[NDArray[np.int64]] = []
    spec_val: list[F64] = []
    has_core: list[NDArray[np.bool_]] = []
    zkey: list[F64] = []
    margin = 4.0 * ss
    sh_az = math.radians(design.shadow_azimuth_deg)
    light = np.array([math.cos(sh_az + 2.3), math.sin(sh_az + 2.3)])
    fdraw = ImageDraw.Draw(follicle) if follicle is not None else None
    for idx, nodes, diam in zip(shafts.index, shafts.nodes, shafts.diam, strict=True):
        x, y, scale = _project(cam, ss, nodes)
        inside = (
            (x.max(axis=1) > -margin)
            & (x.min(axis=1) < w + margin)
            & (y.max(axis=1) > -margin)
            & (y.min(axis=1) < h + margin)
        )
        if not inside.any():
            continue
        sel = np.flatnonzero(inside)
        x, y, scale, nodes, diam, idx = x[sel], y[sel], scale[sel], nodes[sel], diam[sel], idx[sel]
        nx, ny = _normals(x, y)
        width = diam * scale
        half, gain = _draw_width(width)
        quad = _quads(x, y, nx, ny, half)
        col = hairs.colour[idx]
        alpha = hairs.alpha[idx]
        lum = col @ np.array([0.3, 0.59, 0.11])
        light_hair = _light(hairs, idx)
        # end shapes: oblique cut slants the last edge
        end = hairs.end[idx]
        tx, ty = ny[:, -1], -nx[:, -1]
        slant = np.where(end == OBLIQUE, np.tan(hairs.end_angle[idx]), 0.0) * half[:, -1]
        quad[:, -1, 2] += tx * slant
        quad[:, -1, 3] += ty * slant
        quad[:, -1, 4] -= tx * slant
        quad[:, -1, 5] -= ty * slant
        core_half = 0.5 * half
        core = _quads(x, y, nx, ny, core_half)
        # reach back over the joint, so the next rim never leaves a seam across a core
        bx, by = x[:, :-1] - x[:, 1:], y[:, :-1] - y[:, 1:]
        bl = np.maximum(np.hypot(bx, by), 1e-9)
        back = np.minimum(1.5, 0.5 * bl) / bl
        core[:, 1:, 0] += bx[:, 1:] * back[:, 1:]
        core[:, 1:, 1] += by[:, 1:] * back[:, 1:]
        core[:, 1:, 6] += bx[:, 1:] * back[:, 1:]
        core[:, 1:, 7] += by[:, 1:] * back[:, 1:]
        seg_w = 0.5 * (width[:, 1:] + width[:, :-1])
        seg_gain = 0.5 * (gain[:, 1:] + gain[:, :-1])
        thin = _thin(0.5 * (diam[:, 1:] + diam[:, :-1]))
        nseg = x.shape[1] - 1
        s = np.linspace(0.0, 1.0, nseg)[None, :]
        uid = hairs.uid[idx]
        shade = 1.0 + 0.06 * np.sin(37.0 * s + 11.0 * (uid[:, None] % 7))
        excl = (hairs.kind[idx] == EXCLAM)[:, None]
        shade = np.where(excl, shade * (1.6 - 1.1 * s), shade)
        a_core = np.clip(alpha[:, None] * thin * seg_gain, 0.0, 1.0)
        edge_f = np.where(light_hair, 0.6, 1.25)[:, None, None]
        core_f = np.where(light_hair, 1.05, 0.8)[:, None, None]
        a_edge = np.where(light_hair[:, None], a_core * RIM_LIGHT, a_core * RIM_DARK)
        c_edge = np.clip(col[:, None, :] * edge_f * shade[..., None], 0.0, REFL_MAX)
        c_core = np.clip(col[:, None, :] * core_f * shade[..., None], 0.0, REFL_MAX)
        a_core = np.where(light_hair[:, None], a_core * 0.85, a_core)
        e8 = np.concatenate(
            [
                np.rint(255 * a_edge[..., None] * c_edge / REFL_MAX),
                np.rint(255 * a_edge)[..., None],
            ],
            axis=-1,
        ).astype(np.int64)
        c8 = np.concatenate(
            [
                np.rint(255 * a_core[..., None] * c_core / REFL_MAX),
                np.rint(255 * a_core)[..., None],
            ],
            axis=-1,
        ).astype(np.int64)
        zmid = 0.5 * (nodes[:, 1:, 2] + nodes[:, :-1, 2]) + 1e-3 * (uid[:, None] % 997) / 997.0
        quads_all.append(quad.reshape(-1, 8))
        cores_all.append(core.reshape(-1, 8))
        rgba_edge.append(e8.reshape(-1, 4))
        rgba_core.append(c8.reshape(-1, 4))
        has_core.append((2.0 * core_half[:, 1:] >= 1.5).reshape(-1) & (seg_w.reshape(-1) > 3.0))
        zkey.append(zmid.reshape(-1))
        if spec is not None:
            snx = 0.5 * (nx[:, 1:] + nx[:, :-1])
            sny = 0.5 * (ny[:, 1:] + ny[:, :-1])
            facing = snx * light[0] + sny * light[1]
            side = 0.35 * half * np.sign(np.pad(facing, ((0, 0), (0, 1)), mode="edge"))
            streak = _quads(x + nx * side, y + ny * side, nx, ny, 0.18 * half)
            gloss = 0.25 + 0.75 * np.abs(facing)
            gloss = np.where(light_hair[:, None], 0.5 * gloss, gloss) * (seg_w > 6.0)
            streak_all.append(streak.reshape(-1, 8))
            spec_val.append(gloss.reshape(-1))
        if shadow is not None:
            dz = nodes[..., 2] * design.shadow_slope * scale
            sx = x + math.cos(sh_az) * dz
            sy = y + math.sin(sh_az) * dz
            shadow_all.append(_quads(sx, sy, nx, ny, half).reshape(-1, 8))
        if fdraw is not None and follicle is not None:
            # the shaft inside the follicle, seen through the epidermis
            el = hairs.elevation[idx]
            depth = 120.0
            back = np.minimum(depth / np.tan(el), 260.0)
            dx, dy = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0]
            ln = np.maximum(np.hypot(dx, dy), 1e-9)
            ux, uy = dx / ln, dy / ln
            blen = back * scale[:, 0]
            dark = np.clip(1.0 - lum / 0.35, 0.0, 1.0) * alpha * design.follicle_shadow
            for i in range(x.shape[0]):
                if dark[i] <= 0.02:
                    continue
                hw0 = max(0.5 * float(width[i, 0]), 0.6)
                x0, y0 = float(x[i, 0]), float(y[i, 0])
                x1, y1 = x0 - float(ux[i] * blen[i]), y0 - float(uy[i] * blen[i])
                pnx, pny = -float(uy[i]), float(ux[i])
                fdraw.polygon(
                    [
                        (x0 + pnx * hw0, y0 + pny * hw0),
                        (x1 + pnx * hw0 * 1.3, y1 + pny * hw0 * 1.3),
                        (x1 - pnx * hw0 * 1.3, y1 - pny * hw0 * 1.3),
                        (x0 - pnx * hw0, y0 - pny * hw0),
                    ],
                    fill=int(255 * dark[i]),
                )
        # frayed ends: a few short splinters beyond the cut
        fr = np.flatnonzero(end == FRAYED)
        for i in fr.tolist():
            hw_end = float(half[i, -1])
            if hw_end < 1.0:
                continue
            ex, ey = float(x[i, -1]), float(y[i, -1])
            etx, ety = float(ny[i, -1]), float(-nx[i, -1])
            enx, eny = float(nx[i, -1]), float(ny[i, -1])
            k = 3 + int(uid[i]) % 3
            for j in range(k):
                foff = (j / (k - 1) - 0.5) * 1.6 * hw_end
                ln_s = hw_end * (0.35 + 0.45 * ((int(uid[i]) * 7 + j * 3) % 5) / 4.0)
                spread = (j / (k - 1) - 0.5) * 0.6
                fbx, fby = ex + enx * foff, ey + eny * foff
                tx2, ty2 = etx + enx * spread, ety + eny * spread
                sw = max(hw_end * 0.22, 0.3)
                quads_all.append(
                    np.array(
                        [
                            [
                                fbx + enx * sw,
                                fby + eny * sw,
                                fbx + tx2 * ln_s,
                                fby + ty2 * ln_s,
                                fbx + tx2 * ln_s,
                                fby + ty2 * ln_s,
                                fbx - enx * sw,
                                fby - eny * sw,
                            ]
                        ]
                    )
                )
                cores_all.append(np.zeros((1, 8)))
                rgba_edge.append(c8[i, -1][None, :])
                rgba_core.append(np.zeros((1, 4), dtype=np.int64))
                has_core.append(np.zeros(1, dtype=np.bool_))
                zkey.append(np.array([float(nodes[i, -1, 2]) + 1e-4]))
                if spec is not None:
                    streak_all.append(np.zeros((1, 8)))
                    spec_val.append(np.zeros(1))
    if not quads_all:
        return Canvases(colour, spec, shadow, follicle, ss)
    quads = np.concatenate(quads_all)
    cores = np.concatenate(cores_all)
    edge8 = np.concatenate(rgba_edge)
    core8 = np.concatenate(rgba_core)
    coreon = np.concatenate(has_core)
    z = np.concatenate(zkey)
    order = np.argsort(z, kind="stable")
    draw = ImageDraw.Draw(colour)
    sdraw = ImageDraw.Draw(spec) if spec is not None else None
    streaks = np.concatenate(streak_all) if streak_all else np.zeros((0, 8))
    sval = (
        np.rint(255 * np.clip(np.concatenate(spec_val), 0, 1)).astype(np.int64)
        if spec_val
        else None
    )
    for start in range(0, order.size, 20000):
        part = order[start : start + 20000]
        qlist = quads[part].tolist()
        clist = cores[part].tolist()
        elist = [tuple(v) for v in edge8[part].tolist()]
        klist = [tuple(v) for v in core8[part].tolist()]
        on = coreon[part].tolist()
        for j in range(part.size):
            draw.polygon(qlist[j], fill=elist[j])
            if on[j]:
                draw.polygon(clist[j], fill=klist[j])
        if sdraw is not None and sval is not None:
            slist = streaks[part].tolist()
            svals = sval[part].tolist()
            for j in range(part.size):
                sdraw.polygon(qlist[j], fill=0)
                if svals[j] > 0:
                    sdraw.polygon(slist[j], fill=svals[j])
    if shadow is not None:
        hdraw = ImageDraw.Draw(shadow)
        for q in np.concatenate(shadow_all).tolist():
            hdraw.polygon(q, fill=255)
    return Canvases(colour, spec, shadow, follicle, ss)
