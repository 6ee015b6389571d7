"""blind-13's skin: fields synthesised in the Fourier domain and a Swift-Hohenberg pigment
network, laid on a world grid and read into each frame through the frame's own placement.

Every field is random phase under a chosen amplitude spectrum (a power law for tone, log-
normal bands for blotches, flecks, scale and texture, oriented lobes for creases and skin
lines), with the optics' Gaussian MTF multiplied into the spectrum, so the skin is born as
blurred as the hairs drawn over it. Three grids (4, 2 and 1 pixel cells) hold coarse, middle
and fine fields; the pigment network is a Turing pattern (Swift-Hohenberg, hexagons for a
regular honeycomb, a spatially varying quadratic term for an irregular one) solved on a
small periodic grid and tiled. A follow-up samples the very same grids with its turn and
shift, so its skin is the baseline's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage

from sim.blind13.gauss import F32
from sim.blind13.palette import melanin_load
from sim.blind13.shafts import View
from sim.blind13.site import Site, stream

MAX_TURN = math.radians(5.0)
MAX_SHIFT = 0.05  # of the frame's width and height


@dataclass
class SkinMaps:
    """Frame-sized loads: melanin, haemoglobin, yellow and grey optical-density loads, the
    white lift under the hairs and over them, texture gain and sebum (for the shine)."""

    mel: F32
    hb: F32
    yel: F32
    grey: F32
    lift: F32
    over: F32
    tex: F32
    sebum: F32


def _smooth(x: F32, lo: float, hi: float) -> F32:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), np.float32)


class _Grid:
    """One world grid: its cell (um), shape and spatial frequencies (cycles per um)."""

    def __init__(self, site: Site, cell_um: float) -> None:
        ext_x = 1.1 * site.half_w_um + math.sin(MAX_TURN) * site.half_h_um + 3 * cell_um
        ext_y = 1.1 * site.half_h_um + math.sin(MAX_TURN) * site.half_w_um + 3 * cell_um
        self.cell = cell_um
        self.nx = fft.next_fast_len(max(math.ceil(2 * ext_x / cell_um) + 2, 16))
        self.ny = fft.next_fast_len(max(math.ceil(2 * ext_y / cell_um) + 2, 16))
        fy = fft.fftfreq(self.ny, cell_um).astype(np.float32)[:, None]
        fx = fft.fftfreq(self.nx, cell_um).astype(np.float32)[None, :]
        self.fx, self.fy = fx, fy
        self.k = np.sqrt(fx * fx + fy * fy)
        self.theta = np.arctan2(fy, fx)

    def band(self, lo_um: float, hi_um: float) -> F32:
        """A log-normal band between wavelengths ``lo_um`` and ``hi_um``."""
        kc = 1.0 / math.sqrt(lo_um * hi_um)
        width = max(math.log(hi_um / lo_um) / 2.0, 0.2)
        with np.errstate(divide="ignore"):
            lk = np.log(np.maximum(self.k, 1e-12) / kc)
        return np.asarray(np.exp(-0.5 * (lk / width) ** 2), np.float32)

    def lobe(self, angle: float, spread: float) -> F32:
        """An angular lobe of frequencies about ``angle`` (and its opposite): ridges
        running across it."""
        d = np.mod(self.theta - angle + math.pi / 2, math.pi) - math.pi / 2
        return np.asarray(np.exp(-0.5 * (d / spread) ** 2), np.float32)

    def pair(self, r: np.random.Generator, amp: F32, blur_um: float) -> tuple[F32, F32]:
        """Two independent unit-variance fields of amplitude spectrum ``amp`` (the real and
        imaginary parts of one inverse transform of complex white noise)."""
        mtf = np.exp(-2.0 * math.pi**2 * blur_um**2 * self.k * self.k)
        spec = r.standard_normal((self.ny, self.nx, 2), np.float32).view(np.complex64)[..., 0]
        spec *= (amp * mtf).astype(np.float32)
        spec[0, 0] = 0.0
        out = fft.ifft2(spec, workers=2)
        a = out.real.astype(np.float32)
        b = out.imag.astype(np.float32)
        norm = max(float(np.sqrt(np.sum((amp * mtf) ** 2))) / (self.nx * self.ny), 1e-12)
        return a / norm, b / norm

    def sample(self, field: F32, view: View) -> F32:
        """``field`` read at every pixel of ``view`` (bilinear)."""
        return resample(field, self.cell, view)


def resample(field: F32, cell_um: float, view: View, wrap: bool = False) -> F32:
    """A world grid ``field`` of ``cell_um`` cells, centred on the world's origin, read at
    every pixel of ``view`` (bilinear; ``wrap``: the grid tiles the plane)."""
    ny, nx = field.shape
    s = view.um_per_px / cell_um
    c, sn = math.cos(view.angle), math.sin(view.angle)
    ci, cj = (view.height - 1) / 2.0, (view.width - 1) / 2.0
    matrix = np.array([[c * s, sn * s], [-sn * s, c * s]])
    off_y = -(c * ci + sn * cj) * s + view.shift_y_um / cell_um + (ny - 1) / 2.0
    off_x = (sn * ci - c * cj) * s + view.shift_x_um / cell_um + (nx - 1) / 2.0
    out = ndimage.affine_transform(
        field,
        matrix,
        offset=(off_y, off_x),
        output_shape=(view.height, view.width),
        order=1,
        mode="grid-wrap" if wrap else "reflect",
    )
    return np.asarray(out, np.float32)


def _network(site: Site, blur_um: float) -> tuple[F32, float]:
    """The pigment network's Turing pattern on a periodic grid and its cell size (um):
    Swift-Hohenberg, ``u_t = eps u - (1 + lap / k0^2)^2 u + g u^2 - u^3``, stepped
    semi-implicitly in the Fourier domain (dt 2: larger steps settle into stripes). With
    ``g`` > 0 it settles into hexagonal spots, whose negative is a honeycomb; an irregular
    network varies ``eps`` in space (holes of uneven depth) and warps the grid; with ``g`` 0
    it draws labyrinths. Negated, so the network's lines are where it is high."""
    r = stream(site.seed, 11)
    n = 160
    cells = 8.0  # grid cells per wavelength
    cell_um = float(site.look["network_um"]) / cells
    k = 2.0 * math.pi * fft.fftfreq(n)
    k2 = (k[:, None] ** 2 + k[None, :] ** 2).astype(np.float32)
    k0 = 2.0 * math.pi / cells
    kind = site.look["network_kind"]
    smooth = np.exp(-0.5 * (np.sqrt(k2) / (k0 / 5.0)) ** 2)

    def blob() -> F32:
        f = np.real(fft.ifft2(fft.fft2(r.standard_normal((n, n))) * smooth))
        return np.asarray((f - f.mean()) / (f.std() + 1e-9), np.float32)

    eps: F32 | float = 0.12
    g = 1.0
    if kind == "irregular":
        eps = np.clip(0.12 + 0.12 * blob(), 0.0, 0.35)
    elif kind == "labyrinth":
        eps, g = 0.3, 0.0
    shape = ((k0 * k0 - k2) / (k0 * k0)) ** 2
    u = (0.1 * r.standard_normal((n, n))).astype(np.float32)
    dt = 2.0
    den = (1.0 + dt * shape).astype(np.float32)[:, : n // 2 + 1]
    for _ in range(90):
        nl = eps * u + g * u * u - u * u * u
        u = fft.irfft2((fft.rfft2(u) + dt * fft.rfft2(nl)) / den, s=(n, n)).astype(np.float32)
        np.clip(u, -3.0, 3.0, out=u)
    if kind == "irregular":
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
        u = ndimage.map_coordinates(
            u, [yy + 1.5 * blob(), xx + 1.5 * blob()], order=1, mode="grid-wrap"
        ).astype(np.float32)
    blur = max(blur_um / cell_um, 1.2)  # at least a cell: bilinear reading stays smooth
    mtf = np.exp(-2.0 * math.pi**2 * blur**2 * (k2 / (2 * math.pi) ** 2))[:, : n // 2 + 1]
    u = fft.irfft2(fft.rfft2(u) * mtf, s=(n, n)).astype(np.float32)
    u /= float(u.std()) + 1e-9
    return -u, cell_um


def skin_maps(site: Site, view: View, blur_um: float) -> SkinMaps:
    """The site's skin loads in ``view``, already blurred by ``blur_um`` (the standard
    deviation of the optics' blur at the skin, um)."""
    look = site.look
    um = view.um_per_px
    tone = float(look["tone"])
    # the coarse grid: tone, redness, lentigo-like blotches, sebum, crusts, network strength
    q = _Grid(site, 4.0 * um)
    rq = stream(site.seed, 12)
    tone_var, red = q.pair(rq, (q.k * q.k + (1 / 4000.0) ** 2) ** -0.75 * q.band(200, 1e6), blur_um)
    lent, sebum = q.pair(rq, q.band(900, 4000), blur_um)
    crust, strength = q.pair(rq, q.band(300, 1600), blur_um)
    lent_amt = 0.5 + 0.4 * tone if look["lentigo"] else 0.0
    crust_on = 1.0 if look["crusts"] else 0.0
    mel_q = 0.10 * tone_var + lent_amt * _smooth(lent, 1.2, 2.0)
    crust_m = crust_on * _smooth(crust, 1.4, 2.1)
    hb_q = np.asarray(float(rq.uniform(0.2, 0.9)) * (1.0 + 0.35 * red), np.float32)
    seb_amt = float(rq.uniform(0.4, 1.0)) if look["sebum"] else 0.0
    seb_q = np.asarray(seb_amt * _smooth(sebum, 0.0, 1.8), np.float32)
    str_q = np.asarray(0.65 + 0.35 * strength, np.float32)
    # the middle grid: creases, flecks, scale under the hairs and flakes over them
    m = _Grid(site, 2.0 * um)
    rm = stream(site.seed, 13)
    crease_ang = float(rm.uniform(0, math.pi))
    creases, flecks = m.pair(
        rm, m.band(350, 1600) * m.lobe(crease_ang, 0.12) + 0.02 * m.band(100, 350), blur_um
    )
    scale, flakes = m.pair(rm, m.band(120, 700), blur_um)
    crease_amt = float(rm.uniform(0.06, 0.2)) if look["creases"] else 0.0
    grey_m = crease_amt * np.exp(-((creases / 0.45) ** 2))
    mel_m = (0.35 + 0.4 * tone) * _smooth(flecks, 2.0, 2.6) if look["flecks"] else 0.0 * flecks
    scale_amt = float(rm.uniform(0.15, 0.45)) if look["scale"] else 0.0
    lift_m = scale_amt * _smooth(scale, 1.4, 2.9)
    over_amt = float(rm.uniform(0.4, 0.75)) if look["flakes_over"] else 0.0
    over_m = over_amt * _smooth(flakes, 1.8, 2.5)
    # the fine grid: skin lines crossing at an angle, and the fine grain
    f = _Grid(site, um)
    rf = stream(site.seed, 14)
    la = float(rf.uniform(0, math.pi))
    cross = float(rf.uniform(0.6, 1.3))
    tex_amp = f.band(40, 140) * (f.lobe(la, 0.3) + f.lobe(la + cross, 0.3)) + 0.4 * f.band(12, 40)
    lines, grain = f.pair(rf, tex_amp, blur_um)
    tex_amt = float(rf.uniform(0.03, 0.09))
    tex_f = np.asarray(1.0 + tex_amt * (0.6 * lines + 0.4 * grain), np.float32)
    grey_f = float(rf.uniform(0.0, 0.12)) * np.exp(-((lines / 0.3) ** 2))
    # coarse and middle fields are read at half the frame's resolution, summed there, and
    # stretched to full size (their finest detail spans 2 pixels)
    half = View(
        (view.width + 1) // 2,
        (view.height + 1) // 2,
        2.0 * um,
        view.angle,
        view.shift_x_um,
        view.shift_y_um,
    )
    mel_h = q.sample(mel_q, half) + m.sample(mel_m, half)
    crust_h = q.sample(crust_m, half)
    mel = _stretch(mel_h, view, half)
    if look["network"]:
        net, cell = _network(site, blur_um)
        amt = (0.05 + 0.22 * tone) * (1.0 if look["network_kind"] == "regular" else 1.25)
        lines = _smooth(resample(net, cell, view, wrap=True), -0.2, 0.9)
        mel += amt * lines * _stretch(q.sample(str_q, half), view, half)
    mel += melanin_load(tone)
    return SkinMaps(
        mel=mel.astype(np.float32),
        hb=_stretch(q.sample(hb_q, half), view, half),
        yel=_stretch(0.25 + 0.9 * crust_h, view, half),
        grey=_stretch(m.sample(grey_m, half), view, half) + f.sample(grey_f, view),
        lift=_stretch(0.18 * crust_h + m.sample(lift_m, half), view, half),
        over=_stretch(m.sample(over_m, half), view, half),
        tex=f.sample(tex_f, view),
        sebum=_stretch(q.sample(seb_q, half), view, half),
    )


def _stretch(a: F32, view: View, half: View) -> F32:
    """A field read on ``half`` (the view at half resolution, same centre) at every pixel
    of ``view``: separable linear interpolation."""

    def axis(n_full: int, n_half: int) -> tuple[np.ndarray, np.ndarray]:
        pos = (np.arange(n_full) - (n_full - 1) / 2.0) / 2.0 + (n_half - 1) / 2.0
        pos = np.clip(pos, 0.0, n_half - 1.0)
        i0 = np.minimum(pos.astype(np.int64), max(n_half - 2, 0))
        return i0, (pos - i0).astype(np.float32)

    y0, fy = axis(view.height, half.height)
    x0, fx = axis(view.width, half.width)
    y1 = np.minimum(y0 + 1, half.height - 1)
    x1 = np.minimum(x0 + 1, half.width - 1)
    rows = a[y0] * (1.0 - fy[:, None]) + a[y1] * fy[:, None]
    return np.ascontiguousarray(rows[:, x0] * (1.0 - fx) + rows[:, x1] * fx, np.float32)
