"""blind-6: an independent generator of synthetic trichoscopy training frames.

blind-6 draws dermoscope close-ups of the human scalp (20-70x; 2-15 um per pixel) with exact
ground truth, to train the hair-density model on hairs in general rather than on one
renderer's look. It was written apart from the project's renderer (the digital twin) and
from its other independent generators, and shares no code with them: it imports only
numpy, scipy, Pillow and its own modules.

Technique. Hairs are supersampled polygons: each shaft's axis is marched in 3-D above the
skin (elevation, curvature, waves, helical coils, lying down or leaving the focal plane),
turned into a Catmull-Rom cubic Bezier spline in image pixels, and drawn as a ribbon of
quads, with a start cap (the back half of the shaft's footprint on the skin) and, for
clipped or broken hairs, an end cap (the cut face's ellipse). Each pixel's coverage is
counted on a jittered 4 x 4 sample grid, and its colour comes from a procedural texture in
ribbon coordinates (u along the fibre, v across): melanin absorption (eumelanin and
pheomelanin) turned into transmission and Kubelka-Munk reflectance over a cylinder's
thickness profile, pigment granule streaks, a medulla stripe of varying continuity, cuticle
scale edges, and a specular line placed where the cylinder's normal meets the half vector
of the light. Hairs cast soft shadows from a directional light in non-polarised frames;
out-of-focus parts widen and fade. The skin is a Gray-Scott reaction-diffusion tile (the
pigment network and its pores) and value-noise octaves mixed in Oklab, with vessels,
follicular openings, yellow and white dots, redness, scale, polygon flakes and shine; the
camera is a field-varying point-spread function built in the Fourier domain (defocus disc,
spherical-aberration halo, diffraction, per-colour focus), lateral chromatic aberration,
vignetting, an RGGB Bayer mosaic with Poisson-Gaussian noise, the Malvar-He-Cutler demosaic,
a tone curve and JPEG.

Truth. ``hairs`` lists one entry per drawn hair whose emergence point (where the shaft's
axis crosses the skin surface; the centre of a black dot) lies in the frame,
-0.5 <= x < width - 0.5 and -0.5 <= y < height - 0.5, in output pixel coordinates (pixel
centres at integers), with the shaft's diameter near the skin; hairs hidden under others
are listed too. Hairs emerging under a field stop's dark ring (``field_stop`` gives the
circle) cannot be seen: they are in ``emergence_masked``, not ``hairs``, and the density is
over the whole frame's area (as a model reading the frame sees it).
``tips`` are the visible ends of shafts' axes inside the frame and inside the field stop
(clipped or broken: ``cut``; natural tapered tips: not cut); black dots and hairs leaving
the focal plane have none.
``emergence_outside`` lists drawn hairs emerging outside the frame within 200 um of it.

A follow-up visit (``regrown=(factor, seed2)``) keeps the scalp: the skin canvas, the
follicle pool and each hair's draw; the ``factor`` times the baseline's count of lowest-rank
follicle slots hold hairs (so hairs appear in empty openings and new follicles, or go), the
camera moves by up to 2 % and turns by up to 2 degrees, and the sensor noise is new.
"""

from sim.blind6.frame import GENERATOR, generate

__all__ = ["GENERATOR", "generate"]
