"""blind-13's colours: optical densities of the skin's absorbers and the optics of hair.

Skin is a densitometric stack, not a scattering model: a pale dermis reflectance is dimmed
by ``10 ** -OD`` per channel, the OD a sum of absorber loads times their per-channel
densities (melanin, haemoglobin, a yellow keratin/sebum absorber, a neutral grey for shadowed
openings and shafts below the surface). Hair is a filter over what lies beneath: a share
``tau`` of the light crosses it (twice), a share ``rho`` comes back off it.
"""

from __future__ import annotations

import numpy as np

HAIR_COLOURS = (
    "dyed-black",
    "black",
    "dark-brown",
    "brown",
    "auburn",
    "blond",
    "grey",
    "white",
)

DERMIS = np.array([0.80, 0.52, 0.42], np.float32)  # linear reflectance with no melanin
MELANIN = np.array([0.52, 0.62, 0.70], np.float32)  # OD per unit of melanin load
HAEMOGLOBIN = np.array([0.02, 0.30, 0.14], np.float32)
YELLOW = np.array([0.0, 0.06, 0.40], np.float32)
GREY = np.array([0.34, 0.30, 0.24], np.float32)  # bluish: deep shadow under the epidermis
WHITE = np.array([0.86, 0.85, 0.82], np.float32)  # scale, flakes, pinpoint white dots

# diffuse reflectance and transmittance (linear RGB) of a 70 um shaft of each colour
_HAIR: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "dyed-black": ((0.022, 0.020, 0.024), (0.01, 0.01, 0.012)),
    "black": ((0.035, 0.030, 0.027), (0.04, 0.03, 0.025)),
    "dark-brown": ((0.060, 0.040, 0.028), (0.12, 0.07, 0.04)),
    "brown": ((0.110, 0.068, 0.042), (0.28, 0.16, 0.08)),
    "auburn": ((0.170, 0.070, 0.038), (0.45, 0.15, 0.07)),
    "blond": ((0.340, 0.250, 0.140), (0.60, 0.45, 0.25)),
    "white": ((0.520, 0.520, 0.500), (0.70, 0.70, 0.68)),
}


def melanin_load(tone: float) -> float:
    """The skin's melanin load for a tone in [0, 1] (0 the palest)."""
    return 0.08 + 1.6 * float(tone**1.3)


def tone_name(tone: float) -> str:
    """The contract's skin tone bin of a tone in [0, 1]."""
    return "light" if tone < 0.4 else "medium" if tone < 0.72 else "dark"


def hair_optics(
    colour: str, diameter_um: float, kind: str, r: np.random.Generator
) -> tuple[tuple[float, float, float], tuple[float, float, float], float]:
    """A shaft's reflectance, transmittance and opacity: the colour's, thinned by Beer's
    law for its diameter (vellus hairs let most light through), jittered per hair."""
    # a black dot is the pigmented stump left in the opening, whatever the shafts' colour
    rho0, tau0 = _HAIR["black" if kind == "black_dot" else colour]
    jit = float(r.uniform(0.8, 1.25))
    path = diameter_um / 70.0
    if kind in ("vellus",):
        path *= 0.6  # vellus hairs carry little pigment
    tau = tuple(min(0.95, t ** max(path, 0.05) * (1.0 if t > 0.3 else jit)) for t in tau0)
    rho = tuple(min(0.8, p * jit * (1.0 + 0.6 * max(0.0, 1.0 - path))) for p in rho0)
    opacity = 1.0 if kind != "vellus" else float(r.uniform(0.75, 0.95))
    if kind == "black_dot":
        rho = tuple(0.6 * p for p in rho)
        tau = (0.02, 0.02, 0.02)
    return (
        (float(rho[0]), float(rho[1]), float(rho[2])),
        (float(tau[0]), float(tau[1]), float(tau[2])),
        opacity,
    )
