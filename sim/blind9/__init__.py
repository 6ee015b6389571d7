"""blind-9: an independent generator of synthetic trichoscopy frames with exact truth.

Written apart from the project's renderer and from its other generators, blind-9 draws
dermoscope close-ups of the scalp in its own way, so that its frames can judge the hair
model as a source it has never seen (and may later help train it).

Technique: every object is a 3-D triangle mesh drawn by blind-9's own numpy z-buffer
rasteriser (per-triangle bounding boxes, grouped by size and tested as arrays, in bands of
sample rows; barycentric interpolation of normals, tangents and colours; 4-16 samples per
pixel resolved by a box filter). The skin is a displaced grid mesh (furrows, plates, pores,
follicle pits) with a per-texel albedo (Fitzpatrick tone, pigment network, redness, halos,
yellow and white dots, vessels, scale) and flakes as small meshes; each hair is a tube of
6-12-sided rings swept along a 3-D centreline that leaves its follicle under the skin at
10-40 degrees and then stands (trimmed, broken, regrowing, exclamation-mark) or arches and
lies down waving or coiling (long, vellus), with tapered tips or flat, oblique or frayed
cut caps; black dots are stubs cut just above the skin. Shading is Blinn-Phong for skin and
a Kajiya-Kay highlight for hair under a ring of 2-8 LEDs, each with a shadow map and
percentage-closer filtering; cross-polarised light drops the specular terms, immersion
adds gel with bubble meshes and presses hairs flat. The camera is a USB microscope:
depth-of-field blur from the z-buffer, lens distortion, rolling-shutter skew, lateral
colour, vignetting, sometimes a round field stop, a lower-resolution Bayer sensor with
noise, fixed-pattern noise and hot pixels, bilinear demosaic, strong sharpening, YUV 4:2:0,
upscaling to the frame size and JPEG through Pillow.

Truth: a hair's emergence point is where its centreline (the tube's axis) crosses the
skin mesh's surface, found numerically on the very mesh that is drawn, then carried to
output pixels through the same camera geometry the image goes through (pose, distortion,
skew, sensor and output scaling; pixel centres at integers). Every hair whose emergence
point lies inside the frame is listed, also when another hair covers it; those in the
black outside a field stop go to "emergence_masked". Tips are the free ends of shafts that
are drawn on top inside the frame (black dots have none).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.blind9.frame import GENERATOR, check_args, render

__all__ = ["GENERATOR", "generate"]


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """One frame (uint8 RGB, height x width x 3) and its truth."""
    check_args(seed, um_per_px, width, height, hairless, regrown)
    image, truth, _ = render(
        int(seed), float(um_per_px), int(width), int(height), bool(hairless), regrown
    )
    return image, truth
