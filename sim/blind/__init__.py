"""blind-1: an independent generator of trichoscopy test images with exact truth.

``generate(seed, um_per_px=..., width=..., height=...)`` returns an RGB uint8
image and a truth dict (hair count, densities, every emergence point and
free shaft end, follicular units, labelled factors and all drawn parameters).

How it draws, in short: geometry is laid out in micrometres (follicular units
on a jittered grid, hairs leaving each opening along a smooth flow field as
curves of slowly varying curvature); shafts are rasterised analytically (exact
box-filtered cover and chord through a cylinder); colour comes from
Beer-Lambert absorbers (melanin, haemoglobin, carotene over the dermis; melanin
in the keratin slab of each shaft); then light fall-off, spatially varying
defocus, chromatic aberration, an RGGB sensor with Poisson-Gaussian noise,
demosaicing, tone curve and JPEG.
"""

from __future__ import annotations

from sim.blind.generate import GENERATOR, generate

__all__ = ["GENERATOR", "generate"]
