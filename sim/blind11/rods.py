"""Hairs as elastic rods, relaxed onto the skin.

Each hair is a chain of nodes. Its rest (intrinsic) shape comes from integrating a
curvature and torsion profile along the shaft from the follicle's direction with a
discrete Frenet frame (straight, wavy, curly helix or tight afro coil). The chain is then
settled as an inextensible elastic rod in reduced coordinates: every segment keeps its
length and its rest azimuth, and the segments' elevations minimise bending energy
(deviation from the rest shape's elevation changes) plus the work of a distributed load
(gravity and grooming pressing the hair down), with the skin as a contact floor (each
hair resting at its own radius plus a stacking offset, so crossing hairs lie on one
another) and, in contact dermoscopy, the glass plate as a ceiling lowered onto the hairs.
The first segment is clamped in the follicle's direction, so the shaft leaves the skin at
its emergence angle. Every operation is elementwise per hair (row-wise sums and cumulative
sums only), so a hair's settled shape never depends on which other hairs are simulated
with it: a follow-up visit reproduces every kept hair bit for bit."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def _norm3(d: F64) -> F64:
    out: F64 = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2])
    return out


def _dot3(a: F64, b: F64) -> F64:
    out: F64 = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]
    return out


def _cross(a: F64, b: F64) -> F64:
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def rest_shape(root: F64, tangent: F64, normal: F64, seg: F64, kappa: F64, tau: F64) -> F64:
    """Integrate a Frenet frame: ``root``, ``tangent``, ``normal`` (H, 3), ``seg`` (H,),
    ``kappa`` and ``tau`` (H, N - 1) per micrometre. Returns nodes (H, N, 3); the first
    segment follows ``tangent`` exactly."""
    h, nseg = kappa.shape
    out = np.empty((h, nseg + 1, 3))
    out[:, 0] = root
    t, n = tangent.copy(), normal.copy()
    for i in range(nseg):
        out[:, i + 1] = out[:, i] + seg[:, None] * t
        a = (kappa[:, i] * seg)[:, None]
        t, n = t * np.cos(a) + n * np.sin(a), n * np.cos(a) - t * np.sin(a)
        b = _cross(t, n)
        c = (tau[:, i] * seg)[:, None]
        n = n * np.cos(c) + b * np.sin(c)
        t = t / _norm3(t)[:, None]
        n = n - t * _dot3(n, t)[:, None]
        n = n / _norm3(n)[:, None]
    return out


def _revcumsum(a: F64) -> F64:
    out: F64 = np.cumsum(a[:, ::-1], axis=1)[:, ::-1]
    return out


def _heights(beta: F64, seg: F64) -> F64:
    """Node heights (H, N) of chains with segment elevations ``beta`` (H, N - 1)."""
    z = np.cumsum(seg[:, None] * np.sin(beta), axis=1)
    out: F64 = np.concatenate([np.zeros((beta.shape[0], 1)), z], axis=1)
    return out


def settle(
    rest: F64,
    seg: F64,
    ell_um: F64,
    radius_um: F64,
    stack_um: F64,
    plate_um: float | None,
    iterations: int,
) -> F64:
    """Settle rods with rest shapes ``rest`` (H, N, 3), segment lengths ``seg`` (H,),
    elasto-gravitational lengths ``ell_um`` (H,) (cube root of bending stiffness over load
    per length), shaft radii ``radius_um`` (H, N), stacking heights ``stack_um`` (H,) (how
    far above the skin the hair rests on others) and an optional glass plate height.
    Reduced coordinates: each segment keeps its rest azimuth and length
    (frictionless contact with horizontal surfaces exerts no torque about the vertical),
    its elevation relaxes. The energy (over the load per length) is
    ``ell^3 / seg * sum (dbeta - dbeta_rest)^2 + seg * sum z + contact penalties``,
    minimised by gradient descent preconditioned with the bending stiffness, each hair
    with its own backtracking step, so a hair's result never depends on the others."""
    h, n, _ = rest.shape
    if n < 3:
        return rest.copy()
    d = rest[:, 1:] - rest[:, :-1]
    horiz = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
    beta_rest = np.arctan2(d[..., 2], horiz)
    psi = np.arctan2(d[..., 1], d[..., 0])
    c = beta_rest[:, 1:] - beta_rest[:, :-1]
    a = (ell_um**3 / seg)[:, None]
    k = (seg / 3.0)[:, None]
    arc = seg[:, None] * np.arange(n)[None, :]
    floor_um = np.minimum(radius_um + stack_um[:, None], 0.5 * arc)
    ceiling = None if plate_um is None else np.maximum(plate_um - radius_um, floor_um + 1.0)
    b0 = beta_rest[:, :1]
    y = c.copy()
    step = np.full((h, 1), 0.5)

    lo, hi = -1.35, 1.45

    def project(yv: F64) -> F64:
        beta = np.clip(b0 + np.cumsum(yv, axis=1), lo, hi)
        out: F64 = np.diff(np.concatenate([b0, beta], axis=1), axis=1)
        return out

    def energy_grad(yv: F64, cap: F64 | None) -> tuple[F64, F64]:
        beta = np.concatenate([b0, b0 + np.cumsum(yv, axis=1)], axis=1)
        z = _heights(beta, seg)
        under = np.maximum(floor_um - z, 0.0)[:, 2:]
        e = (a * (yv - c) ** 2).sum(axis=1) + (seg[:, None] * z[:, 2:]).sum(axis=1)
        force = seg[:, None] - k * under
        e = e + 0.5 * (k * under * under).sum(axis=1)
        if cap is not None:
            over = np.maximum(z - cap, 0.0)[:, 2:]
            force = force + k * over
            e = e + 0.5 * (k * over * over).sum(axis=1)
        # dE/dbeta_i = seg cos(beta_i) * sum_{j > i} force_j  (nodes j = 2..N-1)
        tail = _revcumsum(force)
        dbeta = seg[:, None] * np.cos(beta[:, 1:]) * tail
        grad = 2.0 * a * (yv - c) + _revcumsum(dbeta)
        return e, grad

    # continuation: the load alone first, then the glass plate comes down to its height
    free_its = iterations // 3
    lower_its = iterations // 3
    top = None
    cap: F64 | None = None
    e0, g0 = energy_grad(y, cap)
    for it in range(iterations):
        if ceiling is not None and it >= free_its:
            if top is None:
                beta = np.concatenate([b0, b0 + np.cumsum(y, axis=1)], axis=1)
                top = _heights(beta, seg).max(axis=1, keepdims=True) + 1.0
            frac = min(1.0, (it - free_its + 1) / lower_its)
            cap = np.maximum(ceiling, top + frac * (ceiling - top))
            e0, g0 = energy_grad(y, cap)
        trial = project(y - step * g0 / (2.0 * a))
        e1, g1 = energy_grad(trial, cap)
        ok = (e1 <= e0)[:, None]
        y = np.where(ok, trial, y)
        g0 = np.where(ok, g1, g0)
        e0 = np.where(ok[:, 0], e1, e0)
        step = np.where(ok, np.minimum(step * 1.25, 1.0), step * 0.4)
    beta = np.concatenate([b0, b0 + np.cumsum(y, axis=1)], axis=1)
    t = np.stack([np.cos(beta) * np.cos(psi), np.cos(beta) * np.sin(psi), np.sin(beta)], axis=-1)
    out = np.empty_like(rest)
    out[:, 0] = rest[:, 0]
    out[:, 1:] = rest[:, :1] + np.cumsum(seg[:, None, None] * t, axis=1)
    return out
