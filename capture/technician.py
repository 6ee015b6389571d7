"""The technician port: whoever puts the target or the subject under the cone and moves the rig.

The capture protocol cannot place anything itself: before a calibration the reference target
must be under the cone, before a capture the subject's marked site (or a phantom), and when
relocation says the cone sits off the baseline, someone has to move it. :class:`Technician` is
that someone. The real implementations (device/technician.py) ask the person at the chair,
through the status light and the capture button or a terminal prompt; the twin's (sim/hand.py)
is a scripted hand that changes the twin's scene at once. Code that needs a technician takes
one as an argument and never asks which kind it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from capture.relocation import Guidance
from dermocap.resource import Closeable


class Technician(Closeable, ABC):
    """What an implementation must provide.

    * :meth:`place_target` and :meth:`place_subject` ask for the reference target (grey patch
      and mm grid) or the subject's marked site under the cone and return once it is there.
      An implementation that waits for a person waits on the clock it was given and raises
      :class:`dermocap.errors.TechnicianTimeout` when nobody confirmed in time; nothing else
      is raised for an absent person.
    * :meth:`follow` passes on one relocation guidance and returns when the rig has been moved
      or the implementation's wait for that is over; it never raises for a slow person (the
      next comparison tells whether the move happened).
    * :meth:`reseat` lifts the rig off the site and puts it back (the repeatability QA) and
      returns what it knows of the change (empty when a person did it).
    * :meth:`known_truth` returns figures known independently of the camera, added to reports
      (the twin's true scale); a person knows none.
    * ``close()`` is idempotent.
    """

    @abstractmethod
    def place_target(self) -> None:
        """Return once the reference target is under the cone."""

    @abstractmethod
    def place_subject(self) -> None:
        """Return once the cone sits on the subject's marked site (or the phantom)."""

    @abstractmethod
    def follow(self, guidance: Guidance) -> None:
        """Pass on ``guidance``; return when the rig was moved or the wait for it is over."""

    @abstractmethod
    def reseat(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        """Lift the rig off the site and put it back before QA run ``run`` (0-based)."""

    def known_truth(self) -> dict[str, Any]:
        """Figures about the scene known without the camera; none by default."""
        return {}

    def close(self) -> None:
        """Nothing to release by default."""
        return None
