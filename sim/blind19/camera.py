"""The camera: a telecentric lens over a monochrome sensor that takes colour as three fields,
one under each LED band in turn (field-sequential colour, as multispectral dermoscopes do).

* Lens: per band a Gaussian of the diffraction spot (0.21 lambda / NA) and the site's defocus;
  what stands above or below the depth of field blurs by its geometric blur circle (2 NA
  times the distance), from three blur levels mixed by the traced height.
* Fields: the hand drifts between exposures, so the red field lies ``-drift`` and the blue
  ``+drift`` from the green (colour fringes at edges); each LED's power is a little off.
* Sensor: vignetting and the ring's tilt, photo-response non-uniformity, shot noise
  (Poisson), read noise, column offsets, a 10-bit ADC above a black level.
* Processing: black level off, calibrated white, a 3x3 band-to-display matrix (saturation),
  a gamma curve, 8 bits; then, on most sites, the near-lossless codec (``codec.py``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sim.blind19 import site
from sim.blind19.codec import near_lossless

F64 = NDArray[np.float64]
BLACK_DN = 32.0
RANGE_DN = 960.0
_LEVELS_UM = (0.0, 10.0, 25.0)


def _lens(field: F64, depth_um: F64, look: dict[str, Any], band: int, um: float) -> F64:
    lam_um = site.BANDS_NM[band] * 1e-3
    base = math.hypot(0.21 * lam_um / look["na"], look["defocus_um"] / 2.5)
    excess = np.maximum(np.abs(depth_um - look["focus_um"]) - look["depth_of_field_um"] / 2, 0.0)
    blur = ndimage.gaussian_filter(2.0 * look["na"] * excess / 2.5, 2.0)
    out = np.zeros_like(field)
    total = np.zeros_like(field)
    top = float(blur.max())
    for k, lvl in enumerate(_LEVELS_UM):
        if k and top <= _LEVELS_UM[k - 1]:
            break
        sig = math.hypot(base, lvl) / um
        img = ndimage.gaussian_filter(field, sig, mode="nearest") if sig > 0.05 else field
        lo = _LEVELS_UM[k - 1] if k else -1.0
        hi = _LEVELS_UM[k + 1] if k + 1 < len(_LEVELS_UM) else 1e9
        wgt = np.where(
            blur < lvl,
            np.clip((blur - lo) / max(lvl - lo, 1e-9), 0.0, 1.0),
            np.clip((hi - blur) / (hi - lvl), 0.0, 1.0),
        )
        out += wgt * img
        total += wgt
    res: F64 = out / np.maximum(total, 1e-9)
    return res


def expose(
    look: dict[str, Any], rad: F64, depth_um: F64, um: float, seed: int, noise: np.random.Generator
) -> NDArray[np.uint8]:
    """The frame's 8-bit RGB file from light ``rad`` (H, W, 3) and traced heights (um)."""
    h, w, _ = rad.shape
    fixed = site.stream(seed, 40)  # the sensor's own pattern: the same at every visit
    prnu = 1.0 + look["prnu"] * fixed.standard_normal((h, w))
    columns = look["column_offset_dn"] * fixed.standard_normal(w)
    tilt_dir = float(fixed.uniform(0.0, 2.0 * math.pi))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    half = math.hypot(cx, cy) + 1.0
    rr = ((xx - cx) ** 2 + (yy - cy) ** 2) / (half * half)
    lamp = (1.0 - look["vignetting"] * rr) * (
        1.0
        + look["ring_tilt"]
        * ((xx - cx) * math.cos(tilt_dir) + (yy - cy) * math.sin(tilt_dir))
        / half
    )
    drift = np.array(look["field_drift_px"])
    well = look["full_well"]
    raw = np.zeros((h, w, 3))
    for band in range(3):
        f = _lens(rad[..., band], depth_um, look, band, um)
        if band != 1:
            dy, dx = drift[1] * (band - 1), drift[0] * (band - 1)
            f = ndimage.shift(f, (dy, dx), order=1, mode="nearest")
        e = (
            np.clip(f * lamp * prnu * look["exposure"] * look["led_power"][band] * 0.6, 0.0, 1.5)
            * well
        )
        e = noise.poisson(e).astype(np.float64) + noise.normal(0.0, look["read_noise_e"], (h, w))
        dn = np.clip(np.round(e / well * RANGE_DN + BLACK_DN + columns[None, :]), 0, 1023)
        raw[..., band] = (dn - BLACK_DN) / RANGE_DN / 0.6
    s = look["saturation"]
    mat = s * np.eye(3) + (1.0 - s) / 3.0
    rgb = np.clip(raw @ mat.T, 0.0, 1.0) ** (1.0 / look["gamma"])
    img = np.round(rgb * 255.0).astype(np.uint8)
    return near_lossless(img, int(look["near_lossless"]))
