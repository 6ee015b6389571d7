"""What one held-out image shows: every random choice of the independent generator, drawn once.

Colours here are display (sRGB-like) values 0..1; the generator draws in that space directly,
unlike the twin, which works in linear reflectance behind a sensor model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

HAIR_LENGTHS = ("trimmed", "long", "mixed")
END_STYLES = ("square", "oblique", "frayed", "tapered")
SHADINGS = ("flat", "banded", "glossy")
VELLUS_SPLIT_UM = 30.0

# Shaft colours (display RGB). "dyed_black" is the near-black of dyed, clipped trichoscopy hair.
HAIR_PALETTE: dict[str, tuple[float, float, float]] = {
    "dyed_black": (0.045, 0.040, 0.050),
    "black": (0.11, 0.095, 0.09),
    "dark_brown": (0.22, 0.15, 0.11),
    "brown": (0.38, 0.26, 0.17),
    "red": (0.55, 0.27, 0.14),
    "blond": (0.80, 0.68, 0.46),
    "grey": (0.62, 0.62, 0.60),
    "white": (0.93, 0.92, 0.89),
}
HAIR_COLOURS = tuple(HAIR_PALETTE)

# Skin at the two ends of the tone scale (display RGB), with a warm/cool drift per image.
_SKIN_LIGHT = np.array([0.95, 0.80, 0.72])
_SKIN_DARK = np.array([0.34, 0.22, 0.16])


def skin_colour(tone: float, warmth: float) -> tuple[float, float, float]:
    """Display RGB of skin: ``tone`` 0 (very light) .. 1 (very dark), ``warmth`` -1..1."""
    base = (1 - tone) * _SKIN_LIGHT + tone * _SKIN_DARK
    tint = np.array([1.0 + 0.05 * warmth, 1.0, 1.0 - 0.07 * warmth])
    r, g, b = np.clip(base * tint, 0.0, 1.0)
    return float(r), float(g), float(b)


def luminance(rgb: tuple[float, float, float]) -> float:
    """Rec. 709 luma of a display RGB triple."""
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def tone_bin(tone: float) -> str:
    """Skin tone group used by the bench: light, medium or dark."""
    return "light" if tone < 1 / 3 else ("medium" if tone < 2 / 3 else "dark")


@dataclass(frozen=True)
class Params:
    """Every random choice of one image; :func:`draw_params` makes one from a seed.

    Units are in the names; shares are 0..1; colours are display RGB.
    """

    um_per_px: float
    width: int
    height: int
    hairless: bool
    density_per_cm2: float  # hairs per cm2 of the scalp around the frame (the truth is counted)
    hair_length: str
    hair_colour: str
    grey_share: float
    vellus_fraction: float
    unit_shares: tuple[float, float, float, float]
    empty_opening_share: float
    end_weights: tuple[float, float, float, float]  # square, oblique, frayed, tapered
    shading: str
    skin_tone: float
    skin_warmth: float
    micro_texture: float  # amplitude of 10-40 um value noise
    coarse_texture: float  # amplitude of 80-400 um value noise
    network: float  # strength of the honeycomb pigment network, 0 = none
    network_um: float
    opening_darkness: float  # 0 invisible .. 1 dark
    halo: float  # peripilar halo strength
    white_dots_per_cm2: float
    yellow_dots_per_cm2: float
    flakes_per_cm2: float
    vessels: int
    illumination: float  # strength of the lighting gradient
    blur_px: float
    noise: float
    jpeg_quality: int  # 0 = none
    flow_deg: float  # main hair direction
    whorl: float  # strength of a whorl around a point of the frame

    def with_(self, **changes: Any) -> Params:
        """A copy with some choices replaced."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        d = asdict(self)
        d["unit_shares"] = list(self.unit_shares)
        d["end_weights"] = list(self.end_weights)
        return d

    @property
    def contrast(self) -> float:
        """Luminance of the main shaft colour over that of the skin."""
        skin = skin_colour(self.skin_tone, self.skin_warmth)
        return luminance(HAIR_PALETTE[self.hair_colour]) / luminance(skin)

    def factors(self) -> dict[str, str]:
        """Categorical labels the bench groups by (one value per factor)."""
        c = self.contrast
        ends = END_STYLES[int(np.argmax(self.end_weights))]
        return {
            "hair_length": "hairless" if self.hairless else self.hair_length,
            "hair_colour": self.hair_colour,
            "skin_tone": tone_bin(self.skin_tone),
            "scale": "3-5" if self.um_per_px < 5 else ("5-8" if self.um_per_px < 8 else "8-12"),
            "contrast": "<0.3"
            if c < 0.3
            else ("0.3-0.6" if c < 0.6 else ("0.6-1" if c < 1 else ">1")),
            "ends": ends,
            "shading": self.shading,
            "opening": "dark"
            if self.opening_darkness > 0.5
            else ("faint" if self.opening_darkness > 0.15 else "invisible"),
            "texture": "coarse"
            if self.micro_texture > 0.04
            else ("fine" if self.micro_texture > 0.015 else "smooth"),
            "network": "yes" if self.network > 0.05 else "no",
            "dots_flakes": "many"
            if self.white_dots_per_cm2 + self.yellow_dots_per_cm2 + self.flakes_per_cm2 > 150
            else "few",
            "blur": "sharp" if self.blur_px < 0.6 else "blurred",
            "jpeg": "jpeg" if self.jpeg_quality else "lossless",
            "density": "hairless"
            if self.hairless
            else (
                "<120"
                if self.density_per_cm2 < 120
                else ("120-220" if self.density_per_cm2 < 220 else ">220")
            ),
        }


