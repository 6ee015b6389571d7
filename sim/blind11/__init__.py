"""blind-11: synthetic trichoscopy frames with exact truth, from elastic rods, Turing skin
and a phone camera.

Hairs are physical objects before they are pixels. Each follicle on a jittered
hexagonal lattice (thinned by a patchiness field, 1-4 hairs per follicular unit) emits
hairs with a kind (trimmed stub, long, vellus, broken, exclamation mark, regrowing), an
emergence angle of 10-45 degrees along a smoothly turning hair stream, and an intrinsic
shape (straight, wavy, curly helix or tight afro coil) integrated from curvature and
torsion. Every shaft is then relaxed as an inextensible elastic rod in reduced
coordinates: its elevation profile minimises bending energy against a distributed load,
with the skin as a contact floor (each hair resting on its own stacking height) and, in
contact dermoscopy, the glass plate as a ceiling; the root is clamped in the follicle's
direction. Settled shafts are rasterised with Pillow's ImageDraw at 2-4x supersampling,
segment by segment in order of height (so hairs cross over and under one another), as
nested rim-and-core quads with tapered, blunt, oblique or frayed ends, plus specular
streaks, cast shadows and the faint shaft inside the follicle.

The skin is a two-absorber (melanin, haemoglobin) reflectance over a white dermis. Its
honeycomb pigment network is a Swift-Hohenberg Turing pattern grown on a periodic tile,
stopped while it still has defects; its spots are the dermal papillae and the ridges
between them (generalised Voronoi boundaries) are drawn, warped, from hair-thin to broad;
around it come tone, erythema, freckle blotches, fine furrows, openings, peripilar and
white halos, pinpoint white dots, empty openings, yellow dots, black dots, arborising and
looped vessels, and scale flakes grown plate by plate (an Eden process) that can cover
hairs. Light adds vignetting, a ring-light gradient, colour casts, sebum shine and
non-polarised highlights; gel adds bubbles. Optics convolve with an analytic
measured-style PSF in the Fourier domain (defocus disc, aberration Gaussian, motion sinc,
veiling-glare tail, longitudinal chromatic aberration, defocus varying over the field),
then a circular field stop may cut the view. A Bayer sensor adds shot and read noise;
bilinear or Malvar-He-Cutler demosaicing, white balance error, saturation, gamma/filmic/
HDR tone mapping, chroma and luma denoising, unsharp-mask halos and JPEG (quality 60-95)
finish the frame.

Truth comes from the same geometry and the same camera mapping (weak perspective, rigid
placement, radial distortion) as the pixels: each hair's emergence point is where its
axis leaves the skin; a cut tip is the projected end of the settled axis (a cut hair keeps
its full width to the cut), a natural tip is where its tapering stroke fades out of sight
(a shaft that never shows lists no tip). A black dot (a pigmented hair broken at or just
above the skin's surface, a dark round dot in its follicle opening) is a hair, as every
other generator counts it: listed in ``hairs`` at its dot's centre and diameter (36-84 um),
with no tip, and in ``density_per_cm2``, ``mean_diameter_um`` and ``vellus_fraction``;
``params["hair_kinds_in_frame"]`` counts the listed hairs by kind (``black_dot`` among
them). A hairless frame has none: each black dot's opening is drawn bare, as a hair's is.
A follow-up visit (``regrown``) keeps the scene and moves and turns the frame; hairs are
shed, or added next to existing ones (never on top of one) so the count follows the
factor. Black dots are never shed; a new hair grown in a black dot's opening (or inside the
dot) is that broken hair grown again, listed once as the new hair, the dot still drawn
around its root.
"""

from sim.blind11.core import GENERATOR, generate

__all__ = ["GENERATOR", "generate"]
