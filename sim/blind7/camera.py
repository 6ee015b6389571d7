"""The dermoscope camera of blind-7: from scene raw radiance to the saved 8-bit RGB frame.

Geometry: an output pixel is traced back through a Brown-Conrady lens model (radial k1, k2 and
tangential p1, p2), scaled per colour channel (lateral chromatic aberration), and through the
pose of the visit (a follow-up lands up to 2 % and 2 degrees off) onto the scene raster. Then:
ring-light fall-off and vignetting, a round field stop in some frames, exposure, a Bayer sensor
with shot and read noise and a bilinear demosaic, white balance and the colour matrix (both with
errors), a tone curve, sharpening, and a JPEG round trip (blind-7's own DCT quantiser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind7 import field, jpeg
from sim.blind7.spectra import Optics

Arr = NDArray[Any]


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    margin: int
    k1: float
    k2: float
    p1: float
    p2: float
    ca: tuple[float, float, float]
    rot: float  # rad
    tx: float  # px
    ty: float

    @property
    def norm(self) -> float:
        return 0.5 * max(self.width, self.height)

    @property
    def centre(self) -> tuple[float, float]:
        return 0.5 * (self.width - 1), 0.5 * (self.height - 1)

    def ideal_from_output(self, u: Arr, v: Arr, ch: int = 1) -> tuple[Arr, Arr]:
        cx, cy = self.centre
        f = self.norm
        xn = (u - cx) / f
        yn = (v - cy) / f
        r2 = xn * xn + yn * yn
        rad = 1.0 + self.k1 * r2 + self.k2 * r2 * r2
        xd = xn * rad + 2 * self.p1 * xn * yn + self.p2 * (r2 + 2 * xn * xn)
        yd = yn * rad + self.p1 * (r2 + 2 * yn * yn) + 2 * self.p2 * xn * yn
        sc = 1.0 + self.ca[ch]
        return cx + f * sc * xd, cy + f * sc * yd

    def scene_from_ideal(self, ui: Arr, vi: Arr) -> tuple[Arr, Arr]:
        cx, cy = self.centre
        c, s = np.cos(self.rot), np.sin(self.rot)
        xs = cx + c * (ui - cx) - s * (vi - cy) + self.tx + self.margin
        ys = cy + s * (ui - cx) + c * (vi - cy) + self.ty + self.margin
        return xs, ys

    def output_from_scene(self, xs: Arr, ys: Arr) -> tuple[Arr, Arr]:
        """Scene raster px -> output px (green channel), the lens inverted by Newton steps.

        Past the lens's fold radius a scene point has no output pixel (the frame never shows
        it) and Newton stops anywhere, often inside the frame: a point whose round trip misses
        by over 1e-3 px is sent to infinity, so that no hair is listed where none is drawn."""
        cx, cy = self.centre
        c, s = np.cos(self.rot), np.sin(self.rot)
        dx = xs - self.margin - self.tx - cx
        dy = ys - self.margin - self.ty - cy
        ui = cx + c * dx + s * dy
        vi = cy - s * dx + c * dy
        u = ui.astype(np.float64).copy()
        v = vi.astype(np.float64).copy()
        h = 1e-3
        with np.errstate(all="ignore"):  # points past the fold diverge: caught below
            for _ in range(12):
                fu, fv = self.ideal_from_output(u, v)
                ru, rv = fu - ui, fv - vi
                a1, b1 = self.ideal_from_output(u + h, v)
                a2, b2 = self.ideal_from_output(u, v + h)
                j11, j21 = (a1 - fu) / h, (b1 - fv) / h
                j12, j22 = (a2 - fu) / h, (b2 - fv) / h
                det = j11 * j22 - j12 * j21
                u = u - (j22 * ru - j12 * rv) / det
                v = v - (-j21 * ru + j11 * rv) / det
            fu, fv = self.ideal_from_output(u, v)
            lost = ~(np.hypot(fu - ui, fv - vi) <= 1e-3)
        return np.where(lost, np.inf, u), np.where(lost, np.inf, v)


def margin_for(width: int, height: int, cam: dict[str, Any]) -> int:
    """Scene raster margin (px) that holds every output pixel's source under any visit pose."""
    f = 0.5 * max(width, height)
    r = np.hypot(width, height) / 2.0 / f
    lens = (
        abs(cam["k1"]) * r**3
        + abs(cam["k2"]) * r**5
        + 3 * (abs(cam["p1"]) + abs(cam["p2"])) * r**2
        + max(abs(v) for v in cam["lateral_ca"]) * r * 1.1
    ) * f
    pose = 0.02 * max(width, height) + np.radians(2.0) * r * f
    return int(np.ceil(lens + pose)) + 10


