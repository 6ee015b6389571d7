"""Scalp skin: spectral mottle of melanin and blood, a honeycomb pigment network on darker
skin, skin furrows, corneocyte scale, sebum sheen and a fine granular texture."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from sim.blind4.geometry import Canvas
from sim.blind4.look import Look
from sim.blind4.site import srgb_to_linear
from sim.blind4.spectral import CoarseFields, hex_network, ring_waves, smoothstep

_EPS_MEL = np.array([0.75, 1.05, 1.35], np.float32)
_EPS_HB = np.array([0.02, 0.5, 0.3], np.float32)


def render_skin(
    look: Look, fields: CoarseFields, canvas: Canvas, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The bare scalp, planar linear RGB (3, h, w), and its furrow map (h, w) in [0, 1]."""
    pol = look.light == "polarised"
    base = srgb_to_linear(np.array(look.skin_srgb)).astype(np.float32)
    if not pol:  # contact fluid: brighter, a little less saturated
        lum = float(base @ np.array([0.2126, 0.7152, 0.0722]))
        base = (0.85 * base + 0.15 * lum) * 1.06
    mottle = fields.sample("mottle", canvas)
    blood = fields.sample("blood", canvas)
    patch = fields.sample("patch", canvas)
    mel = mottle * np.float32(look.mottle * (1.0 + 0.8 * look.network_strength))
    del mottle
    ang = rng.uniform(0, math.pi)
    if look.network_strength > 0.02:
        psi = hex_network(canvas, fields, look.network_um, ang, 2.4)
        shift = 0.3 * patch
        lines = 1.0 - smoothstep(-1.3, -0.6, psi - shift)
        holes = smoothstep(0.5, 2.5, psi)
        mel += np.float32(look.network_strength) * (0.5 * lines - 0.08 * holes).astype(np.float32)
        del psi, lines, holes
    psi_f = hex_network(canvas, fields, look.furrow_um, ang + 0.4, 3.2, ("ph3", "ph1"))
    furrow = (1.0 - smoothstep(-1.1, -0.45, psi_f)).astype(np.float32)
    del psi_f
    hb = blood * np.float32(0.1) + np.float32(look.erythema_level) * (0.85 + 0.15 * patch)
    del blood
    img = np.empty((3, canvas.h, canvas.w), np.float32)
    for c in range(3):
        img[c] = base[c] * np.exp(-(mel * _EPS_MEL[c] + hb * _EPS_HB[c]))
    del mel, hb
    # granular texture: a pixel-scale and a cell-scale component
    tex = rng.standard_normal((canvas.h, canvas.w), dtype=np.float32)
    tex = ndimage.gaussian_filter(tex, 0.8) * np.float32(2.2)
    cells = ring_waves(rng, canvas, rng.uniform(18, 30), n=5, spread=0.35)
    grain = 1.0 + 0.03 * tex + 0.02 * cells
    grain *= 1.0 - np.float32(0.045 if pol else 0.03) * furrow
    img *= grain[None]
    del cells, grain
    # corneocyte scale: white flakes of stratum corneum in patches (fluid hides much of it)
    if look.scale_amount > 0.02:
        fine = rng.standard_normal((canvas.h, canvas.w), dtype=np.float32)
        sig = max(0.8, 10.0 / canvas.s)
        fine = ndimage.gaussian_filter(fine, sig) * np.float32(2.0 * math.sqrt(math.pi) * sig)
        base_f = 0.75 * fields.sample("misc", canvas) + 0.5 * patch
        amount = smoothstep(1.0, 1.8, base_f + 0.25 * fine) * np.clip(0.7 + 0.3 * fine, 0, 1)
        amount *= np.float32(look.scale_amount * (0.6 if pol else 0.25))
        white = srgb_to_linear(np.array([236.0, 230.0, 220.0])).astype(np.float32)
        for c in range(3):
            img[c] += amount * (white[c] - img[c])
    if look.sheen > 0:
        sh = smoothstep(0.6, 2.2, fields.sample("sheen", canvas)) * np.float32(look.sheen)
        sh *= 1.0 + 0.5 * tex
        img += sh[None]
    return img, furrow
