"""What the capture protocol needs of the rig's lights and Z stage.

Structural ``Protocol`` types, so capture/ never imports device/: the service passes
device's ``Lighting`` and ``ZStage``, which satisfy them as they are; tests may pass
anything with the same methods. The status light is not capture's: the service alone
shows it, from the phases capture reports (``progress``) and the outcome it returns.
"""

from __future__ import annotations

from typing import Literal, Protocol

LightingMode = Literal["cross", "parallel"]


class Lights(Protocol):
    """The LED rings: one lit at an intensity 0..1, with a settle time after each change."""

    def set(self, mode: Literal["cross", "parallel", "off"], intensity: float = 1.0) -> None:
        """Light ring ``mode`` at ``intensity`` (0..1), the other off."""
        ...

    def wait_settled(self) -> None:
        """Return once the light is stable after the last change."""
        ...

    def off(self) -> None:
        """Switch every ring off."""
        ...


class Stage(Protocol):
    """The Z stage: homed, moves within soft limits, each move ending upwards."""

    @property
    def z_mm(self) -> float:
        """Position in mm above home."""
        ...

    @property
    def is_homed(self) -> bool:
        """True once the position is known."""
        ...

    def home(self) -> None:
        """Find z = 0 on the home switch."""
        ...

    @property
    def backlash_mm(self) -> float:
        """The overshoot each move down makes before its final upward approach."""
        ...

    def set_backlash_mm(self, backlash_mm: float) -> None:
        """Overshoot by ``backlash_mm`` from now on (the play calibration measured)."""
        ...

    def move_to(self, z_mm: float, *, upward: bool = True) -> None:
        """Move to ``z_mm``; raises a DermocapError outside the soft limits.

        ``upward=False``: straight there, without the final upward approach.
        """
        ...


class StageLimits(Protocol):
    """Soft limits of the stage (device's StageConfig satisfies it)."""

    @property
    def min_mm(self) -> float: ...

    @property
    def max_mm(self) -> float: ...

    @property
    def focus_mm(self) -> float: ...