def warp(scene: Arr, geo: Geometry) -> Arr:
    """Resample the (Hs, Ws, 3) scene raster onto the output grid, channel by channel."""
    h, w = geo.height, geo.width
    out = np.empty((h, w, 3), np.float32)
    rows = max(1, 400_000 // w)
    uu = np.arange(w, dtype=np.float64)[None, :]
    for r0 in range(0, h, rows):
        vv = np.arange(r0, min(h, r0 + rows), dtype=np.float64)[:, None]
        u = np.broadcast_to(uu, (len(vv), w))
        v = np.broadcast_to(vv, (len(vv), w))
        for ch in range(3):
            ui, vi = geo.ideal_from_output(u, v, ch)
            xs, ys = geo.scene_from_ideal(ui, vi)
            out[r0 : r0 + len(vv), :, ch] = ndimage.map_coordinates(
                scene[..., ch], [ys, xs], order=1, mode="nearest"
            )
    return out


def _demosaic(mosaic: Arr) -> Arr:
    """Bilinear demosaic of an RGGB mosaic."""
    h, w = mosaic.shape
    r_p = np.zeros_like(mosaic)
    r_p[0::2, 0::2] = mosaic[0::2, 0::2]
    b_p = np.zeros_like(mosaic)
    b_p[1::2, 1::2] = mosaic[1::2, 1::2]
    g_p = mosaic - r_p - b_p
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4.0
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4.0
    out = np.empty((h, w, 3), np.float32)
    out[..., 0] = ndimage.convolve(r_p, k_rb, mode="mirror")
    out[..., 1] = ndimage.convolve(g_p, k_g, mode="mirror")
    out[..., 2] = ndimage.convolve(b_p, k_rb, mode="mirror")
    return out


def field_stop_mask(geo: Geometry, cam: dict[str, Any]) -> Arr | None:
    """Transmission (H, W) of the round field stop, None where the frame has none."""
    circle = field_stop_circle(geo, cam)
    if circle is None:
        return None
    ox, oy, rad = circle
    h, w = geo.height, geo.width
    d = np.hypot(
        np.arange(w, dtype=np.float32)[None, :] - ox, np.arange(h, dtype=np.float32)[:, None] - oy
    )
    soft = max(cam["field_stop_soft"] * rad, 1.0)
    out: Arr = np.clip((rad - d) / soft + 0.5, 0.0, 1.0).astype(np.float32)
    return out


def field_stop_circle(geo: Geometry, cam: dict[str, Any]) -> tuple[float, float, float] | None:
    if not cam["field_stop"]:
        return None
    h, w = geo.height, geo.width
    cx, cy = geo.centre
    f = np.hypot(w, h) / 2.0
    rad = min(cam["field_stop_radius"] * min(w, h) * (0.5 / 0.52), 0.98 * f)
    return cx + cam["field_stop_centre"][0] * w, cy + cam["field_stop_centre"][1] * h, rad


def develop(
    raw: Arr,
    geo: Geometry,
    cam: dict[str, Any],
    optics: Optics,
    gain: float,
    rng: np.random.Generator,
) -> Arr:
    """Output-grid raw radiance (H, W, 3) -> saved uint8 RGB."""
    h, w = geo.height, geo.width
    cx, cy = geo.centre
    f = geo.norm
    yy = ((np.arange(h, dtype=np.float32) - cy) / f)[:, None]
    xx = ((np.arange(w, dtype=np.float32) - cx) / f)[None, :]
    r2 = xx * xx + yy * yy
    light = 1.0 + cam["illum_falloff"] * (r2 - 0.5)
    vx = xx - cam["vignetting_centre"][0]
    vy = yy - cam["vignetting_centre"][1]
    vig = np.clip(1.0 - cam["vignetting"] * (vx * vx + vy * vy) * 0.7, 0.05, 1.0) ** 2
    raw = raw * (gain * light * vig)[..., None]
    stop = field_stop_mask(geo, cam)
    if stop is not None:
        raw = raw * (stop * 0.985 + 0.015 * field.blur(stop, 0.05 * min(w, h)))[..., None]
    fw = cam["full_well_e"]
    if cam["bayer"]:
        mosaic = raw[..., 1].copy()
        mosaic[0::2, 0::2] = raw[0::2, 0::2, 0]
        mosaic[1::2, 1::2] = raw[1::2, 1::2, 2]
        e = np.clip(mosaic, 0.0, None) * fw
        e = e + np.sqrt(e) * rng.standard_normal(e.shape).astype(np.float32)
        e = e + cam["read_noise_e"] * rng.standard_normal(e.shape).astype(np.float32)
        mosaic = np.clip(e / fw, 0.0, 1.0).astype(np.float32)
        img = _demosaic(mosaic)
    else:
        e = np.clip(raw, 0.0, None) * fw
        e = e + np.sqrt(e) * rng.standard_normal(e.shape).astype(np.float32)
        e = e + cam["read_noise_e"] * rng.standard_normal(e.shape).astype(np.float32)
        img = np.clip(e / fw, 0.0, 1.0).astype(np.float32)
    img = img * optics.wb_gain.astype(np.float32)
    img = img @ optics.ccm.T.astype(np.float32)
    lum = img @ np.array([0.27, 0.62, 0.11], np.float32)
    img = lum[..., None] + cam["saturation"] * (img - lum[..., None])
    img = np.clip(img, 0.0, 1.0) ** (1.0 / cam["gamma"])
    c = cam["contrast"]
    img = img + 2.0 * c * (img - 0.5) * img * (1.0 - img)
    if cam["sharpen"] > 0:
        y = img @ np.array([0.3, 0.59, 0.11], np.float32)
        detail = y - field.blur(y, cam["sharpen_sigma"])
        img = img + cam["sharpen"] * detail[..., None]
    out: Arr = np.clip(np.rint(np.clip(img, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)
    if cam["jpeg"]:
        out = jpeg.roundtrip(out, cam["jpeg_quality"], cam["chroma_subsampling"])
    return out
