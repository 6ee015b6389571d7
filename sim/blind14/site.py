"""A site's look, drawn from its seed alone: skin, hair, condition, marks, light, camera."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.blind14.hashing import seed_key

# Hair pigment: absorption per micron of shaft (linear R, G, B) for each named colour.
HAIR_SIGMA: dict[str, tuple[float, float, float]] = {
    "black": (0.060, 0.068, 0.076),
    "dark brown": (0.032, 0.042, 0.052),
    "brown": (0.018, 0.027, 0.038),
    "blond": (0.0065, 0.0115, 0.022),
    "red": (0.006, 0.026, 0.040),
    "grey": (0.0012, 0.0014, 0.0018),
}
DYES: dict[str, tuple[float, float, float]] = {
    "dyed auburn": (0.008, 0.035, 0.042),
    "dyed blue-black": (0.055, 0.050, 0.040),
    "dyed violet": (0.020, 0.060, 0.022),
    "dyed copper": (0.004, 0.020, 0.045),
}
# Kinds of hair: the index is the code stored per hair.
KINDS = (
    "terminal",
    "intermediate",
    "vellus",
    "regrowing",
    "black dot",
    "exclamation",
    "broken",
)


@dataclass(frozen=True)
class Site:
    key: int
    fitzpatrick: int
    melanin: float
    blood: float
    skin_hue: float
    network: float
    network_cell_um: float
    crease: float
    crease_um: float
    crease_angle: float
    mottle: float
    cell_texture: float
    white_dots: float
    yellow_dots: float
    halo: float
    vessels: float
    flecks: float
    scale: float
    redness: float
    condition: str
    density: float
    hairs_per_unit: tuple[float, float, float, float]
    empty_share: float
    kind_p: tuple[float, ...]
    hair_colour: str
    grey_share: float
    dye: str
    dye_root_um: float
    length_mode: str
    stub_um: tuple[float, float]
    long_um: tuple[float, float]
    long_cut_share: float
    cut_styles: tuple[float, float, float]
    flow_angle: float
    flow_swirl: float
    layer_um: float
    polarised: bool
    light_angle: float
    vignette: float
    uneven: float
    defocus: float
    defocus_tilt: float
    distortion: float
    shear: float
    aberration: float
    noise: float
    gain: float
    jpeg_quality: int
    white_balance: tuple[float, float, float]
    field_stop: float  # radius of the round field stop over the half diagonal, 0: none

    @property
    def tone(self) -> str:
        return "light" if self.fitzpatrick <= 2 else "medium" if self.fitzpatrick <= 4 else "dark"

    def params(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("key")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}


def draw_site(seed: int) -> Site:
    """Everything about a site's look that does not depend on the frame."""
    rng = np.random.default_rng([seed_key(seed), 14014])
    u = rng.random
    fitz = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.14, 0.2, 0.2, 0.18, 0.14, 0.14]))
    melanin = float([0.10, 0.22, 0.42, 0.70, 1.15, 1.75][fitz - 1] * (0.8 + 0.4 * u()))
    sun = u()
    network = float(np.clip(0.12 + 0.5 * (fitz - 1) / 5 + 0.35 * sun - 0.2 * u(), 0.0, 0.9))
    condition = str(
        rng.choice(
            ["healthy", "androgenetic", "areata", "near-bald", "diffuse"],
            p=[0.3, 0.25, 0.15, 0.15, 0.15],
        )
    )
    bald = condition == "near-bald" or u() < 0.12
    if bald:
        density = float(30.0 * u() ** 1.3)
        condition = "near-bald"
    elif condition in ("androgenetic", "diffuse", "areata"):
        density = float(np.exp(rng.uniform(np.log(35.0), np.log(170.0))))
    else:
        density = float(np.exp(rng.uniform(np.log(110.0), np.log(300.0))))
    if density > 180:
        hpu = (0.2, 0.4, 0.3, 0.1)
    elif density > 90:
        hpu = (0.35, 0.42, 0.18, 0.05)
    else:
        hpu = (0.6, 0.3, 0.08, 0.02)
    empty = {"healthy": 0.05, "androgenetic": 0.25, "areata": 0.35, "near-bald": 0.7}.get(
        condition, 0.15
    )
    # terminal, intermediate, vellus, regrowing, black dot, exclamation, broken
    kind_p = {
        "healthy": (0.82, 0.08, 0.06, 0.02, 0.0, 0.0, 0.02),
        "androgenetic": (0.45, 0.25, 0.22, 0.04, 0.0, 0.0, 0.04),
        "areata": (0.35, 0.12, 0.12, 0.13, 0.12, 0.08, 0.08),
        "near-bald": (0.15, 0.2, 0.4, 0.1, 0.08, 0.02, 0.05),
        "diffuse": (0.55, 0.2, 0.12, 0.06, 0.0, 0.0, 0.07),
    }[condition]
    colour = str(
        rng.choice(
            ["black", "dark brown", "brown", "blond", "red", "grey", "dyed"],
            p=[0.26, 0.22, 0.16, 0.1, 0.07, 0.1, 0.09],
        )
    )
    dye = str(rng.choice(sorted(DYES))) if colour == "dyed" else ""
    grey_share = 0.0
    if colour == "grey":
        grey_share = float(rng.uniform(0.5, 1.0))
    elif u() < 0.25:
        grey_share = float(rng.uniform(0.02, 0.3))
    mode = str(rng.choice(["trimmed", "long", "mixed"], p=[0.4, 0.3, 0.3]))
    lo = float(rng.uniform(200.0, 700.0))
    stub = (lo, float(min(1500.0, lo + rng.uniform(150.0, 900.0))))
    lo_long = float(rng.uniform(2500.0, 5000.0))
    long_um = (lo_long, float(lo_long + rng.uniform(1500.0, 7000.0)))
    a = rng.dirichlet([3.0, 1.5, 1.0])
    polarised = bool(u() < 0.5)
    wb = (float(rng.uniform(0.92, 1.08)), 1.0, float(rng.uniform(0.9, 1.1)))
    return Site(
        key=seed_key(seed),
        fitzpatrick=fitz,
        melanin=melanin,
        blood=float(rng.uniform(0.25, 0.9)),
        skin_hue=float(rng.uniform(-1.0, 1.0)),
        network=network,
        network_cell_um=float(rng.uniform(130.0, 320.0)),
        crease=float(rng.uniform(0.03, 0.16)),
        crease_um=float(rng.uniform(70.0, 200.0)),
        crease_angle=float(rng.uniform(0, np.pi)),
        mottle=float(rng.uniform(0.05, 0.25)),
        cell_texture=float(rng.uniform(0.02, 0.09)),
        white_dots=float(rng.uniform(0.0, 1.0) * (0.5 + 0.1 * fitz)),
        yellow_dots=float(
            rng.uniform(0.3, 1.0) if condition in ("areata", "near-bald") or u() < 0.2 else 0.0
        ),
        halo=float(rng.uniform(0.2, 0.9) if u() < 0.45 else 0.0),
        vessels=float(rng.uniform(0.0, 1.0) ** 1.5),
        flecks=float(rng.uniform(0.0, 1.0) ** 2),
        scale=float(rng.uniform(0.2, 1.0) if u() < 0.4 else 0.0),
        redness=float(rng.uniform(0.0, 0.6) ** 1.5),
        condition=condition,
        density=density,
        hairs_per_unit=hpu,
        empty_share=float(min(0.9, empty * rng.uniform(0.6, 1.3))),
        kind_p=kind_p,
        hair_colour=colour,
        grey_share=grey_share,
        dye=dye,
        dye_root_um=float(rng.uniform(150.0, 2500.0)),
        length_mode=mode,
        stub_um=stub,
        long_um=long_um,
        long_cut_share=float(rng.uniform(0.2, 0.9)),
        cut_styles=(float(a[0]), float(a[1]), float(a[2])),
        flow_angle=float(rng.uniform(0, 2 * np.pi)),
        flow_swirl=float(rng.uniform(0.0, 0.8)),
        layer_um=float(rng.uniform(60.0, 400.0)),
        polarised=polarised,
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        vignette=float(rng.uniform(0.05, 0.45)),
        uneven=float(rng.uniform(0.0, 0.3)),
        defocus=float(rng.uniform(0.0, 1.2)),
        defocus_tilt=float(rng.uniform(0.0, 1.5)),
        distortion=float(rng.uniform(-0.04, 0.05)),
        shear=float(rng.uniform(-0.015, 0.015)),
        aberration=float(rng.uniform(0.0, 1.2)),
        noise=float(rng.uniform(0.004, 0.025)),
        gain=float(rng.uniform(0.85, 1.2)),
        jpeg_quality=int(rng.integers(55, 95)) if u() < 0.45 else 0,
        white_balance=wb,
        field_stop=float(rng.uniform(0.72, 0.95)) if u() < 0.15 else 0.0,
    )
