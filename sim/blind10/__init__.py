"""blind-10: an independent generator of synthetic trichoscopy frames with exact truth.

blind-10 draws dermoscope close-ups of the human scalp together with the exact position of
every hair's emergence point. It was written apart from the project's renderer and from its
other generators (it shares no code with them), so that its frames can judge the hair-density
model as a source it has never seen, and may later help to train it.

Technique: a spectral, biophysical renderer. Light is carried in 16 wavelength bands from 400
to 700 nm. The skin's reflectance comes from a two-layer Kubelka-Munk model (an epidermis
with melanin, carotene and scattering over a semi-infinite dermis with oxy- and
deoxyhaemoglobin), whose concentrations vary over the scalp so that pigment network,
redness, vessels, yellow and white dots, scale and follicular openings arise as local
concentration changes. Hairs are 3-D centrelines in micrometres: each leaves its follicle at
10-40 degrees, then stands (trimmed, blunt cut end) or lies down along the skin, long hair
possibly as a true helix whose coils rise above and sink toward the skin. Their reflectance
follows eumelanin, pheomelanin and dye optical depths (grey = some unpigmented fibres,
white = none) with a cuticle specular lobe. The centrelines are projected through a pinhole
perspective camera a few millimetres above the skin (hairs nearer the lens look thicker and
shift outward) and splatted as anti-aliased strokes with a depth buffer into three height
layers, each blurred by its own thin-lens circle of confusion; the skin is blurred by a
focal plane tilted over the field. A ring of white phosphor LEDs lights the scene
(cross-polarised: diffuse only; non-polarised: cuticle highlights and sebum shine;
immersion: gel with bubbles). The camera integrates the spectrum with its own RGB
sensitivities, and applies lateral chromatic aberration, radial (barrel or pincushion)
distortion, vignetting, shot and read noise, white balance, a colour matrix, a tone curve,
sometimes a round field stop, and JPEG through Pillow.

Truth: a hair's emergence point is where its shaft's axis crosses the skin surface (z = 0);
it is projected through the same camera model and the same distortion as the green channel
of the pixels. ``hairs`` lists every hair whose emergence point lies inside the frame and
inside the field stop (hairs hidden under other hairs included), ``emergence_masked`` those
behind the field stop, ``emergence_outside`` those outside the frame within 200 um of its
edge, and ``tips`` the free ends of shafts inside the visible frame.
"""

from __future__ import annotations

from sim.blind10.frame import GENERATOR, generate

__all__ = ["GENERATOR", "generate"]
