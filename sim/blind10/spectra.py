"""Spectral bands and the absorption, emission and sensitivity curves of blind-10."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

BANDS: F64 = np.linspace(400.0, 700.0, 16)


def _g(lam: F64, centre: float, width: float) -> F64:
    return np.asarray(np.exp(-(((lam - centre) / width) ** 2)), dtype=np.float64)


def melanin_eu(lam: F64 = BANDS) -> F64:
    """Eumelanin absorption, relative to 1 at 500 nm."""
    return np.asarray((lam / 500.0) ** -3.3, dtype=np.float64)


def melanin_pheo(lam: F64 = BANDS) -> F64:
    """Pheomelanin absorption: steeper, weak in the red."""
    return np.asarray((lam / 500.0) ** -9.0, dtype=np.float64)


def hb_oxy(lam: F64 = BANDS) -> F64:
    """Oxyhaemoglobin: Soret band at 415 nm, Q bands at 542 and 577 nm."""
    return (
        7.0 * _g(lam, 415.0, 16.0)
        + 1.4 * _g(lam, 542.0, 14.0)
        + 1.5 * _g(lam, 577.0, 11.0)
        + 0.8 * _g(lam, 500.0, 50.0)
        + 0.012
    )


def hb_deoxy(lam: F64 = BANDS) -> F64:
    """Deoxyhaemoglobin: Soret band at 432 nm, one broad band at 556 nm."""
    return (
        6.0 * _g(lam, 432.0, 16.0)
        + 1.4 * _g(lam, 556.0, 22.0)
        + 0.8 * _g(lam, 500.0, 50.0)
        + 0.08 * _g(lam, 660.0, 60.0)
    )


def carotene(lam: F64 = BANDS) -> F64:
    """Beta-carotene: bands at 450 and 480 nm, none past 520 nm."""
    return 0.9 * _g(lam, 452.0, 18.0) + 1.0 * _g(lam, 481.0, 16.0) + 0.3 * _g(lam, 425.0, 20.0)


def led_spectrum(rng: np.random.Generator) -> tuple[F64, dict[str, float]]:
    """A white phosphor LED: a blue pump and a broad phosphor band (warm or cool)."""
    pump = float(rng.uniform(445.0, 458.0))
    phos = float(rng.uniform(550.0, 600.0))
    ratio = float(rng.uniform(0.25, 0.8))
    spec = ratio * _g(BANDS, pump, 11.0) + _g(BANDS, phos, float(rng.uniform(55.0, 75.0)))
    return spec / spec.max(), {"led_pump_nm": pump, "led_phosphor_nm": phos, "led_ratio": ratio}


def camera_sensitivity(rng: np.random.Generator) -> tuple[F64, dict[str, float]]:
    """Three smooth RGB sensitivity curves, shape (3, bands), slightly different per frame."""
    cr = float(rng.uniform(592.0, 612.0))
    cg = float(rng.uniform(528.0, 545.0))
    cb = float(rng.uniform(450.0, 465.0))
    r = _g(BANDS, cr, float(rng.uniform(35.0, 48.0))) + 0.08 * _g(BANDS, 450.0, 30.0)
    g = _g(BANDS, cg, float(rng.uniform(38.0, 50.0)))
    b = _g(BANDS, cb, float(rng.uniform(30.0, 42.0))) + 0.04 * _g(BANDS, 560.0, 40.0)
    sens = np.stack([r, g, b])
    return sens, {"sens_r_nm": cr, "sens_g_nm": cg, "sens_b_nm": cb}
