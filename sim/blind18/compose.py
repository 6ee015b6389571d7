"""Shade the height field: the ground (skin, plugs, scale) per pixel, the hairs per
supersample, and their mean per pixel; the radiance a white diffuser would make 1."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind18 import light
from sim.blind18.heightfield import Buffer
from sim.blind18.skin import Skin

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

PLUG = np.array([0.8, 0.66, 0.3], np.float32)  # keratin and sebum in an opening
SCALE = np.array([0.8, 0.78, 0.7], np.float32)
F0_SKIN, F0_KERATIN = 0.028, 0.046
POLARISER_LEAK = 0.03


def _normals(height: F32) -> tuple[F32, F32, F32]:
    gy, gx = np.gradient(height)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    return (
        (-gx / norm).astype(np.float32),
        (-gy / norm).astype(np.float32),
        (1.0 / norm).astype(np.float32),
    )


def supersampled(ground: F32, ss: int) -> F32:
    """A per-pixel height field at ``ss`` supersamples per pixel side (bilinear)."""
    out: F32 = ndimage.zoom(ground, ss, order=1, mode="nearest", grid_mode=True).astype(np.float32)
    return out


def shade(
    look: dict[str, Any],
    sk: Skin,
    buf: Buffer,
    hair_cols: tuple[F32, F32, F32, F32],
    lamps: list[tuple[F64, float]],
    um: float,
) -> tuple[F32, F32, F32]:
    """Radiance (h, w, 3) of the frame, the ground's reflectance under full light (for the
    camera's meter) and each pixel's top height (px)."""
    h, w = sk.height.shape
    ss = buf.ss
    top_ss = buf.z.reshape(h * ss, w * ss)
    top = top_ss.reshape(h, ss, w, ss).max(axis=(1, 3))
    mean_top = top_ss.reshape(h, ss, w, ss).mean(axis=(1, 3))
    is_hair = buf.hair >= 0
    cover = is_hair.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)
    gloss_on = look["light"] == "non-polarised"
    spec_gain = 1.0 if gloss_on else POLARISER_LEAK
    surface = 0.03 if gloss_on else 0.012

    # the ground: skin, with yellow plugs and scale on it
    snx, sny, snz = _normals(sk.height)
    on_scale = sk.scale > 0.3
    gnx, gny, gnz = _normals(np.where(on_scale, sk.scale_height, sk.height))
    e_skin = np.zeros((h, w), np.float32)
    e_top = np.zeros((h, w), np.float32)
    spec_skin = np.zeros((h, w), np.float32)
    rough = look["roughness_skin"] * (1.0 - 0.5 * sk.gloss)
    vis_top = []
    # a share of the light arrives diffusely, unshadowed (the pits' floors see less of it)
    direct = 1.0 - look["ambient"]
    e_skin += look["ambient"] * (0.5 + 0.5 * snz**8)
    e_top += look["ambient"]
    for d, power in lamps:
        v_skin = light.shadow(top, sk.height, d, um)
        v_top = light.shadow(top, top, d, um, slack=0.8)
        vis_top.append(v_top)
        lam = np.clip(snx * d[0] + sny * d[1] + snz * d[2], 0.0, None)
        e_skin += direct * power * v_skin * lam
        lam_g = np.clip(gnx * d[0] + gny * d[1] + gnz * d[2], 0.0, None)
        e_top += direct * power * v_top * lam_g
        spec_skin += power * v_skin * light.ggx(snx, sny, snz, d, rough, F0_SKIN)
    # under a hair the skin gets less of the LEDs' light (some passes through and round the
    # fibre): what it passes on below shows round the hair
    e_in = e_skin * (1.0 - 0.6 * cover)
    t = light.epidermis(sk.melanin)
    # light leaves through the upper dermis (sharp) after passing the vessels below (blurred)
    rd_top = light.dipole_rd(sk.blood - sk.vessel)
    rd = light.dipole_rd(sk.blood)
    rd_top = rd_top + sk.white[..., None] * (0.8 - rd_top)
    rd = rd + sk.white[..., None] * (0.8 - rd)
    post = t * np.sqrt(rd_top)
    skin = post * light.scatter(t * rd / np.sqrt(rd_top) * e_in[..., None], um, look["blood"])
    skin += (spec_gain * (0.2 + 0.8 * sk.gloss) * spec_skin)[..., None]
    plug = PLUG * (e_skin[..., None] * 0.9 + 0.1) + (spec_gain * spec_skin)[..., None]
    skin = skin + (sk.plug * 0.85)[..., None] * (plug - skin)
    scale = SCALE * (e_top[..., None] * 0.85 + 0.15)
    ground = skin + (sk.scale * 0.7)[..., None] * (scale - skin)
    # what the camera meters on: the ground's reflectance under full light, untouched by hair
    meter = t * t * rd
    meter = meter + (sk.plug * 0.85)[..., None] * (PLUG - meter)
    meter = meter + (sk.scale * 0.7)[..., None] * (SCALE - meter)

    # the hairs, per supersample
    sel = np.flatnonzero(is_hair)
    out = ground * (1.0 - cover)[..., None]
    if sel.size:
        row, col = sel // (w * ss), sel % (w * ss)
        pix = (row // ss) * w + col // ss
        hid = buf.hair[sel]
        nx = buf.nx[sel].astype(np.float32)
        ny = buf.ny[sel].astype(np.float32)
        nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
        shaft_c, root_c, regrow, alpha = hair_cols
        along = buf.along[sel]
        alb = np.where((along < regrow[hid])[:, None], root_c[hid], shaft_c[hid])
        # slow pigment changes along the fibre; the cut face (cortex end-on) a little paler
        # and rougher than the cuticle
        alb = alb * (1.0 + 0.06 * np.sin(along * 0.0071 + hid * 1.7))[:, None]
        face = buf.face[sel]
        alb = np.where(face[:, None], np.minimum(alb * 1.1 + 0.01, 0.95), alb)
        rough_h = np.where(face, 0.55, look["roughness_hair"]).astype(np.float32)
        diff = np.zeros(sel.size, np.float32)
        spec = np.zeros(sel.size, np.float32)
        for (d, power), vt in zip(lamps, vis_top, strict=True):
            vis = vt.ravel()[pix]
            diff += direct * power * vis * np.clip(nx * d[0] + ny * d[1] + nz * d[2], 0.0, None)
            spec += power * vis * light.ggx(nx, ny, nz, d, rough_h, F0_KERATIN)
        # light from the bright skin round the hair reaches its sides and underside; the
        # cuticle's rough surface scatters a little light back uncoloured (less of it passes
        # a cross-polariser)
        diff += look["ambient"] * (0.5 + 0.5 * nz)
        col = alb * (diff + 0.1)[:, None] + (spec_gain * spec + surface * diff)[:, None]
        # thin and unpigmented fibres let the ground through
        opacity = alpha[hid][:, None]
        col = opacity * col + (1.0 - opacity) * ground.reshape(-1, 3)[pix]
        for c in range(3):
            out[..., c] += (
                np.bincount(pix, weights=col[:, c], minlength=h * w).reshape(h, w) / ss**2
            ).astype(np.float32)
    return out.astype(np.float32), meter.astype(np.float32), mean_top.astype(np.float32)
