"""Hair shafts turned into chains of anisotropic Gaussian splats.

Along each projected shaft, splats are placed at a spacing of 1.4 of their along-axis standard
deviation (the chain sums to a flat line), shorter where the shaft curls and at its ends (so a
clipped end is blunt). Across, a splat's optical depth is the chord through the fibre (the
diameter, longer where the shaft is steep) times the fibre's extinction; its width is chosen so
that the fibre's half-opacity edge lies at its true radius.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind7.fibres import END_DOT, END_NATURAL, Fibre

Arr = NDArray[Any]

SQRT2PI = float(np.sqrt(2.0 * np.pi))


@dataclass(frozen=True)
class SplatSet:
    x: Arr
    y: Arr
    z: Arr  # um above the skin
    ux: Arr
    uy: Arr
    sa: Arr
    sc: Arr
    vals: Arr  # (N, 6): optical depth per channel, optical depth times albedo per channel
    spec: Arr  # (N,) specular highlight amplitude (drawn narrower)
    spec_sc: Arr
    spec_shift: Arr  # across offset of the highlight, px


@dataclass(frozen=True)
class HairLook:
    """Per active slot: camera-channel extinction (per um) and albedo, shaft and root colours."""

    kappa: Arr  # (n_slots, 3)
    albedo: Arr
    root_kappa: Arr
    root_albedo: Arr


def _width(r_px: Arr, tau: Arr) -> Arr:
    f = 1.0 / np.sqrt(2.0 * np.log(np.maximum(tau, 2.46) / 0.69))
    out: Arr = r_px * np.minimum(0.6267, f)
    return out


def fibre_splats(
    fibres: list[Fibre],
    look: HairLook,
    um_per_px: float,
    off: tuple[float, float],
    spec_strength: float,
    rng: np.random.Generator,
) -> SplatSet:
    cols: dict[str, list[Arr]] = {k: [] for k in SplatSet.__dataclass_fields__}
    s = um_per_px
    for f in fibres:
        kap0 = look.kappa[f.slot]
        kap1 = look.root_kappa[f.slot]
        alb0 = look.albedo[f.slot]
        alb1 = look.root_albedo[f.slot]
        X = f.pts[:, 0] / s + off[0]
        Y = f.pts[:, 1] / s + off[1]
        Z = f.pts[:, 2]
        dxy = np.hypot(np.diff(X), np.diff(Y))
        s2 = np.concatenate([[0.0], np.cumsum(dxy)])
        total = float(s2[-1])
        d0 = float(f.diam[0])
        if f.end == END_DOT or total < 0.6:
            # seen end-on: one round splat; a black dot is opaque
            dot = f.end == END_DOT
            if dot:  # the broken shaft seen end-on down its follicle: dark, opaque
                chord = 5.0 * d0
            else:
                length3 = float(np.linalg.norm(f.pts[-1] - f.pts[0]))
                chord = max(d0, min(length3 + 0.5 * d0, 6.0 * d0))
            m = float(f.root_mix.mean())
            kap = kap0 * (1 - m) + kap1 * m
            alb = (alb0 * (1 - m) + alb1 * m) * (0.35 if dot else 1.0)
            tau = kap * chord
            sc = _width(np.array([0.5 * d0 / s]), np.array([tau[1]]))
            sce = np.sqrt(sc**2 + 0.09)
            tau = tau * (sc / sce) ** 2
            cols["x"].append(np.array([X.mean()]))
            cols["y"].append(np.array([Y.mean()]))
            cols["z"].append(np.array([Z.mean()]))
            cols["ux"].append(np.array([1.0]))
            cols["uy"].append(np.array([0.0]))
            cols["sa"].append(sce)
            cols["sc"].append(sce)
            cols["vals"].append(np.concatenate([tau, tau * alb])[None, :])
            cols["spec"].append(np.zeros(1))
            cols["spec_sc"].append(sce)
            cols["spec_shift"].append(np.zeros(1))
            continue
        # per point: elevation, chord, width, along sigma
        dz = np.diff(Z)
        seg_e = np.arctan2(np.abs(dz), np.maximum(dxy * s, 1e-9))
        e_pt = np.concatenate([[seg_e[0]], 0.5 * (seg_e[1:] + seg_e[:-1]), [seg_e[-1]]])
        cos_e = np.maximum(np.cos(e_pt), 0.33)
        d = f.diam
        mix = f.root_mix
        kap_g = kap0[1] * (1 - mix) + kap1[1] * mix
        tau_g = kap_g * d / cos_e
        r_px = 0.5 * d / s
        sc_pt = np.maximum(_width(r_px, tau_g), 0.12)
        ang = np.arctan2(np.diff(Y), np.diff(X))
        turn = np.abs(np.angle(np.exp(1j * np.diff(ang))))
        seg_len = np.maximum(0.5 * (dxy[1:] + dxy[:-1]), 1e-6)
        curv = np.concatenate([[0.0], turn / seg_len, [0.0]])
        sa_pt = np.minimum(2.2 * sc_pt, 0.35 / np.maximum(curv, 1e-6))
        dist_end = np.minimum(s2, total - s2)
        blunt = dist_end / 1.6 + 0.35 * sc_pt
        if f.end == END_NATURAL:
            blunt = np.where(s2 > 0.5 * total, 1e9, blunt)
        sa_pt = np.maximum(np.minimum(sa_pt, blunt), 0.3)
        dens = 1.0 / (1.4 * sa_pt)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * dxy)])
        k_n = max(1, round(float(cum[-1])))
        targets = (np.arange(k_n) + 0.5) * cum[-1] / k_n
        sk = np.interp(targets, cum, s2)
        spacing = (cum[-1] / k_n) / np.interp(sk, s2, dens)
        xs = np.interp(sk, s2, X)
        ys = np.interp(sk, s2, Y)
        zs = np.interp(sk, s2, Z)
        seg_mid = 0.5 * (s2[1:] + s2[:-1])
        dx_seg = np.diff(X) / np.maximum(dxy, 1e-9)
        dy_seg = np.diff(Y) / np.maximum(dxy, 1e-9)
        ux = np.interp(sk, seg_mid, dx_seg) if len(seg_mid) > 1 else np.full(k_n, dx_seg[0])
        uy = np.interp(sk, seg_mid, dy_seg) if len(seg_mid) > 1 else np.full(k_n, dy_seg[0])
        norm = np.maximum(np.hypot(ux, uy), 1e-9)
        ux, uy = ux / norm, uy / norm
        sa = np.interp(sk, s2, sa_pt)
        sc = np.interp(sk, s2, sc_pt)
        dk = np.interp(sk, s2, d)
        ck = np.interp(sk, s2, cos_e)
        mk = np.interp(sk, s2, mix)[:, None]
        ek = np.interp(sk, s2, e_pt)
        kap = kap0[None, :] * (1 - mk) + kap1[None, :] * mk
        alb = alb0[None, :] * (1 - mk) + alb1[None, :] * mk
        sae = np.sqrt(sa**2 + 0.09)
        sce = np.sqrt(sc**2 + 0.09)
        along = spacing / (sae * SQRT2PI)
        # the first diameter or so of shaft is still in the opening: fainter
        s3 = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(f.pts, axis=0), axis=1))])
        ramp = 0.4 + 0.6 * np.clip(np.interp(sk, s2, s3) / (0.8 * d0), 0.0, 1.0)
        tau = kap * (dk / ck * ramp)[:, None] * (along * sc / sce)[:, None]
        cols["x"].append(xs)
        cols["y"].append(ys)
        cols["z"].append(zs)
        cols["ux"].append(ux)
        cols["uy"].append(uy)
        cols["sa"].append(sae)
        cols["sc"].append(sce)
        cols["vals"].append(np.concatenate([tau, tau * alb], axis=1))
        if spec_strength > 0:
            wave = 0.55 + 0.45 * np.cos(sk * s / rng.uniform(60.0, 300.0) + rng.uniform(0, 6.3))
            flat = np.exp(-((ek / 0.45) ** 2))
            thick = np.clip(dk / 40.0, 0.2, 1.0)
            spec = spec_strength * wave * flat * thick * along * (1 - 0.5 * mk[:, 0])
            cols["spec"].append(spec)
            cols["spec_sc"].append(np.sqrt((0.5 * sc) ** 2 + 0.09))
            cols["spec_shift"].append(sc * rng.uniform(-0.5, 0.5))
        else:
            cols["spec"].append(np.zeros(k_n))
            cols["spec_sc"].append(sce)
            cols["spec_shift"].append(np.zeros(k_n))
    if not cols["x"]:
        z1 = np.zeros(0)
        return SplatSet(z1, z1, z1, z1, z1, z1, z1, np.zeros((0, 6)), z1, z1, z1)
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    return SplatSet(**cat)


def subsurface_splats(
    fibres: list[Fibre],
    phi: Arr,
    theta: Arr,
    darkness: Arr,
    um_per_px: float,
    off: tuple[float, float],
) -> tuple[Arr, Arr, Arr, Arr, Arr, Arr, Arr]:
    """The part of each hair still inside its follicle, seen through the skin: a chain running
    from the emergence point backwards and down, wider (scattered) and fainter with depth.
    Returns x, y, ux, uy, sa, sc, amplitude (optical depth, before the per-band weights)."""
    s = um_per_px
    xs, ys, uxs, uys, sas, scs, amps = [], [], [], [], [], [], []
    for f in fibres:
        i = f.slot
        dk = float(darkness[i])
        if dk <= 0.01:
            continue
        d0 = float(f.diam[0])
        th = float(theta[i])
        proj_per_depth = 1.0 / max(np.tan(th), 0.2)
        depth = np.linspace(0.0, 360.0, 13)[1:]
        dist = depth * proj_per_depth
        keep = dist < 1600.0
        depth, dist = depth[keep], dist[keep]
        if len(depth) == 0:
            depth = np.array([60.0])
            dist = np.array([0.0])
        ca, sn = -np.cos(phi[i]), -np.sin(phi[i])
        x0 = f.pts[0, 0] / s + off[0]
        y0 = f.pts[0, 1] / s + off[1]
        blur = np.sqrt((0.32 * d0) ** 2 + (0.35 * depth) ** 2)
        step = np.gradient(dist) if len(dist) > 1 else np.array([1.0])
        sa_um = np.sqrt(blur**2 + (0.6 * step) ** 2)
        along = np.maximum(step, 1e-3) / (sa_um * SQRT2PI)
        amp = dk * 0.45 * np.exp(-depth / 110.0) * along * (0.32 * d0 / blur)
        xs.append(x0 + ca * dist / s)
        ys.append(y0 + sn * dist / s)
        uxs.append(np.full(len(depth), ca))
        uys.append(np.full(len(depth), sn))
        sas.append(np.sqrt((sa_um / s) ** 2 + 0.09))
        scs.append(np.sqrt((blur / s) ** 2 + 0.09))
        amps.append(amp)
    if not xs:
        z = np.zeros(0)
        return z, z, z, z, z, z, z
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(uxs),
        np.concatenate(uys),
        np.concatenate(sas),
        np.concatenate(scs),
        np.concatenate(amps),
    )
