"""Hair shafts as 3-D centrelines sampled into short straight segments.

Arclength s runs along the shaft; s = 0 is where the centreline crosses the
skin plane z = 0 (the emergence point, a vertex of its own), one straight
segment goes back down into the follicle, and s = L is the free end.  A short
or clipped hair stays straight at its exit angle.  A long hair leaves at its
exit angle, curves down onto the skin within its bend length, and lies there,
resting on the skin (and, by a small per-hair lift, on other hairs); some
lift off again and rise out of the focal plane.  Azimuth drifts by a constant
curvature plus a wave.  Heights and widths are in micrometres, positions in
image pixels after the lens's distortion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind2.follicles import LIFTED, TAPERED, Table
from sim.blind2.frame import Frame

Arr = NDArray[Any]
_RAMP_UM = 500.0
_LIFT_TOP_UM = 2500.0


@dataclass
class Shafts:
    """Segments of every drawn shaft (hair indices refer to the full hair table)."""

    hair: Arr  # per segment
    x0: Arr
    y0: Arr
    dx: Arr
    dy: Arr
    length: Arr  # pixels, in the image plane
    z0: Arr
    z1: Arr
    a0: Arr  # half width, pixels
    a1: Arr
    s0: Arr
    s1: Arr
    tip: Arr  # bool: the last segment of a shaft with a free end
    ext: Arr  # how far past its end a tip segment may cover, pixels
    joint: Arr  # (4, n): start and end joint normals (bisectors) in the (u, v) frame
    tz: Arr  # unit 3-D tangent's z component
    tip_x: Arr  # per hair: free end in the image (nan for lifted-off hairs)
    tip_y: Arr


def _theta_z(h: Table, sel: Arr, s: Arr, lie: Arr, bend: Arr) -> tuple[Arr, Arr]:
    """Elevation angle and centreline height at arclength s (per vertex)."""
    alpha = h["alpha"][sel]
    stiff = (h["long"][sel] < 0.5) | (h["length_um"][sel] < 1500.0)
    rest = 0.5 * h["diam_um"][sel] * h["flat"][sel] + h["lift_um"][sel]
    sb = np.maximum(bend, 1.0)
    q = np.clip(s / sb, 0.0, 1.0)
    th_bend = np.where(s < sb, alpha * (1.0 - 2.0 * np.maximum(s, 0.0) / sb), 0.0)
    z_bend = np.where(s < sb, sb / (2 * alpha) * (np.cos(alpha * (1 - 2 * q)) - np.cos(alpha)), 0.0)
    z_long = z_bend + rest * q * q * (3 - 2 * q)
    lifted = h["end"][sel] == LIFTED
    tl = h["lift_angle"][sel]
    t = np.where(lifted, np.maximum(s - lie, 0.0), 0.0)
    tr = np.minimum(t, _RAMP_UM)
    z_lift = _RAMP_UM / tl * (1 - np.cos(tl * tr / _RAMP_UM)) + (t - tr) * np.sin(tl)
    th_lift = tl * tr / _RAMP_UM
    theta = np.where(stiff | (s < 0), alpha, th_bend + th_lift)
    z = np.where(stiff | (s < 0), s * np.sin(alpha), z_long + z_lift)
    return theta, z


def build(hairs: Table, frame: Frame, pit_um: float) -> Shafts:
    """Segments of the hairs that can reach the frame."""
    upp = frame.upp
    lifted = hairs["end"] == LIFTED
    lie = hairs["length_um"]
    tl = hairs["lift_angle"]
    z_ramp = _RAMP_UM / tl * (1 - np.cos(tl))
    total = np.where(lifted, lie + _RAMP_UM + (_LIFT_TOP_UM - z_ramp) / np.sin(tl), lie)
    a_um = 0.5 * hairs["diam_um"]
    ex, ey = frame.distort(hairs["x"], hairs["y"])
    slack = 1.0 + 4.0 * abs(frame.k1)
    near = frame.outside_um(ex, ey) <= (total + a_um + 3 * upp) * slack
    sel = np.flatnonzero(near)
    a_px = a_um[sel] / upp
    length = total[sel]
    kappa = (
        np.abs(hairs["curv"][sel]) + hairs["wave_amp"][sel] * 2 * np.pi / hairs["wave_len_um"][sel]
    )
    step = upp * np.clip(3 * a_px + 2, 4, 40)
    step = np.minimum(step, np.sqrt(2 * upp / np.maximum(kappa, 1e-6)))
    bend = np.minimum(hairs["bend_um"][sel], 0.7 * lie[sel])
    long_ = (hairs["long"][sel] > 0.5) & (lie[sel] >= 1500.0)
    step = np.where(long_, np.minimum(step, bend / 6), step)
    tapered = hairs["end"][sel] == TAPERED
    step = np.where(tapered, np.minimum(step, hairs["taper_um"][sel] / 4), step)
    step = np.maximum(step, upp)
    nseg = np.maximum(np.ceil(length / step), 1).astype(np.int64)
    nv = nseg + 2
    vh = np.repeat(np.arange(sel.size), nv)  # vertex -> row in sel
    first = np.cumsum(nv) - nv
    k = np.arange(vh.size) - first[vh]
    alpha = hairs["alpha"][sel]
    under = np.minimum((pit_um + 2 * a_um[sel] + 10.0) / np.sin(alpha), 400.0)
    s = np.where(k == 0, -under[vh], length[vh] * (k - 1) / nseg[vh])
    _, z = _theta_z(hairs, sel[vh], s, lie[sel][vh], bend[vh])
    phi0 = hairs["phi"][sel][vh]
    wl = hairs["wave_len_um"][sel][vh]
    wp = hairs["wave_phase"][sel][vh]
    amp = hairs["wave_amp"][sel][vh]

    def azimuth(sv: Arr) -> Arr:
        sp = np.maximum(sv, 0.0)
        wave = np.sin(2 * np.pi * sp / wl + wp) - np.sin(wp)
        return np.asarray(phi0 + hairs["curv"][sel][vh] * sp + amp * wave)

    s_prev = np.where(k >= 2, np.roll(s, 1), s)
    s_mid = 0.5 * (s + s_prev)
    th_mid, _ = _theta_z(hairs, sel[vh], s_mid, lie[sel][vh], bend[vh])
    ph_mid = azimuth(s_mid)
    ds = s - s_prev
    cx = np.cumsum(np.cos(th_mid) * np.cos(ph_mid) * ds)
    cy = np.cumsum(np.sin(ph_mid) * np.cos(th_mid) * ds)
    anchor = first + 1
    cx = cx - cx[anchor][vh]
    cy = cy - cy[anchor][vh]
    back = k == 0
    cx = np.where(back, -under[vh] * np.cos(alpha[vh]) * np.cos(phi0), cx)
    cy = np.where(back, -under[vh] * np.cos(alpha[vh]) * np.sin(phi0), cy)
    vx, vy = frame.distort(hairs["x"][sel][vh] + cx / upp, hairs["y"][sel][vh] + cy / upp)
    taper = np.clip((length[vh] - s) / hairs["taper_um"][sel][vh], 0.0, 1.0) ** 0.6
    a_v = a_px[vh] * np.where(tapered[vh], taper, 1.0)
    return _segments(hairs, sel, vh, nv, first, vx, vy, z, a_v, s, upp)


def _segments(
    hairs: Table,
    sel: Arr,
    vh: Arr,
    nv: Arr,
    first: Arr,
    vx: Arr,
    vy: Arr,
    z: Arr,
    a_v: Arr,
    s: Arr,
    upp: float,
) -> Shafts:
    last = first + nv - 1
    is_start = np.ones(vh.size, dtype=bool)
    is_start[last] = False
    j = np.flatnonzero(is_start)
    ddx = vx[j + 1] - vx[j]
    ddy = vy[j + 1] - vy[j]
    seg_len = np.hypot(ddx, ddy)
    ok = seg_len > 1e-9
    dxu = np.where(ok, ddx / np.where(ok, seg_len, 1.0), 1.0)
    dyu = np.where(ok, ddy / np.where(ok, seg_len, 1.0), 0.0)
    dz = z[j + 1] - z[j]
    tz = dz / np.maximum(np.hypot(seg_len * upp, dz), 1e-9)
    row = vh[j]
    hair = sel[row]
    end = hairs["end"][hair]
    tip = (j + 1 == last[row]) & (end != LIFTED)
    ext = (
        a_v[j] * (hairs["face"][hair] + np.abs(hairs["obl"][hair]) + hairs["fray_amp"][hair]) + 1.0
    )
    same_prev = np.r_[False, row[1:] == row[:-1]]
    same_next = np.r_[row[1:] == row[:-1], False]
    px_ = np.where(same_prev, np.roll(dxu, 1), dxu) + dxu
    py_ = np.where(same_prev, np.roll(dyu, 1), dyu) + dyu
    nx_ = np.where(same_next, np.roll(dxu, -1), dxu) + dxu
    ny_ = np.where(same_next, np.roll(dyu, -1), dyu) + dyu
    ps = np.maximum(np.hypot(px_, py_), 1e-9)
    ns = np.maximum(np.hypot(nx_, ny_), 1e-9)
    joint = np.stack(
        [
            np.maximum((px_ * dxu + py_ * dyu) / ps, 0.2),
            (py_ * dxu - px_ * dyu) / ps,
            np.maximum((nx_ * dxu + ny_ * dyu) / ns, 0.2),
            (ny_ * dxu - nx_ * dyu) / ns,
        ]
    )
    n = hairs["x"].size
    tip_x = np.full(n, np.nan)
    tip_y = np.full(n, np.nan)
    free = hairs["end"][sel] != LIFTED
    tip_x[sel[free]] = vx[last[free]]
    tip_y[sel[free]] = vy[last[free]]
    return Shafts(
        hair=hair,
        x0=vx[j],
        y0=vy[j],
        dx=dxu,
        dy=dyu,
        length=seg_len,
        z0=z[j],
        z1=z[j + 1],
        a0=a_v[j],
        a1=a_v[j + 1],
        s0=s[j],
        s1=s[j + 1],
        tip=tip,
        ext=np.where(tip, np.maximum(ext, 1.0), 0.0),
        joint=joint,
        tz=tz,
        tip_x=tip_x,
        tip_y=tip_y,
    )