def draw_params(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
) -> Params:
    """Draw every appearance and geometry choice of image ``seed`` (deterministic)."""
    rng = np.random.default_rng([0x4E1D, seed])
    u = rng.uniform
    colour = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))]
    shares = rng.dirichlet([3.0, 4.0, 2.0, 0.7])
    ends = rng.dirichlet([1.0, 1.0, 1.0, 1.0] if rng.random() < 0.5 else [0.3, 0.3, 0.3, 0.3])
    return Params(
        um_per_px=float(um_per_px),
        width=int(width),
        height=int(height),
        hairless=hairless,
        density_per_cm2=0.0 if hairless else float(u(40, 330)),
        hair_length=HAIR_LENGTHS[int(rng.integers(3))],
        hair_colour=colour,
        grey_share=float(u(0.0, 0.4) if colour in ("grey", "white") else u(0.0, 0.08)),
        vellus_fraction=float(u(0.0, 0.45)),
        unit_shares=(float(shares[0]), float(shares[1]), float(shares[2]), float(shares[3])),
        empty_opening_share=float(u(0.0, 0.4)),
        end_weights=(float(ends[0]), float(ends[1]), float(ends[2]), float(ends[3])),
        shading=SHADINGS[int(rng.integers(3))],
        skin_tone=float(u(0.0, 1.0)),
        skin_warmth=float(u(-1.0, 1.0)),
        micro_texture=float(u(0.0, 0.06)),
        coarse_texture=float(u(0.0, 0.08)),
        network=float(u(0.0, 0.35)) if rng.random() < 0.6 else 0.0,
        network_um=float(u(70.0, 260.0)),
        opening_darkness=float(u(0.0, 1.0) ** 1.3),
        halo=float(u(0.0, 0.3)) if rng.random() < 0.4 else 0.0,
        white_dots_per_cm2=float(u(0.0, 250.0)) if rng.random() < 0.7 else 0.0,
        yellow_dots_per_cm2=float(u(0.0, 60.0)) if rng.random() < 0.5 else 0.0,
        flakes_per_cm2=float(u(0.0, 120.0)) if rng.random() < 0.5 else 0.0,
        vessels=int(rng.integers(0, 7)) if rng.random() < 0.5 else 0,
        illumination=float(u(0.0, 0.45)),
        blur_px=float(u(0.0, 1.6)),
        noise=float(u(0.0, 0.035)),
        jpeg_quality=int(rng.integers(45, 96)) if rng.random() < 0.5 else 0,
        flow_deg=float(u(0.0, 360.0)),
        whorl=float(u(0.0, 1.0)) if rng.random() < 0.4 else 0.0,
    )
