#!/usr/bin/env python3
"""Train the hair density model on twin renders (and optionally real images), export ONNX.

The recipe is package code (:mod:`sim.model_recipe`, :mod:`inference.training`); see
docs/model_card.md for the command that wrote the shipped files.
"""

from sim.model_recipe import main

if __name__ == "__main__":
    raise SystemExit(main())
