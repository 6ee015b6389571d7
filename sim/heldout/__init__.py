"""An independent test generator: scalp images drawn apart from the twin, for evaluation only.

It shares no drawing code with ``sim.render``, ``sim.scalp`` or ``sim.optics`` (a test checks
the imports) and is never used for training, calibration or choosing checkpoints.
"""

from sim.heldout.generate import GENERATOR, generate
from sim.heldout.params import HAIR_COLOURS, HAIR_LENGTHS, Params, draw_params

__all__ = ["GENERATOR", "HAIR_COLOURS", "HAIR_LENGTHS", "Params", "draw_params", "generate"]
