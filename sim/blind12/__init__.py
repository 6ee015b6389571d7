"""blind-12: synthetic trichoscopy frames with exact truth, from distance-transform fibres,
a quilted skin and an A-buffer.

blind-12 draws dermoscope close-ups of the scalp (20-70x, 2-15 um per pixel) together with
every hair's emergence point, to judge the hair-density model on a source it has never
seen. It was written apart from the project's renderer and from the other independent
generators, and shares no code with them: it imports only numpy, scipy and Pillow.

Technique. Every shape is a distance field obtained from a Euclidean distance transform
(EDT), never rasterised by a drawing library. Hair shafts are 3-D centrelines (trimmed
stubs standing at 10-55 degrees, long and vellus hair settling onto the skin and on the
mat of other hairs, waving or winding as a helix); their projections are resampled at
half-pixel steps and cut into short overlapping pieces whose boxes are packed into an
atlas, and one feature transform of the atlas gives each pixel its nearest sample, from
which the exact distance, the position along the shaft and the signed offset across it
follow (``fields``). Each covered pixel becomes a fragment with coverage (the box filter
of the shaft's width; square, oblique, jagged or tapered ends with the cut face seen as an
ellipse), height, colour and per-channel transmittance; colour follows Marschner's R, TT
and TRT paths through a melanin-bearing dielectric cylinder under a ring of LEDs plus a
diffuse term from the cortex and medulla, averaged across the shaft where it is narrower
than four pixels. Fragments are sorted by height per pixel and composited (an A-buffer);
a layer of stub tops above the focal depth is blurred more, and every lamp throws the
fragments' opacity onto the skin as a soft shadow (``fibre``). The skin's fine structure
is texture synthesis by image quilting (Efros-Freeman minimum-error boundary cuts, laid
in non-overlapping waves) from an exemplar made for each site: a honeycomb pigment
network from the warped boundaries of a papilla tessellation (a feature transform), or a
labyrinth from a threshold cellular automaton, with micro-furrows and pigment speckle
(``quilt``). On that texture, locked to the scalp, lie chromophore maps (melanin,
haemoglobin, carotene) and round and linear things as distance fields: follicle openings
(dark, faint or invisible), peripilar and white halos, yellow dots, pinpoint white dots,
black dots, scale flakes, vessels (arborising, comma, hairpin loops), creases and the
hair seen under the skin in its canal; dermal light is blurred per colour (red widest),
relief is shaded under the ring light and sebum glints without the cross-polariser
(``skin``). The camera blurs, shifts red and blue laterally, darkens the corners, may cut
a round field stop, adds shot and read noise, mixes colours, tone-maps, sharpens and
saves a JPEG through Pillow (``camera``).

Site and visits (``scene``). Follicular units are a Matern type-II hard-core process
thinned into patches by a smooth field; each has four slots whose hairs (terminal,
miniaturised, vellus, regrowing, broken, black dot) are drawn once, a unit holding 1-4
hairs or none (an empty opening); dormant follicles wait without an opening. Densities run
from bare to about 400 hairs/cm2. A follow-up visit (``regrown=(factor, seed2)``) keeps
the skin and every kept hair, sheds hairs at random or fills empty openings, free slots
and then dormant follicles (never on top of another hair) so that the count follows the
factor, moves the frame by 1.5-5 % and turns it by 1-5 degrees, and draws new noise.

Truth. A hair's emergence point is where its axis leaves the skin, mapped through the
frame's pose (pixel centres at integers). ``hairs`` lists every hair (black dots included,
at the dot's diameter) whose emergence point lies in the frame and inside the field stop,
covered by other hairs or not; ``emergence_masked`` those in the black outside a field
stop, ``emergence_outside`` those outside the frame within 200 um. ``tips`` are the ends of
drawn shafts inside the visible field (``cut`` for square, oblique and jagged ends, with
the full width there; a tapered end is where the taper stops, 35-85 % of the root's width and
never under half a pixel).
``hairless=True`` draws the same scalp with every hair gone (openings stay).
"""

from sim.blind12.core import GENERATOR, generate

__all__ = ["GENERATOR", "generate"]
