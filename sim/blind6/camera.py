"""The dermoscope's optics and camera of blind-6.

Optics: illumination fall-off (vignetting and a tilt), an optional round field stop,
lateral chromatic aberration (red and blue planes scaled about the optical centre), and a
point-spread function built in the Fourier domain as an optical transfer function: the
defocus disc (2 J1(x)/x), a spherical-aberration halo (a second, wider disc taking a share
of the light) and the diffraction limit of a round pupil, per colour (longitudinal
chromatic aberration: each colour focuses elsewhere). The defocus varies over the field
(tilt and field curvature): the frame is filtered with the transfer functions of a 3 x 3
grid of field points and the results are blended with tent weights.

Camera: a colour response mixing the channels, an RGGB Bayer mosaic, Poisson-Gaussian noise
in electrons with row noise, 10-bit quantisation, the Malvar-He-Cutler gradient-corrected
bilinear demosaic, white balance and a colour matrix, an sRGB tone curve with contrast,
optional sharpening, then JPEG through Pillow."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import fft as sfft
from scipy import ndimage, special

from sim.blind6.colour import srgb_encode
from sim.blind6.rng import CAMERA, stream
from sim.blind6.scene import Scene

Arr = npt.NDArray[Any]

WAVELENGTH_UM = (0.61, 0.54, 0.465)


def draw_camera(seed: int, sc: Scene) -> dict[str, Any]:
    g = stream(seed, CAMERA)
    s = sc.um_per_px
    focus = str(g.choice(["sharp", "soft", "tilted", "defocused"], p=[0.35, 0.3, 0.25, 0.1]))
    base = {
        "sharp": (0.0, 8.0),
        "soft": (6.0, 18.0),
        "tilted": (0.0, 10.0),
        "defocused": (14.0, 26.0),
    }[focus]
    tilt = 25.0 if focus == "tilted" else 8.0
    cam: dict[str, Any] = {
        "focus": focus,
        "na": float(g.uniform(0.035, 0.12)),
        "defocus_um": float(g.uniform(*base)) * float(g.choice([-1.0, 1.0])),
        "tilt_x_um": float(g.uniform(-tilt, tilt)),
        "tilt_y_um": float(g.uniform(-tilt, tilt)),
        "curvature_um": float(g.uniform(-12.0, 12.0)),
        "halo_share": float(g.uniform(0.0, 0.3)),
        "halo_um": float(g.uniform(10.0, 45.0)),
        "long_ca_um": [float(g.uniform(-6, 6)), 0.0, float(g.uniform(-6, 6))],
        "lateral_ca_px": float(g.uniform(-1.2, 1.2)),
        "vignetting": float(g.uniform(0.0, 0.45)),
        "illum_tilt": [float(g.uniform(-0.08, 0.08)), float(g.uniform(-0.08, 0.08))],
        "centre_shift": [float(g.uniform(-0.04, 0.04)), float(g.uniform(-0.04, 0.04))],
        "exposure": float(g.uniform(0.75, 1.25)),
        "cast": [float(g.uniform(0.85, 1.15)), 1.0, float(g.uniform(0.8, 1.2))],
        "wb_error": [float(g.uniform(0.94, 1.06)), 1.0, float(g.uniform(0.93, 1.07))],
        "crosstalk": float(g.uniform(0.05, 0.22)),
        "full_well": float(np.exp(g.uniform(math.log(250.0), math.log(5000.0)))),
        "read_noise": float(g.uniform(1.0, 8.0)),
        "row_noise": float(g.uniform(0.0, 0.4)),
        "contrast": float(g.uniform(-0.1, 0.4)),
        "saturation": float(g.uniform(0.8, 1.15)),
        "sharpen": float(g.choice([0.0, g.uniform(0.1, 0.5)], p=[0.45, 0.55])),
        "sharpen_px": float(g.uniform(0.7, 1.6)),
        "jpeg_quality": int(g.integers(40, 96)),
        "subsampling": int(g.choice([0, 1, 2], p=[0.25, 0.15, 0.6])),
    }
    if g.random() < 0.25:
        w, h = sc.width, sc.height
        half_diag = 0.5 * math.hypot(w, h)
        r = float(g.uniform(max(0.5 * min(w, h) * 1.05, 0.62 * half_diag), 0.98 * half_diag))
        cam["field_stop"] = {
            "cx": float((w - 1) / 2 + g.uniform(-0.03, 0.03) * w),
            "cy": float((h - 1) / 2 + g.uniform(-0.03, 0.03) * h),
            "r_px": r,
        }
    else:
        cam["field_stop"] = None
    cam["defocus_px_note"] = float(abs(cam["defocus_um"]) / s)
    return cam


def _disc_otf(rho: Arr, diam_px: float) -> Arr:
    x = math.pi * max(diam_px, 1e-6) * rho
    safe = np.where(x < 1e-6, 1.0, x)
    return np.asarray(np.where(x < 1e-6, 1.0, 2.0 * special.j1(safe) / safe))


def _diffraction_mtf(rho: Arr, cutoff: float) -> Arr:
    x = np.clip(rho / cutoff, 0.0, 1.0)
    return np.asarray((2.0 / math.pi) * (np.arccos(x) - x * np.sqrt(1.0 - x * x)))


def _tents(n: int) -> Arr:
    """Tent weights (n, 3) of the three field points at 0, the middle and n - 1."""
    centres = np.array([0.0, (n - 1) / 2.0, n - 1.0])
    dist = np.abs(np.arange(n)[:, None] - centres[None, :])
    return np.asarray(np.clip(1.0 - dist / max((n - 1) / 2.0, 1.0), 0.0, 1.0))


def optics(img: Arr, cam: dict[str, Any], s: float) -> Arr:
    """Blur ``img`` (h, w, 3, linear) by the field-varying, per-colour optical transfer."""
    h, w = img.shape[:2]
    defs = []
    for i in range(3):
        for j in range(3):
            yn, xn = i - 1.0, j - 1.0
            z = (
                cam["defocus_um"]
                + cam["tilt_x_um"] * xn
                + cam["tilt_y_um"] * yn
                + cam["curvature_um"] * (xn * xn + yn * yn) / 2.0
            )
            defs.append(z)
    max_d = max(abs(z) for z in defs) + max(abs(c) for c in cam["long_ca_um"])
    max_d = (max_d + cam["halo_um"]) / s
    pad = int(min(96, math.ceil(max_d * 0.75) + 8))
    hp = sfft.next_fast_len(h + 2 * pad, real=True)
    wp = sfft.next_fast_len(w + 2 * pad, real=True)
    fy = sfft.fftfreq(hp)[:, None]
    fx = sfft.rfftfreq(wp)[None, :]
    rho = np.sqrt(fy * fy + fx * fx)
    # every transfer function here is radial: tabulate it along rho, look it up per bin
    n_tab = 2048
    rho_tab = np.linspace(0.0, 0.75, n_tab)
    pos = rho * ((n_tab - 1) / 0.75)
    i0 = np.minimum(pos.astype(np.int64), n_tab - 2)
    frac = (pos - i0).astype(np.float32)
    del pos, rho
    ty = _tents(h)
    tx = _tents(w)
    out = np.empty_like(img)
    for c in range(3):
        plane = np.pad(img[..., c], pad, mode="reflect")
        big = np.zeros((hp, wp), dtype=np.float32)
        big[: plane.shape[0], : plane.shape[1]] = plane
        spec = sfft.rfft2(big, workers=1)
        cutoff = 2.0 * cam["na"] / WAVELENGTH_UM[c] * s
        diff = _diffraction_mtf(rho_tab, cutoff) if cutoff < 1.5 else 1.0
        acc = np.zeros((h, w), dtype=np.float32)
        for k, z in enumerate(defs):
            i, j = divmod(k, 3)
            dpx = abs(z + cam["long_ca_um"][c]) / s
            tab = _disc_otf(rho_tab, dpx)
            if cam["halo_share"] > 0:
                hs = cam["halo_share"]
                tab = (1.0 - hs) * tab + hs * _disc_otf(rho_tab, dpx + cam["halo_um"] / s)
            tab = (tab * diff).astype(np.float32)
            otf = tab[i0] * (1.0 - frac) + tab[i0 + 1] * frac
            res = sfft.irfft2(spec * otf, s=(hp, wp), workers=1)
            wgt = (ty[:, i][:, None] * tx[:, j][None, :]).astype(np.float32)
            acc += wgt * res[pad : pad + h, pad : pad + w]
        out[..., c] = acc
    return out


def _kernel(quarter: list[list[float]]) -> Arr:
    """A 5 x 5 Malvar-He-Cutler filter (/8) from its top-left 3 x 3, mirrored both ways."""
    q = np.asarray(quarter, dtype=np.float32)
    top = np.concatenate([q, q[:, 1::-1]], axis=1)
    return np.asarray(np.concatenate([top, top[1::-1]], axis=0) / 8.0)


def _mhc_demosaic(raw: Arr) -> Arr:
    """Malvar-He-Cutler demosaic of an RGGB mosaic (h, w) to (h, w, 3)."""
    k_g = _kernel([[0, 0, -1], [0, 0, 2], [-1, 2, 4]])
    k_row = _kernel([[0, 0, 0.5], [0, -1, 0], [-1, 4, 5]])
    k_col = k_row.T.copy()
    k_diag = _kernel([[0, 0, -1.5], [0, 2, 0], [-1.5, 0, 6]])
    raw = raw.astype(np.float32)
    cg = ndimage.correlate(raw, k_g, mode="mirror")
    crow = ndimage.correlate(raw, k_row, mode="mirror")
    ccol = ndimage.correlate(raw, k_col, mode="mirror")
    cdiag = ndimage.correlate(raw, k_diag, mode="mirror")
    h, w = raw.shape
    out = np.empty((h, w, 3), dtype=np.float32)
    r_site = (slice(0, None, 2), slice(0, None, 2))
    gr_site = (slice(0, None, 2), slice(1, None, 2))
    gb_site = (slice(1, None, 2), slice(0, None, 2))
    b_site = (slice(1, None, 2), slice(1, None, 2))
    red, green, blue = out[..., 0], out[..., 1], out[..., 2]
    red[r_site] = raw[r_site]
    red[gr_site] = crow[gr_site]
    red[gb_site] = ccol[gb_site]
    red[b_site] = cdiag[b_site]
    green[...] = raw
    green[r_site] = cg[r_site]
    green[b_site] = cg[b_site]
    blue[b_site] = raw[b_site]
    blue[gb_site] = crow[gb_site]
    blue[gr_site] = ccol[gr_site]
    blue[r_site] = cdiag[r_site]
    return out


def capture(
    scene: Arr, cam: dict[str, Any], s: float, noise: np.random.Generator, exposure: float
) -> Arr:
    """The saved image (uint8 RGB) of a linear scene radiance image (h, w, 3)."""
    h, w = scene.shape[:2]
    img = scene.astype(np.float32, copy=True)
    cx = (w - 1) / 2 + cam["centre_shift"][0] * w
    cy = (h - 1) / 2 + cam["centre_shift"][1] * h
    half_diag = 0.5 * math.hypot(w, h)
    yy = (np.arange(h, dtype=np.float32)[:, None] - cy) / half_diag
    xx = (np.arange(w, dtype=np.float32)[None, :] - cx) / half_diag
    r2 = xx * xx + yy * yy
    illum = (1.0 - cam["vignetting"] * r2 * (0.7 + 0.3 * r2)) * (
        1.0 + cam["illum_tilt"][0] * xx + cam["illum_tilt"][1] * yy
    )
    img *= np.clip(illum, 0.05, None)[..., None]
    stop = cam["field_stop"]
    if stop is not None:
        dx2 = (np.arange(w)[None, :] - stop["cx"]) ** 2
        rr = np.sqrt(dx2 + (np.arange(h)[:, None] - stop["cy"]) ** 2)
        img *= np.clip(stop["r_px"] - rr + 0.5, 0.0, 1.0).astype(np.float32)[..., None]
    # lateral chromatic aberration: red and blue planes magnified about the centre
    ca = cam["lateral_ca_px"] / half_diag
    if abs(ca) * half_diag > 0.05:
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        for c, k in ((0, ca), (2, -0.8 * ca)):
            coords = [cy + (gy - cy) / (1.0 + k), cx + (gx - cx) / (1.0 + k)]
            img[..., c] = ndimage.map_coordinates(img[..., c], coords, order=1, mode="nearest")
        del gy, gx
    img = optics(img, cam, s)
    # sensor: colour response, exposure, the mosaic, noise
    xt = cam["crosstalk"]
    resp = np.array(
        [
            [1 - xt, xt * 0.8, xt * 0.2],
            [xt * 0.5, 1 - xt, xt * 0.5],
            [xt * 0.2, xt * 0.8, 1 - xt],
        ]
    )
    gain = exposure * cam["exposure"] * 0.92
    cast = np.asarray(cam["cast"], dtype=np.float64)
    mosaic = np.empty((h, w), dtype=np.float32)
    sites = (
        (0, slice(0, None, 2), slice(0, None, 2)),
        (1, slice(0, None, 2), slice(1, None, 2)),
        (1, slice(1, None, 2), slice(0, None, 2)),
        (2, slice(1, None, 2), slice(1, None, 2)),
    )
    for c, ys, xs in sites:
        sub = img[ys, xs]
        mosaic[ys, xs] = (sub @ resp[c].astype(np.float32)) * np.float32(gain * cast[c])
    np.clip(mosaic, 0.0, None, out=mosaic)
    fw = cam["full_well"]
    electrons = noise.poisson(mosaic.astype(np.float64) * fw).astype(np.float32)
    electrons += noise.normal(0.0, cam["read_noise"], (h, w)).astype(np.float32)
    electrons += noise.normal(0.0, cam["row_noise"] * cam["read_noise"], (h, 1)).astype(np.float32)
    raw = np.clip(np.round(electrons / fw * 1023.0), 0.0, 1023.0) / 1023.0
    del electrons, mosaic
    rgb = _mhc_demosaic(raw)
    # white balance and colour matrix (the inverse response, slightly off)
    ccm = np.linalg.inv(resp) @ np.diag(1.0 / cast * np.asarray(cam["wb_error"]))
    rgb = rgb @ ccm.T.astype(np.float32)
    sat = cam["saturation"]
    lum = rgb.mean(axis=2, keepdims=True)
    rgb = lum + (rgb - lum) * np.float32(sat)
    out = srgb_encode(np.clip(rgb, 0.0, 1.0))
    c_k = cam["contrast"]
    out = out + np.float32(c_k) * (out - 0.5) * out * (1.0 - out) * 4.0
    if cam["sharpen"] > 0:
        blur = ndimage.gaussian_filter(out, (cam["sharpen_px"], cam["sharpen_px"], 0))
        out = out + np.float32(cam["sharpen"]) * (out - blur)
    u8 = np.clip(np.round(np.clip(out, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(
        buf, format="JPEG", quality=int(cam["jpeg_quality"]), subsampling=int(cam["subsampling"])
    )
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
