"""Light: a ring of narrow-band LED triplets round the lens, and what skin and fibre send back
to the telecentric lens (looking straight down) from each band.

Diffuse light follows the surface normal the tracer found (the skin's diffuse reflectance
comes from :mod:`sim.blind19.skin`; a fibre's from its melanins), darkened by the field's
ambient occlusion. Surface reflection is Ward's anisotropic Gaussian lobe: stretched across a
fibre along its axis (hair shine), round on the skin (sebum). In polarised frames the analyser
crossed with the LEDs' polariser removes nearly all of it; under a contact plate in gel the
skin's shine is gone too."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind19 import site
from sim.blind19.scene import Pieces, Shaft
from sim.blind19.sdf import Trace
from sim.blind19.skin import Skin

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def ring(look: dict[str, Any], seed: int) -> F64:
    """Unit vectors (n, 3) toward the ring's LEDs."""
    r = site.stream(seed, 12)
    n = look["leds"]
    el = math.radians(look["led_elevation_deg"])
    az = 2.0 * math.pi * np.arange(n) / n + float(r.uniform(0.0, 2.0 * math.pi))
    return np.stack(
        [math.cos(el) * np.cos(az), math.cos(el) * np.sin(az), np.full(n, math.sin(el))], axis=1
    )


def _irradiance(n: F64, leds: F64) -> F64:
    """Cosine-weighted light on surfaces of normals ``n`` (..., 3), 1 on flat skin. Where no
    LED lies below a surface's horizon the mean of the cosines is the cosine with the mean
    direction; only steeper surfaces need each LED."""
    mean = leds.mean(axis=0)
    out: F64 = n @ mean
    el_tan = float(leds[0, 2] / math.hypot(leds[0, 0], leds[0, 1]))
    steep = np.hypot(n[..., 0], n[..., 1]) > el_tan * np.maximum(n[..., 2], 0.0)
    if steep.any():
        out[steep] = np.clip(n[steep] @ leds.T, 0.0, None).mean(axis=-1)
    res: F64 = out / float(mean[2])
    return res


def _ward(n: F64, t: F64 | None, leds: F64, ax: float, ay: float) -> F64:
    """Ward's lobe summed over the LEDs toward a viewer straight above; anisotropic along
    tangents ``t`` when given."""
    view = np.array([0.0, 0.0, 1.0])
    out = np.zeros(n.shape[:-1])
    cos_o = np.clip(n[..., 2], 1e-3, None)
    if t is not None:
        t = t - (t * n).sum(axis=-1, keepdims=True) * n
        t = t / (np.linalg.norm(t, axis=-1, keepdims=True) + 1e-9)
        b = np.cross(n, t)
    for led in leds:
        cos_i = np.clip(n @ led, 0.0, None)
        hv = led + view
        hv = hv / np.linalg.norm(hv)
        hn = np.clip(n @ hv, 1e-3, None)
        if t is None:
            tan2 = (1.0 - hn * hn) / (hn * hn)
            lobe = np.exp(-tan2 / (ax * ax)) / (4.0 * math.pi * ax * ax)
        else:
            ht, hb = t @ hv, b @ hv
            lobe = np.exp(-((ht / ax) ** 2 + (hb / ay) ** 2) / (hn * hn)) / (
                4.0 * math.pi * ax * ay
            )
        out += np.where(cos_i > 0, lobe * cos_i / np.sqrt(np.maximum(cos_i * cos_o, 1e-4)), 0.0)
    res: F64 = out / len(leds)
    return res


def radiance(
    look: dict[str, Any],
    sk: Skin,
    tr: Trace,
    pc: Pieces,
    shafts: list[Shaft],
    leds: F64,
) -> F64:
    """Light (H, W, 3) reaching the lens in the red, green and blue LED fields."""
    h, w = sk.height_um.shape
    polar = look["light"] == "polarised"
    kept = 0.03 if polar else 1.0
    skin_kept = kept * (0.15 if look["contact"] else 1.0)
    n_skin = sk.normal.reshape(-1, 3).astype(np.float64)
    refl = sk.reflectance.reshape(-1, 3).astype(np.float64)
    hit = tr.piece >= 0
    ao_skin = np.where(hit, 0.55, tr.ao)
    diffuse = refl * (_irradiance(n_skin, leds) * ao_skin)[:, None]
    skin_rad = diffuse
    if skin_kept > 0.5:  # sebum shine, unless the polariser or the gel takes it
        skin_rad = (
            diffuse + (0.04 * sk.sheen.ravel() * _ward(n_skin, None, leds, 0.25, 0.25))[:, None]
        )
    out = skin_rad.copy()
    if not shafts:
        return out.reshape(h, w, 3)
    colour = np.array([s.hair["colour"] for s in shafts], np.float64)
    root = np.array([s.hair["root_colour"] for s in shafts], np.float64)
    regrow = np.array([s.hair["regrow_um"] for s in shafts], np.float64)
    veil = np.array([s.hair["translucence"] for s in shafts], np.float64)
    axis = pc.b - pc.a
    axis = axis / (np.linalg.norm(axis, axis=1, keepdims=True) + 1e-9)

    def fibre(piece: NDArray[np.int64], t: F64, n: F64, ao: F64) -> tuple[F64, F64]:
        k = pc.owner[piece]
        s = pc.sa[piece] + t * (pc.sb[piece] - pc.sa[piece])
        alb = np.where((s < regrow[k])[:, None], root[k], colour[k])
        e = _irradiance(n, leds)
        # a fibre scatters light round inside itself: its unlit side is not black
        body = alb * ((0.3 + 0.7 * e) * ao)[:, None]
        spec = kept * 0.09 * _ward(n, axis[piece], leds, 0.08, 0.35)
        rad: F64 = body + spec[:, None]
        return rad, veil[k]

    idx = np.nonzero(hit)[0]
    if idx.size:
        rad, v = fibre(
            tr.piece[idx],
            tr.t[idx].astype(np.float64),
            tr.normal[idx].astype(np.float64),
            tr.ao[idx].astype(np.float64),
        )
        under = skin_rad[idx]
        rad = (1.0 - v[:, None]) * rad + v[:, None] * under * 0.9
        c = tr.cover[idx].astype(np.float64)[:, None]
        out[idx] = c * rad + (1.0 - c) * under
    edge = np.nonzero(tr.edge_piece >= 0)[0]
    if edge.size:
        up = np.tile(np.array([0.0, 0.0, 1.0]), (edge.size, 1))
        rad, v = fibre(tr.edge_piece[edge], np.full(edge.size, 0.5), up, np.full(edge.size, 0.8))
        rad = (1.0 - v[:, None]) * rad + v[:, None] * out[edge] * 0.9
        c = tr.edge_cover[edge].astype(np.float64)[:, None]
        out[edge] = c * rad + (1.0 - c) * out[edge]
    return out.reshape(h, w, 3)
